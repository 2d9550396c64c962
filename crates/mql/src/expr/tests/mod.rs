//! Expression tests: tables of (expression, expected result) over sample
//! documents, mostly the MongoDB manual's examples for each operator, and
//! tables of (expression, mongod error code).

use bson::{Bson, DateTime, Document, doc};

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

mod arithmetic;
mod collections;
mod limits;
mod logic;
mod properties;
mod text;
mod types;
