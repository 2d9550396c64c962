//! Find projections: which fields of a matched document `find` returns.
//!
//! [`Projection::parse`] reads a projection document once into a tree keyed
//! by path component, with mongod's validation (no mixing of inclusion and
//! exclusion except for `_id`, no path collisions, well-formed `$slice`,
//! `$elemMatch` and positional `field.$`). [`Projection::apply`] builds the
//! returned document:
//! - inclusion keeps the listed fields in document order (dotted paths reach
//!   through embedded documents and arrays of them, dropping scalars met in
//!   arrays), plus `_id` unless it is excluded;
//! - exclusion keeps everything but the listed fields;
//! - `$slice` trims an array in place; `$elemMatch` keeps the first matching
//!   element (appended after included fields, as in mongod 4.4+); `field.$`
//!   keeps the element the query matched ([`Match::array_index`]);
//! - literal values (strings not starting with `$`, `null`, dates, ...,
//!   `{$literal: v}`) set computed fields in inclusion projections.
//!
//! A positional projection must name a field the query filters on; parsing
//! cannot know the query, so callers run [`Projection::check_query`].
//!
//! Not here: aggregation expressions other than literals (`"$path"`,
//! `{$add: ...}`, `$meta`), which are refused with NotImplemented until the
//! expression language is wired in.

mod apply;
mod parse;

#[cfg(test)]
mod tests;

use bson::{Bson, Document};

use crate::matcher::{ElemMatch, Filter, Match};
use crate::{Error, Result};

pub use parse::PROJECTION_DEPTH_MAX;

/// A parsed find projection.
///
/// ```
/// use bson::doc;
/// use mql::projection::Projection;
///
/// let projection = Projection::parse(&doc! {"item": 1, "instock.qty": 1})?;
/// let doc = doc! {"_id": 1, "item": "journal", "status": "A", "instock": [{"warehouse": "A", "qty": 5}]};
/// let projected = projection.apply(&doc, None)?;
/// assert_eq!(projected, doc! {"_id": 1, "item": "journal", "instock": [{"qty": 5}]});
/// # Ok::<(), mql::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Projection {
    mode: Mode,
    root: Tree,
    positional: Option<Positional>,
}

/// A positional part (`grades.$`): its key as written, and the path before
/// the `$`.
#[derive(Debug, Clone)]
struct Positional {
    key: String,
    parts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Inclusion,
    Exclusion,
}

/// The projection below one path prefix, children in specification order.
#[derive(Debug, Clone, Default)]
struct Tree {
    children: Vec<(String, Node)>,
}

#[derive(Debug, Clone)]
enum Node {
    Include,
    Exclude,
    Slice(Slice),
    ElemMatch(ElemMatch),
    /// Marks the positional path for collision checks; applied separately.
    Positional,
    Literal(Bson),
    Tree(Tree),
}

/// `$slice: n` (`skip` is `None`) or `$slice: [skip, limit]`.
#[derive(Debug, Clone, Copy)]
struct Slice {
    skip: Option<i64>,
    limit: i64,
}

impl Tree {
    fn get(&self, name: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, node)| node)
    }
}

impl Projection {
    /// Parses a find projection, with mongod's errors for malformed ones.
    pub fn parse(spec: &Document) -> Result<Projection> {
        parse::projection(spec)
    }

    /// Projects a document that matched the query. `matched` is what the
    /// query's match reported; a positional projection needs it.
    pub fn apply(&self, doc: &Document, matched: Option<&Match>) -> Result<Document> {
        let mut out = match self.mode {
            Mode::Inclusion => apply::include(doc, &self.root),
            Mode::Exclusion => apply::exclude(doc, &self.root),
        };
        if let Some(positional) = &self.positional {
            apply::positional(doc, &positional.parts, matched, &mut out)?;
        }
        Ok(out)
    }

    /// Checks, as mongod does once it knows the query, that a positional
    /// projection's field is one the query filters on (error 31277).
    pub fn check_query(&self, query: &Filter) -> Result<()> {
        let Some(positional) = &self.positional else {
            return Ok(());
        };
        let field = positional.parts.first().map_or("", String::as_str);
        if query.filters_on_field(field) {
            return Ok(());
        }
        Err(Error::location(
            31277,
            format!(
                "Positional projection '{}' does not match the query document.",
                positional.key
            ),
        ))
    }
}
