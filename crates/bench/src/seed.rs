//! The seed workload, on Rotor and on SQLite: one transaction inserts an
//! order `{sku, qty: 100}` into `orders`, then takes the stock from
//! `inventory` (`{sku, qty: {$gte: 100}}`, `{$inc: {qty: -100}}`), then
//! commits.
//!
//! Both sides do the same logical work: one insert into a table or
//! collection without secondary indexes, one indexed update by `sku` that
//! must change exactly one row, one commit. Both set up the collections and
//! the index before measuring, so no transaction creates anything.
//!
//! A worker commits one transaction per call and returns how many times it
//! had to start again after a transient error (Rotor's WriteConflict with
//! the TransientTransactionError label; SQLite's busy lock, which should
//! never outlast [`crate::sqlite::BUSY_TIMEOUT`]). Any other failure is a
//! broken benchmark and panics with the reply: timing a workload that does
//! not do its work would be worse than stopping.

use std::sync::Mutex;

use bson::{Document, doc};
use rusqlite::{Connection, ErrorCode, params};

use crate::rotor::{Client, CommandFailed, Session};

/// The database Rotor's collections live in.
pub const DB: &str = "bench";
/// The seed's sku; per-session inventory appends `-<session>`.
pub const SKU: &str = "abc123";
/// Units each order takes.
pub const ORDER_QTY: i64 = 100;
/// Stock of every inventory document: never runs out within a benchmark
/// (2^60 / 100 transactions), so the update always changes its row.
pub const STOCK: i64 = 1 << 60;

/// Which inventory document each session's transactions take stock from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inventory {
    /// Each session has its own document: no conflicts by design.
    PerSession,
    /// Every session takes from one document: conflicts expected.
    Shared,
}

impl Inventory {
    /// The sku session `session` orders.
    pub fn sku(self, session: usize) -> String {
        match self {
            Inventory::PerSession => format!("{SKU}-{session}"),
            Inventory::Shared => SKU.to_owned(),
        }
    }

    /// Every sku the inventory holds for `n_sessions` sessions.
    pub fn skus(self, n_sessions: usize) -> Vec<String> {
        match self {
            Inventory::PerSession => (0..n_sessions).map(|s| self.sku(s)).collect(),
            Inventory::Shared => vec![self.sku(0)],
        }
    }
}

/// Creates `orders`, and `inventory` with its `sku` index and its stock.
pub fn rotor_setup(client: &Client, n_sessions: usize, inventory: Inventory) {
    client.must(DB, doc! {"create": "orders"});
    client.must(
        DB,
        doc! {
            "createIndexes": "inventory",
            "indexes": [{"key": {"sku": 1}, "name": "sku_1"}],
        },
    );
    let stock: Vec<Document> = inventory
        .skus(n_sessions)
        .into_iter()
        .map(|sku| doc! {"sku": sku, "qty": STOCK})
        .collect();
    client.must(DB, doc! {"insert": "inventory", "documents": stock});
}

/// One session's side of the seed workload on Rotor.
pub struct RotorWorker {
    client: Client,
    session: Session,
    sku: String,
    /// The Convenient API's backoff between retries, as the Rust client's
    /// `with_transaction` (and PyMongo's) waits.
    retry: rotor::RetryPolicy,
}

impl RotorWorker {
    pub fn new(client: Client, sku: String) -> RotorWorker {
        RotorWorker {
            client,
            session: Session::new(),
            sku,
            retry: rotor::RetryPolicy::default(),
        }
    }

    /// Commits one transaction, retrying it whole on transient errors as a
    /// driver's `withTransaction` does, backoff included; returns the number
    /// of retries.
    pub fn transaction(&mut self) -> u64 {
        let mut retries = 0;
        loop {
            if retries > 0 {
                let attempt = u32::try_from(retries).unwrap_or(u32::MAX);
                std::thread::sleep(self.retry.backoff(attempt));
            }
            self.session.start();
            match self.attempt() {
                Ok(()) => return retries,
                Err(failed) if failed.is_transient() => retries += 1,
                Err(failed) => panic!("a seed transaction failed: {failed}"),
            }
        }
    }

    fn attempt(&mut self) -> Result<(), CommandFailed> {
        let insert = self.session.statement(doc! {
            "insert": "orders",
            "documents": [{"sku": &self.sku, "qty": ORDER_QTY}],
        });
        self.client.run(DB, insert)?;
        let update = self.session.statement(doc! {
            "update": "inventory",
            "updates": [{
                "q": {"sku": &self.sku, "qty": {"$gte": ORDER_QTY}},
                "u": {"$inc": {"qty": -ORDER_QTY}},
            }],
        });
        let reply = self.client.run(DB, update)?;
        let modified = reply.get_i32("nModified").unwrap_or(0);
        assert_eq!(modified, 1, "the update took no stock: {reply}");
        let commit = self.session.commit();
        self.client.run("admin", commit)?;
        Ok(())
    }
}

/// The stock left for `sku` on Rotor.
pub fn rotor_stock(client: &Client, sku: &str) -> Option<i64> {
    let found = client
        .find(DB, doc! {"find": "inventory", "filter": {"sku": sku}})
        .ok()?;
    found.first()?.get_i64("qty").ok()
}

/// The number of orders on Rotor.
pub fn rotor_orders(client: &Client) -> i64 {
    let reply = client.must(DB, doc! {"count": "orders"});
    reply
        .get_i32("n")
        .map_or_else(|_| reply.get_i64("n").unwrap_or(-1), i64::from)
}

/// Creates the same tables and index as [`rotor_setup`] on SQLite.
pub fn sqlite_setup(conn: &Connection, n_sessions: usize, inventory: Inventory) {
    let schema = "
        CREATE TABLE orders (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, qty INTEGER NOT NULL);
        CREATE TABLE inventory (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, qty INTEGER NOT NULL);
        CREATE INDEX inventory_sku ON inventory (sku);";
    conn.execute_batch(schema)
        .unwrap_or_else(|error| panic!("creating SQLite's tables failed: {error}"));
    for sku in inventory.skus(n_sessions) {
        conn.execute(
            "INSERT INTO inventory (sku, qty) VALUES (?1, ?2)",
            params![sku, STOCK],
        )
        .unwrap_or_else(|error| panic!("stocking SQLite's inventory failed: {error}"));
    }
}

/// How a SQLite transaction takes its locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// `BEGIN`: for a connection no other thread uses at the same time.
    Deferred,
    /// `BEGIN IMMEDIATE`: takes the write lock first, so two connections
    /// never both read and then deadlock upgrading to write.
    Immediate,
}

/// Commits one seed transaction on `conn`; returns the number of retries
/// after SQLITE_BUSY.
pub fn sqlite_transaction(conn: &Connection, sku: &str, begin: Begin) -> u64 {
    let mut retries = 0;
    loop {
        match sqlite_attempt(conn, sku, begin) {
            Ok(()) => return retries,
            Err(error) if is_busy(&error) => {
                // The transaction may have begun before the busy error.
                let _ = conn.execute_batch("ROLLBACK");
                retries += 1;
            }
            Err(error) => panic!("a SQLite seed transaction failed: {error}"),
        }
    }
}

fn sqlite_attempt(conn: &Connection, sku: &str, begin: Begin) -> rusqlite::Result<()> {
    conn.prepare_cached(match begin {
        Begin::Deferred => "BEGIN",
        Begin::Immediate => "BEGIN IMMEDIATE",
    })?
    .execute([])?;
    conn.prepare_cached("INSERT INTO orders (sku, qty) VALUES (?1, ?2)")?
        .execute(params![sku, ORDER_QTY])?;
    let changed = conn
        .prepare_cached("UPDATE inventory SET qty = qty - ?2 WHERE sku = ?1 AND qty >= ?2")?
        .execute(params![sku, ORDER_QTY])?;
    assert_eq!(changed, 1, "SQLite's update took no stock for {sku}");
    conn.prepare_cached("COMMIT")?.execute([])?;
    Ok(())
}

fn is_busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
}

/// One in-memory SQLite database shared by all threads through a mutex:
/// each transaction holds the connection from BEGIN to COMMIT.
pub fn sqlite_shared_transaction(conn: &Mutex<Connection>, sku: &str) -> u64 {
    let conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    sqlite_transaction(&conn, sku, Begin::Deferred)
}

/// One seed transaction on this thread's own `conn`, with the threads
/// taking turns through `turn` instead of through SQLite's busy handler
/// (which sleeps and polls): how an application that knows SQLite has one
/// writer at a time would queue its writers.
pub fn sqlite_queued_transaction(turn: &Mutex<()>, conn: &Connection, sku: &str) -> u64 {
    let _turn = turn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    sqlite_transaction(conn, sku, Begin::Immediate)
}

/// The stock left for `sku` on SQLite.
pub fn sqlite_stock(conn: &Connection, sku: &str) -> Option<i64> {
    conn.query_row(
        "SELECT qty FROM inventory WHERE sku = ?1",
        params![sku],
        |row| row.get(0),
    )
    .ok()
}

/// The number of orders on SQLite.
pub fn sqlite_orders(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM orders", [], |row| row.get(0))
        .unwrap_or(-1)
}
