//! Set operators over arrays: `$setUnion`, `$setIntersection`,
//! `$setDifference`, `$setEquals`, `$setIsSubset`. Membership uses MongoDB
//! equality; duplicates are removed and results keep first-seen order.

use bson::Bson;

use super::ast::Op;
use super::value::{is_nullish, type_name};
use crate::{Error, Result, order};

type Out = Result<Option<Bson>>;

fn contains(items: &[Bson], value: &Bson) -> bool {
    items.iter().any(|item| order::equal(item, value))
}

fn dedup(items: impl IntoIterator<Item = Bson>) -> Vec<Bson> {
    let mut out: Vec<Bson> = Vec::new();
    for item in items {
        if !contains(&out, &item) {
            out.push(item);
        }
    }
    out
}

fn array<'a>(op: Op, value: Option<&'a Bson>, code: i32, what: &str) -> Result<&'a [Bson]> {
    match value {
        Some(Bson::Array(items)) => Ok(items),
        other => Err(Error::location(
            code,
            format!(
                "{what} of {} must be arrays. One argument is of type: {}",
                op.name(),
                type_name(other)
            ),
        )),
    }
}

pub(super) fn apply(op: Op, values: &[Option<Bson>]) -> Option<Out> {
    let out = match op {
        Op::SetUnion => union(values),
        Op::SetIntersection => intersection(values),
        Op::SetDifference => difference(values),
        Op::SetEquals => equals(values),
        Op::SetIsSubset => is_subset(values),
        _ => return None,
    };
    Some(out)
}

fn union(values: &[Option<Bson>]) -> Out {
    let mut all = Vec::new();
    for value in values {
        if is_nullish(value.as_ref()) {
            return Ok(Some(Bson::Null));
        }
        all.extend(
            array(Op::SetUnion, value.as_ref(), 17043, "All operands")?
                .iter()
                .cloned(),
        );
    }
    Ok(Some(Bson::Array(dedup(all))))
}

fn intersection(values: &[Option<Bson>]) -> Out {
    let mut result: Option<Vec<Bson>> = None;
    for value in values {
        if is_nullish(value.as_ref()) {
            return Ok(Some(Bson::Null));
        }
        let items = array(Op::SetIntersection, value.as_ref(), 17047, "All operands")?;
        result = Some(match result {
            None => dedup(items.iter().cloned()),
            Some(acc) => acc.into_iter().filter(|v| contains(items, v)).collect(),
        });
    }
    Ok(Some(Bson::Array(result.unwrap_or_default())))
}

fn difference(values: &[Option<Bson>]) -> Out {
    let (first, second) = (
        values.first().and_then(Option::as_ref),
        values.get(1).and_then(Option::as_ref),
    );
    if is_nullish(first) || is_nullish(second) {
        return Ok(Some(Bson::Null));
    }
    let first = array(Op::SetDifference, first, 17048, "both operands")?;
    let second = array(Op::SetDifference, second, 17049, "both operands")?;
    let out = dedup(first.iter().filter(|v| !contains(second, v)).cloned());
    Ok(Some(Bson::Array(out)))
}

fn equals(values: &[Option<Bson>]) -> Out {
    let mut sets = Vec::with_capacity(values.len());
    for value in values {
        sets.push(array(Op::SetEquals, value.as_ref(), 17044, "All operands")?);
    }
    let equal = sets.windows(2).all(|pair| match pair {
        [a, b] => a.iter().all(|v| contains(b, v)) && b.iter().all(|v| contains(a, v)),
        _ => true,
    });
    Ok(Some(Bson::Boolean(equal)))
}

fn is_subset(values: &[Option<Bson>]) -> Out {
    let first = array(
        Op::SetIsSubset,
        values.first().and_then(Option::as_ref),
        17046,
        "both operands",
    )?;
    let second = array(
        Op::SetIsSubset,
        values.get(1).and_then(Option::as_ref),
        17042,
        "both operands",
    )?;
    Ok(Some(Bson::Boolean(
        first.iter().all(|v| contains(second, v)),
    )))
}
