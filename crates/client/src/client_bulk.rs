//! [`Client::bulk_write`]: one `bulkWrite` command (MongoDB 8.0) carrying
//! writes to any number of collections, with per-operation results when
//! asked for (`verbose_results`).
//!
//! The whole bulk is one command: batches beyond the server's
//! `maxWriteBatchSize` or message size are not split here (the server
//! refuses them instead). A failed bulk returns the error of the first
//! operation that failed (or its write concern error), carrying every
//! failed operation by model position, the write concern errors, and the
//! partial result when some operation succeeded
//! ([`crate::Error::write_failure`]).

use std::collections::BTreeMap;
use std::future::IntoFuture;

use bson::{Bson, Document, doc};

use crate::action::{Action, Finished};
use crate::bulk::{WriteModel, check_replacement, check_update};
use crate::client::Client;
use crate::collection::{Concerns, unacknowledged, with_id};
use crate::cursor::Cursor;
use crate::error::{Error, ErrorKind, Result};
use crate::exec::Kind;
use crate::reply;
use crate::session::ClientSession;
use crate::transport::BoxFuture;
use crate::write_failure::{PartialResult, WriteConcernError, WriteError, WriteFailure};

/// What one update or replace of a client bulk write did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateOutcome {
    /// Documents matched.
    pub matched_count: u64,
    /// Documents changed.
    pub modified_count: u64,
    /// The `_id` of the upserted document, if one was inserted.
    pub upserted_id: Option<Bson>,
}

/// The outcome of [`Client::bulk_write`].
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ClientBulkWriteResult {
    /// Documents inserted.
    pub inserted_count: u64,
    /// Documents inserted by upserts.
    pub upserted_count: u64,
    /// Documents matched by updates and replaces.
    pub matched_count: u64,
    /// Documents changed by updates and replaces.
    pub modified_count: u64,
    /// Documents deleted.
    pub deleted_count: u64,
    /// With verbose results: each insert's `_id`, by model position.
    pub insert_results: Option<BTreeMap<usize, Bson>>,
    /// With verbose results: each update's outcome, by model position.
    pub update_results: Option<BTreeMap<usize, UpdateOutcome>>,
    /// With verbose results: each delete's count, by model position.
    pub delete_results: Option<BTreeMap<usize, u64>>,
    /// False when the write concern was `w: 0`.
    pub acknowledged: bool,
}

/// A client bulk write ready to run: `.await` it.
#[must_use = "a bulk write does nothing until awaited"]
pub struct ClientBulkWrite<'a> {
    client: Client,
    /// Each model with its namespace, `db.collection`.
    models: Vec<(String, WriteModel)>,
    ordered: bool,
    verbose: bool,
    options: Document,
    concerns: Concerns,
    write_concern: Option<Document>,
    retry_writes: bool,
    session: Option<&'a mut ClientSession>,
}

impl Client {
    /// Runs `models`, each paired with its namespace (`"db.collection"`),
    /// as one `bulkWrite` command.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// use bson::doc;
    /// use rotor::WriteModel;
    /// let client = rotor::Client::in_memory()?;
    /// let result = client
    ///     .bulk_write(vec![
    ///         ("db.a".to_owned(), WriteModel::InsertOne { document: doc! {"_id": 1} }),
    ///         ("db.b".to_owned(), WriteModel::InsertOne { document: doc! {"_id": 1} }),
    ///     ])
    ///     .await?;
    /// assert_eq!(result.inserted_count, 2);
    /// # Ok(()) }
    /// ```
    pub fn bulk_write(&self, models: Vec<(String, WriteModel)>) -> ClientBulkWrite<'static> {
        ClientBulkWrite {
            client: self.clone(),
            models,
            ordered: true,
            verbose: false,
            options: Document::new(),
            concerns: Concerns::default(),
            write_concern: None,
            retry_writes: true,
            session: None,
        }
    }
}

impl<'a> ClientBulkWrite<'a> {
    /// Runs the bulk in `session` (and in its transaction, if any).
    pub fn session<'b>(self, session: &'b mut ClientSession) -> ClientBulkWrite<'b> {
        ClientBulkWrite {
            client: self.client,
            models: self.models,
            ordered: self.ordered,
            verbose: self.verbose,
            options: self.options,
            concerns: self.concerns,
            write_concern: self.write_concern,
            retry_writes: self.retry_writes,
            session: Some(session),
        }
    }

    /// Whether the first error stops the bulk (`true`, the default).
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// Whether the result lists each operation's outcome.
    pub fn verbose_results(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// A top-level option as mongod spells it: `comment`, `let`,
    /// `bypassDocumentValidation`.
    pub fn option(mut self, key: &str, value: impl Into<Bson>) -> Self {
        self.options.insert(key, value);
        self
    }

    /// The write concern to use outside a transaction when none is given
    /// (the client's default).
    pub fn with_concerns(mut self, concerns: Concerns) -> Self {
        self.concerns = concerns;
        self
    }

    /// Whether the bulk is retried once after a retryable error (`true`,
    /// the default, as `retryWrites`); bulks with multi-document writes
    /// never are.
    pub fn retry_writes(mut self, retry_writes: bool) -> Self {
        self.retry_writes = retry_writes;
        self
    }

    /// This bulk's own write concern; refused inside a transaction, whose
    /// commit carries the write concern.
    pub fn write_concern(mut self, concern: Document) -> Self {
        self.write_concern = Some(concern);
        self
    }

    fn command(&self) -> Result<(Document, Kind)> {
        if self.models.is_empty() {
            return Err(Error::invalid_state(
                "a bulk write needs at least one model",
            ));
        }
        let mut namespaces: Vec<String> = Vec::new();
        let mut ops = Vec::with_capacity(self.models.len());
        let mut multi = false;
        for (namespace, model) in &self.models {
            let index = match namespaces.iter().position(|n| n == namespace) {
                Some(index) => index,
                None => {
                    namespaces.push(namespace.clone());
                    namespaces.len() - 1
                }
            };
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            multi |= matches!(
                model,
                WriteModel::UpdateMany { .. } | WriteModel::DeleteMany { .. }
            );
            ops.push(Bson::Document(operation(index, model)?));
        }
        let ns_info: Vec<Document> = namespaces.into_iter().map(|ns| doc! {"ns": ns}).collect();
        let mut command = doc! {
            "bulkWrite": 1,
            "errorsOnly": !self.verbose,
            "ordered": self.ordered,
            "ops": ops,
            "nsInfo": ns_info,
        };
        command.extend(self.options.clone());
        if let Some(concern) = &self.write_concern {
            command.insert("writeConcern", concern.clone());
        }
        // Multi-document writes are not retryable.
        let kind = if multi || !self.retry_writes {
            Kind::Other
        } else {
            Kind::RetryableWrite
        };
        Ok((command, kind))
    }

    async fn run(mut self) -> Result<ClientBulkWriteResult> {
        let in_transaction = self.session.as_ref().is_some_and(|s| s.in_transaction());
        if in_transaction && self.write_concern.is_some() {
            return Err(Error::invalid_state(
                "Cannot set write concern after starting a transaction",
            ));
        }
        let concern = self
            .write_concern
            .as_ref()
            .or(self.concerns.write_concern.as_ref())
            .filter(|_| !in_transaction);
        let unacknowledged =
            concern.is_some_and(|c| unacknowledged(&doc! {"writeConcern": c.clone()}));
        // Without a reply there are no per-operation results, and an
        // ordered bulk could not stop at an error it never hears of.
        if unacknowledged && self.verbose {
            return Err(Error::invalid_state(
                "Cannot request unacknowledged write concern and verbose results",
            ));
        }
        if unacknowledged && self.ordered {
            return Err(Error::invalid_state(
                "Cannot request unacknowledged write concern and ordered writes",
            ));
        }
        // Ids are given before sending, so the result can report them.
        for (_, model) in &mut self.models {
            match model {
                WriteModel::InsertOne { document } => *document = with_id(&*document)?,
                WriteModel::UpdateOne { update, .. } | WriteModel::UpdateMany { update, .. } => {
                    check_update(update)?;
                }
                WriteModel::ReplaceOne { replacement, .. } => check_replacement(replacement)?,
                _ => {}
            }
        }
        let (command, kind) = self.command()?;
        let mut action = Action::new(self.client.clone(), "admin", command, kind, finish);
        if let Some(concern) = self.concerns.write_concern.clone() {
            action = action.default_concern("writeConcern", concern);
        }
        let sent = match self.session.as_deref_mut() {
            Some(session) => action.session(session).into_future().await,
            None => action.into_future().await,
        };
        match sent {
            Ok((_, _, false)) => Ok(ClientBulkWriteResult::default()),
            Ok((summary, cursor, true)) => {
                let entries = cursor.try_collect().await?;
                self.outcome(None, &summary, &entries)
            }
            // A write concern error: the operations ran, and the reply's
            // first batch says how.
            Err(error) => match error.write_reply().cloned() {
                Some(summary) => {
                    let entries = first_batch(&summary);
                    self.outcome(Some(error), &summary, &entries)
                }
                None => Err(error),
            },
        }
    }

    /// The bulk's result, or, if an operation failed or `error` is given,
    /// the error with every failure and the partial result.
    fn outcome(
        &self,
        error: Option<Error>,
        summary: &Document,
        entries: &[Document],
    ) -> Result<ClientBulkWriteResult> {
        let write_errors: Vec<WriteError> = entries
            .iter()
            .filter(|e| !reply::is_ok(e))
            .map(|e| WriteError::from_entry(e, "idx"))
            .collect();
        let (mut error, first) = match (error, entries.iter().find(|e| !reply::is_ok(e))) {
            (Some(error), _) => (error, None),
            (None, Some(first)) => (entry_error(first), Some(first)),
            (None, None) => return Ok(self.result(summary, entries)),
        };
        if let Some(first) = first {
            error = error.with_response(first.clone());
        }
        let failed = write_errors.len();
        let succeeded = match self.ordered {
            true => write_errors.first().map_or(self.models.len(), |e| e.index),
            false => self.models.len().saturating_sub(failed),
        };
        let write_concern_errors = summary
            .get_document("writeConcernError")
            .map(WriteConcernError::from_document)
            .into_iter()
            .collect();
        let partial_result =
            (succeeded > 0).then(|| PartialResult::ClientBulk(self.result(summary, entries)));
        Err(error.with_write_failure(WriteFailure {
            write_errors,
            write_concern_errors,
            partial_result,
        }))
    }

    fn result(&self, summary: &Document, entries: &[Document]) -> ClientBulkWriteResult {
        let mut result = ClientBulkWriteResult {
            inserted_count: count(summary, "nInserted"),
            upserted_count: count(summary, "nUpserted"),
            matched_count: count(summary, "nMatched"),
            modified_count: count(summary, "nModified"),
            deleted_count: count(summary, "nDeleted"),
            acknowledged: true,
            ..ClientBulkWriteResult::default()
        };
        if !self.verbose {
            return result;
        }
        let (mut inserts, mut updates, mut deletes) =
            (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        // A failed operation has no result of its own.
        for entry in entries.iter().filter(|e| reply::is_ok(e)) {
            let idx = count(entry, "idx") as usize;
            match self.models.get(idx).map(|(_, m)| m) {
                Some(WriteModel::InsertOne { document }) => {
                    if let Some(id) = document.get("_id") {
                        inserts.insert(idx, id.clone());
                    }
                }
                Some(WriteModel::DeleteOne { .. } | WriteModel::DeleteMany { .. }) => {
                    deletes.insert(idx, count(entry, "n"));
                }
                Some(_) => {
                    let upserted_id = entry
                        .get_document("upserted")
                        .ok()
                        .and_then(|u| u.get("_id").cloned());
                    updates.insert(
                        idx,
                        UpdateOutcome {
                            matched_count: count(entry, "n"),
                            modified_count: count(entry, "nModified"),
                            upserted_id,
                        },
                    );
                }
                None => {}
            }
        }
        result.insert_results = Some(inserts);
        result.update_results = Some(updates);
        result.delete_results = Some(deletes);
        result
    }
}

/// The error of a failed `bulkWrite` cursor entry.
fn entry_error(entry: &Document) -> Error {
    Error::new(ErrorKind::Write {
        index: count(entry, "idx") as usize,
        code: entry.get_i32("code").unwrap_or(0),
        code_name: entry.get_str("codeName").unwrap_or_default().to_owned(),
        message: entry.get_str("errmsg").unwrap_or_default().to_owned(),
    })
}

/// The entries of a reply's first batch. A reply that came back as an
/// error (a write concern error) is not followed with `getMore`s, so
/// entries beyond it are not reported.
fn first_batch(reply: &Document) -> Vec<Document> {
    reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map(|batch| {
            batch
                .iter()
                .filter_map(Bson::as_document)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The reply's counters, its results cursor, and whether it was
/// acknowledged.
fn finish(f: Finished) -> Result<(Document, Cursor<Document>, bool)> {
    let acknowledged = !unacknowledged(&f.command);
    if !acknowledged {
        let empty = doc! {"cursor": {"firstBatch": [], "id": 0_i64, "ns": "admin.$cmd.bulkWrite"}};
        let finished = Finished { reply: empty, ..f };
        return Ok((Document::new(), Cursor::from_reply(finished)?, false));
    }
    let summary = f.reply.clone();
    Ok((summary, Cursor::from_reply(f)?, true))
}

fn count(document: &Document, key: &str) -> u64 {
    reply::count(document, key)
}

/// One entry of the command's `ops`.
fn operation(ns: i32, model: &WriteModel) -> Result<Document> {
    let with = |mut op: Document, options: &Document| {
        op.extend(options.clone());
        op
    };
    Ok(match model {
        WriteModel::InsertOne { document } => doc! {"insert": ns, "document": document.clone()},
        WriteModel::UpdateOne {
            filter,
            update,
            options,
        } => with(
            doc! {"update": ns, "filter": filter.clone(), "updateMods": update.clone(), "multi": false},
            options,
        ),
        WriteModel::UpdateMany {
            filter,
            update,
            options,
        } => with(
            doc! {"update": ns, "filter": filter.clone(), "updateMods": update.clone(), "multi": true},
            options,
        ),
        WriteModel::ReplaceOne {
            filter,
            replacement,
            options,
        } => with(
            doc! {"update": ns, "filter": filter.clone(), "updateMods": replacement.clone(), "multi": false},
            options,
        ),
        WriteModel::DeleteOne { filter, options } => with(
            doc! {"delete": ns, "filter": filter.clone(), "multi": false},
            options,
        ),
        WriteModel::DeleteMany { filter, options } => with(
            doc! {"delete": ns, "filter": filter.clone(), "multi": true},
            options,
        ),
    })
}

impl<'a> IntoFuture for ClientBulkWrite<'a> {
    type Output = Result<ClientBulkWriteResult>;
    type IntoFuture = BoxFuture<'a, Result<ClientBulkWriteResult>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
