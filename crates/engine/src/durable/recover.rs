//! Recovery: rebuild the in-memory state from the latest checkpoint and the
//! journal records after it.
//!
//! The checkpoint's list of collections is taken at its timestamp, under
//! the commit lock, so every catalog change after it is in a record after
//! it. Replay is still idempotent per operation (creating an existing
//! collection or index, dropping a missing one, are no-ops; `collMod` sets
//! whole options), because a collection's indexes and options are
//! written as they are when the checkpoint reaches it.
//!
//! A rename replays as: drop the target if the rename replaced one, then
//! move the source if it exists. The source may be missing: an implicit
//! creation journals its `create` after it registered the collection, so a
//! rename can precede it, and the `create` then arrives under the new name.

use std::io::Read;
use std::sync::Arc;

use bson::Document;

use super::record::{Op, decode};
use crate::Engine;
use crate::clock::Ts;
use crate::storage::catalog::Lookup;
use crate::storage::collection::Collection;
use crate::storage::index::IndexSpec;

/// Why recovery failed: the data directory holds something this engine
/// cannot have written.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("journal record {lsn} is not a valid commit record")]
    BadRecord { lsn: u64 },
    #[error("checkpoint is not a valid sequence of operations: {reason}")]
    BadCheckpoint { reason: String },
    #[error("cannot replay {op:?}: {reason}")]
    Replay { op: Box<Op>, reason: String },
}

/// Applies a recovery to an empty engine; returns how many journal records
/// it replayed after the checkpoint.
pub fn recover(engine: &Engine, recovery: journal::Recovery) -> Result<usize, RecoveryError> {
    let mut last = Ts(0);
    if let Some(checkpoint) = recovery.checkpoint {
        let mut reader = checkpoint.reader;
        let header = read_document(&mut reader)?.ok_or_else(|| bad_checkpoint("missing header"))?;
        let ts = header
            .get_timestamp("ts")
            .map(Ts::from_bson)
            .map_err(|_| bad_checkpoint("header has no ts"))?;
        while let Some(op) = read_document(&mut reader)? {
            let op = Op::from_document(&op).ok_or_else(|| bad_checkpoint("unknown operation"))?;
            apply(engine, ts, op)?;
        }
        last = ts;
    }
    let records = recovery.records.len();
    for record in recovery.records {
        let (ts, ops) =
            decode(&record.payload).ok_or(RecoveryError::BadRecord { lsn: record.lsn.0 })?;
        for op in ops {
            apply(engine, ts, op)?;
        }
        last = last.max(ts);
    }
    engine.txns().recover_to(last);
    tracing::info!(records, "recovered");
    Ok(records)
}

fn bad_checkpoint(reason: &str) -> RecoveryError {
    RecoveryError::BadCheckpoint {
        reason: reason.to_owned(),
    }
}

/// Reads one BSON document, or `None` at a clean end of stream.
fn read_document(reader: &mut impl Read) -> Result<Option<Document>, RecoveryError> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(bad_checkpoint(&error.to_string())),
    }
    let total = u32::from_le_bytes(length) as usize;
    if !(5..=64 * 1024 * 1024).contains(&total) {
        return Err(bad_checkpoint("document length out of range"));
    }
    let mut bytes = vec![0u8; total];
    bytes[..4].copy_from_slice(&length);
    reader
        .read_exact(&mut bytes[4..])
        .map_err(|e| bad_checkpoint(&e.to_string()))?;
    Document::from_reader(&bytes[..])
        .map(Some)
        .map_err(|e| bad_checkpoint(&e.to_string()))
}

fn collection(engine: &Engine, db: &str, coll: &str) -> Arc<Collection> {
    match engine
        .catalog()
        .get_or_create(db, coll, Document::new(), None)
    {
        Lookup::Found(c) | Lookup::Created(c) => c,
        Lookup::PendingElsewhere => unreachable!("no transaction is open during recovery"),
    }
}

fn apply(engine: &Engine, ts: Ts, op: Op) -> Result<(), RecoveryError> {
    let fail = |op: &Op, reason: String| RecoveryError::Replay {
        op: Box::new(op.clone()),
        reason,
    };
    match &op {
        Op::Put { db, coll, doc } => {
            let coll = collection(engine, db, coll);
            coll.install(ts, doc.clone())
                .map_err(|e| fail(&op, e.to_string()))?;
        }
        Op::Delete { db, coll, id } => {
            let coll = collection(engine, db, coll);
            let record = coll.record_or_insert(crate::storage::key::Key(id.clone()));
            record.lock().install(ts, None);
            coll.note_change();
        }
        Op::Create {
            db,
            coll,
            options,
            indexes,
        } => {
            let created = match engine
                .catalog()
                .get_or_create(db, coll, options.clone(), None)
            {
                Lookup::Found(c) | Lookup::Created(c) => c,
                Lookup::PendingElsewhere => unreachable!("no transaction is open during recovery"),
            };
            for spec in indexes {
                add_index(&created, spec).map_err(|reason| fail(&op, reason))?;
            }
        }
        Op::Drop { db, coll } => {
            engine.catalog().remove(db, coll);
        }
        Op::DropDatabase { db } => {
            engine.catalog().drop_database(db);
        }
        Op::CreateIndex { db, coll, spec } => {
            add_index(&collection(engine, db, coll), spec).map_err(|reason| fail(&op, reason))?;
        }
        Op::DropIndex { db, coll, name } => {
            if let Some(coll) = engine.catalog().get(db, coll, None) {
                coll.drop_indexes(std::slice::from_ref(name));
            }
        }
        Op::SetOptions { db, coll, options } => {
            if let Some(coll) = engine.catalog().get(db, coll, None) {
                coll.set_options(options.clone());
            }
        }
        Op::Rename {
            db,
            coll,
            to_db,
            to_coll,
            drop_target,
        } => {
            if *drop_target {
                engine.catalog().remove(to_db, to_coll);
            }
            if let Some(source) = engine.catalog().get(db, coll, None) {
                engine
                    .catalog()
                    .rename(&source, to_db, to_coll, true)
                    .map_err(|e| fail(&op, format!("{e:?}")))?;
            }
        }
        Op::Committed {
            session,
            lsid,
            txn_number,
        } => {
            engine
                .sessions()
                .restore_commit(session, lsid, *txn_number, ts);
        }
        Op::Retried {
            session,
            lsid,
            txn_number,
            stmt_id,
            result,
        } => {
            engine
                .sessions()
                .restore_retried(session, lsid, *txn_number, *stmt_id, result.clone());
        }
    }
    Ok(())
}

fn add_index(coll: &Collection, info: &Document) -> Result<(), String> {
    let spec = IndexSpec::parse(info).map_err(|e| e.to_string())?;
    if coll.index(&spec.name).is_some() {
        return Ok(());
    }
    coll.add_index(spec).map_err(|e| format!("{e:?}"))
}
