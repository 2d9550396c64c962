//! The engine's limits against exhaustion, kept together: how many cursors,
//! sessions and open transactions a server holds, and how large one
//! transaction's write set may grow. One client must not be able to take
//! the server's memory by opening things and never closing them.
//!
//! Each limit is a named constant with its reason; the two mongod exposes
//! as server parameters (`maxSessions`, `transactionSizeLimitBytes`) are
//! defaults here and live in [`crate::params::Parameters`]. The errors a
//! limit raises are built here, so every site reports it the same way.
//!
//! Codes: sessions past the limit get TooManyLogicalSessions (261) and a
//! transaction past its size TransactionTooLarge (257), with mongod's
//! messages. mongod has no count limit on cursors or open transactions (it
//! is bounded by memory and the storage engine's cache); Rotor reports
//! its count limits as ResourceExhausted (402), mongod's code for a server
//! out of a resource, whose RetriableError category says the condition
//! passes once the client closes what it holds.

use crate::command::CommandError;

/// Open cursors a server holds at most: each holds its materialised
/// results in memory until exhausted or killed.
pub const CURSORS_OPEN_MAX: usize = 10_000;
/// Open cursors one session holds at most, so one client cannot take every
/// server-wide slot.
pub const CURSORS_OPEN_PER_SESSION_MAX: usize = 1_000;
/// Sessions with an open multi-document transaction a server holds at
/// most: each pins a snapshot (old versions cannot be pruned) and its write
/// set in memory.
pub const TRANSACTIONS_OPEN_MAX: usize = 10_000;
/// mongod's `maxSessions` default: sessions a server holds at most.
pub const SESSIONS_MAX_DEFAULT: u64 = 1_000_000;
/// Rotor's `transactionSizeLimitBytes` default. mongod's default is
/// unlimited and it relies on its cache (TransactionTooLargeForCache);
/// Rotor keeps every write set in memory, so it bounds each one.
pub const TRANSACTION_SIZE_BYTES_MAX_DEFAULT: u64 = 128 * 1024 * 1024;

/// Memory the snapshot history (versions kept only so that snapshot reads
/// can look back) may take by default. mongod keeps that history in
/// WiredTiger, which spills it to disk; Rotor keeps it in memory, so a hot
/// document rewritten tens of thousands of times a second would otherwise
/// hold gigabytes for the 300 s window. Past the bound the window kept
/// shrinks, and reads further back get SnapshotTooOld.
pub const SNAPSHOT_HISTORY_BYTES_MAX_DEFAULT: u64 = 256 * 1024 * 1024;

const _: () = assert!(CURSORS_OPEN_PER_SESSION_MAX <= CURSORS_OPEN_MAX);
const _: () = assert!(TRANSACTIONS_OPEN_MAX as u64 <= SESSIONS_MAX_DEFAULT);

/// mongod's ResourceExhausted, not in Rotor's code table.
const RESOURCE_EXHAUSTED: i32 = 402;

fn resource_exhausted(message: String) -> CommandError {
    crate::auth::named_error(RESOURCE_EXHAUSTED, "ResourceExhausted", message)
}

pub fn too_many_cursors() -> CommandError {
    resource_exhausted(format!(
        "Cannot open a cursor: the server already holds {CURSORS_OPEN_MAX} open cursors"
    ))
}

pub fn too_many_session_cursors() -> CommandError {
    resource_exhausted(format!(
        "Cannot open a cursor: this session already holds {CURSORS_OPEN_PER_SESSION_MAX} open cursors"
    ))
}

pub fn too_many_transactions() -> CommandError {
    resource_exhausted(format!(
        "Cannot start a transaction: the server already holds {TRANSACTIONS_OPEN_MAX} open transactions"
    ))
}

/// mongod's error and message when the session cache is full.
pub fn too_many_sessions() -> CommandError {
    CommandError::new(
        mql::Code::TOO_MANY_LOGICAL_SESSIONS,
        "Unable to add session into the cache because the number of active sessions is too high",
    )
}

/// mongod's error and message when a transaction's operations outgrow
/// `transactionSizeLimitBytes`.
pub fn transaction_too_large(limit_bytes: u64) -> CommandError {
    CommandError::new(
        mql::Code::TRANSACTION_TOO_LARGE,
        format!(
            "Total size of all transaction operations must be less than server parameter 'transactionSizeLimitBytes' = {limit_bytes}"
        ),
    )
}
