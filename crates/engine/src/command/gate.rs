//! The session gate: binds a command to its session and transaction before
//! it runs, and applies mongod's transaction rules and error labels.
//!
//! Order of checks, as mongod's: field validation, session checkout,
//! transaction number rules, then the command. Errors raised before the
//! command runs do not touch the session's transaction; errors raised by a
//! statement inside a transaction abort it.

use std::sync::atomic::Ordering;
use std::time::Instant;

use bson::{Bson, Document};
use mql::Code;

use super::ctx::{Change, Ctx};
use super::envelope::Envelope;
use super::{CommandError, CommandResult, Request, execute};
use crate::clock::Ts;
use crate::engine::Outcome;
use crate::limits;
use crate::session::{Active, RetryState, Session, SessionState, TxnState};
use crate::storage::key::Key;
use crate::txn::Txn;
use crate::{Engine, Wait};

/// The label drivers retry whole transactions on.
pub const TRANSIENT_TRANSACTION_ERROR: &str = "TransientTransactionError";
/// The label drivers retry writes on.
pub const RETRYABLE_WRITE_ERROR: &str = "RetryableWriteError";

/// Commands a multi-document transaction may run (mongod 4.4+).
fn allowed_in_transaction(name: &str) -> bool {
    matches!(
        name,
        "find"
            | "insert"
            | "update"
            | "delete"
            | "findAndModify"
            | "findandmodify"
            | "getMore"
            | "killCursors"
            | "aggregate"
            | "distinct"
            | "create"
            | "createIndexes"
            | "commitTransaction"
            | "abortTransaction"
            | "bulkWrite"
    )
}

/// `bypassDocumentValidation: true` (or a non-zero number, which mongod
/// accepts for this flag) on any command that writes.
fn bypasses_validation(body: &Document) -> bool {
    match body.get("bypassDocumentValidation") {
        Some(Bson::Boolean(b)) => *b,
        Some(Bson::Int32(n)) => *n != 0,
        Some(Bson::Int64(n)) => *n != 0,
        Some(Bson::Double(n)) => *n != 0.0,
        _ => false,
    }
}

/// Writes that run at most once when they carry a `txnNumber`.
pub fn is_retryable_write(name: &str) -> bool {
    matches!(
        name,
        "insert" | "update" | "delete" | "findAndModify" | "findandmodify" | "bulkWrite"
    )
}

fn is_commit_or_abort(name: &str) -> bool {
    matches!(name, "commitTransaction" | "abortTransaction")
}

/// Codes after which a retryable write or commit may be retried.
pub fn is_retryable_code(code: Code) -> bool {
    matches!(
        code,
        Code::INTERRUPTED_AT_SHUTDOWN
            | Code::INTERRUPTED_DUE_TO_REPL_STATE_CHANGE
            | Code::NOT_WRITABLE_PRIMARY
            | Code::NOT_PRIMARY_NO_SECONDARY_OK
            | Code::NOT_PRIMARY_OR_SECONDARY
            | Code::PRIMARY_STEPPED_DOWN
            | Code::SHUTDOWN_IN_PROGRESS
            | Code::HOST_NOT_FOUND
            | Code::HOST_UNREACHABLE
            | Code::NETWORK_TIMEOUT
            | Code::SOCKET_EXCEPTION
            | Code::EXCEEDED_TIME_LIMIT
    )
}

/// The error labels mongod gives an error with `code` for this command,
/// from the command's own fields (not from session state).
pub fn error_labels(
    name: &str,
    envelope: &Envelope,
    code: Code,
    has_write_concern_error: bool,
) -> Vec<String> {
    let mut labels = Vec::new();
    let commit_or_abort = is_commit_or_abort(name);
    if envelope.in_transaction() && is_transient(code, has_write_concern_error, commit_or_abort) {
        labels.push(TRANSIENT_TRANSACTION_ERROR.to_owned());
    }
    let retryable = commit_or_abort
        || (envelope.txn_number.is_some()
            && !envelope.in_transaction()
            && is_retryable_write(name));
    if retryable && is_retryable_code(code) {
        labels.push(RETRYABLE_WRITE_ERROR.to_owned());
    }
    labels
}

/// mongod's rule for the TransientTransactionError label.
fn is_transient(code: Code, has_write_concern_error: bool, commit_or_abort: bool) -> bool {
    let snapshot_error = matches!(
        code,
        Code::SNAPSHOT_TOO_OLD
            | Code::SNAPSHOT_UNAVAILABLE
            | Code::STALE_CHUNK_HISTORY
            | Code::MIGRATION_CONFLICT
    );
    let transient = snapshot_error
        || matches!(
            code,
            Code::WRITE_CONFLICT | Code::LOCK_TIMEOUT | Code::PREPARED_TRANSACTION_IN_PROGRESS
        );
    if commit_or_abort {
        transient || (code == Code::NO_SUCH_TRANSACTION && !has_write_concern_error)
    } else {
        transient || code == Code::NO_SUCH_TRANSACTION
    }
}

fn invalid_options(message: impl Into<String>) -> CommandError {
    CommandError::new(Code::INVALID_OPTIONS, message)
}

pub(super) fn run(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
    envelope: &Envelope,
) -> CommandResult {
    if envelope.txn_number.is_some() && envelope.lsid.is_none() {
        return Err(invalid_options(
            "Transaction number requires a session ID to also be specified",
        ));
    }
    if envelope.autocommit == Some(true) {
        return Err(invalid_options(
            "autocommit field can only be specified as false",
        ));
    }
    if envelope.autocommit.is_some() && envelope.txn_number.is_none() {
        return Err(invalid_options(
            "'autocommit' field requires a transaction number to also be specified",
        ));
    }
    if envelope.start_transaction && envelope.autocommit.is_none() {
        return Err(invalid_options(
            "'startTransaction' field requires 'autocommit' field to also be specified",
        ));
    }
    let Some(lsid) = &envelope.lsid else {
        return plain(engine, name, request, envelope, None);
    };
    let lsid = crate::auth::owned_lsid(engine, lsid)?;
    let Some(key) = lsid.key() else {
        return Err(CommandError::new(
            Code::INVALID_UUID,
            "lsid.id must be a UUID",
        ));
    };
    let sessions_max = engine.params().sessions_max.load(Ordering::Relaxed);
    let Some(session) = engine
        .sessions()
        .get_or_create(&key, || lsid.to_document(), sessions_max)
    else {
        return Err(limits::too_many_sessions());
    };
    let mut state = session.state.lock();
    if envelope.in_transaction() {
        if !is_commit_or_abort(name) {
            return transaction_statement(
                engine, name, request, envelope, &session, &mut state, key,
            );
        }
        // Commit and abort honour their write concern, as writes do.
        let write_concern_error =
            super::write::write_concern_error(request.body.get("writeConcern"))?;
        let mut reply =
            transaction_statement(engine, name, request, envelope, &session, &mut state, key)?;
        if let Some(error) = write_concern_error {
            reply.insert("writeConcernError", error);
        }
        return Ok(reply);
    }
    match envelope.txn_number {
        Some(number) if is_retryable_write(name) => {
            let owner = (&*session, &mut *state);
            retryable_write(engine, name, request, envelope, owner, key, number)
        }
        Some(_) => Err(invalid_options(format!(
            "txnNumber may only be provided for multi-document transactions and retryable write commands. autocommit:false was not provided, and {name} is not a retryable write command."
        ))),
        None => plain(engine, name, request, envelope, Some(key)),
    }
}

fn plain(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
    envelope: &Envelope,
    session: Option<Vec<u8>>,
) -> CommandResult {
    check_snapshot_support(name, envelope)?;
    let read_at = read_timestamp(engine, envelope.read_concern)?;
    let mut ctx = Ctx {
        engine,
        db: request.db,
        deadline: envelope.deadline,
        txn: None,
        retry: None,
        session,
        txn_number: None,
        read_at,
        wait: Wait::from_write_concern(envelope.write_concern),
        bypass_validation: bypasses_validation(&request.body),
        owner: None,
        retry_stmt: None,
    };
    execute(&mut ctx, name, &request.body)
}

/// Runs a retryable write for the session `(owner, state)` keyed
/// `session`.
fn retryable_write(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
    envelope: &Envelope,
    (owner, state): (&Session, &mut SessionState),
    session: Vec<u8>,
    number: i64,
) -> CommandResult {
    check_snapshot_support(name, envelope)?;
    match state.highest_number {
        Some(highest) if number < highest => return Err(too_old(number, highest)),
        Some(highest) if number == highest && state.retry.number == number => {
            engine.sessions().counters().retried_command();
        }
        _ => {
            end_active(engine, state);
            state.highest_number = Some(number);
            state.retry = RetryState {
                number,
                ..RetryState::default()
            };
        }
    }
    let mut ctx = Ctx {
        engine,
        db: request.db,
        deadline: envelope.deadline,
        txn: None,
        retry: Some(&mut state.retry),
        session: Some(session),
        txn_number: Some(number),
        read_at: None,
        wait: Wait::from_write_concern(envelope.write_concern),
        bypass_validation: bypasses_validation(&request.body),
        owner: Some(owner),
        retry_stmt: None,
    };
    let result = execute(&mut ctx, name, &request.body);
    // `onPrimaryTransactionalWrite` fired on one of the statements that ran
    // (`write::on_transactional_write`): the client sees a network error
    // and retries, meeting the saved results.
    if !std::mem::take(&mut state.retry.close_connection) {
        return result;
    }
    match result {
        Ok(mut reply) => {
            reply.insert(super::CLOSE_CONNECTION_FIELD, true);
            Ok(reply)
        }
        Err(mut error) => {
            error.extra.insert(super::CLOSE_CONNECTION_FIELD, true);
            Err(error)
        }
    }
}

/// Outside transactions, only reads take `readConcern: {level: "snapshot"}`.
fn check_snapshot_support(name: &str, envelope: &Envelope) -> Result<(), CommandError> {
    let level = envelope
        .read_concern
        .as_ref()
        .and_then(|rc| rc.get_str("level").ok());
    if level == Some("snapshot")
        && !matches!(
            name,
            "find" | "aggregate" | "distinct" | "getMore" | "killCursors"
        )
    {
        return Err(invalid_options(format!(
            "Command {name} does not support {{ readConcern: {{ level: \"snapshot\" }} }} outside a multi-document transaction"
        )));
    }
    Ok(())
}

fn too_old(number: i64, highest: i64) -> CommandError {
    CommandError::new(
        Code::TRANSACTION_TOO_OLD,
        format!(
            "Cannot start transaction {number} on session because a newer transaction {highest} has already started"
        ),
    )
}

fn no_such_transaction(number: i64) -> CommandError {
    CommandError::new(
        Code::NO_SUCH_TRANSACTION,
        format!("Given transaction number {number} does not match any in-progress transactions."),
    )
}

/// Aborts the session's open transaction, if any.
pub(crate) fn end_active(engine: &Engine, state: &mut SessionState) {
    if !matches!(state.txn, TxnState::Active(_)) {
        return;
    }
    let TxnState::Active(active) = std::mem::replace(&mut state.txn, TxnState::Idle) else {
        unreachable!("checked above");
    };
    if let Some(txn) = active.txn {
        engine.abort_txn(txn);
    }
    state.txn = TxnState::Aborted {
        number: active.number,
    };
}

fn transaction_statement(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
    envelope: &Envelope,
    owner: &Session,
    state: &mut SessionState,
    session: Vec<u8>,
) -> CommandResult {
    let Some(number) = envelope.txn_number else {
        return Err(invalid_options(
            "txnNumber is required for a transaction statement",
        ));
    };
    if !allowed_in_transaction(name) {
        return Err(CommandError::new(
            Code::OPERATION_NOT_SUPPORTED_IN_TRANSACTION,
            format!("Cannot run '{name}' in a multi-document transaction."),
        ));
    }
    if envelope.write_concern.is_some() && !is_commit_or_abort(name) {
        return Err(invalid_options(
            "writeConcern is not allowed within a multi-statement transaction",
        ));
    }
    if let Some(highest) = state.highest_number
        && number < highest
    {
        return Err(too_old(number, highest));
    }
    if envelope.start_transaction {
        start(engine, envelope, state, number)?;
    } else {
        if envelope.read_concern.is_some() {
            return Err(invalid_options(
                "Only the first command in a transaction may specify a readConcern",
            ));
        }
        match &state.txn {
            TxnState::Active(active) if active.number == number => {}
            TxnState::Committed {
                number: committed,
                commit_ts,
            } if *committed == number => {
                return match name {
                    "commitTransaction" => Ok(super::reply::with_operation_time(*commit_ts)),
                    "abortTransaction" => Err(CommandError::new(
                        Code::TRANSACTION_COMMITTED,
                        format!("Cannot abort transaction {number}: it has been committed"),
                    )),
                    _ => Err(CommandError::new(
                        Code::TRANSACTION_COMMITTED,
                        format!("Transaction {number} has been committed."),
                    )),
                };
            }
            TxnState::Aborted { number: aborted } if *aborted == number => {
                return Err(CommandError::new(
                    Code::NO_SUCH_TRANSACTION,
                    format!("Transaction with txnNumber {number} has been aborted."),
                ));
            }
            _ => return Err(no_such_transaction(number)),
        }
    }
    match name {
        "commitTransaction" => commit(engine, envelope, (&session, owner), state),
        "abortTransaction" => {
            end_active(engine, state);
            Ok(Document::new())
        }
        _ => statement(engine, name, request, envelope, state, session, number),
    }
}

fn start(
    engine: &Engine,
    envelope: &Envelope,
    state: &mut SessionState,
    number: i64,
) -> Result<(), CommandError> {
    if state.highest_number == Some(number) {
        return Err(CommandError::new(
            Code::CONFLICTING_OPERATION_IN_PROGRESS,
            format!(
                "Cannot start a transaction at given transaction number {number} a transaction with the same number is in state {}",
                state_name(&state.txn)
            ),
        ));
    }
    if let Some(read_concern) = &envelope.read_concern {
        validate_transaction_read_concern(read_concern)?;
    }
    end_active(engine, state);
    let slot = engine
        .sessions()
        .reserve_txn()
        .ok_or_else(limits::too_many_transactions)?;
    state.highest_number = Some(number);
    state.txn = TxnState::Active(Box::new(Active {
        number,
        txn: None,
        started: Instant::now(),
        read_concern: envelope.read_concern.cloned(),
        _slot: slot,
    }));
    Ok(())
}

/// Counts one write of a multi-document transaction towards
/// `transactionSizeLimitBytes`, as mongod counts each operation it will
/// log: the whole document for an insert or replacement, the `_id` for a
/// delete. Fails with TransactionTooLarge once the total passes the limit.
pub(super) fn charge_write(
    engine: &Engine,
    txn: &mut Txn,
    key: &Key,
    change: &Change,
) -> Result<(), CommandError> {
    let bytes = match change {
        Change::Insert(doc) | Change::Replace(doc) => encoded_len(doc),
        Change::Delete => encoded_len(&bson::doc! {"_id": key.0.clone()}),
        Change::Keep => return Ok(()),
    };
    let limit_bytes = engine
        .params()
        .transaction_size_bytes_max
        .load(Ordering::Relaxed);
    if txn.add_write_bytes(bytes) > limit_bytes {
        return Err(limits::transaction_too_large(limit_bytes));
    }
    Ok(())
}

fn encoded_len(doc: &Document) -> u64 {
    super::write::encoded_size(doc) as u64
}

fn state_name(state: &TxnState) -> &'static str {
    match state {
        TxnState::Idle => "none",
        TxnState::Active(_) => "in progress",
        TxnState::Committed { .. } => "committed",
        TxnState::Aborted { .. } => "aborted",
    }
}

fn validate_transaction_read_concern(read_concern: &Document) -> Result<(), CommandError> {
    match read_concern.get("level") {
        None | Some(Bson::String(_)) => {}
        Some(_) => {
            return Err(CommandError::new(
                Code::TYPE_MISMATCH,
                "readConcern.level must be a string",
            ));
        }
    }
    match read_concern.get_str("level").unwrap_or("local") {
        "local" | "majority" | "snapshot" => Ok(()),
        level => Err(invalid_options(format!(
            "The readConcern level must be either 'local' (default), 'majority' or 'snapshot' in order to run in a transaction, not '{level}'"
        ))),
    }
}

/// Commits the session's open transaction; `(key, owner)` is the session,
/// named in the commit record so that a retried commit is answered after
/// a restart too.
fn commit(
    engine: &Engine,
    envelope: &Envelope,
    (key, owner): (&[u8], &Session),
    state: &mut SessionState,
) -> CommandResult {
    let TxnState::Active(active) = std::mem::replace(&mut state.txn, TxnState::Idle) else {
        unreachable!("commit runs only on an active transaction");
    };
    let number = active.number;
    let wait = Wait::from_write_concern(envelope.write_concern);
    let commit_ts = match active.txn {
        Some(txn) => match engine.commit_txn(
            txn,
            wait,
            Some(Outcome::Committed {
                key,
                session: owner,
                number,
            }),
        ) {
            Ok(ts) => ts,
            Err(error) => {
                state.txn = TxnState::Aborted { number };
                return Err(error);
            }
        },
        None => engine.txns().visible(),
    };
    engine.sessions().counters().committed();
    state.txn = TxnState::Committed { number, commit_ts };
    Ok(super::reply::with_operation_time(commit_ts))
}

fn statement(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
    envelope: &Envelope,
    state: &mut SessionState,
    session: Vec<u8>,
    number: i64,
) -> CommandResult {
    let TxnState::Active(active) = &mut state.txn else {
        unreachable!("statements run only in an active transaction");
    };
    if active.txn.is_none() {
        let read_at = read_timestamp(engine, active.read_concern.as_ref())?;
        active.txn = Some(match read_at {
            Some(ts) => engine.txns().begin_at(ts),
            None => engine.txns().begin(true),
        });
    }
    let txn = active
        .txn
        .as_mut()
        .expect("the first statement created the transaction");
    let mut ctx = Ctx {
        engine,
        db: request.db,
        deadline: envelope.deadline,
        txn: Some(txn),
        retry: None,
        session: Some(session),
        txn_number: Some(number),
        read_at: None,
        wait: Wait::from_write_concern(envelope.write_concern),
        bypass_validation: bypasses_validation(&request.body),
        owner: None,
        retry_stmt: None,
    };
    let result = execute(&mut ctx, name, &request.body);
    let failed = match &result {
        Err(_) => true,
        Ok(reply) => {
            reply.contains_key("writeErrors") || reply.get_i32("nErrors").is_ok_and(|n| n > 0)
        }
    };
    if failed {
        end_active(engine, state);
    }
    result
}

/// The timestamp a read concern asks to read at, after waiting for
/// `afterClusterTime`. `None` means "the newest".
fn read_timestamp(
    engine: &Engine,
    read_concern: Option<&Document>,
) -> Result<Option<Ts>, CommandError> {
    let Some(read_concern) = read_concern else {
        return Ok(None);
    };
    if let Some(after) = read_concern.get("afterClusterTime") {
        let Bson::Timestamp(after) = after else {
            return Err(CommandError::new(
                Code::TYPE_MISMATCH,
                "afterClusterTime must be a timestamp",
            ));
        };
        engine.txns().make_visible(Ts::from_bson(*after));
    }
    let level = read_concern.get_str("level").unwrap_or("local");
    match read_concern.get("atClusterTime") {
        // A snapshot read without a time reads at the newest and says when.
        None if level == "snapshot" => Ok(Some(engine.txns().visible())),
        None => Ok(None),
        Some(_) if level != "snapshot" => Err(invalid_options(
            "atClusterTime is only allowed with readConcern level snapshot",
        )),
        Some(Bson::Timestamp(at)) => {
            let at = Ts::from_bson(*at);
            if at > engine.txns().clock.now() {
                return Err(CommandError::new(
                    Code::BAD_VALUE,
                    "atClusterTime is in the future",
                ));
            }
            if at < engine.txns().history_floor() {
                return Err(CommandError::new(
                    Code::SNAPSHOT_TOO_OLD,
                    "Read timestamp is older than the oldest available timestamp",
                ));
            }
            Ok(Some(at))
        }
        Some(_) => Err(CommandError::new(
            Code::TYPE_MISMATCH,
            "atClusterTime must be a timestamp",
        )),
    }
}
