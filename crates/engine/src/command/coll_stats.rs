//! Collection statistics: the `$collStats` aggregation stage and the
//! legacy `collStats` command, in mongod 8.0's reply shapes.
//!
//! Both count what the newest committed snapshot holds by walking the
//! collection's records (mongod reads kept counters), so they cost a scan.
//! `size` is the sum of the documents' BSON sizes; `storageSize` equals it,
//! as Rotor keeps documents uncompressed in memory. Index sizes are an
//! estimate: for each index, the BSON size of every entry's key (the
//! indexed values of each current document), since Rotor does not measure
//! its index structures. `$collStats` must open a collection's pipeline;
//! `latencyStats` and `queryExecStats` report zeros, as Rotor keeps no such
//! counters. Deliberately absent: `wiredTiger`, `indexDetails` and
//! per-shard fields.

use bson::{Bson, DateTime, Document, doc};
use mql::Code;

use super::args::Args;
use super::ctx::Ctx;
use super::diag::{hostname, scale_of, small_number};
use super::write::encoded_size;
use super::{CommandError, CommandResult};
use crate::storage::collection::Collection;

/// The `$collStats` options mongod 8.0 accepts.
const STAGE_FIELDS: &[&str] = &["latencyStats", "storageStats", "count", "queryExecStats"];
/// mongod's IDL code for an unknown field in a stage spec.
const UNKNOWN_FIELD: Code = Code(40415);
/// mongod's code for a `$collStats` spec that is not a document.
const NOT_AN_OBJECT: Code = Code(5447000);
/// mongod's code for `$collStats` anywhere but first.
const NOT_FIRST: Code = Code(40602);

/// What one scan of a collection finds.
struct Sizes {
    count: u64,
    data: u64,
    /// `(index name, estimated bytes)`, `_id_` first.
    indexes: Vec<(String, u64)>,
}

/// `collStats`: `{collStats: <name>, scale}`. A missing collection answers
/// zeros, as mongod's does; a view is refused.
pub(super) fn command(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("collStats", body);
    args.check_known(&["scale", "verbose"])?;
    let name = args.collection()?;
    let scale = scale_of("collStats.scale", args.get("scale"))?;
    let mut reply = doc! { "ns": format!("{}.{name}", ctx.db) };
    match ctx.collection(name) {
        Some(coll) => {
            super::view::refuse(&coll)?;
            reply.extend(storage_stats(&coll, &measure(ctx, &coll), scale));
        }
        None => reply.extend(storage_stats_empty(scale)),
    }
    Ok(reply)
}

/// If `stages` opens with `$collStats`, removes it and gives the one
/// document it makes for collection `name`; otherwise `None`, and a later
/// `$collStats` is refused.
pub(super) fn leading_stage(
    ctx: &Ctx<'_>,
    name: &str,
    stages: &mut Vec<Document>,
) -> Result<Option<Vec<Document>>, CommandError> {
    if stages.iter().skip(1).any(|s| s.contains_key("$collStats")) {
        return Err(CommandError::new(
            NOT_FIRST,
            "$collStats is only valid as the first stage in a pipeline",
        ));
    }
    let spec = match stages.first().and_then(|s| s.get("$collStats")) {
        None => return Ok(None),
        Some(Bson::Document(spec)) => spec.clone(),
        Some(other) => {
            return Err(CommandError::new(
                NOT_AN_OBJECT,
                format!(
                    "$collStats must take a nested object but found: {}",
                    super::envelope::type_name(other)
                ),
            ));
        }
    };
    let stats = stage_document(ctx, name, &spec)?;
    stages.remove(0);
    Ok(Some(vec![stats]))
}

/// The document `$collStats: spec` makes for collection `name`.
fn stage_document(ctx: &Ctx<'_>, name: &str, spec: &Document) -> CommandResult {
    if let Some(field) = spec.keys().find(|k| !STAGE_FIELDS.contains(&k.as_str())) {
        return Err(CommandError::new(
            UNKNOWN_FIELD,
            format!("BSON field '$collStats.{field}' is an unknown field."),
        ));
    }
    let option = |field: &str| -> Result<Option<&Document>, CommandError> {
        match spec.get(field) {
            None => Ok(None),
            Some(Bson::Document(d)) => Ok(Some(d)),
            Some(other) => Err(CommandError::new(
                Code::TYPE_MISMATCH,
                format!(
                    "BSON field '$collStats.{field}' is the wrong type '{}', expected type 'object'",
                    super::envelope::type_name(other)
                ),
            )),
        }
    };
    let (latency, storage, count, query_exec) = (
        option("latencyStats")?,
        option("storageStats")?,
        option("count")?,
        option("queryExecStats")?,
    );
    let coll = ctx.collection(name);
    if let Some(coll) = &coll {
        super::view::refuse(coll)?;
    }
    let mut out = doc! {
        "ns": format!("{}.{name}", ctx.db),
        "host": hostname(),
        "localTime": DateTime::now(),
    };
    if latency.is_some() {
        let zero = doc! { "latency": 0i64, "ops": 0i64 };
        out.insert(
            "latencyStats",
            doc! {
                "reads": zero.clone(),
                "writes": zero.clone(),
                "commands": zero.clone(),
                "transactions": zero,
            },
        );
    }
    if storage.is_none() && count.is_none() {
        if query_exec.is_some() {
            out.insert("queryExecStats", query_exec_zeros());
        }
        return Ok(out);
    }
    let Some(coll) = coll else {
        let part = if storage.is_some() {
            "storageStats"
        } else {
            "count"
        };
        return Err(CommandError::new(
            Code::NAMESPACE_NOT_FOUND,
            format!(
                "Unable to retrieve {part} in $collStats stage :: caused by :: Collection [{}.{name}] not found.",
                ctx.db
            ),
        ));
    };
    let sizes = measure(ctx, &coll);
    if let Some(storage) = storage {
        let scale = scale_of(
            "$collStats.storageStats.scale",
            Args::new("storageStats", storage).get("scale"),
        )?;
        out.insert("storageStats", storage_stats(&coll, &sizes, scale));
    }
    if count.is_some() {
        out.insert("count", small_number(sizes.count));
    }
    if query_exec.is_some() {
        out.insert("queryExecStats", query_exec_zeros());
    }
    Ok(out)
}

fn query_exec_zeros() -> Document {
    doc! { "collectionScans": { "total": 0i64, "nonTailable": 0i64 } }
}

/// mongod's `storageStats` (and the `collStats` command's body) for `coll`,
/// sizes in units of `scale` (whole units, rounded down as mongod does).
fn storage_stats(coll: &Collection, sizes: &Sizes, scale: i64) -> Document {
    let scale_u = scale.unsigned_abs();
    let index_total: u64 = sizes.indexes.iter().map(|(_, bytes)| bytes).sum();
    let mut index_sizes = Document::new();
    for (name, bytes) in &sizes.indexes {
        index_sizes.insert(name.clone(), small_number(bytes / scale_u));
    }
    let mut stats = doc! {
        "size": small_number(sizes.data / scale_u),
        "count": small_number(sizes.count),
        "numOrphanDocs": 0,
    };
    // mongod's `averageObjectSize`: whole, unscaled bytes; absent when empty.
    if let Some(average) = sizes.data.checked_div(sizes.count) {
        stats.insert("avgObjSize", small_number(average));
    }
    stats.extend(doc! {
        "storageSize": small_number(sizes.data / scale_u),
        "freeStorageSize": 0,
        "capped": coll.options().get("capped").is_some_and(|c| c == &Bson::Boolean(true)),
        "nindexes": small_number(sizes.indexes.len() as u64),
        "indexBuilds": [],
        "totalIndexSize": small_number(index_total / scale_u),
        "totalSize": small_number(sizes.data.saturating_add(index_total) / scale_u),
        "indexSizes": index_sizes,
        "scaleFactor": small_number(scale_u),
    });
    stats
}

/// `collStats` of a collection that does not exist: mongod's zeros.
fn storage_stats_empty(scale: i64) -> Document {
    doc! {
        "size": 0,
        "count": 0,
        "numOrphanDocs": 0,
        "storageSize": 0,
        "totalSize": 0,
        "nindexes": 0,
        "totalIndexSize": 0,
        "indexSizes": {},
        "scaleFactor": small_number(scale.unsigned_abs()),
    }
}

/// Counts and sizes `coll`'s documents in the newest committed snapshot,
/// and estimates each index's size from the keys those documents give it.
fn measure(ctx: &Ctx<'_>, coll: &Collection) -> Sizes {
    let snapshot = ctx.engine.txns().visible();
    let specs = coll.index_specs();
    let mut sizes = Sizes {
        count: 0,
        data: 0,
        indexes: specs.iter().map(|s| (s.name.clone(), 0)).collect(),
    };
    for (_, record) in coll.records_from(None) {
        let Some(doc) = record.lock().visible_at(snapshot) else {
            continue;
        };
        sizes.count += 1;
        sizes.data = sizes.data.saturating_add(encoded_size(&doc) as u64);
        for (spec, (_, bytes)) in specs.iter().zip(sizes.indexes.iter_mut()) {
            *bytes = bytes.saturating_add(key_size(&doc, &spec.fields) as u64);
        }
    }
    sizes
}

/// The estimated size of `doc`'s entry in an index on `fields`: the BSON
/// size of a document holding the indexed values (null where missing).
fn key_size<D>(doc: &Document, fields: &[(String, D)]) -> usize {
    let mut key = Document::new();
    for (path, _) in fields {
        key.insert(
            path.clone(),
            lookup(doc, path).cloned().unwrap_or(Bson::Null),
        );
    }
    encoded_size(&key)
}

/// The value at a dotted `path` through embedded documents (arrays are not
/// descended: an estimate needs no multikey expansion). Bounded by the
/// path's own length.
fn lookup<'a>(doc: &'a Document, path: &str) -> Option<&'a Bson> {
    let mut parts = path.split('.');
    let mut value = doc.get(parts.next()?)?;
    for part in parts {
        value = value.as_document()?.get(part)?;
    }
    Some(value)
}
