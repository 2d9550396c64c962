//! Parsing of the `bulkWrite` command: the request's own fields, `nsInfo`,
//! and every op, checked before any op runs.
//!
//! mongod parses the whole request through its IDL first, so a malformed
//! op (unknown field, wrong type, missing field, bad `nsInfo` index) fails
//! the whole command with nothing written. What depends on the query or
//! update language (filters, update operators) is checked only when the op
//! runs, and fails just that op: this module does not parse either
//! language, it reshapes each op into the statement form that `update` and
//! `delete` parse.

use bson::{Bson, Document, doc};
use mql::Code;

use super::super::CommandError;
use super::super::args::Args;
use super::super::ctx::StmtKind;
use super::super::envelope::type_name;
use super::super::write::WRITE_BATCH_MAX;

/// Nesting shown when an op is quoted in an error message; deeper levels
/// are elided so the message stays bounded.
const SHOWN_DEPTH_MAX: usize = 8;

/// The fields each op kind may carry, besides its namespace index.
const INSERT_FIELDS: &[&str] = &["document"];
const UPDATE_FIELDS: &[&str] = &[
    "filter",
    "multi",
    "updateMods",
    "upsert",
    "upsertSupplied",
    "arrayFilters",
    "hint",
    "constants",
    "collation",
    "sort",
];
const DELETE_FIELDS: &[&str] = &["filter", "multi", "hint", "collation"];
const NS_INFO_FIELDS: &[&str] = &[
    "ns",
    "collectionUUID",
    "encryptionInformation",
    "isTimeseriesNamespace",
    "shardVersion",
    "databaseVersion",
];

/// A parsed `bulkWrite` request.
pub struct Request<'a> {
    pub ops: Vec<Op<'a>>,
    pub ordered: bool,
    pub errors_only: bool,
    pub batch_size: Option<usize>,
}

/// One `nsInfo` entry: `db.coll`, split at the first dot.
#[derive(Clone, Copy)]
pub struct Namespace<'a> {
    pub db: &'a str,
    pub coll: &'a str,
}

/// One op, with the namespace it writes to.
pub enum Op<'a> {
    Insert {
        ns: Namespace<'a>,
        document: &'a Document,
    },
    /// `statement` is in the `update` command's statement shape.
    Update {
        ns: Namespace<'a>,
        statement: Document,
    },
    /// `statement` is in the `delete` command's statement shape.
    Delete {
        ns: Namespace<'a>,
        statement: Document,
    },
}

impl<'a> Op<'a> {
    pub fn ns(&self) -> Namespace<'a> {
        match self {
            Op::Insert { ns, .. } | Op::Update { ns, .. } | Op::Delete { ns, .. } => *ns,
        }
    }

    pub fn is_update(&self) -> bool {
        matches!(self, Op::Update { .. })
    }

    /// What kind of write the op is, for a retryable write's journal.
    pub fn kind(&self) -> StmtKind {
        match self {
            Op::Insert { .. } => StmtKind::Insert,
            Op::Update { .. } => StmtKind::Update,
            Op::Delete { .. } => StmtKind::Delete,
        }
    }
}

impl<'a> Request<'a> {
    pub fn parse(body: &'a Document) -> Result<Request<'a>, CommandError> {
        let args = Args::new("bulkWrite", body);
        args.check_known(&[
            "ops",
            "nsInfo",
            "cursor",
            "bypassDocumentValidation",
            "ordered",
            "errorsOnly",
            "let",
        ])?;
        let ops = required_array(body, "ops")?;
        let ns_info = required_array(body, "nsInfo")?;
        if ops.is_empty() || ops.len() > WRITE_BATCH_MAX {
            return Err(CommandError::new(
                Code::INVALID_LENGTH,
                format!(
                    "Write batch sizes must be between 1 and {WRITE_BATCH_MAX}. Got {} operations.",
                    ops.len()
                ),
            ));
        }
        let ordered = strict_bool(body, "bulkWrite", "ordered")?.unwrap_or(true);
        let errors_only = strict_bool(body, "bulkWrite", "errorsOnly")?.unwrap_or(false);
        args.bool("bypassDocumentValidation")?;
        args.document("let")?;
        let batch_size = cursor_batch_size(&args)?;
        let namespaces = ns_info
            .iter()
            .map(parse_namespace)
            .collect::<Result<Vec<_>, _>>()?;
        let ops = ops
            .iter()
            .map(|op| parse_op(op, &namespaces))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Request {
            ops,
            ordered,
            errors_only,
            batch_size,
        })
    }
}

fn missing(field: &str) -> CommandError {
    CommandError::new(
        Code(40414),
        format!("BSON field '{field}' is missing but a required field"),
    )
}

fn unknown(field: &str) -> CommandError {
    CommandError::new(
        Code(40415),
        format!("BSON field '{field}' is an unknown field."),
    )
}

fn wrong_type(field: &str, expected: &str, value: &Bson) -> CommandError {
    CommandError::new(
        Code::TYPE_MISMATCH,
        format!(
            "BSON field '{field}' is the wrong type '{}', expected type '{expected}'",
            type_name(value)
        ),
    )
}

fn required_array<'a>(body: &'a Document, field: &str) -> Result<&'a Vec<Bson>, CommandError> {
    match body.get(field) {
        Some(Bson::Array(items)) => Ok(items),
        Some(other) => Err(wrong_type(&format!("bulkWrite.{field}"), "array", other)),
        None => Err(missing(&format!("bulkWrite.{field}"))),
    }
}

/// An IDL `bool`: only a boolean will do (unlike `safeBool`).
fn strict_bool(doc: &Document, prefix: &str, field: &str) -> Result<Option<bool>, CommandError> {
    match doc.get(field) {
        None => Ok(None),
        Some(Bson::Boolean(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(&format!("{prefix}.{field}"), "bool", other)),
    }
}

fn optional_document<'a>(
    doc: &'a Document,
    field: &str,
) -> Result<Option<&'a Document>, CommandError> {
    match doc.get(field) {
        None => Ok(None),
        Some(Bson::Document(inner)) => Ok(Some(inner)),
        Some(other) => Err(wrong_type(
            &format!("bulkWrite.ops.{field}"),
            "object",
            other,
        )),
    }
}

fn cursor_batch_size(args: &Args<'_>) -> Result<Option<usize>, CommandError> {
    let Some(cursor) = args.document("cursor")? else {
        return Ok(None);
    };
    for field in cursor.keys() {
        if field != "batchSize" {
            return Err(unknown(&format!("bulkWrite.cursor.{field}")));
        }
    }
    let batch_size = Args::new("bulkWrite.cursor", cursor).non_negative("batchSize")?;
    Ok(batch_size.and_then(|n| usize::try_from(n).ok()))
}

fn parse_namespace(entry: &Bson) -> Result<Namespace<'_>, CommandError> {
    let Bson::Document(entry) = entry else {
        return Err(wrong_type("bulkWrite.nsInfo", "object", entry));
    };
    for field in entry.keys() {
        if !NS_INFO_FIELDS.contains(&field.as_str()) {
            return Err(unknown(&format!("bulkWrite.nsInfo.{field}")));
        }
    }
    let ns = match entry.get("ns") {
        Some(Bson::String(ns)) => ns,
        Some(other) => return Err(wrong_type("bulkWrite.nsInfo.ns", "string", other)),
        None => return Err(missing("bulkWrite.nsInfo.ns")),
    };
    match ns.split_once('.') {
        Some((db, coll)) if !db.is_empty() && !coll.is_empty() => Ok(Namespace { db, coll }),
        _ => Err(CommandError::new(
            Code::INVALID_NAMESPACE,
            format!("Invalid namespace specified for bulkWrite: '{ns}'"),
        )),
    }
}

fn parse_op<'a>(op: &'a Bson, namespaces: &[Namespace<'a>]) -> Result<Op<'a>, CommandError> {
    let Bson::Document(op) = op else {
        return Err(wrong_type("bulkWrite.ops", "object", op));
    };
    let Some((kind, index)) = op.iter().next() else {
        return Err(CommandError::new(
            Code::FAILED_TO_PARSE,
            "BulkWrite ops entry must not be empty",
        ));
    };
    let fields = match kind.as_str() {
        "insert" => INSERT_FIELDS,
        "update" => UPDATE_FIELDS,
        "delete" => DELETE_FIELDS,
        other => return Err(unknown(&format!("bulkWrite.{other}"))),
    };
    for field in op.keys().skip(1) {
        if !fields.contains(&field.as_str()) {
            return Err(unknown(&format!("bulkWrite.ops.{field}")));
        }
    }
    let ns = namespace_index(kind, index)?;
    let ns = match usize::try_from(ns).ok().and_then(|ns| namespaces.get(ns)) {
        Some(ns) => *ns,
        None => {
            return Err(CommandError::new(
                Code::BAD_VALUE,
                format!(
                    "BulkWrite ops entry {} has an invalid nsInfo index.",
                    show_document(op, 0)
                ),
            ));
        }
    };
    match kind.as_str() {
        "insert" => Ok(Op::Insert {
            ns,
            document: optional_document(op, "document")?
                .ok_or_else(|| missing("bulkWrite.ops.document"))?,
        }),
        "update" => parse_update(op, ns),
        _ => parse_delete(op, ns),
    }
}

/// The `insert`/`update`/`delete` field: a whole number, at least 0.
fn namespace_index(kind: &str, value: &Bson) -> Result<i64, CommandError> {
    let number = match mql::order::Number::of(value) {
        Some(mql::order::Number::Int(n)) => Some(n),
        Some(mql::order::Number::Double(d)) if d.fract() == 0.0 && d.abs() < 9.2e18 => {
            Some(d as i64)
        }
        Some(_) => None,
        None => {
            return Err(CommandError::new(
                Code::TYPE_MISMATCH,
                format!(
                    "BSON field 'bulkWrite.ops.{kind}' is the wrong type '{}', expected types '[long, int, decimal, double]'",
                    type_name(value)
                ),
            ));
        }
    };
    match number {
        Some(n) if n >= 0 => Ok(n),
        Some(n) => Err(CommandError::new(
            Code::BAD_VALUE,
            format!("BSON field '{kind}' value must be >= 0, actual value '{n}'"),
        )),
        None => Err(CommandError::new(
            Code::FAILED_TO_PARSE,
            format!("BSON field 'bulkWrite.ops.{kind}' value must be an integer"),
        )),
    }
}

fn check_hint(op: &Document) -> Result<(), CommandError> {
    match op.get("hint") {
        None | Some(Bson::String(_)) | Some(Bson::Document(_)) => Ok(()),
        Some(_) => Err(CommandError::new(
            Code::FAILED_TO_PARSE,
            "Hint must be a string or an object",
        )),
    }
}

fn filter_of(op: &Document) -> Result<&Document, CommandError> {
    optional_document(op, "filter")?.ok_or_else(|| missing("bulkWrite.ops.filter"))
}

fn parse_update<'a>(op: &'a Document, ns: Namespace<'a>) -> Result<Op<'a>, CommandError> {
    let filter = filter_of(op)?;
    let update_mods = match op.get("updateMods") {
        Some(mods @ (Bson::Document(_) | Bson::Array(_))) => mods,
        Some(_) => {
            return Err(CommandError::new(
                Code::FAILED_TO_PARSE,
                "Update argument must be either an object or an array",
            ));
        }
        None => return Err(missing("bulkWrite.ops.updateMods")),
    };
    let multi = strict_bool(op, "bulkWrite.ops", "multi")?.unwrap_or(false);
    let upsert = strict_bool(op, "bulkWrite.ops", "upsert")?.unwrap_or(false);
    check_hint(op)?;
    let collation = optional_document(op, "collation")?;
    optional_document(op, "constants")?;
    let sort = optional_document(op, "sort")?;
    let mut statement =
        doc! {"q": filter.clone(), "u": update_mods.clone(), "multi": multi, "upsert": upsert};
    if let Some(collation) = collation {
        statement.insert("collation", collation.clone());
    }
    match op.get("arrayFilters") {
        None => {}
        Some(filters @ Bson::Array(_)) => {
            statement.insert("arrayFilters", filters.clone());
        }
        Some(other) => return Err(wrong_type("bulkWrite.ops.arrayFilters", "array", other)),
    }
    if let Some(sort) = sort {
        statement.insert("sort", sort.clone());
    }
    Ok(Op::Update { ns, statement })
}

fn parse_delete<'a>(op: &'a Document, ns: Namespace<'a>) -> Result<Op<'a>, CommandError> {
    let filter = filter_of(op)?;
    let multi = strict_bool(op, "bulkWrite.ops", "multi")?.unwrap_or(false);
    check_hint(op)?;
    let collation = optional_document(op, "collation")?;
    let limit = if multi { 0 } else { 1 };
    let mut statement = doc! {"q": filter.clone(), "limit": limit};
    if let Some(collation) = collation {
        statement.insert("collation", collation.clone());
    }
    Ok(Op::Delete { ns, statement })
}

/// A document as mongod quotes it in messages: `{ insert: 5, document: { _id: 2 } }`.
fn show_document(doc: &Document, depth: usize) -> String {
    if doc.is_empty() {
        return "{}".to_owned();
    }
    let fields: Vec<String> = doc
        .iter()
        .map(|(key, value)| format!("{key}: {}", show_value(value, depth + 1)))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

fn show_value(value: &Bson, depth: usize) -> String {
    if depth > SHOWN_DEPTH_MAX {
        return "...".to_owned();
    }
    match value {
        Bson::Document(doc) => show_document(doc, depth),
        Bson::Array(items) if items.is_empty() => "[]".to_owned(),
        Bson::Array(items) => {
            let shown: Vec<String> = items.iter().map(|v| show_value(v, depth + 1)).collect();
            format!("[ {} ]", shown.join(", "))
        }
        other => other.to_string(),
    }
}
