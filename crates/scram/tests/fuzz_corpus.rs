//! Replays the committed fuzz seeds (fuzz/corpus/sasl_message) on every
//! `cargo test`, with the fuzz target's property: parsing never panics,
//! whatever parses formats back to the same message, and a server fed the
//! bytes never authenticates anyone.

use std::path::Path;

use scram::message::{ClientFinal, ClientFirst, ServerFinal, ServerFirst};
use scram::{Credential, Mechanism, ServerConversation};

fn check_seed(bytes: &[u8]) {
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
    let stored = Credential::derive(Mechanism::ScramSha256, "pencil", &[1; 28], 4096);
    let mut server = ServerConversation::new(Mechanism::ScramSha256).with_nonce("srv");
    let mut parts = bytes.splitn(2, |b| *b == 0);
    let first = parts.next().unwrap_or_default();
    let last = parts.next().unwrap_or_default();
    let _ = server.start(first, |_| stored.clone());
    let _ = server.step(last);
    assert_eq!(server.authenticated_user(), None);
}

#[test]
fn fuzz_corpus_seeds_parse_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/sasl_message");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("corpus entry").path();
        check_seed(&std::fs::read(&path).expect("seed"));
        seeds += 1;
    }
    assert!(seeds >= 5, "the corpus has its seeds");
}
