//! `expectEvents`: the command-monitoring events each client observed,
//! matched in order against the expected ones.
//!
//! A started event's `command` and a succeeded event's `reply` are
//! root-level matches (extra fields allowed); names are compared exactly.
//! Only command events exist here: `cmap` and `sdam` expectations are
//! reported as unsupported, never passed.

use bson::{Bson, Document};
use rotor::CommandEvent;

use crate::entities::EntityMap;
use crate::matcher;
use crate::model::ClientEvents;

/// Checks every `expectEvents` entry of a test.
pub fn check(expected: &[ClientEvents], entities: &EntityMap) -> Result<(), String> {
    for client_events in expected {
        check_client(client_events, entities)?;
    }
    Ok(())
}

fn check_client(expected: &ClientEvents, entities: &EntityMap) -> Result<(), String> {
    let kind = expected.event_type.as_deref().unwrap_or("command");
    if kind != "command" {
        return Err(format!("{kind} events are not supported"));
    }
    let client = entities.client(&expected.client)?;
    let actual: Vec<CommandEvent> = client
        .events
        .lock()
        .map_err(|_| "the event log is poisoned")?
        .clone();
    let too_few = actual.len() < expected.events.len();
    let too_many = !expected.ignore_extra_events && actual.len() > expected.events.len();
    if too_few || too_many {
        return Err(format!(
            "client {}: expected {} events, got {}: [{}]",
            expected.client,
            expected.events.len(),
            actual.len(),
            summary(&actual)
        ));
    }
    for (i, (want, got)) in expected.events.iter().zip(&actual).enumerate() {
        check_event(want, got, entities)
            .map_err(|e| format!("client {} event {i}: {e}", expected.client))?;
    }
    Ok(())
}

/// Names of the events, for a readable failure.
fn summary(events: &[CommandEvent]) -> String {
    events
        .iter()
        .map(|e| match e {
            CommandEvent::Started { command_name, .. } => format!("started {command_name}"),
            CommandEvent::Succeeded { command_name, .. } => format!("succeeded {command_name}"),
            CommandEvent::Failed { command_name, .. } => format!("failed {command_name}"),
            _ => "other".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_event(
    expected: &Document,
    actual: &CommandEvent,
    entities: &EntityMap,
) -> Result<(), String> {
    let (kind, spec) = expected.iter().next().ok_or("an empty expected event")?;
    let spec = spec
        .as_document()
        .ok_or(format!("{kind} is not a document"))?;
    let (actual_kind, name) = match actual {
        CommandEvent::Started { command_name, .. } => ("commandStartedEvent", command_name),
        CommandEvent::Succeeded { command_name, .. } => ("commandSucceededEvent", command_name),
        CommandEvent::Failed { command_name, .. } => ("commandFailedEvent", command_name),
        _ => ("unknown", &String::new()),
    };
    if kind != actual_kind {
        return Err(format!("expected {kind}, got {actual_kind} of {name}"));
    }
    for (field, want) in spec {
        match (field.as_str(), actual) {
            ("commandName", _) => {
                if want.as_str() != Some(name.as_str()) {
                    return Err(format!("expected command {want}, got {name}"));
                }
            }
            ("databaseName", CommandEvent::Started { database, .. }) => {
                if want.as_str() != Some(database.as_str()) {
                    return Err(format!("{name}: expected database {want}, got {database}"));
                }
            }
            ("command", CommandEvent::Started { command, .. }) => {
                matcher::matches_root(want, &Bson::Document(command.clone()), entities)
                    .map_err(|e| format!("{name} command: {e}"))?;
            }
            ("reply", CommandEvent::Succeeded { reply, .. }) => {
                matcher::matches_root(want, &Bson::Document(reply.clone()), entities)
                    .map_err(|e| format!("{name} reply: {e}"))?;
            }
            (other, _) => return Err(format!("{kind}.{other} is not supported")),
        }
    }
    Ok(())
}
