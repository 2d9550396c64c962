//! Equality, dotted paths through documents and arrays, null and missing
//! fields, type bracketing, and the positions `matches_at` reports.

use bson::{Bson, Document, doc};

use super::{check, check_at, check_element, check_ids};

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
            (doc! {"a": [5]}, true),
            // An element reached by position is not expanded (mongod's path.cpp).
            (doc! {"a": [[5]]}, false),
            (doc! {"a": {"0": [5]}}, true),
        ],
    );
    check(
        doc! {"a.0.b": null},
        &[
            (doc! {"a": [5]}, false),
            (doc! {"a": [{"c": 1}]}, true),
            (doc! {"a": [[{"b": null}]]}, true),
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

/// The documents of mongod's jstests/core/null_query_semantics.js, without
/// the `undefined` ones (8.0 stopped equating undefined with null).
fn null_semantics_docs() -> Vec<Document> {
    vec![
        doc! {"_id": "a_empty_subobject", "a": {}},
        doc! {"_id": "a_null", "a": null},
        doc! {"_id": "a_number", "a": 4},
        doc! {"_id": "a_subobject_b_not_null", "a": {"b": "hi"}},
        doc! {"_id": "a_subobject_b_null", "a": {"b": null}},
        doc! {"_id": "no_a"},
        doc! {"_id": "a_double_array", "a": [[]]},
        doc! {"_id": "a_empty_array", "a": []},
        doc! {"_id": "a_object_array_all_b_nulls", "a": [{"b": null}, {"b": null}, {}]},
        doc! {"_id": "a_object_array_no_b_nulls", "a": [{"b": 1}, {"b": 3}, {"b": "string"}]},
        doc! {"_id": "a_object_array_some_b_nulls", "a": [{"b": null}, {"b": 3}, {"b": null}]},
        doc! {"_id": "a_object_array_some_b_missing", "a": [{"b": 3}, {}]},
        doc! {"_id": "a_value_array_all_nulls", "a": [null, null]},
        doc! {"_id": "a_value_array_no_nulls", "a": [1, "string", 4]},
        doc! {"_id": "a_value_array_with_null", "a": [1, "string", null, 4]},
    ]
}

#[test]
fn null_queries_follow_mongods_null_semantics_suite() {
    let docs = null_semantics_docs();
    let eq_null = [
        "a_null",
        "no_a",
        "a_value_array_all_nulls",
        "a_value_array_with_null",
    ];
    check_ids(doc! {"a": {"$eq": null}}, &docs, &eq_null);
    check_ids(doc! {"a": {"$in": [null, 75]}}, &docs, &eq_null);
    check_ids(doc! {"$or": [{"a": null}, {"a": 75}]}, &docs, &eq_null);
    let ne_null = [
        "a_empty_subobject",
        "a_number",
        "a_subobject_b_not_null",
        "a_subobject_b_null",
        "a_double_array",
        "a_empty_array",
        "a_object_array_all_b_nulls",
        "a_object_array_no_b_nulls",
        "a_object_array_some_b_nulls",
        "a_object_array_some_b_missing",
        "a_value_array_no_nulls",
    ];
    check_ids(doc! {"a": {"$ne": null}}, &docs, &ne_null);
    check_ids(doc! {"a": {"$not": {"$gte": null}}}, &docs, &ne_null);
    check_ids(doc! {"a": {"$exists": false}}, &docs, &["no_a"]);
}

#[test]
fn dotted_null_queries_follow_mongods_null_semantics_suite() {
    let docs = null_semantics_docs();
    let eq_null = [
        "a_empty_subobject",
        "a_null",
        "a_number",
        "a_subobject_b_null",
        "no_a",
        "a_object_array_all_b_nulls",
        "a_object_array_some_b_nulls",
        "a_object_array_some_b_missing",
    ];
    check_ids(doc! {"a.b": {"$eq": null}}, &docs, &eq_null);
    check_ids(doc! {"a.b": {"$in": [null, 75]}}, &docs, &eq_null);
    let ne_null = [
        "a_subobject_b_not_null",
        "a_double_array",
        "a_empty_array",
        "a_object_array_no_b_nulls",
        "a_value_array_all_nulls",
        "a_value_array_no_nulls",
        "a_value_array_with_null",
    ];
    check_ids(doc! {"a.b": {"$ne": null}}, &docs, &ne_null);
    check_ids(doc! {"a.b": {"$nin": [null, 75]}}, &docs, &ne_null);
    let nin_null_regex = [
        "a_subobject_b_not_null",
        "a_double_array",
        "a_empty_array",
        "a_value_array_all_nulls",
        "a_value_array_no_nulls",
        "a_value_array_with_null",
    ];
    check_ids(
        doc! {"a.b": {"$nin": [null, regex_str("^str.*")]}},
        &docs,
        &nin_null_regex,
    );
    check_ids(doc! {"a.b": {"$elemMatch": {"$eq": null}}}, &docs, &[]);
}

#[test]
fn elem_match_null_queries_follow_mongods_null_semantics_suite() {
    let docs = null_semantics_docs();
    check_ids(
        doc! {"a": {"$elemMatch": {"$eq": null}}},
        &docs,
        &["a_value_array_all_nulls", "a_value_array_with_null"],
    );
    check_ids(
        doc! {"a": {"$elemMatch": {"$ne": null}}},
        &docs,
        &[
            "a_double_array",
            "a_object_array_all_b_nulls",
            "a_object_array_no_b_nulls",
            "a_object_array_some_b_nulls",
            "a_object_array_some_b_missing",
            "a_value_array_no_nulls",
            "a_value_array_with_null",
        ],
    );
    check_ids(
        doc! {"a": {"$elemMatch": {"b": {"$eq": null}}}},
        &docs,
        &[
            "a_double_array",
            "a_object_array_all_b_nulls",
            "a_object_array_some_b_nulls",
            "a_object_array_some_b_missing",
        ],
    );
    check_ids(
        doc! {"a": {"$elemMatch": {"b": {"$ne": null}}}},
        &docs,
        &[
            "a_object_array_no_b_nulls",
            "a_object_array_some_b_nulls",
            "a_object_array_some_b_missing",
        ],
    );
}

/// mongod's jstests/core/null2.js: a dotted null query sees only documents
/// inside the array, never its scalars.
#[test]
fn dotted_null_ignores_scalars_in_arrays() {
    let docs = [
        doc! {"_id": "1", "a": [{"b": 5}]},
        doc! {"_id": "2", "a": [{}]},
        doc! {"_id": "3", "a": []},
        doc! {"_id": "4", "a": [{}, {"b": 5}]},
        doc! {"_id": "5", "a": [5, {"b": 5}]},
    ];
    check_ids(doc! {"a.b": null}, &docs, &["2", "4"]);
    check_ids(doc! {"a.b": {"$in": [null]}}, &docs, &["2", "4"]);
}

fn regex_str(pattern: &str) -> Bson {
    super::regex(pattern, "")
}
