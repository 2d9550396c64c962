//! `findAndModify`: update or remove one document and return it.

use std::sync::Arc;

use bson::{Bson, Document, doc};
use mql::Code;
use mql::matcher::Filter;

use super::args::Args;
use super::ctx::{Change, Ctx, StmtKind};
use super::modification::Modification;
use super::update::{Statement, run_statement};
use super::write;
use super::{CommandError, CommandResult};
use crate::session::RetryResult;

pub(super) fn find_and_modify(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("findAndModify", body);
    args.check_known(&[
        "query",
        "sort",
        "remove",
        "update",
        "new",
        "fields",
        "upsert",
        "bypassDocumentValidation",
        "arrayFilters",
        "hint",
    ])?;
    let name = args.collection()?;
    let stmt_id = write::statement_id(body, 0);
    if let Some(RetryResult::Reply(reply)) = write::already_done(ctx, stmt_id) {
        return Ok(reply);
    }
    let no_filter = Document::new();
    let filter_doc = args.document("query")?.unwrap_or(&no_filter);
    let sort = args.document("sort")?.filter(|s| !s.is_empty());
    let remove = args.bool("remove")?.unwrap_or(false);
    let return_new = args.bool("new")?.unwrap_or(false);
    let upsert = args.bool("upsert")?.unwrap_or(false);
    let fields = args.document("fields")?;
    let array_filters: Vec<Document> = args
        .documents("arrayFilters")?
        .unwrap_or_default()
        .into_iter()
        .cloned()
        .collect();
    let update = args
        .get("update")
        .map(|u| Modification::parse(u, &array_filters))
        .transpose()?;
    let collation = super::collation::of_command(&args)?;
    let filter = Filter::parse(filter_doc)?.with_collation(collation);
    let kind = StmtKind::FindAndModify {
        return_new,
        fields: fields.cloned().map(Arc::new),
    };
    let reply = write::run_statement(ctx, (stmt_id, kind), |ctx| {
        let (image, last_error) = match (remove, update) {
            (true, Some(_)) => {
                return Err(CommandError::new(
                    Code::FAILED_TO_PARSE,
                    "Cannot specify both an update and remove=true",
                ));
            }
            (false, None) => {
                return Err(CommandError::new(
                    Code::FAILED_TO_PARSE,
                    "Either an update or remove=true must be specified",
                ));
            }
            (true, None) => {
                if return_new {
                    return Err(CommandError::new(
                        Code::FAILED_TO_PARSE,
                        "Cannot specify both new=true and remove=true; 'remove' always returns the deleted document",
                    ));
                }
                if upsert {
                    return Err(CommandError::new(
                        Code::FAILED_TO_PARSE,
                        "Cannot specify both upsert=true and remove=true",
                    ));
                }
                let removed = remove_one(ctx, name, filter_doc, &filter, sort)?;
                let last_error = remove_last_error(removed.is_some());
                (removed, last_error)
            }
            (false, Some(update)) => {
                let statement = Statement {
                    filter_doc,
                    filter,
                    update,
                    multi: false,
                    upsert,
                    command: "findAndModify",
                    sort,
                };
                let outcome = run_statement(ctx, name, &statement)?;
                let image = if return_new {
                    &outcome.after
                } else {
                    &outcome.before
                };
                let last_error = update_last_error(outcome.matched > 0, outcome.upserted);
                (image.as_deref().cloned(), last_error)
            }
        };
        reply(image, last_error, fields)
    })?;
    write::remember(ctx, stmt_id, RetryResult::Reply(reply.clone()));
    Ok(reply)
}

/// `lastErrorObject` of a remove that removed a document or none.
pub(super) fn remove_last_error(removed: bool) -> Document {
    doc! {"n": i32::from(removed)}
}

/// `lastErrorObject` of an update: whether it matched a document, and the
/// `_id` it upserted if it did not.
pub(super) fn update_last_error(matched: bool, upserted: Option<Bson>) -> Document {
    let n = i32::from(matched) + i32::from(upserted.is_some());
    let mut last_error = doc! {"n": n, "updatedExisting": matched};
    if let Some(id) = upserted {
        last_error.insert("upserted", id);
    }
    last_error
}

/// The reply showing `image` (the document before or after, as asked),
/// projected by `fields`.
pub(super) fn reply(
    image: Option<Document>,
    last_error: Document,
    fields: Option<&Document>,
) -> CommandResult {
    let value = match (image, fields.filter(|f| !f.is_empty())) {
        (Some(doc), Some(fields)) => {
            Some(mql::projection::Projection::parse(fields)?.apply(&doc, None)?)
        }
        (value, _) => value,
    };
    Ok(doc! {
        "lastErrorObject": last_error,
        "value": value.map(Bson::Document).unwrap_or(Bson::Null),
    })
}

fn remove_one(
    ctx: &mut Ctx<'_>,
    name: &str,
    filter_doc: &Document,
    filter: &Filter,
    sort: Option<&Document>,
) -> Result<Option<Document>, CommandError> {
    let Some(coll) = ctx.writable(name)? else {
        return Ok(None);
    };
    let collation = filter.collation();
    let hits = super::find::query(ctx, name, filter_doc, sort, 0, None, collation)?.docs;
    for hit in hits {
        let mut removed = None;
        let change = ctx.modify(&coll, &hit.key, |current| {
            removed = None;
            match current {
                Some(doc) if filter.matches(doc) => {
                    removed = Some((**doc).clone());
                    Ok(Change::Delete)
                }
                _ => Ok(Change::Keep),
            }
        })?;
        if matches!(change, Change::Delete) {
            return Ok(removed);
        }
    }
    Ok(None)
}
