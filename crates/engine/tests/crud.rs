//! CRUD commands through the command layer: reply shapes and the options
//! drivers send.

mod common;

use bson::doc;
use common::{engine, fails, find, ok};

#[test]
fn let_variables_reach_expressions_in_filters_updates_and_pipelines() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "x": 1}, {"_id": 2, "x": 2}]},
    );
    let found = find(
        &db,
        "t",
        doc! {"find": "c", "filter": {"$expr": {"$eq": ["$x", "$$two"]}}, "let": {"two": 2}},
    );
    assert_eq!(found, vec![doc! {"_id": 2, "x": 2}]);
    ok(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"$expr": {"$eq": ["$_id", "$$id"]}}, "u": [{"$set": {"y": "$$v"}}]}], "let": {"id": 1, "v": "set"}},
    );
    assert_eq!(
        find(&db, "t", doc! {"find": "c", "filter": {"_id": 1}}),
        vec![doc! {"_id": 1, "x": 1, "y": "set"}]
    );
    let reply = ok(
        &db,
        "t",
        doc! {"aggregate": "c", "pipeline": [{"$project": {"_id": 0, "z": "$$z"}}, {"$limit": 1}], "cursor": {}, "let": {"z": {"$add": [1, 2]}}},
    );
    let batch = reply
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    assert_eq!(batch[0].as_document().unwrap(), &doc! {"z": 3});
}

#[test]
fn pipeline_updates_compute_from_the_document_and_keep_id() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "a": 2, "b": 3}]},
    );
    let reply = ok(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": [{"$set": {"sum": {"$add": ["$a", "$b"]}}}, {"$unset": "b"}]}]},
    );
    assert_eq!(reply.get_i32("nModified").ok(), Some(1));
    assert_eq!(
        find(&db, "t", doc! {"find": "c"}),
        vec![doc! {"_id": 1, "a": 2, "sum": 5}]
    );
    let (code, _) = fails(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": [{"$set": {"_id": 9}}]}]},
    );
    assert_eq!(code, 66, "ImmutableField");
    let (code, _) = fails(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {}, "u": [{"$match": {}}]}]},
    );
    assert_eq!(code, 72);
}

#[test]
fn update_one_with_sort_takes_the_first_in_sort_order() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "x": 1}, {"_id": 2, "x": 2}, {"_id": 3, "x": 3}]},
    );
    ok(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"_id": {"$gt": 1}}, "u": {"$set": {"picked": true}}, "sort": {"x": -1}}]},
    );
    assert_eq!(
        find(&db, "t", doc! {"find": "c", "filter": {"picked": true}}),
        vec![doc! {"_id": 3, "x": 3, "picked": true}]
    );
}

#[test]
fn write_errors_carry_index_code_and_key_details() {
    let db = engine();
    let reply = common::run(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1}, {"_id": 1}, {"_id": 2}], "ordered": false},
    );
    assert_eq!(reply.get_i32("n").ok(), Some(2));
    let errors = reply.get_array("writeErrors").unwrap();
    assert_eq!(errors.len(), 1);
    let error = errors[0].as_document().unwrap();
    assert_eq!(error.get_i32("index").ok(), Some(1));
    assert_eq!(error.get_i32("code").ok(), Some(11000));
    assert_eq!(error.get_document("keyValue").ok(), Some(&doc! {"_id": 1}));
    assert_eq!(
        error.get_document("keyPattern").ok(),
        Some(&doc! {"_id": 1})
    );
}

#[test]
fn find_and_modify_reports_last_error_object_and_value() {
    let db = engine();
    let reply = ok(
        &db,
        "t",
        doc! {"findAndModify": "c", "query": {"_id": 1}, "update": {"$inc": {"n": 1}}, "upsert": true, "new": true},
    );
    assert_eq!(
        reply.get_document("value").ok(),
        Some(&doc! {"_id": 1, "n": 1})
    );
    let last = reply.get_document("lastErrorObject").unwrap();
    assert_eq!(last.get_bool("updatedExisting").ok(), Some(false));
    assert_eq!(last.get_i32("upserted").ok(), Some(1));
    let reply = ok(
        &db,
        "t",
        doc! {"findAndModify": "c", "query": {"_id": 1}, "remove": true, "fields": {"_id": 0}},
    );
    assert_eq!(reply.get_document("value").ok(), Some(&doc! {"n": 1}));
}

#[test]
fn features_rotor_lacks_are_refused_not_run_otherwise() {
    let db = engine();
    for create in [
        doc! {"create": "c", "capped": true, "size": 4096, "max": 3},
        doc! {"create": "c", "capped": 1, "size": 4096},
        doc! {"create": "c", "timeseries": {"timeField": "t"}},
        doc! {"create": "c", "clusteredIndex": {"key": {"_id": 1}, "unique": true}},
        doc! {"create": "c", "expireAfterSeconds": 60},
    ] {
        assert_eq!(fails(&db, "t", create.clone()).0, 115, "{create}");
    }
    let listed = ok(&db, "t", doc! {"listCollections": 1});
    let first_batch = listed
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("a first batch");
    assert!(first_batch.is_empty(), "nothing was created: {listed}");
    ok(&db, "t", doc! {"create": "c", "capped": false});
    for watch in [
        doc! {"aggregate": "c", "pipeline": [{"$changeStream": {}}], "cursor": {}},
        doc! {"aggregate": 1, "pipeline": [{"$changeStream": {"allChangesForCluster": true}}], "cursor": {}},
    ] {
        assert_eq!(fails(&db, "admin", watch.clone()).0, 115, "{watch}");
    }
}

#[test]
fn unknown_commands_and_fields_get_mongods_errors() {
    let db = engine();
    assert_eq!(fails(&db, "t", doc! {"frobnicate": 1}).0, 59);
    assert_eq!(fails(&db, "t", doc! {"find": "c", "nope": 1}).0, 40415);
    assert_eq!(
        fails(&db, "t", doc! {"find": "c", "filter": {"a": {"$nope": 1}}}).0,
        2
    );
    assert_eq!(fails(&db, "t", doc! {"find": "c", "filter": 5}).0, 14);
    assert_eq!(fails(&db, "t", doc! {"drop": ""}).0, 73);
    assert_eq!(
        fails(&db, "t", doc! {"insert": "c", "documents": [{"_id": [1]}]}).0,
        53
    );
}

#[test]
fn out_replaces_a_collection_atomically_and_merge_folds_into_one() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "src", "documents": [{"_id": 1, "k": "a", "n": 1}, {"_id": 2, "k": "b", "n": 2}]},
    );
    ok(
        &db,
        "t",
        doc! {"insert": "dst", "documents": [{"_id": 9, "old": true}]},
    );
    ok(
        &db,
        "t",
        doc! {"createIndexes": "dst", "indexes": [{"key": {"k": 1}, "name": "k_1"}]},
    );
    ok(
        &db,
        "t",
        doc! {"aggregate": "src", "pipeline": [{"$match": {"n": {"$gte": 1}}}, {"$out": "dst"}], "cursor": {}},
    );
    assert_eq!(
        find(&db, "t", doc! {"find": "dst"}),
        vec![
            doc! {"_id": 1, "k": "a", "n": 1},
            doc! {"_id": 2, "k": "b", "n": 2}
        ]
    );
    assert_eq!(
        find(&db, "t", doc! {"listIndexes": "dst"}).len(),
        2,
        "$out keeps the target's indexes"
    );
    ok(
        &db,
        "t",
        doc! {"aggregate": "src", "pipeline": [{"$project": {"_id": 1, "n": {"$multiply": ["$n", 10]}}}, {"$merge": {"into": "dst", "whenMatched": "merge"}}], "cursor": {}},
    );
    assert_eq!(
        find(&db, "t", doc! {"find": "dst", "filter": {"_id": 2}}),
        vec![doc! {"_id": 2, "k": "b", "n": 20}]
    );
    let (code, _) = fails(
        &db,
        "t",
        doc! {"aggregate": "src", "pipeline": [{"$out": "x"}, {"$match": {}}], "cursor": {}},
    );
    assert_eq!(code, 40601);
}

#[test]
fn set_field_writes_dotted_and_dollar_prefixed_names() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "foo": {}}]},
    );
    let set = |field: &str, input: &str| doc! {"replaceWith": {"$setField": {"field": {"$literal": field}, "value": 1, "input": input}}};
    ok(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": [{"$replaceWith": set("$a", "$$ROOT").get("replaceWith").unwrap().clone()}]}]},
    );
    ok(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": [{"$replaceWith": set("a.b", "$$ROOT").get("replaceWith").unwrap().clone()}]}]},
    );
    assert_eq!(
        find(&db, "t", doc! {"find": "c"}),
        vec![doc! {"_id": 1, "foo": {}, "$a": 1, "a.b": 1}]
    );
    let got = ok(
        &db,
        "t",
        doc! {"aggregate": "c", "pipeline": [{"$project": {"_id": 0, "v": {"$getField": {"$literal": "a.b"}}}}], "cursor": {}},
    );
    let batch = got
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    assert_eq!(batch[0].as_document().unwrap(), &doc! {"v": 1});
}
