//! Arithmetic for `$inc` and `$mul` with mongod's numeric type rules.
//!
//! The result takes the wider of the two operand types (int < long < double <
//! decimal), except that an int32 result which overflows widens to int64, as
//! mongod's `SafeNum` does. An int64 overflow has no wider integer to go to
//! and is reported as `None`, which the caller turns into mongod's error.
//!
//! Decimal arithmetic is exact while the coefficient fits in 128 bits
//! (the decimal128 parser then rounds to 34 digits); beyond that it falls
//! back to double precision. FIXME(update): mongod rounds decimal128 results
//! exactly per IEEE 754-2008; the fallback can differ in the last digits.

use bson::{Bson, Decimal128};

use crate::order::decimal_to_f64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Mul,
}

/// Whether `value` is one of BSON's four numeric types.
pub(crate) fn is_number(value: &Bson) -> bool {
    matches!(
        value,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
    )
}

/// Computes `current op operand`; `None` when an int64 overflows.
pub(crate) fn compute(op: ArithOp, current: &Bson, operand: &Bson) -> Option<Bson> {
    match (current, operand) {
        (Bson::Decimal128(_), _) | (_, Bson::Decimal128(_)) => {
            Some(Bson::Decimal128(decimal(op, current, operand)))
        }
        (Bson::Double(_), _) | (_, Bson::Double(_)) => {
            let (a, b) = (as_f64(current), as_f64(operand));
            Some(Bson::Double(match op {
                ArithOp::Add => a + b,
                ArithOp::Mul => a * b,
            }))
        }
        (Bson::Int32(a), Bson::Int32(b)) => {
            let wide = match op {
                ArithOp::Add => i64::from(*a) + i64::from(*b),
                ArithOp::Mul => i64::from(*a) * i64::from(*b),
            };
            Some(i32::try_from(wide).map_or(Bson::Int64(wide), Bson::Int32))
        }
        _ => {
            let (a, b) = (as_i64(current)?, as_i64(operand)?);
            let result = match op {
                ArithOp::Add => a.checked_add(b),
                ArithOp::Mul => a.checked_mul(b),
            };
            result.map(Bson::Int64)
        }
    }
}

/// Zero of `operand`'s type: what `$mul` stores into a missing field.
pub(crate) fn zero_like(operand: &Bson) -> Bson {
    compute(ArithOp::Mul, operand, &Bson::Int32(0)).unwrap_or(Bson::Int32(0))
}

fn as_i64(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Int64(i) => Some(*i),
        _ => None,
    }
}

fn as_f64(value: &Bson) -> f64 {
    match value {
        Bson::Int32(i) => f64::from(*i),
        Bson::Int64(i) => *i as f64,
        Bson::Double(d) => *d,
        Bson::Decimal128(d) => decimal_to_f64(d),
        _ => 0.0,
    }
}

/// A finite decimal as sign, coefficient and power of ten.
#[derive(Debug, Clone, Copy)]
struct Exact {
    negative: bool,
    coefficient: u128,
    exponent: i32,
}

fn exact(value: &Bson) -> Option<Exact> {
    let text = match value {
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        // mongod converts a double to decimal at 15 significant digits.
        Bson::Double(d) if d.is_finite() => format!("{d:.14e}"),
        Bson::Decimal128(d) => d.to_string(),
        _ => return None,
    };
    parse_exact(&text)
}

fn parse_exact(text: &str) -> Option<Exact> {
    let lower = text.to_ascii_lowercase();
    let (negative, unsigned) = match lower.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, lower.strip_prefix('+').unwrap_or(&lower)),
    };
    let (mantissa, exp_text) = unsigned.split_once('e').unwrap_or((unsigned, "0"));
    let mut exponent: i32 = exp_text.parse().ok()?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    exponent = exponent.checked_sub(i32::try_from(fraction.len()).ok()?)?;
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let coefficient = digits.trim_start_matches('0');
    let coefficient = if coefficient.is_empty() {
        0
    } else {
        coefficient.parse().ok()?
    };
    Some(Exact {
        negative,
        coefficient,
        exponent,
    })
}

fn decimal(op: ArithOp, a: &Bson, b: &Bson) -> Decimal128 {
    let exact_result = exact(a).zip(exact(b)).and_then(|(x, y)| match op {
        ArithOp::Add => add_exact(x, y),
        ArithOp::Mul => mul_exact(x, y),
    });
    let text = match exact_result {
        Some(r) => format!(
            "{}{}e{}",
            if r.negative { "-" } else { "" },
            r.coefficient,
            r.exponent
        ),
        None => {
            let (x, y) = (as_f64(a), as_f64(b));
            let value = match op {
                ArithOp::Add => x + y,
                ArithOp::Mul => x * y,
            };
            float_text(value)
        }
    };
    text.parse()
        .unwrap_or_else(|_| "NaN".parse().unwrap_or(Decimal128::from_bytes([0; 16])))
}

fn float_text(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        format!("{value:e}")
    }
}

fn add_exact(x: Exact, y: Exact) -> Option<Exact> {
    let exponent = x.exponent.min(y.exponent);
    let scale = |v: Exact| -> Option<i128> {
        let shift = u32::try_from(v.exponent - exponent).ok()?;
        let magnitude = i128::try_from(v.coefficient)
            .ok()?
            .checked_mul(10i128.checked_pow(shift)?)?;
        Some(if v.negative { -magnitude } else { magnitude })
    };
    let sum = scale(x)?.checked_add(scale(y)?)?;
    Some(Exact {
        negative: sum < 0,
        coefficient: sum.unsigned_abs(),
        exponent,
    })
}

fn mul_exact(x: Exact, y: Exact) -> Option<Exact> {
    Some(Exact {
        negative: x.negative != y.negative,
        coefficient: x.coefficient.checked_mul(y.coefficient)?,
        exponent: x.exponent.checked_add(y.exponent)?,
    })
}
