//! The codec's typed errors. Each says what was wrong and where, so the
//! server can log it and answer with a useful `errmsg` before closing.

use crate::compression::Compressor;

/// Why a frame could not be decoded or a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `messageLength` is below the header size or above the message limit.
    #[error("invalid message length {length} (must be between 16 and {max})")]
    BadMessageLength { length: i64, max: usize },
    /// The frame holds fewer or more bytes than its header announces.
    #[error("message length {declared} does not match the {actual} bytes received")]
    LengthMismatch { declared: usize, actual: usize },
    /// An opcode this server does not speak.
    #[error("unsupported opcode {0}")]
    UnsupportedOpCode(i32),
    /// The input ended inside `what`.
    #[error("message truncated while reading {what}")]
    Truncated { what: &'static str },
    /// Bytes left over after `what`, which must end the message.
    #[error("{count} unexpected bytes after {what}")]
    TrailingBytes { what: &'static str, count: usize },
    /// A C string with no terminating NUL or invalid UTF-8.
    #[error("invalid C string in {what}")]
    BadCString { what: &'static str },
    /// A BSON document that does not parse.
    #[error("invalid BSON in {what}: {message}")]
    MalformedBson { what: &'static str, message: String },
    /// A BSON document over the size limit.
    #[error("BSON document of {size} bytes in {what} exceeds the {max} byte limit")]
    BsonTooLarge {
        what: &'static str,
        size: usize,
        max: usize,
    },
    /// A BSON document nested deeper than the depth limit.
    #[error("BSON document in {what} nests deeper than {max} levels")]
    BsonTooDeep { what: &'static str, max: usize },
    /// OP_MSG flag bits 0-15 are "required": an unknown one must be refused.
    #[error("unrecognized required OP_MSG flag bits {0:#x}")]
    UnknownRequiredFlags(u32),
    /// OP_MSG's CRC-32C does not match its contents.
    #[error(
        "OP_MSG checksum mismatch: message says {declared:#010x}, contents give {computed:#010x}"
    )]
    ChecksumMismatch { declared: u32, computed: u32 },
    /// An OP_MSG section kind other than 0 (body) or 1 (sequence).
    #[error("unknown OP_MSG section kind {0}")]
    UnknownSectionKind(u8),
    /// OP_MSG must have exactly one body section.
    #[error("OP_MSG must have exactly one body section, found {0}")]
    BodyCount(usize),
    /// A document sequence whose identifier repeats another's or a body field.
    #[error("duplicate field '{0}' between OP_MSG body and document sequences")]
    DuplicateField(String),
    /// A document sequence's declared size disagrees with its contents.
    #[error("OP_MSG document sequence '{identifier}' has an invalid size")]
    BadSequenceSize { identifier: String },
    /// An OP_COMPRESSED compressor id this server does not know.
    #[error("unknown compressor id {0}")]
    UnknownCompressor(u8),
    /// OP_COMPRESSED wrapping another OP_COMPRESSED or an unsupported opcode.
    #[error("OP_COMPRESSED cannot wrap opcode {0}")]
    BadCompressedOpCode(i32),
    /// The compressed payload did not decompress.
    #[error("{compressor} decompression failed: {message}")]
    Decompression {
        compressor: Compressor,
        message: String,
    },
    /// The payload decompressed to a size other than the one declared.
    #[error("OP_COMPRESSED declares {declared} uncompressed bytes but holds {actual}")]
    UncompressedSizeMismatch { declared: i64, actual: usize },
    /// Compressing a reply failed (only zstd's encoder can fail).
    #[error("{compressor} compression failed: {message}")]
    Compression {
        compressor: Compressor,
        message: String,
    },
    /// A message to encode is over the message size limit.
    #[error("encoded message of {size} bytes exceeds the {max} byte limit")]
    MessageTooLarge { size: usize, max: usize },
}
