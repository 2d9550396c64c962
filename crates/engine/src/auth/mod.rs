//! Authentication and authorization: who a connection is, and what it may do.
//!
//! - [`state`]: per-connection state ([`ConnectionAuth`]), carried by the
//!   transport in [`crate::ConnectionInfo`] and shared by its clones.
//! - [`users`]: the user store in `admin.system.users`, written through
//!   the engine's own journaled commands; [`user_commands`]: the commands
//!   that manage it.
//! - [`sasl`]: SCRAM over `saslStart`/`saslContinue` and `hello`, using the
//!   `scram` crate for every message and key.
//! - [`roles`]: built-in roles as action sets; [`check`]: the single check
//!   every command passes, and the `uid` that binds sessions and cursors to
//!   their user.
//!
//! With `EngineOptions::auth` off (the default, and embedded use) every
//! command is allowed, sessions share mongod's "no auth" `uid`, and the
//! user commands still work, as on a mongod started without `--auth`.

mod check;
mod roles;
mod roles_info;
mod sasl;
mod state;
mod user_commands;
mod users;

use bson::Document;

use crate::Engine;
use crate::command::{CommandError, Request};
pub(crate) use check::{Access, authorize, current_uid, needs_no_user, owned_lsid, principal};
pub(crate) use sasl::{speculative, supported_mechs};
pub use state::ConnectionAuth;
pub use users::UserName;

/// An error whose code mongod names but Rotor's code table does not: the
/// reply's `codeName` is set here instead of `Location<code>`.
pub(crate) fn named_error(code: i32, code_name: &str, message: impl Into<String>) -> CommandError {
    let mut error = CommandError::new(mql::Code(code), message);
    error.extra = Box::new(bson::doc! {"codeName": code_name});
    error
}

/// The commands the auth layer runs itself (`listCommands` lists them).
pub(crate) const COMMANDS: &[&str] = &[
    "createUser",
    "updateUser",
    "dropUser",
    "dropAllUsersFromDatabase",
    "usersInfo",
    "rolesInfo",
    "saslStart",
    "saslContinue",
    "logout",
];

/// Whether the auth layer runs command `name` itself.
pub(crate) fn handles(name: &str) -> bool {
    COMMANDS.contains(&name)
}

/// Runs one of the commands [`handles`] accepts.
pub(crate) fn run(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
) -> Result<Document, CommandError> {
    match name {
        "createUser" => user_commands::create_user(engine, request),
        "updateUser" => user_commands::update_user(engine, request),
        "dropUser" => user_commands::drop_user(engine, request),
        "dropAllUsersFromDatabase" => user_commands::drop_all_users(engine, request),
        "usersInfo" => user_commands::users_info(engine, request),
        "rolesInfo" => roles_info::roles_info(request),
        "saslStart" => sasl::sasl_start(engine, request),
        "saslContinue" => sasl::sasl_continue(engine, request),
        _ => sasl::logout(request),
    }
}

/// `connectionStatus`'s `authInfo`: the connection's user and its roles.
pub(crate) fn auth_info(engine: &Engine, request: &Request<'_>) -> Document {
    let (users, roles) = match principal(engine, request.connection) {
        Access::User(user) => (
            vec![bson::doc! {"user": &user.name.user, "db": &user.name.db}],
            user.roles
                .iter()
                .map(|(role, db)| bson::doc! {"role": role, "db": db})
                .collect(),
        ),
        Access::Unrestricted | Access::Anonymous => (Vec::new(), Vec::new()),
    };
    bson::doc! {"authenticatedUsers": users, "authenticatedUserRoles": roles}
}
