//! SCRAM (RFC 5802, RFC 7677) as MongoDB speaks it, for both ends: the
//! server's `saslStart`/`saslContinue` and a client's authentication.
//!
//! MongoDB's two departures from the RFCs live here and nowhere else:
//! SCRAM-SHA-1 derives its keys from the hex MD5 of `user:mongo:password`
//! (and does not SASLprep), and a conversation ends with an extra empty
//! round after the server's final message unless the client asked for
//! `skipEmptyExchange`.
//!
//! Pure apart from randomness: no I/O, no clocks, no BSON. Nonces and salts
//! come from the operating system's generator unless a test supplies them.
//! All cryptography is done by the RustCrypto crates (`pbkdf2`, `hmac`,
//! `sha1`, `sha2`, `md-5`); nothing is hand-written but the XOR of a proof.
//! Every input is untrusted: parsing returns [`Error`], never panics.

mod client;
mod credential;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod keys;
pub mod message;
mod server;

pub use client::ClientConversation;
pub use credential::{Credential, generate_salt, prepare_password};
pub use error::Error;
pub use keys::Mechanism;
pub use server::{ServerConversation, Step};

/// Length of the random part of a nonce, in bytes before base64 (mongod
/// and the drivers use 24).
pub const NONCE_BYTES: usize = 24;

/// A fresh random nonce, base64 (printable, never contains `,`).
pub fn generate_nonce() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; NONCE_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
