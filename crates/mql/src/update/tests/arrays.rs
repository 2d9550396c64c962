//! The array operators, checked against the MongoDB manual's examples
//! ($push and its modifiers, $addToSet, $pop, $pull, $pullAll).

use bson::doc;

use super::check;

#[test]
fn push_appends_one_value_or_each_value() {
    check(
        doc! {"_id": 1, "scores": [44, 78, 38, 80]},
        doc! {"$push": {"scores": 89}},
        doc! {"_id": 1, "scores": [44, 78, 38, 80, 89]},
        true,
    );
    check(
        doc! {"_id": 1, "scores": [44]},
        doc! {"$push": {"scores": {"$each": [90, 92, 85]}}},
        doc! {"_id": 1, "scores": [44, 90, 92, 85]},
        true,
    );
}

#[test]
fn push_of_a_document_without_each_pushes_the_document() {
    check(
        doc! {"_id": 1, "a": []},
        doc! {"$push": {"a": {"x": 1, "$slice": 1}}},
        doc! {"_id": 1, "a": [{"x": 1, "$slice": 1}]},
        true,
    );
}

#[test]
fn push_to_a_missing_field_creates_the_array() {
    check(
        doc! {"_id": 1},
        doc! {"$push": {"a.b": 1}},
        doc! {"_id": 1, "a": {"b": [1]}},
        true,
    );
}

#[test]
fn push_with_sort_and_slice_keeps_the_top_entries() {
    check(
        doc! {"_id": 5, "quizzes": [
            {"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 3, "score": 5}, {"wk": 4, "score": 6},
        ]},
        doc! {"$push": {"quizzes": {
            "$each": [{"wk": 5, "score": 8}, {"wk": 6, "score": 7}, {"wk": 7, "score": 6}],
            "$sort": {"score": -1},
            "$slice": 3,
        }}},
        doc! {"_id": 5, "quizzes": [{"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 5, "score": 8}]},
        true,
    );
}

#[test]
fn push_position_inserts_from_the_front_or_from_the_end() {
    let cases = [
        (
            doc! {"_id": 1, "scores": [100]},
            doc! {"$each": [50, 60, 70], "$position": 0},
            doc! {"_id": 1, "scores": [50, 60, 70, 100]},
        ),
        (
            doc! {"_id": 1, "scores": [50, 60, 70, 100]},
            doc! {"$each": [20, 30], "$position": 2},
            doc! {"_id": 1, "scores": [50, 60, 20, 30, 70, 100]},
        ),
        (
            doc! {"_id": 1, "scores": [50, 60, 20, 30, 70, 100]},
            doc! {"$each": [90, 80], "$position": -2},
            doc! {"_id": 1, "scores": [50, 60, 20, 30, 90, 80, 70, 100]},
        ),
        (
            doc! {"_id": 1, "scores": [1]},
            doc! {"$each": [2], "$position": 9},
            doc! {"_id": 1, "scores": [1, 2]},
        ),
        (
            doc! {"_id": 1, "scores": [1]},
            doc! {"$each": [2], "$position": -9},
            doc! {"_id": 1, "scores": [2, 1]},
        ),
    ];
    for (start, push, expected) in cases {
        check(start, doc! {"$push": {"scores": push}}, expected, true);
    }
}

#[test]
fn push_slice_trims_from_the_end_or_the_front() {
    let cases = [
        (
            doc! {"_id": 1, "scores": [40, 50, 60]},
            doc! {"$each": [80, 78, 86], "$slice": -5},
            doc! {"_id": 1, "scores": [50, 60, 80, 78, 86]},
        ),
        (
            doc! {"_id": 2, "scores": [89, 90]},
            doc! {"$each": [100, 20], "$slice": 3},
            doc! {"_id": 2, "scores": [89, 90, 100]},
        ),
        (
            doc! {"_id": 3, "scores": [89, 70, 100, 20]},
            doc! {"$each": [], "$slice": -3},
            doc! {"_id": 3, "scores": [70, 100, 20]},
        ),
        (
            doc! {"_id": 4, "scores": [1, 2]},
            doc! {"$each": [3], "$slice": 0},
            doc! {"_id": 4, "scores": []},
        ),
    ];
    for (start, push, expected) in cases {
        check(start, doc! {"$push": {"scores": push}}, expected, true);
    }
}

#[test]
fn push_sort_orders_by_document_fields_stably() {
    check(
        doc! {"_id": 1, "quizzes": [{"id": 1, "score": 6}, {"id": 2, "score": 9}]},
        doc! {"$push": {"quizzes": {
            "$each": [{"id": 3, "score": 8}, {"id": 4, "score": 7}, {"id": 5, "score": 6}],
            "$sort": {"score": 1},
        }}},
        doc! {"_id": 1, "quizzes": [
            {"id": 1, "score": 6}, {"id": 5, "score": 6}, {"id": 4, "score": 7},
            {"id": 3, "score": 8}, {"id": 2, "score": 9},
        ]},
        true,
    );
}

#[test]
fn push_sort_orders_whole_elements_and_sorts_without_new_values() {
    check(
        doc! {"_id": 2, "tests": [89, 70, 89, 50]},
        doc! {"$push": {"tests": {"$each": [40, 60], "$sort": 1}}},
        doc! {"_id": 2, "tests": [40, 50, 60, 70, 89, 89]},
        true,
    );
    check(
        doc! {"_id": 3, "tests": [89, 70, 100, 20]},
        doc! {"$push": {"tests": {"$each": [], "$sort": -1}}},
        doc! {"_id": 3, "tests": [100, 89, 70, 20]},
        true,
    );
}

#[test]
fn push_sort_by_field_puts_non_documents_and_missing_fields_first() {
    check(
        doc! {"_id": 1, "a": [{"b": 2}, 5, {"c": 1}, {"b": 1}]},
        doc! {"$push": {"a": {"$each": [], "$sort": {"b": 1}}}},
        doc! {"_id": 1, "a": [5, {"c": 1}, {"b": 1}, {"b": 2}]},
        true,
    );
}

#[test]
fn add_to_set_adds_only_absent_values() {
    check(
        doc! {"_id": 1, "letters": ["a", "b"]},
        doc! {"$addToSet": {"letters": ["c", "d"]}},
        doc! {"_id": 1, "letters": ["a", "b", ["c", "d"]]},
        true,
    );
    let camera = || doc! {"_id": 1, "item": "polarizing_filter", "tags": ["electronics", "camera"]};
    check(
        camera(),
        doc! {"$addToSet": {"tags": "accessories"}},
        doc! {"_id": 1, "item": "polarizing_filter", "tags": ["electronics", "camera", "accessories"]},
        true,
    );
    check(
        camera(),
        doc! {"$addToSet": {"tags": "camera"}},
        camera(),
        false,
    );
}

#[test]
fn add_to_set_each_adds_every_absent_value_once() {
    check(
        doc! {"_id": 2, "item": "cable", "tags": ["electronics", "supplies"]},
        doc! {"$addToSet": {"tags": {"$each": ["camera", "electronics", "accessories", "camera"]}}},
        doc! {"_id": 2, "item": "cable", "tags": ["electronics", "supplies", "camera", "accessories"]},
        true,
    );
    check(
        doc! {"_id": 1, "n": [1]},
        doc! {"$addToSet": {"n": 1.0}},
        doc! {"_id": 1, "n": [1]},
        false,
    );
    check(
        doc! {"_id": 1},
        doc! {"$addToSet": {"n": {"$each": [1, 1]}}},
        doc! {"_id": 1, "n": [1]},
        true,
    );
}

#[test]
fn pop_removes_the_first_or_last_element() {
    check(
        doc! {"_id": 1, "scores": [8, 9, 10]},
        doc! {"$pop": {"scores": -1}},
        doc! {"_id": 1, "scores": [9, 10]},
        true,
    );
    check(
        doc! {"_id": 10, "scores": [9, 10]},
        doc! {"$pop": {"scores": 1}},
        doc! {"_id": 10, "scores": [9]},
        true,
    );
    check(
        doc! {"_id": 1, "scores": []},
        doc! {"$pop": {"scores": 1}},
        doc! {"_id": 1, "scores": []},
        false,
    );
    check(
        doc! {"_id": 1},
        doc! {"$pop": {"scores": 1}},
        doc! {"_id": 1},
        false,
    );
}

#[test]
fn pull_removes_values_matching_a_condition() {
    check(
        doc! {"_id": 1,
        "fruits": ["apples", "pears", "oranges", "grapes", "bananas"],
        "vegetables": ["carrots", "celery", "squash", "carrots"]},
        doc! {"$pull": {"fruits": {"$in": ["apples", "oranges"]}, "vegetables": "carrots"}},
        doc! {"_id": 1, "fruits": ["pears", "grapes", "bananas"], "vegetables": ["celery", "squash"]},
        true,
    );
    check(
        doc! {"_id": 1, "votes": [3, 5, 6, 7, 7, 8]},
        doc! {"$pull": {"votes": {"$gte": 6}}},
        doc! {"_id": 1, "votes": [3, 5]},
        true,
    );
}

#[test]
fn pull_with_a_document_condition_matches_embedded_documents() {
    check(
        doc! {"_id": 1, "results": [{"item": "A", "score": 5}, {"item": "B", "score": 8, "comment": "x"}]},
        doc! {"$pull": {"results": {"score": 8, "item": "B"}}},
        doc! {"_id": 1, "results": [{"item": "A", "score": 5}]},
        true,
    );
    check(
        doc! {"_id": 1, "results": [{"item": "A", "score": 5, "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]}]},
        doc! {"$pull": {"results": {"answers": {"$elemMatch": {"q": 2, "a": {"$gte": 8}}}}}},
        doc! {"_id": 1, "results": [{"item": "A", "score": 5, "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]}]},
        false,
    );
}

#[test]
fn pull_all_removes_every_listed_value() {
    check(
        doc! {"_id": 1, "scores": [0, 2, 5, 5, 1, 0]},
        doc! {"$pullAll": {"scores": [0, 5]}},
        doc! {"_id": 1, "scores": [2, 1]},
        true,
    );
}

#[test]
fn push_with_sort_counts_as_a_modification_even_when_nothing_moves() {
    check(
        doc! {"_id": 1, "a": [1, 2]},
        doc! {"$push": {"a": {"$each": [], "$sort": 1}}},
        doc! {"_id": 1, "a": [1, 2]},
        true,
    );
    check(
        doc! {"_id": 1, "a": [1, 2]},
        doc! {"$push": {"a": {"$each": [], "$slice": 5}}},
        doc! {"_id": 1, "a": [1, 2]},
        false,
    );
}
