//! The seed's transaction through this client's session API, timed: how
//! much the client itself adds to the engine's cost per transaction.
//!
//! Each transaction inserts an order `{sku, qty: 100}`, takes the stock
//! (`{sku, qty: {$gte: 100}}`, `{$inc: {qty: -100}}`, indexed by `sku`) and
//! commits, with `start_transaction` and `commit_transaction` on one
//! session, as `crates/bench`'s `seed_profile` example does straight
//! against the command layer. Comparing the two per-transaction times shows
//! the client's share; `cargo bench -p rotor-bench --bench seed_txn` gives
//! the engine's rate against SQLite.
//!
//! Run: `cargo run --profile bench -p rotor-bench --example seed_client
//! [-- N [DATA_DIR]]` (N transactions, default 100,000; in memory unless a
//! directory is given). It allocates through mimalloc, as the benchmarks
//! and `rotor serve` do: with glibc's allocator, the client's documents
//! crossing between tokio's threads cost about half of all instructions.

use std::time::Instant;

use bson::{Document, doc};
use rotor::{Client, Error, IndexModel, SessionOptions};
// Links the benchmarks' global allocator.
use rotor_bench as _;

/// Stock that never runs out within a run (2^60 / 100 transactions).
const STOCK: i64 = 1 << 60;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let client = match std::env::args().nth(2) {
        Some(dir) => Client::open(dir)?,
        None => Client::in_memory()?,
    };
    let db = client.database("bench");
    let orders = db.collection::<Document>("orders");
    let inventory = db.collection::<Document>("inventory");
    inventory
        .create_index(IndexModel {
            keys: doc! {"sku": 1},
            options: Document::new(),
        })
        .await?;
    inventory
        .insert_one(doc! {"sku": "abc123", "qty": STOCK})
        .await?;
    let mut session = client.start_session(SessionOptions::default())?;
    let started = Instant::now();
    for _ in 0..n {
        session.start_transaction(Default::default())?;
        orders
            .insert_one(doc! {"sku": "abc123", "qty": 100})
            .session(&mut session)
            .await?;
        let taken = inventory
            .update_one(
                doc! {"sku": "abc123", "qty": {"$gte": 100}},
                doc! {"$inc": {"qty": -100}},
            )
            .session(&mut session)
            .await?;
        assert_eq!(taken.modified_count, 1, "the update took no stock");
        session.commit_transaction().await?;
    }
    let elapsed = started.elapsed();
    println!(
        "{n} seed transactions through the client, {:.2} us each",
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
    session.end_session().await;
    client.shutdown().await
}
