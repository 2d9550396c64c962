//! Query filters: parse a filter document once, then test documents against it.
//!
//! FIXME(matcher): this first cut matches top-level equality only; the full
//! operator set replaces it.

use bson::{Bson, Document};

use crate::{Error, Result, order};

/// A parsed query filter.
#[derive(Debug, Clone)]
pub struct Filter {
    equalities: Vec<(String, Bson)>,
}

/// What a successful match learned, for the positional `$` operator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Match {
    /// The index of the array element that satisfied the filter along the
    /// path that runs through an array, if any.
    pub array_index: Option<usize>,
}

impl Filter {
    pub fn parse(filter: &Document) -> Result<Filter> {
        let mut equalities = Vec::new();
        for (key, value) in filter {
            if key.starts_with('$') {
                return Err(Error::bad_value(format!(
                    "unknown top level operator: {key}"
                )));
            }
            equalities.push((key.clone(), value.clone()));
        }
        Ok(Filter { equalities })
    }

    /// Parses a condition on a single value, as `$elemMatch` and `$pull` take
    /// it: a document of operators (`{$gte: 5}`) tests the value itself; any
    /// other document is a filter over an embedded document; anything else is
    /// an equality.
    pub fn parse_element(condition: &Bson) -> Result<Filter> {
        Ok(Filter {
            equalities: vec![(String::new(), condition.clone())],
        })
    }

    /// Tests a single value against a filter from [`Filter::parse_element`].
    pub fn matches_element(&self, value: &Bson) -> bool {
        self.equalities
            .iter()
            .all(|(_, expected)| order::equal(value, expected))
    }

    pub fn matches(&self, doc: &Document) -> bool {
        self.matches_at(doc).is_some()
    }

    pub fn matches_at(&self, doc: &Document) -> Option<Match> {
        let all = self.equalities.iter().all(|(key, expected)| {
            let actual = doc.get(key).unwrap_or(&Bson::Null);
            order::equal(actual, expected)
        });
        all.then(Match::default)
    }
}
