//! Filter behaviour, case by case, from the MongoDB manual's query pages
//! ("Query Documents", "Query on Embedded/Nested Documents", "Query an
//! Array", "Query an Array of Embedded Documents", "Query for Null or Missing
//! Fields", and each query operator's page), mongod's own jstests where the
//! manual is silent, and mongod's parse errors. One `check` helper per shape.

mod collated;
mod errors;
mod operators;
mod paths;
mod properties;
mod schema;

use bson::{Bson, Document, Regex, raw::CString};

use super::{Filter, Match};
use crate::Code;

pub(super) fn check(filter: Document, cases: &[(Document, bool)]) {
    let parsed =
        Filter::parse(&filter).unwrap_or_else(|err| panic!("{filter} failed to parse: {err}"));
    for (doc, expected) in cases {
        assert_eq!(parsed.matches(doc), *expected, "filter {filter} on {doc}");
    }
}

/// Asserts the position `matches_at` reports (None: no match at all).
pub(super) fn check_at(filter: Document, doc: Document, expected: Option<Option<usize>>) {
    let parsed =
        Filter::parse(&filter).unwrap_or_else(|err| panic!("{filter} failed to parse: {err}"));
    let got = parsed.matches_at(&doc).map(|m: Match| m.array_index);
    assert_eq!(got, expected, "filter {filter} on {doc}");
}

/// Asserts that parsing fails with mongod's code and message.
pub(super) fn check_error(filter: Document, code: Code, message: &str) {
    match Filter::parse(&filter) {
        Ok(parsed) => panic!("{filter} parsed as {parsed:?}"),
        Err(err) => {
            assert_eq!(err.code, code, "{filter}: {err}");
            assert!(
                err.message.contains(message),
                "{filter}: {} lacks {message}",
                err.message
            );
        }
    }
}

pub(super) fn check_element(condition: Bson, cases: &[(Bson, bool)]) {
    let parsed =
        Filter::parse_element(&condition).unwrap_or_else(|err| panic!("{condition}: {err}"));
    for (value, expected) in cases {
        assert_eq!(
            parsed.matches_element(value),
            *expected,
            "condition {condition} on {value}"
        );
    }
}

pub(super) fn regex(pattern: &str, options: &str) -> Bson {
    Bson::RegularExpression(Regex {
        pattern: CString::try_from(pattern).expect("test pattern"),
        options: CString::try_from(options).expect("test options"),
    })
}

/// Asserts which documents of `docs` (by `_id`) `filter` matches, in order.
pub(super) fn check_ids(filter: Document, docs: &[Document], expected: &[&str]) {
    let parsed =
        Filter::parse(&filter).unwrap_or_else(|err| panic!("{filter} failed to parse: {err}"));
    let matched: Vec<&str> = docs
        .iter()
        .filter(|doc| parsed.matches(doc))
        .filter_map(|doc| doc.get_str("_id").ok())
        .collect();
    assert_eq!(matched, expected, "filter {filter}");
}
