//! Applying a parsed projection to one document.
//!
//! Inclusion walks the document in its own field order and keeps what the
//! tree names; computed parts (`$elemMatch`, literals) follow, in
//! specification order, replacing a field already produced or appended
//! after. Exclusion copies everything the tree does not exclude, trimming
//! `$slice`d arrays and narrowing `$elemMatch` fields in place.
//!
//! Recursion follows the document and the tree together, so it is bounded by
//! [`PROJECTION_DEPTH_MAX`](super::PROJECTION_DEPTH_MAX).

use bson::{Bson, Document};

use super::{Node, Slice, Tree};
use crate::matcher::Match;
use crate::{Error, Result};

pub(super) fn include(doc: &Document, tree: &Tree) -> Document {
    let mut out = Document::new();
    for (name, value) in doc {
        match tree.get(name) {
            Some(Node::Include) => {
                out.insert(name.clone(), value.clone());
            }
            Some(Node::Slice(slice)) => {
                out.insert(name.clone(), slice.apply(value));
            }
            Some(Node::Tree(sub)) => {
                if let Some(projected) = include_value(value, sub) {
                    out.insert(name.clone(), projected);
                }
            }
            _ => {}
        }
    }
    add_computed(doc, tree, &mut out);
    out
}

/// A nested inclusion over one value: documents are projected, arrays are
/// projected element-wise (dropping scalars), other values vanish.
fn include_value(value: &Bson, tree: &Tree) -> Option<Bson> {
    match value {
        Bson::Document(doc) => Some(Bson::Document(include(doc, tree))),
        Bson::Array(items) => Some(Bson::Array(
            items
                .iter()
                .filter_map(|item| include_value(item, tree))
                .collect(),
        )),
        _ => None,
    }
}

fn add_computed(doc: &Document, tree: &Tree, out: &mut Document) {
    for (name, node) in &tree.children {
        match node {
            Node::Literal(value) => {
                out.insert(name.clone(), value.clone());
            }
            Node::ElemMatch(matcher) => {
                if let Some(element) = doc.get(name).and_then(|value| first_match(matcher, value)) {
                    out.insert(name.clone(), element);
                }
            }
            Node::Tree(sub) if doc.get(name).is_none() && sub.has_literal() => {
                out.insert(name.clone(), include(&Document::new(), sub));
            }
            _ => {}
        }
    }
}

fn first_match(matcher: &crate::matcher::ElemMatch, value: &Bson) -> Option<Bson> {
    let Bson::Array(items) = value else {
        return None;
    };
    let position = matcher.first_match(value)?;
    items
        .get(position)
        .map(|item| Bson::Array(vec![item.clone()]))
}

pub(super) fn exclude(doc: &Document, tree: &Tree) -> Document {
    let mut out = Document::new();
    for (name, value) in doc {
        match tree.get(name) {
            Some(Node::Exclude) => {}
            Some(Node::Slice(slice)) => {
                out.insert(name.clone(), slice.apply(value));
            }
            Some(Node::Tree(sub)) => {
                out.insert(name.clone(), exclude_value(value, sub));
            }
            Some(Node::ElemMatch(matcher)) => {
                if let Some(element) = first_match(matcher, value) {
                    out.insert(name.clone(), element);
                }
            }
            _ => {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    out
}

fn exclude_value(value: &Bson, tree: &Tree) -> Bson {
    match value {
        Bson::Document(doc) => Bson::Document(exclude(doc, tree)),
        Bson::Array(items) => {
            Bson::Array(items.iter().map(|item| exclude_value(item, tree)).collect())
        }
        other => other.clone(),
    }
}

/// Sets `path` (up to its first array) to the element the query matched.
pub(super) fn positional(
    doc: &Document,
    path: &[String],
    matched: Option<&Match>,
    out: &mut Document,
) -> Result<()> {
    let mut current = doc;
    for (depth, part) in path.iter().enumerate() {
        match current.get(part) {
            Some(Bson::Array(items)) => {
                let position = matched.and_then(|m| m.array_index).ok_or_else(|| {
                    Error::location(
                        51246,
                        "Executor error during find command :: caused by :: positional operator '.$' couldn't find a matching element in the array",
                    )
                })?;
                let element = items.get(position).ok_or_else(|| {
                    Error::location(
                        51247,
                        "Executor error during find command :: caused by :: positional operator '.$' element mismatch",
                    )
                })?;
                set_nested(out, &path[..=depth], Bson::Array(vec![element.clone()]));
                return Ok(());
            }
            Some(Bson::Document(inner)) => current = inner,
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// Sets a dotted path in `out`, creating (or replacing non-document)
/// intermediate fields.
fn set_nested(out: &mut Document, path: &[String], value: Bson) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        out.insert(first.clone(), value);
        return;
    }
    if !matches!(out.get(first), Some(Bson::Document(_))) {
        out.insert(first.clone(), Document::new());
    }
    if let Some(Bson::Document(inner)) = out.get_mut(first) {
        set_nested(inner, rest, value);
    }
}

impl Slice {
    /// Trims an array; other values pass through unchanged.
    fn apply(&self, value: &Bson) -> Bson {
        let Bson::Array(items) = value else {
            return value.clone();
        };
        let len = items.len() as i64;
        let (start, count) = match self.skip {
            None if self.limit >= 0 => (0, self.limit),
            None => ((len + self.limit).max(0), len),
            Some(skip) if skip >= 0 => (skip, self.limit),
            Some(skip) => ((len + skip).max(0), self.limit),
        };
        let start = usize::try_from(start.min(len)).unwrap_or(0);
        let count = usize::try_from(count.max(0)).unwrap_or(0);
        Bson::Array(items.iter().skip(start).take(count).cloned().collect())
    }
}

impl Tree {
    fn has_literal(&self) -> bool {
        self.children.iter().any(|(_, node)| match node {
            Node::Literal(_) => true,
            Node::Tree(sub) => sub.has_literal(),
            _ => false,
        })
    }
}
