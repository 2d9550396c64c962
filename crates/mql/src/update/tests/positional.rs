//! Positional paths: `$` (the query's match), `$[]` (every element) and
//! `$[<id>]` with arrayFilters, following the manual's examples.

use bson::{Document, doc};

use super::{check_with, ctx};
use crate::update::ApplyContext;

fn at(index: usize) -> ApplyContext {
    ApplyContext {
        positional: Some(index),
        ..ctx()
    }
}

fn check_filtered(start: Document, update: Document, filters: &[Document], expected: Document) {
    check_with(start, update, filters, ctx(), expected, true);
}

#[test]
fn positional_sets_the_element_the_query_matched() {
    check_with(
        doc! {"_id": 1, "grades": [85, 80, 80]},
        doc! {"$set": {"grades.$": 82}},
        &[],
        at(1),
        doc! {"_id": 1, "grades": [85, 82, 80]},
        true,
    );
    check_with(
        doc! {"_id": 4, "grades": [
            {"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 5}, {"grade": 85, "mean": 85, "std": 8},
        ]},
        doc! {"$set": {"grades.$.std": 6}},
        &[],
        at(1),
        doc! {"_id": 4, "grades": [
            {"grade": 80, "mean": 75, "std": 8}, {"grade": 85, "mean": 90, "std": 6}, {"grade": 85, "mean": 85, "std": 8},
        ]},
        true,
    );
}

#[test]
fn all_positional_updates_every_element() {
    check_filtered(
        doc! {"_id": 1, "grades": [85, 82, 80]},
        doc! {"$inc": {"grades.$[]": 10}},
        &[],
        doc! {"_id": 1, "grades": [95, 92, 90]},
    );
    check_filtered(
        doc! {"_id": 1, "grades": [{"grade": 80, "std": 8}, {"grade": 85, "std": 6}]},
        doc! {"$inc": {"grades.$[].std": -2}},
        &[],
        doc! {"_id": 1, "grades": [{"grade": 80, "std": 6}, {"grade": 85, "std": 4}]},
    );
}

#[test]
fn all_positional_on_an_empty_array_changes_nothing() {
    check_with(
        doc! {"_id": 1, "a": []},
        doc! {"$set": {"a.$[]": 1}},
        &[],
        ctx(),
        doc! {"_id": 1, "a": []},
        false,
    );
}

#[test]
fn filtered_positional_updates_the_elements_the_filter_accepts() {
    check_filtered(
        doc! {"_id": 3, "grades": [95, 110, 100]},
        doc! {"$set": {"grades.$[element]": 100}},
        &[doc! {"element": {"$gte": 100}}],
        doc! {"_id": 3, "grades": [95, 100, 100]},
    );
    check_filtered(
        doc! {"_id": 2, "grades": [
            {"grade": 90, "mean": 75, "std": 6}, {"grade": 87, "mean": 90, "std": 3}, {"grade": 85, "mean": 85, "std": 4},
        ]},
        doc! {"$set": {"grades.$[elem].mean": 100}},
        &[doc! {"elem.grade": {"$gte": 87}}],
        doc! {"_id": 2, "grades": [
            {"grade": 90, "mean": 100, "std": 6}, {"grade": 87, "mean": 100, "std": 3}, {"grade": 85, "mean": 85, "std": 4},
        ]},
    );
}

#[test]
fn filtered_positional_accepts_filters_with_several_conditions() {
    check_filtered(
        doc! {"_id": 1, "grades": [{"grade": 80, "std": 8}, {"grade": 85, "std": 6}, {"grade": 85, "std": 8}]},
        doc! {"$inc": {"grades.$[elem].std": -1}},
        &[doc! {"elem.grade": {"$gte": 80}, "elem.std": {"$gt": 7}}],
        doc! {"_id": 1, "grades": [{"grade": 80, "std": 7}, {"grade": 85, "std": 6}, {"grade": 85, "std": 7}]},
    );
    check_filtered(
        doc! {"_id": 0, "a": [0, 1, 3]},
        doc! {"$set": {"a.$[i]": 2}},
        &[doc! {"$or": [{"i": 0}, {"i": 3}]}],
        doc! {"_id": 0, "a": [2, 1, 2]},
    );
}

#[test]
fn filtered_positional_nests_inside_all_positional() {
    check_filtered(
        doc! {"_id": 1, "grades": [
            {"type": "quiz", "questions": [10, 8, 5]},
            {"type": "quiz", "questions": [8, 9, 6]},
            {"type": "hw", "questions": [5, 4, 3]},
            {"type": "exam", "questions": [25, 10, 23, 0]},
        ]},
        doc! {"$inc": {"grades.$[].questions.$[score]": 2}},
        &[doc! {"score": {"$gte": 8}}],
        doc! {"_id": 1, "grades": [
            {"type": "quiz", "questions": [12, 10, 5]},
            {"type": "quiz", "questions": [10, 11, 6]},
            {"type": "hw", "questions": [5, 4, 3]},
            {"type": "exam", "questions": [27, 12, 25, 0]},
        ]},
    );
}

#[test]
fn filtered_positional_may_create_fields_in_matched_documents() {
    check_filtered(
        doc! {"_id": 1, "a": [{"b": 1}, {"b": 2}]},
        doc! {"$set": {"a.$[x].c": true}},
        &[doc! {"x.b": 2}],
        doc! {"_id": 1, "a": [{"b": 1}, {"b": 2, "c": true}]},
    );
}

#[test]
fn positional_fields_are_created_in_the_order_of_the_index_they_stand_for() {
    check_with(
        doc! {"_id": 1, "a": [{}]},
        doc! {"$set": {"a.$.z": 1, "a.0.y": 2}},
        &[],
        at(0),
        doc! {"_id": 1, "a": [{"y": 2, "z": 1}]},
        true,
    );
}

#[test]
fn positional_and_its_index_on_one_leaf_conflict() {
    super::check_error_with(
        doc! {"_id": 1, "a": [0]},
        doc! {"$set": {"a.$": 1, "a.0": 2}},
        &[],
        at(0),
        crate::Code::CONFLICTING_UPDATE_OPERATORS,
        "Update created a conflict at 'a.0'",
    );
}

#[test]
fn positional_sorts_numerically_among_numeric_siblings() {
    check_with(
        doc! {"_id": 1, "a": [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}]},
        doc! {"$set": {"a.$.x": 1, "a.9.y": 2}},
        &[],
        at(10),
        doc! {"_id": 1, "a": [{}, {}, {}, {}, {}, {}, {}, {}, {}, {"y": 2}, {"x": 1}]},
        true,
    );
}

#[test]
fn replacement_ignores_array_filters_as_mongod_does() {
    check_with(
        doc! {"_id": 1, "a": 1},
        doc! {"b": 2},
        &[doc! {"x": 1}],
        ctx(),
        doc! {"_id": 1, "b": 2},
        true,
    );
}
