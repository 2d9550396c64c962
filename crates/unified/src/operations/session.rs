//! Operations on session entities: the transaction calls and
//! `withTransaction`, whose callback operations run with the session lent
//! to them (the client's `with_transaction` holds it mutably meanwhile).

use rotor::ClientSession;

use super::{Lent, TestState, known_arguments, session_for};
use crate::entities::transaction_options;
use crate::model::Operation;
use crate::results::{OpError, OpResult};

pub(super) async fn execute(
    state: &mut TestState,
    op: &Operation,
    lent: &mut Lent<'_>,
) -> OpResult {
    if op.name == "withTransaction" {
        return with_transaction(state, op, lent).await;
    }
    let session = session_for(&mut state.entities, lent, &op.object)?;
    match op.name.as_str() {
        "startTransaction" => {
            let options = transaction_options(&op.arguments)?;
            session.start_transaction(options)?;
        }
        "commitTransaction" => {
            known_arguments(op, &[])?;
            session.commit_transaction().await?;
        }
        "abortTransaction" => {
            known_arguments(op, &[])?;
            session.abort_transaction().await?;
        }
        "endSession" => {
            known_arguments(op, &[])?;
            session.end_session().await;
        }
        other => return Err(format!("session operation {other} is not supported").into()),
    }
    Ok(None)
}

/// `withTransaction`: the callback's operations run as the client's
/// `with_transaction` callback, each checked as usual; an error no
/// `expectError` expected propagates into `with_transaction` (which reads
/// its labels to decide on a retry).
async fn with_transaction(state: &mut TestState, op: &Operation, lent: &mut Lent<'_>) -> OpResult {
    let callback: Vec<Operation> = match op.arguments.get_array("callback") {
        Ok(ops) => ops
            .iter()
            .map(|o| {
                let doc = o.as_document().cloned().unwrap_or_default();
                bson::deserialize_from_document(doc)
                    .map_err(|e| OpError::Runner(format!("a callback operation: {e}")))
            })
            .collect::<Result<_, _>>()?,
        Err(_) => return Err("withTransaction without callback".into()),
    };
    let options = transaction_options(&op.arguments)?;
    let id = op.object.clone();
    // A nested withTransaction on the lent session borrows it again.
    if let Some((lent_id, session)) = lent
        && *lent_id == id
    {
        return run_callback(state, session, &id, options, &callback).await;
    }
    let mut session = state.entities.take_session(&id)?;
    let result = run_callback(state, &mut session, &id, options, &callback).await;
    state.entities.put_session(&id, session);
    result
}

async fn run_callback(
    state: &mut TestState,
    session: &mut ClientSession,
    id: &str,
    options: rotor::TransactionOptions,
    callback: &[Operation],
) -> OpResult {
    session
        .with_transaction(options, async |s: &mut ClientSession| {
            for op in callback {
                let mut lent: Lent<'_> = Some((id.to_owned(), &mut *s));
                super::run(state, op, &mut lent).await?;
            }
            Ok::<_, OpError>(())
        })
        .await?;
    Ok(None)
}
