//! In-memory multi-version storage: records, collections, indexes, catalog.
//!
//! Every document lives in a [`record::Record`]: a list of committed versions
//! (each stamped with its commit [`crate::clock::Ts`]) and at most one
//! uncommitted *intent* owned by one transaction. A reader with a
//! [`record::View`] sees its own intent, else the newest version at or below
//! its snapshot. Versions no reader can see any more, dead tombstones and
//! stale index entries are reclaimed below the pruning horizon
//! ([`horizon`], [`gc`]). This module has no notion of sessions or commands;
//! the transaction layer (`crate::txn`) drives it.

pub mod catalog;
pub mod collection;
pub mod gc;
pub mod horizon;
pub mod index;
pub mod key;
pub mod record;
pub mod size;
pub mod sweep;
