//! The seed's transaction, durable: Rotor on a data directory with the
//! default write concern (each commit's reply waits for its journal record
//! to be on stable storage) against SQLite on disk in WAL mode with
//! `synchronous=FULL` (each commit fsyncs the WAL). 1, 2, 8 and 32
//! concurrent sessions, each with its own inventory document, in commits per
//! second.
//!
//! SQLite gets one connection per thread with a busy timeout, and
//! `BEGIN IMMEDIATE` so that no two transactions both read and then
//! deadlock upgrading to write. Waiting writers then sit in SQLite's busy
//! handler, which sleeps and polls (1 ms, 2 ms, 5 ms, ... up to 100 ms)
//! rather than being woken, so a second SQLite column queues the same
//! threads' transactions on an in-process mutex instead: SQLite's best case
//! with many threads. Rotor's rate is given relative to each.
//!
//! The first lines show the disk's own rate of one small `write` +
//! `fdatasync` at a time, appending to a growing file (each sync also
//! flushes the file size) and overwriting space written and synced before
//! (data only, as the journal's preallocated segments do). One committer
//! cannot beat the second, so it is the ceiling for the 1-session row, and
//! the last line says what share of it Rotor reaches.
//!
//! Run: `cargo bench -p rotor-bench --bench durable_txn` (`ROTOR_BENCH_SECS`
//! per round, default 2; `ROTOR_BENCH_ROUNDS`, default 3; files go to a
//! temp dir under `ROTOR_BENCH_DIR`, default the system temp dir).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rotor_bench::measure::{Round, Settings, load_average, median, median_round, run_threads};
use rotor_bench::rotor::{self, Client};
use rotor_bench::seed::{self, Begin, Inventory, RotorWorker};
use rotor_bench::sqlite;
use rotor_bench::table::{Table, rate, ratio};
use tempfile::TempDir;

const SESSIONS: [usize; 4] = [1, 2, 8, 32];
/// Bytes per raw write when measuring the disk: a small commit record.
const RAW_RECORD_BYTES: usize = 128;
/// Size of the file the raw overwrite measurement writes over, as the
/// journal preallocates its segments; it wraps around at the end.
const RAW_PREALLOC_BYTES: usize = 1024 * 1024;

fn main() {
    let settings = Settings::from_env();
    let base = std::env::var_os("ROTOR_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    println!(
        "durable_txn: Rotor (journaled, default write concern) vs SQLite {} (WAL, \
         synchronous=FULL, connection per thread, BEGIN IMMEDIATE) in {}; {} rounds of {:?} \
         each, median shown; load average {}",
        sqlite::version(),
        base.display(),
        settings.rounds,
        settings.round,
        load_average()
    );
    let raw = |mode| {
        median(
            &(0..settings.rounds)
                .map(|_| raw_fdatasync_rate(&base, settings, mode))
                .collect::<Vec<_>>(),
        )
    };
    let appending = raw(RawMode::Append);
    let ceiling = raw(RawMode::Overwrite);
    println!(
        "this disk, one {RAW_RECORD_BYTES}-byte write + fdatasync at a time: {appending:.0}/s \
         appending to a growing file, {ceiling:.0}/s overwriting preallocated space (the \
         1-session ceiling)"
    );
    let mut one_session = 0.0;
    let mut table = Table::new(&[
        "sessions",
        "Rotor commits/s",
        "SQLite busy_timeout",
        "SQLite queued",
        "Rotor/SQLite busy",
        "Rotor/SQLite queued",
    ]);
    for n_sessions in SESSIONS {
        let [rotor, busy, queued] = compare(&base, settings, n_sessions);
        if n_sessions == 1 {
            one_session = rotor.per_sec();
        }
        table.row(vec![
            n_sessions.to_string(),
            rate(rotor.per_sec()),
            rate(busy.per_sec()),
            rate(queued.per_sec()),
            ratio(rotor.per_sec() / busy.per_sec()),
            ratio(rotor.per_sec() / queued.per_sec()),
        ]);
    }
    table.print();
    println!(
        "1 session: {:.0}% of the disk's ceiling of {ceiling:.0} durable commits/s",
        100.0 * one_session / ceiling
    );
    println!(
        "commits/s = durable commits per second (median round). SQLite busy_timeout = threads \
         wait in SQLite's busy handler; SQLite queued = threads take turns on an in-process \
         mutex. Rotor/SQLite = Rotor's rate / SQLite's, for each; targets (against the brief's \
         busy_timeout setup): 1 session >= 1.00x, 8 sessions >= 3.00x. Load average at the end: {}",
        load_average()
    );
}

/// The median rounds of Rotor, SQLite waiting on its busy handler, and
/// SQLite queued on a mutex, for one session count, each database on a
/// fresh directory; their rounds alternate so drift of the disk hits all.
fn compare(base: &Path, settings: Settings, n_sessions: usize) -> [Round; 3] {
    let inventory = Inventory::PerSession;
    let rotor_dir = temp_dir(base);
    let client = Client::new(rotor::open_directory(rotor_dir.path().to_path_buf()));
    seed::rotor_setup(&client, n_sessions, inventory);
    let sqlite_dir = temp_dir(base);
    let sqlite_path = sqlite_dir.path().join("seed.db");
    let setup = sqlite::open_durable(&sqlite_path);
    seed::sqlite_setup(&setup, n_sessions, inventory);
    let turn = Mutex::new(());
    let mut rounds = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..settings.rounds {
        rounds[0].push(run_threads(n_sessions, settings.round, |session| {
            let mut worker = RotorWorker::new(client.clone(), inventory.sku(session));
            move || worker.transaction()
        }));
        rounds[1].push(run_threads(n_sessions, settings.round, |session| {
            let conn = sqlite::open_durable(&sqlite_path);
            let sku = inventory.sku(session);
            move || seed::sqlite_transaction(&conn, &sku, Begin::Immediate)
        }));
        rounds[2].push(run_threads(n_sessions, settings.round, |session| {
            let conn = sqlite::open_durable(&sqlite_path);
            let (sku, turn) = (inventory.sku(session), &turn);
            move || seed::sqlite_queued_transaction(turn, &conn, &sku)
        }));
    }
    let commits = |rounds: &[Round]| rounds.iter().map(|r| r.commits as i64).sum::<i64>();
    assert_eq!(
        seed::rotor_orders(&client),
        commits(&rounds[0]),
        "Rotor's orders"
    );
    assert_eq!(
        seed::sqlite_orders(&setup),
        commits(&rounds[1]) + commits(&rounds[2]),
        "SQLite's orders"
    );
    rounds.map(|rounds| median_round(&rounds))
}

fn temp_dir(base: &Path) -> TempDir {
    tempfile::Builder::new()
        .prefix("rotor-bench-")
        .tempdir_in(base)
        .unwrap_or_else(|error| panic!("no temp dir in {}: {error}", base.display()))
}

/// How the raw measurement writes its records.
#[derive(Clone, Copy)]
enum RawMode {
    /// At the end of a growing file: each sync also flushes the new size.
    Append,
    /// Over zeros written and synced beforehand: each sync flushes data only.
    Overwrite,
}

/// One small write and one fdatasync at a time, as fast as the disk goes.
fn raw_fdatasync_rate(base: &Path, settings: Settings, mode: RawMode) -> f64 {
    let dir = temp_dir(base);
    let path = dir.path().join("raw");
    let file = or_fail(File::create(&path), &path);
    if let RawMode::Overwrite = mode {
        let zeros = (&file)
            .write_all(&vec![0u8; RAW_PREALLOC_BYTES])
            .and_then(|()| file.sync_all());
        or_fail(zeros, &path);
    }
    let record = [7u8; RAW_RECORD_BYTES];
    let start = Instant::now();
    let mut n_syncs = 0u64;
    let mut offset = 0;
    while start.elapsed() < settings.round {
        let synced = file
            .write_all_at(&record, offset as u64)
            .and_then(|()| file.sync_data());
        or_fail(synced, &path);
        n_syncs += 1;
        offset += RAW_RECORD_BYTES;
        if let RawMode::Overwrite = mode {
            offset %= RAW_PREALLOC_BYTES;
        }
    }
    n_syncs as f64 / start.elapsed().as_secs_f64()
}

fn or_fail<T>(result: std::io::Result<T>, path: &Path) -> T {
    result.unwrap_or_else(|error| panic!("raw I/O on {} failed: {error}", path.display()))
}
