//! Group-commit benchmark: durable appends per second (append + wait_durable)
//! with 1, 2, 8 and 32 concurrent committers on a real directory, next to the
//! single-threaded raw `write` + `fdatasync` rate of the same disk over
//! preallocated space, as the journal writes, which is the ceiling one
//! committer can reach (re-measured beside each row, since a shared disk
//! drifts). Group commit works if the durable rate grows with the
//! number of committers past that ceiling; records per fdatasync shows the
//! batching directly, independent of the disk's speed.
//!
//! Run: `cargo bench -p rotor-journal --bench group_commit`. The directory is
//! a temp dir under `ROTOR_BENCH_DIR` (default: the system temp dir); each
//! measurement runs for `ROTOR_BENCH_SECS` seconds (default 3).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use journal::{Journal, Options};

/// Payload size: a small commit record (one short document update).
const PAYLOAD_BYTES: usize = 100;
/// Zeros written and synced before the raw measurement, which then writes
/// over them (wrapping around), as the journal writes over its preallocation.
const RAW_PREALLOC_BYTES: usize = 1024 * 1024;

fn main() {
    let base = std::env::var_os("ROTOR_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let secs = std::env::var("ROTOR_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(secs);
    for n_threads in [1, 2, 8, 32] {
        // The raw ceiling is re-measured next to each row: on a shared disk it
        // drifts by several times within a minute.
        let raw = raw_fdatasync_rate(&base, duration);
        let (rate, per_sync) = durable_append_rate(&base, n_threads, duration);
        println!(
            "{n_threads:>2} threads: {rate:>8.0} durable appends/s, {per_sync:>5.1} records per \
             fdatasync; raw write+fdatasync next to it: {raw:>6.0}/s ({:.1}x)",
            rate / raw
        );
    }
}

fn raw_fdatasync_rate(base: &std::path::Path, duration: Duration) -> f64 {
    let dir = tempfile::tempdir_in(base).unwrap();
    let file = File::create(dir.path().join("raw")).unwrap();
    (&file).write_all(&vec![0u8; RAW_PREALLOC_BYTES]).unwrap();
    file.sync_all().unwrap();
    let payload = [7u8; PAYLOAD_BYTES + 16];
    let start = Instant::now();
    let mut n = 0u64;
    let mut offset = 0;
    while start.elapsed() < duration {
        file.write_all_at(&payload, offset as u64).unwrap();
        file.sync_data().unwrap();
        n += 1;
        offset = (offset + payload.len()) % (RAW_PREALLOC_BYTES - payload.len());
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Returns (durable appends per second, records per fdatasync).
fn durable_append_rate(base: &std::path::Path, n_threads: usize, duration: Duration) -> (f64, f64) {
    let dir = tempfile::tempdir_in(base).unwrap();
    let (journal, _) = Journal::open(dir.path(), Options::default()).unwrap();
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let payload = [42u8; PAYLOAD_BYTES];
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..n_threads {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let lsn = journal.append(&payload).unwrap();
                    journal.wait_durable(lsn).unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    let n_done = done.load(Ordering::Relaxed) as f64;
    let rate = n_done / start.elapsed().as_secs_f64();
    let per_sync = n_done / journal.sync_count().max(1) as f64;
    journal.close().unwrap();
    (rate, per_sync)
}
