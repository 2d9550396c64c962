//! What every write command shares: document validation for storage,
//! `writeErrors` entries, retryable-write bookkeeping and write concern.

use std::sync::LazyLock;

use bson::{Bson, Document, doc};
use mql::Code;

use super::CommandError;
use super::args::Args;
use super::ctx::{Change, Ctx, StmtKind};
use super::find_and_modify;
use crate::session::RetryResult;
use crate::storage::key::Key;
use crate::storage::record::Doc;
use crate::storage::size::measure;
pub use crate::storage::size::{DOC_DEPTH_MAX, encoded_size};

/// mongod's maximum BSON document size.
pub const DOC_SIZE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Statements in one write command, as mongod's `maxWriteBatchSize`.
pub const WRITE_BATCH_MAX: usize = 100_000;

/// Checks a document about to be stored: size, depth, field names.
pub fn validate_for_storage(doc: &Document) -> Result<(), CommandError> {
    let (size, depth) = measure(doc, 1);
    if size > DOC_SIZE_BYTES_MAX {
        return Err(CommandError::new(
            Code::BSON_OBJECT_TOO_LARGE,
            format!(
                "object to insert too large. size in bytes: {size}, max size: {DOC_SIZE_BYTES_MAX}"
            ),
        ));
    }
    if depth > DOC_DEPTH_MAX {
        return Err(CommandError::new(
            Code::OVERFLOW,
            format!("Document exceeds maximum nesting depth of {DOC_DEPTH_MAX}"),
        ));
    }
    if let Some(id) = mql::path::field(doc, "_id") {
        match id {
            Bson::Array(_) | Bson::RegularExpression(_) | Bson::Undefined => {
                return Err(CommandError::new(
                    Code::INVALID_ID_FIELD,
                    format!(
                        "The '_id' value cannot be of type {}",
                        super::envelope::type_name(id)
                    ),
                ));
            }
            Bson::Document(inner) if inner.keys().any(|k| k.starts_with('$')) => {
                return Err(CommandError::new(
                    Code::DOLLAR_PREFIXED_FIELD_NAME,
                    "_id fields may not contain '$'-prefixed fields",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Puts `_id` first, generating an ObjectId when the document has none.
pub fn with_id_first(doc: &Document) -> Document {
    // Drivers put the `_id` they generate first: a plain copy then keeps
    // the map's exact size instead of growing it field by field.
    if doc.keys().next().is_some_and(|k| k == "_id") {
        return doc.clone();
    }
    let mut out = Document::new();
    match mql::path::field(doc, "_id") {
        Some(id) => out.insert("_id", id.clone()),
        None => out.insert("_id", bson::oid::ObjectId::new()),
    };
    for (key, value) in doc {
        if key != "_id" {
            out.insert(key.clone(), value.clone());
        }
    }
    out
}

/// A `writeErrors` entry, or the error itself when it must fail the whole
/// command (a transient error inside a transaction: the client retries the
/// transaction, so it gets `ok: 0` with the label).
pub fn write_error_entry(
    ctx: &Ctx<'_>,
    index: usize,
    error: CommandError,
) -> Result<Document, CommandError> {
    if ctx.in_transaction() && error.code == Code::WRITE_CONFLICT {
        return Err(error);
    }
    if error.code == Code::MAX_TIME_MS_EXPIRED {
        return Err(error);
    }
    let mut entry = doc! {"index": index as i32, "code": error.code.0, "codeName": error.code.name().into_owned(), "errmsg": error.message};
    entry.extend(*error.extra);
    Ok(entry)
}

/// The statements of a write batch (`documents`, `updates`, `deletes`):
/// required, and at most [`WRITE_BATCH_MAX`] of them.
pub fn batch_statements<'a>(
    args: &Args<'a>,
    command: &str,
    field: &str,
) -> Result<Vec<&'a Document>, CommandError> {
    let statements = args.documents(field)?.ok_or_else(|| {
        CommandError::new(
            Code::FAILED_TO_PARSE,
            format!("BSON field '{command}.{field}' is missing but a required field"),
        )
    })?;
    if statements.len() > WRITE_BATCH_MAX {
        return Err(CommandError::new(
            Code::INVALID_LENGTH,
            format!(
                "Write batch sizes must be between 1 and {WRITE_BATCH_MAX}. Got {} operations.",
                statements.len()
            ),
        ));
    }
    Ok(statements)
}

/// What one write statement did, as retries replay it.
#[derive(Clone, Debug, Default)]
pub struct Done {
    pub n: i64,
    pub modified: i64,
    pub upserted: Option<Bson>,
}

/// The reply of an insert, update or delete batch.
#[derive(Default)]
pub struct Batch {
    pub n: i64,
    pub modified: i64,
    /// `upserted` entries: `{index, _id}`.
    pub upserted: Vec<Document>,
    pub write_errors: Vec<Document>,
}

impl Batch {
    /// `n`, then `nModified` when `with_modified`, `upserted` and
    /// `writeErrors` when present, as mongod orders them.
    pub fn reply(self, with_modified: bool) -> Document {
        // Copying a prepared document skips hashing each name into a new
        // map (and seeding its hasher); only the counts are then set.
        static WITH_MODIFIED: LazyLock<Document> =
            LazyLock::new(|| doc! {"n": 0_i32, "nModified": 0_i32});
        static COUNT_ONLY: LazyLock<Document> = LazyLock::new(|| doc! {"n": 0_i32});
        let mut reply = match with_modified {
            true => WITH_MODIFIED.clone(),
            false => COUNT_ONLY.clone(),
        };
        for (name, value) in reply.iter_mut() {
            if let Bson::Int32(count) = value {
                *count = match name.as_str() {
                    "n" => self.n as i32,
                    _ => self.modified as i32,
                };
            }
        }
        if !self.upserted.is_empty() {
            reply.insert("upserted", self.upserted);
        }
        if !self.write_errors.is_empty() {
            reply.insert("writeErrors", self.write_errors);
        }
        reply
    }
}

/// Runs a write batch's statements in order: a retried statement replays its
/// saved result, a new one is remembered for retries, an error becomes a
/// `writeErrors` entry, and the batch stops at the first error when ordered
/// or inside a transaction.
pub fn run_batch<S>(
    ctx: &mut Ctx<'_>,
    (body, kind): (&Document, StmtKind),
    statements: &[S],
    ordered: bool,
    mut run: impl FnMut(&mut Ctx<'_>, &S) -> Result<Done, CommandError>,
) -> Result<Batch, CommandError> {
    let mut batch = Batch::default();
    for (index, statement) in statements.iter().enumerate() {
        let stmt_id = statement_id(body, index);
        let done = match already_done(ctx, stmt_id) {
            Some(RetryResult::Write {
                n,
                modified,
                upserted,
            }) => Done {
                n,
                modified,
                upserted,
            },
            _ => match run_statement(ctx, (stmt_id, kind.clone()), |ctx| run(ctx, statement)) {
                Ok(done) => {
                    let saved = RetryResult::Write {
                        n: done.n,
                        modified: done.modified,
                        upserted: done.upserted.clone(),
                    };
                    remember(ctx, stmt_id, saved);
                    done
                }
                Err(error) => {
                    batch
                        .write_errors
                        .push(write_error_entry(ctx, index, error)?);
                    if ordered || ctx.in_transaction() {
                        break;
                    }
                    continue;
                }
            },
        };
        batch.n += done.n;
        batch.modified += done.modified;
        if let Some(id) = done.upserted {
            batch.upserted.push(doc! {"index": index as i32, "_id": id});
        }
    }
    Ok(batch)
}

/// Runs one statement of a write that was not run before: under
/// `onPrimaryTransactionalWrite`, and named (`stmt`) so that a retryable
/// write journals its result with its one write.
pub fn run_statement<T>(
    ctx: &mut Ctx<'_>,
    stmt: (i32, StmtKind),
    run: impl FnOnce(&mut Ctx<'_>) -> Result<T, CommandError>,
) -> Result<T, CommandError> {
    on_transactional_write(ctx)?;
    ctx.retry_stmt = Some(stmt);
    let done = run(ctx);
    ctx.retry_stmt = None;
    done
}

/// The result a retry of a statement of `kind` must get, told from its
/// one write (`current`, under `key`, replaced by `change`), as the
/// statement's own code reports it; `None` for a write that tells nothing
/// (or a findAndModify whose projection fails: its reply is an error).
pub fn result_of_write(
    kind: StmtKind,
    key: &Key,
    current: Option<&Doc>,
    change: &Change,
) -> Option<RetryResult> {
    let write = |n, modified, upserted| RetryResult::Write {
        n,
        modified,
        upserted,
    };
    Some(match (kind, change) {
        (StmtKind::Update, Change::Replace(_)) => write(1, 1, None),
        (StmtKind::Update, Change::Insert(_)) => write(1, 0, Some(key.0.clone())),
        (StmtKind::Insert, Change::Insert(_)) | (StmtKind::Delete, Change::Delete) => {
            write(1, 0, None)
        }
        (StmtKind::FindAndModify { return_new, fields }, change) => {
            let (image, last_error) = match change {
                Change::Replace(after) => (
                    if return_new { Some(after) } else { current },
                    find_and_modify::update_last_error(true, None),
                ),
                Change::Insert(doc) => (
                    return_new.then_some(doc),
                    find_and_modify::update_last_error(false, Some(key.0.clone())),
                ),
                Change::Delete => (current, find_and_modify::remove_last_error(true)),
                Change::Keep => return None,
            };
            let image = image.map(|doc| (**doc).clone());
            let reply = find_and_modify::reply(image, last_error, fields.as_deref()).ok()?;
            RetryResult::Reply(reply)
        }
        _ => return None,
    })
}

/// The statement id of the `index`th statement of a batch.
pub fn statement_id(body: &Document, index: usize) -> i32 {
    // `get` and a match, not `get_array`/`get_i32`: those build an error
    // value (with an allocated key) for the usual case of an absent field.
    if let Some(Bson::Array(ids)) = body.get("stmtIds")
        && let Some(Bson::Int32(id)) = ids.get(index)
    {
        return *id;
    }
    let first = match body.get("stmtId") {
        Some(Bson::Int32(first)) => *first,
        _ => 0,
    };
    first.saturating_add(i32::try_from(index).unwrap_or(i32::MAX))
}

/// A saved result for a retried statement, if this is a retry.
pub fn already_done(ctx: &Ctx<'_>, stmt_id: i32) -> Option<RetryResult> {
    let done = ctx
        .retry
        .as_ref()
        .and_then(|retry| retry.results.get(&stmt_id).cloned());
    if done.is_some() {
        ctx.engine.sessions().counters().retried_statement();
    }
    done
}

/// mongod's `onPrimaryTransactionalWrite`, evaluated for each statement of
/// a retryable write that runs, and never for one a retry replays (mongod
/// evaluates it in the write path, which a replay skips): it fails the
/// statement before it applies (`failBeforeCommitExceptionCode`), and
/// unless `closeConnection: false` closes the connection once the command
/// ends, applied or failed.
pub fn on_transactional_write(ctx: &mut Ctx<'_>) -> Result<(), CommandError> {
    // `retry` is set for retryable writes only, never in a transaction.
    let Some(retry) = ctx.retry.as_deref_mut() else {
        return Ok(());
    };
    let Some(fired) = ctx.engine.failpoints().check_transactional_write() else {
        return Ok(());
    };
    retry.close_connection |= fired.close_connection;
    match fired.fail_before_commit_code {
        Some(code) => Err(CommandError::new(
            Code(code),
            "Failing write via 'onPrimaryTransactionalWrite' failpoint",
        )),
        None => Ok(()),
    }
}

/// mongod refuses a statement that may change many documents inside a
/// retryable write (a `txnNumber` outside a transaction): a retry could
/// not replay it as one saved result. Drivers never send one; `message`
/// is mongod's for the command.
pub fn refuse_multi_in_retryable_write(
    ctx: &Ctx<'_>,
    multi: bool,
    message: &'static str,
) -> Result<(), CommandError> {
    match multi && ctx.retry.is_some() {
        true => Err(CommandError::new(Code::INVALID_OPTIONS, message)),
        false => Ok(()),
    }
}

/// Remembers a statement's result for retries.
pub fn remember(ctx: &mut Ctx<'_>, stmt_id: i32, result: RetryResult) {
    if let Some(retry) = ctx.retry.as_deref_mut() {
        retry.results.insert(stmt_id, result);
        ctx.engine.sessions().counters().recorded_write();
    }
}

/// Checks `writeConcern` and returns the `writeConcernError` a reply must
/// carry, if any. This is a one-member replica set: `w` above 1 can never be
/// satisfied, which mongod reports after applying the write.
pub fn write_concern_error(write_concern: Option<&Bson>) -> Result<Option<Document>, CommandError> {
    let Some(write_concern) = write_concern else {
        return Ok(None);
    };
    let Bson::Document(write_concern) = write_concern else {
        return Err(CommandError::new(
            Code::TYPE_MISMATCH,
            "writeConcern must be an object",
        ));
    };
    match write_concern.get("w") {
        None => Ok(None),
        Some(Bson::String(mode)) if mode == "majority" => Ok(None),
        Some(Bson::String(mode)) => Err(CommandError::new(
            Code(79),
            format!("Write concern mode '{mode}' not found in replica set configuration"),
        )),
        Some(w) => match mql::order::Number::of(w).map(mql::order::Number::as_f64) {
            Some(n) if n < 0.0 => Err(CommandError::new(
                Code::FAILED_TO_PARSE,
                "w has to be a non-negative number and not greater than 50; found: -1",
            )),
            Some(n) if n > 1.0 => Ok(Some(doc! {
                "code": Code::UNSATISFIABLE_WRITE_CONCERN.0,
                "codeName": Code::UNSATISFIABLE_WRITE_CONCERN.name().into_owned(),
                "errmsg": "Not enough data-bearing nodes",
                "errInfo": {"writeConcern": write_concern.clone()},
            })),
            Some(_) => Ok(None),
            None => Err(CommandError::new(
                Code::FAILED_TO_PARSE,
                "w has to be a number or a string",
            )),
        },
    }
}
