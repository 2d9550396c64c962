//! Stored credentials, as mongod keeps them in `admin.system.users`:
//! `{iterationCount, salt, storedKey, serverKey}` per mechanism. A
//! credential lets a server verify a proof and sign its reply; it does not
//! let anyone who reads it log in (that needs `ClientKey`, which it lacks).

use base64::Engine as _;
use md5::Digest;

use crate::Error;
use crate::keys::{Keys, Mechanism};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Lowest iteration count mongod accepts (and drivers insist on).
pub const ITERATIONS_MIN: u32 = 4096;
/// Highest iteration count a client follows: a hostile server could
/// otherwise make a client spin for hours.
pub const ITERATIONS_MAX: u32 = 10_000_000;

/// The salted keys of one user for one mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub mechanism: Mechanism,
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

/// The password as the mechanism's key derivation takes it: for
/// SCRAM-SHA-1 the hex MD5 of `user:mongo:password` (MongoDB's legacy
/// digest, no SASLprep); for SCRAM-SHA-256 the SASLprep'd password.
pub fn prepare_password(
    mechanism: Mechanism,
    username: &str,
    password: &str,
) -> Result<String, Error> {
    match mechanism {
        Mechanism::ScramSha1 => {
            let digest = md5::Md5::digest(format!("{username}:mongo:{password}").as_bytes());
            Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
        }
        Mechanism::ScramSha256 => stringprep::saslprep(password)
            .map(|prepared| prepared.into_owned())
            .map_err(|_| Error::SaslPrep),
    }
}

/// A fresh random salt of the length mongod uses for `mechanism`.
pub fn generate_salt(mechanism: Mechanism) -> Vec<u8> {
    let mut salt = vec![0u8; mechanism.salt_len()];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    salt
}

impl Credential {
    /// A new credential for `username`/`password`, with a random salt and
    /// mongod's default iteration count.
    pub fn new(mechanism: Mechanism, username: &str, password: &str) -> Result<Credential, Error> {
        let prepared = prepare_password(mechanism, username, password)?;
        let salt = generate_salt(mechanism);
        Ok(Credential::derive(
            mechanism,
            &prepared,
            &salt,
            mechanism.default_iterations(),
        ))
    }

    /// The credential for an already prepared password (see [`prepare_password`]).
    pub fn derive(
        mechanism: Mechanism,
        prepared_password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Credential {
        let salted = mechanism.salted_password(prepared_password.as_bytes(), salt, iterations);
        let keys = Keys::derive(mechanism, &salted);
        Credential {
            mechanism,
            iterations,
            salt: salt.to_vec(),
            stored_key: mechanism.hash(&keys.client_key),
            server_key: keys.server_key,
        }
    }

    /// A credential no password matches, stable for a given `username` and
    /// `secret`: a server answers an unknown user with it so that the
    /// exchange looks the same as for a real user and fails only at the
    /// proof, revealing nothing about which users exist.
    pub fn decoy(mechanism: Mechanism, username: &str, secret: &[u8]) -> Credential {
        let seed = mechanism.hmac(secret, username.as_bytes());
        let mut salt = mechanism.hmac(&seed, b"salt");
        salt.resize(mechanism.salt_len(), 0);
        Credential {
            mechanism,
            iterations: mechanism.default_iterations(),
            salt,
            stored_key: mechanism.hmac(&seed, b"stored"),
            server_key: mechanism.hmac(&seed, b"server"),
        }
    }

    /// Reads the stored form: base64 strings, as mongod writes them.
    pub fn from_stored(
        mechanism: Mechanism,
        iterations: u32,
        salt: &str,
        stored_key: &str,
        server_key: &str,
    ) -> Result<Credential, Error> {
        let decode = |value: &str| {
            B64.decode(value)
                .map_err(|_| Error::Malformed("bad base64"))
        };
        let credential = Credential {
            mechanism,
            iterations,
            salt: decode(salt)?,
            stored_key: decode(stored_key)?,
            server_key: decode(server_key)?,
        };
        let key_len = mechanism.key_len();
        if credential.stored_key.len() != key_len || credential.server_key.len() != key_len {
            return Err(Error::Malformed("stored key has the wrong length"));
        }
        if !(ITERATIONS_MIN..=ITERATIONS_MAX).contains(&iterations) {
            return Err(Error::IterationCount(iterations));
        }
        Ok(credential)
    }

    pub fn salt_base64(&self) -> String {
        B64.encode(&self.salt)
    }

    pub fn stored_key_base64(&self) -> String {
        B64.encode(&self.stored_key)
    }

    pub fn server_key_base64(&self) -> String {
        B64.encode(&self.server_key)
    }
}
