//! Turning mongod's reply documents into `Result`s: `ok: 0` into a command
//! error, `writeErrors` and `writeConcernError` into write errors, with the
//! reply's `errorLabels` kept on the error.

use bson::{Bson, Document};

use crate::error::{Error, ErrorKind, Result};
use crate::write_failure;

/// The reply if the command fully succeeded; otherwise its first failure,
/// which keeps the server's document ([`Error::server_response`]) and, for
/// write errors, all of them ([`Error::write_failure`]).
pub(crate) fn check(reply: Document) -> Result<Document> {
    // Most replies succeed: one scan of their few top-level names shows
    // there is no failure to read, without a lookup per failure field.
    let ok = is_ok(&reply);
    if ok
        && !reply
            .keys()
            .any(|k| k == "writeErrors" || k == "writeConcernError")
    {
        return Ok(reply);
    }
    let labels = labels(&reply);
    if !ok {
        let kind = ErrorKind::Command {
            code: reply.get_i32("code").unwrap_or(0),
            code_name: string(&reply, "codeName"),
            message: string(&reply, "errmsg"),
        };
        return Err(Error::new(kind).with_labels(labels).with_response(reply));
    }
    let Some(failure) = write_failure::from_reply(&reply) else {
        return Ok(reply);
    };
    let error = first_error(&reply).with_labels(labels);
    Err(error.with_write_failure(failure).with_write_reply(reply))
}

/// The error for a reply's first write error, else its write concern
/// error.
fn first_error(reply: &Document) -> Error {
    if let Some(first) = array(reply, "writeErrors")
        .and_then(|errors| errors.first())
        .and_then(Bson::as_document)
    {
        let kind = ErrorKind::Write {
            index: first.get_i32("index").map_or(0, |i| i.max(0) as usize),
            code: first.get_i32("code").unwrap_or(0),
            code_name: string(first, "codeName"),
            message: string(first, "errmsg"),
        };
        return Error::new(kind).with_response(first.clone());
    }
    let concern = reply
        .get_document("writeConcernError")
        .cloned()
        .unwrap_or_default();
    let kind = ErrorKind::WriteConcern {
        code: concern.get_i32("code").unwrap_or(0),
        code_name: string(&concern, "codeName"),
        message: string(&concern, "errmsg"),
    };
    Error::new(kind).with_response(concern)
}

/// Whether the reply says `ok: 1` (in any numeric type).
pub(crate) fn is_ok(reply: &Document) -> bool {
    reply
        .get("ok")
        .and_then(|ok| match ok {
            Bson::Double(v) => Some(*v),
            Bson::Int32(v) => Some(f64::from(*v)),
            Bson::Int64(v) => Some(*v as f64),
            _ => None,
        })
        .is_some_and(|ok| ok == 1.0)
}

fn string(doc: &Document, key: &str) -> String {
    doc.get_str(key).unwrap_or_default().to_owned()
}

fn labels(reply: &Document) -> Vec<String> {
    array(reply, "errorLabels")
        .map(|labels| {
            labels
                .iter()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The array field `key` of `doc`, if it is one. Unlike
/// `Document::get_array`, a missing field costs nothing: bson builds an
/// error value, with a copy of the key, for every miss, and replies are
/// mostly asked for fields they lack (`writeErrors`, `errorLabels`).
pub(crate) fn array<'a>(doc: &'a Document, key: &str) -> Option<&'a Vec<Bson>> {
    match doc.get(key) {
        Some(Bson::Array(array)) => Some(array),
        _ => None,
    }
}

/// The document field `key` of `doc`, if it is one; as [`array`], a miss
/// costs nothing.
pub(crate) fn document<'a>(doc: &'a Document, key: &str) -> Option<&'a Document> {
    match doc.get(key) {
        Some(Bson::Document(document)) => Some(document),
        _ => None,
    }
}

/// A reply that lacks a field the command promises.
pub(crate) fn malformed(reply: &Document) -> Error {
    Error::new(ErrorKind::MalformedReply {
        reply: reply.clone(),
    })
}

/// A count field (`n`, `nModified`), whatever integer type it came as.
pub(crate) fn count(reply: &Document, key: &str) -> u64 {
    match reply.get(key) {
        Some(Bson::Int32(n)) => (*n).max(0) as u64,
        Some(Bson::Int64(n)) => (*n).max(0) as u64,
        Some(Bson::Double(n)) if *n >= 0.0 => *n as u64,
        _ => 0,
    }
}
