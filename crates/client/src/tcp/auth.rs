//! Authenticating a new connection: SCRAM-SHA-256 or SCRAM-SHA-1 through
//! `saslStart`/`saslContinue`, with the conversation itself in the shared
//! `scram` crate (the same code the server's side uses).
//!
//! The mechanism is the credential's, or negotiated from the handshake's
//! `saslSupportedMechs` as the Authentication spec says: SCRAM-SHA-256 when
//! the server lists it, else SCRAM-SHA-1. The client always checks the
//! server's signature before accepting `done`, so a server that does not
//! know the password cannot pass for one that does. Pooled connections
//! begin the conversation inside `hello` (`speculativeAuthenticate`, with
//! the named mechanism or SCRAM-SHA-256); a server that does not take it
//! up gets an ordinary `saslStart` with the negotiated mechanism.

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};
use scram::{ClientConversation, Mechanism};

use crate::error::{Error, ErrorKind, Result};
use crate::reply;
use crate::tcp::connection::Connection;
use crate::uri::{AuthMechanism, Credential};

/// A SCRAM conversation takes two or three rounds; more is a broken or
/// hostile server.
const SASL_ROUNDS_MAX: usize = 5;

/// A conversation begun in the handshake (`speculativeAuthenticate`): the
/// client-first message rides in `hello`, saving a round trip when the
/// server answers it.
pub(crate) struct Speculative {
    conversation: ClientConversation,
    command: Document,
}

/// A conversation whose first server reply has arrived.
pub(crate) struct Started {
    conversation: ClientConversation,
    reply: Document,
}

impl Speculative {
    /// Begins a conversation for `hello`, with the credential's mechanism
    /// or, unnamed, SCRAM-SHA-256 (the Authentication spec's choice: the
    /// server's list is not known yet).
    pub(crate) fn begin(credential: &Credential) -> Result<Speculative> {
        let mechanism = match credential.mechanism {
            Some(AuthMechanism::ScramSha1) => Mechanism::ScramSha1,
            _ => Mechanism::ScramSha256,
        };
        let mut conversation = conversation(mechanism, credential)?;
        let mut command = sasl_start(mechanism, conversation.client_first());
        command.insert("db", credential.source.as_str());
        Ok(Speculative {
            conversation,
            command,
        })
    }

    /// The `speculativeAuthenticate` field of `hello`.
    pub(crate) fn command(&self) -> &Document {
        &self.command
    }

    /// The conversation, if the `hello` reply took it up.
    pub(crate) fn answered(self, hello_reply: &Document) -> Option<Started> {
        let reply = hello_reply.get_document("speculativeAuthenticate").ok()?;
        Some(Started {
            conversation: self.conversation,
            reply: reply.clone(),
        })
    }
}

/// Authenticates `connection`, continuing the speculative conversation if
/// the server took it up, else starting one with `saslStart`.
pub(crate) async fn authenticate(
    connection: &mut Connection,
    credential: &Credential,
    speculative: Option<Started>,
) -> Result<()> {
    let started = match speculative {
        Some(started) => started,
        None => start(connection, credential).await?,
    };
    converse(connection, &credential.source, started).await
}

async fn start(connection: &mut Connection, credential: &Credential) -> Result<Started> {
    let mechanism = choose(credential, connection.hello.sasl_supported_mechs.as_deref());
    let mut conversation = conversation(mechanism, credential)?;
    let command = sasl_start(mechanism, conversation.client_first());
    let reply = checked(connection.command(&credential.source, command).await?)?;
    Ok(Started {
        conversation,
        reply,
    })
}

/// Answers the server until it says `done`, checking its signature.
async fn converse(connection: &mut Connection, db: &str, started: Started) -> Result<()> {
    let Started {
        mut conversation,
        mut reply,
    } = started;
    for _round in 0..SASL_ROUNDS_MAX {
        let payload = match reply.get("payload") {
            Some(Bson::Binary(payload)) => payload.bytes.as_slice(),
            _ => return Err(failed(&"the server's reply has no payload")),
        };
        let response = conversation.step(payload).map_err(|error| failed(&error))?;
        if reply.get_bool("done").unwrap_or(false) {
            return match conversation.is_complete() {
                true => Ok(()),
                false => Err(failed(
                    &"the server ended the conversation without proving it knows the password",
                )),
            };
        }
        let conversation_id = reply
            .get("conversationId")
            .cloned()
            .ok_or_else(|| failed(&"the server's reply has no conversationId"))?;
        let next = doc! {
            "saslContinue": 1,
            "conversationId": conversation_id,
            "payload": binary(response),
        };
        reply = checked(connection.command(db, next).await?)?;
    }
    Err(failed(&format!("no result after {SASL_ROUNDS_MAX} rounds")))
}

fn conversation(mechanism: Mechanism, credential: &Credential) -> Result<ClientConversation> {
    ClientConversation::new(mechanism, &credential.username, &credential.password)
        .map_err(|error| failed(&error))
}

fn sasl_start(mechanism: Mechanism, client_first: Vec<u8>) -> Document {
    doc! {
        "saslStart": 1,
        "mechanism": mechanism.name(),
        "payload": binary(client_first),
        "options": {"skipEmptyExchange": true},
    }
}

fn choose(credential: &Credential, offered: Option<&[String]>) -> Mechanism {
    match credential.mechanism {
        Some(AuthMechanism::ScramSha1) => Mechanism::ScramSha1,
        Some(AuthMechanism::ScramSha256) => Mechanism::ScramSha256,
        None if offered.is_some_and(|names| names.iter().any(|n| n == "SCRAM-SHA-256")) => {
            Mechanism::ScramSha256
        }
        None => Mechanism::ScramSha1,
    }
}

fn binary(bytes: Vec<u8>) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    }
}

/// The reply if `ok: 1`, else an authentication error carrying the
/// server's code and message (AuthenticationFailed, 18, for a wrong
/// password or an unknown user alike).
fn checked(reply: Document) -> Result<Document> {
    reply::check(reply).map_err(|error| {
        Error::new(ErrorKind::Authentication {
            message: error.to_string(),
            code: error.code(),
            code_name: error.code_name().map(str::to_owned),
        })
    })
}

/// An authentication error the client itself detected (a bad server
/// message, a wrong server signature): no server code.
fn failed(reason: &dyn std::fmt::Display) -> Error {
    Error::new(ErrorKind::Authentication {
        message: reason.to_string(),
        code: None,
        code_name: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_is_the_credentials_or_the_strongest_offered() {
        let check =
            |named: Option<AuthMechanism>, offered: Option<&[&str]>, expected: Mechanism| {
                let credential = Credential {
                    username: "u".to_owned(),
                    password: "p".to_owned(),
                    source: "admin".to_owned(),
                    mechanism: named,
                };
                let offered: Option<Vec<String>> =
                    offered.map(|names| names.iter().map(|n| (*n).to_owned()).collect());
                assert_eq!(choose(&credential, offered.as_deref()), expected);
            };
        check(None, None, Mechanism::ScramSha1);
        check(None, Some(&["SCRAM-SHA-1"]), Mechanism::ScramSha1);
        check(
            None,
            Some(&["SCRAM-SHA-1", "SCRAM-SHA-256"]),
            Mechanism::ScramSha256,
        );
        check(None, Some(&[]), Mechanism::ScramSha1);
        check(
            Some(AuthMechanism::ScramSha1),
            Some(&["SCRAM-SHA-256"]),
            Mechanism::ScramSha1,
        );
        check(
            Some(AuthMechanism::ScramSha256),
            None,
            Mechanism::ScramSha256,
        );
    }
}
