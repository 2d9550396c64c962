//! MongoDB's document language (MQL) evaluated over in-memory BSON documents.
//!
//! This crate is pure: no I/O, no clocks, no threads, no storage. Everything
//! here is a function of its arguments, which is what lets the engine call it
//! under its own locks and lets tests check it exhaustively.
//!
//! - [`collation`]: `collation` options (locale-aware string comparison, ICU4X).
//! - [`order`]: the total order MongoDB defines over all BSON values.
//! - [`error`]: mongod's error codes and the typed [`Error`] every parser returns.
//! - [`matcher`]: query filters (`find`'s `filter`, `$match`, `arrayFilters`).
//! - [`path`]: dotted field paths and how they walk documents and arrays.
//! - [`update`]: update documents (replacement and operators) and upsert seeds.
//! - [`projection`]: find projections (inclusion, exclusion, `$slice`, `$elemMatch`, `field.$`).
//! - [`expr`]: aggregation expressions (`{$add: ["$a", 1]}`), parsed once, evaluated per document.
//! - [`pipeline`]: aggregation pipelines (`$match`, `$group`, `$project`, ...).

pub mod collation;
pub mod error;
pub mod expr;
pub mod matcher;
pub mod order;
pub mod path;
pub mod pipeline;
pub mod projection;
pub mod update;
pub mod vars;

pub use error::{Code, Error, Result};
