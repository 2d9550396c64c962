//! The aggregation stages that write: `$out` (replace a collection with the
//! pipeline's output, atomically) and `$merge` (fold the output into a
//! collection, document by document). They must be a pipeline's last stage;
//! the rest of the pipeline runs in `mql`.

use std::collections::BTreeSet;
use std::sync::Arc;

use bson::{Bson, Document};
use mql::Code;

use super::ctx::{Change, Ctx, validate_collection_name};
use super::{CommandError, write};
use crate::durable::Op;
use crate::exec;
use crate::storage::catalog::Lookup;
use crate::storage::collection::Collection;
use crate::storage::index::IndexSpec;
use crate::storage::key::Key;

/// A pipeline's final writing stage.
pub(super) enum WriteStage {
    Out { db: String, coll: String },
    Merge(Box<Merge>),
}

pub(super) struct Merge {
    db: String,
    coll: String,
    on: Vec<String>,
    when_matched: WhenMatched,
    when_not_matched: WhenNotMatched,
}

enum WhenMatched {
    Replace,
    KeepExisting,
    Merge,
    Fail,
}

enum WhenNotMatched {
    Insert,
    Discard,
    Fail,
}

/// Splits a writing last stage off `stages`.
pub(super) fn split(
    stages: &mut Vec<Document>,
    db: &str,
) -> Result<Option<WriteStage>, CommandError> {
    for (i, stage) in stages.iter().enumerate() {
        let name = stage.keys().next().map(String::as_str);
        if matches!(name, Some("$out" | "$merge")) && i + 1 != stages.len() {
            return Err(CommandError::new(
                Code(40601),
                format!(
                    "{} can only be the final stage in the pipeline",
                    name.unwrap_or_default()
                ),
            ));
        }
    }
    let Some(last) = stages.last() else {
        return Ok(None);
    };
    let parsed = match last.iter().next() {
        Some((name, spec)) if name == "$out" => {
            let (db, coll) = target(spec, db, "$out")?;
            WriteStage::Out { db, coll }
        }
        Some((name, spec)) if name == "$merge" => {
            WriteStage::Merge(Box::new(parse_merge(spec, db)?))
        }
        _ => return Ok(None),
    };
    stages.pop();
    Ok(Some(parsed))
}

fn target(spec: &Bson, db: &str, stage: &str) -> Result<(String, String), CommandError> {
    let (db, coll) = match spec {
        Bson::String(coll) => (db.to_owned(), coll.clone()),
        Bson::Document(target) => {
            let coll = target
                .get_str("coll")
                .map_err(|_| bad(stage, "requires a 'coll' string"))?;
            let db = target.get_str("db").unwrap_or(db);
            (db.to_owned(), coll.to_owned())
        }
        _ => return Err(bad(stage, "requires a string or a {db, coll} document")),
    };
    validate_collection_name(&db, &coll)?;
    Ok((db, coll))
}

fn bad(stage: &str, what: &str) -> CommandError {
    CommandError::new(Code::FAILED_TO_PARSE, format!("{stage} {what}"))
}

fn parse_merge(spec: &Bson, db: &str) -> Result<Merge, CommandError> {
    let (into, options) = match spec {
        Bson::String(_) => (spec.clone(), Document::new()),
        Bson::Document(options) => (
            options
                .get("into")
                .cloned()
                .ok_or_else(|| bad("$merge", "requires 'into'"))?,
            options.clone(),
        ),
        _ => return Err(bad("$merge", "requires a string or a document")),
    };
    let (db, coll) = target(&into, db, "$merge")?;
    let on = match options.get("on") {
        None => vec!["_id".to_owned()],
        Some(Bson::String(field)) => vec![field.clone()],
        Some(Bson::Array(fields)) => fields
            .iter()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect(),
        Some(_) => {
            return Err(bad(
                "$merge",
                "'on' must be a string or an array of strings",
            ));
        }
    };
    let when_matched = match options.get("whenMatched") {
        None => WhenMatched::Merge,
        Some(Bson::String(mode)) => match mode.as_str() {
            "replace" => WhenMatched::Replace,
            "keepExisting" => WhenMatched::KeepExisting,
            "merge" => WhenMatched::Merge,
            "fail" => WhenMatched::Fail,
            other => {
                return Err(CommandError::new(
                    Code::BAD_VALUE,
                    format!(
                        "Enumeration value '{other}' for field 'whenMatched' is not a valid value."
                    ),
                ));
            }
        },
        Some(_) => {
            return Err(CommandError::new(
                Code::NOT_IMPLEMENTED,
                "Rotor does not support pipelines in $merge's whenMatched yet",
            ));
        }
    };
    let when_not_matched = match options.get_str("whenNotMatched").unwrap_or("insert") {
        "insert" => WhenNotMatched::Insert,
        "discard" => WhenNotMatched::Discard,
        "fail" => WhenNotMatched::Fail,
        other => {
            return Err(CommandError::new(
                Code::BAD_VALUE,
                format!(
                    "Enumeration value '{other}' for field 'whenNotMatched' is not a valid value."
                ),
            ));
        }
    };
    Ok(Merge {
        db,
        coll,
        on,
        when_matched,
        when_not_matched,
    })
}

/// Writes the pipeline's output.
pub(super) fn write(
    ctx: &mut Ctx<'_>,
    stage: WriteStage,
    docs: Vec<Document>,
) -> Result<(), CommandError> {
    if ctx.in_transaction() {
        return Err(CommandError::new(
            Code::OPERATION_NOT_SUPPORTED_IN_TRANSACTION,
            "$out and $merge cannot be used in a transaction",
        ));
    }
    match stage {
        WriteStage::Out { db, coll } => out(ctx, &db, &coll, docs),
        WriteStage::Merge(merge) => merge_into(ctx, &merge, docs),
    }
}

/// Replaces `db.coll` with `docs` in one catalog change: the old collection
/// (keeping its options and indexes) is gone and the new one complete in
/// the same instant, in memory and in the journal.
fn out(ctx: &mut Ctx<'_>, db: &str, coll: &str, docs: Vec<Document>) -> Result<(), CommandError> {
    let docs: Vec<Document> = docs.iter().map(write::with_id_first).collect();
    let mut ids = BTreeSet::new();
    for doc in &docs {
        write::validate_for_storage(doc)?;
        if !ids.insert(Collection::key_of(doc)) {
            return Err(CommandError::new(
                Code::DUPLICATE_KEY,
                format!(
                    "E11000 duplicate key error collection: {db}.{coll} index: _id_ dup key: {{ _id: {} }}",
                    super::insert::id_of(doc)
                ),
            ));
        }
    }
    let target = ctx.engine.catalog().get(db, coll, None);
    if let Some(target) = target.filter(|_| !ctx.bypass_validation) {
        for doc in &docs {
            super::validation::check_insert(&target, doc)?;
        }
    }
    let engine = ctx.engine;
    engine.catalog_change(|ts| {
        // Checked under the catalog change, so a view created meanwhile is
        // not replaced by a collection either.
        if let Some(existing) = engine.catalog().get(db, coll, None) {
            super::view::refuse(&existing)?;
        }
        let old = engine.catalog().remove(db, coll);
        let (options, specs): (Document, Vec<IndexSpec>) = match &old {
            Some(old) => (
                (*old.options()).clone(),
                old.index_specs().into_iter().skip(1).collect(),
            ),
            None => (Document::new(), Vec::new()),
        };
        let (Lookup::Created(new) | Lookup::Found(new)) =
            engine
                .catalog()
                .get_or_create(db, coll, options.clone(), None)
        else {
            return Err(super::ctx::write_conflict());
        };
        let indexes: Vec<Document> = specs.iter().map(|s| s.info.clone()).collect();
        for spec in specs {
            new.add_index(spec)
                .map_err(|e| CommandError::new(Code::CANNOT_CREATE_INDEX, format!("{e:?}")))?;
        }
        let mut ops = vec![
            Op::Drop {
                db: db.to_owned(),
                coll: coll.to_owned(),
            },
            Op::Create {
                db: db.to_owned(),
                coll: coll.to_owned(),
                options,
                indexes,
            },
        ];
        for doc in docs {
            let doc = std::sync::Arc::new(doc);
            new.install(ts, doc.clone())?;
            ops.push(Op::Put {
                db: db.to_owned(),
                coll: coll.to_owned(),
                doc,
            });
        }
        Ok(ops)
    })
}

fn merge_into(ctx: &mut Ctx<'_>, merge: &Merge, docs: Vec<Document>) -> Result<(), CommandError> {
    let mut target = ctx.on_db(&merge.db);
    let coll = target.collection_for_write(&merge.coll)?;
    for doc in docs {
        let mut filter = Document::new();
        for field in &merge.on {
            let value = doc.get(field).cloned().ok_or_else(|| {
                CommandError::new(Code(51132), format!("$merge write error: 'on' field '{field}' cannot be missing, null or an array"))
            })?;
            filter.insert(field.clone(), value);
        }
        let parsed = mql::matcher::Filter::parse(&filter)?;
        let existing = exec::find(
            target.engine,
            &target.view(),
            &coll,
            &filter,
            &parsed,
            Some(1),
        );
        match existing.into_iter().next() {
            Some(hit) => merge_matched(
                &mut target,
                &coll,
                &hit.key,
                &merge.on,
                &merge.when_matched,
                &doc,
            )?,
            None => match merge.when_not_matched {
                WhenNotMatched::Discard => {}
                WhenNotMatched::Fail => {
                    return Err(CommandError::new(
                        Code(13113),
                        "$merge could not find a matching document in the target collection for at least one document in the source collection",
                    ));
                }
                WhenNotMatched::Insert => {
                    let doc = Arc::new(write::with_id_first(&doc));
                    write::validate_for_storage(&doc)?;
                    target.modify(&coll, &Collection::key_of(&doc), |_| {
                        Ok(Change::Insert(doc.clone()))
                    })?;
                }
            },
        }
    }
    Ok(())
}

fn merge_matched(
    ctx: &mut Ctx<'_>,
    coll: &Arc<Collection>,
    key: &Key,
    on: &[String],
    mode: &WhenMatched,
    doc: &Document,
) -> Result<(), CommandError> {
    match mode {
        WhenMatched::KeepExisting => Ok(()),
        WhenMatched::Fail => {
            let mut error = CommandError::new(
                Code::DUPLICATE_KEY,
                format!(
                    "E11000 duplicate key error collection: {} (from $merge with whenMatched: fail)",
                    coll.namespace()
                ),
            );
            let key_pattern: Document = on.iter().map(|f| (f.clone(), Bson::Int32(1))).collect();
            let key_value: Document = on
                .iter()
                .filter_map(|f| doc.get(f).map(|v| (f.clone(), v.clone())))
                .collect();
            error.extra = Box::new(bson::doc! {"keyPattern": key_pattern, "keyValue": key_value});
            Err(error)
        }
        WhenMatched::Replace | WhenMatched::Merge => {
            ctx.modify(coll, key, |current| {
                let Some(current) = current else {
                    return Ok(Change::Keep);
                };
                let mut updated = match mode {
                    WhenMatched::Replace => doc.clone(),
                    _ => {
                        let mut merged = (**current).clone();
                        for (field, value) in doc {
                            merged.insert(field.clone(), value.clone());
                        }
                        merged
                    }
                };
                if let Some(id) = current.get("_id") {
                    updated.insert("_id", id.clone());
                }
                let updated = write::with_id_first(&updated);
                write::validate_for_storage(&updated)?;
                Ok(Change::Replace(Arc::new(updated)))
            })?;
            Ok(())
        }
    }
}
