//! `$project`, `$addFields`/`$set`, `$unset`, `$replaceRoot`, `$unwind`.

use bson::{Bson, Document, bson, doc};

use super::*;

#[test]
fn project_includes_excludes_and_computes() {
    let input = vec![doc! {
        "_id": 1, "title": "abc123", "isbn": "0001122223334",
        "author": {"last": "zzz", "first": "aaa"}, "copies": 5, "lastModified": "2016-07-28",
    }];
    check(
        &input,
        vec![doc! {"$project": {"title": 1, "author": 1}}],
        vec![doc! {"_id": 1, "title": "abc123", "author": {"last": "zzz", "first": "aaa"}}],
    );
    check(
        &input,
        vec![doc! {"$project": {"_id": 0, "title": 1, "author": 1}}],
        vec![doc! {"title": "abc123", "author": {"last": "zzz", "first": "aaa"}}],
    );
    check(
        &input,
        vec![doc! {"$project": {"title": 1, "author.first": 1}}],
        vec![doc! {"_id": 1, "title": "abc123", "author": {"first": "aaa"}}],
    );
    check(
        &input,
        vec![doc! {"$project": {"lastModified": 0, "author.first": 0, "isbn": 0}}],
        vec![doc! {"_id": 1, "title": "abc123", "author": {"last": "zzz"}, "copies": 5}],
    );
    check(
        &input,
        vec![doc! {"$project": {
            "title": 1,
            "isbn": {"prefix": {"$substr": ["$isbn", 0, 3]}, "group": {"$substr": ["$isbn", 3, 2]}},
            "lastName": "$author.last",
            "copiesSold": "$copies",
            "gone": "$$REMOVE",
        }}],
        vec![doc! {
            "_id": 1, "title": "abc123", "isbn": {"prefix": "000", "group": "11"},
            "lastName": "zzz", "copiesSold": 5,
        }],
    );
    check(
        &input,
        vec![
            doc! {"$project": {"author": {"first": 1}, "x": {"$literal": 1}, "y": [1, "$copies"]}},
        ],
        vec![doc! {"_id": 1, "author": {"first": "aaa"}, "x": 1, "y": [1, 5]}],
    );
}

#[test]
fn project_through_arrays_of_documents() {
    let input = vec![doc! {"_id": 1, "a": [{"b": 1, "c": 2}, 5, {"c": 3}, [{"b": 4}]]}];
    check(
        &input,
        vec![doc! {"$project": {"a.b": 1}}],
        vec![doc! {"_id": 1, "a": [{"b": 1}, {}, [{"b": 4}]]}],
    );
    check(
        &input,
        vec![doc! {"$project": {"a.b": 0}}],
        vec![doc! {"_id": 1, "a": [{"c": 2}, 5, {"c": 3}, [{}]]}],
    );
    check(
        &input,
        vec![
            doc! {"$addFields": {"a.d": 9}},
            doc! {"$project": {"_id": 0}},
        ],
        vec![
            doc! {"a": [{"b": 1, "c": 2, "d": 9}, {"d": 9}, {"c": 3, "d": 9}, [{"b": 4, "d": 9}]]},
        ],
    );
}

#[test]
fn add_fields_and_unset_reshape_in_place() {
    let input = vec![
        doc! {"_id": 1, "student": "Maya", "homework": [10, 5, 10], "quiz": [10, 8], "specs": {"doors": 4}},
    ];
    check(
        &input,
        vec![
            doc! {"$addFields": {"totalHomework": {"$sum": "$homework"}, "student": {"$toUpper": "$student"}}},
            doc! {"$set": {"specs": {"fuel_type": "unleaded"}, "quiz": "$$REMOVE"}},
            doc! {"$unset": ["homework"]},
        ],
        vec![
            doc! {"_id": 1, "student": "MAYA", "specs": {"doors": 4, "fuel_type": "unleaded"}, "totalHomework": 25},
        ],
    );
    check(
        &input,
        vec![
            doc! {"$unset": "specs.doors"},
            doc! {"$unset": ["quiz", "homework", "student"]},
        ],
        vec![doc! {"_id": 1, "specs": {}}],
    );
}

#[test]
fn unwind_spreads_arrays_as_the_manual_shows() {
    let input = vec![
        doc! {"_id": 1, "item": "ABC", "sizes": ["S", "M"]},
        doc! {"_id": 2, "item": "EFG", "sizes": []},
        doc! {"_id": 3, "item": "IJK", "sizes": "M"},
        doc! {"_id": 4, "item": "LMN"},
        doc! {"_id": 5, "item": "XYZ", "sizes": null},
    ];
    check(
        &input,
        vec![doc! {"$unwind": "$sizes"}],
        vec![
            doc! {"_id": 1, "item": "ABC", "sizes": "S"},
            doc! {"_id": 1, "item": "ABC", "sizes": "M"},
            doc! {"_id": 3, "item": "IJK", "sizes": "M"},
        ],
    );
    check(
        &input,
        vec![
            doc! {"$unwind": {"path": "$sizes", "includeArrayIndex": "idx", "preserveNullAndEmptyArrays": true}},
        ],
        vec![
            doc! {"_id": 1, "item": "ABC", "sizes": "S", "idx": 0_i64},
            doc! {"_id": 1, "item": "ABC", "sizes": "M", "idx": 1_i64},
            doc! {"_id": 2, "item": "EFG", "idx": null},
            doc! {"_id": 3, "item": "IJK", "sizes": "M", "idx": null},
            doc! {"_id": 4, "item": "LMN", "idx": null},
            doc! {"_id": 5, "item": "XYZ", "sizes": null, "idx": null},
        ],
    );
    check(
        &[doc! {"_id": 1, "a": {"b": [1, 2]}}],
        vec![doc! {"$unwind": "$a.b"}],
        vec![
            doc! {"_id": 1, "a": {"b": 1}},
            doc! {"_id": 1, "a": {"b": 2}},
        ],
    );
}

#[test]
fn count_skip_limit_and_replace_root() {
    check(
        &sales(),
        vec![doc! {"$match": {"item": "xyz"}}, doc! {"$count": "n"}],
        vec![doc! {"n": 2}],
    );
    check(
        &sales(),
        vec![doc! {"$match": {"item": "none"}}, doc! {"$count": "n"}],
        vec![],
    );
    check(
        &sales(),
        vec![
            doc! {"$skip": 3},
            doc! {"$limit": 1},
            doc! {"$project": {"_id": 1}},
        ],
        vec![doc! {"_id": 4}],
    );
    check(
        &[doc! {"_id": 1, "name": {"first": "John", "last": "Backus"}}],
        vec![doc! {"$replaceRoot": {"newRoot": "$name"}}],
        vec![doc! {"first": "John", "last": "Backus"}],
    );
    check(
        &[doc! {"_id": 1, "name": {"first": "John"}}],
        vec![
            doc! {"$replaceWith": {"$mergeObjects": [{"_id": "$_id", "first": "", "last": ""}, "$name"]}},
        ],
        vec![doc! {"_id": 1, "first": "John", "last": ""}],
    );
}

/// mongod's own `$unwind` table (jstests/core/query/unwind.js): every
/// combination of the options over missing, null, empty and scalar values.
#[test]
fn unwind_follows_mongods_option_table() {
    let p = |extra: Document| {
        let mut spec = doc! {"path": "$a"};
        spec.extend(extra);
        spec
    };
    let keep = doc! {"preserveNullAndEmptyArrays": true};
    let idx = |f: &str| doc! {"includeArrayIndex": f};
    let both = |f: &str| doc! {"preserveNullAndEmptyArrays": true, "includeArrayIndex": f};
    let cases: Vec<(Document, Document, Vec<Document>)> = vec![
        (doc! {"_id": 0}, p(doc! {}), vec![]),
        (doc! {"_id": 0}, p(keep.clone()), vec![doc! {"_id": 0}]),
        (doc! {"_id": 0}, p(idx("i")), vec![]),
        (
            doc! {"_id": 0},
            p(both("i")),
            vec![doc! {"_id": 0, "i": null}],
        ),
        (
            doc! {"_id": 0},
            p(both("a")),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (doc! {"_id": 0, "a": null}, p(doc! {}), vec![]),
        (
            doc! {"_id": 0, "a": null},
            p(keep.clone()),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (
            doc! {"_id": 0, "a": null},
            p(both("i")),
            vec![doc! {"_id": 0, "a": null, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": null},
            p(both("a")),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (doc! {"_id": 0, "a": []}, p(doc! {}), vec![]),
        (
            doc! {"_id": 0, "a": []},
            p(keep.clone()),
            vec![doc! {"_id": 0}],
        ),
        (
            doc! {"_id": 0, "a": []},
            p(both("i")),
            vec![doc! {"_id": 0, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": []},
            p(both("a")),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (
            doc! {"_id": 0, "a": 1},
            p(doc! {}),
            vec![doc! {"_id": 0, "a": 1}],
        ),
        (
            doc! {"_id": 0, "a": 1},
            p(idx("i")),
            vec![doc! {"_id": 0, "a": 1, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": 1},
            p(both("a")),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (
            doc! {"_id": 0, "a": {}},
            p(idx("i")),
            vec![doc! {"_id": 0, "a": {}, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": [null]},
            p(doc! {}),
            vec![doc! {"_id": 0, "a": null}],
        ),
        (
            doc! {"_id": 0, "a": [null]},
            p(idx("i")),
            vec![doc! {"_id": 0, "a": null, "i": 0_i64}],
        ),
        (
            doc! {"_id": 0, "a": [null]},
            p(both("a")),
            vec![doc! {"_id": 0, "a": 0_i64}],
        ),
        (
            doc! {"_id": 0, "a": [[]]},
            p(doc! {}),
            vec![doc! {"_id": 0, "a": []}],
        ),
        (
            doc! {"_id": 0, "a": [[]]},
            p(idx("i")),
            vec![doc! {"_id": 0, "a": [], "i": 0_i64}],
        ),
        (
            doc! {"_id": 0, "a": [1]},
            p(both("i")),
            vec![doc! {"_id": 0, "a": 1, "i": 0_i64}],
        ),
        (
            doc! {"_id": 0},
            doc! {"path": "$a.b", "preserveNullAndEmptyArrays": true, "includeArrayIndex": "_id"},
            vec![doc! {"_id": null}],
        ),
        (
            doc! {"_id": 0, "a": {}},
            doc! {"path": "$a.b", "preserveNullAndEmptyArrays": true},
            vec![doc! {"_id": 0, "a": {}}],
        ),
        (
            doc! {"_id": 0, "a": {"b": []}},
            doc! {"path": "$a.b", "preserveNullAndEmptyArrays": true},
            vec![doc! {"_id": 0, "a": {}}],
        ),
        (
            doc! {"_id": 0, "a": {"b": 1}},
            doc! {"path": "$a.b", "includeArrayIndex": "i"},
            vec![doc! {"_id": 0, "a": {"b": 1}, "i": null}],
        ),
        (
            doc! {"_id": 0, "a": {"b": null}},
            doc! {"path": "$a.b", "preserveNullAndEmptyArrays": true, "includeArrayIndex": "a"},
            vec![doc! {"_id": 0, "a": null}],
        ),
    ];
    for (input, spec, expected) in cases {
        check(&[input], vec![doc! {"$unwind": spec}], expected);
    }
    check_error(&[], vec![doc! {"$unwind": {"path": "$"}}], 40352);
}

/// mongod's dotted-path `$addFields` cases
/// (jstests/aggregation/sources/addFields/dotted_paths.js).
#[test]
fn add_fields_through_dotted_paths_as_mongod() {
    let input = [doc! {
        "_id": 1,
        "arrayField": [1, {"subField": [2, {}]}, [1]],
        "objField": {"p": {"q": 1}, "subArr": [1]},
        "otherField": "value",
    }];
    let nested = doc! {"newSubObj": [{"p": "newValue"}]};
    let with = |field: &str, value: Bson| {
        let mut out = input[0].clone();
        out.insert(field, value);
        vec![out]
    };
    check(
        &input,
        vec![doc! {"$addFields": {"objField.subArr": "newValue"}}],
        with("objField", bson!({"p": {"q": 1}, "subArr": "newValue"})),
    );
    check(
        &input,
        vec![doc! {"$addFields": {"objField.newSubPath.b": {"$literal": "newValue"}}}],
        with(
            "objField",
            bson!({"p": {"q": 1}, "subArr": [1], "newSubPath": {"b": "newValue"}}),
        ),
    );
    check(
        &input,
        vec![doc! {"$addFields": {"objField.newSubPath.b": nested.clone()}}],
        with(
            "objField",
            bson!({"p": {"q": 1}, "subArr": [1], "newSubPath": {"b": nested.clone()}}),
        ),
    );
    let mut expected = input[0].clone();
    expected.insert("newField", doc! {"newSubPath": {"b": "newValue"}});
    check(
        &input,
        vec![doc! {"$addFields": {"newField.newSubPath.b": "newValue"}}],
        vec![expected],
    );
    let sub = doc! {"newSubPath": {"b": "newValue"}};
    check(
        &input,
        vec![doc! {"$addFields": {"arrayField.newSubPath.b": "newValue"}}],
        with(
            "arrayField",
            bson!([sub.clone(), {"subField": [2, {}], "newSubPath": {"b": "newValue"}}, [sub]]),
        ),
    );
    let sub = doc! {"subField": {"b": nested.clone()}};
    check(
        &input,
        vec![doc! {"$addFields": {"arrayField.subField.b": {"$literal": nested.clone()}}}],
        with(
            "arrayField",
            bson!([sub.clone(), {"subField": [{"b": nested.clone()}, {"b": nested.clone()}]}, [sub]]),
        ),
    );
}
