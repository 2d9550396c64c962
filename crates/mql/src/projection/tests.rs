//! Projection behaviour from the MongoDB manual ("Project Fields to Return
//! from Query", `$slice`, `$elemMatch` and positional `$` projection pages),
//! plus mongod's parse errors.

use bson::{Bson, Document, doc};
use proptest::prelude::*;

use super::{PROJECTION_DEPTH_MAX, Projection};
use crate::Code;
use crate::matcher::Filter;

fn inventory() -> Document {
    doc! {
        "_id": 1,
        "item": "journal",
        "status": "A",
        "size": {"h": 14, "w": 21, "uom": "cm"},
        "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}],
    }
}

/// Projects `doc` (matched by `filter`, for positional projections).
fn check_matched(filter: Document, spec: Document, doc: Document, expected: Document) {
    let projection = Projection::parse(&spec).unwrap_or_else(|err| panic!("{spec}: {err}"));
    let parsed = Filter::parse(&filter).unwrap_or_else(|err| panic!("{filter}: {err}"));
    let matched = parsed.matches_at(&doc);
    assert!(matched.is_some(), "{filter} should match {doc}");
    let got = projection.apply(&doc, matched.as_ref());
    assert_eq!(got, Ok(expected), "projection {spec} of {doc}");
}

fn check(spec: Document, doc: Document, expected: Document) {
    check_matched(doc! {}, spec, doc, expected);
}

fn check_error(spec: Document, code: Code, message: &str) {
    match Projection::parse(&spec) {
        Ok(parsed) => panic!("{spec} parsed as {parsed:?}"),
        Err(err) => {
            assert_eq!(err.code, code, "{spec}: {err}");
            assert!(
                err.message.contains(message),
                "{spec}: {} lacks {message}",
                err.message
            );
        }
    }
}

#[test]
fn inclusion_keeps_listed_fields_and_id() {
    check(
        doc! {"item": 1, "status": 1},
        inventory(),
        doc! {"_id": 1, "item": "journal", "status": "A"},
    );
    check(
        doc! {"status": true, "item": 5},
        inventory(),
        doc! {"_id": 1, "item": "journal", "status": "A"},
    );
    check(
        doc! {"item": 1, "status": 1, "_id": 0},
        inventory(),
        doc! {"item": "journal", "status": "A"},
    );
    check(doc! {"_id": 1}, inventory(), doc! {"_id": 1});
    check(doc! {"missing": 1}, inventory(), doc! {"_id": 1});
}

#[test]
fn exclusion_drops_listed_fields() {
    check(
        doc! {"status": 0, "instock": 0},
        inventory(),
        doc! {"_id": 1, "item": "journal", "size": {"h": 14, "w": 21, "uom": "cm"}},
    );
    check(
        doc! {"_id": 0, "size": false, "instock": 0, "status": 0},
        inventory(),
        doc! {"item": "journal"},
    );
    check(doc! {}, doc! {"a": 1, "_id": 2}, doc! {"a": 1, "_id": 2});
    check(doc! {"_id": 0}, doc! {"a": 1, "_id": 2}, doc! {"a": 1});
}

#[test]
fn dotted_and_nested_paths_reach_embedded_documents() {
    let expected = doc! {"_id": 1, "item": "journal", "status": "A", "size": {"uom": "cm"}};
    check(
        doc! {"item": 1, "status": 1, "size.uom": 1},
        inventory(),
        expected.clone(),
    );
    check(
        doc! {"item": 1, "status": 1, "size": {"uom": 1}},
        inventory(),
        expected,
    );
    check(
        doc! {"size.uom": 0},
        inventory(),
        doc! {
            "_id": 1, "item": "journal", "status": "A", "size": {"h": 14, "w": 21},
            "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}],
        },
    );
    check(doc! {"a.b": 1}, doc! {"a": 5, "c": 1}, doc! {});
    check(doc! {"a.b": 1}, doc! {"a": {"c": 1}}, doc! {"a": {}});
}

#[test]
fn dotted_paths_project_through_arrays_of_documents() {
    check(
        doc! {"item": 1, "status": 1, "instock.qty": 1},
        inventory(),
        doc! {"_id": 1, "item": "journal", "status": "A", "instock": [{"qty": 5}, {"qty": 15}]},
    );
    check(
        doc! {"a.b": 1, "_id": 0},
        doc! {"a": [{"b": 1, "c": 2}, 3, [{"b": 4, "c": 5}], {"c": 6}]},
        doc! {"a": [{"b": 1}, [{"b": 4}], {}]},
    );
    check(
        doc! {"a.c": 0},
        doc! {"a": [{"b": 1, "c": 2}, 3, [{"c": 5}]]},
        doc! {"a": [{"b": 1}, 3, [{}]]},
    );
    check(
        doc! {"a.c": 0},
        doc! {"a": [[{"c": 5, "d": 1}]]},
        doc! {"a": [[{"d": 1}]]},
    );
}

/// The `{_id: 0, "a.b": 1}` projections of mongod's
/// jstests/core/null_query_semantics.js.
#[test]
fn dotted_inclusion_matches_mongods_null_semantics_suite() {
    let cases = [
        (doc! {"a": {}}, doc! {"a": {}}),
        (doc! {"a": null}, doc! {}),
        (doc! {"a": 4}, doc! {}),
        (doc! {"a": {"b": null}}, doc! {"a": {"b": null}}),
        (doc! {}, doc! {}),
        (doc! {"a": [[]]}, doc! {"a": [[]]}),
        (doc! {"a": []}, doc! {"a": []}),
        (doc! {"a": [{"b": 3}, {}]}, doc! {"a": [{"b": 3}, {}]}),
        (doc! {"a": [{"b": 1}, {"c": 3}]}, doc! {"a": [{"b": 1}, {}]}),
        (doc! {"a": [null, null]}, doc! {"a": []}),
        (doc! {"a": [1, "string", 4]}, doc! {"a": []}),
    ];
    for (doc, expected) in cases {
        let mut doc = doc;
        doc.insert("_id", "x");
        check(doc! {"_id": 0, "a.b": 1}, doc, expected);
    }
}

#[test]
fn slice_trims_arrays_in_place() {
    let post = doc! {"_id": 1, "title": "t", "comments": [1, 2, 3, 4, 5], "n": 0};
    let cases = [
        (doc! {"comments": {"$slice": 2}}, vec![1, 2]),
        (doc! {"comments": {"$slice": -2}}, vec![4, 5]),
        (doc! {"comments": {"$slice": 9}}, vec![1, 2, 3, 4, 5]),
        (doc! {"comments": {"$slice": -9}}, vec![1, 2, 3, 4, 5]),
        (doc! {"comments": {"$slice": 0}}, vec![]),
        (doc! {"comments": {"$slice": [1, 2]}}, vec![2, 3]),
        (doc! {"comments": {"$slice": [-2, 1]}}, vec![4]),
        (doc! {"comments": {"$slice": [-9, 2]}}, vec![1, 2]),
        (doc! {"comments": {"$slice": [9, 2]}}, vec![]),
        (doc! {"comments": {"$slice": 2.7}}, vec![1, 2]),
    ];
    for (spec, kept) in cases {
        let expected = doc! {"_id": 1, "title": "t", "comments": kept, "n": 0};
        check(spec, post.clone(), expected);
    }
    check(doc! {"n": {"$slice": 1}}, doc! {"n": 5}, doc! {"n": 5});
}

#[test]
fn slice_examples_from_the_manual() {
    check(
        doc! {"item": 1, "status": 1, "instock": {"$slice": -1}},
        inventory(),
        doc! {"_id": 1, "item": "journal", "status": "A", "instock": [{"warehouse": "C", "qty": 15}]},
    );
    let shirt = doc! {"_id": 1, "item": "shirt", "qty": 3, "details": {"colors": ["blue", "red"], "sizes": ["S", "M"]}};
    check(
        doc! {"qty": 1, "details.colors": {"$slice": 1}},
        shirt.clone(),
        doc! {"_id": 1, "qty": 3, "details": {"colors": ["blue"]}},
    );
    check(
        doc! {"details.colors": {"$slice": 1}},
        shirt,
        doc! {"_id": 1, "item": "shirt", "qty": 3, "details": {"colors": ["blue"], "sizes": ["S", "M"]}},
    );
}

#[test]
fn slice_combines_with_inclusion_and_exclusion() {
    let doc = doc! {"_id": 1, "a": 1, "b": [1, 2, 3], "c": {"d": [1, 2], "e": 1}};
    check(
        doc! {"b": {"$slice": -1}, "a": 0},
        doc.clone(),
        doc! {"_id": 1, "b": [3], "c": {"d": [1, 2], "e": 1}},
    );
    check(
        doc! {"a": 1, "b": {"$slice": 1}},
        doc.clone(),
        doc! {"_id": 1, "a": 1, "b": [1]},
    );
    check(
        doc! {"c.d": {"$slice": 1}},
        doc.clone(),
        doc! {"_id": 1, "a": 1, "b": [1, 2, 3], "c": {"d": [1], "e": 1}},
    );
    check(
        doc! {"_id": 0, "a": 1, "c.d": {"$slice": 1}},
        doc,
        doc! {"a": 1, "c": {"d": [1]}},
    );
    check(
        doc! {"a.b": {"$slice": 1}},
        doc! {"a": [{"b": [1, 2]}, {"b": [3, 4], "c": 1}]},
        doc! {"a": [{"b": [1]}, {"b": [3], "c": 1}]},
    );
}

fn schools() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "zipcode": "63109", "students": [
            {"name": "john", "school": 102, "age": 10},
            {"name": "jess", "school": 102, "age": 11},
            {"name": "jeff", "school": 108, "age": 15},
        ]},
        doc! {"_id": 3, "zipcode": "63109", "students": [
            {"name": "ajax", "school": 100, "age": 7},
            {"name": "achilles", "school": 100, "age": 8},
        ]},
        doc! {"_id": 4, "zipcode": "63109", "students": [
            {"name": "barney", "school": 102, "age": 7},
            {"name": "ruth", "school": 102, "age": 16},
        ]},
    ]
}

#[test]
fn elem_match_keeps_the_first_matching_element() {
    let [first, third, fourth] = <[Document; 3]>::try_from(schools()).expect("three schools");
    let spec = doc! {"students": {"$elemMatch": {"school": 102}}};
    check(
        spec.clone(),
        first,
        doc! {"_id": 1, "students": [{"name": "john", "school": 102, "age": 10}]},
    );
    check(spec.clone(), third, doc! {"_id": 3});
    check(
        doc! {"students": {"$elemMatch": {"school": 102, "age": {"$gt": 10}}}},
        fourth.clone(),
        doc! {"_id": 4, "students": [{"name": "ruth", "school": 102, "age": 16}]},
    );
    check(
        doc! {"students": {"$elemMatch": {"school": 102}}, "zipcode": 1},
        fourth,
        doc! {"_id": 4, "zipcode": "63109", "students": [{"name": "barney", "school": 102, "age": 7}]},
    );
    check(
        doc! {"a": {"$elemMatch": {"$gt": 2}}},
        doc! {"a": [1, 3, 4]},
        doc! {"a": [3]},
    );
    check(
        doc! {"a": {"$elemMatch": {"$gt": 2}}},
        doc! {"a": 5},
        doc! {},
    );
}

#[test]
fn positional_keeps_the_element_the_query_matched() {
    let student = doc! {"_id": 1, "semester": 1, "grades": [70, 87, 90]};
    check_matched(
        doc! {"semester": 1, "grades": {"$gte": 85}},
        doc! {"grades.$": 1},
        student.clone(),
        doc! {"_id": 1, "grades": [87]},
    );
    check_matched(
        doc! {"grades": {"$gte": 88}},
        doc! {"grades.$": 1, "semester": 1, "_id": 0},
        student,
        doc! {"semester": 1, "grades": [90]},
    );
    check_matched(
        doc! {"grades.mean": {"$gt": 70}},
        doc! {"grades.$": 1},
        doc! {"_id": 7, "grades": [{"grade": 80, "mean": 65}, {"grade": 85, "mean": 90}]},
        doc! {"_id": 7, "grades": [{"grade": 85, "mean": 90}]},
    );
    check_matched(
        doc! {"a.b.c": 2},
        doc! {"a.b.$": 1},
        doc! {"_id": 1, "a": {"b": [{"c": 1}, {"c": 2}], "x": 1}},
        doc! {"_id": 1, "a": {"b": [{"c": 2}]}},
    );
    check_matched(
        doc! {"a": 1},
        doc! {"a.$": 1},
        doc! {"_id": 1, "a": 1},
        doc! {"_id": 1},
    );
}

#[test]
fn positional_must_name_a_field_the_query_filters_on() {
    let projection = Projection::parse(&doc! {"grades.$": 1}).expect("valid projection");
    let check_query = |filter: Document| {
        let filter = Filter::parse(&filter).expect("valid filter");
        projection.check_query(&filter).map_err(|err| err.code)
    };
    assert_eq!(check_query(doc! {"grades": {"$gte": 85}}), Ok(()));
    assert_eq!(
        check_query(doc! {"$or": [{"x": 1}, {"grades.mean": 1}]}),
        Ok(())
    );
    assert_eq!(check_query(doc! {"semester": 1}), Err(Code(31277)));
    assert_eq!(check_query(doc! {}), Err(Code(31277)));
    let plain = Projection::parse(&doc! {"a": 1}).expect("valid projection");
    assert_eq!(
        plain.check_query(&Filter::parse(&doc! {}).expect("empty filter")),
        Ok(())
    );
}

#[test]
fn positional_without_a_matched_element_is_an_error() {
    let projection = Projection::parse(&doc! {"grades.$": 1}).expect("valid projection");
    let doc = doc! {"grades": [1, 2]};
    let err = projection.apply(&doc, None).expect_err("no match recorded");
    assert_eq!(err.code, Code(51246));
    let far = crate::matcher::Match {
        array_index: Some(9),
    };
    let err = projection
        .apply(&doc, Some(&far))
        .expect_err("index out of range");
    assert_eq!(err.code, Code(51247));
}

#[test]
fn literal_values_set_computed_fields() {
    check(
        doc! {"item": 1, "label": "fixed", "n": {"$literal": 0}},
        inventory(),
        doc! {"_id": 1, "item": "journal", "label": "fixed", "n": 0},
    );
    check(
        doc! {"x.y": {"$literal": 1}, "_id": 0},
        doc! {"a": 1},
        doc! {"x": {"y": 1}},
    );
    check(
        doc! {"item": null, "_id": 0},
        inventory(),
        doc! {"item": null},
    );
}

#[test]
fn malformed_projections_are_refused_as_mongod_does() {
    let cases = [
        (
            doc! {"a": 1, "b": 0},
            Code(31254),
            "Cannot do exclusion on field b in inclusion projection",
        ),
        (
            doc! {"a": 0, "b": 1},
            Code(31253),
            "Cannot do inclusion on field b in exclusion projection",
        ),
        (
            doc! {"a": 1, "a.b": 1},
            Code(31249),
            "Path collision at a.b remaining portion b",
        ),
        (doc! {"a.b": 1, "a": 1}, Code(31250), "Path collision at a"),
        (
            doc! {"a": {}},
            Code(51270),
            "An empty sub-projection is not a valid value",
        ),
        (
            doc! {"a": {"$slice": "x"}},
            Code(31273),
            "$slice only supports numbers and [skip, limit] arrays",
        ),
        (
            doc! {"a": {"$slice": [1]}},
            Code(31272),
            "$slice array argument should be of form [skip, limit]",
        ),
        (
            doc! {"a": {"$slice": ["x", 1]}},
            Code(31257),
            "skip argument to be a number, got string",
        ),
        (
            doc! {"a": {"$slice": [1, "x"]}},
            Code(31258),
            "limit argument to be a number, got string",
        ),
        (
            doc! {"a": {"$slice": [1, 0]}},
            Code(31259),
            "$slice limit must be positive, got 0",
        ),
        (
            doc! {"a": {"$elemMatch": 1}},
            Code(31274),
            "object required, but got int",
        ),
        (
            doc! {"a.b": {"$elemMatch": {"c": 1}}},
            Code(31275),
            "Cannot use $elemMatch projection on a nested field.",
        ),
        (
            doc! {"a": {"$elemMatch": {"$foo": 1}}},
            Code::BAD_VALUE,
            "unknown operator: $foo",
        ),
        (
            doc! {"a.$": 1, "b": {"$elemMatch": {"c": 1}}},
            Code(31255),
            "Cannot specify positional operator and $elemMatch.",
        ),
        (
            doc! {"b": {"$elemMatch": {"c": 1}}, "a.$": 1},
            Code(31256),
            "Cannot specify positional operator and $elemMatch.",
        ),
        (
            doc! {"a.$": 1, "b.$": 1},
            Code(31276),
            "Cannot specify more than one positional projection",
        ),
        (
            doc! {"a.$": {"$slice": 1}},
            Code(31271),
            "positional projection cannot be used with an expression",
        ),
        (
            doc! {"a.$.b.$": 1},
            Code(31287),
            "Cannot use positional operator twice",
        ),
        (
            doc! {"a": 0, "b": "x"},
            Code(31252),
            "Cannot use expression other than $meta in exclusion projection",
        ),
        (
            doc! {"a": "$b"},
            Code::NOT_IMPLEMENTED,
            "aggregation expressions",
        ),
        (
            doc! {"a": {"$add": [1, 2]}},
            Code::NOT_IMPLEMENTED,
            "aggregation expressions",
        ),
        (
            doc! {"a..b": 1},
            Code(15998),
            "FieldPath field names may not be empty strings.",
        ),
        (
            doc! {"a.": 1},
            Code(40353),
            "FieldPath must not end with a '.'.",
        ),
        (
            doc! {"": 1},
            Code(40352),
            "FieldPath cannot be constructed with empty string",
        ),
        (
            doc! {"$a": 1},
            Code(16410),
            "FieldPath field names may not start with '$'",
        ),
    ];
    for (spec, code, message) in cases {
        check_error(spec, code, message);
    }
}

#[test]
fn nesting_beyond_the_limit_is_an_error_not_a_crash() {
    let deep = (0..2 * PROJECTION_DEPTH_MAX).fold(doc! {"a": 1}, |inner, _| doc! {"a": inner});
    assert!(Projection::parse(&deep).is_err());
    let long_path = vec!["a"; 2 * PROJECTION_DEPTH_MAX].join(".");
    assert!(Projection::parse(&doc! {long_path: 1}).is_err());
}

fn value() -> impl Strategy<Value = Bson> {
    let scalar = prop_oneof![
        Just(Bson::Null),
        (-3i32..4).prop_map(Bson::Int32),
        any::<f64>().prop_map(Bson::Double),
        any::<bool>().prop_map(Bson::Boolean),
        "[ab$]{0,2}".prop_map(Bson::String),
    ];
    scalar.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
            prop::collection::vec((key(), inner), 0..3)
                .prop_map(|f| Bson::Document(f.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab_]",
        "[ab]\\.[ab$0]",
        prop::sample::select(vec![
            "_id",
            "a.$",
            "$slice",
            "$elemMatch",
            "$literal",
            "$gt"
        ])
        .prop_map(str::to_owned),
    ]
}

fn document() -> impl Strategy<Value = Document> {
    prop::collection::vec((key(), value()), 0..4).prop_map(|fields| fields.into_iter().collect())
}

proptest! {
    #[test]
    fn parse_and_apply_never_panic(spec in document(), doc in document(), index in proptest::option::of(0usize..4)) {
        if let Ok(projection) = Projection::parse(&spec) {
            let matched = crate::matcher::Match { array_index: index };
            let _ = projection.apply(&doc, Some(&matched));
            let _ = projection.apply(&doc, None);
        }
    }
}

#[test]
fn projection_values_of_every_type_parse_or_fail_cleanly() {
    for value in [
        Bson::Undefined,
        Bson::MinKey,
        Bson::Array(vec![Bson::String("$x".into())]),
    ] {
        let _ = Projection::parse(&doc! {"a": value});
    }
}
