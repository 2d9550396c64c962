//! [`Journal`]: the public face of the storage layer, tying together the data
//! directory, recovery, the live log, checkpoints and the background flusher.
//!
//! Lifecycle: `open` locks the directory and recovers; the journal then
//! accepts appends, waits and checkpoints from any number of threads; `close`
//! (or drop) stops the flusher, syncs what is pending and releases the lock.
//! After an I/O failure the journal is poisoned: everything but dropping it
//! returns [`Error::Poisoned`].
//!
//! Deliberately not here: any knowledge of what payloads or checkpoint bodies
//! mean; when to checkpoint is the engine's policy.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::checkpoint::write_checkpoint;
use crate::dir::DataDir;
use crate::error::{Error, Result};
use crate::faults::Faults;
use crate::format::{Lsn, checkpoint_name};
use crate::limits::{SEGMENT_BYTES_DEFAULT, SEGMENT_BYTES_MIN, SYNC_INTERVAL_DEFAULT};
use crate::log::Log;
use crate::recover::{Recovery, recover};

/// How a journal is opened.
#[derive(Debug, Clone)]
pub struct Options {
    /// Size at which the log moves to a new segment file. A record larger
    /// than this still goes whole into one segment of its own.
    pub segment_bytes_max: u64,
    /// How often the background flusher syncs records nobody waited for;
    /// `None` runs no flusher (records become durable only when waited for).
    pub sync_interval: Option<Duration>,
    /// Test seam: injected write and sync failures. `None` in production.
    pub faults: Option<Arc<Faults>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            segment_bytes_max: SEGMENT_BYTES_DEFAULT,
            sync_interval: Some(SYNC_INTERVAL_DEFAULT),
            faults: None,
        }
    }
}

/// The durable log and checkpoint store of one data directory.
///
/// ```
/// # fn main() -> journal::Result<()> {
/// # let tmp = std::env::temp_dir().join(format!("journal-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&tmp);
/// use journal::{Journal, Options};
/// let (journal, recovery) = Journal::open(&tmp, Options::default())?;
/// assert!(recovery.records.is_empty());
/// let lsn = journal.append(b"commit record")?;
/// journal.wait_durable(lsn)?;
/// journal.close()?;
///
/// let (_journal, recovery) = Journal::open(&tmp, Options::default())?;
/// assert_eq!(recovery.records[0].payload, b"commit record");
/// # drop(_journal);
/// # std::fs::remove_dir_all(&tmp).unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    log: Log,
    /// Serialises checkpoints; holds the LSN of the newest installed one.
    checkpoint: Mutex<Lsn>,
    stop: Mutex<bool>,
    stop_cv: Condvar,
}

impl Journal {
    /// Opens (creating if missing) and locks the data directory at `dir`,
    /// recovers it, and returns the journal ready for appends together with
    /// what was recovered.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<(Journal, Recovery)> {
        if options.segment_bytes_max < SEGMENT_BYTES_MIN {
            return Err(Error::InvalidOption(
                "segment_bytes_max is below the minimum of 64",
            ));
        }
        if options.sync_interval.is_some_and(|i| i.is_zero()) {
            return Err(Error::InvalidOption("sync_interval must be positive"));
        }
        let dir = DataDir::open(dir.as_ref())?;
        let recovered = recover(&dir)?;
        let latest = recovered
            .recovery
            .checkpoint
            .as_ref()
            .map_or(Lsn(0), |c| c.lsn);
        let log = Log::start(
            dir,
            recovered.segments,
            recovered.tail,
            recovered.next_lsn,
            options.segment_bytes_max,
            options.faults,
        )?;
        let shared = Arc::new(Shared {
            log,
            checkpoint: Mutex::new(latest),
            stop: Mutex::new(false),
            stop_cv: Condvar::new(),
        });
        let flusher = match options.sync_interval {
            Some(interval) => Some(spawn_flusher(Arc::clone(&shared), interval)?),
            None => None,
        };
        Ok((Journal { shared, flusher }, recovered.recovery))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.shared.log.dir().path()
    }

    /// Buffers `payload` as the next log record and returns its LSN. Does no
    /// I/O; the record is durable once [`Journal::wait_durable`] returns for
    /// it, or within the sync interval. Records are ordered by call order.
    pub fn append(&self, payload: &[u8]) -> Result<Lsn> {
        self.shared.log.append(payload)
    }

    /// Blocks until the record at `lsn` and every earlier one is on stable
    /// storage. Concurrent callers share one `fdatasync` (group commit).
    ///
    /// # Panics
    /// If `lsn` was never returned by [`Journal::append`]: a caller bug.
    pub fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        self.shared.log.wait_durable(lsn)
    }

    /// Makes every record appended so far durable.
    pub fn sync_now(&self) -> Result<()> {
        self.shared.log.sync_now()
    }

    /// The newest LSN appended (`Lsn(0)` if the log has never had a record).
    pub fn last_lsn(&self) -> Lsn {
        self.shared.log.last_appended()
    }

    /// The newest LSN known to be durable.
    pub fn durable_lsn(&self) -> Lsn {
        self.shared.log.durable()
    }

    /// How many `fdatasync`s of the log this journal has issued since open;
    /// durable appends divided by this is the group-commit batch size.
    pub fn sync_count(&self) -> u64 {
        self.shared.log.sync_count()
    }

    /// Writes and installs a checkpoint reflecting every record up to and
    /// including `covers`, then deletes older checkpoints and the log
    /// segments it makes redundant. `write` streams the body; appends and
    /// waits continue meanwhile. On error nothing is installed and the log
    /// is untouched.
    pub fn checkpoint(
        &self,
        covers: Lsn,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<()> {
        let log = &self.shared.log;
        let mut latest = self.shared.checkpoint.lock();
        if log.is_poisoned() {
            return Err(Error::Poisoned);
        }
        let last = log.last_appended();
        if covers > last {
            return Err(Error::CheckpointBeyondLog { covers, last });
        }
        if covers < *latest {
            return Err(Error::CheckpointNotNewer {
                covers,
                latest: *latest,
            });
        }
        // The log must hold everything the checkpoint reflects before the
        // checkpoint may replace it: recovery then never meets a checkpoint
        // ahead of the log.
        log.wait_durable(covers)?;
        write_checkpoint(log.dir(), covers, write)?;
        let previous = std::mem::replace(&mut *latest, covers);
        if previous != covers && previous != Lsn(0) {
            remove_redundant(&log.dir().file(&checkpoint_name(previous)));
        }
        for segment in log.detach_covered(covers) {
            remove_redundant(&segment);
        }
        tracing::info!(lsn = %covers, "checkpoint installed");
        Ok(())
    }

    /// Stops the flusher, makes every appended record durable, trims the
    /// log's preallocated space, and releases the directory.
    pub fn close(mut self) -> Result<()> {
        self.stop_flusher();
        self.shared.log.close()
    }

    /// Test seam modelling power loss: discards records not yet written,
    /// keeps at most `torn_bytes_kept` bytes of those written but not synced
    /// (a torn tail), and releases the directory without syncing.
    pub fn simulate_crash(mut self, torn_bytes_kept: u64) -> Result<()> {
        self.stop_flusher();
        self.shared.log.simulate_crash(torn_bytes_kept)
    }

    fn stop_flusher(&mut self) {
        let Some(flusher) = self.flusher.take() else {
            return;
        };
        *self.shared.stop.lock() = true;
        self.shared.stop_cv.notify_all();
        if flusher.join().is_err() {
            tracing::error!("journal flusher thread panicked");
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.stop_flusher();
        if self.shared.log.is_poisoned() {
            return;
        }
        if let Err(e) = self.shared.log.close() {
            tracing::error!(error = %e, "journal sync on drop failed");
        }
    }
}

/// Deletes a file made redundant by a checkpoint. A failure is only logged:
/// the checkpoint is installed either way, and recovery deletes leftovers.
fn remove_redundant(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        tracing::warn!(file = %path.display(), error = %e, "could not remove redundant journal file");
    }
}

fn spawn_flusher(shared: Arc<Shared>, interval: Duration) -> Result<JoinHandle<()>> {
    let dir = shared.log.dir().path().to_path_buf();
    std::thread::Builder::new()
        .name("journal-flusher".into())
        .spawn(move || flush_periodically(&shared, interval))
        .map_err(|source| Error::Io {
            op: "spawn flusher thread for",
            path: dir,
            source,
        })
}

fn flush_periodically(shared: &Shared, interval: Duration) {
    let mut stop = shared.stop.lock();
    // The newest LSN at the previous tick: a log with no append for a whole
    // interval is idle, and only then is a mark worth its sync; under load
    // every flight's own mark proves the flights before it.
    let mut seen = shared.log.last_appended();
    while !*stop {
        if !shared.stop_cv.wait_for(&mut stop, interval).timed_out() {
            continue;
        }
        let log = &shared.log;
        if log.is_poisoned() {
            continue;
        }
        let last = std::mem::replace(&mut seen, log.last_appended());
        let idle = seen == last && log.durable() == last;
        // Unlocked while syncing so that close() can signal meanwhile.
        let synced = parking_lot::MutexGuard::unlocked(&mut stop, || {
            if idle {
                log.mark_durable()
            } else {
                log.sync_now()
            }
        });
        if let Err(e) = synced {
            tracing::error!(error = %e, "background journal sync failed");
        }
    }
}
