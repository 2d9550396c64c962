//! The seed transaction on one session, a fixed number of times, for
//! profilers: `valgrind --tool=callgrind` counts instructions exactly, which
//! timing on a shared machine cannot. Not a benchmark: it prints nothing
//! but the count.
//!
//! Run: `cargo build --profile bench -p rotor-bench --example seed_profile`,
//! then `valgrind --tool=callgrind target/release/examples/seed_profile 2000`
//! (the argument is the number of transactions, default 10000). With a
//! second argument `find`, it runs that many finds by `_id` on the crud
//! bench's 1000-document collection instead. With `threads T`, T sessions
//! on T threads each run that many transactions on their own inventory
//! document (for `strace -f -c -e futex`: how often sessions block on
//! each other). `HISTORY_SECS=0` in the environment keeps no snapshot
//! history (the default keeps 300 s, as mongod); `DATA_DIR=<empty dir>`
//! journals to disk with the default write concern (for `strace -c` of
//! the durable commit path).

use rotor_bench::crud::{Crud, RotorCrud};
use rotor_bench::rotor::{self, Client};
use rotor_bench::seed::{self, Inventory, RotorWorker};

/// Documents in the collection the `find` mode reads.
const FIND_DOCS: usize = 1_000;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let threads = match std::env::args().nth(2).as_deref() {
        Some("find") => return finds(n),
        Some("threads") => std::env::args()
            .nth(3)
            .and_then(|t| t.parse().ok())
            .unwrap_or(1),
        _ => 1,
    };
    let history = std::env::var("HISTORY_SECS")
        .ok()
        .and_then(|h| h.parse().ok());
    let engine = match (std::env::var_os("DATA_DIR"), history) {
        (Some(dir), _) => rotor::open_directory(dir.into()),
        (None, Some(secs)) => rotor::open_in_memory_with_history_window(secs),
        (None, None) => rotor::open_in_memory(),
    };
    let client = Client::new(engine);
    seed::rotor_setup(&client, threads, Inventory::PerSession);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for session in 0..threads {
            let mut worker = RotorWorker::new(client.clone(), Inventory::PerSession.sku(session));
            scope.spawn(move || {
                for _ in 0..n {
                    worker.transaction();
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let total = n * threads as u64;
    println!(
        "{total} transactions on {threads} threads, {:.2} us each",
        elapsed.as_secs_f64() * 1e6 / total as f64
    );
}

fn finds(n: u64) {
    let crud = RotorCrud::build(FIND_DOCS);
    let started = std::time::Instant::now();
    let mut found = 0;
    for i in 0..n {
        found += usize::from(crud.find_by_id((i % FIND_DOCS as u64) as i64).is_some());
    }
    let elapsed = started.elapsed();
    println!(
        "{n} finds ({found} found), {:.2} us each",
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
}
