//! SCRAM authentication over TCP against a small OP_MSG server that runs
//! the server side of the shared `scram` crate: mechanism negotiation,
//! explicit mechanisms, speculative authentication in `hello`, escaped
//! user names, and wrong passwords.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};
use rotor::{Client, ErrorKind};
use scram::{Mechanism, ServerConversation};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wire::{HEADER_LEN, Message, OpMsg};

/// The one user the fake server knows.
const USER: &str = "a,b=c";
const PASSWORD: &str = "pencil";

/// What the fake server offers and what it saw.
struct Fake {
    offered: Vec<&'static str>,
    /// Whether `hello` takes up `speculativeAuthenticate`.
    speculative: bool,
    /// The mechanism of every `saslStart`, in order.
    started: Mutex<Vec<String>>,
}

async fn fake_server(offered: Vec<&'static str>, speculative: bool) -> (SocketAddr, Arc<Fake>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let fake = Arc::new(Fake {
        offered,
        speculative,
        started: Mutex::new(Vec::new()),
    });
    let shared = fake.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, shared.clone()));
        }
    });
    (address, fake)
}

async fn serve(mut stream: TcpStream, fake: Arc<Fake>) {
    let mut conversation: Option<ServerConversation> = None;
    let mut authenticated = false;
    loop {
        let mut header = [0u8; HEADER_LEN];
        if stream.read_exact(&mut header).await.is_err() {
            return;
        }
        let parsed = wire::Header::parse(&header).unwrap();
        let mut frame = vec![0u8; parsed.message_length];
        frame[..HEADER_LEN].copy_from_slice(&header);
        stream.read_exact(&mut frame[HEADER_LEN..]).await.unwrap();
        let Message::Msg(msg) = wire::decode(&frame).unwrap().message else {
            panic!("the client sent a legacy message");
        };
        let command = msg.body;
        let name = command.keys().next().cloned().unwrap_or_default();
        let reply = match name.as_str() {
            "hello" => {
                let mut reply = hello(&fake, &command);
                match command.get_document("speculativeAuthenticate") {
                    Ok(start) if fake.speculative => {
                        let (server, answer) =
                            sasl_start(&fake, start, "speculative ", &mut authenticated);
                        reply.insert("speculativeAuthenticate", answer);
                        conversation = Some(server);
                    }
                    _ => {}
                }
                reply
            }
            "saslStart" => {
                let (server, reply) = sasl_start(&fake, &command, "", &mut authenticated);
                conversation = Some(server);
                reply
            }
            "saslContinue" => match conversation.as_mut() {
                Some(server) => {
                    let step = server.step(payload(&command));
                    sasl_reply(step, &mut authenticated)
                }
                None => failure(17, "ProtocolError"),
            },
            "ping" if authenticated => doc! {"ok": 1.0},
            _ => failure(13, "Unauthorized"),
        };
        let out = Message::Msg(OpMsg::new(reply));
        let bytes = wire::encode(1, parsed.request_id, &out, None).unwrap();
        if stream.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

fn hello(fake: &Fake, command: &Document) -> Document {
    let mut reply = doc! {
        "ok": 1.0, "isWritablePrimary": true, "helloOk": true,
        "maxWireVersion": 21, "maxMessageSizeBytes": 48_000_000,
    };
    if command.get_str("saslSupportedMechs").ok() == Some(format!("admin.{USER}").as_str()) {
        reply.insert("saslSupportedMechs", fake.offered.clone());
    }
    reply
}

/// Starts the server's side of a conversation; records the mechanism with
/// `how` before it.
fn sasl_start(
    fake: &Fake,
    command: &Document,
    how: &str,
    authenticated: &mut bool,
) -> (ServerConversation, Document) {
    let mechanism = Mechanism::from_name(command.get_str("mechanism").unwrap()).unwrap();
    fake.started
        .lock()
        .unwrap()
        .push(format!("{how}{}", mechanism.name()));
    let mut server = ServerConversation::new(mechanism);
    if command
        .get_document("options")
        .is_ok_and(|o| o.get_bool("skipEmptyExchange").unwrap_or(false))
    {
        server = server.skip_empty_exchange();
    }
    let step = server.start(payload(command), |user| credential(mechanism, user));
    let reply = sasl_reply(step, authenticated);
    (server, reply)
}

fn credential(mechanism: Mechanism, user: &str) -> scram::Credential {
    if user == USER {
        scram::Credential::new(mechanism, USER, PASSWORD).unwrap()
    } else {
        scram::Credential::decoy(mechanism, user, b"test secret")
    }
}

fn payload(command: &Document) -> &[u8] {
    match command.get("payload") {
        Some(Bson::Binary(binary)) => &binary.bytes,
        other => panic!("payload is {other:?}"),
    }
}

fn sasl_reply(step: Result<scram::Step, scram::Error>, authenticated: &mut bool) -> Document {
    match step {
        Ok(step) => {
            *authenticated = step.done;
            doc! {
                "ok": 1.0,
                "conversationId": 1,
                "done": step.done,
                "payload": Binary { subtype: BinarySubtype::Generic, bytes: step.payload },
            }
        }
        Err(_) => failure(18, "AuthenticationFailed"),
    }
}

fn failure(code: i32, code_name: &str) -> Document {
    doc! {"ok": 0.0, "code": code, "codeName": code_name, "errmsg": "Authentication failed."}
}

/// Pings as the connection string's user; the mechanisms the server saw.
async fn ping(
    offered: Vec<&'static str>,
    speculative: bool,
    userinfo: &str,
    options: &str,
) -> (rotor::Result<Document>, Vec<String>) {
    let (address, fake) = fake_server(offered, speculative).await;
    let uri = format!("mongodb://{userinfo}@{address}/?serverSelectionTimeoutMS=2000{options}");
    let client = Client::connect(&uri).await.unwrap();
    let result = client.database("admin").run_command(doc! {"ping": 1}).await;
    let started = fake.started.lock().unwrap().clone();
    (result, started)
}

const ESCAPED_USER: &str = "a%2Cb%3Dc";

#[tokio::test]
async fn auth_negotiates_the_strongest_offered_mechanism() {
    let userinfo = format!("{ESCAPED_USER}:{PASSWORD}");
    for (offered, expected) in [
        (vec!["SCRAM-SHA-1", "SCRAM-SHA-256"], "SCRAM-SHA-256"),
        (vec!["SCRAM-SHA-1"], "SCRAM-SHA-1"),
    ] {
        let (result, started) = ping(offered, false, &userinfo, "").await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(started, [expected]);
    }
}

#[tokio::test]
async fn auth_begins_in_hello_when_the_server_takes_it_up() {
    let userinfo = format!("{ESCAPED_USER}:{PASSWORD}");
    for (options, expected) in [
        ("", "speculative SCRAM-SHA-256"),
        ("&authMechanism=SCRAM-SHA-1", "speculative SCRAM-SHA-1"),
    ] {
        let offered = vec!["SCRAM-SHA-1", "SCRAM-SHA-256"];
        let (result, started) = ping(offered, true, &userinfo, options).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(started, [expected]);
    }
    let (result, _) = ping(
        vec!["SCRAM-SHA-256"],
        true,
        &format!("{ESCAPED_USER}:wrong"),
        "",
    )
    .await;
    let error = result.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Authentication { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn auth_uses_the_mechanism_the_connection_string_names() {
    let userinfo = format!("{ESCAPED_USER}:{PASSWORD}");
    let (result, started) = ping(
        vec!["SCRAM-SHA-256"],
        false,
        &userinfo,
        "&authMechanism=SCRAM-SHA-1",
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(started, ["SCRAM-SHA-1"]);
}

#[tokio::test]
async fn auth_with_a_wrong_password_or_user_fails_with_the_servers_code() {
    for userinfo in [
        format!("{ESCAPED_USER}:wrong"),
        format!("nobody:{PASSWORD}"),
    ] {
        let (result, _) = ping(vec!["SCRAM-SHA-256"], false, &userinfo, "").await;
        let error = result.unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::Authentication { .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("AuthenticationFailed"),
            "{error}"
        );
    }
}
