//! `rolesInfo` (mongosh's `db.getRoles()`, `db.getRole()`) over Rotor's
//! built-in roles, in mongod 8.0's reply shape.
//!
//! Every role is built in, so each has `isBuiltin: true` and no `roles` or
//! `inheritedRoles`; `rolesInfo: 1` lists nothing unless `showBuiltinRoles`
//! is set, as mongod lists only user-defined roles by default. Privileges
//! name mongod's actions where Rotor's correspond; Rotor's coarse cluster
//! actions are reported by the mongod action that stands for them
//! (`serverStatus` for monitoring, `setParameter` for management), and the
//! catch-all that only `root` holds is not reported. An unknown role is
//! left out of the reply, not an error, as in mongod.

use bson::{Bson, Document, doc};
use mql::Code;

use super::roles::{Action, Grant, Scope, grants};
use crate::command::{CommandError, Request};

/// Built-in roles that exist on every database.
const DATABASE_ROLES: &[&str] = &["dbAdmin", "dbOwner", "read", "readWrite", "userAdmin"];
/// Built-in roles that exist only on `admin`.
const ADMIN_ROLES: &[&str] = &[
    "clusterAdmin",
    "clusterMonitor",
    "dbAdminAnyDatabase",
    "readAnyDatabase",
    "readWriteAnyDatabase",
    "root",
    "userAdminAnyDatabase",
];

/// `{role, db}` pairs a `rolesInfo` argument names, on `db` where a bare
/// name is given; `None` for `1` (every role of `db`).
pub(crate) fn named(
    argument: &Bson,
    db: &str,
) -> Result<Option<Vec<(String, String)>>, CommandError> {
    match argument {
        Bson::Array(items) => items
            .iter()
            .map(|item| one(item, db))
            .collect::<Result<_, _>>()
            .map(Some),
        Bson::String(_) | Bson::Document(_) => Ok(Some(vec![one(argument, db)?])),
        other if mql::order::equal(other, &Bson::Int32(1)) => Ok(None),
        _ => Err(bad_value(
            "rolesInfo argument should be a string, an object, an array, or 1",
        )),
    }
}

fn one(item: &Bson, db: &str) -> Result<(String, String), CommandError> {
    match item {
        Bson::String(role) => Ok((role.clone(), db.to_owned())),
        Bson::Document(spec) => match (spec.get("role"), spec.get("db")) {
            (Some(Bson::String(role)), Some(Bson::String(db))) => Ok((role.clone(), db.clone())),
            (Some(Bson::String(_)), _) => Err(bad_value("Missing expected field \"db\"")),
            _ => Err(bad_value("Missing expected field \"role\"")),
        },
        _ => Err(bad_value("Role names must be either strings or objects")),
    }
}

fn bad_value(message: &str) -> CommandError {
    CommandError::new(Code::BAD_VALUE, message)
}

/// Runs `rolesInfo`.
pub(crate) fn roles_info(request: &Request<'_>) -> Result<Document, CommandError> {
    let body = &request.body;
    let argument = body.get("rolesInfo").cloned().unwrap_or(Bson::Null);
    let show_privileges = flag(body, "showPrivileges")?;
    let names = match named(&argument, request.db)? {
        Some(names) => names,
        None if flag(body, "showBuiltinRoles")? => builtin_names(request.db),
        None => Vec::new(),
    };
    let roles: Vec<Bson> = names
        .iter()
        .filter_map(|(role, db)| describe(role, db, show_privileges))
        .map(Bson::Document)
        .collect();
    Ok(doc! { "roles": roles })
}

/// A boolean option; absent is false.
fn flag(body: &Document, field: &str) -> Result<bool, CommandError> {
    match body.get(field) {
        None => Ok(false),
        Some(Bson::Boolean(b)) => Ok(*b),
        Some(other) => match mql::order::Number::of(other) {
            Some(n) => Ok(n.as_f64() != 0.0),
            None => Err(CommandError::new(
                Code::TYPE_MISMATCH,
                format!("BSON field 'rolesInfo.{field}' is the wrong type, expected type 'bool'"),
            )),
        },
    }
}

/// Every built-in role defined on `db`, in name order.
fn builtin_names(db: &str) -> Vec<(String, String)> {
    let mut names: Vec<&str> = DATABASE_ROLES.to_vec();
    if db == "admin" {
        names.extend(ADMIN_ROLES);
        names.sort_unstable();
    }
    names
        .into_iter()
        .map(|r| (r.to_owned(), db.to_owned()))
        .collect()
}

/// One role's entry; `None` if `role` does not exist on `db`.
fn describe(role: &str, db: &str, show_privileges: bool) -> Option<Document> {
    let grants = grants(role, db)?;
    let mut entry = doc! {
        "role": role,
        "db": db,
        "isBuiltin": true,
        "roles": [],
        "inheritedRoles": [],
    };
    if show_privileges {
        let privileges = privileges(&grants);
        entry.insert("privileges", privileges.clone());
        entry.insert("inheritedPrivileges", privileges);
    }
    Some(entry)
}

/// mongod's privilege list: one `{resource, actions}` per scope, actions
/// sorted and without repeats.
fn privileges(grants: &[Grant]) -> Vec<Bson> {
    let mut by_scope: Vec<(&Scope, Vec<&'static str>)> = Vec::new();
    for grant in grants {
        let names = grant.actions.iter().filter_map(|a| action_name(*a));
        match by_scope
            .iter_mut()
            .find(|(scope, _)| *scope == &grant.scope)
        {
            Some((_, actions)) => actions.extend(names),
            None => by_scope.push((&grant.scope, names.collect())),
        }
    }
    by_scope
        .into_iter()
        .filter(|(_, actions)| !actions.is_empty())
        .map(|(scope, mut actions)| {
            actions.sort_unstable();
            actions.dedup();
            Bson::Document(doc! { "resource": resource(scope), "actions": actions })
        })
        .collect()
}

fn resource(scope: &Scope) -> Document {
    match scope {
        Scope::Database(db) => doc! { "db": db, "collection": "" },
        Scope::AnyDatabase => doc! { "db": "", "collection": "" },
        Scope::Cluster => doc! { "cluster": true },
    }
}

/// mongod's name for `action`; `None` for Rotor's unclassified catch-all.
fn action_name(action: Action) -> Option<&'static str> {
    use Action::*;
    Some(match action {
        Find => "find",
        Insert => "insert",
        Update => "update",
        Remove => "remove",
        CreateCollection => "createCollection",
        DropCollection => "dropCollection",
        CreateIndex => "createIndex",
        DropIndex => "dropIndex",
        ListCollections => "listCollections",
        ListIndexes => "listIndexes",
        DropDatabase => "dropDatabase",
        CollMod => "collMod",
        RenameCollectionSameDb => "renameCollectionSameDB",
        Validate => "validate",
        CreateUser => "createUser",
        UpdateUser => "updateUser",
        DropUser => "dropUser",
        ViewUser => "viewUser",
        GrantRole => "grantRole",
        ListDatabases => "listDatabases",
        Monitor => "serverStatus",
        Manage => "setParameter",
        KillAnySession => "killAnySession",
        ListSessions => "listSessions",
        KillAnyCursor => "killAnyCursor",
        Unclassified => return None,
    })
}
