//! Transactions over the multi-version storage: snapshots, intents, commit.
//!
//! Every write runs in a [`Txn`]. A multi-document transaction keeps one for
//! its whole life; a write outside a transaction runs in a short one per
//! document ("auto" mode) that the command layer commits at once.
//!
//! Isolation is snapshot isolation with first-writer-wins:
//! - a `Txn` reads at its snapshot, plus its own intents;
//! - writing a record whose intent slot another transaction holds, or whose
//!   newest version was committed after the snapshot, is a [`WriteError::Conflict`];
//! - the same holds for unique index keys.
//!
//! Commit order: under the commit lock, the manager takes a timestamp,
//! converts every intent into a version at that timestamp, and only then
//! publishes the timestamp as visible. Readers snapshot the visible
//! timestamp, so they see whole transactions or nothing.

mod manager;
mod write;

pub use manager::{TxnManager, WaitOutcome};
pub use write::{DuplicateKey, Txn, WriteError, WriteKind};
