//! Pipelines under the command's collation: `$match`, `$sort` and `$group`
//! keys compare strings under it (the MongoDB manual's aggregate
//! `collation` option).

use std::collections::HashMap;
use std::sync::Arc;

use bson::{Document, doc};

use crate::collation::Collation;
use crate::pipeline::{Pipeline, RunOptions};

fn check(collation: Document, stages: Vec<Document>, input: &[Document], expected: &[Document]) {
    let collections: HashMap<String, Vec<Document>> = HashMap::new();
    let mut options = RunOptions::new(&collections);
    options.collation = Collation::parse(&collation).unwrap().map(Arc::new);
    let out = Pipeline::parse(&stages)
        .and_then(|p| p.run(input.to_vec(), &options))
        .unwrap_or_else(|e| panic!("{stages:?} failed: {e}"));
    assert_eq!(out, expected, "{stages:?} under {collation}");
}

fn words() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "x": "b"},
        doc! {"_id": 2, "x": "PING"},
        doc! {"_id": 3, "x": "A"},
        doc! {"_id": 4, "x": "ping"},
    ]
}

#[test]
fn collated_match_ignores_case() {
    check(
        doc! {"locale": "en", "strength": 2},
        vec![doc! {"$match": {"x": "Ping"}}],
        &words(),
        &[doc! {"_id": 2, "x": "PING"}, doc! {"_id": 4, "x": "ping"}],
    );
}

#[test]
fn collated_sort_orders_letters_before_case() {
    check(
        doc! {"locale": "en"},
        vec![
            doc! {"$sort": {"x": 1, "_id": 1}},
            doc! {"$project": {"_id": 1}},
        ],
        &words(),
        &[
            doc! {"_id": 3},
            doc! {"_id": 1},
            doc! {"_id": 4},
            doc! {"_id": 2},
        ],
    );
}

#[test]
fn collated_group_merges_keys_that_compare_equal() {
    check(
        doc! {"locale": "en", "strength": 2},
        vec![doc! {"$group": {"_id": "$x", "n": {"$sum": 1}}}],
        &words(),
        &[
            doc! {"_id": "b", "n": 1},
            doc! {"_id": "PING", "n": 2},
            doc! {"_id": "A", "n": 1},
        ],
    );
}

#[test]
fn simple_collation_keeps_the_binary_order() {
    check(
        doc! {"locale": "simple"},
        vec![doc! {"$sort": {"x": 1}}, doc! {"$project": {"_id": 1}}],
        &words(),
        &[
            doc! {"_id": 3},
            doc! {"_id": 2},
            doc! {"_id": 1},
            doc! {"_id": 4},
        ],
    );
}
