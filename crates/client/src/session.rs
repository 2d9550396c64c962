//! Client sessions and the transaction state machine.
//!
//! States (the transactions spec's): `None` → `start_transaction` →
//! `Starting` → first statement sent → `InProgress` → `commit_transaction`
//! → `Committed`, or `abort_transaction` → `Aborted`. Only
//! `start_transaction` leaves `Committed` or `Aborted` (it increments the
//! `txnNumber`). Committing again in `Committed` re-sends the commit with
//! `w: "majority"`; a transaction that sent nothing commits or aborts
//! without a round trip. An ended session refuses everything.

use std::time::{Duration, Instant};

use bson::{Bson, Document, Timestamp, doc};

use crate::action::{OVERLOAD_RETRIES_MAX, is_overload, overload_backoff};
use crate::client::Client;
use crate::cluster_time::{self, ClusterTime};
use crate::convenient::RetryPolicy;
use crate::error::{Error, RETRYABLE_WRITE_ERROR, Result, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use crate::exec::{self, Kind, keep_first_if_unsent};

/// mongod codes for which a failed commit is not "unknown":
/// UnsatisfiableWriteConcern and UnknownReplWriteConcern.
const WRITE_CONCERN_CODES_CERTAIN: [i32; 2] = [100, 79];
/// MaxTimeMSExpired: the commit's own time limit ran out.
pub(crate) const MAX_TIME_MS_EXPIRED: i32 = 50;

/// The server-side half of a session: its id and transaction number.
#[derive(Debug)]
pub(crate) struct ServerSession {
    pub(crate) id: Document,
    pub(crate) txn_number: i64,
    pub(crate) last_use: Instant,
    /// A network error left the server's state of this session unknown.
    pub(crate) dirty: bool,
}

impl ServerSession {
    pub(crate) fn new() -> ServerSession {
        ServerSession {
            id: doc! {"id": Bson::Binary(bson::Binary::from_uuid(bson::Uuid::new()))},
            txn_number: 0,
            last_use: Instant::now(),
            dirty: false,
        }
    }
}

/// Options for [`Client::start_session`].
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Reads see the session's earlier writes (`afterClusterTime`).
    /// Defaults to true, or false for snapshot sessions.
    pub causal_consistency: Option<bool>,
    /// Used by `start_transaction` for the options it is not given.
    pub default_transaction_options: TransactionOptions,
    /// Reads outside transactions all see one snapshot.
    pub snapshot: bool,
    /// The retry limits and seams of [`ClientSession::with_transaction`].
    pub retry: RetryPolicy,
}

/// Options for one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransactionOptions {
    /// The read concern, e.g. `{level: "snapshot"}`.
    pub read_concern: Option<Document>,
    /// The write concern of the commit, e.g. `{w: "majority"}`.
    pub write_concern: Option<Document>,
    /// The read preference, e.g. `{mode: "primary"}`; transactions read
    /// from the primary only.
    pub read_preference: Option<Document>,
    /// The commit's `maxTimeMS`.
    pub max_commit_time: Option<Duration>,
}

impl TransactionOptions {
    fn or(self, defaults: &TransactionOptions) -> TransactionOptions {
        TransactionOptions {
            read_concern: self.read_concern.or_else(|| defaults.read_concern.clone()),
            write_concern: self
                .write_concern
                .or_else(|| defaults.write_concern.clone()),
            read_preference: self
                .read_preference
                .or_else(|| defaults.read_preference.clone()),
            max_commit_time: self.max_commit_time.or(defaults.max_commit_time),
        }
    }
}

/// Where a session is in the transaction state machine (the transactions
/// spec's states, as drivers' test runners observe them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionState {
    /// No transaction was started, or the session is outside one.
    None,
    /// `start_transaction` was called; no statement was sent yet.
    Starting,
    /// At least one statement of the transaction was sent.
    InProgress,
    /// The transaction was committed (or committing was attempted).
    Committed,
    /// The transaction was aborted.
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnState {
    None,
    Starting,
    InProgress,
    /// `sent`: a commit went to the server (so a retry must re-send it).
    Committed {
        sent: bool,
    },
    Aborted,
}

/// A logical session: causal consistency and transactions.
///
/// ```
/// # #[tokio::main] async fn main() -> rotor::Result<()> {
/// use bson::doc;
/// let client = rotor::Client::in_memory()?;
/// let coll = client.database("db").collection::<bson::Document>("c");
/// let mut session = client.start_session(Default::default())?;
/// session.start_transaction(Default::default())?;
/// coll.insert_one(doc! {"x": 1}).session(&mut session).await?;
/// session.commit_transaction().await?;
/// session.end_session().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientSession {
    client: Client,
    id: Document,
    server: Option<ServerSession>,
    options: SessionOptions,
    cluster_time: Option<ClusterTime>,
    operation_time: Option<Timestamp>,
    snapshot_time: Option<Timestamp>,
    pub(crate) state: TxnState,
    txn_options: TransactionOptions,
}

impl ClientSession {
    pub(crate) fn new(client: Client, options: SessionOptions) -> Result<ClientSession> {
        if options.snapshot && options.causal_consistency == Some(true) {
            return Err(Error::invalid_state(
                "causal consistency and snapshot reads are mutually exclusive",
            ));
        }
        let server = client.check_out();
        Ok(ClientSession {
            id: server.id.clone(),
            server: Some(server),
            client,
            options,
            cluster_time: None,
            operation_time: None,
            snapshot_time: None,
            state: TxnState::None,
            txn_options: TransactionOptions::default(),
        })
    }

    /// The client this session was started from.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The opaque server session identifier, `{id: UUID}`.
    pub fn session_id(&self) -> &Document {
        &self.id
    }

    /// The options the session was started with.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// The latest `$clusterTime` this session has seen.
    pub fn cluster_time(&self) -> Option<&Document> {
        self.cluster_time.as_ref().map(ClusterTime::document)
    }

    pub(crate) fn shared_cluster_time(&self) -> Option<&ClusterTime> {
        self.cluster_time.as_ref()
    }

    /// The operation time of the latest operation in this session.
    pub fn operation_time(&self) -> Option<Timestamp> {
        self.operation_time
    }

    /// Advances the cluster time to `cluster_time` (from another session)
    /// if it is later.
    pub fn advance_cluster_time(&mut self, cluster_time: &Document) {
        let key = cluster_time::key_of(cluster_time);
        if cluster_time::is_later(key, self.cluster_time.as_ref()) {
            self.cluster_time = Some(ClusterTime::new(cluster_time, key));
        }
    }

    /// Lets go of the session's cluster time if a reply's time `key` is
    /// later (so that the client, if it then holds the only reference, may
    /// update its copy in place); returns whether it did. The caller then
    /// gives the session the new time with [`Self::set_cluster_time`].
    pub(crate) fn release_cluster_time_before(&mut self, key: cluster_time::Key) -> bool {
        let later = cluster_time::is_later(key, self.cluster_time.as_ref());
        if later {
            self.cluster_time = None;
        }
        later
    }

    pub(crate) fn set_cluster_time(&mut self, cluster_time: ClusterTime) {
        self.cluster_time = Some(cluster_time);
    }

    /// Advances the operation time to `operation_time` (from another
    /// session) if it is later, so this session's reads see that session's
    /// writes.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// let coll = client.database("db").collection::<bson::Document>("c");
    /// let mut writer = client.start_session(Default::default())?;
    /// coll.insert_one(bson::doc! {"x": 1}).session(&mut writer).await?;
    /// let mut reader = client.start_session(Default::default())?;
    /// reader.advance_operation_time(writer.operation_time().unwrap());
    /// assert_eq!(coll.count_documents(bson::doc! {}).session(&mut reader).await?, 1);
    /// # Ok(()) }
    /// ```
    pub fn advance_operation_time(&mut self, operation_time: Timestamp) {
        if self
            .operation_time
            .is_none_or(|t| exec::key(t) < exec::key(operation_time))
        {
            self.operation_time = Some(operation_time);
        }
    }

    /// Whether a multi-statement transaction is active.
    pub fn in_transaction(&self) -> bool {
        matches!(self.state, TxnState::Starting | TxnState::InProgress)
    }

    /// The session's transaction state.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// use rotor::TransactionState;
    /// let client = rotor::Client::in_memory()?;
    /// let mut session = client.start_session(Default::default())?;
    /// assert_eq!(session.transaction_state(), TransactionState::None);
    /// session.start_transaction(Default::default())?;
    /// assert_eq!(session.transaction_state(), TransactionState::Starting);
    /// session.abort_transaction().await?;
    /// assert_eq!(session.transaction_state(), TransactionState::Aborted);
    /// # Ok(()) }
    /// ```
    pub fn transaction_state(&self) -> TransactionState {
        match self.state {
            TxnState::None => TransactionState::None,
            TxnState::Starting => TransactionState::Starting,
            TxnState::InProgress => TransactionState::InProgress,
            TxnState::Committed { .. } => TransactionState::Committed,
            TxnState::Aborted => TransactionState::Aborted,
        }
    }

    /// Whether a network error left this session's server-side state
    /// unknown; such a session is discarded instead of returning to the
    /// pool when it ends (the driver-sessions spec's "dirty" session).
    pub fn is_dirty(&self) -> bool {
        self.server.as_ref().is_some_and(|s| s.dirty)
    }

    /// Whether [`ClientSession::end_session`] was called.
    pub fn has_ended(&self) -> bool {
        self.server.is_none()
    }

    /// Starts a multi-statement transaction; `options` override the
    /// session's default transaction options.
    pub fn start_transaction(&mut self, options: TransactionOptions) -> Result<()> {
        let Some(server) = self.server.as_mut() else {
            return Err(ended());
        };
        if self.options.snapshot {
            return Err(Error::invalid_state(
                "transactions are not supported in snapshot sessions",
            ));
        }
        if matches!(self.state, TxnState::Starting | TxnState::InProgress) {
            return Err(Error::invalid_state("transaction already in progress"));
        }
        let options = options.or(&self.options.default_transaction_options);
        if options
            .write_concern
            .as_ref()
            .is_some_and(|c| matches!(c.get("w"), Some(Bson::Int32(0) | Bson::Int64(0))))
        {
            return Err(Error::invalid_state(
                "transactions do not support unacknowledged write concern",
            ));
        }
        server.txn_number += 1;
        self.txn_options = options;
        self.state = TxnState::Starting;
        Ok(())
    }

    /// Commits the active transaction. Calling it again after a commit
    /// re-sends the commit with `w: "majority"`, as the transactions spec
    /// requires for retries.
    pub async fn commit_transaction(&mut self) -> Result<()> {
        if self.server.is_none() {
            return Err(ended());
        }
        match self.state {
            TxnState::None => Err(Error::invalid_state("no transaction started")),
            TxnState::Aborted => Err(Error::invalid_state(
                "cannot call commitTransaction after calling abortTransaction",
            )),
            TxnState::Starting | TxnState::Committed { sent: false } => {
                self.state = TxnState::Committed { sent: false };
                Ok(())
            }
            TxnState::InProgress | TxnState::Committed { sent: true } => {
                let retry = self.state != TxnState::InProgress;
                self.state = TxnState::Committed { sent: true };
                self.send_commit(retry).await
            }
        }
    }

    async fn send_commit(&mut self, retry: bool) -> Result<()> {
        let result = match self.send_end("commitTransaction", retry).await {
            Err(error) if retryable_end(&error) => {
                let again = self.send_end("commitTransaction", true).await;
                keep_first_if_unsent(error, again)
            }
            other => other,
        };
        result.map(drop).map_err(label_commit_error)
    }

    /// Sends `commitTransaction` or `abortTransaction` (`name`), resending
    /// it as is (with backoff) while the server sheds it under load. Each
    /// attempt builds the command afresh rather than copying a kept one:
    /// what it is built from does not change between attempts, and most
    /// commands are sent once.
    async fn send_end(&mut self, name: &str, retry: bool) -> Result<Document> {
        let client = self.client.clone();
        let mut retries = 0;
        loop {
            let command = self.end_command(name, retry);
            match client.send("admin", command, Some(self)).await {
                Err(error) if is_overload(&error) && retries < OVERLOAD_RETRIES_MAX => {
                    retries += 1;
                    overload_backoff(retries).await;
                }
                other => return other,
            }
        }
    }

    /// Makes a transaction whose first statement the server shed start
    /// again with the next statement sent.
    pub(crate) fn restart_transaction(&mut self) {
        if self.state == TxnState::InProgress {
            self.state = TxnState::Starting;
        }
    }

    /// Aborts the active transaction. Errors from the server are ignored,
    /// as the transactions spec asks: the server aborts on its own anyway.
    pub async fn abort_transaction(&mut self) -> Result<()> {
        if self.server.is_none() {
            return Err(ended());
        }
        match self.state {
            TxnState::None => Err(Error::invalid_state("no transaction started")),
            TxnState::Committed { .. } => Err(Error::invalid_state(
                "cannot call abortTransaction after calling commitTransaction",
            )),
            TxnState::Aborted => Err(Error::invalid_state("cannot call abortTransaction twice")),
            TxnState::Starting => {
                self.state = TxnState::Aborted;
                Ok(())
            }
            TxnState::InProgress => {
                self.state = TxnState::Aborted;
                let first = self.send_end("abortTransaction", false).await;
                if first.is_err_and(|error| retryable_end(&error)) {
                    let _ignored = self.send_end("abortTransaction", false).await;
                }
                Ok(())
            }
        }
    }

    /// Ends the session, aborting an active transaction; the session
    /// refuses all later use.
    pub async fn end_session(&mut self) {
        if self.state == TxnState::InProgress {
            let _ignored = self.abort_transaction().await;
        }
        if let Some(server) = self.server.take() {
            self.client.check_in(server);
        }
    }

    /// `commitTransaction` or `abortTransaction` with the session fields.
    fn end_command(&self, name: &str, retry: bool) -> Document {
        let mut command = crate::command::build([(name, 1.into())]);
        self.add_transaction_fields(&mut command);
        let concern = if retry {
            Some(exec::majority(self.txn_options.write_concern.as_ref()))
        } else {
            self.txn_options.write_concern.clone()
        };
        if let Some(concern) = concern {
            command.insert("writeConcern", concern);
        }
        if let (Some(limit), "commitTransaction") = (self.txn_options.max_commit_time, name) {
            command.insert(
                "maxTimeMS",
                i64::try_from(limit.as_millis()).unwrap_or(i64::MAX),
            );
        }
        command
    }

    fn add_transaction_fields(&self, command: &mut Document) {
        command.insert("lsid", self.id.clone());
        command.insert("txnNumber", self.txn_number());
        command.insert("autocommit", false);
    }

    fn txn_number(&self) -> i64 {
        self.server.as_ref().map_or(0, |s| s.txn_number)
    }

    /// Adds the fields this session contributes to an operation.
    pub(crate) fn prepare(&mut self, command: &mut Document, kind: Kind) -> Result<()> {
        let Some(server) = self.server.as_mut() else {
            return Err(ended());
        };
        server.last_use = Instant::now();
        let in_transaction = matches!(self.state, TxnState::Starting | TxnState::InProgress);
        if in_transaction && kind == Kind::Read && !self.reads_from_primary() {
            // A transaction reads from the primary only; writes ignore
            // the read preference.
            return Err(Error::invalid_state(
                "read preference in a transaction must be primary",
            ));
        }
        match self.state {
            TxnState::Starting => {
                self.add_transaction_fields(command);
                command.insert("startTransaction", true);
                let mut read_concern = self.txn_options.read_concern.clone();
                if let Some(time) = self.causal_time() {
                    read_concern = Some(exec::with_after_cluster_time(read_concern.as_ref(), time));
                }
                if let Some(read_concern) = read_concern {
                    command.insert("readConcern", read_concern);
                }
                self.state = TxnState::InProgress;
            }
            TxnState::InProgress => self.add_transaction_fields(command),
            TxnState::None | TxnState::Committed { .. } | TxnState::Aborted => {
                // An operation after a transaction ends it for good: a
                // later commit or abort has no transaction to act on.
                self.state = TxnState::None;
                self.prepare_outside_transaction(command, kind);
            }
        }
        Ok(())
    }

    /// Whether the transaction (if any) reads from the primary.
    pub(crate) fn reads_from_primary(&self) -> bool {
        self.txn_options
            .read_preference
            .as_ref()
            .is_none_or(|p| p.get_str("mode").unwrap_or("primary") == "primary")
    }

    fn prepare_outside_transaction(&mut self, command: &mut Document, kind: Kind) {
        command.insert("lsid", self.id.clone());
        if self.options.snapshot {
            // Every command of a snapshot session reads at the snapshot,
            // writes included (the server refuses those).
            let mut read_concern = doc! {"level": "snapshot"};
            if let Some(time) = self.snapshot_time {
                read_concern.insert("atClusterTime", time);
            }
            command.insert("readConcern", read_concern);
        }
        if kind == Kind::RetryableWrite
            && let Some(server) = self.server.as_mut()
        {
            server.txn_number += 1;
            command.insert("txnNumber", server.txn_number);
        }
        // A causally consistent session's commands, writes included, wait
        // for its last operation time (as the transactions spec tests
        // expect of writes after a transaction).
        if !self.options.snapshot
            && let Some(time) = self.causal_time()
        {
            let current = crate::reply::document(command, "readConcern").cloned();
            command.insert(
                "readConcern",
                exec::with_after_cluster_time(current.as_ref(), time),
            );
        }
    }

    fn causal_time(&self) -> Option<Timestamp> {
        let causal = self
            .options
            .causal_consistency
            .unwrap_or(!self.options.snapshot);
        self.operation_time.filter(|_| causal)
    }

    /// Records a snapshot session's read time from its first read.
    pub(crate) fn learn_snapshot_time(&mut self, reply: &Document) {
        if !self.options.snapshot || self.snapshot_time.is_some() {
            return;
        }
        let at = reply
            .get_document("cursor")
            .ok()
            .and_then(|c| c.get_timestamp("atClusterTime").ok())
            .or_else(|| reply.get_timestamp("atClusterTime").ok());
        self.snapshot_time = at;
    }

    /// The fields a `getMore` of a cursor opened now must carry.
    pub(crate) fn cursor_fields(&self) -> Document {
        let mut fields = doc! {"lsid": self.id.clone()};
        if self.state == TxnState::InProgress {
            fields.insert("txnNumber", self.txn_number());
            fields.insert("autocommit", false);
        }
        fields
    }

    pub(crate) fn mark_dirty(&mut self) {
        if let Some(server) = self.server.as_mut() {
            server.dirty = true;
        }
    }
}

fn ended() -> Error {
    Error::invalid_state("cannot use a session that has ended")
}

/// Whether a failed `commitTransaction` or `abortTransaction` is retried
/// once: after a network error, or when the server labelled the error
/// `RetryableWriteError` (servers since 4.4 label every retryable error, so
/// the code alone decides nothing).
fn retryable_end(error: &Error) -> bool {
    error.is_network() || error.has_label(RETRYABLE_WRITE_ERROR)
}

/// Codes after which a commit's outcome is unknown even without the
/// `RetryableWriteError` label: the not-primary, shutting-down and
/// network-ish codes the retryable-writes spec once listed. They no longer
/// make the commit be retried (only the label does), but the transaction
/// may have committed before the member failed, so the caller is told to
/// retry the commit, as the reference driver (PyMongo) does.
const UNKNOWN_COMMIT_CODES: [i32; 12] = [
    11600, 11602, 10107, 13435, 13436, 189, 91, 7, 6, 89, 9001, 262,
];

/// Adds `UnknownTransactionCommitResult` where the transactions spec says
/// the commit's outcome is unknown, and `RetryableWriteError` to network
/// errors (the label a server would have added, had it replied).
fn label_commit_error(mut error: Error) -> Error {
    if error.is_network() {
        error.add_label(RETRYABLE_WRITE_ERROR);
    }
    // No server was found to send the commit to, but an earlier attempt
    // may have reached one: the outcome is unknown.
    let unknown = error.is_retryable()
        || (error.is_from_reply()
            && error
                .code()
                .is_some_and(|c| UNKNOWN_COMMIT_CODES.contains(&c)))
        || error.is_server_selection()
        || error.code() == Some(MAX_TIME_MS_EXPIRED)
        || (error.is_write_concern()
            && !error
                .code()
                .is_some_and(|c| WRITE_CONCERN_CODES_CERTAIN.contains(&c)));
    if unknown {
        error.add_label(UNKNOWN_TRANSACTION_COMMIT_RESULT);
    }
    error
}

impl Drop for ClientSession {
    /// Returns the server session to the pool; an open transaction is
    /// aborted first, on the runtime if there is one (otherwise the server
    /// aborts it when the session times out). The spawned task owns only
    /// the client and the server session, so nothing it drops can spawn
    /// again.
    fn drop(&mut self) {
        let abort = (self.state == TxnState::InProgress)
            .then(|| self.end_command("abortTransaction", false));
        let Some(server) = self.server.take() else {
            return;
        };
        let Some(command) = abort else {
            self.client.check_in(server);
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        runtime.spawn(async move {
            if client.send("admin", command, None).await.is_ok() {
                client.check_in(server);
            }
        });
    }
}
