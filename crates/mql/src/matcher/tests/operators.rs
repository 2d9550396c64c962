//! One section per query operator, cases from its manual page.

use bson::{Bson, Document, doc};

use super::{check, check_ids, regex};

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
fn dbrefs_and_constant_operators_parse_as_mongod_reads_them() {
    check(
        doc! {"owner": {"$ref": "users", "$id": 7}},
        &[
            (doc! {"owner": {"$ref": "users", "$id": 7}}, true),
            (doc! {"owner": {"$ref": "users", "$id": 8}}, false),
        ],
    );
    check(
        doc! {"$id": 7},
        &[(doc! {"$id": 7}, true), (doc! {"$id": 8}, false)],
    );
    check(
        doc! {"owners": {"$elemMatch": {"$id": 7, "$ref": "users"}}},
        &[
            (doc! {"owners": [{"$ref": "users", "$id": 7}]}, true),
            (doc! {"owners": [{"$id": 7}]}, false),
        ],
    );
    check(doc! {"$alwaysTrue": 1}, &[(doc! {}, true)]);
    check(doc! {"$alwaysFalse": 1.0}, &[(doc! {}, false)]);
    check(
        doc! {"a": {"$all": [{"$foo": 1}]}},
        &[(doc! {"a": [{"$foo": 1}]}, true), (doc! {"a": 1}, false)],
    );
    check(doc! {"a": {"$size": 2.0}}, &[(doc! {"a": [1, 2]}, true)]);
    check(
        doc! {"a": {"$options": "i", "$regex": "^x"}},
        &[(doc! {"a": "XY"}, true)],
    );
}

fn bits_docs() -> Vec<Document> {
    let binary = |bytes: Vec<u8>| {
        Bson::Binary(bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes,
        })
    };
    vec![
        doc! {"_id": "1", "a": 54},
        doc! {"_id": "2", "a": 20},
        doc! {"_id": "3", "a": 20.0},
        doc! {"_id": "4", "a": binary(vec![0x66])},
        doc! {"_id": "5", "a": -5_i64},
        doc! {"_id": "6", "a": 20.5},
        doc! {"_id": "7", "a": "54"},
    ]
}

/// The manual's `$bits*` examples (documents 1 to 4), plus a negative
/// number (two's complement, sign-extended) and values that never match.
#[test]
fn bitwise_operators_test_numbers_and_bindata() {
    let docs = bits_docs();
    let mask_0x30 = Bson::Binary(bson::Binary {
        subtype: bson::spec::BinarySubtype::Generic,
        bytes: vec![0x30],
    });
    let cases = [
        (doc! {"a": {"$bitsAllSet": [1, 5]}}, vec!["1", "4", "5"]),
        (doc! {"a": {"$bitsAllSet": 50}}, vec!["1", "5"]),
        (doc! {"a": {"$bitsAllSet": mask_0x30}}, vec!["1", "5"]),
        (doc! {"a": {"$bitsAllSet": [63, 100]}}, vec!["5"]),
        (
            doc! {"a": {"$bitsAllSet": []}},
            vec!["1", "2", "3", "4", "5"],
        ),
        (doc! {"a": {"$bitsAllClear": [1, 5]}}, vec!["2", "3"]),
        (doc! {"a": {"$bitsAllClear": 35}}, vec!["2", "3"]),
        (doc! {"a": {"$bitsAnySet": [1, 5]}}, vec!["1", "4", "5"]),
        (doc! {"a": {"$bitsAnySet": 35}}, vec!["1", "4", "5"]),
        (doc! {"a": {"$bitsAnyClear": [1, 5]}}, vec!["2", "3"]),
        (doc! {"a": {"$bitsAnyClear": 35}}, vec!["1", "2", "3", "4"]),
    ];
    for (filter, expected) in cases {
        check_ids(filter, &docs, &expected);
    }
}

#[test]
fn expr_compares_fields_of_the_same_document() {
    // The manual's $expr example: budgets that were overspent.
    check(
        doc! {"$expr": {"$gt": ["$spent", "$budget"]}},
        &[
            (doc! {"budget": 400, "spent": 450}, true),
            (doc! {"budget": 100, "spent": 65}, false),
            (doc! {"budget": 20}, false),
        ],
    );
    check(
        doc! {"a": 1, "$expr": {"$eq": [{"$size": "$b"}, 2]}},
        &[
            (doc! {"a": 1, "b": [1, 2]}, true),
            (doc! {"a": 2, "b": [1, 2]}, false),
        ],
    );
}

#[test]
fn expr_with_an_unknown_operator_fails_to_parse() {
    let error = crate::matcher::Filter::parse(&doc! {"$expr": {"$nope": 1}})
        .expect_err("unknown expression");
    assert_eq!(error.code, crate::Code::INVALID_PIPELINE_OPERATOR);
}
