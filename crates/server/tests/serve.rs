//! `rotor serve` end to end over real sockets: the handshake, OP_MSG and
//! legacy OP_QUERY, compression, `moreToCome`, refusal of bad frames,
//! many concurrent connections, the idle timeout and clean shutdown. The
//! client side is built from the `wire` codec and plain blocking sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bson::{Bson, Document, doc};
use wire::{Compressor, HEADER_LEN, Message, MsgFlags, OpMsg, OpQuery, decode, encode};

/// A server process, killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rotor"))
            .args(["serve", "--in-memory", "--port", "0", "--log-level", "info"])
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("server exited before it was ready")
                .unwrap();
            if let Some((_, address)) = line.split_once("rotor ready for connections on ") {
                break address.trim().to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, address }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header).ok()?;
    let length = wire::Header::parse(&header).unwrap().message_length;
    let mut frame = header.to_vec();
    frame.resize(length, 0);
    stream.read_exact(&mut frame[HEADER_LEN..]).unwrap();
    Some(frame)
}

fn send(
    stream: &mut TcpStream,
    request_id: i32,
    message: &Message,
    compressor: Option<Compressor>,
) {
    stream
        .write_all(&encode(request_id, 0, message, compressor).unwrap())
        .unwrap();
}

fn op_msg(body: Document) -> Message {
    Message::Msg(OpMsg::new(body))
}

/// Sends one OP_MSG command and returns the reply body and its compressor.
fn command_with(
    stream: &mut TcpStream,
    body: Document,
    compressor: Option<Compressor>,
) -> (Document, Option<Compressor>) {
    send(stream, 99, &op_msg(body), compressor);
    let reply = decode(&read_frame(stream).expect("a reply")).unwrap();
    assert_eq!(reply.header.response_to, 99);
    let Message::Msg(msg) = reply.message else {
        panic!("expected OP_MSG, got {:?}", reply.message)
    };
    (msg.body, reply.compressor)
}

fn command(stream: &mut TcpStream, body: Document) -> Document {
    command_with(stream, body, None).0
}

fn ok(reply: &Document) -> bool {
    reply.get_f64("ok").ok() == Some(1.0)
}

#[test]
fn hello_presents_a_one_member_replica_set_primary() {
    let server = Server::start(&["--replset", "rs9", "--advertise", "db.example:4000"]);
    let mut stream = server.connect();
    let reply = command(&mut stream, doc! {"hello": 1, "$db": "admin"});
    assert!(ok(&reply), "{reply}");
    for (field, expected) in [
        ("isWritablePrimary", Bson::Boolean(true)),
        ("secondary", Bson::Boolean(false)),
        ("setName", Bson::from("rs9")),
        ("setVersion", Bson::Int32(1)),
        ("primary", Bson::from("db.example:4000")),
        ("me", Bson::from("db.example:4000")),
        ("hosts", Bson::from(vec!["db.example:4000"])),
        ("maxBsonObjectSize", Bson::Int32(16_777_216)),
        ("maxMessageSizeBytes", Bson::Int32(48_000_000)),
        ("maxWriteBatchSize", Bson::Int32(100_000)),
        ("logicalSessionTimeoutMinutes", Bson::Int32(30)),
        ("minWireVersion", Bson::Int32(0)),
        ("maxWireVersion", Bson::Int32(25)),
        ("readOnly", Bson::Boolean(false)),
    ] {
        assert_eq!(reply.get(field), Some(&expected), "{field} in {reply}");
    }
    assert!(reply.get_object_id("electionId").is_ok(), "{reply}");
    assert!(reply.get_datetime("localTime").is_ok(), "{reply}");
    assert!(reply.get_i32("connectionId").is_ok(), "{reply}");
    assert!(
        !reply.contains_key("helloOk"),
        "helloOk only when asked: {reply}"
    );
    assert!(
        !reply.contains_key("topologyVersion"),
        "no awaitable hello: {reply}"
    );
    assert!(!reply.contains_key("ismaster"), "{reply}");
}

#[test]
fn legacy_op_query_is_master_gets_an_op_reply() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let query = OpQuery {
        flags: 0,
        full_collection_name: "admin.$cmd".to_owned(),
        number_to_skip: 0,
        number_to_return: -1,
        query: doc! {"isMaster": 1, "helloOk": true, "client": {"application": {"name": "probe"}}},
        return_fields_selector: None,
    };
    send(&mut stream, 5, &Message::Query(query.clone()), None);
    let reply = decode(&read_frame(&mut stream).unwrap()).unwrap();
    assert_eq!(reply.header.response_to, 5);
    let Message::Reply(op_reply) = reply.message else {
        panic!("expected OP_REPLY")
    };
    let body = &op_reply.documents[0];
    assert_eq!(body.get_bool("ismaster").ok(), Some(true), "{body}");
    assert_eq!(body.get_bool("helloOk").ok(), Some(true), "{body}");
    assert!(!body.contains_key("isWritablePrimary"), "{body}");

    let find = OpQuery {
        query: doc! {"find": "c"},
        ..query
    };
    send(&mut stream, 6, &Message::Query(find), None);
    let Message::Reply(refused) = decode(&read_frame(&mut stream).unwrap()).unwrap().message else {
        panic!()
    };
    assert_eq!(
        refused.documents[0].get_i32("code").ok(),
        Some(352),
        "{:?}",
        refused.documents
    );
}

#[test]
fn ping_and_diagnostic_commands_answer() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    for command_doc in [
        doc! {"ping": 1, "$db": "admin"},
        doc! {"buildInfo": 1, "$db": "admin"},
        doc! {"getCmdLineOpts": 1, "$db": "admin"},
        doc! {"serverStatus": 1, "$db": "admin"},
        doc! {"connectionStatus": 1, "$db": "admin"},
        doc! {"hostInfo": 1, "$db": "admin"},
        doc! {"whatsmyuri": 1, "$db": "admin"},
        doc! {"getLog": "startupWarnings", "$db": "admin"},
        doc! {"replSetGetStatus": 1, "$db": "admin"},
    ] {
        let reply = command(&mut stream, command_doc.clone());
        assert!(ok(&reply), "{command_doc} -> {reply}");
    }
    let status = command(&mut stream, doc! {"serverStatus": 1, "$db": "admin"});
    let connections = status.get_document("connections").unwrap();
    assert!(connections.get_i64("current").unwrap() >= 1, "{status}");
    let build = command(&mut stream, doc! {"buildInfo": 1, "$db": "admin"});
    assert_eq!(build.get_str("version").ok(), Some("8.0.0"));
    let members = command(&mut stream, doc! {"replSetGetStatus": 1, "$db": "admin"});
    let member = members.get_array("members").unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    assert_eq!(member.get_str("stateStr").ok(), Some("PRIMARY"));
    let log = command(&mut stream, doc! {"getLog": 1, "$db": "admin"});
    assert_eq!(log.get_i32("code").ok(), Some(14), "{log}");
}

#[test]
fn op_msg_without_db_is_refused_but_the_connection_stays_open() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let reply = command(&mut stream, doc! {"ping": 1});
    assert_eq!(reply.get_i32("code").ok(), Some(40571), "{reply}");
    assert!(ok(&command(&mut stream, doc! {"ping": 1, "$db": "admin"})));
}

#[test]
fn compression_is_negotiated_and_compressed_requests_get_compressed_replies() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let hello = command(
        &mut stream,
        doc! {"hello": 1, "compression": ["lz4", "zlib", "snappy"], "$db": "admin"},
    );
    assert_eq!(
        hello.get_array("compression").unwrap(),
        &vec![Bson::from("zlib"), Bson::from("snappy")]
    );
    for compressor in [Compressor::Zlib, Compressor::Snappy, Compressor::Zstd] {
        let (reply, replied_with) = command_with(
            &mut stream,
            doc! {"ping": 1, "$db": "admin"},
            Some(compressor),
        );
        assert!(ok(&reply), "{reply}");
        assert_eq!(replied_with, Some(compressor));
    }
}

#[test]
fn more_to_come_requests_get_no_reply() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let quiet = OpMsg {
        flags: MsgFlags(MsgFlags::MORE_TO_COME),
        body: doc! {"ping": 1, "$db": "admin"},
        body_tail: Vec::new(),
        sequences: Vec::new(),
    };
    send(&mut stream, 1, &Message::Msg(quiet), None);
    send(
        &mut stream,
        2,
        &op_msg(doc! {"ping": 1, "$db": "admin"}),
        None,
    );
    let reply = decode(&read_frame(&mut stream).unwrap()).unwrap();
    assert_eq!(
        reply.header.response_to, 2,
        "the first request must not be answered"
    );
}

#[test]
fn bad_frames_get_an_error_then_the_connection_closes() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let mut frame = encode(77, 0, &op_msg(doc! {"ping": 1, "$db": "admin"}), None).unwrap();
    frame[12..16].copy_from_slice(&2010i32.to_le_bytes());
    stream.write_all(&frame).unwrap();
    let reply = decode(&read_frame(&mut stream).unwrap()).unwrap();
    assert_eq!(reply.header.response_to, 77);
    let Message::Msg(msg) = reply.message else {
        panic!()
    };
    assert_eq!(msg.body.get_i32("code").ok(), Some(17), "{}", msg.body);
    assert!(
        read_frame(&mut stream).is_none(),
        "the connection must be closed"
    );
    // Other connections are unaffected.
    assert!(ok(&command(
        &mut server.connect(),
        doc! {"ping": 1, "$db": "admin"}
    )));
}

#[test]
fn oversized_message_length_closes_the_connection() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let mut header = Vec::new();
    for field in [48_000_001i32, 3, 0, 2013] {
        header.extend_from_slice(&field.to_le_bytes());
    }
    stream.write_all(&header).unwrap();
    let reply = decode(&read_frame(&mut stream).unwrap()).unwrap();
    let Message::Msg(msg) = reply.message else {
        panic!()
    };
    assert_eq!(msg.body.get_i32("code").ok(), Some(17), "{}", msg.body);
    assert!(read_frame(&mut stream).is_none());
}

#[test]
fn a_thousand_concurrent_connections_are_served() {
    const CONNECTIONS: usize = 1_000;
    let server = Server::start(&[]);
    let mut streams: Vec<TcpStream> = (0..CONNECTIONS).map(|_| server.connect()).collect();
    for (index, stream) in streams.iter_mut().enumerate() {
        send(
            stream,
            index as i32,
            &op_msg(doc! {"ping": 1, "$db": "admin"}),
            None,
        );
    }
    for (index, stream) in streams.iter_mut().enumerate() {
        let reply = decode(&read_frame(stream).unwrap()).unwrap();
        assert_eq!(reply.header.response_to, index as i32);
    }
    let status = command(&mut streams[0], doc! {"serverStatus": 1, "$db": "admin"});
    let current = status
        .get_document("connections")
        .unwrap()
        .get_i64("current")
        .unwrap();
    assert!(current >= CONNECTIONS as i64, "{status}");
}

#[test]
fn idle_connections_are_closed_after_the_timeout() {
    let server = Server::start(&["--idle-timeout-secs", "1"]);
    let mut stream = server.connect();
    assert!(ok(&command(&mut stream, doc! {"ping": 1, "$db": "admin"})));
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        read_frame(&mut stream).is_none(),
        "the idle connection must be closed"
    );
}

#[test]
fn sigterm_shuts_the_server_down_cleanly() {
    let mut server = Server::start(&[]);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}
