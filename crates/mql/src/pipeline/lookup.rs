//! `$lookup`: join each document with matching documents of another
//! collection, which the caller supplies through [`Collections`].
//!
//! The equality form matches a foreign document when its `foreignField`
//! equals the local value, or any element of it when the local value is an
//! array, using the query matcher's `$in` (so a missing or null local value
//! matches foreign documents whose field is null or missing, as in mongod).
//! The pipeline form runs a sub-pipeline over the foreign collection. Its
//! `let` variables are evaluated against each local document and bound by
//! rewriting the sub-pipeline: every `"$$name"` becomes the value as a
//! `$literal` (mongod binds them as variables instead; the difference shows
//! only where an inner `$let`/`$map` shadows the same name, or in a query
//! operand written as the string `"$$name"`). Without `let` the sub-pipeline
//! runs once for all local documents.

use bson::{Bson, Document, doc};

use super::{Collections, Pipeline, RunOptions};
use crate::expr::Expr;
use crate::matcher::Filter;
use crate::{Error, Result};

#[derive(Debug, Clone)]
enum Join {
    Equality {
        local: Vec<String>,
        foreign: String,
    },
    Pipeline(Box<Pipeline>),
    /// A sub-pipeline with `let` variables: re-parsed per local document.
    Correlated {
        lets: Vec<(String, Expr)>,
        stages: Vec<Document>,
    },
}

/// mongod's document size limit, which a joined `as` array must respect.
const DOCUMENT_BYTES_MAX: usize = 16 * 1024 * 1024;

/// A parsed `$lookup` stage.
#[derive(Debug, Clone)]
pub struct Lookup {
    from: String,
    join: Join,
    as_field: Vec<String>,
}

fn string_arg<'a>(key: &str, value: &'a Bson) -> Result<&'a str> {
    match value {
        Bson::String(s) => Ok(s),
        other => Err(Error::location(
            4570,
            format!(
                "arguments to $lookup must be strings, {key}: {other} is type {}",
                crate::expr::type_name(Some(other))
            ),
        )),
    }
}

impl Lookup {
    /// Parses the stage; `depth` is how deeply its pipeline is nested.
    pub fn parse(spec: &Bson, depth: usize) -> Result<Lookup> {
        let Bson::Document(spec) = spec else {
            return Err(Error::failed_to_parse(
                "the $lookup specification must be an Object",
            ));
        };
        let (mut from, mut local, mut foreign, mut as_field, mut pipeline) =
            (None, None, None, None, None);
        let mut lets = Vec::new();
        for (key, value) in spec {
            match key.as_str() {
                "from" => from = Some(string_arg(key, value)?),
                "localField" => local = Some(string_arg(key, value)?),
                "foreignField" => foreign = Some(string_arg(key, value)?),
                "as" => as_field = Some(string_arg(key, value)?),
                "pipeline" => pipeline = Some(value),
                "let" => lets = crate::vars::parse_lets(value)?,
                _ => {
                    return Err(Error::failed_to_parse(format!(
                        "unknown argument to $lookup: {key}"
                    )));
                }
            }
        }
        let as_field = as_field
            .ok_or_else(|| Error::failed_to_parse("must specify 'as' field for a $lookup"))?;
        let from =
            from.ok_or_else(|| Error::failed_to_parse("must specify 'from' field for a $lookup"))?;
        let join = match (local, foreign, pipeline) {
            (Some(local), Some(foreign), None) => Join::Equality {
                local: crate::expr::field_path_parts(local)?,
                foreign: foreign.to_string(),
            },
            (None, None, Some(Bson::Array(stages))) => {
                let stages = stages
                    .iter()
                    .map(|s| match s {
                        Bson::Document(d) => Ok(d.clone()),
                        _ => Err(Error::failed_to_parse(
                            "'pipeline' option must be specified as an array",
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?;
                if lets.is_empty() {
                    Join::Pipeline(Box::new(super::stage::parse_nested(&stages, depth + 1)?))
                } else {
                    // Parse once with placeholder values to report errors early.
                    let placeholders: Vec<(String, Bson)> =
                        lets.iter().map(|(n, _)| (n.clone(), Bson::Null)).collect();
                    super::stage::parse_nested(
                        &crate::vars::bind_stages(&stages, &placeholders),
                        depth + 1,
                    )?;
                    Join::Correlated { lets, stages }
                }
            }
            (_, _, Some(_)) => {
                return Err(Error::failed_to_parse(
                    "$lookup with 'pipeline' may not specify 'localField' or 'foreignField'",
                ));
            }
            _ => {
                return Err(Error::failed_to_parse(
                    "$lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified",
                ));
            }
        };
        Ok(Lookup {
            from: from.to_string(),
            join,
            as_field: crate::expr::field_path_parts(as_field)?,
        })
    }

    pub fn run(&self, input: Vec<Document>, options: &RunOptions<'_>) -> Result<Vec<Document>> {
        let foreign_docs = options.collections.scan(&self.from)?;
        let mut out = Vec::with_capacity(input.len());
        let uncorrelated = match &self.join {
            Join::Pipeline(pipeline) => Some(pipeline.run(foreign_docs.clone(), options)?),
            Join::Equality { .. } | Join::Correlated { .. } => None,
        };
        for mut doc in input {
            let matches = match (&self.join, &uncorrelated) {
                (_, Some(results)) => results.clone(),
                (Join::Equality { local, foreign }, None) => {
                    let filter = equality_filter(&doc, local, foreign)?;
                    foreign_docs
                        .iter()
                        .filter(|f| filter.matches(f))
                        .cloned()
                        .collect()
                }
                (Join::Correlated { lets, stages }, None) => {
                    let mut values = Vec::with_capacity(lets.len());
                    for (name, expr) in lets {
                        values.push((
                            name.clone(),
                            expr.eval_with(&doc, &options.variables)?
                                .unwrap_or(Bson::Null),
                        ));
                    }
                    let pipeline = Pipeline::parse(&crate::vars::bind_stages(stages, &values))?;
                    pipeline.run(foreign_docs.clone(), options)?
                }
                (Join::Pipeline(_), None) => Vec::new(),
            };
            let bytes: usize = matches.iter().map(crate::expr::approx_document_size).sum();
            if bytes > DOCUMENT_BYTES_MAX {
                return Err(Error::location(
                    4568,
                    format!(
                        "Total size of documents in {} matching pipeline's $lookup stage exceeds {DOCUMENT_BYTES_MAX} bytes",
                        self.from
                    ),
                ));
            }
            let matches = Bson::Array(matches.into_iter().map(Bson::Document).collect());
            super::unwind::set_path(&mut doc, &self.as_field, matches);
            out.push(doc);
        }
        Ok(out)
    }
}

/// `{foreign: {$in: [local values]}}`, local arrays contributing elements.
fn equality_filter(doc: &Document, local: &[String], foreign: &str) -> Result<Filter> {
    let values = match crate::expr::lookup_document(doc, local) {
        None => vec![Bson::Null],
        Some(Bson::Array(items)) if items.is_empty() => vec![Bson::Null],
        Some(Bson::Array(items)) => items,
        Some(value) => vec![value],
    };
    // Inside $in a regex is a pattern; mongod's join compares it as a value.
    if values
        .iter()
        .any(|v| matches!(v, Bson::RegularExpression(_)))
    {
        let clauses: Vec<Bson> = values
            .into_iter()
            .map(|v| Bson::Document(doc! {foreign: {"$eq": v}}))
            .collect();
        return Filter::parse(&doc! {"$or": clauses});
    }
    Filter::parse(&doc! {foreign: {"$in": values}})
}

impl Collections for () {
    fn scan(&self, _collection: &str) -> Result<Vec<Document>> {
        Ok(Vec::new())
    }
}

impl Collections for std::collections::HashMap<String, Vec<Document>> {
    fn scan(&self, collection: &str) -> Result<Vec<Document>> {
        Ok(self.get(collection).cloned().unwrap_or_default())
    }
}
