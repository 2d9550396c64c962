//! `$graphLookup`: a breadth-first search over another collection.
//!
//! Starting from `startWith`'s values, each round finds the foreign
//! documents whose `connectToField` equals a value of the frontier (any
//! element, when that field is an array), records each document once (by
//! `_id`, the first time it is reached, with its depth in `depthField`), and
//! takes their `connectFromField` values as the next frontier, until nothing
//! new is found or `maxDepth` rounds have run. Results are in discovery order.
//! The joined array is bounded by the document size limit, as in mongod.

use bson::{Bson, Document};

use super::RunOptions;
use crate::expr::{Expr, approx_document_size, type_name};
use crate::matcher::Filter;
use crate::{Error, Result, order};

/// mongod's document size limit, which the joined array must respect.
const RESULT_BYTES_MAX: usize = 16 * 1024 * 1024;

/// A parsed `$graphLookup` stage.
#[derive(Debug, Clone)]
pub struct GraphLookup {
    from: String,
    start_with: Expr,
    connect_from: Vec<String>,
    connect_to: Vec<String>,
    as_field: Vec<String>,
    max_depth: Option<u64>,
    depth_field: Option<Vec<String>>,
    restrict: Option<Filter>,
}

fn err(code: i32, message: impl Into<String>) -> Error {
    Error::location(code, message)
}

fn path(key: &str, value: &Bson) -> Result<Vec<String>> {
    match value {
        Bson::String(p) if p.starts_with('$') => Err(err(
            16410,
            format!("FieldPath field names may not start with '$'. Given FieldPath: {p}"),
        )),
        Bson::String(p) => crate::expr::field_path_parts(p),
        other => Err(err(
            40103,
            format!(
                "expected string as argument for {key}, found: {}",
                type_name(Some(other))
            ),
        )),
    }
}

impl GraphLookup {
    pub fn parse(spec: &Bson) -> Result<GraphLookup> {
        let Bson::Document(spec) = spec else {
            return Err(err(
                40327,
                "the $graphLookup stage specification must be an object",
            ));
        };
        let mut from = None;
        let mut start_with = None;
        let (mut connect_from, mut connect_to, mut as_field) = (None, None, None);
        let (mut max_depth, mut depth_field, mut restrict) = (None, None, None);
        for (key, value) in spec {
            match key.as_str() {
                "from" => match value {
                    Bson::String(c) => from = Some(c.clone()),
                    other => {
                        return Err(err(
                            40103,
                            format!(
                                "expected string as argument for from, found: {}",
                                type_name(Some(other))
                            ),
                        ));
                    }
                },
                "startWith" => start_with = Some(Expr::parse(value)?),
                "connectFromField" => connect_from = Some(path(key, value)?),
                "connectToField" => connect_to = Some(path(key, value)?),
                "as" => as_field = Some(path(key, value)?),
                "depthField" => depth_field = Some(path(key, value)?),
                "maxDepth" => {
                    let n = crate::expr::exact_i64(value).ok_or_else(|| {
                        err(
                            40100,
                            format!(
                                "maxDepth must be numeric, found type: {}",
                                type_name(Some(value))
                            ),
                        )
                    })?;
                    let n = u64::try_from(n).map_err(|_| {
                        err(
                            40101,
                            format!("maxDepth requires a nonnegative argument, found: {n}"),
                        )
                    })?;
                    max_depth = Some(n);
                }
                "restrictSearchWithMatch" => match value {
                    Bson::Document(filter) => restrict = Some(Filter::parse(filter)?),
                    other => {
                        return Err(err(
                            40185,
                            format!(
                                "restrictSearchWithMatch must be an object, found {}",
                                type_name(Some(other))
                            ),
                        ));
                    }
                },
                _ => {
                    return Err(err(
                        40104,
                        format!("Unknown argument to $graphLookup: {key}"),
                    ));
                }
            }
        }
        let (Some(from), Some(start_with), Some(connect_from), Some(connect_to), Some(as_field)) =
            (from, start_with, connect_from, connect_to, as_field)
        else {
            return Err(err(
                40105,
                "$graphLookup requires 'from', 'as', 'startWith', 'connectFromField', and 'connectToField' to be specified.",
            ));
        };
        Ok(GraphLookup {
            from,
            start_with,
            connect_from,
            connect_to,
            as_field,
            max_depth,
            depth_field,
            restrict,
        })
    }

    pub fn run(&self, input: Vec<Document>, options: &RunOptions<'_>) -> Result<Vec<Document>> {
        let foreign: Vec<Document> = options
            .collections
            .scan(&self.from)?
            .into_iter()
            .filter(|doc| self.restrict.as_ref().is_none_or(|f| f.matches(doc)))
            .collect();
        let mut out = Vec::with_capacity(input.len());
        for mut doc in input {
            let start = self
                .start_with
                .eval_with(&doc, &options.variables)?
                .unwrap_or(Bson::Null);
            let found = self.search(&foreign, start)?;
            let found = Bson::Array(found.into_iter().map(Bson::Document).collect());
            super::unwind::set_path(&mut doc, &self.as_field, found);
            out.push(doc);
        }
        Ok(out)
    }

    fn search(&self, foreign: &[Document], start: Bson) -> Result<Vec<Document>> {
        let mut frontier = flatten(start);
        let mut visited = vec![false; foreign.len()];
        let mut results = Vec::new();
        let mut bytes = 0;
        let mut depth = 0u64;
        while !frontier.is_empty() && self.max_depth.is_none_or(|max| depth <= max) {
            let mut next = Vec::new();
            for (i, doc) in foreign.iter().enumerate() {
                if visited.get(i).copied().unwrap_or(true) {
                    continue;
                }
                let targets = flatten(
                    crate::expr::lookup_document(doc, &self.connect_to).unwrap_or(Bson::Null),
                );
                if !targets
                    .iter()
                    .any(|t| frontier.iter().any(|f| order::equal(t, f)))
                {
                    continue;
                }
                if let Some(seen) = visited.get_mut(i) {
                    *seen = true;
                }
                let mut hit = doc.clone();
                if let Some(field) = &self.depth_field {
                    super::unwind::set_path(
                        &mut hit,
                        field,
                        Bson::Int64(i64::try_from(depth).unwrap_or(i64::MAX)),
                    );
                }
                bytes += approx_document_size(&hit);
                if bytes > RESULT_BYTES_MAX {
                    return Err(err(
                        4568,
                        format!(
                            "Total size of documents in {} matching $graphLookup exceeds {RESULT_BYTES_MAX} bytes",
                            self.from
                        ),
                    ));
                }
                next.extend(flatten(
                    crate::expr::lookup_document(doc, &self.connect_from).unwrap_or(Bson::Null),
                ));
                results.push(hit);
            }
            frontier = next;
            depth += 1;
        }
        Ok(results)
    }
}

/// A value, or an array's elements, as the values to match on.
fn flatten(value: Bson) -> Vec<Bson> {
    match value {
        Bson::Array(items) => items,
        other => vec![other],
    }
}
