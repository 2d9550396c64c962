//! The command layer: one command document in, one reply document out.
//!
//! Invariant: every reply is built here, in mongod's shape (`ok`, and on
//! failure `code`, `codeName`, `errmsg`, `errorLabels`). No other part of
//! Rotor interprets a command document.

mod diag;
mod reply;

use bson::Document;

use crate::Engine;
pub use reply::CommandError;

/// What the transport knows of the connection a command arrived on.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    /// The server's id for this connection (`connectionId` in `hello`).
    pub id: u64,
    /// The client's `appName` from its handshake, for `failCommand`.
    pub app_name: Option<String>,
    /// The peer's address, as `host:port`.
    pub peer: Option<String>,
}

/// One command to run.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The database the command runs against (`$db`).
    pub db: &'a str,
    /// The command document, with any OP_MSG document sequences merged in.
    pub body: Document,
    pub connection: &'a ConnectionInfo,
}

/// The reply to one command.
#[derive(Debug, Clone)]
pub struct Response {
    pub reply: Document,
    /// The transport must close the connection without replying
    /// (`failCommand`'s `closeConnection`).
    pub close_connection: bool,
}

pub(crate) type CommandResult = Result<Document, CommandError>;

pub(crate) fn run(engine: &Engine, request: Request<'_>) -> Response {
    let name = request.body.keys().next().cloned().unwrap_or_default();
    let result = dispatch(engine, &name, &request);
    Response {
        reply: reply::finish(result),
        close_connection: false,
    }
}

fn dispatch(engine: &Engine, name: &str, request: &Request<'_>) -> CommandResult {
    match name {
        "ping" => diag::ping(),
        "buildInfo" | "buildinfo" => diag::build_info(),
        "hello" | "isMaster" | "ismaster" => diag::hello(engine, request),
        _ => Err(CommandError::new(
            mql::Code::COMMAND_NOT_FOUND,
            format!("no such command: '{name}'"),
        )),
    }
}
