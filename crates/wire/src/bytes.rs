//! A bounds-checked little-endian reader over a byte slice, and the BSON
//! reading and writing every message kind shares.
//!
//! Invariant: no method indexes past the slice; running out of input is a
//! [`Error::Truncated`]. BSON documents are size-checked before they are
//! parsed and depth-checked before they are converted, so conversion (which
//! recurses) stays within [`limits::BSON_DEPTH_MAX`] frames.

use bson::{Document, RawBsonRef, RawDocument};

use crate::error::Error;
use crate::limits;

pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn take(&mut self, count: usize, what: &'static str) -> Result<&'a [u8], Error> {
        if count > self.rest.len() {
            return Err(Error::Truncated { what });
        }
        let (head, tail) = self.rest.split_at(count);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        let [byte] = self.array::<1>(what)?;
        Ok(byte)
    }

    pub(crate) fn i32(&mut self, what: &'static str) -> Result<i32, Error> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, Error> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// A NUL-terminated UTF-8 string.
    pub(crate) fn cstring(&mut self, what: &'static str) -> Result<&'a str, Error> {
        let end = self
            .rest
            .iter()
            .position(|&byte| byte == 0)
            .ok_or(Error::BadCString { what })?;
        let bytes = self.take(end + 1, what)?;
        std::str::from_utf8(&bytes[..end]).map_err(|_| Error::BadCString { what })
    }

    /// One BSON document, at most `size_max` bytes long.
    pub(crate) fn document(
        &mut self,
        what: &'static str,
        size_max: usize,
    ) -> Result<Document, Error> {
        let size = self.peek_document_size(what, size_max)?;
        let bytes = self.take(size, what)?;
        parse_document(bytes, what)
    }

    fn peek_document_size(&self, what: &'static str, size_max: usize) -> Result<usize, Error> {
        let declared = Reader::new(self.rest).i32(what)?;
        let size = usize::try_from(declared).map_err(|_| malformed(what, "negative length"))?;
        if size < limits::BSON_OBJECT_SIZE_BYTES_MIN {
            return Err(malformed(what, "length below minimum"));
        }
        if size > size_max {
            return Err(Error::BsonTooLarge {
                what,
                size,
                max: size_max,
            });
        }
        if size > self.rest.len() {
            return Err(Error::Truncated { what });
        }
        Ok(size)
    }
}

fn malformed(what: &'static str, message: impl Into<String>) -> Error {
    Error::MalformedBson {
        what,
        message: message.into(),
    }
}

/// Parses exactly one document occupying all of `bytes`.
fn parse_document(bytes: &[u8], what: &'static str) -> Result<Document, Error> {
    let raw = RawDocument::from_bytes(bytes).map_err(|error| malformed(what, error.to_string()))?;
    check_depth(raw, 1, what)?;
    Document::try_from(raw).map_err(|error| malformed(what, error.to_string()))
}

/// Walks the raw document, validating every element, and refuses nesting
/// beyond the limit. Recursion is bounded by the limit itself.
fn check_depth(raw: &RawDocument, depth: usize, what: &'static str) -> Result<(), Error> {
    if depth > limits::BSON_DEPTH_MAX {
        return Err(Error::BsonTooDeep {
            what,
            max: limits::BSON_DEPTH_MAX,
        });
    }
    for element in raw {
        let (_, value) = element.map_err(|error| malformed(what, error.to_string()))?;
        check_value_depth(value, depth, what)?;
    }
    Ok(())
}

fn check_value_depth(value: RawBsonRef<'_>, depth: usize, what: &'static str) -> Result<(), Error> {
    match value {
        RawBsonRef::Document(inner) => check_depth(inner, depth + 1, what),
        RawBsonRef::Array(inner) => {
            if depth + 1 > limits::BSON_DEPTH_MAX {
                return Err(Error::BsonTooDeep {
                    what,
                    max: limits::BSON_DEPTH_MAX,
                });
            }
            for item in inner {
                let item = item.map_err(|error| malformed(what, error.to_string()))?;
                check_value_depth(item, depth + 1, what)?;
            }
            Ok(())
        }
        RawBsonRef::JavaScriptCodeWithScope(code) => check_depth(code.scope, depth + 1, what),
        _ => Ok(()),
    }
}

/// Appends a document's BSON bytes.
pub(crate) fn write_document(out: &mut Vec<u8>, document: &Document) -> Result<(), Error> {
    bson_bytes::write_document(out, document)
        .map_err(|error| malformed("outgoing document", error.to_string()))
}

/// Appends a document's BSON bytes with `tail`'s elements after its fields.
pub(crate) fn write_document_with_tail(
    out: &mut Vec<u8>,
    document: &Document,
    tail: &[u8],
) -> Result<(), Error> {
    bson_bytes::write_document_with_tail(out, document, tail)
        .map_err(|error| malformed("outgoing document", error.to_string()))
}

pub(crate) fn write_cstring(
    out: &mut Vec<u8>,
    value: &str,
    what: &'static str,
) -> Result<(), Error> {
    if value.as_bytes().contains(&0) {
        return Err(Error::BadCString { what });
    }
    out.extend_from_slice(value.as_bytes());
    out.push(0);
    Ok(())
}
