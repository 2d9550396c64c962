//! mongod's debug rendering of BSON values, used only inside error messages.
//!
//! Several update errors quote a value or an element (`{_id: 1}`, `a: [ 1, 2 ]`)
//! and drivers' users grep for those texts, so the shape follows mongod's
//! `BSONElement::toString`: documents as `{ a: 1 }`, arrays as `[ 1, 2 ]`,
//! strings double-quoted, doubles always with a fractional part.
//!
//! Rendering stops at [`DISPLAY_DEPTH_MAX`] levels: a message never needs the
//! whole of a deep value, and this keeps rendering's recursion bounded.

use bson::{Bson, Document};

/// Beyond this depth values render as `...`; error messages need no more.
const DISPLAY_DEPTH_MAX: usize = 20;

/// Renders an element as mongod does: `name: value`.
pub(crate) fn element(name: &str, value: &Bson) -> String {
    format!("{name}: {}", value_str(value))
}

/// Renders a value alone.
pub(crate) fn value_str(value: &Bson) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

/// Renders the `_id` element of `doc` as mongod's messages quote it, or
/// `no id` when there is none.
pub(crate) fn id_element(doc: &Bson) -> String {
    match doc {
        Bson::Document(d) => match d.get("_id") {
            Some(id) => element("_id", id),
            None => "no id".to_string(),
        },
        _ => "no id".to_string(),
    }
}

fn write_document(out: &mut String, doc: &Document, depth: usize) {
    if doc.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{ ");
    for (i, (key, value)) in doc.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(key);
        out.push_str(": ");
        write_value(out, value, depth + 1);
    }
    out.push_str(" }");
}

fn write_value(out: &mut String, value: &Bson, depth: usize) {
    if depth > DISPLAY_DEPTH_MAX {
        out.push_str("...");
        return;
    }
    match value {
        Bson::Document(doc) => write_document(out, doc, depth),
        Bson::Array(items) if items.is_empty() => out.push_str("[]"),
        Bson::Array(items) => {
            out.push_str("[ ");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, depth + 1);
            }
            out.push_str(" ]");
        }
        Bson::String(s) | Bson::Symbol(s) => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        Bson::Double(d) => out.push_str(&double_str(*d)),
        Bson::Int32(i) => out.push_str(&i.to_string()),
        Bson::Int64(i) => out.push_str(&i.to_string()),
        Bson::Decimal128(d) => out.push_str(&format!("NumberDecimal(\"{d}\")")),
        Bson::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Bson::Null => out.push_str("null"),
        Bson::Undefined => out.push_str("undefined"),
        Bson::MinKey => out.push_str("MinKey"),
        Bson::MaxKey => out.push_str("MaxKey"),
        Bson::ObjectId(oid) => out.push_str(&format!("ObjectId('{oid}')")),
        Bson::DateTime(dt) => out.push_str(&format!("new Date({})", dt.timestamp_millis())),
        Bson::Timestamp(ts) => out.push_str(&format!("Timestamp({}, {})", ts.time, ts.increment)),
        Bson::RegularExpression(re) => out.push_str(&format!("/{}/{}", re.pattern, re.options)),
        other => out.push_str(&other.to_string()),
    }
}

fn double_str(d: f64) -> String {
    if d.is_nan() {
        "nan.0".to_string()
    } else if d.is_infinite() {
        if d > 0.0 { "inf.0" } else { "-inf.0" }.to_string()
    } else if d.fract() == 0.0 && d.abs() < 1e16 {
        format!("{d:.1}")
    } else {
        format!("{d}")
    }
}

pub(crate) use crate::order::type_name;
