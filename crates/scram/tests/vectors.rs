//! The published test vectors: RFC 5802 section 5 (SCRAM-SHA-1), RFC 7677
//! section 3 (SCRAM-SHA-256), and MongoDB's SCRAM-SHA-1 variant (the same
//! exchange with the password digested as `user:mongo:pencil`, from the
//! drivers' authentication specification). Both ends are checked against
//! every message of each exchange.

use base64::Engine as _;
use scram::{ClientConversation, Credential, Mechanism, ServerConversation, prepare_password};

struct Vector {
    mechanism: Mechanism,
    prepared_password: String,
    client_nonce: &'static str,
    server_nonce: &'static str,
    salt: &'static str,
    iterations: u32,
    client_first: &'static str,
    server_first: &'static str,
    client_final: &'static str,
    server_final: &'static str,
}

fn check(v: Vector) {
    let mut client =
        ClientConversation::with_nonce(v.mechanism, "user", &v.prepared_password, v.client_nonce);
    assert_eq!(client.client_first(), v.client_first.as_bytes());
    let sent = client
        .step(v.server_first.as_bytes())
        .expect("server-first");
    assert_eq!(String::from_utf8_lossy(&sent), v.client_final);
    assert!(
        client
            .step(v.server_final.as_bytes())
            .expect("server-final")
            .is_empty()
    );
    assert!(client.is_complete());

    let salt = base64::engine::general_purpose::STANDARD
        .decode(v.salt)
        .expect("salt");
    let credential = Credential::derive(v.mechanism, &v.prepared_password, &salt, v.iterations);
    let mut server = ServerConversation::new(v.mechanism)
        .with_nonce(v.server_nonce)
        .skip_empty_exchange();
    let first = server
        .start(v.client_first.as_bytes(), |user| {
            assert_eq!(user, "user");
            credential.clone()
        })
        .expect("client-first");
    assert_eq!(String::from_utf8_lossy(&first.payload), v.server_first);
    let last = server
        .step(v.client_final.as_bytes())
        .expect("client-final");
    assert_eq!(String::from_utf8_lossy(&last.payload), v.server_final);
    assert!(last.done);
    assert_eq!(server.authenticated_user(), Some("user"));
}

#[test]
fn rfc5802_sha1_vector_matches_on_both_ends() {
    check(Vector {
        mechanism: Mechanism::ScramSha1,
        prepared_password: "pencil".into(),
        client_nonce: "fyko+d2lbbFgONRv9qkxdawL",
        server_nonce: "3rfcNHYJY1ZVvWVs7j",
        salt: "QSXCR+Q6sek8bf92",
        iterations: 4096,
        client_first: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
        server_first: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        client_final: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        server_final: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
    });
}

#[test]
fn rfc7677_sha256_vector_matches_on_both_ends() {
    check(Vector {
        mechanism: Mechanism::ScramSha256,
        prepared_password: "pencil".into(),
        client_nonce: "rOprNGfwEbeRWgbNEkqO",
        server_nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
        iterations: 4096,
        client_first: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        server_first: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        client_final: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        server_final: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    });
}

#[test]
fn mongodb_sha1_vector_digests_the_password_first() {
    let prepared = prepare_password(Mechanism::ScramSha1, "user", "pencil").expect("digest");
    check(Vector {
        mechanism: Mechanism::ScramSha1,
        prepared_password: prepared,
        client_nonce: "fyko+d2lbbFgONRv9qkxdawL",
        server_nonce: "Ho+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE",
        salt: "rQ9ZY3MntBeuP3E1TDVC4w==",
        iterations: 10000,
        client_first: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
        server_first: "r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000",
        client_final: "c=biws,r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,p=MC2T8BvbmWRckDw8oWl5IVghwCY=",
        server_final: "v=UMWeI25JD1yNYZRMpZ4VHvhZ9e0=",
    });
}

#[test]
fn sha1_password_digest_is_hex_md5_of_user_mongo_password() {
    // md5("user:mongo:pencil"), as `echo -n user:mongo:pencil | md5sum` gives it.
    let prepared = prepare_password(Mechanism::ScramSha1, "user", "pencil").expect("digest");
    assert_eq!(prepared, "1c33006ec1ffd90f9cadcbcc0e118200");
}

#[test]
fn sha256_password_is_saslprepped() {
    let check = |password: &str, expected: Option<&str>| {
        let prepared = prepare_password(Mechanism::ScramSha256, "user", password).ok();
        assert_eq!(prepared.as_deref(), expected, "password {password:?}");
    };
    // The drivers' authentication specification's SASLprep cases.
    check("IX", Some("IX"));
    check("I\u{00AD}X", Some("IX"));
    check("\u{2168}", Some("IX"));
    check("\u{2163}", Some("IV"));
    check("a\u{00A0}b", Some("a b"));
    check("\u{0007}", None);
}
