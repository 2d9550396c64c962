//! Running one operation: adding the client's default concerns and the
//! session, transaction, causal and cluster-time fields a driver adds,
//! sending it, learning the times from the reply, and retrying a
//! retryable write or read once.
//!
//! A write is retried only after a network error or an error the server
//! labelled `RetryableWriteError` (the retryable-writes spec for MongoDB
//! 4.4 and later, whose servers label what they know to be retryable);
//! a network error on such a write gets that label from the client.
//! Multi-document writes and `w: 0` writes are not retryable: they carry
//! no `txnNumber` and are sent once.
//!
//! Invariants: a retryable write outside a transaction carries a fresh
//! `txnNumber`, and its retry reuses it (so the server runs it at most
//! once); statements inside a transaction carry no read or write concern
//! except the first statement's read concern; `$clusterTime` is the
//! highest the client or the session has seen; an operation is sent at
//! most twice, and a `getMore` or a statement inside a transaction once.

use std::time::Instant;

use bson::{Bson, Document, Timestamp};

use crate::client::Client;
use crate::cluster_time::{self, ClusterTime};
use crate::error::{Error, ErrorKind, RETRYABLE_WRITE_ERROR, Result, TRANSIENT_TRANSACTION_ERROR};
use crate::event::CommandEvent;
use crate::reply;
use crate::session::{ClientSession, SessionOptions};

/// How an operation may be retried and which concerns it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Takes a read concern (causal and snapshot reads).
    Read,
    /// A retryable write: a `txnNumber` outside transactions, one retry.
    RetryableWrite,
    /// Anything else: sent as is.
    Other,
}

/// The label a server puts on a retry's error when neither attempt wrote
/// anything, so the first attempt's error is the one to report.
const NO_WRITES_PERFORMED: &str = "NoWritesPerformed";

/// The Retryable Reads spec's codes (reads carry no label to go by):
/// the not-primary, shutting-down and network-ish codes, plus
/// ReadConcernMajorityNotAvailableYet.
const RETRYABLE_READ_CODES: [i32; 13] = [
    11600, 11602, 10107, 13435, 13436, 189, 91, 7, 6, 89, 9001, 262, 134,
];

impl Error {
    /// Whether the retryable-writes spec allows one retry after this error:
    /// a network error, or one the server labelled `RetryableWriteError`.
    /// The code alone never decides: from MongoDB 4.4 (wire version 9) the
    /// server labels what may be retried, and an unlabelled error, whatever
    /// its code, is final.
    pub(crate) fn is_retryable(&self) -> bool {
        self.is_network() || self.has_label(RETRYABLE_WRITE_ERROR)
    }

    /// Whether the retryable-reads spec allows one retry after this error.
    pub(crate) fn is_retryable_read(&self) -> bool {
        self.is_network()
            || self
                .code()
                .is_some_and(|c| RETRYABLE_READ_CODES.contains(&c))
    }
}

impl Client {
    /// Runs an operation, in `session` if given; a retryable write without
    /// one runs in an implicit session so that it can be retried safely.
    /// Outside transactions the client's default concerns are added first.
    pub(crate) async fn execute(
        &self,
        db: &str,
        mut command: Document,
        kind: Kind,
        session: Option<&mut ClientSession>,
    ) -> Result<Document> {
        let in_transaction = session.as_ref().is_some_and(|s| s.in_transaction());
        let kind = match in_transaction {
            true => kind,
            false => self.apply_defaults(&mut command, kind),
        };
        match session {
            Some(session) => self.execute_in(db, command, kind, session).await,
            None if kind == Kind::RetryableWrite => {
                let implicit = SessionOptions {
                    causal_consistency: Some(false),
                    ..SessionOptions::default()
                };
                let mut session = ClientSession::new(self.clone(), implicit)?;
                let result = self.execute_in(db, command, kind, &mut session).await;
                session.end_session().await;
                result
            }
            None => match self.send(db, command.clone(), None).await {
                Err(error) if self.may_retry(kind, &error) => {
                    let retried = self.send(db, command, None).await;
                    keep_first_if_unsent(error, retried)
                }
                other => other,
            },
        }
    }

    async fn execute_in(
        &self,
        db: &str,
        mut command: Document,
        kind: Kind,
        session: &mut ClientSession,
    ) -> Result<Document> {
        let in_transaction = session.in_transaction();
        session.prepare(&mut command, kind)?;
        // A read in a session is retried by its caller (`action::run_in`),
        // which also knows the collection's `retryReads`; writes here, and
        // only they keep a copy of the command to resend.
        let (first, retry) = if !in_transaction && kind == Kind::RetryableWrite {
            (command.clone(), Some(command))
        } else {
            (command, None)
        };
        let result = self.send(db, first, Some(session)).await;
        match (result, retry) {
            (Err(error), Some(command)) if self.may_retry(kind, &error) => {
                let error = label_network_error(error);
                let retried = self.send(db, command, Some(session)).await;
                keep_first_if_unsent(error, retried.map_err(label_network_error))
            }
            (result, _) => after_send(result, kind, in_transaction),
        }
    }

    /// Whether an operation of `kind` outside a transaction gets its one
    /// retry after `error`.
    fn may_retry(&self, kind: Kind, error: &Error) -> bool {
        match kind {
            Kind::RetryableWrite => error.is_retryable(),
            Kind::Read => self.inner.defaults.retry_reads && error.is_retryable_read(),
            Kind::Other => false,
        }
    }

    /// Adds the client's default read concern to reads and write concern
    /// to writes that name none; returns the kind to run the operation as
    /// (a write is not retryable with `retryWrites=false` or `w: 0`, which
    /// gets no reply to retry on).
    fn apply_defaults(&self, command: &mut Document, kind: Kind) -> Kind {
        let defaults = &self.inner.defaults;
        let (field, concern) = match kind {
            Kind::Read => ("readConcern", &defaults.read_concern),
            Kind::RetryableWrite => ("writeConcern", &defaults.write_concern),
            Kind::Other => return kind,
        };
        if let Some(concern) = concern
            && !concern.is_empty()
            && !command.contains_key(field)
        {
            command.insert(field, concern.clone());
        }
        let unacknowledged = crate::collection::unacknowledged(command);
        match kind {
            Kind::RetryableWrite if !defaults.retry_writes || unacknowledged => Kind::Other,
            kind => kind,
        }
    }

    /// Sends one command as is, apart from `$clusterTime`; learns the times
    /// from the reply and reports events.
    pub(crate) async fn send(
        &self,
        db: &str,
        mut command: Document,
        mut session: Option<&mut ClientSession>,
    ) -> Result<Document> {
        {
            // Scoped: the client's reference is let go before the reply's
            // time is learned, so the client may update its copy in place.
            let client_time = self.shared_cluster_time();
            let session_time = session.as_ref().and_then(|s| s.shared_cluster_time());
            let gossip = match (client_time.as_ref(), session_time) {
                (Some(a), Some(b)) => Some(if b.is_later_than(a) { b } else { a }),
                (a, b) => a.or(b),
            };
            if let Some(time) = gossip {
                command.insert("$clusterTime", time.document().clone());
            }
        }
        // Events, and the copies of the command and the reply they carry,
        // are built only when a listener is registered.
        let monitored = self.is_monitored();
        let command_name = if monitored {
            command.keys().next().cloned().unwrap_or_default()
        } else {
            String::new()
        };
        let request_id = self.request_id();
        if monitored {
            // The command as it goes on the wire, where OP_MSG names its
            // database in `$db` (as drivers' started events show it).
            let mut shown = command.clone();
            shown.insert("$db", db);
            self.emit(CommandEvent::Started {
                command_name: command_name.clone(),
                database: db.to_owned(),
                command: shown,
                request_id,
            });
        }
        // Only events report the duration: no clock reads without them.
        let started = monitored.then(Instant::now);
        let sent = self.inner.transport.run_command(db, command).await;
        let duration = started.map(|s| s.elapsed()).unwrap_or_default();
        let raw = match sent {
            Ok(raw) => raw,
            Err(error) => {
                if let Some(session) = session.as_deref_mut()
                    && error.is_network()
                {
                    session.mark_dirty();
                }
                if monitored {
                    self.emit(CommandEvent::Failed {
                        command_name,
                        failure: error.to_string(),
                        duration,
                        request_id,
                    });
                }
                return Err(error);
            }
        };
        if let Some(time) = crate::reply::document(&raw, "$clusterTime") {
            // At most one copy, shared by the client and the session, and
            // none when both have seen this time already (as they have for
            // a transaction's later statements) or when the client can set
            // the new time in its own copy (cluster_time::replace), which
            // the session lets go of first.
            let key = cluster_time::key_of(time);
            let session_advances = session
                .as_deref_mut()
                .is_some_and(|s| s.release_cluster_time_before(key));
            let kept = self.advance_cluster_time(time, key);
            if session_advances && let Some(session) = session.as_deref_mut() {
                session.set_cluster_time(kept.unwrap_or_else(|| ClusterTime::new(time, key)));
            }
        }
        if let (Some(session), Ok(time)) = (session, raw.get_timestamp("operationTime")) {
            session.advance_operation_time(time);
        }
        if !monitored {
            return reply::check(raw);
        }
        let checked = reply::check(raw.clone());
        match &checked {
            Err(error) if !reply::is_ok(&raw) => self.emit(CommandEvent::Failed {
                command_name,
                failure: error.to_string(),
                duration,
                request_id,
            }),
            _ => self.emit(CommandEvent::Succeeded {
                command_name,
                reply: raw,
                duration,
                request_id,
            }),
        }
        checked
    }
}

/// What an operation in a session reports after its last attempt.
fn after_send(result: Result<Document>, kind: Kind, in_transaction: bool) -> Result<Document> {
    match result {
        Err(error) if kind == Kind::RetryableWrite && is_retryable_writes_unsupported(&error) => {
            Err(retryable_writes_unsupported(error))
        }
        Err(mut error) if in_transaction && (error.is_network() || error.is_server_selection()) => {
            // The transactions spec: no reply came, so the whole
            // transaction may be retried.
            error.add_label(TRANSIENT_TRANSACTION_ERROR);
            Err(error)
        }
        other => other,
    }
}

/// A network error on a retryable write outside a transaction gets the
/// `RetryableWriteError` label the server would have added had it replied
/// (the retryable-writes spec), so that the caller, seeing the error after
/// the one retry, still knows the write may be retried.
fn label_network_error(mut error: Error) -> Error {
    if error.is_network() {
        error.add_label(RETRYABLE_WRITE_ERROR);
    }
    error
}

/// The retry's outcome, except that a retry that found no server to go to,
/// or that the server says wrote nothing (`NoWritesPerformed`), reports
/// the first error instead, which says more (the retryable-reads and
/// -writes specs).
pub(crate) fn keep_first_if_unsent(first: Error, retried: Result<Document>) -> Result<Document> {
    match retried {
        Err(error) if error.is_server_selection() || error.has_label(NO_WRITES_PERFORMED) => {
            Err(first)
        }
        other => other,
    }
}

/// IllegalOperation "Transaction numbers are only allowed on a replica set
/// member or mongos": a standalone mongod refusing a retryable write.
fn is_retryable_writes_unsupported(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Command { code: 20, message, .. } if message.starts_with("Transaction numbers")
    )
}

/// The retryable-writes spec's replacement message for that error.
fn retryable_writes_unsupported(error: Error) -> Error {
    let labels = error.labels().to_vec();
    let code_name = error.code_name().unwrap_or("IllegalOperation").to_owned();
    Error::new(ErrorKind::Command {
        code: 20,
        code_name,
        message: "This MongoDB deployment does not support retryable writes. Please add retryWrites=false to your connection string.".to_owned(),
    })
    .with_labels(labels)
}

/// A timestamp's order key.
pub(crate) fn key(t: Timestamp) -> (u32, u32) {
    (t.time, t.increment)
}

/// Merges `afterClusterTime` into an existing read concern.
pub(crate) fn with_after_cluster_time(
    read_concern: Option<&Document>,
    time: Timestamp,
) -> Document {
    let mut read_concern = read_concern.cloned().unwrap_or_default();
    read_concern.insert("afterClusterTime", Bson::Timestamp(time));
    read_concern
}

/// The write concern for a commit retry: the transaction's, with
/// `w: "majority"` and a `wtimeout` so the retry cannot hang.
pub(crate) fn majority(write_concern: Option<&Document>) -> Document {
    let mut concern = write_concern.cloned().unwrap_or_default();
    concern.insert("w", "majority");
    if !concern.contains_key("wtimeout") {
        concern.insert("wtimeout", 10_000);
    }
    concern
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn standalone_refusing_txn_numbers_gets_the_specs_message() {
        let error = |code: i32, message: &str| {
            Error::new(ErrorKind::Command {
                code,
                code_name: "IllegalOperation".to_owned(),
                message: message.to_owned(),
            })
        };
        let check = |input: Error, expected: bool| {
            assert_eq!(is_retryable_writes_unsupported(&input), expected, "{input}");
        };
        let refused = "Transaction numbers are only allowed on a replica set member or mongos";
        check(error(20, refused), true);
        check(error(20, "something else"), false);
        check(error(2, refused), false);
        let rewritten = retryable_writes_unsupported(error(20, refused)).to_string();
        assert!(rewritten.contains("retryWrites=false"), "{rewritten}");
    }

    #[test]
    fn majority_keeps_other_fields_and_adds_a_wtimeout() {
        let check = |input: Option<Document>, expected: Document| {
            assert_eq!(majority(input.as_ref()), expected);
        };
        check(None, doc! {"w": "majority", "wtimeout": 10_000});
        check(
            Some(doc! {"w": 1, "j": true}),
            doc! {"w": "majority", "j": true, "wtimeout": 10_000},
        );
        check(
            Some(doc! {"wtimeout": 5}),
            doc! {"wtimeout": 5, "w": "majority"},
        );
    }
}
