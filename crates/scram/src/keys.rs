//! The two hash functions and the key schedule of RFC 5802 section 3,
//! over the RustCrypto crates. Only this module names a hash type.

use hmac::{KeyInit, Mac};
use sha2::Digest;

use crate::Error;

/// A SCRAM mechanism MongoDB supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    ScramSha1,
    ScramSha256,
}

impl Mechanism {
    /// The name as `saslStart.mechanism` and `saslSupportedMechs` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
        }
    }

    /// The mechanism named `name` (exact spelling, as mongod requires).
    pub fn from_name(name: &str) -> Result<Mechanism, Error> {
        match name {
            "SCRAM-SHA-1" => Ok(Mechanism::ScramSha1),
            "SCRAM-SHA-256" => Ok(Mechanism::ScramSha256),
            other => Err(Error::UnknownMechanism(other.chars().take(64).collect())),
        }
    }

    /// Length of the hash output, which is also the length of every key.
    pub fn key_len(self) -> usize {
        match self {
            Mechanism::ScramSha1 => 20,
            Mechanism::ScramSha256 => 32,
        }
    }

    /// Salt length mongod generates for new credentials.
    pub fn salt_len(self) -> usize {
        match self {
            Mechanism::ScramSha1 => 16,
            Mechanism::ScramSha256 => 28,
        }
    }

    /// mongod's default iteration count (`scramIterationCount`,
    /// `scramSHA256IterationCount`).
    pub fn default_iterations(self) -> u32 {
        match self {
            Mechanism::ScramSha1 => 10_000,
            Mechanism::ScramSha256 => 15_000,
        }
    }

    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::ScramSha1 => sha1::Sha1::digest(data).to_vec(),
            Mechanism::ScramSha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::ScramSha1 => {
                let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key)
                    .expect("HMAC takes a key of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Mechanism::ScramSha256 => {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
                    .expect("HMAC takes a key of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// `Hi(password, salt, i)`: PBKDF2 with HMAC over this hash.
    pub(crate) fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.key_len()];
        match self {
            Mechanism::ScramSha1 => {
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut out)
            }
            Mechanism::ScramSha256 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out)
            }
        }
        out
    }
}

/// `ClientKey` and `ServerKey` from a salted password.
pub(crate) struct Keys {
    pub client_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl Keys {
    pub fn derive(mechanism: Mechanism, salted_password: &[u8]) -> Keys {
        Keys {
            client_key: mechanism.hmac(salted_password, b"Client Key"),
            server_key: mechanism.hmac(salted_password, b"Server Key"),
        }
    }
}

pub(crate) fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// Equality whose time does not depend on where the inputs differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
