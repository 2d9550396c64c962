//! [`Database`]: a named database of a [`Client`].

use bson::{Document, doc};

use crate::action::{Action, Finished};
use crate::client::Client;
use crate::collection::Collection;
use crate::exec::Kind;

/// A database. Cheap to clone; nothing is sent until an action runs.
#[derive(Clone, Debug)]
pub struct Database {
    client: Client,
    name: String,
}

impl Database {
    pub(crate) fn new(client: Client, name: &str) -> Database {
        Database {
            client,
            name: name.to_owned(),
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client this database belongs to.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The collection `name`, its documents read and written as `T`
    /// (any serde type; [`Document`] when unsure).
    pub fn collection<T>(&self, name: &str) -> Collection<T> {
        Collection::new(self.clone(), name)
    }

    /// Runs any command on this database and returns its reply; `ok: 0`
    /// replies become errors.
    pub fn run_command(&self, command: Document) -> Action<'static, Document> {
        Action::new(
            self.client.clone(),
            &self.name,
            command,
            Kind::Other,
            |f: Finished| Ok(f.reply),
        )
    }

    /// Drops the database and all its collections.
    pub fn drop(&self) -> Action<'static, ()> {
        Action::new(
            self.client.clone(),
            &self.name,
            doc! {"dropDatabase": 1},
            Kind::Other,
            |_| Ok(()),
        )
    }
}
