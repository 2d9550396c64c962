//! The entity map: the clients, databases, collections, sessions and saved
//! results a test's operations refer to by id, and how `createEntities`
//! builds them.
//!
//! Every client entity is a [`rotor::Client::sibling`] of the runner's own
//! client, so all of them reach the same deployment while each observes
//! only its own command events. Options the format allows but a one-member
//! replica set makes meaningless (`useMultipleMongoses`, heartbeat and
//! timeout URI options) are accepted and ignored; options that change
//! behaviour and that the client cannot honour are refused, so that the
//! test is reported rather than run differently.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bson::{Bson, Document};
use rotor::{
    Client, ClientOptions, ClientSession, Collection, CommandEvent, Concerns, Database,
    SessionOptions, TransactionOptions,
};

use crate::matcher;
use crate::results::as_u64;

/// Commands whose events drivers never publish with their contents; the
/// runner does not record them at all.
const SENSITIVE_COMMANDS: [&str; 8] = [
    "authenticate",
    "saslStart",
    "saslContinue",
    "getnonce",
    "createUser",
    "updateUser",
    "copydbgetnonce",
    "copydbsaslstart",
];

/// URI options with no effect on a one-member replica set reached in
/// process: connection, monitoring and timing knobs.
const URI_OPTIONS_IGNORED: [&str; 5] = [
    "heartbeatFrequencyMS",
    "serverSelectionTimeoutMS",
    "connectTimeoutMS",
    "appname",
    "appName",
];

/// The events one client entity recorded, in order.
pub type EventLog = Arc<Mutex<Vec<CommandEvent>>>;

/// A client entity.
pub struct ClientEntity {
    /// The client.
    pub client: Client,
    /// The events it observed (only the kinds `observeEvents` lists).
    pub events: EventLog,
    /// Concerns from `uriOptions` (`w`, `readConcernLevel`).
    pub concerns: Concerns,
    /// `uriOptions.retryWrites` (default true).
    pub retry_writes: bool,
    /// `uriOptions.retryReads` (default true).
    pub retry_reads: bool,
    /// `uriOptions.readPreference`, which its databases inherit and its
    /// sessions' transactions take as their default.
    pub read_preference: Option<Document>,
}

/// A session entity.
pub struct SessionEntity {
    /// The session; `None` while a `withTransaction` holds it.
    pub session: Option<ClientSession>,
    /// Its lsid, kept after the session ends for `$$sessionLsid`.
    pub lsid: Document,
    /// The client entity it was started from.
    pub client: String,
}

/// One entity.
pub enum Entity {
    /// A client.
    Client(ClientEntity),
    /// A database.
    Database(Database),
    /// A collection.
    Collection(Box<Collection<Document>>),
    /// A session.
    Session(Box<SessionEntity>),
    /// A saved result.
    Value(Bson),
}

/// Entities by id.
#[derive(Default)]
pub struct EntityMap {
    entities: HashMap<String, Entity>,
    /// The deployment's connection string when the target is a server:
    /// client entities with options that change their connections
    /// (`socketTimeoutMS`) get a pool of their own from it.
    uri: Option<String>,
}

impl matcher::Entities for EntityMap {
    fn value(&self, id: &str) -> Option<Bson> {
        match self.entities.get(id)? {
            Entity::Value(value) => Some(value.clone()),
            _ => None,
        }
    }

    fn session_lsid(&self, id: &str) -> Option<Document> {
        match self.entities.get(id)? {
            Entity::Session(session) => Some(session.lsid.clone()),
            _ => None,
        }
    }
}

impl EntityMap {
    /// Adds entity `id`; ids are unique within a test.
    pub fn insert(&mut self, id: &str, entity: Entity) -> Result<(), String> {
        if self.entities.contains_key(id) {
            return Err(format!("entity {id} already exists"));
        }
        self.entities.insert(id.to_owned(), entity);
        Ok(())
    }

    /// The entity `id`.
    pub fn get(&self, id: &str) -> Result<&Entity, String> {
        self.entities.get(id).ok_or(format!("no entity {id}"))
    }

    /// The client entity `id`.
    pub fn client(&self, id: &str) -> Result<&ClientEntity, String> {
        match self.get(id)? {
            Entity::Client(client) => Ok(client),
            _ => Err(format!("entity {id} is not a client")),
        }
    }

    /// The database entity `id`.
    pub fn database(&self, id: &str) -> Result<&Database, String> {
        match self.get(id)? {
            Entity::Database(database) => Ok(database),
            _ => Err(format!("entity {id} is not a database")),
        }
    }

    /// The session entity `id`.
    pub fn session_entity(&self, id: &str) -> Result<&SessionEntity, String> {
        match self.get(id)? {
            Entity::Session(session) => Ok(session),
            _ => Err(format!("entity {id} is not a session")),
        }
    }

    /// The session of entity `id`, to use.
    pub fn session(&mut self, id: &str) -> Result<&mut ClientSession, String> {
        match self.entities.get_mut(id) {
            Some(Entity::Session(entity)) => entity
                .session
                .as_mut()
                .ok_or(format!("session {id} is in use by withTransaction")),
            _ => Err(format!("no session entity {id}")),
        }
    }

    /// Takes session `id` out (for `withTransaction`); [`EntityMap::put_session`]
    /// returns it.
    pub fn take_session(&mut self, id: &str) -> Result<ClientSession, String> {
        match self.entities.get_mut(id) {
            Some(Entity::Session(entity)) => entity
                .session
                .take()
                .ok_or(format!("session {id} is already in use")),
            _ => Err(format!("no session entity {id}")),
        }
    }

    /// Puts back a session taken with [`EntityMap::take_session`].
    pub fn put_session(&mut self, id: &str, session: ClientSession) {
        if let Some(Entity::Session(entity)) = self.entities.get_mut(id) {
            entity.session = Some(session);
        }
    }

    /// Stores a saved result.
    pub fn save(&mut self, id: &str, value: Bson) {
        self.entities.insert(id.to_owned(), Entity::Value(value));
    }

    /// The sessions, so the runner can end them after a test.
    pub fn sessions_mut(&mut self) -> impl Iterator<Item = &mut ClientSession> {
        self.entities.values_mut().filter_map(|e| match e {
            Entity::Session(s) => s.session.as_mut(),
            _ => None,
        })
    }

    /// No entities yet, for a deployment at `uri` (`None`: embedded).
    pub fn new(uri: Option<String>) -> EntityMap {
        EntityMap {
            entities: HashMap::new(),
            uri,
        }
    }

    /// Creates the entities of one `createEntities` list; `base` is the
    /// runner's client, which client entities are siblings of.
    pub fn create(&mut self, base: &Client, entities: &[Document]) -> Result<(), String> {
        for entry in entities {
            let (kind, spec) = entry.iter().next().ok_or("an empty entity specification")?;
            let spec = spec
                .as_document()
                .ok_or(format!("entity {kind} is not a document"))?;
            let id = spec
                .get_str("id")
                .map_err(|_| format!("{kind} has no id"))?;
            let known: &[&str] = match kind.as_str() {
                "client" => &[
                    "id",
                    "uriOptions",
                    "useMultipleMongoses",
                    "observeEvents",
                    "ignoreCommandMonitoringEvents",
                ],
                "database" => &["id", "client", "databaseName", "databaseOptions"],
                "collection" => &["id", "database", "collectionName", "collectionOptions"],
                "session" => &["id", "client", "sessionOptions"],
                _ => &[],
            };
            if let Some(unknown) = spec.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(format!("{kind}.{unknown} is not supported"));
            }
            let entity = match kind.as_str() {
                "client" => Entity::Client(new_client(base, self.uri.as_deref(), spec)?),
                "database" => Entity::Database(self.new_database(spec)?),
                "collection" => Entity::Collection(Box::new(self.new_collection(spec)?)),
                "session" => Entity::Session(Box::new(self.new_session(spec)?)),
                other => return Err(format!("unsupported entity type {other}")),
            };
            self.insert(id, entity)?;
        }
        Ok(())
    }

    fn new_database(&self, spec: &Document) -> Result<Database, String> {
        let client_id = spec
            .get_str("client")
            .map_err(|_| "database without client")?;
        let client = self.client(client_id)?;
        let name = spec
            .get_str("databaseName")
            .map_err(|_| "database without databaseName")?;
        let (options, preference) = options_concerns(spec.get_document("databaseOptions").ok())?;
        Ok(client
            .client
            .database(name)
            .with_concerns(options.or(&client.concerns))
            .with_retry_writes(client.retry_writes)
            .with_retry_reads(client.retry_reads)
            .with_read_preference(preference.or_else(|| client.read_preference.clone())))
    }

    fn new_collection(&self, spec: &Document) -> Result<Collection<Document>, String> {
        let db_id = spec
            .get_str("database")
            .map_err(|_| "collection without database")?;
        let database = self.database(db_id)?;
        let name = spec
            .get_str("collectionName")
            .map_err(|_| "collection without collectionName")?;
        let (options, preference) = options_concerns(spec.get_document("collectionOptions").ok())?;
        let collection = database.collection::<Document>(name);
        let concerns = options.or(collection.concerns());
        let preference = preference.or_else(|| database.read_preference().cloned());
        Ok(collection
            .with_concerns(concerns)
            .with_read_preference(preference))
    }

    fn new_session(&self, spec: &Document) -> Result<SessionEntity, String> {
        let client_id = spec
            .get_str("client")
            .map_err(|_| "session without client")?;
        let client = self.client(client_id)?;
        let mut options = session_options(spec.get_document("sessionOptions").ok())?;
        // Transactions inherit the client's concerns where neither
        // startTransaction nor the session's defaults set them.
        let defaults = &mut options.default_transaction_options;
        if defaults.read_concern.is_none() {
            defaults.read_concern = client.concerns.read_concern.clone();
        }
        if defaults.write_concern.is_none() {
            defaults.write_concern = client.concerns.write_concern.clone();
        }
        if defaults.read_preference.is_none() {
            defaults.read_preference = client.read_preference.clone();
        }
        let session = client
            .client
            .start_session(options)
            .map_err(|e| format!("startSession failed: {e}"))?;
        Ok(SessionEntity {
            lsid: session.session_id().clone(),
            session: Some(session),
            client: client_id.to_owned(),
        })
    }
}

fn new_client(base: &Client, uri: Option<&str>, spec: &Document) -> Result<ClientEntity, String> {
    let socket_timeout = spec
        .get_document("uriOptions")
        .ok()
        .and_then(|o| o.get("socketTimeoutMS"))
        .map(|ms| as_u64(ms).ok_or(format!("uriOptions.socketTimeoutMS={ms} is not a count")))
        .transpose()?;
    let client = match (socket_timeout, uri) {
        (None, _) => base.sibling(),
        (Some(ms), Some(uri)) => {
            let mut options = ClientOptions::parse(uri).map_err(|e| format!("{uri}: {e}"))?;
            options.socket_timeout = (ms > 0).then(|| Duration::from_millis(ms));
            Client::with_options(options).map_err(|e| format!("{uri}: {e}"))?
        }
        (Some(_), None) => {
            return Err(
                "uriOptions.socketTimeoutMS needs a server (the embedded client has no sockets)"
                    .to_owned(),
            );
        }
    };
    let observe: Vec<String> = strings(spec, "observeEvents")?;
    for kind in &observe {
        if !matches!(
            kind.as_str(),
            "commandStartedEvent" | "commandSucceededEvent" | "commandFailedEvent"
        ) {
            return Err(format!("observeEvents {kind} is not supported"));
        }
    }
    let ignored = strings(spec, "ignoreCommandMonitoringEvents")?;
    let events: EventLog = Arc::default();
    let log = events.clone();
    client.subscribe(move |event| {
        let (kind, name) = match event {
            CommandEvent::Started { command_name, .. } => ("commandStartedEvent", command_name),
            CommandEvent::Succeeded { command_name, .. } => ("commandSucceededEvent", command_name),
            CommandEvent::Failed { command_name, .. } => ("commandFailedEvent", command_name),
            _ => return,
        };
        let skip = SENSITIVE_COMMANDS.contains(&name.as_str())
            || ignored.iter().any(|i| i == name)
            || !observe.iter().any(|o| o == kind);
        if let (false, Ok(mut log)) = (skip, log.lock()) {
            log.push(event.clone());
        }
    });
    let uri_options = spec.get_document("uriOptions").ok();
    let concerns = uri_concerns(uri_options)?;
    let retry_writes = uri_options.and_then(|o| o.get_bool("retryWrites").ok()) != Some(false);
    let retry_reads = uri_options.and_then(|o| o.get_bool("retryReads").ok()) != Some(false);
    let read_preference = uri_options
        .and_then(|o| o.get_str("readPreference").ok())
        .map(|mode| bson::doc! {"mode": mode});
    Ok(ClientEntity {
        client,
        events,
        concerns,
        retry_writes,
        retry_reads,
        read_preference,
    })
}

fn strings(spec: &Document, key: &str) -> Result<Vec<String>, String> {
    match spec.get_array(key) {
        Ok(values) => values
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(format!("{key} holds a non-string"))
            })
            .collect(),
        Err(_) => Ok(Vec::new()),
    }
}

/// The concerns a client's `uriOptions` set; other options that would
/// change behaviour are refused.
fn uri_concerns(options: Option<&Document>) -> Result<Concerns, String> {
    let mut concerns = Concerns::default();
    for (key, value) in options.into_iter().flatten() {
        match key.as_str() {
            "w" => concerns.write_concern = Some(bson::doc! {"w": value.clone()}),
            "readConcernLevel" => concerns.read_concern = Some(bson::doc! {"level": value.clone()}),
            "retryWrites" if value.as_bool().is_some() => {}
            "readPreference" if value.as_str().is_some() => {}
            "retryReads" if value.as_bool().is_some() => {}
            // Applied by `new_client`.
            "socketTimeoutMS" => {}
            ignored if URI_OPTIONS_IGNORED.contains(&ignored) => {}
            other => return Err(format!("uriOptions.{other}={value} is not supported")),
        }
    }
    Ok(concerns)
}

/// The concerns and read preference of `databaseOptions` or
/// `collectionOptions`.
fn options_concerns(options: Option<&Document>) -> Result<(Concerns, Option<Document>), String> {
    let mut concerns = Concerns::default();
    let mut preference = None;
    for (key, value) in options.into_iter().flatten() {
        match (key.as_str(), value) {
            ("readConcern", Bson::Document(c)) => concerns.read_concern = Some(c.clone()),
            ("writeConcern", Bson::Document(c)) => concerns.write_concern = Some(write_concern(c)?),
            ("readPreference", Bson::Document(p)) => preference = Some(p.clone()),
            (other, _) => return Err(format!("option {other}={value} is not supported")),
        }
    }
    Ok((concerns, preference))
}

/// `sessionOptions` as the client's [`SessionOptions`].
fn session_options(options: Option<&Document>) -> Result<SessionOptions, String> {
    let mut out = SessionOptions::default();
    for (key, value) in options.into_iter().flatten() {
        match (key.as_str(), value) {
            ("causalConsistency", Bson::Boolean(b)) => out.causal_consistency = Some(*b),
            ("snapshot", Bson::Boolean(b)) => out.snapshot = *b,
            ("defaultTransactionOptions", Bson::Document(d)) => {
                out.default_transaction_options = transaction_options(d)?;
            }
            (other, _) => return Err(format!("sessionOptions.{other} is not supported")),
        }
    }
    Ok(out)
}

/// Transaction options as the format spells them (`startTransaction`,
/// `withTransaction`, `defaultTransactionOptions`).
pub fn transaction_options(options: &Document) -> Result<TransactionOptions, String> {
    let mut out = TransactionOptions::default();
    for (key, value) in options {
        match (key.as_str(), value) {
            ("readConcern", Bson::Document(c)) => out.read_concern = Some(c.clone()),
            ("writeConcern", Bson::Document(c)) => out.write_concern = Some(write_concern(c)?),
            ("readPreference", Bson::Document(p)) => out.read_preference = Some(p.clone()),
            ("maxCommitTimeMS", ms) => {
                let ms = crate::results::as_u64(ms).ok_or("maxCommitTimeMS is not a count")?;
                out.max_commit_time = Some(std::time::Duration::from_millis(ms));
            }
            ("callback", _) => {}
            (other, _) => return Err(format!("transaction option {other} is not supported")),
        }
    }
    Ok(out)
}

/// A write concern as the format spells it (the drivers' option names
/// `journal` and `wtimeoutMS`) as the command spells it (`j`, `wtimeout`).
fn write_concern(options: &Document) -> Result<Document, String> {
    let mut out = Document::new();
    for (key, value) in options {
        let key = match key.as_str() {
            "w" => "w",
            "journal" | "j" => "j",
            "wtimeoutMS" | "wtimeout" => "wtimeout",
            other => return Err(format!("writeConcern.{other} is not supported")),
        };
        out.insert(key, value.clone());
    }
    Ok(out)
}
