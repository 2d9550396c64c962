//! [`Collection`]: CRUD over one collection, each method building one
//! mongod command (as the CRUD spec maps them) and returning an [`Action`].

use std::marker::PhantomData;

use bson::{Bson, Document, doc, oid::ObjectId};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::action::{Action, Finished};
use crate::bulk::BulkWriteResult;
use crate::command;
use crate::cursor::Cursor;
use crate::database::Database;
use crate::error::{Error, Result};
use crate::exec::Kind;
use crate::names::ListNames;
use crate::reply;
use crate::write_failure::PartialResult;

/// A collection whose documents are read and written as `T`.
///
/// ```
/// # #[tokio::main] async fn main() -> rotor::Result<()> {
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct Item { sku: String, qty: i32 }
/// let client = rotor::Client::in_memory()?;
/// let items = client.database("db").collection::<Item>("items");
/// items.insert_one(Item { sku: "abc".into(), qty: 5 }).await?;
/// let found = items.find_one(bson::doc! {"sku": "abc"}).projection(bson::doc! {"_id": 0}).await?;
/// assert_eq!(found, Some(Item { sku: "abc".into(), qty: 5 }));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Collection<T = Document> {
    db: Database,
    name: String,
    concerns: Concerns,
    retry_writes: bool,
    retry_reads: bool,
    read_preference: Option<Document>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        Collection::new(self.db.clone(), &self.name)
            .with_concerns(self.concerns.clone())
            .with_retry_writes(self.retry_writes)
            .with_retry_reads(self.retry_reads)
            .with_read_preference(self.read_preference.clone())
    }
}

/// The read and write concerns a [`Database`] or [`Collection`] sends with
/// its operations when they run outside a transaction (inside one, the
/// transaction's own concerns apply, as the transactions spec requires).
/// `None` sends nothing, leaving the server's default.
///
/// ```
/// # #[tokio::main] async fn main() -> rotor::Result<()> {
/// let client = rotor::Client::in_memory()?;
/// let concerns = rotor::Concerns {
///     write_concern: Some(bson::doc! {"w": "majority"}),
///     ..Default::default()
/// };
/// let coll = client.database("db").collection::<bson::Document>("c").with_concerns(concerns);
/// coll.insert_one(bson::doc! {"x": 1}).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Concerns {
    /// Sent as `readConcern` with reads, e.g. `{level: "majority"}`.
    pub read_concern: Option<Document>,
    /// Sent as `writeConcern` with writes, e.g. `{w: "majority"}`.
    pub write_concern: Option<Document>,
}

impl Concerns {
    /// These concerns, each falling back to `defaults`' where unset.
    pub fn or(self, defaults: &Concerns) -> Concerns {
        Concerns {
            read_concern: self.read_concern.or_else(|| defaults.read_concern.clone()),
            write_concern: self
                .write_concern
                .or_else(|| defaults.write_concern.clone()),
        }
    }
}

/// The outcome of `insert_one`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InsertOneResult {
    /// The `_id` of the inserted document (generated if it had none).
    pub inserted_id: Bson,
    /// False when the write concern was `w: 0`: the server was not asked
    /// to reply, so the other fields are not meaningful.
    pub acknowledged: bool,
}

/// The outcome of `insert_many`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InsertManyResult {
    /// The `_id`s of the inserted documents, in order.
    pub inserted_ids: Vec<Bson>,
    /// False when the write concern was `w: 0`: the server was not asked
    /// to reply, so the other fields are not meaningful.
    pub acknowledged: bool,
}

/// The outcome of an update or replace.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateResult {
    /// How many documents matched the filter.
    pub matched_count: u64,
    /// How many were changed.
    pub modified_count: u64,
    /// The `_id` of the upserted document, if one was inserted.
    pub upserted_id: Option<Bson>,
    /// False when the write concern was `w: 0`: the server was not asked
    /// to reply, so the other fields are not meaningful.
    pub acknowledged: bool,
}

/// The outcome of a delete.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeleteResult {
    /// How many documents were deleted.
    pub deleted_count: u64,
    /// False when the write concern was `w: 0`: the server was not asked
    /// to reply, so the other fields are not meaningful.
    pub acknowledged: bool,
}

/// An index to create: its key pattern and options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexModel {
    /// The key pattern, e.g. `{sku: 1}`.
    pub keys: Document,
    /// Index options as mongod spells them (`unique`, `name`, ...). A
    /// missing `name` is derived from the keys as mongod does (`sku_1`).
    pub options: Document,
}

impl<T> Collection<T> {
    pub(crate) fn new(db: Database, name: &str) -> Collection<T> {
        Collection {
            concerns: db.concerns().clone(),
            retry_writes: db.retry_writes(),
            retry_reads: db.retry_reads(),
            read_preference: db.read_preference().cloned(),
            db,
            name: name.to_owned(),
            _type: PhantomData,
        }
    }

    /// This collection with `concerns` in place of those it inherited from
    /// its database.
    pub fn with_concerns(mut self, concerns: Concerns) -> Collection<T> {
        self.concerns = concerns;
        self
    }

    /// This collection with retryable writes on (the default) or off
    /// (`retryWrites=false`): when off, writes outside transactions carry
    /// no `txnNumber` and are not retried.
    pub fn with_retry_writes(mut self, retry_writes: bool) -> Collection<T> {
        self.retry_writes = retry_writes;
        self
    }

    /// This collection with retryable reads on (the default) or off
    /// (`retryReads=false`): when off, a read that fails is not retried.
    pub fn with_retry_reads(mut self, retry_reads: bool) -> Collection<T> {
        self.retry_reads = retry_reads;
        self
    }

    /// This collection with a read preference for its reads outside
    /// transactions, e.g. `{mode: "secondaryPreferred"}` (sent as
    /// `$readPreference`; `None` or primary sends nothing).
    pub fn with_read_preference(mut self, preference: Option<Document>) -> Collection<T> {
        self.read_preference = preference;
        self
    }

    /// The concerns this collection sends outside transactions.
    pub fn concerns(&self) -> &Concerns {
        &self.concerns
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database the collection is in.
    pub fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) fn action<R>(
        &self,
        command: Document,
        kind: Kind,
        finish: crate::action::Finish<R>,
    ) -> Action<'static, R> {
        let kind = match kind {
            Kind::RetryableWrite if !self.retry_writes => Kind::Other,
            kind => kind,
        };
        let writes = kind != Kind::Read || crate::action::pipeline_writes(&command);
        let reads = kind == Kind::Read;
        let mut action = Action::new(
            self.db.client().clone(),
            self.db.name(),
            command,
            kind,
            finish,
        );
        if let (true, Some(concern)) = (reads, self.concerns.read_concern.clone()) {
            action = action.default_concern("readConcern", concern);
        }
        if let (true, Some(concern)) = (writes, self.concerns.write_concern.clone()) {
            action = action.default_concern("writeConcern", concern);
        }
        if let (true, Some(preference)) = (reads, self.read_preference.clone()) {
            action = action.default_read_preference(preference);
        }
        // An aggregate that writes (`$out`, `$merge`) is not a retryable
        // read (the retryable-reads spec), nor a retryable write.
        let writing_read = reads && writes;
        action.retry_reads(self.retry_reads && !writing_read)
    }

    /// Updates the first document matching `filter` with `update`
    /// (operators or a pipeline).
    pub fn update_one(
        &self,
        filter: Document,
        update: impl Into<Bson>,
    ) -> Action<'static, UpdateResult> {
        self.update(filter, update.into(), false)
    }

    /// Updates every document matching `filter`.
    pub fn update_many(
        &self,
        filter: Document,
        update: impl Into<Bson>,
    ) -> Action<'static, UpdateResult> {
        self.update(filter, update.into(), true)
    }

    fn update(&self, filter: Document, update: Bson, multi: bool) -> Action<'static, UpdateResult> {
        let error = update_error(&update);
        with_error(self.update_statement(filter, update, multi), error)
    }

    fn update_statement(
        &self,
        filter: Document,
        update: Bson,
        multi: bool,
    ) -> Action<'static, UpdateResult> {
        let statement = doc! {"q": filter, "u": update, "multi": multi};
        self.action(
            command::build([
                ("update", (&self.name).into()),
                ("updates", vec![Bson::Document(statement)].into()),
                ("ordered", true.into()),
            ]),
            write_kind(multi),
            |f| {
                let upserted_id = reply::array(&f.reply, "upserted")
                    .and_then(|u| u.first())
                    .and_then(Bson::as_document)
                    .and_then(|u| u.get("_id").cloned());
                Ok(UpdateResult {
                    acknowledged: !unacknowledged(&f.command),
                    matched_count: reply::count(&f.reply, "n")
                        .saturating_sub(u64::from(upserted_id.is_some())),
                    modified_count: reply::count(&f.reply, "nModified"),
                    upserted_id,
                })
            },
        )
    }

    /// Deletes the first document matching `filter`.
    pub fn delete_one(&self, filter: Document) -> Action<'static, DeleteResult> {
        self.delete(filter, 1)
    }

    /// Deletes every document matching `filter`.
    pub fn delete_many(&self, filter: Document) -> Action<'static, DeleteResult> {
        self.delete(filter, 0)
    }

    fn delete(&self, filter: Document, limit: i32) -> Action<'static, DeleteResult> {
        let statement = doc! {"q": filter, "limit": limit};
        self.action(
            command::build([
                ("delete", (&self.name).into()),
                ("deletes", vec![Bson::Document(statement)].into()),
                ("ordered", true.into()),
            ]),
            write_kind(limit == 0),
            |f| {
                Ok(DeleteResult {
                    acknowledged: !unacknowledged(&f.command),
                    deleted_count: reply::count(&f.reply, "n"),
                })
            },
        )
    }

    /// Counts the documents matching `filter` exactly, as drivers do: an
    /// aggregate of `$match` and `$group`.
    pub fn count_documents(&self, filter: Document) -> Action<'static, u64> {
        let pipeline = vec![
            doc! {"$match": filter},
            doc! {"$group": {"_id": 1, "n": {"$sum": 1}}},
        ];
        let command = doc! {"aggregate": &self.name, "pipeline": pipeline, "cursor": {}};
        self.action(command, Kind::Read, |f| {
            let first = f
                .reply
                .get_document("cursor")
                .and_then(|c| c.get_array("firstBatch"))
                .map_err(|_| reply::malformed(&f.reply))?
                .first()
                .and_then(Bson::as_document)
                .map_or(0, |d| reply::count(d, "n"));
            Ok(first)
        })
    }

    /// Counts the documents matching `filter` with the `count` command, as
    /// the CRUD spec's deprecated `count` does (it may be inexact after an
    /// unclean shutdown, and is refused in transactions; prefer
    /// [`Collection::count_documents`]). Takes `skip`, `limit`, `hint`
    /// and `collation`.
    pub fn count(&self, filter: Document) -> Action<'static, u64> {
        self.action(
            doc! {"count": &self.name, "query": filter},
            Kind::Read,
            |f| Ok(reply::count(&f.reply, "n")),
        )
    }

    /// The collection's indexes, one document each (`key`, `name`, ...).
    pub fn list_indexes(&self) -> Action<'static, Cursor<Document>> {
        self.action(
            doc! {"listIndexes": &self.name},
            Kind::Read,
            Cursor::from_reply,
        )
    }

    /// The names of the collection's indexes (`listIndexes`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// let coll = client.database("db").collection::<bson::Document>("c");
    /// let keys = bson::doc! {"sku": 1};
    /// coll.create_index(rotor::IndexModel { keys, ..Default::default() }).await?;
    /// assert_eq!(coll.list_index_names().await?, ["_id_", "sku_1"]);
    /// # Ok(()) }
    /// ```
    pub fn list_index_names(&self) -> ListNames<'static> {
        ListNames::new(self.list_indexes())
    }

    /// The collection's size from its metadata (the `count` command).
    pub fn estimated_document_count(&self) -> Action<'static, u64> {
        self.action(doc! {"count": &self.name}, Kind::Read, |f| {
            Ok(reply::count(&f.reply, "n"))
        })
    }

    /// The distinct values of `field` among documents matching `filter`.
    pub fn distinct(&self, field: &str, filter: Document) -> Action<'static, Vec<Bson>> {
        let command = doc! {"distinct": &self.name, "key": field, "query": filter};
        self.action(command, Kind::Read, |f| {
            f.reply
                .get_array("values")
                .cloned()
                .map_err(|_| reply::malformed(&f.reply))
        })
    }

    /// Runs an aggregation pipeline.
    pub fn aggregate(&self, pipeline: Vec<Document>) -> Action<'static, Cursor<Document>> {
        let command = doc! {"aggregate": &self.name, "pipeline": pipeline, "cursor": {}};
        self.action(command, Kind::Read, Cursor::from_reply)
    }

    /// Creates an index; returns its name.
    pub fn create_index(&self, index: IndexModel) -> Action<'static, String> {
        let mut spec = doc! {"key": index.keys.clone()};
        spec.extend(index.options);
        if !spec.contains_key("name") {
            let name: Vec<String> = index
                .keys
                .iter()
                .map(|(k, v)| format!("{k}_{}", index_value(v)))
                .collect();
            spec.insert("name", name.join("_"));
        }
        let command = doc! {"createIndexes": &self.name, "indexes": [spec]};
        self.action(command, Kind::Other, |f| {
            let name = f
                .command
                .get_array("indexes")
                .ok()
                .and_then(|i| i.first())
                .and_then(Bson::as_document)
                .and_then(|i| i.get_str("name").ok())
                .unwrap_or_default();
            Ok(name.to_owned())
        })
    }

    /// Drops the index `name` (`dropIndexes` with that name); dropping a
    /// missing index is an error (IndexNotFound, 27).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// let coll = client.database("db").collection::<bson::Document>("c");
    /// let keys = bson::doc! {"sku": 1};
    /// let name = coll.create_index(rotor::IndexModel { keys, ..Default::default() }).await?;
    /// coll.drop_index(&name).await?;
    /// assert_eq!(coll.drop_index(&name).await.unwrap_err().code(), Some(27));
    /// # Ok(()) }
    /// ```
    pub fn drop_index(&self, name: &str) -> Action<'static, ()> {
        let command = doc! {"dropIndexes": &self.name, "index": name};
        self.action(command, Kind::Other, |_| Ok(()))
    }

    /// Drops every index but the one on `_id` (`dropIndexes` with `"*"`).
    pub fn drop_indexes(&self) -> Action<'static, ()> {
        let command = doc! {"dropIndexes": &self.name, "index": "*"};
        self.action(command, Kind::Other, |_| Ok(()))
    }

    /// Drops the collection; dropping a missing one is not an error.
    pub fn drop(&self) -> Action<'static, ()> {
        self.action(doc! {"drop": &self.name}, Kind::Other, |_| Ok(()))
    }
}

/// How a write runs: one that may change many documents (`multi: true`,
/// `limit: 0`) is not retryable (the retryable-writes spec), so it carries
/// no `txnNumber` and is sent once.
pub(crate) fn write_kind(multi: bool) -> Kind {
    match multi {
        true => Kind::Other,
        false => Kind::RetryableWrite,
    }
}

/// How mongod spells a key pattern value in a generated index name.
fn index_value(value: &Bson) -> String {
    match value {
        Bson::String(s) => s.clone(),
        Bson::Int32(n) => n.to_string(),
        Bson::Int64(n) => n.to_string(),
        Bson::Double(n) if n.fract() == 0.0 => format!("{n:.0}"),
        other => other.to_string(),
    }
}

impl<T: Serialize> Collection<T> {
    /// Inserts one document, giving it an `ObjectId` `_id` if it has none.
    pub fn insert_one(&self, document: T) -> Action<'static, InsertOneResult> {
        let (command, error) = self.insert_command(std::slice::from_ref(&document));
        let action = self.action(command, Kind::RetryableWrite, |f| {
            let inserted_id = inserted_ids(&f.command)
                .into_iter()
                .next()
                .unwrap_or(Bson::Null);
            Ok(InsertOneResult {
                inserted_id,
                acknowledged: !unacknowledged(&f.command),
            })
        });
        with_error(action, error)
    }

    /// Inserts documents in order, stopping at the first error.
    pub fn insert_many(&self, documents: Vec<T>) -> Action<'static, InsertManyResult> {
        let (command, error) = self.insert_command(&documents);
        let action = self.action(command, Kind::RetryableWrite, |f| {
            Ok(InsertManyResult {
                acknowledged: !unacknowledged(&f.command),
                inserted_ids: inserted_ids(&f.command),
            })
        });
        with_error(action.complete_error(insert_many_partial_result), error)
    }

    fn insert_command(&self, documents: &[T]) -> (Document, Option<Error>) {
        match documents
            .iter()
            .map(with_id)
            .collect::<Result<Vec<Document>>>()
        {
            Ok(docs) => (
                command::build([
                    ("insert", (&self.name).into()),
                    ("documents", docs.into()),
                    ("ordered", true.into()),
                ]),
                None,
            ),
            Err(error) => (Document::new(), Some(error)),
        }
    }

    /// Replaces the first document matching `filter` with `replacement`.
    pub fn replace_one(&self, filter: Document, replacement: T) -> Action<'static, UpdateResult> {
        match bson::serialize_to_document(&replacement) {
            Ok(replacement) => {
                let error = replacement_error(&replacement);
                with_error(
                    self.update_statement(filter, Bson::Document(replacement), false),
                    error,
                )
            }
            Err(error) => self
                .update_statement(filter, Bson::Null, false)
                .fail(error.into()),
        }
    }
}

/// Whether the command asks for no acknowledgement (`w: 0`).
pub(crate) fn unacknowledged(command: &Document) -> bool {
    reply::document(command, "writeConcern")
        .and_then(|c| c.get("w"))
        .is_some_and(|w| matches!(w, Bson::Int32(0) | Bson::Int64(0)))
}

/// An update document must consist of operators (a plain document would
/// be a replacement; the CRUD spec has drivers refuse it before sending).
/// Pipelines are checked by the server.
fn update_error(update: &Bson) -> Option<Error> {
    match update {
        Bson::Document(d) if !d.keys().next().is_some_and(|k| k.starts_with('$')) => Some(
            Error::invalid_state("update document must contain only update operators"),
        ),
        _ => None,
    }
}

/// A replacement must be a plain document: operators would make it an
/// update (the CRUD spec has drivers refuse it before sending).
fn replacement_error(replacement: &Document) -> Option<Error> {
    replacement
        .keys()
        .next()
        .is_some_and(|k| k.starts_with('$'))
        .then(|| Error::invalid_state("replacement document must not contain update operators"))
}

fn with_error<R>(action: Action<'static, R>, error: Option<Error>) -> Action<'static, R> {
    match error {
        Some(error) => action.fail(error),
        None => action,
    }
}

/// A failed `insert_many`'s partial result, as drivers report it (a bulk
/// write result): the count the server reported, and the ids of the
/// documents that did not fail, which for an ordered insert are those
/// before the first failure.
fn insert_many_partial_result(command: &Document, error: &mut Error) {
    let inserted_count = error.write_reply().map(|r| reply::count(r, "n"));
    let Some((inserted_count, failure)) = inserted_count.zip(error.write_failure_mut()) else {
        return;
    };
    let ordered = command.get_bool("ordered").unwrap_or(true);
    let first_failed = failure.write_errors.first().map_or(usize::MAX, |e| e.index);
    let inserted_ids = inserted_ids(command)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| match ordered {
            true => *i < first_failed,
            false => !failure.write_errors.iter().any(|e| e.index == *i),
        })
        .collect();
    failure.partial_result = Some(PartialResult::Bulk(BulkWriteResult {
        inserted_count,
        inserted_ids,
        acknowledged: true,
        ..BulkWriteResult::default()
    }));
}

fn inserted_ids(command: &Document) -> Vec<Bson> {
    command
        .get_array("documents")
        .map(|docs| {
            docs.iter()
                .filter_map(|d| d.as_document()?.get("_id").cloned())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn with_id<T: Serialize>(document: &T) -> Result<Document> {
    let mut doc = bson::serialize_to_document(document).map_err(Error::from)?;
    if !doc.contains_key("_id") {
        let mut with = doc! {"_id": ObjectId::new()};
        with.extend(doc);
        doc = with;
    }
    Ok(doc)
}

impl<T: DeserializeOwned + Send> Collection<T> {
    /// Finds the documents matching `filter`.
    pub fn find(&self, filter: Document) -> Action<'static, Cursor<T>> {
        self.action(
            doc! {"find": &self.name, "filter": filter},
            Kind::Read,
            Cursor::from_reply,
        )
    }

    /// The first document matching `filter`, if any.
    pub fn find_one(&self, filter: Document) -> Action<'static, Option<T>> {
        let command = doc! {"find": &self.name, "filter": filter, "limit": 1, "singleBatch": true};
        self.action(command, Kind::Read, |f| {
            let first = f
                .reply
                .get_document("cursor")
                .and_then(|c| c.get_array("firstBatch"))
                .map_err(|_| reply::malformed(&f.reply))?
                .first()
                .and_then(Bson::as_document)
                .cloned();
            first
                .map(|d| bson::deserialize_from_document(d).map_err(Error::from))
                .transpose()
        })
    }

    /// Updates the first document matching `filter` and returns it (as it
    /// was, unless `.return_document(ReturnDocument::After)`).
    pub fn find_one_and_update(
        &self,
        filter: Document,
        update: impl Into<Bson>,
    ) -> Action<'static, Option<T>> {
        let update = update.into();
        let error = update_error(&update);
        with_error(
            self.find_and_modify(doc! {"query": filter, "update": update}),
            error,
        )
    }

    /// Deletes the first document matching `filter` and returns it.
    pub fn find_one_and_delete(&self, filter: Document) -> Action<'static, Option<T>> {
        self.find_and_modify(doc! {"query": filter, "remove": true})
    }

    fn find_and_modify(&self, fields: Document) -> Action<'static, Option<T>> {
        let mut command = doc! {"findAndModify": &self.name};
        command.extend(fields);
        self.action(command, Kind::RetryableWrite, value)
    }
}

impl<T: Serialize + DeserializeOwned + Send> Collection<T> {
    /// Replaces the first document matching `filter` and returns it.
    pub fn find_one_and_replace(
        &self,
        filter: Document,
        replacement: T,
    ) -> Action<'static, Option<T>> {
        match bson::serialize_to_document(&replacement) {
            Ok(replacement) => {
                let error = replacement_error(&replacement);
                with_error(
                    self.find_and_modify(doc! {"query": filter, "update": replacement}),
                    error,
                )
            }
            Err(error) => self
                .find_and_modify(doc! {"query": filter})
                .fail(error.into()),
        }
    }
}

/// The `value` of a `findAndModify` reply, `None` for an unacknowledged
/// one.
fn value<T: DeserializeOwned>(f: Finished) -> Result<Option<T>> {
    // Unacknowledged, the document is not the caller's to see.
    if unacknowledged(&f.command) {
        return Ok(None);
    }
    match f.reply.get("value") {
        Some(Bson::Document(doc)) => Ok(Some(bson::deserialize_from_document(doc.clone())?)),
        _ => Ok(None),
    }
}
