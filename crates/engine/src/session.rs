//! Server sessions: keyed by `lsid.id`, holding the transaction number
//! state machine and retryable-write results.
//!
//! Transaction state machine (per session, numbers only grow):
//! - `Idle` -> `Active(n)`: a statement with `startTransaction: true` and a
//!   `txnNumber` n above every number the session has seen.
//! - `Active(n)` -> `Committed(n)`: `commitTransaction` succeeded.
//! - `Active(n)` -> `Aborted(n)`: `abortTransaction`, a failed statement, a
//!   higher number, the lifetime reaper, or `killSessions`.
//! - `Committed(n)`/`Aborted(n)` -> `Active(m)`, m > n: the next transaction.
//!
//! A session's state is locked for the whole of one command that names it:
//! a session runs one command at a time, as mongod's session checkout does.
//! Different sessions never share a lock.
//!
//! Limits: the server holds at most `maxSessions` sessions, and at most
//! [`TRANSACTIONS_OPEN_MAX`] of them in `Active`. Each `Active` owns a
//! [`TxnSlot`] that gives its place back when dropped, so every way out of
//! `Active` releases it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bson::Document;
use parking_lot::{Mutex, RwLock};

use crate::clock::Ts;
use crate::limits::TRANSACTIONS_OPEN_MAX;
use crate::txn::Txn;

/// [`Session::last_committed`] before any transaction committed.
const NONE_COMMITTED: i64 = i64::MIN;

/// The state of a session's current (or last) transaction.
pub enum TxnState {
    /// No transaction has been started (or only retryable writes ran).
    Idle,
    Active(Box<Active>),
    Committed {
        number: i64,
        commit_ts: Ts,
    },
    Aborted {
        number: i64,
    },
}

pub struct Active {
    pub number: i64,
    /// Created at the first statement; `None` only between start and then.
    pub txn: Option<Txn>,
    pub started: Instant,
    /// The readConcern of the first statement.
    pub read_concern: Option<Document>,
    /// This transaction's place among the server's open transactions.
    pub _slot: TxnSlot,
}

/// One of the [`TRANSACTIONS_OPEN_MAX`] places for an open transaction;
/// dropping it frees the place and counts the transaction ended.
pub struct TxnSlot {
    counters: Arc<TxnCounters>,
}

impl Drop for TxnSlot {
    fn drop(&mut self) {
        let before = self.counters.open.fetch_sub(1, Ordering::AcqRel);
        assert!(before > 0, "an open-transaction slot released twice");
        self.counters.ended.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a session remembers of its retryable writes: results by statement id
/// for the highest write `txnNumber`.
#[derive(Default)]
pub struct RetryState {
    pub number: i64,
    pub results: HashMap<i32, RetryResult>,
    /// Set by `onPrimaryTransactionalWrite` during one command, taken by
    /// the gate when the command ends: the connection closes after it.
    pub close_connection: bool,
}

/// The saved outcome of one retryable statement.
#[derive(Clone, Debug, PartialEq)]
pub enum RetryResult {
    /// An insert, delete or update counted towards `n`/`nModified`.
    Write {
        n: i64,
        modified: i64,
        upserted: Option<bson::Bson>,
    },
    /// A whole findAndModify reply.
    Reply(Document),
}

pub struct SessionState {
    /// The highest `txnNumber` seen (transactions and retryable writes).
    pub highest_number: Option<i64>,
    pub txn: TxnState,
    pub retry: RetryState,
}

pub struct Session {
    /// The `lsid` document as the client sent it.
    pub lsid: Document,
    pub state: Mutex<SessionState>,
    last_used: Mutex<Instant>,
    /// The number of the session's latest committed transaction, kept
    /// outside `state` so that a checkpoint reads it without waiting for a
    /// running command (see [`Sessions::committed_outcomes`]).
    last_committed: AtomicI64,
    /// The journaled results of the session's latest retryable write, for
    /// checkpoints, for the same reason (see [`Sessions::retried_outcomes`]).
    durable_retries: Mutex<DurableRetries>,
}

/// The results of one retryable write's statements that are in the
/// journal: `(stmtId, result)` for write `number`.
#[derive(Default)]
struct DurableRetries {
    number: i64,
    results: Vec<(i32, RetryResult)>,
}

impl Session {
    /// Transaction `number` committed (it is the highest yet: numbers
    /// only grow).
    pub fn note_committed(&self, number: i64) {
        self.last_committed.fetch_max(number, Ordering::AcqRel);
    }

    /// Statement `stmt_id` of retryable write `number` is journaled with
    /// `result`; a higher number replaces the results kept.
    pub fn note_retried(&self, number: i64, stmt_id: i32, result: RetryResult) {
        let mut retries = self.durable_retries.lock();
        if number < retries.number {
            return;
        }
        if number > retries.number {
            *retries = DurableRetries {
                number,
                results: Vec::new(),
            };
        }
        retries.results.retain(|(id, _)| *id != stmt_id);
        retries.results.push((stmt_id, result));
    }

    pub fn touch(&self) {
        *self.last_used.lock() = Instant::now();
    }

    pub fn last_used(&self) -> Instant {
        *self.last_used.lock()
    }
}

#[derive(Default)]
pub struct Sessions {
    /// Read-locked by every command that names a session; written only to
    /// add or remove one, so concurrent sessions do not queue here.
    map: RwLock<HashMap<Vec<u8>, Arc<Session>>>,
    /// Transactions in `Active` (counted by their [`TxnSlot`]s) and the
    /// other counters `serverStatus` reports.
    counters: Arc<TxnCounters>,
}

/// What `serverStatus.transactions` reports, counted where it happens:
/// starts and ends by [`TxnSlot`]s (so every way out of `Active` counts),
/// commits by the commit, retries by the retryable-write path.
#[derive(Default)]
pub struct TxnCounters {
    open: AtomicUsize,
    started: AtomicU64,
    ended: AtomicU64,
    committed: AtomicU64,
    retried_commands: AtomicU64,
    retried_statements: AtomicU64,
    recorded_writes: AtomicU64,
}

/// One reading of [`TxnCounters`], as mongod names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnStatus {
    pub current_open: u64,
    pub current_active: u64,
    pub current_inactive: u64,
    pub total_started: u64,
    pub total_committed: u64,
    pub total_aborted: u64,
    pub retried_commands: u64,
    pub retried_statements: u64,
    /// mongod's `transactionsCollectionWriteCount`: retryable-write
    /// results recorded for retries.
    pub recorded_writes: u64,
}

impl TxnCounters {
    pub fn committed(&self) {
        self.committed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn retried_command(&self) {
        self.retried_commands.fetch_add(1, Ordering::Relaxed);
    }

    pub fn retried_statement(&self) {
        self.retried_statements.fetch_add(1, Ordering::Relaxed);
    }

    pub fn recorded_write(&self) {
        self.recorded_writes.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now, given how many open transactions have no
    /// command running. Each is read on its own, so while transactions
    /// run the derived ones (aborted, active) may be off by the few in
    /// flight between two reads; they never go below zero.
    fn status(&self, inactive: u64) -> TxnStatus {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let open = self.open.load(Ordering::Acquire) as u64;
        let committed = load(&self.committed);
        TxnStatus {
            current_open: open,
            current_active: open.saturating_sub(inactive),
            current_inactive: inactive.min(open),
            total_started: load(&self.started),
            total_committed: committed,
            total_aborted: load(&self.ended).saturating_sub(committed),
            retried_commands: load(&self.retried_commands),
            retried_statements: load(&self.retried_statements),
            recorded_writes: load(&self.recorded_writes),
        }
    }
}

/// The identity of a session: its `lsid.id` bytes, followed by the `uid`
/// bytes the command layer adds (the owner's digest, see `auth::check`).
pub fn session_key(lsid: &Document) -> Option<Vec<u8>> {
    let Some(bson::Bson::Binary(id)) = lsid.get("id") else {
        return None;
    };
    let uid = match lsid.get("uid") {
        Some(bson::Bson::Binary(uid)) => uid.bytes.as_slice(),
        _ => &[],
    };
    Some(key_of(&id.bytes, uid))
}

/// The key of the session with `lsid.id` bytes `id` owned by `uid`.
pub fn key_of(id: &[u8], uid: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + uid.len());
    key.extend_from_slice(id);
    key.extend_from_slice(uid);
    key
}

impl Sessions {
    /// The session keyed `key`, created on first use with the lsid `lsid`
    /// builds (called only then). `None` if the server already holds
    /// `sessions_max` sessions (`maxSessions`).
    pub fn get_or_create(
        &self,
        key: &[u8],
        lsid: impl FnOnce() -> Document,
        sessions_max: u64,
    ) -> Option<Arc<Session>> {
        // The key is copied only for a new session: every later command
        // looks its session up by a borrowed key.
        if let Some(session) = self.map.read().get(key) {
            session.touch();
            return Some(session.clone());
        }
        let mut map = self.map.write();
        if let Some(session) = map.get(key) {
            session.touch();
            return Some(session.clone());
        }
        if map.len() as u64 >= sessions_max {
            return None;
        }
        let session = Arc::new(Session {
            lsid: lsid(),
            state: Mutex::new(SessionState {
                highest_number: None,
                txn: TxnState::Idle,
                retry: RetryState::default(),
            }),
            last_used: Mutex::new(Instant::now()),
            last_committed: AtomicI64::new(NONE_COMMITTED),
            durable_retries: Mutex::default(),
        });
        map.insert(key.to_vec(), session.clone());
        Some(session)
    }

    /// A place for one more open transaction; `None` when
    /// [`TRANSACTIONS_OPEN_MAX`] are open.
    pub fn reserve_txn(&self) -> Option<TxnSlot> {
        self.counters
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < TRANSACTIONS_OPEN_MAX).then_some(open + 1)
            })
            .ok()?;
        self.counters.started.fetch_add(1, Ordering::Relaxed);
        Some(TxnSlot {
            counters: self.counters.clone(),
        })
    }

    pub fn counters(&self) -> &TxnCounters {
        &self.counters
    }

    /// `serverStatus.transactions`. An open transaction is inactive when
    /// its session has no command running: its state lock is free. This
    /// walks every session (at most `maxSessions`) and never waits on one,
    /// so the commands themselves pay nothing for the count.
    pub fn txn_status(&self) -> TxnStatus {
        let inactive = self
            .all()
            .iter()
            .filter(|session| {
                session
                    .state
                    .try_lock()
                    .is_some_and(|state| matches!(state.txn, TxnState::Active(_)))
            })
            .count();
        self.counters.status(inactive as u64)
    }

    /// Recovery: transaction `number` of the session keyed `key` committed
    /// at `commit_ts`. Numbers only grow: an outcome replayed after a
    /// newer one (a checkpoint's, then an older record's) changes nothing.
    pub fn restore_commit(&self, key: &[u8], lsid: &Document, number: i64, commit_ts: Ts) {
        self.restore(key, lsid, number, |session, state| {
            session.note_committed(number);
            state.txn = TxnState::Committed { number, commit_ts };
        });
    }

    /// Recovery's one way into a session: the session keyed `key`
    /// (created, whatever `maxSessions` says: it was live) gets `number`
    /// as its highest and `apply`, unless it already holds a higher number.
    fn restore(
        &self,
        key: &[u8],
        lsid: &Document,
        number: i64,
        apply: impl FnOnce(&Session, &mut SessionState),
    ) {
        let Some(session) = self.get_or_create(key, || lsid.clone(), u64::MAX) else {
            return;
        };
        let mut state = session.state.lock();
        if state.highest_number.is_some_and(|highest| highest > number) {
            return;
        }
        state.highest_number = Some(number);
        apply(&session, &mut state);
    }

    /// `(key, lsid, number)` of every session with a committed
    /// transaction, its latest: what a checkpoint keeps so that a retried
    /// commit is still answered once the journal before it is gone. Read
    /// without the sessions' state locks, which a command holds for its
    /// whole run.
    pub fn committed_outcomes(&self) -> Vec<(Vec<u8>, Document, i64)> {
        let map = self.map.read();
        map.iter()
            .filter_map(|(key, session)| {
                let number = session.last_committed.load(Ordering::Acquire);
                (number != NONE_COMMITTED).then(|| (key.clone(), session.lsid.clone(), number))
            })
            .collect()
    }

    /// Recovery: statement `stmt_id` of retryable write `number` of the
    /// session keyed `key` ran with `result`. As with commits, numbers
    /// only grow.
    pub fn restore_retried(
        &self,
        key: &[u8],
        lsid: &Document,
        number: i64,
        stmt_id: i32,
        result: RetryResult,
    ) {
        self.restore(key, lsid, number, |session, state| {
            session.note_retried(number, stmt_id, result.clone());
            if state.retry.number != number {
                state.retry = RetryState {
                    number,
                    ..RetryState::default()
                };
            }
            state.retry.results.insert(stmt_id, result);
        });
    }

    /// `(key, lsid, number, stmtId, result)` of every journaled statement
    /// of every session's latest retryable write, for a checkpoint.
    pub fn retried_outcomes(&self) -> Vec<(Vec<u8>, Document, i64, i32, RetryResult)> {
        let map = self.map.read();
        let mut outcomes = Vec::new();
        for (key, session) in map.iter() {
            let retries = session.durable_retries.lock();
            for (stmt_id, result) in &retries.results {
                outcomes.push((
                    key.clone(),
                    session.lsid.clone(),
                    retries.number,
                    *stmt_id,
                    result.clone(),
                ));
            }
        }
        outcomes
    }

    pub fn get(&self, key: &[u8]) -> Option<Arc<Session>> {
        self.map.read().get(key).cloned()
    }

    pub fn remove(&self, key: &[u8]) -> Option<Arc<Session>> {
        self.map.write().remove(key)
    }

    pub fn all(&self) -> Vec<Arc<Session>> {
        self.map.read().values().cloned().collect()
    }

    /// Forgets sessions idle longer than `idle_secs`; returns them so the
    /// caller can abort their transactions.
    ///
    /// A session whose state is locked has a command running on it, however
    /// long ago it was last touched: it stays, or its transaction would
    /// leave the map (and the lifetime reaper's sight) still holding its
    /// writes. Commands reach a session only through this map, so none can
    /// start on one while the write lock is held here.
    pub fn expire(&self, idle_secs: u64) -> Vec<Arc<Session>> {
        let now = Instant::now();
        let mut map = self.map.write();
        let expired: Vec<Vec<u8>> = map
            .iter()
            .filter(|(_, s)| now.duration_since(s.last_used()).as_secs() >= idle_secs)
            .filter(|(_, s)| s.state.try_lock().is_some())
            .map(|(k, _)| k.clone())
            .collect();
        expired.iter().filter_map(|k| map.remove(k)).collect()
    }
}
