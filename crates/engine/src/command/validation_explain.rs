//! Why a document failed a validator: the `details` of a
//! DocumentValidationFailure's `errInfo`, in mongod 5+'s shape.
//!
//! Each clause is re-checked on its own with the matcher, and only failing
//! clauses are described: a validator of several clauses is an implicit
//! `$and` (`{operatorName: "$and", clausesNotSatisfied: [{index, details}]}`),
//! one clause is described directly (`{operatorName, specifiedAs, reason,
//! consideredValue}`), as mongod simplifies a one-child `$and` away.
//! `$jsonSchema` lists its failing top-level keywords under
//! `schemaRulesNotSatisfied`, naming missing `required` fields and, for
//! `properties`, each failing property's keywords.
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
        "$jsonSchema" => match value {
            Bson::Document(schema) => json_schema(schema, doc),
            _ => doc! {"operatorName": key, "specifiedAs": {key: value.clone()}},
        },
        _ if key.starts_with('$') => {
            doc! {"operatorName": key, "specifiedAs": {key: value.clone()}}
        }
        _ => field_clause(key, value, doc),
    }
}

/// `{operatorName: "$jsonSchema", schemaRulesNotSatisfied: [...]}`: each
/// top-level keyword the document fails, with missing required fields and
/// failing properties named.
fn json_schema(schema: &Document, doc: &Document) -> Document {
    let rules: Vec<Document> = schema
        .iter()
        .filter(|(keyword, value)| !schema_holds(&keyword_schema(schema, keyword, value), doc))
        .map(|(keyword, value)| schema_rule(keyword, value, doc))
        .collect();
    doc! {"operatorName": "$jsonSchema", "schemaRulesNotSatisfied": rules}
}

/// A schema of one keyword (with the flag that qualifies it, if any).
fn keyword_schema(schema: &Document, keyword: &str, value: &Bson) -> Document {
    let mut one = doc! {keyword: value.clone()};
    let flag = match keyword {
        "minimum" => "exclusiveMinimum",
        "maximum" => "exclusiveMaximum",
        _ => return one,
    };
    if let Some(flag_value) = schema.get(flag) {
        one.insert(flag, flag_value.clone());
    }
    one
}

/// Whether `doc` satisfies `schema`; a keyword that cannot stand alone
/// (`exclusiveMinimum`) counts as satisfied and is described with its pair.
fn schema_holds(schema: &Document, doc: &Document) -> bool {
    let filter = doc! {"$jsonSchema": schema.clone()};
    Filter::parse(&filter).map_or(true, |f| f.matches(doc))
}

fn schema_rule(keyword: &str, value: &Bson, doc: &Document) -> Document {
    let mut rule = doc! {"operatorName": keyword, "specifiedAs": {keyword: value.clone()}};
    match (keyword, value) {
        ("required", Bson::Array(names)) => {
            let missing: Vec<Bson> = names
                .iter()
                .filter(|n| n.as_str().is_some_and(|n| !doc.contains_key(n)))
                .cloned()
                .collect();
            rule.insert("missingProperties", missing);
        }
        ("properties", Bson::Document(properties)) => {
            let failing: Vec<Document> = properties
                .iter()
                .filter_map(|(name, sub)| property_rule(name, sub.as_document()?, doc))
                .collect();
            rule = doc! {"operatorName": "properties", "propertiesNotSatisfied": failing};
        }
        _ => {}
    }
    rule
}

/// `{propertyName, details: [...]}` for a property of `doc` failing `sub`.
fn property_rule(name: &str, sub: &Document, doc: &Document) -> Option<Document> {
    let value = doc.get(name)?;
    let details: Vec<Document> = sub
        .iter()
        .filter(|(keyword, v)| {
            let one = doc! {"properties": {name: keyword_schema(sub, keyword, v)}};
            !schema_holds(&one, doc)
        })
        .map(|(keyword, v)| {
            let mut detail = doc! {"operatorName": keyword, "specifiedAs": {keyword: v.clone()}};
            if let Some(reason) = schema_reason(keyword) {
                detail.insert("reason", reason);
            }
            if matches!(keyword.as_str(), "bsonType" | "type") {
                detail.insert("consideredType", type_name(value));
            }
            detail.insert("consideredValue", value.clone());
            detail
        })
        .collect();
    (!details.is_empty()).then(|| doc! {"propertyName": name, "details": details})
}

fn schema_reason(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "bsonType" | "type" => "type did not match",
        "minimum" | "maximum" => "comparison failed",
        "minLength" | "maxLength" => "specified string length was not satisfied",
        "minItems" | "maxItems" => "array did not match specified length",
        "pattern" => "regular expression did not match",
        "enum" => "value was not found in enum",
        _ => return None,
    })
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
