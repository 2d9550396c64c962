//! The `collation` option of commands and of write statements: read once
//! per command (or statement) into a shared [`Collation`], then handed to
//! the filter, the sort and the pipeline that use it.
//!
//! `None` is the simple (binary) collation, which every index and every
//! collection has: Rotor stores no collation on either, so a query with a
//! collation is planned without string index bounds ([`crate::exec`]).
//!
//! Not here: a collation does not reach `arrayFilters`, `$pull`'s
//! conditions, a find projection's `$elemMatch`, aggregation expressions
//! (`$expr`, `$eq` inside `$project`) or `$lookup`'s join keys; those still
//! compare strings in binary.

use std::sync::Arc;

use bson::{Bson, Document};
use mql::Code;
use mql::collation::Collation;
use mql::order::type_name;

use super::CommandError;
use super::args::Args;

/// A command's top-level `collation`.
pub(super) fn of_command(args: &Args<'_>) -> Result<Option<Arc<Collation>>, CommandError> {
    match args.document("collation")? {
        Some(spec) => parse(spec),
        None => Ok(None),
    }
}

/// A write statement's `collation` (`updates.collation`, `deletes.collation`,
/// a bulkWrite op's); `context` names the statement in messages.
pub(super) fn of_statement(
    statement: &Document,
    context: &str,
) -> Result<Option<Arc<Collation>>, CommandError> {
    match statement.get("collation") {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Document(spec)) => parse(spec),
        Some(other) => Err(CommandError::new(
            Code::TYPE_MISMATCH,
            format!(
                "BSON field '{context}.collation' is the wrong type '{}', expected type 'object'",
                type_name(other)
            ),
        )),
    }
}

fn parse(spec: &Document) -> Result<Option<Arc<Collation>>, CommandError> {
    Ok(Collation::parse(spec)?.map(Arc::new))
}

/// Collections and indexes keep no collation: refuse to create one with a
/// non-simple collation rather than silently compare it in binary.
pub(super) fn refuse_stored(spec: Option<&Bson>, what: &str) -> Result<(), CommandError> {
    let Some(spec) = spec else {
        return Ok(());
    };
    let Bson::Document(spec) = spec else {
        return Err(CommandError::new(
            Code::TYPE_MISMATCH,
            format!(
                "BSON field 'collation' is the wrong type '{}', expected type 'object'",
                type_name(spec)
            ),
        ));
    };
    match Collation::parse(spec)? {
        None => Ok(()),
        Some(_) => Err(CommandError::new(
            Code::COMMAND_NOT_SUPPORTED,
            format!(
                "Rotor does not support {what} with a non-simple collation; pass collation per operation instead"
            ),
        )),
    }
}
