//! `insert`: ordered and unordered batches.

use std::sync::Arc;

use bson::{Bson, Document};

use super::args::Args;
use super::ctx::{Ctx, StmtKind};
use super::write::{self, Done};
use super::{CommandError, CommandResult};
use crate::storage::collection::Collection;

pub(super) fn insert(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("insert", body);
    args.check_known(&["documents", "ordered", "bypassDocumentValidation"])?;
    let name = args.collection()?;
    let documents = write::batch_statements(&args, "insert", "documents")?;
    let ordered = args.bool("ordered")?.unwrap_or(true);
    // A view fails each statement, as mongod reports it: a write error.
    let coll = match ctx.writable(name) {
        // Found (and not a view): no second lookup through the catalog,
        // but the name is checked as creating it would check it.
        Ok(Some(coll)) => {
            super::ctx::validate_collection_name(ctx.db, name)?;
            Ok(coll)
        }
        Ok(None) => Ok(ctx.collection_for_write(name)?),
        Err(view) => Err(view),
    };
    let batch = write::run_batch(
        ctx,
        (body, StmtKind::Insert),
        &documents,
        ordered,
        |ctx, doc| {
            let coll = coll.as_ref().map_err(Clone::clone)?;
            insert_one(ctx, coll, doc)?;
            Ok(Done {
                n: 1,
                ..Done::default()
            })
        },
    )?;
    Ok(batch.reply(false))
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
    ctx.insert(coll, &key, &doc)
}

/// The `_id` of a document as the reply's `upserted` entries show it.
pub(super) fn id_of(doc: &Document) -> Bson {
    doc.get("_id").cloned().unwrap_or(Bson::Null)
}
