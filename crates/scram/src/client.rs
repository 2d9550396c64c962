//! The client's side of a conversation: what a driver sends in `saslStart`
//! and `saslContinue`, and its check of the server's signature (a client
//! that skipped it could be fooled by a server that does not know the key).
//!
//! States: `Initial` -> (client-first sent) `SentFirst` -> (server-first
//! taken, client-final sent) `SentFinal` -> (server signature verified)
//! `Complete`. Any error moves to `Failed`, which refuses all input.

use crate::credential::{ITERATIONS_MAX, ITERATIONS_MIN};
use crate::keys::{Keys, constant_time_eq, xor};
use crate::message::{ClientFinal, ClientFirst, ServerFinal, ServerFirst};
use crate::{Error, Mechanism, generate_nonce, prepare_password};

/// The client's side of one SCRAM conversation.
#[derive(Debug)]
pub struct ClientConversation {
    mechanism: Mechanism,
    prepared_password: String,
    first: ClientFirst,
    state: State,
}

#[derive(Debug)]
enum State {
    Initial,
    SentFirst,
    SentFinal { server_signature: Vec<u8> },
    Complete,
    Failed,
}

impl ClientConversation {
    /// A conversation for `username`/`password`, preparing the password as
    /// MongoDB does for the mechanism, with a fresh random nonce.
    pub fn new(
        mechanism: Mechanism,
        username: &str,
        password: &str,
    ) -> Result<ClientConversation, Error> {
        let prepared = prepare_password(mechanism, username, password)?;
        Ok(ClientConversation::with_nonce(
            mechanism,
            username,
            &prepared,
            &generate_nonce(),
        ))
    }

    /// A conversation with a given, already prepared password and nonce
    /// (for the RFC test vectors).
    pub fn with_nonce(
        mechanism: Mechanism,
        username: &str,
        prepared_password: &str,
        nonce: &str,
    ) -> ClientConversation {
        ClientConversation {
            mechanism,
            prepared_password: prepared_password.to_owned(),
            first: ClientFirst {
                gs2_header: "n,,".to_owned(),
                username: username.to_owned(),
                nonce: nonce.to_owned(),
            },
            state: State::Initial,
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The client-first message (`saslStart`'s payload).
    pub fn client_first(&mut self) -> Vec<u8> {
        self.state = State::SentFirst;
        self.first.format().into_bytes()
    }

    /// Takes the server's next message: the server-first message gives the
    /// client-final message to send; the server-final message is verified
    /// and gives an empty payload (MongoDB's extra round, if the server
    /// did not say `done`).
    pub fn step(&mut self, server: &[u8]) -> Result<Vec<u8>, Error> {
        let result = match std::mem::replace(&mut self.state, State::Failed) {
            State::SentFirst => self.client_final(server),
            State::SentFinal { server_signature } => verify_server(&server_signature, server),
            State::Complete => Ok((State::Complete, Vec::new())),
            State::Initial | State::Failed => Err(Error::Finished),
        };
        let (state, payload) = result?;
        self.state = state;
        Ok(payload)
    }

    /// Whether the server has proved that it knows the user's key.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete)
    }

    fn client_final(&self, server: &[u8]) -> Result<(State, Vec<u8>), Error> {
        let server_first = ServerFirst::parse(server)?;
        let extends = server_first.nonce.starts_with(&self.first.nonce)
            && server_first.nonce.len() > self.first.nonce.len();
        if !extends {
            return Err(Error::NonceMismatch);
        }
        if !(ITERATIONS_MIN..=ITERATIONS_MAX).contains(&server_first.iterations) {
            return Err(Error::IterationCount(server_first.iterations));
        }
        let mechanism = self.mechanism;
        let salted = mechanism.salted_password(
            self.prepared_password.as_bytes(),
            &server_first.salt,
            server_first.iterations,
        );
        let keys = Keys::derive(mechanism, &salted);
        let mut client_final = ClientFinal {
            channel_binding: self.first.gs2_header.as_bytes().to_vec(),
            nonce: server_first.nonce.clone(),
            proof: Vec::new(),
        };
        let auth_message = format!(
            "{},{},{}",
            self.first.bare(),
            server_first.format(),
            client_final.without_proof()
        );
        let stored_key = mechanism.hash(&keys.client_key);
        let client_signature = mechanism.hmac(&stored_key, auth_message.as_bytes());
        client_final.proof = xor(&keys.client_key, &client_signature);
        let server_signature = mechanism.hmac(&keys.server_key, auth_message.as_bytes());
        let state = State::SentFinal { server_signature };
        Ok((state, client_final.format().into_bytes()))
    }
}

fn verify_server(expected: &[u8], server: &[u8]) -> Result<(State, Vec<u8>), Error> {
    match ServerFinal::parse(server)? {
        ServerFinal::Error(error) => Err(Error::Server(error)),
        ServerFinal::Verifier(signature) if constant_time_eq(&signature, expected) => {
            Ok((State::Complete, Vec::new()))
        }
        ServerFinal::Verifier(_) => Err(Error::AuthenticationFailed),
    }
}
