//! Opening SQLite, the peer every benchmark compares Rotor with, in the
//! configurations the benches name: in memory, and on disk in WAL mode with
//! `synchronous=FULL` (every commit fsyncs the WAL, as Rotor's default write
//! concern waits for its journal).
//!
//! SQLite's own library is built into the benchmark (rusqlite's `bundled`
//! feature), so the version measured does not depend on the machine.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// How long a connection waits for another's write lock before failing
/// with SQLITE_BUSY: far longer than any one transaction of the benches
/// holds it, so a busy error means a bug, not load.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A private in-memory database.
pub fn open_in_memory() -> Connection {
    match Connection::open_in_memory() {
        Ok(conn) => conn,
        Err(error) => panic!("SQLite did not open in memory: {error}"),
    }
}

/// A connection to the database file at `path`, in WAL mode with
/// `synchronous=FULL` and [`BUSY_TIMEOUT`]. Open one per thread.
pub fn open_durable(path: &Path) -> Connection {
    let conn = match Connection::open(path) {
        Ok(conn) => conn,
        Err(error) => panic!("SQLite did not open {}: {error}", path.display()),
    };
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .unwrap_or_else(|error| panic!("setting WAL mode failed: {error}"));
    assert_eq!(mode, "wal", "SQLite refused WAL mode");
    conn.execute_batch("PRAGMA synchronous=FULL")
        .unwrap_or_else(|error| panic!("setting synchronous=FULL failed: {error}"));
    conn.busy_timeout(BUSY_TIMEOUT)
        .unwrap_or_else(|error| panic!("setting busy_timeout failed: {error}"));
    conn
}

/// SQLite's version, for the tables' headers.
pub fn version() -> &'static str {
    rusqlite::version()
}
