//! OP_MSG: flag bits, a body section and document sequences, and an
//! optional CRC-32C checksum.
//!
//! Invariant: a decoded [`OpMsg`] had exactly one body section, no unknown
//! required flag bits, and (when `checksumPresent` was set) a checksum that
//! matched. Checksums are verified, never required: drivers rarely send them.

use bson::{Bson, Document};

use crate::bytes::{Reader, write_cstring, write_document, write_document_with_tail};
use crate::error::Error;
use crate::limits;

const SECTION_BODY: u8 = 0;
const SECTION_SEQUENCE: u8 = 1;
const CHECKSUM_LEN: usize = 4;

/// OP_MSG's `flagBits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MsgFlags(pub u32);

impl MsgFlags {
    /// A CRC-32C of the message follows the last section.
    pub const CHECKSUM_PRESENT: u32 = 1 << 0;
    /// The sender will send another message without waiting for a reply;
    /// on a request it means "do not reply".
    pub const MORE_TO_COME: u32 = 1 << 1;
    /// The client accepts exhaust replies (`moreToCome` on replies).
    pub const EXHAUST_ALLOWED: u32 = 1 << 16;
    /// Bits 0-15 must be understood by the receiver; 16-31 may be ignored.
    const REQUIRED_MASK: u32 = 0xffff;
    const KNOWN_REQUIRED: u32 = MsgFlags::CHECKSUM_PRESENT | MsgFlags::MORE_TO_COME;

    pub fn checksum_present(self) -> bool {
        self.0 & MsgFlags::CHECKSUM_PRESENT != 0
    }

    pub fn more_to_come(self) -> bool {
        self.0 & MsgFlags::MORE_TO_COME != 0
    }

    pub fn exhaust_allowed(self) -> bool {
        self.0 & MsgFlags::EXHAUST_ALLOWED != 0
    }
}

/// A kind 1 section: documents that logically form the array field
/// `identifier` of the body (e.g. `documents` of an `insert`).
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentSequence {
    pub identifier: String,
    pub documents: Vec<Document>,
}

/// One OP_MSG.
#[derive(Debug, Clone, PartialEq)]
pub struct OpMsg {
    pub flags: MsgFlags,
    pub body: Document,
    /// BSON elements written after the body's own fields when encoding (a
    /// reply's `$clusterTime` and `operationTime`, which the sender has as
    /// bytes, see `bson_bytes::elements`); the sender vouches that they are
    /// well-formed. Always empty when decoded.
    pub body_tail: Vec<u8>,
    pub sequences: Vec<DocumentSequence>,
}

impl OpMsg {
    /// A message with just a body and no flags: the shape of every reply.
    pub fn new(body: Document) -> OpMsg {
        OpMsg::with_tail(body, Vec::new())
    }

    /// A reply whose body ends with `body_tail`'s elements.
    pub fn with_tail(body: Document, body_tail: Vec<u8>) -> OpMsg {
        OpMsg {
            flags: MsgFlags::default(),
            body,
            body_tail,
            sequences: Vec::new(),
        }
    }

    /// The command document: the body with each document sequence merged in
    /// as an array field. A sequence may not repeat a body field or another
    /// sequence, as mongod refuses.
    pub fn into_command(self) -> Result<Document, Error> {
        let mut command = self.body;
        for sequence in self.sequences {
            if command.contains_key(&sequence.identifier) {
                return Err(Error::DuplicateField(sequence.identifier));
            }
            let array = sequence
                .documents
                .into_iter()
                .map(Bson::Document)
                .collect::<Vec<_>>();
            command.insert(sequence.identifier, array);
        }
        Ok(command)
    }

    /// Decodes a whole OP_MSG frame (header included, as the checksum
    /// covers it); `header_len` is where the OP_MSG fields start.
    pub(crate) fn decode(frame: &[u8], header_len: usize) -> Result<OpMsg, Error> {
        let mut reader = Reader::new(frame);
        reader.take(header_len, "message header")?;
        let flags = MsgFlags(reader.u32("OP_MSG flags")?);
        let unknown = flags.0 & MsgFlags::REQUIRED_MASK & !MsgFlags::KNOWN_REQUIRED;
        if unknown != 0 {
            return Err(Error::UnknownRequiredFlags(unknown));
        }
        let sections_len = if flags.checksum_present() {
            verify_checksum(frame)?;
            reader
                .remaining()
                .checked_sub(CHECKSUM_LEN)
                .ok_or(Error::Truncated {
                    what: "OP_MSG checksum",
                })?
        } else {
            reader.remaining()
        };
        let (body, sequences) = decode_sections(reader.take(sections_len, "OP_MSG sections")?)?;
        Ok(OpMsg {
            body_tail: Vec::new(),
            flags,
            body,
            sequences,
        })
    }

    /// Appends the OP_MSG fields (everything after the header). The
    /// checksum, if flagged, is appended by [`OpMsg::finish_checksum`] once
    /// the header is in place.
    pub(crate) fn encode_fields(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.flags.0.to_le_bytes());
        out.push(SECTION_BODY);
        write_document_with_tail(out, &self.body, &self.body_tail)?;
        for sequence in &self.sequences {
            out.push(SECTION_SEQUENCE);
            let size_at = out.len();
            out.extend_from_slice(&[0; 4]);
            write_cstring(out, &sequence.identifier, "document sequence identifier")?;
            for document in &sequence.documents {
                write_document(out, document)?;
            }
            let size = i32::try_from(out.len() - size_at).map_err(|_| Error::MessageTooLarge {
                size: out.len(),
                max: limits::MESSAGE_SIZE_BYTES_MAX,
            })?;
            out[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
        }
        if self.flags.checksum_present() {
            out.extend_from_slice(&[0; CHECKSUM_LEN]);
        }
        Ok(())
    }

    /// Fills in the trailing checksum of a complete frame, if flagged.
    pub(crate) fn finish_checksum(&self, frame: &mut [u8]) {
        if !self.flags.checksum_present() {
            return;
        }
        let covered = frame.len() - CHECKSUM_LEN;
        let checksum = crc32c::crc32c(&frame[..covered]);
        frame[covered..].copy_from_slice(&checksum.to_le_bytes());
    }
}

fn verify_checksum(frame: &[u8]) -> Result<(), Error> {
    let covered = frame
        .len()
        .checked_sub(CHECKSUM_LEN)
        .ok_or(Error::Truncated {
            what: "OP_MSG checksum",
        })?;
    let (contents, trailer) = frame.split_at(covered);
    let mut declared = [0u8; CHECKSUM_LEN];
    declared.copy_from_slice(trailer);
    let declared = u32::from_le_bytes(declared);
    let computed = crc32c::crc32c(contents);
    if declared != computed {
        return Err(Error::ChecksumMismatch { declared, computed });
    }
    Ok(())
}

fn decode_sections(bytes: &[u8]) -> Result<(Document, Vec<DocumentSequence>), Error> {
    let mut reader = Reader::new(bytes);
    let mut bodies = Vec::with_capacity(1);
    let mut sequences = Vec::new();
    while !reader.is_empty() {
        match reader.u8("OP_MSG section kind")? {
            SECTION_BODY => bodies
                .push(reader.document("OP_MSG body", limits::BSON_WIRE_OBJECT_SIZE_BYTES_MAX)?),
            SECTION_SEQUENCE => {
                let sequence = decode_sequence(&mut reader)?;
                if sequences
                    .iter()
                    .any(|seen: &DocumentSequence| seen.identifier == sequence.identifier)
                {
                    return Err(Error::DuplicateField(sequence.identifier));
                }
                sequences.push(sequence);
            }
            other => return Err(Error::UnknownSectionKind(other)),
        }
    }
    if bodies.len() != 1 {
        return Err(Error::BodyCount(bodies.len()));
    }
    let body = bodies.pop().ok_or(Error::BodyCount(0))?;
    Ok((body, sequences))
}

fn decode_sequence(reader: &mut Reader<'_>) -> Result<DocumentSequence, Error> {
    let declared = reader.i32("document sequence size")?;
    let bad_size = |identifier: &str| Error::BadSequenceSize {
        identifier: identifier.to_owned(),
    };
    // The size counts itself.
    let payload_len = usize::try_from(declared)
        .ok()
        .and_then(|size| size.checked_sub(4))
        .ok_or_else(|| bad_size(""))?;
    let mut payload = Reader::new(reader.take(payload_len, "document sequence")?);
    let identifier = payload.cstring("document sequence identifier")?.to_owned();
    let mut documents = Vec::new();
    while !payload.is_empty() {
        documents
            .push(payload.document("document sequence", limits::BSON_WIRE_OBJECT_SIZE_BYTES_MAX)?);
    }
    Ok(DocumentSequence {
        identifier,
        documents,
    })
}
