//! The seed transaction on one session, a fixed number of times, for
//! profilers: `valgrind --tool=callgrind` counts instructions exactly, which
//! timing on a shared machine cannot. Not a benchmark: it prints nothing
//! but the count.
//!
//! Run: `cargo build --profile bench -p rotor-bench --example seed_profile`,
//! then `valgrind --tool=callgrind target/release/examples/seed_profile 2000`
//! (the argument is the number of transactions, default 10000).

use rotor_bench::rotor::{self, Client};
use rotor_bench::seed::{self, Inventory, RotorWorker};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let client = Client::new(rotor::open_in_memory());
    seed::rotor_setup(&client, 1, Inventory::PerSession);
    let mut worker = RotorWorker::new(client.clone(), Inventory::PerSession.sku(0));
    let started = std::time::Instant::now();
    for _ in 0..n {
        worker.transaction();
    }
    let elapsed = started.elapsed();
    println!(
        "{n} transactions, {:.2} us each",
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
}
