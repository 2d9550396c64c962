//! Reply documents in mongod's shape.

use bson::{Document, doc};
use mql::Code;

/// A command that failed as a whole: becomes `{ok: 0, errmsg, code, codeName}`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandError {
    pub code: Code,
    pub message: String,
    /// `errorLabels`, such as `TransientTransactionError`.
    pub labels: Vec<String>,
    /// Extra reply fields mongod adds for some codes (e.g. `keyPattern`).
    pub extra: Box<Document>,
}

impl CommandError {
    pub fn new(code: Code, message: impl Into<String>) -> CommandError {
        CommandError {
            code,
            message: message.into(),
            labels: Vec::new(),
            extra: Box::default(),
        }
    }
}

impl From<mql::Error> for CommandError {
    fn from(error: mql::Error) -> CommandError {
        CommandError::new(error.code, error.message)
    }
}

/// An empty success whose `operationTime` is `ts` (commit replies).
pub(crate) fn with_operation_time(ts: crate::clock::Ts) -> Document {
    doc! {"$operationTime": ts.to_bson()}
}

/// Turns a command's outcome into the reply document.
pub(crate) fn finish(result: Result<Document, CommandError>) -> Document {
    match result {
        Ok(mut body) => {
            if !body.contains_key("ok") {
                body.insert("ok", 1.0);
            }
            body
        }
        Err(error) => {
            let mut body = doc! {
                "ok": 0.0,
                "errmsg": error.message,
                "code": error.code.0,
                "codeName": error.code.name().into_owned(),
            };
            if !error.labels.is_empty() {
                body.insert("errorLabels", error.labels.clone());
            }
            body.extend(*error.extra);
            body
        }
    }
}
