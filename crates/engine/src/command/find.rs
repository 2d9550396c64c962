//! Read commands: `find`, `getMore`, `killCursors`, `count`, `distinct`.

use std::sync::Arc;

use bson::{Bson, Document, doc};
use mql::Code;
use mql::collation::Collation;
use mql::matcher::Filter;
use mql::pipeline::SortSpec;

use super::args::Args;
use super::ctx::Ctx;
use super::cursor_reply::{self, FIRST_BATCH_DOCS_DEFAULT};
use super::{CommandError, CommandResult};
use crate::exec;

pub(super) const FIND_FIELDS: &[&str] = &[
    "filter",
    "sort",
    "projection",
    "skip",
    "limit",
    "batchSize",
    "singleBatch",
    "hint",
    "max",
    "min",
    "returnKey",
    "showRecordId",
    "tailable",
    "oplogReplay",
    "noCursorTimeout",
    "awaitData",
    "allowPartialResults",
    "allowDiskUse",
];

/// Documents a query produced, before projection.
pub(super) struct QueryOutput {
    pub docs: Vec<exec::Hit>,
}

/// Runs filter, sort, skip and limit over a collection at the context's
/// view, comparing strings under `collation` (`None`: binary).
pub(super) fn query(
    ctx: &Ctx<'_>,
    collection: &str,
    filter_doc: &Document,
    sort: Option<&Document>,
    skip: usize,
    limit: Option<usize>,
    collation: Option<&Arc<Collation>>,
) -> Result<QueryOutput, CommandError> {
    let filter = Filter::parse(filter_doc)?.with_collation(collation.cloned());
    let sort = sort
        .filter(|s| !s.is_empty())
        .map(|s| SortSpec::parse(s).map(|spec| spec.with_collation(collation.cloned())))
        .transpose()?;
    let Some(coll) = ctx.collection(collection) else {
        return Ok(QueryOutput { docs: Vec::new() });
    };
    if let Some(view) = super::view::definition(&coll) {
        let read = super::view::Read {
            filter: filter_doc,
            sort: sort.as_ref(),
            skip,
            limit,
            collation,
        };
        return super::view::query(ctx, view, read);
    }
    let stop_after = match (&sort, limit) {
        (None, Some(limit)) => Some(skip.saturating_add(limit)),
        _ => None,
    };
    let mut docs = exec::find(
        ctx.engine,
        &ctx.view(),
        &coll,
        filter_doc,
        &filter,
        stop_after,
    );
    if let Some(sort) = &sort {
        sort.sort_by_document(&mut docs, |hit| &hit.doc);
    }
    let docs: Vec<exec::Hit> = docs
        .into_iter()
        .skip(skip)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    Ok(QueryOutput { docs })
}

pub(super) fn find(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("find", body);
    args.check_known(FIND_FIELDS)?;
    let collection = args.collection()?;
    let no_filter = Document::new();
    let filter = args.document("filter")?.unwrap_or(&no_filter);
    let sort = args.document("sort")?;
    let skip = args.non_negative("skip")?.unwrap_or(0) as usize;
    let limit = match args.integer("limit")? {
        Some(n) if n < 0 => {
            return Err(CommandError::new(
                Code(51024),
                format!("BSON field 'limit' value must be >= 0, actual value '{n}'"),
            ));
        }
        Some(0) | None => None,
        Some(n) => Some(n as usize),
    };
    let batch_size = args.non_negative("batchSize")?.map(|n| n as usize);
    let single_batch = args.bool("singleBatch")?.unwrap_or(false);
    let projection = args.document("projection")?;
    let collation = super::collation::of_command(&args)?;
    let output = query(
        ctx,
        collection,
        filter,
        sort,
        skip,
        limit,
        collation.as_ref(),
    )?;
    let docs = super::projection::project_all(projection, output.docs)?;
    let batch = batch_size.or(Some(FIRST_BATCH_DOCS_DEFAULT));
    let single_batch = single_batch || limit.is_some_and(|l| batch.is_some_and(|b| l <= b));
    cursor_reply::first_batch(ctx, collection, docs, batch, single_batch)
}

pub(super) fn get_more(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("getMore", body);
    args.check_known(&[
        "collection",
        "batchSize",
        "term",
        "lastKnownCommittedOpTime",
    ])?;
    let id = match body.get("getMore") {
        Some(Bson::Int64(id)) => *id,
        Some(other) => {
            return Err(CommandError::new(
                Code::TYPE_MISMATCH,
                format!(
                    "BSON field 'getMore.getMore' is the wrong type '{}', expected type 'long'",
                    super::envelope::type_name(other)
                ),
            ));
        }
        None => {
            return Err(CommandError::new(
                Code::FAILED_TO_PARSE,
                "getMore requires a cursor id",
            ));
        }
    };
    let collection = args.string("collection")?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'getMore.collection' is missing but a required field",
        )
    })?;
    let batch_size = args
        .non_negative("batchSize")?
        .filter(|n| *n > 0)
        .map(|n| n as usize);
    let not_found =
        || CommandError::new(Code::CURSOR_NOT_FOUND, format!("cursor id {id} not found"));
    let cursor = ctx.engine.cursors().get(id).ok_or_else(not_found)?;
    let mut cursor = cursor.lock();
    let ns = format!("{}.{collection}", ctx.db);
    if cursor.ns != ns {
        return Err(CommandError::new(
            Code::UNAUTHORIZED,
            format!(
                "Requested getMore on namespace '{ns}', but cursor belongs to a different namespace {}",
                cursor.ns
            ),
        ));
    }
    if cursor.session.is_some() && cursor.session != ctx.session {
        return Err(CommandError::new(
            Code(50738),
            format!("Cannot run getMore on cursor {id}, which was created in a different session"),
        ));
    }
    if cursor.txn_number.is_some() && cursor.txn_number != ctx.txn_number {
        return Err(CommandError::new(
            Code(50740),
            format!(
                "Cannot run getMore on cursor {id}, which was created in a different transaction"
            ),
        ));
    }
    let batch = cursor_reply::take_batch(&mut cursor.docs, batch_size);
    let exhausted = cursor.docs.is_empty();
    drop(cursor);
    let id = if exhausted {
        ctx.engine.cursors().remove(id);
        0
    } else {
        id
    };
    Ok(cursor_reply::next_batch(&ns, id, batch))
}

pub(super) fn kill_cursors(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("killCursors", body);
    args.check_known(&["cursors"])?;
    args.collection()?;
    let ids = args.array("cursors")?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'killCursors.cursors' is missing but a required field",
        )
    })?;
    let mut killed = Vec::new();
    let mut not_found = Vec::new();
    for id in ids {
        let Bson::Int64(id) = id else {
            return Err(CommandError::new(
                Code::TYPE_MISMATCH,
                "killCursors.cursors must be an array of longs",
            ));
        };
        match ctx.engine.cursors().remove(*id) {
            Some(_) => killed.push(*id),
            None => not_found.push(*id),
        }
    }
    Ok(doc! {
        "cursorsKilled": killed,
        "cursorsNotFound": not_found,
        "cursorsAlive": Vec::<i64>::new(),
        "cursorsUnknown": Vec::<i64>::new(),
    })
}

pub(super) fn count(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("count", body);
    args.check_known(&["query", "limit", "skip", "hint", "fields"])?;
    let collection = args.collection()?;
    let filter = args.document("query")?.cloned().unwrap_or_default();
    let skip = args.non_negative("skip")?.unwrap_or(0) as usize;
    let limit = args
        .integer("limit")?
        .map(|n| n.unsigned_abs() as usize)
        .filter(|n| *n > 0);
    let collation = super::collation::of_command(&args)?;
    let output = query(
        ctx,
        collection,
        &filter,
        None,
        skip,
        limit,
        collation.as_ref(),
    )?;
    Ok(doc! {"n": output.docs.len() as i32})
}

pub(super) fn distinct(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("distinct", body);
    args.check_known(&["key", "query", "hint"])?;
    let collection = args.collection()?;
    let key = args.string("key")?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'distinct.key' is missing but a required field",
        )
    })?;
    if key.is_empty() {
        return Err(CommandError::new(
            Code(40352),
            "FieldPath cannot be constructed with empty string",
        ));
    }
    let filter = args.document("query")?.cloned().unwrap_or_default();
    let collation = super::collation::of_command(&args)?;
    let output = query(ctx, collection, &filter, None, 0, None, collation.as_ref())?;
    let parts: Vec<&str> = key.split('.').collect();
    let mut values: Vec<Bson> = Vec::new();
    for hit in &output.docs {
        crate::storage::index::values_at(&hit.doc, &parts, &mut values);
    }
    // Stable, so of values equal under the collation the first found stays.
    let collation = collation.as_deref();
    values.sort_by(|a, b| mql::order::compare_collated(a, b, collation));
    values.dedup_by(|a, b| mql::order::equal_collated(a, b, collation));
    let mut reply = doc! {"values": values};
    if let Some(at) = ctx.read_at {
        reply.insert("atClusterTime", at.to_bson());
    }
    Ok(reply)
}
