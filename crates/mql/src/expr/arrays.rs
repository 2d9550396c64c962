//! Array operators. Index arguments must be integral and fit in 32 bits, as
//! in mongod; results that build arrays are bounded by `VALUE_BYTES_MAX`.

use bson::{Bson, Document};

use super::arith::{Num, as_exact_i64};
use super::ast::Op;
use super::eval::{arg, compare_optional};
use super::value::{approx_size, check_size, is_nullish, is_truthy, type_name};
use crate::{Error, Result, order};

type Out = Result<Option<Bson>>;

fn err(code: i32, message: String) -> Error {
    Error::location(code, message)
}

fn null() -> Out {
    Ok(Some(Bson::Null))
}

pub(super) fn apply(op: Op, values: &[Option<Bson>]) -> Option<Out> {
    let a = arg(values, 0);
    let b = arg(values, 1);
    let out = match op {
        Op::Size => match a {
            Some(Bson::Array(items)) => Ok(Some(Bson::Int32(len32(items.len())))),
            other => Err(err(
                17124,
                format!(
                    "The argument to $size must be an array. Type of argument: {}",
                    type_name(other)
                ),
            )),
        },
        Op::ArrayElemAt => elem_at(a, b),
        Op::First | Op::Last => first_last(op, a),
        Op::In => match b {
            Some(Bson::Array(items)) => Ok(Some(Bson::Boolean(
                items
                    .iter()
                    .any(|item| compare_optional(a, Some(item)).is_eq()),
            ))),
            other => Err(err(
                40081,
                format!(
                    "$in requires an array as a second argument, found: {}",
                    type_name(other)
                ),
            )),
        },
        Op::ConcatArrays => concat_arrays(values),
        Op::IsArray => Ok(Some(Bson::Boolean(matches!(a, Some(Bson::Array(_)))))),
        Op::Slice => slice(values),
        Op::ReverseArray => match a {
            v if is_nullish(v) => null(),
            Some(Bson::Array(items)) => {
                Ok(Some(Bson::Array(items.iter().rev().cloned().collect())))
            }
            other => Err(err(
                34435,
                format!(
                    "The argument to $reverseArray must be an array, but was of type: {}",
                    type_name(other)
                ),
            )),
        },
        Op::Range => range(values),
        Op::IndexOfArray => index_of_array(values),
        Op::AllElementsTrue | Op::AnyElementTrue => elements_true(op, a),
        Op::ObjectToArray => object_to_array(a),
        Op::ArrayToObject => array_to_object(a),
        Op::Sum | Op::Avg | Op::Min | Op::Max => Ok(Some(summarise(op, values))),
        _ => return None,
    };
    Some(out)
}

fn len32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn elem_at(array: Option<&Bson>, index: Option<&Bson>) -> Out {
    if is_nullish(array) || is_nullish(index) {
        return null();
    }
    let Some(Bson::Array(items)) = array else {
        return Err(err(
            28689,
            format!(
                "$arrayElemAt's first argument must be an array, but is {}",
                type_name(array)
            ),
        ));
    };
    if index.and_then(Num::of).is_none() {
        return Err(err(
            28690,
            format!(
                "$arrayElemAt's second argument must be a numeric value, but is {}",
                type_name(index)
            ),
        ));
    }
    let i = index
        .and_then(as_exact_i64)
        .filter(|i| i32::try_from(*i).is_ok())
        .ok_or_else(|| {
            err(
                28691,
                "$arrayElemAt's second argument must be representable as a 32-bit integer".into(),
            )
        })?;
    Ok(at(items, i).cloned())
}

/// Element `i` counting from the back when negative; `None` past either end.
fn at(items: &[Bson], i: i64) -> Option<&Bson> {
    let len = i64::try_from(items.len()).ok()?;
    let i = if i < 0 { len + i } else { i };
    usize::try_from(i).ok().and_then(|i| items.get(i))
}

fn first_last(op: Op, array: Option<&Bson>) -> Out {
    match array {
        v if is_nullish(v) => null(),
        Some(Bson::Array(items)) => Ok(if op == Op::First {
            items.first().cloned()
        } else {
            items.last().cloned()
        }),
        other => Err(err(
            28689,
            format!(
                "{}'s argument must be an array, but is {}",
                op.name(),
                type_name(other)
            ),
        )),
    }
}

fn concat_arrays(values: &[Option<Bson>]) -> Out {
    let mut out = Vec::new();
    let mut bytes = 0;
    for value in values {
        match value {
            Some(Bson::Array(items)) => {
                bytes += items.iter().map(approx_size).sum::<usize>();
                check_size("$concatArrays", bytes)?;
                out.extend(items.iter().cloned());
            }
            v if is_nullish(v.as_ref()) => return null(),
            other => {
                return Err(err(
                    28664,
                    format!(
                        "$concatArrays only supports arrays, not {}",
                        type_name(other.as_ref())
                    ),
                ));
            }
        }
    }
    Ok(Some(Bson::Array(out)))
}

fn int32(value: Option<&Bson>, numeric: (i32, &str), integral: (i32, &str)) -> Result<i64> {
    if value.and_then(Num::of).is_none() {
        return Err(err(numeric.0, format!("{}{}", numeric.1, type_name(value))));
    }
    value
        .and_then(as_exact_i64)
        .filter(|i| i32::try_from(*i).is_ok())
        .ok_or_else(|| {
            err(
                integral.0,
                format!(
                    "{}{}",
                    integral.1,
                    value.map(ToString::to_string).unwrap_or_default()
                ),
            )
        })
}

fn slice(values: &[Option<Bson>]) -> Out {
    if values.iter().any(|v| is_nullish(v.as_ref())) {
        return null();
    }
    let items = match arg(values, 0) {
        Some(Bson::Array(items)) => items,
        other => {
            return Err(err(
                28724,
                format!(
                    "First argument to $slice must be an array, but is of type: {}",
                    type_name(other)
                ),
            ));
        }
    };
    let second = int32(
        arg(values, 1),
        (
            28725,
            "Second argument to $slice must be a numeric value, but is of type: ",
        ),
        (
            28726,
            "Second argument to $slice can't be represented as a 32-bit integer: ",
        ),
    )?;
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let (start, count) = if values.len() < 3 {
        if second >= 0 {
            (0, second)
        } else {
            ((len + second).max(0), -second)
        }
    } else {
        let count = int32(
            arg(values, 2),
            (
                28727,
                "Third argument to $slice must be numeric, but is of type: ",
            ),
            (
                28728,
                "Third argument to $slice can't be represented as a 32-bit integer: ",
            ),
        )?;
        if count <= 0 {
            return Err(err(
                28729,
                format!("Third argument to $slice must be positive: {count}"),
            ));
        }
        let start = if second >= 0 {
            second.min(len)
        } else {
            (len + second).max(0)
        };
        (start, count)
    };
    let start = usize::try_from(start).unwrap_or(0);
    let count = usize::try_from(count).unwrap_or(0);
    Ok(Some(Bson::Array(
        items.iter().skip(start).take(count).cloned().collect(),
    )))
}

fn range(values: &[Option<Bson>]) -> Out {
    let start = int32(
        arg(values, 0),
        (
            34443,
            "$range requires a numeric starting value, found value of type: ",
        ),
        (
            34444,
            "$range requires a starting value that can be represented as a 32-bit integer, found value: ",
        ),
    )?;
    let end = int32(
        arg(values, 1),
        (
            34445,
            "$range requires a numeric ending value, found value of type: ",
        ),
        (
            34446,
            "$range requires an ending value that can be represented as a 32-bit integer, found value: ",
        ),
    )?;
    let step = match values.get(2) {
        None => 1,
        Some(v) => int32(
            v.as_ref(),
            (
                34447,
                "$range requires a numeric step value, found value of type: ",
            ),
            (
                34448,
                "$range requires a step value that can be represented as a 32-bit integer, found value: ",
            ),
        )?,
    };
    if step == 0 {
        return Err(err(34449, "$range requires a non-zero step value".into()));
    }
    let n = if (step > 0 && end > start) || (step < 0 && end < start) {
        ((end - start).abs() + step.abs() - 1) / step.abs()
    } else {
        0
    };
    check_size(
        "$range",
        usize::try_from(n).unwrap_or(usize::MAX).saturating_mul(16),
    )?;
    let out = (0..n)
        .map(|k| Bson::Int32(i32::try_from(start + k * step).unwrap_or(i32::MAX)))
        .collect();
    Ok(Some(Bson::Array(out)))
}

fn index_arg(value: Option<&Bson>, which: &str) -> Result<usize> {
    let n = value.and_then(as_exact_i64).ok_or_else(|| {
        err(
            40096,
            format!(
                "$indexOfArray requires an integral {which} index, found a value of type: {}",
                type_name(value)
            ),
        )
    })?;
    usize::try_from(n).map_err(|_| {
        err(
            40097,
            format!("$indexOfArray requires a nonnegative {which} index, found: {n}"),
        )
    })
}

fn index_of_array(values: &[Option<Bson>]) -> Out {
    let items = match arg(values, 0) {
        v if is_nullish(v) => return null(),
        Some(Bson::Array(items)) => items,
        other => {
            return Err(err(
                40090,
                format!(
                    "$indexOfArray requires an array as a first argument, found: {}",
                    type_name(other)
                ),
            ));
        }
    };
    let start = match values.get(2) {
        Some(v) => index_arg(v.as_ref(), "starting")?,
        None => 0,
    };
    let end = match values.get(3) {
        Some(v) => index_arg(v.as_ref(), "ending")?.min(items.len()),
        None => items.len(),
    };
    let search = arg(values, 1);
    let found = items
        .iter()
        .enumerate()
        .take(end)
        .skip(start)
        .find(|(_, item)| compare_optional(search, Some(item)).is_eq())
        .map_or(-1, |(i, _)| len32(i));
    Ok(Some(Bson::Int32(found)))
}

fn elements_true(op: Op, array: Option<&Bson>) -> Out {
    let code = if op == Op::AllElementsTrue {
        17040
    } else {
        17041
    };
    let Some(Bson::Array(items)) = array else {
        return Err(err(
            code,
            format!(
                "{}'s argument must be an array, but is {}",
                op.name(),
                type_name(array)
            ),
        ));
    };
    let result = if op == Op::AllElementsTrue {
        items.iter().all(|v| is_truthy(Some(v)))
    } else {
        items.iter().any(|v| is_truthy(Some(v)))
    };
    Ok(Some(Bson::Boolean(result)))
}

fn object_to_array(value: Option<&Bson>) -> Out {
    match value {
        v if is_nullish(v) => null(),
        Some(Bson::Document(doc)) => Ok(Some(Bson::Array(
            doc.iter()
                .map(|(k, v)| {
                    let mut pair = Document::new();
                    pair.insert("k", k.clone());
                    pair.insert("v", v.clone());
                    Bson::Document(pair)
                })
                .collect(),
        ))),
        other => Err(err(
            40390,
            format!(
                "$objectToArray requires a document input, found: {}",
                type_name(other)
            ),
        )),
    }
}

fn array_to_object(value: Option<&Bson>) -> Out {
    let items = match value {
        v if is_nullish(v) => return null(),
        Some(Bson::Array(items)) => items,
        other => {
            return Err(err(
                40386,
                format!(
                    "$arrayToObject requires an array input, found: {}",
                    type_name(other)
                ),
            ));
        }
    };
    let mut out = Document::new();
    for item in items {
        let (key, value) = match item {
            Bson::Array(pair) => match pair.as_slice() {
                [Bson::String(k), v] => (k, v),
                [k, _] => {
                    return Err(err(
                        40395,
                        format!(
                            "$arrayToObject requires an array of key-value pairs, where the key must be of type string. Found key type: {}",
                            type_name(Some(k))
                        ),
                    ));
                }
                _ => {
                    return Err(err(
                        40397,
                        format!(
                            "$arrayToObject requires an array of size 2 arrays,found array of size: {}",
                            pair.len()
                        ),
                    ));
                }
            },
            Bson::Document(doc) => match (doc.len(), doc.get("k"), doc.get("v")) {
                (2, Some(Bson::String(k)), Some(v)) => (k, v),
                _ => {
                    return Err(err(
                        40392,
                        format!(
                            "$arrayToObject requires an object with keys 'k' and 'v', where the value of 'k' must be of type string: {doc}"
                        ),
                    ));
                }
            },
            other => {
                return Err(err(
                    40398,
                    format!(
                        "Unrecognised input type format for $arrayToObject: {}",
                        type_name(Some(other))
                    ),
                ));
            }
        };
        out.insert(key.clone(), value.clone());
    }
    Ok(Some(Bson::Document(out)))
}

/// `$sum`/`$avg`/`$min`/`$max` as expressions: over the elements of a single
/// array argument, otherwise over the arguments; non-numbers are ignored by
/// `$sum`/`$avg`, null and missing by `$min`/`$max`.
fn summarise(op: Op, values: &[Option<Bson>]) -> Bson {
    let items: Vec<&Bson> = match values {
        [Some(Bson::Array(items))] => items.iter().collect(),
        _ => values.iter().flatten().collect(),
    };
    match op {
        Op::Min | Op::Max => {
            let want = if op == Op::Min {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            };
            items
                .into_iter()
                .filter(|v| !is_nullish(Some(v)))
                .reduce(|best, next| {
                    if order::compare(next, best) == want {
                        next
                    } else {
                        best
                    }
                })
                .cloned()
                .unwrap_or(Bson::Null)
        }
        _ => {
            let numbers: Vec<Num> = items.into_iter().filter_map(Num::of).collect();
            let rank = numbers.iter().map(|n| n.rank()).max().unwrap_or(0);
            if op == Op::Avg {
                if numbers.is_empty() {
                    return Bson::Null;
                }
                let mean = numbers.iter().map(|n| n.f64()).sum::<f64>() / numbers.len() as f64;
                return if rank >= 3 {
                    super::arith::decimal(mean)
                } else {
                    Bson::Double(mean)
                };
            }
            let ints: i128 = numbers.iter().filter_map(|n| n.int()).map(i128::from).sum();
            let doubles: f64 = numbers
                .iter()
                .filter(|n| n.int().is_none())
                .map(|n| n.f64())
                .sum();
            if rank >= 2 {
                super::arith::floating(ints as f64 + doubles, rank).into_bson()
            } else {
                super::arith::integral(ints, rank).into_bson()
            }
        }
    }
}
