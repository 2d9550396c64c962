//! The one error type of the client: what went wrong ([`ErrorKind`]) plus
//! the error labels mongod or the driver attached to it.
//!
//! Labels live beside the kind, not inside it, because the driver adds
//! labels of its own (`UnknownTransactionCommitResult`,
//! `TransientTransactionError` after network errors) to errors of any kind.

use bson::Document;

use crate::write_failure::{PartialResult, WriteFailure};

/// The label on errors after which a whole transaction may be retried.
pub const TRANSIENT_TRANSACTION_ERROR: &str = "TransientTransactionError";
/// The label on commit errors after which the commit may be retried.
pub const UNKNOWN_TRANSACTION_COMMIT_RESULT: &str = "UnknownTransactionCommitResult";
/// The label mongod puts on errors after which a write may be retried.
pub const RETRYABLE_WRITE_ERROR: &str = "RetryableWriteError";

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Any failure of a client operation.
///
/// ```
/// # #[tokio::main] async fn main() {
/// let client = rotor::Client::in_memory().unwrap();
/// let error = client.database("db").run_command(bson::doc! {"nosuchcommand": 1}).await.unwrap_err();
/// assert_eq!(error.code(), Some(59));
/// assert_eq!(error.code_name(), Some("CommandNotFound"));
/// # }
/// ```
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
    labels: Vec<String>,
    /// The server document the error was made from (see
    /// [`Error::server_response`]).
    response: Option<Box<Document>>,
    /// What a failed bulk or many-document write did and every way it
    /// failed (see [`Error::write_failure`]).
    write_failure: Option<Box<WriteFailure>>,
    /// The whole reply of a failed write command, from which a bulk
    /// computes what the command did write.
    write_reply: Option<Box<Document>>,
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The command failed (`ok: 0`).
    #[error("{code_name} ({code}): {message}")]
    Command {
        /// mongod's numeric code.
        code: i32,
        /// mongod's code name, e.g. `WriteConflict`.
        code_name: String,
        /// The server's `errmsg`.
        message: String,
    },
    /// A write failed for one of its documents (`writeErrors`).
    #[error("write error at index {index}: {code_name} ({code}): {message}")]
    Write {
        /// Which document or model failed: its position in the caller's
        /// list (for a bulk split into several commands, not the
        /// position within one command).
        index: usize,
        /// mongod's numeric code, e.g. 11000 for a duplicate key.
        code: i32,
        /// mongod's code name, where the reply carries one.
        code_name: String,
        /// The server's `errmsg`.
        message: String,
    },
    /// The write was applied but its write concern was not satisfied.
    #[error("write concern error: {code_name} ({code}): {message}")]
    WriteConcern {
        /// mongod's numeric code.
        code: i32,
        /// mongod's code name.
        code_name: String,
        /// The server's `errmsg`.
        message: String,
    },
    /// The connection to the server failed or was closed.
    #[error("network error: {message}")]
    Network {
        /// What happened.
        message: String,
    },
    /// No suitable server (a primary, or the one host of a direct
    /// connection) was found within `serverSelectionTimeoutMS`.
    #[error("server selection timed out: {message}")]
    ServerSelection {
        /// What each server said, or why none answered.
        message: String,
    },
    /// The server refused the client's credentials, or the SCRAM
    /// conversation went wrong.
    #[error("authentication failed: {message}")]
    Authentication {
        /// The server's or the client's reason.
        message: String,
        /// The server's code (AuthenticationFailed, 18, for a wrong
        /// password or an unknown user), if the server refused.
        code: Option<i32>,
        /// The server's code name, if the server refused.
        code_name: Option<String>,
    },
    /// An argument or option is invalid: a malformed connection string, an
    /// unreadable certificate file, a command over the server's size limit.
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// What is wrong with it.
        message: String,
    },
    /// The API was used in a way the session state machine forbids, e.g. a
    /// session used after `end_session`.
    #[error("{message}")]
    InvalidState {
        /// Why the call was refused.
        message: String,
    },
    /// The server's reply was not what the command promises.
    #[error("malformed reply: {reply}")]
    MalformedReply {
        /// The reply as received.
        reply: Document,
    },
    /// `with_transaction` ran out of time; the source is the last error.
    #[error("with_transaction timed out")]
    Timeout {
        /// The error that made the last attempt fail.
        #[source]
        last: Error,
    },
    /// A document could not be converted to BSON.
    #[error("cannot serialize a document")]
    Serialize(#[from] bson::error::Error),
    /// The embedded engine could not be opened.
    #[error("cannot open the engine")]
    Open(#[from] engine::OpenError),
    /// A blocking engine call did not complete (its task panicked or the
    /// runtime is shutting down).
    #[error("the engine task failed")]
    Join(#[from] tokio::task::JoinError),
}

impl Error {
    /// An error of this kind with no labels.
    pub fn new(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
            labels: Vec::new(),
            response: None,
            write_failure: None,
            write_reply: None,
        }
    }

    pub(crate) fn with_write_reply(mut self, reply: Document) -> Error {
        self.write_reply = Some(Box::new(reply));
        self
    }

    /// The whole reply of a write command that reported write errors.
    pub(crate) fn write_reply(&self) -> Option<&Document> {
        self.write_reply.as_deref()
    }

    /// Renames statement positions of one command to the positions of the
    /// caller's models, in the kind and in the write failure.
    pub(crate) fn remap_write_indices(&mut self, position: impl Fn(usize) -> usize) {
        if let ErrorKind::Write { index, .. } = &mut *self.kind {
            *index = position(*index);
        }
        for error in self
            .write_failure
            .iter_mut()
            .flat_map(|f| &mut f.write_errors)
        {
            error.index = position(error.index);
        }
    }

    /// Adds a later command's write errors and write concern errors to
    /// this error's failure.
    pub(crate) fn merge_write_failure(&mut self, later: Error) {
        let Some(later) = later.write_failure else {
            return;
        };
        match &mut self.write_failure {
            Some(failure) => {
                failure.write_errors.extend(later.write_errors);
                failure
                    .write_concern_errors
                    .extend(later.write_concern_errors);
            }
            None => self.write_failure = Some(later),
        }
    }

    /// Records what a many-document write wrote before this error, in its
    /// write failure (made empty if the error had none: a command or
    /// network error that stopped a bulk).
    pub(crate) fn set_partial_result(&mut self, partial: PartialResult) {
        self.write_failure
            .get_or_insert_with(Box::default)
            .partial_result = Some(partial);
    }

    pub(crate) fn write_failure_mut(&mut self) -> Option<&mut WriteFailure> {
        self.write_failure.as_deref_mut()
    }

    pub(crate) fn with_response(mut self, response: Document) -> Error {
        self.response = Some(Box::new(response));
        self
    }

    pub(crate) fn with_write_failure(mut self, failure: WriteFailure) -> Error {
        self.write_failure = Some(Box::new(failure));
        self
    }

    /// The server's document this error was made from: the whole reply
    /// for a command error (`ok: 0`, with any extra fields such as
    /// `keyPattern`/`keyValue` or `errInfo`), the `writeErrors` entry for a
    /// write error, and the `writeConcernError` document for a write
    /// concern error. `None` for errors that arose in the client (network,
    /// server selection, invalid arguments); for a `with_transaction`
    /// timeout, the last error's.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let client = rotor::Client::in_memory().unwrap();
    /// let error = client.database("db").run_command(bson::doc! {"nosuchcommand": 1}).await.unwrap_err();
    /// let reply = error.server_response().unwrap();
    /// assert_eq!(reply.get_i32("code").unwrap(), 59);
    /// # }
    /// ```
    pub fn server_response(&self) -> Option<&Document> {
        match (&self.response, &*self.kind) {
            (Some(response), _) => Some(response),
            (None, ErrorKind::Timeout { last }) => last.server_response(),
            (None, _) => None,
        }
    }

    /// For a failed write: every write error and write concern error the
    /// server reported, and, for a bulk write or `insert_many`, what was
    /// written before or despite them. A [`crate::Collection::bulk_write`]
    /// stopped by a command or network error has one too, with no write
    /// errors and the partial result. `None` for other errors without a
    /// write reply (command errors, network errors); for a
    /// `with_transaction` timeout, the last error's.
    pub fn write_failure(&self) -> Option<&WriteFailure> {
        match (&self.write_failure, &*self.kind) {
            (Some(failure), _) => Some(failure),
            (None, ErrorKind::Timeout { last }) => last.write_failure(),
            (None, _) => None,
        }
    }

    pub(crate) fn with_labels(mut self, labels: Vec<String>) -> Error {
        self.labels = labels;
        self
    }

    pub(crate) fn invalid_state(message: &str) -> Error {
        Error::new(ErrorKind::InvalidState {
            message: message.to_owned(),
        })
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// mongod's numeric error code, if the server reported one (for a
    /// timeout, the code of the last error).
    pub fn code(&self) -> Option<i32> {
        match &*self.kind {
            ErrorKind::Command { code, .. }
            | ErrorKind::Write { code, .. }
            | ErrorKind::WriteConcern { code, .. } => Some(*code),
            ErrorKind::Authentication { code, .. } => *code,
            ErrorKind::Timeout { last } => last.code(),
            _ => None,
        }
    }

    /// mongod's code name, e.g. `"WriteConflict"`, if the server sent one.
    pub fn code_name(&self) -> Option<&str> {
        match &*self.kind {
            ErrorKind::Command { code_name, .. }
            | ErrorKind::Write { code_name, .. }
            | ErrorKind::WriteConcern { code_name, .. } => Some(code_name),
            ErrorKind::Authentication { code_name, .. } => code_name.as_deref(),
            ErrorKind::Timeout { last } => last.code_name(),
            _ => None,
        }
    }

    /// The error labels, from the server and from the driver.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Whether the error carries `label`.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }

    pub(crate) fn add_label(&mut self, label: &str) {
        if !self.has_label(label) {
            self.labels.push(label.to_owned());
        }
    }

    pub(crate) fn is_network(&self) -> bool {
        matches!(*self.kind, ErrorKind::Network { .. })
    }

    /// Whether the error is what a server's reply said (a command, write
    /// or write concern error), not one that arose in the client.
    pub(crate) fn is_from_reply(&self) -> bool {
        matches!(
            *self.kind,
            ErrorKind::Command { .. } | ErrorKind::Write { .. } | ErrorKind::WriteConcern { .. }
        )
    }

    pub(crate) fn is_server_selection(&self) -> bool {
        matches!(*self.kind, ErrorKind::ServerSelection { .. })
    }

    /// The error the server reported in a `writeConcernError`, if any.
    pub(crate) fn is_write_concern(&self) -> bool {
        matches!(*self.kind, ErrorKind::WriteConcern { .. })
    }

    /// A timeout wrapping `last`, keeping its labels so callers can still
    /// tell a transient failure.
    pub(crate) fn timeout(last: Error) -> Error {
        let labels = last.labels.clone();
        Error::new(ErrorKind::Timeout { last }).with_labels(labels)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.labels.is_empty() {
            write!(f, " (labels: {})", self.labels.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.kind.source()
    }
}

impl<K: Into<ErrorKind>> From<K> for Error {
    fn from(kind: K) -> Error {
        Error::new(kind.into())
    }
}
