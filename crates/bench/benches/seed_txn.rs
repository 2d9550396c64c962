//! The seed's transaction, in memory, on Rotor and on SQLite: insert an
//! order, take its stock from the inventory, commit; with 1, 2 and 8
//! concurrent sessions (threads), in transactions per second.
//!
//! Two inventories: each session with its own inventory document (no
//! conflicts by design), and all sessions sharing one (Rotor's sessions
//! conflict and retry; the retry count is shown).
//!
//! Rotor runs with default options, and again with no snapshot history
//! (`snapshot_history_window_secs: 0`, mongod's
//! `minSnapshotHistoryWindowInSeconds: 0`): every commit keeps the versions
//! of the last 300 s by default, and the difference between the two
//! columns is what keeping them costs this workload, whose every
//! transaction rewrites the same inventory document.
//!
//! SQLite runs one in-memory database behind a `Mutex<Connection>`, each
//! transaction holding it from BEGIN to COMMIT. That is SQLite's fastest
//! fair setup: it allows one writer at a time whatever the setup, and a
//! shared-cache database with a connection per thread adds table locks and
//! SQLITE_LOCKED retries on top of that same single writer. So SQLite's
//! numbers are the same for both inventories.
//!
//! Run: `cargo bench -p rotor-bench --bench seed_txn` (`ROTOR_BENCH_SECS`
//! per round, default 2; `ROTOR_BENCH_ROUNDS`, default 3).

use std::sync::Mutex;

use rotor_bench::measure::{Round, Settings, load_average, median_round, run_threads};
use rotor_bench::rotor::{self, Client};
use rotor_bench::seed::{self, Inventory, RotorWorker};
use rotor_bench::sqlite;
use rotor_bench::table::{Table, rate, ratio};

const SESSIONS: [usize; 3] = [1, 2, 8];

fn main() {
    let settings = Settings::from_env();
    println!(
        "seed_txn: Rotor (in memory) vs SQLite {} (in memory, one Mutex<Connection>); \
         {} rounds of {:?} each, median shown; load average {}",
        sqlite::version(),
        settings.rounds,
        settings.round,
        load_average()
    );
    let mut table = Table::new(&[
        "inventory",
        "sessions",
        "Rotor txn/s",
        "Rotor retries",
        "SQLite txn/s",
        "Rotor/SQLite",
        "Rotor no-history txn/s",
        "no-history/SQLite",
    ]);
    for inventory in [Inventory::PerSession, Inventory::Shared] {
        for n_sessions in SESSIONS {
            let [rotor, sqlite, no_history] = compare(settings, inventory, n_sessions);
            table.row(vec![
                match inventory {
                    Inventory::PerSession => "per session".to_owned(),
                    Inventory::Shared => "shared".to_owned(),
                },
                n_sessions.to_string(),
                rate(rotor.per_sec()),
                format!(
                    "{} ({:.2}/txn)",
                    rotor.retries,
                    rotor.retries as f64 / rotor.commits.max(1) as f64
                ),
                rate(sqlite.per_sec()),
                ratio(rotor.per_sec() / sqlite.per_sec()),
                rate(no_history.per_sec()),
                ratio(no_history.per_sec() / sqlite.per_sec()),
            ]);
        }
    }
    table.print();
    println!(
        "txn/s = committed transactions per second (median round). Rotor retries = \
         transactions begun again after a WriteConflict in that round (and per committed \
         transaction). Rotor/SQLite = Rotor's rate / SQLite's; no-history = Rotor with \
         snapshot_history_window_secs 0. The target is 2.00x or more. \
         Load average at the end: {}",
        load_average()
    );
}

/// The median rounds of Rotor, SQLite and Rotor without snapshot history
/// for one configuration; their rounds alternate so drift of the machine
/// hits all three.
fn compare(settings: Settings, inventory: Inventory, n_sessions: usize) -> [Round; 3] {
    let client = Client::new(rotor::open_in_memory());
    seed::rotor_setup(&client, n_sessions, inventory);
    let no_history = Client::new(rotor::open_in_memory_with_history_window(0));
    seed::rotor_setup(&no_history, n_sessions, inventory);
    let conn = Mutex::new(sqlite::open_in_memory());
    seed::sqlite_setup(
        &conn.lock().expect("not poisoned yet"),
        n_sessions,
        inventory,
    );
    let mut rounds = [Vec::new(), Vec::new(), Vec::new()];
    let rotor_round = |client: &Client| {
        run_threads(n_sessions, settings.round, |session| {
            let mut worker = RotorWorker::new(client.clone(), inventory.sku(session));
            move || worker.transaction()
        })
    };
    for _ in 0..settings.rounds {
        rounds[0].push(rotor_round(&client));
        rounds[1].push(run_threads(n_sessions, settings.round, |session| {
            let sku = inventory.sku(session);
            let conn = &conn;
            move || seed::sqlite_shared_transaction(conn, &sku)
        }));
        rounds[2].push(rotor_round(&no_history));
    }
    check_work(
        &client, &conn, inventory, n_sessions, &rounds[0], &rounds[1],
    );
    rounds.map(|rounds| median_round(&rounds))
}

/// Every committed transaction left one order and took its stock, on both
/// sides: otherwise the rates compare different work.
fn check_work(
    client: &Client,
    conn: &Mutex<rusqlite::Connection>,
    inventory: Inventory,
    n_sessions: usize,
    rotor_rounds: &[Round],
    sqlite_rounds: &[Round],
) {
    let commits = |rounds: &[Round]| rounds.iter().map(|r| r.commits as i64).sum::<i64>();
    let conn = conn.lock().expect("the workers are done");
    let skus = inventory.skus(n_sessions);
    let taken = |stock: &dyn Fn(&str) -> Option<i64>| {
        skus.iter()
            .map(|sku| seed::STOCK - stock(sku).unwrap_or(seed::STOCK))
            .sum::<i64>()
    };
    let rotor_taken = taken(&|sku| seed::rotor_stock(client, sku));
    let sqlite_taken = taken(&|sku| seed::sqlite_stock(&conn, sku));
    assert_eq!(
        seed::rotor_orders(client),
        commits(rotor_rounds),
        "Rotor's orders"
    );
    assert_eq!(
        rotor_taken,
        seed::ORDER_QTY * commits(rotor_rounds),
        "Rotor's stock"
    );
    assert_eq!(
        seed::sqlite_orders(&conn),
        commits(sqlite_rounds),
        "SQLite's orders"
    );
    assert_eq!(
        sqlite_taken,
        seed::ORDER_QTY * commits(sqlite_rounds),
        "SQLite's stock"
    );
}
