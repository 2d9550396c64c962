//! BSON sizes without encoding: what a document would take on the wire
//! and in the journal, and how deeply it nests. Exact for documents within
//! [`DOC_DEPTH_MAX`] levels (as every stored one is); past that it stops
//! descending, so a hostile nesting costs no more than the limit.

use bson::{Bson, Document};

/// mongod's maximum nesting depth of a stored document.
pub const DOC_DEPTH_MAX: usize = 100;

/// A document's encoded BSON size, without encoding it (exact for
/// documents within [`DOC_DEPTH_MAX`] levels, as every stored one is).
pub fn encoded_size(doc: &Document) -> usize {
    measure(doc, 1).0
}

/// A document's encoded BSON size and nesting depth, in one pass and
/// without encoding it. Stops descending past [`DOC_DEPTH_MAX`] levels.
pub fn measure(doc: &Document, level: usize) -> (usize, usize) {
    let mut bytes = 4 + 1;
    let mut depth = level;
    for (key, value) in doc {
        // The usual field values, sized without the general call.
        let (value_bytes, value_depth) = match value {
            Bson::Int32(_) => (4, level),
            Bson::Int64(_) | Bson::Double(_) => (8, level),
            Bson::ObjectId(_) => (12, level),
            Bson::String(s) => (4 + s.len() + 1, level),
            _ => measure_value(value, level),
        };
        bytes += 1 + key.len() + 1 + value_bytes;
        depth = depth.max(value_depth);
    }
    (bytes, depth)
}

fn measure_value(value: &Bson, level: usize) -> (usize, usize) {
    let string = |s: &str| 4 + s.len() + 1;
    match value {
        Bson::Document(_) | Bson::Array(_) if level >= DOC_DEPTH_MAX => (0, level + 1),
        Bson::Document(doc) => measure(doc, level + 1),
        Bson::Array(items) => {
            let mut bytes = 4 + 1;
            let mut depth = level + 1;
            for (i, item) in items.iter().enumerate() {
                let (item_bytes, item_depth) = measure_value(item, level + 1);
                bytes += 1 + decimal_digits(i) + 1 + item_bytes;
                depth = depth.max(item_depth);
            }
            (bytes, depth)
        }
        Bson::Double(_) | Bson::DateTime(_) | Bson::Timestamp(_) | Bson::Int64(_) => (8, level),
        Bson::Int32(_) => (4, level),
        Bson::Decimal128(_) => (16, level),
        Bson::ObjectId(_) => (12, level),
        Bson::Boolean(_) => (1, level),
        Bson::Null | Bson::Undefined | Bson::MinKey | Bson::MaxKey => (0, level),
        Bson::String(s) | Bson::JavaScriptCode(s) | Bson::Symbol(s) => (string(s), level),
        Bson::Binary(binary) => {
            let old_format = u8::from(binary.subtype) == 2;
            (
                4 + 1 + binary.bytes.len() + if old_format { 4 } else { 0 },
                level,
            )
        }
        Bson::RegularExpression(regex) => {
            (regex.pattern.len() + 1 + regex.options.len() + 1, level)
        }
        Bson::JavaScriptCodeWithScope(code) => {
            let (scope, depth) = measure(&code.scope, level + 1);
            (4 + string(&code.code) + scope, depth)
        }
        // Rare and opaque (private fields): encode it to learn its size.
        Bson::DbPointer(_) => {
            let wrapped = bson::doc! {"": value.clone()};
            let bytes = bson::RawDocumentBuf::try_from(&wrapped)
                .map(|r| r.as_bytes().len())
                .unwrap_or(0);
            (bytes.saturating_sub(4 + 1 + 1 + 1), level)
        }
    }
}

fn decimal_digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Roughly what `doc` takes in this process's memory as a
/// `bson::Document`, which for small fields is many times its encoded size
/// (every value is a full `Bson`, every field name its own allocation, and
/// the map keeps a hash table beside its entries). An estimate for memory
/// bounds, not an accounting of the allocator.
pub fn in_memory_size(doc: &Document) -> usize {
    in_memory(doc, 1)
}

/// Per field: the map entry (hash, name, value) and its hash table slot.
const FIELD_BYTES: usize = 8 + size_of::<String>() + size_of::<Bson>() + 8 + 1;

fn in_memory(doc: &Document, level: usize) -> usize {
    let mut bytes = size_of::<Document>();
    for (key, value) in doc {
        bytes += FIELD_BYTES + key.len() + value_heap(value, level);
    }
    bytes
}

/// What a value owns beyond its own `Bson` slot.
fn value_heap(value: &Bson, level: usize) -> usize {
    match value {
        Bson::Document(_) | Bson::Array(_) if level >= DOC_DEPTH_MAX => 0,
        Bson::Document(doc) => in_memory(doc, level + 1),
        Bson::Array(items) => items
            .iter()
            .map(|item| size_of::<Bson>() + value_heap(item, level + 1))
            .sum(),
        Bson::String(s) | Bson::JavaScriptCode(s) | Bson::Symbol(s) => s.len(),
        Bson::Binary(binary) => binary.bytes.len(),
        Bson::RegularExpression(regex) => regex.pattern.len() + regex.options.len(),
        Bson::JavaScriptCodeWithScope(code) => code.code.len() + in_memory(&code.scope, level + 1),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn measured_size_equals_the_encoded_size() {
        let docs = [
            doc! {},
            doc! {"a": 1, "b": "xyz", "c": [1, 2.5, {"d": null}, [true]], "e": bson::oid::ObjectId::new()},
            doc! {"t": bson::Timestamp { time: 1, increment: 2 }, "d": bson::DateTime::from_millis(5)},
            doc! {"big": (0..120).map(bson::Bson::Int32).collect::<Vec<_>>(), "bin": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![1, 2, 3] }},
        ];
        for doc in docs {
            let encoded = bson::RawDocumentBuf::try_from(&doc)
                .unwrap()
                .as_bytes()
                .len();
            assert_eq!(measure(&doc, 1).0, encoded, "{doc}");
        }
    }

    #[test]
    fn measured_depth_counts_nesting_levels() {
        assert_eq!(measure(&doc! {"a": 1}, 1).1, 1);
        assert_eq!(measure(&doc! {"a": {"b": [1]}}, 1).1, 3);
    }

    #[test]
    fn in_memory_size_grows_with_fields_and_their_contents() {
        let small = in_memory_size(&doc! {"a": 1});
        assert!(small > FIELD_BYTES, "{small}");
        assert_eq!(
            in_memory_size(&doc! {"a": 1, "b": 2}),
            small + FIELD_BYTES + 1
        );
        assert_eq!(in_memory_size(&doc! {"a": "xyz"}), small + 3);
        let nested = in_memory_size(&doc! {"a": {"b": 1}});
        assert_eq!(nested, small + in_memory_size(&doc! {"b": 1}));
    }
}
