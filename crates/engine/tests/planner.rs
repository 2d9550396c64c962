//! The planner uses indexes: queries on an indexed field examine only the
//! matching documents, never the whole collection.

mod common;

use bson::{Document, doc};
use common::{engine, find, ok};
use engine::Engine;

const DOCS: i32 = 2_000;

fn loaded() -> Engine {
    let db = engine();
    let docs: Vec<Document> = (0..DOCS)
        .map(|i| doc! {"_id": i, "k": i % 100, "s": format!("s{i}")})
        .collect();
    ok(&db, "p", doc! {"insert": "c", "documents": docs});
    ok(
        &db,
        "p",
        doc! {"createIndexes": "c", "indexes": [{"key": {"k": 1}, "name": "k_1"}, {"key": {"s": -1}, "name": "s_-1"}]},
    );
    db
}

/// Runs `body` and returns (documents returned, documents examined).
fn examined(db: &Engine, body: Document) -> (usize, u64) {
    let before = db.metrics().docs_examined;
    let docs = find(db, "p", body).len();
    (docs, db.metrics().docs_examined - before)
}

#[test]
fn queries_on_indexed_fields_examine_only_their_matches() {
    let db = loaded();
    let cases = [
        (doc! {"find": "c", "filter": {"_id": 7}}, 1, 1),
        (
            doc! {"find": "c", "filter": {"_id": {"$in": [1, 2, 3]}}},
            3,
            3,
        ),
        (
            doc! {"find": "c", "filter": {"k": 42}, "batchSize": 1000},
            20,
            20,
        ),
        (
            doc! {"find": "c", "filter": {"k": {"$eq": 42}, "s": "s42"}},
            1,
            20,
        ),
        (
            doc! {"find": "c", "filter": {"k": {"$gte": 98}}, "batchSize": 1000},
            40,
            40,
        ),
        (
            doc! {"find": "c", "filter": {"k": {"$lt": 1}}, "batchSize": 1000},
            20,
            20,
        ),
        (
            doc! {"find": "c", "filter": {"$and": [{"k": 5}, {"_id": {"$gt": 1000}}]}},
            10,
            20,
        ),
        (doc! {"find": "c", "filter": {"s": {"$gt": "s998"}}}, 1, 1),
        (
            doc! {"find": "c", "filter": {"k": {"$in": [1, 2]}}, "batchSize": 1000},
            40,
            40,
        ),
    ];
    for (body, returned, expected_examined) in cases {
        let (docs, scanned) = examined(&db, body.clone());
        assert_eq!(docs, returned, "{body}");
        assert_eq!(scanned, expected_examined, "documents examined by {body}");
    }
}

#[test]
fn queries_without_a_usable_index_scan_the_collection() {
    let db = loaded();
    let (docs, scanned) = examined(&db, doc! {"find": "c", "filter": {"unindexed": 1}});
    assert_eq!((docs, scanned), (0, DOCS as u64));
    // A type the index cannot answer exactly (null) is never planned.
    let (docs, scanned) = examined(&db, doc! {"find": "c", "filter": {"k": null}});
    assert_eq!((docs, scanned), (0, DOCS as u64));
}

#[test]
fn aggregate_plans_its_leading_match() {
    let db = loaded();
    let before = db.metrics().docs_examined;
    let reply = ok(
        &db,
        "p",
        doc! {"aggregate": "c", "pipeline": [{"$match": {"k": 3}}, {"$group": {"_id": 1, "n": {"$sum": 1}}}], "cursor": {}},
    );
    let batch = reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    assert_eq!(batch[0].as_document().unwrap().get_i32("n").ok(), Some(20));
    assert_eq!(db.metrics().docs_examined - before, 20);
}
