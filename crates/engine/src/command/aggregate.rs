//! `aggregate`: a pipeline over a collection, read at the statement's view.
//!
//! A leading `$match` is handed to the query planner, so an indexed filter
//! does not scan the collection; the pipeline itself (crate `mql`) runs on
//! the documents that survive it.

use bson::{Bson, Document};
use mql::Code;
use mql::pipeline::{Collections, Pipeline, RunOptions};

use super::args::Args;
use super::ctx::Ctx;
use super::{CommandError, CommandResult, cursor_reply};

const AGGREGATE_FIELDS: &[&str] = &[
    "pipeline",
    "cursor",
    "allowDiskUse",
    "explain",
    "hint",
    "bypassDocumentValidation",
];

/// Other collections at the same view, for `$lookup`.
pub(super) struct AtView<'a, 'b> {
    pub ctx: &'a Ctx<'b>,
}

impl Collections for AtView<'_, '_> {
    fn scan(&self, collection: &str) -> mql::Result<Vec<Document>> {
        let output =
            super::find::query(self.ctx, collection, &Document::new(), None, 0, None, None)
                .map_err(|e| mql::Error::new(e.code, e.message))?;
        Ok(output
            .docs
            .into_iter()
            .map(|hit| std::sync::Arc::unwrap_or_clone(hit.doc))
            .collect())
    }
}

/// The input of a database-level aggregate, taken from (and removing) its
/// first stage: `$documents` or `$listLocalSessions`.
fn database_input(
    ctx: &Ctx<'_>,
    stages: &mut Vec<Document>,
) -> Result<Vec<Document>, CommandError> {
    let first = stages
        .first()
        .and_then(|s| s.iter().next())
        .map(|(name, spec)| (name.clone(), spec.clone()));
    let input = match first {
        Some((name, Bson::Array(docs))) if name == "$documents" => docs
            .into_iter()
            .map(|d| match d {
                Bson::Document(d) => Ok(d),
                _ => Err(CommandError::new(
                    Code::TYPE_MISMATCH,
                    "$documents must be an array of objects",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some((name, spec)) if name == "$listLocalSessions" => {
            super::sessions::list_local(ctx, &spec)?
        }
        _ => {
            return Err(CommandError::new(
                Code::INVALID_NAMESPACE,
                "{aggregate: 1} is only valid with a first stage of $documents or $listLocalSessions",
            ));
        }
    };
    stages.remove(0);
    Ok(input)
}

/// A change stream (`watch` on a client, database or collection) says so,
/// instead of failing as an unknown stage or a bad `{aggregate: 1}`.
fn refuse_change_stream(stages: &[Document]) -> Result<(), CommandError> {
    match stages.first().and_then(|s| s.keys().next()) {
        Some(name) if name == "$changeStream" => Err(CommandError::new(
            Code::COMMAND_NOT_SUPPORTED,
            "Rotor does not support change streams ($changeStream)",
        )),
        _ => Ok(()),
    }
}

pub(super) fn aggregate(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("aggregate", body);
    args.check_known(AGGREGATE_FIELDS)?;
    // `{aggregate: 1}` runs on the database: its first stage makes the input.
    let collection = match body.iter().next() {
        Some((_, Bson::String(name))) => Some(name.as_str()),
        Some((_, one)) if mql::order::equal(one, &Bson::Int32(1)) => None,
        _ => {
            return Err(CommandError::new(
                Code::INVALID_NAMESPACE,
                "aggregate requires a collection name or 1",
            ));
        }
    };
    let mut stages: Vec<Document> = args
        .documents("pipeline")?
        .ok_or_else(|| {
            CommandError::new(
                Code::FAILED_TO_PARSE,
                "'pipeline' option must be specified as an array",
            )
        })?
        .into_iter()
        .cloned()
        .collect();
    refuse_change_stream(&stages)?;
    if args.bool("explain")?.unwrap_or(false) {
        return Err(CommandError::new(
            Code::NOT_IMPLEMENTED,
            "Rotor does not explain aggregations yet",
        ));
    }
    let cursor = args.document("cursor")?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "The 'cursor' option is required, except for aggregate with the explain argument",
        )
    })?;
    let batch_size = Args::new("cursor", cursor)
        .non_negative("batchSize")?
        .map(|n| n as usize);
    let write_stage = super::write_stage::split(&mut stages, ctx.db)?;
    let level = body
        .get_document("readConcern")
        .ok()
        .and_then(|rc| rc.get_str("level").ok());
    if write_stage.is_some() && level == Some("linearizable") {
        return Err(CommandError::new(
            Code::INVALID_OPTIONS,
            "$out and $merge cannot be used with readConcern level 'linearizable'",
        ));
    }
    let input = match collection {
        Some(name) => super::coll_stats::leading_stage(ctx, name, &mut stages)?,
        None => Some(database_input(ctx, &mut stages)?),
    };
    let pipeline = Pipeline::parse(&stages)?;
    let collation = super::collation::of_command(&args)?;
    let input = match (input, collection) {
        (Some(input), _) => input,
        (None, Some(collection)) => {
            let filter = pipeline.leading_match().cloned().unwrap_or_default();
            let input =
                super::find::query(ctx, collection, &filter, None, 0, None, collation.as_ref())?;
            input
                .docs
                .into_iter()
                .map(|hit| std::sync::Arc::unwrap_or_clone(hit.doc))
                .collect()
        }
        (None, None) => unreachable!("a database aggregate always has its input"),
    };
    let collection = collection.unwrap_or("$cmd.aggregate");
    let collections = AtView { ctx };
    let mut options = if args.bool("allowDiskUse")?.unwrap_or(false) {
        RunOptions::allowing_disk_use(&collections)
    } else {
        RunOptions::new(&collections)
    };
    options.collation = collation;
    let output = pipeline.run(input, &options)?;
    if let Some(stage) = write_stage {
        super::write_stage::write(ctx, stage, output)?;
        return cursor_reply::first_batch(ctx, collection, Vec::new(), batch_size, false);
    }
    cursor_reply::first_batch(ctx, collection, output, batch_size, false)
}
