//! The engine handle: shared state behind an `Arc`, cheap to clone.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::{Clock, SystemClock, Ts};
use crate::command::CommandError;
use crate::command::{self, ReplyParts, Request, Response};
use crate::cursor::Cursors;
use crate::durable::{self, Durable, Op, RecoveryError};
use crate::failpoint::FailPoints;
use crate::options::EngineOptions;
use crate::options::Storage;
use crate::params::Parameters;
use crate::reaper;
use crate::session::{RetryResult, Session, Sessions};
use crate::storage::catalog::Catalog;
use crate::storage::collection::Visibility;
use crate::txn::{Txn, TxnManager};

/// An open database. Clones share the same data.
#[derive(Clone)]
pub struct Engine {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) options: EngineOptions,
    pub(crate) catalog: Catalog,
    pub(crate) txns: TxnManager,
    pub(crate) sessions: Sessions,
    pub(crate) cursors: Cursors,
    pub(crate) stats: Stats,
    pub(crate) params: Parameters,
    pub(crate) failpoints: FailPoints,
    pub(crate) durable: Option<Durable>,
    /// When the last checkpoint was taken, and what it covered.
    pub(crate) last_checkpoint: Mutex<(Instant, journal::Lsn)>,
}

/// Replaying at least this many journal records at startup triggers a
/// checkpoint right away, so repeated crashes cannot grow recovery time.
const RECOVERY_CHECKPOINT_RECORDS_MIN: usize = 1_000;

/// Why an engine could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error(transparent)]
    Journal(#[from] journal::Error),
    #[error("recovery failed: {0}")]
    Recovery(#[from] RecoveryError),
}

impl Wait {
    /// What a command's `writeConcern` asks for: only `w: 0` or `w: 1`
    /// without `j: true` skip the journal, as in mongod (whose implicit
    /// default is `w: "majority"`, which is journaled).
    pub(crate) fn from_write_concern(write_concern: Option<&bson::Document>) -> Wait {
        let Some(write_concern) = write_concern else {
            return Wait::Durable;
        };
        if write_concern.get_bool("j").unwrap_or(false) {
            return Wait::Durable;
        }
        let w = write_concern
            .get("w")
            .and_then(mql::order::Number::of)
            .map(|n| n.as_f64());
        match w {
            Some(n) if n <= 1.0 => Wait::Applied,
            _ => Wait::Durable,
        }
    }
}

/// Whether a commit's reply waits for the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The default, `w: "majority"` and `j: true`: on stable storage first.
    Durable,
    /// `w: 1` (or 0) without `j`: acknowledged once applied in memory.
    Applied,
}

/// A reading of the engine's work counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Documents fetched and examined by queries (`scannedObjects`).
    pub docs_examined: u64,
    /// Index entries examined by queries (`scanned`).
    pub keys_examined: u64,
}

/// Counters `serverStatus` reports; tests read them to check plans.
#[derive(Default)]
pub(crate) struct Stats {
    /// Documents fetched and examined by queries (`scannedObjects`).
    pub(crate) docs_examined: AtomicU64,
    /// Index entries examined by queries (`scanned`).
    pub(crate) keys_examined: AtomicU64,
}

impl Engine {
    /// Opens an engine: in memory, or on a data directory, recovering what
    /// the directory holds.
    ///
    /// ```
    /// use engine::{Engine, EngineOptions};
    /// let engine = Engine::open(EngineOptions::default()).expect("in-memory engines always open");
    /// ```
    pub fn open(options: EngineOptions) -> Result<Engine, OpenError> {
        let clock = Clock::new(Arc::new(SystemClock));
        let txns = TxnManager::new(clock, options.snapshot_history_window_secs);
        let enable_test_commands = options.enable_test_commands;
        let (durable, recovery) = match &options.storage {
            Storage::InMemory => (None, None),
            Storage::Directory(dir) => {
                let (durable, recovery) = Durable::open(dir, options.journal_commit_interval)?;
                (Some(durable), Some(recovery))
            }
        };
        let checkpointed = recovery
            .as_ref()
            .and_then(|r| r.checkpoint.as_ref())
            .map_or(journal::Lsn(0), |c| c.lsn);
        let engine = Engine {
            shared: Arc::new(Shared {
                options,
                catalog: Catalog::default(),
                txns,
                sessions: Sessions::default(),
                cursors: Cursors::default(),
                stats: Stats::default(),
                params: Parameters::new(enable_test_commands),
                failpoints: FailPoints::default(),
                durable,
                last_checkpoint: Mutex::new((Instant::now(), checkpointed)),
            }),
        };
        let replayed = match recovery {
            Some(recovery) => durable::recover(&engine, recovery)?,
            None => 0,
        };
        // A cluster time is never zero on a running node: start from now.
        let now = engine.txns().clock.tick();
        engine.txns().recover_to(now);
        // A server that keeps crashing before its first scheduled checkpoint
        // would otherwise replay an ever longer journal at every start.
        if replayed >= RECOVERY_CHECKPOINT_RECORDS_MIN {
            engine.checkpoint()?;
        }
        reaper::spawn(&engine.shared);
        Ok(engine)
    }

    /// Writes a checkpoint now (on-disk engines; a no-op in memory), so that
    /// recovery replays only what comes after it.
    pub fn checkpoint(&self) -> Result<(), OpenError> {
        let Some(durable) = &self.shared.durable else {
            return Ok(());
        };
        // Holds the horizon below `ts` until the pin is in place.
        let reader = self.txns().reader();
        // The collections and their names as of `ts`: catalog changes are
        // made under the commit lock, so every later one is after `lsn`.
        let (ts, lsn, collections) = self.txns().quiesced(|ts| {
            let committed = self
                .catalog()
                .all()
                .into_iter()
                .filter(|c| c.visibility() == Visibility::Committed)
                .collect::<Vec<_>>();
            (ts, durable.last_lsn(), committed)
        });
        let pin = self.txns().begin_at(ts);
        drop(reader);
        let written = durable.journal().checkpoint(lsn, |out| {
            durable::write_checkpoint(&collections, ts, self.sessions(), out)
        });
        self.txns().abort(pin);
        written?;
        *self.shared.last_checkpoint.lock() = (Instant::now(), lsn);
        Ok(())
    }

    /// Takes a checkpoint if the interval passed and the journal grew.
    pub(crate) fn checkpoint_if_due(&self) {
        let Some(durable) = &self.shared.durable else {
            return;
        };
        let (at, lsn) = *self.shared.last_checkpoint.lock();
        if at.elapsed() < self.options().checkpoint_interval || durable.last_lsn() <= lsn {
            return;
        }
        if let Err(error) = self.checkpoint() {
            tracing::error!(%error, "checkpoint failed");
        }
    }

    /// Arms or disarms a failpoint, exactly as `configureFailPoint` does, but
    /// in process and whatever `enable_test_commands` says: applications can
    /// test their own retry logic without a server.
    ///
    /// ```
    /// use bson::doc;
    /// let engine = engine::Engine::open(engine::EngineOptions::default()).unwrap();
    /// engine
    ///     .configure_fail_point(&doc! {
    ///         "configureFailPoint": "failCommand",
    ///         "mode": {"times": 1},
    ///         "data": {"failCommands": ["insert"], "errorCode": 112},
    ///     })
    ///     .unwrap();
    /// ```
    pub fn configure_fail_point(
        &self,
        command: &bson::Document,
    ) -> Result<bson::Document, crate::command::CommandError> {
        crate::command::configure_fail_point(self, command)
    }

    /// Runs one command and returns mongod's reply document.
    ///
    /// Never panics on any input: every malformed command gets an error reply.
    pub fn run_command(&self, request: Request<'_>) -> Response {
        self.run_command_parts(request).into_response()
    }

    /// Runs one command and returns mongod's reply with its cluster time and
    /// operation time apart, for callers that read them as values (see
    /// [`ReplyParts`]); [`ReplyParts::into_response`] gives
    /// [`Engine::run_command`]'s reply.
    pub fn run_command_parts(&self, request: Request<'_>) -> ReplyParts {
        // Reads outside a transaction pin nothing: this keeps the pruning
        // horizon below every snapshot the command reads.
        let _reader = self.txns().reader();
        command::run(self, request)
    }

    /// Whether commits are journaled (an on-disk engine).
    pub(crate) fn is_durable(&self) -> bool {
        self.shared.durable.is_some()
    }

    pub(crate) fn options(&self) -> &EngineOptions {
        &self.shared.options
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.shared.catalog
    }

    pub(crate) fn txns(&self) -> &TxnManager {
        &self.shared.txns
    }

    pub(crate) fn sessions(&self) -> &Sessions {
        &self.shared.sessions
    }

    pub(crate) fn cursors(&self) -> &Cursors {
        &self.shared.cursors
    }

    pub(crate) fn failpoints(&self) -> &FailPoints {
        &self.shared.failpoints
    }

    pub(crate) fn params(&self) -> &Parameters {
        &self.shared.params
    }

    /// Counters of work done, as `serverStatus` reports them.
    pub fn metrics(&self) -> Metrics {
        Metrics {
            docs_examined: self.shared.stats.docs_examined.load(Ordering::Relaxed),
            keys_examined: self.shared.stats.keys_examined.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_examined(&self, docs: u64, keys: u64) {
        self.shared
            .stats
            .docs_examined
            .fetch_add(docs, Ordering::Relaxed);
        self.shared
            .stats
            .keys_examined
            .fetch_add(keys, Ordering::Relaxed);
    }

    /// Commits `txn`, appending its record to the journal under the commit
    /// lock; with [`Wait::Durable`], returns once the record is on stable
    /// storage. The reply may go out once this returns.
    ///
    /// `outcome` is what the commit means to a session, journaled in the
    /// same record, so that a retry after a restart is answered.
    pub(crate) fn commit_txn(
        &self,
        txn: Txn,
        wait: Wait,
        outcome: Option<Outcome<'_>>,
    ) -> Result<Ts, CommandError> {
        let Some(durable) = &self.shared.durable else {
            return self.txns().commit(txn, |_, _| Ok(()));
        };
        let mut appended = None;
        let ts = self.txns().commit(txn, |txn, ts| {
            let mut ops = commit_ops(self, txn);
            if ops.is_empty() {
                return Ok(());
            }
            // Under the commit lock, as checkpoints take their position:
            // one that covers this record sees the outcome.
            ops.extend(outcome.map(Outcome::into_op));
            appended = Some(durable.append(ts, &ops)?);
            Ok::<(), CommandError>(())
        })?;
        if let (Some(lsn), Wait::Durable) = (appended, wait) {
            durable.wait(lsn)?;
        }
        Ok(ts)
    }

    /// Applies a catalog change and journals it, ordered with commits.
    /// `change` runs under the commit lock with the change's timestamp and
    /// returns the ops to journal.
    pub(crate) fn catalog_change(
        &self,
        change: impl FnOnce(Ts) -> Result<Vec<Op>, CommandError>,
    ) -> Result<(), CommandError> {
        let appended = self
            .txns()
            .with_commit_lock(|ts| -> Result<_, CommandError> {
                let ops = change(ts)?;
                match &self.shared.durable {
                    Some(durable) if !ops.is_empty() => Ok(Some(durable.append(ts, &ops)?)),
                    _ => Ok(None),
                }
            })?;
        if let (Some(lsn), Some(durable)) = (appended, &self.shared.durable) {
            durable.wait(lsn)?;
        }
        Ok(())
    }

    /// Aborts `txn` and forgets collections it created.
    ///
    /// The collections go first: aborting wakes writers waiting for this
    /// transaction, and one waiting to create the same collection must find
    /// it gone, or it would wait again for an end that already happened.
    pub(crate) fn abort_txn(&self, txn: Txn) {
        for coll in txn.created_collections() {
            self.catalog().remove_exact(coll);
        }
        self.txns().abort(txn);
    }
}

/// What a commit means to the session that made it.
pub(crate) enum Outcome<'a> {
    /// Its multi-document transaction `number` commits.
    Committed {
        key: &'a [u8],
        session: &'a Session,
        number: i64,
    },
    /// Statement `stmt_id` of its retryable write `number` commits, and a
    /// retry must get `result` back.
    Retried {
        key: &'a [u8],
        session: &'a Session,
        number: i64,
        stmt_id: i32,
        result: RetryResult,
    },
}

impl Outcome<'_> {
    /// Notes the outcome on the session (for checkpoints) and gives the
    /// op that journals it.
    fn into_op(self) -> Op {
        match self {
            Outcome::Committed {
                key,
                session,
                number,
            } => {
                session.note_committed(number);
                Op::Committed {
                    session: key.to_vec(),
                    lsid: session.lsid.clone(),
                    txn_number: number,
                }
            }
            Outcome::Retried {
                key,
                session,
                number,
                stmt_id,
                result,
            } => {
                session.note_retried(number, stmt_id, result.clone());
                Op::Retried {
                    session: key.to_vec(),
                    lsid: session.lsid.clone(),
                    txn_number: number,
                    stmt_id,
                    result,
                }
            }
        }
    }
}

/// The journal operations of a committing transaction: collections it
/// created (with their indexes), then its final writes. Writes into a
/// collection dropped meanwhile are left out: the drop won, in memory too.
/// Writes into a collection renamed meanwhile went into the renamed one
/// (they share their records) and are journaled under its new name.
fn commit_ops(engine: &Engine, txn: &Txn) -> Vec<Op> {
    let mut ops = Vec::new();
    for coll in txn.created_collections() {
        let indexes = coll.indexes().iter().map(|i| i.spec.info.clone()).collect();
        ops.push(Op::Create {
            db: coll.db.clone(),
            coll: coll.name.clone(),
            options: (*coll.options()).clone(),
            indexes,
        });
    }
    for (coll, key, doc) in txn.final_writes() {
        // Renamed since the write: journaled under the name it has now.
        let Some(coll) = engine.catalog().current(&coll, Some(txn.id())) else {
            continue;
        };
        ops.push(match doc {
            Some(doc) => Op::Put {
                db: coll.db.clone(),
                coll: coll.name.clone(),
                doc,
            },
            None => Op::Delete {
                db: coll.db.clone(),
                coll: coll.name.clone(),
                id: key.0,
            },
        });
    }
    ops
}

impl Drop for Shared {
    /// Closing the engine aborts the transactions still open, so that every
    /// transaction ends through the manager (see `Txn`'s drop check).
    fn drop(&mut self) {
        for session in self.sessions.all() {
            let mut state = session.state.lock();
            if let crate::session::TxnState::Active(active) = &mut state.txn
                && let Some(txn) = active.txn.take()
            {
                self.txns.abort(txn);
            }
        }
    }
}
