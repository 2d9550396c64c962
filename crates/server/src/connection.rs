//! One client connection: read a frame, decode it, run the command on the
//! blocking pool, write the reply, repeat. Generic over the byte stream, so
//! plaintext TCP and TLS share every line of protocol handling.
//!
//! Invariants: commands on one connection run one at a time, in order, as
//! with mongod; the next frame is not read until the previous command has
//! finished and its reply is written, so a client pipelining requests
//! (`moreToCome` or not) queues nothing here: its bytes wait in the
//! kernel's socket buffer, bounded by TCP flow control. A frame is read
//! only after its header has been checked against the message size limit,
//! and its buffer grows with the bytes that actually arrive, so a header
//! that merely claims a large message costs no memory. A malformed frame
//! gets an error reply when its request id is known, then this connection
//! (only) is closed. The first frame must arrive by the handshake
//! deadline, later ones within the idle timeout; a reply whose peer accepts
//! no part of it within the write timeout closes the connection. With
//! `--auth`, no read of a connection that has not authenticated may end
//! after the auth deadline (connect time plus `--auth-timeout-secs`), so a
//! client that never authenticates is closed then, busy or silent.
//! Replies to compressed requests are compressed the same way.

use std::net::SocketAddr;
use std::sync::Arc;

use bson::{Document, doc};
use engine::{Code, ConnectionInfo, ReplyParts, ReplyTimes, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use wire::{Compressor, Decoded, HEADER_LEN, Message, OpMsg, OpReply};

use crate::handshake::{self, Kind};
use crate::server::Shared;

/// mongod's code for an OP_MSG without `$db`.
const MISSING_DB_CODE: i32 = 40571;
/// mongod's code for a legacy OP_QUERY command other than the handshake.
const UNSUPPORTED_OP_QUERY_CODE: i32 = 352;
/// mongod's code for an OP_QUERY on a collection (removed in 5.1).
const OP_QUERY_FIND_REMOVED_CODE: i32 = 5739101;
/// Memory reserved for a frame before its bytes arrive: enough for the
/// usual command in one allocation, small enough that headers claiming
/// 48 MB cost nothing until the bytes are really sent.
const FRAME_PREALLOC_BYTES_MAX: usize = 64 * 1024;
/// Replies are written in pieces of this size, each within the write
/// timeout, so a slow but live reader of a large reply is not cut off
/// while one that stopped reading is.
const WRITE_CHUNK_BYTES: usize = 64 * 1024;

struct Connection<S> {
    stream: S,
    shared: Arc<Shared>,
    info: ConnectionInfo,
    next_request_id: i32,
    /// When the first frame must have arrived; `None` once it has.
    first_frame_by: Option<Instant>,
    /// With `--auth`, when the connection must have authenticated.
    authenticated_by: Option<Instant>,
}

/// What to do after one frame.
enum Next {
    Continue,
    Close,
}

/// Serves one connection until it closes; its first frame must arrive by
/// `first_frame_by`.
pub async fn run<S>(stream: S, peer: SocketAddr, shared: Arc<Shared>, first_frame_by: Instant)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let id = shared.connections.open();
    tracing::debug!(id, %peer, "connection accepted");
    let mut connection = Connection {
        stream,
        shared: Arc::clone(&shared),
        info: ConnectionInfo {
            id,
            app_name: None,
            peer: Some(peer.to_string()),
            ..ConnectionInfo::default()
        },
        next_request_id: 1,
        first_frame_by: Some(first_frame_by),
        authenticated_by: shared.auth_timeout.map(|timeout| Instant::now() + timeout),
    };
    while let Next::Continue = connection.serve_one().await {}
    shared.connections.close();
    tracing::debug!(id, %peer, "connection closed");
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    async fn serve_one(&mut self) -> Next {
        let frame = match self.read_frame().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return Next::Close,
            Err(bad) => return self.refuse(bad).await,
        };
        match wire::decode(&frame) {
            Ok(decoded) => self.handle(decoded).await,
            Err(error) => {
                self.refuse(BadFrame {
                    request_id: raw_request_id(&frame),
                    error,
                })
                .await
            }
        }
    }

    /// Reads one whole frame; `None` on a clean end of stream or timeout.
    async fn read_frame(&mut self) -> Result<Option<Vec<u8>>, BadFrame> {
        let first_frame_by = self.first_frame_by.take();
        let header_by = self.read_by(first_frame_by);
        let mut header = [0u8; HEADER_LEN];
        match tokio::time::timeout_at(header_by, self.stream.read_exact(&mut header)).await {
            Err(_) => {
                tracing::debug!(id = self.info.id, "closing silent connection");
                return Ok(None);
            }
            Ok(Err(_)) => return Ok(None),
            Ok(Ok(_)) => {}
        }
        let parsed = wire::Header::parse(&header).map_err(|error| BadFrame {
            request_id: raw_request_id(&header),
            error,
        })?;
        let body_len = parsed.message_length.saturating_sub(HEADER_LEN);
        let mut frame = Vec::with_capacity(HEADER_LEN + body_len.min(FRAME_PREALLOC_BYTES_MAX));
        frame.extend_from_slice(&header);
        let body_by = self.read_by(first_frame_by);
        let mut body = (&mut self.stream).take(u64::try_from(body_len).unwrap_or(u64::MAX));
        match tokio::time::timeout_at(body_by, body.read_to_end(&mut frame)).await {
            Ok(Ok(read)) if read == body_len => Ok(Some(frame)),
            Ok(_) | Err(_) => Ok(None),
        }
    }

    /// When a read starting now must be done: within the idle timeout, for
    /// the first frame also by the handshake deadline, and until the
    /// connection authenticates also by the auth deadline.
    fn read_by(&self, first_frame_by: Option<Instant>) -> Instant {
        let idle_by = Instant::now() + self.shared.idle_timeout;
        let unauthenticated_by = self
            .authenticated_by
            .filter(|_| self.info.auth.user().is_none());
        [first_frame_by, unauthenticated_by]
            .into_iter()
            .flatten()
            .fold(idle_by, Instant::min)
    }

    async fn handle(&mut self, decoded: Decoded) -> Next {
        let request_id = decoded.header.request_id;
        let compressor = decoded.compressor;
        match decoded.message {
            Message::Msg(msg) => {
                let more_to_come = msg.flags.more_to_come();
                let reply = match msg.into_command() {
                    Ok(command) => self.run_op_msg(command).await,
                    Err(error) => Some(Reply::error(Code::PROTOCOL_ERROR.0, &error.to_string())),
                };
                match reply {
                    None => Next::Close,
                    Some(_) if more_to_come => Next::Continue,
                    Some(reply) => {
                        self.send(request_id, Message::Msg(reply.into_op_msg()), compressor)
                            .await
                    }
                }
            }
            Message::Query(query) => {
                let reply = self.run_op_query(&query).await;
                match reply {
                    None => Next::Close,
                    Some(reply) => {
                        let message = Message::Reply(OpReply::command_reply(reply.into_document()));
                        self.send(request_id, message, compressor).await
                    }
                }
            }
            Message::Reply(_) => {
                let error = wire::Error::UnsupportedOpCode(wire::OpCode::REPLY);
                self.refuse(BadFrame {
                    request_id: Some(request_id),
                    error,
                })
                .await
            }
        }
    }

    /// `None` when the engine asked for the connection to be closed.
    async fn run_op_msg(&mut self, command: Document) -> Option<Reply> {
        let Ok(db) = command.get_str("$db").map(str::to_owned) else {
            return Some(Reply::error(
                MISSING_DB_CODE,
                "OP_MSG requests require a $db argument",
            ));
        };
        self.run_command(db, command).await
    }

    async fn run_op_query(&mut self, query: &wire::OpQuery) -> Option<Reply> {
        let Some(db) = query.command_db().map(str::to_owned) else {
            let message =
                "OP_QUERY is no longer supported. The client driver may require an upgrade.";
            return Some(Reply::error(OP_QUERY_FIND_REMOVED_CODE, message));
        };
        let command = query.command().clone();
        if handshake::kind(&command) != Kind::Hello {
            let name = command.keys().next().cloned().unwrap_or_default();
            let message = format!(
                "Unsupported OP_QUERY command: {name}. The client driver may require an upgrade."
            );
            return Some(Reply::error(UNSUPPORTED_OP_QUERY_CODE, &message));
        }
        self.run_command(db, command).await
    }

    async fn run_command(&mut self, db: String, command: Document) -> Option<Reply> {
        let kind = handshake::kind(&command);
        let hello =
            (kind == Kind::Hello).then(|| handshake::observe_hello(&command, &mut self.info));
        let engine = self.shared.engine.clone();
        let info = self.info.clone();
        let joined = tokio::task::spawn_blocking(move || {
            engine.run_command_parts(Request {
                db: &db,
                body: command,
                connection: &info,
            })
        })
        .await;
        let ReplyParts {
            body: mut reply,
            times,
            close_connection,
        } = match joined {
            Ok(response) => response,
            Err(error) => {
                tracing::error!(id = self.info.id, "command task failed: {error}");
                return None;
            }
        };
        if close_connection {
            return None;
        }
        match (kind, hello) {
            (Kind::Hello, Some(hello)) => handshake::finish_hello(&hello, &mut reply),
            (Kind::ServerStatus, _) => {
                handshake::finish_server_status(&self.shared.connections, &mut reply)
            }
            _ => {}
        }
        Some(Reply {
            body: reply,
            times: Some(times),
        })
    }

    async fn send(
        &mut self,
        response_to: i32,
        message: Message,
        compressor: Option<Compressor>,
    ) -> Next {
        let request_id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        let frame = match wire::encode(request_id, response_to, &message, compressor) {
            Ok(frame) => frame,
            Err(error) => {
                // Most likely a reply over the message limit: say so instead.
                tracing::warn!(id = self.info.id, "cannot encode reply: {error}");
                let reply = error_reply(Code::BSON_OBJECT_TOO_LARGE.0, &error.to_string());
                match wire::encode(request_id, response_to, &reply_like(&message, reply), None) {
                    Ok(frame) => frame,
                    Err(_) => return Next::Close,
                }
            }
        };
        self.write_frame(&frame).await
    }

    /// Writes a frame, closing the connection if the peer accepts no part
    /// of it within the write timeout (it stopped reading, or vanished
    /// without a FIN).
    async fn write_frame(&mut self, frame: &[u8]) -> Next {
        let limit = self.shared.write_timeout;
        for chunk in frame.chunks(WRITE_CHUNK_BYTES) {
            let written = tokio::time::timeout(limit, self.stream.write_all(chunk)).await;
            if let Next::Close = self.after_write(written) {
                return Next::Close;
            }
        }
        // TLS holds written bytes until flushed; plain TCP has nothing to flush.
        let flushed = tokio::time::timeout(limit, self.stream.flush()).await;
        self.after_write(flushed)
    }

    fn after_write(
        &self,
        outcome: Result<std::io::Result<()>, tokio::time::error::Elapsed>,
    ) -> Next {
        match outcome {
            Ok(Ok(())) => Next::Continue,
            Ok(Err(_)) => Next::Close,
            Err(_) => {
                tracing::info!(id = self.info.id, peer = ?self.info.peer, "closing connection: the peer read none of its reply within the write timeout");
                Next::Close
            }
        }
    }

    /// Answers a malformed frame with an error when its request id is
    /// known, then closes: the stream may be out of step.
    async fn refuse(&mut self, bad: BadFrame) -> Next {
        let BadFrame { request_id, error } = bad;
        tracing::warn!(id = self.info.id, peer = ?self.info.peer, "closing connection after bad message: {error}");
        if let Some(request_id) = request_id {
            let code = match error {
                wire::Error::BsonTooLarge { .. } => Code::BSON_OBJECT_TOO_LARGE,
                wire::Error::MalformedBson { .. } | wire::Error::BsonTooDeep { .. } => {
                    Code::INVALID_BSON
                }
                _ => Code::PROTOCOL_ERROR,
            };
            let reply = Message::Msg(OpMsg::new(error_reply(code.0, &error.to_string())));
            let _ = self.send(request_id, reply, None).await;
        }
        Next::Close
    }
}

/// A frame that could not be decoded, with its request id when known.
struct BadFrame {
    request_id: Option<i32>,
    error: wire::Error,
}

/// The request id of a frame whose header may not parse.
fn raw_request_id(frame: &[u8]) -> Option<i32> {
    let bytes: [u8; 4] = frame.get(4..8)?.try_into().ok()?;
    Some(i32::from_le_bytes(bytes))
}

/// A reply to send: the engine's, with its cluster and operation times
/// apart so that OP_MSG writes them straight into the frame's bytes, or
/// the transport's own error, which has none.
struct Reply {
    body: Document,
    times: Option<ReplyTimes>,
}

impl Reply {
    fn error(code: i32, message: &str) -> Reply {
        Reply {
            body: error_reply(code, message),
            times: None,
        }
    }

    /// The whole reply document (OP_REPLY, which carries one document).
    fn into_document(self) -> Document {
        match self.times {
            Some(times) => {
                ReplyParts {
                    body: self.body,
                    times,
                    close_connection: false,
                }
                .into_response()
                .reply
            }
            None => self.body,
        }
    }

    fn into_op_msg(self) -> OpMsg {
        match self.times.map(|times| times.elements()) {
            Some(Ok(tail)) => OpMsg::with_tail(self.body, tail),
            // Fixed field names always encode; should they not, the
            // document form says the same.
            Some(Err(_)) => OpMsg::new(self.into_document()),
            None => OpMsg::new(self.body),
        }
    }
}

fn error_reply(code: i32, message: &str) -> Document {
    doc! {
        "ok": 0.0,
        "errmsg": message,
        "code": code,
        "codeName": Code(code).name().into_owned(),
    }
}

/// The same message kind as `message`, carrying `reply`.
fn reply_like(message: &Message, reply: Document) -> Message {
    match message {
        Message::Reply(_) => Message::Reply(OpReply::command_reply(reply)),
        _ => Message::Msg(OpMsg::new(reply)),
    }
}
