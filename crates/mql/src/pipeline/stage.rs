//! Stage parsing (`{$match: ...}` and friends) and the pipeline runner.
//!
//! Every stage document must have exactly one field (40323) naming a known
//! stage (40324). Parsing checks each stage's arguments with mongod's codes,
//! so a pipeline that parses can only fail at run time on data (a
//! `$replaceRoot` to a non-document, an arithmetic error, a memory limit).

use bson::{Bson, Document};

use super::graph::GraphLookup;
use super::group::Group;
use super::lookup::Lookup;
use super::project::Projection;
use super::sample::Sample;
use super::sort::SortSpec;
use super::union::UnionWith;
use super::unwind::Unwind;
use super::{PIPELINE_DEPTH_MAX, RunOptions, STAGES_MAX, memory_exceeded};
use crate::expr::{Expr, approx_document_size, type_name};
use crate::matcher::Filter;
use crate::{Code, Error, Result};

/// One parsed stage.
#[derive(Debug, Clone)]
pub enum Stage {
    /// `$match`; a top-level `$expr` is evaluated here, beside the filter,
    /// and `spec` is the filter without it.
    Match {
        filter: Box<Filter>,
        expr: Option<Expr>,
        spec: Document,
    },
    Project(Projection),
    Group(Group),
    Sort(SortSpec),
    Skip(u64),
    Limit(u64),
    Count(String),
    Unwind(Unwind),
    ReplaceRoot(Expr),
    Lookup(Lookup),
    Facet(Vec<(String, Pipeline)>),
    UnionWith(UnionWith),
    Sample(Sample),
    GraphLookup(Box<GraphLookup>),
}

/// A parsed aggregation pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    stages: Vec<Stage>,
}

fn err(code: i32, message: impl Into<String>) -> Error {
    Error::location(code, message)
}

impl Pipeline {
    /// Parses the `pipeline` array of an `aggregate` command.
    pub fn parse(stages: &[Document]) -> Result<Pipeline> {
        parse_nested(stages, 0)
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The query filter of a leading `$match`, which an engine may answer
    /// from an index before running the pipeline (the `$match` runs again,
    /// so this may select more than the stage keeps). A top-level `$expr`
    /// is left out: the stage evaluates it itself.
    pub fn leading_match(&self) -> Option<&Document> {
        match self.stages.first() {
            Some(Stage::Match { spec, .. }) => Some(spec),
            _ => None,
        }
    }

    /// Runs the pipeline over `input`, returning the output documents.
    pub fn run(&self, input: Vec<Document>, options: &RunOptions<'_>) -> Result<Vec<Document>> {
        let mut docs = input;
        for (i, stage) in self.stages.iter().enumerate() {
            docs = match (stage, self.stages.get(i + 1)) {
                // A $sort feeding a $limit keeps only the top documents, so
                // only those count against the memory limit (as in mongod).
                (Stage::Sort(spec), Some(Stage::Limit(n))) => {
                    let keep = usize::try_from(*n).unwrap_or(usize::MAX);
                    sort(spec, docs, keep, options)?
                }
                _ => run_stage(stage, docs, options)?,
            };
        }
        Ok(docs)
    }
}

pub(super) fn parse_nested(stages: &[Document], depth: usize) -> Result<Pipeline> {
    if depth > PIPELINE_DEPTH_MAX {
        return Err(Error::new(
            Code::OVERFLOW,
            format!(
                "Maximum number of nested sub-pipelines exceeded. Limit is {PIPELINE_DEPTH_MAX}"
            ),
        ));
    }
    if stages.len() > STAGES_MAX {
        return Err(Error::new(
            Code(7749501),
            format!("Pipeline length must be no longer than {STAGES_MAX} stages."),
        ));
    }
    let mut parsed = Vec::with_capacity(stages.len());
    for stage in stages {
        match expansion(stage)? {
            Some(expanded) => {
                for stage in &expanded {
                    parsed.push(parse_stage(stage, depth)?);
                }
            }
            None => parsed.push(parse_stage(stage, depth)?),
        }
    }
    Ok(Pipeline { stages: parsed })
}

/// The stages a shorthand stage stands for, or `None` for ordinary stages.
fn expansion(stage: &Document) -> Result<Option<Vec<Document>>> {
    let mut fields = stage.iter();
    match (fields.next(), fields.next()) {
        (Some((name, spec)), None) if name == "$sortByCount" => {
            super::sugar::sort_by_count(spec).map(Some)
        }
        (Some((name, spec)), None) if name == "$bucket" => super::sugar::bucket(spec).map(Some),
        _ => Ok(None),
    }
}

fn parse_stage(stage: &Document, depth: usize) -> Result<Stage> {
    let mut fields = stage.iter();
    let (Some((name, spec)), None) = (fields.next(), fields.next()) else {
        return Err(err(
            40323,
            "A pipeline stage specification object must contain exactly one field.",
        ));
    };
    match name.as_str() {
        "$match" => match spec {
            Bson::Document(filter) => parse_match(filter),
            _ => Err(err(
                15959,
                "the match filter must be an expression in an object",
            )),
        },
        "$project" => Ok(Stage::Project(Projection::project(object(
            spec,
            15969,
            "$project specification must be an object",
        )?)?)),
        "$addFields" | "$set" => Ok(Stage::Project(Projection::add_fields(object(
            spec,
            40272,
            &format!(
                "{name} specification stage must be an object, got {}",
                type_name(Some(spec))
            ),
        )?)?)),
        "$unset" => Ok(Stage::Project(Projection::unset(spec)?)),
        "$group" => Ok(Stage::Group(Group::parse(spec)?)),
        "$sort" => Ok(Stage::Sort(SortSpec::parse(object(
            spec,
            15973,
            "the $sort key specification must be an object",
        )?)?)),
        "$skip" => count_arg(
            spec,
            (15972, "Argument to $skip must be a number"),
            (15956, "Argument to $skip cannot be negative"),
            0,
        )
        .map(Stage::Skip),
        "$limit" => count_arg(
            spec,
            (15957, "the limit must be specified as a number"),
            (15958, "the limit must be positive"),
            1,
        )
        .map(Stage::Limit),
        "$count" => parse_count(spec).map(Stage::Count),
        "$unwind" => Ok(Stage::Unwind(Unwind::parse(spec)?)),
        "$replaceRoot" => parse_replace_root(spec).map(Stage::ReplaceRoot),
        "$replaceWith" => Ok(Stage::ReplaceRoot(Expr::parse(spec)?)),
        "$lookup" => Ok(Stage::Lookup(Lookup::parse(spec, depth)?)),
        "$facet" => parse_facet(spec, depth).map(Stage::Facet),
        "$sample" => Ok(Stage::Sample(Sample::parse(spec)?)),
        "$graphLookup" => Ok(Stage::GraphLookup(Box::new(GraphLookup::parse(spec)?))),
        "$unionWith" => Ok(Stage::UnionWith(UnionWith::parse(spec, depth)?)),
        _ => Err(err(
            40324,
            format!("Unrecognized pipeline stage name: '{name}'"),
        )),
    }
}

fn parse_match(spec: &Document) -> Result<Stage> {
    let mut rest = spec.clone();
    let expr = match rest.remove("$expr") {
        Some(expr) => Some(Expr::parse(&expr)?),
        None => None,
    };
    Ok(Stage::Match {
        filter: Box::new(Filter::parse(&rest)?),
        expr,
        spec: rest,
    })
}

fn object<'a>(spec: &'a Bson, code: i32, message: &str) -> Result<&'a Document> {
    match spec {
        Bson::Document(doc) => Ok(doc),
        _ => Err(err(code, message)),
    }
}

fn count_arg(
    spec: &Bson,
    not_number: (i32, &str),
    too_small: (i32, &str),
    min: i64,
) -> Result<u64> {
    let n = crate::expr::exact_i64(spec).ok_or_else(|| err(not_number.0, not_number.1))?;
    if n < min {
        return Err(err(too_small.0, too_small.1));
    }
    Ok(u64::try_from(n).unwrap_or(0))
}

fn parse_count(spec: &Bson) -> Result<String> {
    let Bson::String(field) = spec else {
        return Err(err(40156, "the count field must be a non-empty string"));
    };
    if field.is_empty() {
        return Err(err(40157, "the count field must be a non-empty string"));
    }
    if field.starts_with('$') {
        return Err(err(40158, "the count field cannot be a $-prefixed path"));
    }
    if field.contains('.') {
        return Err(err(40160, "the count field cannot contain '.'"));
    }
    Ok(field.clone())
}

fn parse_replace_root(spec: &Bson) -> Result<Expr> {
    let Bson::Document(options) = spec else {
        return Err(err(
            40229,
            format!(
                "expected an object as specification for $replaceRoot stage, got {}",
                type_name(Some(spec))
            ),
        ));
    };
    if let Some(key) = options.keys().find(|k| *k != "newRoot") {
        return Err(err(
            40415,
            format!("BSON field '$replaceRoot.{key}' is an unknown field."),
        ));
    }
    let root = options
        .get("newRoot")
        .ok_or_else(|| err(40231, "no newRoot specified for the $replaceRoot stage"))?;
    Expr::parse(root)
}

fn parse_facet(spec: &Bson, depth: usize) -> Result<Vec<(String, Pipeline)>> {
    let Bson::Document(facets) = spec else {
        return Err(err(
            40169,
            "the $facet specification must be a non-empty object",
        ));
    };
    if facets.is_empty() {
        return Err(err(
            40169,
            "the $facet specification must be a non-empty object",
        ));
    }
    let mut out = Vec::with_capacity(facets.len());
    for (name, stages) in facets {
        let Bson::Array(stages) = stages else {
            return Err(err(
                40170,
                format!(
                    "arguments to $facet must be arrays, {name} is type {}",
                    type_name(Some(stages))
                ),
            ));
        };
        let stages = stages
            .iter()
            .map(|s| match s {
                Bson::Document(d) => Ok(d.clone()),
                other => Err(err(
                    40171,
                    format!("elements of arrays in $facet spec must be non-empty objects, {name} argument contained an element of type {}", type_name(Some(other))),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        if stages.iter().any(|s| s.contains_key("$facet")) {
            return Err(err(
                40600,
                "$facet is not allowed to be used within a $facet stage",
            ));
        }
        out.push((name.clone(), parse_nested(&stages, depth + 1)?));
    }
    Ok(out)
}

fn run_stage(
    stage: &Stage,
    docs: Vec<Document>,
    options: &RunOptions<'_>,
) -> Result<Vec<Document>> {
    Ok(match stage {
        Stage::Match { filter, expr, .. } => {
            let mut out = Vec::with_capacity(docs.len());
            for doc in docs {
                let keep = filter.matches_collated(&doc, options.collation.as_deref())
                    && match expr {
                        Some(expr) => crate::expr::is_truthy(
                            expr.eval_with(&doc, &options.variables)?.as_ref(),
                        ),
                        None => true,
                    };
                if keep {
                    out.push(doc);
                }
            }
            out
        }
        Stage::Project(projection) => docs
            .iter()
            .map(|d| projection.apply_with(d, &options.variables))
            .collect::<Result<_>>()?,
        Stage::Group(group) => group.run(
            docs,
            options.stage_memory_bytes,
            &options.variables,
            options.collation.as_deref(),
        )?,
        Stage::Sort(spec) => sort(spec, docs, usize::MAX, options)?,
        Stage::Skip(n) => docs
            .into_iter()
            .skip(usize::try_from(*n).unwrap_or(usize::MAX))
            .collect(),
        Stage::Limit(n) => docs
            .into_iter()
            .take(usize::try_from(*n).unwrap_or(usize::MAX))
            .collect(),
        Stage::Count(field) => {
            if docs.is_empty() {
                Vec::new()
            } else {
                let n = docs.len();
                let count = i32::try_from(n).map_or(
                    Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX)),
                    Bson::Int32,
                );
                let mut out = Document::new();
                out.insert(field.clone(), count);
                vec![out]
            }
        }
        Stage::Unwind(unwind) => {
            let mut out = Vec::with_capacity(docs.len());
            for doc in docs {
                unwind.apply(doc, &mut out);
            }
            out
        }
        Stage::ReplaceRoot(expr) => docs
            .iter()
            .map(|d| replace_root(expr, d, &options.variables))
            .collect::<Result<_>>()?,
        Stage::Lookup(lookup) => lookup.run(docs, options)?,
        Stage::UnionWith(union) => union.run(docs, options)?,
        Stage::Sample(sample) => sample.run(docs, options.random_seed),
        Stage::GraphLookup(graph) => graph.run(docs, options)?,
        Stage::Facet(facets) => {
            let mut out = Document::new();
            for (name, pipeline) in facets {
                let results = pipeline.run(docs.clone(), options)?;
                out.insert(
                    name.clone(),
                    results.into_iter().map(Bson::Document).collect::<Vec<_>>(),
                );
            }
            vec![out]
        }
    })
}

/// Sorts and keeps the first `keep` documents, within the memory limit.
fn sort(
    spec: &SortSpec,
    docs: Vec<Document>,
    keep: usize,
    options: &RunOptions<'_>,
) -> Result<Vec<Document>> {
    let docs = match &options.collation {
        None => spec.top(docs, keep),
        Some(collation) => spec
            .clone()
            .with_collation(Some(collation.clone()))
            .top(docs, keep),
    };
    let bytes: usize = docs.iter().map(approx_document_size).sum();
    if bytes > options.stage_memory_bytes {
        return Err(memory_exceeded(&format!(
            "Sort exceeded memory limit of {} bytes, but did not opt in to external sorting.",
            options.stage_memory_bytes
        )));
    }
    Ok(docs)
}

fn replace_root(expr: &Expr, doc: &Document, vars: &[(String, Bson)]) -> Result<Document> {
    match expr.eval_with(doc, vars)? {
        Some(Bson::Document(root)) => Ok(root),
        other => {
            let shown = other
                .as_ref()
                .map_or("MISSING".to_string(), ToString::to_string);
            Err(err(
                40228,
                format!(
                    "'newRoot' expression must evaluate to an object, but resulting value was: {shown}. Type of resulting value: '{}'. Input document: {doc}",
                    type_name(other.as_ref())
                ),
            ))
        }
    }
}
