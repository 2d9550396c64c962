//! [`Action`]: an operation not yet sent, awaited to run it. Builder
//! methods add a session or options first: `coll.find_one(f).session(&mut s).await`.
//!
//! An action holds the command document; options are written into it as
//! mongod spells them, at the top level or, for `update`/`delete`, into the
//! one statement.

use std::future::IntoFuture;

use bson::{Bson, Document};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::exec::Kind;
use crate::session::ClientSession;
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
}

impl<'a, R> Action<'a, R> {
    pub(crate) fn new(
        client: Client,
        db: &str,
        command: Document,
        kind: Kind,
        finish: Finish<R>,
    ) -> Self {
        Action {
            client,
            db: db.to_owned(),
            command,
            kind,
            session: None,
            finish,
            error: None,
        }
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

    /// The order documents are read in (find, `find_one_and_*`).
    pub fn sort(mut self, sort: Document) -> Self {
        self.command.insert("sort", sort);
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

    /// Returns at most `limit` documents (find).
    pub fn limit(mut self, limit: i64) -> Self {
        self.command.insert("limit", limit);
        self
    }

    /// Skips the first `skip` documents (find).
    pub fn skip(mut self, skip: i64) -> Self {
        self.command.insert("skip", skip);
        self
    }

    /// How many documents each batch of a cursor holds (find, aggregate).
    pub fn batch_size(mut self, batch_size: i32) -> Self {
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
                mut session,
                finish,
                error,
            } = self;
            if let Some(error) = error {
                return Err(error);
            }
            let reply = client
                .execute(&db, command.clone(), kind, session.as_deref_mut())
                .await?;
            let cursor_fields = match session {
                Some(session) => {
                    session.learn_snapshot_time(&reply);
                    session.cursor_fields()
                }
                None => Document::new(),
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
