//! Why a document failed a validator: the `details` of a
//! DocumentValidationFailure's `errInfo`, in mongod 5+'s shape.
//!
//! Each clause is re-checked on its own with the matcher, and only failing
//! clauses are described: a validator of several clauses is an implicit
//! `$and` (`{operatorName: "$and", clausesNotSatisfied: [{index, details}]}`),
//! one clause is described directly (`{operatorName, specifiedAs, reason,
//! consideredValue}`), as mongod simplifies a one-child `$and` away.
//!
//! Deliberately approximate: `reason` strings cover the common operators,
//! and `consideredValue` is given only for paths that cross no array.
//! Recursion follows the validator, which the matcher already bounded.

use bson::{Bson, Document, doc};
use mql::matcher::Filter;

use super::envelope::type_name;

/// The `details` of why `doc` fails `validator`.
pub fn explain(validator: &Document, doc: &Document) -> Document {
    let failing = failing_clauses(validator, doc);
    if validator.len() == 1 {
        if let Some((_, details)) = failing.into_iter().next() {
            return details;
        }
        return doc! {"operatorName": "$and", "clausesNotSatisfied": []};
    }
    and_of(failing)
}

fn and_of(failing: Vec<(usize, Document)>) -> Document {
    let clauses: Vec<Document> = failing
        .into_iter()
        .map(|(index, details)| doc! {"index": index as i32, "details": details})
        .collect();
    doc! {"operatorName": "$and", "clausesNotSatisfied": clauses}
}

/// Each clause of `filter` that `doc` fails, with its index and details.
fn failing_clauses(filter: &Document, doc: &Document) -> Vec<(usize, Document)> {
    filter
        .iter()
        .enumerate()
        .filter(|(_, (key, value))| !clause_matches(key, value, doc))
        .map(|(index, (key, value))| (index, clause(key, value, doc)))
        .collect()
}

fn clause_matches(key: &str, value: &Bson, doc: &Document) -> bool {
    let mut one = Document::new();
    one.insert(key, value.clone());
    Filter::parse(&one).is_ok_and(|f| f.matches(doc))
}

fn clause(key: &str, value: &Bson, doc: &Document) -> Document {
    match key {
        "$and" | "$or" => {
            let clauses = sub_filters(value)
                .enumerate()
                .filter(|(_, sub)| !Filter::parse(sub).is_ok_and(|f| f.matches(doc)))
                .map(|(index, sub)| doc! {"index": index as i32, "details": explain(sub, doc)})
                .collect::<Vec<_>>();
            doc! {"operatorName": key, "clausesNotSatisfied": clauses}
        }
        "$nor" => {
            let clauses = sub_filters(value)
                .enumerate()
                .filter(|(_, sub)| Filter::parse(sub).is_ok_and(|f| f.matches(doc)))
                .map(|(index, sub)| {
                    doc! {"index": index as i32, "details": {"operatorName": "$nor", "specifiedAs": sub.clone()}}
                })
                .collect::<Vec<_>>();
            doc! {"operatorName": "$nor", "clausesSatisfied": clauses}
        }
        "$expr" => doc! {
            "operatorName": "$expr",
            "specifiedAs": {"$expr": value.clone()},
            "reason": "expression did not match",
            "expressionResult": false,
        },
        _ if key.starts_with('$') => {
            doc! {"operatorName": key, "specifiedAs": {key: value.clone()}}
        }
        _ => field_clause(key, value, doc),
    }
}

fn sub_filters(value: &Bson) -> impl Iterator<Item = &Document> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Bson::as_document)
}

/// A condition on one field: `{field: value}` (equality) or
/// `{field: {$op: arg, ...}}`.
fn field_clause(field: &str, value: &Bson, doc: &Document) -> Document {
    let operators = match value {
        Bson::Document(ops) if ops.keys().next().is_some_and(|k| k.starts_with('$')) => ops,
        _ => return operator(field, "$eq", value, doc),
    };
    if let (1, Some((op, arg))) = (operators.len(), operators.iter().next()) {
        return operator(field, op, arg, doc);
    }
    let failing = operators
        .iter()
        .enumerate()
        .filter(|(_, (op, arg))| {
            let condition = doc! {field: {op.as_str(): (*arg).clone()}};
            !Filter::parse(&condition).is_ok_and(|f| f.matches(doc))
        })
        .map(|(index, (op, arg))| (index, operator(field, op, arg, doc)))
        .collect();
    and_of(failing)
}

fn operator(field: &str, op: &str, arg: &Bson, doc: &Document) -> Document {
    let specified = if op == "$eq" && !matches!(arg, Bson::Document(_)) {
        doc! {field: arg.clone()}
    } else {
        doc! {field: {op: arg.clone()}}
    };
    let mut details = doc! {"operatorName": op, "specifiedAs": specified};
    match lookup(doc, field) {
        Found::Missing => {
            details.insert("reason", "field was missing");
        }
        Found::Value(value) => {
            details.insert("reason", reason(op, arg));
            if op == "$type" {
                details.insert("consideredType", type_name(value));
            }
            details.insert("consideredValue", value.clone());
        }
        Found::ThroughArray => {
            details.insert("reason", reason(op, arg));
        }
    }
    details
}

fn reason(op: &str, arg: &Bson) -> &'static str {
    match op {
        "$type" => "type did not match",
        "$regex" => "regular expression did not match",
        "$in" => "no matching value found in array",
        "$nin" => "matching value found in array",
        "$exists" if arg.as_bool() == Some(false) => "field was present",
        "$exists" => "field was missing",
        "$size" | "$all" | "$elemMatch" => "array did not match specification",
        "$not" => "child expression matched",
        "$mod" => "value did not match modulus",
        "$bitsAllSet" | "$bitsAllClear" | "$bitsAnySet" | "$bitsAnyClear" => {
            "bitwise operator failed to match"
        }
        _ => "comparison failed",
    }
}

enum Found<'a> {
    Missing,
    Value(&'a Bson),
    /// The path crosses an array; the matcher looked at several values.
    ThroughArray,
}

fn lookup<'a>(doc: &'a Document, path: &str) -> Found<'a> {
    let mut parts = path.split('.');
    let Some(first) = parts.next() else {
        return Found::Missing;
    };
    let Some(mut value) = doc.get(first) else {
        return Found::Missing;
    };
    for part in parts {
        value = match value {
            Bson::Document(inner) => match inner.get(part) {
                Some(next) => next,
                None => return Found::Missing,
            },
            Bson::Array(_) => return Found::ThroughArray,
            _ => return Found::Missing,
        };
    }
    Found::Value(value)
}
