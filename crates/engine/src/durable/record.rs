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
//! Records are written straight to BSON bytes ([`op_bytes`], [`put_bytes`]):
//! each stored document is serialized once, with no intermediate document,
//! since a commit's journal record is on every durable commit's path.

use bson::raw::{RawArrayBuf, RawBson, RawDocumentBuf, cstr};
use bson::{Bson, Document, doc};

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

/// Encodes a commit record.
pub fn encode_ops(ts: Ts, ops: &[Op]) -> Vec<u8> {
    let mut array = RawArrayBuf::new();
    for op in ops {
        array.push(op_bytes(op));
    }
    let mut record = RawDocumentBuf::new();
    record.append(cstr!("ts"), ts.to_bson());
    record.append(cstr!("ops"), array);
    record.into_bytes()
}

/// One op document's bytes: a `put` serializes its document once, in
/// place; the rare catalog ops go through [`Op::to_document`].
pub fn op_bytes(op: &Op) -> RawDocumentBuf {
    match op {
        Op::Put { db, coll, doc } => put_bytes(db, coll, doc),
        Op::Delete { db, coll, id } => {
            let mut out = RawDocumentBuf::new();
            out.append(cstr!("op"), "del");
            out.append(cstr!("db"), db.as_str());
            out.append(cstr!("coll"), coll.as_str());
            // An `_id` is a stored document's field: it always encodes.
            if let Ok(id) = RawBson::try_from(id.clone()) {
                out.append(cstr!("id"), id);
            }
            out
        }
        // On every durable transaction commit: written in place too.
        Op::Committed {
            session,
            lsid,
            txn_number,
        } => {
            let mut out = RawDocumentBuf::new();
            out.append(cstr!("op"), "txnCommitted");
            out.append(
                cstr!("session"),
                bson::RawBinaryRef {
                    subtype: bson::spec::BinarySubtype::Generic,
                    bytes: session,
                },
            );
            out.append(cstr!("lsid"), raw(lsid));
            out.append(cstr!("txnNumber"), *txn_number);
            out
        }
        other => raw(&other.to_document()),
    }
}

/// A `put` op's bytes for `doc` in `db.coll` (commit records and
/// checkpoints alike).
pub fn put_bytes(db: &str, coll: &str, doc: &Document) -> RawDocumentBuf {
    let mut out = RawDocumentBuf::new();
    out.append(cstr!("op"), "put");
    out.append(cstr!("db"), db);
    out.append(cstr!("coll"), coll);
    out.append(cstr!("doc"), raw(doc));
    out
}

fn raw(doc: &Document) -> RawDocumentBuf {
    // Encoding an in-memory Document cannot fail except for keys with NUL
    // bytes, which the wire decoder never produces.
    RawDocumentBuf::try_from(doc).unwrap_or_default()
}

pub fn to_bytes(doc: &Document) -> Vec<u8> {
    raw(doc).into_bytes()
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
        let bytes = encode_ops(Ts(42), &ops);
        // The direct encoding is byte for byte the documented record.
        let documented = doc! {"ts": Ts(42).to_bson(), "ops": ops.iter().map(Op::to_document).collect::<Vec<_>>()};
        assert_eq!(bytes, to_bytes(&documented));
        assert_eq!(decode(&bytes), Some((Ts(42), ops)));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
    }
}
