//! Properties over arbitrary expressions: no panics, and the comparison
//! fast path agreeing with `$cmp`.

use bson::{Bson, DateTime, bson, doc};
use proptest::prelude::*;

use super::*;
use crate::expr::Expr;

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
            "$dateAdd",
            "$dateDiff",
            "$dateToString",
            "$year",
            "$regexFind",
            "$setUnion",
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
                        "input",
                        "startDate",
                        "unit",
                        "amount",
                        "date",
                        "regex",
                        "as",
                        "in",
                        "cond",
                        "vars",
                        "if",
                        "then",
                        "else",
                        "to",
                        "branches",
                        "case",
                        "x"
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
