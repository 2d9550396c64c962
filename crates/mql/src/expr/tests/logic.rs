//! Comparison, boolean and conditional operators, field paths and variables.

use bson::{Bson, bson};

use super::*;

#[test]
fn comparison_and_boolean_operators_use_bson_order() {
    let d = sample();
    check_all(
        &d,
        vec![
            (bson!({"$eq": ["$price", 10.0]}), bson!(true)),
            (bson!({"$eq": ["$missing", null]}), bson!(false)),
            (bson!({"$eq": ["$missing", "$alsoMissing"]}), bson!(true)),
            (
                bson!({"$eq": ["$missing", {"$literal": Bson::Undefined}]}),
                bson!(true),
            ),
            (bson!({"$gt": ["$missing", Bson::MinKey]}), bson!(true)),
            (bson!({"$lt": ["$missing", null]}), bson!(true)),
            (bson!({"$in": ["$missing", [Bson::Undefined]]}), bson!(true)),
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
fn caller_bound_variables_parse_and_evaluate() {
    let names = vec!["limit".to_string()];
    let expr = Expr::parse_with_vars(&bson!({"$lt": ["$qty", "$$limit"]}), &names)
        .expect("limit is bound by the caller");
    let vars = vec![("limit".to_string(), Bson::Int32(10))];
    assert_eq!(
        expr.eval_with(&doc! {"qty": 5}, &vars),
        Ok(Some(Bson::Boolean(true)))
    );
    assert_eq!(
        expr.eval_with(&doc! {"qty": 15}, &vars),
        Ok(Some(Bson::Boolean(false)))
    );
    let unbound = Expr::parse(&bson!("$$limit")).err().map(|e| e.code.0);
    assert_eq!(unbound, Some(17276));
}
