//! `bulkWrite` (mongod 8.0's cross-namespace write command) through the
//! command layer: per-op results, counters, ordering, `errorsOnly`,
//! transactions, retryable writes and request validation.

mod common;

use bson::{Bson, Document, doc};
use common::{Session, engine, find, lsid, ok, run};
use engine::Engine;
use proptest::prelude::*;

const DUPLICATE_KEY: i32 = 11000;
const NO_SUCH_TRANSACTION: i32 = 251;

/// Runs a `bulkWrite` on `admin` that must succeed, and checks its counters
/// and its cursor's entries (each expected entry lists the fields it
/// checks; the number of entries must match).
fn check(db: &Engine, command: Document, counts: Document, entries: Vec<Document>) -> Document {
    let reply = ok(db, "admin", command.clone());
    for (key, want) in &counts {
        assert_eq!(reply.get(key), Some(want), "{key} of {command}: {reply}");
    }
    let cursor = reply.get_document("cursor").expect("cursor");
    assert_eq!(cursor.get_str("ns").ok(), Some("admin.$cmd.bulkWrite"));
    assert_eq!(cursor.get_i64("id").ok(), Some(0));
    let got: Vec<&Document> = cursor
        .get_array("firstBatch")
        .expect("firstBatch")
        .iter()
        .filter_map(Bson::as_document)
        .collect();
    assert_eq!(got.len(), entries.len(), "entries of {command}: {reply}");
    for (got, want) in got.iter().zip(&entries) {
        for (key, value) in want {
            assert_eq!(got.get(key), Some(value), "{key} of entry {got}");
        }
    }
    reply
}

fn counts(inserted: i32, matched: i32, modified: i32, upserted: i32, deleted: i32) -> Document {
    doc! {"nInserted": inserted, "nMatched": matched, "nModified": modified, "nUpserted": upserted, "nDeleted": deleted}
}

fn all(db: &Engine, database: &str, coll: &str) -> Vec<Document> {
    find(db, database, doc! {"find": coll, "filter": {}})
}

#[test]
fn bulk_write_runs_ops_across_namespaces_and_databases() {
    let db = engine();
    ok(
        &db,
        "b",
        doc! {"insert": "d", "documents": [{"_id": 1}, {"_id": 2}]},
    );
    let command = doc! {
        "bulkWrite": 1,
        "ops": [
            {"insert": 0, "document": {"_id": 1, "v": 1}},
            {"insert": 1, "document": {"_id": 3}},
            {"update": 0, "filter": {"_id": 1}, "updateMods": {"$inc": {"v": 1}}},
            {"update": 0, "filter": {"_id": 1}, "updateMods": {"$set": {"v": 2}}},
            {"delete": 1, "filter": {"_id": {"$lt": 3}}, "multi": true},
            {"delete": 0, "filter": {"_id": 99}},
        ],
        "nsInfo": [{"ns": "a.c"}, {"ns": "b.d"}],
    };
    let entries = vec![
        doc! {"ok": 1.0, "idx": 0, "n": 1},
        doc! {"ok": 1.0, "idx": 1, "n": 1},
        doc! {"ok": 1.0, "idx": 2, "n": 1, "nModified": 1},
        doc! {"ok": 1.0, "idx": 3, "n": 1, "nModified": 0},
        doc! {"ok": 1.0, "idx": 4, "n": 2},
        doc! {"ok": 1.0, "idx": 5, "n": 0},
    ];
    let mut want = counts(2, 2, 1, 0, 2);
    want.insert("nErrors", 0);
    check(&db, command, want, entries);
    assert_eq!(all(&db, "a", "c"), vec![doc! {"_id": 1, "v": 2}]);
    assert_eq!(all(&db, "b", "d"), vec![doc! {"_id": 3}]);
}

fn duplicate_batch(ordered: bool) -> Document {
    doc! {
        "bulkWrite": 1,
        "ops": [
            {"insert": 0, "document": {"_id": 1}},
            {"insert": 0, "document": {"_id": 1}},
            {"insert": 0, "document": {"_id": 2}},
        ],
        "nsInfo": [{"ns": "t.c"}],
        "ordered": ordered,
    }
}

#[test]
fn bulk_write_ordered_stops_at_the_first_error() {
    let db = engine();
    let dup = doc! {"ok": 0.0, "idx": 1, "code": DUPLICATE_KEY, "n": 0, "keyValue": {"_id": 1}};
    let mut want = counts(1, 0, 0, 0, 0);
    want.insert("nErrors", 1);
    let entries = vec![doc! {"ok": 1.0, "idx": 0}, dup];
    let reply = check(&db, duplicate_batch(true), want, entries);
    let batch = reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    let keys: Vec<&str> = batch[1]
        .as_document()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["ok", "idx", "code", "errmsg", "keyPattern", "keyValue", "n"],
        "mongod's reply item layout"
    );
    assert_eq!(all(&db, "t", "c"), vec![doc! {"_id": 1}]);
}

#[test]
fn bulk_write_unordered_runs_past_an_error() {
    let db = engine();
    let dup = doc! {"ok": 0.0, "idx": 1, "code": DUPLICATE_KEY, "n": 0};
    let mut want = counts(2, 0, 0, 0, 0);
    want.insert("nErrors", 1);
    let entries = vec![doc! {"idx": 0}, dup, doc! {"ok": 1.0, "idx": 2}];
    check(&db, duplicate_batch(false), want, entries);
    assert_eq!(all(&db, "t", "c"), vec![doc! {"_id": 1}, doc! {"_id": 2}]);
}

#[test]
fn bulk_write_errors_only_lists_only_the_failures_but_counts_everything() {
    let db = engine();
    let mut command = duplicate_batch(false);
    command.insert("errorsOnly", true);
    let mut want = counts(2, 0, 0, 0, 0);
    want.insert("nErrors", 1);
    check(&db, command, want, vec![doc! {"ok": 0.0, "idx": 1}]);
}

#[test]
fn bulk_write_reports_upserted_ids_apart_from_matches() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "v": 1}]},
    );
    let command = doc! {
        "bulkWrite": 1,
        "ops": [
            {"update": 0, "filter": {"_id": 7}, "updateMods": {"$set": {"v": 7}}, "upsert": true},
            {"update": 0, "filter": {"v": 1}, "updateMods": {"v": 10}, "upsert": true},
            {"update": 0, "filter": {"v": {"$gt": 0}}, "updateMods": {"$inc": {"v": 1}}, "multi": true},
        ],
        "nsInfo": [{"ns": "t.c"}],
    };
    let entries = vec![
        doc! {"ok": 1.0, "idx": 0, "n": 1, "nModified": 0, "upserted": {"_id": 7}},
        doc! {"ok": 1.0, "idx": 1, "n": 1, "nModified": 1},
        doc! {"ok": 1.0, "idx": 2, "n": 2, "nModified": 2},
    ];
    let reply = check(&db, command, counts(0, 3, 3, 1, 0), entries);
    let second = &reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()[1];
    assert!(
        !second.as_document().unwrap().contains_key("upserted"),
        "a match is not an upsert: {second}"
    );
    assert_eq!(
        all(&db, "t", "c"),
        vec![doc! {"_id": 1, "v": 11}, doc! {"_id": 7, "v": 8}]
    );
}

#[test]
fn bulk_write_update_with_sort_takes_the_first_in_that_order() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "v": 1}, {"_id": 2, "v": 2}]},
    );
    let command = doc! {
        "bulkWrite": 1,
        "ops": [{"update": 0, "filter": {}, "updateMods": {"$set": {"hit": true}}, "sort": {"v": -1}}],
        "nsInfo": [{"ns": "t.c"}],
    };
    check(&db, command, counts(0, 1, 1, 0, 0), vec![doc! {"n": 1}]);
    assert_eq!(
        all(&db, "t", "c"),
        vec![
            doc! {"_id": 1, "v": 1},
            doc! {"_id": 2, "v": 2, "hit": true}
        ]
    );
}

#[test]
fn bulk_write_in_a_transaction_is_visible_only_after_commit() {
    let db = engine();
    let mut s = Session::new();
    s.start();
    let command = doc! {
        "bulkWrite": 1,
        "ops": [{"insert": 0, "document": {"_id": 1}}, {"insert": 1, "document": {"_id": 2}}],
        "nsInfo": [{"ns": "a.c"}, {"ns": "b.c"}],
    };
    check(
        &db,
        s.stmt(command),
        counts(2, 0, 0, 0, 0),
        vec![doc! {"idx": 0}, doc! {"idx": 1}],
    );
    let inside = find(&db, "a", s.stmt(doc! {"find": "c"}));
    assert_eq!(inside, vec![doc! {"_id": 1}], "reads its own writes");
    assert!(all(&db, "a", "c").is_empty(), "no dirty reads");
    assert!(all(&db, "b", "c").is_empty(), "no dirty reads");
    ok(&db, "admin", s.commit());
    assert_eq!(all(&db, "a", "c"), vec![doc! {"_id": 1}]);
    assert_eq!(all(&db, "b", "c"), vec![doc! {"_id": 2}]);
}

#[test]
fn bulk_write_error_in_a_transaction_aborts_it() {
    let db = engine();
    ok(&db, "t", doc! {"insert": "c", "documents": [{"_id": 1}]});
    let mut s = Session::new();
    s.start();
    let mut command = duplicate_batch(false);
    command.insert("nsInfo", vec![doc! {"ns": "t.c"}]);
    let mut want = counts(0, 0, 0, 0, 0);
    want.insert("nErrors", 1);
    let entries = vec![doc! {"ok": 0.0, "idx": 0, "code": DUPLICATE_KEY}];
    check(&db, s.stmt(command), want, entries);
    let reply = run(&db, "admin", s.commit());
    assert_eq!(
        reply.get_i32("code").ok(),
        Some(NO_SUCH_TRANSACTION),
        "{reply}"
    );
    assert_eq!(all(&db, "t", "c"), vec![doc! {"_id": 1}]);
}

#[test]
fn bulk_write_retried_with_the_same_txn_number_runs_once() {
    let db = engine();
    let session = lsid();
    let command = doc! {
        "bulkWrite": 1,
        "ops": [
            {"insert": 0, "document": {"_id": 1, "v": 0}},
            {"update": 0, "filter": {"_id": 1}, "updateMods": {"$inc": {"v": 1}}},
            {"update": 0, "filter": {"_id": 2}, "updateMods": {"$inc": {"v": 1}}, "upsert": true},
        ],
        "nsInfo": [{"ns": "t.c"}],
        "lsid": session,
        "txnNumber": 1i64,
    };
    let entries = vec![
        doc! {"idx": 0, "n": 1},
        doc! {"idx": 1, "n": 1, "nModified": 1},
        doc! {"idx": 2, "n": 1, "upserted": {"_id": 2}},
    ];
    let first = check(&db, command.clone(), counts(1, 1, 1, 1, 0), entries.clone());
    assert!(!first.contains_key("retriedStmtIds"));
    let again = check(&db, command, counts(1, 1, 1, 1, 0), entries);
    assert_eq!(
        again.get_array("retriedStmtIds").ok(),
        Some(&vec![Bson::Int32(0), Bson::Int32(1), Bson::Int32(2)])
    );
    assert_eq!(
        all(&db, "t", "c"),
        vec![doc! {"_id": 1, "v": 1}, doc! {"_id": 2, "v": 1}]
    );
}

#[test]
fn bulk_write_op_level_errors_fail_only_their_op() {
    let db = engine();
    let command = doc! {
        "bulkWrite": 1,
        "ops": [
            {"update": 0, "filter": {}, "updateMods": {"$nope": {"a": 1}}},
            {"delete": 0, "filter": {"$bad": 1}},
            {"update": 0, "filter": {}, "updateMods": {"$set": {"a": 1}}, "multi": true, "sort": {"a": 1}},
            {"insert": 0, "document": {"_id": 1}},
        ],
        "nsInfo": [{"ns": "t.c"}],
        "ordered": false,
    };
    let mut want = counts(1, 0, 0, 0, 0);
    want.insert("nErrors", 3);
    let entries = vec![
        doc! {"ok": 0.0, "idx": 0, "code": 9, "n": 0, "nModified": 0},
        doc! {"ok": 0.0, "idx": 1, "code": 2, "n": 0},
        doc! {"ok": 0.0, "idx": 2, "code": 9, "errmsg": "Cannot specify sort with multi=true"},
        doc! {"ok": 1.0, "idx": 3},
    ];
    check(&db, command, want, entries);
}

/// Malformed requests fail the whole command, with nothing written.
#[test]
fn bulk_write_rejects_malformed_requests_before_writing() {
    let db = engine();
    let good = doc! {"insert": 0, "document": {"_id": 1}};
    let ns = vec![doc! {"ns": "t.c"}];
    let cases: Vec<(Document, i32, &str)> = vec![
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"insert": 0}], "nsInfo": ns.clone()},
            40414,
            "BSON field 'bulkWrite.ops.document' is missing but a required field",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"delete": 0, "filter": {}, "bogus": 1}], "nsInfo": ns.clone()},
            40415,
            "BSON field 'bulkWrite.ops.bogus' is an unknown field.",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"document": {}, "insert": 0}], "nsInfo": ns.clone()},
            40415,
            "BSON field 'bulkWrite.document' is an unknown field.",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"insert": 5, "document": {"_id": 2}}], "nsInfo": ns.clone()},
            2,
            "BulkWrite ops entry { insert: 5, document: { _id: 2 } } has an invalid nsInfo index.",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"insert": -1, "document": {}}], "nsInfo": ns.clone()},
            2,
            "BSON field 'insert' value must be >= 0, actual value '-1'",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"insert": "0", "document": {}}], "nsInfo": ns.clone()},
            14,
            "BSON field 'bulkWrite.ops.insert' is the wrong type 'string', expected types '[long, int, decimal, double]'",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"update": 0, "filter": {}, "updateMods": 5}], "nsInfo": ns.clone()},
            9,
            "Update argument must be either an object or an array",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"update": 0, "updateMods": {"$set": {"a": 1}}}], "nsInfo": ns.clone()},
            40414,
            "BSON field 'bulkWrite.ops.filter' is missing but a required field",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"delete": 0, "filter": {}, "hint": 5}], "nsInfo": ns.clone()},
            9,
            "Hint must be a string or an object",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone(), {"delete": 0, "filter": {}, "multi": 1}], "nsInfo": ns.clone()},
            14,
            "BSON field 'bulkWrite.ops.multi' is the wrong type 'int', expected type 'bool'",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone()], "nsInfo": [{"ns": "t.c"}, {"ns": "nodot"}]},
            73,
            "Invalid namespace specified for bulkWrite: 'nodot'",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [], "nsInfo": ns.clone()},
            16,
            "Write batch sizes must be between 1 and 100000. Got 0 operations.",
        ),
        (
            doc! {"bulkWrite": 1, "nsInfo": ns.clone()},
            40414,
            "BSON field 'bulkWrite.ops' is missing but a required field",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [good.clone()], "nsInfo": ns.clone(), "bogus": 1},
            40415,
            "BSON field 'bulkWrite.bogus' is an unknown field.",
        ),
    ];
    for (command, code, errmsg) in cases {
        let reply = run(&db, "admin", command.clone());
        assert_eq!(reply.get_f64("ok").ok(), Some(0.0), "{command}: {reply}");
        assert_eq!(reply.get_i32("code").ok(), Some(code), "{command}: {reply}");
        assert_eq!(reply.get_str("errmsg").ok(), Some(errmsg), "{command}");
        assert!(all(&db, "t", "c").is_empty(), "{command} wrote something");
    }
}

#[test]
fn bulk_write_cursor_batch_size_leaves_the_rest_on_a_cursor() {
    let db = engine();
    let command = doc! {
        "bulkWrite": 1,
        "ops": [{"insert": 0, "document": {"_id": 1}}, {"insert": 0, "document": {"_id": 2}}],
        "nsInfo": [{"ns": "t.c"}],
        "cursor": {"batchSize": 1},
    };
    let reply = ok(&db, "admin", command);
    let cursor = reply.get_document("cursor").unwrap();
    assert_eq!(cursor.get_array("firstBatch").unwrap().len(), 1, "{reply}");
    let id = cursor.get_i64("id").unwrap();
    assert_ne!(id, 0, "{reply}");
    let more = ok(
        &db,
        "admin",
        doc! {"getMore": id, "collection": "$cmd.bulkWrite"},
    );
    let next = more
        .get_document("cursor")
        .unwrap()
        .get_array("nextBatch")
        .unwrap();
    assert_eq!(next.len(), 1, "{more}");
    assert_eq!(next[0].as_document().unwrap().get_i32("idx").ok(), Some(1));
}

#[test]
fn bulk_write_takes_pipeline_updates_and_let_variables() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "x": 1}, {"_id": 2, "x": 2}]},
    );
    let command = doc! {
        "bulkWrite": 1,
        "ops": [
            {"update": 0, "filter": {"$expr": {"$eq": ["$_id", "$$one"]}}, "updateMods": [{"$set": {"y": {"$add": ["$x", 10]}}}]},
            {"delete": 0, "filter": {"$expr": {"$eq": ["$_id", "$$two"]}}},
        ],
        "nsInfo": [{"ns": "t.c"}],
        "let": {"one": 1, "two": 2},
    };
    let entries = vec![doc! {"n": 1, "nModified": 1}, doc! {"n": 1}];
    check(&db, command, counts(0, 1, 1, 0, 1), entries);
    assert_eq!(all(&db, "t", "c"), vec![doc! {"_id": 1, "x": 1, "y": 11}]);
}

fn value() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::Int32(0)),
        Just(Bson::Int32(-1)),
        Just(Bson::Int32(3)),
        Just(Bson::Double(0.5)),
        Just(Bson::Boolean(true)),
        Just(Bson::String("x".into())),
        Just(Bson::Document(doc! {})),
        Just(Bson::Document(doc! {"_id": 1})),
        Just(Bson::Document(doc! {"$set": {"a": 1}})),
        Just(Bson::Document(doc! {"$bad": 1})),
        Just(Bson::Array(vec![Bson::Document(doc! {"$set": {"a": 1}})])),
        Just(Bson::Array(vec![])),
    ]
}

fn op() -> impl Strategy<Value = Document> {
    let kinds = prop::sample::select(vec!["insert", "update", "delete", "bogus"]);
    let fields = prop::sample::select(vec![
        "document",
        "filter",
        "updateMods",
        "multi",
        "upsert",
        "sort",
        "hint",
        "arrayFilters",
        "collation",
        "other",
    ]);
    (
        kinds,
        value(),
        prop::collection::vec((fields, value()), 0..5),
    )
        .prop_map(|(kind, index, fields)| {
            let mut op = doc! {kind: index};
            for (field, value) in fields {
                op.insert(field, value);
            }
            op
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any request gets a reply; a rejected one writes nothing; an accepted
    /// one reports one entry per op run and counts its failures.
    #[test]
    fn bulk_write_replies_consistently_to_arbitrary_ops(
        ops in prop::collection::vec(op(), 1..6),
        ordered in any::<bool>(),
    ) {
        let db = engine();
        let command = doc! {
            "bulkWrite": 1,
            "ops": ops.clone(),
            "nsInfo": [{"ns": "t.c"}, {"ns": "u.d"}],
            "ordered": ordered,
        };
        let reply = run(&db, "admin", command);
        match reply.get_f64("ok") {
            Ok(1.0) => {
                let batch = reply.get_document("cursor").unwrap().get_array("firstBatch").unwrap();
                prop_assert!(batch.len() <= ops.len());
                let failed = batch
                    .iter()
                    .filter(|e| e.as_document().unwrap().get_f64("ok").ok() == Some(0.0))
                    .count();
                prop_assert_eq!(reply.get_i32("nErrors").ok(), Some(failed as i32));
                if ordered {
                    prop_assert!(failed <= 1);
                }
            }
            _ => {
                prop_assert!(reply.get_i32("code").is_ok(), "{}", reply);
                prop_assert!(all(&db, "t", "c").is_empty() && all(&db, "u", "d").is_empty());
            }
        }
    }
}
