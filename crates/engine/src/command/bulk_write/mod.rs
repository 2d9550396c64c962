//! `bulkWrite` (mongod 8.0): inserts, updates and deletes across many
//! namespaces in one command, run on the `admin` database, with one result
//! per op returned through a cursor on `admin.$cmd.bulkWrite`.
//!
//! Each op runs exactly as the matching single-collection command runs its
//! statement (`insert`, `update`, `delete` share their code with this
//! module), against a context for the op's database that shares the
//! command's one transaction and one retryable-write state. Statement ids
//! are per op (implicitly the op's index), so a retried command skips the
//! ops that already ran and reports their saved results.
//!
//! Invariants: `ordered` (and any transaction) stops at the first failed
//! op; an error that must fail the whole command (WriteConflict inside a
//! transaction, MaxTimeMSExpired) does so, as in the other write commands;
//! the counters cover every op that ran, whether or not `errorsOnly` hides
//! its entry.
//!
//! The command's `let` variables are bound by the command layer before this
//! module sees the body (as for `update` and `delete`).
//!
//! An op's `collation` passes to its statement, as `update` and `delete`
//! take it. Not here: `hint` is accepted and ignored (as in `update` and
//! `delete`); per-op `constants` are not applied.

mod parse;

use bson::{Bson, Document, doc};

use super::ctx::Ctx;
use super::write;
use super::{CommandError, CommandResult, cursor_reply, delete, insert, update};
use crate::session::RetryResult;
use parse::{Op, Request};

/// The cursor's collection part: mongod names it `admin.$cmd.bulkWrite`.
const CURSOR_COLLECTION: &str = "$cmd.bulkWrite";

/// What one op did, as saved for retries.
struct Done {
    n: i64,
    modified: i64,
    upserted: Option<Bson>,
}

/// The command's totals.
#[derive(Default)]
struct Counts {
    errors: i64,
    inserted: i64,
    upserted: i64,
    matched: i64,
    modified: i64,
    deleted: i64,
}

impl Counts {
    fn add(&mut self, op: &Op<'_>, done: &Done) {
        match op {
            Op::Insert { .. } => self.inserted += done.n,
            Op::Update { .. } => {
                let upserted = i64::from(done.upserted.is_some());
                self.upserted += upserted;
                self.matched += done.n - upserted;
                self.modified += done.modified;
            }
            Op::Delete { .. } => self.deleted += done.n,
        }
    }
}

pub(super) fn bulk_write(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    let request = Request::parse(body)?;
    let mut counts = Counts::default();
    let mut items = Vec::new();
    let mut retried = Vec::new();
    for (index, op) in request.ops.iter().enumerate() {
        ctx.check_deadline()?;
        let stmt_id = write::statement_id(body, index);
        let result = match write::already_done(ctx, stmt_id) {
            Some(RetryResult::Write {
                n,
                modified,
                upserted,
            }) => {
                retried.push(stmt_id);
                Ok(Done {
                    n,
                    modified,
                    upserted,
                })
            }
            _ => write::run_statement(ctx, (stmt_id, op.kind()), |ctx| run_op(ctx, op)).inspect(
                |done| {
                    let saved = RetryResult::Write {
                        n: done.n,
                        modified: done.modified,
                        upserted: done.upserted.clone(),
                    };
                    write::remember(ctx, stmt_id, saved);
                },
            ),
        };
        match result {
            Ok(done) => {
                counts.add(op, &done);
                if !request.errors_only {
                    items.push(success_item(index, op, done));
                }
            }
            Err(error) => {
                let entry = write::write_error_entry(ctx, index, error)?;
                counts.errors += 1;
                items.push(error_item(index, op, entry));
                if request.ordered || ctx.in_transaction() {
                    break;
                }
            }
        }
    }
    let mut reply =
        cursor_reply::first_batch(ctx, CURSOR_COLLECTION, items, request.batch_size, false)?;
    reply.extend(doc! {
        "nErrors": counts.errors as i32,
        "nInserted": counts.inserted as i32,
        "nMatched": counts.matched as i32,
        "nModified": counts.modified as i32,
        "nUpserted": counts.upserted as i32,
        "nDeleted": counts.deleted as i32,
    });
    if !retried.is_empty() {
        reply.insert("retriedStmtIds", retried);
    }
    Ok(reply)
}

/// mongod's `bulkWrite` message for a multi statement in a retryable write.
const MULTI_REFUSED: &str = "Cannot use retryable writes with multi=true";

fn run_op(ctx: &mut Ctx<'_>, op: &Op<'_>) -> Result<Done, CommandError> {
    let namespace = op.ns();
    let mut ctx = ctx.on_db(namespace.db);
    match op {
        Op::Insert { document, .. } => {
            let coll = ctx.collection_for_write(namespace.coll)?;
            insert::insert_one(&mut ctx, &coll, document)?;
            Ok(Done {
                n: 1,
                modified: 0,
                upserted: None,
            })
        }
        Op::Update { statement, .. } => {
            let statement = update::parse_statement(statement)?;
            write::refuse_multi_in_retryable_write(&ctx, statement.multi, MULTI_REFUSED)?;
            let outcome = update::run_statement(&mut ctx, namespace.coll, &statement)?;
            Ok(Done {
                n: outcome.matched + i64::from(outcome.upserted.is_some()),
                modified: outcome.modified,
                upserted: outcome.upserted,
            })
        }
        Op::Delete { statement, .. } => {
            let (filter_doc, filter, multi) = delete::parse_statement(statement)?;
            write::refuse_multi_in_retryable_write(&ctx, multi, MULTI_REFUSED)?;
            let n = match ctx.writable(namespace.coll)? {
                Some(coll) => {
                    delete::delete_matching(&mut ctx, &coll, &filter_doc, &filter, multi)?
                }
                None => 0,
            };
            Ok(Done {
                n,
                modified: 0,
                upserted: None,
            })
        }
    }
}

fn success_item(index: usize, op: &Op<'_>, done: Done) -> Document {
    let mut item = doc! {"ok": 1.0, "idx": index as i32, "n": done.n as i32};
    if op.is_update() {
        item.insert("nModified", done.modified as i32);
    }
    if let Some(id) = done.upserted {
        item.insert("upserted", doc! {"_id": id});
    }
    item
}

/// A failed op's entry, from the `writeErrors` entry the other write
/// commands would report: `index` becomes `idx`, the counts follow, and
/// there is no `codeName` (mongod's reply item serializes only the code).
fn error_item(index: usize, op: &Op<'_>, entry: Document) -> Document {
    let mut item = doc! {"ok": 0.0, "idx": index as i32};
    item.extend(
        entry
            .into_iter()
            .filter(|(key, _)| key != "index" && key != "codeName"),
    );
    item.insert("n", 0);
    if op.is_update() {
        item.insert("nModified", 0);
    }
    item
}
