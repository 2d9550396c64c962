//! Durability: commit records in the journal, checkpoints, and recovery.
//!
//! The engine keeps every collection in memory; the journal (crate
//! `journal`) makes it durable. Each commit appends one record holding the
//! transaction's final writes, under the commit lock, so journal order is
//! commit-timestamp order and recovery replays whole transactions or
//! nothing. Catalog changes are records of their own, appended under the
//! same lock. A checkpoint writes every collection as of one timestamp and
//! lets the journal drop the log it covers.
//!
//! Invariant: a reply that acknowledges a durable write is sent only after
//! [`Durable::wait`] returned for the write's record. After any journal
//! failure the journal is poisoned and every later write fails.

mod checkpoint;
mod record;
mod recover;

use std::path::Path;

use journal::{Journal, Lsn, Options};
use mql::Code;

use crate::clock::Ts;
use crate::command::CommandError;

pub use checkpoint::write_checkpoint;
pub use record::Op;
use record::encode_ops;
pub use recover::{RecoveryError, recover};

/// The durable half of an on-disk engine.
pub struct Durable {
    journal: Journal,
}

impl Durable {
    /// Opens the journal in `dir`; returns it with what it recovered.
    pub fn open(
        dir: &Path,
        sync_interval: std::time::Duration,
    ) -> Result<(Durable, journal::Recovery), journal::Error> {
        let options = Options {
            sync_interval: Some(sync_interval),
            ..Options::default()
        };
        let (journal, recovery) = Journal::open(dir, options)?;
        Ok((Durable { journal }, recovery))
    }

    /// Appends the commit record of `ops` at `ts`; call under the commit
    /// lock. A record that cannot be encoded fails the commit, which is
    /// then not acknowledged: never a different record. Stored documents
    /// always encode, so that is a bug.
    pub fn append(&self, ts: Ts, ops: &[Op]) -> Result<Lsn, CommandError> {
        let record = encode_ops(ts, ops).map_err(|error| {
            CommandError::new(
                Code::INTERNAL_ERROR,
                format!("the write's journal record could not be encoded: {error}"),
            )
        })?;
        self.journal.append(&record).map_err(journal_error)
    }

    /// Waits until `lsn` is on stable storage (group commit).
    pub fn wait(&self, lsn: Lsn) -> Result<(), CommandError> {
        self.journal.wait_durable(lsn).map_err(journal_error)
    }

    pub fn last_lsn(&self) -> Lsn {
        self.journal.last_lsn()
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }
}

/// The reply a client gets when its write could not be made durable.
fn journal_error(error: journal::Error) -> CommandError {
    match error {
        journal::Error::RecordTooLarge { .. } => CommandError::new(
            Code::TRANSACTION_TOO_LARGE,
            format!("Total size of the transaction's writes is too large: {error}"),
        ),
        other => CommandError::new(
            Code::INTERNAL_ERROR,
            format!("the write could not be made durable and was not acknowledged: {other}"),
        ),
    }
}
