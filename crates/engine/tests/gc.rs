//! Garbage collection: deleted documents, old versions and stale index
//! entries are reclaimed once no reader can see them, and not before.
//!
//! Regression: before the collector existed, a queue-like workload (insert,
//! then delete) or repeated updates of an indexed field grew a collection's
//! records and index entries without bound.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bson::{Bson, Document, doc};
use common::{Session, fails, find, ok, run};
use engine::{Engine, EngineOptions, Storage, StorageCounts};

/// Rounds [`settle`] runs at most; a round sweeps 4k records per collection,
/// and a horizon needs two rounds to become usable.
const SETTLE_ROUNDS_MAX: usize = 64;
/// Documents the bulk workloads write.
const DOCS: i32 = 10_000;
/// Documents per insert command: well under maxWriteBatchSize.
const BATCH: i32 = 1_000;

fn engine_with_window(secs: u64) -> Engine {
    Engine::open(EngineOptions {
        enable_test_commands: true,
        snapshot_history_window_secs: secs,
        ..EngineOptions::default()
    })
    .expect("in-memory engines always open")
}

/// Runs collection rounds until a whole pass over the collections (from one
/// round that reaches their end to the next) reclaims nothing; returns what
/// `q.items` then holds. The first two rounds only move the horizon up to
/// the present.
fn settle(db: &Engine) -> StorageCounts {
    let mut reclaimed_in_pass = true;
    for round in 0..SETTLE_ROUNDS_MAX {
        let stats = db.collect_garbage();
        let reclaimed = stats.records_removed + stats.versions_pruned + stats.index_entries_removed;
        reclaimed_in_pass |= reclaimed > 0;
        if stats.collections_completed > 0 {
            if !reclaimed_in_pass && round >= 2 {
                break;
            }
            reclaimed_in_pass = false;
        }
    }
    db.storage_counts("q", "items").expect("q.items exists")
}

/// Runs [`settle`] until `q.items` holds `expected`, failing after `within`
/// (the history window moves with the wall clock).
fn settles_to(db: &Engine, expected: StorageCounts, within: Duration) {
    let deadline = Instant::now() + within;
    while settle(db) != expected {
        assert!(Instant::now() < deadline, "never reclaimed to {expected:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sets `minSnapshotHistoryWindowInSeconds`.
fn set_window(db: &Engine, secs: i32) {
    ok(
        db,
        "admin",
        doc! {"setParameter": 1, "minSnapshotHistoryWindowInSeconds": secs},
    );
}

fn counts(records: usize, versions: usize, entries: usize) -> StorageCounts {
    StorageCounts {
        records,
        versions,
        index_entries: vec![("n_1".to_owned(), entries)],
    }
}

fn with_index(db: &Engine) {
    ok(
        db,
        "q",
        doc! {"createIndexes": "items", "indexes": [{"key": {"n": 1}, "name": "n_1"}]},
    );
}

/// Inserts `{_id: i, n: i}` for each `i`; returns the last insert's
/// `operationTime`.
fn insert_range(db: &Engine, ids: std::ops::Range<i32>) -> Option<bson::Timestamp> {
    let docs: Vec<Document> = ids.map(|i| doc! {"_id": i, "n": i}).collect();
    let mut last = None;
    for batch in docs.chunks(BATCH as usize) {
        let reply = ok(
            db,
            "q",
            doc! {"insert": "items", "documents": batch.to_vec()},
        );
        last = reply.get_timestamp("operationTime").ok();
    }
    last
}

fn delete_where(db: &Engine, filter: Document) {
    ok(
        db,
        "q",
        doc! {"delete": "items", "deletes": [{"q": filter, "limit": 0}]},
    );
}

/// The workloads of [`gc_returns_collections_to_what_they_hold`].
#[derive(Debug)]
enum Workload {
    InsertThenDeleteAll,
    /// A queue: batches inserted and then consumed, over and over.
    Queue,
    DeleteHalf,
    /// Every document's indexed field rewritten many times.
    UpdateIndexedField,
    /// Inserts that fail on a unique index leave nothing behind.
    AbortedInserts,
}

fn apply(db: &Engine, workload: &Workload) {
    match workload {
        Workload::InsertThenDeleteAll => {
            insert_range(db, 0..DOCS);
            delete_where(db, doc! {});
        }
        Workload::Queue => {
            for start in (0..DOCS).step_by(BATCH as usize) {
                insert_range(db, start..start + BATCH);
                delete_where(db, doc! {"_id": {"$lt": start + BATCH}});
            }
        }
        Workload::DeleteHalf => {
            insert_range(db, 0..DOCS);
            delete_where(db, doc! {"n": {"$gte": DOCS / 2}});
        }
        Workload::UpdateIndexedField => {
            insert_range(db, 0..10);
            for _ in 0..DOCS / 10 {
                ok(
                    db,
                    "q",
                    doc! {"update": "items", "updates": [{"q": {}, "u": {"$inc": {"n": 1}}, "multi": true}]},
                );
            }
        }
        Workload::AbortedInserts => {
            ok(
                db,
                "q",
                doc! {"createIndexes": "items", "indexes": [{"key": {"u": 1}, "name": "u_1", "unique": true}]},
            );
            ok(
                db,
                "q",
                doc! {"insert": "items", "documents": [{"_id": -1, "u": 0}]},
            );
            for i in 0..100 {
                let reply = run(
                    db,
                    "q",
                    doc! {"insert": "items", "documents": [{"_id": i, "n": i, "u": 0}]},
                );
                assert!(reply.contains_key("writeErrors"), "{reply}");
            }
            delete_where(db, doc! {});
        }
    }
}

#[test]
fn gc_returns_collections_to_what_they_hold() {
    let check = |workload: Workload, expected: StorageCounts| {
        let db = engine_with_window(0);
        with_index(&db);
        apply(&db, &workload);
        let mut found = settle(&db);
        found.index_entries.retain(|(name, _)| name == "n_1");
        assert_eq!(found, expected, "after {workload:?}");
    };
    check(Workload::InsertThenDeleteAll, counts(0, 0, 0));
    check(Workload::Queue, counts(0, 0, 0));
    let half = (DOCS / 2) as usize;
    check(Workload::DeleteHalf, counts(half, half, half));
    check(Workload::UpdateIndexedField, counts(10, 10, 10));
    check(Workload::AbortedInserts, counts(0, 0, 0));
}

#[test]
fn gc_leaves_indexed_queries_answering_the_current_state() {
    let db = engine_with_window(0);
    with_index(&db);
    apply(&db, &Workload::UpdateIndexedField);
    settle(&db);
    // Document i now has n = i + DOCS / 10.
    let top = DOCS / 10 + 9;
    let check = |filter: Document, expected: usize| {
        let docs = find(&db, "q", doc! {"find": "items", "filter": filter.clone()});
        assert_eq!(docs.len(), expected, "{filter}");
    };
    check(doc! {"n": {"$gte": top - 1}}, 2);
    check(doc! {"n": {"$lt": top - 9}}, 0);
    check(doc! {"n": top - 5}, 1);
    check(doc! {"n": {"$gte": 0}}, 10);
}

#[test]
fn gc_keeps_what_an_open_transaction_can_see_until_it_ends() {
    let db = engine_with_window(0);
    with_index(&db);
    insert_range(&db, 0..100);
    let mut session = Session::new();
    session.start();
    let read = |db: &Engine, session: &mut Session, filter: Document| -> usize {
        let body = session.stmt(doc! {"find": "items", "filter": filter, "batchSize": 1000});
        find(db, "q", body).len()
    };
    assert_eq!(read(&db, &mut session, doc! {}), 100);
    ok(
        &db,
        "q",
        doc! {"update": "items", "updates": [{"q": {"_id": {"$lt": 50}}, "u": {"$set": {"n": -1}}, "multi": true}]},
    );
    delete_where(&db, doc! {"_id": {"$gte": 50}});
    // Every record keeps its old version (and the updated ones their new
    // one, or a tombstone); the index keeps the old keys and the new -1s.
    assert_eq!(
        settle(&db),
        counts(100, 200, 150),
        "the transaction pins them"
    );
    let check = |session: &mut Session, filter: Document, expected: usize| {
        assert_eq!(read(&db, session, filter.clone()), expected, "{filter}");
    };
    check(&mut session, doc! {"_id": 42}, 1);
    check(&mut session, doc! {"_id": 77}, 1);
    check(&mut session, doc! {"n": {"$gte": 50}}, 50);
    check(&mut session, doc! {"n": {"$lt": 50}}, 50);
    check(&mut session, doc! {"n": -1}, 0);
    check(&mut session, doc! {"_id": {"$in": [1, 2, 98]}}, 3);
    ok(&db, "admin", session.commit());
    assert_eq!(settle(&db), counts(50, 50, 50));
    let now = find(
        &db,
        "q",
        doc! {"find": "items", "filter": {"n": -1}, "batchSize": 1000},
    );
    assert_eq!(now.len(), 50);
}

#[test]
fn gc_keeps_history_for_snapshot_reads_inside_the_window() {
    let window_secs = 3;
    let db = engine_with_window(window_secs);
    with_index(&db);
    let before = insert_range(&db, 0..100).expect("operationTime");
    delete_where(&db, doc! {});
    let at = |filter: Document| {
        doc! {"find": "items", "filter": filter, "batchSize": 1000,
        "readConcern": {"level": "snapshot", "atClusterTime": before}}
    };
    assert_eq!(settle(&db), counts(100, 200, 100), "inside the window");
    assert_eq!(find(&db, "q", at(doc! {})).len(), 100);
    assert_eq!(find(&db, "q", at(doc! {"n": {"$lt": 10}})).len(), 10);
    // An idle engine's window moves on with the wall clock.
    settles_to(&db, counts(0, 0, 0), Duration::from_secs(window_secs * 5));
    let (code, _) = fails(&db, "q", at(doc! {}));
    assert_eq!(code, 239, "SnapshotTooOld once reclaimed");
}

#[test]
fn gc_reclaims_soon_after_the_window_shrinks() {
    let db = engine_with_window(300);
    with_index(&db);
    insert_range(&db, 0..100);
    delete_where(&db, doc! {});
    assert_eq!(settle(&db), counts(100, 200, 100));
    set_window(&db, 1);
    settles_to(&db, counts(0, 0, 0), Duration::from_secs(10));
}

#[test]
fn gc_resurrected_ids_are_new_documents() {
    let db = engine_with_window(0);
    with_index(&db);
    insert_range(&db, 0..10);
    delete_where(&db, doc! {});
    settle(&db);
    insert_range(&db, 0..10);
    assert_eq!(settle(&db), counts(10, 10, 10));
    let docs = find(
        &db,
        "q",
        doc! {"find": "items", "filter": {"n": {"$lt": 3}}},
    );
    let ids: Vec<&Bson> = docs.iter().filter_map(|d| d.get("_id")).collect();
    assert_eq!(ids, vec![&Bson::Int32(0), &Bson::Int32(1), &Bson::Int32(2)]);
}

fn open_on(dir: &Path) -> Engine {
    Engine::open(EngineOptions {
        storage: Storage::Directory(dir.to_owned()),
        snapshot_history_window_secs: 0,
        ..EngineOptions::default()
    })
    .expect("open on disk")
}

#[test]
fn gc_then_checkpoint_then_restart_keeps_exactly_the_live_documents() {
    let dir = common::temp_dir("gc");
    {
        let db = open_on(&dir);
        with_index(&db);
        insert_range(&db, 0..1_000);
        delete_where(&db, doc! {"n": {"$gte": 10}});
        assert_eq!(settle(&db), counts(10, 10, 10));
        db.checkpoint().expect("checkpoint");
        delete_where(&db, doc! {"n": {"$gte": 5}});
        insert_range(&db, 500..502);
        settle(&db);
    }
    let db = open_on(&dir);
    let docs = find(
        &db,
        "q",
        doc! {"find": "items", "filter": {"n": {"$gte": 0}}},
    );
    let ids: Vec<i32> = docs.iter().filter_map(|d| d.get_i32("_id").ok()).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 500, 501]);
    assert_eq!(settle(&db), counts(7, 7, 7));
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The collector learns a record's keys newest version first and skips
/// versions whose indexed values equal the previous one's: an entry backed
/// only by versions deep in the history, behind runs of equal ones, must
/// still be found and kept, and go once those versions leave the window.
#[test]
fn gc_keeps_entries_only_old_versions_back() {
    let db = engine_with_window(300);
    with_index(&db);
    let set = |n: i32, other: i32| {
        let reply = ok(
            &db,
            "q",
            doc! {"update": "items", "updates": [{"q": {"_id": 1}, "u": {"$set": {"n": n, "other": other}}}]},
        );
        reply.get_timestamp("operationTime").expect("operationTime")
    };
    insert_range(&db, 1..2);
    // n: 1, 7, 7, 7, 1, 1, 1: the n = 7 entry is backed only by the middle
    // run, between runs that generate the n = 1 entry.
    let sevens = set(7, 0);
    for other in 1..3 {
        set(7, other);
    }
    for other in 0..3 {
        set(1, other);
    }
    assert_eq!(settle(&db), counts(1, 7, 2), "inside the window");
    let at_sevens = doc! {"find": "items", "filter": {"n": 7},
    "readConcern": {"level": "snapshot", "atClusterTime": sevens}};
    assert_eq!(
        find(&db, "q", at_sevens).len(),
        1,
        "found through the index"
    );
    set_window(&db, 0);
    settles_to(&db, counts(1, 1, 1), Duration::from_secs(10));
}

/// History is bounded by memory as well as by time: a document rewritten
/// thousands of times a second would otherwise keep every version of the
/// 300 s window. Past `snapshot_history_bytes_max` the window kept shrinks,
/// reads before it get SnapshotTooOld, and once history is small again the
/// window grows back.
#[test]
fn gc_bounds_snapshot_history_by_memory() {
    let bytes_max = 64 * 1024;
    let db = Engine::open(EngineOptions {
        snapshot_history_window_secs: 300,
        snapshot_history_bytes_max: bytes_max,
        ..EngineOptions::default()
    })
    .expect("in-memory engines always open");
    let pad = "x".repeat(200);
    let inc = |db: &Engine| {
        let reply = ok(
            db,
            "q",
            doc! {"update": "items", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}]},
        );
        reply.get_timestamp("operationTime").expect("operationTime")
    };
    ok(
        &db,
        "q",
        doc! {"insert": "items", "documents": [{"_id": 1, "n": 0, "pad": pad}]},
    );
    let first = inc(&db);
    // Some 850 bytes a version in memory: about 25 times the bound.
    for _ in 0..2_000 {
        inc(&db);
    }
    let at = |ts: bson::Timestamp| {
        doc! {"find": "items", "filter": {"_id": 1},
        "readConcern": {"level": "snapshot", "atClusterTime": ts}}
    };
    assert_eq!(find(&db, "q", at(first))[0].get_i32("n").ok(), Some(1));
    // Halving 300 s takes ten rounds; pruning lags two more.
    for _ in 0..16 {
        db.collect_garbage();
    }
    let kept = db.storage_counts("q", "items").expect("exists").versions;
    assert!(kept < 2_000, "history kept: {kept} versions");
    let (code, _) = fails(&db, "q", at(first));
    assert_eq!(code, 239, "SnapshotTooOld before the window kept");
    // Small again: the window grows back to the configured 300 s.
    for _ in 0..16 {
        db.collect_garbage();
    }
    let second = inc(&db);
    for _ in 0..10 {
        inc(&db);
    }
    for _ in 0..4 {
        db.collect_garbage();
    }
    assert_eq!(
        find(&db, "q", at(second))[0].get_i32("n").ok(),
        Some(2_002),
        "read inside the regrown window"
    );
}

/// An idle collection costs the collector nothing once a whole pass has
/// found it settled, and any change (a write, an abort, an index build)
/// makes it swept again, so what the change leaves behind is reclaimed.
#[test]
fn gc_skips_collections_unchanged_since_a_clean_pass() {
    let db = engine_with_window(0);
    with_index(&db);
    insert_range(&db, 0..10_000);
    // Proving it clean takes a records pass, then an index pass begun
    // after it: a few rounds of 4k records each (the reaper runs rounds
    // too). Then every round skips it.
    let skipped_after_settling = |db: &Engine| {
        settle(db);
        let first = (0..20).position(|_| db.collect_garbage().collections_skipped == 1);
        assert!(first.is_some(), "never proven clean");
        (0..3)
            .map(|_| db.collect_garbage().collections_skipped)
            .collect::<Vec<_>>()
    };
    assert_eq!(skipped_after_settling(&db), [1, 1, 1], "idle: skipped");
    delete_where(&db, doc! {"_id": {"$lt": 100}});
    assert_eq!(
        db.collect_garbage().collections_skipped,
        0,
        "a write makes it swept again"
    );
    assert_eq!(settle(&db), counts(9_900, 9_900, 9_900));
    assert_eq!(skipped_after_settling(&db), [1, 1, 1]);

    // An aborted insert leaves a record with no version behind.
    let mut session = Session::new();
    session.start();
    ok(
        &db,
        "q",
        session.stmt(doc! {"insert": "items", "documents": [{"_id": -1, "n": -1}]}),
    );
    ok(&db, "admin", session.abort());
    assert_eq!(settle(&db), counts(9_900, 9_900, 9_900), "reclaimed");
    assert_eq!(skipped_after_settling(&db), [1, 1, 1]);
}
