//! Byte-level identity of BSON values, which decides `nModified`.
//!
//! mongod counts a document as modified only when the update changed its
//! bytes: `$set` to the same value is a no-op, but `$set` of `1.0` over `1`
//! changes the type and so the bytes. `Bson`'s `PartialEq` cannot serve:
//! it ignores field order and treats `NaN` as unequal to itself. This
//! compares types, bits and field order, which is what the bytes encode.
//!
//! Recursion is bounded by [`IDENTITY_DEPTH_MAX`]; callers check document
//! depth first, so the bound is never reached on a storable document.

use bson::{Bson, Document};

/// Nesting beyond any storable document (mongod stores at most 100 levels);
/// values this deep compare as different, which only costs a rewrite.
const IDENTITY_DEPTH_MAX: usize = 200;

pub(crate) fn documents(a: &Document, b: &Document) -> bool {
    documents_at(a, b, 0)
}

fn documents_at(a: &Document, b: &Document, depth: usize) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((ka, va), (kb, vb))| ka == kb && values_at(va, vb, depth + 1))
}

pub(crate) fn values(a: &Bson, b: &Bson) -> bool {
    values_at(a, b, 0)
}

fn values_at(a: &Bson, b: &Bson, depth: usize) -> bool {
    if depth > IDENTITY_DEPTH_MAX {
        return false;
    }
    match (a, b) {
        (Bson::Document(x), Bson::Document(y)) => documents_at(x, y, depth),
        (Bson::Array(x), Bson::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_at(p, q, depth + 1))
        }
        (Bson::Double(x), Bson::Double(y)) => x.to_bits() == y.to_bits(),
        (Bson::JavaScriptCodeWithScope(x), Bson::JavaScriptCodeWithScope(y)) => {
            x.code == y.code && documents_at(&x.scope, &y.scope, depth)
        }
        _ => a == b,
    }
}

/// Whether `doc` nests deeper than `max` levels of documents and arrays,
/// counting `doc` itself as the first.
pub(crate) fn deeper_than(doc: &Document, max: usize) -> bool {
    max == 0 || doc.values().any(|v| value_deeper_than(v, max - 1))
}

fn value_deeper_than(value: &Bson, max: usize) -> bool {
    match value {
        Bson::Document(doc) => deeper_than(doc, max),
        Bson::Array(items) => max == 0 || items.iter().any(|v| value_deeper_than(v, max - 1)),
        _ => false,
    }
}
