//! `listCommands`: every command this server runs, with mongod's per-command
//! fields.
//!
//! The names come from the dispatchers themselves (the command table in
//! `command`, and the auth and diagnostic modules' name lists), so a
//! command cannot be added without being listed. What is listed about each
//! is derived where the server has the fact (whether it needs an
//! authenticated user); `adminOnly` and `secondaryOk` are mongod's
//! per-command constants, kept here for the commands that differ from the
//! default.

use bson::{Document, doc};

use super::ctx::Ctx;
use super::{CommandResult, DISPATCHED, diag};
use crate::auth;

/// Commands mongod runs only against `admin`.
const ADMIN_ONLY: &[&str] = &[
    "renameCollection",
    "listDatabases",
    "getCmdLineOpts",
    "getLog",
    "replSetGetStatus",
    "replSetGetConfig",
    "getParameter",
    "setParameter",
    "configureFailPoint",
    "commitTransaction",
    "abortTransaction",
];

/// Commands mongod never runs on a secondary: writes and catalog changes.
const PRIMARY_ONLY: &[&str] = &[
    "insert",
    "update",
    "delete",
    "findAndModify",
    "findandmodify",
    "bulkWrite",
    "create",
    "collMod",
    "drop",
    "dropDatabase",
    "createIndexes",
    "dropIndexes",
    "deleteIndexes",
    "renameCollection",
    "createUser",
    "updateUser",
    "dropUser",
    "dropAllUsersFromDatabase",
    "commitTransaction",
    "abortTransaction",
];

/// Every command name this server runs, in name order (as mongod's reply).
pub(super) fn command_names(test_commands: bool) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = DISPATCHED
        .iter()
        .chain(auth::COMMANDS)
        .chain(diag::COMMANDS)
        .copied()
        .filter(|name| test_commands || *name != "configureFailPoint")
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

pub(super) fn list_commands(ctx: &mut Ctx<'_>) -> CommandResult {
    let test_commands = ctx.engine.options().enable_test_commands;
    let mut commands = Document::new();
    for name in command_names(test_commands) {
        commands.insert(
            name,
            doc! {
                "help": format!("see the MongoDB manual for {name}"),
                "requiresAuth": !auth::needs_no_user(name),
                "secondaryOk": !PRIMARY_ONLY.contains(&name),
                "adminOnly": ADMIN_ONLY.contains(&name),
                "apiVersions": [],
                "deprecatedApiVersions": [],
            },
        );
    }
    Ok(doc! {"commands": commands})
}
