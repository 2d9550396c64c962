//! Sort specifications (`{a: 1, b: -1}`) and mongod's sort keys.
//!
//! A document's key for a path is the value there; when the path runs
//! through arrays, every reachable element is a candidate and an ascending
//! sort uses the smallest, a descending sort the largest. Missing sorts as
//! null, an empty array below null (as `undefined`). Keys are compared with
//! [`order::compare`]. The sort is stable, so ties keep input order.

use std::cmp::Ordering;

use bson::{Bson, Document};

use crate::{Error, Result, order};

/// A parsed `$sort` specification.
#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    keys: Vec<(Vec<String>, bool)>,
}

impl SortSpec {
    /// Parses `{path: 1 | -1, ...}`.
    pub fn parse(spec: &Document) -> Result<SortSpec> {
        if spec.is_empty() {
            return Err(Error::location(
                15976,
                "$sort stage must have at least one sort key",
            ));
        }
        let mut keys = Vec::with_capacity(spec.len());
        for (path, direction) in spec {
            let descending = match direction {
                Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
                    if order::equal(direction, &Bson::Int32(1)) {
                        false
                    } else if order::equal(direction, &Bson::Int32(-1)) {
                        true
                    } else {
                        return Err(bad_direction());
                    }
                }
                Bson::Document(meta) if meta.contains_key("$meta") => {
                    return Err(Error::location(
                        17312,
                        "$meta is the only expression supported by $sort right now",
                    ));
                }
                _ => return Err(bad_direction()),
            };
            let parts = crate::expr::field_path_parts(path)?;
            keys.push((parts, descending));
        }
        Ok(SortSpec { keys })
    }

    /// Compares two documents by this specification.
    pub fn compare(&self, a: &Document, b: &Document) -> Ordering {
        for (path, descending) in &self.keys {
            let ka = sort_key(a, path, *descending);
            let kb = sort_key(b, path, *descending);
            let ord = order::compare(&ka, &kb);
            let ord = if *descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }

    /// The first `n` documents in sorted order; ties keep input order, so
    /// this equals a stable sort truncated to `n`.
    pub fn top(&self, docs: Vec<Document>, n: usize) -> Vec<Document> {
        if n >= docs.len() {
            let mut docs = docs;
            self.sort(&mut docs);
            return docs;
        }
        if n == 0 {
            return Vec::new();
        }
        let mut keyed: Vec<(usize, Document)> = docs.into_iter().enumerate().collect();
        let by_key = |a: &(usize, Document), b: &(usize, Document)| {
            self.compare(&a.1, &b.1).then(a.0.cmp(&b.0))
        };
        keyed.select_nth_unstable_by(n - 1, by_key);
        keyed.truncate(n);
        keyed.sort_by(by_key);
        keyed.into_iter().map(|(_, doc)| doc).collect()
    }

    /// Sorts documents in place (stable).
    pub fn sort(&self, docs: &mut [Document]) {
        if self.keys.len() == 1 {
            // Precompute keys once per document for the common single-key case.
            let Some((path, descending)) = self.keys.first() else {
                return;
            };
            let mut keyed: Vec<(Bson, usize)> = docs
                .iter()
                .enumerate()
                .map(|(i, d)| (sort_key(d, path, *descending), i))
                .collect();
            keyed.sort_by(|(x, _), (y, _)| {
                let ord = order::compare(x, y);
                if *descending { ord.reverse() } else { ord }
            });
            let mut slots: Vec<Option<Document>> =
                docs.iter_mut().map(|d| Some(std::mem::take(d))).collect();
            for (target, (_, source)) in keyed.into_iter().enumerate() {
                if let (Some(slot), Some(doc)) = (
                    docs.get_mut(target),
                    slots.get_mut(source).and_then(Option::take),
                ) {
                    *slot = doc;
                }
            }
            return;
        }
        docs.sort_by(|a, b| self.compare(a, b));
    }
}

fn bad_direction() -> Error {
    Error::location(
        15975,
        "$sort key ordering must be 1 (for ascending) or -1 (for descending)",
    )
}

/// The key a document sorts by on `path` in the given direction.
pub fn sort_key(doc: &Document, path: &[String], descending: bool) -> Bson {
    let mut candidates = Vec::new();
    match path.split_first() {
        Some((first, rest)) => collect(doc.get(first), rest, &mut candidates),
        None => candidates.push(Bson::Null),
    }
    let pick = if descending {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    candidates
        .into_iter()
        .reduce(|best, next| {
            if order::compare(&next, &best) == pick {
                next
            } else {
                best
            }
        })
        .unwrap_or(Bson::Null)
}

fn collect(value: Option<&Bson>, path: &[String], out: &mut Vec<Bson>) {
    let Some((first, rest)) = path.split_first() else {
        match value {
            Some(Bson::Array(items)) if items.is_empty() => out.push(Bson::Undefined),
            Some(Bson::Array(items)) => out.extend(items.iter().cloned()),
            Some(v) => out.push(v.clone()),
            None => out.push(Bson::Null),
        }
        return;
    };
    match value {
        Some(Bson::Document(doc)) => collect(doc.get(first), rest, out),
        Some(Bson::Array(items)) => {
            let before = out.len();
            for item in items {
                // Elements that are not documents have no such field.
                if let Bson::Document(doc) = item {
                    collect(doc.get(first), rest, out);
                }
            }
            if out.len() == before {
                out.push(Bson::Null);
            }
        }
        _ => out.push(Bson::Null),
    }
}
