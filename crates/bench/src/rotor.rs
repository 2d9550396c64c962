//! Driving a Rotor engine through its one entry point, the command layer,
//! the way a driver does: command documents in, reply documents out, with
//! the session fields a driver adds to transaction statements.
//!
//! A reply that is not `ok: 1` (or that carries `writeErrors`) becomes a
//! [`CommandFailed`] holding mongod's code and labels, so a workload can
//! tell a transient conflict (retry the transaction) from a broken setup
//! (stop the benchmark).

use std::fmt;
use std::path::PathBuf;

use bson::{Binary, Bson, Document, Uuid, doc};
use engine::{ConnectionInfo, Engine, EngineOptions, Request, Storage};

/// mongod's WriteConflict.
pub const WRITE_CONFLICT: i32 = 112;
/// The label drivers retry whole transactions on.
pub const TRANSIENT_TRANSACTION_ERROR: &str = "TransientTransactionError";

/// Opens an engine that keeps nothing on disk, with default options.
pub fn open_in_memory() -> Engine {
    open(EngineOptions::default())
}

/// Opens an in-memory engine that keeps `secs` seconds of snapshot history
/// (mongod's `minSnapshotHistoryWindowInSeconds`; the default is 300).
pub fn open_in_memory_with_history_window(secs: u64) -> Engine {
    open(EngineOptions {
        snapshot_history_window_secs: secs,
        ..EngineOptions::default()
    })
}

/// Opens a durable engine journaling into `dir`, with default options.
pub fn open_directory(dir: PathBuf) -> Engine {
    open(EngineOptions {
        storage: Storage::Directory(dir),
        ..EngineOptions::default()
    })
}

fn open(options: EngineOptions) -> Engine {
    match Engine::open(options) {
        Ok(engine) => engine,
        Err(error) => panic!("the benchmark's engine did not open: {error}"),
    }
}

/// A command that did not succeed: its code, message and error labels.
#[derive(Debug, Clone)]
pub struct CommandFailed {
    pub code: i32,
    pub message: String,
    pub labels: Vec<String>,
}

impl CommandFailed {
    /// Whether a driver would retry the whole transaction.
    pub fn is_transient(&self) -> bool {
        self.labels.iter().any(|l| l == TRANSIENT_TRANSACTION_ERROR)
    }
}

impl fmt::Display for CommandFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "code {}: {} (labels {:?})",
            self.code, self.message, self.labels
        )
    }
}

/// One client connection to an engine.
#[derive(Clone)]
pub struct Client {
    engine: Engine,
    connection: ConnectionInfo,
}

impl Client {
    pub fn new(engine: Engine) -> Client {
        Client {
            engine,
            connection: ConnectionInfo::default(),
        }
    }

    /// Runs a command; `Err` unless the reply is `ok: 1` without write errors.
    /// The reply comes without `$clusterTime` and `operationTime`, which
    /// the engine hands over as values (`ReplyParts`): a driver reads them
    /// to gossip, and the benchmarks' workloads never need them.
    pub fn run(&self, db: &str, body: Document) -> Result<Document, CommandFailed> {
        let reply = self
            .engine
            .run_command_parts(Request {
                db,
                body,
                connection: &self.connection,
            })
            .body;
        check(reply)
    }

    /// Runs a command that the benchmark's setup needs to succeed.
    pub fn must(&self, db: &str, body: Document) -> Document {
        let rendered = body.to_string();
        match self.run(db, body) {
            Ok(reply) => reply,
            Err(failed) => panic!("setup command {rendered} failed: {failed}"),
        }
    }

    /// The first batch of a find.
    pub fn find(&self, db: &str, body: Document) -> Result<Vec<Document>, CommandFailed> {
        let reply = self.run(db, body)?;
        let batch = reply
            .get_document("cursor")
            .and_then(|c| c.get_array("firstBatch"))
            .map_err(|_| failed_from(&reply))?;
        Ok(batch
            .iter()
            .filter_map(Bson::as_document)
            .cloned()
            .collect())
    }
}

fn check(reply: Document) -> Result<Document, CommandFailed> {
    let ok = reply.get_f64("ok").ok() == Some(1.0)
        || reply.get_i32("ok").ok() == Some(1)
        || reply.get_i64("ok").ok() == Some(1);
    if ok && !reply.contains_key("writeErrors") {
        return Ok(reply);
    }
    Err(failed_from(&reply))
}

fn failed_from(reply: &Document) -> CommandFailed {
    let source = reply
        .get_array("writeErrors")
        .ok()
        .and_then(|errors| errors.first())
        .and_then(Bson::as_document)
        .unwrap_or(reply);
    let labels = reply
        .get_array("errorLabels")
        .map(|labels| {
            labels
                .iter()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    CommandFailed {
        code: source.get_i32("code").unwrap_or(0),
        message: source
            .get_str("errmsg")
            .map_or_else(|_| reply.to_string(), str::to_owned),
        labels,
    }
}

/// A driver-side logical session: its id and the transaction number it is
/// at. Each benchmark thread owns one, as each driver session would.
pub struct Session {
    lsid: Document,
    txn_number: i64,
    started: bool,
}

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

impl Session {
    pub fn new() -> Session {
        Session {
            lsid: doc! {"id": Bson::Binary(Binary::from_uuid(Uuid::new()))},
            txn_number: 0,
            started: false,
        }
    }

    /// Starts the next transaction (drivers never reuse a txnNumber, also
    /// not to retry an aborted transaction).
    pub fn start(&mut self) {
        self.txn_number += 1;
        self.started = false;
    }

    /// Adds the session and transaction fields a driver adds to a statement.
    pub fn statement(&mut self, mut body: Document) -> Document {
        body.insert("lsid", self.lsid.clone());
        body.insert("txnNumber", self.txn_number);
        body.insert("autocommit", false);
        if !self.started {
            body.insert("startTransaction", true);
            self.started = true;
        }
        body
    }

    /// The commitTransaction command for the current transaction (run it
    /// on db "admin").
    pub fn commit(&mut self) -> Document {
        self.statement(doc! {"commitTransaction": 1})
    }
}
