//! Cursor replies (`cursor: {firstBatch|nextBatch, id, ns}`) and batching.

use std::collections::VecDeque;

use bson::{Bson, Document, doc};

use super::CommandError;
use super::ctx::Ctx;
use crate::cursor::Cursor;

/// A `find`'s first batch holds at most this many documents by default
/// (mongod's default).
pub const FIRST_BATCH_DOCS_DEFAULT: usize = 101;
/// A batch stays under mongod's 16 MiB reply budget.
pub const BATCH_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Splits off the next batch: at most `batch_size` documents and
/// [`BATCH_BYTES_MAX`] bytes (at least one document).
pub fn take_batch(docs: &mut VecDeque<Document>, batch_size: Option<usize>) -> Vec<Document> {
    let limit = batch_size.unwrap_or(usize::MAX);
    let mut batch = Vec::new();
    let mut bytes = 0usize;
    while batch.len() < limit {
        let Some(doc) = docs.front() else { break };
        if docs.len() > 1 || !batch.is_empty() {
            bytes += super::write::encoded_size(doc);
            if !batch.is_empty() && bytes > BATCH_BYTES_MAX {
                break;
            }
        }
        batch.extend(docs.pop_front());
    }
    batch
}

/// Builds a cursor reply for `docs`, opening a cursor for what does not fit
/// in the first batch (unless `single_batch`).
pub fn first_batch(
    ctx: &Ctx<'_>,
    collection: &str,
    docs: Vec<Document>,
    batch_size: Option<usize>,
    single_batch: bool,
) -> Result<Document, CommandError> {
    let ns = [ctx.db, ".", collection].concat();
    let mut docs: VecDeque<Document> = docs.into();
    let batch = take_batch(&mut docs, batch_size);
    let id = if docs.is_empty() || single_batch {
        0i64
    } else {
        let cursor = Cursor {
            ns: ns.clone(),
            docs,
            session: ctx.session.clone(),
            txn_number: ctx.txn_number,
        };
        ctx.engine.cursors().open(cursor)?
    };
    let mut cursor = doc! {"firstBatch": batch, "id": id, "ns": ns};
    if let Some(at) = ctx.read_at {
        cursor.insert("atClusterTime", at.to_bson());
    }
    Ok(doc! {"cursor": cursor})
}

/// The reply body for a batch from an existing cursor.
pub fn next_batch(ns: &str, id: i64, batch: Vec<Document>) -> Document {
    doc! {"cursor": {"nextBatch": batch.into_iter().map(Bson::Document).collect::<Vec<_>>(), "id": id, "ns": ns}}
}
