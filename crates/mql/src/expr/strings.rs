//! String operators. Byte-oriented operators (`$substrBytes`,
//! `$indexOfBytes`) count UTF-8 bytes and refuse to split a character;
//! code-point operators count `char`s. Case mapping is ASCII-only, as mongod's.

use bson::Bson;

use super::arith::as_exact_i64;
use super::ast::Op;
use super::eval::arg;
use super::value::{check_size, is_nullish, type_name};
use crate::{Error, Result};

type Out = Result<Option<Bson>>;

fn err(code: i32, message: String) -> Error {
    Error::location(code, message)
}

fn string(value: String) -> Out {
    Ok(Some(Bson::String(value)))
}

pub(super) fn apply(op: Op, values: &[Option<Bson>]) -> Option<Out> {
    let a = arg(values, 0);
    let b = arg(values, 1);
    let out = match op {
        Op::Concat => concat(values),
        Op::Substr | Op::SubstrBytes => substr_bytes(a, b, arg(values, 2)),
        Op::SubstrCP => substr_cp(a, b, arg(values, 2)),
        Op::ToLower => coerce_to_string(a).and_then(|s| string(s.to_ascii_lowercase())),
        Op::ToUpper => coerce_to_string(a).and_then(|s| string(s.to_ascii_uppercase())),
        Op::StrLenBytes | Op::StrLenCP => str_len(op, a),
        Op::Split => split(a, b),
        Op::IndexOfBytes | Op::IndexOfCP => index_of(op, values),
        Op::Strcasecmp => strcasecmp(a, b),
        _ => return None,
    };
    Some(out)
}

/// mongod's coerceToString: null and missing are "", numbers and dates
/// print, other types are an error (16007).
pub(crate) fn coerce_to_string(value: Option<&Bson>) -> Result<String> {
    match value {
        None | Some(Bson::Null | Bson::Undefined) => Ok(String::new()),
        Some(Bson::String(s) | Bson::Symbol(s) | Bson::JavaScriptCode(s)) => Ok(s.clone()),
        Some(Bson::Int32(i)) => Ok(i.to_string()),
        Some(Bson::Int64(i)) => Ok(i.to_string()),
        Some(Bson::Double(d)) => Ok(super::convert::double_to_string(*d)),
        Some(Bson::Decimal128(d)) => Ok(d.to_string()),
        Some(Bson::DateTime(d)) => Ok(super::convert::date_to_string(*d)),
        Some(Bson::Timestamp(t)) => Ok(format!("Timestamp({}, {})", t.time, t.increment)),
        Some(other) => Err(err(
            16007,
            format!(
                "can't convert from BSON type {} to String",
                type_name(Some(other))
            ),
        )),
    }
}

fn concat(values: &[Option<Bson>]) -> Out {
    let mut out = String::new();
    for value in values {
        match value {
            Some(Bson::String(s)) => {
                out.push_str(s);
                check_size("$concat", out.len())?;
            }
            v if is_nullish(v.as_ref()) => return Ok(Some(Bson::Null)),
            other => {
                return Err(err(
                    16702,
                    format!(
                        "$concat only supports strings, not {}",
                        type_name(other.as_ref())
                    ),
                ));
            }
        }
    }
    string(out)
}

/// A numeric argument truncated to an integer (doubles truncate toward zero).
fn truncated(value: Option<&Bson>) -> Option<i64> {
    let n = super::arith::Num::of(value?)?;
    let f = n.f64();
    if f.is_nan() {
        return Some(0);
    }
    // Saturating cast: out-of-range indexes behave as "past the end".
    Some(f.trunc() as i64)
}

fn substr_bytes(s: Option<&Bson>, start: Option<&Bson>, len: Option<&Bson>) -> Out {
    let s = coerce_to_string(s)?;
    let start = truncated(start).ok_or_else(|| {
        err(
            16034,
            format!(
                "$substrBytes: starting index must be a numeric type (is BSON type {})",
                type_name(start)
            ),
        )
    })?;
    let len = truncated(len).ok_or_else(|| {
        err(
            16035,
            format!(
                "$substrBytes: length must be a numeric type (is BSON type {})",
                type_name(len)
            ),
        )
    })?;
    let Ok(start) = usize::try_from(start) else {
        return string(String::new());
    };
    if start >= s.len() {
        return string(String::new());
    }
    let end = usize::try_from(len).map_or(s.len(), |len| start.saturating_add(len).min(s.len()));
    if !s.is_char_boundary(start) {
        return Err(err(
            28656,
            "$substrBytes:  Invalid range, starting index is a UTF-8 continuation byte.".into(),
        ));
    }
    if !s.is_char_boundary(end) {
        return Err(err(
            28657,
            "$substrBytes:  Invalid range, ending index is in the middle of a UTF-8 character."
                .into(),
        ));
    }
    string(s.get(start..end).unwrap_or_default().to_string())
}

fn int32_arg(value: Option<&Bson>, numeric: i32, integral: i32, what: &str) -> Result<i64> {
    if value.and_then(super::arith::Num::of).is_none() {
        return Err(err(
            numeric,
            format!(
                "$substrCP: {what} must be a numeric type (is BSON type {})",
                type_name(value)
            ),
        ));
    }
    value
        .and_then(as_exact_i64)
        .filter(|i| i32::try_from(*i).is_ok())
        .ok_or_else(|| {
            err(
                integral,
                format!("$substrCP: {what} cannot be represented as a 32-bit integral value"),
            )
        })
}

fn substr_cp(s: Option<&Bson>, start: Option<&Bson>, len: Option<&Bson>) -> Out {
    let s = coerce_to_string(s)?;
    let start = int32_arg(start, 34450, 34451, "starting index")?;
    let len = int32_arg(len, 34452, 34453, "length")?;
    if len < 0 {
        return Err(err(
            34454,
            "$substrCP: length must be a nonnegative integer.".into(),
        ));
    }
    if start < 0 {
        return Err(err(
            34455,
            "$substrCP: the starting index must be nonnegative integer.".into(),
        ));
    }
    let (start, len) = (start as usize, len as usize);
    string(s.chars().skip(start).take(len).collect())
}

fn str_len(op: Op, value: Option<&Bson>) -> Out {
    let (code, name) = if op == Op::StrLenBytes {
        (34473, "$strLenBytes")
    } else {
        (34471, "$strLenCP")
    };
    let Some(Bson::String(s)) = value else {
        return Err(err(
            code,
            format!(
                "{name} requires a string argument, found: {}",
                type_name(value)
            ),
        ));
    };
    let n = if op == Op::StrLenBytes {
        s.len()
    } else {
        s.chars().count()
    };
    Ok(Some(Bson::Int32(i32::try_from(n).unwrap_or(i32::MAX))))
}

fn split(s: Option<&Bson>, sep: Option<&Bson>) -> Out {
    if is_nullish(s) || is_nullish(sep) {
        return Ok(Some(Bson::Null));
    }
    let Some(Bson::String(s)) = s else {
        return Err(err(
            40085,
            format!(
                "$split requires an expression that evaluates to a string as a first argument, found: {}",
                type_name(s)
            ),
        ));
    };
    let Some(Bson::String(sep)) = sep else {
        return Err(err(
            40086,
            format!(
                "$split requires an expression that evaluates to a string as a second argument, found: {}",
                type_name(sep)
            ),
        ));
    };
    if sep.is_empty() {
        return Err(err(40087, "$split requires a non-empty separator".into()));
    }
    Ok(Some(Bson::Array(
        s.split(sep.as_str())
            .map(|p| Bson::String(p.to_string()))
            .collect(),
    )))
}

fn index_bound(op: Op, value: Option<&Bson>, which: &str) -> Result<usize> {
    let name = op.name();
    let n = value.and_then(as_exact_i64).ok_or_else(|| {
        err(
            40096,
            format!(
                "{name} requires an integral {which} index, found a value of type: {}",
                type_name(value)
            ),
        )
    })?;
    usize::try_from(n).map_err(|_| {
        err(
            40097,
            format!("{name} requires a nonnegative {which} index, found: {n}"),
        )
    })
}

fn index_of(op: Op, values: &[Option<Bson>]) -> Out {
    let name = op.name();
    let (first, second) = if op == Op::IndexOfBytes {
        (40091, 40092)
    } else {
        (40093, 40094)
    };
    let haystack = match arg(values, 0) {
        v if is_nullish(v) => return Ok(Some(Bson::Null)),
        Some(Bson::String(s)) => s,
        other => {
            return Err(err(
                first,
                format!(
                    "{name} requires a string as the first argument, found: {}",
                    type_name(other)
                ),
            ));
        }
    };
    let Some(Bson::String(needle)) = arg(values, 1) else {
        return Err(err(
            second,
            format!(
                "{name} requires a string as the second argument, found: {}",
                type_name(arg(values, 1))
            ),
        ));
    };
    let by_bytes = op == Op::IndexOfBytes;
    let n_units = if by_bytes {
        haystack.len()
    } else {
        haystack.chars().count()
    };
    let start = match values.get(2) {
        Some(v) => index_bound(op, v.as_ref(), "starting")?,
        None => 0,
    };
    let end = match values.get(3) {
        Some(v) => index_bound(op, v.as_ref(), "ending")?.min(n_units),
        None => n_units,
    };
    if start > end || start > n_units {
        return Ok(Some(Bson::Int32(-1)));
    }
    // (unit index, byte offset) of every position the operator counts.
    let positions: Box<dyn Iterator<Item = (usize, usize)>> = if by_bytes {
        Box::new((0..=haystack.len()).map(|i| (i, i)))
    } else {
        Box::new(
            haystack
                .char_indices()
                .map(|(i, _)| i)
                .chain([haystack.len()])
                .enumerate(),
        )
    };
    let end_byte = if by_bytes {
        end
    } else {
        haystack
            .char_indices()
            .nth(end)
            .map_or(haystack.len(), |(i, _)| i)
    };
    let bytes = haystack.as_bytes();
    let found = positions
        .skip(start)
        .take_while(|(unit, _)| *unit <= end)
        .find(|(_, at)| {
            let stop = at + needle.len();
            stop <= end_byte && bytes.get(*at..stop) == Some(needle.as_bytes())
        })
        .map(|(unit, _)| unit);
    let index = found.map_or(-1, |i| i32::try_from(i).unwrap_or(i32::MAX));
    Ok(Some(Bson::Int32(index)))
}

fn strcasecmp(a: Option<&Bson>, b: Option<&Bson>) -> Out {
    let a = coerce_to_string(a)?.to_ascii_lowercase();
    let b = coerce_to_string(b)?.to_ascii_lowercase();
    Ok(Some(Bson::Int32(a.cmp(&b) as i32)))
}

/// mongod's default trim set: whitespace (ASCII and Unicode) and NUL.
fn default_trimmed(c: char) -> bool {
    c == '\0' || c.is_whitespace()
}

pub(super) fn trim(
    input: Option<Bson>,
    chars: Option<Option<Bson>>,
    start: bool,
    end: bool,
) -> Out {
    let op = match (start, end) {
        (true, true) => "$trim",
        (true, false) => "$ltrim",
        _ => "$rtrim",
    };
    let input = match input {
        v if is_nullish(v.as_ref()) => return Ok(Some(Bson::Null)),
        Some(Bson::String(s)) => s,
        other => {
            return Err(err(
                50699,
                format!(
                    "{op} requires its input to be a string, got {} instead.",
                    type_name(other.as_ref())
                ),
            ));
        }
    };
    let set: Option<Vec<char>> = match chars {
        None => None,
        Some(v) if is_nullish(v.as_ref()) => return Ok(Some(Bson::Null)),
        Some(Some(Bson::String(s))) => Some(s.chars().collect()),
        Some(other) => {
            return Err(err(
                50700,
                format!(
                    "{op} requires 'chars' to be a string, got {} instead.",
                    type_name(other.as_ref())
                ),
            ));
        }
    };
    let trimmed = |c: char| match &set {
        Some(set) => set.contains(&c),
        None => default_trimmed(c),
    };
    let mut out = input.as_str();
    if start {
        out = out.trim_start_matches(trimmed);
    }
    if end {
        out = out.trim_end_matches(trimmed);
    }
    string(out.to_string())
}
