//! MongoDB's update language: replacement documents and update operators
//! (`$set`, `$inc`, `$push`, ... with `$`, `$[]` and `$[<id>]` paths).
//!
//! [`UpdateSpec::parse`] checks an update once, before any document is read,
//! as mongod does; [`UpdateSpec::apply`] then applies it to each matched
//! document and reports whether mongod would count it as modified
//! (`nModified`): when its bytes changed, and a few operators always.
//! [`upsert_seed`] builds the document an upsert starts from.
//!
//! Invariants: `apply` never changes an existing `_id` (it fails with
//! ImmutableField instead), leaves the document untouched when it fails,
//! and preserves the order of existing fields; new fields are appended in
//! the order of their paths (byte-wise, numeric components numerically), as
//! mongod 5.0+ appends them.
//!
//! Not here: pipeline-style updates (arrays of stages; the engine rejects
//! them), clocks (the caller supplies `now` in [`ApplyContext`]), and
//! collation (comparisons use the simple binary collation).

mod apply;
mod arith;
mod array_filters;
mod arrays;
mod display;
pub(crate) mod identity;
mod ops;
mod parse;
mod path;
mod targets;
mod upsert;

#[cfg(test)]
mod tests;

use bson::Document;

use crate::Result;
use array_filters::ArrayFilters;
use parse::PathOp;

pub use upsert::upsert_seed;

/// A parsed update, ready to apply to any number of documents.
///
/// ```
/// use bson::doc;
/// use mql::update::{ApplyContext, UpdateSpec};
///
/// let spec = UpdateSpec::parse(&doc! {"$inc": {"n": 1}, "$push": {"log": "hit"}}, &[])?;
/// let ctx = ApplyContext::new(bson::DateTime::from_millis(0), bson::Timestamp { time: 0, increment: 0 });
/// let mut stored = doc! {"_id": 7, "n": 1};
/// assert!(spec.apply(&mut stored, &ctx)?);
/// assert_eq!(stored, doc! {"_id": 7, "n": 2, "log": ["hit"]});
/// # Ok::<(), mql::Error>(())
/// ```
pub struct UpdateSpec {
    form: Form,
}

enum Form {
    /// A whole new document (no `$`-prefixed top-level field).
    Replacement(Document),
    /// Update operators, sorted into mongod's application order.
    Operators {
        ops: Vec<PathOp>,
        filters: ArrayFilters,
    },
}

/// What applying an update needs to know beyond the document itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApplyContext {
    /// The array index the query matched, which `$` in a path stands for.
    pub positional: Option<usize>,
    /// Whether this application builds an upsert's new document; only then
    /// does `$setOnInsert` act, and `_id` is moved to the front.
    pub is_upsert_insert: bool,
    /// The time `$currentDate` writes as a date.
    pub now: bson::DateTime,
    /// The time `$currentDate` writes as a timestamp, and what a
    /// replacement's top-level `Timestamp(0, 0)` fields become.
    pub now_timestamp: bson::Timestamp,
}

impl ApplyContext {
    /// A context for updating an existing document, with no positional match.
    pub fn new(now: bson::DateTime, now_timestamp: bson::Timestamp) -> ApplyContext {
        ApplyContext {
            positional: None,
            is_upsert_insert: false,
            now,
            now_timestamp,
        }
    }
}

impl UpdateSpec {
    /// Parses an update document and its `arrayFilters`.
    ///
    /// The form follows the first field, as in mongod: `$`-prefixed means
    /// operators (and every field must then be a known operator), anything
    /// else, or an empty document, means a replacement.
    pub fn parse(update: &Document, array_filters: &[Document]) -> Result<UpdateSpec> {
        let operator_form = update.keys().next().is_some_and(|k| k.starts_with('$'));
        if !operator_form {
            // mongod parses the filters but, for a replacement, never asks
            // whether they were used.
            ArrayFilters::parse(array_filters)?;
            return Ok(UpdateSpec {
                form: Form::Replacement(update.clone()),
            });
        }
        let filters = ArrayFilters::parse(array_filters)?;
        let ops = parse::operators(update, &filters)?;
        Ok(UpdateSpec {
            form: Form::Operators { ops, filters },
        })
    }

    /// The document an upsert with this update starts from: the filter's
    /// equalities for operators ([`upsert_seed`]), only its `_id` for a
    /// replacement, as mongod seeds them.
    pub fn upsert_seed(&self, filter: &Document) -> Result<Document> {
        match self.form {
            Form::Replacement(_) => upsert::replacement_seed(filter),
            Form::Operators { .. } => upsert_seed(filter),
        }
    }

    /// Whether this is a replacement document rather than operators.
    pub fn is_replacement(&self) -> bool {
        matches!(self.form, Form::Replacement(_))
    }

    /// Applies the update to `doc`, returning whether its bytes changed.
    ///
    /// `doc` is the current document (for an upsert, the [`upsert_seed`]);
    /// its `_id`, if any, must survive unchanged. On error `doc` is left as
    /// it was.
    ///
    /// Errors from here depend on the stored document, which mongod reports
    /// as execution errors: its `update` and `findAndModify` prefix their
    /// message with `Plan executor error during <command> :: caused by :: `,
    /// while errors from [`UpdateSpec::parse`] stay bare. The prefix names
    /// the command, so adding it is the caller's job.
    pub fn apply(&self, doc: &mut Document, ctx: &ApplyContext) -> Result<bool> {
        let (changed, updated) = self.apply_to(doc, ctx)?;
        *doc = updated;
        Ok(changed)
    }

    /// [`UpdateSpec::apply`] without touching `doc`: the updated document
    /// and whether its bytes changed. Copies `doc` once, where updating a
    /// copy with `apply` would copy it twice.
    pub fn apply_to(&self, doc: &Document, ctx: &ApplyContext) -> Result<(bool, Document)> {
        match &self.form {
            Form::Replacement(replacement) => apply::replacement(replacement, doc, ctx),
            Form::Operators { ops, filters } => apply::operators(ops, filters, doc, ctx),
        }
    }
}
