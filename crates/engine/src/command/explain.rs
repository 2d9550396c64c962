//! `explain`: how `find`, `count`, `distinct`, `aggregate`, `update`,
//! `delete` and `findAndModify` would run, in mongod's classic-engine reply
//! shape (`queryPlanner`, `executionStats`, `command`, `serverInfo`).
//!
//! Invariants: the plan reported is the one the real planner chose
//! ([`exec::find_explained`]), never re-derived here; and explain never
//! writes: an explained update or delete only plans and counts matches.
//! There is one candidate plan, so `rejectedPlans` is always empty and
//! `allPlansExecution` reports what `executionStats` does.
//!
//! Not done: explaining a view (mongod explains its pipeline; here it is
//! refused), `isMultiKey` (indexes do not track it: always false), and
//! per-stage stats of aggregation stages after the leading `$match`.

use std::sync::Arc;
use std::time::Instant;

use bson::{Bson, Document, doc};
use mql::Code;
use mql::collation::Collation;
use mql::matcher::Filter;
use mql::pipeline::SortSpec;

use super::args::Args;
use super::ctx::Ctx;
use super::diag::small_number;
use super::{CommandError, CommandResult};
use crate::exec::{self, Access, Examined};

/// How much `explain` runs and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verbosity {
    QueryPlanner,
    ExecutionStats,
    AllPlansExecution,
}

impl Verbosity {
    fn parse(body: &Document) -> Result<Verbosity, CommandError> {
        match body.get("verbosity") {
            None => Ok(Verbosity::AllPlansExecution),
            Some(Bson::String(s)) if s == "queryPlanner" => Ok(Verbosity::QueryPlanner),
            Some(Bson::String(s)) if s == "executionStats" => Ok(Verbosity::ExecutionStats),
            Some(Bson::String(s)) if s == "allPlansExecution" => Ok(Verbosity::AllPlansExecution),
            Some(Bson::String(s)) => Err(CommandError::new(
                Code::BAD_VALUE,
                format!(
                    "Enumeration value '{s}' for field 'explain.verbosity' is not a valid value."
                ),
            )),
            Some(other) => Err(CommandError::new(
                Code::TYPE_MISMATCH,
                format!(
                    "BSON field 'explain.verbosity' is the wrong type '{}', expected type 'string'",
                    super::envelope::type_name(other)
                ),
            )),
        }
    }

    fn executes(self) -> bool {
        self != Verbosity::QueryPlanner
    }
}

/// One query an explained command runs, with the stages wrapped around it.
struct Query<'a> {
    collection: &'a str,
    filter: Document,
    sort: Option<&'a Document>,
    skip: usize,
    limit: Option<usize>,
    projection: Option<&'a Document>,
    collation: Option<Arc<Collation>>,
    /// The command's own top stage (COUNT, DELETE, UPDATE, ...), if any.
    top: Option<Top>,
}

enum Top {
    Count,
    Delete,
    Update { upsert: bool },
    Distinct(String),
}

pub(super) fn explain(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let args = Args::new("explain", body);
    args.check_known(&["verbosity", "comment", "maxTimeMS"])?;
    let inner = args.document("explain")?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'explain.explain' is missing but a required field",
        )
    })?;
    let verbosity = Verbosity::parse(body)?;
    let name = inner.keys().next().map_or("", String::as_str);
    let query = parse_inner(name, inner)?;
    let mut command = inner.clone();
    command.insert("$db", ctx.db);
    let ns = format!("{}.{}", ctx.db, query.collection);
    let explained = run(ctx, &query, verbosity)?;
    let planner = query_planner(&ns, &query.filter, explained.winning);
    let mut reply = doc! {"explainVersion": "1"};
    if name == "aggregate" {
        let mut cursor = doc! {"queryPlanner": planner};
        if let Some(stats) = explained.stats {
            cursor.insert("executionStats", stats);
        }
        let mut stages = vec![Bson::Document(doc! {"$cursor": cursor})];
        stages.extend(rest_of_pipeline(inner));
        reply.insert("stages", stages);
    } else {
        reply.insert("queryPlanner", planner);
        if let Some(stats) = explained.stats {
            reply.insert("executionStats", stats);
        }
    }
    reply.insert("command", command);
    reply.insert("serverInfo", server_info(ctx));
    reply.insert(
        "serverParameters",
        doc! {"internalQueryExecMaxBlockingSortBytes": 100 * 1024 * 1024},
    );
    Ok(reply)
}

fn not_found(name: &str) -> CommandError {
    CommandError::new(
        Code::COMMAND_NOT_FOUND,
        format!("Explain failed due to unknown command: {name}"),
    )
}

fn parse_inner<'a>(name: &'a str, inner: &'a Document) -> Result<Query<'a>, CommandError> {
    match name {
        "find" => parse_find(inner),
        "count" => parse_count(inner),
        "distinct" => parse_distinct(inner),
        "aggregate" => parse_aggregate(inner),
        "delete" => parse_delete(inner),
        "update" => parse_update(inner),
        "findAndModify" | "findandmodify" => parse_find_and_modify(name, inner),
        other => Err(not_found(other)),
    }
}

fn query<'a>(collection: &'a str, filter: Option<&Document>) -> Query<'a> {
    Query {
        collection,
        filter: filter.cloned().unwrap_or_default(),
        sort: None,
        skip: 0,
        limit: None,
        projection: None,
        collation: None,
        top: None,
    }
}

fn parse_find(inner: &Document) -> Result<Query<'_>, CommandError> {
    let args = Args::new("find", inner);
    args.check_known(super::find::FIND_FIELDS)?;
    let mut q = query(args.collection()?, args.document("filter")?);
    q.sort = args.document("sort")?;
    q.skip = args.non_negative("skip")?.unwrap_or(0) as usize;
    q.limit = match args.integer("limit")? {
        Some(n) if n < 0 => {
            return Err(CommandError::new(
                Code(51024),
                format!("BSON field 'limit' value must be >= 0, actual value '{n}'"),
            ));
        }
        Some(0) | None => None,
        Some(n) => Some(n as usize),
    };
    q.projection = args.document("projection")?;
    q.collation = super::collation::of_command(&args)?;
    Ok(q)
}

fn parse_count(inner: &Document) -> Result<Query<'_>, CommandError> {
    let args = Args::new("count", inner);
    let mut q = query(args.collection()?, args.document("query")?);
    q.skip = args.non_negative("skip")?.unwrap_or(0) as usize;
    q.limit = args
        .integer("limit")?
        .filter(|n| *n != 0)
        .map(|n| n.unsigned_abs() as usize);
    q.collation = super::collation::of_command(&args)?;
    q.top = Some(Top::Count);
    Ok(q)
}

fn parse_distinct(inner: &Document) -> Result<Query<'_>, CommandError> {
    let args = Args::new("distinct", inner);
    let key = args.string("key")?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'distinct.key' is missing but a required field",
        )
    })?;
    let mut q = query(args.collection()?, args.document("query")?);
    q.collation = super::collation::of_command(&args)?;
    q.top = Some(Top::Distinct(key.to_owned()));
    Ok(q)
}

fn parse_aggregate(inner: &Document) -> Result<Query<'_>, CommandError> {
    let args = Args::new("aggregate", inner);
    let pipeline = args.documents("pipeline")?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            "BSON field 'aggregate.pipeline' is missing but a required field",
        )
    })?;
    let leading_match = pipeline
        .first()
        .and_then(|stage| stage.get_document("$match").ok());
    let mut q = query(args.collection()?, leading_match);
    q.collation = super::collation::of_command(&args)?;
    Ok(q)
}

/// The pipeline after the leading `$match` the query absorbed.
fn rest_of_pipeline(inner: &Document) -> Vec<Bson> {
    let Ok(pipeline) = inner.get_array("pipeline") else {
        return Vec::new();
    };
    let skip = match pipeline.first() {
        Some(Bson::Document(stage)) if stage.contains_key("$match") => 1,
        _ => 0,
    };
    pipeline.iter().skip(skip).cloned().collect()
}

/// The one statement an explained `update` or `delete` may carry.
fn single_statement<'a>(
    args: &Args<'a>,
    command: &str,
    field: &str,
) -> Result<&'a Document, CommandError> {
    match args.documents(field)?.as_deref() {
        Some([statement]) => Ok(statement),
        _ => Err(CommandError::new(
            Code::INVALID_LENGTH,
            format!("explained {command} must have exactly one {command} statement"),
        )),
    }
}

fn parse_delete(inner: &Document) -> Result<Query<'_>, CommandError> {
    let args = Args::new("delete", inner);
    let statement = single_statement(&args, "delete", "deletes")?;
    let mut q = query(args.collection()?, statement.get_document("q").ok());
    if matches!(
        statement.get("limit"),
        Some(Bson::Int32(1) | Bson::Int64(1))
    ) || statement.get_f64("limit").is_ok_and(|l| l == 1.0)
    {
        q.limit = Some(1);
    }
    q.collation = super::collation::of_statement(statement, "delete.deletes")?;
    q.top = Some(Top::Delete);
    Ok(q)
}

fn parse_update(inner: &Document) -> Result<Query<'_>, CommandError> {
    let args = Args::new("update", inner);
    let statement = single_statement(&args, "update", "updates")?;
    let mut q = query(args.collection()?, statement.get_document("q").ok());
    if !statement.get_bool("multi").unwrap_or(false) {
        q.limit = Some(1);
    }
    q.collation = super::collation::of_statement(statement, "update.updates")?;
    let upsert = statement.get_bool("upsert").unwrap_or(false);
    q.top = Some(Top::Update { upsert });
    Ok(q)
}

fn parse_find_and_modify<'a>(
    name: &'a str,
    inner: &'a Document,
) -> Result<Query<'a>, CommandError> {
    let args = Args::new(name, inner);
    let mut q = query(args.collection()?, args.document("query")?);
    q.sort = args.document("sort")?;
    q.limit = Some(1);
    q.collation = super::collation::of_command(&args)?;
    let remove = args.bool("remove")?.unwrap_or(false);
    let upsert = args.bool("upsert")?.unwrap_or(false);
    q.top = Some(if remove {
        Top::Delete
    } else {
        Top::Update { upsert }
    });
    Ok(q)
}

/// What running (or only planning) the query found.
struct Explained {
    winning: Document,
    stats: Option<Document>,
}

fn run(ctx: &Ctx<'_>, q: &Query<'_>, verbosity: Verbosity) -> Result<Explained, CommandError> {
    let filter = Filter::parse(&q.filter)?.with_collation(q.collation.clone());
    let sort = q
        .sort
        .filter(|s| !s.is_empty())
        .map(|s| SortSpec::parse(s).map(|spec| spec.with_collation(q.collation.clone())))
        .transpose()?;
    let started = Instant::now();
    let Some(coll) = ctx.collection(q.collection) else {
        let winning = wrap(q, doc! {"stage": "EOF"}, None);
        let stats = verbosity.executes().then(|| {
            let eof = stats(doc! {"stage": "EOF"}, Some(0));
            execution_stats(q, eof, 0, Examined::default(), started)
        });
        return Ok(Explained { winning, stats });
    };
    if super::view::definition(&coll).is_some() {
        return Err(CommandError::new(
            Code::COMMAND_NOT_SUPPORTED_ON_VIEW,
            format!("explain is not supported on the view {}", q.collection),
        ));
    }
    if !verbosity.executes() {
        let collated = filter.collation().is_some();
        let (_, access) = exec::plan_described(&coll, &q.filter, collated);
        let winning = wrap(q, access_stage(&access, &q.filter, None), None);
        return Ok(Explained {
            winning,
            stats: None,
        });
    }
    let stop_after = match (&sort, q.limit) {
        (None, Some(limit)) => Some(q.skip.saturating_add(limit)),
        _ => None,
    };
    let (hits, access, examined) = exec::find_explained(
        ctx.engine,
        &ctx.view(),
        &coll,
        &q.filter,
        &filter,
        stop_after,
    );
    let matched = hits.len() as u64;
    let winning = wrap(q, access_stage(&access, &q.filter, None), None);
    let counted = access_stage(&access, &q.filter, Some((matched, examined)));
    let stats = execution_stats(q, counted, matched, examined, started);
    Ok(Explained {
        winning,
        stats: Some(stats),
    })
}

fn execution_stats(
    q: &Query<'_>,
    access: Document,
    matched: u64,
    examined: Examined,
    started: Instant,
) -> Document {
    let stages = wrap(q, access, Some(matched));
    let returned = match q.top {
        Some(Top::Count | Top::Delete | Top::Update { .. }) => 0,
        _ => after_limits(q, matched),
    };
    doc! {
        "executionSuccess": true,
        "nReturned": small_number(returned),
        "executionTimeMillis": small_number(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)),
        "totalKeysExamined": small_number(examined.keys),
        "totalDocsExamined": small_number(examined.docs),
        "executionStages": stages,
    }
}

/// Documents left after skip and limit.
fn after_limits(q: &Query<'_>, matched: u64) -> u64 {
    let left = matched.saturating_sub(q.skip as u64);
    q.limit.map_or(left, |l| left.min(l as u64))
}

/// Adds a stage's `nReturned` (and mongod's timing estimate) when executed.
fn stats(mut stage: Document, returned: Option<u64>) -> Document {
    if let Some(n) = returned {
        stage.insert("nReturned", small_number(n));
        stage.insert("executionTimeMillisEstimate", 0);
    }
    stage
}

/// The access stage(s) for the chosen path; `run` carries what the scan
/// matched and examined, for `executionStats`.
fn access_stage(access: &Access, filter: &Document, run: Option<(u64, Examined)>) -> Document {
    let matched = run.map(|r| r.0);
    let docs = run.map(|r| r.1.docs);
    let keys = run.map(|r| r.1.keys);
    let with = |mut stage: Document, field: &str, value: Option<u64>| {
        if let Some(value) = value {
            stage.insert(field, small_number(value));
        }
        stage
    };
    match access {
        // mongod's IDHACK answers a bare `_id` equality only.
        Access::IdPoints(bounds) if bounds.len() == 1 && filter.len() == 1 => {
            let stage = stats(doc! {"stage": "IDHACK"}, matched);
            let stage = with(stage, "keysExamined", keys);
            with(stage, "docsExamined", docs)
        }
        Access::IdPoints(bounds) => {
            let scan = ixscan("_id_", &doc! {"_id": 1}, "_id", bounds.clone(), keys);
            fetch(filter, "_id", scan, matched, docs)
        }
        Access::Index {
            name,
            key_pattern,
            field,
            bounds,
        } => {
            let scan = ixscan(name, key_pattern, field, bounds.clone(), keys);
            fetch(filter, field, scan, matched, docs)
        }
        Access::CollectionScan => {
            let mut stage = doc! {"stage": "COLLSCAN"};
            if !filter.is_empty() {
                stage.insert("filter", parsed_query(filter));
            }
            stage.insert("direction", "forward");
            let stage = stats(stage, matched);
            with(stage, "docsExamined", docs)
        }
    }
}

fn ixscan(
    name: &str,
    key_pattern: &Document,
    field: &str,
    bounds: Vec<String>,
    keys: Option<u64>,
) -> Document {
    let mut stage = doc! {
        "stage": "IXSCAN",
        "keyPattern": key_pattern.clone(),
        "indexName": name,
        "isMultiKey": false,
        "multiKeyPaths": {field: []},
        "isUnique": name == "_id_",
        "isSparse": false,
        "isPartial": false,
        "indexVersion": 2,
        "direction": "forward",
        "indexBounds": {field: bounds},
    };
    if let Some(keys) = keys {
        // Every key the scan visits is passed up to FETCH.
        stage.insert("nReturned", small_number(keys));
        stage.insert("executionTimeMillisEstimate", 0);
        stage.insert("keysExamined", small_number(keys));
    }
    stage
}

/// FETCH over an index scan; its filter is what the index did not answer.
fn fetch(
    filter: &Document,
    indexed: &str,
    scan: Document,
    matched: Option<u64>,
    docs: Option<u64>,
) -> Document {
    let mut stage = doc! {"stage": "FETCH"};
    let mut residual = filter.clone();
    residual.remove(indexed);
    if !residual.is_empty() {
        stage.insert("filter", parsed_query(&residual));
    }
    let mut stage = stats(stage, matched);
    if let Some(docs) = docs {
        stage.insert("docsExamined", small_number(docs));
    }
    stage.insert("inputStage", scan);
    stage
}

/// Wraps the access stage in SORT, SKIP, LIMIT, PROJECTION and the
/// command's own stage, innermost first. `matched` is what the access
/// stage returned, when executed.
fn wrap(q: &Query<'_>, access: Document, matched: Option<u64>) -> Document {
    let mut stage = access;
    let mut flowing = matched;
    let nest = |outer: Document, inner: Document, returned: Option<u64>| {
        let mut outer = stats(outer, returned);
        outer.insert("inputStage", inner);
        outer
    };
    if let Some(sort) = q.sort.filter(|s| !s.is_empty()) {
        let mut sort_stage = doc! {"stage": "SORT", "sortPattern": sort.clone(), "memLimit": 100i64 * 1024 * 1024, "type": "simple"};
        if let Some(limit) = q.limit {
            let amount = q.skip.saturating_add(limit);
            sort_stage.insert("limitAmount", small_number(amount as u64));
            flowing = flowing.map(|n| n.min(amount as u64));
        }
        stage = nest(sort_stage, stage, flowing);
    }
    if q.skip > 0 {
        flowing = flowing.map(|n| n.saturating_sub(q.skip as u64));
        stage = nest(
            doc! {"stage": "SKIP", "skipAmount": small_number(q.skip as u64)},
            stage,
            flowing,
        );
    }
    if let Some(limit) = q.limit.filter(|_| q.sort.is_none_or(|s| s.is_empty())) {
        flowing = flowing.map(|n| n.min(limit as u64));
        stage = nest(
            doc! {"stage": "LIMIT", "limitAmount": small_number(limit as u64)},
            stage,
            flowing,
        );
    }
    if let Some(projection) = q.projection.filter(|p| !p.is_empty()) {
        let proj = doc! {"stage": "PROJECTION_SIMPLE", "transformBy": projection.clone()};
        stage = nest(proj, stage, flowing);
    }
    match &q.top {
        None => stage,
        Some(Top::Distinct(key)) => {
            let proj =
                doc! {"stage": "PROJECTION_SIMPLE", "transformBy": {key.as_str(): 1, "_id": 0}};
            nest(proj, stage, flowing)
        }
        Some(Top::Count) => {
            let mut count = doc! {"stage": "COUNT"};
            if let Some(n) = flowing {
                count.insert("nCounted", small_number(n));
                count.insert(
                    "nSkipped",
                    small_number(q.skip.min(matched.unwrap_or(0) as usize) as u64),
                );
            }
            nest(count, stage, flowing.map(|_| 0))
        }
        Some(Top::Delete) => {
            let mut delete = doc! {"stage": "DELETE"};
            if let Some(n) = flowing {
                delete.insert("nWouldDelete", small_number(n));
            }
            nest(delete, stage, flowing.map(|_| 0))
        }
        Some(Top::Update { upsert }) => {
            let mut update = doc! {"stage": "UPDATE"};
            if let Some(n) = flowing {
                update.insert("nMatched", small_number(n));
                update.insert("nWouldModify", small_number(n));
                update.insert("nWouldUpsert", small_number(u64::from(*upsert && n == 0)));
            }
            nest(update, stage, flowing.map(|_| 0))
        }
    }
}

fn query_planner(ns: &str, filter: &Document, winning: Document) -> Document {
    doc! {
        "namespace": ns,
        "parsedQuery": parsed_query(filter),
        "indexFilterSet": false,
        "maxIndexedOrSolutionsReached": false,
        "maxIndexedAndSolutionsReached": false,
        "maxScansToExplodeReached": false,
        "prunedSimilarIndexes": false,
        "winningPlan": winning,
        "rejectedPlans": [],
    }
}

/// The filter as mongod prints `parsedQuery`: bare values become `$eq`,
/// and several conditions an `$and`.
fn parsed_query(filter: &Document) -> Document {
    let mut conditions: Vec<Document> = Vec::new();
    for (field, value) in filter {
        let condition = match value {
            _ if field.starts_with('$') => doc! {field: value.clone()},
            Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')) => {
                d.iter()
                    .map(|(op, v)| doc! {field: {op: v.clone()}})
                    .for_each(|c| conditions.push(c));
                continue;
            }
            other => doc! {field: {"$eq": other.clone()}},
        };
        conditions.push(condition);
    }
    match conditions.len() {
        0 => Document::new(),
        1 => conditions.pop().unwrap_or_default(),
        _ => doc! {"$and": conditions},
    }
}

fn server_info(ctx: &Ctx<'_>) -> Document {
    let advertise = &ctx.engine.options().topology.advertise;
    let (host, port) = match advertise.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<i32>().unwrap_or(27017)),
        None => (advertise.as_str(), 27017),
    };
    doc! {
        "host": host,
        "port": port,
        "version": super::diag::VERSION,
        "gitVersion": "rotor",
    }
}
