//! [`Collection::bulk_write`]: a mixed list of inserts, updates, replaces
//! and deletes sent as few `insert`/`update`/`delete` commands as the CRUD
//! spec allows.
//!
//! Ordered (the default): consecutive models of one kind share a command,
//! and the first error stops the bulk. Unordered: all inserts, then all
//! updates, then all deletes, each kind one command, and every command is
//! sent; the first error is returned at the end, carrying every command's
//! write errors and write concern errors and the partial result
//! ([`crate::Error::write_failure`]). A command or network error also
//! carries the partial result: what the commands before it wrote. Results
//! and errors are mapped back to the models' positions (`upserted_ids`,
//! `inserted_ids`, `index`).

use std::collections::BTreeMap;
use std::future::IntoFuture;

use bson::{Bson, Document, doc};

use crate::action::Finished;
use crate::collection::{Collection, unacknowledged, with_id, write_kind};
use crate::error::{Error, Result};
use crate::reply;
use crate::session::ClientSession;
use crate::transport::BoxFuture;
use crate::write_failure::PartialResult;

/// One write of a bulk write.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WriteModel {
    /// Inserts `document` (given an `ObjectId` `_id` if it has none).
    InsertOne {
        /// The document.
        document: Document,
    },
    /// Updates the first document matching `filter`.
    UpdateOne {
        /// Which document.
        filter: Document,
        /// Update operators or a pipeline.
        update: Bson,
        /// Statement options as mongod spells them (`upsert`,
        /// `arrayFilters`, `hint`, `collation`, `sort`).
        options: Document,
    },
    /// Updates every document matching `filter`.
    UpdateMany {
        /// Which documents.
        filter: Document,
        /// Update operators or a pipeline.
        update: Bson,
        /// Statement options (`upsert`, `arrayFilters`, `hint`, `collation`).
        options: Document,
    },
    /// Replaces the first document matching `filter`.
    ReplaceOne {
        /// Which document.
        filter: Document,
        /// The new document (no operators).
        replacement: Document,
        /// Statement options (`upsert`, `hint`, `collation`, `sort`).
        options: Document,
    },
    /// Deletes the first document matching `filter`.
    DeleteOne {
        /// Which document.
        filter: Document,
        /// Statement options (`hint`, `collation`).
        options: Document,
    },
    /// Deletes every document matching `filter`.
    DeleteMany {
        /// Which documents.
        filter: Document,
        /// Statement options (`hint`, `collation`).
        options: Document,
    },
}

/// The outcome of a bulk write.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct BulkWriteResult {
    /// Documents inserted by `InsertOne` models.
    pub inserted_count: u64,
    /// Documents matched by updates and replaces.
    pub matched_count: u64,
    /// Documents changed by updates and replaces.
    pub modified_count: u64,
    /// Documents deleted.
    pub deleted_count: u64,
    /// Documents inserted by upserts.
    pub upserted_count: u64,
    /// The `_id` of each upsert, by model position.
    pub upserted_ids: BTreeMap<usize, Bson>,
    /// The `_id` of each inserted document, by model position.
    pub inserted_ids: BTreeMap<usize, Bson>,
    /// False when the write concern was `w: 0` (the counts then mean
    /// nothing).
    pub acknowledged: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Family {
    Insert,
    Update,
    Delete,
}

impl WriteModel {
    fn family(&self) -> Family {
        match self {
            WriteModel::InsertOne { .. } => Family::Insert,
            WriteModel::UpdateOne { .. }
            | WriteModel::UpdateMany { .. }
            | WriteModel::ReplaceOne { .. } => Family::Update,
            WriteModel::DeleteOne { .. } | WriteModel::DeleteMany { .. } => Family::Delete,
        }
    }

    /// The model as one entry of its command's `documents`, `updates` or
    /// `deletes`.
    fn statement(&self) -> Result<Document> {
        let with = |mut statement: Document, options: &Document| {
            statement.extend(options.clone());
            statement
        };
        Ok(match self {
            WriteModel::InsertOne { document } => with_id(document)?,
            WriteModel::UpdateOne {
                filter,
                update,
                options,
            }
            | WriteModel::UpdateMany {
                filter,
                update,
                options,
            } => {
                check_update(update)?;
                let multi = matches!(self, WriteModel::UpdateMany { .. });
                with(
                    doc! {"q": filter.clone(), "u": update.clone(), "multi": multi},
                    options,
                )
            }
            WriteModel::ReplaceOne {
                filter,
                replacement,
                options,
            } => {
                check_replacement(replacement)?;
                let u = Bson::Document(replacement.clone());
                with(doc! {"q": filter.clone(), "u": u, "multi": false}, options)
            }
            WriteModel::DeleteOne { filter, options } => {
                with(doc! {"q": filter.clone(), "limit": 1}, options)
            }
            WriteModel::DeleteMany { filter, options } => {
                with(doc! {"q": filter.clone(), "limit": 0}, options)
            }
        })
    }
}

pub(crate) fn check_update(update: &Bson) -> Result<()> {
    match update {
        Bson::Document(d) if !d.keys().next().is_some_and(|k| k.starts_with('$')) => Err(
            Error::invalid_state("update document must contain only update operators"),
        ),
        _ => Ok(()),
    }
}

/// A replacement must be a plain document: operators would make it an
/// update.
pub(crate) fn check_replacement(replacement: &Document) -> Result<()> {
    match replacement
        .keys()
        .next()
        .is_some_and(|k| k.starts_with('$'))
    {
        true => Err(Error::invalid_state(
            "replacement document must not contain update operators",
        )),
        false => Ok(()),
    }
}

/// A bulk write ready to run: `.await` it.
#[must_use = "a bulk write does nothing until awaited"]
pub struct BulkWrite<'a> {
    collection: Collection<Document>,
    models: Vec<WriteModel>,
    ordered: bool,
    /// Top-level options every command gets (`comment`, `let`, ...).
    options: Document,
    session: Option<&'a mut ClientSession>,
}

impl Collection<Document> {
    /// Runs `models` as a bulk write.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// use bson::doc;
    /// use rotor::WriteModel;
    /// let client = rotor::Client::in_memory()?;
    /// let coll = client.database("db").collection::<bson::Document>("c");
    /// let result = coll
    ///     .bulk_write(vec![
    ///         WriteModel::InsertOne { document: doc! {"_id": 1} },
    ///         WriteModel::DeleteOne { filter: doc! {"_id": 1}, options: doc! {} },
    ///     ])
    ///     .await?;
    /// assert_eq!((result.inserted_count, result.deleted_count), (1, 1));
    /// # Ok(()) }
    /// ```
    pub fn bulk_write(&self, models: Vec<WriteModel>) -> BulkWrite<'static> {
        BulkWrite {
            collection: self.clone(),
            models,
            ordered: true,
            options: Document::new(),
            session: None,
        }
    }
}

impl<'a> BulkWrite<'a> {
    /// Runs the bulk in `session` (and in its transaction, if any).
    pub fn session<'b>(self, session: &'b mut ClientSession) -> BulkWrite<'b> {
        BulkWrite {
            collection: self.collection,
            models: self.models,
            ordered: self.ordered,
            options: self.options,
            session: Some(session),
        }
    }

    /// Whether the first error stops the bulk (`true`, the default).
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// A top-level option every command of the bulk carries, as mongod
    /// spells it: `comment`, `let`, `bypassDocumentValidation`.
    pub fn option(mut self, key: &str, value: impl Into<Bson>) -> Self {
        self.options.insert(key, value);
        self
    }

    /// The models' positions grouped into commands.
    fn batches(&self) -> Vec<(Family, Vec<usize>)> {
        let mut batches: Vec<(Family, Vec<usize>)> = Vec::new();
        let mut positions: Vec<usize> = (0..self.models.len()).collect();
        if !self.ordered {
            positions.sort_by_key(|&i| self.models.get(i).map(WriteModel::family));
        }
        for i in positions {
            let Some(family) = self.models.get(i).map(WriteModel::family) else {
                continue;
            };
            match batches.last_mut() {
                Some((last, members)) if *last == family => members.push(i),
                _ => batches.push((family, vec![i])),
            }
        }
        batches
    }

    async fn run(mut self) -> Result<BulkWriteResult> {
        if self.models.is_empty() {
            return Err(Error::invalid_state(
                "a bulk write needs at least one model",
            ));
        }
        let mut result = BulkWriteResult {
            acknowledged: true,
            ..BulkWriteResult::default()
        };
        let mut first_error: Option<Error> = None;
        for (family, members) in self.batches() {
            let outcome = self.run_batch(family, &members, &mut result).await;
            if let Err(error) = outcome {
                match &mut first_error {
                    Some(first) => first.merge_write_failure(error),
                    None => first_error = Some(error),
                }
                if self.ordered {
                    break;
                }
            }
        }
        match first_error {
            Some(mut error) => {
                // What the commands before the failing one wrote is known
                // whatever stopped the bulk: a write error, a command
                // error, or a network error after the one retry.
                if error.is_from_reply() || error.is_network() {
                    error.set_partial_result(PartialResult::Bulk(result));
                }
                Err(error)
            }
            None => Ok(result),
        }
    }

    async fn run_batch(
        &mut self,
        family: Family,
        members: &[usize],
        result: &mut BulkWriteResult,
    ) -> Result<()> {
        let statements = members
            .iter()
            .filter_map(|&i| self.models.get(i))
            .map(WriteModel::statement)
            .collect::<Result<Vec<Document>>>()?;
        let name = self.collection.name().to_owned();
        let mut command = match family {
            Family::Insert => doc! {"insert": name, "documents": statements.clone()},
            Family::Update => doc! {"update": name, "updates": statements.clone()},
            Family::Delete => doc! {"delete": name, "deletes": statements.clone()},
        };
        command.insert("ordered", self.ordered);
        command.extend(self.options.clone());
        let kind = write_kind(members.iter().any(|&i| {
            matches!(
                self.models.get(i),
                Some(WriteModel::UpdateMany { .. } | WriteModel::DeleteMany { .. })
            )
        }));
        let action = self.collection.action(command, kind, |f: Finished| {
            Ok((f.reply, !unacknowledged(&f.command)))
        });
        let sent = match self.session.as_deref_mut() {
            Some(session) => action.session(session).into_future().await,
            None => action.into_future().await,
        };
        let (reply, acknowledged) = match sent {
            Ok(sent) => sent,
            Err(mut error) => {
                error.remap_write_indices(|i| members.get(i).copied().unwrap_or(usize::MAX));
                if let Some(reply) = error.write_reply() {
                    let failed: Vec<usize> = error
                        .write_failure()
                        .map(|f| f.write_errors.iter().map(|e| e.index).collect())
                        .unwrap_or_default();
                    let skipped = self.skipped(members, &failed);
                    account(family, members, &skipped, &statements, reply, result);
                }
                return Err(error);
            }
        };
        result.acknowledged &= acknowledged;
        account(family, members, &[], &statements, &reply, result);
        Ok(())
    }

    /// The model positions of a failed command that it did not apply: the
    /// failed ones, and when ordered every one from the first failure on.
    fn skipped(&self, members: &[usize], failed: &[usize]) -> Vec<usize> {
        let first_failed = failed.iter().min().copied().unwrap_or(usize::MAX);
        members
            .iter()
            .copied()
            .filter(|i| match self.ordered {
                true => *i >= first_failed,
                false => failed.contains(i),
            })
            .collect()
    }
}

/// Adds one command's reply to the bulk's result. `members` are the model
/// positions of the command's `statements`, in order; `skipped` those it
/// did not apply (its failed statements, and after them when ordered).
fn account(
    family: Family,
    members: &[usize],
    skipped: &[usize],
    statements: &[Document],
    reply: &Document,
    result: &mut BulkWriteResult,
) {
    let n = reply::count(reply, "n");
    match family {
        Family::Insert => {
            result.inserted_count += n;
            for (&i, statement) in members.iter().zip(statements) {
                if skipped.contains(&i) {
                    continue;
                }
                if let Some(id) = statement.get("_id") {
                    result.inserted_ids.insert(i, id.clone());
                }
            }
        }
        Family::Update => {
            let upserted = reply.get_array("upserted").cloned().unwrap_or_default();
            for entry in upserted.iter().filter_map(Bson::as_document) {
                let index = entry.get("index").map(|b| match b {
                    Bson::Int32(i) => *i as usize,
                    Bson::Int64(i) => *i as usize,
                    _ => usize::MAX,
                });
                if let (Some(&position), Some(id)) =
                    (index.and_then(|i| members.get(i)), entry.get("_id"))
                {
                    result.upserted_ids.insert(position, id.clone());
                }
            }
            let upserts = upserted.len() as u64;
            result.upserted_count += upserts;
            result.matched_count += n.saturating_sub(upserts);
            result.modified_count += reply::count(reply, "nModified");
        }
        Family::Delete => result.deleted_count += n,
    }
}

impl<'a> IntoFuture for BulkWrite<'a> {
    type Output = Result<BulkWriteResult>;
    type IntoFuture = BoxFuture<'a, Result<BulkWriteResult>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
