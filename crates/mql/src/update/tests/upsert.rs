//! Upsert seeding: the document an upsert starts from is built from the
//! filter's equality conditions (manual: "Upsert with ... equality").

use bson::{Document, doc};

use super::{check_with, ctx};
use crate::Code;
use crate::update::{ApplyContext, UpdateSpec, upsert_seed};

fn check_seed(filter: Document, expected: Document) {
    let seed = upsert_seed(&filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    assert_eq!(format!("{seed}"), format!("{expected}"), "seed of {filter}");
}

fn insert() -> ApplyContext {
    ApplyContext {
        is_upsert_insert: true,
        ..ctx()
    }
}

#[test]
fn seed_takes_equalities_and_ignores_other_conditions() {
    let cases = [
        (doc! {"name": "Andy"}, doc! {"name": "Andy"}),
        (doc! {"a": {"$eq": 5}, "b": {"$gt": 1}}, doc! {"a": 5}),
        (
            doc! {"a": {"$in": [7]}, "b": {"$in": [1, 2]}},
            doc! {"a": 7},
        ),
        (
            doc! {"a.b.c": 1, "a.d": 2},
            doc! {"a": {"b": {"c": 1}, "d": 2}},
        ),
        (
            doc! {"$and": [{"x": 1}, {"y": {"$eq": 2}}], "z": {"$exists": true}},
            doc! {"x": 1, "y": 2},
        ),
        (doc! {"$or": [{"x": 1}]}, doc! {"x": 1}),
        (doc! {"$or": [{"x": 1}, {"y": 1}]}, doc! {}),
        (doc! {"a": {"b": 1, "c": 2}}, doc! {"a": {"b": 1, "c": 2}}),
        (doc! {"a": {"$elemMatch": {"b": 1}}}, doc! {}),
    ];
    for (filter, expected) in cases {
        check_seed(filter, expected);
    }
}

#[test]
fn seed_orders_paths_bytewise_with_id_first() {
    check_seed(
        doc! {"b": 1, "_id": 7, "a": 2},
        doc! {"_id": 7, "a": 2, "b": 1},
    );
}

#[test]
fn seed_refuses_two_equalities_on_one_path_or_a_path_and_its_prefix() {
    let cases = [
        (
            doc! {"$and": [{"a": 1}, {"a": 2}]},
            "cannot infer query fields to set, path 'a' is matched twice",
        ),
        (
            doc! {"a": 1, "a.b": 2},
            "cannot infer query fields to set, both paths 'a' and 'a.b' are matched",
        ),
    ];
    for (filter, message) in cases {
        let error = upsert_seed(&filter).err();
        assert_eq!(
            error.map(|e| (e.code, e.message)),
            Some((Code::NOT_SINGLE_VALUE_FIELD, message.to_string())),
            "{filter}"
        );
    }
}

#[test]
fn upsert_applies_operators_to_the_seed_with_set_on_insert() {
    let seed = upsert_seed(&doc! {"name": "Andy", "_id": 3}).unwrap_or_default();
    check_with(
        seed,
        doc! {"$inc": {"score": 1}, "$setOnInsert": {"rating": 1}},
        &[],
        insert(),
        doc! {"_id": 3, "name": "Andy", "rating": 1, "score": 1},
        true,
    );
}

#[test]
fn upsert_replacement_keeps_only_the_seeds_id() {
    let seed = upsert_seed(&doc! {"_id": 1, "a": 1}).unwrap_or_default();
    check_with(
        seed,
        doc! {"b": 2},
        &[],
        insert(),
        doc! {"_id": 1, "b": 2},
        true,
    );
}

#[test]
fn upsert_moves_a_set_id_to_the_front() {
    check_with(
        doc! {"a": 1},
        doc! {"$set": {"_id": 5}},
        &[],
        insert(),
        doc! {"_id": 5, "a": 1},
        true,
    );
}

#[test]
fn upsert_cannot_change_an_id_taken_from_the_filter() {
    let seed = upsert_seed(&doc! {"_id": 1}).unwrap_or_default();
    let spec = UpdateSpec::parse(&doc! {"$set": {"_id": 2}}, &[]);
    let result = spec.and_then(|s| s.apply(&mut seed.clone(), &insert()));
    assert_eq!(result.err().map(|e| e.code), Some(Code::IMMUTABLE_FIELD));
}

#[test]
fn replacement_upsert_seeds_only_the_filters_id() {
    let spec = UpdateSpec::parse(&doc! {"b": 2}, &[]);
    let seed = spec.and_then(|s| s.upsert_seed(&doc! {"a": 1, "a.b": 2, "_id": 5}));
    assert_eq!(seed.map(|d| d.to_string()), Ok(doc! {"_id": 5}.to_string()));
    let spec = UpdateSpec::parse(&doc! {"$set": {"b": 2}}, &[]);
    let seed = spec.and_then(|s| s.upsert_seed(&doc! {"a": 1, "_id": 5}));
    assert_eq!(
        seed.map(|d| d.to_string()),
        Ok(doc! {"_id": 5, "a": 1}.to_string())
    );
}

#[test]
fn upsert_all_positional_updates_the_array_seeded_from_the_filter() {
    let filter = doc! {"myArray": [5, 8]};
    let seed = upsert_seed(&filter).unwrap_or_default();
    check_with(
        seed,
        doc! {"$set": {"myArray.$[]": 10}},
        &[],
        insert(),
        doc! {"myArray": [10, 10]},
        true,
    );
    let filtered = upsert_seed(&doc! {"myArray": [0, 1]}).unwrap_or_default();
    check_with(
        filtered,
        doc! {"$set": {"myArray.$[element]": 2}},
        &[doc! {"element": 0}],
        insert(),
        doc! {"myArray": [2, 1]},
        true,
    );
}

#[test]
fn upsert_array_update_without_an_array_in_the_filter_fails() {
    super::check_error_with(
        doc! {},
        doc! {"$set": {"myArray.$[element]": 10}},
        &[doc! {"element": 9}],
        insert(),
        Code::BAD_VALUE,
        "The path 'myArray' must exist in the document in order to apply array updates.",
    );
}
