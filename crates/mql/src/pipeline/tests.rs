//! Pipeline tests: (input, pipeline, expected output) tables, mostly the
//! MongoDB manual's examples for each stage, plus (pipeline, error code)
//! tables and a no-panic property over arbitrary stages.

use std::collections::HashMap;

use bson::{Bson, Document, bson, doc};
use proptest::prelude::*;

use super::{Pipeline, RunOptions};

fn run_with(
    input: &[Document],
    stages: &[Document],
    collections: &HashMap<String, Vec<Document>>,
    memory: usize,
) -> crate::Result<Vec<Document>> {
    let pipeline = Pipeline::parse(stages)?;
    let mut options = RunOptions::new(collections);
    options.stage_memory_bytes = memory;
    pipeline.run(input.to_vec(), &options)
}

/// Runs `stages` over `input` and compares output exactly: order, field
/// order and BSON types.
fn check(input: &[Document], stages: Vec<Document>, expected: Vec<Document>) {
    let out = run_with(
        input,
        &stages,
        &HashMap::new(),
        super::STAGE_MEMORY_BYTES_MAX,
    )
    .unwrap_or_else(|e| panic!("{stages:?} failed: {e}"));
    assert_eq!(
        format!("{out:?}"),
        format!("{expected:?}"),
        "pipeline {stages:?}"
    );
}

fn check_error(input: &[Document], stages: Vec<Document>, code: i32) {
    match run_with(
        input,
        &stages,
        &HashMap::new(),
        super::STAGE_MEMORY_BYTES_MAX,
    ) {
        Err(e) => assert_eq!(e.code.0, code, "{stages:?}: wrong code for {e}"),
        Ok(out) => panic!("{stages:?}: expected error {code}, got {out:?}"),
    }
}

fn sales() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "item": "abc", "price": 10, "quantity": 2},
        doc! {"_id": 2, "item": "jkl", "price": 20, "quantity": 1},
        doc! {"_id": 3, "item": "xyz", "price": 5, "quantity": 10},
        doc! {"_id": 4, "item": "xyz", "price": 5, "quantity": 20},
        doc! {"_id": 5, "item": "abc", "price": 10, "quantity": 10},
    ]
}

#[test]
fn group_accumulates_per_key_in_first_seen_order() {
    check(
        &sales(),
        vec![doc! {"$group": {
            "_id": "$item",
            "total": {"$sum": {"$multiply": ["$price", "$quantity"]}},
            "avgQty": {"$avg": "$quantity"},
            "n": {"$sum": 1},
            "count": {"$count": {}},
            "ids": {"$push": "$_id"},
            "prices": {"$addToSet": "$price"},
            "first": {"$first": "$quantity"},
            "last": {"$last": "$quantity"},
            "min": {"$min": "$quantity"},
            "max": {"$max": "$quantity"},
        }}],
        vec![
            doc! {"_id": "abc", "total": 120, "avgQty": 6.0, "n": 2, "count": 2, "ids": [1, 5], "prices": [10], "first": 2, "last": 10, "min": 2, "max": 10},
            doc! {"_id": "jkl", "total": 20, "avgQty": 1.0, "n": 1, "count": 1, "ids": [2], "prices": [20], "first": 1, "last": 1, "min": 1, "max": 1},
            doc! {"_id": "xyz", "total": 150, "avgQty": 15.0, "n": 2, "count": 2, "ids": [3, 4], "prices": [5], "first": 10, "last": 20, "min": 10, "max": 20},
        ],
    );
}

#[test]
fn group_accumulators_skip_what_mongod_skips() {
    let input = vec![
        doc! {"k": 1, "v": 1},
        doc! {"k": 1, "v": "x"},
        doc! {"k": 1, "v": null},
        doc! {"k": 1},
        doc! {"k": 1.0, "v": Bson::Int64(2)},
        doc! {"k": 1, "v": 2.5},
    ];
    check(
        &input,
        vec![doc! {"$group": {
            "_id": "$k", "sum": {"$sum": "$v"}, "avg": {"$avg": "$v"},
            "min": {"$min": "$v"}, "max": {"$max": "$v"}, "push": {"$push": "$v"},
            "first": {"$first": "$nope"}, "avgNone": {"$avg": "$nope"}, "sumNone": {"$sum": "$nope"},
        }}],
        vec![doc! {
            "_id": 1, "sum": 5.5, "avg": 5.5 / 3.0, "min": 1, "max": "x",
            "push": [1, "x", null, Bson::Int64(2), 2.5], "first": null, "avgNone": null, "sumNone": 0,
        }],
    );
}

#[test]
fn group_ids_may_be_null_constant_or_compound() {
    check(
        &sales(),
        vec![doc! {"$group": {"_id": null, "n": {"$sum": 1}, "q": {"$sum": "$quantity"}}}],
        vec![doc! {"_id": null, "n": 5, "q": 43}],
    );
    check(
        &sales(),
        vec![
            doc! {"$group": {"_id": {"item": "$item", "price": "$price", "gone": "$nope"}, "n": {"$sum": 1}}},
            doc! {"$sort": {"_id.item": -1}},
            doc! {"$limit": 1},
        ],
        vec![doc! {"_id": {"item": "xyz", "price": 5}, "n": 2}],
    );
}

#[test]
fn drivers_count_documents_pipeline_counts() {
    check(
        &sales(),
        vec![
            doc! {"$match": {"price": {"$gte": 10}}},
            doc! {"$skip": 1},
            doc! {"$limit": 5},
            doc! {"$group": {"_id": 1, "n": {"$sum": 1}}},
        ],
        vec![doc! {"_id": 1, "n": 2}],
    );
    check(
        &sales(),
        vec![
            doc! {"$match": {"price": 99}},
            doc! {"$group": {"_id": 1, "n": {"$sum": 1}}},
        ],
        vec![],
    );
}

#[test]
fn sort_orders_by_keys_and_array_extremes() {
    let input = vec![
        doc! {"_id": 1, "a": [1, 5]},
        doc! {"_id": 2, "a": 3},
        doc! {"_id": 3},
        doc! {"_id": 4, "a": []},
        doc! {"_id": 5, "a": [0, 4]},
    ];
    check(
        &input,
        vec![
            doc! {"$sort": {"a": 1, "_id": 1}},
            doc! {"$project": {"_id": 1}},
        ],
        vec![
            doc! {"_id": 4},
            doc! {"_id": 3},
            doc! {"_id": 5},
            doc! {"_id": 1},
            doc! {"_id": 2},
        ],
    );
    check(
        &input,
        vec![doc! {"$sort": {"a": -1}}, doc! {"$project": {"_id": 1}}],
        vec![
            doc! {"_id": 1},
            doc! {"_id": 5},
            doc! {"_id": 2},
            doc! {"_id": 3},
            doc! {"_id": 4},
        ],
    );
    check(
        &sales(),
        vec![
            doc! {"$sort": {"price": -1, "quantity": 1}},
            doc! {"$project": {"_id": 1}},
        ],
        vec![
            doc! {"_id": 2},
            doc! {"_id": 1},
            doc! {"_id": 5},
            doc! {"_id": 3},
            doc! {"_id": 4},
        ],
    );
}

#[test]
fn project_includes_excludes_and_computes() {
    let input = vec![doc! {
        "_id": 1, "title": "abc123", "isbn": "0001122223334",
        "author": {"last": "zzz", "first": "aaa"}, "copies": 5, "lastModified": "2016-07-28",
    }];
    check(
        &input,
        vec![doc! {"$project": {"title": 1, "author": 1}}],
        vec![doc! {"_id": 1, "title": "abc123", "author": {"last": "zzz", "first": "aaa"}}],
    );
    check(
        &input,
        vec![doc! {"$project": {"_id": 0, "title": 1, "author": 1}}],
        vec![doc! {"title": "abc123", "author": {"last": "zzz", "first": "aaa"}}],
    );
    check(
        &input,
        vec![doc! {"$project": {"title": 1, "author.first": 1}}],
        vec![doc! {"_id": 1, "title": "abc123", "author": {"first": "aaa"}}],
    );
    check(
        &input,
        vec![doc! {"$project": {"lastModified": 0, "author.first": 0, "isbn": 0}}],
        vec![doc! {"_id": 1, "title": "abc123", "author": {"last": "zzz"}, "copies": 5}],
    );
    check(
        &input,
        vec![doc! {"$project": {
            "title": 1,
            "isbn": {"prefix": {"$substr": ["$isbn", 0, 3]}, "group": {"$substr": ["$isbn", 3, 2]}},
            "lastName": "$author.last",
            "copiesSold": "$copies",
            "gone": "$$REMOVE",
        }}],
        vec![doc! {
            "_id": 1, "title": "abc123", "isbn": {"prefix": "000", "group": "11"},
            "lastName": "zzz", "copiesSold": 5,
        }],
    );
    check(
        &input,
        vec![
            doc! {"$project": {"author": {"first": 1}, "x": {"$literal": 1}, "y": [1, "$copies"]}},
        ],
        vec![doc! {"_id": 1, "author": {"first": "aaa"}, "x": 1, "y": [1, 5]}],
    );
}

#[test]
fn project_through_arrays_of_documents() {
    let input = vec![doc! {"_id": 1, "a": [{"b": 1, "c": 2}, 5, {"c": 3}, [{"b": 4}]]}];
    check(
        &input,
        vec![doc! {"$project": {"a.b": 1}}],
        vec![doc! {"_id": 1, "a": [{"b": 1}, {}, [{"b": 4}]]}],
    );
    check(
        &input,
        vec![doc! {"$project": {"a.b": 0}}],
        vec![doc! {"_id": 1, "a": [{"c": 2}, 5, {"c": 3}, [{}]]}],
    );
    check(
        &input,
        vec![
            doc! {"$addFields": {"a.d": 9}},
            doc! {"$project": {"_id": 0}},
        ],
        vec![
            doc! {"a": [{"b": 1, "c": 2, "d": 9}, {"d": 9}, {"c": 3, "d": 9}, [{"b": 4, "d": 9}]]},
        ],
    );
}

#[test]
fn add_fields_and_unset_reshape_in_place() {
    let input = vec![
        doc! {"_id": 1, "student": "Maya", "homework": [10, 5, 10], "quiz": [10, 8], "specs": {"doors": 4}},
    ];
    check(
        &input,
        vec![
            doc! {"$addFields": {"totalHomework": {"$sum": "$homework"}, "student": {"$toUpper": "$student"}}},
            doc! {"$set": {"specs": {"fuel_type": "unleaded"}, "quiz": "$$REMOVE"}},
            doc! {"$unset": ["homework"]},
        ],
        vec![
            doc! {"_id": 1, "student": "MAYA", "specs": {"doors": 4, "fuel_type": "unleaded"}, "totalHomework": 25},
        ],
    );
    check(
        &input,
        vec![
            doc! {"$unset": "specs.doors"},
            doc! {"$unset": ["quiz", "homework", "student"]},
        ],
        vec![doc! {"_id": 1, "specs": {}}],
    );
}

#[test]
fn unwind_spreads_arrays_as_the_manual_shows() {
    let input = vec![
        doc! {"_id": 1, "item": "ABC", "sizes": ["S", "M"]},
        doc! {"_id": 2, "item": "EFG", "sizes": []},
        doc! {"_id": 3, "item": "IJK", "sizes": "M"},
        doc! {"_id": 4, "item": "LMN"},
        doc! {"_id": 5, "item": "XYZ", "sizes": null},
    ];
    check(
        &input,
        vec![doc! {"$unwind": "$sizes"}],
        vec![
            doc! {"_id": 1, "item": "ABC", "sizes": "S"},
            doc! {"_id": 1, "item": "ABC", "sizes": "M"},
            doc! {"_id": 3, "item": "IJK", "sizes": "M"},
        ],
    );
    check(
        &input,
        vec![
            doc! {"$unwind": {"path": "$sizes", "includeArrayIndex": "idx", "preserveNullAndEmptyArrays": true}},
        ],
        vec![
            doc! {"_id": 1, "item": "ABC", "sizes": "S", "idx": 0_i64},
            doc! {"_id": 1, "item": "ABC", "sizes": "M", "idx": 1_i64},
            doc! {"_id": 2, "item": "EFG", "idx": null},
            doc! {"_id": 3, "item": "IJK", "sizes": "M", "idx": null},
            doc! {"_id": 4, "item": "LMN", "idx": null},
            doc! {"_id": 5, "item": "XYZ", "sizes": null, "idx": null},
        ],
    );
    check(
        &[doc! {"_id": 1, "a": {"b": [1, 2]}}],
        vec![doc! {"$unwind": "$a.b"}],
        vec![
            doc! {"_id": 1, "a": {"b": 1}},
            doc! {"_id": 1, "a": {"b": 2}},
        ],
    );
}

#[test]
fn count_skip_limit_and_replace_root() {
    check(
        &sales(),
        vec![doc! {"$match": {"item": "xyz"}}, doc! {"$count": "n"}],
        vec![doc! {"n": 2}],
    );
    check(
        &sales(),
        vec![doc! {"$match": {"item": "none"}}, doc! {"$count": "n"}],
        vec![],
    );
    check(
        &sales(),
        vec![
            doc! {"$skip": 3},
            doc! {"$limit": 1},
            doc! {"$project": {"_id": 1}},
        ],
        vec![doc! {"_id": 4}],
    );
    check(
        &[doc! {"_id": 1, "name": {"first": "John", "last": "Backus"}}],
        vec![doc! {"$replaceRoot": {"newRoot": "$name"}}],
        vec![doc! {"first": "John", "last": "Backus"}],
    );
    check(
        &[doc! {"_id": 1, "name": {"first": "John"}}],
        vec![
            doc! {"$replaceWith": {"$mergeObjects": [{"_id": "$_id", "first": "", "last": ""}, "$name"]}},
        ],
        vec![doc! {"_id": 1, "first": "John", "last": ""}],
    );
}

#[test]
fn lookup_joins_on_equality_including_array_locals() {
    let orders = vec![
        doc! {"_id": 1, "item": "almonds", "price": 12},
        doc! {"_id": 2, "item": "pecans", "price": 20},
        doc! {"_id": 3},
        doc! {"_id": 4, "items": ["almonds", "cashews"]},
    ];
    let inventory = vec![
        doc! {"_id": 1, "sku": "almonds", "instock": 120},
        doc! {"_id": 2, "sku": "bread", "instock": 80},
        doc! {"_id": 5, "sku": null},
        doc! {"_id": 6},
        doc! {"_id": 7, "sku": ["cashews", "x"]},
    ];
    let colls = HashMap::from([("inventory".to_string(), inventory)]);
    let stages = vec![
        doc! {"$lookup": {"from": "inventory", "localField": "item", "foreignField": "sku", "as": "docs"}},
        doc! {"$project": {"ids": "$docs._id"}},
    ];
    let out = run_with(&orders, &stages, &colls, super::STAGE_MEMORY_BYTES_MAX).unwrap();
    let ids: Vec<Bson> = out
        .iter()
        .map(|d| d.get("ids").cloned().unwrap_or(Bson::Null))
        .collect();
    assert_eq!(
        ids,
        vec![bson!([1]), bson!([]), bson!([5, 6]), bson!([5, 6])]
    );
    let stages = vec![
        doc! {"$lookup": {"from": "inventory", "localField": "items", "foreignField": "sku", "as": "docs"}},
        doc! {"$match": {"_id": 4}},
        doc! {"$project": {"ids": "$docs._id"}},
    ];
    let out = run_with(&orders, &stages, &colls, super::STAGE_MEMORY_BYTES_MAX).unwrap();
    assert_eq!(out, vec![doc! {"_id": 4, "ids": [1, 7]}]);
    let stages = vec![
        doc! {"$limit": 1},
        doc! {"$lookup": {"from": "inventory", "pipeline": [{"$match": {"instock": {"$gt": 100}}}], "as": "big"}},
        doc! {"$project": {"n": {"$size": "$big"}}},
    ];
    let out = run_with(&orders, &stages, &colls, super::STAGE_MEMORY_BYTES_MAX).unwrap();
    assert_eq!(out, vec![doc! {"_id": 1, "n": 1}]);
}

#[test]
fn facet_runs_each_sub_pipeline_over_the_same_input() {
    check(
        &sales(),
        vec![doc! {"$facet": {
            "byItem": [{"$group": {"_id": "$item"}}, {"$sort": {"_id": 1}}],
            "n": [{"$count": "n"}],
        }}],
        vec![doc! {"byItem": [{"_id": "abc"}, {"_id": "jkl"}, {"_id": "xyz"}], "n": [{"n": 5}]}],
    );
}

#[test]
fn leading_match_is_exposed_for_index_use() {
    let p = Pipeline::parse(&[doc! {"$match": {"a": 1}}, doc! {"$limit": 1}]).unwrap();
    assert_eq!(p.leading_match(), Some(&doc! {"a": 1}));
    let p = Pipeline::parse(&[doc! {"$limit": 1}, doc! {"$match": {"a": 1}}]).unwrap();
    assert_eq!(p.leading_match(), None);
    let p = Pipeline::parse(&[doc! {"$match": {"a": 1, "$expr": {"$gt": ["$b", 1]}}}]).unwrap();
    assert_eq!(p.leading_match(), Some(&doc! {"a": 1}));
}

#[test]
fn stage_errors_carry_mongod_codes() {
    let input = sales();
    for (stages, code) in [
        (vec![doc! {"$foo": 1}], 40324),
        (vec![doc! {"$match": {}, "$limit": 1}], 40323),
        (vec![doc! {}], 40323),
        (vec![doc! {"$match": 1}], 15959),
        (vec![doc! {"$project": {}}], 51272),
        (vec![doc! {"$project": {"a": 1, "b": 0}}], 31254),
        (vec![doc! {"$project": {"a": 0, "b": 1}}], 31253),
        (vec![doc! {"$project": {"a": 0, "b": "$x"}}], 31252),
        (
            vec![doc! {"$project": {"x": {"$add": [1]}, "x.b": 1}}],
            31249,
        ),
        (
            vec![doc! {"$project": {"x.b": 1, "x": {"$add": [1]}}}],
            31250,
        ),
        (vec![doc! {"$project": {"x": {"b": 1}, "x.b": 1}}], 31250),
        (vec![doc! {"$project": {"x.b": 1, "x": {"b": 1}}}], 31250),
        (vec![doc! {"$project": {"": 1}}], 40352),
        (vec![doc! {"$project": {"$a": 1}}], 16410),
        (vec![doc! {"$project": 1}], 15969),
        (vec![doc! {"$addFields": 1}], 40272),
        (vec![doc! {"$unset": 1}], 31002),
        (vec![doc! {"$unset": [1]}], 31120),
        (vec![doc! {"$group": {"n": {"$sum": 1}}}], 15955),
        (vec![doc! {"$group": 1}], 15947),
        (vec![doc! {"$group": {"_id": null, "n": 1}}], 40234),
        (
            vec![doc! {"$group": {"_id": null, "n": {"$sum": 1, "$avg": 1}}}],
            40238,
        ),
        (
            vec![doc! {"$group": {"_id": null, "n": {"$foo": 1}}}],
            15952,
        ),
        (
            vec![doc! {"$group": {"_id": null, "n": {"$push": [1, 2]}}}],
            40237,
        ),
        (vec![doc! {"$sort": 1}], 15973),
        (vec![doc! {"$sort": {}}], 15976),
        (vec![doc! {"$sort": {"a": 2}}], 15975),
        (vec![doc! {"$skip": -1}], 15956),
        (vec![doc! {"$skip": "a"}], 15972),
        (vec![doc! {"$limit": 0}], 15958),
        (vec![doc! {"$limit": "a"}], 15957),
        (vec![doc! {"$count": ""}], 40157),
        (vec![doc! {"$count": "$n"}], 40158),
        (vec![doc! {"$count": "a.b"}], 40160),
        (vec![doc! {"$unwind": 1}], 15981),
        (vec![doc! {"$unwind": "sizes"}], 28818),
        (vec![doc! {"$unwind": {"path": "$a", "x": 1}}], 28811),
        (vec![doc! {"$unwind": {"includeArrayIndex": "i"}}], 28812),
        (vec![doc! {"$replaceRoot": {"newRoot": "$item"}}], 40228),
        (vec![doc! {"$replaceRoot": {"newRoot": "$missing"}}], 40228),
        (vec![doc! {"$replaceRoot": {}}], 40231),
        (
            vec![doc! {"$replaceRoot": {"newRoot": "$a", "x": 1}}],
            40415,
        ),
        (
            vec![doc! {"$lookup": {"from": "x", "localField": "a", "foreignField": "b"}}],
            9,
        ),
        (
            vec![doc! {"$lookup": {"from": 1, "localField": "a", "foreignField": "b", "as": "c"}}],
            4570,
        ),
        (vec![doc! {"$facet": {"a": 1}}], 40170),
        (vec![doc! {"$facet": {"a": [{"$facet": {"b": []}}]}}], 40600),
        (vec![doc! {"$project": {"x": {"$divide": [1, 0]}}}], 2),
    ] {
        check_error(&input, stages, code);
    }
}

#[test]
fn memory_limit_stops_group_and_sort() {
    let input: Vec<Document> = (0..200)
        .map(|i| doc! {"_id": i, "pad": "x".repeat(100)})
        .collect();
    let colls = HashMap::new();
    for stages in [
        vec![doc! {"$group": {"_id": "$_id", "p": {"$push": "$pad"}}}],
        vec![doc! {"$sort": {"_id": -1}}],
    ] {
        let err = run_with(&input, &stages, &colls, 10_000)
            .err()
            .map(|e| e.code.0);
        assert_eq!(err, Some(292), "{stages:?}");
        assert!(run_with(&input, &stages, &colls, 1_000_000).is_ok());
    }
}

fn arbitrary_value() -> impl Strategy<Value = Bson> {
    let leaf = prop_oneof![
        Just(Bson::Null),
        (-3i32..3).prop_map(Bson::Int32),
        any::<f64>().prop_map(Bson::Double),
        any::<bool>().prop_map(Bson::Boolean),
        "\\$?[abx_.]{0,4}".prop_map(Bson::String),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        let keys = prop::sample::select(vec![
            "a",
            "b",
            "_id",
            "a.b",
            "$sum",
            "$push",
            "$add",
            "$gt",
            "path",
            "newRoot",
            "includeArrayIndex",
            "groupBy",
            "boundaries",
            "let",
            "pipeline",
            "from",
            "localField",
            "foreignField",
            "as",
            "$a",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
            prop::collection::vec((keys, inner), 0..3).prop_map(|fields| {
                Bson::Document(
                    fields
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn arbitrary_stage() -> impl Strategy<Value = Document> {
    let names = prop::sample::select(vec![
        "$match",
        "$project",
        "$addFields",
        "$unset",
        "$group",
        "$sort",
        "$skip",
        "$limit",
        "$count",
        "$unwind",
        "$replaceRoot",
        "$replaceWith",
        "$lookup",
        "$facet",
        "$bucket",
        "$sortByCount",
        "$sample",
        "$unionWith",
    ]);
    (names, arbitrary_value()).prop_map(|(name, spec)| doc! {name: spec})
}

proptest! {
    #[test]
    fn parse_and_run_never_panic(
        stages in prop::collection::vec(arbitrary_stage(), 0..4),
        docs in prop::collection::vec(arbitrary_value(), 0..4),
    ) {
        let input: Vec<Document> = docs.into_iter().map(|v| doc! {"a": v.clone(), "b": [v, {"a": 1}]}).collect();
        let colls = HashMap::from([("a".to_string(), input.clone())]);
        let _ = run_with(&input, &stages, &colls, 1_000_000);
    }
}

#[test]
fn lookup_let_correlates_a_sub_pipeline_as_the_manual_shows() {
    let orders = vec![
        doc! {"_id": 1, "item": "almonds", "price": 12, "ordered": 2},
        doc! {"_id": 2, "item": "pecans", "price": 20, "ordered": 1},
        doc! {"_id": 3, "item": "cookies", "price": 10, "ordered": 60},
    ];
    let warehouses = vec![
        doc! {"_id": 1, "stock_item": "almonds", "warehouse": "A", "instock": 120},
        doc! {"_id": 2, "stock_item": "pecans", "warehouse": "A", "instock": 80},
        doc! {"_id": 3, "stock_item": "almonds", "warehouse": "B", "instock": 60},
        doc! {"_id": 4, "stock_item": "cookies", "warehouse": "B", "instock": 40},
        doc! {"_id": 5, "stock_item": "cookies", "warehouse": "A", "instock": 80},
    ];
    let colls = HashMap::from([("warehouses".to_string(), warehouses)]);
    let stages = vec![
        doc! {"$lookup": {
            "from": "warehouses",
            "let": {"order_item": "$item", "order_qty": "$ordered"},
            "pipeline": [
                {"$match": {"$expr": {"$and": [
                    {"$eq": ["$stock_item", "$$order_item"]},
                    {"$gte": ["$instock", "$$order_qty"]},
                ]}}},
                {"$project": {"stock_item": 0, "_id": 0}},
            ],
            "as": "stockdata",
        }},
        doc! {"$project": {"stockdata": 1}},
    ];
    let out = run_with(&orders, &stages, &colls, super::STAGE_MEMORY_BYTES_MAX).unwrap();
    assert_eq!(
        out,
        vec![
            doc! {"_id": 1, "stockdata": [{"warehouse": "A", "instock": 120}, {"warehouse": "B", "instock": 60}]},
            doc! {"_id": 2, "stockdata": [{"warehouse": "A", "instock": 80}]},
            doc! {"_id": 3, "stockdata": [{"warehouse": "A", "instock": 80}]},
        ]
    );
    let bad = vec![
        doc! {"$lookup": {"from": "w", "let": {"x": 1}, "pipeline": [{"$match": {"$expr": "$$y"}}], "as": "o"}},
    ];
    let err = run_with(&orders, &bad, &colls, super::STAGE_MEMORY_BYTES_MAX)
        .err()
        .map(|e| e.code.0);
    assert_eq!(err, Some(17276));
}

#[test]
fn match_evaluates_a_top_level_expr_beside_the_filter() {
    let input = vec![
        doc! {"_id": 1, "category": "food", "budget": 400, "spent": 450},
        doc! {"_id": 2, "category": "drinks", "budget": 100, "spent": 150},
        doc! {"_id": 3, "category": "clothes", "budget": 100, "spent": 50},
        doc! {"_id": 4, "category": "misc", "budget": 500, "spent": 300},
    ];
    check(
        &input,
        vec![
            doc! {"$match": {"$expr": {"$gt": ["$spent", "$budget"]}}},
            doc! {"$project": {"_id": 1}},
        ],
        vec![doc! {"_id": 1}, doc! {"_id": 2}],
    );
    check(
        &input,
        vec![
            doc! {"$match": {"category": "food", "$expr": {"$gt": ["$spent", "$budget"]}}},
            doc! {"$project": {"_id": 1}},
        ],
        vec![doc! {"_id": 1}],
    );
}

#[test]
fn sort_by_count_and_bucket_expand_as_the_manual_describes() {
    let input = vec![
        doc! {"_id": 1, "tags": "a", "price": 5},
        doc! {"_id": 2, "tags": "b", "price": 150},
        doc! {"_id": 3, "tags": "a", "price": 99},
        doc! {"_id": 4, "tags": "c", "price": "free"},
        doc! {"_id": 5, "tags": "a"},
    ];
    check(
        &input,
        vec![doc! {"$sortByCount": "$tags"}, doc! {"$limit": 1}],
        vec![doc! {"_id": "a", "count": 3}],
    );
    check(
        &input,
        vec![doc! {"$bucket": {
            "groupBy": "$price", "boundaries": [0, 100, 200], "default": "Other",
            "output": {"count": {"$sum": 1}, "ids": {"$push": "$_id"}},
        }}],
        vec![
            doc! {"_id": 0, "count": 2, "ids": [1, 3]},
            doc! {"_id": 100, "count": 1, "ids": [2]},
            doc! {"_id": "Other", "count": 2, "ids": [4, 5]},
        ],
    );
    check(
        &input,
        vec![
            doc! {"$match": {"price": {"$lt": 100}}},
            doc! {"$bucket": {"groupBy": "$price", "boundaries": [0, 50, 100]}},
        ],
        vec![doc! {"_id": 0, "count": 1}, doc! {"_id": 50, "count": 1}],
    );
    for (stages, code) in [
        (vec![doc! {"$sortByCount": "tags"}], 40148),
        (
            vec![doc! {"$bucket": {"groupBy": "$price", "boundaries": [0]}}],
            40192,
        ),
        (
            vec![doc! {"$bucket": {"groupBy": "$price", "boundaries": [0, "a"]}}],
            40193,
        ),
        (
            vec![doc! {"$bucket": {"groupBy": "$price", "boundaries": [5, 1]}}],
            40194,
        ),
        (
            vec![doc! {"$bucket": {"groupBy": "$price", "boundaries": [0, 10], "default": 5}}],
            40199,
        ),
        (vec![doc! {"$bucket": {"boundaries": [0, 10]}}], 40198),
        (
            vec![doc! {"$bucket": {"groupBy": "$price", "boundaries": [0, 10], "x": 1}}],
            40197,
        ),
        (
            vec![doc! {"$bucket": {"groupBy": "$price", "boundaries": [0, 200]}}],
            40066,
        ),
    ] {
        check_error(&input, stages, code);
    }
}

#[test]
fn union_with_appends_another_collection() {
    let colls = HashMap::from([(
        "warehouses".to_string(),
        vec![doc! {"_id": 10, "item": "b"}, doc! {"_id": 11, "item": "c"}],
    )]);
    let input = vec![doc! {"_id": 1, "item": "a"}];
    let stages = vec![
        doc! {"$unionWith": {"coll": "warehouses", "pipeline": [{"$match": {"item": "c"}}]}},
        doc! {"$unionWith": "missing"},
        doc! {"$project": {"item": 1, "_id": 0}},
    ];
    let out = run_with(&input, &stages, &colls, super::STAGE_MEMORY_BYTES_MAX).unwrap();
    assert_eq!(out, vec![doc! {"item": "a"}, doc! {"item": "c"}]);
    for (stages, code) in [
        (vec![doc! {"$unionWith": {"pipeline": []}}], 40414),
        (vec![doc! {"$unionWith": {"coll": 1}}], 14),
        (vec![doc! {"$unionWith": {"coll": "a", "x": 1}}], 40415),
    ] {
        check_error(&input, stages, code);
    }
}

#[test]
fn nested_pipelines_are_bounded() {
    let mut stage = doc! {"$limit": 1};
    for _ in 0..=super::PIPELINE_DEPTH_MAX + 1 {
        stage = doc! {"$unionWith": {"coll": "a", "pipeline": [stage]}};
    }
    let err = Pipeline::parse(&[stage]).err().map(|e| e.code);
    assert_eq!(err, Some(crate::Code::OVERFLOW));
}

#[test]
fn sort_then_limit_keeps_only_the_top_documents() {
    let input: Vec<Document> = (0..200)
        .map(|i| doc! {"_id": i, "k": i % 7, "pad": "x".repeat(100)})
        .collect();
    let colls = HashMap::new();
    let stages = vec![
        doc! {"$sort": {"k": -1}},
        doc! {"$limit": 3},
        doc! {"$project": {"_id": 1}},
    ];
    let out = run_with(&input, &stages, &colls, 10_000).unwrap();
    // Ties on k = 6 keep input order: _id 6, 13, 20.
    assert_eq!(
        out,
        vec![doc! {"_id": 6}, doc! {"_id": 13}, doc! {"_id": 20}]
    );
    let unlimited = run_with(&input, &[doc! {"$sort": {"k": -1}}], &colls, 10_000);
    assert_eq!(unlimited.err().map(|e| e.code.0), Some(292));
}

proptest! {
    #[test]
    fn top_n_equals_a_stable_sort_truncated(values in prop::collection::vec(arbitrary_value(), 0..12), n in 0usize..14, descending in any::<bool>()) {
        let docs: Vec<Document> = values.into_iter().enumerate().map(|(i, v)| doc! {"i": i as i32, "a": v}).collect();
        let spec = super::SortSpec::parse(&doc! {"a": if descending { -1 } else { 1 }}).unwrap();
        let mut sorted = docs.clone();
        spec.sort(&mut sorted);
        sorted.truncate(n);
        prop_assert_eq!(spec.top(docs, n), sorted);
    }
}

#[test]
fn sample_picks_distinct_documents_reproducibly() {
    let input: Vec<Document> = (0..50).map(|i| doc! {"_id": i}).collect();
    let colls = HashMap::new();
    let pipeline = Pipeline::parse(&[doc! {"$sample": {"size": 5}}]).unwrap();
    let mut options = RunOptions::new(&colls);
    options.random_seed = 42;
    let first = pipeline.run(input.clone(), &options).unwrap();
    let again = pipeline.run(input.clone(), &options).unwrap();
    assert_eq!(first, again);
    assert_eq!(first.len(), 5);
    let mut ids: Vec<i32> = first.iter().filter_map(|d| d.get_i32("_id").ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    options.random_seed = 7;
    assert_ne!(pipeline.run(input.clone(), &options).unwrap(), first);
    let all = Pipeline::parse(&[doc! {"$sample": {"size": 500}}])
        .unwrap()
        .run(input.clone(), &options)
        .unwrap();
    assert_eq!(all.len(), 50);
    for (stages, code) in [
        (vec![doc! {"$sample": 1}], 28745),
        (vec![doc! {"$sample": {"size": "a"}}], 28746),
        (vec![doc! {"$sample": {"size": -1}}], 28747),
        (vec![doc! {"$sample": {"n": 1}}], 28748),
        (vec![doc! {"$sample": {}}], 28749),
    ] {
        check_error(&input, stages, code);
    }
}

/// mongod's own `$unwind` table (jstests/core/query/unwind.js): every
/// combination of the options over missing, null, empty and scalar values.
#[test]
fn unwind_follows_mongods_option_table() {
    let p = |extra: Document| {
        let mut spec = doc! {"path": "$a"};
        spec.extend(extra);
        spec
    };
    let keep = doc! {"preserveNullAndEmptyArrays": true};
    let idx = |f: &str| doc! {"includeArrayIndex": f};
    let both = |f: &str| doc! {"preserveNullAndEmptyArrays": true, "includeArrayIndex": f};
    let cases: Vec<(Document, Document, Vec<Document>)> = vec![
        (doc! {"_id": 0}, p(doc! {}), vec![]),
        (doc! {"_id": 0}, p(keep.clone()), vec![doc! {"_id": 0}]),
        (doc! {"_id": 0}, p(idx("i")), vec![]),
        (
            doc! {"_id": 0},
            p(both("i")),
            vec![doc! {"_id": 0, "i": null}],
        ),
        (
            doc! {"_id": 0},
            p(both("a")),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (doc! {"_id": 0, "a": null}, p(doc! {}), vec![]),
        (
            doc! {"_id": 0, "a": null},
            p(keep.clone()),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (
            doc! {"_id": 0, "a": null},
            p(both("i")),
            vec![doc! {"_id": 0, "a": null, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": null},
            p(both("a")),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (doc! {"_id": 0, "a": []}, p(doc! {}), vec![]),
        (
            doc! {"_id": 0, "a": []},
            p(keep.clone()),
            vec![doc! {"_id": 0}],
        ),
        (
            doc! {"_id": 0, "a": []},
            p(both("i")),
            vec![doc! {"_id": 0, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": []},
            p(both("a")),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (
            doc! {"_id": 0, "a": 1},
            p(doc! {}),
            vec![doc! {"_id": 0, "a": 1}],
        ),
        (
            doc! {"_id": 0, "a": 1},
            p(idx("i")),
            vec![doc! {"_id": 0, "a": 1, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": 1},
            p(both("a")),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (
            doc! {"_id": 0, "a": {}},
            p(idx("i")),
            vec![doc! {"_id": 0, "a": {}, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": [null]},
            p(doc! {}),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (
            doc! {"_id": 0, "a": [null]},
            p(idx("i")),
            vec![doc! {"_id": 0, "a": null, "i": 0_i64}],
        ),
        (
            doc! {"_id": 0, "a": [null]},
            p(both("a")),
            vec![doc! {"_id": 0, "a": 0_i64}],
        ),
        (
            doc! {"_id": 0, "a": [[]]},
            p(doc! {}),
            vec![doc! {"_id": 0, "a": []}],
        ),
        (
            doc! {"_id": 0, "a": [[]]},
            p(idx("i")),
            vec![doc! {"_id": 0, "a": [], "i": 0_i64}],
        ),
        (
            doc! {"_id": 0, "a": [1]},
            p(both("i")),
            vec![doc! {"_id": 0, "a": 1, "i": 0_i64}],
        ),
        (
            doc! {"_id": 0},
            doc! {"path": "$a.b", "preserveNullAndEmptyArrays": true, "includeArrayIndex": "_id"},
            vec![doc! {"_id": null}],
        ),
        (
            doc! {"_id": 0, "a": {}},
            doc! {"path": "$a.b", "preserveNullAndEmptyArrays": true},
            vec![doc! {"_id": 0, "a": {}}],
        ),
        (
            doc! {"_id": 0, "a": {"b": []}},
            doc! {"path": "$a.b", "preserveNullAndEmptyArrays": true},
            vec![doc! {"_id": 0, "a": {}}],
        ),
        (
            doc! {"_id": 0, "a": {"b": 1}},
            doc! {"path": "$a.b", "includeArrayIndex": "i"},
            vec![doc! {"_id": 0, "a": {"b": 1}, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": {"b": null}},
            doc! {"path": "$a.b", "preserveNullAndEmptyArrays": true, "includeArrayIndex": "a"},
            vec![doc! {"_id": 0, "a": null}],
        ),
    ];
    for (input, spec, expected) in cases {
        check(&[input], vec![doc! {"$unwind": spec}], expected);
    }
    check_error(&[], vec![doc! {"$unwind": {"path": "$"}}], 40352);
}

/// mongod's dotted-path `$addFields` cases
/// (jstests/aggregation/sources/addFields/dotted_paths.js).
#[test]
fn add_fields_through_dotted_paths_as_mongod() {
    let input = [doc! {
        "_id": 1,
        "arrayField": [1, {"subField": [2, {}]}, [1]],
        "objField": {"p": {"q": 1}, "subArr": [1]},
        "otherField": "value",
    }];
    let nested = doc! {"newSubObj": [{"p": "newValue"}]};
    let with = |field: &str, value: Bson| {
        let mut out = input[0].clone();
        out.insert(field, value);
        vec![out]
    };
    check(
        &input,
        vec![doc! {"$addFields": {"objField.subArr": "newValue"}}],
        with("objField", bson!({"p": {"q": 1}, "subArr": "newValue"})),
    );
    check(
        &input,
        vec![doc! {"$addFields": {"objField.newSubPath.b": {"$literal": "newValue"}}}],
        with(
            "objField",
            bson!({"p": {"q": 1}, "subArr": [1], "newSubPath": {"b": "newValue"}}),
        ),
    );
    check(
        &input,
        vec![doc! {"$addFields": {"objField.newSubPath.b": nested.clone()}}],
        with(
            "objField",
            bson!({"p": {"q": 1}, "subArr": [1], "newSubPath": {"b": nested.clone()}}),
        ),
    );
    let mut expected = input[0].clone();
    expected.insert("newField", doc! {"newSubPath": {"b": "newValue"}});
    check(
        &input,
        vec![doc! {"$addFields": {"newField.newSubPath.b": "newValue"}}],
        vec![expected],
    );
    let sub = doc! {"newSubPath": {"b": "newValue"}};
    check(
        &input,
        vec![doc! {"$addFields": {"arrayField.newSubPath.b": "newValue"}}],
        with(
            "arrayField",
            bson!([sub.clone(), {"subField": [2, {}], "newSubPath": {"b": "newValue"}}, [sub]]),
        ),
    );
    let sub = doc! {"subField": {"b": nested.clone()}};
    check(
        &input,
        vec![doc! {"$addFields": {"arrayField.subField.b": {"$literal": nested.clone()}}}],
        with(
            "arrayField",
            bson!([sub.clone(), {"subField": [{"b": nested.clone()}, {"b": nested.clone()}]}, [sub]]),
        ),
    );
}
