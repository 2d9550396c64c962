//! Limits against exhaustion in `rotor serve`, end to end over real
//! sockets: a connection flood beyond `--max-conns` is refused while open
//! clients keep working; a client that connects and says nothing, or
//! leaves its first message unfinished, is closed after
//! `--handshake-timeout-secs`; a client that stops reading its
//! replies is closed after `--write-timeout-secs`; pipelined `moreToCome`
//! requests run one at a time, in order; with `--auth`, a client that has
//! not authenticated within `--auth-timeout-secs` is closed, busy or not.

mod support;

use std::time::{Duration, Instant};

use bson::doc;
use tokio::net::TcpStream;
use wire::{Message, MsgFlags, OpMsg};

use support::{Server, command, is_closed, open_connections, pings, send};

/// How long a test polls for the server to notice something.
const NOTICE_WAIT: Duration = Duration::from_secs(20);

/// Polls `open_connections` on `probe` until it equals `expected`.
async fn wait_for_open_connections(probe: &mut TcpStream, expected: i64) {
    let started = Instant::now();
    loop {
        let open = open_connections(probe).await;
        if open == expected {
            return;
        }
        assert!(
            started.elapsed() < NOTICE_WAIT,
            "still {open} connections open, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn limits_flood_beyond_max_conns_is_refused_while_open_clients_keep_working() {
    const MAX: usize = 10;
    const FLOOD: usize = 200;
    let server = Server::start(&["--max-conns", &MAX.to_string()]);
    let mut open = Vec::new();
    for _ in 0..MAX {
        let mut stream = server.connect().await;
        assert!(pings(&mut stream).await);
        open.push(stream);
    }
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        flood.push(server.connect().await);
    }
    for (index, stream) in flood.iter_mut().enumerate() {
        assert!(
            is_closed(stream).await,
            "flood connection {index} was not refused"
        );
    }
    for (index, stream) in open.iter_mut().enumerate() {
        assert!(
            pings(stream).await,
            "open connection {index} stopped answering"
        );
    }
    // A freed slot is usable again.
    drop(open.pop());
    wait_for_open_connections(&mut open[0], MAX as i64 - 1).await;
    assert!(pings(&mut server.connect().await).await);
}

#[tokio::test]
async fn limits_max_connections_is_still_accepted_as_the_old_name() {
    let server = Server::start(&["--max-connections", "1"]);
    let mut first = server.connect().await;
    assert!(pings(&mut first).await);
    assert!(is_closed(&mut server.connect().await).await);
}

#[tokio::test]
async fn limits_silent_new_connection_is_closed_after_the_handshake_timeout() {
    let server = Server::start(&["--handshake-timeout-secs", "1"]);
    let mut talker = server.connect().await;
    assert!(pings(&mut talker).await);
    let mut silent = server.connect().await;
    // A header promising a body that never comes.
    let mut unfinished = server.connect().await;
    let frame = wire::encode(
        1,
        0,
        &Message::Msg(OpMsg::new(doc! {"ping": 1, "$db": "admin"})),
        None,
    )
    .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut unfinished, &frame[..frame.len() - 1])
        .await
        .unwrap();
    let started = Instant::now();
    assert!(is_closed(&mut silent).await);
    assert!(is_closed(&mut unfinished).await);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    // The first-message deadline does not apply once a client has spoken.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(pings(&mut talker).await);
}

#[tokio::test]
async fn limits_peer_that_stops_reading_replies_is_closed_after_the_write_timeout() {
    const REQUESTS: i32 = 200;
    let server = Server::start(&["--write-timeout-secs", "1"]);
    let mut probe = server.connect().await;
    let big = "x".repeat(1_000_000);
    let insert = doc! {"insert": "c", "documents": [{"_id": 1, "big": big}], "$db": "test"};
    assert_eq!(
        command(&mut probe, insert)
            .await
            .and_then(|reply| reply.get_i32("n").ok()),
        Some(1)
    );
    // Each reply is a megabyte: far more than the socket buffers hold.
    let mut stalled = server.connect().await;
    let find = Message::Msg(OpMsg::new(doc! {"find": "c", "$db": "test"}));
    for request_id in 0..REQUESTS {
        assert!(send(&mut stalled, request_id, &find).await);
    }
    wait_for_open_connections(&mut probe, 1).await;
    assert!(pings(&mut probe).await);
}

#[tokio::test]
async fn limits_pipelined_more_to_come_requests_run_one_at_a_time_in_order() {
    const REQUESTS: i32 = 2_000;
    let server = Server::start(&[]);
    let mut stream = server.connect().await;
    let mut batch = Vec::new();
    for index in 0..REQUESTS {
        let quiet = OpMsg {
            flags: MsgFlags(MsgFlags::MORE_TO_COME),
            body: doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"last": index}}, "upsert": true}], "$db": "test"},
            body_tail: Vec::new(),
            sequences: Vec::new(),
        };
        batch.extend(wire::encode(index, 0, &Message::Msg(quiet), None).unwrap());
    }
    tokio::io::AsyncWriteExt::write_all(&mut stream, &batch)
        .await
        .unwrap();
    let found = command(&mut stream, doc! {"find": "c", "$db": "test"})
        .await
        .expect("a reply after the pipelined requests");
    let batch = found
        .get_document("cursor")
        .and_then(|cursor| cursor.get_array("firstBatch"))
        .unwrap_or_else(|_| panic!("{found}"));
    assert_eq!(batch.len(), 1, "{found}");
    let last = batch[0]
        .as_document()
        .and_then(|document| document.get_i32("last").ok());
    assert_eq!(last, Some(REQUESTS - 1), "{found}");
}

/// SCRAM-SHA-256 through saslStart/saslContinue on `stream`; whether the
/// server accepted the password.
async fn login(stream: &mut TcpStream, user: &str, password: &str) -> bool {
    use bson::{Binary, Bson, spec::BinarySubtype};
    let binary = |bytes: Vec<u8>| {
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes,
        })
    };
    let payload = |reply: &bson::Document| match reply.get("payload") {
        Some(Bson::Binary(b)) => b.bytes.clone(),
        _ => Vec::new(),
    };
    let mechanism = scram::Mechanism::ScramSha256;
    let mut client = scram::ClientConversation::new(mechanism, user, password).unwrap();
    let start = doc! {"saslStart": 1, "mechanism": mechanism.name(),
    "payload": binary(client.client_first()), "$db": "admin"};
    let mut reply = command(stream, start).await.expect("a saslStart reply");
    loop {
        if reply.get_f64("ok").ok() != Some(1.0) {
            return false;
        }
        if reply.get_bool("done").ok() == Some(true) {
            return true;
        }
        let Ok(answer) = client.step(&payload(&reply)) else {
            return false;
        };
        let id = reply.get_i32("conversationId").unwrap_or_default();
        let next = doc! {"saslContinue": 1, "conversationId": id,
        "payload": binary(answer), "$db": "admin"};
        reply = command(stream, next).await.expect("a saslContinue reply");
    }
}

#[tokio::test]
async fn limits_unauthenticated_connections_are_closed_after_auth_timeout_secs() {
    const AUTH_TIMEOUT: Duration = Duration::from_secs(2);
    let server = Server::start(&["--auth", "--auth-timeout-secs", "2"]);
    // The localhost exception: the first user, then log in as it.
    let mut authenticated = server.connect().await;
    let created = command(
        &mut authenticated,
        doc! {"createUser": "admin", "pwd": "pw", "roles": ["root"], "$db": "admin"},
    )
    .await
    .expect("a createUser reply");
    assert_eq!(created.get_f64("ok").ok(), Some(1.0), "{created}");
    assert!(login(&mut authenticated, "admin", "pw").await);
    let mut silent = server.connect().await;
    let mut busy = server.connect().await;
    let started = Instant::now();
    // A busy unauthenticated client is cut off at the deadline too.
    let hello = || doc! {"hello": 1, "$db": "admin"};
    while command(&mut busy, hello()).await.is_some() {
        assert!(
            started.elapsed() < AUTH_TIMEOUT + NOTICE_WAIT,
            "an unauthenticated client stayed past the auth timeout"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(started.elapsed() >= AUTH_TIMEOUT - Duration::from_millis(500));
    assert!(is_closed(&mut silent).await);
    assert!(pings(&mut authenticated).await);
    let status = command(&mut authenticated, doc! {"serverStatus": 1, "$db": "admin"})
        .await
        .expect("the authenticated connection stays open");
    assert_eq!(status.get_f64("ok").ok(), Some(1.0), "{status}");
}
