//! The server's side of a conversation, as `saslStart`/`saslContinue` drive it.
//!
//! States, in order (any error moves to `Failed`, which refuses all input):
//! - `Initial`: nothing received; [`ServerConversation::start`] takes the
//!   client-first message, looks up the user's credential and answers the
//!   server-first message.
//! - `SentFirst`: [`ServerConversation::step`] takes the client-final
//!   message, verifies the proof and answers `v=signature`. With
//!   `skipEmptyExchange` the conversation is then `Done`; without it,
//!   MongoDB's extra round follows.
//! - `SentFinal`: the client's empty message is answered with an empty
//!   payload and the conversation is `Done`.
//! - `Done`: [`ServerConversation::authenticated_user`] names the user.
//!
//! The conversation never says why it failed beyond the [`Error`] it
//! returns; callers must not forward that detail to the client.

use crate::keys::{constant_time_eq, xor};
use crate::message::{ClientFinal, ClientFirst, ServerFinal, ServerFirst};
use crate::{Credential, Error, Mechanism, generate_nonce};

/// One reply of the conversation: the payload, and whether it is the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub payload: Vec<u8>,
    pub done: bool,
}

/// The server's side of one SCRAM conversation.
#[derive(Debug)]
pub struct ServerConversation {
    mechanism: Mechanism,
    skip_empty_exchange: bool,
    server_nonce: String,
    state: State,
}

#[derive(Debug)]
enum State {
    Initial,
    SentFirst(Box<SentFirst>),
    SentFinal { username: String },
    Done { username: String },
    Failed,
}

#[derive(Debug)]
struct SentFirst {
    client_first: ClientFirst,
    server_first: ServerFirst,
    credential: Credential,
}

impl ServerConversation {
    /// A conversation with a fresh random server nonce.
    pub fn new(mechanism: Mechanism) -> ServerConversation {
        ServerConversation {
            mechanism,
            skip_empty_exchange: false,
            server_nonce: generate_nonce(),
            state: State::Initial,
        }
    }

    /// Replaces the server's part of the nonce (for test vectors).
    pub fn with_nonce(mut self, server_nonce: &str) -> ServerConversation {
        self.server_nonce = server_nonce.to_owned();
        self
    }

    /// Ends the conversation at the server-final message, without MongoDB's
    /// extra empty round (the client's `options: {skipEmptyExchange: true}`).
    pub fn skip_empty_exchange(mut self) -> ServerConversation {
        self.skip_empty_exchange = true;
        self
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The user the conversation proved, once it is done.
    pub fn authenticated_user(&self) -> Option<&str> {
        match &self.state {
            State::Done { username } => Some(username),
            _ => None,
        }
    }

    /// Takes the client-first message. `lookup` gives the credential of the
    /// named user for this mechanism, or a [`Credential::decoy`] if there is
    /// none, so an unknown user fails exactly like a wrong password.
    pub fn start(
        &mut self,
        client_first: &[u8],
        lookup: impl FnOnce(&str) -> Credential,
    ) -> Result<Step, Error> {
        if !matches!(self.state, State::Initial) {
            return Err(self.fail(Error::Finished));
        }
        let client_first = ClientFirst::parse(client_first).map_err(|e| self.fail(e))?;
        let credential = lookup(&client_first.username);
        if credential.mechanism != self.mechanism {
            return Err(self.fail(Error::AuthenticationFailed));
        }
        let server_first = ServerFirst {
            nonce: format!("{}{}", client_first.nonce, self.server_nonce),
            salt: credential.salt.clone(),
            iterations: credential.iterations,
        };
        let payload = server_first.format().into_bytes();
        self.state = State::SentFirst(Box::new(SentFirst {
            client_first,
            server_first,
            credential,
        }));
        Ok(Step {
            payload,
            done: false,
        })
    }

    /// Takes the next client message (client-final, then MongoDB's empty one).
    pub fn step(&mut self, input: &[u8]) -> Result<Step, Error> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::SentFirst(sent) => {
                let (username, signature) = verify(self.mechanism, &sent, input)?;
                let payload = ServerFinal::Verifier(signature).format().into_bytes();
                let done = self.skip_empty_exchange;
                self.state = match done {
                    true => State::Done { username },
                    false => State::SentFinal { username },
                };
                Ok(Step { payload, done })
            }
            State::SentFinal { username } => {
                if !input.is_empty() {
                    return Err(Error::Malformed("expected an empty final message"));
                }
                self.state = State::Done { username };
                Ok(Step {
                    payload: Vec::new(),
                    done: true,
                })
            }
            State::Initial | State::Done { .. } | State::Failed => Err(Error::Finished),
        }
    }

    fn fail(&mut self, error: Error) -> Error {
        self.state = State::Failed;
        error
    }
}

/// Checks the client-final message; returns the user and the server signature.
fn verify(
    mechanism: Mechanism,
    sent: &SentFirst,
    input: &[u8],
) -> Result<(String, Vec<u8>), Error> {
    let client_final = ClientFinal::parse(input)?;
    if client_final.channel_binding != sent.client_first.gs2_header.as_bytes() {
        return Err(Error::Malformed(
            "channel binding differs from the GS2 header",
        ));
    }
    if client_final.nonce != sent.server_first.nonce {
        return Err(Error::NonceMismatch);
    }
    let auth_message = format!(
        "{},{},{}",
        sent.client_first.bare(),
        sent.server_first.format(),
        client_final.without_proof()
    );
    let credential = &sent.credential;
    if client_final.proof.len() != mechanism.key_len() {
        return Err(Error::AuthenticationFailed);
    }
    let client_signature = mechanism.hmac(&credential.stored_key, auth_message.as_bytes());
    let client_key = xor(&client_final.proof, &client_signature);
    if !constant_time_eq(&mechanism.hash(&client_key), &credential.stored_key) {
        return Err(Error::AuthenticationFailed);
    }
    let server_signature = mechanism.hmac(&credential.server_key, auth_message.as_bytes());
    Ok((sent.client_first.username.clone(), server_signature))
}
