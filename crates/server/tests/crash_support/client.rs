//! One blocking connection speaking OP_MSG through the `wire` codec.
//!
//! Every failure to exchange a message (refused connection, reset, EOF,
//! timeout, undecodable reply) is an `io::Error`: to a crash test they all
//! mean "the server is gone or broken", never "the command failed". Command
//! failures come back as the reply document, for the caller to judge.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bson::{Bson, Document};
use wire::{HEADER_LEN, Header, Message, OpMsg, decode, encode};

/// Longer than any commit takes; a reply slower than this is a hang.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Client {
    stream: TcpStream,
    next_request_id: i32,
}

fn invalid(error: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error.to_string())
}

impl Client {
    pub fn connect(address: &str) -> io::Result<Client> {
        let stream = TcpStream::connect(address)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            next_request_id: 1,
        })
    }

    /// Runs `body` against database `db` and returns the reply body.
    pub fn command(&mut self, db: &str, mut body: Document) -> io::Result<Document> {
        body.insert("$db", db);
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        let frame =
            encode(request_id, 0, &Message::Msg(OpMsg::new(body)), None).map_err(invalid)?;
        self.stream.write_all(&frame)?;
        let reply = decode(&self.read_frame()?).map_err(invalid)?;
        if reply.header.response_to != request_id {
            return Err(invalid(format!(
                "reply to request {} while waiting for {request_id}",
                reply.header.response_to
            )));
        }
        match reply.message {
            Message::Msg(msg) => Ok(msg.body),
            other => Err(invalid(format!("expected OP_MSG, got {other:?}"))),
        }
    }

    fn read_frame(&mut self) -> io::Result<Vec<u8>> {
        let mut header = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut header)?;
        let length = Header::parse(&header).map_err(invalid)?.message_length;
        let mut frame = header.to_vec();
        frame.resize(length, 0);
        self.stream.read_exact(&mut frame[HEADER_LEN..])?;
        Ok(frame)
    }
}

/// Whether a reply says `ok: 1` (mongod sends a double; accept any number).
pub fn ok(reply: &Document) -> bool {
    match reply.get("ok") {
        Some(Bson::Double(value)) => *value == 1.0,
        Some(Bson::Int32(value)) => *value == 1,
        Some(Bson::Int64(value)) => *value == 1,
        _ => false,
    }
}
