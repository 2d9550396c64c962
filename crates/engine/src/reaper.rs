//! The background reaper: aborts transactions older than
//! `transactionLifetimeLimitSeconds` and forgets sessions idle longer than
//! `logicalSessionTimeoutMinutes`.
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
}
