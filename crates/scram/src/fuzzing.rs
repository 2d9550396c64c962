//! The property the `sasl_message` fuzz target checks, in one place so the
//! fuzzer and `cargo test`'s replay of the committed corpus check the same
//! thing: every input parses or fails with a typed error, whatever parses
//! formats back to the same message, and a server conversation fed the
//! bytes (split at the first NUL into client-first and client-final) never
//! panics nor authenticates anyone.

use crate::message::{ClientFinal, ClientFirst, ServerFinal, ServerFirst};
use crate::{Credential, Mechanism, ServerConversation};

/// Panics if `bytes` break the property above.
pub fn check(bytes: &[u8]) {
    if let Ok(message) = ClientFirst::parse(bytes) {
        assert_eq!(ClientFirst::parse(message.format().as_bytes()), Ok(message));
    }
    if let Ok(message) = ServerFirst::parse(bytes) {
        assert_eq!(ServerFirst::parse(message.format().as_bytes()), Ok(message));
    }
    if let Ok(message) = ClientFinal::parse(bytes) {
        assert_eq!(ClientFinal::parse(message.format().as_bytes()), Ok(message));
    }
    if let Ok(message) = ServerFinal::parse(bytes) {
        assert_eq!(ServerFinal::parse(message.format().as_bytes()), Ok(message));
    }
    // Fixed keys rather than a derived credential: no PBKDF2 per input.
    let stored = Credential {
        mechanism: Mechanism::ScramSha256,
        iterations: 4096,
        salt: vec![1; 28],
        stored_key: vec![2; 32],
        server_key: vec![3; 32],
    };
    let mut server = ServerConversation::new(Mechanism::ScramSha256).with_nonce("srv");
    let mut parts = bytes.splitn(2, |b| *b == 0);
    let first = parts.next().unwrap_or_default();
    let last = parts.next().unwrap_or_default();
    let _ = server.start(first, |_| stored.clone());
    let _ = server.step(last);
    assert_eq!(server.authenticated_user(), None);
}
