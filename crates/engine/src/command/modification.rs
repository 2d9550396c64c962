//! What an update statement does to a document: update operators or a
//! replacement ([`UpdateSpec`]), or an aggregation pipeline of the stages
//! mongod allows in updates (`$addFields`/`$set`, `$project`/`$unset`,
//! `$replaceRoot`/`$replaceWith`).

use bson::{Bson, Document};
use mql::Code;
use mql::pipeline::{Collections, Pipeline, RunOptions};
use mql::update::{ApplyContext, UpdateSpec};

use super::CommandError;

/// Stages an update pipeline may use (mongod 4.2+).
const UPDATE_STAGES: &[&str] = &[
    "$addFields",
    "$set",
    "$project",
    "$unset",
    "$replaceRoot",
    "$replaceWith",
];

pub(super) enum Modification {
    Spec(UpdateSpec),
    Pipeline(Pipeline),
}

/// An update pipeline reads no other collection.
struct NoCollections;

impl Collections for NoCollections {
    fn scan(&self, _collection: &str) -> mql::Result<Vec<Document>> {
        Err(mql::Error::new(
            Code::INVALID_OPTIONS,
            "update pipelines cannot read other collections",
        ))
    }
}

impl Modification {
    pub fn parse(update: &Bson, array_filters: &[Document]) -> Result<Modification, CommandError> {
        match update {
            Bson::Document(update) => Ok(Modification::Spec(UpdateSpec::parse(
                update,
                array_filters,
            )?)),
            Bson::Array(stages) => {
                if !array_filters.is_empty() {
                    return Err(CommandError::new(
                        Code::FAILED_TO_PARSE,
                        "arrayFilters may not be specified for pipeline-style updates",
                    ));
                }
                let mut docs = Vec::with_capacity(stages.len());
                for stage in stages {
                    let Bson::Document(stage) = stage else {
                        return Err(CommandError::new(
                            Code::TYPE_MISMATCH,
                            "Each element of the 'pipeline' array must be an object",
                        ));
                    };
                    let name = stage.keys().next().map(String::as_str).unwrap_or("");
                    if !UPDATE_STAGES.contains(&name) {
                        return Err(CommandError::new(
                            Code::INVALID_OPTIONS,
                            format!("{name} is not allowed to be used within an update"),
                        ));
                    }
                    docs.push(stage.clone());
                }
                Ok(Modification::Pipeline(Pipeline::parse(&docs)?))
            }
            _ => Err(CommandError::new(
                Code::FAILED_TO_PARSE,
                "Update argument must be either an object or an array",
            )),
        }
    }

    pub fn is_replacement(&self) -> bool {
        matches!(self, Modification::Spec(spec) if spec.is_replacement())
    }

    /// The updated copy of `doc`, and whether it changed; `doc` stays as it
    /// is. `_id` never changes.
    pub fn apply_to(&self, doc: &Document, ctx: &ApplyContext) -> mql::Result<(bool, Document)> {
        match self {
            Modification::Spec(spec) => spec.apply_to(doc, ctx),
            Modification::Pipeline(_) => {
                let mut updated = doc.clone();
                let changed = self.apply(&mut updated, ctx)?;
                Ok((changed, updated))
            }
        }
    }

    /// Applies to `doc`; returns whether it changed. `_id` never changes.
    pub fn apply(&self, doc: &mut Document, ctx: &ApplyContext) -> mql::Result<bool> {
        match self {
            Modification::Spec(spec) => spec.apply(doc, ctx),
            Modification::Pipeline(pipeline) => {
                let mut out = pipeline.run(vec![doc.clone()], &RunOptions::new(&NoCollections))?;
                let (Some(mut updated), true) = (out.pop(), out.is_empty()) else {
                    return Err(mql::Error::new(
                        Code::BAD_VALUE,
                        "an update pipeline must produce one document",
                    ));
                };
                match (doc.get("_id"), updated.get("_id")) {
                    (Some(old), Some(new)) if old != new => {
                        return Err(mql::Error::new(
                            Code::IMMUTABLE_FIELD,
                            "Performing an update on the path '_id' would modify the immutable field '_id'",
                        ));
                    }
                    (Some(old), None) => {
                        let mut with_id = Document::new();
                        with_id.insert("_id", old.clone());
                        with_id.extend(updated);
                        updated = with_id;
                    }
                    _ => {}
                }
                let changed = updated != *doc;
                *doc = updated;
                Ok(changed)
            }
        }
    }

    /// The document an upsert starts from.
    pub fn upsert_seed(&self, filter: &Document) -> mql::Result<Document> {
        match self {
            Modification::Spec(spec) => spec.upsert_seed(filter),
            Modification::Pipeline(_) => mql::update::upsert_seed(filter),
        }
    }
}
