//! Read-only views (non-materialized), as mongod has them.
//!
//! A view is a catalog entry like a collection, whose options are exactly
//! `{viewOn, pipeline}` and which never holds a record; so it is journaled,
//! checkpointed and recovered by the same `create`/`drop` operations as a
//! collection, and nothing in storage or `durable/` knows of views.
//!
//! Reading a view resolves it, through any chain of views, to its source
//! collection and the concatenation of the views' pipelines (innermost
//! first); the source is read at the statement's snapshot and the pipeline
//! run over it, then the reader's own filter, sort, skip and limit apply.
//! Every write path refuses a view (CommandNotSupportedOnView, 166).
//!
//! Invariants:
//! - The graph of views (`viewOn`, and the namespaces a pipeline reads
//!   through `$lookup`, `$graphLookup` and `$unionWith`) has no cycle and no
//!   chain deeper than [`VIEW_DEPTH_MAX`]: checked when a view is created,
//!   the only way the graph changes (there is no `collMod` of a view).
//! - Reading is bounded anyway ([`READ_NESTING_MAX`]), so a catalog that
//!   somehow broke the first invariant errors instead of recursing forever.
//!
//! Not done: a view's default collation (a non-simple one is refused, and
//! so is a read of a view with one), `collMod` of `viewOn`/`pipeline`, and
//! pushing a reader's filter or sort into the view's pipeline (the pipeline
//! runs over the whole source; only its own leading `$match` is answered by
//! the planner). Deliberately more lenient than mongod: `find` on a view
//! accepts the `$`, `$elemMatch` and `$slice` projections mongod refuses.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use bson::{Bson, Document, doc};
use mql::Code;
use mql::collation::Collation;
use mql::matcher::Filter;
use mql::pipeline::{Pipeline, RunOptions, SortSpec};

use super::CommandError;
use super::args::Args;
use super::ctx::Ctx;
use super::find::QueryOutput;
use crate::exec::{self, Hit};
use crate::storage::collection::Collection;
use crate::storage::key::Key;

/// mongod's limit on the depth of a chain of views (`ViewGraph::kMaxViewDepth`).
pub const VIEW_DEPTH_MAX: usize = 20;

/// How deeply reads may nest through views (a view's `$lookup` of another
/// view counts too): twice the creation limit leaves room for lookups
/// while still stopping a runaway recursion.
const READ_NESTING_MAX: usize = 2 * VIEW_DEPTH_MAX;

/// How deep the walk for referenced namespaces goes into a pipeline's
/// documents: BSON nests at most 100 levels.
const PIPELINE_WALK_DEPTH_MAX: usize = 100;

/// The options of `create` a view may have besides `viewOn` and `pipeline`.
const VIEW_COMPATIBLE_OPTIONS: &[&str] = &["viewOn", "pipeline", "collation"];

/// A view's definition, as stored in its catalog options.
pub struct Definition {
    pub view_on: String,
    pub pipeline: Vec<Document>,
}

/// The definition of `coll`, if it is a view.
pub fn definition(coll: &Collection) -> Option<Definition> {
    let options = coll.options();
    let view_on = options.get_str("viewOn").ok()?.to_owned();
    let pipeline = options
        .get_array("pipeline")
        .map(|stages| {
            stages
                .iter()
                .filter_map(|s| s.as_document().cloned())
                .collect()
        })
        .unwrap_or_default();
    Some(Definition { view_on, pipeline })
}

pub fn is_view(coll: &Collection) -> bool {
    coll.options().contains_key("viewOn")
}

/// mongod's refusal of a write, or other collection-only command, on a view.
pub fn not_a_collection(db: &str, name: &str) -> CommandError {
    CommandError::new(
        Code::COMMAND_NOT_SUPPORTED_ON_VIEW,
        format!("Namespace {db}.{name} is a view, not a collection"),
    )
}

/// Fails if `coll` is a view.
pub fn refuse(coll: &Collection) -> Result<(), CommandError> {
    if is_view(coll) {
        return Err(not_a_collection(&coll.db, &coll.name));
    }
    Ok(())
}

/// Checks `create`'s view fields and returns the options to store
/// (`{viewOn, pipeline}`), or `None` when the command creates a collection.
pub fn options_of_create(
    ctx: &Ctx<'_>,
    name: &str,
    args: &Args<'_>,
    options: &Document,
) -> Result<Option<Document>, CommandError> {
    let view_on = match args.get("viewOn") {
        None if args.get("pipeline").is_some() => {
            return Err(CommandError::new(
                Code::BAD_VALUE,
                "'pipeline' requires 'viewOn' to also be specified",
            ));
        }
        None => return Ok(None),
        Some(Bson::String(s)) => s.as_str(),
        Some(_) => {
            return Err(CommandError::new(
                Code::TYPE_MISMATCH,
                "'viewOn' option must be a string",
            ));
        }
    };
    if view_on.is_empty() {
        return Err(CommandError::new(
            Code::BAD_VALUE,
            "'viewOn' option cannot be empty",
        ));
    }
    if let Some(option) = options
        .keys()
        .find(|k| !VIEW_COMPATIBLE_OPTIONS.contains(&k.as_str()))
    {
        return Err(CommandError::new(
            Code::INVALID_OPTIONS,
            format!("option not supported on a view: {option}"),
        ));
    }
    if ctx.in_transaction() {
        return Err(CommandError::new(
            Code::OPERATION_NOT_SUPPORTED_IN_TRANSACTION,
            "Cannot create a view in a multi-document transaction.",
        ));
    }
    if ctx.collection(name).is_some() {
        // Before the graph check, which a namesake would confuse.
        return Err(CommandError::new(
            Code::NAMESPACE_EXISTS,
            format!("Collection {}.{name} already exists.", ctx.db),
        ));
    }
    let stages = match args.get("pipeline") {
        None => Vec::new(),
        Some(Bson::Array(stages)) => stages
            .iter()
            .map(|s| match s {
                Bson::Document(stage) => Ok(stage.clone()),
                _ => Err(CommandError::new(
                    Code::TYPE_MISMATCH,
                    "'pipeline' must be an array of objects",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(CommandError::new(
                Code::TYPE_MISMATCH,
                "'pipeline' option must be specified as an array",
            ));
        }
    };
    refuse_writing_stages(ctx.db, name, &stages)?;
    Pipeline::parse(&stages)?;
    check_graph(ctx, name, view_on, &stages)?;
    Ok(Some(doc! {"viewOn": view_on, "pipeline": stages}))
}

/// A view only reads: a stage that writes (`$out`, `$merge`) is refused.
fn refuse_writing_stages(db: &str, name: &str, stages: &[Document]) -> Result<(), CommandError> {
    for (index, stage) in stages.iter().enumerate() {
        if let Some(op) = stage.keys().find(|k| *k == "$out" || *k == "$merge") {
            return Err(CommandError::new(
                Code::OPTION_NOT_SUPPORTED_ON_VIEW,
                format!(
                    "The aggregation stage {op} in location {index} of the pipeline cannot be used in the view definition of {db}.{name} because it writes to disk"
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a new view `name` that would close a cycle, or make a chain of
/// views deeper than [`VIEW_DEPTH_MAX`].
fn check_graph(
    ctx: &Ctx<'_>,
    name: &str,
    view_on: &str,
    stages: &[Document],
) -> Result<(), CommandError> {
    let mut graph = Graph {
        ctx,
        path: vec![name.to_owned()],
        depths: HashMap::new(),
    };
    if graph.deepest(&edges(view_on, stages))? > VIEW_DEPTH_MAX {
        return Err(depth_exceeded());
    }
    Ok(())
}

/// A walk of the existing views from a new one.
struct Graph<'c, 'b> {
    ctx: &'c Ctx<'b>,
    /// The views from the new one down to where the walk is.
    path: Vec<String>,
    /// Depths already found: the existing views form no cycle and cannot
    /// reach the new view (it is not in the catalog), so a view's depth is
    /// the same whichever path reaches it.
    depths: HashMap<String, usize>,
}

impl Graph<'_, '_> {
    /// The number of views on the longest path from the end of `path`
    /// through `next`, counting the end of `path` itself.
    fn deepest(&mut self, next: &[String]) -> Result<usize, CommandError> {
        let mut depth = 1;
        for target in next {
            if self.path.contains(target) {
                return Err(self.cycle(target));
            }
            if let Some(known) = self.depths.get(target) {
                depth = depth.max(known + 1);
                continue;
            }
            let Some(view) = self.ctx.collection(target).as_deref().and_then(definition) else {
                continue;
            };
            if self.path.len() > VIEW_DEPTH_MAX {
                return Ok(self.path.len() + 1);
            }
            self.path.push(target.clone());
            let below = self.deepest(&edges(&view.view_on, &view.pipeline));
            self.path.pop();
            let below = below?;
            self.depths.insert(target.clone(), below);
            depth = depth.max(below + 1);
        }
        Ok(depth)
    }

    fn cycle(&self, target: &str) -> CommandError {
        let shown: Vec<String> = self
            .path
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(target))
            .map(|n| format!("{}.{n}", self.ctx.db))
            .collect();
        CommandError::new(
            Code::GRAPH_CONTAINS_CYCLE,
            format!("View cycle detected: {}", shown.join(" => ")),
        )
    }
}

/// What a view reads: its `viewOn`, and the collections its pipeline reads
/// besides its input (`from` of `$lookup` and `$graphLookup`, and
/// `$unionWith`'s collection, at any depth).
fn edges(view_on: &str, stages: &[Document]) -> Vec<String> {
    let mut out = vec![view_on.to_owned()];
    for stage in stages {
        referenced_in(stage, 0, &mut out);
    }
    out
}

fn referenced_in(doc: &Document, depth: usize, out: &mut Vec<String>) {
    if depth > PIPELINE_WALK_DEPTH_MAX {
        return;
    }
    for (key, inner) in doc {
        match (key.as_str(), inner) {
            ("$lookup" | "$graphLookup", Bson::Document(spec)) => {
                if let Ok(from) = spec.get_str("from") {
                    out.push(from.to_owned());
                }
            }
            ("$unionWith", Bson::String(coll)) => out.push(coll.clone()),
            ("$unionWith", Bson::Document(spec)) => {
                if let Ok(coll) = spec.get_str("coll") {
                    out.push(coll.to_owned());
                }
            }
            _ => {}
        }
        referenced(inner, depth + 1, out);
    }
}

fn referenced(value: &Bson, depth: usize, out: &mut Vec<String>) {
    match value {
        Bson::Document(doc) => referenced_in(doc, depth, out),
        Bson::Array(items) if depth <= PIPELINE_WALK_DEPTH_MAX => {
            items.iter().for_each(|i| referenced(i, depth + 1, out));
        }
        _ => {}
    }
}

/// A view resolved to what it reads: the source collection's name (which
/// may not exist) and the pipeline to run over it.
struct Resolved {
    source: String,
    stages: Vec<Document>,
}

fn resolve(ctx: &Ctx<'_>, view: Definition) -> Result<Resolved, CommandError> {
    let mut source = view.view_on;
    let mut stages = view.pipeline;
    for _ in 0..=READ_NESTING_MAX {
        let Some(inner) = ctx.collection(&source).as_deref().and_then(definition) else {
            return Ok(Resolved { source, stages });
        };
        source = inner.view_on;
        stages.splice(0..0, inner.pipeline);
    }
    Err(depth_exceeded())
}

fn depth_exceeded() -> CommandError {
    CommandError::new(
        Code::VIEW_DEPTH_LIMIT_EXCEEDED,
        format!("View depth too deep or view cycle detected. Maximum depth is {VIEW_DEPTH_MAX}"),
    )
}

thread_local! {
    /// Reads through views in progress on this thread: a view's pipeline
    /// may `$lookup` another view, which re-enters [`query`].
    static NESTING: Cell<usize> = const { Cell::new(0) };
}

/// Counts one level of view nesting while alive.
struct Nested;

impl Nested {
    fn enter() -> Result<Nested, CommandError> {
        let depth = NESTING.with(Cell::get);
        if depth >= READ_NESTING_MAX {
            return Err(depth_exceeded());
        }
        NESTING.with(|n| n.set(depth + 1));
        Ok(Nested)
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        NESTING.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// What a reader asks of a view: `find::query`'s arguments.
pub struct Read<'a> {
    pub filter: &'a Document,
    pub sort: Option<&'a SortSpec>,
    pub skip: usize,
    pub limit: Option<usize>,
    pub collation: Option<&'a Arc<Collation>>,
}

/// Reads the view `view` at the statement's snapshot: its pipeline over its
/// source, then the reader's filter, sort, skip and limit.
pub fn query(ctx: &Ctx<'_>, view: Definition, read: Read<'_>) -> Result<QueryOutput, CommandError> {
    if read.collation.is_some() {
        return Err(CommandError::new(
            Code::OPTION_NOT_SUPPORTED_ON_VIEW,
            "Cannot override a view's default collation",
        ));
    }
    let _nested = Nested::enter()?;
    let resolved = resolve(ctx, view)?;
    let pipeline = Pipeline::parse(&resolved.stages)?;
    let input = source_documents(ctx, &resolved.source, pipeline.leading_match())?;
    let collections = super::aggregate::AtView { ctx };
    let output = pipeline.run(input, &RunOptions::new(&collections))?;
    let filter = Filter::parse(read.filter)?;
    let mut docs: Vec<Hit> = output
        .into_iter()
        .filter_map(|doc| {
            let matched = filter.matches_at(&doc)?;
            let key = Key(doc.get("_id").cloned().unwrap_or(Bson::Null));
            Some(Hit {
                key,
                doc: Arc::new(doc),
                matched,
            })
        })
        .collect();
    if let Some(sort) = read.sort {
        sort.sort_by_document(&mut docs, |hit| &hit.doc);
    }
    let docs = docs
        .into_iter()
        .skip(read.skip)
        .take(read.limit.unwrap_or(usize::MAX))
        .collect();
    Ok(QueryOutput { docs })
}

/// The documents of collection `source` (none if it does not exist) that
/// may pass `leading_match`, which the pipeline applies again.
fn source_documents(
    ctx: &Ctx<'_>,
    source: &str,
    leading_match: Option<&Document>,
) -> Result<Vec<Document>, CommandError> {
    let Some(coll) = ctx.collection(source) else {
        return Ok(Vec::new());
    };
    let everything = Document::new();
    let filter_doc = leading_match.unwrap_or(&everything);
    let filter = Filter::parse(filter_doc)?;
    let hits = exec::find(ctx.engine, &ctx.view(), &coll, filter_doc, &filter, None);
    Ok(hits
        .into_iter()
        .map(|hit| Arc::unwrap_or_clone(hit.doc))
        .collect())
}

/// `listCollections`' entry for a view.
pub fn list_entry(coll: &Collection, name_only: bool) -> Document {
    if name_only {
        return doc! {"name": coll.name.clone(), "type": "view"};
    }
    doc! {
        "name": coll.name.clone(),
        "type": "view",
        "options": (*coll.options()).clone(),
        "info": {"readOnly": true},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_find_lookups_at_any_depth() {
        let stages = [
            doc! {"$lookup": {"from": "a", "as": "x", "pipeline": [{"$unionWith": "b"}]}},
            doc! {"$facet": {"f": [{"$graphLookup": {"from": "c"}}]}},
            doc! {"$unionWith": {"coll": "d"}},
        ];
        assert_eq!(edges("src", &stages), vec!["src", "a", "b", "c", "d"]);
    }
}
