//! Resolving a parsed path's dynamic parts (`$`, `$[]`, `$[id]`) against a
//! document into the concrete paths an operator then applies to.
//!
//! Also guards against two targets of one update overlapping at run time
//! (`a.$` resolving onto `a.0`, or two filters selecting the same element),
//! which mongod reports as a conflict; static overlaps are caught at parse.

use std::collections::BTreeSet;

use bson::Bson;

use super::ApplyContext;
use super::array_filters::ArrayFilters;
use super::display;
use super::path::{self, FieldPath, Part};
use crate::{Code, Error, Result};

/// The concrete paths one parsed path names in a document.
pub(crate) enum Targets<'p> {
    /// A static path names itself (its components), whatever the document.
    Static(&'p [String]),
    /// A dynamic path's resolutions, in array order.
    Dynamic(Vec<Vec<String>>),
}

impl Targets<'_> {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[String]> {
        let (one, many) = match self {
            Targets::Static(path) => (Some(*path), None),
            Targets::Dynamic(paths) => (None, Some(paths.iter().map(Vec::as_slice))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// The concrete paths `path` names in `root`, in array order.
pub(crate) fn resolve<'p>(
    root: &Bson,
    path: &'p FieldPath,
    ctx: &ApplyContext,
    filters: &ArrayFilters,
) -> Result<Targets<'p>> {
    if !path.is_dynamic() {
        return Ok(Targets::Static(path.components()));
    }
    let mut partial: Vec<(Vec<String>, Option<&Bson>)> = vec![(Vec::new(), Some(root))];
    for part in path.parts() {
        let mut next = Vec::with_capacity(partial.len());
        for (prefix, value) in partial {
            match part {
                Part::Field(name) => next.push(step(prefix, value, name.to_string())),
                Part::Positional => {
                    let index = ctx.positional.ok_or_else(|| {
                        Error::bad_value(
                            "The positional operator did not find the match needed from the query.",
                        )
                    })?;
                    next.push(step(prefix, value, index.to_string()));
                }
                Part::AllElements | Part::Filtered(_) => {
                    let items = array_at(&prefix, value)?;
                    for (index, item) in items.iter().enumerate() {
                        if let Part::Filtered(id) = part
                            && !filters.accepts(id, item)
                        {
                            continue;
                        }
                        let mut concrete = prefix.clone();
                        concrete.push(index.to_string());
                        next.push((concrete, Some(item)));
                    }
                }
            }
        }
        partial = next;
    }
    Ok(Targets::Dynamic(
        partial.into_iter().map(|(concrete, _)| concrete).collect(),
    ))
}

fn step(
    mut prefix: Vec<String>,
    value: Option<&Bson>,
    name: String,
) -> (Vec<String>, Option<&Bson>) {
    let child = value.and_then(|v| path::child(v, &name));
    prefix.push(name);
    (prefix, child)
}

fn array_at<'a>(prefix: &[String], value: Option<&'a Bson>) -> Result<&'a [Bson]> {
    match value {
        Some(Bson::Array(items)) => Ok(items),
        None => Err(Error::bad_value(format!(
            "The path '{}' must exist in the document in order to apply array updates.",
            prefix.join(".")
        ))),
        Some(other) => Err(Error::bad_value(format!(
            "Cannot apply array updates to non-array element {}",
            display::element(prefix.last().map_or("", String::as_str), other)
        ))),
    }
}

/// The concrete paths one update has touched so far.
#[derive(Default)]
pub(crate) struct Touched {
    paths: BTreeSet<Vec<String>>,
}

impl Touched {
    /// Records `target`, failing if it overlaps a path already touched.
    pub(crate) fn record(&mut self, target: &[String]) -> Result<()> {
        for len in 1..=target.len() {
            if let Some(prefix) = target.get(..len)
                && self.paths.contains(prefix)
            {
                return Err(conflict(prefix));
            }
        }
        let extends = self
            .paths
            .range(target.to_vec()..)
            .next()
            .is_some_and(|next| next.starts_with(target));
        if extends {
            return Err(conflict(target));
        }
        self.paths.insert(target.to_vec());
        Ok(())
    }
}

fn conflict(at: &[String]) -> Error {
    Error::new(
        Code::CONFLICTING_UPDATE_OPERATORS,
        format!("Update created a conflict at '{}'", at.join(".")),
    )
}
