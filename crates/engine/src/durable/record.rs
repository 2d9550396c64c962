//! The engine's journal records: a commit timestamp and the operations it
//! made durable, as one BSON document.
//!
//! ```text
//! { ts: Timestamp, ops: [ { op: "put", db, coll, doc }
//!                       | { op: "del", db, coll, id }
//!                       | { op: "create", db, coll, options, indexes: [spec...] }
//!                       | { op: "drop", db, coll }
//!                       | { op: "dropDatabase", db }
//!                       | { op: "createIndex", db, coll, spec }
//!                       | { op: "dropIndex", db, coll, name }
//!                       | { op: "collMod", db, coll, options }
//!                       | { op: "rename", db, coll, toDb, toColl, dropTarget }
//!                       | { op: "txnCommitted", session, lsid, txnNumber }
//!                       | { op: "retried", session, lsid, txnNumber, stmtId,
//!                           n, nModified, upserted? | reply } ] }
//! ```
//!
//! `txnCommitted` rides in the commit record of a multi-document
//! transaction (and in checkpoints, for sessions whose last transaction
//! committed), so that a `commitTransaction` retried after a restart is
//! answered as committed, as mongod answers it from `config.transactions`,
//! instead of NoSuchTransaction, which a driver's `withTransaction` would
//! take as a reason to run the whole transaction again. `retried` rides
//! in the record of a retryable write's statement (one write each: a
//! statement that may change many documents is refused), with the result
//! a retry must get back, so that a retry after a restart is answered
//! instead of run twice.
//!
//! Checkpoints are a sequence of the same op documents (a header document
//! `{ ts }` first), so recovery has one replay path for both.
//!
//! Records are written straight to BSON bytes in one buffer
//! ([`encode_ops`], [`write_put`], by `bson_bytes`): each stored document
//! is serialized once, with no intermediate document, since a commit's
//! journal record is on every durable commit's path, under the commit lock.

use bson::{Bson, Document, doc};
use bson_bytes::DocumentWriter;

use crate::clock::Ts;
use crate::session::RetryResult;
use crate::storage::record::Doc;

/// One durable operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Put {
        db: String,
        coll: String,
        /// Shared with the stored version: journaling copies nothing.
        doc: Doc,
    },
    Delete {
        db: String,
        coll: String,
        id: Bson,
    },
    Create {
        db: String,
        coll: String,
        options: Document,
        indexes: Vec<Document>,
    },
    Drop {
        db: String,
        coll: String,
    },
    DropDatabase {
        db: String,
    },
    CreateIndex {
        db: String,
        coll: String,
        spec: Document,
    },
    DropIndex {
        db: String,
        coll: String,
        name: String,
    },
    /// `collMod`: the collection's whole new options document.
    SetOptions {
        db: String,
        coll: String,
        options: Document,
    },
    /// `renameCollection`: one record, so recovery never finds both names
    /// or neither. `drop_target`: an existing target was replaced.
    Rename {
        db: String,
        coll: String,
        to_db: String,
        to_coll: String,
        drop_target: bool,
    },
    /// Transaction `txn_number` of the session keyed `session` (its
    /// `lsid` as the engine keeps it) committed in this record, or, in a
    /// checkpoint, is the session's last transaction and committed.
    Committed {
        session: Vec<u8>,
        lsid: Document,
        txn_number: i64,
    },
    /// Statement `stmt_id` of retryable write `txn_number` ran with this
    /// result: `n`, `nModified` and the upserted `_id` of a write, or a
    /// findAndModify's whole `reply`.
    Retried {
        session: Vec<u8>,
        lsid: Document,
        txn_number: i64,
        stmt_id: i32,
        result: RetryResult,
    },
}

/// A session key as a BSON binary.
fn session_binary(session: &[u8]) -> bson::Binary {
    bson::Binary {
        subtype: bson::spec::BinarySubtype::Generic,
        bytes: session.to_vec(),
    }
}

impl Op {
    pub fn to_document(&self) -> Document {
        match self {
            Op::Put { db, coll, doc } => {
                doc! {"op": "put", "db": db, "coll": coll, "doc": (**doc).clone()}
            }
            Op::Delete { db, coll, id } => {
                doc! {"op": "del", "db": db, "coll": coll, "id": id.clone()}
            }
            Op::Create {
                db,
                coll,
                options,
                indexes,
            } => {
                doc! {"op": "create", "db": db, "coll": coll, "options": options.clone(), "indexes": indexes.clone()}
            }
            Op::Drop { db, coll } => doc! {"op": "drop", "db": db, "coll": coll},
            Op::DropDatabase { db } => doc! {"op": "dropDatabase", "db": db},
            Op::CreateIndex { db, coll, spec } => {
                doc! {"op": "createIndex", "db": db, "coll": coll, "spec": spec.clone()}
            }
            Op::DropIndex { db, coll, name } => {
                doc! {"op": "dropIndex", "db": db, "coll": coll, "name": name}
            }
            Op::SetOptions { db, coll, options } => {
                doc! {"op": "collMod", "db": db, "coll": coll, "options": options.clone()}
            }
            Op::Rename {
                db,
                coll,
                to_db,
                to_coll,
                drop_target,
            } => {
                doc! {"op": "rename", "db": db, "coll": coll, "toDb": to_db, "toColl": to_coll, "dropTarget": drop_target}
            }
            Op::Committed {
                session,
                lsid,
                txn_number,
            } => {
                doc! {"op": "txnCommitted", "session": session_binary(session), "lsid": lsid.clone(), "txnNumber": txn_number}
            }
            Op::Retried {
                session,
                lsid,
                txn_number,
                stmt_id,
                result,
            } => {
                let mut op = doc! {
                    "op": "retried", "session": session_binary(session), "lsid": lsid.clone(),
                    "txnNumber": txn_number, "stmtId": stmt_id,
                };
                match result {
                    RetryResult::Write {
                        n,
                        modified,
                        upserted,
                    } => {
                        op.insert("n", n);
                        op.insert("nModified", modified);
                        if let Some(id) = upserted {
                            op.insert("upserted", id.clone());
                        }
                    }
                    RetryResult::Reply(reply) => {
                        op.insert("reply", reply.clone());
                    }
                }
                op
            }
        }
    }

    /// Parses an op document; `None` if it is not one this version wrote.
    pub fn from_document(op: &Document) -> Option<Op> {
        let db = || op.get_str("db").ok().map(str::to_owned);
        let coll = || op.get_str("coll").ok().map(str::to_owned);
        Some(match op.get_str("op").ok()? {
            "put" => Op::Put {
                db: db()?,
                coll: coll()?,
                doc: std::sync::Arc::new(op.get_document("doc").ok()?.clone()),
            },
            "del" => Op::Delete {
                db: db()?,
                coll: coll()?,
                id: op.get("id")?.clone(),
            },
            "create" => Op::Create {
                db: db()?,
                coll: coll()?,
                options: op.get_document("options").ok()?.clone(),
                indexes: op
                    .get_array("indexes")
                    .ok()?
                    .iter()
                    .filter_map(|i| i.as_document().cloned())
                    .collect(),
            },
            "drop" => Op::Drop {
                db: db()?,
                coll: coll()?,
            },
            "dropDatabase" => Op::DropDatabase { db: db()? },
            "createIndex" => Op::CreateIndex {
                db: db()?,
                coll: coll()?,
                spec: op.get_document("spec").ok()?.clone(),
            },
            "dropIndex" => Op::DropIndex {
                db: db()?,
                coll: coll()?,
                name: op.get_str("name").ok()?.to_owned(),
            },
            "collMod" => Op::SetOptions {
                db: db()?,
                coll: coll()?,
                options: op.get_document("options").ok()?.clone(),
            },
            "rename" => Op::Rename {
                db: db()?,
                coll: coll()?,
                to_db: op.get_str("toDb").ok()?.to_owned(),
                to_coll: op.get_str("toColl").ok()?.to_owned(),
                drop_target: op.get_bool("dropTarget").ok()?,
            },
            "txnCommitted" => Op::Committed {
                session: op.get_binary_generic("session").ok()?.clone(),
                lsid: op.get_document("lsid").ok()?.clone(),
                txn_number: op.get_i64("txnNumber").ok()?,
            },
            "retried" => Op::Retried {
                session: op.get_binary_generic("session").ok()?.clone(),
                lsid: op.get_document("lsid").ok()?.clone(),
                txn_number: op.get_i64("txnNumber").ok()?,
                stmt_id: op.get_i32("stmtId").ok()?,
                result: match op.get_document("reply") {
                    Ok(reply) => RetryResult::Reply(reply.clone()),
                    Err(_) => RetryResult::Write {
                        n: op.get_i64("n").ok()?,
                        modified: op.get_i64("nModified").ok()?,
                        upserted: op.get("upserted").cloned(),
                    },
                },
            },
            _ => return None,
        })
    }
}

/// A commit record's usual size: its buffer starts this big.
const RECORD_BYTES_GUESS: usize = 512;

/// Encodes a commit record. Fails only for a document no BSON can hold
/// (a NUL in a field name), which stored documents never are; the commit
/// then fails rather than journal something else.
pub fn encode_ops(ts: Ts, ops: &[Op]) -> Result<Vec<u8>, bson_bytes::Error> {
    let mut out = Vec::with_capacity(RECORD_BYTES_GUESS);
    let mut record = DocumentWriter::new(&mut out);
    record.append("ts", &Bson::Timestamp(ts.to_bson()))?;
    let mut array = record.begin_array("ops")?;
    let mut digits = [0; bson_bytes::DIGITS_MAX];
    for (index, op) in ops.iter().enumerate() {
        write_op(&mut array, bson_bytes::array_index(&mut digits, index), op)?;
    }
    array.finish()?;
    record.finish()?;
    Ok(out)
}

/// One op document, as field `name` of `parent`: a `put` writes its
/// document once, in place, and so do the ops of every commit; the rare
/// catalog ops go through [`Op::to_document`].
fn write_op(parent: &mut DocumentWriter<'_>, name: &str, op: &Op) -> Result<(), bson_bytes::Error> {
    match op {
        Op::Put { db, coll, doc } => {
            let mut out = parent.begin_document(name)?;
            put_fields(&mut out, db, coll, doc)?;
            out.finish()
        }
        Op::Delete { db, coll, id } => {
            let mut out = parent.begin_document(name)?;
            out.append_str("op", "del")?;
            out.append_str("db", db)?;
            out.append_str("coll", coll)?;
            out.append("id", id)?;
            out.finish()
        }
        Op::Committed {
            session,
            lsid,
            txn_number,
        } => {
            let mut out = parent.begin_document(name)?;
            out.append_str("op", "txnCommitted")?;
            out.append_binary("session", session)?;
            out.append_document("lsid", lsid)?;
            out.append("txnNumber", &Bson::Int64(*txn_number))?;
            out.finish()
        }
        other => parent.append_document(name, &other.to_document()),
    }
}

/// Appends a `put` op for `doc` in `db.coll` to `out` as a document of its
/// own (a checkpoint's entries).
pub fn write_put(
    out: &mut Vec<u8>,
    db: &str,
    coll: &str,
    doc: &Document,
) -> Result<(), bson_bytes::Error> {
    let mut put = DocumentWriter::new(out);
    put_fields(&mut put, db, coll, doc)?;
    put.finish()
}

fn put_fields(
    out: &mut DocumentWriter<'_>,
    db: &str,
    coll: &str,
    doc: &Document,
) -> Result<(), bson_bytes::Error> {
    out.append_str("op", "put")?;
    out.append_str("db", db)?;
    out.append_str("coll", coll)?;
    out.append_document("doc", doc)
}

/// Decodes a commit record.
pub fn decode(payload: &[u8]) -> Option<(Ts, Vec<Op>)> {
    let record = Document::from_reader(payload).ok()?;
    let ts = Ts::from_bson(record.get_timestamp("ts").ok()?);
    let ops = record
        .get_array("ops")
        .ok()?
        .iter()
        .map(|op| op.as_document().and_then(Op::from_document))
        .collect::<Option<Vec<_>>>()?;
    Some((ts, ops))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let ops = vec![
            Op::Create {
                db: "d".into(),
                coll: "c".into(),
                options: doc! {},
                indexes: vec![doc! {"key": {"a": 1}, "name": "a_1"}],
            },
            Op::Put {
                db: "d".into(),
                coll: "c".into(),
                doc: std::sync::Arc::new(doc! {"_id": 1, "a": "x"}),
            },
            Op::Delete {
                db: "d".into(),
                coll: "c".into(),
                id: Bson::Int32(2),
            },
            Op::DropIndex {
                db: "d".into(),
                coll: "c".into(),
                name: "a_1".into(),
            },
            Op::SetOptions {
                db: "d".into(),
                coll: "c".into(),
                options: doc! {"validator": {"a": {"$type": "string"}}, "validationLevel": "moderate"},
            },
            Op::Rename {
                db: "d".into(),
                coll: "c".into(),
                to_db: "e".into(),
                to_coll: "f".into(),
                drop_target: true,
            },
            Op::Committed {
                session: vec![7; 16],
                lsid: doc! {"id": bson::Uuid::from_bytes([7; 16])},
                txn_number: 3,
            },
            Op::Retried {
                session: vec![7; 16],
                lsid: doc! {"id": bson::Uuid::from_bytes([7; 16])},
                txn_number: 4,
                stmt_id: 1,
                result: RetryResult::Write {
                    n: 1,
                    modified: 0,
                    upserted: Some(Bson::Int32(9)),
                },
            },
            Op::Retried {
                session: vec![7; 16],
                lsid: doc! {"id": bson::Uuid::from_bytes([7; 16])},
                txn_number: 4,
                stmt_id: 2,
                result: RetryResult::Reply(doc! {"lastErrorObject": {"n": 1}, "value": null}),
            },
        ];
        let bytes = encode_ops(Ts(42), &ops).expect("encodes");
        // The direct encoding is byte for byte the documented record.
        let documented = doc! {"ts": Ts(42).to_bson(), "ops": ops.iter().map(Op::to_document).collect::<Vec<_>>()};
        assert_eq!(bytes, documented.to_vec().expect("encodes"));
        assert_eq!(decode(&bytes), Some((Ts(42), ops)));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
    }
}
