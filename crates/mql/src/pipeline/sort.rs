//! Sort specifications (`{a: 1, b: -1}`) and mongod's sort keys.
//!
//! A document's key for a path is the value there; when the path runs
//! through arrays, every reachable element is a candidate and an ascending
//! sort uses the smallest, a descending sort the largest. Missing sorts as
//! null, an empty array below null (as `undefined`). Keys are compared with
//! [`order::compare`], or under the spec's collation
//! ([`SortSpec::with_collation`]) when it has one. The sort is stable, so
//! ties keep input order.

use std::cmp::Ordering;
use std::sync::Arc;

use bson::{Bson, Document};

use crate::collation::Collation;
use crate::{Error, Result, order};

/// A parsed `$sort` specification.
#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    keys: Vec<(Vec<String>, bool)>,
    /// The collation string keys compare under; `None` is the binary order.
    collation: Option<Arc<Collation>>,
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
        Ok(SortSpec {
            keys,
            collation: None,
        })
    }

    /// The same specification comparing string keys under `collation`.
    pub fn with_collation(mut self, collation: Option<Arc<Collation>>) -> SortSpec {
        self.collation = collation;
        self
    }

    /// Compares two documents by this specification.
    pub fn compare(&self, a: &Document, b: &Document) -> Ordering {
        self.compare_keys(&self.keys_of(a), &self.keys_of(b))
    }

    /// The document's key for every sort path, computed once per document.
    fn keys_of(&self, doc: &Document) -> Vec<Bson> {
        self.keys
            .iter()
            .map(|(path, descending)| {
                sort_key_collated(doc, path, *descending, self.collation.as_deref())
            })
            .collect()
    }

    fn compare_keys(&self, a: &[Bson], b: &[Bson]) -> Ordering {
        for ((x, y), (_, descending)) in a.iter().zip(b).zip(&self.keys) {
            let ord = order::compare_collated(x, y, self.collation.as_deref());
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
        if n == 0 {
            return Vec::new();
        }
        let mut keyed: Vec<(Vec<Bson>, usize, Document)> = docs
            .into_iter()
            .enumerate()
            .map(|(i, doc)| (self.keys_of(&doc), i, doc))
            .collect();
        let by_key = |a: &(Vec<Bson>, usize, Document), b: &(Vec<Bson>, usize, Document)| {
            self.compare_keys(&a.0, &b.0).then(a.1.cmp(&b.1))
        };
        if n < keyed.len() {
            keyed.select_nth_unstable_by(n - 1, by_key);
            keyed.truncate(n);
        }
        keyed.sort_by(by_key);
        keyed.into_iter().map(|(_, _, doc)| doc).collect()
    }

    /// Sorts documents (stable).
    pub fn sort(&self, docs: &mut Vec<Document>) {
        let all = std::mem::take(docs);
        *docs = self.top(all, usize::MAX);
    }

    /// Sorts any items by the document each holds (query results that
    /// carry more than the document), stably, computing each key once.
    pub fn sort_by_document<T>(&self, items: &mut Vec<T>, doc_of: impl Fn(&T) -> &Document) {
        let mut keyed: Vec<(Vec<Bson>, T)> = items
            .drain(..)
            .map(|item| (self.keys_of(doc_of(&item)), item))
            .collect();
        keyed.sort_by(|a, b| self.compare_keys(&a.0, &b.0));
        items.extend(keyed.into_iter().map(|(_, item)| item));
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
    sort_key_collated(doc, path, descending, None)
}

fn sort_key_collated(
    doc: &Document,
    path: &[String],
    descending: bool,
    collation: Option<&Collation>,
) -> Bson {
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
            if order::compare_collated(&next, &best, collation) == pick {
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
