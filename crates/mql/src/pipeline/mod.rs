//! Aggregation pipelines: parse a list of stages once, then run it over a
//! sequence of documents.
//!
//! Stages run one after another over materialised document vectors; the
//! stages that hold data ($group, $sort) account their memory against
//! [`RunOptions::stage_memory_bytes`] and fail with
//! QueryExceededMemoryLimitNoDiskUseAllowed (292) past it. Other collections
//! (for `$lookup`) are reached only through the [`Collections`] trait, so
//! this module stays pure.
//!
//! Not here: `$out`/`$merge` (writes belong to the engine), `$geoNear`,
//! `$search`, `$redact`, `$setWindowFields`, `$densify`/`$fill`, and change
//! streams.

mod accumulator;
mod graph;
mod group;
mod lookup;
mod project;
mod sample;
mod sort;
mod stage;
mod sugar;
mod union;
mod unwind;

pub use accumulator::{Accumulator, Kind as AccumulatorKind};
pub use graph::GraphLookup;
pub use group::Group;
pub use lookup::Lookup;
pub use project::Projection;
pub use sample::Sample;
pub use sort::{SortSpec, sort_key};
pub use stage::{Pipeline, Stage};
pub use union::UnionWith;
pub use unwind::Unwind;

use std::sync::Arc;

use bson::Document;

use crate::collation::Collation;
use crate::{Code, Error, Result};

/// mongod's per-stage memory limit without `allowDiskUse` (100 MiB).
pub const STAGE_MEMORY_BYTES_MAX: usize = 100 * 1024 * 1024;

/// With `allowDiskUse` mongod would spill to disk; this crate holds
/// everything in memory, so it allows more but still stops at 1 GiB.
pub const DISK_USE_MEMORY_BYTES_MAX: usize = 1024 * 1024 * 1024;

/// Most stages one pipeline may have (mongod's default
/// `internalPipelineLengthLimit`).
pub const STAGES_MAX: usize = 1000;

/// Deepest nesting of pipelines inside `$lookup`/`$facet` (mongod allows 20).
pub const PIPELINE_DEPTH_MAX: usize = 20;

const _: () = assert!(STAGE_MEMORY_BYTES_MAX <= DISK_USE_MEMORY_BYTES_MAX);

/// The collections a pipeline may read besides its input (`$lookup`'s `from`).
pub trait Collections {
    /// Every document of `collection`, or none if it does not exist.
    fn scan(&self, collection: &str) -> Result<Vec<Document>>;
}

/// What a run may use: other collections and a memory budget per stage.
pub struct RunOptions<'a> {
    pub collections: &'a dyn Collections,
    pub stage_memory_bytes: usize,
    /// Seed for `$sample`'s choices; the caller supplies the randomness so
    /// this crate stays deterministic (tests fix it, servers vary it).
    pub random_seed: u64,
    /// System variables the caller supplies: `NOW` (a date) and
    /// `CLUSTER_TIME` (a timestamp); expressions see them as `$$NOW` and
    /// `$$CLUSTER_TIME`, and as missing when absent.
    pub variables: Vec<(String, bson::Bson)>,
    /// The command's collation: `$match`, `$sort` and `$group` keys compare
    /// strings under it. `None` is the binary order. Expressions,
    /// `$lookup`'s joins and accumulators stay binary.
    pub collation: Option<Arc<Collation>>,
}

impl<'a> RunOptions<'a> {
    /// Options with mongod's default memory limit.
    pub fn new(collections: &'a dyn Collections) -> RunOptions<'a> {
        RunOptions {
            collections,
            stage_memory_bytes: STAGE_MEMORY_BYTES_MAX,
            random_seed: 0,
            variables: Vec::new(),
            collation: None,
        }
    }

    /// Options for a request that passed `allowDiskUse: true`.
    pub fn allowing_disk_use(collections: &'a dyn Collections) -> RunOptions<'a> {
        RunOptions {
            collections,
            stage_memory_bytes: DISK_USE_MEMORY_BYTES_MAX,
            random_seed: 0,
            variables: Vec::new(),
            collation: None,
        }
    }
}

fn memory_exceeded(message: &str) -> Error {
    Error::new(Code(292), message)
}

#[cfg(test)]
mod tests;
