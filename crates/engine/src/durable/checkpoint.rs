//! Writing a checkpoint: every committed collection, its indexes and its
//! documents as of one timestamp, as a stream of replayable operations.
//!
//! It reads through an MVCC snapshot, so writers continue meanwhile; the
//! journal keeps every record after the covered LSN. The list of
//! collections, with their names, is the caller's, taken at the same
//! timestamp: a rename after it must replay on the names before it.
//!
//! Session outcomes are not versioned: the checkpoint writes what sessions
//! hold when it reaches them, which may be newer than its timestamp. That
//! is safe because replay never moves a session's transaction number back,
//! and every commit after the timestamp is in a record the journal keeps.

use std::io::{self, Write};

use std::sync::Arc;

use bson::doc;

use super::record::{Op, write_put};
use crate::clock::Ts;
use crate::session::Sessions;
use crate::storage::collection::Collection;

/// Writes the state at `ts` of `collections` (the committed collections
/// of the catalog at `ts`), then the outcomes `sessions` hold now, to
/// `out`.
pub fn write_checkpoint(
    collections: &[Arc<Collection>],
    ts: Ts,
    sessions: &Sessions,
    out: &mut dyn Write,
) -> io::Result<()> {
    // Entries are encoded straight into one buffer, written out whenever
    // it holds `WRITE_BYTES`.
    let mut buffer = Vec::with_capacity(WRITE_BYTES);
    encoded(bson_bytes::write_document(
        &mut buffer,
        &doc! {"ts": ts.to_bson()},
    ))?;
    for coll in collections {
        let indexes = coll.indexes().iter().map(|i| i.spec.info.clone()).collect();
        let create = Op::Create {
            db: coll.db.clone(),
            coll: coll.name.clone(),
            options: (*coll.options()).clone(),
            indexes,
        };
        encoded(bson_bytes::write_document(
            &mut buffer,
            &create.to_document(),
        ))?;
        for (_, record) in coll.records_from(None) {
            let Some(doc) = record.lock().visible_at(ts) else {
                continue;
            };
            encoded(write_put(&mut buffer, &coll.db, &coll.name, &doc))?;
            if buffer.len() >= WRITE_BYTES {
                out.write_all(&buffer)?;
                buffer.clear();
            }
        }
    }
    for outcome in session_ops(sessions) {
        encoded(bson_bytes::write_document(
            &mut buffer,
            &outcome.to_document(),
        ))?;
    }
    out.write_all(&buffer)?;
    out.flush()
}

/// How many encoded bytes a checkpoint gathers before each write: enough
/// that syscalls cost nothing next to the disk.
const WRITE_BYTES: usize = 1 << 20;

/// An entry that did not encode fails the checkpoint (stored documents
/// always encode).
fn encoded(result: Result<(), bson_bytes::Error>) -> io::Result<()> {
    result.map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}

/// Every session's latest committed transaction and the journaled
/// results of its latest retryable write, as the ops that replay them.
fn session_ops(sessions: &Sessions) -> impl Iterator<Item = Op> {
    let committed = sessions
        .committed_outcomes()
        .into_iter()
        .map(|(session, lsid, txn_number)| Op::Committed {
            session,
            lsid,
            txn_number,
        });
    let retried = sessions.retried_outcomes().into_iter().map(
        |(session, lsid, txn_number, stmt_id, result)| Op::Retried {
            session,
            lsid,
            txn_number,
            stmt_id,
            result,
        },
    );
    committed.chain(retried)
}
