//! Array and set operators.

use bson::{Bson, bson};

use super::*;

#[test]
fn array_operators_match_the_manual() {
    let d = sample();
    check_all(
        &d,
        vec![
            (bson!({"$size": "$a.c"}), bson!(3)),
            (bson!({"$arrayElemAt": [[1, 2, 3], 0]}), bson!(1)),
            (bson!({"$arrayElemAt": [[1, 2, 3], -1]}), bson!(3)),
            (
                bson!({"$ifNull": [{"$arrayElemAt": [[1, 2, 3], 15]}, "gone"]}),
                bson!("gone"),
            ),
            (bson!({"$first": "$a.c"}), bson!(1)),
            (bson!({"$last": "$a.c"}), bson!(3)),
            (bson!({"$first": "$missing"}), Bson::Null),
            (bson!({"$in": ["abc", ["xyz", "abc"]]}), bson!(true)),
            (bson!({"$in": [2.0, "$a.c"]}), bson!(true)),
            (bson!({"$in": ["$missing", [null]]}), bson!(false)),
            (
                bson!({"$concatArrays": [["hello", " "], ["world"]]}),
                bson!(["hello", " ", "world"]),
            ),
            (bson!({"$concatArrays": [[1], "$missing"]}), Bson::Null),
            (bson!({"$isArray": ["$a.c"]}), bson!(true)),
            (bson!({"$isArray": "$item"}), bson!(false)),
            (bson!({"$slice": [[1, 2, 3], 1, 1]}), bson!([2])),
            (bson!({"$slice": [[1, 2, 3], -2]}), bson!([2, 3])),
            (bson!({"$slice": [[1, 2, 3], 15, 2]}), bson!([])),
            (bson!({"$slice": [[1, 2, 3], -15, 2]}), bson!([1, 2])),
            (bson!({"$slice": [[1, 2, 3], 2]}), bson!([1, 2])),
            (bson!({"$reverseArray": [[1, 2, 3]]}), bson!([3, 2, 1])),
            (bson!({"$reverseArray": "$missing"}), Bson::Null),
            (bson!({"$range": [0, 10, 2]}), bson!([0, 2, 4, 6, 8])),
            (bson!({"$range": [10, 0, -2]}), bson!([10, 8, 6, 4, 2])),
            (bson!({"$range": [0, 10, -2]}), bson!([])),
            (bson!({"$range": [0, 5]}), bson!([0, 1, 2, 3, 4])),
            (bson!({"$indexOfArray": [["a", "abc"], "a"]}), bson!(0)),
            (bson!({"$indexOfArray": [[1, 2], 2.0]}), bson!(1)),
            (
                bson!({"$indexOfArray": [["a", "b", "a"], "a", 1]}),
                bson!(2),
            ),
            (bson!({"$indexOfArray": [["a"], "z"]}), bson!(-1)),
            (bson!({"$indexOfArray": [null, "z"]}), Bson::Null),
            (
                bson!({"$filter": {"input": [1, "a", 2, null, 3.1, Bson::Int64(4), "5"], "as": "num", "cond": {"$isNumber": "$$num"}}}),
                bson!([1, 2, 3.1, Bson::Int64(4)]),
            ),
            (
                bson!({"$filter": {"input": "$a.c", "cond": {"$gte": ["$$this", 2]}}}),
                bson!([2, 3]),
            ),
            (
                bson!({"$filter": {"input": "$a.c", "cond": true, "limit": 1}}),
                bson!([1]),
            ),
            (
                bson!({"$filter": {"input": "$missing", "cond": true}}),
                Bson::Null,
            ),
            (
                bson!({"$map": {"input": "$a.c", "as": "n", "in": {"$add": ["$$n", "$price"]}}}),
                bson!([11, 12, 13]),
            ),
            (
                bson!({"$map": {"input": "$a.c", "in": {"$multiply": ["$$this", 2]}}}),
                bson!([2, 4, 6]),
            ),
            (
                bson!({"$reduce": {"input": ["a", "b", "c"], "initialValue": "", "in": {"$concat": ["$$value", "$$this"]}}}),
                bson!("abc"),
            ),
            (
                bson!({"$reduce": {"input": [1, 2, 3, 4], "initialValue": {"sum": 5, "product": 2}, "in": {
            "sum": {"$add": ["$$value.sum", "$$this"]}, "product": {"$multiply": ["$$value.product", "$$this"]}}}}),
                bson!({"sum": 15, "product": 48}),
            ),
            (
                bson!({"$allElementsTrue": [[true, 1, "someString"]]}),
                bson!(true),
            ),
            (bson!({"$anyElementTrue": [[null, false, 0]]}), bson!(false)),
            (
                bson!({"$objectToArray": {"item": "foo", "qty": 25}}),
                bson!([{"k": "item", "v": "foo"}, {"k": "qty", "v": 25}]),
            ),
            (
                bson!({"$arrayToObject": [[["item", "abc123"], ["qty", 25]]]}),
                bson!({"item": "abc123", "qty": 25}),
            ),
            (
                bson!({"$arrayToObject": [[{"k": "item", "v": "abc123"}]]}),
                bson!({"item": "abc123"}),
            ),
            (
                bson!({"$mergeObjects": [{"a": 1}, null, {"a": 2, "b": 3}]}),
                bson!({"a": 2, "b": 3}),
            ),
        ],
    );
    for (expr, code) in [
        (bson!({"$size": "$item"}), 17124),
        (bson!({"$size": "$missing"}), 17124),
        (bson!({"$arrayElemAt": ["$item", 0]}), 28689),
        (bson!({"$arrayElemAt": [[1], 0.5]}), 28691),
        (bson!({"$in": [1, "$item"]}), 40081),
        (bson!({"$concatArrays": [[1], 1]}), 28664),
        (bson!({"$slice": ["a", 1]}), 28724),
        (bson!({"$slice": [[1], 0, 0]}), 28729),
        (bson!({"$range": [0, 5, 0]}), 34449),
        (bson!({"$range": ["a", 5]}), 34443),
        (bson!({"$filter": {"input": 1, "cond": true}}), 28651),
        (
            bson!({"$filter": {"input": [], "cond": true, "x": 1}}),
            28647,
        ),
        (bson!({"$filter": {"cond": true}}), 28648),
        (bson!({"$map": {"input": [1]}}), 16882),
        (bson!({"$map": {"input": 1, "in": 1}}), 16883),
        (bson!({"$indexOfArray": [1, 1]}), 40090),
        (bson!({"$first": 1}), 28689),
    ] {
        check_error(&d, expr, code);
    }
}

#[test]
fn set_operators_match_the_manual() {
    let d = sample();
    check_all(
        &d,
        vec![
            (
                bson!({"$setUnion": [["a", "b", "a"], ["b", "a", "c"]]}),
                bson!(["a", "b", "c"]),
            ),
            (bson!({"$setUnion": [["a"], "$missing"]}), Bson::Null),
            (
                bson!({"$setIntersection": [["a", "b", "a"], ["b", "a"]]}),
                bson!(["a", "b"]),
            ),
            (
                bson!({"$setIntersection": [["a", "b"], [["a", "b"]]]}),
                bson!([]),
            ),
            (bson!({"$setIntersection": []}), bson!([])),
            (
                bson!({"$setDifference": [["a", "b", "a"], ["b", "a"]]}),
                bson!([]),
            ),
            (
                bson!({"$setDifference": [["a", "b"], ["c", "b"]]}),
                bson!(["a"]),
            ),
            (
                bson!({"$setEquals": [["a", "b", "a"], ["b", "a"]]}),
                bson!(true),
            ),
            (
                bson!({"$setEquals": [[1], [1.0], [Bson::Int64(1)]]}),
                bson!(true),
            ),
            (
                bson!({"$setIsSubset": [["a", "b", "a"], ["b", "a"]]}),
                bson!(true),
            ),
            (
                bson!({"$setIsSubset": [["a", "b"], [["a", "b"]]]}),
                bson!(false),
            ),
        ],
    );
    for (expr, code) in [
        (bson!({"$setUnion": [["a"], 1]}), 17043),
        (bson!({"$setEquals": [["a"]]}), 17045),
        (bson!({"$setEquals": [["a"], "$missing"]}), 17044),
        (bson!({"$setIsSubset": [1, ["a"]]}), 17046),
        (bson!({"$setDifference": [["a"], 1]}), 17049),
    ] {
        check_error(&d, expr, code);
    }
}
