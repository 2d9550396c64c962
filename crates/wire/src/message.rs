//! Whole frames: [`decode`] and [`encode`] dispatch on the opcode and
//! handle OP_COMPRESSED transparently.
//!
//! Invariant: a compressed frame is decoded by rebuilding the uncompressed
//! frame (header with the original opcode) and decoding that, so an OP_MSG
//! checksum is checked the same way either way. Compression does not nest.

use crate::bytes::Reader;
use crate::compression::Compressor;
use crate::error::Error;
use crate::header::{self, HEADER_LEN, Header, OpCode};
use crate::legacy::{OpQuery, OpReply};
use crate::limits;
use crate::msg::OpMsg;

/// A decoded message body.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Msg(OpMsg),
    Query(OpQuery),
    Reply(OpReply),
}

impl Message {
    fn op_code(&self) -> OpCode {
        match self {
            Message::Msg(_) => OpCode::Msg,
            Message::Query(_) => OpCode::Query,
            Message::Reply(_) => OpCode::Reply,
        }
    }
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The header as sent; for a compressed frame, `op_code` is
    /// [`OpCode::Compressed`] and `message_length` the compressed length.
    pub header: Header,
    pub message: Message,
    /// The compressor the frame arrived with, if any; mongod answers a
    /// compressed request with a reply compressed the same way.
    pub compressor: Option<Compressor>,
}

/// Decodes one whole frame, header included.
pub fn decode(frame: &[u8]) -> Result<Decoded, Error> {
    let header = Header::parse(frame)?;
    if header.message_length != frame.len() {
        return Err(Error::LengthMismatch {
            declared: header.message_length,
            actual: frame.len(),
        });
    }
    if header.op_code != OpCode::Compressed {
        let message = decode_uncompressed(frame, header.op_code)?;
        return Ok(Decoded {
            header,
            message,
            compressor: None,
        });
    }
    let mut reader = Reader::new(frame);
    reader.take(HEADER_LEN, "message header")?;
    let original = reader.i32("OP_COMPRESSED originalOpcode")?;
    let op_code = match OpCode::from_i32(original) {
        Ok(OpCode::Compressed) | Err(_) => return Err(Error::BadCompressedOpCode(original)),
        Ok(op_code) => op_code,
    };
    let declared = reader.i32("OP_COMPRESSED uncompressedSize")?;
    let body_len = usize::try_from(declared)
        .ok()
        .filter(|len| *len <= limits::MESSAGE_SIZE_BYTES_MAX - HEADER_LEN)
        .ok_or(Error::BadMessageLength {
            length: i64::from(declared),
            max: limits::MESSAGE_SIZE_BYTES_MAX - HEADER_LEN,
        })?;
    let compressor = Compressor::from_id(reader.u8("OP_COMPRESSED compressorId")?)?;
    let body = compressor.decompress(reader.rest(), body_len)?;
    let inner_header = Header {
        message_length: HEADER_LEN + body_len,
        op_code,
        ..header
    };
    let mut inner = Vec::with_capacity(inner_header.message_length);
    inner_header.write(&mut inner);
    inner.extend_from_slice(&body);
    Ok(Decoded {
        header,
        message: decode_uncompressed(&inner, op_code)?,
        compressor: Some(compressor),
    })
}

fn decode_uncompressed(frame: &[u8], op_code: OpCode) -> Result<Message, Error> {
    let mut reader = Reader::new(frame);
    reader.take(HEADER_LEN, "message header")?;
    match op_code {
        OpCode::Msg => Ok(Message::Msg(OpMsg::decode(frame, HEADER_LEN)?)),
        OpCode::Query => Ok(Message::Query(OpQuery::decode(&mut reader)?)),
        OpCode::Reply => Ok(Message::Reply(OpReply::decode(&mut reader)?)),
        OpCode::Compressed => Err(Error::BadCompressedOpCode(OpCode::COMPRESSED)),
    }
}

/// Encodes one whole frame, compressed with `compressor` when given.
pub fn encode(
    request_id: i32,
    response_to: i32,
    message: &Message,
    compressor: Option<Compressor>,
) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    match message {
        Message::Msg(msg) => msg.encode_fields(&mut body)?,
        Message::Query(query) => query.encode_fields(&mut body)?,
        Message::Reply(reply) => reply.encode_fields(&mut body)?,
    }
    let mut frame = frame(request_id, response_to, message.op_code(), &body)?;
    if let Message::Msg(msg) = message {
        msg.finish_checksum(&mut frame);
    }
    match compressor {
        None => Ok(frame),
        Some(compressor) => compress_frame(
            request_id,
            response_to,
            message.op_code(),
            &frame,
            compressor,
        ),
    }
}

fn compress_frame(
    request_id: i32,
    response_to: i32,
    op_code: OpCode,
    frame: &[u8],
    compressor: Compressor,
) -> Result<Vec<u8>, Error> {
    let uncompressed = frame.get(HEADER_LEN..).unwrap_or_default();
    let compressed = compressor.compress(uncompressed)?;
    let mut body = Vec::with_capacity(9 + compressed.len());
    body.extend_from_slice(&op_code.as_i32().to_le_bytes());
    // The uncompressed frame passed the size check, so its length fits an i32.
    let uncompressed_len = i32::try_from(uncompressed.len()).unwrap_or(i32::MAX);
    body.extend_from_slice(&uncompressed_len.to_le_bytes());
    body.push(compressor.id());
    body.extend_from_slice(&compressed);
    self::frame(request_id, response_to, OpCode::Compressed, &body)
}

fn frame(
    request_id: i32,
    response_to: i32,
    op_code: OpCode,
    body: &[u8],
) -> Result<Vec<u8>, Error> {
    let message_length = HEADER_LEN + body.len();
    let too_large = Error::MessageTooLarge {
        size: message_length,
        max: limits::MESSAGE_SIZE_BYTES_MAX,
    };
    let length = i32::try_from(message_length).map_err(|_| too_large.clone())?;
    header::message_length(length).map_err(|_| too_large)?;
    let mut out = Vec::with_capacity(message_length);
    Header {
        message_length,
        request_id,
        response_to,
        op_code,
    }
    .write(&mut out);
    out.extend_from_slice(body);
    Ok(out)
}
