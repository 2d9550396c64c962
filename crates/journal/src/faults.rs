//! Fault injection: the seam through which tests make the journal's log
//! writes and syncs fail, as a full disk or a dying device would.
//!
//! A [`Faults`] is shared (via [`crate::Options::faults`]) between a test and
//! the journal. Each counter says how many more operations of that kind
//! succeed before every later one fails. Production code passes no `Faults`,
//! and then the check is one `Option` test per operation.
//!
//! Deliberately small: it fails whole calls, it does not model which bytes of a
//! failed write reached the disk (`Journal::simulate_crash` covers lost and
//! torn unsynced bytes).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shared countdowns of log writes and syncs left before injected failures.
#[derive(Debug)]
pub struct Faults {
    writes_left: AtomicU64,
    syncs_left: AtomicU64,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new()
    }
}

impl Faults {
    /// A plan that injects nothing until told to.
    pub fn new() -> Self {
        Self {
            writes_left: AtomicU64::new(u64::MAX),
            syncs_left: AtomicU64::new(u64::MAX),
        }
    }

    /// Lets `n` more log writes succeed; every later one fails with
    /// `StorageFull` (ENOSPC).
    pub fn fail_writes_after(&self, n: u64) {
        self.writes_left.store(n, Ordering::SeqCst);
    }

    /// Lets `n` more log syncs succeed; every later one fails with an I/O error
    /// (EIO), as after a device error.
    pub fn fail_syncs_after(&self, n: u64) {
        self.syncs_left.store(n, Ordering::SeqCst);
    }

    pub(crate) fn on_write(&self) -> io::Result<()> {
        take(
            &self.writes_left,
            io::ErrorKind::StorageFull,
            "injected: no space left on device",
        )
    }

    pub(crate) fn on_sync(&self) -> io::Result<()> {
        take(
            &self.syncs_left,
            io::ErrorKind::Other,
            "injected: input/output error",
        )
    }
}

fn take(left: &AtomicU64, kind: io::ErrorKind, message: &'static str) -> io::Result<()> {
    let decremented = left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    match decremented {
        Ok(_) => Ok(()),
        Err(_) => Err(io::Error::new(kind, message)),
    }
}
