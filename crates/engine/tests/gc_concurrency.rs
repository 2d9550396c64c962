//! Garbage collection racing writers and readers: with no snapshot history
//! and a collector running flat out, documents that are inserted, deleted,
//! re-inserted under the same `_id` and have their indexed fields rewritten
//! are never lost, duplicated or invented, by `_id` or through an index, and
//! a reader's snapshot answers the same through an index as by a scan.
//!
//! Each writer owns some `_id`s and keeps a model of them, so every read of
//! its own documents has one right answer. Other threads fight over shared
//! `_id`s (resurrections racing the collector's unlinking), and readers
//! compare index and collection scans at one snapshot.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bson::{Bson, Document, doc};
use common::{Session, find, ok, run};
use engine::{Engine, EngineOptions};
use rand::{Rng, SeedableRng};

const OWNERS: i32 = 3;
/// Operations each owner runs; each is checked by three reads.
const OPS_PER_OWNER: usize = 700;
/// `_id`s per owner: few, so each is deleted and re-inserted often.
const IDS_PER_OWNER: i32 = 4;
const SHARED_IDS: i32 = 4;
/// The shared `_id`s start here, apart from the owners'.
const SHARED_BASE: i32 = 1_000;
const CONTENDERS: usize = 2;

fn engine() -> Engine {
    Engine::open(EngineOptions {
        enable_test_commands: true,
        snapshot_history_window_secs: 0,
        ..EngineOptions::default()
    })
    .expect("in-memory engines always open")
}

fn batch(reply: &Document) -> Vec<Document> {
    reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map(|docs| {
            docs.iter()
                .filter_map(|d| d.as_document().cloned())
                .collect()
        })
        .unwrap_or_default()
}

/// What an owner's reads must return for `id`, whose document is `current`
/// and whose previous indexed value was `previous`.
fn check(db: &Engine, id: i32, current: Option<&String>, previous: Option<&String>) {
    let expected: Vec<Document> = current
        .map(|v| vec![doc! {"_id": id, "v": v.clone(), "u": id}])
        .unwrap_or_default();
    let by_id = find(db, "g", doc! {"find": "c", "filter": {"_id": id}});
    assert_eq!(by_id, expected, "by _id {id}");
    if let Some(v) = current {
        let by_index = find(db, "g", doc! {"find": "c", "filter": {"v": v.clone()}});
        assert_eq!(by_index, expected, "by v {v}");
    }
    if let Some(v) = previous.filter(|p| Some(*p) != current) {
        let stale = find(db, "g", doc! {"find": "c", "filter": {"v": v.clone()}});
        assert_eq!(stale, Vec::<Document>::new(), "stale v {v} of {id}");
    }
    let by_unique = find(db, "g", doc! {"find": "c", "filter": {"u": id}});
    assert_eq!(by_unique, expected, "by u {id}");
}

/// One owner: random writes to its own `_id`s, each checked at once.
fn owner(db: &Engine, owner: i32, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut model: BTreeMap<i32, Option<String>> = BTreeMap::new();
    let mut session = Session::new();
    for n in 0..OPS_PER_OWNER {
        let id = owner * 100 + rng.gen_range(0..IDS_PER_OWNER);
        let previous = model.get(&id).cloned().flatten();
        let tag = format!("o{owner}-{id}-{n}");
        let next = match (&previous, rng.gen_range(0..4)) {
            (None, _) => {
                let new = doc! {"_id": id, "v": tag.clone(), "u": id};
                ok(db, "g", doc! {"insert": "c", "documents": [new]});
                Some(tag)
            }
            (Some(_), 0) => {
                ok(
                    db,
                    "g",
                    doc! {"delete": "c", "deletes": [{"q": {"_id": id}, "limit": 1}]},
                );
                None
            }
            (Some(_), 1) => {
                // Delete and re-insert in one transaction: the intent is
                // replaced, and the index must still find the new value.
                session.start();
                let delete = doc! {"delete": "c", "deletes": [{"q": {"_id": id}, "limit": 1}]};
                ok(db, "g", session.stmt(delete));
                let new = doc! {"_id": id, "v": tag.clone(), "u": id};
                ok(
                    db,
                    "g",
                    session.stmt(doc! {"insert": "c", "documents": [new]}),
                );
                ok(db, "admin", session.commit());
                Some(tag)
            }
            (Some(_), _) => {
                ok(
                    db,
                    "g",
                    doc! {"update": "c", "updates": [{"q": {"_id": id}, "u": {"$set": {"v": tag.clone()}}}]},
                );
                Some(tag)
            }
        };
        check(db, id, next.as_ref(), previous.as_ref());
        model.insert(id, next);
    }
}

/// Fights over the shared `_id`s: inserts that may collide, deletes and
/// updates of whatever is there.
fn contender(db: &Engine, stop: &AtomicBool, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = SHARED_BASE + rng.gen_range(0..SHARED_IDS);
        let tag = format!("s{seed}-{n}");
        let body = match rng.gen_range(0..3) {
            0 => doc! {"insert": "c", "documents": [{"_id": id, "v": tag, "u": id}]},
            1 => doc! {"delete": "c", "deletes": [{"q": {"_id": id}, "limit": 1}]},
            _ => doc! {"update": "c", "updates": [{"q": {"_id": id}, "u": {"$set": {"v": tag}}}]},
        };
        let reply = run(db, "g", body.clone());
        assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{body}: {reply}");
        if let Ok(errors) = reply.get_array("writeErrors") {
            let codes: Vec<i32> = errors
                .iter()
                .filter_map(Bson::as_document)
                .filter_map(|e| e.get_i32("code").ok())
                .collect();
            assert_eq!(codes, vec![11000], "only an insert may collide: {reply}");
        }
        let found = find(db, "g", doc! {"find": "c", "filter": {"_id": id}});
        assert!(found.len() <= 1, "one document per _id: {found:?}");
    }
}

/// The documents a snapshot holds, by collection scan and through the `v`
/// index, read at one `atClusterTime`. `None` if that time was already
/// reclaimed (SnapshotTooOld is a correct answer with no history window).
fn snapshot_ids(db: &Engine) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    let scan = ok(
        db,
        "g",
        doc! {"find": "c", "filter": {}, "batchSize": 1000, "readConcern": {"level": "snapshot"}},
    );
    let at = scan
        .get_document("cursor")
        .ok()?
        .get_timestamp("atClusterTime")
        .ok()?;
    let by_index = run(
        db,
        "g",
        doc! {"find": "c", "filter": {"v": {"$gte": ""}}, "batchSize": 1000,
        "readConcern": {"level": "snapshot", "atClusterTime": at}},
    );
    if by_index.get_i32("code").ok() == Some(239) {
        return None;
    }
    let as_set = |docs: Vec<Document>| docs.iter().map(|d| format!("{d}")).collect();
    Some((as_set(batch(&scan)), as_set(batch(&by_index))))
}

/// A transaction's snapshot, read twice with the collector running between.
fn transaction_reads_repeat(db: &Engine, session: &mut Session) {
    session.start();
    let mut read = |filter: Document| {
        let body = session.stmt(doc! {"find": "c", "filter": filter, "batchSize": 1000});
        let docs: BTreeSet<String> = find(db, "g", body).iter().map(|d| format!("{d}")).collect();
        docs
    };
    let first = read(doc! {});
    let through_index = read(doc! {"v": {"$gte": ""}});
    std::thread::sleep(std::time::Duration::from_millis(2));
    let again = read(doc! {"u": {"$gte": i32::MIN}});
    assert_eq!(first, through_index, "index and scan at one snapshot");
    assert_eq!(first, again, "a transaction's snapshot does not change");
    ok(db, "admin", session.commit());
}

fn reader(db: &Engine, stop: &AtomicBool) -> usize {
    let mut session = Session::new();
    let mut compared = 0;
    while !stop.load(Ordering::Relaxed) {
        if let Some((scan, by_index)) = snapshot_ids(db) {
            assert_eq!(scan, by_index, "index and scan at one snapshot");
            compared += 1;
        }
        transaction_reads_repeat(db, &mut session);
    }
    compared
}

#[test]
fn gc_racing_writers_and_readers_loses_and_invents_nothing() {
    let db = engine();
    ok(
        &db,
        "g",
        doc! {"createIndexes": "c", "indexes": [
            {"key": {"v": 1}, "name": "v_1"},
            {"key": {"u": 1}, "name": "u_1", "unique": true},
        ]},
    );
    // The `v` and `u` range filters above must go through their indexes.
    ok(
        &db,
        "g",
        doc! {"insert": "c", "documents": [{"_id": -1, "v": "x", "u": -1}]},
    );
    let before = db.metrics().keys_examined;
    find(&db, "g", doc! {"find": "c", "filter": {"v": {"$gte": ""}}});
    find(
        &db,
        "g",
        doc! {"find": "c", "filter": {"u": {"$gte": i32::MIN}}},
    );
    assert!(db.metrics().keys_examined >= before + 2, "index plans");

    let seed: u64 = rand::random();
    println!("gc concurrency seed {seed}");
    let stop = Arc::new(AtomicBool::new(false));
    let spawn_looping = |work: fn(&Engine, &AtomicBool, u64) -> usize, seed: u64| {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || work(&db, &stop, seed))
    };
    let collector = spawn_looping(
        |db, stop, _| {
            let mut rounds = 0;
            while !stop.load(Ordering::Relaxed) {
                db.collect_garbage();
                rounds += 1;
            }
            rounds
        },
        0,
    );
    let contenders: Vec<_> = (0..CONTENDERS)
        .map(|c| {
            spawn_looping(
                |db, stop, seed| {
                    contender(db, stop, seed);
                    0
                },
                seed.wrapping_add(100 + c as u64),
            )
        })
        .collect();
    let reading = spawn_looping(|db, stop, _| reader(db, stop), 0);
    let owners: Vec<_> = (0..OWNERS)
        .map(|o| {
            let db = db.clone();
            std::thread::spawn(move || owner(&db, o, seed.wrapping_add(o as u64)))
        })
        .collect();
    let owners_done: Vec<_> = owners.into_iter().map(|o| o.join()).collect();
    stop.store(true, Ordering::Relaxed);
    let rounds = collector.join().expect("collector");
    let compared = reading.join().expect("reader");
    for contender in contenders {
        contender.join().expect("contender");
    }
    for done in owners_done {
        done.expect("owner");
    }
    assert!(rounds > 10, "the collector ran: {rounds} rounds");
    assert!(compared > 0, "snapshots compared: {compared}");
}

/// Threads that each insert and delete one `_id` over and over.
const RESURRECTORS: i32 = 3;
const RESURRECTIONS: usize = 1_500;

#[test]
fn gc_resurrected_ids_are_never_lost_to_a_concurrent_unlink() {
    let db = engine();
    // Every incarnation of an `_id` has the same `k`: its index entry is
    // stale between a delete and the next insert, and live again after it.
    ok(
        &db,
        "g",
        doc! {"createIndexes": "c", "indexes": [{"key": {"k": 1}, "name": "k_1"}]},
    );
    let stop = Arc::new(AtomicBool::new(false));
    let collector = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                db.collect_garbage();
            }
        })
    };
    let threads: Vec<_> = (0..RESURRECTORS)
        .map(|id| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(id as u64);
                for n in 0..RESURRECTIONS {
                    let document = doc! {"_id": id, "k": id, "n": n as i64};
                    ok(
                        &db,
                        "g",
                        doc! {"insert": "c", "documents": [document.clone()]},
                    );
                    let found = find(&db, "g", doc! {"find": "c", "filter": {"_id": id}});
                    assert_eq!(found, vec![document.clone()], "resurrection {n} of {id}");
                    let by_k = find(&db, "g", doc! {"find": "c", "filter": {"k": id}});
                    assert_eq!(by_k, vec![document], "resurrection {n} of {id} by k");
                    let delete = doc! {"q": {"_id": id}, "limit": 1};
                    ok(&db, "g", doc! {"delete": "c", "deletes": [delete]});
                    // Give the collector time to reach the tombstone.
                    for _ in 0..rng.gen_range(0..2_000) {
                        std::hint::spin_loop();
                    }
                }
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join()).collect();
    stop.store(true, Ordering::Relaxed);
    collector.join().expect("collector");
    for result in results {
        result.expect("resurrector");
    }
}

const ACCOUNTS: i32 = 300;
const INITIAL: i64 = 100;
const TRANSFERS: usize = 600;
const TRANSFER_THREADS: usize = 2;

/// The total of every balance one find returns.
fn total(db: &Engine, filter: Document) -> i64 {
    let body = doc! {"find": "accounts", "filter": filter, "batchSize": ACCOUNTS + 1};
    find(db, "g", body)
        .iter()
        .map(|d| d.get_i64("balance").expect("balance"))
        .sum()
}

#[test]
fn gc_never_prunes_what_a_running_read_outside_a_transaction_needs() {
    let db = engine();
    ok(
        &db,
        "g",
        doc! {"createIndexes": "accounts", "indexes": [{"key": {"balance": 1}, "name": "balance_1"}]},
    );
    let accounts: Vec<Document> = (0..ACCOUNTS)
        .map(|i| doc! {"_id": i, "balance": INITIAL})
        .collect();
    ok(&db, "g", doc! {"insert": "accounts", "documents": accounts});
    let expected = i64::from(ACCOUNTS) * INITIAL;
    let stop = Arc::new(AtomicBool::new(false));
    let collector = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                db.collect_garbage();
            }
        })
    };
    let reader = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) {
                // One command, one snapshot: by scan and through the index.
                assert_eq!(total(&db, doc! {}), expected, "scan");
                let indexed = doc! {"balance": {"$gte": i64::MIN}};
                assert_eq!(total(&db, indexed), expected, "index");
                reads += 1;
            }
            reads
        })
    };
    let movers: Vec<_> = (0..TRANSFER_THREADS)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(t as u64);
                let mut session = Session::new();
                for _ in 0..TRANSFERS {
                    let (from, to) = (rng.gen_range(0..ACCOUNTS), rng.gen_range(0..ACCOUNTS));
                    session.start();
                    let mut step = |id: i32, by: i64| {
                        let update = doc! {"q": {"_id": id}, "u": {"$inc": {"balance": by}}};
                        let body = session.stmt(doc! {"update": "accounts", "updates": [update]});
                        run(&db, "g", body).get_f64("ok").ok() == Some(1.0)
                    };
                    if step(from, -1) && step(to, 1) {
                        run(&db, "admin", session.commit());
                    } else {
                        run(&db, "admin", session.abort());
                    }
                }
            })
        })
        .collect();
    let moved: Vec<_> = movers.into_iter().map(|m| m.join()).collect();
    stop.store(true, Ordering::Relaxed);
    collector.join().expect("collector");
    let reads = reader.join().expect("reader");
    for done in moved {
        done.expect("mover");
    }
    assert!(reads > 0, "the reader ran");
    assert_eq!(total(&db, doc! {}), expected);
}
