//! `arrayFilters`: parsing each filter, naming its identifier, and testing
//! array elements for the `$[<identifier>]` path component.
//!
//! A filter's identifier is the first component of its top-level field names
//! (looking inside `$and`, `$or` and `$nor`); each filter has exactly one and
//! no two filters share one, as mongod requires. An element `e` passes the
//! filter for `x` when the filter matches the document `{x: e}`, which is how
//! mongod evaluates an expression with a placeholder; it also lets the
//! matcher's own rules (dotted paths, array traversal) apply unchanged.

use std::collections::BTreeSet;

use bson::{Bson, Document};

use crate::matcher::Filter;
use crate::{Error, Result};

pub(crate) struct ArrayFilters {
    filters: Vec<(String, Filter)>,
}

impl ArrayFilters {
    pub(crate) fn parse(docs: &[Document]) -> Result<ArrayFilters> {
        let mut filters: Vec<(String, Filter)> = Vec::new();
        for doc in docs {
            let id = identifier(doc)?;
            if filters.iter().any(|(existing, _)| *existing == id) {
                return Err(Error::failed_to_parse(format!(
                    "Found multiple array filters with the same top-level field name {id}"
                )));
            }
            let filter = Filter::parse(doc).map_err(|e| {
                Error::new(
                    e.code,
                    format!("Error parsing array filter :: caused by :: {}", e.message),
                )
            })?;
            filters.push((id, filter));
        }
        Ok(ArrayFilters { filters })
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.filters.iter().any(|(existing, _)| existing == id)
    }

    pub(crate) fn identifiers(&self) -> impl Iterator<Item = &str> {
        self.filters.iter().map(|(id, _)| id.as_str())
    }

    /// Whether `element` passes the filter for `id`; an unknown `id` (which
    /// parsing rules out) passes nothing.
    pub(crate) fn accepts(&self, id: &str, element: &Bson) -> bool {
        let Some((_, filter)) = self.filters.iter().find(|(existing, _)| existing == id) else {
            return false;
        };
        let mut probe = Document::new();
        probe.insert(id, element.clone());
        filter.matches(&probe)
    }
}

fn identifier(doc: &Document) -> Result<String> {
    let mut names = BTreeSet::new();
    collect_names(doc, &mut names, 0);
    let mut names = names.into_iter();
    let Some(first) = names.next() else {
        return Err(Error::failed_to_parse(
            "Cannot use an expression without a top-level field name in arrayFilters",
        ));
    };
    if let Some(second) = names.next() {
        return Err(Error::failed_to_parse(format!(
            "Error parsing array filter :: caused by :: Expected a single top-level field name, found '{first}' and '{second}'"
        )));
    }
    let mut chars = first.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric());
    if !well_formed {
        return Err(Error::bad_value(format!(
            "Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric string beginning with a lowercase letter, found '{first}'"
        )));
    }
    Ok(first)
}

/// Logical operators nest no deeper than this inside one array filter;
/// deeper nesting is left to the matcher to judge.
const LOGICAL_DEPTH_MAX: usize = 100;

fn collect_names(doc: &Document, names: &mut BTreeSet<String>, depth: usize) {
    if depth > LOGICAL_DEPTH_MAX {
        return;
    }
    for (key, value) in doc {
        match key.as_str() {
            "$and" | "$or" | "$nor" => {
                if let Bson::Array(clauses) = value {
                    for clause in clauses {
                        if let Bson::Document(d) = clause {
                            collect_names(d, names, depth + 1);
                        }
                    }
                }
            }
            k if k.starts_with('$') => {}
            k => {
                let first = k.split('.').next().unwrap_or(k);
                names.insert(first.to_string());
            }
        }
    }
}
