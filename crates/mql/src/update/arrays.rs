//! The array operators: `$push` (with `$each`, `$position`, `$slice`,
//! `$sort`), `$addToSet`, `$pop`, `$pull` and `$pullAll`.
//!
//! Every comparison goes through `order::compare`/`order::equal`, so `1` and
//! `1.0` are the same member for `$addToSet` and `$pullAll`, as in mongod.
//! `$push`'s `$sort` is stable, so equal elements keep their order.

use std::cmp::Ordering;

use bson::Bson;

use super::display;
use super::path::{self, Location};
use crate::{Error, Result, order};

/// A parsed `$push` argument.
pub(crate) struct Push {
    values: Vec<Bson>,
    position: Option<i64>,
    slice: Option<i64>,
    sort: Option<SortSpec>,
}

enum SortSpec {
    /// Sort whole elements; `true` for descending.
    Whole { descending: bool },
    /// Sort by fields of embedded documents, each with its direction.
    Fields(Vec<(Vec<String>, bool)>),
}

impl Push {
    pub(crate) fn parse(value: &Bson) -> Result<Push> {
        let spec = match value {
            Bson::Document(d) if d.contains_key("$each") => d,
            _ => {
                return Ok(Push {
                    values: vec![value.clone()],
                    position: None,
                    slice: None,
                    sort: None,
                });
            }
        };
        let mut push = Push {
            values: Vec::new(),
            position: None,
            slice: None,
            sort: None,
        };
        for (clause, arg) in spec {
            match clause.as_str() {
                "$each" => match arg {
                    Bson::Array(items) => push.values = items.clone(),
                    other => {
                        return Err(Error::bad_value(format!(
                            "The argument to $each in $push must be an array but it was of type: {}",
                            display::type_name(other)
                        )));
                    }
                },
                "$slice" => {
                    push.slice = Some(integer(arg).ok_or_else(|| {
                        Error::bad_value(format!(
                            "The value for $slice must be an integer value but was given type: {}",
                            display::type_name(arg)
                        ))
                    })?);
                }
                "$position" => {
                    push.position = Some(integer(arg).ok_or_else(|| {
                        Error::bad_value(format!(
                            "The value for $position must be an integer value, not of type: {}",
                            display::type_name(arg)
                        ))
                    })?);
                }
                "$sort" => push.sort = Some(parse_sort(arg)?),
                other => {
                    return Err(Error::bad_value(format!(
                        "Unrecognized clause in $push: {other}"
                    )));
                }
            }
        }
        Ok(push)
    }

    pub(crate) fn sorts(&self) -> bool {
        self.sort.is_some()
    }

    fn perform(&self, items: &mut Vec<Bson>) {
        let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let at = match self.position {
            None => len,
            Some(p) if p >= 0 => p.min(len),
            Some(p) => len.saturating_add(p).max(0),
        };
        let at = usize::try_from(at).unwrap_or(items.len()).min(items.len());
        items.splice(at..at, self.values.iter().cloned());
        if let Some(sort) = &self.sort {
            items.sort_by(|a, b| sort.compare(a, b));
        }
        if let Some(slice) = self.slice {
            let keep = usize::try_from(slice.unsigned_abs()).unwrap_or(usize::MAX);
            if items.len() > keep {
                if slice >= 0 {
                    items.truncate(keep);
                } else {
                    items.drain(..items.len() - keep);
                }
            }
        }
    }
}

/// mongod's `parseIntegerElementToLong`: an integer, or a double that holds one.
fn integer(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Int64(i) => Some(*i),
        Bson::Double(d) if d.fract() == 0.0 && d.abs() < 9.2e18 => Some(*d as i64),
        _ => None,
    }
}

fn direction(value: &Bson) -> Option<bool> {
    let n = match value {
        Bson::Int32(i) => f64::from(*i),
        Bson::Int64(i) => *i as f64,
        Bson::Double(d) => *d,
        Bson::Decimal128(d) => order::decimal_to_f64(d),
        _ => return None,
    };
    if n == 1.0 {
        Some(false)
    } else if n == -1.0 {
        Some(true)
    } else {
        None
    }
}

fn parse_sort(arg: &Bson) -> Result<SortSpec> {
    let bad_direction = || Error::bad_value("The $sort element value must be either 1 or -1");
    match arg {
        Bson::Document(pattern) => {
            if pattern.is_empty() {
                return Err(Error::bad_value(
                    "The $sort pattern is empty when it should be a set of fields.",
                ));
            }
            let mut fields = Vec::new();
            for (field, dir) in pattern {
                let descending = direction(dir).ok_or_else(bad_direction)?;
                if field.is_empty() {
                    return Err(Error::bad_value("The $sort field cannot be empty"));
                }
                let parts: Vec<String> = field.split('.').map(str::to_string).collect();
                if parts.iter().any(String::is_empty) {
                    return Err(Error::bad_value(format!(
                        "The $sort field is a dotted field but has an empty part: {field}"
                    )));
                }
                fields.push((parts, descending));
            }
            Ok(SortSpec::Fields(fields))
        }
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
            Ok(SortSpec::Whole {
                descending: direction(arg).ok_or_else(bad_direction)?,
            })
        }
        _ => Err(Error::bad_value(
            "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields",
        )),
    }
}

impl SortSpec {
    fn compare(&self, a: &Bson, b: &Bson) -> Ordering {
        match self {
            SortSpec::Whole { descending } => directed(order::compare(a, b), *descending),
            SortSpec::Fields(fields) => fields
                .iter()
                .map(|(parts, descending)| {
                    directed(order::compare(key(a, parts), key(b, parts)), *descending)
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal),
        }
    }
}

/// The sort key of an element: its value at `parts`, null when missing or
/// when the element is not a document.
fn key<'a>(element: &'a Bson, parts: &[String]) -> &'a Bson {
    match element {
        Bson::Document(_) => path::get(element, parts).unwrap_or(&Bson::Null),
        _ => &Bson::Null,
    }
}

fn directed(ordering: Ordering, descending: bool) -> Ordering {
    if descending {
        ordering.reverse()
    } else {
        ordering
    }
}

pub(crate) fn parse_add_to_set(value: &Bson) -> Result<Vec<Bson>> {
    match value {
        Bson::Document(d) if d.keys().next().is_some_and(|k| k == "$each") => {
            if d.len() > 1 {
                return Err(Error::bad_value(format!(
                    "Found unexpected fields after $each in $addToSet: {}",
                    display::value_str(value)
                )));
            }
            match d.get("$each") {
                Some(Bson::Array(items)) => Ok(items.clone()),
                other => Err(Error::type_mismatch(format!(
                    "The argument to $each in $addToSet must be an array but it was of type {}",
                    display::type_name(other.unwrap_or(&Bson::Null))
                ))),
            }
        }
        _ => Ok(vec![value.clone()]),
    }
}

/// Returns whether `$pop` removes the first element (`-1`) or the last (`1`).
pub(crate) fn parse_pop(field: &str, value: &Bson) -> Result<bool> {
    let n = match value {
        Bson::Int32(i) => f64::from(*i),
        Bson::Int64(i) => *i as f64,
        Bson::Double(d) => *d,
        Bson::Decimal128(d) => order::decimal_to_f64(d),
        _ => {
            return Err(Error::failed_to_parse(format!(
                "Expected a number in: {}",
                display::element(field, value)
            )));
        }
    };
    if n == 1.0 {
        Ok(false)
    } else if n == -1.0 {
        Ok(true)
    } else {
        Err(Error::failed_to_parse(format!(
            "$pop expects 1 or -1, found: {}",
            display::value_str(value)
        )))
    }
}

pub(crate) fn parse_pull_all(value: &Bson) -> Result<Vec<Bson>> {
    match value {
        Bson::Array(items) => Ok(items.clone()),
        other => Err(Error::bad_value(format!(
            "$pullAll requires an array argument but was given a {}",
            display::type_name(other)
        ))),
    }
}

pub(crate) fn push(root: &mut Bson, target: &[String], push: &Push) -> Result<()> {
    match path::locate(root, target) {
        Location::Blocked { depth } => Err(path::not_viable(root, target, depth)),
        Location::Missing { .. } => {
            let mut items = Vec::new();
            push.perform(&mut items);
            path::set(root, target, Bson::Array(items))
        }
        Location::Found => {
            let id = display::id_element(root);
            match path::get_mut(root, target) {
                Some(Bson::Array(items)) => {
                    push.perform(items);
                    Ok(())
                }
                other => Err(Error::bad_value(format!(
                    "The field '{}' must be an array but is of type {} in document {{{id}}}",
                    target.join("."),
                    display::type_name(other.map_or(&Bson::Null, |v| &*v))
                ))),
            }
        }
    }
}

pub(crate) fn add_to_set(root: &mut Bson, target: &[String], values: &[Bson]) -> Result<()> {
    let add_missing = |items: &mut Vec<Bson>| {
        for value in values {
            if !items.iter().any(|item| order::equal(item, value)) {
                items.push(value.clone());
            }
        }
    };
    match path::locate(root, target) {
        Location::Blocked { depth } => Err(path::not_viable(root, target, depth)),
        Location::Missing { .. } => {
            let mut items = Vec::new();
            add_missing(&mut items);
            path::set(root, target, Bson::Array(items))
        }
        Location::Found => match path::get_mut(root, target) {
            Some(Bson::Array(items)) => {
                add_missing(items);
                Ok(())
            }
            other => Err(Error::bad_value(format!(
                "Cannot apply $addToSet to non-array field. Field named '{}' has non-array type {}",
                target.last().map_or("", String::as_str),
                display::type_name(other.map_or(&Bson::Null, |v| &*v))
            ))),
        },
    }
}

pub(crate) fn pop(root: &mut Bson, target: &[String], first: bool) -> Result<()> {
    check_viable(root, target)?;
    match path::get_mut(root, target) {
        None => Ok(()),
        Some(Bson::Array(items)) => {
            if first {
                if !items.is_empty() {
                    items.remove(0);
                }
            } else {
                items.pop();
            }
            Ok(())
        }
        Some(other) => Err(Error::type_mismatch(format!(
            "Path '{}' contains an element of non-array type '{}'",
            target.join("."),
            display::type_name(other)
        ))),
    }
}

/// Removes the elements `doomed` accepts, for `$pull` and `$pullAll`.
pub(crate) fn cull(
    root: &mut Bson,
    target: &[String],
    operator: &str,
    doomed: impl Fn(&Bson) -> bool,
) -> Result<()> {
    check_viable(root, target)?;
    match path::get_mut(root, target) {
        None => Ok(()),
        Some(Bson::Array(items)) => {
            items.retain(|item| !doomed(item));
            Ok(())
        }
        Some(_) => Err(Error::bad_value(format!(
            "Cannot apply {operator} to a non-array value"
        ))),
    }
}

/// A missing path is a no-op for the operators that only remove, but one
/// that could never exist is an error, as in mongod.
fn check_viable(root: &Bson, target: &[String]) -> Result<()> {
    match path::locate(root, target) {
        Location::Blocked { depth } => Err(path::not_traversable(root, target, depth)),
        _ => Ok(()),
    }
}
