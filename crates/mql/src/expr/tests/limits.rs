//! Nesting and value-size limits.

use bson::{Bson, bson, doc};

use crate::expr::Expr;

#[test]
fn deep_nesting_is_refused_at_parse_time() {
    let mut expr = bson!(1);
    for _ in 0..crate::expr::EXPR_DEPTH_MAX + 5 {
        expr = bson!({"$abs": expr});
    }
    let err = Expr::parse(&expr).err().map(|e| e.code);
    assert_eq!(err, Some(crate::Code::OVERFLOW));
}

/// Nesting just under the limit evaluates on a 2 MiB stack (the server's
/// threads', tokio's blocking pool, and a test thread's), debug builds
/// included: with every
/// operator's temporaries in one function, 80 levels of `$max` or `$year`
/// overflowed it (found by the `run_command` fuzz target's nesting seeds).
#[test]
fn deep_nesting_under_the_limit_evaluates_on_a_small_stack() {
    let wraps: [fn(Bson) -> Bson; 5] = [
        |e| bson!({"$max": [e]}),
        |e| bson!({"$year": e}),
        |e| bson!({"$add": [e, 1]}),
        |e| bson!({"$let": {"vars": {"v": e}, "in": "$$v"}}),
        |e| bson!({"$convert": {"input": e, "to": "int", "onError": 0}}),
    ];
    for wrap in wraps {
        let mut expr = bson!(1);
        for _ in 0..crate::expr::EXPR_DEPTH_MAX - 1 {
            expr = wrap(expr);
        }
        // A value or an error (`$year` of a number, found at parse time
        // when constants fold) is fine; an overflow aborts the process.
        let run = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || Expr::parse(&expr).and_then(|e| e.eval(&doc! {})).is_ok())
            .expect("spawn")
            .join();
        assert!(run.is_ok());
    }
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

/// Edge values of the `run_command` fuzz target's mutator that panicked
/// when probed by hand (fuzz/README.md): each now fails with mongod's code.
#[test]
fn extreme_values_fail_with_mongod_codes() {
    let extremes = doc! {
        "min": bson::DateTime::from_millis(i64::MIN),
        "max": bson::DateTime::from_millis(i64::MAX),
    };
    let cases = [
        (
            bson!({"$dateDiff": {"startDate": "$min", "endDate": "$max", "unit": "millisecond"}}),
            5166308,
        ),
        // mongod says "dateAdd overflowed" for both, as dateSubtract adds.
        (
            bson!({"$dateAdd": {"startDate": "$max", "unit": "millisecond", "amount": 1}}),
            5166406,
        ),
        (
            bson!({"$dateSubtract": {"startDate": "$min", "unit": "day", "amount": 1}}),
            5166406,
        ),
        (
            bson!({"$dateAdd": {"startDate": "$max", "unit": "year", "amount": 1_000_000}}),
            5166406,
        ),
    ];
    for (expr, code) in cases {
        super::check_error(&extremes, expr, code);
    }
}
