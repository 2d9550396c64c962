//! Session commands: `startSession`, `endSessions`, `refreshSessions`,
//! `killSessions`, `killAllSessions`. Ending or killing a session aborts its
//! open transaction and kills its cursors.

use bson::{Bson, Document, doc};
use mql::Code;

use super::ctx::Ctx;
use super::gate::end_active;
use super::{CommandError, CommandResult};
use crate::session::{Session, session_key};

/// Sessions one command may name, at most (mongod's limit).
const SESSIONS_PER_COMMAND_MAX: usize = 10_000;

pub(super) fn start_session(ctx: &mut Ctx<'_>) -> CommandResult {
    let id = bson::Uuid::new();
    let lsid = doc! {"id": Bson::Binary(bson::Binary::from_uuid(id))};
    let key = session_key(&lsid).expect("a fresh lsid has an id");
    ctx.engine
        .sessions()
        .get_or_create(key, &lsid)
        .ok_or_else(|| {
            CommandError::new(Code::TOO_MANY_LOGICAL_SESSIONS, "too many open sessions")
        })?;
    Ok(doc! {"id": lsid, "timeoutMinutes": 30})
}

fn lsids<'a>(body: &'a Document, command: &str) -> Result<Vec<&'a Document>, CommandError> {
    let Some(Bson::Array(items)) = body.get(command) else {
        return Err(CommandError::new(
            Code::TYPE_MISMATCH,
            format!("{command} must be an array of session ids"),
        ));
    };
    if items.len() > SESSIONS_PER_COMMAND_MAX {
        return Err(CommandError::new(
            Code::BAD_VALUE,
            format!("{command} may name at most {SESSIONS_PER_COMMAND_MAX} sessions"),
        ));
    }
    items
        .iter()
        .map(|item| match item {
            Bson::Document(lsid) => Ok(lsid),
            _ => Err(CommandError::new(
                Code::TYPE_MISMATCH,
                format!("{command} must be an array of session ids"),
            )),
        })
        .collect()
}

/// Aborts a session's transaction and kills its cursors. The session the
/// command itself runs in is already checked out by this command: its
/// transaction is left alone (it is the caller's own).
pub(crate) fn kill(ctx: &Ctx<'_>, session: &Session, key: &[u8]) {
    if ctx.session.as_deref() != Some(key) {
        let mut state = session.state.lock();
        end_active(ctx.engine, &mut state);
    }
    ctx.engine.cursors().kill_session(key);
}

pub(super) fn end_sessions(ctx: &mut Ctx<'_>, body: &Document, command: &str) -> CommandResult {
    for lsid in lsids(body, command)? {
        let Some(key) = session_key(lsid) else {
            continue;
        };
        if let Some(session) = ctx.engine.sessions().remove(&key) {
            kill(ctx, &session, &key);
        }
    }
    Ok(Document::new())
}

pub(super) fn refresh_sessions(ctx: &mut Ctx<'_>, body: &Document) -> CommandResult {
    for lsid in lsids(body, "refreshSessions")? {
        if let Some(key) = session_key(lsid)
            && let Some(session) = ctx.engine.sessions().get(&key)
        {
            session.touch();
        }
    }
    Ok(Document::new())
}

pub(super) fn kill_all_sessions(ctx: &mut Ctx<'_>) -> CommandResult {
    for session in ctx.engine.sessions().all() {
        if let Some(key) = session_key(&session.lsid) {
            kill(ctx, &session, &key);
        }
    }
    Ok(Document::new())
}
