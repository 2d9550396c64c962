//! Diagnostic commands through the command layer, against mongod's reply
//! shapes: `replSetGetConfig` (mongosh's `rs.conf()`) and `dbStats`
//! (mongosh's `db.stats()`). mongod 7.0 and
//! later answer counts (`collections`, `objects`, `indexes`, `scaleFactor`)
//! as longs and byte sizes as doubles; mongosh shows them as `Long('3')`
//! and `52`.
//!
//! Expected sizes are the documents' encoded BSON sizes worked out by hand:
//! `{_id: <int32>}` is 4 (length) + 1 (type) + 4 ("_id\0") + 4 (int32) +
//! 1 (terminator) = 14 bytes; `{_id: <int32>, s: "ab"}` adds 1 (type) +
//! 2 ("s\0") + 4 (string length) + 3 ("ab\0") = 10, so 24 bytes.

mod common;

use bson::{Bson, Document, doc};
use common::{Session, engine, fails, ok};
use engine::Engine;

const BAD_VALUE: i32 = 2;
const TYPE_MISMATCH: i32 = 14;
const UNKNOWN_FIELD: i32 = 40415;

/// Runs `dbStats` on `db` and checks the reply's fields named in `expected`.
fn check(engine: &Engine, db: &str, body: Document, expected: Document) {
    let reply = ok(engine, db, body);
    for (field, value) in &expected {
        assert_eq!(reply.get(field), Some(value), "dbStats.{field} in {reply}");
    }
}

/// Two collections: `a` with {_id: 1} and {_id: 2, s: "ab"} and an index on
/// `s`; `b` with {_id: 1}. 14 + 24 + 14 = 52 bytes in 3 documents.
fn seeded() -> Engine {
    let db = engine();
    ok(
        &db,
        "shop",
        doc! {"insert": "a", "documents": [{"_id": 1}, {"_id": 2, "s": "ab"}]},
    );
    ok(
        &db,
        "shop",
        doc! {"createIndexes": "a", "indexes": [{"key": {"s": 1}, "name": "s_1"}]},
    );
    ok(&db, "shop", doc! {"insert": "b", "documents": [{"_id": 1}]});
    db
}

#[test]
fn dbstats_counts_collections_documents_indexes_and_bytes() {
    check(
        &seeded(),
        "shop",
        doc! {"dbStats": 1},
        doc! {
            "db": "shop",
            "collections": 2i64,
            "views": 0i64,
            "objects": 3i64,
            "avgObjSize": 52.0 / 3.0,
            "dataSize": 52.0,
            "storageSize": 52.0,
            "indexes": 3i64,
            "indexSize": 0.0,
            "totalSize": 52.0,
            "scaleFactor": 1i64,
            "ok": 1.0,
        },
    );
}

#[test]
fn dbstats_of_a_missing_database_is_all_zeros() {
    check(
        &seeded(),
        "nothing",
        doc! {"dbStats": 1},
        doc! {
            "db": "nothing",
            "collections": 0i64,
            "objects": 0i64,
            "avgObjSize": 0.0,
            "dataSize": 0.0,
            "indexes": 0i64,
            "scaleFactor": 1i64,
        },
    );
}

#[test]
fn dbstats_scale_divides_sizes_but_not_the_average() {
    let db = seeded();
    // 52 / 10 rounds down; a fractional scale keeps its integer part.
    for scale in [Bson::Int32(10), Bson::Int64(10), Bson::Double(10.9)] {
        check(
            &db,
            "shop",
            doc! {"dbStats": 1, "scale": scale},
            doc! {
                "dataSize": 5.0,
                "totalSize": 5.0,
                "avgObjSize": 52.0 / 3.0,
                "scaleFactor": 10i64,
            },
        );
    }
}

#[test]
fn dbstats_free_storage_adds_the_free_space_fields() {
    let reply = ok(&seeded(), "shop", doc! {"dbStats": 1, "freeStorage": 1});
    for field in [
        "freeStorageSize",
        "indexFreeStorageSize",
        "totalFreeStorageSize",
    ] {
        assert_eq!(
            reply.get(field),
            Some(&Bson::Double(0.0)),
            "{field} in {reply}"
        );
    }
    let without = ok(&seeded(), "shop", doc! {"dbStats": 1});
    assert!(!without.contains_key("freeStorageSize"), "{without}");
}

#[test]
fn dbstats_rejects_bad_scales_and_unknown_fields() {
    let db = seeded();
    let cases = [
        (doc! {"dbStats": 1, "scale": 0}, BAD_VALUE),
        (doc! {"dbStats": 1, "scale": -1}, BAD_VALUE),
        (doc! {"dbStats": 1, "scale": 0.5}, BAD_VALUE),
        (doc! {"dbStats": 1, "scale": (1i64 << 50) + 1}, BAD_VALUE),
        (doc! {"dbStats": 1, "scale": f64::NAN}, BAD_VALUE),
        (doc! {"dbStats": 1, "scale": "kb"}, TYPE_MISMATCH),
        (doc! {"dbStats": 1, "bogus": 1}, UNKNOWN_FIELD),
    ];
    for (body, code) in cases {
        assert_eq!(fails(&db, "shop", body.clone()).0, code, "{body}");
    }
    check(
        &db,
        "shop",
        doc! {"dbStats": 1, "scale": 1i64 << 50},
        doc! {"dataSize": 0.0, "scaleFactor": 1i64 << 50},
    );
}

#[test]
fn dbstats_counts_committed_documents_only() {
    let db = seeded();
    let mut session = Session::new();
    session.start();
    ok(
        &db,
        "shop",
        session.stmt(doc! {"insert": "b", "documents": [{"_id": 2}]}),
    );
    ok(
        &db,
        "shop",
        doc! {"delete": "a", "deletes": [{"q": {"_id": 2}, "limit": 1}]},
    );
    // Uncommitted: {_id: 2} in b. Deleted: {_id: 2, s: "ab"} in a.
    check(
        &db,
        "shop",
        doc! {"dbStats": 1},
        doc! {"objects": 2i64, "dataSize": 28.0},
    );
    ok(&db, "admin", session.commit());
    check(
        &db,
        "shop",
        doc! {"dbStats": 1},
        doc! {"objects": 3i64, "dataSize": 42.0},
    );
}

#[test]
fn replsetgetconfig_shows_one_voting_member_with_default_settings() {
    let db = engine();
    let reply = ok(&db, "admin", doc! {"replSetGetConfig": 1});
    let config = reply.get_document("config").expect("config");
    let expected = doc! {
        "_id": "rs0",
        "version": 1,
        "term": 1i64,
        "protocolVersion": 1i64,
        "writeConcernMajorityJournalDefault": true,
    };
    for (field, value) in &expected {
        assert_eq!(config.get(field), Some(value), "config.{field} in {config}");
    }
    let members = config.get_array("members").expect("members");
    assert_eq!(members.len(), 1, "{config}");
    let member = members[0].as_document().expect("member document");
    let expected_member = doc! {
        "_id": 0,
        "host": "localhost:27017",
        "arbiterOnly": false,
        "hidden": false,
        "priority": 1.0,
        "votes": 1,
        "secondaryDelaySecs": 0i64,
    };
    for (field, value) in &expected_member {
        assert_eq!(member.get(field), Some(value), "member.{field} in {member}");
    }
    let settings = config.get_document("settings").expect("settings");
    assert!(
        matches!(settings.get("replicaSetId"), Some(Bson::ObjectId(_))),
        "{settings}"
    );
    assert!(!reply.contains_key("commitmentStatus"), "{reply}");
}

#[test]
fn replsetgetconfig_reports_commitment_when_asked_and_rejects_unknown_fields() {
    let db = engine();
    let reply = ok(
        &db,
        "admin",
        doc! {"replSetGetConfig": 1, "commitmentStatus": true},
    );
    assert_eq!(
        reply.get_bool("commitmentStatus").ok(),
        Some(true),
        "{reply}"
    );
    assert_eq!(
        fails(&db, "admin", doc! {"replSetGetConfig": 1, "bogus": 1}).0,
        UNKNOWN_FIELD
    );
}
