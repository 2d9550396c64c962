//! [`Action`]: an operation not yet sent, awaited to run it. Builder
//! methods add a session or options first: `coll.find_one(f).session(&mut s).await`.
//!
//! An action holds the command document; options are written into it as
//! mongod spells them, at the top level or, for `update`/`delete`, into the
//! one statement.

use std::future::IntoFuture;
use std::time::Duration;

use bson::{Bson, Document, doc};

use crate::client::Client;
use crate::error::{Error, Result, TRANSIENT_TRANSACTION_ERROR};
use crate::exec::Kind;
use crate::session::{ClientSession, SessionOptions, TransactionState};
use crate::transport::BoxFuture;

/// What an action's reply becomes.
pub(crate) type Finish<R> = fn(Finished) -> Result<R>;

/// A reply with what building a cursor from it needs.
pub(crate) struct Finished {
    pub(crate) client: Client,
    pub(crate) db: String,
    pub(crate) reply: Document,
    /// `lsid` (and transaction fields) for the cursor's `getMore`s.
    pub(crate) cursor_fields: Document,
    /// The command as built (before session fields).
    pub(crate) command: Document,
}

/// Which document `find_one_and_update`/`_replace` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnDocument {
    /// The document as it was before the change (the default).
    #[default]
    Before,
    /// The document as the change left it.
    After,
}

/// An operation ready to run: `.await` it.
#[must_use = "an action does nothing until awaited"]
pub struct Action<'a, R> {
    client: Client,
    db: String,
    command: Document,
    kind: Kind,
    session: Option<&'a mut ClientSession>,
    finish: Finish<R>,
    /// An error found while building (e.g. a document serde refused).
    error: Option<Error>,
    /// The collection's or database's concern, sent only outside a
    /// transaction (inside one, the transaction's concerns apply).
    default_concerns: Vec<(&'static str, Document)>,
    /// The read preference, and whether the caller set it on this action
    /// (rather than inheriting it from a collection).
    read_preference: Option<(Document, bool)>,
    /// Without a session of the caller's, run in an implicit one (the
    /// driver-sessions spec: every command carries an `lsid`).
    implicit_session: bool,
    /// A command that reads with the transaction's read preference
    /// (`run_command`), which must then be primary.
    transaction_read: bool,
    /// Whether a read is retried once after a retryable error: the
    /// client's `retryReads` unless the collection or database says
    /// otherwise.
    retry_reads: bool,
    /// Adds what the sent command knows to a failed operation's error
    /// (`insert_many`'s partial result).
    complete_error: Option<CompleteError>,
}

/// Completes an operation's error from the command as sent.
pub(crate) type CompleteError = fn(&Document, &mut Error);

impl<'a, R> Action<'a, R> {
    pub(crate) fn new(
        client: Client,
        db: &str,
        command: Document,
        kind: Kind,
        finish: Finish<R>,
    ) -> Self {
        let retry_reads = client.inner.defaults.retry_reads;
        Action {
            client,
            db: db.to_owned(),
            command,
            kind,
            session: None,
            finish,
            error: None,
            default_concerns: Vec::new(),
            read_preference: None,
            implicit_session: true,
            transaction_read: false,
            retry_reads,
            complete_error: None,
        }
    }

    /// Lets `complete` add to the error of a failed run what the command
    /// as sent knows.
    pub(crate) fn complete_error(mut self, complete: CompleteError) -> Self {
        self.complete_error = Some(complete);
        self
    }

    /// The members the command may read from, e.g. `{mode:
    /// "secondaryPreferred"}`: sent as `$readPreference` unless primary.
    /// Inside a transaction only primary is allowed.
    pub fn read_preference(mut self, preference: Document) -> Self {
        self.read_preference = Some((preference, true));
        self
    }

    /// A collection's read preference, which a transaction's overrides.
    pub(crate) fn default_read_preference(mut self, preference: Document) -> Self {
        self.read_preference = Some((preference, false));
        self
    }

    /// Turns the one retry of a read on or off for this operation
    /// (`retryReads`), in place of the client's, database's or
    /// collection's setting. Writes are not affected.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// let databases = client.list_databases().retry_reads(false).await?;
    /// assert!(databases.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn retry_reads(mut self, retry_reads: bool) -> Self {
        self.retry_reads = retry_reads;
        self
    }

    /// Marks the action as `run_command`'s: sent as given (no implicit
    /// session when the caller gives none), and, inside a transaction,
    /// reading with the transaction's read preference.
    pub(crate) fn for_run_command(mut self) -> Self {
        self.implicit_session = false;
        self.transaction_read = true;
        self
    }

    /// Sends `concern` as `field` (`readConcern` or `writeConcern`) when the
    /// operation runs outside a transaction and sets none of its own. An
    /// empty concern is the server's default and is not sent (the
    /// read/write concern spec: drivers omit a default concern).
    pub(crate) fn default_concern(mut self, field: &'static str, concern: Document) -> Self {
        if !concern.is_empty() {
            self.default_concerns.push((field, concern));
        }
        self
    }

    /// An action that fails with `error` when awaited.
    pub(crate) fn fail(mut self, error: Error) -> Self {
        self.error = Some(error);
        self
    }

    /// Runs the operation in `session` (and in its transaction, if any).
    pub fn session<'b>(self, session: &'b mut ClientSession) -> Action<'b, R> {
        Action {
            client: self.client,
            db: self.db,
            command: self.command,
            kind: self.kind,
            session: Some(session),
            finish: self.finish,
            error: self.error,
            default_concerns: self.default_concerns,
            read_preference: self.read_preference,
            implicit_session: self.implicit_session,
            transaction_read: self.transaction_read,
            retry_reads: self.retry_reads,
            complete_error: self.complete_error,
        }
    }

    /// Inserts an option into the update or delete statement if there is
    /// one, or else at the top level of the command.
    fn statement_option(mut self, key: &str, value: impl Into<Bson>) -> Self {
        let list = if self.command.contains_key("updates") {
            "updates"
        } else {
            "deletes"
        };
        let statement = self
            .command
            .get_array_mut(list)
            .ok()
            .and_then(|statements| statements.first_mut())
            .and_then(|s| s.as_document_mut());
        match statement {
            Some(statement) => {
                statement.insert(key, value);
            }
            None => {
                self.command.insert(key, value);
            }
        }
        self
    }

    /// Inserts a document when none matches (updates, replaces and
    /// `find_one_and_*`).
    pub fn upsert(self, upsert: bool) -> Self {
        self.statement_option("upsert", upsert)
    }

    /// The order documents are read in (find, `find_one_and_*`), or which
    /// document `update_one`/`replace_one` picks.
    pub fn sort(self, sort: Document) -> Self {
        self.statement_option("sort", sort)
    }

    /// The index the query must use, by name or key pattern.
    pub fn hint(self, hint: impl Into<Bson>) -> Self {
        self.statement_option("hint", hint)
    }

    /// The collation strings are compared with, e.g. `{locale: "en", strength: 2}`.
    pub fn collation(self, collation: Document) -> Self {
        self.statement_option("collation", collation)
    }

    /// A comment that the server logs and profiles with the command.
    pub fn comment(self, comment: impl Into<Bson>) -> Self {
        self.top_level("comment", comment)
    }

    /// Variables the filter, update or pipeline reads as `$$name` (`let`).
    pub fn let_vars(self, vars: Document) -> Self {
        self.top_level("let", vars)
    }

    /// Lets writes skip the collection's document validation.
    pub fn bypass_document_validation(self, bypass: bool) -> Self {
        self.top_level("bypassDocumentValidation", bypass)
    }

    /// The server's time limit for the command (`maxTimeMS`).
    pub fn max_time(self, limit: std::time::Duration) -> Self {
        let millis = i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
        self.top_level("maxTimeMS", millis)
    }

    /// Lets a find or aggregate spill large sorts to disk.
    pub fn allow_disk_use(self, allow: bool) -> Self {
        self.top_level("allowDiskUse", allow)
    }

    /// Whether `insert_many` stops at the first error (`true`, the default)
    /// or tries every document.
    pub fn ordered(self, ordered: bool) -> Self {
        self.top_level("ordered", ordered)
    }

    fn top_level(mut self, key: &str, value: impl Into<Bson>) -> Self {
        self.command.insert(key, value);
        self
    }

    /// Which fields to return (find, `find_one_and_*`).
    pub fn projection(mut self, projection: Document) -> Self {
        let key = if self.command.contains_key("findAndModify") {
            "fields"
        } else {
            "projection"
        };
        self.command.insert(key, projection);
        self
    }

    /// Returns (find) or counts (`count`, `count_documents`) at most
    /// `limit` documents.
    pub fn limit(mut self, limit: i64) -> Self {
        match self.count_pipeline() {
            // Before the `$group` that counts.
            Some(pipeline) => pipeline.insert(
                pipeline.len().saturating_sub(1),
                doc! {"$limit": limit}.into(),
            ),
            None => {
                self.command.insert("limit", limit);
            }
        }
        self
    }

    /// Skips the first `skip` documents (find, `count`, `count_documents`).
    pub fn skip(mut self, skip: i64) -> Self {
        match self.count_pipeline() {
            // Right after the `$match`, so a `$limit` counts after skipping.
            Some(pipeline) => pipeline.insert(1.min(pipeline.len()), doc! {"$skip": skip}.into()),
            None => {
                self.command.insert("skip", skip);
            }
        }
        self
    }

    /// The pipeline of a `count_documents` (`$match` ... `$group`), whose
    /// skip and limit are stages rather than fields.
    fn count_pipeline(&mut self) -> Option<&mut Vec<Bson>> {
        let pipeline = self.command.get_array_mut("pipeline").ok()?;
        let counts = pipeline
            .last()
            .and_then(Bson::as_document)
            .and_then(|stage| stage.get_document("$group").ok())
            .is_some_and(|group| group.contains_key("n") && group.len() == 2);
        counts.then_some(pipeline)
    }

    /// How many documents each batch of a cursor holds (find, aggregate).
    pub fn batch_size(mut self, batch_size: i32) -> Self {
        if pipeline_writes(&self.command) && batch_size == 0 {
            // An aggregate that writes returns nothing; a batch size of 0
            // would only make the server keep an empty cursor.
            return self;
        }
        if let Ok(cursor) = self.command.get_document_mut("cursor") {
            cursor.insert("batchSize", batch_size);
        } else {
            self.command.insert("batchSize", batch_size);
        }
        self
    }

    /// Array filters for positional `$[<id>]` updates.
    pub fn array_filters(self, filters: Vec<Document>) -> Self {
        self.statement_option("arrayFilters", filters)
    }

    /// Which document `find_one_and_update`/`_replace` returns.
    pub fn return_document(mut self, which: ReturnDocument) -> Self {
        self.command.insert("new", which == ReturnDocument::After);
        self
    }
}

impl<'a, R: Send + 'a> IntoFuture for Action<'a, R> {
    type Output = Result<R>;
    type IntoFuture = BoxFuture<'a, Result<R>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let Action {
                client,
                db,
                command,
                kind,
                session,
                finish,
                error,
                default_concerns,
                read_preference,
                implicit_session,
                transaction_read,
                retry_reads,
                complete_error,
            } = self;
            if let Some(error) = error {
                return Err(error);
            }
            let mut command = command;
            let in_transaction = session.as_ref().is_some_and(|s| s.in_transaction());
            if transaction_read
                && in_transaction
                && !session.as_ref().is_some_and(|s| s.reads_from_primary())
            {
                return Err(Error::invalid_state(
                    "read preference in a transaction must be primary",
                ));
            }
            for (field, concern) in default_concerns {
                if !in_transaction && !command.contains_key(field) {
                    command.insert(field, concern);
                }
            }
            match read_preference {
                // Inside a transaction its own read preference rules; one
                // set on the operation itself must agree.
                Some((preference, true)) if in_transaction && !is_primary(&preference) => {
                    return Err(Error::invalid_state(
                        "read preference in a transaction must be primary",
                    ));
                }
                Some((preference, _)) if !in_transaction && !is_primary(&preference) => {
                    command.insert("$readPreference", preference);
                }
                _ => {}
            }
            spare_get_more(&mut command);
            let ran = match session {
                Some(session) => run_in(&client, &db, &command, kind, retry_reads, session).await,
                // Unacknowledged writes take no implicit session (the
                // driver-sessions spec): no reply would tell it ended.
                None if implicit_session && !crate::collection::unacknowledged(&command) => {
                    let options = SessionOptions {
                        causal_consistency: Some(false),
                        ..SessionOptions::default()
                    };
                    let mut implicit = ClientSession::new(client.clone(), options)?;
                    let result =
                        run_in(&client, &db, &command, kind, retry_reads, &mut implicit).await;
                    implicit.end_session().await;
                    result
                }
                None => client
                    .execute(&db, command.clone(), kind, None)
                    .await
                    .map(|reply| (reply, Document::new())),
            };
            let (reply, cursor_fields) = match ran {
                Ok(ran) => ran,
                // A `w: 0` write asks for no acknowledgement: whatever the
                // server said of it (a duplicate key, say) is not the
                // caller's to see, as it would not be had no reply been
                // sent. `run_command` (no implicit session) is exempt: its
                // reply is the caller's whatever the command says.
                Err(error)
                    if implicit_session
                        && crate::collection::unacknowledged(&command)
                        && error.is_from_reply() =>
                {
                    (doc! {"ok": 1}, Document::new())
                }
                Err(mut error) => {
                    if let Some(complete) = complete_error {
                        complete(&command, &mut error);
                    }
                    return Err(error);
                }
            };
            finish(Finished {
                client,
                db,
                reply,
                cursor_fields,
                command,
            })
        })
    }
}

/// Runs an operation in `session`, retrying a read once after a retryable
/// error outside a transaction (the retryable-reads spec; writes are
/// retried below, in `execute`). Returns the reply and the fields a cursor
/// opened by it must send with its `getMore`s.
///
/// A cursor of an implicit session keeps sending its `lsid` after the
/// session went back to the pool; the server allows that, as operations
/// outside transactions may share a session one at a time.
async fn run_in(
    client: &Client,
    db: &str,
    command: &Document,
    kind: Kind,
    retry_reads: bool,
    session: &mut ClientSession,
) -> Result<(Document, Document)> {
    let in_transaction = session.in_transaction();
    // The one read retry lives here, not in `Client::execute`, so that the
    // collection's and the client's `retryReads` both count.
    let mut retry_read = retry_reads && kind == Kind::Read && !in_transaction;
    let mut overload_retries = 0;
    let reply = loop {
        let starting = session.transaction_state() == TransactionState::Starting;
        match client
            .execute(db, command.clone(), kind, Some(&mut *session))
            .await
        {
            Err(error) if is_overload(&error) && overload_retries < OVERLOAD_RETRIES_MAX => {
                overload_retries += 1;
                if starting {
                    // The server shed the transaction's first statement, so
                    // the retry starts the transaction again.
                    session.restart_transaction();
                }
                overload_backoff(overload_retries).await;
            }
            Err(error) if retry_read && error.is_retryable_read() => retry_read = false,
            Err(mut error) if in_transaction && is_state_change(&error) => {
                // The member stopped being a writable primary: the
                // transaction is gone with its state, so the whole of it may
                // be retried (drivers treat these as they treat network
                // errors).
                error.add_label(TRANSIENT_TRANSACTION_ERROR);
                return Err(error);
            }
            other => break other?,
        }
    };
    session.learn_snapshot_time(&reply);
    // Only a reply that opened a cursor needs the fields for its
    // `getMore`s; building them for every write would copy the `lsid` for
    // nothing.
    let cursor_fields = match reply.contains_key("cursor") {
        true => session.cursor_fields(),
        false => Document::new(),
    };
    Ok((reply, cursor_fields))
}

/// Retries after an overload error (the client-backpressure spec's
/// `MAX_ADAPTIVE_RETRIES`, as the pinned PyMongo's tests expect).
pub(crate) const OVERLOAD_RETRIES_MAX: u32 = 2;
/// The first overload backoff before jitter; it doubles per retry.
const OVERLOAD_BACKOFF_INITIAL: Duration = Duration::from_millis(100);
/// Overload backoff stops growing here.
const OVERLOAD_BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Whether the server shed the command under load and says it may be
/// retried whatever it is (labels `RetryableError` and
/// `SystemOverloadedError`).
pub(crate) fn is_overload(error: &Error) -> bool {
    error.has_label("RetryableError") && error.has_label("SystemOverloadedError")
}

/// Sleeps before overload retry number `retry` (from 1):
/// `jitter * min(100 ms * 2^(retry - 1), 10 s)`.
pub(crate) async fn overload_backoff(retry: u32) {
    let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
    let grown = OVERLOAD_BACKOFF_INITIAL.as_secs_f64() * 2f64.powi(exponent);
    let capped = grown.min(OVERLOAD_BACKOFF_MAX.as_secs_f64());
    tokio::time::sleep(Duration::from_secs_f64(rand::random::<f64>() * capped)).await;
}

/// mongod's "not primary" and "node is recovering" codes (the SDAM spec's
/// state-change errors): NotWritablePrimary, NotPrimaryNoSecondaryOk,
/// NotPrimaryOrSecondary, InterruptedDueToReplStateChange,
/// PrimarySteppedDown, ShutdownInProgress, InterruptedAtShutdown.
const STATE_CHANGE_CODES: [i32; 7] = [10107, 13435, 13436, 11602, 189, 91, 11600];

fn is_state_change(error: &Error) -> bool {
    matches!(error.kind(), crate::error::ErrorKind::Command { .. })
        && error
            .code()
            .is_some_and(|c| STATE_CHANGE_CODES.contains(&c))
}

fn is_primary(preference: &Document) -> bool {
    preference.get_str("mode").unwrap_or("primary") == "primary"
}

/// Whether a pipeline writes its results (`$out`, `$merge` last), which
/// makes its aggregate take a write concern as well.
pub(crate) fn pipeline_writes(command: &Document) -> bool {
    command
        .get_array("pipeline")
        .ok()
        .and_then(|p| p.last())
        .and_then(Bson::as_document)
        .is_some_and(|stage| stage.contains_key("$out") || stage.contains_key("$merge"))
}

/// A find whose batch size equals its limit asks for one more document, so
/// that the first batch exhausts the cursor and no `getMore` follows (as
/// the CRUD spec tells drivers).
fn spare_get_more(command: &mut Document) {
    if !command.contains_key("find") {
        return;
    }
    let number = |key: &str| match command.get(key) {
        Some(Bson::Int32(n)) => Some(i64::from(*n)),
        Some(Bson::Int64(n)) => Some(*n),
        _ => None,
    };
    if let (Some(limit), Some(batch_size)) = (number("limit"), number("batchSize"))
        && limit > 0
        && limit == batch_size
        && let Ok(spare) = i32::try_from(batch_size + 1)
    {
        command.insert("batchSize", spare);
    }
}
