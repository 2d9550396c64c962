//! Fuzzes the SCRAM message parsers and the server's conversation with
//! arbitrary bytes: every input must parse or fail with a typed error, and
//! whatever parses must format to text that parses to the same message.
//! The bytes are also fed to a server conversation as client-first and
//! client-final messages; it must never panic nor authenticate anyone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scram::message::{ClientFinal, ClientFirst, ServerFinal, ServerFirst};
use scram::{Credential, Mechanism, ServerConversation};

fuzz_target!(|bytes: &[u8]| {
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
    // A fixed credential with the lowest iteration count keeps runs fast.
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
});
