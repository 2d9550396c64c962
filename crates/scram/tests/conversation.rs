//! Whole conversations between this crate's client and server, as
//! `saslStart`/`saslContinue` carry them, and their failures.

use scram::{ClientConversation, Credential, Error, Mechanism, ServerConversation};

const MECHANISMS: [Mechanism; 2] = [Mechanism::ScramSha1, Mechanism::ScramSha256];

/// Runs a whole exchange; returns the server's outcome and whether the
/// client verified the server.
fn exchange(
    mechanism: Mechanism,
    stored: &Credential,
    user: &str,
    password: &str,
    skip_empty: bool,
) -> (Result<String, Error>, bool) {
    let mut client = ClientConversation::new(mechanism, user, password).expect("client");
    let mut server = ServerConversation::new(mechanism);
    if skip_empty {
        server = server.skip_empty_exchange();
    }
    let mut step = match server.start(&client.client_first(), |_| stored.clone()) {
        Ok(step) => step,
        Err(e) => return (Err(e), false),
    };
    let mut rounds = 0;
    while !step.done {
        rounds += 1;
        assert!(rounds <= 3, "MongoDB's exchange has at most three rounds");
        let payload = match client.step(&step.payload) {
            Ok(payload) => payload,
            Err(e) => return (Err(e), client.is_complete()),
        };
        step = match server.step(&payload) {
            Ok(step) => step,
            Err(e) => return (Err(e), client.is_complete()),
        };
    }
    if !client.is_complete() {
        client.step(&step.payload).expect("server-final verifies");
    }
    let user = server.authenticated_user().map(str::to_owned);
    (user.ok_or(Error::Finished), client.is_complete())
}

#[test]
fn right_password_authenticates_both_ways_with_and_without_the_empty_round() {
    for mechanism in MECHANISMS {
        let stored = Credential::new(mechanism, "alice", "secret").expect("credential");
        assert_eq!(stored.iterations, mechanism.default_iterations());
        for skip_empty in [false, true] {
            let (user, verified) = exchange(mechanism, &stored, "alice", "secret", skip_empty);
            assert_eq!(
                user,
                Ok("alice".to_owned()),
                "{mechanism:?} skip {skip_empty}"
            );
            assert!(verified, "the client verified the server");
        }
    }
}

#[test]
fn wrong_password_fails_at_the_proof() {
    for mechanism in MECHANISMS {
        let stored = Credential::new(mechanism, "alice", "secret").expect("credential");
        let (user, verified) = exchange(mechanism, &stored, "alice", "Secret", false);
        assert_eq!(user, Err(Error::AuthenticationFailed));
        assert!(!verified);
    }
}

#[test]
fn unknown_user_with_a_decoy_fails_like_a_wrong_password() {
    for mechanism in MECHANISMS {
        let decoy = Credential::decoy(mechanism, "nobody", b"server secret");
        assert_eq!(
            decoy,
            Credential::decoy(mechanism, "nobody", b"server secret")
        );
        assert_eq!(decoy.salt.len(), mechanism.salt_len());
        let (user, _) = exchange(mechanism, &decoy, "nobody", "guess", false);
        assert_eq!(user, Err(Error::AuthenticationFailed));
    }
}

#[test]
fn sha256_passwords_equal_after_saslprep_authenticate() {
    let stored = Credential::new(Mechanism::ScramSha256, "u", "\u{2168}").expect("credential");
    let (user, _) = exchange(Mechanism::ScramSha256, &stored, "u", "IX", true);
    assert_eq!(user, Ok("u".to_owned()));
}

#[test]
fn usernames_with_commas_and_equals_signs_travel_escaped() {
    let stored = Credential::new(Mechanism::ScramSha256, "a,b=c", "pw").expect("credential");
    let mut client =
        ClientConversation::new(Mechanism::ScramSha256, "a,b=c", "pw").expect("client");
    let first = client.client_first();
    assert!(String::from_utf8_lossy(&first).starts_with("n,,n=a=2Cb=3Dc,r="));
    let mut server = ServerConversation::new(Mechanism::ScramSha256);
    server
        .start(&first, |user| {
            assert_eq!(user, "a,b=c");
            stored.clone()
        })
        .expect("start");
}

#[test]
fn a_credential_for_another_mechanism_fails() {
    let stored = Credential::new(Mechanism::ScramSha1, "alice", "secret").expect("credential");
    let mut client =
        ClientConversation::new(Mechanism::ScramSha256, "alice", "secret").expect("client");
    let mut server = ServerConversation::new(Mechanism::ScramSha256);
    let result = server.start(&client.client_first(), |_| stored.clone());
    assert_eq!(result, Err(Error::AuthenticationFailed));
}

#[test]
fn messages_after_the_end_or_a_failure_are_refused() {
    let stored = Credential::new(Mechanism::ScramSha256, "alice", "secret").expect("credential");
    let mut server = ServerConversation::new(Mechanism::ScramSha256);
    assert_eq!(server.step(b""), Err(Error::Finished), "step before start");
    assert!(server.start(b"garbage", |_| stored.clone()).is_err());
    assert_eq!(server.step(b"c=biws,r=x,p=AAAA"), Err(Error::Finished));
}

#[test]
fn client_refuses_a_server_that_does_not_extend_its_nonce_or_signs_wrongly() {
    let check = |server_first: &str, server_final: Option<&str>, expected: Error| {
        let mut client =
            ClientConversation::with_nonce(Mechanism::ScramSha256, "user", "pencil", "abc");
        client.client_first();
        let result = client
            .step(server_first.as_bytes())
            .and_then(|_| match server_final {
                Some(last) => client.step(last.as_bytes()),
                None => Ok(Vec::new()),
            });
        assert_eq!(result, Err(expected), "{server_first} / {server_final:?}");
        assert!(!client.is_complete());
    };
    check(
        "r=xyz123,s=QSXCR+Q6sek8bf92,i=4096",
        None,
        Error::NonceMismatch,
    );
    check(
        "r=abc,s=QSXCR+Q6sek8bf92,i=4096",
        None,
        Error::NonceMismatch,
    );
    check(
        "r=abcdef,s=QSXCR+Q6sek8bf92,i=1",
        None,
        Error::IterationCount(1),
    );
    check(
        "r=abcdef,s=QSXCR+Q6sek8bf92,i=4096",
        Some("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
        Error::AuthenticationFailed,
    );
    check(
        "r=abcdef,s=QSXCR+Q6sek8bf92,i=4096",
        Some("e=other-error"),
        Error::Server("other-error".into()),
    );
}

#[test]
fn malformed_client_messages_are_errors() {
    let stored = Credential::derive(Mechanism::ScramSha256, "pencil", b"salt", 4096);
    let check_first = |message: &str, expected: Error| {
        let mut server = ServerConversation::new(Mechanism::ScramSha256);
        assert_eq!(
            server.start(message.as_bytes(), |_| stored.clone()),
            Err(expected),
            "{message}"
        );
    };
    check_first("", Error::Malformed("missing GS2 header"));
    check_first("p=tls-unique,,n=user,r=abc", Error::ChannelBinding);
    check_first(
        "x,,n=user,r=abc",
        Error::Malformed("bad channel-binding flag"),
    );
    check_first(
        "n,,r=abc,n=user",
        Error::Malformed("attribute missing or out of order"),
    );
    check_first("n,,n=us=er,r=abc", Error::Malformed("bad username escape"));
    check_first("n,,n=,r=abc", Error::Malformed("empty username"));
    check_first(
        "n,,n=user,r=a,bc",
        Error::Malformed("attribute is not a=value"),
    );
    check_first(
        "n,,n=user,r=abc,m=ext",
        Error::Malformed("mandatory extension"),
    );
    check_first(
        "n,a=other,n=user,r=abc",
        Error::Malformed("authzid differs from the user"),
    );

    let check_final = |message: &str, expected: Error| {
        let mut server = ServerConversation::new(Mechanism::ScramSha256).with_nonce("srv");
        server
            .start(b"n,,n=user,r=cli", |_| stored.clone())
            .expect("start");
        assert_eq!(server.step(message.as_bytes()), Err(expected), "{message}");
        assert_eq!(server.step(b""), Err(Error::Finished), "a failure ends it");
    };
    check_final("c=biws,r=clisrv", Error::Malformed("proof missing"));
    check_final("c=biws,r=clisrv,p=%%%", Error::Malformed("bad base64"));
    check_final(
        "c=eSws,r=clisrv,p=AAAA",
        Error::Malformed("channel binding differs from the GS2 header"),
    );
    check_final("c=biws,r=cliXXX,p=AAAA", Error::NonceMismatch);
    check_final("c=biws,r=clisrv,p=AAAA", Error::AuthenticationFailed);
}
