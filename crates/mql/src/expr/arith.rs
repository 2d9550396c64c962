//! Arithmetic operators with mongod's type rules.
//!
//! Results take the widest input type (int < long < double < decimal);
//! int32 results that overflow become int64 and int64 results that overflow
//! become double. Null or missing inputs give null. Decimal inputs are
//! computed in double precision (a documented approximation) but keep their
//! decimal type in the result.

use bson::{Bson, DateTime, Decimal128};

use super::ast::Op;
use super::eval::arg;
use super::value::{is_nullish, type_name};
use crate::{Code, Error, Result};

type Out = Result<Option<Bson>>;

/// A number with its BSON width; decimals are carried as doubles.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Num {
    Int(i32),
    Long(i64),
    Double(f64),
    Decimal(f64),
}

impl Num {
    pub(crate) fn of(value: &Bson) -> Option<Num> {
        match value {
            Bson::Int32(i) => Some(Num::Int(*i)),
            Bson::Int64(i) => Some(Num::Long(*i)),
            Bson::Double(d) => Some(Num::Double(*d)),
            Bson::Decimal128(d) => Some(Num::Decimal(crate::order::decimal_to_f64(d))),
            _ => None,
        }
    }

    pub(crate) fn f64(self) -> f64 {
        match self {
            Num::Int(i) => f64::from(i),
            Num::Long(i) => i as f64,
            Num::Double(d) | Num::Decimal(d) => d,
        }
    }

    pub(crate) fn int(self) -> Option<i64> {
        match self {
            Num::Int(i) => Some(i64::from(i)),
            Num::Long(i) => Some(i),
            _ => None,
        }
    }

    pub(crate) fn rank(self) -> u8 {
        match self {
            Num::Int(_) => 0,
            Num::Long(_) => 1,
            Num::Double(_) => 2,
            Num::Decimal(_) => 3,
        }
    }

    pub(crate) fn into_bson(self) -> Bson {
        match self {
            Num::Int(i) => Bson::Int32(i),
            Num::Long(i) => Bson::Int64(i),
            Num::Double(d) => Bson::Double(d),
            Num::Decimal(d) => decimal(d),
        }
    }
}

/// A double result as decimal128, rounded to 15 significant digits as mongod
/// converts doubles to decimals (so 0.1 + 0.2 is `0.3`, and 30.0 is `30`).
pub(crate) fn decimal(value: f64) -> Bson {
    let text = if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        // Whole and below 10^15, so the cast is exact.
        format!("{}", value as i64)
    } else {
        let scientific = format!("{value:.14e}");
        match scientific.split_once('e') {
            Some((mantissa, exponent)) if mantissa.contains('.') => {
                let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
                format!("{mantissa}e{exponent}")
            }
            _ => scientific,
        }
    };
    text.parse::<Decimal128>()
        .map(Bson::Decimal128)
        .unwrap_or(Bson::Double(value))
}

/// An integer result at the narrowest width `rank` allows, or a double.
pub(crate) fn integral(value: i128, rank: u8) -> Num {
    match (i32::try_from(value), i64::try_from(value)) {
        (Ok(i), _) if rank == 0 => Num::Int(i),
        (_, Ok(i)) => Num::Long(i),
        _ => Num::Double(value as f64),
    }
}

/// A floating result at `rank` (double or decimal).
pub(crate) fn floating(value: f64, rank: u8) -> Num {
    if rank >= 3 {
        Num::Decimal(value)
    } else {
        Num::Double(value)
    }
}

/// A value that is an integer exactly representable as i64 (any numeric type).
pub(crate) fn as_exact_i64(value: &Bson) -> Option<i64> {
    match Num::of(value)? {
        Num::Int(i) => Some(i64::from(i)),
        Num::Long(i) => Some(i),
        Num::Double(d) | Num::Decimal(d) => {
            // Within ±2^63 and whole, so the cast is exact.
            (d.fract() == 0.0 && d.abs() < 9.2e18).then_some(d as i64)
        }
    }
}

pub(super) fn apply(op: Op, values: &[Option<Bson>]) -> Option<Out> {
    let out = match op {
        Op::Add => add(values),
        Op::Subtract => subtract(arg(values, 0), arg(values, 1)),
        Op::Multiply => multiply(values),
        Op::Divide => divide(arg(values, 0), arg(values, 1)),
        Op::Mod => modulo(arg(values, 0), arg(values, 1)),
        Op::Pow => pow(arg(values, 0), arg(values, 1)),
        Op::Log => log(arg(values, 0), arg(values, 1)),
        Op::Round | Op::Trunc => round(op, arg(values, 0), arg(values, 1)),
        Op::Abs | Op::Ceil | Op::Floor | Op::Sqrt | Op::Exp | Op::Ln | Op::Log10 => {
            unary(op, arg(values, 0))
        }
        _ => return None,
    };
    Some(out)
}

fn add(values: &[Option<Bson>]) -> Out {
    let mut ints: i128 = 0;
    let mut doubles = 0.0;
    let mut rank = 0;
    let mut date = false;
    for value in values {
        match value {
            Some(Bson::DateTime(d)) => {
                if date {
                    return Err(Error::location(
                        16612,
                        "only one date allowed in an $add expression",
                    ));
                }
                date = true;
                ints += i128::from(d.timestamp_millis());
            }
            Some(v) => match Num::of(v) {
                Some(n) => {
                    rank = rank.max(n.rank());
                    match n.int() {
                        Some(i) => ints += i128::from(i),
                        None => doubles += n.f64(),
                    }
                }
                None if is_nullish(Some(v)) => return Ok(Some(Bson::Null)),
                None => {
                    return Err(Error::location(
                        16554,
                        format!(
                            "$add only supports numeric or date types, not {}",
                            type_name(Some(v))
                        ),
                    ));
                }
            },
            None => return Ok(Some(Bson::Null)),
        }
    }
    if date {
        let millis = if rank >= 2 {
            let m = (ints as f64 + doubles).round();
            // Within ±2^63, so the cast is exact.
            (m.abs() < 9.2e18).then_some(m as i64)
        } else {
            i64::try_from(ints).ok()
        };
        return millis
            .map(|m| Some(Bson::DateTime(DateTime::from_millis(m))))
            .ok_or_else(|| Error::new(Code::OVERFLOW, "date overflow in $add"));
    }
    let total = if rank >= 2 {
        floating(ints as f64 + doubles, rank)
    } else {
        integral(ints, rank)
    };
    Ok(Some(total.into_bson()))
}

fn subtract(lhs: Option<&Bson>, rhs: Option<&Bson>) -> Out {
    if is_nullish(lhs) || is_nullish(rhs) {
        return Ok(Some(Bson::Null));
    }
    match (lhs, rhs) {
        (Some(Bson::DateTime(a)), Some(Bson::DateTime(b))) => Ok(Some(Bson::Int64(
            a.timestamp_millis().wrapping_sub(b.timestamp_millis()),
        ))),
        (Some(Bson::DateTime(a)), Some(b)) if Num::of(b).is_some() => {
            let b = Num::of(b).map_or(0.0, Num::f64).round();
            let millis = a.timestamp_millis() as f64 - b;
            if millis.abs() >= 9.2e18 || millis.is_nan() {
                return Err(Error::new(Code::OVERFLOW, "date overflow in $subtract"));
            }
            Ok(Some(Bson::DateTime(DateTime::from_millis(millis as i64))))
        }
        (Some(a), Some(b)) => match (Num::of(a), Num::of(b)) {
            (Some(x), Some(y)) => {
                let rank = x.rank().max(y.rank());
                let out = match (x.int(), y.int()) {
                    (Some(x), Some(y)) => integral(i128::from(x) - i128::from(y), rank),
                    _ => floating(x.f64() - y.f64(), rank),
                };
                Ok(Some(out.into_bson()))
            }
            _ => Err(Error::location(
                16556,
                format!(
                    "can't $subtract {} from {}",
                    type_name(Some(b)),
                    type_name(Some(a))
                ),
            )),
        },
        _ => Ok(Some(Bson::Null)),
    }
}

fn multiply(values: &[Option<Bson>]) -> Out {
    let mut product: Option<i128> = Some(1);
    let mut doubles = 1.0;
    let mut rank = 0;
    for value in values {
        let Some(n) = value.as_ref().and_then(Num::of) else {
            if is_nullish(value.as_ref()) {
                return Ok(Some(Bson::Null));
            }
            return Err(Error::location(
                16555,
                format!(
                    "$multiply only supports numeric types, not {}",
                    type_name(value.as_ref())
                ),
            ));
        };
        rank = rank.max(n.rank());
        doubles *= n.f64();
        // Past i64's range the result is a double anyway; stop tracking exactly.
        product = match (product, n.int()) {
            (Some(p), Some(i)) => p
                .checked_mul(i128::from(i))
                .filter(|p| i64::try_from(*p).is_ok()),
            _ => None,
        };
    }
    let out = match product {
        Some(p) if rank < 2 => integral(p, rank),
        _ => floating(doubles, rank),
    };
    Ok(Some(out.into_bson()))
}

fn two_numbers(
    op: &str,
    code: i32,
    lhs: Option<&Bson>,
    rhs: Option<&Bson>,
) -> Result<Option<(Num, Num)>> {
    if is_nullish(lhs) || is_nullish(rhs) {
        return Ok(None);
    }
    match (lhs.and_then(Num::of), rhs.and_then(Num::of)) {
        (Some(x), Some(y)) => Ok(Some((x, y))),
        _ => Err(Error::location(
            code,
            format!(
                "{op} only supports numeric types, not {} and {}",
                type_name(lhs),
                type_name(rhs)
            ),
        )),
    }
}

fn divide(lhs: Option<&Bson>, rhs: Option<&Bson>) -> Out {
    let Some((x, y)) = two_numbers("$divide", 16609, lhs, rhs)? else {
        return Ok(Some(Bson::Null));
    };
    if y.f64() == 0.0 {
        return Err(Error::bad_value("can't $divide by zero"));
    }
    let rank = x.rank().max(y.rank()).max(2);
    Ok(Some(floating(x.f64() / y.f64(), rank).into_bson()))
}

fn modulo(lhs: Option<&Bson>, rhs: Option<&Bson>) -> Out {
    let Some((x, y)) = two_numbers("$mod", 16611, lhs, rhs)? else {
        return Ok(Some(Bson::Null));
    };
    if y.f64() == 0.0 {
        return Err(Error::location(16610, "can't $mod by zero"));
    }
    let rank = x.rank().max(y.rank());
    let out = match (x.int(), y.int()) {
        (Some(a), Some(b)) => integral(i128::from(a) % i128::from(b), rank),
        _ => floating(x.f64() % y.f64(), rank),
    };
    Ok(Some(out.into_bson()))
}

fn numeric_arg(op: Op, value: Option<&Bson>) -> Result<Option<Num>> {
    if is_nullish(value) {
        return Ok(None);
    }
    match value.and_then(Num::of) {
        Some(n) => Ok(Some(n)),
        None => Err(Error::location(
            28765,
            format!(
                "{} only supports numeric types, not {}",
                op.name(),
                type_name(value)
            ),
        )),
    }
}

fn unary(op: Op, value: Option<&Bson>) -> Out {
    let Some(n) = numeric_arg(op, value)? else {
        return Ok(Some(Bson::Null));
    };
    let rank = n.rank();
    let x = n.f64();
    let out = match op {
        Op::Abs => match n {
            Num::Long(i64::MIN) => {
                return Err(Error::location(28680, "can't take $abs of long long min"));
            }
            Num::Int(i) => integral(i128::from(i).abs(), 0),
            Num::Long(i) => Num::Long(i.abs()),
            _ => floating(x.abs(), rank),
        },
        Op::Ceil | Op::Floor if n.int().is_some() => n,
        Op::Ceil => floating(x.ceil(), rank),
        Op::Floor => floating(x.floor(), rank),
        Op::Sqrt if x < 0.0 => {
            return Err(Error::location(
                28714,
                "$sqrt's argument must be greater than or equal to 0",
            ));
        }
        Op::Sqrt => floating(x.sqrt(), rank.max(2)),
        Op::Exp => floating(x.exp(), rank.max(2)),
        Op::Ln | Op::Log10 if x <= 0.0 => {
            let code = if op == Op::Ln { 28766 } else { 28761 };
            return Err(Error::location(
                code,
                format!(
                    "{}'s argument must be a positive number, but is {x}",
                    op.name()
                ),
            ));
        }
        Op::Ln => floating(x.ln(), rank.max(2)),
        _ => floating(x.log10(), rank.max(2)),
    };
    Ok(Some(out.into_bson()))
}

fn log(value: Option<&Bson>, base: Option<&Bson>) -> Out {
    if is_nullish(value) || is_nullish(base) {
        return Ok(Some(Bson::Null));
    }
    let x = value.and_then(Num::of).ok_or_else(|| {
        Error::location(
            28756,
            format!("$log's argument must be numeric, not {}", type_name(value)),
        )
    })?;
    let b = base.and_then(Num::of).ok_or_else(|| {
        Error::location(
            28757,
            format!("$log's base must be numeric, not {}", type_name(base)),
        )
    })?;
    if x.f64() <= 0.0 {
        return Err(Error::location(
            28758,
            format!(
                "$log's argument must be a positive number, but is {}",
                x.f64()
            ),
        ));
    }
    if b.f64() <= 0.0 || b.f64() == 1.0 {
        return Err(Error::location(
            28759,
            format!(
                "$log's base must be a positive number not equal to 1, but is {}",
                b.f64()
            ),
        ));
    }
    let rank = x.rank().max(b.rank()).max(2);
    Ok(Some(
        floating(x.f64().ln() / b.f64().ln(), rank).into_bson(),
    ))
}

fn pow(base: Option<&Bson>, exponent: Option<&Bson>) -> Out {
    if is_nullish(base) || is_nullish(exponent) {
        return Ok(Some(Bson::Null));
    }
    let b = base.and_then(Num::of).ok_or_else(|| {
        Error::location(
            28762,
            format!("$pow's base must be numeric, not {}", type_name(base)),
        )
    })?;
    let e = exponent.and_then(Num::of).ok_or_else(|| {
        Error::location(
            28763,
            format!(
                "$pow's exponent must be numeric, not {}",
                type_name(exponent)
            ),
        )
    })?;
    if b.f64() == 0.0 && e.f64() < 0.0 {
        return Err(Error::location(
            28764,
            "$pow cannot take a base of 0 and a negative exponent",
        ));
    }
    let rank = b.rank().max(e.rank());
    let out = match (b.int(), e.int()) {
        (Some(base), Some(exp)) => int_pow(base, exp, rank),
        _ => floating(b.f64().powf(e.f64()), rank),
    };
    Ok(Some(out.into_bson()))
}

/// Integer powers stay integers while they fit, as in mongod.
fn int_pow(base: i64, exp: i64, rank: u8) -> Num {
    match (base, exp) {
        (1, _) => integral(1, rank),
        (-1, e) => integral(if e % 2 == 0 { 1 } else { -1 }, rank),
        (_, e) if e < 0 => Num::Double((base as f64).powf(exp as f64)),
        _ => {
            let exact = u32::try_from(exp)
                .ok()
                .and_then(|e| i64::from(1).checked_mul(base.checked_pow(e)?));
            match exact {
                Some(v) => integral(i128::from(v), rank),
                None => Num::Double((base as f64).powf(exp as f64)),
            }
        }
    }
}

fn round(op: Op, value: Option<&Bson>, place: Option<&Bson>) -> Out {
    let name = op.name();
    // mongod checks the value before the precision.
    if is_nullish(value) {
        return Ok(Some(Bson::Null));
    }
    let n = value.and_then(Num::of).ok_or_else(|| {
        Error::location(
            51081,
            format!(
                "{name} only supports numeric types, not {}",
                type_name(value)
            ),
        )
    })?;
    let places = match place {
        None => 0,
        Some(p) if is_nullish(Some(p)) => return Ok(Some(Bson::Null)),
        Some(p) => match as_exact_i64(p) {
            Some(n) if (-20..=100).contains(&n) => n,
            Some(n) => {
                return Err(Error::location(
                    51083,
                    format!(
                        "cannot apply {name} with precision value {n} value must be in [-20, 100]"
                    ),
                ));
            }
            None => {
                return Err(Error::location(
                    51082,
                    format!("precision argument to  {name} must be a integral value"),
                ));
            }
        },
    };
    let truncate = op == Op::Trunc;
    let out = match n.int() {
        Some(_) if places >= 0 => n,
        Some(i) => {
            let unit = 10i128.pow(u32::try_from(-places).unwrap_or(0));
            let i = i128::from(i);
            let (q, r) = (i / unit, i % unit);
            let mut q = q;
            if !truncate && (2 * r.abs() > unit || (2 * r.abs() == unit && q % 2 != 0)) {
                q += r.signum();
            }
            integral(q * unit, n.rank())
        }
        None => {
            let x = n.f64();
            let scale = 10f64.powi(i32::try_from(places).unwrap_or(0));
            let scaled = x * scale;
            let r = if truncate {
                scaled.trunc()
            } else {
                scaled.round_ties_even()
            };
            let r = if scale.is_finite() && r.is_finite() {
                r / scale
            } else {
                x
            };
            floating(if r.is_nan() { x } else { r }, n.rank())
        }
    };
    Ok(Some(out.into_bson()))
}
