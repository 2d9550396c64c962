//! Facts about values that every operator shares: type names, truthiness,
//! and the approximate size used to bound values operators build.

use bson::Bson;

use super::VALUE_BYTES_MAX;
use crate::{Code, Error, Result};

/// mongod's name for a value's type (`$type`'s result and error messages);
/// `None` (missing) is `"missing"`.
pub fn type_name(value: Option<&Bson>) -> &'static str {
    value.map_or("missing", crate::order::type_name)
}

/// mongod's coercion to boolean: false, null, undefined, missing and numeric
/// zero are false; everything else (empty strings and arrays included) is true.
pub fn is_truthy(value: Option<&Bson>) -> bool {
    match value {
        None | Some(Bson::Null | Bson::Undefined | Bson::Boolean(false)) => false,
        Some(Bson::Int32(i)) => *i != 0,
        Some(Bson::Int64(i)) => *i != 0,
        Some(Bson::Double(d)) => *d != 0.0,
        Some(Bson::Decimal128(d)) => crate::order::decimal_to_f64(d) != 0.0,
        Some(_) => true,
    }
}

/// Null, undefined or missing: the values most operators pass through as null.
pub fn is_nullish(value: Option<&Bson>) -> bool {
    matches!(value, None | Some(Bson::Null | Bson::Undefined))
}

/// An estimate of a value's encoded size, cheap enough to run on results.
pub fn approx_size(value: &Bson) -> usize {
    match value {
        Bson::String(s) | Bson::Symbol(s) | Bson::JavaScriptCode(s) => s.len() + 5,
        Bson::Array(items) => items.iter().map(|v| approx_size(v) + 4).sum::<usize>() + 5,
        Bson::Document(doc) => approx_document_size(doc),
        Bson::Binary(b) => b.bytes.len() + 5,
        _ => 16,
    }
}

/// [`approx_size`] of a document.
pub fn approx_document_size(doc: &bson::Document) -> usize {
    doc.iter()
        .map(|(k, v)| k.len() + 2 + approx_size(v))
        .sum::<usize>()
        + 5
}

/// Fails when an operator's result would exceed [`VALUE_BYTES_MAX`].
pub fn check_size(op: &str, bytes: usize) -> Result<()> {
    if bytes > VALUE_BYTES_MAX {
        return Err(Error::new(
            Code::BSON_OBJECT_TOO_LARGE,
            format!(
                "{op} would produce a value of {bytes} bytes, above the {VALUE_BYTES_MAX} byte limit"
            ),
        ));
    }
    Ok(())
}
