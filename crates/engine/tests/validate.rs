//! `validate` through the command layer: its counts on a sound collection,
//! its errors, and that a collection stays valid at every snapshot while
//! transactions rewrite indexed fields, abort, delete and the collector
//! runs (the checks that find corruption are unit tests in
//! `command/validate.rs`, which can break an index on purpose).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use bson::{Bson, Document, doc};
use common::{Session, engine, fails, ok, run};

fn validate(db: &engine::Engine, coll: &str) -> Document {
    ok(db, "t", doc! {"validate": coll, "full": true})
}

fn int(reply: &Document, path: &str) -> i64 {
    let mut parts = path.split('.').peekable();
    let mut doc = reply;
    loop {
        let part = parts.next().expect("a path");
        if parts.peek().is_none() {
            return match doc.get(part) {
                Some(Bson::Int32(n)) => i64::from(*n),
                Some(Bson::Int64(n)) => *n,
                other => panic!("{path} is {other:?} in {reply}"),
            };
        }
        doc = doc.get_document(part).expect("a subdocument");
    }
}

#[test]
fn validate_counts_documents_and_the_keys_each_index_holds() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"createIndexes": "c", "indexes": [
            {"key": {"tags": 1}, "name": "tags_1"},
            {"key": {"sku": 1}, "name": "sku_1", "unique": true},
            {"key": {"x": 1}, "name": "x_1", "partialFilterExpression": {"x": {"$gt": 1}}},
        ]},
    );
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [
            {"_id": 1, "tags": ["a", "b", "c"], "sku": "p1", "x": 1},
            {"_id": 2, "tags": [], "sku": "p2", "x": 2},
            {"_id": 3, "tags": "d", "sku": "p3", "x": 3},
            {"_id": 4, "sku": "p4"},
        ]},
    );
    ok(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"_id": 3}, "u": {"$set": {"tags": ["e", "f"], "x": 0}}}]},
    );
    ok(
        &db,
        "t",
        doc! {"delete": "c", "deletes": [{"q": {"_id": 4}, "limit": 1}]},
    );
    let reply = validate(&db, "c");
    // Each case: a counter of the reply and its value. Multikey documents
    // count a key per element (an empty array is one, undefined, key); the
    // partial index holds only x > 1.
    let cases = [
        ("nrecords", 3),
        ("nIndexes", 4),
        ("nInvalidDocuments", 0),
        ("nNonCompliantDocuments", 0),
        ("keysPerIndex._id_", 3),
        ("keysPerIndex.tags_1", 3 + 1 + 2),
        ("keysPerIndex.sku_1", 3),
        ("keysPerIndex.x_1", 1),
    ];
    for (path, expected) in cases {
        assert_eq!(int(&reply, path), expected, "{path}: {reply}");
    }
    assert_eq!(reply.get_bool("valid").ok(), Some(true), "{reply}");
    assert_eq!(reply.get_str("ns").ok(), Some("t.c"));
    for name in ["_id_", "tags_1", "sku_1", "x_1"] {
        let details = reply.get_document("indexDetails").expect("indexDetails");
        assert_eq!(
            details
                .get_document(name)
                .and_then(|d| d.get_bool("valid"))
                .ok(),
            Some(true),
            "{reply}"
        );
    }
    for list in [
        "errors",
        "warnings",
        "missingIndexEntries",
        "extraIndexEntries",
        "corruptRecords",
    ] {
        assert_eq!(
            reply.get_array(list).map(Vec::len).ok(),
            Some(0),
            "{list}: {reply}"
        );
    }
}

#[test]
fn validate_counts_documents_a_later_validator_rejects_as_a_warning() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "n": 1}, {"_id": 2, "n": "two"}, {"_id": 3}]},
    );
    ok(
        &db,
        "t",
        doc! {"collMod": "c", "validator": {"n": {"$type": "number"}}},
    );
    let reply = validate(&db, "c");
    assert_eq!(int(&reply, "nNonCompliantDocuments"), 2, "{reply}");
    assert_eq!(reply.get_bool("valid").ok(), Some(true), "{reply}");
    assert_eq!(
        reply.get_array("warnings").map(Vec::len).ok(),
        Some(1),
        "{reply}"
    );
}

#[test]
fn validate_refuses_what_mongod_refuses() {
    let db = engine();
    ok(&db, "t", doc! {"insert": "c", "documents": [{"_id": 1}]});
    ok(
        &db,
        "t",
        doc! {"create": "v", "viewOn": "c", "pipeline": []},
    );
    let cases = [
        (doc! {"validate": "missing"}, 26),
        (doc! {"validate": "v"}, 166),
        (doc! {"validate": "c", "repair": true}, 72),
        (doc! {"validate": "c", "nope": 1}, 40415),
        (doc! {"validate": "c", "full": "yes"}, 14),
        (doc! {"validate": 7}, 73),
    ];
    for (command, code) in cases {
        assert_eq!(fails(&db, "t", command.clone()).0, code, "{command}");
    }
    let mut session = Session::new();
    session.start();
    let reply = run(&db, "t", session.stmt(doc! {"validate": "c"}));
    assert_eq!(reply.get_i32("code").ok(), Some(263), "{reply}");
}

#[test]
fn validate_finds_every_snapshot_sound_while_transactions_rewrite_indexed_fields() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"createIndexes": "c", "indexes": [
            {"key": {"k": 1}, "name": "k_1", "unique": true},
            {"key": {"tags": 1, "n": -1}, "name": "tags_1_n_-1"},
        ]},
    );
    let docs: Vec<Document> = (0..200)
        .map(|i| doc! {"_id": i, "k": i, "n": 0, "tags": [i % 7, i % 11]})
        .collect();
    ok(&db, "t", doc! {"insert": "c", "documents": docs});
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let db = db.clone();
            let stop = stop.clone();
            thread::spawn(move || writer(&db, w, &stop))
        })
        .collect();
    let mut rounds = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        let reply = validate(&db, "c");
        assert_eq!(reply.get_bool("valid").ok(), Some(true), "{reply}");
        assert_eq!(int(&reply, "keysPerIndex.k_1"), int(&reply, "nrecords"));
        rounds += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let commits: u64 = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    assert!(
        rounds >= 5 && commits >= 50,
        "rounds {rounds}, commits {commits}"
    );
    let reply = validate(&db, "c");
    assert_eq!(reply.get_bool("valid").ok(), Some(true), "{reply}");
}

/// Rewrites indexed fields in transactions (moving unique keys, growing
/// and shrinking multikey arrays, deleting and reinserting), aborting one
/// in four; returns the commits.
fn writer(db: &engine::Engine, w: i32, stop: &AtomicBool) -> u64 {
    let mut commits = 0;
    let mut i: i32 = 0;
    while !stop.load(Ordering::Relaxed) {
        i = i.wrapping_add(1);
        let id = (i * 7 + w * 13).rem_euclid(200);
        let mut session = Session::new();
        session.start();
        let statements = [
            doc! {"update": "c", "updates": [{"q": {"_id": id}, "u": {"$set": {"k": 1000 + w * 100_000 + i}, "$inc": {"n": 1}, "$push": {"tags": i}}}]},
            doc! {"update": "c", "updates": [{"q": {"_id": id}, "u": {"$set": {"tags": [i % 5]}}}]},
            doc! {"delete": "c", "deletes": [{"q": {"_id": (id + 1) % 200}, "limit": 1}]},
            doc! {"update": "c", "updates": [{"q": {"_id": (id + 1) % 200}, "u": {"$set": {"k": -1 - w * 100_000 - i, "n": 0, "tags": [1, 2]}}, "upsert": true}]},
        ];
        let mut failed = false;
        for statement in statements {
            let reply = run(db, "t", session.stmt(statement));
            if reply.get_f64("ok").ok() != Some(1.0) || reply.contains_key("writeErrors") {
                failed = true;
                break;
            }
        }
        if failed {
            // A conflict aborted it; the next attempt starts afresh.
            continue;
        }
        let end = match i % 4 {
            0 => session.abort(),
            _ => session.commit(),
        };
        let reply = run(db, "admin", end);
        if reply.get_f64("ok").ok() == Some(1.0) && i % 4 != 0 {
            commits += 1;
        }
    }
    commits
}
