//! Operation outcomes: the client's results as the documents the format
//! expects (`insertedId`, `matchedCount`, ...), and the `expectError`
//! checks against a [`rotor::Error`].

use bson::{Bson, Document, doc};
use rotor::{
    DeleteResult, ErrorKind, InsertManyResult, InsertOneResult, PartialResult, UpdateResult,
};

use crate::matcher::{NoEntities, matches_root};
use crate::model::ExpectedError;

/// Why an operation did not produce a result.
#[derive(Debug)]
pub enum OpError {
    /// The client (or the server through it) returned an error: the
    /// operation's outcome, to be checked against `expectError`.
    Client(rotor::Error),
    /// The runner could not run the operation as written (unsupported
    /// operation or option, a missing entity, a failed assertion).
    Runner(String),
}

impl From<rotor::Error> for OpError {
    fn from(error: rotor::Error) -> OpError {
        OpError::Client(error)
    }
}

impl From<String> for OpError {
    fn from(message: String) -> OpError {
        OpError::Runner(message)
    }
}

impl From<&str> for OpError {
    fn from(message: &str) -> OpError {
        OpError::Runner(message.to_owned())
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::Client(error) => write!(f, "{error}"),
            OpError::Runner(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for OpError {
    /// The client error, so `with_transaction` reads its labels.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpError::Client(error) => Some(error),
            OpError::Runner(_) => None,
        }
    }
}

/// What an operation returned: `None` for operations without a result.
pub type OpResult = Result<Option<Bson>, OpError>;

/// A non-negative integer given as any numeric type.
pub fn as_u64(value: &Bson) -> Option<u64> {
    match value {
        Bson::Int32(n) => u64::try_from(*n).ok(),
        Bson::Int64(n) => u64::try_from(*n).ok(),
        Bson::Double(n) if *n >= 0.0 && n.fract() == 0.0 => Some(*n as u64),
        _ => None,
    }
}

/// A count as the int64 drivers report it.
fn count(n: u64) -> Bson {
    Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The result of a `w: 0` write, which reports nothing else.
fn unacknowledged() -> Bson {
    doc! {"acknowledged": false}.into()
}

/// `insertOne`'s result.
pub fn insert_one(result: InsertOneResult) -> Bson {
    if !result.acknowledged {
        return unacknowledged();
    }
    doc! {"insertedId": result.inserted_id}.into()
}

/// `insertMany`'s result: `insertedIds` keyed by position.
pub fn insert_many(result: InsertManyResult) -> Bson {
    if !result.acknowledged {
        return unacknowledged();
    }
    let ids: Document = result
        .inserted_ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| (i.to_string(), id))
        .collect();
    doc! {"insertedIds": ids}.into()
}

/// An update's or replace's result.
pub fn update(result: UpdateResult) -> Bson {
    if !result.acknowledged {
        return unacknowledged();
    }
    let mut out = doc! {
        "matchedCount": count(result.matched_count),
        "modifiedCount": count(result.modified_count),
        "upsertedCount": count(u64::from(result.upserted_id.is_some())),
    };
    if let Some(id) = result.upserted_id {
        out.insert("upsertedId", id);
    }
    out.into()
}

/// A delete's result.
pub fn delete(result: DeleteResult) -> Bson {
    if !result.acknowledged {
        return unacknowledged();
    }
    doc! {"deletedCount": count(result.deleted_count)}.into()
}

/// A bulk write's result, ids keyed by model position.
pub fn bulk(result: rotor::BulkWriteResult) -> Bson {
    if !result.acknowledged {
        return unacknowledged();
    }
    let by_position = |ids: std::collections::BTreeMap<usize, Bson>| -> Document {
        ids.into_iter().map(|(i, id)| (i.to_string(), id)).collect()
    };
    doc! {
        "deletedCount": count(result.deleted_count),
        "insertedCount": count(result.inserted_count),
        "matchedCount": count(result.matched_count),
        "modifiedCount": count(result.modified_count),
        "upsertedCount": count(result.upserted_count),
        "insertedIds": by_position(result.inserted_ids),
        "upsertedIds": by_position(result.upserted_ids),
    }
    .into()
}

/// A client bulk write's result; the per-operation maps only when the
/// client reported them (verbose results).
pub fn client_bulk(result: rotor::ClientBulkWriteResult) -> Bson {
    if !result.acknowledged {
        return unacknowledged();
    }
    let mut out = doc! {
        "insertedCount": count(result.inserted_count),
        "upsertedCount": count(result.upserted_count),
        "matchedCount": count(result.matched_count),
        "modifiedCount": count(result.modified_count),
        "deletedCount": count(result.deleted_count),
    };
    if let Some(inserts) = result.insert_results {
        let map: Document = inserts
            .into_iter()
            .map(|(i, id)| (i.to_string(), Bson::Document(doc! {"insertedId": id})))
            .collect();
        out.insert("insertResults", map);
    }
    if let Some(updates) = result.update_results {
        let map: Document = updates
            .into_iter()
            .map(|(i, u)| {
                let mut entry = doc! {
                    "matchedCount": count(u.matched_count),
                    "modifiedCount": count(u.modified_count),
                };
                if let Some(id) = u.upserted_id {
                    entry.insert("upsertedId", id);
                }
                (i.to_string(), Bson::Document(entry))
            })
            .collect();
        out.insert("updateResults", map);
    }
    if let Some(deletes) = result.delete_results {
        let map: Document = deletes
            .into_iter()
            .map(|(i, n)| {
                (
                    i.to_string(),
                    Bson::Document(doc! {"deletedCount": count(n)}),
                )
            })
            .collect();
        out.insert("deleteResults", map);
    }
    out.into()
}

/// A count's result.
pub fn number(n: u64) -> Bson {
    count(n)
}

/// Matches an expected partial result; an absent one (`Null`) matches
/// only `{$$unsetOrMatches: ...}`.
fn matches_partial_result(want: &Bson, actual: &Bson) -> Result<(), String> {
    match (want, actual) {
        (Bson::Document(w), Bson::Null) if w.contains_key("$$unsetOrMatches") => Ok(()),
        (_, Bson::Null) => Err("the error carries no partial result".to_owned()),
        _ => matches_root(want, actual, &NoEntities),
    }
}

/// Matches write errors keyed by position: the same positions, each
/// error matched as a root document.
fn matches_write_errors(want: &Document, actual: &Document) -> Result<(), String> {
    let want_keys: Vec<&String> = want.keys().collect();
    let actual_keys: Vec<&String> = actual.keys().collect();
    if want_keys != actual_keys {
        return Err(format!("expected positions {want_keys:?}, got {actual:?}"));
    }
    for (key, value) in want {
        let got = actual.get(key).cloned().unwrap_or(Bson::Null);
        matches_root(value, &got, &NoEntities)?;
    }
    Ok(())
}

/// A write error as the format describes one (`code`, `message`,
/// `details`), keyed by its position.
fn write_error(error: &rotor::WriteError) -> (String, Bson) {
    let mut out = doc! {"code": error.code, "message": error.message.clone()};
    if let Some(details) = &error.details {
        out.insert("details", details.clone());
    }
    (error.index.to_string(), Bson::Document(out))
}

/// A write concern error as the format describes one.
fn write_concern_error(error: &rotor::WriteConcernError) -> Bson {
    let mut out = doc! {"code": error.code, "message": error.message.clone()};
    if let Some(details) = &error.details {
        out.insert("details", details.clone());
    }
    Bson::Document(out)
}

/// Whether the error arose in the client rather than in a server reply.
fn is_client_error(error: &rotor::Error) -> bool {
    !matches!(
        error.kind(),
        ErrorKind::Command { .. } | ErrorKind::Write { .. } | ErrorKind::WriteConcern { .. }
    ) && !matches!(error.kind(), ErrorKind::Timeout { last } if !is_client_error(last))
}

/// Checks `error` against `expectError`.
pub fn check_error(expected: &ExpectedError, error: &rotor::Error) -> Result<(), String> {
    let fail = |what: String| Err(format!("{what}; the error was: {error}"));
    if let Some(want) = expected.is_client_error
        && want != is_client_error(error)
    {
        return fail(format!("expected isClientError {want}"));
    }
    if expected.is_timeout_error == Some(true) {
        return fail("expected a timeout error (CSOT is not implemented)".to_owned());
    }
    if let Some(part) = &expected.error_contains
        && !error
            .to_string()
            .to_lowercase()
            .contains(&part.to_lowercase())
    {
        return fail(format!("expected the message to contain {part:?}"));
    }
    if let Some(code) = expected.error_code
        && error.code() != Some(code)
    {
        return fail(format!("expected code {code}"));
    }
    if let Some(name) = &expected.error_code_name
        && error.code_name() != Some(name.as_str())
    {
        return fail(format!("expected code name {name}"));
    }
    for label in expected.error_labels_contain.iter().flatten() {
        if !error.has_label(label) {
            return fail(format!("expected label {label}"));
        }
    }
    for label in expected.error_labels_omit.iter().flatten() {
        if error.has_label(label) {
            return fail(format!("expected no label {label}"));
        }
    }
    if let Some(want) = &expected.error_response {
        let Some(response) = error.server_response() else {
            return fail("expected an errorResponse, the error has none".to_owned());
        };
        let actual = Bson::Document(response.clone());
        if let Err(why) = matches_root(&Bson::Document(want.clone()), &actual, &NoEntities) {
            return fail(format!("errorResponse: {why}"));
        }
    }
    if let Some(key) = expected.other.keys().next() {
        return fail(format!("expectError.{key} is not supported"));
    }
    let failure = error.write_failure();
    if let Some(want) = &expected.expect_result {
        let actual = match failure.and_then(|f| f.partial_result.clone()) {
            Some(PartialResult::Bulk(result)) => bulk(result),
            Some(PartialResult::ClientBulk(result)) => client_bulk(result),
            Some(_) => return fail("expectResult: an unknown partial result".to_owned()),
            None => Bson::Null,
        };
        if let Err(why) = matches_partial_result(want, &actual) {
            return fail(format!("expectResult: {why}"));
        }
    }
    if let Some(want) = &expected.write_errors {
        let actual: Document = failure
            .map(|f| f.write_errors.iter().map(write_error).collect())
            .unwrap_or_default();
        if let Err(why) = matches_write_errors(want, &actual) {
            return fail(format!("writeErrors: {why}"));
        }
    }
    if let Some(want) = &expected.write_concern_errors {
        let actual: Vec<Bson> = failure
            .map(|f| {
                f.write_concern_errors
                    .iter()
                    .map(write_concern_error)
                    .collect()
            })
            .unwrap_or_default();
        if want.len() != actual.len() {
            return fail(format!("writeConcernErrors: expected {want:?}"));
        }
        for (want, actual) in want.iter().zip(&actual) {
            if let Err(why) = matches_root(want, actual, &NoEntities) {
                return fail(format!("writeConcernErrors: {why}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error() -> rotor::Error {
        rotor::Error::new(ErrorKind::Command {
            code: 112,
            code_name: "WriteConflict".into(),
            message: "Write conflict during plan execution".into(),
        })
    }

    fn check(expected: ExpectedError, ok: bool) {
        let result = check_error(&expected, &server_error());
        assert_eq!(result.is_ok(), ok, "{expected:?}: {result:?}");
    }

    #[test]
    fn expect_error_checks_each_field() {
        check(ExpectedError::default(), true);
        check(
            ExpectedError {
                is_client_error: Some(false),
                ..Default::default()
            },
            true,
        );
        check(
            ExpectedError {
                is_client_error: Some(true),
                ..Default::default()
            },
            false,
        );
        check(
            ExpectedError {
                error_code: Some(112),
                ..Default::default()
            },
            true,
        );
        check(
            ExpectedError {
                error_code: Some(11000),
                ..Default::default()
            },
            false,
        );
        check(
            ExpectedError {
                error_code_name: Some("WriteConflict".into()),
                ..Default::default()
            },
            true,
        );
        check(
            ExpectedError {
                error_contains: Some("write CONFLICT".into()),
                ..Default::default()
            },
            true,
        );
        check(
            ExpectedError {
                error_labels_contain: Some(vec!["TransientTransactionError".into()]),
                ..Default::default()
            },
            false,
        );
        check(
            ExpectedError {
                error_labels_omit: Some(vec!["TransientTransactionError".into()]),
                ..Default::default()
            },
            true,
        );
    }

    /// An unordered insert of `_id`s 1, 1, 2: one duplicate at position 1.
    async fn bulk_error() -> rotor::Error {
        let client = rotor::Client::in_memory().unwrap();
        let coll = client.database("t").collection::<Document>("c");
        let docs = vec![doc! {"_id": 1}, doc! {"_id": 1}, doc! {"_id": 2}];
        coll.insert_many(docs).ordered(false).await.unwrap_err()
    }

    fn parse(json: &str) -> ExpectedError {
        serde_json::from_str(json).unwrap()
    }

    #[tokio::test]
    async fn expect_error_checks_the_reply_and_the_partial_result() {
        let client = rotor::Client::in_memory().unwrap();
        let command_error = client
            .database("db")
            .run_command(doc! {"nosuchcommand": 1})
            .await
            .unwrap_err();
        let bulk = bulk_error().await;
        let check = |json: &str, error: &rotor::Error, ok: bool| {
            let result = check_error(&parse(json), error);
            assert_eq!(result.is_ok(), ok, "{json}: {result:?}");
        };
        check(r#"{"errorResponse": {"code": 59}}"#, &command_error, true);
        check(r#"{"errorResponse": {"code": 60}}"#, &command_error, false);
        check(
            r#"{"errorResponse": {"nosuchfield": 1}}"#,
            &command_error,
            false,
        );
        check(
            r#"{"expectResult": {"insertedCount": 1}}"#,
            &command_error,
            false,
        );
        check(r#"{"errorResponse": {"code": 11000}}"#, &bulk, true);
        check(r#"{"expectResult": {"insertedCount": 2}}"#, &bulk, true);
        check(r#"{"expectResult": {"insertedCount": 3}}"#, &bulk, false);
        check(r#"{"writeErrors": {"1": {"code": 11000}}}"#, &bulk, true);
        check(r#"{"writeErrors": {"0": {"code": 11000}}}"#, &bulk, false);
        check(r#"{"writeErrors": {}}"#, &bulk, false);
        check(r#"{"writeConcernErrors": []}"#, &bulk, true);
        check(r#"{"writeConcernErrors": [{"code": 64}]}"#, &bulk, false);
    }
}
