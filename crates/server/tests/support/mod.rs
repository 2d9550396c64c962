//! Shared by the TLS and limits tests: the real `rotor` binary as a child
//! process, and an async client built from the `wire` codec that works over
//! any byte stream, plain TCP or TLS.

#![allow(dead_code)] // each test file uses its own part of this module

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bson::{Document, doc};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use wire::{HEADER_LEN, Message, OpMsg};

/// How long a test waits for any single reply before calling it missing.
pub const REPLY_WAIT: Duration = Duration::from_secs(30);

/// A server process, killed when dropped.
pub struct Server {
    child: Child,
    address: String,
}

impl Server {
    /// Starts `rotor serve --in-memory --port 0 EXTRA...` and waits for its
    /// ready line.
    pub fn start(extra: &[&str]) -> Server {
        match Server::try_start(extra) {
            Ok(server) => server,
            Err(log) => panic!("server did not start:\n{log}"),
        }
    }

    /// Like `start`, but a server that exits before it is ready gives its
    /// log (exit status included) instead.
    pub fn try_start(extra: &[&str]) -> Result<Server, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rotor"))
            .args(["serve", "--in-memory", "--port", "0", "--log-level", "info"])
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut log = String::new();
        let address = loop {
            let Some(Ok(line)) = lines.next() else {
                let status = child.wait().unwrap();
                return Err(format!("{log}exit: {status}"));
            };
            if let Some((_, address)) = line.split_once("rotor ready for connections on ") {
                break address.trim().to_owned();
            }
            log.push_str(&line);
            log.push('\n');
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Server { child, address })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub async fn connect(&self) -> TcpStream {
        TcpStream::connect(&self.address).await.unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one OP_MSG without waiting for anything.
pub async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    request_id: i32,
    message: &Message,
) -> bool {
    let frame = wire::encode(request_id, 0, message, None).unwrap();
    stream.write_all(&frame).await.is_ok() && stream.flush().await.is_ok()
}

/// Reads one frame; `None` when the connection ends or errs first.
pub async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Vec<u8>> {
    let mut header = [0u8; HEADER_LEN];
    tokio::time::timeout(REPLY_WAIT, stream.read_exact(&mut header))
        .await
        .expect("no reply and no close within the wait")
        .ok()?;
    let length = wire::Header::parse(&header).ok()?.message_length;
    let mut frame = header.to_vec();
    frame.resize(length, 0);
    stream.read_exact(&mut frame[HEADER_LEN..]).await.ok()?;
    Some(frame)
}

/// Runs one command; `None` when the connection fails instead of replying.
pub async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    body: Document,
) -> Option<Document> {
    if !send(stream, 7, &Message::Msg(OpMsg::new(body))).await {
        return None;
    }
    let reply = wire::decode(&read_frame(stream).await?).ok()?;
    match reply.message {
        Message::Msg(msg) => Some(msg.body),
        other => panic!("expected OP_MSG, got {other:?}"),
    }
}

/// Whether `ping` gets `ok: 1` on this stream.
pub async fn pings<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> bool {
    command(stream, doc! {"ping": 1, "$db": "admin"})
        .await
        .is_some_and(|reply| reply.get_f64("ok").ok() == Some(1.0))
}

/// Whether the server closed this stream (end of stream or an error)
/// instead of sending anything, within the wait.
pub async fn is_closed<S: AsyncRead + Unpin>(stream: &mut S) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(REPLY_WAIT, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// The server's count of open connections, asked on `stream`.
pub async fn open_connections<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> i64 {
    let status = command(stream, doc! {"serverStatus": 1, "$db": "admin"})
        .await
        .expect("serverStatus reply");
    status
        .get_document("connections")
        .and_then(|connections| connections.get_i64("current"))
        .unwrap_or_else(|_| panic!("connections.current in {status}"))
}
