//! Filter behaviour, case by case, from the MongoDB manual's query pages
//! ("Query Documents", "Query on Embedded/Nested Documents", "Query an
//! Array", "Query an Array of Embedded Documents", "Query for Null or Missing
//! Fields", and each query operator's page), plus mongod's parse errors.

use bson::{Bson, Document, Regex, doc, raw::CString};
use proptest::prelude::*;

use super::{FILTER_DEPTH_MAX, Filter, Match};
use crate::Code;

/// Asserts, for each document, whether `filter` matches it.
fn check(filter: Document, cases: &[(Document, bool)]) {
    let parsed =
        Filter::parse(&filter).unwrap_or_else(|err| panic!("{filter} failed to parse: {err}"));
    for (doc, expected) in cases {
        assert_eq!(parsed.matches(doc), *expected, "filter {filter} on {doc}");
    }
}

/// Asserts the position `matches_at` reports (None: no match at all).
fn check_at(filter: Document, doc: Document, expected: Option<Option<usize>>) {
    let parsed =
        Filter::parse(&filter).unwrap_or_else(|err| panic!("{filter} failed to parse: {err}"));
    let got = parsed.matches_at(&doc).map(|m: Match| m.array_index);
    assert_eq!(got, expected, "filter {filter} on {doc}");
}

/// Asserts that parsing fails with mongod's code and message.
fn check_error(filter: Document, code: Code, message: &str) {
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

fn check_element(condition: Bson, cases: &[(Bson, bool)]) {
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

fn regex(pattern: &str, options: &str) -> Bson {
    Bson::RegularExpression(Regex {
        pattern: CString::try_from(pattern).expect("test pattern"),
        options: CString::try_from(options).expect("test options"),
    })
}

#[test]
fn equality_matches_top_level_and_dotted_fields() {
    check(
        doc! {"status": "D"},
        &[
            (doc! {"status": "D"}, true),
            (doc! {"status": "A"}, false),
            (doc! {}, false),
        ],
    );
    check(
        doc! {"size.uom": "in"},
        &[
            (doc! {"size": {"h": 14, "uom": "in"}}, true),
            (doc! {"size": {"h": 14, "uom": "cm"}}, false),
            (doc! {"size": "in"}, false),
        ],
    );
    check(
        doc! {"a": 1, "b": 2},
        &[
            (doc! {"a": 1, "b": 2}, true),
            (doc! {"a": 1, "b": 3}, false),
        ],
    );
    check(doc! {}, &[(doc! {"a": 1}, true), (doc! {}, true)]);
}

#[test]
fn equality_with_numbers_crosses_numeric_types() {
    check(
        doc! {"qty": 20},
        &[
            (doc! {"qty": 20.0}, true),
            (doc! {"qty": 20_i64}, true),
            (doc! {"qty": "20"}, false),
        ],
    );
}

#[test]
fn equality_with_a_document_is_exact_and_ordered() {
    let filter = doc! {"size": {"h": 14, "w": 21, "uom": "cm"}};
    check(
        filter,
        &[
            (doc! {"size": {"h": 14, "w": 21, "uom": "cm"}}, true),
            (doc! {"size": {"w": 21, "h": 14, "uom": "cm"}}, false),
            (doc! {"size": {"h": 14, "w": 21}}, false),
            (doc! {"size": [{"h": 14, "w": 21, "uom": "cm"}]}, true),
        ],
    );
    check(
        doc! {"a": {}},
        &[(doc! {"a": {}}, true), (doc! {"a": {"b": 1}}, false)],
    );
}

#[test]
fn equality_with_an_array_matches_the_array_or_an_element() {
    check(
        doc! {"tags": ["red", "blank"]},
        &[
            (doc! {"tags": ["red", "blank"]}, true),
            (doc! {"tags": ["blank", "red"]}, false),
            (doc! {"tags": ["red", "blank", "plain"]}, false),
            (doc! {"tags": [["red", "blank"], "x"]}, true),
        ],
    );
    check(
        doc! {"tags": "red"},
        &[
            (doc! {"tags": ["blank", "red"]}, true),
            (doc! {"tags": [["red"]]}, false),
            (doc! {"tags": []}, false),
        ],
    );
}

#[test]
fn dotted_paths_traverse_arrays_of_documents() {
    check(
        doc! {"instock.qty": 5},
        &[
            (
                doc! {"instock": [{"warehouse": "A", "qty": 5}, {"qty": 15}]},
                true,
            ),
            (doc! {"instock": [{"qty": 15}]}, false),
            (doc! {"instock": [[{"qty": 5}]]}, false),
            (doc! {"instock": {"qty": [1, 5]}}, true),
        ],
    );
    check(
        doc! {"instock.0.qty": {"$lte": 20}},
        &[
            (doc! {"instock": [{"qty": 5}, {"qty": 50}]}, true),
            (doc! {"instock": [{"qty": 50}, {"qty": 5}]}, false),
        ],
    );
    check(
        doc! {"dim_cm.1": {"$gt": 25}},
        &[
            (doc! {"dim_cm": [14, 30]}, true),
            (doc! {"dim_cm": [30, 14]}, false),
        ],
    );
    check(
        doc! {"a.0": 5},
        &[
            (doc! {"a": [{"0": 5}]}, true),
            (doc! {"a": {"0": 5}}, true),
            (doc! {"a": [[5]]}, true),
        ],
    );
}

#[test]
fn null_matches_null_missing_and_arrays_holding_null() {
    check(
        doc! {"item": null},
        &[
            (doc! {"item": null}, true),
            (doc! {}, true),
            (doc! {"item": [1, null]}, true),
            (doc! {"item": 0}, false),
            (doc! {"item": Bson::Undefined}, false),
            (doc! {"item": []}, false),
        ],
    );
    check(
        doc! {"a.b": null},
        &[
            (doc! {"a": 1}, true),
            (doc! {"a": [{"b": 1}, {"c": 1}]}, true),
            (doc! {"a": [{"b": 1}]}, false),
            (doc! {"a": [1, 2]}, false),
        ],
    );
    check(
        doc! {"item": {"$type": 10}},
        &[(doc! {"item": null}, true), (doc! {}, false)],
    );
    check(
        doc! {"item": {"$exists": false}},
        &[(doc! {"item": null}, false), (doc! {}, true)],
    );
}

#[test]
fn comparisons_bracket_by_type() {
    check(
        doc! {"a": {"$gt": 1}},
        &[
            (doc! {"a": 2}, true),
            (doc! {"a": 1}, false),
            (doc! {"a": "z"}, false),
            (doc! {"a": [0, 3]}, true),
            (doc! {"a": [0, "z"]}, false),
            (doc! {}, false),
            (doc! {"a": null}, false),
        ],
    );
    check(
        doc! {"a": {"$lt": "m"}},
        &[
            (doc! {"a": "b"}, true),
            (doc! {"a": 1}, false),
            (doc! {"a": "z"}, false),
        ],
    );
    check(
        doc! {"a": {"$gte": 2, "$lte": 3}},
        &[
            (doc! {"a": 2}, true),
            (doc! {"a": 3.0}, true),
            (doc! {"a": 3.5}, false),
        ],
    );
    check(
        doc! {"a": {"$lt": [2]}},
        &[
            (doc! {"a": [1]}, true),
            (doc! {"a": [3]}, false),
            (doc! {"a": 1}, false),
        ],
    );
}

#[test]
fn comparisons_on_arrays_may_be_satisfied_by_different_elements() {
    let filter = doc! {"dim_cm": {"$gt": 15, "$lt": 20}};
    check(
        filter,
        &[
            (doc! {"dim_cm": [14, 21]}, true),
            (doc! {"dim_cm": [22, 30]}, false),
            (doc! {"dim_cm": [18]}, true),
        ],
    );
    check(
        doc! {"dim_cm": {"$elemMatch": {"$gt": 15, "$lt": 20}}},
        &[
            (doc! {"dim_cm": [14, 21]}, false),
            (doc! {"dim_cm": [14, 18]}, true),
            (doc! {"dim_cm": 18}, false),
        ],
    );
}

#[test]
fn comparisons_with_null_min_key_and_max_key_bounds() {
    check(
        doc! {"a": {"$gte": null}},
        &[
            (doc! {}, true),
            (doc! {"a": null}, true),
            (doc! {"a": 1}, false),
        ],
    );
    check(
        doc! {"a": {"$gt": null}},
        &[(doc! {}, false), (doc! {"a": null}, false)],
    );
    check(
        doc! {"a": {"$gt": Bson::MinKey}},
        &[
            (doc! {"a": 1}, true),
            (doc! {"a": "x"}, true),
            (doc! {"a": Bson::MinKey}, false),
        ],
    );
    check(
        doc! {"a": {"$lte": Bson::MaxKey}},
        &[(doc! {"a": 1}, true), (doc! {"a": Bson::MaxKey}, true)],
    );
    check(doc! {"a": {"$lt": Bson::MinKey}}, &[(doc! {"a": 1}, false)]);
}

#[test]
fn nan_equals_only_nan() {
    check(
        doc! {"a": f64::NAN},
        &[(doc! {"a": f64::NAN}, true), (doc! {"a": 1}, false)],
    );
    check(
        doc! {"a": {"$lt": 0}},
        &[
            (doc! {"a": f64::NAN}, false),
            (doc! {"a": f64::NEG_INFINITY}, true),
        ],
    );
    check(
        doc! {"a": {"$gte": f64::NAN}},
        &[(doc! {"a": f64::NAN}, true), (doc! {"a": 5}, false)],
    );
}

#[test]
fn ne_and_nin_negate_over_all_elements() {
    check(
        doc! {"a": {"$ne": 1}},
        &[
            (doc! {"a": 2}, true),
            (doc! {}, true),
            (doc! {"a": [1, 2]}, false),
            (doc! {"a": [2, 3]}, true),
            (doc! {"a": 1.0}, false),
        ],
    );
    check(
        doc! {"a": {"$ne": null}},
        &[
            (doc! {}, false),
            (doc! {"a": null}, false),
            (doc! {"a": 0}, true),
        ],
    );
    check(
        doc! {"quantity": {"$nin": [5, 15]}},
        &[
            (doc! {"quantity": 20}, true),
            (doc! {"quantity": 5}, false),
            (doc! {}, true),
            (doc! {"quantity": [1, 15]}, false),
        ],
    );
    check(
        doc! {"tags.x": {"$ne": 1}},
        &[
            (doc! {"tags": [{"x": 2}, {"x": 1}]}, false),
            (doc! {"tags": [{"x": 2}]}, true),
        ],
    );
}

#[test]
fn in_matches_any_value_regex_or_null() {
    check(
        doc! {"quantity": {"$in": [5, 15]}},
        &[
            (doc! {"quantity": 5}, true),
            (doc! {"quantity": 15.0}, true),
            (doc! {"quantity": 20}, false),
            (doc! {}, false),
            (doc! {"quantity": [1, 15]}, true),
        ],
    );
    check(
        doc! {"tags": {"$in": [regex("^be", ""), regex("^st", "")]}},
        &[
            (doc! {"tags": ["school", "book", "bag"]}, false),
            (doc! {"tags": ["appliance", "school", "best"]}, true),
            (doc! {"tags": "store"}, true),
        ],
    );
    check(
        doc! {"a": {"$in": [null, 3]}},
        &[
            (doc! {}, true),
            (doc! {"a": null}, true),
            (doc! {"a": 3}, true),
            (doc! {"a": 4}, false),
        ],
    );
    check(
        doc! {"a": {"$in": []}},
        &[(doc! {"a": 1}, false), (doc! {}, false)],
    );
    check(
        doc! {"a": {"$in": [[1, 2], {"b": 1}]}},
        &[
            (doc! {"a": [1, 2]}, true),
            (doc! {"a": {"b": 1}}, true),
            (doc! {"a": [1]}, false),
        ],
    );
}

#[test]
fn exists_tests_presence_including_null_values() {
    check(
        doc! {"qty": {"$exists": true, "$nin": [5, 15]}},
        &[
            (doc! {"qty": 20}, true),
            (doc! {"qty": 5}, false),
            (doc! {}, false),
        ],
    );
    check(
        doc! {"a": {"$exists": true}},
        &[
            (doc! {"a": null}, true),
            (doc! {"a": []}, true),
            (doc! {}, false),
        ],
    );
    check(
        doc! {"a": {"$exists": 0}},
        &[(doc! {}, true), (doc! {"a": 1}, false)],
    );
    check(
        doc! {"a.b": {"$exists": false}},
        &[
            (doc! {"a": [1, 2]}, true),
            (doc! {"a": [{"b": null}]}, false),
            (doc! {"a": [{"c": 1}]}, true),
        ],
    );
}

#[test]
fn type_matches_codes_aliases_number_and_arrays() {
    check(
        doc! {"zipCode": {"$type": "string"}},
        &[
            (doc! {"zipCode": "10012"}, true),
            (doc! {"zipCode": 10012}, false),
            (doc! {"zipCode": ["10012", 1]}, true),
        ],
    );
    check(
        doc! {"zipCode": {"$type": 2}},
        &[(doc! {"zipCode": "x"}, true), (doc! {"zipCode": 1}, false)],
    );
    check(
        doc! {"zipCode": {"$type": "number"}},
        &[
            (doc! {"zipCode": 1}, true),
            (doc! {"zipCode": 1_i64}, true),
            (doc! {"zipCode": 1.5}, true),
            (doc! {"zipCode": "1"}, false),
        ],
    );
    check(
        doc! {"a": {"$type": ["double", "string"]}},
        &[
            (doc! {"a": 1.5}, true),
            (doc! {"a": "x"}, true),
            (doc! {"a": 1}, false),
        ],
    );
    check(
        doc! {"a": {"$type": "array"}},
        &[
            (doc! {"a": []}, true),
            (doc! {"a": [1]}, true),
            (doc! {"a": 1}, false),
            (doc! {"a": [[1]]}, true),
        ],
    );
    check(
        doc! {"a": {"$type": -1}},
        &[
            (doc! {"a": Bson::MinKey}, true),
            (doc! {"a": Bson::MaxKey}, false),
        ],
    );
    check(
        doc! {"a": {"$type": "maxKey"}},
        &[(doc! {"a": Bson::MaxKey}, true)],
    );
    check(
        doc! {"a": {"$type": 16.0}},
        &[(doc! {"a": 1}, true), (doc! {"a": 1_i64}, false)],
    );
}

#[test]
fn all_requires_every_value() {
    check(
        doc! {"tags": {"$all": ["ssl", "security"]}},
        &[
            (doc! {"tags": ["appliance", "ssl", "security"]}, true),
            (doc! {"tags": ["ssl"]}, false),
            (doc! {"tags": "ssl"}, false),
        ],
    );
    check(
        doc! {"tags": {"$all": ["ssl"]}},
        &[(doc! {"tags": "ssl"}, true)],
    );
    check(
        doc! {"tags": {"$all": []}},
        &[(doc! {"tags": []}, false), (doc! {"tags": [1]}, false)],
    );
    check(
        doc! {"tags": {"$all": [["ssl", "security"]]}},
        &[
            (doc! {"tags": ["ssl", "security"]}, true),
            (doc! {"tags": [["ssl", "security"], 1]}, true),
        ],
    );
    check(
        doc! {"a": {"$all": [regex("^x", "")]}},
        &[(doc! {"a": ["y", "xa"]}, true)],
    );
    check(
        doc! {"qty": {"$all": [
            {"$elemMatch": {"size": "M", "num": {"$gt": 50}}},
            {"$elemMatch": {"num": 100, "color": "green"}},
        ]}},
        &[
            (
                doc! {"qty": [{"size": "S", "num": 10, "color": "blue"}, {"size": "M", "num": 100, "color": "green"}]},
                true,
            ),
            (
                doc! {"qty": [{"size": "M", "num": 60, "color": "blue"}]},
                false,
            ),
        ],
    );
}

#[test]
fn elem_match_over_documents_needs_one_element_satisfying_all() {
    let filter = doc! {"instock": {"$elemMatch": {"qty": 5, "warehouse": "A"}}};
    check(
        filter,
        &[
            (doc! {"instock": [{"warehouse": "A", "qty": 5}]}, true),
            (
                doc! {"instock": [{"warehouse": "A", "qty": 1}, {"warehouse": "B", "qty": 5}]},
                false,
            ),
            (doc! {"instock": {"warehouse": "A", "qty": 5}}, false),
        ],
    );
    check(
        doc! {"instock.qty": 5, "instock.warehouse": "A"},
        &[(
            doc! {"instock": [{"warehouse": "A", "qty": 1}, {"warehouse": "B", "qty": 5}]},
            true,
        )],
    );
    check(
        doc! {"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 8}}}},
        &[
            (
                doc! {"results": [{"product": "abc", "score": 10}, {"product": "xyz", "score": 9}]},
                true,
            ),
            (
                doc! {"results": [{"product": "abc", "score": 10}, {"product": "xyz", "score": 5}]},
                false,
            ),
        ],
    );
    check(
        doc! {"a": {"$elemMatch": {}}},
        &[(doc! {"a": [1, {}]}, true), (doc! {"a": [1]}, false)],
    );
    check(
        doc! {"a": {"$elemMatch": {"$or": [{"b": 1}, {"c": 1}]}}},
        &[
            (doc! {"a": [{"c": 1}]}, true),
            (doc! {"a": [{"d": 1}]}, false),
        ],
    );
    check(
        doc! {"a": {"$elemMatch": {"1": 5}}},
        &[(doc! {"a": [[4, 5]]}, true), (doc! {"a": [[5]]}, false)],
    );
}

#[test]
fn elem_match_over_values_applies_operators_to_each_element() {
    check(
        doc! {"results": {"$elemMatch": {"$gte": 80, "$lt": 85}}},
        &[
            (doc! {"results": [82, 85, 88]}, true),
            (doc! {"results": [75, 88, 89]}, false),
        ],
    );
    check(
        doc! {"a": {"$elemMatch": {"$not": {"$gt": 5}}}},
        &[(doc! {"a": [6, 7]}, false), (doc! {"a": [6, 1]}, true)],
    );
    check(
        doc! {"a": {"$elemMatch": {"$eq": 1}}},
        &[(doc! {"a": [[1]]}, false), (doc! {"a": [1]}, true)],
    );
    check(
        doc! {"a": {"$elemMatch": {"$elemMatch": {"$eq": 1}}}},
        &[(doc! {"a": [[1]]}, true), (doc! {"a": [1]}, false)],
    );
}

#[test]
fn size_counts_array_elements_only() {
    check(
        doc! {"tags": {"$size": 3}},
        &[
            (doc! {"tags": ["a", "b", "c"]}, true),
            (doc! {"tags": ["a"]}, false),
            (doc! {"tags": "abc"}, false),
            (doc! {"tags": [[1, 2, 3]]}, false),
        ],
    );
    check(
        doc! {"tags": {"$size": 0}},
        &[(doc! {"tags": []}, true), (doc! {}, false)],
    );
    check(
        doc! {"a.b": {"$size": 1}},
        &[(doc! {"a": [{"b": [1]}, {"b": 2}]}, true)],
    );
}

#[test]
fn regex_matches_strings_with_options() {
    check(
        doc! {"sku": {"$regex": "789$"}},
        &[
            (doc! {"sku": "abc789"}, true),
            (doc! {"sku": "789abc"}, false),
            (doc! {"sku": 789}, false),
        ],
    );
    check(
        doc! {"sku": {"$regex": "^ABC", "$options": "i"}},
        &[(doc! {"sku": "abc123"}, true), (doc! {"sku": "xyz"}, false)],
    );
    check(
        doc! {"description": {"$regex": "^S", "$options": "m"}},
        &[
            (doc! {"description": "First line\nSecond line"}, true),
            (doc! {"description": "First"}, false),
        ],
    );
    check(
        doc! {"description": {"$regex": "m.*line", "$options": "si"}},
        &[(doc! {"description": "Multiple\nline"}, true)],
    );
    check(
        doc! {"sku": {"$regex": "abc #category\n  123", "$options": "x"}},
        &[(doc! {"sku": "abc123"}, true)],
    );
    check(
        doc! {"sku": regex("^ABC", "i")},
        &[
            (doc! {"sku": "abcd"}, true),
            (doc! {"sku": ["q", "ABC"]}, true),
        ],
    );
    check(
        doc! {"sku": {"$regex": regex("^a", "i")}},
        &[(doc! {"sku": "Ab"}, true)],
    );
    check(
        doc! {"sku": regex("^a", "")},
        &[
            (doc! {"sku": regex("^a", "")}, true),
            (doc! {"sku": regex("^a", "i")}, false),
        ],
    );
}

#[test]
fn eq_with_a_regex_compares_regex_values() {
    check(
        doc! {"a": {"$eq": regex("^x", "")}},
        &[
            (doc! {"a": "xy"}, false),
            (doc! {"a": regex("^x", "")}, true),
        ],
    );
}

#[test]
fn mod_tests_truncated_remainders() {
    check(
        doc! {"qty": {"$mod": [4, 0]}},
        &[
            (doc! {"qty": 0}, true),
            (doc! {"qty": 12}, true),
            (doc! {"qty": 5}, false),
            (doc! {"qty": 8.9}, true),
            (doc! {"qty": "8"}, false),
            (doc! {"qty": f64::NAN}, false),
        ],
    );
    check(doc! {"qty": {"$mod": [4.5, 0]}}, &[(doc! {"qty": 8}, true)]);
    check(
        doc! {"qty": {"$mod": [-3, -1]}},
        &[(doc! {"qty": -4}, true), (doc! {"qty": 4}, false)],
    );
    check(
        doc! {"qty": {"$mod": [-1, 0]}},
        &[(doc! {"qty": i64::MIN}, true)],
    );
}

#[test]
fn not_negates_operators_and_regexes() {
    check(
        doc! {"price": {"$not": {"$gt": 1.99}}},
        &[
            (doc! {"price": 1.5}, true),
            (doc! {"price": 2}, false),
            (doc! {}, true),
            (doc! {"price": "x"}, true),
        ],
    );
    check(
        doc! {"item": {"$not": regex("^p.*", "")}},
        &[
            (doc! {"item": "pen"}, false),
            (doc! {"item": "ink"}, true),
            (doc! {}, true),
        ],
    );
    check(
        doc! {"item": {"$not": {"$regex": "^p"}}},
        &[(doc! {"item": "pen"}, false), (doc! {"item": "x"}, true)],
    );
    check(
        doc! {"a": {"$not": {"$gt": 1, "$lt": 5}}},
        &[
            (doc! {"a": 3}, false),
            (doc! {"a": 7}, true),
            (doc! {"a": [0, 9]}, false),
        ],
    );
}

#[test]
fn logical_operators_combine_clauses() {
    check(
        doc! {"$or": [{"quantity": {"$lt": 20}}, {"price": 10}]},
        &[
            (doc! {"quantity": 5}, true),
            (doc! {"price": 10}, true),
            (doc! {"quantity": 30, "price": 1}, false),
        ],
    );
    check(
        doc! {"$and": [{"price": {"$ne": 1.99}}, {"price": {"$exists": true}}]},
        &[
            (doc! {"price": 2}, true),
            (doc! {"price": 1.99}, false),
            (doc! {}, false),
        ],
    );
    check(
        doc! {"$nor": [{"price": 1.99}, {"sale": true}]},
        &[
            (doc! {"price": 2, "sale": false}, true),
            (doc! {"price": 1.99}, false),
            (doc! {}, true),
        ],
    );
    check(doc! {"a": 1, "$comment": "why"}, &[(doc! {"a": 1}, true)]);
    check(
        doc! {"$and": [{"$or": [{"a": 1}, {"b": 1}]}, {"$or": [{"c": 1}, {"d": 1}]}]},
        &[(doc! {"a": 1, "d": 1}, true), (doc! {"a": 1}, false)],
    );
}

#[test]
fn dbref_like_documents_are_literals() {
    check(
        doc! {"r": {"$ref": "c", "$id": 1}},
        &[
            (doc! {"r": {"$ref": "c", "$id": 1}}, true),
            (doc! {"r": {"$ref": "c", "$id": 2}}, false),
        ],
    );
}

#[test]
fn matches_at_reports_the_first_array_position() {
    check_at(
        doc! {"grades": {"$gte": 85}},
        doc! {"grades": [80, 85, 90]},
        Some(Some(1)),
    );
    check_at(
        doc! {"grades": [80, 85]},
        doc! {"grades": [80, 85]},
        Some(None),
    );
    check_at(doc! {"a": 1}, doc! {"a": 1}, Some(None));
    check_at(doc! {"a": 2}, doc! {"a": 1}, None);
    check_at(
        doc! {"grades.mean": {"$gt": 70}},
        doc! {"grades": [{"mean": 60}, {"mean": 75}]},
        Some(Some(1)),
    );
    check_at(
        doc! {"a.b": 5},
        doc! {"a": [{"b": 1}, {"b": [4, 5]}]},
        Some(Some(1)),
    );
    check_at(
        doc! {"a": {"$elemMatch": {"x": 1, "y": 2}}},
        doc! {"a": [{"x": 1}, {"x": 1, "y": 2}]},
        Some(Some(1)),
    );
    check_at(doc! {"a": {"$ne": 5}}, doc! {"a": [1, 2]}, Some(None));
    check_at(
        doc! {"x": 1, "a": 3},
        doc! {"x": 1, "a": [1, 3]},
        Some(Some(1)),
    );
}

#[test]
fn element_conditions_test_values_documents_or_equality() {
    check_element(
        Bson::Document(doc! {"$gte": 6}),
        &[
            (Bson::Int32(6), true),
            (Bson::Int32(5), false),
            (Bson::String("7".into()), false),
        ],
    );
    check_element(
        Bson::Document(doc! {"$in": ["apples", "oranges"]}),
        &[
            (Bson::String("apples".into()), true),
            (Bson::String("pears".into()), false),
        ],
    );
    check_element(
        Bson::Document(doc! {"score": 8, "item": "B"}),
        &[
            (Bson::Document(doc! {"item": "B", "score": 8}), true),
            (Bson::Document(doc! {"item": "A", "score": 8}), false),
            (Bson::Int32(8), false),
        ],
    );
    check_element(
        Bson::Int32(5),
        &[
            (Bson::Int32(5), true),
            (Bson::Double(5.0), true),
            (Bson::Array(vec![Bson::Int32(5)]), false),
        ],
    );
    check_element(
        Bson::Document(doc! {"$and": [{"a": 1}]}),
        &[
            (Bson::Document(doc! {"a": 1}), true),
            (Bson::Document(doc! {"a": 2}), false),
        ],
    );
}

#[test]
fn unknown_operators_are_bad_values() {
    check_error(
        doc! {"$foo": 1},
        Code::BAD_VALUE,
        "unknown top level operator: $foo",
    );
    check_error(
        doc! {"$expr": {"$eq": [1, 1]}},
        Code::BAD_VALUE,
        "unknown top level operator: $expr",
    );
    check_error(
        doc! {"$where": "true"},
        Code::BAD_VALUE,
        "unknown top level operator: $where",
    );
    check_error(
        doc! {"a": {"$foo": 1}},
        Code::BAD_VALUE,
        "unknown operator: $foo",
    );
    check_error(
        doc! {"a": {"$gt": 1, "b": 1}},
        Code::BAD_VALUE,
        "unknown operator: b",
    );
    check_error(
        doc! {"a": {"$near": [0, 0]}},
        Code::BAD_VALUE,
        "unknown operator: $near",
    );
}

#[test]
fn malformed_operands_are_refused_as_mongod_does() {
    let cases = [
        (
            doc! {"$and": []},
            Code::BAD_VALUE,
            "$and/$or/$nor must be a nonempty array",
        ),
        (doc! {"$or": 1}, Code::BAD_VALUE, "$or must be an array"),
        (
            doc! {"$nor": [1]},
            Code::BAD_VALUE,
            "entries need to be full objects",
        ),
        (
            doc! {"a": {"$in": 1}},
            Code::BAD_VALUE,
            "$in needs an array",
        ),
        (
            doc! {"a": {"$nin": {}}},
            Code::BAD_VALUE,
            "$nin needs an array",
        ),
        (
            doc! {"a": {"$in": [{"$gt": 1}]}},
            Code::BAD_VALUE,
            "cannot nest $ under $in",
        ),
        (
            doc! {"a": {"$all": 1}},
            Code::BAD_VALUE,
            "$all needs an array",
        ),
        (
            doc! {"a": {"$all": [{"$elemMatch": {}}, 1]}},
            Code::BAD_VALUE,
            "$all/$elemMatch has to be consistent",
        ),
        (
            doc! {"a": {"$all": [{"$gt": 1}]}},
            Code::BAD_VALUE,
            "no $ expressions in $all",
        ),
        (
            doc! {"a": {"$size": "3"}},
            Code::BAD_VALUE,
            "$size needs a number",
        ),
        (
            doc! {"a": {"$size": 2.5}},
            Code::BAD_VALUE,
            "$size must be a whole number",
        ),
        (
            doc! {"a": {"$size": -1}},
            Code::BAD_VALUE,
            "$size may not be negative",
        ),
        (
            doc! {"a": {"$mod": [4]}},
            Code::BAD_VALUE,
            "malformed mod, not enough elements",
        ),
        (
            doc! {"a": {"$mod": [4, 1, 2]}},
            Code::BAD_VALUE,
            "malformed mod, too many elements",
        ),
        (
            doc! {"a": {"$mod": 4}},
            Code::BAD_VALUE,
            "malformed mod, needs to be an array",
        ),
        (
            doc! {"a": {"$mod": ["4", 1]}},
            Code::BAD_VALUE,
            "malformed mod, divisor not a number",
        ),
        (
            doc! {"a": {"$mod": [0, 1]}},
            Code::BAD_VALUE,
            "divisor cannot be 0",
        ),
        (
            doc! {"a": {"$type": "strng"}},
            Code::BAD_VALUE,
            "Unknown type name alias: strng",
        ),
        (
            doc! {"a": {"$type": 42}},
            Code::BAD_VALUE,
            "Invalid numerical type code: 42",
        ),
        (
            doc! {"a": {"$type": {}}},
            Code::TYPE_MISMATCH,
            "type must be represented as a number or a string",
        ),
        (
            doc! {"a": {"$elemMatch": 1}},
            Code::BAD_VALUE,
            "$elemMatch needs an Object",
        ),
        (
            doc! {"a": {"$not": 1}},
            Code::BAD_VALUE,
            "$not needs a regex or a document",
        ),
        (
            doc! {"a": {"$not": {}}},
            Code::BAD_VALUE,
            "$not cannot be empty",
        ),
        (
            doc! {"a": {"$regex": 1}},
            Code::BAD_VALUE,
            "$regex has to be a string",
        ),
        (
            doc! {"a": {"$regex": "x", "$options": 1}},
            Code::BAD_VALUE,
            "$options has to be a string",
        ),
        (
            doc! {"a": {"$options": "i"}},
            Code::BAD_VALUE,
            "$options needs a $regex",
        ),
        (
            doc! {"a": {"$regex": regex("x", "i"), "$options": "m"}},
            Code::BAD_VALUE,
            "options set in both",
        ),
        (
            doc! {"a": {"$regex": "("}},
            Code(51091),
            "Regular expression is invalid",
        ),
        (
            doc! {"a": {"$regex": "x", "$options": "z"}},
            Code(51108),
            "invalid flag in regex options: z",
        ),
        (
            doc! {"a": {"$gt": Bson::Undefined}},
            Code::BAD_VALUE,
            "cannot compare to undefined",
        ),
    ];
    for (filter, code, message) in cases {
        check_error(filter, code, message);
    }
}

fn nested_or(levels: usize) -> Document {
    (0..levels).fold(doc! {"a": 1}, |inner, _| doc! {"$or": [inner]})
}

#[test]
fn nesting_beyond_the_limit_is_an_error_not_a_crash() {
    assert!(Filter::parse(&nested_or(FILTER_DEPTH_MAX - 1)).is_ok());
    check_error(
        nested_or(FILTER_DEPTH_MAX + 1),
        Code::BAD_VALUE,
        "exceeded depth limit",
    );
    let deep_not = (0..2 * FILTER_DEPTH_MAX).fold(doc! {"$eq": 1}, |inner, _| doc! {"$not": inner});
    check_error(
        doc! {"a": deep_not},
        Code::BAD_VALUE,
        "exceeded depth limit",
    );
    let deep_elem =
        (0..2 * FILTER_DEPTH_MAX).fold(doc! {"a": 1}, |inner, _| doc! {"a": {"$elemMatch": inner}});
    check_error(deep_elem, Code::BAD_VALUE, "exceeded depth limit");
}

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::Null),
        Just(Bson::MinKey),
        Just(Bson::MaxKey),
        Just(Bson::Undefined),
        (-3i32..4).prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
        any::<f64>().prop_map(Bson::Double),
        "[a-c$.(]{0,3}".prop_map(Bson::String),
        any::<bool>().prop_map(Bson::Boolean),
        ("[a(.*]{0,3}", "[imsxz]{0,2}").prop_map(|(p, o)| regex(&p, &o)),
    ]
}

/// Keys biased towards operators and short paths, so generated documents are
/// often valid filters.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab]",
        "[ab]\\.[0-2b]",
        prop::sample::select(vec![
            "$eq",
            "$ne",
            "$gt",
            "$gte",
            "$lt",
            "$lte",
            "$in",
            "$nin",
            "$and",
            "$or",
            "$nor",
            "$not",
            "$exists",
            "$type",
            "$all",
            "$elemMatch",
            "$size",
            "$regex",
            "$options",
            "$mod",
            "$comment",
        ])
        .prop_map(str::to_owned),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::vec((key(), inner), 0..3)
                .prop_map(|fields| Bson::Document(fields.into_iter().collect::<Document>())),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    prop::collection::vec((key(), value()), 0..4).prop_map(|fields| fields.into_iter().collect())
}

proptest! {
    #[test]
    fn parse_and_match_never_panic(filter in document(), doc in document(), element in value()) {
        if let Ok(parsed) = Filter::parse(&filter) {
            let _ = parsed.matches_at(&doc);
        }
        if let Ok(parsed) = Filter::parse_element(&element) {
            let _ = parsed.matches_element(&element);
            let _ = parsed.matches(&doc);
        }
    }

    #[test]
    fn nor_of_a_filter_is_its_negation(filter in document(), doc in document()) {
        if let Ok(parsed) = Filter::parse(&filter) {
            let nor = Filter::parse(&doc! {"$nor": [filter.clone()]});
            prop_assert!(nor.is_ok());
            if let Ok(nor) = nor {
                prop_assert_eq!(nor.matches(&doc), !parsed.matches(&doc));
            }
        }
    }
}
