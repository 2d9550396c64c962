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
        .get_or_create(&key, || owned.to_document(), sessions_max)
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

/// `$listLocalSessions`: the sessions of the user running the command, of
/// the users named in `users`, or of everyone (`allUsers: true`); the
/// authorization check has already refused others' sessions to a user
/// without the `listSessions` privilege.
pub(super) fn list_local(ctx: &Ctx<'_>, spec: &Bson) -> Result<Vec<Document>, CommandError> {
    let bad = |message: &str| CommandError::new(Code::BAD_VALUE, message.to_owned());
    let Bson::Document(spec) = spec else {
        return Err(CommandError::new(
            Code::TYPE_MISMATCH,
            "$listLocalSessions must take a nested object",
        ));
    };
    for field in spec.keys() {
        if !matches!(field.as_str(), "allUsers" | "users") {
            return Err(CommandError::new(
                Code(40415),
                format!("BSON field '$listLocalSessions.{field}' is an unknown field."),
            ));
        }
    }
    let all_users = match spec.get("allUsers") {
        None => false,
        Some(Bson::Boolean(all)) => *all,
        Some(_) => return Err(bad("$listLocalSessions.allUsers must be a boolean")),
    };
    let uids: Option<Vec<Vec<u8>>> = match (all_users, spec.get("users")) {
        (true, Some(_)) => {
            return Err(bad(
                "$listLocalSessions: 'allUsers' and 'users' cannot both be given",
            ));
        }
        (true, None) => None,
        (false, None) => Some(vec![crate::auth::current_uid()]),
        (false, Some(Bson::Array(users))) => Some(
            users
                .iter()
                .map(|user| {
                    digest_of(user).ok_or_else(|| {
                        bad("$listLocalSessions.users entries must be {user, db} objects")
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        (false, Some(_)) => return Err(bad("$listLocalSessions.users must be an array")),
    };
    let pattern = match uids {
        Some(uids) => Pattern::Uids(uids),
        None => Pattern::All,
    };
    let now = std::time::Instant::now();
    let wall = bson::DateTime::now().timestamp_millis();
    Ok(ctx
        .engine
        .sessions()
        .all()
        .into_iter()
        .filter_map(|session| {
            let key = session_key(&session.lsid)?;
            pattern.matches(&session.lsid, &key).then(|| {
                let idle = now.saturating_duration_since(session.last_used());
                let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
                doc! {
                    "_id": session.lsid.clone(),
                    "lastUse": bson::DateTime::from_millis(wall.saturating_sub(idle_ms)),
                }
            })
        })
        .collect())
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
