//! Built-in roles and the actions they grant, as mongod's built-in roles
//! do, at the granularity Rotor's commands need.
//!
//! A role named on database `d` grants its database actions on `d` only;
//! the `...AnyDatabase` roles, `root` and the cluster roles exist only on
//! `admin` and grant on every database and/or the cluster. Collections
//! named `system.*` are outside every database grant (see `check`).
//! There are no user-defined roles.

/// Something a command does, which a role may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Find,
    Insert,
    Update,
    Remove,
    CreateCollection,
    DropCollection,
    CreateIndex,
    DropIndex,
    ListCollections,
    ListIndexes,
    DropDatabase,
    /// `collMod`: dbAdmin grants it, readWrite does not (as in mongod).
    CollMod,
    /// mongod's `renameCollectionSameDB`: readWrite and dbAdmin grant it.
    RenameCollectionSameDb,
    /// `validate`: dbAdmin grants it, read and readWrite do not.
    Validate,
    CreateUser,
    UpdateUser,
    DropUser,
    ViewUser,
    GrantRole,
    /// Cluster: see every database in `listDatabases`.
    ListDatabases,
    /// Cluster: `serverStatus`, `getParameter` and other diagnostics.
    Monitor,
    /// Cluster: `setParameter`, failpoints and other server settings.
    Manage,
    /// Cluster: kill or end any user's sessions.
    KillAnySession,
    /// Cluster: list any user's sessions (`$listLocalSessions`).
    ListSessions,
    /// Cluster: kill any user's cursors.
    KillAnyCursor,
    /// Cluster: commands Rotor does not classify; only `root` has it, so a
    /// command added without an entry in `check` is closed, not open.
    Unclassified,
}

use Action::*;

const READ: &[Action] = &[Find, ListCollections, ListIndexes];
const READ_WRITE: &[Action] = &[
    Find,
    ListCollections,
    ListIndexes,
    Insert,
    Update,
    Remove,
    CreateCollection,
    DropCollection,
    CreateIndex,
    DropIndex,
    RenameCollectionSameDb,
];
const DB_ADMIN: &[Action] = &[
    ListCollections,
    ListIndexes,
    CreateCollection,
    DropCollection,
    CreateIndex,
    DropIndex,
    DropDatabase,
    CollMod,
    RenameCollectionSameDb,
    Validate,
];
const USER_ADMIN: &[Action] = &[CreateUser, UpdateUser, DropUser, ViewUser, GrantRole];
const ALL_DATABASE: &[Action] = &[
    Find,
    ListCollections,
    ListIndexes,
    Insert,
    Update,
    Remove,
    CreateCollection,
    DropCollection,
    CreateIndex,
    DropIndex,
    DropDatabase,
    CollMod,
    RenameCollectionSameDb,
    Validate,
    CreateUser,
    UpdateUser,
    DropUser,
    ViewUser,
    GrantRole,
];
const CLUSTER_MONITOR: &[Action] = &[ListDatabases, Monitor, ListSessions];
const CLUSTER_ADMIN: &[Action] = &[
    ListDatabases,
    Monitor,
    ListSessions,
    Manage,
    KillAnySession,
    KillAnyCursor,
];
const ALL_CLUSTER: &[Action] = &[
    ListDatabases,
    Monitor,
    ListSessions,
    Manage,
    KillAnySession,
    KillAnyCursor,
    Unclassified,
];

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Database(String),
    AnyDatabase,
    Cluster,
}

/// Actions allowed on a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub scope: Scope,
    pub actions: &'static [Action],
}

/// The grants of role `role` defined on database `db`; `None` if there is
/// no such role (admin-only roles exist only on `admin`).
pub fn grants(role: &str, db: &str) -> Option<Vec<Grant>> {
    let on_db = |actions| Grant {
        scope: Scope::Database(db.to_owned()),
        actions,
    };
    let any = |actions| Grant {
        scope: Scope::AnyDatabase,
        actions,
    };
    let cluster = |actions| Grant {
        scope: Scope::Cluster,
        actions,
    };
    let grants = match (role, db) {
        ("read", _) => vec![on_db(READ)],
        ("readWrite", _) => vec![on_db(READ_WRITE)],
        ("dbAdmin", _) => vec![on_db(DB_ADMIN)],
        ("userAdmin", _) => vec![on_db(USER_ADMIN)],
        ("dbOwner", _) => vec![on_db(READ_WRITE), on_db(DB_ADMIN), on_db(USER_ADMIN)],
        ("readAnyDatabase", "admin") => vec![any(READ), cluster(&[ListDatabases])],
        ("readWriteAnyDatabase", "admin") => vec![any(READ_WRITE), cluster(&[ListDatabases])],
        ("userAdminAnyDatabase", "admin") => vec![any(USER_ADMIN), cluster(&[ListDatabases])],
        ("dbAdminAnyDatabase", "admin") => vec![any(DB_ADMIN), cluster(&[ListDatabases])],
        ("clusterMonitor", "admin") => vec![cluster(CLUSTER_MONITOR)],
        ("clusterAdmin", "admin") => vec![cluster(CLUSTER_ADMIN)],
        ("root", "admin") => vec![any(ALL_DATABASE), cluster(ALL_CLUSTER)],
        _ => return None,
    };
    Some(grants)
}

/// Whether `grants` allow `action` on database `db` (`None`: the cluster).
pub fn allows(grants: &[Grant], db: Option<&str>, action: Action) -> bool {
    grants.iter().any(|grant| {
        let applies = match (&grant.scope, db) {
            (Scope::Database(granted), Some(db)) => granted == db,
            (Scope::AnyDatabase, Some(_)) => true,
            (Scope::Cluster, None) => true,
            _ => false,
        };
        applies && grant.actions.contains(&action)
    })
}

/// Whether `grants` give anything at all on database `db` (what
/// `listDatabases` shows a user without the cluster-wide action).
pub fn touches(grants: &[Grant], db: &str) -> bool {
    grants.iter().any(|grant| match &grant.scope {
        Scope::Database(granted) => granted == db,
        Scope::AnyDatabase => true,
        Scope::Cluster => false,
    })
}
