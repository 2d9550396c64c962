//! The document an upsert starts from when its filter matched nothing.
//!
//! mongod seeds it with the filter's equality conditions: `{a: 5}`,
//! `{a: {$eq: 5}}`, a one-element `$in` or `$all`, and the same inside
//! `$and` (and a one-clause `$or`, which mongod's query normalisation
//! unwraps). Dotted
//! paths build nested documents. The paths are applied in byte-wise order
//! and `_id` goes first: older mongod iterated an ordered map; newer ones
//! give an order that is neither sorted nor the filter's, so sorting is the
//! deterministic choice. Two
//! equalities on one path, or on a path and its prefix, are an error
//! (NotSingleValueField), as in mongod.
//!
//! A replacement-style upsert takes only `_id` from the filter
//! ([`super::UpdateSpec::upsert_seed`]).
//!
//! Not seeded: ranges, regexes, `$elemMatch`, `$exists`, `$expr`, and any
//! path with a `$`-prefixed component.

use bson::{Bson, Document};

use super::path;
use crate::{Code, Error, Result};

/// Logical operators nest no deeper than this in a filter we read; deeper
/// clauses are ignored rather than recursed into.
const LOGICAL_DEPTH_MAX: usize = 100;

/// The seed document of an operator-style upsert whose filter is `filter`.
pub fn upsert_seed(filter: &Document) -> Result<Document> {
    let mut equalities = Vec::new();
    collect(filter, &mut equalities, 0);
    build(equalities)
}

/// The seed of a replacement-style upsert: mongod takes only the filter's
/// `_id` equality, since the replacement supplies every other field.
pub(crate) fn replacement_seed(filter: &Document) -> Result<Document> {
    let mut equalities = Vec::new();
    collect(filter, &mut equalities, 0);
    equalities.retain(|(path, _)| path == "_id");
    build(equalities)
}

fn build(mut equalities: Vec<(String, Bson)>) -> Result<Document> {
    equalities.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut paths: Vec<Vec<String>> = Vec::new();
    let mut root = Bson::Document(Document::new());
    for (dotted, value) in equalities {
        let parts: Vec<String> = dotted.split('.').map(str::to_string).collect();
        if parts.iter().any(|p| p.is_empty() || p.starts_with('$')) {
            continue;
        }
        if let Some(other) = paths
            .iter()
            .find(|p| p.starts_with(&parts) || parts.starts_with(p))
        {
            return Err(seed_conflict(other, &parts));
        }
        path::set(&mut root, &parts, value)?;
        paths.push(parts);
    }
    let Bson::Document(mut seed) = root else {
        return Ok(Document::new());
    };
    if let Some(id) = seed.remove("_id") {
        let mut with_id = Document::new();
        with_id.insert("_id", id);
        with_id.extend(seed);
        seed = with_id;
    }
    Ok(seed)
}

fn seed_conflict(other: &[String], parts: &[String]) -> Error {
    let message = if other == parts {
        format!(
            "cannot infer query fields to set, path '{}' is matched twice",
            parts.join(".")
        )
    } else {
        format!(
            "cannot infer query fields to set, both paths '{}' and '{}' are matched",
            other.join("."),
            parts.join(".")
        )
    };
    Error::new(Code::NOT_SINGLE_VALUE_FIELD, message)
}

fn collect(filter: &Document, out: &mut Vec<(String, Bson)>, depth: usize) {
    if depth > LOGICAL_DEPTH_MAX {
        return;
    }
    for (key, value) in filter {
        match key.as_str() {
            "$and" => {
                for clause in clauses(value) {
                    collect(clause, out, depth + 1);
                }
            }
            "$or" => {
                if let [only] = clauses(value).as_slice() {
                    collect(only, out, depth + 1);
                }
            }
            k if k.starts_with('$') => {}
            _ => {
                if let Some(equal_to) = equality(value) {
                    out.push((key.clone(), equal_to));
                }
            }
        }
    }
}

fn clauses(value: &Bson) -> Vec<&Document> {
    match value {
        Bson::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Bson::Document(d) => Some(d),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn is_operator_or_regex(value: &Bson) -> bool {
    match value {
        Bson::RegularExpression(_) => true,
        Bson::Document(d) => d.keys().next().is_some_and(|k| k.starts_with('$')),
        _ => false,
    }
}

/// The value a field's condition pins it to, if it is an equality.
fn equality(condition: &Bson) -> Option<Bson> {
    match condition {
        Bson::RegularExpression(_) => None,
        Bson::Document(ops) if ops.keys().next().is_some_and(|k| k.starts_with('$')) => {
            if let Some(value) = ops.get("$eq") {
                return Some(value.clone());
            }
            // A one-element `$in` or `$all` is an equality once mongod has
            // normalised the query.
            let single = |operator: &str| match ops.get(operator) {
                Some(Bson::Array(items)) if items.len() == 1 => {
                    items.first().filter(|v| !is_operator_or_regex(v)).cloned()
                }
                _ => None,
            };
            single("$in").or_else(|| single("$all"))
        }
        other => Some(other.clone()),
    }
}
