//! Properties over arbitrary input: no message, however malformed, makes
//! either side panic, and every message the formatter writes parses back.

use std::sync::OnceLock;

use proptest::prelude::*;
use scram::message::{ClientFinal, ClientFirst, ServerFinal, ServerFirst};
use scram::{ClientConversation, Credential, Mechanism, ServerConversation};

/// Bytes that look like SCRAM messages often enough to reach deep states.
fn scramish() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[nyp]?,(a=[a-z=,]{0,4})?,(n=[a-z=,2CD3]{0,8})?(,r=[!-~]{0,8})?(,[a-z]=[A-Za-z0-9+/=]{0,12}){0,3}"
            .prop_map(String::into_bytes),
        "(c=(biws|eSws|[A-Za-z0-9+/=]{0,8}))?(,r=[!-~]{0,12})?(,p=[A-Za-z0-9+/=]{0,48})?"
            .prop_map(String::into_bytes),
    ]
}

/// One credential for every case: deriving it costs 4096 PBKDF2 rounds.
fn stored() -> &'static Credential {
    static STORED: OnceLock<Credential> = OnceLock::new();
    STORED.get_or_init(|| Credential::derive(Mechanism::ScramSha256, "pencil", b"salt", 4096))
}

proptest! {
    #[test]
    fn parsers_never_panic(bytes in scramish()) {
        let _ = ClientFirst::parse(&bytes);
        let _ = ServerFirst::parse(&bytes);
        let _ = ClientFinal::parse(&bytes);
        let _ = ServerFinal::parse(&bytes);
    }

    #[test]
    fn server_never_panics_and_never_authenticates_garbage(first in scramish(), last in scramish(), empty in scramish()) {
        let mut server = ServerConversation::new(Mechanism::ScramSha256);
        let _ = server.start(&first, |_| stored().clone());
        let _ = server.step(&last);
        let _ = server.step(&empty);
        prop_assert_eq!(server.authenticated_user(), None);
    }

    #[test]
    fn client_never_panics_on_server_messages(first in scramish(), last in scramish()) {
        let mut client = ClientConversation::with_nonce(Mechanism::ScramSha1, "u", "p", "n");
        client.client_first();
        let _ = client.step(&first);
        let _ = client.step(&last);
        prop_assert!(!client.is_complete());
    }

    #[test]
    fn formatted_client_first_parses_back(user in "\\PC{1,16}", nonce in "[!-+\\--~]{1,24}") {
        let message = ClientFirst { gs2_header: "n,,".into(), username: user, nonce };
        prop_assert_eq!(ClientFirst::parse(message.format().as_bytes()), Ok(message));
    }

    #[test]
    fn formatted_server_messages_parse_back(salt in proptest::collection::vec(any::<u8>(), 0..32), iterations in any::<u32>(), signature in proptest::collection::vec(any::<u8>(), 0..32)) {
        let first = ServerFirst { nonce: "abc".into(), salt, iterations };
        prop_assert_eq!(ServerFirst::parse(first.format().as_bytes()), Ok(first));
        let last = ServerFinal::Verifier(signature);
        prop_assert_eq!(ServerFinal::parse(last.format().as_bytes()), Ok(last));
    }
}
