//! `delete`: statements with `limit` 0 (all matches) or 1.

use std::sync::Arc;

use bson::{Bson, Document};
use mql::Code;
use mql::matcher::Filter;

use super::args::Args;
use super::ctx::{Change, Ctx, StmtKind};
use super::write::{self, Done};
use super::{CommandError, CommandResult};
use crate::exec;
use crate::storage::collection::Collection;

pub(super) fn delete(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("delete", body);
    args.check_known(&["deletes", "ordered"])?;
    let name = args.collection()?;
    let statements = write::batch_statements(&args, "delete", "deletes")?;
    let ordered = args.bool("ordered")?.unwrap_or(true);
    // A view fails each statement, as mongod reports it: a write error.
    let coll = ctx.writable(name);
    let batch = write::run_batch(
        ctx,
        (body, StmtKind::Delete),
        &statements,
        ordered,
        |ctx, statement| {
            let (filter_doc, filter, multi) = parse_statement(statement)?;
            write::refuse_multi_in_retryable_write(
                ctx,
                multi,
                "Cannot use (or request) retryable writes with limit=0",
            )?;
            let n = match &coll {
                Ok(Some(coll)) => delete_matching(ctx, coll, &filter_doc, &filter, multi)?,
                Ok(None) => 0,
                Err(error) => return Err(error.clone()),
            };
            Ok(Done {
                n,
                ..Done::default()
            })
        },
    )?;
    Ok(batch.reply(false))
}

pub(super) fn parse_statement(
    statement: &Document,
) -> Result<(Document, Filter, bool), CommandError> {
    let args = Args::new("delete.deletes", statement);
    for field in statement.keys() {
        if !matches!(field.as_str(), "q" | "limit" | "collation" | "hint") {
            return Err(CommandError::new(
                Code(40415),
                format!("BSON field 'delete.deletes.{field}' is an unknown field."),
            ));
        }
    }
    let filter_doc = match statement.get("q") {
        Some(Bson::Document(q)) => q.clone(),
        Some(_) => {
            return Err(CommandError::new(
                Code::TYPE_MISMATCH,
                "BSON field 'delete.deletes.q' is the wrong type, expected type 'object'",
            ));
        }
        None => {
            return Err(CommandError::new(
                Code::FAILED_TO_PARSE,
                "BSON field 'delete.deletes.q' is missing but a required field",
            ));
        }
    };
    let multi = match args.integer("limit")? {
        Some(0) => true,
        Some(1) => false,
        Some(n) => {
            return Err(CommandError::new(
                Code::FAILED_TO_PARSE,
                format!("The limit field in delete objects must be 0 or 1. Got {n}"),
            ));
        }
        None => {
            return Err(CommandError::new(
                Code::FAILED_TO_PARSE,
                "BSON field 'delete.deletes.limit' is missing but a required field",
            ));
        }
    };
    let collation = super::collation::of_statement(statement, "delete.deletes")?;
    let filter = Filter::parse(&filter_doc)?.with_collation(collation);
    Ok((filter_doc, filter, multi))
}

/// Deletes the documents matching `filter` (the first one only unless
/// `multi`); returns how many were deleted.
pub(super) fn delete_matching(
    ctx: &mut Ctx<'_>,
    coll: &Arc<Collection>,
    filter_doc: &Document,
    filter: &Filter,
    multi: bool,
) -> Result<i64, CommandError> {
    let stop_after = (!multi).then_some(1);
    let mut deleted = 0;
    for attempt in [stop_after, None] {
        let hits = exec::find(ctx.engine, &ctx.view(), coll, filter_doc, filter, attempt);
        for hit in hits {
            ctx.check_deadline()?;
            let change = ctx.modify(coll, &hit.key, |current| {
                Ok(match current {
                    Some(doc) if filter.matches(doc) => Change::Delete,
                    _ => Change::Keep,
                })
            })?;
            if matches!(change, Change::Delete) {
                deleted += 1;
                if !multi {
                    return Ok(deleted);
                }
            }
        }
        if multi || attempt.is_none() {
            break;
        }
    }
    Ok(deleted)
}
