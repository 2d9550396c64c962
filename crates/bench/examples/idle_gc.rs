//! What an idle engine spends on garbage collection: loads `N` documents
//! (default 1,000,000) with three secondary indexes, then reports the
//! process's CPU time over 20-second windows while nothing runs but the
//! background reaper. Run: `cargo run --release -p rotor-bench --example
//! idle_gc [N] [WINDOWS]`.

use std::time::{Duration, Instant};

use bson::{Document, doc};
use engine::{ConnectionInfo, Engine, EngineOptions, Request};
// The global allocator (mimalloc), as the `rotor` binary has.
use rotor_bench as _;

fn main() {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (n, windows) = (arg(1, 1_000_000), arg(2, 6));
    let db = Engine::open(EngineOptions::default()).expect("in-memory engines open");
    let connection = ConnectionInfo::default();
    let run = |body: Document| {
        db.run_command(Request {
            db: "t",
            body,
            connection: &connection,
        })
    };
    run(doc! {"createIndexes": "c", "indexes": [
        {"key": {"a": 1}, "name": "a"},
        {"key": {"b": 1}, "name": "b"},
        {"key": {"s": 1}, "name": "s"},
    ]});
    let docs = (0..n as i64).map(|n| doc! {"_id": n, "a": n, "b": n % 97, "s": format!("s{n}")});
    let docs: Vec<Document> = docs.collect();
    for batch in docs.chunks(1_000) {
        run(doc! {"insert": "c", "documents": batch.to_vec()});
    }
    println!("{n} documents loaded; idle now");
    for _ in 0..windows {
        let (start, cpu_before) = (Instant::now(), cpu_seconds());
        std::thread::sleep(Duration::from_secs(20));
        println!(
            "idle {:.0?}: process CPU {:.2} s",
            start.elapsed(),
            cpu_seconds() - cpu_before
        );
    }
}

/// User and system CPU time of this process, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
