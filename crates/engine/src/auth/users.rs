//! The user store: `admin.system.users`, documents shaped as mongod's
//! (`_id: "db.user"`, `userId`, `user`, `db`, `credentials` with salted
//! SCRAM keys per mechanism, `roles: [{role, db}]`), read and written
//! through the engine's own commands so that they are journaled, recovered
//! and snapshot-read like any other data. Passwords are never stored.
//!
//! Every change bumps a process-wide generation, which tells connections
//! to re-read their user's roles (see `state`).

use std::sync::atomic::{AtomicU64, Ordering};

use bson::{Bson, Document, doc};
use mql::Code;
use sha2::Digest;

use super::roles;
use super::state::{Authenticated, ConnectionAuth};
use crate::Engine;
use crate::command::{CommandError, ConnectionInfo, Request};

/// The database and collection holding every user.
pub const USERS_DB: &str = "admin";
pub const USERS_COLLECTION: &str = "system.users";

/// Users one `usersInfo` lists at most (one reply must fit in 16 MiB).
const USERS_LISTED_MAX: i64 = 10_000;

/// Bumped on every change to the user store.
static GENERATION: AtomicU64 = AtomicU64::new(1);

pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

fn bump_generation() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// A user's name and the database it is defined on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName {
    pub user: String,
    pub db: String,
}

impl UserName {
    /// `_id` in `admin.system.users`.
    pub fn id(&self) -> String {
        format!("{}.{}", self.db, self.user)
    }

    /// mongod's digest of a user, the `uid` of its sessions: SHA-256 of
    /// `user@db` (never the empty string's digest, which means "no auth").
    pub fn digest(&self) -> Vec<u8> {
        sha2::Sha256::digest(format!("{}@{}", self.user, self.db).as_bytes()).to_vec()
    }
}

/// Runs a command as the engine itself; command and write errors become `Err`.
pub(crate) fn internal(
    engine: &Engine,
    db: &str,
    body: Document,
) -> Result<Document, CommandError> {
    let connection = ConnectionInfo {
        auth: ConnectionAuth::internal(),
        ..ConnectionInfo::default()
    };
    let reply = engine
        .run_command(Request {
            db,
            body,
            connection: &connection,
        })
        .reply;
    let error = |reply: &Document| {
        CommandError::new(
            Code(reply.get_i32("code").unwrap_or(Code::INTERNAL_ERROR.0)),
            reply.get_str("errmsg").unwrap_or("internal command failed"),
        )
    };
    if reply.get_f64("ok").ok() != Some(1.0) {
        return Err(error(&reply));
    }
    if let Ok(errors) = reply.get_array("writeErrors")
        && let Some(Bson::Document(first)) = errors.first()
    {
        return Err(error(first));
    }
    Ok(reply)
}

fn find(engine: &Engine, filter: Document, limit: i64) -> Result<Vec<Document>, CommandError> {
    let reply = internal(
        engine,
        USERS_DB,
        doc! {"find": USERS_COLLECTION, "filter": filter, "limit": limit, "singleBatch": true, "sort": {"_id": 1}},
    )?;
    let batch = reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .map_err(|_| CommandError::new(Code::INTERNAL_ERROR, "malformed internal find reply"))?;
    Ok(batch
        .iter()
        .filter_map(|d| d.as_document().cloned())
        .collect())
}

/// The stored document of a user, if it exists.
pub fn find_user(engine: &Engine, name: &UserName) -> Result<Option<Document>, CommandError> {
    Ok(find(engine, doc! {"_id": name.id()}, 1)?.into_iter().next())
}

/// Whether any user exists (the localhost exception closes when one does).
pub fn any_user(engine: &Engine) -> Result<bool, CommandError> {
    Ok(!find(engine, Document::new(), 1)?.is_empty())
}

/// The stored credential of `user` for `mechanism`.
pub fn credential(user: &Document, mechanism: scram::Mechanism) -> Option<scram::Credential> {
    let stored = user
        .get_document("credentials")
        .ok()?
        .get_document(mechanism.name())
        .ok()?;
    let iterations = u32::try_from(stored.get_i32("iterationCount").ok()?).ok()?;
    scram::Credential::from_stored(
        mechanism,
        iterations,
        stored.get_str("salt").ok()?,
        stored.get_str("storedKey").ok()?,
        stored.get_str("serverKey").ok()?,
    )
    .ok()
}

/// The mechanisms a user has credentials for, in mongod's order.
pub fn mechanisms(user: &Document) -> Vec<&'static str> {
    [scram::Mechanism::ScramSha1, scram::Mechanism::ScramSha256]
        .into_iter()
        .filter(|m| credential(user, *m).is_some())
        .map(scram::Mechanism::name)
        .collect()
}

/// A user's `{role, db}` pairs; entries that are not such pairs are skipped.
pub fn stored_roles(user: &Document) -> Vec<(String, String)> {
    let Ok(roles) = user.get_array("roles") else {
        return Vec::new();
    };
    roles
        .iter()
        .filter_map(|role| {
            let role = role.as_document()?;
            Some((
                role.get_str("role").ok()?.to_owned(),
                role.get_str("db").ok()?.to_owned(),
            ))
        })
        .collect()
}

/// A user as a connection holds it once authenticated: roles and grants
/// read now, at the current generation. `None` if the user is gone.
pub(crate) fn load(
    engine: &Engine,
    name: &UserName,
) -> Result<Option<Authenticated>, CommandError> {
    let generation = generation();
    let Some(user) = find_user(engine, name)? else {
        return Ok(None);
    };
    let roles = stored_roles(&user);
    let grants = roles
        .iter()
        .filter_map(|(role, db)| roles::grants(role, db))
        .flatten()
        .collect();
    Ok(Some(Authenticated {
        name: name.clone(),
        roles,
        grants,
        digest: name.digest(),
        generation,
    }))
}

/// Inserts a new user document; an existing user is mongod's 51003.
pub fn insert(engine: &Engine, name: &UserName, user: Document) -> Result<(), CommandError> {
    let result = internal(
        engine,
        USERS_DB,
        doc! {"insert": USERS_COLLECTION, "documents": [user], "writeConcern": {"w": 1, "j": true}},
    );
    bump_generation();
    match result {
        Err(error) if error.code == Code::DUPLICATE_KEY => Err(CommandError::new(
            Code(51003),
            format!("User \"{}@{}\" already exists", name.user, name.db),
        )),
        other => other.map(drop),
    }
}

/// Applies `$set` fields to a user; `false` if there is no such user.
pub fn update(engine: &Engine, name: &UserName, set: Document) -> Result<bool, CommandError> {
    let reply = internal(
        engine,
        USERS_DB,
        doc! {
            "update": USERS_COLLECTION,
            "updates": [{"q": {"_id": name.id()}, "u": {"$set": set}}],
            "writeConcern": {"w": 1, "j": true},
        },
    )?;
    bump_generation();
    Ok(reply.get_i32("n").unwrap_or(0) > 0)
}

/// Deletes the users matching `filter`; returns how many.
pub fn delete(engine: &Engine, filter: Document) -> Result<i32, CommandError> {
    let reply = internal(
        engine,
        USERS_DB,
        doc! {
            "delete": USERS_COLLECTION,
            "deletes": [{"q": filter, "limit": 0}],
            "writeConcern": {"w": 1, "j": true},
        },
    )?;
    bump_generation();
    Ok(reply.get_i32("n").unwrap_or(0))
}

/// Users matching `filter`, sorted by `_id`, at most [`USERS_LISTED_MAX`].
pub fn list(engine: &Engine, filter: Document) -> Result<Vec<Document>, CommandError> {
    find(engine, filter, USERS_LISTED_MAX)
}
