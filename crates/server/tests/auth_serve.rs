//! `rotor serve --auth` with the real binary: a non-loopback `--bind`
//! without `--auth` exits at once with a clear error (and starts when
//! `--auth` or `--allow-unauthenticated-network` is given), and over a real
//! socket a driver's handshake authenticates with SCRAM-SHA-256 inside
//! `hello` (`saslSupportedMechs`, `speculativeAuthenticate`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};
use wire::{HEADER_LEN, Message, OpMsg, decode, encode};

/// Runs `rotor serve` with `args`; returns whether it became ready (it is
/// then killed) or its exit status and log if it stopped first.
fn serve(args: &[&str]) -> Result<(), (Option<i32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rotor"))
        .args(["serve", "--in-memory", "--port", "0"])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stderr = child.stderr.take().expect("stderr");
    let mut log = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap_or_default();
        if line.contains("rotor ready for connections on ") {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(());
        }
        log.push_str(&line);
        log.push('\n');
    }
    let status = child.wait().expect("exit status");
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
    }
    Err((status.code(), log + &stdout))
}

#[test]
fn network_bind_without_auth_is_refused_with_a_clear_error() {
    let (code, log) = serve(&["--bind", "0.0.0.0"]).expect_err("refused");
    assert_ne!(code, Some(0), "{log}");
    assert!(code.is_some(), "exited, not killed: {log}");
    assert!(
        log.contains("refusing to listen on 0.0.0.0 without authentication")
            && log.contains("--auth"),
        "{log}"
    );
}

#[test]
fn network_bind_starts_with_auth_or_when_explicitly_allowed() {
    assert_eq!(serve(&["--bind", "0.0.0.0", "--auth"]), Ok(()));
    assert_eq!(
        serve(&["--bind", "0.0.0.0", "--allow-unauthenticated-network"]),
        Ok(())
    );
    assert_eq!(serve(&["--bind", "127.0.0.1"]), Ok(()));
}

/// A `rotor serve --auth` process, killed when dropped.
struct AuthServer {
    child: Child,
    address: String,
}

impl AuthServer {
    fn start() -> AuthServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rotor"))
            .args(["serve", "--in-memory", "--port", "0", "--auth"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("the binary runs");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let address = loop {
            let line = lines.next().expect("ready before exit").expect("log line");
            if let Some((_, address)) = line.split_once("rotor ready for connections on ") {
                break address.trim().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        AuthServer { child, address }
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(stream: &mut TcpStream, body: Document) -> Document {
    let frame = encode(7, 0, &Message::Msg(OpMsg::new(body)), None).expect("encodes");
    stream.write_all(&frame).expect("sent");
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header).expect("reply header");
    let length = wire::Header::parse(&header).expect("header").message_length;
    let mut reply = header.to_vec();
    reply.resize(length, 0);
    stream
        .read_exact(&mut reply[HEADER_LEN..])
        .expect("reply body");
    match decode(&reply).expect("decodes").message {
        Message::Msg(msg) => msg.body,
        other => panic!("expected OP_MSG, got {other:?}"),
    }
}

fn binary(bytes: Vec<u8>) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

fn payload(reply: &Document) -> Vec<u8> {
    match reply.get("payload") {
        Some(Bson::Binary(b)) => b.bytes.clone(),
        other => panic!("binary payload expected: {other:?}"),
    }
}

#[test]
fn a_driver_handshake_authenticates_with_speculative_scram_over_tcp() {
    let server = AuthServer::start();
    let mut first = TcpStream::connect(&server.address).expect("connect");
    let created = command(
        &mut first,
        doc! {"createUser": "root", "pwd": "pw", "roles": ["root"], "$db": "admin"},
    );
    assert_eq!(
        created.get_f64("ok").ok(),
        Some(1.0),
        "localhost exception: {created}"
    );

    let mut stream = TcpStream::connect(&server.address).expect("connect");
    let refused = command(&mut stream, doc! {"find": "c", "$db": "test"});
    assert_eq!(refused.get_i32("code").ok(), Some(13), "{refused}");

    let mut client = scram::ClientConversation::new(scram::Mechanism::ScramSha256, "root", "pw")
        .expect("client");
    let hello = command(
        &mut stream,
        doc! {
            "hello": 1,
            "$db": "admin",
            "saslSupportedMechs": "admin.root",
            "speculativeAuthenticate": {
                "saslStart": 1,
                "mechanism": "SCRAM-SHA-256",
                "payload": binary(client.client_first()),
                "options": {"skipEmptyExchange": true},
                "db": "admin",
            },
        },
    );
    assert_eq!(
        hello.get_array("saslSupportedMechs").ok(),
        Some(&vec![
            Bson::from("SCRAM-SHA-1"),
            Bson::from("SCRAM-SHA-256")
        ])
    );
    let speculative = hello
        .get_document("speculativeAuthenticate")
        .expect("speculative");
    let proof = client.step(&payload(speculative)).expect("server-first");
    let last = command(
        &mut stream,
        doc! {"saslContinue": 1, "conversationId": 1, "payload": binary(proof), "$db": "admin"},
    );
    assert_eq!(last.get_bool("done").ok(), Some(true), "{last}");
    client
        .step(&payload(&last))
        .expect("the server proves it knows the key");
    let found = command(&mut stream, doc! {"find": "c", "$db": "test"});
    assert_eq!(found.get_f64("ok").ok(), Some(1.0), "{found}");
    let status = command(&mut stream, doc! {"connectionStatus": 1, "$db": "admin"});
    let users = status
        .get_document("authInfo")
        .and_then(|info| info.get_array("authenticatedUsers"))
        .expect("authInfo");
    assert_eq!(
        users,
        &vec![Bson::Document(doc! {"user": "root", "db": "admin"})]
    );
}
