//! Rotor's durable storage layer: the write-ahead log and the checkpoints
//! under the engine's in-memory MVCC store.
//!
//! The journal stores opaque byte payloads. It knows nothing of documents or
//! transactions: the engine encodes each commit as one payload and appends it,
//! receiving a log sequence number ([`Lsn`]); it periodically writes a
//! checkpoint (a byte stream covering every commit up to some LSN), after which
//! the journal deletes the log that the checkpoint makes redundant. On open,
//! [`Journal::open`] hands back a [`Recovery`]: the newest checkpoint and the
//! log records after it, in order.
//!
//! Invariants kept here: LSNs are dense (each record's LSN is its
//! predecessor's plus one); an LSN is reported durable only after the bytes of
//! it and of every earlier record were written and `fdatasync`ed; after any
//! failed write or sync the journal is poisoned and refuses all further work
//! until reopened; corruption anywhere but a torn tail is an error, never
//! skipped, where a torn tail is damage in the last segment that no later
//! durability mark (a CRC-covered "synced up to LSN n" frame leading every
//! flight) proves was ever synced. The byte layouts and the crash analysis are in
//! `docs/storage-format.md`.
//!
//! Deliberately not here: any interpretation of payloads, compression,
//! encryption, replication, and any in-memory index of the log.

#![deny(missing_docs)]

mod checkpoint;
mod dir;
mod error;
mod faults;
mod format;
mod journal;
mod limits;
mod log;
mod recover;

pub use checkpoint::CheckpointReader;
pub use error::{CorruptReason, Error, Result};
pub use faults::Faults;
pub use format::Lsn;
pub use journal::{Journal, Options};
pub use limits::{RECORD_PAYLOAD_BYTES_MAX, SEGMENT_BYTES_DEFAULT, SYNC_INTERVAL_DEFAULT};
pub use recover::{Record, RecoveredCheckpoint, Recovery};
