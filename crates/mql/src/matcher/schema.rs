//! `$jsonSchema`: MongoDB's dialect of JSON Schema draft 4, parsed once
//! into a [`Schema`] and checked against a value.
//!
//! As in JSON Schema, a keyword that constrains one type ignores values of
//! other types: `{minimum: 5}` accepts a string, `{required: ["a"]}`
//! accepts a number. At the top level the value is the whole document.
//! Keywords mongod supports are parsed; `$ref`, `$schema`, `default`,
//! `definitions`, `format`, `id` and the encryption keywords are refused as
//! unsupported, and anything else as unknown (FailedToParse, as mongod).
//! Nesting counts towards [`FILTER_DEPTH_MAX`], which bounds parsing and
//! matching recursion.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::operand::integer;
use super::parse::FILTER_DEPTH_MAX;
use super::pred::TypeSet;
use super::regex::Pattern;
use crate::order::{self, Number};
use crate::{Error, Result};

/// Keywords mongod knows but does not implement.
const UNSUPPORTED: [&str; 8] = [
    "$ref",
    "$schema",
    "default",
    "definitions",
    "format",
    "id",
    "encrypt",
    "encryptMetadata",
];

/// One parsed (sub)schema; every keyword is optional.
#[derive(Debug, Clone, Default)]
pub(super) struct Schema {
    types: Option<TypeSet>,
    // Numbers.
    minimum: Option<(Number, bool)>,
    maximum: Option<(Number, bool)>,
    multiple_of: Option<Number>,
    // Strings.
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<Pattern>,
    // Objects.
    required: Vec<String>,
    properties: Vec<(String, Schema)>,
    pattern_properties: Vec<(Pattern, Schema)>,
    additional_properties: Option<Additional>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    dependencies: Vec<(String, Dependency)>,
    // Arrays.
    items: Option<Items>,
    additional_items: Option<Additional>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    // Any type.
    enumeration: Option<Vec<Bson>>,
    all_of: Vec<Schema>,
    any_of: Vec<Schema>,
    one_of: Vec<Schema>,
    not: Option<Box<Schema>>,
}

/// `additionalProperties` / `additionalItems`: a boolean or a schema.
#[derive(Debug, Clone)]
enum Additional {
    Allowed(bool),
    Schema(Box<Schema>),
}

#[derive(Debug, Clone)]
enum Items {
    All(Box<Schema>),
    Each(Vec<Schema>),
}

#[derive(Debug, Clone)]
enum Dependency {
    Fields(Vec<String>),
    Schema(Box<Schema>),
}

/// Parses the operand of `$jsonSchema`.
pub(super) fn parse(value: &Bson, depth: usize) -> Result<Schema> {
    match value {
        Bson::Document(schema) => parse_schema(schema, depth),
        _ => Err(Error::type_mismatch("$jsonSchema must be an object")),
    }
}

fn parse_schema(doc: &Document, depth: usize) -> Result<Schema> {
    if depth > FILTER_DEPTH_MAX {
        return Err(Error::bad_value(format!(
            "exceeded depth limit of {FILTER_DEPTH_MAX} when parsing match expression"
        )));
    }
    let mut schema = Schema::default();
    for (key, value) in doc {
        keyword(&mut schema, doc, key, value, depth)?;
    }
    if doc.contains_key("exclusiveMinimum") && schema.minimum.is_none() {
        return Err(needs("exclusiveMinimum", "minimum"));
    }
    if doc.contains_key("exclusiveMaximum") && schema.maximum.is_none() {
        return Err(needs("exclusiveMaximum", "maximum"));
    }
    Ok(schema)
}

/// Keywords are split in two so that the frame on the recursive path
/// (nested schemas) stays small: a hundred levels must fit a thread's stack
/// in debug builds too.
fn keyword(
    schema: &mut Schema,
    doc: &Document,
    key: &str,
    value: &Bson,
    depth: usize,
) -> Result<()> {
    match key {
        "properties"
        | "patternProperties"
        | "additionalProperties"
        | "dependencies"
        | "items"
        | "additionalItems"
        | "allOf"
        | "anyOf"
        | "oneOf"
        | "not" => nested_keyword(schema, key, value, depth),
        _ => scalar_keyword(schema, doc, key, value),
    }
}

fn nested_keyword(schema: &mut Schema, key: &str, value: &Bson, depth: usize) -> Result<()> {
    let sub = |value: &Bson| sub_schema(key, value, depth);
    match key {
        "properties" => {
            for (name, property) in object(key, value)? {
                schema.properties.push((name.clone(), sub(property)?));
            }
        }
        "patternProperties" => {
            for (regex, property) in object(key, value)? {
                let pattern = Pattern::new(regex, "")?;
                schema.pattern_properties.push((pattern, sub(property)?));
            }
        }
        "additionalProperties" => {
            schema.additional_properties = Some(additional(key, value, depth)?)
        }
        "dependencies" => {
            for (name, dependency) in object(key, value)? {
                let parsed = match dependency {
                    Bson::Array(_) => Dependency::Fields(names(key, dependency)?),
                    _ => Dependency::Schema(Box::new(sub(dependency)?)),
                };
                schema.dependencies.push((name.clone(), parsed));
            }
        }
        "items" => {
            schema.items = Some(match value {
                Bson::Array(each) => Items::Each(sub_schemas(key, each, depth)?),
                _ => Items::All(Box::new(sub(value)?)),
            });
        }
        "additionalItems" => schema.additional_items = Some(additional(key, value, depth)?),
        "allOf" => schema.all_of = schemas(key, value, depth)?,
        "anyOf" => schema.any_of = schemas(key, value, depth)?,
        "oneOf" => schema.one_of = schemas(key, value, depth)?,
        _ => schema.not = Some(Box::new(sub(value)?)),
    }
    Ok(())
}

fn scalar_keyword(schema: &mut Schema, doc: &Document, key: &str, value: &Bson) -> Result<()> {
    match key {
        "title" | "description" => {
            string(key, value)?;
        }
        "type" => schema.types = Some(json_types(value)?),
        "bsonType" => schema.types = Some(bson_types(value)?),
        "minimum" => schema.minimum = Some((number(key, value)?, flag(doc, "exclusiveMinimum")?)),
        "maximum" => schema.maximum = Some((number(key, value)?, flag(doc, "exclusiveMaximum")?)),
        "exclusiveMinimum" | "exclusiveMaximum" => {
            flag(doc, key)?;
        }
        "multipleOf" => {
            let divisor = number(key, value)?;
            if divisor.as_f64().is_nan() || divisor.as_f64() <= 0.0 {
                return Err(Error::failed_to_parse(
                    "$jsonSchema keyword 'multipleOf' must have a positive value",
                ));
            }
            schema.multiple_of = Some(divisor);
        }
        "minLength" => schema.min_length = Some(count(key, value)?),
        "maxLength" => schema.max_length = Some(count(key, value)?),
        "pattern" => schema.pattern = Some(Pattern::new(string(key, value)?, "")?),
        "required" => schema.required = names(key, value)?,
        "minProperties" => schema.min_properties = Some(count(key, value)?),
        "maxProperties" => schema.max_properties = Some(count(key, value)?),
        "minItems" => schema.min_items = Some(count(key, value)?),
        "maxItems" => schema.max_items = Some(count(key, value)?),
        "uniqueItems" => {
            schema.unique_items = match value {
                Bson::Boolean(b) => *b,
                _ => return Err(wrong_type(key, "a boolean")),
            }
        }
        "enum" => {
            let Bson::Array(values) = value else {
                return Err(wrong_type(key, "an array"));
            };
            if values.is_empty() {
                return Err(Error::failed_to_parse(
                    "$jsonSchema keyword 'enum' cannot be an empty array",
                ));
            }
            schema.enumeration = Some(values.clone());
        }
        _ if UNSUPPORTED.contains(&key) => {
            return Err(Error::failed_to_parse(format!(
                "$jsonSchema keyword '{key}' is not currently supported"
            )));
        }
        _ => {
            return Err(Error::failed_to_parse(format!(
                "Unknown $jsonSchema keyword: {key}"
            )));
        }
    }
    Ok(())
}

fn sub_schema(key: &str, value: &Bson, depth: usize) -> Result<Schema> {
    match value {
        Bson::Document(doc) => parse_schema(doc, depth + 1),
        _ => Err(wrong_type(key, "an object")),
    }
}

fn schemas(key: &str, value: &Bson, depth: usize) -> Result<Vec<Schema>> {
    let Bson::Array(items) = value else {
        return Err(wrong_type(key, "an array"));
    };
    if items.is_empty() {
        return Err(Error::bad_value(format!(
            "$jsonSchema keyword '{key}' must be a non-empty array"
        )));
    }
    sub_schemas(key, items, depth)
}

/// A plain loop, not `collect`: the iterator adapters `collect` goes
/// through add frames holding a `Schema` each to the recursive path, and
/// 99 levels of `anyOf` overflowed a 2 MiB stack in debug builds (found by
/// the `run_command` fuzz target).
fn sub_schemas(key: &str, items: &[Bson], depth: usize) -> Result<Vec<Schema>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(sub_schema(key, item, depth)?);
    }
    Ok(out)
}

fn additional(key: &str, value: &Bson, depth: usize) -> Result<Additional> {
    match value {
        Bson::Boolean(allowed) => Ok(Additional::Allowed(*allowed)),
        Bson::Document(doc) => Ok(Additional::Schema(Box::new(parse_schema(doc, depth + 1)?))),
        _ => Err(wrong_type(key, "either an object or a boolean")),
    }
}

fn wrong_type(key: &str, expected: &str) -> Error {
    Error::type_mismatch(format!("$jsonSchema keyword '{key}' must be {expected}"))
}

fn needs(key: &str, other: &str) -> Error {
    Error::failed_to_parse(format!(
        "$jsonSchema keyword '{other}' must be a present if {key} is present"
    ))
}

fn string<'a>(key: &str, value: &'a Bson) -> Result<&'a str> {
    value.as_str().ok_or_else(|| wrong_type(key, "a string"))
}

fn object<'a>(key: &str, value: &'a Bson) -> Result<&'a Document> {
    value
        .as_document()
        .ok_or_else(|| wrong_type(key, "an object"))
}

fn number(key: &str, value: &Bson) -> Result<Number> {
    Number::of(value).ok_or_else(|| wrong_type(key, "a number"))
}

fn flag(doc: &Document, key: &str) -> Result<bool> {
    match doc.get(key) {
        None => Ok(false),
        Some(Bson::Boolean(b)) => Ok(*b),
        Some(_) => Err(wrong_type(key, "a boolean")),
    }
}

fn count(key: &str, value: &Bson) -> Result<u64> {
    let n = integer(value).ok_or_else(|| {
        Error::failed_to_parse(format!(
            "$jsonSchema keyword '{key}' must be a representable as a long integer"
        ))
    })?;
    u64::try_from(n).map_err(|_| {
        Error::failed_to_parse(format!("$jsonSchema keyword '{key}' must be non-negative"))
    })
}

/// `required` and property dependencies: a non-empty array of distinct strings.
fn names(key: &str, value: &Bson) -> Result<Vec<String>> {
    let Bson::Array(items) = value else {
        return Err(wrong_type(key, "an array"));
    };
    if items.is_empty() {
        return Err(Error::bad_value(format!(
            "$jsonSchema keyword '{key}' cannot be an empty array"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let name = item
            .as_str()
            .ok_or_else(|| wrong_type(key, "an array of strings"))?;
        if out.iter().any(|n| n == name) {
            return Err(Error::failed_to_parse(format!(
                "$jsonSchema keyword '{key}' array cannot contain duplicate values"
            )));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

/// `type`: JSON Schema's type names (`integer` is not supported by mongod).
fn json_types(value: &Bson) -> Result<TypeSet> {
    type_names("type", value, |types, name| {
        let alias = match name {
            "object" | "array" | "number" | "string" | "null" => name,
            "boolean" => "bool",
            "integer" => {
                return Err(Error::bad_value(
                    "$jsonSchema type 'integer' is not currently supported.",
                ));
            }
            _ => return Err(Error::bad_value(format!("Unknown type name alias: {name}"))),
        };
        types.insert_alias(alias);
        Ok(())
    })
}

/// `bsonType`: the `$type` aliases.
fn bson_types(value: &Bson) -> Result<TypeSet> {
    type_names("bsonType", value, |types, name| {
        match types.insert_alias(name) {
            true => Ok(()),
            false => Err(Error::bad_value(format!("Unknown type name alias: {name}"))),
        }
    })
}

fn type_names(
    key: &str,
    value: &Bson,
    mut add: impl FnMut(&mut TypeSet, &str) -> Result<()>,
) -> Result<TypeSet> {
    let mut types = TypeSet::default();
    match value {
        Bson::String(name) => add(&mut types, name)?,
        Bson::Array(names) if !names.is_empty() => {
            for name in names {
                add(&mut types, string(key, name)?)?;
            }
        }
        Bson::Array(_) => {
            return Err(Error::failed_to_parse(format!(
                "$jsonSchema keyword '{key}' must name at least one type"
            )));
        }
        _ => return Err(wrong_type(key, "either a string or an array of strings")),
    }
    Ok(types)
}

/// A value being checked: documents are kept by reference, so the top
/// level (a stored document) is never copied into a `Bson`.
#[derive(Clone, Copy)]
enum Value<'a> {
    Doc(&'a Document),
    Other(&'a Bson),
}

impl<'a> Value<'a> {
    fn of(value: &'a Bson) -> Value<'a> {
        match value {
            Bson::Document(doc) => Value::Doc(doc),
            other => Value::Other(other),
        }
    }
}

impl Schema {
    /// Whether the document `doc` satisfies this schema (`$jsonSchema`'s
    /// top level).
    pub(super) fn matches_document(&self, doc: &Document) -> bool {
        self.matches(Value::Doc(doc))
    }

    fn matches(&self, value: Value<'_>) -> bool {
        let typed = match value {
            Value::Doc(doc) => {
                self.types
                    .is_none_or(|t| t.contains(&Bson::Document(Document::new())))
                    && self.object_matches(doc)
            }
            Value::Other(other) => {
                self.types.is_none_or(|t| t.contains(other))
                    && match other {
                        Bson::Array(items) => self.array_matches(items),
                        Bson::String(s) => self.string_matches(s),
                        _ => Number::of(other).is_none_or(|n| self.number_matches(n)),
                    }
            }
        };
        typed && self.any_type_matches(value)
    }

    fn any_type_matches(&self, value: Value<'_>) -> bool {
        if let Some(values) = &self.enumeration {
            let found = match value {
                Value::Doc(doc) => {
                    let doc = Bson::Document(doc.clone());
                    values.iter().any(|v| order::equal(v, &doc))
                }
                Value::Other(other) => values.iter().any(|v| order::equal(v, other)),
            };
            if !found {
                return false;
            }
        }
        self.all_of.iter().all(|s| s.matches(value))
            && (self.any_of.is_empty() || self.any_of.iter().any(|s| s.matches(value)))
            && (self.one_of.is_empty()
                || self.one_of.iter().filter(|s| s.matches(value)).count() == 1)
            && self.not.as_ref().is_none_or(|s| !s.matches(value))
    }

    fn number_matches(&self, n: Number) -> bool {
        let within = |bound: &Option<(Number, bool)>, outside: Ordering| match bound {
            Some((limit, exclusive)) => match n.total_cmp(*limit) {
                Ordering::Equal => !exclusive,
                order => order != outside,
            },
            None => true,
        };
        let multiple = self.multiple_of.is_none_or(|d| {
            let quotient = n.as_f64() / d.as_f64();
            quotient.is_finite() && quotient.fract() == 0.0
        });
        within(&self.minimum, Ordering::Less)
            && within(&self.maximum, Ordering::Greater)
            && multiple
    }

    fn string_matches(&self, s: &str) -> bool {
        let length = s.chars().count() as u64;
        self.min_length.is_none_or(|min| length >= min)
            && self.max_length.is_none_or(|max| length <= max)
            && self
                .pattern
                .as_ref()
                .is_none_or(|p| p.matches(&Bson::String(s.to_owned())))
    }

    fn object_matches(&self, doc: &Document) -> bool {
        let n = doc.len() as u64;
        if self.min_properties.is_some_and(|min| n < min)
            || self.max_properties.is_some_and(|max| n > max)
            || self.required.iter().any(|name| !doc.contains_key(name))
        {
            return false;
        }
        let dependencies_hold = self.dependencies.iter().all(|(name, dependency)| {
            !doc.contains_key(name)
                || match dependency {
                    Dependency::Fields(fields) => fields.iter().all(|f| doc.contains_key(f)),
                    Dependency::Schema(schema) => schema.matches(Value::Doc(doc)),
                }
        });
        dependencies_hold
            && doc
                .iter()
                .all(|(name, value)| self.property_matches(name, value))
    }

    fn property_matches(&self, name: &str, value: &Bson) -> bool {
        let mut covered = false;
        for (property, schema) in &self.properties {
            if property == name {
                covered = true;
                if !schema.matches(Value::of(value)) {
                    return false;
                }
            }
        }
        if !self.pattern_properties.is_empty() {
            let key = Bson::String(name.to_owned());
            for (pattern, schema) in &self.pattern_properties {
                if pattern.matches(&key) {
                    covered = true;
                    if !schema.matches(Value::of(value)) {
                        return false;
                    }
                }
            }
        }
        covered || additional_matches(self.additional_properties.as_ref(), value)
    }

    fn array_matches(&self, items: &[Bson]) -> bool {
        let n = items.len() as u64;
        if self.min_items.is_some_and(|min| n < min) || self.max_items.is_some_and(|max| n > max) {
            return false;
        }
        if self.unique_items && has_duplicates(items) {
            return false;
        }
        match &self.items {
            None => true,
            Some(Items::All(schema)) => items.iter().all(|item| schema.matches(Value::of(item))),
            Some(Items::Each(schemas)) => {
                items
                    .iter()
                    .enumerate()
                    .all(|(i, item)| match schemas.get(i) {
                        Some(schema) => schema.matches(Value::of(item)),
                        None => additional_matches(self.additional_items.as_ref(), item),
                    })
            }
        }
    }
}

fn additional_matches(additional: Option<&Additional>, value: &Bson) -> bool {
    match additional {
        None | Some(Additional::Allowed(true)) => true,
        Some(Additional::Allowed(false)) => false,
        Some(Additional::Schema(schema)) => schema.matches(Value::of(value)),
    }
}

/// Sorts a copy, so a large array costs n log n comparisons, not n².
fn has_duplicates(items: &[Bson]) -> bool {
    let mut sorted: Vec<&Bson> = items.iter().collect();
    sorted.sort_by(|a, b| order::compare(a, b));
    sorted
        .windows(2)
        .any(|pair| matches!(pair, [a, b] if order::compare(a, b) == Ordering::Equal))
}
