//! `$group`: partition documents by an `_id` expression and accumulate.
//!
//! Groups are found by MongoDB equality of their keys (so `1`, `1.0` and
//! `NumberLong(1)` share a group) through an ordered map over
//! [`order::compare`], or under the pipeline's collation (where "PING" and
//! "ping" may share a group, keyed by the first seen); output is in order
//! of each group's first document.
//! The memory held by keys and accumulator states is tracked against the
//! stage's limit.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use bson::{Bson, Document};

use super::accumulator::{Accumulator, State};
use super::memory_exceeded;
use crate::collation::Collation;
use crate::expr::{Expr, approx_size};
use crate::{Error, Result, order};

/// A parsed `$group` stage.
#[derive(Debug, Clone)]
pub struct Group {
    id: Expr,
    accumulators: Vec<Accumulator>,
}

/// A group key ordered by MongoDB's value order under the run's collation
/// (every key of one map carries the same one).
struct Key<'c>(Bson, Option<&'c Collation>);

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Key<'_>) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key<'_> {}

impl PartialOrd for Key<'_> {
    fn partial_cmp(&self, other: &Key<'_>) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key<'_> {
    fn cmp(&self, other: &Key<'_>) -> Ordering {
        order::compare_collated(&self.0, &other.0, self.1)
    }
}

impl Group {
    pub fn parse(spec: &Bson) -> Result<Group> {
        let Bson::Document(spec) = spec else {
            return Err(Error::location(
                15947,
                "a group's fields must be specified in an object",
            ));
        };
        let mut id = None;
        let mut accumulators = Vec::new();
        for (field, value) in spec {
            if field == "_id" {
                id = Some(Expr::parse(value)?);
            } else {
                accumulators.push(Accumulator::parse(field, value)?);
            }
        }
        let id =
            id.ok_or_else(|| Error::location(15955, "a group specification must include an _id"))?;
        Ok(Group { id, accumulators })
    }

    pub fn run(
        &self,
        input: Vec<Document>,
        memory_bytes_max: usize,
        vars: &[(String, Bson)],
        collation: Option<&Collation>,
    ) -> Result<Vec<Document>> {
        let mut index: BTreeMap<Key<'_>, usize> = BTreeMap::new();
        let mut groups: Vec<(Bson, Vec<State>)> = Vec::new();
        let mut bytes = 0usize;
        for doc in &input {
            let key = self.id.eval_with(doc, vars)?.unwrap_or(Bson::Null);
            let slot = match index.get(&Key(key.clone(), collation)) {
                Some(&slot) => slot,
                None => {
                    bytes += approx_size(&key) * 2;
                    let states = self.accumulators.iter().map(Accumulator::start).collect();
                    groups.push((key.clone(), states));
                    index.insert(Key(key, collation), groups.len() - 1);
                    groups.len() - 1
                }
            };
            let Some((_, states)) = groups.get_mut(slot) else {
                continue;
            };
            for (acc, state) in self.accumulators.iter().zip(states.iter_mut()) {
                let value = acc.arg.eval_with(doc, vars)?;
                bytes += state.feed(acc.kind, value)?;
            }
            if bytes > memory_bytes_max {
                return Err(memory_exceeded(
                    "Exceeded memory limit for $group, but didn't allow external sort. Pass allowDiskUse:true to opt in.",
                ));
            }
        }
        Ok(groups
            .into_iter()
            .map(|(key, states)| {
                let mut out = Document::new();
                out.insert("_id", key);
                for (acc, state) in self.accumulators.iter().zip(states) {
                    out.insert(acc.field.clone(), state.finish(acc.kind));
                }
                out
            })
            .collect())
    }
}
