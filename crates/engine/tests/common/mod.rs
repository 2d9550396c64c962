//! Helpers for driving the engine through its one entry point, the command
//! layer, as a driver would.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use bson::{Bson, Document, doc};
use engine::{ConnectionInfo, Engine, EngineOptions, Request, Storage};

pub fn engine() -> Engine {
    Engine::open(EngineOptions {
        enable_test_commands: true,
        ..EngineOptions::default()
    })
    .expect("in-memory engines always open")
}

/// An engine journaling into `dir`, with default options.
pub fn open_dir(dir: &Path) -> Engine {
    Engine::open(EngineOptions {
        storage: Storage::Directory(dir.to_owned()),
        ..EngineOptions::default()
    })
    .expect("open on disk")
}

/// An empty data directory for test `name` of this process.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rotor-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs a command and returns the raw reply.
pub fn run(engine: &Engine, db: &str, body: Document) -> Document {
    let connection = ConnectionInfo::default();
    engine
        .run_command(Request {
            db,
            body,
            connection: &connection,
        })
        .reply
}

/// Runs a command that must succeed (ok: 1, no write errors).
pub fn ok(engine: &Engine, db: &str, body: Document) -> Document {
    let reply = run(engine, db, body.clone());
    assert_eq!(
        reply.get_f64("ok").ok(),
        Some(1.0),
        "command {body} failed: {reply}"
    );
    assert!(
        !reply.contains_key("writeErrors"),
        "command {body} had write errors: {reply}"
    );
    reply
}

/// Runs a command that must fail; returns its code and labels.
pub fn fails(engine: &Engine, db: &str, body: Document) -> (i32, Vec<String>) {
    let reply = run(engine, db, body.clone());
    if reply.get_f64("ok").ok() == Some(1.0) {
        let first = reply
            .get_array("writeErrors")
            .ok()
            .and_then(|e| e.first())
            .and_then(Bson::as_document)
            .cloned()
            .unwrap_or_else(|| panic!("command {body} should have failed: {reply}"));
        return (first.get_i32("code").expect("code"), Vec::new());
    }
    let labels = reply
        .get_array("errorLabels")
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (reply.get_i32("code").expect("code"), labels)
}

/// Every document of a find's first batch.
pub fn find(engine: &Engine, db: &str, body: Document) -> Vec<Document> {
    let reply = ok(engine, db, body);
    reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("cursor.firstBatch")
        .iter()
        .filter_map(|d| d.as_document().cloned())
        .collect()
}

/// A fresh logical session id, as drivers make them.
pub fn lsid() -> Document {
    doc! {"id": Bson::Binary(bson::Binary::from_uuid(bson::Uuid::new()))}
}

/// A driver-side session: its lsid and the transaction number it is at.
pub struct Session {
    pub lsid: Document,
    pub txn_number: i64,
    pub started: bool,
}

impl Session {
    pub fn new() -> Session {
        Session {
            lsid: lsid(),
            txn_number: 0,
            started: false,
        }
    }

    pub fn start(&mut self) {
        self.txn_number += 1;
        self.started = false;
    }

    /// Adds the session and transaction fields a driver adds to a statement.
    pub fn stmt(&mut self, mut body: Document) -> Document {
        body.insert("lsid", self.lsid.clone());
        body.insert("txnNumber", self.txn_number);
        body.insert("autocommit", false);
        if !self.started {
            body.insert("startTransaction", true);
            self.started = true;
        }
        body
    }

    pub fn commit(&mut self) -> Document {
        self.stmt(doc! {"commitTransaction": 1})
    }

    pub fn abort(&mut self) -> Document {
        self.stmt(doc! {"abortTransaction": 1})
    }
}
