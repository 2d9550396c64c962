//! Arithmetic operators: the manual's examples, mongod's type promotion,
//! and error codes.

use bson::{Bson, DateTime, bson, doc};

use crate::expr::Expr;

use super::*;

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

#[test]
fn decimal_inputs_give_decimal_results_at_fifteen_digits() {
    let dec = |s: &str| Bson::Decimal128(s.parse().expect("valid decimal literal"));
    let d = doc! {"a": dec("0.1"), "b": dec("0.2"), "ten": dec("10")};
    for (expr, expected) in [
        (bson!({"$add": ["$a", "$b"]}), "0.3"),
        (bson!({"$add": ["$ten", 20]}), "30"),
        (bson!({"$multiply": ["$ten", 1.5]}), "15"),
        (bson!({"$divide": ["$ten", 4]}), "2.5"),
    ] {
        let got = Expr::parse(&expr).and_then(|e| e.eval(&d));
        assert_eq!(
            got.map(|v| v.to_string()),
            Ok(dec(expected).to_string()),
            "{expr}"
        );
    }
}
