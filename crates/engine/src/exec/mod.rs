//! Query execution: choose an access path, fetch the visible documents, and
//! keep those the filter matches.
//!
//! Invariant: whatever the plan, the full filter is re-checked on every
//! fetched document at the reader's view, so an index only ever narrows the
//! candidates (indexes hold a superset of what a reader may see).

mod plan;

use std::collections::HashSet;
use std::sync::Arc;

use bson::Document;
use mql::matcher::{Filter, Match};

use crate::Engine;
use crate::storage::collection::Collection;
use crate::storage::key::Key;
use crate::storage::record::{Doc, View};
pub use plan::{Access, Plan, plan, plan_described};

/// One matching document.
pub struct Hit {
    pub key: Key,
    pub doc: Doc,
    pub matched: Match,
}

/// The work one [`find`] did, as `explain`'s `executionStats` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Examined {
    pub docs: u64,
    pub keys: u64,
}

/// Finds documents of `coll` visible at `view` that match `filter`,
/// stopping after `stop_after` hits if given.
pub fn find(
    engine: &Engine,
    view: &View,
    coll: &Arc<Collection>,
    filter_doc: &Document,
    filter: &Filter,
    stop_after: Option<usize>,
) -> Vec<Hit> {
    let collated = filter.collation().is_some();
    run(
        engine,
        view,
        coll,
        plan(coll, filter_doc, collated),
        filter,
        stop_after,
    )
    .0
}

/// [`find`] for `explain`: also says which access path the planner chose
/// and how much it examined.
pub fn find_explained(
    engine: &Engine,
    view: &View,
    coll: &Arc<Collection>,
    filter_doc: &Document,
    filter: &Filter,
    stop_after: Option<usize>,
) -> (Vec<Hit>, Access, Examined) {
    let collated = filter.collation().is_some();
    let (chosen, access) = plan_described(coll, filter_doc, collated);
    let (hits, examined) = run(engine, view, coll, chosen, filter, stop_after);
    (hits, access, examined)
}

fn run(
    engine: &Engine,
    view: &View,
    coll: &Arc<Collection>,
    chosen: Plan,
    filter: &Filter,
    stop_after: Option<usize>,
) -> (Vec<Hit>, Examined) {
    let mut hits = Vec::new();
    let mut examined = 0u64;
    let mut keys_examined = 0u64;
    let mut consider = |key: Key, doc: Doc, hits: &mut Vec<Hit>| {
        examined += 1;
        if let Some(matched) = filter.matches_at(&doc) {
            hits.push(Hit { key, doc, matched });
        }
        stop_after.is_some_and(|n| hits.len() >= n)
    };
    match chosen {
        Plan::Ids(ids) => {
            // One id (a point lookup) needs no deduplication.
            let mut seen = (ids.len() > 1).then(HashSet::new);
            for id in ids {
                keys_examined += 1;
                let Some(record) = coll.record(&id) else {
                    continue;
                };
                if let Some(seen) = &mut seen
                    && !seen.insert(Arc::as_ptr(&record) as usize)
                {
                    continue;
                }
                if let Some(doc) = record.read(view)
                    && consider(id, doc, &mut hits)
                {
                    break;
                }
            }
        }
        Plan::CollectionScan => {
            for (key, record) in coll.records_from(None) {
                if let Some(doc) = record.read(view)
                    && consider(key, doc, &mut hits)
                {
                    break;
                }
            }
        }
    }
    engine.count_examined(examined, keys_examined);
    let examined = Examined {
        docs: examined,
        keys: keys_examined,
    };
    (hits, examined)
}
