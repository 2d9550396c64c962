//! The generic fields every command may carry: session, transaction,
//! concerns, time limit. Parsed once, before the command itself, borrowing
//! from the command document: nothing is copied on the way in.

use std::time::{Duration, Instant};

use bson::{Bson, Document};
use mql::Code;

use super::CommandError;

/// `maxTimeMS` is at most this (mongod: `INT_MAX` milliseconds).
pub const MAX_TIME_MS_MAX: i64 = i32::MAX as i64;

#[derive(Debug, Default)]
pub struct Envelope<'a> {
    pub lsid: Option<&'a Document>,
    pub txn_number: Option<i64>,
    pub autocommit: Option<bool>,
    pub start_transaction: bool,
    pub read_concern: Option<&'a Document>,
    pub write_concern: Option<&'a Document>,
    pub deadline: Option<Instant>,
    pub cluster_time: Option<bson::Timestamp>,
}

impl<'a> Envelope<'a> {
    pub fn parse(body: &'a Document) -> Result<Envelope<'a>, CommandError> {
        let mut envelope = Envelope::default();
        for (field, value) in body {
            match field.as_str() {
                "lsid" => envelope.lsid = Some(as_document(field, value)?),
                "txnNumber" => envelope.txn_number = Some(as_long(field, value)?),
                "autocommit" => envelope.autocommit = Some(as_bool(field, value)?),
                "startTransaction" => envelope.start_transaction = as_bool(field, value)?,
                "readConcern" => envelope.read_concern = Some(as_document(field, value)?),
                "writeConcern" => envelope.write_concern = Some(as_document(field, value)?),
                "maxTimeMS" => envelope.deadline = deadline(value)?,
                "$clusterTime" => envelope.cluster_time = cluster_time(value),
                _ => {}
            }
        }
        Ok(envelope)
    }

    /// In a multi-document transaction (`autocommit: false`).
    pub fn in_transaction(&self) -> bool {
        self.autocommit == Some(false)
    }
}

fn as_document<'a>(field: &str, value: &'a Bson) -> Result<&'a Document, CommandError> {
    match value {
        Bson::Document(doc) => Ok(doc),
        other => Err(type_error(field, "object", other)),
    }
}

fn as_long(field: &str, value: &Bson) -> Result<i64, CommandError> {
    match value {
        Bson::Int64(n) => Ok(*n),
        Bson::Int32(n) => Ok(i64::from(*n)),
        other => Err(type_error(field, "long", other)),
    }
}

fn as_bool(field: &str, value: &Bson) -> Result<bool, CommandError> {
    match value {
        Bson::Boolean(b) => Ok(*b),
        other => Err(type_error(field, "bool", other)),
    }
}

fn type_error(field: &str, expected: &str, value: &Bson) -> CommandError {
    CommandError::new(
        Code::TYPE_MISMATCH,
        format!(
            "BSON field '{field}' is the wrong type '{}', expected type '{expected}'",
            type_name(value)
        ),
    )
}

pub use mql::order::type_name;

fn deadline(value: &Bson) -> Result<Option<Instant>, CommandError> {
    let ms = match mql::order::Number::of(value) {
        Some(mql::order::Number::Int(n)) => n,
        Some(mql::order::Number::Double(d)) if d.fract() == 0.0 && d.is_finite() => d as i64,
        _ => {
            return Err(CommandError::new(
                Code::BAD_VALUE,
                "maxTimeMS must be a number",
            ));
        }
    };
    if !(0..=MAX_TIME_MS_MAX).contains(&ms) {
        return Err(CommandError::new(
            Code::BAD_VALUE,
            format!("{ms} value for maxTimeMS is out of range"),
        ));
    }
    // 0 means no limit.
    Ok((ms > 0).then(|| Instant::now() + Duration::from_millis(ms as u64)))
}

fn cluster_time(value: &Bson) -> Option<bson::Timestamp> {
    match value {
        Bson::Document(doc) => match doc.get("clusterTime") {
            Some(Bson::Timestamp(ts)) => Some(*ts),
            _ => None,
        },
        _ => None,
    }
}
