//! The engine handle: shared state behind an `Arc`, cheap to clone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::{Clock, SystemClock};
use crate::command::{self, Request, Response};
use crate::cursor::Cursors;
use crate::failpoint::FailPoints;
use crate::options::EngineOptions;
use crate::params::Parameters;
use crate::reaper;
use crate::session::Sessions;
use crate::storage::catalog::Catalog;
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
    /// Opens an engine.
    pub fn open(options: EngineOptions) -> Engine {
        let clock = Clock::new(Arc::new(SystemClock));
        let txns = TxnManager::new(clock, options.snapshot_history_window_secs);
        let enable_test_commands = options.enable_test_commands;
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
            }),
        };
        reaper::spawn(&engine.shared);
        engine
    }

    /// Arms or disarms a failpoint, exactly as `configureFailPoint` does, but
    /// in process and whatever `enable_test_commands` says: applications can
    /// test their own retry logic without a server.
    ///
    /// ```
    /// use bson::doc;
    /// let engine = engine::Engine::open(engine::EngineOptions::default());
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
        command::run(self, request)
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

    pub(crate) fn stats(&self) -> &Stats {
        &self.shared.stats
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

    /// Commits `txn`; the reply may go out once this returns.
    pub(crate) fn commit_txn(
        &self,
        txn: Txn,
    ) -> Result<crate::clock::Ts, crate::command::CommandError> {
        self.txns().commit(txn, |_, _| Ok(()))
    }

    /// Aborts `txn` and forgets collections it created.
    pub(crate) fn abort_txn(&self, txn: Txn) {
        let created = txn.created_collections().to_vec();
        self.txns().abort(txn);
        for coll in created {
            self.catalog().remove_exact(&coll);
        }
    }
}

impl Drop for Shared {
    /// Closing the engine aborts the transactions still open, so that every
    /// transaction ends through the manager (see `Txn`'s drop check).
    fn drop(&mut self) {
        for session in self.sessions.all() {
            let mut state = session.state.lock();
            if let crate::session::TxnState::Active(active) = &mut state.txn {
                if let Some(txn) = active.txn.take() {
                    self.txns.abort(txn);
                }
            }
        }
    }
}
