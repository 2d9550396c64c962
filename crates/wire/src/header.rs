//! The 16-byte header every message starts with.
//!
//! The server reads the header first to learn how many more bytes to read,
//! so [`Header::parse`] checks `messageLength` against the message limit
//! before the caller allocates a buffer for it.

use crate::bytes::Reader;
use crate::error::Error;
use crate::limits;

/// Size of the standard message header.
pub const HEADER_LEN: usize = 16;

/// The opcodes this codec decodes or encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Reply,
    Query,
    Compressed,
    Msg,
}

impl OpCode {
    pub const REPLY: i32 = 1;
    pub const QUERY: i32 = 2004;
    pub const COMPRESSED: i32 = 2012;
    pub const MSG: i32 = 2013;

    pub fn from_i32(value: i32) -> Result<OpCode, Error> {
        match value {
            OpCode::REPLY => Ok(OpCode::Reply),
            OpCode::QUERY => Ok(OpCode::Query),
            OpCode::COMPRESSED => Ok(OpCode::Compressed),
            OpCode::MSG => Ok(OpCode::Msg),
            other => Err(Error::UnsupportedOpCode(other)),
        }
    }

    pub fn as_i32(self) -> i32 {
        match self {
            OpCode::Reply => OpCode::REPLY,
            OpCode::Query => OpCode::QUERY,
            OpCode::Compressed => OpCode::COMPRESSED,
            OpCode::Msg => OpCode::MSG,
        }
    }
}

/// A decoded message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Whole message length in bytes, header included; checked to lie in
    /// `HEADER_LEN..=MESSAGE_SIZE_BYTES_MAX`.
    pub message_length: usize,
    pub request_id: i32,
    pub response_to: i32,
    pub op_code: OpCode,
}

impl Header {
    /// Parses the first [`HEADER_LEN`] bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Header, Error> {
        let mut reader = Reader::new(bytes);
        let message_length = message_length(reader.i32("message header")?)?;
        let request_id = reader.i32("message header")?;
        let response_to = reader.i32("message header")?;
        let op_code = OpCode::from_i32(reader.i32("message header")?)?;
        Ok(Header {
            message_length,
            request_id,
            response_to,
            op_code,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        // Callers check the length against MESSAGE_SIZE_BYTES_MAX, which fits an i32.
        let length = i32::try_from(self.message_length).unwrap_or(i32::MAX);
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&self.request_id.to_le_bytes());
        out.extend_from_slice(&self.response_to.to_le_bytes());
        out.extend_from_slice(&self.op_code.as_i32().to_le_bytes());
    }
}

/// Validates a declared `messageLength`.
pub fn message_length(declared: i32) -> Result<usize, Error> {
    let bad = || Error::BadMessageLength {
        length: i64::from(declared),
        max: limits::MESSAGE_SIZE_BYTES_MAX,
    };
    let length = usize::try_from(declared).map_err(|_| bad())?;
    if !(HEADER_LEN..=limits::MESSAGE_SIZE_BYTES_MAX).contains(&length) {
        return Err(bad());
    }
    Ok(length)
}
