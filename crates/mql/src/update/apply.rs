//! Applying a parsed update to one document, and the checks mongod makes on
//! the result: `_id` is immutable, stays a storable type, top-level field
//! names do not start with `$`, and documents nest at most 100 levels.
//!
//! Work happens on one copy of the caller's document, which is returned, so
//! a failed update leaves the caller's document as it was. Whether the document counts as modified (mongod's
//! `nModified`) is decided by byte identity (see [`super::identity`]): of
//! the result for operators, except the few mongod always counts; of the
//! replacement as given for a replacement.

use bson::{Bson, Document};

use super::ApplyContext;
use super::array_filters::ArrayFilters;
use super::display;
use super::identity;
use super::parse::PathOp;
use super::path::{self, Part};
use super::targets::{self, Targets, Touched};
use crate::{Code, Error, Result, order};

/// Documents nest at most this many levels, as mongod stores them.
pub(crate) const DOCUMENT_DEPTH_MAX: usize = 100;

pub(crate) fn operators<'a>(
    ops: &'a [PathOp],
    filters: &ArrayFilters,
    doc: &Document,
    ctx: &ApplyContext,
) -> Result<(bool, Document)> {
    let mut root = Bson::Document(doc.clone());
    let mut reported = false;
    if ops.iter().any(|op| op.path.is_dynamic()) {
        // Every target is resolved before any is written: mongod matches
        // array filters against the elements as they were before the update.
        let mut touched = Touched::default();
        let mut resolved = Vec::with_capacity(ops.len());
        let mut resolve = |path_op: &'a PathOp| -> Result<()> {
            let targets = targets::resolve(&root, &path_op.path, ctx, filters)?;
            for target in targets.iter() {
                touched.record(target)?;
            }
            resolved.push((path_op, targets));
            Ok(())
        };
        match positional_order(ops, ctx) {
            Some(ordered) => ordered.into_iter().try_for_each(&mut resolve)?,
            None => ops.iter().try_for_each(&mut resolve)?,
        }
        for (path_op, targets) in resolved {
            reported |= apply_at(&mut root, doc, path_op, &targets, ctx)?;
        }
    } else {
        // Static paths name themselves whatever the document holds, and
        // cannot overlap (parse refused any that do): apply them in order.
        for path_op in ops {
            let targets = Targets::Static(path_op.path.components());
            reported |= apply_at(&mut root, doc, path_op, &targets, ctx)?;
        }
    }
    let Bson::Document(mut updated) = root else {
        return Ok((false, doc.clone()));
    };
    check_top_level_names(doc, &updated)?;
    let changed = reported || !identity::documents(doc, &updated);
    finish(&mut updated, ctx)?;
    Ok((changed, updated))
}

/// Applies one operation at its resolved targets; returns whether it
/// always counts as a modification. `doc` is the document before the update.
fn apply_at(
    root: &mut Bson,
    doc: &Document,
    path_op: &PathOp,
    targets: &Targets<'_>,
    ctx: &ApplyContext,
) -> Result<bool> {
    // Only an operation on `_id` itself can change it.
    let guards_id = (path_op.path.first_field() == Some("_id") || renames_id(path_op))
        && doc.contains_key("_id");
    let mut reported = false;
    for target in targets.iter() {
        let id_before = guards_id.then(|| id_of(root));
        path_op.op.apply(root, target, ctx)?;
        reported |= path_op.op.always_reports_modified();
        if let Some(before) = id_before
            && !identity::values(&before, &id_of(root))
        {
            return Err(immutable_id(path_op, target));
        }
    }
    Ok(reported)
}

/// The operations in mongod's order when it differs from parse's: parse
/// sorted them by path, but a `$` sorts where the index it stands for does,
/// since mongod merges it with that sibling before applying. `None` keeps
/// parse's order.
fn positional_order<'a>(ops: &'a [PathOp], ctx: &ApplyContext) -> Option<Vec<&'a PathOp>> {
    let index = ctx.positional?;
    if !ops
        .iter()
        .any(|op| op.path.parts().any(|part| part == Part::Positional))
    {
        return None;
    }
    let index = index.to_string();
    let key = |op: &PathOp| -> Vec<String> {
        op.path
            .parts()
            .map(|part| match part {
                Part::Positional => index.clone(),
                other => other.text().to_string(),
            })
            .collect()
    };
    let mut ordered: Vec<&PathOp> = ops.iter().collect();
    ordered.sort_by(|a, b| path::compare_components(&key(a), &key(b)));
    Some(ordered)
}

fn renames_id(path_op: &PathOp) -> bool {
    matches!(&path_op.op, super::ops::Op::Rename { from } if from.first_field() == Some("_id"))
}

fn id_of(root: &Bson) -> Bson {
    match root {
        Bson::Document(d) => d.get("_id").cloned().unwrap_or(Bson::Undefined),
        _ => Bson::Undefined,
    }
}

fn immutable_id(path_op: &PathOp, target: &[String]) -> Error {
    let message = match &path_op.op {
        super::ops::Op::Rename { from } if from.first_field() == Some("_id") => format!(
            "Unsetting the path '{}' using $rename would modify the immutable field '_id'",
            from.dotted()
        ),
        _ => format!(
            "Performing an update on the path '{}' would modify the immutable field '_id'",
            target.join(".")
        ),
    };
    Error::new(Code::IMMUTABLE_FIELD, message)
}

/// Replaces `doc` with `replacement`, keeping `doc`'s `_id` when the
/// replacement has none.
///
/// As in mongod, the replacement is a no-op only when it is byte-identical
/// to the stored document as given: one that omits `_id` counts as a
/// modification even if the result ends up the same.
pub(crate) fn replacement(
    replacement: &Document,
    doc: &Document,
    ctx: &ApplyContext,
) -> Result<(bool, Document)> {
    let replacement = &with_zero_timestamps_filled(replacement, ctx);
    if identity::documents(doc, replacement) {
        return Ok((false, doc.clone()));
    }
    let mut updated = Document::new();
    if !replacement.contains_key("_id")
        && let Some(id) = doc.get("_id")
    {
        updated.insert("_id", id.clone());
    }
    for (key, value) in replacement {
        updated.insert(key.clone(), value.clone());
    }
    for key in updated.keys() {
        if key.starts_with('$') {
            return Err(dollar_prefixed(key));
        }
    }
    if let (Some(old), Some(new)) = (doc.get("_id"), updated.get("_id"))
        && !order::equal(old, new)
    {
        return Err(Error::new(
            Code::IMMUTABLE_FIELD,
            format!(
                "After applying the update, the (immutable) field '_id' was found to have been altered to {}",
                display::element("_id", new)
            ),
        ));
    }
    finish(&mut updated, ctx)?;
    Ok((true, updated))
}

/// mongod fills a top-level `Timestamp(0, 0)` of a replacement (other than
/// `_id`) with the current time, as it does on insert.
fn with_zero_timestamps_filled(replacement: &Document, ctx: &ApplyContext) -> Document {
    let mut filled = replacement.clone();
    for (key, value) in filled.iter_mut() {
        if let Bson::Timestamp(ts) = value
            && key != "_id"
            && ts.time == 0
            && ts.increment == 0
        {
            *ts = ctx.now_timestamp;
        }
    }
    filled
}

/// Checks the updated document and puts `_id` first on an upsert's insert.
fn finish(updated: &mut Document, ctx: &ApplyContext) -> Result<()> {
    if let Some(id) = crate::path::field(updated, "_id") {
        check_id_type(id)?;
    }
    if identity::deeper_than(updated, DOCUMENT_DEPTH_MAX) {
        return Err(Error::new(
            Code::OVERFLOW,
            format!("Document exceeds maximum nesting depth of {DOCUMENT_DEPTH_MAX}"),
        ));
    }
    if ctx.is_upsert_insert {
        id_first(updated);
    }
    Ok(())
}

fn check_id_type(id: &Bson) -> Result<()> {
    let forbidden = match id {
        Bson::Array(_) => "array",
        Bson::RegularExpression(_) => "regex",
        Bson::Undefined => "undefined",
        _ => return Ok(()),
    };
    Err(Error::new(
        Code::INVALID_ID_FIELD,
        format!("The '_id' value cannot be of type {forbidden}"),
    ))
}

fn id_first(doc: &mut Document) {
    if doc.keys().next().is_some_and(|k| k == "_id") {
        return;
    }
    if let Some(id) = doc.remove("_id") {
        let mut reordered = Document::new();
        reordered.insert("_id", id);
        for (key, value) in std::mem::take(doc) {
            reordered.insert(key, value);
        }
        *doc = reordered;
    }
}

/// mongod 5.0+ allows `$`-prefixed field names below the top level only.
fn check_top_level_names(before: &Document, after: &Document) -> Result<()> {
    for (key, value) in after {
        if key.starts_with('$') {
            let unchanged = before
                .get(key)
                .is_some_and(|old| identity::values(old, value));
            if !unchanged {
                return Err(dollar_prefixed(key));
            }
        }
    }
    Ok(())
}

fn dollar_prefixed(key: &str) -> Error {
    Error::new(
        Code::DOLLAR_PREFIXED_FIELD_NAME,
        format!(
            "The dollar ($) prefixed field '{key}' in '{key}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith."
        ),
    )
}
