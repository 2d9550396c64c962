//! [`Database`]: a named database of a [`Client`].

use bson::{Document, doc};

use crate::action::{Action, Finished};
use crate::client::Client;
use crate::collection::{Collection, Concerns};
use crate::cursor::Cursor;
use crate::exec::Kind;
use crate::names::ListNames;

/// A database. Cheap to clone; nothing is sent until an action runs.
#[derive(Clone, Debug)]
pub struct Database {
    client: Client,
    name: String,
    concerns: Concerns,
    retry_writes: bool,
    retry_reads: bool,
    read_preference: Option<Document>,
}

impl Database {
    /// A database that starts from the client's defaults (the connection
    /// string's concerns and retry switches).
    pub(crate) fn new(client: Client, name: &str) -> Database {
        let defaults = &client.inner.defaults;
        let concerns = Concerns {
            read_concern: defaults.read_concern.clone(),
            write_concern: defaults.write_concern.clone(),
        };
        let (retry_writes, retry_reads) = (defaults.retry_writes, defaults.retry_reads);
        Database {
            client,
            name: name.to_owned(),
            concerns,
            retry_writes,
            retry_reads,
            read_preference: None,
        }
    }

    /// This database with a read preference for reads outside
    /// transactions, which its collections inherit (see
    /// [`Collection::with_read_preference`]).
    pub fn with_read_preference(mut self, preference: Option<Document>) -> Database {
        self.read_preference = preference;
        self
    }

    /// The read preference this database's collections inherit.
    pub fn read_preference(&self) -> Option<&Document> {
        self.read_preference.as_ref()
    }

    /// This database with retryable reads on (the default) or off, which
    /// its collections inherit (see [`Collection::with_retry_reads`]).
    pub fn with_retry_reads(mut self, retry_reads: bool) -> Database {
        self.retry_reads = retry_reads;
        self
    }

    /// Whether this database's reads are retried once.
    pub fn retry_reads(&self) -> bool {
        self.retry_reads
    }

    /// Runs a database-level aggregation (`aggregate: 1`), e.g. one that
    /// starts with `$documents` or `$currentOp`.
    pub fn aggregate(&self, pipeline: Vec<Document>) -> Action<'static, Cursor<Document>> {
        let command = doc! {"aggregate": 1, "pipeline": pipeline, "cursor": {}};
        let writes = crate::action::pipeline_writes(&command);
        let mut action = Action::new(
            self.client.clone(),
            &self.name,
            command,
            Kind::Read,
            Cursor::from_reply,
        );
        if let Some(concern) = self.concerns.read_concern.clone() {
            action = action.default_concern("readConcern", concern);
        }
        if let (true, Some(concern)) = (writes, self.concerns.write_concern.clone()) {
            action = action.default_concern("writeConcern", concern);
        }
        if let Some(preference) = self.read_preference.clone() {
            action = action.default_read_preference(preference);
        }
        // An aggregate that writes is not a retryable read.
        action.retry_reads(self.retry_reads && !writes)
    }

    /// This database with retryable writes on (the default) or off, which
    /// its collections inherit (see [`Collection::with_retry_writes`]).
    pub fn with_retry_writes(mut self, retry_writes: bool) -> Database {
        self.retry_writes = retry_writes;
        self
    }

    /// Whether this database's collections retry writes.
    pub fn retry_writes(&self) -> bool {
        self.retry_writes
    }

    /// This database with `concerns`, which its collections inherit (a
    /// command run with [`Database::run_command`] is sent as given).
    pub fn with_concerns(mut self, concerns: Concerns) -> Database {
        self.concerns = concerns;
        self
    }

    /// The concerns this database's collections inherit.
    pub fn concerns(&self) -> &Concerns {
        &self.concerns
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
    /// replies become errors. The command is sent as given (plus
    /// `$clusterTime`, and the session's fields if one is set): no implicit
    /// session, no retry.
    pub fn run_command(&self, command: Document) -> Action<'static, Document> {
        Action::new(
            self.client.clone(),
            &self.name,
            command,
            Kind::Other,
            |f: Finished| Ok(f.reply),
        )
        .for_run_command()
    }

    /// Creates collection `name` explicitly, with `options` as mongod's
    /// `create` command spells them (`capped`, `validator`, `viewOn`, ...).
    /// Creating a collection that exists is an error (NamespaceExists).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// let db = client.database("db");
    /// db.create_collection("c", bson::doc! {}).await?;
    /// assert_eq!(db.create_collection("c", bson::doc! {}).await.unwrap_err().code(), Some(48));
    /// # Ok(()) }
    /// ```
    pub fn create_collection(&self, name: &str, options: Document) -> Action<'static, ()> {
        let mut command = doc! {"create": name};
        command.extend(options);
        let action = Action::new(
            self.client.clone(),
            &self.name,
            command,
            Kind::Other,
            |_| Ok(()),
        );
        match self.concerns.write_concern.clone() {
            Some(concern) => action.default_concern("writeConcern", concern),
            None => action,
        }
    }

    /// The collections (and views) matching `filter`, one document each
    /// (`name`, `type`, `options`, `info`).
    pub fn list_collections(&self, filter: Document) -> Action<'static, Cursor<Document>> {
        self.listing(doc! {"listCollections": 1, "filter": filter})
    }

    /// The names of the collections (and views) matching `filter`
    /// (`listCollections` with `nameOnly`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// let db = client.database("db");
    /// db.create_collection("c", bson::doc! {}).await?;
    /// assert_eq!(db.list_collection_names(bson::doc! {}).await?, ["c"]);
    /// # Ok(()) }
    /// ```
    pub fn list_collection_names(&self, filter: Document) -> ListNames<'static> {
        ListNames::new(
            self.listing(doc! {"listCollections": 1, "filter": filter, "nameOnly": true}),
        )
    }

    /// A `listCollections`, a read retried as this database says.
    fn listing(&self, command: Document) -> Action<'static, Cursor<Document>> {
        Action::new(
            self.client.clone(),
            &self.name,
            command,
            Kind::Read,
            Cursor::from_reply,
        )
        .retry_reads(self.retry_reads)
    }

    /// Drops the database and all its collections, with this database's
    /// write concern.
    pub fn drop(&self) -> Action<'static, ()> {
        let action = Action::new(
            self.client.clone(),
            &self.name,
            doc! {"dropDatabase": 1},
            Kind::Other,
            |_| Ok(()),
        );
        match self.concerns.write_concern.clone() {
            Some(concern) => action.default_concern("writeConcern", concern),
            None => action,
        }
    }
}

impl Client {
    /// The databases, one document each (`name`, `sizeOnDisk`, `empty`),
    /// from `listDatabases` on `admin`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// client.database("shop").collection::<bson::Document>("c").insert_one(bson::doc! {}).await?;
    /// let names: Vec<String> = client
    ///     .list_databases()
    ///     .await?
    ///     .iter()
    ///     .filter_map(|d| d.get_str("name").ok().map(str::to_owned))
    ///     .collect();
    /// assert!(names.contains(&"shop".to_owned()));
    /// # Ok(()) }
    /// ```
    pub fn list_databases(&self) -> Action<'static, Vec<Document>> {
        Action::new(
            self.clone(),
            "admin",
            doc! {"listDatabases": 1},
            Kind::Read,
            |f: Finished| Ok(databases(&f.reply)?.cloned().collect()),
        )
    }

    /// The names of the databases (`listDatabases` with `nameOnly`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// client.database("shop").collection::<bson::Document>("c").insert_one(bson::doc! {}).await?;
    /// assert!(client.list_database_names().await?.contains(&"shop".to_owned()));
    /// # Ok(()) }
    /// ```
    pub fn list_database_names(&self) -> Action<'static, Vec<String>> {
        Action::new(
            self.clone(),
            "admin",
            doc! {"listDatabases": 1, "nameOnly": true},
            Kind::Read,
            |f: Finished| {
                let names = databases(&f.reply)?.filter_map(|d| d.get_str("name").ok());
                Ok(names.map(str::to_owned).collect())
            },
        )
    }
}

/// The entries of a `listDatabases` reply.
fn databases(reply: &Document) -> crate::Result<impl Iterator<Item = &Document>> {
    let databases = reply
        .get_array("databases")
        .map_err(|_| crate::reply::malformed(reply))?;
    Ok(databases.iter().filter_map(|d| d.as_document()))
}
