//! Parsing the operator form of an update (`{$set: {...}, $inc: {...}}`)
//! into a list of (path, operator) pairs in mongod's application order.
//!
//! Parsing enforces what mongod enforces before touching a document:
//! known operators with document arguments, well-formed paths, no
//! two paths where one is a prefix of the other (mongod's update tree has no
//! place for both), array-filter identifiers that exist and are all used,
//! and `$rename`'s own rules.
//!
//! An operator with no fields (`{$set: {}}`) is a no-op, as in mongod 5.0+.
//!
//! The pairs come out sorted by path component (byte-wise, but numerically
//! between two numeric components), because mongod 5.0+ applies its update
//! tree's children in that order; that is also the order in which new fields
//! are appended to a document.

use bson::{Bson, Document};

use super::array_filters::ArrayFilters;
use super::display;
use super::ops::{self, Op};
use super::path::{self, FieldPath, Part};
use crate::{Code, Error, Result};

/// Paths longer than this cannot name a storable field: documents nest at
/// most 100 levels.
pub(crate) const PATH_PARTS_MAX: usize = 100;

pub(crate) struct PathOp {
    pub(crate) path: FieldPath,
    pub(crate) op: Op,
}

pub(crate) fn operators(update: &Document, filters: &ArrayFilters) -> Result<Vec<PathOp>> {
    let mut parsed: Vec<PathOp> = Vec::new();
    let mut used: Vec<String> = Vec::new();
    if crate::path::field(update, "$v").is_some() {
        // mongod reserves `$v` for the update format of its oplog.
        return Err(Error::failed_to_parse(
            "The $v update field is only recognized internally",
        ));
    }
    for (operator, argument) in update {
        if !ops::OPERATORS.contains(&operator.as_str()) {
            return Err(Error::failed_to_parse(format!(
                "Unknown modifier: {operator}. Expected a valid update modifier or pipeline-style update specified as an array"
            )));
        }
        let Bson::Document(fields) = argument else {
            return Err(ops::not_a_document(operator, argument));
        };
        for (field, value) in fields {
            let path = parse_path(field, filters, &mut used)?;
            if operator == "$rename" {
                let to = rename_destination(&path, value, filters, &mut used)?;
                register(&parsed, None, &path)?;
                register(&parsed, Some(&path), &to)?;
                parsed.push(PathOp {
                    path: to,
                    op: Op::Rename { from: path },
                });
                continue;
            }
            let op = Op::parse(operator, field, value)?;
            register(&parsed, None, &path)?;
            parsed.push(PathOp { path, op });
        }
    }
    check_all_used(update, filters, &used)?;
    parsed.sort_by(|a, b| path::compare_components(&a.path.sort_key(), &b.path.sort_key()));
    Ok(parsed)
}

/// Fails, as mongod does, if an array filter's identifier appears in no path.
fn check_all_used(update: &Document, filters: &ArrayFilters, used: &[String]) -> Result<()> {
    match filters
        .identifiers()
        .find(|id| !used.iter().any(|u| u == id))
    {
        Some(unused) => Err(Error::failed_to_parse(format!(
            "The array filter for identifier '{unused}' was not used in the update {}",
            display::value_str(&Bson::Document(update.clone()))
        ))),
        None => Ok(()),
    }
}

fn parse_path(field: &str, filters: &ArrayFilters, used: &mut Vec<String>) -> Result<FieldPath> {
    let path = FieldPath::parse(field)?;
    if path.len() > PATH_PARTS_MAX {
        return Err(Error::new(
            Code::OVERFLOW,
            format!("Document exceeds maximum nesting depth of {PATH_PARTS_MAX}"),
        ));
    }
    // Only a dynamic path can name an array filter.
    if !path.is_dynamic() {
        return Ok(path);
    }
    for part in path.parts() {
        if let Part::Filtered(id) = part {
            if !filters.contains(id) {
                return Err(Error::bad_value(format!(
                    "No array filter found for identifier '{id}' in path '{}'",
                    path.dotted()
                )));
            }
            used.push(id.to_string());
        }
    }
    Ok(path)
}

fn rename_destination(
    from: &FieldPath,
    value: &Bson,
    filters: &ArrayFilters,
    used: &mut Vec<String>,
) -> Result<FieldPath> {
    let Bson::String(to_text) = value else {
        return Err(Error::bad_value(format!(
            "The 'to' field for $rename must be a string: {}",
            display::element(&from.dotted(), value)
        )));
    };
    let to = parse_path(to_text, filters, used)?;
    let shown = display::element(&from.dotted(), value);
    let (from_parts, to_parts) = (from.components(), to.components());
    if from_parts == to_parts {
        return Err(Error::bad_value(format!(
            "The source and target field for $rename must differ: {shown}"
        )));
    }
    if from_parts.starts_with(to_parts) || to_parts.starts_with(from_parts) {
        return Err(Error::bad_value(format!(
            "The source and target field for $rename must not be on the same path: {shown}"
        )));
    }
    if from.is_dynamic() {
        return Err(Error::bad_value(format!(
            "The source field for $rename may not be dynamic: {}",
            from.dotted()
        )));
    }
    if to.is_dynamic() {
        return Err(Error::bad_value(format!(
            "The destination field for $rename may not be dynamic: {}",
            to.dotted()
        )));
    }
    Ok(to)
}

/// Checks `path` against the paths parsed so far (each operation's path,
/// and a `$rename`'s source) and `pending` (a source not yet in `parsed`),
/// failing as mongod's update tree does when it would overlap one of them.
fn register(parsed: &[PathOp], pending: Option<&FieldPath>, path: &FieldPath) -> Result<()> {
    let sources = parsed.iter().filter_map(|p| match &p.op {
        Op::Rename { from } => Some(from),
        _ => None,
    });
    let conflict_len = parsed
        .iter()
        .map(|p| &p.path)
        .chain(sources)
        .chain(pending)
        .filter_map(|other| conflict_prefix_len(path, other))
        .min();
    if let Some(len) = conflict_len {
        let at = path.components().get(..len).unwrap_or_default();
        return Err(Error::new(
            Code::CONFLICTING_UPDATE_OPERATORS,
            format!(
                "Updating the path '{}' would create a conflict at '{}'",
                path.dotted(),
                at.join(".")
            ),
        ));
    }
    Ok(())
}

/// How many leading components of `new` name the place where it collides
/// with `old`, if it does.
fn conflict_prefix_len(new: &FieldPath, old: &FieldPath) -> Option<usize> {
    // Equal texts are equal parts, and distinct texts distinct parts.
    let (new, old) = (new.components(), old.components());
    let common = new.iter().zip(old).take_while(|(a, b)| a == b).count();
    if common == old.len() {
        return Some(old.len());
    }
    if common == new.len() {
        return Some(new.len());
    }
    let (a, b) = (Part::of(new.get(common)?), Part::of(old.get(common)?));
    (a.is_array_update() != b.is_array_update()).then_some(common)
}
