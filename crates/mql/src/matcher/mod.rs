//! Query filters: parse a filter document once, then test documents against it.
//!
//! [`Filter::parse`] turns a filter (`find`'s `filter`, `$match`, an update's
//! query) into a compact tree with every path split into parts;
//! [`Filter::matches`] walks that tree over a document without allocating on
//! the common paths (equality, ranges, `$in`, `$exists` over plain or dotted
//! fields). Semantics follow mongod: implicit traversal of arrays along a
//! path, type bracketing of comparisons, `null` matching missing fields,
//! negations over all candidates.
//!
//! [`Filter::parse_element`] parses a condition on a single value, as
//! `$elemMatch` and the update operator `$pull` take it.
//!
//! A filter may carry a collation ([`Filter::with_collation`]): string
//! comparisons (`$eq`, ranges, `$in`, equality to arrays and documents) then
//! use it; regexes, `$type`, `$exists` and field names never do. Without one,
//! matching takes the binary path and pays nothing for the option.
//!
//! `$expr` evaluates an aggregation expression ([`crate::expr`]), whose
//! string comparisons stay binary even under a collation. `$jsonSchema`
//! checks the document against a JSON Schema ([`schema`]). Not here:
//! `$where`, `$text` and geospatial operators; they are refused as unknown
//! operators.

mod bits;
mod operand;
mod parse;
mod pred;
mod regex;
mod schema;
mod tree;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use bson::{Bson, Document};

use crate::collation::Collation;
use crate::{Result, order};
use pred::{Op, Pred};
use tree::Node;

pub use parse::FILTER_DEPTH_MAX;
pub(crate) use pred::type_name;

/// A parsed query filter.
///
/// ```
/// use bson::doc;
/// use mql::matcher::Filter;
///
/// let filter = Filter::parse(&doc! {"tags": "red", "qty": {"$gt": 5}})?;
/// assert!(filter.matches(&doc! {"tags": ["blank", "red"], "qty": 8}));
/// assert!(!filter.matches(&doc! {"tags": "red", "qty": "8"}));
///
/// // The positional `$` refers to the element that matched.
/// let grades = Filter::parse(&doc! {"grades": {"$gte": 85}})?;
/// let matched = grades.matches_at(&doc! {"grades": [80, 85, 90]});
/// assert_eq!(matched.and_then(|m| m.array_index), Some(1));
/// # Ok::<(), mql::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Filter {
    root: Root,
    /// The collation string comparisons use; `None` is the binary order.
    collation: Option<Arc<Collation>>,
}

#[derive(Debug, Clone)]
enum Root {
    /// A filter over a document.
    Document(Node),
    /// Operators applied to a value itself (`{$gte: 5}`).
    Value(Vec<Op>),
    /// Equality with a literal value.
    Equal(Bson),
}

/// What a successful match learned, for the positional `$` operator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Match {
    /// The index of the array element that satisfied the filter along the
    /// path that runs through an array, if any.
    pub array_index: Option<usize>,
}

impl Filter {
    /// Parses a filter document, with mongod's errors for malformed ones.
    pub fn parse(filter: &Document) -> Result<Filter> {
        Ok(Filter {
            root: Root::Document(parse::document(filter, 0)?),
            collation: None,
        })
    }

    /// The same filter comparing strings under `collation` (`None`: binary).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use bson::doc;
    /// use mql::collation::Collation;
    /// use mql::matcher::Filter;
    ///
    /// let ci = Collation::parse(&doc! {"locale": "en", "strength": 2})?.map(Arc::new);
    /// let filter = Filter::parse(&doc! {"x": "PING"})?;
    /// assert!(!filter.matches(&doc! {"x": "ping"}));
    /// assert!(filter.with_collation(ci).matches(&doc! {"x": "ping"}));
    /// # Ok::<(), mql::Error>(())
    /// ```
    pub fn with_collation(mut self, collation: Option<Arc<Collation>>) -> Filter {
        self.collation = collation;
        self
    }

    /// The collation this filter compares strings under, if any.
    pub fn collation(&self) -> Option<&Arc<Collation>> {
        self.collation.as_ref()
    }

    /// Parses a condition on a single value, as `$elemMatch` and `$pull` take
    /// it: a document of operators (`{$gte: 5}`) tests the value itself; any
    /// other document is a filter over an embedded document; anything else is
    /// an equality.
    pub fn parse_element(condition: &Bson) -> Result<Filter> {
        let root = match condition {
            Bson::Document(doc) if parse::is_value_condition(doc) => {
                Root::Value(parse::value_operators(doc, 1)?)
            }
            Bson::Document(doc) => Root::Document(parse::document(doc, 1)?),
            other => Root::Equal(other.clone()),
        };
        Ok(Filter {
            root,
            collation: None,
        })
    }

    /// Tests a single value. A filter over documents matches only documents.
    pub fn matches_element(&self, value: &Bson) -> bool {
        let coll = self.collation.as_deref();
        match &self.root {
            Root::Document(node) => match value {
                Bson::Document(doc) => node.matches(doc, &mut None, coll),
                _ => false,
            },
            Root::Value(ops) => pred::all_hold(ops, value, coll),
            Root::Equal(expected) => order::equal_collated(expected, value, coll),
        }
    }

    /// Whether some condition of the filter is on a path whose first part is
    /// `field` (looking through logical operators), as mongod requires of a
    /// positional projection's field.
    pub fn filters_on_field(&self, field: &str) -> bool {
        match &self.root {
            Root::Document(node) => node.filters_on_field(field),
            _ => false,
        }
    }

    /// Tests a document.
    pub fn matches(&self, doc: &Document) -> bool {
        self.matches_at(doc).is_some()
    }

    /// Tests a document under a collation given at match time instead of
    /// the filter's own (a pipeline's `$match` under the command's).
    pub fn matches_collated(&self, doc: &Document, collation: Option<&Collation>) -> bool {
        match &self.root {
            Root::Document(node) => node.matches(doc, &mut None, collation),
            _ => self.matches(doc),
        }
    }

    /// Tests a document; on a match, also reports the array position the
    /// positional `$` operator refers to.
    pub fn matches_at(&self, doc: &Document) -> Option<Match> {
        match &self.root {
            Root::Document(node) => {
                let mut array_index = None;
                node.matches(doc, &mut array_index, self.collation.as_deref())
                    .then_some(Match { array_index })
            }
            // An element condition over a whole document: rare, so the copy
            // into a value is acceptable.
            _ => self
                .matches_element(&Bson::Document(doc.clone()))
                .then(Match::default),
        }
    }
}

/// An `$elemMatch` condition on its own, as a find projection uses it to pick
/// the first matching element of an array.
#[derive(Debug, Clone)]
pub(crate) struct ElemMatch {
    pred: Pred,
}

impl ElemMatch {
    /// Parses the argument of `$elemMatch` (which must be a document).
    pub(crate) fn parse(condition: &Bson) -> Result<ElemMatch> {
        Ok(ElemMatch {
            pred: parse::elem_match(condition, 1)?,
        })
    }

    /// The position of the first element of `value` that matches, if `value`
    /// is an array and one does.
    pub(crate) fn first_match(&self, value: &Bson) -> Option<usize> {
        let mut position = None;
        self.pred
            .test(Some(value), &mut position, None)
            .then_some(position)
            .flatten()
    }
}
