//! Transactions against a model of snapshot isolation with first-writer-wins.
//!
//! Proptest interleaves statements of three sessions over three keys:
//! reads, upserting `$set`s and deletes inside transactions, commits,
//! aborts, retried commits and aborts, new transaction numbers over open
//! transactions, and reads outside any transaction. Every reply is checked
//! against [`Model`], which states mongod's rules and nothing of Rotor's
//! structures:
//! - a transaction's snapshot is the committed state at its first statement,
//!   and it reads its own writes;
//! - a write to a key another open transaction wrote, or that a
//!   transaction committed after the snapshot, is WriteConflict (112,
//!   TransientTransactionError) and aborts the transaction; so is an
//!   upsert of a key that is invisible to the snapshot but exists (the
//!   unique `_id` index meets it);
//! - a delete or update of a key the snapshot does not see matches
//!   nothing and conflicts with nothing, unless it upserts;
//! - an insert of a key the snapshot sees is a DuplicateKey write error
//!   (no label, `n: 0`), which ends the transaction too; where the key is
//!   also contended, either error may come first;
//! - after that abort, statements, commit and abort get NoSuchTransaction
//!   (251, TransientTransactionError);
//! - commit is idempotent, abort after commit is TransactionCommitted
//!   (256), abort or commit after abort is NoSuchTransaction;
//! - a statement with a higher txnNumber aborts the open transaction;
//! - reads outside transactions see the newest committed state and never
//!   block on open transactions.
//!
//! At the end, a read outside any transaction must find exactly the
//! model's committed state.

mod common;

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use common::{Session, engine, run};
use engine::Engine;
use proptest::prelude::*;

const DB: &str = "model";
const COLL: &str = "c";
const SESSIONS: usize = 3;
const KEYS: i32 = 3;

const WRITE_CONFLICT: i32 = 112;
const NO_SUCH_TRANSACTION: i32 = 251;
const TRANSACTION_COMMITTED: i32 = 256;
const DUPLICATE_KEY: i32 = 11000;

#[derive(Debug, Clone, Copy)]
enum Action {
    /// Moves the session to its next transaction number.
    Begin,
    Read(i32),
    Set(i32),
    /// An insert of `{_id: key}`: DuplicateKey where the snapshot sees it.
    Insert(i32),
    Delete(i32),
    Commit,
    Abort,
    /// A find by `_id` outside any transaction.
    ReadCommitted(i32),
}

impl Action {
    fn is_read(self) -> bool {
        matches!(self, Action::Read(_))
    }
}

fn action() -> impl Strategy<Value = Action> {
    let key = 0..KEYS;
    prop_oneof![
        2 => Just(Action::Begin),
        3 => key.clone().prop_map(Action::Read),
        4 => key.clone().prop_map(Action::Set),
        2 => key.clone().prop_map(Action::Insert),
        2 => key.clone().prop_map(Action::Delete),
        3 => Just(Action::Commit),
        1 => Just(Action::Abort),
        1 => key.prop_map(Action::ReadCommitted),
    ]
}

/// What a reply must be.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// A read: the document's `v`, or no document.
    Found(Option<i64>),
    /// A write that took effect (`n` documents matched or upserted).
    Wrote(i32),
    Ok,
    /// An error code, and whether it carries TransientTransactionError.
    Error(i32, bool),
    /// A `writeErrors` entry with this code (the reply itself is ok).
    WriteError(i32),
    /// Either outcome: the rules leave the order of two checks open.
    Either(Box<Expect>, Box<Expect>),
}

#[derive(Debug, Clone, Default)]
enum TxnState {
    /// No statement of this transaction number has run yet.
    #[default]
    Fresh,
    Active {
        snapshot: u64,
        writes: BTreeMap<i32, Option<i64>>,
    },
    Committed,
    /// Aborted by `abortTransaction` or by a higher transaction number.
    Aborted,
    /// Aborted by the server after an error (a write conflict).
    Failed,
}

/// Committed history and open transactions, as mongod's rules see them.
#[derive(Debug, Default)]
struct Model {
    /// Per key, every committed version: (commit sequence, value).
    versions: BTreeMap<i32, Vec<(u64, Option<i64>)>>,
    commits: u64,
    sessions: [TxnState; SESSIONS],
    /// The session moved to a higher transaction number while its
    /// transaction was open: that transaction stays open, its writes held,
    /// until the session's next command carries the new number.
    superseded: [bool; SESSIONS],
}

impl Model {
    fn at(&self, key: i32, snapshot: u64) -> Option<i64> {
        self.versions
            .get(&key)
            .and_then(|v| v.iter().rev().find(|(seq, _)| *seq <= snapshot))
            .and_then(|(_, value)| *value)
    }

    fn newest(&self, key: i32) -> (u64, Option<i64>) {
        self.versions
            .get(&key)
            .and_then(|v| v.last().copied())
            .unwrap_or((0, None))
    }

    /// Whether another session's open transaction wrote `key`.
    fn held_by_other(&self, session: usize, key: i32) -> bool {
        self.sessions.iter().enumerate().any(|(s, state)| {
            s != session
                && matches!(state, TxnState::Active { writes, .. } if writes.contains_key(&key))
        })
    }

    /// Runs a statement of `session`'s transaction: starts it if fresh.
    fn statement(&mut self, session: usize, action: Action, value: i64) -> Expect {
        let no_such = Expect::Error(NO_SUCH_TRANSACTION, true);
        match &self.sessions[session] {
            TxnState::Fresh => {
                self.sessions[session] = TxnState::Active {
                    snapshot: self.commits,
                    writes: BTreeMap::new(),
                }
            }
            TxnState::Active { .. } => {}
            TxnState::Failed | TxnState::Aborted => return no_such,
            TxnState::Committed => unreachable!("no statements after commit"),
        }
        let TxnState::Active { snapshot, writes } = &self.sessions[session] else {
            unreachable!("made active above");
        };
        let snapshot = *snapshot;
        let sees = |model: &Model, key| {
            writes
                .get(&key)
                .copied()
                .unwrap_or_else(|| model.at(key, snapshot))
        };
        let expect = match action {
            Action::Read(key) => return Expect::Found(sees(self, key)),
            Action::Insert(key) => {
                let own = writes.contains_key(&key);
                let contended =
                    !own && (self.held_by_other(session, key) || self.newest(key).0 > snapshot);
                let duplicate = sees(self, key).is_some();
                // A write error, like a conflict, ends the transaction.
                let failed = duplicate || contended;
                let expect = match (duplicate, contended) {
                    (true, true) => Expect::Either(
                        Box::new(Expect::WriteError(DUPLICATE_KEY)),
                        Box::new(Expect::Error(WRITE_CONFLICT, true)),
                    ),
                    (true, false) => Expect::WriteError(DUPLICATE_KEY),
                    (false, true) => Expect::Error(WRITE_CONFLICT, true),
                    (false, false) => Expect::Wrote(1),
                };
                if failed {
                    self.sessions[session] = TxnState::Failed;
                    return expect;
                }
                (key, Some(value))
            }
            Action::Set(key) | Action::Delete(key) => {
                let visible = sees(self, key);
                let own = writes.contains_key(&key);
                let upsert = matches!(action, Action::Set(_));
                if visible.is_none() && !upsert {
                    return Expect::Wrote(0);
                }
                // An update or delete of a visible document, or an upsert's
                // insert into the `_id` index: both meet whoever else wrote
                // the key, committed after the snapshot or still open.
                let conflict =
                    !own && (self.held_by_other(session, key) || self.newest(key).0 > snapshot);
                if conflict {
                    self.sessions[session] = TxnState::Failed;
                    return Expect::Error(WRITE_CONFLICT, true);
                }
                (key, upsert.then_some(value))
            }
            _ => unreachable!("not a statement"),
        };
        let TxnState::Active { writes, .. } = &mut self.sessions[session] else {
            unreachable!("still active");
        };
        writes.insert(expect.0, expect.1);
        Expect::Wrote(1)
    }

    fn commit(&mut self, session: usize) -> Expect {
        match std::mem::take(&mut self.sessions[session]) {
            TxnState::Active { writes, .. } => {
                self.commits += 1;
                for (key, value) in writes {
                    self.versions
                        .entry(key)
                        .or_default()
                        .push((self.commits, value));
                }
                self.sessions[session] = TxnState::Committed;
                Expect::Ok
            }
            TxnState::Committed => {
                self.sessions[session] = TxnState::Committed;
                Expect::Ok
            }
            state @ (TxnState::Aborted | TxnState::Failed) => {
                self.sessions[session] = state;
                Expect::Error(NO_SUCH_TRANSACTION, true)
            }
            TxnState::Fresh => unreachable!("commit of a transaction never begun"),
        }
    }

    fn abort(&mut self, session: usize) -> Expect {
        match std::mem::take(&mut self.sessions[session]) {
            TxnState::Active { .. } => {
                self.sessions[session] = TxnState::Aborted;
                Expect::Ok
            }
            TxnState::Committed => {
                self.sessions[session] = TxnState::Committed;
                Expect::Error(TRANSACTION_COMMITTED, false)
            }
            state @ (TxnState::Aborted | TxnState::Failed) => {
                self.sessions[session] = state;
                Expect::Error(NO_SUCH_TRANSACTION, true)
            }
            TxnState::Fresh => unreachable!("abort of a transaction never begun"),
        }
    }
}

/// The reply boiled down to what the model predicts.
fn observed(reply: &Document, read: bool) -> Expect {
    if reply.get_f64("ok").ok() != Some(1.0) {
        let transient = reply.get_array("errorLabels").is_ok_and(|labels| {
            labels
                .iter()
                .any(|l| l.as_str() == Some("TransientTransactionError"))
        });
        return Expect::Error(reply.get_i32("code").unwrap_or(0), transient);
    }
    if let Ok(errors) = reply.get_array("writeErrors") {
        let first = errors.first().and_then(Bson::as_document);
        let code = first.and_then(|e| e.get_i32("code").ok()).unwrap_or(0);
        assert_eq!(reply.get_i32("n").ok(), Some(0), "nothing written: {reply}");
        assert!(!reply.contains_key("errorLabels"), "no labels: {reply}");
        return Expect::WriteError(code);
    }
    if read {
        let batch = reply
            .get_document("cursor")
            .and_then(|c| c.get_array("firstBatch"))
            .unwrap_or_else(|_| panic!("a find reply has a batch: {reply}"));
        let value = batch.first().and_then(Bson::as_document).map(|d| {
            d.get_i64("v")
                .unwrap_or_else(|_| panic!("v is an int64: {d}"))
        });
        return Expect::Found(value);
    }
    match reply.get_i32("n") {
        Ok(n) => Expect::Wrote(n),
        Err(_) => Expect::Ok,
    }
}

/// Runs the steps against a fresh engine and the model, step by step.
fn check(steps: &[(usize, Action)]) {
    let engine = engine();
    ensure_collection(&engine);
    let mut model = Model::default();
    let mut sessions: Vec<Session> = (0..SESSIONS).map(|_| Session::new()).collect();
    for session in &mut sessions {
        session.start();
    }
    for (step, &(s, action)) in steps.iter().enumerate() {
        let value = step as i64;
        let fresh = model.superseded[s] || matches!(model.sessions[s], TxnState::Fresh);
        let (body, read, expect) = match action {
            Action::Begin => {
                match model.sessions[s] {
                    TxnState::Active { .. } => model.superseded[s] = true,
                    _ => model.sessions[s] = TxnState::Fresh,
                }
                sessions[s].start();
                continue;
            }
            Action::Commit | Action::Abort if fresh => continue,
            Action::Commit => (sessions[s].commit(), false, model.commit(s)),
            Action::Abort => (sessions[s].abort(), false, model.abort(s)),
            Action::Read(_) | Action::Set(_) | Action::Insert(_) | Action::Delete(_) => {
                if model.superseded[s] {
                    // The new number's first statement aborts the old one.
                    model.superseded[s] = false;
                    model.sessions[s] = TxnState::Fresh;
                } else if matches!(model.sessions[s], TxnState::Committed) {
                    continue;
                }
                let expect = model.statement(s, action, value);
                (
                    statement_body(&mut sessions[s], action, value),
                    action.is_read(),
                    expect,
                )
            }
            Action::ReadCommitted(key) => (
                doc! {"find": COLL, "filter": {"_id": key}},
                true,
                Expect::Found(model.newest(key).1),
            ),
        };
        let db = match action {
            Action::Commit | Action::Abort => "admin",
            _ => DB,
        };
        let reply = run(&engine, db, body.clone());
        let got = observed(&reply, read);
        let expect = match expect {
            Expect::Either(_, b) if got == *b => *b,
            Expect::Either(a, _) => *a,
            other => other,
        };
        assert_eq!(
            got, expect,
            "step {step}: session {s} {action:?} ({body}) replied {reply}"
        );
    }
    // Transactions still open change nothing a read outside them sees.
    let reply = run(
        &engine,
        DB,
        doc! {"find": COLL, "filter": {}, "sort": {"_id": 1}},
    );
    let stored: Vec<(i32, i64)> = reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("a batch")
        .iter()
        .filter_map(Bson::as_document)
        .map(|d| (d.get_i32("_id").expect("_id"), d.get_i64("v").expect("v")))
        .collect();
    let expected: Vec<(i32, i64)> = (0..KEYS)
        .filter_map(|key| model.newest(key).1.map(|v| (key, v)))
        .collect();
    assert_eq!(stored, expected, "the committed state");
}

/// A transaction statement's command, with the session's fields.
fn statement_body(session: &mut Session, action: Action, value: i64) -> Document {
    session.stmt(match action {
        Action::Read(key) => doc! {"find": COLL, "filter": {"_id": key}},
        Action::Set(key) => doc! {
            "update": COLL,
            "updates": [{"q": {"_id": key}, "u": {"$set": {"v": value}}, "upsert": true}],
        },
        Action::Insert(key) => doc! {"insert": COLL, "documents": [{"_id": key, "v": value}]},
        Action::Delete(key) => doc! {
            "delete": COLL,
            "deletes": [{"q": {"_id": key}, "limit": 1}],
        },
        _ => unreachable!("not a statement: {action:?}"),
    })
}

/// Creates the collection up front: creating it inside a transaction is
/// a catalog change the model does not describe.
fn ensure_collection(engine: &Engine) {
    let reply = run(engine, DB, doc! {"create": COLL});
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "create: {reply}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn transactions_follow_snapshot_isolation_with_first_writer_wins(
        steps in proptest::collection::vec((0..SESSIONS, action()), 1..60)
    ) {
        check(&steps);
    }
}

#[test]
fn an_upsert_of_a_key_committed_after_the_snapshot_conflicts() {
    check(&[
        (0, Action::Read(1)),
        (1, Action::Set(1)),
        (1, Action::Commit),
        (0, Action::Set(1)),
        (0, Action::Commit),
    ]);
}

#[test]
fn a_delete_of_a_key_the_snapshot_does_not_see_matches_nothing() {
    check(&[
        (0, Action::Read(2)),
        (1, Action::Set(2)),
        (0, Action::Delete(2)),
        (1, Action::Commit),
        (0, Action::Commit),
        (2, Action::ReadCommitted(2)),
    ]);
}
