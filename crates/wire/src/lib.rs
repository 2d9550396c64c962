//! MongoDB's wire protocol. Pure encoding and decoding: no sockets here.
//!
//! A frame is one whole message, header included, exactly as it travels on
//! the socket. [`decode`] turns a frame into a [`Decoded`] message and
//! [`encode`] turns a [`Message`] back into a frame. Every size is checked
//! against [`limits`] before any allocation it would drive, and every
//! malformed input becomes an [`Error`], never a panic.
//!
//! Supported: OP_MSG (kind 0 body, kind 1 document sequences, CRC-32C
//! checksum), legacy OP_QUERY and OP_REPLY (for the `isMaster` handshake),
//! and OP_COMPRESSED with snappy, zlib and zstd. Not supported: the other
//! legacy opcodes (OP_INSERT, OP_GET_MORE, ...), which mongod has removed.
//! What a command *means* is the engine's business; this crate only knows
//! where the documents are.

mod bytes;
pub mod compression;
mod error;
pub mod fuzzing;
pub mod header;
pub mod legacy;
pub mod limits;
mod message;
pub mod msg;

pub use compression::Compressor;
pub use error::Error;
pub use header::{HEADER_LEN, Header, OpCode};
pub use legacy::{OpQuery, OpReply};
pub use message::{Decoded, Message, decode, encode};
pub use msg::{DocumentSequence, MsgFlags, OpMsg};
