//! The one authorization check every command passes before it runs, and
//! the identities it hands on: the `uid` that binds a session to its user
//! and the owner stamped on cursors.
//!
//! Invariant: `command::run` calls [`authorize`] for every command, inside
//! a transaction or not, before the session gate and before the command;
//! nothing else decides access. Commands are classified by name in
//! [`needs`]; a name it does not know needs an action only `root` has, so
//! a command added later is closed until it is classified.

use std::sync::OnceLock;

use bson::{Bson, Document};
use mql::Code;
use sha2::Digest;

use super::roles::{self, Action};
use super::state::Authenticated;
use super::users::{self, UserName};
use crate::Engine;
use crate::command::{CommandError, ConnectionInfo, Request};

/// Who a command runs as, once authorized.
pub(crate) enum Access {
    /// Authorization is off, or the engine itself runs the command.
    Unrestricted,
    /// An unauthenticated connection, running a command that needs no user.
    Anonymous,
    User(Box<Authenticated>),
}

impl Access {
    /// The owner to stamp on cursors the command opens.
    pub fn owner(&self) -> Option<Vec<u8>> {
        match self {
            Access::User(user) => Some(user.digest.clone()),
            Access::Unrestricted | Access::Anonymous => None,
        }
    }

    /// `listDatabases` shows a user without the cluster-wide action only
    /// the databases its roles touch, as mongod's `authorizedDatabases`.
    pub fn filter_databases(&self, reply: &mut Document) {
        let Access::User(user) = self else {
            return;
        };
        if roles::allows(&user.grants, None, Action::ListDatabases) {
            return;
        }
        if let Ok(databases) = reply.get_array_mut("databases") {
            databases.retain(|db| {
                db.as_document()
                    .and_then(|d| d.get_str("name").ok())
                    .is_some_and(|name| roles::touches(&user.grants, name))
            });
        }
    }
}

/// Commands mongod runs without authentication.
pub(crate) fn needs_no_user(name: &str) -> bool {
    matches!(
        name,
        "hello"
            | "isMaster"
            | "ismaster"
            | "saslStart"
            | "saslContinue"
            | "logout"
            | "ping"
            | "buildInfo"
            | "buildinfo"
            | "connectionStatus"
            | "whatsmyuri"
            | "listCommands"
    )
}

/// The connection's principal, with its user re-read if users changed.
pub(crate) fn principal(engine: &Engine, connection: &ConnectionInfo) -> Access {
    let (internal, user) = {
        let state = connection.auth.lock();
        (state.internal, state.user.clone())
    };
    if internal {
        return Access::Unrestricted;
    }
    let Some(user) = user else {
        return Access::Anonymous;
    };
    if user.generation == users::generation() {
        return Access::User(Box::new(user));
    }
    let fresh = users::load(engine, &user.name).ok().flatten();
    let mut state = connection.auth.lock();
    state.user = fresh.clone();
    match fresh {
        Some(fresh) => Access::User(Box::new(fresh)),
        None => Access::Anonymous,
    }
}

/// Decides whether the connection may run this command.
pub(crate) fn authorize(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
) -> Result<Access, CommandError> {
    if !engine.options().auth {
        return Ok(Access::Unrestricted);
    }
    let access = principal(engine, request.connection);
    let user = match &access {
        Access::Unrestricted => return Ok(access),
        _ if needs_no_user(name) => return Ok(access),
        Access::Anonymous if name == "createUser" && localhost_exception(engine, request)? => {
            return Ok(access);
        }
        Access::Anonymous => {
            return Err(CommandError::new(
                Code::UNAUTHORIZED,
                format!("command {name} requires authentication"),
            ));
        }
        Access::User(user) => user,
    };
    for (db, action) in needs(name, request, user) {
        if !roles::allows(&user.grants, db.as_deref(), action) {
            return Err(not_authorized(request));
        }
    }
    check_cursors(engine, name, request, user)?;
    check_kill_all(name, request, user)?;
    Ok(access)
}

/// mongod's refusal, which quotes the command with secrets redacted.
fn not_authorized(request: &Request<'_>) -> CommandError {
    let mut shown = request.body.clone();
    for secret in ["pwd", "payload"] {
        if shown.contains_key(secret) {
            shown.insert(secret, "###");
        }
    }
    CommandError::new(
        Code::UNAUTHORIZED,
        format!(
            "not authorized on {} to execute command {shown}",
            request.db
        ),
    )
}

/// While no user exists, a connection from this machine may create one.
fn localhost_exception(engine: &Engine, request: &Request<'_>) -> Result<bool, CommandError> {
    Ok(is_loopback(request.connection.peer.as_deref()) && !users::any_user(engine)?)
}

/// Whether a peer address is this machine. No peer means an in-process
/// caller, which is as local as a caller can be.
fn is_loopback(peer: Option<&str>) -> bool {
    let Some(peer) = peer else {
        return true;
    };
    if let Ok(addr) = peer.parse::<std::net::SocketAddr>() {
        return addr.ip().is_loopback();
    }
    if let Ok(ip) = peer.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    peer == "localhost" || peer.starts_with("localhost:")
}

fn on(db: &str, actions: &[Action]) -> Vec<(Option<String>, Action)> {
    actions.iter().map(|a| (Some(db.to_owned()), *a)).collect()
}

/// What a command needs, as `(database or None for the cluster, action)`.
/// Empty: any authenticated user may run it.
fn needs(name: &str, request: &Request<'_>, user: &Authenticated) -> Vec<(Option<String>, Action)> {
    use Action::*;
    let db = request.db;
    let body = &request.body;
    if let Some(Bson::String(coll)) = body.get(name)
        && db == users::USERS_DB
        && coll == users::USERS_COLLECTION
    {
        return match name {
            "find" | "count" | "distinct" | "aggregate" | "listIndexes" | "getMore" => {
                on(db, &[ViewUser])
            }
            _ => vec![(None, Unclassified)],
        };
    }
    match name {
        "find" | "count" | "distinct" | "getMore" => on(db, &[Find]),
        "explain" => explain_needs(request, user),
        "aggregate" if lists_local_sessions(body) => {
            let mut needs = aggregate_needs(db, body);
            if reads_no_collection(body) {
                needs.retain(|need| need.1 != Find);
            }
            if lists_others_sessions(body, user) {
                needs.push((None, ListSessions));
            }
            needs
        }
        "aggregate" => aggregate_needs(db, body),
        "listCollections" => on(db, &[ListCollections]),
        "listIndexes" => on(db, &[ListIndexes]),
        "insert" => on(db, &[Insert]),
        "update" => on(db, &[Update]),
        "delete" => on(db, &[Remove]),
        "findAndModify" | "findandmodify" => on(db, &[Find, Update, Remove]),
        "bulkWrite" => bulk_write_needs(body),
        "create" => on(db, &[CreateCollection]),
        "collMod" => on(db, &[CollMod]),
        "validate" => on(db, &[Validate]),
        "renameCollection" => rename_needs(body),
        "drop" => on(db, &[DropCollection]),
        "dropDatabase" => on(db, &[DropDatabase]),
        "createIndexes" => on(db, &[CreateIndex]),
        "dropIndexes" | "deleteIndexes" => on(db, &[DropIndex]),
        "createUser" | "updateUser" => user_write_needs(name, db, body),
        "dropUser" | "dropAllUsersFromDatabase" => on(db, &[DropUser]),
        "usersInfo" if only_self(db, body, &user.name) => Vec::new(),
        "usersInfo" => users_info_needs(db, body),
        // mongod: `viewRole` on the database (held, as in Rotor's roles,
        // with `viewUser` by userAdmin), or any user asking only about
        // roles it holds. Every role is built in, so this hides nothing
        // but which roles exist.
        "rolesInfo" if only_own_roles(db, body, user) => Vec::new(),
        "rolesInfo" => on(db, &[ViewUser]),
        "listDatabases"
        | "killCursors"
        | "startSession"
        | "endSessions"
        | "refreshSessions"
        | "killSessions"
        | "killAllSessions"
        | "killAllSessionsByPattern"
        | "commitTransaction"
        | "abortTransaction" => Vec::new(),
        // mongod's `dbStats` action, which every read role holds.
        "dbStats" | "dbstats" => on(db, &[Find]),
        // mongod's `collStats` action, which every read role holds.
        "collStats" => on(db, &[Find]),
        "serverStatus" | "hostInfo" | "getCmdLineOpts" | "getLog" | "replSetGetStatus"
        | "replSetGetConfig" | "getParameter" => vec![(None, Monitor)],
        "setParameter" | "configureFailPoint" => vec![(None, Manage)],
        _ => vec![(None, Unclassified)],
    }
}

/// `explain` needs what the command it explains needs; a malformed or
/// nested one needs what an unknown command does, so only the privileged
/// reach its parse error.
fn explain_needs(request: &Request<'_>, user: &Authenticated) -> Vec<(Option<String>, Action)> {
    let inner = match request.body.get("explain") {
        Some(Bson::Document(inner)) => inner,
        _ => return vec![(None, Action::Unclassified)],
    };
    let name = inner.keys().next().map_or("", String::as_str);
    if name == "explain" {
        return vec![(None, Action::Unclassified)];
    }
    let inner_request = Request {
        db: request.db,
        body: inner.clone(),
        connection: request.connection,
    };
    needs(name, &inner_request, user)
}

/// mongod's rules for `renameCollection` (run on `admin`, naming both
/// namespaces): within a database, `renameCollectionSameDB` there; across
/// databases, read and drop the source, insert and index the target. A
/// replaced target also needs `dropCollection`. A malformed command needs
/// nothing: it fails to parse before touching anything.
fn rename_needs(body: &Document) -> Vec<(Option<String>, Action)> {
    use Action::*;
    let db_of = |field: &str| {
        body.get_str(field)
            .ok()
            .and_then(|ns| ns.split_once('.'))
            .map(|(db, _)| db.to_owned())
    };
    let (Some(from), Some(to)) = (db_of("renameCollection"), db_of("to")) else {
        return Vec::new();
    };
    let mut needs = if from == to {
        vec![(Some(from), RenameCollectionSameDb)]
    } else {
        vec![
            (Some(from.clone()), Find),
            (Some(from), DropCollection),
            (Some(to.clone()), Insert),
            (Some(to.clone()), CreateIndex),
        ]
    };
    // As the command reads it (a number is true unless zero); anything
    // else fails to parse, so needing more for it costs nothing.
    let drops_target = match body.get("dropTarget") {
        None | Some(Bson::Null) => false,
        Some(Bson::Boolean(b)) => *b,
        Some(other) => mql::order::Number::of(other).is_none_or(|n| n.as_f64() != 0.0),
    };
    if drops_target {
        needs.push((Some(to), DropCollection));
    }
    needs
}

/// `$out` and `$merge` write to their target database as well.
/// A collectionless aggregate's `$listLocalSessions` spec, if it is one.
fn list_sessions_spec(body: &Document) -> Option<&Bson> {
    if matches!(body.get("aggregate"), Some(Bson::String(_))) {
        return None;
    }
    body.get_array("pipeline")
        .ok()?
        .first()?
        .as_document()?
        .get("$listLocalSessions")
}

fn lists_local_sessions(body: &Document) -> bool {
    list_sessions_spec(body).is_some()
}

/// Whether every stage after a collectionless aggregate's first one only
/// reshapes its input: then, as in mongod, reading one's own sessions
/// needs no `find` privilege. Any other stage (`$lookup`, `$unionWith`,
/// ...) may read a collection and keeps the database's `find`.
fn reads_no_collection(body: &Document) -> bool {
    const RESHAPING: &[&str] = &[
        "$match",
        "$project",
        "$addFields",
        "$set",
        "$unset",
        "$sort",
        "$limit",
        "$skip",
        "$count",
        "$group",
        "$replaceRoot",
        "$replaceWith",
    ];
    let Ok(pipeline) = body.get_array("pipeline") else {
        return false;
    };
    pipeline.iter().skip(1).all(|stage| {
        stage.as_document().is_some_and(|stage| {
            stage.len() == 1 && stage.keys().all(|name| RESHAPING.contains(&name.as_str()))
        })
    })
}

/// Whether an aggregate's `$listLocalSessions` asks for other users'
/// sessions (`allUsers`, or `users` naming someone else).
fn lists_others_sessions(body: &Document, user: &Authenticated) -> bool {
    let Some(Bson::Document(spec)) = list_sessions_spec(body) else {
        return false;
    };
    if spec.get_bool("allUsers").unwrap_or(false) {
        return true;
    }
    spec.get_array("users").is_ok_and(|users| {
        users
            .iter()
            .any(|u| !u.as_document().is_some_and(|u| u_names(u, &user.name)))
    })
}

fn aggregate_needs(db: &str, body: &Document) -> Vec<(Option<String>, Action)> {
    let mut needs = on(db, &[Action::Find]);
    let Ok(pipeline) = body.get_array("pipeline") else {
        return needs;
    };
    for stage in pipeline.iter().filter_map(Bson::as_document) {
        let target = match (stage.get("$out"), stage.get("$merge")) {
            (Some(Bson::Document(out)), _) => out.get_str("db").unwrap_or(db),
            (Some(_), _) => db,
            (_, Some(Bson::Document(merge))) => merge
                .get_document("into")
                .ok()
                .and_then(|into| into.get_str("db").ok())
                .unwrap_or(db),
            (_, Some(_)) => db,
            _ => continue,
        };
        needs.extend(on(
            target,
            &[Action::Insert, Action::Update, Action::Remove],
        ));
    }
    needs
}

fn bulk_write_needs(body: &Document) -> Vec<(Option<String>, Action)> {
    let Ok(namespaces) = body.get_array("nsInfo") else {
        return Vec::new();
    };
    namespaces
        .iter()
        .filter_map(|ns| ns.as_document()?.get_str("ns").ok())
        .flat_map(|ns| {
            let db = ns.split_once('.').map_or(ns, |(db, _)| db);
            on(db, &[Action::Insert, Action::Update, Action::Remove])
        })
        .collect()
}

/// Creating or changing a user needs the right on its database, and the
/// right to grant each role on the role's database.
fn user_write_needs(name: &str, db: &str, body: &Document) -> Vec<(Option<String>, Action)> {
    let action = match name {
        "createUser" => Action::CreateUser,
        _ => Action::UpdateUser,
    };
    let mut needs = on(db, &[action]);
    if let Some(roles) = body.get("roles")
        && let Ok(roles) = super::user_commands::parse_roles(roles, db)
    {
        for (_, role_db) in roles {
            needs.push((Some(role_db), Action::GrantRole));
        }
    }
    needs
}

fn only_self(db: &str, body: &Document, me: &UserName) -> bool {
    let argument = body.get("usersInfo").cloned().unwrap_or(Bson::Null);
    matches!(
        super::user_commands::users_info_names(&argument, db),
        Ok(Some(names)) if names.iter().all(|n| n == me)
    )
}

fn only_own_roles(db: &str, body: &Document, user: &Authenticated) -> bool {
    let argument = body.get("rolesInfo").cloned().unwrap_or(Bson::Null);
    matches!(
        super::roles_info::named(&argument, db),
        Ok(Some(names)) if names.iter().all(|n| user.roles.contains(n))
    )
}

fn users_info_needs(db: &str, body: &Document) -> Vec<(Option<String>, Action)> {
    let all_dbs = body
        .get_document("usersInfo")
        .is_ok_and(|d| d.get_bool("forAllDBs").ok() == Some(true));
    match all_dbs {
        true => vec![
            (None, Action::ListDatabases),
            (Some(db.to_owned()), Action::ViewUser),
        ],
        false => on(db, &[Action::ViewUser]),
    }
}

/// `getMore` and `killCursors` reach only the caller's own cursors
/// (`killCursors` also any cursor, for a `killAnyCursor` holder).
fn check_cursors(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
    user: &Authenticated,
) -> Result<(), CommandError> {
    let ids: Vec<i64> = match name {
        "getMore" => request.body.get_i64("getMore").into_iter().collect(),
        "killCursors" => request
            .body
            .get_array("cursors")
            .map(|ids| ids.iter().filter_map(Bson::as_i64).collect())
            .unwrap_or_default(),
        _ => return Ok(()),
    };
    for id in ids {
        let Some(Some(owner)) = engine.cursors().owner(id) else {
            continue;
        };
        if owner == user.digest {
            continue;
        }
        if name == "getMore" {
            return Err(CommandError::new(
                Code::UNAUTHORIZED,
                format!("cursor id {id} was not created by the authenticated user"),
            ));
        }
        if !roles::allows(&user.grants, None, Action::KillAnyCursor) {
            return Err(not_authorized(request));
        }
    }
    Ok(())
}

/// `killAllSessions` and `killAllSessionsByPattern` without the
/// `killAnySession` action may name only the caller's own sessions.
fn check_kill_all(
    name: &str,
    request: &Request<'_>,
    user: &Authenticated,
) -> Result<(), CommandError> {
    if !matches!(name, "killAllSessions" | "killAllSessionsByPattern")
        || roles::allows(&user.grants, None, Action::KillAnySession)
    {
        return Ok(());
    }
    let Ok(patterns) = request.body.get_array(name) else {
        return Err(not_authorized(request));
    };
    let names_me = |pattern: &Document| -> bool {
        if let Ok(users) = pattern.get_array("users") {
            return !users.is_empty()
                && users.iter().all(|u| {
                    u.as_document().is_some_and(|u| {
                        u.get_str("user").ok() == Some(user.name.user.as_str())
                            && u.get_str("db").ok() == Some(user.name.db.as_str())
                    })
                });
        }
        match (name, pattern.get("uid"), pattern.get("lsid")) {
            ("killAllSessions", _, _) => u_names(pattern, &user.name),
            (_, Some(Bson::Binary(uid)), _) => uid.bytes == user.digest,
            (_, None, Some(_)) => true,
            _ => false,
        }
    };
    let patterns: Vec<&Document> = patterns.iter().filter_map(Bson::as_document).collect();
    if patterns.is_empty() || !patterns.iter().all(|p| names_me(p)) {
        return Err(not_authorized(request));
    }
    Ok(())
}

/// A `killAllSessions` entry `{user, db}` naming `me`.
fn u_names(entry: &Document, me: &UserName) -> bool {
    entry.get_str("user").ok() == Some(me.user.as_str())
        && entry.get_str("db").ok() == Some(me.db.as_str())
}

/// mongod's `uid` for connections without a user (or without auth):
/// SHA-256 of the empty string, which no `user@db` can hash to.
fn no_auth_digest() -> &'static [u8] {
    static DIGEST: OnceLock<Vec<u8>> = OnceLock::new();
    DIGEST.get_or_init(|| sha2::Sha256::digest(b"").to_vec())
}

/// The lsid as the server keys it: the client's `id` with the `uid` of the
/// user running the command (see [`crate::cursor::with_opener`]), so one
/// user's session id names a different session for anyone else. A client
/// may set `uid` itself only without auth (it takes mongod's `impersonate`
/// privilege, which no role here grants).
///
/// Borrowed from the command: the key is computed without building a
/// document, which is only needed when a session is created.
pub(crate) struct OwnedLsid<'a> {
    /// The client's `lsid.id`, if it sent one.
    id: Option<&'a Bson>,
    uid: Uid<'a>,
}

enum Uid<'a> {
    /// Set by the client itself (only allowed without auth).
    Client(&'a Bson),
    /// The digest of the user running the command.
    Digest(Vec<u8>),
}

impl OwnedLsid<'_> {
    /// The session's key in the sessions map: `id` bytes, then `uid`
    /// bytes, as [`crate::session::session_key`] computes it from the
    /// stored document. `None` unless `id` is binary.
    pub(crate) fn key(&self) -> Option<Vec<u8>> {
        let Some(Bson::Binary(id)) = self.id else {
            return None;
        };
        let uid: &[u8] = match &self.uid {
            Uid::Client(Bson::Binary(uid)) => &uid.bytes,
            Uid::Client(_) => &[],
            Uid::Digest(digest) => digest,
        };
        Some(crate::session::key_of(&id.bytes, uid))
    }

    /// The lsid document a new session stores: `{id, uid}`.
    pub(crate) fn to_document(&self) -> Document {
        let mut lsid = Document::new();
        if let Some(id) = self.id {
            lsid.insert("id", id.clone());
        }
        match &self.uid {
            Uid::Client(uid) => lsid.insert("uid", (*uid).clone()),
            Uid::Digest(digest) => lsid.insert(
                "uid",
                bson::Binary {
                    subtype: bson::spec::BinarySubtype::Generic,
                    bytes: digest.clone(),
                },
            ),
        };
        lsid
    }
}

pub(crate) fn owned_lsid<'a>(
    engine: &Engine,
    lsid: &'a Document,
) -> Result<OwnedLsid<'a>, CommandError> {
    let id = lsid.get("id");
    if let Some(uid) = lsid.get("uid") {
        if engine.options().auth {
            return Err(CommandError::new(
                Code::UNAUTHORIZED,
                "Unauthorized to set user digest in LogicalSessionId",
            ));
        }
        return Ok(OwnedLsid {
            id,
            uid: Uid::Client(uid),
        });
    }
    Ok(OwnedLsid {
        id,
        uid: Uid::Digest(current_uid()),
    })
}

/// The `uid` of the sessions the user running the current command owns.
pub(crate) fn current_uid() -> Vec<u8> {
    crate::cursor::opener().unwrap_or_else(|| no_auth_digest().to_vec())
}
