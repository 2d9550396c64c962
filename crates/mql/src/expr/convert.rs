//! Type conversion: `$convert` and its shorthands (`$toInt`, `$toString`,
//! ...), plus `$isNumber`. Failures are ConversionFailure (241) unless an
//! `onError` value is given; null or missing input gives `onNull` or null.
//!
//! Dates print and parse as ISO-8601 UTC with milliseconds
//! (`2018-03-27T16:58:51.538Z`); other date formats and time zones are not
//! supported here.

use bson::oid::ObjectId;
use bson::{Bson, DateTime};

use super::arith::{Num, decimal};
use super::ast::Op;
use super::dates::{civil_from_days, days_from_civil};
use super::eval::arg;
use super::value::{is_nullish, type_name};
use crate::{Code, Error, Result};

type Out = Result<Option<Bson>>;

const CONVERSION_FAILURE: Code = Code(241);

/// The target types `$convert` knows.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Double,
    String,
    ObjectId,
    Bool,
    Date,
    Int,
    Long,
    Decimal,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Double => "double",
            Target::String => "string",
            Target::ObjectId => "objectId",
            Target::Bool => "bool",
            Target::Date => "date",
            Target::Int => "int",
            Target::Long => "long",
            Target::Decimal => "decimal",
        }
    }

    fn parse(to: &Bson) -> Result<Target> {
        let by_name = |name: &str| match name {
            "double" => Some(Target::Double),
            "string" => Some(Target::String),
            "objectId" => Some(Target::ObjectId),
            "bool" => Some(Target::Bool),
            "date" => Some(Target::Date),
            "int" => Some(Target::Int),
            "long" => Some(Target::Long),
            "decimal" => Some(Target::Decimal),
            _ => None,
        };
        let by_number = |n: i64| match n {
            1 => Some(Target::Double),
            2 => Some(Target::String),
            7 => Some(Target::ObjectId),
            8 => Some(Target::Bool),
            9 => Some(Target::Date),
            16 => Some(Target::Int),
            18 => Some(Target::Long),
            19 => Some(Target::Decimal),
            _ => None,
        };
        match to {
            Bson::String(name) => {
                by_name(name).ok_or_else(|| Error::bad_value(format!("Unknown type name: {name}")))
            }
            other => match super::arith::as_exact_i64(other) {
                Some(n) => by_number(n).ok_or_else(|| {
                    Error::bad_value(format!(
                        "In $convert, numeric 'to' argument is not a valid type: {n}"
                    ))
                }),
                None => Err(Error::failed_to_parse(format!(
                    "$convert's 'to' argument must be a string or number, but is {}",
                    type_name(Some(other))
                ))),
            },
        }
    }
}

pub(super) fn apply(op: Op, values: &[Option<Bson>]) -> Option<Out> {
    let input = arg(values, 0);
    let target = match op {
        Op::IsNumber => return Some(Ok(Some(Bson::Boolean(input.and_then(Num::of).is_some())))),
        Op::ToString => Target::String,
        Op::ToInt => Target::Int,
        Op::ToLong => Target::Long,
        Op::ToDouble => Target::Double,
        Op::ToDecimal => Target::Decimal,
        Op::ToBool => Target::Bool,
        Op::ToObjectId => Target::ObjectId,
        Op::ToDate => Target::Date,
        _ => return None,
    };
    if is_nullish(input) {
        return Some(Ok(Some(Bson::Null)));
    }
    Some(input.map_or(Ok(Some(Bson::Null)), |v| to(v, target).map(Some)))
}

/// `$convert` with its optional `onError` and `onNull` values.
pub(super) fn convert(
    input: Option<Bson>,
    to_value: Option<Bson>,
    on_error: Option<Option<Bson>>,
    on_null: Option<Option<Bson>>,
) -> Out {
    let target = match to_value {
        v if is_nullish(v.as_ref()) => return Ok(Some(Bson::Null)),
        Some(v) => Target::parse(&v)?,
        None => return Ok(Some(Bson::Null)),
    };
    let input = match input {
        v if is_nullish(v.as_ref()) => return Ok(on_null.unwrap_or(Some(Bson::Null))),
        Some(v) => v,
        None => return Ok(Some(Bson::Null)),
    };
    match to(&input, target) {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.code == CONVERSION_FAILURE => match on_error {
            Some(fallback) => Ok(fallback),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

fn failure(message: String) -> Error {
    Error::new(
        CONVERSION_FAILURE,
        format!("{message} in $convert with no onError value"),
    )
}

fn unsupported(input: &Bson, target: Target) -> Error {
    failure(format!(
        "Unsupported conversion from {} to {}",
        type_name(Some(input)),
        target.name()
    ))
}

fn to(input: &Bson, target: Target) -> Result<Bson> {
    match target {
        Target::Bool => to_bool(input),
        Target::String => to_string(input),
        Target::Int | Target::Long => to_integer(input, target),
        Target::Double | Target::Decimal => to_floating(input, target),
        Target::ObjectId => match input {
            Bson::ObjectId(_) => Ok(input.clone()),
            Bson::String(s) => ObjectId::parse_str(s)
                .map(Bson::ObjectId)
                .map_err(|_| failure(format!("Failed to parse objectId '{s}'"))),
            _ => Err(unsupported(input, target)),
        },
        Target::Date => to_date(input),
    }
}

fn to_bool(input: &Bson) -> Result<Bson> {
    Ok(Bson::Boolean(match Num::of(input) {
        Some(n) => n.f64() != 0.0,
        None => !matches!(input, Bson::Boolean(false)),
    }))
}

fn to_string(input: &Bson) -> Result<Bson> {
    let text = match input {
        Bson::String(s) => s.clone(),
        Bson::Boolean(b) => b.to_string(),
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Double(d) => double_to_string(*d),
        Bson::Decimal128(d) => d.to_string(),
        Bson::ObjectId(oid) => oid.to_hex(),
        Bson::DateTime(d) => date_to_string(*d),
        _ => return Err(unsupported(input, Target::String)),
    };
    Ok(Bson::String(text))
}

fn to_integer(input: &Bson, target: Target) -> Result<Bson> {
    let value: i64 = match input {
        Bson::Boolean(b) => i64::from(*b),
        Bson::Int32(i) => i64::from(*i),
        Bson::Int64(i) => *i,
        Bson::Double(_) | Bson::Decimal128(_) => {
            let d = Num::of(input).map_or(f64::NAN, Num::f64);
            if d.is_nan() {
                return Err(failure(
                    "Attempt to convert NaN value to integer type".into(),
                ));
            }
            if d.is_infinite() {
                return Err(failure(
                    "Attempt to convert infinity value to integer type".into(),
                ));
            }
            let t = d.trunc();
            if t.abs() >= 9.223_372_036_854_775e18 {
                return Err(failure(format!(
                    "Conversion would overflow target type: {d}"
                )));
            }
            // Finite and within i64, so the cast is exact.
            t as i64
        }
        Bson::DateTime(d) if target == Target::Long => d.timestamp_millis(),
        Bson::String(s) => s
            .parse::<i64>()
            .ok()
            .filter(|_| !s.starts_with('+'))
            .ok_or_else(|| failure(format!("Failed to parse number '{s}'")))?,
        _ => return Err(unsupported(input, target)),
    };
    if target == Target::Long {
        return Ok(Bson::Int64(value));
    }
    i32::try_from(value)
        .map(Bson::Int32)
        .map_err(|_| failure(format!("Conversion would overflow target type: {input}")))
}

fn to_floating(input: &Bson, target: Target) -> Result<Bson> {
    let value = match input {
        Bson::Boolean(b) => f64::from(u8::from(*b)),
        Bson::Decimal128(_) if target == Target::Decimal => return Ok(input.clone()),
        Bson::DateTime(d) => d.timestamp_millis() as f64,
        Bson::String(s) => {
            parse_float(s).ok_or_else(|| failure(format!("Failed to parse number '{s}'")))?
        }
        other => Num::of(other)
            .ok_or_else(|| unsupported(input, target))?
            .f64(),
    };
    Ok(match target {
        Target::Decimal => decimal(value),
        _ => Bson::Double(value),
    })
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "Infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ if s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')) =>
        {
            s.parse().ok()
        }
        _ => None,
    }
}

fn to_date(input: &Bson) -> Result<Bson> {
    let millis = match input {
        Bson::DateTime(_) => return Ok(input.clone()),
        Bson::Int64(i) => *i,
        Bson::Double(_) | Bson::Decimal128(_) => {
            let d = Num::of(input).map_or(f64::NAN, Num::f64);
            if !d.is_finite() || d.abs() >= 9.2e18 {
                return Err(failure(format!(
                    "Conversion would overflow target type: {input}"
                )));
            }
            d.trunc() as i64
        }
        Bson::ObjectId(oid) => oid.timestamp().timestamp_millis(),
        Bson::Timestamp(ts) => i64::from(ts.time) * 1000,
        Bson::String(s) => {
            parse_date(s).ok_or_else(|| failure(format!("Error parsing date string '{s}'")))?
        }
        _ => return Err(unsupported(input, Target::Date)),
    };
    Ok(Bson::DateTime(DateTime::from_millis(millis)))
}

/// How mongod prints a double: integral values without a fraction.
pub(crate) fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        "NaN".into()
    } else if d.is_infinite() {
        if d > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if d != 0.0 && (d.abs() >= 1e21 || d.abs() < 1e-6) {
        let text = format!("{d:e}");
        match text.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => text,
        }
    } else {
        format!("{d}")
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as `$toString` prints dates.
pub(crate) fn date_to_string(date: DateTime) -> String {
    let millis = date.timestamp_millis();
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Parses `YYYY-MM-DD` with an optional `THH:MM[:SS[.mmm]]` and an optional
/// `Z` or UTC offset.
fn parse_date(s: &str) -> Option<i64> {
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.strip_suffix('Z').unwrap_or(t))),
        None => (s.strip_suffix('Z').unwrap_or(s), None),
    };
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(0..=9999).contains(&year) {
        return None;
    }
    let mut millis_in_day = 0;
    let mut offset_minutes = 0;
    if let Some(time) = time {
        // A trailing UTC offset: "+05:30", "-0800", "+05".
        let time = match time.rfind(['+', '-']) {
            Some(at) => {
                offset_minutes = super::dates::parse_offset(time.get(at..)?)?;
                time.get(..at)?
            }
            None => time,
        };
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, Some(frac)),
            None => (time, None),
        };
        let mut fields = hms.split(':');
        let h: i64 = fields.next()?.parse().ok()?;
        let m: i64 = fields.next()?.parse().ok()?;
        let sec: i64 = fields.next().map_or(Some(0), |f| f.parse().ok())?;
        if fields.next().is_some() || h > 23 || m > 59 || sec > 60 || h < 0 || m < 0 || sec < 0 {
            return None;
        }
        let ms = match frac {
            Some(f) if !f.is_empty() && f.len() <= 3 && f.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{f:0<3}").parse::<i64>().ok()?
            }
            Some(_) => return None,
            None => 0,
        };
        millis_in_day = ((h * 60 + m) * 60 + sec) * 1000 + ms;
    }
    Some(days_from_civil(year, month, day) * 86_400_000 + millis_in_day - offset_minutes * 60_000)
}
