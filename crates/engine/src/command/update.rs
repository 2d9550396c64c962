//! `update`: replacement and operator updates, `multi`, `upsert`,
//! `arrayFilters`, positional operators.

use std::sync::Arc;

use bson::{Bson, Document};
use mql::Code;
use mql::matcher::Filter;
use mql::update::ApplyContext;

use super::modification::Modification;

use super::args::Args;
use super::ctx::{Change, Ctx, StmtKind};
use super::write::{self, Done};
use super::{CommandError, CommandResult};
use crate::exec;
use crate::storage::collection::Collection;
use crate::storage::record::Doc;

/// One parsed update statement, borrowing from the command.
pub(super) struct Statement<'a> {
    pub filter_doc: &'a Document,
    pub filter: Filter,
    pub update: Modification,
    pub multi: bool,
    pub upsert: bool,
    /// The command, as mongod names it in errors raised while applying.
    pub command: &'static str,
    /// Which document a single (non-multi) update takes, if several match.
    pub sort: Option<&'a Document>,
}

/// mongod 8 reports errors that depend on the stored document (not on
/// parsing) with this prefix.
fn executor_error(command: &str, error: mql::Error) -> CommandError {
    CommandError::new(
        error.code,
        format!(
            "Plan executor error during {command} :: caused by :: {}",
            error.message
        ),
    )
}

/// What one statement did.
#[derive(Default)]
pub(super) struct Outcome {
    pub matched: i64,
    pub modified: i64,
    pub upserted: Option<Bson>,
    /// The document before (for findAndModify's `new: false`).
    pub before: Option<Doc>,
    /// The document after (for findAndModify's `new: true`).
    pub after: Option<Doc>,
}

pub(super) fn update(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("update", body);
    args.check_known(&["updates", "ordered", "bypassDocumentValidation"])?;
    let name = args.collection()?;
    let statements = write::batch_statements(&args, "update", "updates")?;
    let ordered = args.bool("ordered")?.unwrap_or(true);
    let batch = write::run_batch(
        ctx,
        (body, StmtKind::Update),
        &statements,
        ordered,
        |ctx, statement| {
            let statement = parse_statement(statement)?;
            write::refuse_multi_in_retryable_write(
                ctx,
                statement.multi,
                "Cannot use (or request) retryable writes with multi=true",
            )?;
            let outcome = run_statement(ctx, name, &statement)?;
            Ok(Done {
                n: outcome.matched + i64::from(outcome.upserted.is_some()),
                modified: outcome.modified,
                upserted: outcome.upserted,
            })
        },
    )?;
    Ok(batch.reply(true))
}

pub(super) fn parse_statement(statement: &Document) -> Result<Statement<'_>, CommandError> {
    let args = Args::new("update.updates", statement);
    // One pass finds every field (and refuses unknown ones); the checks
    // below then run in mongod's order.
    let (mut q, mut u, mut upsert, mut multi, mut array_filters, mut sort) =
        (None, None, None, None, None, None);
    for (field, value) in statement {
        let slot = match field.as_str() {
            "q" => &mut q,
            "u" => &mut u,
            "upsert" => &mut upsert,
            "multi" => &mut multi,
            "arrayFilters" => &mut array_filters,
            "sort" => &mut sort,
            "collation" | "hint" | "c" | "upsertSupplied" => continue,
            _ => {
                return Err(CommandError::new(
                    Code(40415),
                    format!("BSON field 'update.updates.{field}' is an unknown field."),
                ));
            }
        };
        *slot = Some(value);
    }
    let filter_doc = args.document_of("q", q)?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'update.updates.q' is missing but a required field",
        )
    })?;
    let array_filters: Vec<Document> = match array_filters {
        None => Vec::new(),
        Some(_) => args
            .documents("arrayFilters")?
            .unwrap_or_default()
            .into_iter()
            .cloned()
            .collect(),
    };
    let update = match u {
        Some(u) => Modification::parse(u, &array_filters)?,
        None => {
            return Err(CommandError::new(
                Code::FAILED_TO_PARSE,
                "BSON field 'update.updates.u' is missing but a required field",
            ));
        }
    };
    let multi = args.bool_of("multi", multi)?.unwrap_or(false);
    let upsert = args.bool_of("upsert", upsert)?.unwrap_or(false);
    if multi && update.is_replacement() {
        return Err(CommandError::new(
            Code::FAILED_TO_PARSE,
            "multi update is not supported for replacement-style update",
        ));
    }
    let sort = args.document_of("sort", sort)?;
    if sort.is_some() && multi {
        return Err(CommandError::new(
            Code::FAILED_TO_PARSE,
            "Cannot specify sort with multi=true",
        ));
    }
    let collation = super::collation::of_statement(statement, "update.updates")?;
    let filter = Filter::parse(filter_doc)?.with_collation(collation);
    Ok(Statement {
        filter_doc,
        filter,
        update,
        multi,
        upsert,
        command: "update",
        sort,
    })
}

/// Applies one update statement.
pub(super) fn run_statement(
    ctx: &mut Ctx<'_>,
    name: &str,
    statement: &Statement<'_>,
) -> Result<Outcome, CommandError> {
    let mut outcome = Outcome::default();
    let sort = statement
        .sort
        .as_ref()
        .filter(|s| !s.is_empty() && !statement.multi);
    if let Some(coll) = ctx.writable(name)? {
        let hits = match sort {
            Some(sort) => {
                let collation = statement.filter.collation();
                super::find::query(
                    ctx,
                    name,
                    statement.filter_doc,
                    Some(sort),
                    0,
                    None,
                    collation,
                )?
                .docs
            }
            None => exec::find(
                ctx.engine,
                &ctx.view(),
                &coll,
                statement.filter_doc,
                &statement.filter,
                (!statement.multi).then_some(1),
            ),
        };
        for hit in hits {
            ctx.check_deadline()?;
            if update_one(ctx, &coll, &hit, statement, &mut outcome)? && !statement.multi {
                return Ok(outcome);
            }
        }
        if !statement.multi && outcome.matched == 0 && sort.is_none() {
            // The first candidate changed under us: look at all of them.
            let hits = exec::find(
                ctx.engine,
                &ctx.view(),
                &coll,
                statement.filter_doc,
                &statement.filter,
                None,
            );
            for hit in hits {
                if update_one(ctx, &coll, &hit, statement, &mut outcome)? {
                    return Ok(outcome);
                }
            }
        }
    }
    if outcome.matched == 0 && statement.upsert {
        upsert(ctx, name, statement, &mut outcome)?;
    }
    Ok(outcome)
}

fn now(ctx: &Ctx<'_>) -> (bson::DateTime, bson::Timestamp) {
    (
        bson::DateTime::now(),
        ctx.engine.txns().clock.tick().to_bson(),
    )
}

/// Updates one document if it still matches; returns whether it matched.
fn update_one(
    ctx: &mut Ctx<'_>,
    coll: &Arc<Collection>,
    hit: &exec::Hit,
    statement: &Statement<'_>,
    outcome: &mut Outcome,
) -> Result<bool, CommandError> {
    let (date, timestamp) = now(ctx);
    let mut matched = false;
    let mut before = None;
    let mut after = None;
    let change = ctx.modify(coll, &hit.key, |current| {
        matched = false;
        let Some(doc) = current else {
            return Ok(Change::Keep);
        };
        // The very document the search matched (the same stored version)
        // matches the same way: matching is a function of the two.
        let found = match Arc::ptr_eq(doc, &hit.doc) {
            true => Some(hit.matched.clone()),
            false => statement.filter.matches_at(doc),
        };
        let Some(found) = found else {
            return Ok(Change::Keep);
        };
        matched = true;
        let apply = ApplyContext {
            positional: found.array_index,
            is_upsert_insert: false,
            now: date,
            now_timestamp: timestamp,
        };
        let (changed, updated) = statement
            .update
            .apply_to(doc, &apply)
            .map_err(|e| executor_error(statement.command, e))?;
        // The images findAndModify returns share the stored documents.
        before = Some(doc.clone());
        if changed {
            write::validate_for_storage(&updated)?;
            let updated = Arc::new(updated);
            after = Some(updated.clone());
            Ok(Change::Replace(updated))
        } else {
            after = Some(doc.clone());
            Ok(Change::Keep)
        }
    })?;
    if matched {
        outcome.matched += 1;
        outcome.modified += i64::from(matches!(change, Change::Replace(_)));
        outcome.before = before;
        outcome.after = after;
    }
    Ok(matched)
}

fn upsert(
    ctx: &mut Ctx<'_>,
    name: &str,
    statement: &Statement<'_>,
    outcome: &mut Outcome,
) -> Result<(), CommandError> {
    let (date, timestamp) = now(ctx);
    let mut doc = statement.update.upsert_seed(statement.filter_doc)?;
    let apply = ApplyContext {
        positional: None,
        is_upsert_insert: true,
        now: date,
        now_timestamp: timestamp,
    };
    statement
        .update
        .apply(&mut doc, &apply)
        .map_err(|e| executor_error(statement.command, e))?;
    let doc = write::with_id_first(&doc);
    write::validate_for_storage(&doc)?;
    let coll = ctx.collection_for_write(name)?;
    let key = Collection::key_of(&doc);
    let id = super::insert::id_of(&doc);
    let stored = Arc::new(doc);
    ctx.insert(&coll, &key, &stored)?;
    outcome.upserted = Some(id);
    outcome.after = Some(stored);
    Ok(())
}
