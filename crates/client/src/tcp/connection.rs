//! One connection to one server: TCP (optionally TLS), the `hello`
//! handshake, authentication, then OP_MSG commands one at a time.
//!
//! Invariants: a connection carries at most one request at a time, and a
//! reply is accepted only if it answers that request (`responseTo`). The
//! connection is marked broken before a request is written and unmarked
//! only when its whole reply has been read, so a connection that saw an
//! I/O error, a malformed frame, or whose caller gave up mid-request
//! (a dropped future) is never reused: its stream position is unknown.
//! Frames are bounded by the server's `maxMessageSizeBytes` on the way out
//! and by the codec's limit on the way in, before any allocation.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use bson::Document;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use wire::{HEADER_LEN, Message, OpMsg};

use crate::error::{Error, ErrorKind, Result};
use crate::reply;
use crate::tcp::auth;
use crate::tcp::handshake::{self, Hello};
use crate::uri::{Credential, ServerAddress};

/// What every connection of a client is opened with.
pub(crate) struct Settings {
    /// Bounds TCP connect, TLS, `hello` and authentication together.
    pub(crate) connect_timeout: Option<Duration>,
    /// Bounds each command's round trip (`socketTimeoutMS`).
    pub(crate) socket_timeout: Option<Duration>,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    /// The handshake command (see `handshake::command`).
    pub(crate) hello: Document,
    /// Who every pooled connection authenticates as.
    pub(crate) credential: Option<Credential>,
    /// Offered in the handshake, in order of preference (`compressors`).
    pub(crate) compressors: Vec<wire::Compressor>,
}

/// Commands never sent compressed (the compression spec's list): the
/// handshake, and anything carrying credentials.
const UNCOMPRESSED_COMMANDS: [&str; 11] = [
    "hello",
    "ismaster",
    "saslstart",
    "saslcontinue",
    "getnonce",
    "authenticate",
    "createuser",
    "updateuser",
    "copydbsaslstart",
    "copydbgetnonce",
    "copydb",
];

/// Idle time before the first keepalive probe: at most the 120 s the
/// drivers' connection monitoring and pooling spec asks for.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(120);
/// Time between unanswered probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// A server that vanished without a FIN (power loss, a dropped route) is
/// noticed by the kernel, not only by the next command's timeout.
fn enable_keepalive(tcp: &TcpStream) -> io::Result<()> {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    socket2::SockRef::from(tcp).set_tcp_keepalive(&keepalive)
}

/// Request ids are unique per process, as drivers make them, so a reply
/// can never be mistaken for the answer to another request.
static NEXT_REQUEST_ID: AtomicI32 = AtomicI32::new(1);

fn request_id() -> i32 {
    NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed) & i32::MAX
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(stream) => stream.write_all(bytes).await,
            Stream::Tls(stream) => {
                stream.write_all(bytes).await?;
                // rustls buffers records until flushed.
                stream.flush().await
            }
        }
    }

    async fn read_exact(&mut self, buffer: &mut [u8]) -> io::Result<()> {
        match self {
            Stream::Plain(stream) => stream.read_exact(buffer).await.map(drop),
            Stream::Tls(stream) => stream.read_exact(buffer).await.map(drop),
        }
    }
}

/// An open, handshaken connection.
pub(crate) struct Connection {
    stream: Stream,
    address: ServerAddress,
    /// What the server said in the handshake.
    pub(crate) hello: Hello,
    /// The pool generation it was opened in; older ones are discarded.
    pub(crate) generation: u64,
    /// How long a command may wait for its reply (`socketTimeoutMS`).
    socket_timeout: Option<Duration>,
    /// A request is in flight or failed midway (see the module doc).
    broken: bool,
    /// Negotiated in the handshake: the first offered compressor the
    /// server agreed to.
    compressor: Option<wire::Compressor>,
    /// When it was last returned to its pool.
    pub(crate) last_used: Instant,
}

impl Connection {
    /// Opens a connection for the pool: the handshake, then
    /// authentication when the client has a credential, all within the
    /// connect timeout.
    pub(crate) async fn open(
        address: &ServerAddress,
        settings: &Settings,
        generation: u64,
    ) -> Result<Connection> {
        let opening = async {
            let Some(credential) = &settings.credential else {
                let (connection, _) =
                    Connection::handshake(address, settings, &settings.hello, generation).await?;
                return Ok(connection);
            };
            let speculative = auth::Speculative::begin(credential)?;
            let mut hello = settings.hello.clone();
            hello.insert("speculativeAuthenticate", speculative.command().clone());
            let (mut connection, reply) =
                Connection::handshake(address, settings, &hello, generation).await?;
            let started = speculative.answered(&reply);
            auth::authenticate(&mut connection, credential, started).await?;
            Ok(connection)
        };
        within_connect_timeout(address, settings, opening).await
    }

    /// Opens a connection only to read its `hello` (discovery), within the
    /// connect timeout; it is not authenticated.
    pub(crate) async fn probe(address: &ServerAddress, settings: &Settings) -> Result<Hello> {
        let opening = Connection::handshake(address, settings, &settings.hello, 0);
        let (connection, _) = within_connect_timeout(address, settings, opening).await?;
        Ok(connection.hello)
    }

    /// Connects, and sends `hello` (falling back to `isMaster`); returns
    /// the connection and the successful reply.
    async fn handshake(
        address: &ServerAddress,
        settings: &Settings,
        hello: &Document,
        generation: u64,
    ) -> Result<(Connection, Document)> {
        let tcp = TcpStream::connect((address.host.as_str(), address.port))
            .await
            .map_err(|error| network(format!("cannot connect to {address}: {error}")))?;
        // Commands are single writes; coalescing them only adds latency.
        let _ = tcp.set_nodelay(true);
        let _ = enable_keepalive(&tcp);
        let stream = match &settings.tls {
            None => Stream::Plain(tcp),
            Some(config) => {
                let name = crate::tcp::tls::server_name(&address.host)?;
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|error| network(format!("TLS handshake with {address}: {error}")))?;
                Stream::Tls(Box::new(tls))
            }
        };
        let mut connection = Connection {
            stream,
            address: address.clone(),
            hello: placeholder_hello(),
            generation,
            socket_timeout: settings.socket_timeout,
            broken: false,
            compressor: None,
            last_used: Instant::now(),
        };
        let mut reply = connection.command("admin", hello.clone()).await?;
        if handshake::is_command_not_found(&reply) {
            // MongoDB before 4.4.2 knows the handshake only as `isMaster`.
            reply = connection
                .command("admin", handshake::legacy(hello))
                .await?;
        }
        let reply = reply::check(reply)?;
        connection.hello = Hello::parse(address, &reply)?;
        connection.compressor = connection
            .hello
            .compression
            .first()
            .copied()
            .filter(|agreed| settings.compressors.contains(agreed));
        Ok((connection, reply))
    }

    /// Whether the connection may go back to its pool.
    pub(crate) fn is_reusable(&self) -> bool {
        !self.broken
    }

    /// Sends `command` to database `db` and returns the reply as the
    /// server sent it (`ok: 0` included); `Err` only when no valid reply
    /// arrived.
    pub(crate) async fn command(&mut self, db: &str, mut command: Document) -> Result<Document> {
        let compressor = self.compressor.filter(|_| {
            command.keys().next().is_some_and(|name| {
                !UNCOMPRESSED_COMMANDS
                    .iter()
                    .any(|uncompressed| uncompressed.eq_ignore_ascii_case(name))
            })
        });
        command.insert("$db", db);
        let request_id = request_id();
        let frame = wire::encode(
            request_id,
            0,
            &Message::Msg(OpMsg::new(command)),
            compressor,
        )
        .map_err(|error| invalid(format!("cannot encode the command: {error}")))?;
        if frame.len() > self.hello.max_message_size {
            return Err(invalid(format!(
                "the command is {} bytes, over the server's maxMessageSizeBytes of {}",
                frame.len(),
                self.hello.max_message_size
            )));
        }
        self.broken = true;
        let reply = match self.socket_timeout {
            None => self.round_trip(&frame, request_id).await?,
            // On timeout the connection stays broken: the reply may still
            // arrive, so the stream is out of step and is never reused.
            Some(limit) => tokio::time::timeout(limit, self.round_trip(&frame, request_id))
                .await
                .map_err(|_| {
                    network(format!(
                        "no reply from {} within socketTimeoutMS ({} ms)",
                        self.address,
                        limit.as_millis()
                    ))
                })??,
        };
        self.broken = false;
        Ok(reply)
    }

    /// Writes one request frame and reads the reply to it.
    async fn round_trip(&mut self, frame: &[u8], request_id: i32) -> Result<Document> {
        self.stream
            .write_all(frame)
            .await
            .map_err(|error| network(format!("sending to {}: {error}", self.address)))?;
        self.read_reply(request_id).await
    }

    async fn read_reply(&mut self, request_id: i32) -> Result<Document> {
        let mut header = [0u8; HEADER_LEN];
        self.stream
            .read_exact(&mut header)
            .await
            .map_err(|error| network(format!("reading from {}: {error}", self.address)))?;
        let parsed = wire::Header::parse(&header).map_err(|error| self.protocol(&error))?;
        let mut frame = vec![0u8; parsed.message_length];
        frame[..HEADER_LEN].copy_from_slice(&header);
        self.stream
            .read_exact(&mut frame[HEADER_LEN..])
            .await
            .map_err(|error| network(format!("reading from {}: {error}", self.address)))?;
        let decoded = wire::decode(&frame).map_err(|error| self.protocol(&error))?;
        if decoded.header.response_to != request_id {
            return Err(self.protocol(&format!(
                "reply to request {} while waiting for {request_id}",
                decoded.header.response_to
            )));
        }
        match decoded.message {
            Message::Msg(msg) if !msg.flags.more_to_come() => Ok(msg.body),
            Message::Msg(_) => {
                Err(self.protocol(&"an exhaust reply (moreToCome) was not asked for"))
            }
            Message::Query(_) | Message::Reply(_) => {
                Err(self.protocol(&"a legacy opcode instead of OP_MSG"))
            }
        }
    }

    /// A reply this client cannot read: the stream is out of step, which
    /// drivers treat as a network error.
    fn protocol(&self, error: &dyn std::fmt::Display) -> Error {
        network(format!("malformed reply from {}: {error}", self.address))
    }
}

async fn within_connect_timeout<T>(
    address: &ServerAddress,
    settings: &Settings,
    opening: impl Future<Output = Result<T>>,
) -> Result<T> {
    match settings.connect_timeout {
        None => opening.await,
        Some(limit) => tokio::time::timeout(limit, opening).await.map_err(|_| {
            network(format!(
                "connecting to {address} took longer than {} ms",
                limit.as_millis()
            ))
        })?,
    }
}

/// Stands in until the handshake's reply is read; it allows any frame the
/// codec allows.
fn placeholder_hello() -> Hello {
    Hello {
        writable_primary: false,
        set_name: None,
        hosts: Vec::new(),
        primary: None,
        election: (None, 0),
        mongos: false,
        max_message_size: wire::limits::MESSAGE_SIZE_BYTES_MAX,
        sasl_supported_mechs: None,
        compression: Vec::new(),
    }
}

pub(crate) fn network(message: String) -> Error {
    Error::new(ErrorKind::Network { message })
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument { message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dialled_sockets_probe_an_idle_peer_within_two_minutes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        enable_keepalive(&tcp).unwrap();
        let socket = socket2::SockRef::from(&tcp);
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), KEEPALIVE_IDLE);
        assert_eq!(socket.tcp_keepalive_interval().unwrap(), KEEPALIVE_INTERVAL);
    }
}
