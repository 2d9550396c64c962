//! Running one operation and checking its outcome (`expectResult`,
//! `expectError`, `saveResultAsEntity`).
//!
//! Operations on the test runner live in [`runner_ops`], on sessions in
//! [`session`], and on clients, databases and collections in [`crud`].
//! `withTransaction` runs its callback operations recursively with the
//! session lent to them, so the futures here are boxed and not `Send`
//! (the client's `with_transaction` future is not).

mod crud;
mod runner_ops;
mod session;

use std::future::Future;
use std::pin::Pin;

use bson::{Bson, Document};
use rotor::{Action, Client, ClientSession};

use crate::entities::{Entity, EntityMap};
use crate::matcher;
use crate::model::Operation;
use crate::results::{OpError, OpResult, check_error};

/// What one test's operations share.
pub struct TestState {
    /// The test's entities.
    pub entities: EntityMap,
    /// The runner's own client (not observed).
    pub base: Client,
    /// Failpoints armed during the test, to disarm after it: the client
    /// that armed each and its name.
    pub failpoints: Vec<(Client, String)>,
}

/// A session lent to `withTransaction`'s callback operations: its entity
/// id and the session itself.
pub type Lent<'a> = Option<(String, &'a mut ClientSession)>;

/// A boxed, non-`Send` future.
pub type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Runs `op` and checks its outcome. `Err(OpError::Client)` is an error
/// the operation raised that no `expectError` expected (inside a
/// `withTransaction` callback it propagates to the transaction);
/// `Err(OpError::Runner)` is a test failure.
pub fn run<'a>(
    state: &'a mut TestState,
    op: &'a Operation,
    lent: &'a mut Lent<'_>,
) -> Boxed<'a, Result<(), OpError>> {
    Box::pin(async move {
        let result = execute(state, op, lent).await;
        if op.ignore_result_and_error {
            return match (result, lent) {
                (Err(OpError::Runner(message)), _) => Err(OpError::Runner(message)),
                // Inside a withTransaction callback even an ignored error
                // propagates, so the transaction sees it.
                (Err(OpError::Client(error)), Some(_)) => Err(OpError::Client(error)),
                _ => Ok(()),
            };
        }
        let value = match (result, &op.expect_error) {
            (Err(OpError::Runner(message)), _) => return Err(OpError::Runner(message)),
            (Err(OpError::Client(error)), Some(expected)) => {
                check_error(expected, &error)
                    .map_err(|e| OpError::Runner(format!("{}: {e}", op.name)))?;
                // Inside a withTransaction callback the expected error still
                // propagates, so the transaction sees it as a driver would.
                return match lent {
                    Some(_) => Err(OpError::Client(error)),
                    None => Ok(()),
                };
            }
            (Err(OpError::Client(error)), None) => return Err(OpError::Client(error)),
            (Ok(value), Some(_)) => {
                return Err(OpError::Runner(format!(
                    "{}: expected an error, got {}",
                    op.name,
                    value.unwrap_or(Bson::Null)
                )));
            }
            (Ok(value), None) => value.unwrap_or(Bson::Null),
        };
        if let Some(expected) = &op.expect_result {
            matcher::matches_root(expected, &value, &state.entities)
                .map_err(|e| OpError::Runner(format!("{} result: {e}", op.name)))?;
        }
        if let Some(id) = &op.save_result_as_entity {
            state.entities.save(id, value);
        }
        Ok(())
    })
}

/// Runs `op` and returns its raw outcome.
async fn execute(state: &mut TestState, op: &Operation, lent: &mut Lent<'_>) -> OpResult {
    if op.object == "testRunner" {
        return runner_ops::execute(state, op, lent).await;
    }
    let lent_here = lent.as_ref().is_some_and(|(id, _)| *id == op.object);
    if lent_here {
        return session::execute(state, op, lent).await;
    }
    match state.entities.get(&op.object)? {
        Entity::Session(_) => session::execute(state, op, lent).await,
        Entity::Client(_) | Entity::Database(_) | Entity::Collection(_) => {
            crud::execute(state, op, lent).await
        }
        Entity::Value(_) => Err(format!("entity {} is not an object", op.object).into()),
    }
}

/// The session `id`: the lent one if it is that, else the entity's.
fn session_for<'s>(
    entities: &'s mut EntityMap,
    lent: &'s mut Lent<'_>,
    id: &str,
) -> Result<&'s mut ClientSession, OpError> {
    match lent {
        Some((lent_id, session)) if lent_id == id => Ok(&mut **session),
        _ => Ok(entities.session(id)?),
    }
}

/// Awaits `action` in the session the arguments name, if any.
async fn in_session<R: Send>(
    state: &mut TestState,
    lent: &mut Lent<'_>,
    args: &Document,
    action: Action<'static, R>,
) -> Result<R, OpError> {
    match args.get_str("session") {
        Ok(id) => {
            let session = session_for(&mut state.entities, lent, id)?;
            Ok(action.session(session).await?)
        }
        Err(_) => Ok(action.await?),
    }
}

/// Fails on arguments an operation does not know, so no option is
/// silently dropped.
fn known_arguments(op: &Operation, known: &[&str]) -> Result<(), OpError> {
    match op.arguments.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(format!("{}: argument {unknown} is not supported", op.name).into()),
        None => Ok(()),
    }
}
