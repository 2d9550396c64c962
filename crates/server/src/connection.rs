//! One client connection: read a frame, decode it, run the command on the
//! blocking pool, write the reply, repeat.
//!
//! Invariants: commands on one connection run one at a time, in order, as
//! with mongod. A frame is read only after its header has been checked
//! against the message size limit. A malformed frame gets an error reply
//! when its request id is known, then this connection (only) is closed. A
//! connection silent for the idle timeout is closed. Replies to compressed
//! requests are compressed the same way.

use std::net::SocketAddr;
use std::sync::Arc;

use bson::{Document, doc};
use engine::{Code, ConnectionInfo, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wire::{Compressor, Decoded, HEADER_LEN, Message, OpMsg, OpReply};

use crate::handshake::{self, Kind};
use crate::server::Shared;

/// mongod's code for an OP_MSG without `$db`.
const MISSING_DB_CODE: i32 = 40571;
/// mongod's code for a legacy OP_QUERY command other than the handshake.
const UNSUPPORTED_OP_QUERY_CODE: i32 = 352;
/// mongod's code for an OP_QUERY on a collection (removed in 5.1).
const OP_QUERY_FIND_REMOVED_CODE: i32 = 5739101;

struct Connection {
    stream: TcpStream,
    shared: Arc<Shared>,
    info: ConnectionInfo,
    next_request_id: i32,
}

/// What to do after one frame.
enum Next {
    Continue,
    Close,
}

pub async fn run(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let id = shared.connections.open();
    // Replies are single writes; waiting to coalesce them only adds latency.
    let _ = stream.set_nodelay(true);
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
    };
    while let Next::Continue = connection.serve_one().await {}
    shared.connections.close();
    tracing::debug!(id, %peer, "connection closed");
}

impl Connection {
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

    /// Reads one whole frame; `None` on a clean end of stream or idle timeout.
    async fn read_frame(&mut self) -> Result<Option<Vec<u8>>, BadFrame> {
        let idle = self.shared.idle_timeout;
        let mut header = [0u8; HEADER_LEN];
        match tokio::time::timeout(idle, self.stream.read_exact(&mut header)).await {
            Err(_) => {
                tracing::debug!(id = self.info.id, "closing idle connection");
                return Ok(None);
            }
            Ok(Err(_)) => return Ok(None),
            Ok(Ok(_)) => {}
        }
        let parsed = wire::Header::parse(&header).map_err(|error| BadFrame {
            request_id: raw_request_id(&header),
            error,
        })?;
        let mut frame = vec![0u8; parsed.message_length];
        frame[..HEADER_LEN].copy_from_slice(&header);
        match tokio::time::timeout(idle, self.stream.read_exact(&mut frame[HEADER_LEN..])).await {
            Ok(Ok(_)) => Ok(Some(frame)),
            Ok(Err(_)) | Err(_) => Ok(None),
        }
    }

    async fn handle(&mut self, decoded: Decoded) -> Next {
        let request_id = decoded.header.request_id;
        let compressor = decoded.compressor;
        match decoded.message {
            Message::Msg(msg) => {
                let more_to_come = msg.flags.more_to_come();
                let reply = match msg.into_command() {
                    Ok(command) => self.run_op_msg(command).await,
                    Err(error) => Some(error_reply(Code::PROTOCOL_ERROR.0, &error.to_string())),
                };
                match reply {
                    None => Next::Close,
                    Some(_) if more_to_come => Next::Continue,
                    Some(reply) => {
                        self.send(request_id, Message::Msg(OpMsg::new(reply)), compressor)
                            .await
                    }
                }
            }
            Message::Query(query) => {
                let reply = self.run_op_query(&query).await;
                match reply {
                    None => Next::Close,
                    Some(reply) => {
                        let message = Message::Reply(OpReply::command_reply(reply));
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
    async fn run_op_msg(&mut self, command: Document) -> Option<Document> {
        let Ok(db) = command.get_str("$db").map(str::to_owned) else {
            return Some(error_reply(
                MISSING_DB_CODE,
                "OP_MSG requests require a $db argument",
            ));
        };
        self.run_command(db, command).await
    }

    async fn run_op_query(&mut self, query: &wire::OpQuery) -> Option<Document> {
        let Some(db) = query.command_db().map(str::to_owned) else {
            let message =
                "OP_QUERY is no longer supported. The client driver may require an upgrade.";
            return Some(error_reply(OP_QUERY_FIND_REMOVED_CODE, message));
        };
        let command = query.command().clone();
        if handshake::kind(&command) != Kind::Hello {
            let name = command.keys().next().cloned().unwrap_or_default();
            let message = format!(
                "Unsupported OP_QUERY command: {name}. The client driver may require an upgrade."
            );
            return Some(error_reply(UNSUPPORTED_OP_QUERY_CODE, &message));
        }
        self.run_command(db, command).await
    }

    async fn run_command(&mut self, db: String, command: Document) -> Option<Document> {
        let kind = handshake::kind(&command);
        let hello =
            (kind == Kind::Hello).then(|| handshake::observe_hello(&command, &mut self.info));
        let engine = self.shared.engine.clone();
        let info = self.info.clone();
        let joined = tokio::task::spawn_blocking(move || {
            engine.run_command(Request {
                db: &db,
                body: command,
                connection: &info,
            })
        })
        .await;
        let Response {
            mut reply,
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
        Some(reply)
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
        match self.stream.write_all(&frame).await {
            Ok(()) => Next::Continue,
            Err(_) => Next::Close,
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
