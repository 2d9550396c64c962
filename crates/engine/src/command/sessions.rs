//! Session commands: `startSession`, `endSessions`, `refreshSessions`,
//! `killSessions`, `killAllSessions`. Ending or killing a session aborts its
//! open transaction and kills its cursors.
//!
//! Every lsid a command names is first bound to the caller's `uid`
//! (`auth::owned_lsid`): a user can only ever reach its own sessions, and
//! `killAllSessions` kills only the sessions its patterns name (the auth
//! check has already refused patterns naming other users to a caller
//! without `killAnySession`).

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
    let owned = crate::auth::owned_lsid(ctx.engine, &lsid)?;
    let key = owned.key().expect("a fresh lsid has an id");
    let sessions_max = ctx
        .engine
        .params()
        .sessions_max
        .load(std::sync::atomic::Ordering::Relaxed);
    ctx.engine
        .sessions()
        .get_or_create(key, || owned.to_document(), sessions_max)
        .ok_or_else(crate::limits::too_many_sessions)?;
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
        let Some(key) = crate::auth::owned_lsid(ctx.engine, lsid)?.key() else {
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
        if let Some(key) = crate::auth::owned_lsid(ctx.engine, lsid)?.key()
            && let Some(session) = ctx.engine.sessions().get(&key)
        {
            session.touch();
        }
    }
    Ok(Document::new())
}

pub(super) fn kill_all_sessions(
    ctx: &mut Ctx<'_>,
    body: &Document,
    command: &str,
) -> CommandResult {
    let patterns = patterns(ctx, body, command)?;
    for session in ctx.engine.sessions().all() {
        if let Some(key) = session_key(&session.lsid)
            && (patterns.is_empty() || patterns.iter().any(|p| p.matches(&session.lsid, &key)))
        {
            kill(ctx, &session, &key);
        }
    }
    Ok(Document::new())
}

/// One `killAllSessions` entry or `killAllSessionsByPattern` pattern.
enum Pattern {
    /// Sessions of these users' digests (`{user, db}` or `users: [...]`).
    Uids(Vec<Vec<u8>>),
    /// One session, by its key (an lsid bound to the caller).
    Key(Vec<u8>),
    /// `{}`: every session.
    All,
}

impl Pattern {
    fn matches(&self, lsid: &Document, key: &[u8]) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Key(wanted) => wanted == key,
            Pattern::Uids(uids) => match lsid.get("uid") {
                Some(Bson::Binary(uid)) => uids.contains(&uid.bytes),
                _ => false,
            },
        }
    }
}

fn digest_of(user: &Bson) -> Option<Vec<u8>> {
    let user = user.as_document()?;
    let name = crate::auth::UserName {
        user: user.get_str("user").ok()?.to_owned(),
        db: user.get_str("db").ok()?.to_owned(),
    };
    Some(name.digest())
}

fn patterns(ctx: &Ctx<'_>, body: &Document, command: &str) -> Result<Vec<Pattern>, CommandError> {
    let mut patterns = Vec::new();
    for item in lsids(body, command)? {
        let pattern = if command == "killAllSessions" {
            Pattern::Uids(
                digest_of(&Bson::Document(item.clone()))
                    .into_iter()
                    .collect(),
            )
        } else if let Ok(users) = item.get_array("users") {
            Pattern::Uids(users.iter().filter_map(digest_of).collect())
        } else if let Some(Bson::Binary(uid)) = item.get("uid") {
            Pattern::Uids(vec![uid.bytes.clone()])
        } else if let Ok(lsid) = item.get_document("lsid") {
            let owned = crate::auth::owned_lsid(ctx.engine, lsid)?;
            match owned.key() {
                Some(key) => Pattern::Key(key),
                None => continue,
            }
        } else {
            Pattern::All
        };
        patterns.push(pattern);
    }
    Ok(patterns)
}
