//! The `collation` option through the command layer, per command, against
//! the MongoDB manual's Collation page and the CRUD spec's `*-collation`
//! tests: strings compare under it in filters, sorts, distinct and group
//! keys; indexes (which hold the simple collation) never narrow a collated
//! string query; collections and indexes cannot be created with one.

mod common;

use bson::{Bson, Document, doc};
use common::{engine, fails, find, ok, run};
use engine::Engine;

/// Case-insensitive English, as the CRUD spec tests use.
fn ci() -> Document {
    doc! {"locale": "en_US", "strength": 2}
}

fn seeded() -> Engine {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [
            {"_id": 1, "x": 11},
            {"_id": 2, "x": "ping"},
            {"_id": 3, "x": "pINg"},
            {"_id": 4, "x": "pong"},
        ]},
    );
    db
}

fn ids(docs: &[Document]) -> Vec<i32> {
    docs.iter().filter_map(|d| d.get_i32("_id").ok()).collect()
}

/// Runs a read command and checks the `_id`s it returns, in order.
fn check_find(db: &Engine, body: Document, expected: &[i32]) {
    assert_eq!(ids(&find(db, "t", body.clone())), expected, "{body}");
}

#[test]
fn find_with_collation_matches_and_sorts_under_it() {
    let db = seeded();
    let cases = [
        (
            doc! {"find": "c", "filter": {"x": "PING"}, "collation": ci()},
            vec![2, 3],
        ),
        (doc! {"find": "c", "filter": {"x": "PING"}}, vec![]),
        (
            doc! {"find": "c", "filter": {"x": {"$in": ["PONG"]}}, "collation": ci()},
            vec![4],
        ),
        (
            doc! {"find": "c", "filter": {"x": "PING"}, "collation": {"locale": "simple"}},
            vec![],
        ),
        (
            doc! {"find": "c", "filter": {"x": {"$type": "string"}}, "sort": {"x": -1, "_id": 1}, "collation": ci()},
            vec![4, 2, 3],
        ),
    ];
    for (body, expected) in cases {
        check_find(&db, body, &expected);
    }
}

#[test]
fn count_and_distinct_honour_collation() {
    let db = seeded();
    let count = ok(
        &db,
        "t",
        doc! {"count": "c", "query": {"x": "PING"}, "collation": ci()},
    );
    assert_eq!(count.get_i32("n").ok(), Some(2), "{count}");
    let distinct = ok(
        &db,
        "t",
        doc! {"distinct": "c", "key": "x", "collation": ci()},
    );
    let values = distinct.get_array("values").expect("values").clone();
    assert_eq!(
        values,
        vec![Bson::Int32(11), Bson::from("ping"), Bson::from("pong")],
        "{distinct}"
    );
}

#[test]
fn aggregate_with_collation_matches_and_groups_under_it() {
    let db = seeded();
    let reply = ok(
        &db,
        "t",
        doc! {"aggregate": "c", "pipeline": [
            {"$match": {"x": {"$in": ["PING", "PONG"]}}},
            {"$group": {"_id": "$x", "n": {"$sum": 1}}},
        ], "cursor": {}, "collation": ci()},
    );
    let batch = reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("firstBatch")
        .clone();
    assert_eq!(
        batch,
        vec![
            Bson::Document(doc! {"_id": "ping", "n": 2}),
            Bson::Document(doc! {"_id": "pong", "n": 1}),
        ]
    );
}

#[test]
fn writes_take_a_collation_per_statement() {
    let db = seeded();
    let update = ok(
        &db,
        "t",
        doc! {"update": "c", "updates": [
            {"q": {"x": "PING"}, "u": {"$set": {"hit": true}}, "multi": true, "collation": ci()},
            {"q": {"x": "PONG"}, "u": {"$set": {"hit": true}}},
        ]},
    );
    assert_eq!(update.get_i32("n").ok(), Some(2), "{update}");
    let delete = ok(
        &db,
        "t",
        doc! {"delete": "c", "deletes": [{"q": {"x": "PONG"}, "limit": 0, "collation": ci()}]},
    );
    assert_eq!(delete.get_i32("n").ok(), Some(1), "{delete}");
    let modified = ok(
        &db,
        "t",
        doc! {"findAndModify": "c", "query": {"x": "PING"}, "sort": {"_id": -1},
        "update": {"$set": {"last": true}}, "collation": ci()},
    );
    assert_eq!(
        modified
            .get_document("value")
            .and_then(|v| v.get_i32("_id"))
            .ok(),
        Some(3),
        "{modified}"
    );
}

#[test]
fn bulk_write_passes_each_ops_collation() {
    let db = seeded();
    let reply = ok(
        &db,
        "admin",
        doc! {"bulkWrite": 1, "ops": [
            {"delete": 0, "filter": {"x": "PING"}, "multi": true, "collation": ci()},
            {"update": 0, "filter": {"x": "PONG"}, "updateMods": {"$set": {"y": 1}}, "collation": ci()},
        ], "nsInfo": [{"ns": "t.c"}]},
    );
    assert_eq!(reply.get_i32("nDeleted").ok(), Some(2), "{reply}");
    assert_eq!(reply.get_i32("nModified").ok(), Some(1), "{reply}");
}

#[test]
fn indexes_do_not_narrow_collated_string_queries() {
    let db = seeded();
    ok(
        &db,
        "t",
        doc! {"createIndexes": "c", "indexes": [{"key": {"x": 1}, "name": "x_1"}]},
    );
    ok(
        &db,
        "t",
        doc! {"insert": "s", "documents": [{"_id": "A"}, {"_id": "a"}]},
    );
    let cases = [
        (
            doc! {"find": "c", "filter": {"x": "PING"}, "collation": ci()},
            vec![2, 3],
        ),
        (
            doc! {"find": "c", "filter": {"x": {"$gte": "PING", "$lte": "PING"}}, "collation": ci()},
            vec![2, 3],
        ),
        // Numbers still use the index, and still match.
        (
            doc! {"find": "c", "filter": {"x": 11}, "collation": ci()},
            vec![1],
        ),
    ];
    for (body, expected) in cases {
        check_find(&db, body, &expected);
    }
    let by_id = find(
        &db,
        "t",
        doc! {"find": "s", "filter": {"_id": "A"}, "collation": ci()},
    );
    assert_eq!(by_id.len(), 2, "{by_id:?}");
}

#[test]
fn malformed_collations_are_refused_with_mongods_errors() {
    let db = seeded();
    let reply = run(
        &db,
        "t",
        doc! {"find": "c", "collation": {"locale": "zz_nope"}},
    );
    assert_eq!(reply.get_i32("code").ok(), Some(2), "{reply}");
    assert_eq!(
        reply.get_str("errmsg").ok(),
        Some("Field 'locale' is invalid in: { locale: \"zz_nope\" }")
    );
    let cases = [
        (doc! {"find": "c", "collation": "en"}, 14),
        (
            doc! {"aggregate": "c", "pipeline": [], "cursor": {}, "collation": {"locale": "en", "strength": 6}},
            51024,
        ),
        (
            doc! {"delete": "c", "deletes": [{"q": {}, "limit": 0, "collation": {"strength": 2}}]},
            40414,
        ),
        (
            doc! {"update": "c", "updates": [{"q": {}, "u": {}, "collation": 5}]},
            14,
        ),
    ];
    for (body, code) in cases {
        assert_eq!(fails(&db, "t", body.clone()).0, code, "{body}");
    }
}

#[test]
fn stored_collations_are_refused_unless_simple() {
    let db = engine();
    let cases = [
        doc! {"create": "c", "collation": ci()},
        doc! {"createIndexes": "d", "indexes": [{"key": {"x": 1}, "name": "x_1", "collation": ci()}]},
    ];
    for body in cases {
        assert_eq!(fails(&db, "t", body.clone()).0, 115, "{body}");
    }
    ok(
        &db,
        "t",
        doc! {"create": "e", "collation": {"locale": "simple"}},
    );
}
