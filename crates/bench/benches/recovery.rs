//! Recovery time for about 1 GB of journal: fill a data directory with
//! single-document commits (no checkpoint in between), close it, and time
//! how long `Engine::open` takes to replay it. The open includes the
//! checkpoint taken right after a long replay, so the next start is short;
//! a second open shows that.
//!
//! `ROTOR_RECOVERY_BYTES` sets the journal size (default 1 GiB);
//! `ROTOR_BENCH_DIR` where the data directory goes.

use std::path::Path;
use std::time::{Duration, Instant};

use bson::{Document, doc};
use engine::{ConnectionInfo, Engine, EngineOptions, Request, Storage};

const DOC_PAYLOAD_BYTES: usize = 1_000;
const BATCH_DOCS: i64 = 1_000;

fn open(dir: &Path) -> Engine {
    let options = EngineOptions {
        storage: Storage::Directory(dir.to_owned()),
        // No scheduled checkpoint while filling: the whole journal is replayed.
        checkpoint_interval: Duration::from_secs(86_400),
        ..EngineOptions::default()
    };
    match Engine::open(options) {
        Ok(engine) => engine,
        Err(error) => panic!("the benchmark's engine did not open: {error}"),
    }
}

fn run(engine: &Engine, body: Document) -> Document {
    let connection = ConnectionInfo::default();
    let reply = engine
        .run_command(Request {
            db: "bench",
            body,
            connection: &connection,
        })
        .reply;
    assert_eq!(
        reply.get_f64("ok").ok(),
        Some(1.0),
        "command failed: {reply}"
    );
    reply
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let target: u64 = std::env::var("ROTOR_RECOVERY_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30);
    let base = std::env::var("ROTOR_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let payload = "x".repeat(DOC_PAYLOAD_BYTES);
    let fill_start = Instant::now();
    let mut docs = 0i64;
    {
        let engine = open(dir.path());
        while dir_bytes(dir.path()) < target {
            let batch: Vec<Document> = (docs..docs + BATCH_DOCS)
                .map(|i| doc! {"_id": i, "payload": &payload})
                .collect();
            // w: 1 without j: the fill does not wait for each fsync.
            run(
                &engine,
                doc! {"insert": "items", "documents": batch, "writeConcern": {"w": 1}},
            );
            docs += BATCH_DOCS;
        }
    }
    let journal = dir_bytes(dir.path());
    println!(
        "recovery: filled {:.2} GiB of journal with {docs} single-document commits in {:.1} s",
        journal as f64 / (1u64 << 30) as f64,
        fill_start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let engine = open(dir.path());
    let first = start.elapsed();
    let count = run(&engine, doc! {"count": "items"})
        .get_i32("n")
        .unwrap_or(-1);
    assert_eq!(i64::from(count), docs, "every commit recovered");
    drop(engine);
    let start = Instant::now();
    let engine = open(dir.path());
    let second = start.elapsed();
    drop(engine);
    println!(
        "recovery: first open (replay + checkpoint) {:.2} s, {count} documents back",
        first.as_secs_f64()
    );
    println!(
        "recovery: second open (checkpoint only) {:.2} s",
        second.as_secs_f64()
    );
}
