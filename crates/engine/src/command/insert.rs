//! `insert`: ordered and unordered batches.

use std::sync::Arc;

use bson::{Bson, Document, doc};
use mql::Code;

use super::args::Args;
use super::ctx::{Change, Ctx};
use super::write::{self, WRITE_BATCH_MAX};
use super::{CommandError, CommandResult};
use crate::session::RetryResult;
use crate::storage::collection::Collection;

pub(super) fn insert(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("insert", body);
    args.check_known(&["documents", "ordered", "bypassDocumentValidation"])?;
    let name = args.collection()?;
    let documents = args.documents("documents")?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'insert.documents' is missing but a required field",
        )
    })?;
    if documents.len() > WRITE_BATCH_MAX {
        return Err(CommandError::new(
            Code::INVALID_LENGTH,
            format!(
                "Write batch sizes must be between 1 and {WRITE_BATCH_MAX}. Got {} operations.",
                documents.len()
            ),
        ));
    }
    let ordered = args.bool("ordered")?.unwrap_or(true);
    let coll = ctx.collection_for_write(name)?;
    let mut n = 0i64;
    let mut write_errors = Vec::new();
    for (index, doc) in documents.into_iter().enumerate() {
        let stmt_id = write::statement_id(body, index);
        if let Some(RetryResult::Write { n: done, .. }) = write::already_done(ctx, stmt_id) {
            n += done;
            continue;
        }
        match insert_one(ctx, &coll, doc) {
            Ok(()) => {
                n += 1;
                write::remember(
                    ctx,
                    stmt_id,
                    RetryResult::Write {
                        n: 1,
                        modified: 0,
                        upserted: None,
                    },
                );
            }
            Err(error) => {
                write_errors.push(write::write_error_entry(ctx, index, error)?);
                if ordered || ctx.in_transaction() {
                    break;
                }
            }
        }
    }
    let mut reply = doc! {"n": n as i32};
    if !write_errors.is_empty() {
        reply.insert("writeErrors", write_errors);
    }
    Ok(reply)
}

pub(super) fn insert_one(
    ctx: &mut Ctx<'_>,
    coll: &Arc<Collection>,
    doc: &Document,
) -> Result<(), CommandError> {
    let doc = write::with_id_first(doc);
    write::validate_for_storage(&doc)?;
    let key = Collection::key_of(&doc);
    let doc = Arc::new(doc);
    ctx.modify(coll, &key, |_| Ok(Change::Insert(doc.clone())))?;
    Ok(())
}

/// The `_id` of a document as the reply's `upserted` entries show it.
pub(super) fn id_of(doc: &Document) -> Bson {
    doc.get("_id").cloned().unwrap_or(Bson::Null)
}
