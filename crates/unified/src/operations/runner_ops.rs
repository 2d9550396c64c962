//! Operations on the test runner itself: failpoints, assertions about
//! sessions, commands and the deployment's state, and `createEntities`.
//!
//! Rotor is a one-member replica set, so a session is never pinned to a
//! mongos: `assertSessionPinned` fails and `assertSessionUnpinned` holds.
//! Deployment state (collections, indexes) is read through the runner's
//! own client, whose events no test observes.

use bson::{Bson, Document, doc};
use rotor::{CommandEvent, TransactionState};

use super::{Lent, TestState, session_for};
use crate::model::Operation;
use crate::results::{OpError, OpResult};

pub(super) async fn execute(
    state: &mut TestState,
    op: &Operation,
    lent: &mut Lent<'_>,
) -> OpResult {
    let args = &op.arguments;
    let text = |key: &str| -> Result<String, OpError> {
        args.get_str(key)
            .map(str::to_owned)
            .map_err(|_| OpError::Runner(format!("{}: argument {key} is missing", op.name)))
    };
    match op.name.as_str() {
        "failPoint" => {
            let client = state.entities.client(&text("client")?)?.client.clone();
            arm(state, client, args).await?;
        }
        "targetedFailPoint" => {
            let session = state.entities.session_entity(&text("session")?)?;
            let client = state.entities.client(&session.client)?.client.clone();
            arm(state, client, args).await?;
        }
        "assertSessionTransactionState" => {
            let session = session_for(&mut state.entities, lent, &text("session")?)?;
            let actual = match session.transaction_state() {
                TransactionState::None => "none",
                TransactionState::Starting => "starting",
                TransactionState::InProgress => "in_progress",
                TransactionState::Committed => "committed",
                TransactionState::Aborted => "aborted",
                _ => "unknown",
            };
            let expected = text("state")?;
            if actual != expected {
                return Err(format!("expected transaction state {expected}, got {actual}").into());
            }
        }
        "assertSessionPinned" => {
            return Err("a one-member replica set never pins a session to a mongos".into());
        }
        "assertSessionUnpinned" => {
            session_for(&mut state.entities, lent, &text("session")?)?;
        }
        "assertSessionDirty" | "assertSessionNotDirty" => {
            let session = session_for(&mut state.entities, lent, &text("session")?)?;
            let want = op.name == "assertSessionDirty";
            if session.is_dirty() != want {
                return Err(format!("expected the session dirty: {want}").into());
            }
        }
        "assertSameLsidOnLastTwoCommands" | "assertDifferentLsidOnLastTwoCommands" => {
            let (a, b) = last_two_lsids(state, &text("client")?)?;
            let want_same = op.name == "assertSameLsidOnLastTwoCommands";
            if (a == b) != want_same {
                return Err(format!("lsids {a} and {b}: expected same: {want_same}").into());
            }
        }
        "assertCollectionExists" | "assertCollectionNotExists" => {
            let names = collection_names(state, &text("databaseName")?).await?;
            let want = op.name == "assertCollectionExists";
            let name = text("collectionName")?;
            if names.contains(&name) != want {
                return Err(format!("expected collection {name} to exist: {want}").into());
            }
        }
        "assertIndexExists" | "assertIndexNotExists" => {
            let names =
                index_names(state, &text("databaseName")?, &text("collectionName")?).await?;
            let want = op.name == "assertIndexExists";
            let name = text("indexName")?;
            if names.contains(&name) != want {
                return Err(format!("expected index {name} to exist: {want}").into());
            }
        }
        "createEntities" => {
            let entities: Vec<Document> = args
                .get_array("entities")
                .map_err(|_| "createEntities without entities")?
                .iter()
                .filter_map(|e| e.as_document().cloned())
                .collect();
            let base = state.base.clone();
            state.entities.create(&base, &entities)?;
        }
        other => return Err(format!("test runner operation {other} is not supported").into()),
    }
    Ok(None)
}

/// Arms the failpoint of `args.failPoint` with `client` and remembers it
/// for disarming after the test.
async fn arm(state: &mut TestState, client: rotor::Client, args: &Document) -> Result<(), OpError> {
    let command = args
        .get_document("failPoint")
        .map_err(|_| "failPoint argument missing")?
        .clone();
    let name = command
        .get_str("configureFailPoint")
        .map_err(|_| "failPoint without configureFailPoint")?
        .to_owned();
    client
        .configure_fail_point(command)
        .await
        .map_err(|e| OpError::Runner(format!("configureFailPoint {name} failed: {e}")))?;
    state.failpoints.push((client, name));
    Ok(())
}

fn last_two_lsids(state: &TestState, client: &str) -> Result<(Bson, Bson), OpError> {
    let events = state
        .entities
        .client(client)?
        .events
        .lock()
        .map_err(|_| "event log poisoned")?
        .clone();
    let lsids: Vec<Bson> = events
        .iter()
        .filter_map(|e| match e {
            CommandEvent::Started { command, .. } => {
                Some(command.get("lsid").cloned().unwrap_or(Bson::Null))
            }
            _ => None,
        })
        .collect();
    match lsids.as_slice() {
        [.., a, b] => Ok((a.clone(), b.clone())),
        _ => Err("fewer than two commandStartedEvents".into()),
    }
}

/// The names in a listing command's first batch (the runner's listings
/// are small enough for one batch).
async fn listed_names(
    state: &TestState,
    db: &str,
    command: Document,
) -> Result<Vec<String>, OpError> {
    let reply = state
        .base
        .database(db)
        .run_command(command)
        .await
        .map_err(|e| OpError::Runner(format!("listing failed: {e}")))?;
    let batch = reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map_err(|_| OpError::Runner(format!("malformed listing reply {reply}")))?;
    Ok(batch
        .iter()
        .filter_map(|d| d.as_document()?.get_str("name").ok().map(str::to_owned))
        .collect())
}

async fn collection_names(state: &TestState, db: &str) -> Result<Vec<String>, OpError> {
    listed_names(state, db, doc! {"listCollections": 1, "nameOnly": true}).await
}

async fn index_names(state: &TestState, db: &str, coll: &str) -> Result<Vec<String>, OpError> {
    match listed_names(state, db, doc! {"listIndexes": coll}).await {
        // A missing collection has no indexes (NamespaceNotFound).
        Err(OpError::Runner(m)) if m.contains("NamespaceNotFound") => Ok(Vec::new()),
        other => other,
    }
}
