//! `saslStart`, `saslContinue`, `logout`, and the two `hello` extensions
//! drivers use: `speculativeAuthenticate` (the first SCRAM step inside the
//! handshake) and `saslSupportedMechs`.
//!
//! One conversation per connection at a time, always `conversationId: 1`
//! (as mongod numbers them). An unknown user is answered with a decoy
//! credential, so every failure is the same AuthenticationFailed (18)
//! "Authentication failed." at the same step, whether or not the user
//! exists. A connection is authenticated as at most one user.

use std::sync::OnceLock;

use bson::{Bson, Document, doc};
use mql::Code;

use super::state::Conversation;
use super::users::{self, UserName};
use crate::Engine;
use crate::command::{CommandError, ConnectionInfo, Request};

type CommandResult = Result<Document, CommandError>;

const CONVERSATION_ID: i32 = 1;

fn authentication_failed() -> CommandError {
    tracing::info!("authentication failed");
    CommandError::new(Code::AUTHENTICATION_FAILED, "Authentication failed.")
}

/// This process's key for decoy credentials: random, never stored.
fn decoy_secret() -> &'static [u8] {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(scram::generate_nonce).as_bytes()
}

fn payload(body: &Document) -> Result<Vec<u8>, CommandError> {
    match body.get("payload") {
        Some(Bson::Binary(binary)) => Ok(binary.bytes.clone()),
        Some(Bson::String(text)) => Ok(text.as_bytes().to_vec()),
        _ => Err(CommandError::new(
            Code::BAD_VALUE,
            "Missing required field 'payload'",
        )),
    }
}

fn reply(step: &scram::Step) -> Document {
    doc! {
        "conversationId": CONVERSATION_ID,
        "done": step.done,
        "payload": Bson::Binary(bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: step.payload.clone(),
        }),
    }
}

/// The credential to run the exchange against: the user's, or a decoy.
fn lookup(engine: &Engine, db: &str, user: &str, mechanism: scram::Mechanism) -> scram::Credential {
    let name = UserName {
        user: user.to_owned(),
        db: db.to_owned(),
    };
    users::find_user(engine, &name)
        .ok()
        .flatten()
        .and_then(|stored| users::credential(&stored, mechanism))
        .unwrap_or_else(|| scram::Credential::decoy(mechanism, &name.id(), decoy_secret()))
}

pub fn sasl_start(engine: &Engine, request: &Request<'_>) -> CommandResult {
    start(engine, request.connection, request.db, &request.body)
}

fn start(engine: &Engine, connection: &ConnectionInfo, db: &str, body: &Document) -> CommandResult {
    let name = body.get_str("mechanism").unwrap_or_default();
    let mechanism = scram::Mechanism::from_name(name).map_err(|_| {
        super::named_error(
            334,
            "MechanismUnavailable",
            format!("Received authentication for mechanism {name} which is not enabled"),
        )
    })?;
    let payload = payload(body)?;
    let mut scram = scram::ServerConversation::new(mechanism);
    let skip = body
        .get_document("options")
        .is_ok_and(|o| o.get_bool("skipEmptyExchange").ok() == Some(true));
    if skip {
        scram = scram.skip_empty_exchange();
    }
    connection.auth.lock().conversation = None;
    let step = scram
        .start(&payload, |user| lookup(engine, db, user, mechanism))
        .map_err(|_| authentication_failed())?;
    let reply = reply(&step);
    connection.auth.lock().conversation = Some(Conversation {
        db: db.to_owned(),
        scram,
    });
    Ok(reply)
}

pub fn sasl_continue(engine: &Engine, request: &Request<'_>) -> CommandResult {
    let connection = request.connection;
    let id = request.body.get("conversationId").and_then(|id| match id {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) if n.fract() == 0.0 => Some(*n as i64),
        _ => None,
    });
    let Some(mut conversation) = connection.auth.lock().conversation.take() else {
        return Err(CommandError::new(
            Code::PROTOCOL_ERROR,
            "No SASL session state found",
        ));
    };
    if id != Some(i64::from(CONVERSATION_ID)) {
        return Err(CommandError::new(
            Code::PROTOCOL_ERROR,
            "sasl: Mismatched conversation id",
        ));
    }
    let step = conversation
        .scram
        .step(&payload(&request.body)?)
        .map_err(|_| authentication_failed())?;
    match conversation.scram.authenticated_user() {
        Some(user) if step.done => {
            let name = UserName {
                user: user.to_owned(),
                db: conversation.db.clone(),
            };
            authenticate(engine, connection, name)?;
        }
        _ => connection.auth.lock().conversation = Some(conversation),
    }
    Ok(reply(&step))
}

/// Makes `name` the connection's user, with its roles as stored now.
fn authenticate(
    engine: &Engine,
    connection: &ConnectionInfo,
    name: UserName,
) -> Result<(), CommandError> {
    let user = users::load(engine, &name)?.ok_or_else(authentication_failed)?;
    let mut state = connection.auth.lock();
    if let Some(current) = &state.user
        && current.name != name
    {
        return Err(CommandError::new(
            Code(5626701),
            format!(
                "Each client connection may only be authenticated once. Previously authenticated as: {}@{}",
                current.name.user, current.name.db
            ),
        ));
    }
    state.user = Some(user);
    Ok(())
}

pub fn logout(request: &Request<'_>) -> CommandResult {
    let mut state = request.connection.auth.lock();
    state.user = None;
    state.conversation = None;
    Ok(Document::new())
}

/// `hello`'s `speculativeAuthenticate`: the reply to embed, if the first
/// step succeeded (a failure is silent: the driver then runs `saslStart`).
pub fn speculative(
    engine: &Engine,
    connection: &ConnectionInfo,
    body: &Document,
) -> Option<Document> {
    let start_doc = body.get_document("speculativeAuthenticate").ok()?;
    let db = start_doc.get_str("db").unwrap_or("admin");
    start(engine, connection, db, start_doc).ok()
}

/// `hello`'s `saslSupportedMechs: "db.user"`: the user's mechanisms, or
/// `None` (the field is left out) if there is no such user.
pub fn supported_mechs(engine: &Engine, body: &Document) -> Option<Vec<&'static str>> {
    let (db, user) = body.get_str("saslSupportedMechs").ok()?.split_once('.')?;
    let name = UserName {
        user: user.to_owned(),
        db: db.to_owned(),
    };
    let stored = users::find_user(engine, &name).ok()??;
    Some(users::mechanisms(&stored))
}
