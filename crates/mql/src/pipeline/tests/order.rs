//! `$sort`, `$skip`, `$limit` and `$sample`.

use std::collections::HashMap;

use bson::{Document, doc};

use super::*;
use crate::pipeline::{Pipeline, RunOptions};

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
