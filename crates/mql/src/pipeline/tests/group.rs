//! `$group`, `$count`, `$sortByCount` and `$bucket`.

use std::collections::HashMap;

use bson::{Bson, bson, doc};

use super::*;

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
fn group_statistics_and_merged_objects_match_the_manual() {
    // Scores 62, 88, 92, 75: mean 79.25, squared deviations sum to 554.75.
    let input = vec![
        doc! {"quiz": 1, "score": 62, "meta": {"a": 1}},
        doc! {"quiz": 1, "score": 88, "meta": {"b": 2}},
        doc! {"quiz": 1, "score": 92, "meta": null},
        doc! {"quiz": 1, "score": 75, "meta": {"a": 3}},
    ];
    let out = run_with(
        &input,
        &[doc! {"$group": {
            "_id": "$quiz",
            "pop": {"$stdDevPop": "$score"},
            "samp": {"$stdDevSamp": "$score"},
            "merged": {"$mergeObjects": "$meta"},
        }}],
        &HashMap::new(),
        crate::pipeline::STAGE_MEMORY_BYTES_MAX,
    )
    .unwrap();
    let [doc] = out.as_slice() else {
        panic!("one group expected: {out:?}")
    };
    let pop = doc.get_f64("pop").unwrap_or(f64::NAN);
    let samp = doc.get_f64("samp").unwrap_or(f64::NAN);
    assert!((pop - (554.75_f64 / 4.0).sqrt()).abs() < 1e-12, "{pop}");
    assert!((samp - (554.75_f64 / 3.0).sqrt()).abs() < 1e-12, "{samp}");
    assert_eq!(doc.get("merged"), Some(&bson!({"a": 3, "b": 2})));
    check(
        &[doc! {"x": 1}],
        vec![doc! {"$group": {"_id": null, "s": {"$stdDevSamp": "$x"}}}],
        vec![doc! {"_id": null, "s": null}],
    );
    check_error(
        &input,
        vec![doc! {"$group": {"_id": null, "m": {"$mergeObjects": "$score"}}}],
        40400,
    );
}
