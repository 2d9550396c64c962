//! Filters under a collation: every string comparison operator honours it,
//! nothing else does (the MongoDB manual's Collation page: "collation
//! affects string comparisons").

use std::sync::Arc;

use bson::{Document, doc};

use crate::collation::Collation;
use crate::matcher::Filter;

/// Case-insensitive English (`strength: 2`), as most collated queries use.
fn case_insensitive() -> Arc<Collation> {
    let spec = doc! {"locale": "en_US", "strength": 2};
    Arc::new(Collation::parse(&spec).unwrap().unwrap())
}

fn check(filter: Document, cases: &[(Document, bool)]) {
    let parsed = Filter::parse(&filter)
        .unwrap_or_else(|err| panic!("{filter} failed to parse: {err}"))
        .with_collation(Some(case_insensitive()));
    for (doc, expected) in cases {
        assert_eq!(parsed.matches(doc), *expected, "filter {filter} on {doc}");
    }
}

#[test]
fn collated_equality_ignores_case() {
    check(
        doc! {"x": "PING"},
        &[
            (doc! {"x": "ping"}, true),
            (doc! {"x": "pINg"}, true),
            (doc! {"x": "pong"}, false),
            (doc! {"x": ["a", "Ping"]}, true),
            (doc! {"x": 11}, false),
        ],
    );
    check(doc! {"x": {"$eq": "PING"}}, &[(doc! {"x": "ping"}, true)]);
    check(
        doc! {"x": {"$ne": "PING"}},
        &[(doc! {"x": "ping"}, false), (doc! {"x": "pong"}, true)],
    );
}

#[test]
fn collated_ranges_use_the_collation_order() {
    // Binary order puts "B" before "a"; English puts "a" first.
    check(
        doc! {"x": {"$gt": "a"}},
        &[(doc! {"x": "B"}, true), (doc! {"x": "A"}, false)],
    );
    check(
        doc! {"x": {"$gte": "A", "$lte": "a"}},
        &[(doc! {"x": "a"}, true), (doc! {"x": "b"}, false)],
    );
}

#[test]
fn collated_in_and_nin_compare_each_value() {
    check(
        doc! {"x": {"$in": ["PONG", 3, "PING"]}},
        &[
            (doc! {"x": "ping"}, true),
            (doc! {"x": "Pong"}, true),
            (doc! {"x": 3}, true),
            (doc! {"x": "pang"}, false),
        ],
    );
    check(
        doc! {"x": {"$nin": ["PING"]}},
        &[(doc! {"x": "ping"}, false), (doc! {"x": "pang"}, true)],
    );
}

#[test]
fn collated_equality_reaches_into_arrays_and_documents() {
    check(
        doc! {"x": {"k": "V"}},
        &[
            (doc! {"x": {"k": "v"}}, true),
            (doc! {"x": {"K": "v"}}, false),
        ],
    );
    check(doc! {"x": ["A", "B"]}, &[(doc! {"x": ["a", "b"]}, true)]);
    check(
        doc! {"x": {"$elemMatch": {"$eq": "PING"}}},
        &[(doc! {"x": ["ping"]}, true)],
    );
}

#[test]
fn collation_leaves_regexes_and_field_names_alone() {
    check(
        doc! {"x": {"$regex": "^P"}},
        &[(doc! {"x": "ping"}, false), (doc! {"x": "Ping"}, true)],
    );
    check(doc! {"X": "ping"}, &[(doc! {"x": "ping"}, false)]);
}

#[test]
fn without_collation_strings_compare_binary() {
    let parsed = Filter::parse(&doc! {"x": "PING"}).unwrap();
    assert!(!parsed.matches(&doc! {"x": "ping"}));
}
