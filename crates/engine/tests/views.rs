//! Read-only views through the command layer, against mongod's documented
//! behaviour: creation and its errors, `listCollections`, every kind of
//! read through a view (and a view of a view), refused writes, and views
//! surviving a restart and a checkpoint.

mod common;

use bson::{Bson, Document, doc};
use common::{Session, engine, fails, find, ok, run};
use engine::Engine;
use proptest::prelude::*;

const DB: &str = "app";

/// `people`, a view `adults` over it, and `seniors`, a view of `adults`.
fn fixture() -> Engine {
    let db = engine();
    ok(
        &db,
        DB,
        doc! {"insert": "people", "documents": [
            {"_id": 1, "name": "ann", "age": 12, "secret": "a"},
            {"_id": 2, "name": "bob", "age": 30, "secret": "b"},
            {"_id": 3, "name": "cy", "age": 70, "secret": "c"},
            {"_id": 4, "name": "di", "age": 45, "secret": "d"},
            {"_id": 5, "name": "ed", "age": 80, "secret": "e"},
        ]},
    );
    ok(
        &db,
        DB,
        doc! {"create": "adults", "viewOn": "people", "pipeline": [
            {"$match": {"age": {"$gte": 18}}},
            {"$project": {"secret": 0}},
        ]},
    );
    ok(
        &db,
        DB,
        doc! {"create": "seniors", "viewOn": "adults", "pipeline": [{"$match": {"age": {"$gte": 65}}}]},
    );
    db
}

/// The `_id`s of a find's (or aggregate's) first batch.
fn ids(db: &Engine, body: Document) -> Vec<i32> {
    find(db, DB, body)
        .iter()
        .filter_map(|d| d.get_i32("_id").ok())
        .collect()
}

fn check_ids(cases: &[(Document, Vec<i32>)]) {
    let db = fixture();
    for (body, expected) in cases {
        assert_eq!(&ids(&db, body.clone()), expected, "for {body}");
    }
}

fn check_codes(db: &Engine, cases: &[(Document, i32)]) {
    for (body, expected) in cases {
        let (code, _) = fails(db, DB, body.clone());
        assert_eq!(code, *expected, "for {body}");
    }
}

#[test]
fn find_through_a_view_applies_its_pipeline_then_the_query() {
    check_ids(&[
        (doc! {"find": "adults"}, vec![2, 3, 4, 5]),
        (
            doc! {"find": "adults", "filter": {"age": {"$lt": 50}}},
            vec![2, 4],
        ),
        (
            doc! {"find": "adults", "sort": {"age": -1}},
            vec![5, 3, 4, 2],
        ),
        (
            doc! {"find": "adults", "sort": {"age": 1}, "skip": 1, "limit": 2},
            vec![4, 3],
        ),
        (doc! {"find": "seniors"}, vec![3, 5]),
        (doc! {"find": "seniors", "filter": {"name": "ed"}}, vec![5]),
        (
            doc! {"find": "seniors", "sort": {"_id": -1}, "limit": 1},
            vec![5],
        ),
        (
            doc! {"aggregate": "adults", "pipeline": [{"$match": {"age": {"$gt": 40}}}, {"$sort": {"_id": -1}}], "cursor": {}},
            vec![5, 4, 3],
        ),
        (
            doc! {"aggregate": "seniors", "pipeline": [], "cursor": {}},
            vec![3, 5],
        ),
    ]);
}

#[test]
fn find_through_a_view_hides_what_its_pipeline_removes() {
    let db = fixture();
    let docs = find(&db, DB, doc! {"find": "adults", "filter": {"_id": 2}});
    assert_eq!(docs, vec![doc! {"_id": 2, "name": "bob", "age": 30}]);
    let docs = find(
        &db,
        DB,
        doc! {"find": "seniors", "filter": {"_id": 3}, "projection": {"name": 1, "_id": 0}},
    );
    assert_eq!(docs, vec![doc! {"name": "cy"}]);
}

#[test]
fn find_through_a_view_replies_with_the_views_namespace_and_pages() {
    let db = fixture();
    let reply = ok(&db, DB, doc! {"find": "adults", "batchSize": 3});
    let cursor = reply.get_document("cursor").expect("cursor");
    assert_eq!(cursor.get_str("ns").ok(), Some("app.adults"));
    assert_eq!(cursor.get_array("firstBatch").map(Vec::len).ok(), Some(3));
    let id = cursor.get_i64("id").expect("id");
    assert_ne!(id, 0);
    let more = ok(
        &db,
        DB,
        doc! {"getMore": id, "collection": "adults", "batchSize": 10},
    );
    let cursor = more.get_document("cursor").expect("cursor");
    assert_eq!(cursor.get_array("nextBatch").map(Vec::len).ok(), Some(1));
    assert_eq!(cursor.get_i64("id").ok(), Some(0));
}

#[test]
fn counts_and_distinct_through_a_view_see_only_its_documents() {
    let db = fixture();
    let cases: &[(Document, Bson)] = &[
        // estimatedDocumentCount: a count without a query runs the pipeline.
        (doc! {"count": "adults"}, Bson::Int32(4)),
        (doc! {"count": "seniors"}, Bson::Int32(2)),
        (
            doc! {"count": "adults", "query": {"age": {"$lt": 50}}},
            Bson::Int32(2),
        ),
        (
            doc! {"count": "adults", "skip": 1, "limit": 2},
            Bson::Int32(2),
        ),
    ];
    for (body, expected) in cases {
        let reply = ok(&db, DB, body.clone());
        assert_eq!(reply.get("n"), Some(expected), "for {body}");
    }
    // countDocuments, as drivers send it.
    let reply = find(
        &db,
        DB,
        doc! {"aggregate": "seniors", "pipeline": [{"$match": {}}, {"$group": {"_id": 1, "n": {"$sum": 1}}}], "cursor": {}},
    );
    assert_eq!(reply, vec![doc! {"_id": 1, "n": 2}]);
    let reply = ok(&db, DB, doc! {"distinct": "seniors", "key": "name"});
    assert_eq!(
        reply.get_array("values").ok(),
        Some(&vec![Bson::from("cy"), Bson::from("ed")])
    );
    let reply = ok(&db, DB, doc! {"distinct": "adults", "key": "secret"});
    assert_eq!(reply.get_array("values").ok(), Some(&Vec::new()));
}

#[test]
fn reads_of_a_view_with_a_collation_are_refused() {
    let db = fixture();
    check_codes(
        &db,
        &[
            (doc! {"find": "adults", "collation": {"locale": "fr"}}, 167),
            (doc! {"count": "adults", "collation": {"locale": "fr"}}, 167),
            (
                doc! {"aggregate": "adults", "pipeline": [], "cursor": {}, "collation": {"locale": "fr"}},
                167,
            ),
        ],
    );
    assert_eq!(
        ids(
            &db,
            doc! {"find": "adults", "collation": {"locale": "simple"}}
        )
        .len(),
        4
    );
}

#[test]
fn a_view_over_a_missing_collection_reads_as_empty() {
    let db = engine();
    ok(
        &db,
        DB,
        doc! {"create": "v", "viewOn": "nothing", "pipeline": []},
    );
    assert_eq!(find(&db, DB, doc! {"find": "v"}), Vec::<Document>::new());
    assert_eq!(ok(&db, DB, doc! {"count": "v"}).get_i32("n").ok(), Some(0));
    ok(
        &db,
        DB,
        doc! {"insert": "nothing", "documents": [{"_id": 1}]},
    );
    assert_eq!(find(&db, DB, doc! {"find": "v"}), vec![doc! {"_id": 1}]);
}

#[test]
fn list_collections_shows_views_with_their_definition() {
    let db = fixture();
    let listed = find(
        &db,
        DB,
        doc! {"listCollections": 1, "filter": {"type": "view"}},
    );
    assert_eq!(
        listed,
        vec![
            doc! {"name": "adults", "type": "view", "options": {"viewOn": "people", "pipeline": [
            {"$match": {"age": {"$gte": 18}}}, {"$project": {"secret": 0}}]}, "info": {"readOnly": true}},
            doc! {"name": "seniors", "type": "view", "options": {"viewOn": "adults", "pipeline": [
            {"$match": {"age": {"$gte": 65}}}]}, "info": {"readOnly": true}},
        ]
    );
    let names = find(&db, DB, doc! {"listCollections": 1, "nameOnly": true});
    assert!(
        names.contains(&doc! {"name": "seniors", "type": "view"}),
        "{names:?}"
    );
}

#[test]
fn db_stats_counts_views_apart_from_collections() {
    let db = fixture();
    let stats = ok(&db, DB, doc! {"dbStats": 1});
    assert_eq!(stats.get_i64("collections").ok(), Some(1), "{stats}");
    assert_eq!(stats.get_i64("views").ok(), Some(2), "{stats}");
    assert_eq!(stats.get_i64("indexes").ok(), Some(1), "{stats}");
}

#[test]
fn drop_removes_a_view_but_not_its_source() {
    let db = fixture();
    ok(&db, DB, doc! {"drop": "seniors"});
    let names = find(&db, DB, doc! {"listCollections": 1, "nameOnly": true});
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(
        find(&db, DB, doc! {"find": "seniors"}),
        Vec::<Document>::new()
    );
    assert_eq!(ids(&db, doc! {"find": "adults"}), vec![2, 3, 4, 5]);
    ok(
        &db,
        DB,
        doc! {"create": "seniors", "viewOn": "people", "pipeline": []},
    );
    assert_eq!(ids(&db, doc! {"find": "seniors"}).len(), 5);
}

#[test]
fn writes_to_a_view_fail_with_command_not_supported_on_view() {
    let db = fixture();
    check_codes(
        &db,
        &[
            (doc! {"insert": "adults", "documents": [{"_id": 9}]}, 166),
            (
                doc! {"update": "adults", "updates": [{"q": {}, "u": {"$set": {"a": 1}}}]},
                166,
            ),
            (
                doc! {"update": "adults", "updates": [{"q": {"_id": 9}, "u": {"$set": {"a": 1}}, "upsert": true}]},
                166,
            ),
            (
                doc! {"delete": "seniors", "deletes": [{"q": {}, "limit": 0}]},
                166,
            ),
            (
                doc! {"findAndModify": "adults", "query": {}, "remove": true},
                166,
            ),
            (
                doc! {"findAndModify": "adults", "query": {}, "update": {"$set": {"a": 1}}},
                166,
            ),
            (
                doc! {"createIndexes": "adults", "indexes": [{"key": {"a": 1}, "name": "a_1"}]},
                166,
            ),
            (doc! {"listIndexes": "adults"}, 166),
            (doc! {"dropIndexes": "adults", "index": "*"}, 166),
            (
                doc! {"aggregate": "people", "pipeline": [{"$out": "adults"}], "cursor": {}},
                166,
            ),
            (doc! {"collMod": "adults", "validator": {"a": 1}}, 72),
        ],
    );
    // Statement-level writes report a write error, as mongod's do.
    for body in [
        doc! {"insert": "adults", "documents": [{"_id": 9}]},
        doc! {"update": "adults", "updates": [{"q": {}, "u": {"$set": {"a": 1}}}]},
        doc! {"delete": "adults", "deletes": [{"q": {}, "limit": 1}]},
    ] {
        let reply = run(&db, DB, body.clone());
        let error = reply
            .get_array("writeErrors")
            .ok()
            .and_then(|e| e.first())
            .and_then(Bson::as_document)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            error.get_str("errmsg").ok(),
            Some("Namespace app.adults is a view, not a collection"),
            "for {body}: {reply}"
        );
        assert_eq!(reply.get_i32("n").ok(), Some(0), "for {body}: {reply}");
    }
    assert_eq!(
        ids(&db, doc! {"find": "people"}),
        vec![1, 2, 3, 4, 5],
        "nothing changed"
    );
}

#[test]
fn bulk_write_to_a_view_fails_per_operation() {
    let db = fixture();
    let reply = ok(
        &db,
        "admin",
        doc! {"bulkWrite": 1, "ops": [{"insert": 0, "document": {"_id": 9}}], "nsInfo": [{"ns": "app.adults"}]},
    );
    assert_eq!(reply.get_i32("nErrors").ok(), Some(1), "{reply}");
}

#[test]
fn creating_views_checks_names_pipelines_and_the_view_graph() {
    let db = fixture();
    check_codes(
        &db,
        &[
            (
                doc! {"create": "adults", "viewOn": "people", "pipeline": []},
                48,
            ),
            (
                doc! {"create": "people", "viewOn": "adults", "pipeline": []},
                48,
            ),
            (doc! {"create": "adults"}, 48),
            (doc! {"create": "v", "viewOn": 1, "pipeline": []}, 14),
            (doc! {"create": "v", "viewOn": "people", "pipeline": {}}, 14),
            (doc! {"create": "v", "pipeline": []}, 2),
            (
                doc! {"create": "v", "viewOn": "people", "pipeline": [{"$out": "x"}]},
                167,
            ),
            (
                doc! {"create": "v", "viewOn": "people", "pipeline": [{"$merge": "x"}]},
                167,
            ),
            (
                doc! {"create": "v", "viewOn": "people", "pipeline": [{"$bogus": 1}]},
                40324,
            ),
            (
                doc! {"create": "v", "viewOn": "people", "capped": true, "size": 10},
                72,
            ),
            (doc! {"create": "v", "viewOn": "v", "pipeline": []}, 150),
            (
                doc! {"create": "v", "viewOn": "people", "pipeline": [], "collation": {"locale": "fr"}},
                115,
            ),
        ],
    );
    // A cycle through a $lookup is a cycle too.
    ok(&db, DB, doc! {"create": "a", "viewOn": "b", "pipeline": []});
    check_codes(
        &db,
        &[(
            doc! {"create": "b", "viewOn": "people", "pipeline": [{"$lookup": {"from": "a", "localField": "x", "foreignField": "y", "as": "z"}}]},
            150,
        )],
    );
}

#[test]
fn a_chain_of_views_is_limited_to_twenty() {
    let db = engine();
    ok(&db, DB, doc! {"insert": "base", "documents": [{"_id": 1}]});
    let mut below = "base".to_owned();
    for depth in 1..=20 {
        let name = format!("v{depth}");
        ok(
            &db,
            DB,
            doc! {"create": &name, "viewOn": &below, "pipeline": []},
        );
        below = name;
    }
    assert_eq!(ids(&db, doc! {"find": "v20"}), vec![1]);
    check_codes(
        &db,
        &[(doc! {"create": "v21", "viewOn": "v20", "pipeline": []}, 149)],
    );
}

#[test]
fn lookup_and_union_with_read_through_views() {
    let db = fixture();
    let docs = find(
        &db,
        DB,
        doc! {"aggregate": "people", "pipeline": [
            {"$match": {"_id": 3}},
            {"$lookup": {"from": "seniors", "localField": "_id", "foreignField": "_id", "as": "s"}},
            {"$unionWith": "seniors"},
            {"$project": {"_id": 1, "n": {"$size": {"$ifNull": ["$s", []]}}}},
        ], "cursor": {}},
    );
    assert_eq!(
        docs,
        vec![
            doc! {"_id": 3, "n": 1},
            doc! {"_id": 3, "n": 0},
            doc! {"_id": 5, "n": 0}
        ]
    );
}

#[test]
fn reads_through_a_view_in_a_transaction_see_its_snapshot() {
    let db = fixture();
    let mut session = Session::new();
    session.start();
    ok(
        &db,
        DB,
        session
            .stmt(doc! {"insert": "people", "documents": [{"_id": 6, "name": "fay", "age": 90}]}),
    );
    let count = doc! {"aggregate": "seniors", "pipeline": [{"$group": {"_id": 1, "n": {"$sum": 1}}}], "cursor": {}};
    assert_eq!(
        find(&db, DB, session.stmt(count)),
        vec![doc! {"_id": 1, "n": 3}]
    );
    assert_eq!(
        ok(&db, DB, doc! {"count": "seniors"}).get_i32("n").ok(),
        Some(2),
        "not yet committed"
    );
    check_codes(
        &db,
        &[(
            session.stmt(doc! {"create": "v", "viewOn": "people", "pipeline": []}),
            263,
        )],
    );
}

/// Creates `people` and two views on disk, optionally checkpoints, drops
/// one view, restarts, and checks what is back.
fn check_restart(name: &str, checkpoint: bool) {
    let dir = common::temp_dir(&format!("views-{name}"));
    {
        let db = common::open_dir(&dir);
        ok(
            &db,
            DB,
            doc! {"insert": "people", "documents": [{"_id": 1, "age": 10}, {"_id": 2, "age": 20}]},
        );
        ok(
            &db,
            DB,
            doc! {"create": "adults", "viewOn": "people", "pipeline": [{"$match": {"age": {"$gte": 18}}}]},
        );
        ok(
            &db,
            DB,
            doc! {"create": "gone", "viewOn": "people", "pipeline": []},
        );
        if checkpoint {
            db.checkpoint().expect("checkpoint");
        }
        ok(
            &db,
            DB,
            doc! {"create": "chained", "viewOn": "adults", "pipeline": []},
        );
        ok(&db, DB, doc! {"drop": "gone"});
    }
    let db = common::open_dir(&dir);
    assert_eq!(
        ids(&db, doc! {"find": "adults"}),
        vec![2],
        "checkpoint: {checkpoint}"
    );
    assert_eq!(
        ids(&db, doc! {"find": "chained"}),
        vec![2],
        "checkpoint: {checkpoint}"
    );
    let views = find(
        &db,
        DB,
        doc! {"listCollections": 1, "filter": {"type": "view"}, "nameOnly": true},
    );
    assert_eq!(
        views,
        vec![
            doc! {"name": "adults", "type": "view"},
            doc! {"name": "chained", "type": "view"}
        ],
        "checkpoint: {checkpoint}"
    );
    check_codes(
        &db,
        &[(doc! {"insert": "adults", "documents": [{"_id": 3}]}, 166)],
    );
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn views_survive_a_restart() {
    check_restart("restart", false);
}

#[test]
fn views_survive_a_checkpoint_and_restart() {
    check_restart("checkpoint", true);
}

/// A small comparison filter on `a` or `b`.
fn comparison() -> impl Strategy<Value = Document> {
    (
        prop::sample::select(vec!["a", "b"]),
        prop::sample::select(vec!["$gt", "$lte", "$ne"]),
        0i32..5,
    )
        .prop_map(|(field, op, n)| doc! {field: {op: n}})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Reading a `$match` view with a query is reading its source with
    /// both filters: the view adds nothing and loses nothing.
    #[test]
    fn a_match_view_reads_as_its_source_with_both_filters(
        docs in prop::collection::vec((0i32..5, 0i32..5), 0..12),
        view_filter in comparison(),
        filter in comparison(),
        descending in any::<bool>(),
        skip in 0i32..4,
        limit in 0i32..5,
    ) {
        let db = engine();
        let docs: Vec<Document> = docs
            .iter()
            .enumerate()
            .map(|(i, (a, b))| doc! {"_id": i as i32, "a": a, "b": b})
            .collect();
        if !docs.is_empty() {
            ok(&db, DB, doc! {"insert": "src", "documents": docs});
        }
        ok(&db, DB, doc! {"create": "v", "viewOn": "src", "pipeline": [{"$match": view_filter.clone()}]});
        let direction = if descending { -1 } else { 1 };
        let sort = doc! {"a": direction, "_id": 1};
        let through_view = find(&db, DB, doc! {
            "find": "v", "filter": filter.clone(), "sort": sort.clone(), "skip": skip, "limit": limit,
        });
        let direct = find(&db, DB, doc! {
            "find": "src", "filter": {"$and": [view_filter, filter.clone()]}, "sort": sort, "skip": skip, "limit": limit,
        });
        prop_assert_eq!(&through_view, &direct);
        let counted = ok(&db, DB, doc! {"count": "v", "query": filter});
        let n = i32::try_from(through_view.len()).unwrap_or(i32::MAX);
        prop_assert!(limit != 0 || skip != 0 || counted.get_i32("n").ok() == Some(n));
    }
}
