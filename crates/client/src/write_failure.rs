//! What a failed many-document write carries besides its first error, as
//! the CRUD spec's `BulkWriteException` and client `bulkWrite` exception
//! do: every per-statement write error (keyed by the position of the
//! user's model or document), every write concern error, and the partial
//! result of what was written.
//!
//! Built from `insert`/`update`/`delete` and `bulkWrite` replies only; an
//! error that arose before any reply (network, invalid argument) has none.

use bson::{Bson, Document};

use crate::bulk::BulkWriteResult;
use crate::client_bulk::ClientBulkWriteResult;

/// Every failure of a bulk write or `insert_many`, and what it wrote.
///
/// ```
/// # #[tokio::main] async fn main() -> rotor::Result<()> {
/// use bson::doc;
/// let client = rotor::Client::in_memory()?;
/// let coll = client.database("db").collection::<bson::Document>("c");
/// coll.insert_one(doc! {"_id": 1}).await?;
/// let error = coll
///     .insert_many(vec![doc! {"_id": 1}, doc! {"_id": 2}])
///     .ordered(false)
///     .await
///     .unwrap_err();
/// let failure = error.write_failure().unwrap();
/// assert_eq!(failure.write_errors[0].index, 0);
/// assert_eq!(failure.write_errors[0].code, 11000);
/// let Some(rotor::PartialResult::Bulk(partial)) = &failure.partial_result else { panic!() };
/// assert_eq!(partial.inserted_count, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct WriteFailure {
    /// Each statement that failed, in the order the server reported them;
    /// an ordered write has at most one.
    pub write_errors: Vec<WriteError>,
    /// Each write concern error, one per command that reported one.
    pub write_concern_errors: Vec<WriteConcernError>,
    /// What was written before or despite the errors. `None` when the
    /// result is unknown, or, for a client bulk write, when nothing
    /// succeeded (the CRUD spec's `partialResult`).
    pub partial_result: Option<PartialResult>,
}

/// One failed statement of a many-document write (a `writeErrors` entry).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WriteError {
    /// The position of the failed model or document in the caller's list.
    pub index: usize,
    /// mongod's numeric code, e.g. 11000 for a duplicate key.
    pub code: i32,
    /// mongod's code name, where the reply carries one.
    pub code_name: String,
    /// The server's `errmsg`.
    pub message: String,
    /// The server's `errInfo` (e.g. why a document failed validation).
    pub details: Option<Document>,
}

/// A write concern the server could not satisfy (a `writeConcernError`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WriteConcernError {
    /// mongod's numeric code.
    pub code: i32,
    /// mongod's code name.
    pub code_name: String,
    /// The server's `errmsg`.
    pub message: String,
    /// The server's `errInfo`.
    pub details: Option<Document>,
}

/// The partial result of a failed many-document write.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PartialResult {
    /// Of a [`crate::Collection::bulk_write`] or
    /// [`crate::Collection::insert_many`].
    Bulk(BulkWriteResult),
    /// Of a [`crate::Client::bulk_write`].
    ClientBulk(ClientBulkWriteResult),
}

impl WriteError {
    /// A `writeErrors` entry (whose position is `index`) or a failed
    /// `bulkWrite` cursor entry (whose position is `idx`).
    pub(crate) fn from_entry(entry: &Document, index_key: &str) -> WriteError {
        WriteError {
            index: position(entry.get(index_key)),
            code: entry.get_i32("code").unwrap_or(0),
            code_name: entry.get_str("codeName").unwrap_or_default().to_owned(),
            message: entry.get_str("errmsg").unwrap_or_default().to_owned(),
            details: entry.get_document("errInfo").ok().cloned(),
        }
    }
}

impl WriteConcernError {
    /// A `writeConcernError` document.
    pub(crate) fn from_document(concern: &Document) -> WriteConcernError {
        WriteConcernError {
            code: concern.get_i32("code").unwrap_or(0),
            code_name: concern.get_str("codeName").unwrap_or_default().to_owned(),
            message: concern.get_str("errmsg").unwrap_or_default().to_owned(),
            details: concern.get_document("errInfo").ok().cloned(),
        }
    }
}

/// A statement index of any integer type; a negative or missing one (a
/// malformed reply) becomes `usize::MAX`, which names no model.
fn position(index: Option<&Bson>) -> usize {
    match index {
        Some(Bson::Int32(i)) => usize::try_from(*i).unwrap_or(usize::MAX),
        Some(Bson::Int64(i)) => usize::try_from(*i).unwrap_or(usize::MAX),
        _ => usize::MAX,
    }
}

/// The failure a write reply reports, if it has `writeErrors` or a
/// `writeConcernError`; indices are the command's statement positions.
pub(crate) fn from_reply(reply: &Document) -> Option<WriteFailure> {
    let write_errors: Vec<WriteError> = crate::reply::array(reply, "writeErrors")
        .map(|errors| {
            errors
                .iter()
                .filter_map(Bson::as_document)
                .map(|e| WriteError::from_entry(e, "index"))
                .collect()
        })
        .unwrap_or_default();
    let write_concern_errors: Vec<WriteConcernError> =
        crate::reply::document(reply, "writeConcernError")
            .map(WriteConcernError::from_document)
            .into_iter()
            .collect();
    if write_errors.is_empty() && write_concern_errors.is_empty() {
        return None;
    }
    Some(WriteFailure {
        write_errors,
        write_concern_errors,
        partial_result: None,
    })
}
