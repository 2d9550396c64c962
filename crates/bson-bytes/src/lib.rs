//! BSON bytes of a [`bson::Document`], written in one pass into one buffer.
//!
//! Why by hand: `bson` 3.1 encodes through a fresh `Vec` per document, grown
//! from empty, and copies every value in with `Extend` over a byte array,
//! about 260 instructions per field; every durable commit's journal record
//! and every wire reply pays that. Here each field is a type byte, its name
//! and its value appended with `extend_from_slice`, and each embedded
//! document's length is patched in place afterwards (callgrind on the
//! durable seed transaction: see `ARCHITECTURE.md`).
//!
//! Invariant: for every document, the bytes (or the failure) are exactly
//! those of `bson::Document::to_vec`; `tests/model.rs` checks that against
//! `bson` itself as the model, over arbitrary documents.
//!
//! The one type written through `bson` is DBPointer (deprecated since BSON
//! 1.0; its fields are private to `bson`).

use bson::spec::{BinarySubtype, ElementType};
use bson::{Bson, Document};

/// Why a document has no BSON encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field name holds a NUL byte, which a BSON name cannot.
    #[error("field name {name:?} contains a NUL byte")]
    NulInName { name: String },
    /// The encoding would pass BSON's 2 GiB length field.
    #[error("document too large to encode ({len} bytes)")]
    TooLarge { len: usize },
    /// `bson` refused a value this module hands it.
    #[error("{0}")]
    Bson(String),
}

/// The document's BSON bytes.
pub fn to_vec(doc: &Document) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(256);
    write_document(&mut out, doc)?;
    Ok(out)
}

/// Appends the document's BSON bytes to `out`. On failure `out` is left as
/// it was.
pub fn write_document(out: &mut Vec<u8>, doc: &Document) -> Result<(), Error> {
    write_document_with_tail(out, doc, &[])
}

/// Writes one document field by field, for callers that build BSON bytes
/// without building a [`Document`] first. Fields are appended in call
/// order; [`DocumentWriter::finish`] ends the document. A writer dropped
/// unfinished leaves an unterminated document in the buffer: callers
/// discard the buffer on any error.
pub struct DocumentWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> DocumentWriter<'a> {
    /// Begins a document at the end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> DocumentWriter<'a> {
        let start = open(out);
        DocumentWriter { out, start }
    }

    /// Appends a field.
    pub fn append(&mut self, name: &str, value: &Bson) -> Result<(), Error> {
        element(self.out, name, value)
    }

    /// Appends a string field.
    pub fn append_str(&mut self, name: &str, value: &str) -> Result<(), Error> {
        self.header(name, ElementType::String)?;
        string(self.out, value)
    }

    /// Appends an embedded document field.
    pub fn append_document(&mut self, name: &str, value: &Document) -> Result<(), Error> {
        self.header(name, ElementType::EmbeddedDocument)?;
        document(self.out, value)
    }

    /// Appends a generic binary field.
    pub fn append_binary(&mut self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        self.header(name, ElementType::Binary)?;
        self.out
            .extend_from_slice(&length(bytes.len())?.to_le_bytes());
        self.out.push(u8::from(BinarySubtype::Generic));
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    /// Begins an embedded array field; its items are named `0`, `1`, ...
    /// by the caller's [`DocumentWriter::append`] calls on the returned
    /// writer (see [`array_index`]).
    pub fn begin_array(&mut self, name: &str) -> Result<DocumentWriter<'_>, Error> {
        self.header(name, ElementType::Array)?;
        Ok(DocumentWriter::new(self.out))
    }

    /// Begins an embedded document field.
    pub fn begin_document(&mut self, name: &str) -> Result<DocumentWriter<'_>, Error> {
        self.header(name, ElementType::EmbeddedDocument)?;
        Ok(DocumentWriter::new(self.out))
    }

    /// Ends the document and patches its length.
    pub fn finish(self) -> Result<(), Error> {
        close(self.out, self.start)
    }

    fn header(&mut self, name: &str, kind: ElementType) -> Result<(), Error> {
        header(self.out, name, kind)
    }
}

/// Appends the document's BSON bytes with `tail`, BSON elements encoded
/// by the caller (as [`elements`] gives them), after its own fields. On
/// failure `out` is left as it was.
pub fn write_document_with_tail(
    out: &mut Vec<u8>,
    doc: &Document,
    tail: &[u8],
) -> Result<(), Error> {
    let start = out.len();
    let written = document_with_tail(out, doc, tail);
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// The elements a [`DocumentWriter`] callback writes, as bytes without a
/// document's length and terminator: a tail for
/// [`write_document_with_tail`].
pub fn elements(
    write: impl FnOnce(&mut DocumentWriter<'_>) -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(128);
    let mut writer = DocumentWriter::new(&mut out);
    write(&mut writer)?;
    writer.finish()?;
    out.pop();
    out.drain(..4);
    Ok(out)
}

fn document(out: &mut Vec<u8>, doc: &Document) -> Result<(), Error> {
    document_with_tail(out, doc, &[])
}

fn document_with_tail(out: &mut Vec<u8>, doc: &Document, tail: &[u8]) -> Result<(), Error> {
    let start = open(out);
    for (name, value) in doc {
        element(out, name, value)?;
    }
    out.extend_from_slice(tail);
    close(out, start)
}

fn array(out: &mut Vec<u8>, items: &[Bson]) -> Result<(), Error> {
    let start = open(out);
    let mut digits = [0; DIGITS_MAX];
    for (index, value) in items.iter().enumerate() {
        element(out, array_index(&mut digits, index), value)?;
    }
    close(out, start)
}

/// Reserves a length field and returns where it is.
fn open(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    start
}

/// Ends the document begun at `start` and patches its length.
fn close(out: &mut Vec<u8>, start: usize) -> Result<(), Error> {
    out.push(0);
    let len = out.len() - start;
    let len32 = i32::try_from(len).map_err(|_| Error::TooLarge { len })?;
    out[start..start + 4].copy_from_slice(&len32.to_le_bytes());
    Ok(())
}

/// An element's type byte and name.
fn header(out: &mut Vec<u8>, name: &str, kind: ElementType) -> Result<(), Error> {
    check_name(name)?;
    out.push(kind as u8);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    Ok(())
}

fn element(out: &mut Vec<u8>, name: &str, value: &Bson) -> Result<(), Error> {
    if let Bson::DbPointer(_) = value {
        check_name(name)?;
        return db_pointer(out, name, value);
    }
    header(out, name, value.element_type())?;
    match value {
        Bson::Double(v) => out.extend_from_slice(&v.to_le_bytes()),
        Bson::String(s) | Bson::JavaScriptCode(s) | Bson::Symbol(s) => string(out, s)?,
        Bson::Document(doc) => document(out, doc)?,
        Bson::Array(items) => array(out, items)?,
        Bson::Binary(binary) => {
            let old = binary.subtype == BinarySubtype::BinaryOld;
            let inner = binary.bytes.len();
            let len = if old { inner + 4 } else { inner };
            out.extend_from_slice(&length(len)?.to_le_bytes());
            out.push(u8::from(binary.subtype));
            if old {
                out.extend_from_slice(&length(inner)?.to_le_bytes());
            }
            out.extend_from_slice(&binary.bytes);
        }
        Bson::ObjectId(oid) => out.extend_from_slice(&oid.bytes()),
        Bson::Boolean(b) => out.push(u8::from(*b)),
        Bson::DateTime(dt) => out.extend_from_slice(&dt.timestamp_millis().to_le_bytes()),
        Bson::RegularExpression(regex) => {
            out.extend_from_slice(regex.pattern.as_str().as_bytes());
            out.push(0);
            out.extend_from_slice(regex.options.as_str().as_bytes());
            out.push(0);
        }
        Bson::JavaScriptCodeWithScope(code) => {
            let start = open(out);
            string(out, &code.code)?;
            document(out, &code.scope)?;
            let len = out.len() - start;
            out[start..start + 4].copy_from_slice(&length(len)?.to_le_bytes());
        }
        Bson::Int32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Bson::Timestamp(ts) => {
            out.extend_from_slice(&ts.increment.to_le_bytes());
            out.extend_from_slice(&ts.time.to_le_bytes());
        }
        Bson::Int64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Bson::Decimal128(d) => out.extend_from_slice(&d.bytes()),
        Bson::Null | Bson::Undefined | Bson::MinKey | Bson::MaxKey | Bson::DbPointer(_) => {}
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.as_bytes().contains(&0) {
        return Err(Error::NulInName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// A BSON string: its length with the NUL, its bytes, the NUL.
fn string(out: &mut Vec<u8>, s: &str) -> Result<(), Error> {
    out.extend_from_slice(&length(s.len() + 1)?.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    Ok(())
}

fn length(len: usize) -> Result<i32, Error> {
    i32::try_from(len).map_err(|_| Error::TooLarge { len })
}

/// A DBPointer element, as `bson` writes it: the element's bytes from a
/// one-field document holding it.
fn db_pointer(out: &mut Vec<u8>, name: &str, value: &Bson) -> Result<(), Error> {
    let mut wrapper = Document::new();
    wrapper.insert(name, value.clone());
    let bytes = wrapper
        .to_vec()
        .map_err(|error| Error::Bson(error.to_string()))?;
    // Length (4) ... element ... document's NUL (1).
    out.extend_from_slice(&bytes[4..bytes.len() - 1]);
    Ok(())
}

/// The decimal digits of the largest `usize`.
pub const DIGITS_MAX: usize = 20;

/// An array item's field name: its index in decimal, formatted in
/// `buffer` without allocating.
pub fn array_index(buffer: &mut [u8; DIGITS_MAX], mut index: usize) -> &str {
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (index % 10) as u8;
        index /= 10;
        if index == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buffer[at..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_are_decimal() {
        let mut buffer = [0; DIGITS_MAX];
        for index in [0, 1, 9, 10, 99, 100, 12345, usize::MAX] {
            assert_eq!(array_index(&mut buffer, index), index.to_string());
        }
    }

    #[test]
    fn a_tail_of_elements_ends_the_document() {
        let head = bson::doc! {"a": 1};
        let tail = elements(|w| {
            w.append("b", &Bson::String("x".into()))?;
            let mut c = w.begin_document("c")?;
            c.append("d", &Bson::Int64(2))?;
            c.finish()
        })
        .expect("fixed names encode");
        let mut out = vec![9];
        write_document_with_tail(&mut out, &head, &tail).expect("encodes");
        let whole = bson::doc! {"a": 1, "b": "x", "c": {"d": 2i64}};
        assert_eq!(out[1..], whole.to_vec().expect("encodes")[..]);
        assert_eq!(out[0], 9);
    }

    #[test]
    fn a_failed_write_leaves_the_buffer_as_it_was() {
        let mut out = vec![1, 2, 3];
        let bad = bson::doc! {"a": 1, "b": {"c\0d": 1}};
        assert!(matches!(
            write_document(&mut out, &bad),
            Err(Error::NulInName { .. })
        ));
        assert_eq!(out, [1, 2, 3]);
    }
}
