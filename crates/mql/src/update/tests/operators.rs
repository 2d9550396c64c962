//! The field operators, checked against the MongoDB manual's examples
//! (update operator reference pages) and mongod's documented type rules.

use std::str::FromStr;

use bson::{Bson, Decimal128, doc};

use super::{check, check_with, ctx};

fn decimal(text: &str) -> Bson {
    Bson::Decimal128(Decimal128::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}")))
}

fn manual_product() -> bson::Document {
    doc! {
        "_id": 100, "quantity": 250, "instock": true, "reorder": false,
        "details": {"model": "14QQ", "make": "Clothes Corp"},
        "tags": ["apparel", "clothing"],
        "ratings": [{"by": "Customer007", "rating": 4}],
    }
}

#[test]
fn set_replaces_top_level_fields_in_place() {
    check(
        manual_product(),
        doc! {"$set": {
            "quantity": 500,
            "details": {"model": "2600", "make": "Fashionaires"},
            "tags": ["coats", "outerwear", "clothing"],
        }},
        doc! {
            "_id": 100, "quantity": 500, "instock": true, "reorder": false,
            "details": {"model": "2600", "make": "Fashionaires"},
            "tags": ["coats", "outerwear", "clothing"],
            "ratings": [{"by": "Customer007", "rating": 4}],
        },
        true,
    );
}

#[test]
fn set_reaches_embedded_fields_and_array_elements() {
    check(
        manual_product(),
        doc! {"$set": {"details.make": "Kustom Kidz", "tags.1": "rain gear", "ratings.0.rating": 2}},
        doc! {
            "_id": 100, "quantity": 250, "instock": true, "reorder": false,
            "details": {"model": "14QQ", "make": "Kustom Kidz"},
            "tags": ["apparel", "rain gear"],
            "ratings": [{"by": "Customer007", "rating": 2}],
        },
        true,
    );
}

#[test]
fn set_appends_new_fields_in_path_order_and_creates_documents() {
    check(
        doc! {"_id": 1, "z": 0},
        doc! {"$set": {"b": 2, "a.y": 1, "a.x": 0, "a-": 3}},
        doc! {"_id": 1, "z": 0, "a": {"x": 0, "y": 1}, "a-": 3, "b": 2},
        true,
    );
}

#[test]
fn set_pads_arrays_with_null_past_their_end() {
    check(
        doc! {"_id": 1, "a": [1]},
        doc! {"$set": {"a.3": 5}},
        doc! {"_id": 1, "a": [1, null, null, 5]},
        true,
    );
}

#[test]
fn set_to_an_identical_value_is_not_a_modification() {
    check(
        doc! {"_id": 1, "a": 1},
        doc! {"$set": {"a": 1}},
        doc! {"_id": 1, "a": 1},
        false,
    );
    check(
        doc! {"_id": 1, "a": {"b": [1, 2]}},
        doc! {"$set": {"a": {"b": [1, 2]}}},
        doc! {"_id": 1, "a": {"b": [1, 2]}},
        false,
    );
}

#[test]
fn set_of_an_equal_value_of_another_type_is_a_modification() {
    check(
        doc! {"_id": 1, "a": 1},
        doc! {"$set": {"a": 1.0}},
        doc! {"_id": 1, "a": 1.0},
        true,
    );
}

#[test]
fn set_of_a_zero_with_the_other_sign_is_a_modification() {
    check(
        doc! {"_id": 1, "a": 0.0},
        doc! {"$set": {"a": -0.0}},
        doc! {"_id": 1, "a": -0.0},
        true,
    );
    check(
        doc! {"_id": 1, "a": [0.0]},
        doc! {"$set": {"a.0": -0.0}},
        doc! {"_id": 1, "a": [-0.0]},
        true,
    );
    check(
        doc! {"_id": 1, "a": 0.0},
        doc! {"a": -0.0},
        doc! {"_id": 1, "a": -0.0},
        true,
    );
    check(
        doc! {"_id": 1, "a": 0.0},
        doc! {"$set": {"a": 0.0}},
        doc! {"_id": 1, "a": 0.0},
        false,
    );
}

#[test]
fn set_allows_dollar_prefixed_names_below_the_top_level() {
    check(
        doc! {"_id": 1},
        doc! {"$set": {"a": {"$x": 1}, "b.$y": 2}},
        doc! {"_id": 1, "a": {"$x": 1}, "b": {"$y": 2}},
        true,
    );
}

#[test]
fn unset_removes_fields_and_ignores_missing_ones() {
    check(
        manual_product(),
        doc! {"$unset": {"quantity": "", "instock": ""}},
        doc! {
            "_id": 100, "reorder": false,
            "details": {"model": "14QQ", "make": "Clothes Corp"},
            "tags": ["apparel", "clothing"],
            "ratings": [{"by": "Customer007", "rating": 4}],
        },
        true,
    );
    check(
        doc! {"_id": 1},
        doc! {"$unset": {"a.b": 1}},
        doc! {"_id": 1},
        false,
    );
    check(
        doc! {"_id": 1, "a": 5},
        doc! {"$unset": {"a.b": 1}},
        doc! {"_id": 1, "a": 5},
        false,
    );
}

#[test]
fn unset_of_an_array_element_leaves_null_in_its_place() {
    check(
        doc! {"_id": 1, "a": [1, 2, 3]},
        doc! {"$unset": {"a.1": ""}},
        doc! {"_id": 1, "a": [1, null, 3]},
        true,
    );
}

#[test]
fn inc_adds_to_existing_and_embedded_fields() {
    check(
        doc! {"_id": 1, "sku": "abc123", "quantity": 10, "metrics": {"orders": 2, "ratings": 3.5}},
        doc! {"$inc": {"quantity": -2, "metrics.orders": 1}},
        doc! {"_id": 1, "sku": "abc123", "quantity": 8, "metrics": {"orders": 3, "ratings": 3.5}},
        true,
    );
}

#[test]
fn inc_follows_mongods_numeric_type_promotion() {
    let cases: Vec<(Bson, Bson, Bson)> = vec![
        (
            Bson::Int32(i32::MAX),
            Bson::Int32(1),
            Bson::Int64(i64::from(i32::MAX) + 1),
        ),
        (Bson::Int32(1), Bson::Double(0.5), Bson::Double(1.5)),
        (Bson::Int32(1), Bson::Int64(2), Bson::Int64(3)),
        (Bson::Int64(1), Bson::Int32(2), Bson::Int64(3)),
        (Bson::Double(1.5), Bson::Int64(1), Bson::Double(2.5)),
        (decimal("1.5"), Bson::Int32(1), decimal("2.5")),
        (Bson::Int32(2), decimal("0.25"), decimal("2.25")),
    ];
    for (start, by, expected) in cases {
        check(
            doc! {"_id": 1, "a": start.clone()},
            doc! {"$inc": {"a": by.clone()}},
            doc! {"_id": 1, "a": expected.clone()},
            true,
        );
    }
}

#[test]
fn inc_of_a_missing_field_creates_it_and_inc_by_zero_is_a_no_op() {
    check(
        doc! {"_id": 1},
        doc! {"$inc": {"a.b": 5_i64}},
        doc! {"_id": 1, "a": {"b": 5_i64}},
        true,
    );
    check(
        doc! {"_id": 1, "a": 5},
        doc! {"$inc": {"a": 0}},
        doc! {"_id": 1, "a": 5},
        false,
    );
}

#[test]
fn mul_multiplies_and_creates_missing_fields_as_typed_zero() {
    check(
        doc! {"_id": 1, "item": "Hats", "price": decimal("10.99"), "quantity": 25},
        doc! {"$mul": {"price": decimal("1.25"), "quantity": 2}},
        doc! {"_id": 1, "item": "Hats", "price": decimal("13.7375"), "quantity": 50},
        true,
    );
    check(
        doc! {"_id": 2, "item": "Unknown"},
        doc! {"$mul": {"price": 100_i64}},
        doc! {"_id": 2, "item": "Unknown", "price": 0_i64},
        true,
    );
    check(
        doc! {"_id": 3, "item": "Scarf", "price": 10_i64},
        doc! {"$mul": {"price": 5}},
        doc! {"_id": 3, "item": "Scarf", "price": 50_i64},
        true,
    );
}

#[test]
fn min_and_max_replace_only_when_the_new_value_is_beyond() {
    let scores = || doc! {"_id": 1, "highScore": 800, "lowScore": 200};
    check(
        scores(),
        doc! {"$min": {"lowScore": 150}},
        doc! {"_id": 1, "highScore": 800, "lowScore": 150},
        true,
    );
    check(scores(), doc! {"$min": {"lowScore": 250}}, scores(), false);
    check(
        scores(),
        doc! {"$max": {"highScore": 950}},
        doc! {"_id": 1, "highScore": 950, "lowScore": 200},
        true,
    );
    check(scores(), doc! {"$max": {"highScore": 700}}, scores(), false);
    check(
        scores(),
        doc! {"$max": {"other": 1}},
        doc! {"_id": 1, "highScore": 800, "lowScore": 200, "other": 1},
        true,
    );
}

#[test]
fn min_compares_across_types_in_bson_order() {
    check(
        doc! {"_id": 1, "a": "text"},
        doc! {"$min": {"a": 5}},
        doc! {"_id": 1, "a": 5},
        true,
    );
    check(
        doc! {"_id": 1, "a": 5},
        doc! {"$min": {"a": 5.0}},
        doc! {"_id": 1, "a": 5},
        false,
    );
}

#[test]
fn rename_moves_a_field_to_the_end_and_ignores_missing_sources() {
    check(
        doc! {"_id": 1, "nmae": {"first": "george", "last": "washington"}, "mobile": "555"},
        doc! {"$rename": {"nmae": "name"}},
        doc! {"_id": 1, "mobile": "555", "name": {"first": "george", "last": "washington"}},
        true,
    );
    check(
        doc! {"_id": 1, "name": {"first": "george", "last": "washington"}},
        doc! {"$rename": {"name.first": "name.fname"}},
        doc! {"_id": 1, "name": {"last": "washington", "fname": "george"}},
        true,
    );
    check(
        doc! {"_id": 1, "a": 1},
        doc! {"$rename": {"wife": "spouse"}},
        doc! {"_id": 1, "a": 1},
        false,
    );
}

#[test]
fn rename_overwrites_an_existing_destination() {
    check(
        doc! {"_id": 1, "a": 1, "b": 2},
        doc! {"$rename": {"a": "b"}},
        doc! {"_id": 1, "b": 1},
        true,
    );
}

#[test]
fn current_date_writes_the_callers_date_or_timestamp() {
    let now = ctx();
    check(
        doc! {"_id": 1, "status": "a", "lastModified": bson::DateTime::from_millis(0)},
        doc! {
            "$currentDate": {"lastModified": true, "cancellation.date": {"$type": "timestamp"}},
            "$set": {"cancellation.reason": "user request", "status": "D"},
        },
        doc! {
            "_id": 1, "status": "D", "lastModified": now.now,
            "cancellation": {"date": now.now_timestamp, "reason": "user request"},
        },
        true,
    );
}

#[test]
fn set_on_insert_acts_only_on_an_upserts_insert() {
    check(
        doc! {"_id": 1},
        doc! {"$setOnInsert": {"a": 1}},
        doc! {"_id": 1},
        false,
    );
    let mut insert = ctx();
    insert.is_upsert_insert = true;
    check_with(
        doc! {"_id": 1},
        doc! {"$set": {"item": "apple"}, "$setOnInsert": {"defaultQty": 100}},
        &[],
        insert,
        doc! {"_id": 1, "defaultQty": 100, "item": "apple"},
        true,
    );
}

#[test]
fn bit_applies_and_or_xor_with_integer_widening() {
    check(
        doc! {"_id": 1, "expdata": 13},
        doc! {"$bit": {"expdata": {"and": 10}}},
        doc! {"_id": 1, "expdata": 8},
        true,
    );
    check(
        doc! {"_id": 2, "expdata": 3_i64},
        doc! {"$bit": {"expdata": {"or": 5}}},
        doc! {"_id": 2, "expdata": 7_i64},
        true,
    );
    check(
        doc! {"_id": 3, "expdata": 1},
        doc! {"$bit": {"expdata": {"xor": 5}}},
        doc! {"_id": 3, "expdata": 4},
        true,
    );
}

#[test]
fn replacement_keeps_the_original_id_and_drops_other_fields() {
    check(
        doc! {"_id": 1, "a": 1, "b": 2},
        doc! {"c": 3},
        doc! {"_id": 1, "c": 3},
        true,
    );
    check(
        doc! {"_id": 1, "a": 1},
        doc! {"_id": 1, "a": 1},
        doc! {"_id": 1, "a": 1},
        false,
    );
    // mongod compares the stored document with the replacement as given,
    // so leaving `_id` out makes even an identical result a modification.
    check(
        doc! {"_id": 1, "a": 1},
        doc! {"a": 1},
        doc! {"_id": 1, "a": 1},
        true,
    );
}

#[test]
fn replacement_fills_top_level_zero_timestamps_with_the_current_time() {
    let zero = bson::Timestamp {
        time: 0,
        increment: 0,
    };
    let now = ctx().now_timestamp;
    check(
        doc! {"_id": 1},
        doc! {"t": zero, "nested": {"t": zero}},
        doc! {"_id": 1, "t": now, "nested": {"t": zero}},
        true,
    );
}

#[test]
fn numeric_path_components_apply_in_numeric_order() {
    check(
        doc! {"_id": 1, "a": {}},
        doc! {"$set": {"a.10": 1, "a.2": 2, "a.b": 3}},
        doc! {"_id": 1, "a": {"2": 2, "10": 1, "b": 3}},
        true,
    );
}

#[test]
fn an_operator_with_no_fields_is_a_no_op() {
    check(
        doc! {"_id": 1, "a": 1},
        doc! {"$set": {}},
        doc! {"_id": 1, "a": 1},
        false,
    );
    check(
        doc! {"_id": 1, "a": 1},
        doc! {"$unset": {}, "$inc": {"a": 1}},
        doc! {"_id": 1, "a": 2},
        true,
    );
}
