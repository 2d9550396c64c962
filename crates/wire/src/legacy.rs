//! Legacy OP_QUERY and OP_REPLY, kept only for the first handshake.
//!
//! Drivers that do not yet know the server's wire version send their first
//! `hello`/`isMaster` as an OP_QUERY on `<db>.$cmd` and expect an OP_REPLY.
//! Everything after the handshake uses OP_MSG. Queries on real collections
//! (removed from mongod in 5.1) are decoded but left for the caller to refuse.

use bson::Document;

use crate::bytes::{Reader, write_cstring, write_document};
use crate::error::Error;
use crate::limits;

/// The suffix that marks an OP_QUERY as a command.
const COMMAND_COLLECTION: &str = ".$cmd";

/// A legacy query.
#[derive(Debug, Clone, PartialEq)]
pub struct OpQuery {
    pub flags: i32,
    /// `<db>.<collection>`; commands use `<db>.$cmd`.
    pub full_collection_name: String,
    pub number_to_skip: i32,
    pub number_to_return: i32,
    pub query: Document,
    pub return_fields_selector: Option<Document>,
}

impl OpQuery {
    /// The database of a command query (`<db>.$cmd`), or `None` when this
    /// is a query on an ordinary collection.
    pub fn command_db(&self) -> Option<&str> {
        self.full_collection_name
            .strip_suffix(COMMAND_COLLECTION)
            .filter(|db| !db.is_empty())
    }

    /// The command document: drivers may wrap it as `{$query: {...}, ...}`
    /// when they attach a read preference.
    pub fn command(&self) -> &Document {
        match self.query.get_document("$query") {
            Ok(inner) => inner,
            Err(_) => &self.query,
        }
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<OpQuery, Error> {
        let flags = reader.i32("OP_QUERY flags")?;
        let full_collection_name = reader.cstring("OP_QUERY collection name")?.to_owned();
        let number_to_skip = reader.i32("OP_QUERY numberToSkip")?;
        let number_to_return = reader.i32("OP_QUERY numberToReturn")?;
        let query = reader.document("OP_QUERY query", limits::BSON_WIRE_OBJECT_SIZE_BYTES_MAX)?;
        let return_fields_selector = if reader.is_empty() {
            None
        } else {
            Some(reader.document(
                "OP_QUERY returnFieldsSelector",
                limits::BSON_WIRE_OBJECT_SIZE_BYTES_MAX,
            )?)
        };
        if !reader.is_empty() {
            return Err(Error::TrailingBytes {
                what: "OP_QUERY",
                count: reader.remaining(),
            });
        }
        Ok(OpQuery {
            flags,
            full_collection_name,
            number_to_skip,
            number_to_return,
            query,
            return_fields_selector,
        })
    }

    pub(crate) fn encode_fields(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.flags.to_le_bytes());
        write_cstring(out, &self.full_collection_name, "OP_QUERY collection name")?;
        out.extend_from_slice(&self.number_to_skip.to_le_bytes());
        out.extend_from_slice(&self.number_to_return.to_le_bytes());
        write_document(out, &self.query)?;
        if let Some(selector) = &self.return_fields_selector {
            write_document(out, selector)?;
        }
        Ok(())
    }
}

/// A legacy reply: the answer to an OP_QUERY.
#[derive(Debug, Clone, PartialEq)]
pub struct OpReply {
    pub response_flags: i32,
    pub cursor_id: i64,
    pub starting_from: i32,
    pub documents: Vec<Document>,
}

impl OpReply {
    /// `AwaitCapable`: mongod sets it on every reply.
    pub const AWAIT_CAPABLE: i32 = 1 << 3;

    /// A reply carrying one command reply document.
    pub fn command_reply(reply: Document) -> OpReply {
        OpReply {
            response_flags: OpReply::AWAIT_CAPABLE,
            cursor_id: 0,
            starting_from: 0,
            documents: vec![reply],
        }
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<OpReply, Error> {
        let response_flags = reader.i32("OP_REPLY responseFlags")?;
        let cursor_id = reader.i64("OP_REPLY cursorID")?;
        let starting_from = reader.i32("OP_REPLY startingFrom")?;
        let number_returned = reader.i32("OP_REPLY numberReturned")?;
        let mut documents = Vec::new();
        while !reader.is_empty() {
            documents.push(reader.document(
                "OP_REPLY documents",
                limits::BSON_WIRE_OBJECT_SIZE_BYTES_MAX,
            )?);
        }
        if usize::try_from(number_returned).ok() != Some(documents.len()) {
            return Err(Error::MalformedBson {
                what: "OP_REPLY documents",
                message: format!(
                    "numberReturned is {number_returned} but {} documents follow",
                    documents.len()
                ),
            });
        }
        Ok(OpReply {
            response_flags,
            cursor_id,
            starting_from,
            documents,
        })
    }

    pub(crate) fn encode_fields(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let number_returned =
            i32::try_from(self.documents.len()).map_err(|_| Error::MessageTooLarge {
                size: self.documents.len(),
                max: limits::MESSAGE_SIZE_BYTES_MAX,
            })?;
        out.extend_from_slice(&self.response_flags.to_le_bytes());
        out.extend_from_slice(&self.cursor_id.to_le_bytes());
        out.extend_from_slice(&self.starting_from.to_le_bytes());
        out.extend_from_slice(&number_returned.to_le_bytes());
        for document in &self.documents {
            write_document(out, document)?;
        }
        Ok(())
    }
}
