//! The background reaper: aborts transactions older than
//! `transactionLifetimeLimitSeconds`, forgets sessions idle longer than
//! `logicalSessionTimeoutMinutes`, takes due checkpoints, and runs one
//! bounded garbage-collection round ([`crate::storage::gc`]).
//!
//! It holds only a weak reference, so dropping the last `Engine` stops it.
//! A session busy running a command is skipped and checked again next round.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::Engine;
use crate::command::end_active;
use crate::engine::Shared;
use crate::params::SESSION_TIMEOUT_MINUTES;
use crate::session::{TxnState, session_key};
use crate::storage::gc::{self, GcStats, StorageCounts};

/// How often the reaper looks; bounds how late a lifetime abort can be.
const REAP_INTERVAL: Duration = Duration::from_millis(250);

pub fn spawn(shared: &Arc<Shared>) {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    let spawned = std::thread::Builder::new()
        .name("rotor-reaper".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(REAP_INTERVAL);
                let Some(shared) = weak.upgrade() else { return };
                reap(shared);
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "could not start the transaction reaper");
    }
}

fn reap(shared: Arc<Shared>) {
    let engine = Engine { shared };
    engine.checkpoint_if_due();
    let limit = Duration::from_secs(
        engine
            .shared
            .params
            .transaction_lifetime_secs
            .load(Ordering::Relaxed),
    );
    for session in engine.sessions().all() {
        let Some(mut state) = session.state.try_lock() else {
            continue;
        };
        if matches!(&state.txn, TxnState::Active(active) if active.started.elapsed() >= limit) {
            tracing::info!("aborting a transaction past transactionLifetimeLimitSeconds");
            end_active(&engine, &mut state);
        }
    }
    for session in engine.sessions().expire(SESSION_TIMEOUT_MINUTES * 60) {
        if let Some(mut state) = session.state.try_lock() {
            end_active(&engine, &mut state);
        }
        if let Some(key) = session_key(&session.lsid) {
            engine.cursors().kill_session(&key);
        }
    }
    engine.collect_garbage();
}

impl Engine {
    /// Runs one bounded garbage-collection round now, as the background
    /// reaper does every 250 ms: moves the pruning horizon as far as open
    /// transactions, running commands and the snapshot history window
    /// (`minSnapshotHistoryWindowInSeconds`) allow, then reclaims below it a
    /// batch of dead tombstones, old versions and stale index entries of
    /// every collection. A horizon takes two rounds to become usable, and a
    /// large collection takes several rounds to sweep.
    ///
    /// ```
    /// use engine::{Engine, EngineOptions};
    /// let engine = Engine::open(EngineOptions::default()).unwrap();
    /// let stats = engine.collect_garbage();
    /// assert_eq!(stats.records_removed, 0);
    /// ```
    pub fn collect_garbage(&self) -> GcStats {
        let collections = self.catalog().all();
        let history_bytes = collections.iter().map(|c| c.history_bytes()).sum();
        self.txns().bound_history(
            history_bytes,
            self.shared.options.snapshot_history_bytes_max,
        );
        let horizon = self.txns().advance_horizon();
        gc::collect(&collections, horizon)
    }

    /// What collection `coll` of `db` holds in memory (records, versions,
    /// index entries), or `None` if it does not exist. Locks every record in
    /// turn: for tests and diagnostics, not for a hot path.
    ///
    /// ```
    /// use engine::{Engine, EngineOptions};
    /// let engine = Engine::open(EngineOptions::default()).unwrap();
    /// assert!(engine.storage_counts("test", "none").is_none());
    /// ```
    pub fn storage_counts(&self, db: &str, coll: &str) -> Option<StorageCounts> {
        let coll = self.catalog().get(db, coll, None)?;
        Some(gc::counts(&coll))
    }
}
