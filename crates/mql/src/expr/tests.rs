//! Expression tests: tables of (expression, expected result) over sample
//! documents, mostly the MongoDB manual's examples for each operator, and
//! tables of (expression, mongod error code).

use bson::{Bson, DateTime, Document, bson, doc};
use proptest::prelude::*;

use super::Expr;
use crate::order;

/// Evaluates `expr` against `doc` and checks the result, type included.
fn check(doc: &Document, expr: Bson, expected: Bson) {
    let parsed = Expr::parse(&expr).unwrap_or_else(|e| panic!("{expr} failed to parse: {e}"));
    let actual = parsed
        .eval(doc)
        .unwrap_or_else(|e| panic!("{expr} failed to evaluate: {e}"));
    assert!(
        order::equal(&actual, &expected) && same_types(&actual, &expected),
        "{expr}: expected {expected:?}, got {actual:?}"
    );
}

fn same_types(a: &Bson, b: &Bson) -> bool {
    match (a, b) {
        (Bson::Array(x), Bson::Array(y)) => x.iter().zip(y).all(|(p, q)| same_types(p, q)),
        (Bson::Document(x), Bson::Document(y)) => x
            .iter()
            .zip(y)
            .all(|((k1, v1), (k2, v2))| k1 == k2 && same_types(v1, v2)),
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

fn check_all(doc: &Document, cases: Vec<(Bson, Bson)>) {
    for (expr, expected) in cases {
        check(doc, expr, expected);
    }
}

/// Checks that `expr` fails, at parse or evaluation time, with `code`.
fn check_error(doc: &Document, expr: Bson, code: i32) {
    let result = Expr::parse(&expr).and_then(|e| e.eval(doc));
    match result {
        Err(e) => assert_eq!(e.code.0, code, "{expr}: wrong code for {e}"),
        Ok(v) => panic!("{expr}: expected error {code}, got {v}"),
    }
}

fn sample() -> Document {
    doc! {
        "_id": 1, "item": "abc", "price": 10, "quantity": 2, "qty": 5.5,
        "big": i32::MAX, "long": i64::MAX, "neg": -7,
        "date": DateTime::from_millis(1_393_804_800_000),
        "a": {"b": 1, "c": [1, 2, 3]},
        "arr": [{"x": 1}, {"x": 2}, {"y": 3}, 4],
        "nil": null, "str": "Hello World", "empty": [],
    }
}

#[test]
fn arithmetic_follows_mongod_type_rules() {
    let d = sample();
    check_all(
        &d,
        vec![
            (bson!({"$add": ["$price", 5]}), bson!(15)),
            (bson!({"$add": ["$price", "$qty"]}), bson!(15.5)),
            (bson!({"$add": ["$big", 1]}), bson!(2_147_483_648_i64)),
            (
                bson!({"$add": ["$long", 1]}),
                bson!(9.223_372_036_854_776e18),
            ),
            (bson!({"$add": [1, Bson::Int64(2)]}), bson!(3_i64)),
            (
                bson!({"$add": ["$date", 3 * 24 * 60 * 60000]}),
                Bson::DateTime(DateTime::from_millis(1_394_064_000_000)),
            ),
            (bson!({"$add": ["$price", "$missing"]}), Bson::Null),
            (bson!({"$add": ["$price", null]}), Bson::Null),
            (bson!({"$add": []}), bson!(0)),
            (bson!({"$subtract": ["$price", 3]}), bson!(7)),
            (
                bson!({"$subtract": [{"$literal": i32::MIN}, 1]}),
                bson!(-2_147_483_649_i64),
            ),
            (
                bson!({"$subtract": ["$date", 60000]}),
                Bson::DateTime(DateTime::from_millis(1_393_804_740_000)),
            ),
            (bson!({"$subtract": ["$date", "$date"]}), bson!(0_i64)),
            (bson!({"$multiply": ["$price", "$quantity"]}), bson!(20)),
            (bson!({"$multiply": ["$big", 2]}), bson!(4_294_967_294_i64)),
            (
                bson!({"$multiply": ["$long", 2]}),
                bson!(1.844_674_407_370_955_2e19),
            ),
            (bson!({"$multiply": [2, 2.5]}), bson!(5.0)),
            (bson!({"$divide": [10, 4]}), bson!(2.5)),
            (bson!({"$divide": [10, 5]}), bson!(2.0)),
            (bson!({"$mod": [10, 3]}), bson!(1)),
            (bson!({"$mod": [-10, 3]}), bson!(-1)),
            (bson!({"$mod": [10.5, 3]}), bson!(1.5)),
            (bson!({"$mod": [Bson::Int64(10), 3]}), bson!(1_i64)),
            (bson!({"$abs": -1}), bson!(1)),
            (
                bson!({"$abs": {"$literal": i32::MIN}}),
                bson!(2_147_483_648_i64),
            ),
            (bson!({"$abs": -1.5}), bson!(1.5)),
            (bson!({"$abs": null}), Bson::Null),
            (bson!({"$ceil": 7.80}), bson!(8.0)),
            (bson!({"$ceil": -2.8}), bson!(-2.0)),
            (bson!({"$ceil": 5}), bson!(5)),
            (bson!({"$floor": -2.8}), bson!(-3.0)),
            (bson!({"$sqrt": 25}), bson!(5.0)),
            (bson!({"$exp": 0}), bson!(1.0)),
            (bson!({"$ln": 1}), bson!(0.0)),
            (bson!({"$log10": 100}), bson!(2.0)),
            (bson!({"$log": [100, 10]}), bson!(2.0)),
            (bson!({"$pow": [5, 0]}), bson!(1)),
            (bson!({"$pow": [5, 2]}), bson!(25)),
            (bson!({"$pow": [2, 31]}), bson!(2_147_483_648_i64)),
            (bson!({"$pow": [5, -2]}), bson!(0.04)),
            (bson!({"$pow": [-5, 0.5]}), Bson::Double(f64::NAN)),
            (bson!({"$round": [5.5]}), bson!(6.0)),
            (bson!({"$round": [6.5]}), bson!(6.0)),
            (bson!({"$round": [-2.5]}), bson!(-2.0)),
            (bson!({"$round": [19.25, 1]}), bson!(19.2)),
            (bson!({"$round": [28.73, -1]}), bson!(30.0)),
            (bson!({"$round": [1234, -2]}), bson!(1200)),
            (bson!({"$round": [1250, -2]}), bson!(1200)),
            (bson!({"$round": [1350, -2]}), bson!(1400)),
            (bson!({"$trunc": [19.25, 1]}), bson!(19.2)),
            (bson!({"$trunc": [-5.6]}), bson!(-5.0)),
            (bson!({"$trunc": [1299, -2]}), bson!(1200)),
        ],
    );
}

#[test]
fn arithmetic_errors_carry_mongod_codes() {
    let d = sample();
    for (expr, code) in [
        (bson!({"$add": ["$item", 1]}), 16554),
        (bson!({"$add": ["$date", "$date"]}), 16612),
        (bson!({"$subtract": ["$item", 1]}), 16556),
        (bson!({"$multiply": ["$item", 1]}), 16555),
        (bson!({"$divide": [1, 0]}), 2),
        (bson!({"$divide": ["a", 1]}), 16609),
        (bson!({"$mod": [1, 0]}), 16610),
        (bson!({"$mod": ["a", 1]}), 16611),
        (bson!({"$abs": "a"}), 28765),
        (bson!({"$abs": {"$literal": i64::MIN}}), 28680),
        (bson!({"$sqrt": -1}), 28714),
        (bson!({"$ln": 0}), 28766),
        (bson!({"$log10": -1}), 28761),
        (bson!({"$pow": [0, -1]}), 28764),
        (bson!({"$pow": ["a", 1]}), 28762),
        (bson!({"$subtract": [1]}), 16020),
        (bson!({"$round": [1, 2, 3]}), 28667),
        (bson!({"$foo": 1}), 168),
        (bson!({"$add": 1, "$subtract": 2}), 15983),
    ] {
        check_error(&d, expr, code);
    }
}

#[test]
fn comparison_and_boolean_operators_use_bson_order() {
    let d = sample();
    check_all(
        &d,
        vec![
            (bson!({"$eq": ["$price", 10.0]}), bson!(true)),
            (bson!({"$eq": ["$missing", null]}), bson!(false)),
            (bson!({"$eq": ["$missing", "$alsoMissing"]}), bson!(true)),
            (bson!({"$ne": ["$price", 10]}), bson!(false)),
            (bson!({"$gt": ["$price", 9]}), bson!(true)),
            (bson!({"$gt": ["$item", 9]}), bson!(true)),
            (bson!({"$gte": ["$price", 10]}), bson!(true)),
            (bson!({"$lt": ["$nil", 0]}), bson!(true)),
            (bson!({"$lte": ["$price", 9]}), bson!(false)),
            (bson!({"$cmp": ["$price", 250]}), bson!(-1)),
            (bson!({"$cmp": ["$price", 10]}), bson!(0)),
            (bson!({"$cmp": ["b", "a"]}), bson!(1)),
            (bson!({"$and": [1, "green"]}), bson!(true)),
            (bson!({"$and": []}), bson!(true)),
            (bson!({"$and": [[], null]}), bson!(false)),
            (bson!({"$and": [0, {"$divide": [1, 0]}]}), bson!(false)),
            (bson!({"$or": [false, 0, "$missing"]}), bson!(false)),
            (bson!({"$or": [[false]]}), bson!(true)),
            (bson!({"$not": [[false]]}), bson!(false)),
            (bson!({"$not": [null]}), bson!(true)),
            (bson!({"$not": [0]}), bson!(true)),
        ],
    );
}

#[test]
fn conditionals_choose_branches() {
    let d = sample();
    check_all(
        &d,
        vec![
            (
                bson!({"$cond": {"if": {"$gte": ["$qty", 5]}, "then": 30, "else": 20}}),
                bson!(30),
            ),
            (bson!({"$cond": [{"$lt": ["$qty", 5]}, 30, 20]}), bson!(20)),
            (
                bson!({"$ifNull": ["$missing", "Unspecified"]}),
                bson!("Unspecified"),
            ),
            (bson!({"$ifNull": ["$nil", "$missing", 3]}), bson!(3)),
            (bson!({"$ifNull": ["$item", "x"]}), bson!("abc")),
            (
                bson!({"$switch": {"branches": [
            {"case": {"$gt": ["$price", 100]}, "then": "high"},
            {"case": {"$gt": ["$price", 5]}, "then": "mid"},
        ], "default": "low"}}),
                bson!("mid"),
            ),
            (
                bson!({"$switch": {"branches": [{"case": false, "then": 1}], "default": "none"}}),
                bson!("none"),
            ),
        ],
    );
    for (expr, code) in [
        (bson!({"$cond": {"if": true, "then": 1}}), 17082),
        (bson!({"$cond": {"then": 1, "else": 2}}), 17080),
        (
            bson!({"$cond": {"if": 1, "then": 1, "else": 2, "x": 3}}),
            17083,
        ),
        (bson!({"$cond": [1, 2]}), 16020),
        (bson!({"$ifNull": ["$a"]}), 1257300),
        (
            bson!({"$switch": {"branches": [{"case": false, "then": 1}]}}),
            40066,
        ),
        (bson!({"$switch": {"branches": []}}), 40068),
        (bson!({"$switch": {"branches": [{"case": true}]}}), 40065),
    ] {
        check_error(&d, expr, code);
    }
}

#[test]
fn field_paths_reach_through_arrays_and_variables() {
    let d = sample();
    check_all(
        &d,
        vec![
            (bson!("$a.b"), bson!(1)),
            (bson!("$a.c"), bson!([1, 2, 3])),
            (bson!("$arr.x"), bson!([1, 2])),
            (bson!("$missing.x"), Bson::Null),
            (bson!("$item.x"), Bson::Null),
            (bson!("$$ROOT.item"), bson!("abc")),
            (bson!("$$CURRENT.a.b"), bson!(1)),
            (bson!({"$literal": "$item"}), bson!("$item")),
            (bson!({"$literal": {"$add": 1}}), bson!({"$add": 1})),
            (
                bson!({"x": "$price", "y": {"z": "$a.b"}, "gone": "$$REMOVE"}),
                bson!({"x": 10, "y": {"z": 1}}),
            ),
            (bson!(["$price", "$missing"]), bson!([10, null])),
            (
                bson!({"$let": {"vars": {"total": {"$add": ["$price", 1]}, "n": 2}, "in": {"$multiply": ["$$total", "$$n"]}}}),
                bson!(22),
            ),
            (
                bson!({"$let": {"vars": {"d": "$a"}, "in": "$$d.b"}}),
                bson!(1),
            ),
            (
                bson!({"$let": {"vars": {"x": 1}, "in": {"$let": {"vars": {"x": 2}, "in": "$$x"}}}}),
                bson!(2),
            ),
        ],
    );
    for (expr, code) in [
        (bson!("$$undefinedVar"), 17276),
        (bson!("$"), 16872),
        (bson!("$a..b"), 15998),
        (bson!({"$let": {"vars": {"Bad": 1}, "in": 1}}), 16867),
        (bson!({"$let": {"vars": {}}}), 16877),
        (bson!({"$let": {"vars": {"x": "$$x"}, "in": 1}}), 17276),
        (bson!({"a.b": 1}), 16412),
    ] {
        check_error(&d, expr, code);
    }
}

#[test]
fn string_operators_match_the_manual() {
    let d = sample();
    check_all(
        &d,
        vec![
            (bson!({"$concat": ["$item", " - ", "x"]}), bson!("abc - x")),
            (bson!({"$concat": ["$item", "$missing"]}), Bson::Null),
            (bson!({"$substr": ["$item", 0, 2]}), bson!("ab")),
            (bson!({"$substrBytes": ["$str", 6, -1]}), bson!("World")),
            (bson!({"$substrBytes": ["$str", 20, 2]}), bson!("")),
            (bson!({"$substrCP": ["cafétéria", 0, 5]}), bson!("cafét")),
            (bson!({"$substrCP": ["cafétéria", 5, 4]}), bson!("éria")),
            (bson!({"$toLower": "$str"}), bson!("hello world")),
            (bson!({"$toUpper": "$str"}), bson!("HELLO WORLD")),
            (bson!({"$toUpper": "$missing"}), bson!("")),
            (bson!({"$toLower": 12}), bson!("12")),
            (bson!({"$strLenBytes": "cafétéria"}), bson!(11)),
            (bson!({"$strLenCP": "cafétéria"}), bson!(9)),
            (
                bson!({"$split": ["June-15-2013", "-"]}),
                bson!(["June", "15", "2013"]),
            ),
            (bson!({"$split": ["a", "-"]}), bson!(["a"])),
            (bson!({"$split": [null, "-"]}), Bson::Null),
            (bson!({"$trim": {"input": "  ggr ooo  "}}), bson!("ggr ooo")),
            (bson!({"$ltrim": {"input": "  x  "}}), bson!("x  ")),
            (bson!({"$rtrim": {"input": "  x  "}}), bson!("  x")),
            (
                bson!({"$trim": {"input": "xxaxx", "chars": "x"}}),
                bson!("a"),
            ),
            (bson!({"$trim": {"input": null}}), Bson::Null),
            (bson!({"$indexOfBytes": ["cafeteria", "e"]}), bson!(3)),
            (bson!({"$indexOfBytes": ["cafétéria", "é"]}), bson!(3)),
            (bson!({"$indexOfBytes": ["cafétéria", "t"]}), bson!(5)),
            (bson!({"$indexOfCP": ["cafétéria", "t"]}), bson!(4)),
            (bson!({"$indexOfBytes": ["foo.bar.fi", ".", 5]}), bson!(7)),
            (bson!({"$indexOfBytes": ["vanilla", "ll", 0, 2]}), bson!(-1)),
            (bson!({"$indexOfBytes": ["vanilla", "nilla", 3]}), bson!(-1)),
            (bson!({"$indexOfBytes": [null, "a"]}), Bson::Null),
            (bson!({"$indexOfBytes": ["abc", ""]}), bson!(0)),
            (bson!({"$strcasecmp": ["ABC", "abc"]}), bson!(0)),
            (bson!({"$strcasecmp": ["abd", "ABC"]}), bson!(1)),
        ],
    );
    for (expr, code) in [
        (bson!({"$concat": ["a", 1]}), 16702),
        (bson!({"$strLenBytes": 1}), 34473),
        (bson!({"$strLenCP": "$missing"}), 34471),
        (bson!({"$split": [1, "-"]}), 40085),
        (bson!({"$split": ["a", ""]}), 40087),
        (bson!({"$substrBytes": ["cafétéria", 4, 1]}), 28656),
        (bson!({"$substrBytes": ["cafétéria", 0, 4]}), 28657),
        (bson!({"$substrCP": ["abc", -1, 1]}), 34455),
        (bson!({"$substrCP": ["abc", 0, "a"]}), 34452),
        (bson!({"$trim": {"input": 1}}), 50699),
        (bson!({"$trim": {"chars": "a"}}), 50695),
        (bson!({"$toUpper": [[1]]}), 16007),
        (bson!({"$indexOfBytes": [1, "a"]}), 40091),
        (bson!({"$indexOfBytes": ["a", "a", -1]}), 40097),
    ] {
        check_error(&d, expr, code);
    }
}

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
fn type_operators_convert_as_mongod() {
    let d = sample();
    check_all(
        &d,
        vec![
            (bson!({"$type": "$item"}), bson!("string")),
            (bson!({"$type": "$missing"}), bson!("missing")),
            (bson!({"$type": "$price"}), bson!("int")),
            (bson!({"$type": "$long"}), bson!("long")),
            (bson!({"$type": "$a"}), bson!("object")),
            (bson!({"$type": [[1]]}), bson!("array")),
            (bson!({"$toString": 2.5}), bson!("2.5")),
            (bson!({"$toString": 1.0}), bson!("1")),
            (bson!({"$toString": true}), bson!("true")),
            (
                bson!({"$toString": "$date"}),
                bson!("2014-03-03T00:00:00.000Z"),
            ),
            (bson!({"$toInt": 2.5}), bson!(2)),
            (bson!({"$toInt": "100"}), bson!(100)),
            (bson!({"$toInt": true}), bson!(1)),
            (bson!({"$toLong": "$date"}), bson!(1_393_804_800_000_i64)),
            (bson!({"$toDouble": "5.5"}), bson!(5.5)),
            (bson!({"$toDouble": false}), bson!(0.0)),
            (bson!({"$toBool": 0}), bson!(false)),
            (bson!({"$toBool": "false"}), bson!(true)),
            (bson!({"$toBool": "$missing"}), Bson::Null),
            (
                bson!({"$toDate": "2018-03-03"}),
                Bson::DateTime(DateTime::from_millis(1_520_035_200_000)),
            ),
            (
                bson!({"$toDate": "2018-03-20T11:00:06.123Z"}),
                Bson::DateTime(DateTime::from_millis(1_521_543_606_123)),
            ),
            (
                bson!({"$toDate": Bson::Int64(120_000_000_000)}),
                Bson::DateTime(DateTime::from_millis(120_000_000_000)),
            ),
            (bson!({"$isNumber": "5"}), bson!(false)),
            (
                bson!({"$convert": {"input": "abc", "to": "int", "onError": "bad"}}),
                bson!("bad"),
            ),
            (
                bson!({"$convert": {"input": null, "to": "int", "onNull": 0}}),
                bson!(0),
            ),
            (bson!({"$convert": {"input": "12", "to": 16}}), bson!(12)),
            (bson!({"$convert": {"input": 5, "to": "bool"}}), bson!(true)),
        ],
    );
    for (expr, code) in [
        (bson!({"$toInt": "abc"}), 241),
        (bson!({"$toInt": "1.5"}), 241),
        (bson!({"$toInt": Bson::Int64(i64::MAX)}), 241),
        (bson!({"$toInt": "$date"}), 241),
        (bson!({"$convert": {"input": 1, "to": "foo"}}), 2),
        (bson!({"$convert": {"input": 1}}), 9),
        (bson!({"$toObjectId": "xyz"}), 241),
    ] {
        check_error(&d, expr, code);
    }
}

#[test]
fn missing_is_distinct_from_null_until_reported() {
    let d = sample();
    let removed = Expr::parse(&bson!("$$REMOVE")).and_then(|e| e.eval_optional(&d));
    assert_eq!(removed, Ok(None));
    let cond =
        Expr::parse(&bson!({"$cond": [false, 1, "$$REMOVE"]})).and_then(|e| e.eval_optional(&d));
    assert_eq!(cond, Ok(None));
    assert_eq!(
        Expr::parse(&bson!("$missing")).and_then(|e| e.eval(&d)),
        Ok(Bson::Null)
    );
}

#[test]
fn deep_nesting_is_refused_at_parse_time() {
    let mut expr = bson!(1);
    for _ in 0..super::EXPR_DEPTH_MAX + 5 {
        expr = bson!({"$abs": expr});
    }
    let err = Expr::parse(&expr).err().map(|e| e.code);
    assert_eq!(err, Some(crate::Code::OVERFLOW));
}

#[test]
fn growing_values_are_bounded() {
    // Doubling an array 30 times would need 2^30 elements.
    let mut expr = bson!([1]);
    for _ in 0..30 {
        expr = bson!({"$let": {"vars": {"x": expr}, "in": {"$concatArrays": ["$$x", "$$x"]}}});
    }
    let err = Expr::parse(&expr)
        .and_then(|e| e.eval(&doc! {}))
        .err()
        .map(|e| e.code);
    assert_eq!(err, Some(crate::Code::BSON_OBJECT_TOO_LARGE));
}

fn arbitrary_bson() -> impl Strategy<Value = Bson> {
    let leaf = prop_oneof![
        Just(Bson::Null),
        any::<i32>().prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
        any::<f64>().prop_map(Bson::Double),
        any::<bool>().prop_map(Bson::Boolean),
        "\\$?\\$?[a-cxROT.]{0,4}".prop_map(Bson::String),
        any::<i64>().prop_map(|m| Bson::DateTime(DateTime::from_millis(m))),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        let names = prop::sample::select(vec![
            "$add",
            "$subtract",
            "$multiply",
            "$divide",
            "$mod",
            "$pow",
            "$round",
            "$trunc",
            "$abs",
            "$concat",
            "$substrCP",
            "$substrBytes",
            "$split",
            "$indexOfBytes",
            "$slice",
            "$range",
            "$arrayElemAt",
            "$in",
            "$cond",
            "$ifNull",
            "$eq",
            "$lt",
            "$and",
            "$toInt",
            "$toString",
            "$toDate",
            "$filter",
            "$map",
            "$let",
            "$reduce",
            "$switch",
            "$trim",
            "$convert",
            "$literal",
            "$size",
            "$indexOfArray",
            "$log",
            "$sqrt",
            "a",
            "b",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            (names, inner.clone()).prop_map(|(k, v)| Bson::Document(doc! {k: v})),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "input", "as", "in", "cond", "vars", "if", "then", "else", "to",
                        "branches", "case", "x"
                    ]),
                    inner
                ),
                0..4
            )
            .prop_map(|fields| Bson::Document(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn parse_and_eval_never_panic(expr in arbitrary_bson(), value in arbitrary_bson()) {
        let doc = doc! {"a": value.clone(), "b": [value, {"x": 1}]};
        if let Ok(parsed) = Expr::parse(&expr) {
            let _ = parsed.eval(&doc);
        }
    }
}

#[test]
fn date_operators_match_the_manual() {
    let d = doc! {
        "date": DateTime::from_millis(1_388_564_139_736), // 2014-01-01T08:15:39.736Z
        "newYear2016": DateTime::from_millis(1_451_606_400_000), // 2016-01-01T00:00:00Z
    };
    check_all(
        &d,
        vec![
            (bson!({"$year": "$date"}), bson!(2014)),
            (bson!({"$month": "$date"}), bson!(1)),
            (bson!({"$dayOfMonth": "$date"}), bson!(1)),
            (bson!({"$hour": "$date"}), bson!(8)),
            (bson!({"$minute": "$date"}), bson!(15)),
            (bson!({"$second": "$date"}), bson!(39)),
            (bson!({"$millisecond": "$date"}), bson!(736)),
            (bson!({"$dayOfYear": "$date"}), bson!(1)),
            (bson!({"$dayOfWeek": "$date"}), bson!(4)),
            (bson!({"$week": "$date"}), bson!(0)),
            (bson!({"$isoDayOfWeek": "$date"}), bson!(3)),
            (bson!({"$isoWeek": "$date"}), bson!(1)),
            (bson!({"$isoWeek": "$newYear2016"}), bson!(53)),
            (bson!({"$isoWeekYear": "$newYear2016"}), bson!(2015)),
            (bson!({"$year": ["$date"]}), bson!(2014)),
            (
                bson!({"$hour": {"date": "$date", "timezone": "+04:30"}}),
                bson!(12),
            ),
            (
                bson!({"$minute": {"date": "$date", "timezone": "+0430"}}),
                bson!(45),
            ),
            (
                bson!({"$dayOfMonth": {"date": "$date", "timezone": "-09"}}),
                bson!(31),
            ),
            (bson!({"$year": "$missing"}), Bson::Null),
            (
                bson!({"$dateToString": {"format": "%Y-%m-%d", "date": "$date"}}),
                bson!("2014-01-01"),
            ),
            (
                bson!({"$dateToString": {"format": "%H:%M:%S:%L%z", "date": "$date"}}),
                bson!("08:15:39:736+0000"),
            ),
            (
                bson!({"$dateToString": {"format": "%H:%M %z", "date": "$date", "timezone": "-05:00"}}),
                bson!("03:15 -0500"),
            ),
            (
                bson!({"$dateToString": {"date": "$date"}}),
                bson!("2014-01-01T08:15:39.736Z"),
            ),
            (
                bson!({"$dateToString": {"format": "%j %w %u %U %V %G %%", "date": "$date"}}),
                bson!("001 4 3 00 01 2014 %"),
            ),
            (
                bson!({"$dateToString": {"date": "$missing", "onNull": "none"}}),
                bson!("none"),
            ),
        ],
    );
    for (expr, code) in [
        (bson!({"$year": "$$ROOT"}), 16006),
        (bson!({"$year": {"date": "$date", "x": 1}}), 40535),
        (bson!({"$year": {"timezone": "UTC"}}), 40539),
        (
            bson!({"$hour": {"date": "$date", "timezone": "America/New_York"}}),
            40485,
        ),
        (
            bson!({"$dateToString": {"format": "%Q", "date": "$date"}}),
            18536,
        ),
        (
            bson!({"$dateToString": {"format": "%", "date": "$date"}}),
            18535,
        ),
        (bson!({"$dateToString": {"format": "%Y"}}), 18628),
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

#[test]
fn regex_operators_match_the_manual() {
    let d = doc! {"description": "Single LINE description.", "cafe": "cafétéria"};
    let re = |pattern: &str, options: &str| {
        Bson::RegularExpression(bson::Regex {
            pattern: pattern.try_into().expect("no NUL in test patterns"),
            options: options.try_into().expect("no NUL in test options"),
        })
    };
    check_all(
        &d,
        vec![
            (
                bson!({"$regexMatch": {"input": "$description", "regex": "line"}}),
                bson!(false),
            ),
            (
                bson!({"$regexMatch": {"input": "$description", "regex": "line", "options": "i"}}),
                bson!(true),
            ),
            (
                bson!({"$regexMatch": {"input": "$description", "regex": re("line", "i")}}),
                bson!(true),
            ),
            (
                bson!({"$regexMatch": {"input": "$missing", "regex": "x"}}),
                bson!(false),
            ),
            (
                bson!({"$regexFind": {"input": "$description", "regex": re("line", "i")}}),
                bson!({"match": "LINE", "idx": 7, "captures": []}),
            ),
            (
                bson!({"$regexFind": {"input": "$cafe", "regex": "t(é)"}}),
                bson!({"match": "té", "idx": 4, "captures": ["é"]}),
            ),
            (
                bson!({"$regexFind": {"input": "$description", "regex": "zzz"}}),
                Bson::Null,
            ),
            (
                bson!({"$regexFindAll": {"input": "abc abc", "regex": "(b)(x)?"}}),
                bson!([
                    {"match": "b", "idx": 1, "captures": ["b", null]},
                    {"match": "b", "idx": 5, "captures": ["b", null]},
                ]),
            ),
            (
                bson!({"$regexFindAll": {"input": "$missing", "regex": "a"}}),
                bson!([]),
            ),
            (
                bson!({"$regexMatch": {"input": "A", "regex": {"$concat": ["a", ""]}, "options": {"$literal": "i"}}}),
                bson!(true),
            ),
        ],
    );
    for (expr, code) in [
        (bson!({"$regexMatch": "x"}), 51103),
        (bson!({"$regexMatch": {"input": 1, "regex": "a"}}), 51104),
        (bson!({"$regexMatch": {"input": "a", "regex": 1}}), 51105),
        (
            bson!({"$regexMatch": {"input": "a", "regex": "a", "options": "q"}}),
            51108,
        ),
        (bson!({"$regexMatch": {"input": "a", "regex": "("}}), 51111),
        (
            bson!({"$regexMatch": {"input": "a", "regex": re("a", "i"), "options": "m"}}),
            51107,
        ),
        (bson!({"$regexMatch": {"regex": "a"}}), 31022),
    ] {
        check_error(&d, expr, code);
    }
}

proptest! {
    /// Comparisons of paths and constants take a borrowing fast path; `$cmp`
    /// always evaluates. They must agree.
    #[test]
    fn comparison_fast_path_agrees_with_cmp(value in arbitrary_bson(), other in arbitrary_bson()) {
        let doc = doc! {"a": value.clone(), "n": {"b": other.clone()}, "arr": [{"b": value}]};
        for (left, right) in [("$a", "$n.b"), ("$n.b", "$a"), ("$a", "$missing"), ("$arr.b", "$a"), ("$n", "$a.b")] {
            let cmp = Expr::parse(&bson!({"$cmp": [left, right]})).and_then(|e| e.eval(&doc));
            let Ok(Bson::Int32(cmp)) = cmp else { panic!("$cmp failed: {cmp:?}") };
            for (op, expected) in [("$eq", cmp == 0), ("$ne", cmp != 0), ("$lt", cmp < 0), ("$lte", cmp <= 0), ("$gt", cmp > 0), ("$gte", cmp >= 0)] {
                let got = Expr::parse(&bson!({op: [left, right]})).and_then(|e| e.eval(&doc));
                prop_assert_eq!(got, Ok(Bson::Boolean(expected)), "{} {} {}", op, left, right);
            }
        }
        let literal = Expr::parse(&bson!({"$eq": ["$a", {"$literal": other.clone()}]})).and_then(|e| e.eval(&doc));
        let slow = Expr::parse(&bson!({"$eq": [{"$cond": [true, "$a", 0]}, {"$literal": other}]})).and_then(|e| e.eval(&doc));
        prop_assert_eq!(literal, slow);
    }
}

#[test]
fn literals_that_repeat_a_variable_are_bounded() {
    for shape in [bson!(["$$x", "$$x"]), bson!({"l": "$$x", "r": "$$x"})] {
        let mut expr = Bson::String("x".repeat(4096));
        for _ in 0..40 {
            expr = bson!({"$let": {"vars": {"x": expr}, "in": shape.clone()}});
        }
        let err = Expr::parse(&expr)
            .and_then(|e| e.eval(&doc! {}))
            .err()
            .map(|e| e.code);
        assert_eq!(err, Some(crate::Code::BSON_OBJECT_TOO_LARGE), "{shape}");
    }
}

/// mongod's overflow promotion cases (jstests/aggregation/expressions/arith_overflow.js)
/// and date arithmetic with fractional milliseconds (add_with_date.js).
#[test]
fn arithmetic_overflow_promotes_as_mongod() {
    let d = doc! {
        "i": 2_000_000_000, "ni": -2_000_000_000, "l": 9_000_000_000_000_000_000_i64, "nl": -9_000_000_000_000_000_000_i64,
        "date": DateTime::from_millis(1_548_833_410_137), "dbl": 819.536, "l820": 820_i64,
    };
    check_all(
        &d,
        vec![
            (bson!({"$add": ["$i", "$i"]}), bson!(4_000_000_000_i64)),
            (bson!({"$add": ["$l", "$l"]}), bson!(1.8e19)),
            (
                bson!({"$subtract": ["$i", "$ni"]}),
                bson!(4_000_000_000_i64),
            ),
            (bson!({"$subtract": ["$l", "$nl"]}), bson!(1.8e19)),
            (
                bson!({"$multiply": ["$i", "$ni"]}),
                bson!(-4_000_000_000_000_000_000_i64),
            ),
            (bson!({"$multiply": ["$l", "$nl"]}), bson!(-8.1e37)),
            (
                bson!({"$add": ["$date", "$dbl"]}),
                Bson::DateTime(DateTime::from_millis(1_548_833_410_957)),
            ),
            (
                bson!({"$add": ["$dbl", "$date"]}),
                Bson::DateTime(DateTime::from_millis(1_548_833_410_957)),
            ),
            (
                bson!({"$add": ["$date", "$l820"]}),
                Bson::DateTime(DateTime::from_millis(1_548_833_410_957)),
            ),
        ],
    );
}
