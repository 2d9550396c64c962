//! The unified test format's matching rules: whether an actual value (a
//! result, a command, a reply) matches an expected one.
//!
//! Rules kept here:
//! - a root-level document may have keys the expected one lacks; a nested
//!   document may not (keys expected to be absent with `$$exists: false`
//!   aside); documents directly in a root-level array are root-level too;
//! - arrays match element by element and must have the same length;
//! - int32, int64 and double are equal when their values are;
//! - the special operators `$$exists`, `$$type`, `$$unsetOrMatches`,
//!   `$$sessionLsid`, `$$matchesEntity`, `$$matchesHexBytes`, `$$lte`,
//!   `$$matchAsDocument` and `$$matchAsRoot`.
//!
//! Entities are reached through [`Entities`], so the rules are pure and can
//! be tested without a client. A mismatch says where (a dotted path) and
//! why; it never panics, whatever the documents.

use bson::{Bson, Document};

/// Expected documents nest at most this deep (BSON's own limit is 100).
const DEPTH_MAX: usize = 100;

/// What the matcher needs from the entity map.
pub trait Entities {
    /// The value stored as entity `id` (a saved result), if any.
    fn value(&self, id: &str) -> Option<Bson>;
    /// The `lsid` of session entity `id`, if there is one.
    fn session_lsid(&self, id: &str) -> Option<Document>;
}

/// No entities: for matching where no operator refers to one.
pub struct NoEntities;

impl Entities for NoEntities {
    fn value(&self, _id: &str) -> Option<Bson> {
        None
    }
    fn session_lsid(&self, _id: &str) -> Option<Document> {
        None
    }
}

/// Checks that `actual` matches `expected` as a root-level value.
pub fn matches_root(expected: &Bson, actual: &Bson, entities: &dyn Entities) -> Result<(), String> {
    Matcher { entities }.value(expected, Some(actual), true, "", 0)
}

/// Checks that `actual` is a document matching `expected` with no keys
/// beyond it (a nested-document match).
pub fn matches_nested(
    expected: &Bson,
    actual: &Bson,
    entities: &dyn Entities,
) -> Result<(), String> {
    Matcher { entities }.value(expected, Some(actual), false, "", 0)
}

struct Matcher<'a> {
    entities: &'a dyn Entities,
}

/// The one special operator a document consists of, if it does.
fn special(document: &Document) -> Option<(&str, &Bson)> {
    let mut entries = document.iter();
    let (key, value) = entries.next()?;
    (entries.next().is_none() && key.starts_with("$$")).then_some((key.as_str(), value))
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Matcher<'_> {
    /// `actual` is `None` when the key is absent from the enclosing
    /// document, which only some operators accept.
    fn value(
        &self,
        expected: &Bson,
        actual: Option<&Bson>,
        root: bool,
        path: &str,
        depth: usize,
    ) -> Result<(), String> {
        if depth > DEPTH_MAX {
            return Err(format!("{path}: expected value nests too deep"));
        }
        if let Bson::Document(doc) = expected
            && let Some((operator, spec)) = special(doc)
        {
            return self.operator(operator, spec, actual, path, depth);
        }
        let Some(actual) = actual else {
            return Err(format!("{path}: missing, expected {expected}"));
        };
        match (expected, actual) {
            (Bson::Document(expected), Bson::Document(actual)) => {
                self.document(expected, actual, root, path, depth)
            }
            (Bson::Document(_), other) => Err(format!("{path}: expected a document, got {other}")),
            (Bson::Array(expected), Bson::Array(actual)) => {
                if expected.len() != actual.len() {
                    return Err(format!(
                        "{path}: expected {} elements, got {}: {}",
                        expected.len(),
                        actual.len(),
                        Bson::Array(actual.clone())
                    ));
                }
                for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
                    self.value(e, Some(a), root, &at(path, &i.to_string()), depth + 1)?;
                }
                Ok(())
            }
            (Bson::Array(_), other) => Err(format!("{path}: expected an array, got {other}")),
            (expected, actual) if equal(expected, actual) => Ok(()),
            (expected, actual) => Err(format!("{path}: expected {expected}, got {actual}")),
        }
    }

    fn document(
        &self,
        expected: &Document,
        actual: &Document,
        root: bool,
        path: &str,
        depth: usize,
    ) -> Result<(), String> {
        for (key, value) in expected {
            self.value(value, actual.get(key), false, &at(path, key), depth + 1)?;
        }
        if root {
            return Ok(());
        }
        let extra: Vec<&String> = actual
            .keys()
            .filter(|k| !expected.contains_key(k.as_str()))
            .collect();
        match extra.is_empty() {
            true => Ok(()),
            false => Err(format!("{path}: unexpected fields {extra:?} in {actual}")),
        }
    }

    fn operator(
        &self,
        operator: &str,
        spec: &Bson,
        actual: Option<&Bson>,
        path: &str,
        depth: usize,
    ) -> Result<(), String> {
        match operator {
            "$$exists" => {
                let want = spec
                    .as_bool()
                    .ok_or(format!("{path}: $$exists takes a bool"))?;
                match (want, actual) {
                    (true, None) => Err(format!("{path}: expected to exist")),
                    (false, Some(a)) => Err(format!("{path}: expected absent, got {a}")),
                    _ => Ok(()),
                }
            }
            "$$unsetOrMatches" => match actual {
                None => Ok(()),
                Some(actual) => self.value(spec, Some(actual), false, path, depth + 1),
            },
            "$$type" => {
                let actual = actual.ok_or(format!("{path}: missing, expected type {spec}"))?;
                let names: Vec<&str> = match spec {
                    Bson::String(name) => vec![name.as_str()],
                    Bson::Array(names) => names.iter().filter_map(Bson::as_str).collect(),
                    _ => return Err(format!("{path}: $$type takes a name or names")),
                };
                match names.iter().any(|name| has_type(actual, name)) {
                    true => Ok(()),
                    false => Err(format!("{path}: expected type {spec}, got {actual}")),
                }
            }
            "$$sessionLsid" => {
                let id = spec
                    .as_str()
                    .ok_or(format!("{path}: $$sessionLsid takes an id"))?;
                let lsid = self
                    .entities
                    .session_lsid(id)
                    .ok_or(format!("{path}: no session entity {id}"))?;
                match actual {
                    Some(Bson::Document(actual)) if *actual == lsid => Ok(()),
                    other => Err(format!(
                        "{path}: expected lsid of {id} ({lsid}), got {other:?}"
                    )),
                }
            }
            "$$matchesEntity" => {
                let id = spec
                    .as_str()
                    .ok_or(format!("{path}: $$matchesEntity takes an id"))?;
                let value = self
                    .entities
                    .value(id)
                    .ok_or(format!("{path}: no entity {id}"))?;
                match actual {
                    Some(actual) if equal(&value, actual) => Ok(()),
                    other => Err(format!(
                        "{path}: expected entity {id} ({value}), got {other:?}"
                    )),
                }
            }
            "$$matchesHexBytes" => {
                let hex = spec
                    .as_str()
                    .ok_or(format!("{path}: $$matchesHexBytes takes hex"))?;
                let bytes = decode_hex(hex).ok_or(format!("{path}: bad hex {hex}"))?;
                match actual {
                    Some(Bson::Binary(binary)) if binary.bytes == bytes => Ok(()),
                    other => Err(format!("{path}: expected bytes {hex}, got {other:?}")),
                }
            }
            "$$lte" => {
                let limit = number(spec).ok_or(format!("{path}: $$lte takes a number"))?;
                match actual.and_then(number) {
                    Some(value) if value <= limit => Ok(()),
                    _ => Err(format!("{path}: expected at most {spec}, got {actual:?}")),
                }
            }
            "$$matchAsDocument" => {
                let Some(Bson::String(text)) = actual else {
                    return Err(format!("{path}: expected a JSON string, got {actual:?}"));
                };
                let parsed = parse_json(text).ok_or(format!("{path}: not JSON: {text}"))?;
                self.value(spec, Some(&parsed), false, path, depth + 1)
            }
            "$$matchAsRoot" => self.value(spec, actual, true, path, depth + 1),
            other => Err(format!("{path}: unsupported operator {other}")),
        }
    }
}

/// Equality with int32, int64 and double compared by value; documents
/// compared key by key in any order (as drivers' maps compare).
pub fn equal(a: &Bson, b: &Bson) -> bool {
    equal_at(a, b, 0)
}

fn equal_at(a: &Bson, b: &Bson, depth: usize) -> bool {
    if depth > DEPTH_MAX {
        return false;
    }
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x == y;
    }
    match (a, b) {
        (Bson::Document(x), Bson::Document(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equal_at(v, w, depth + 1)))
        }
        (Bson::Array(x), Bson::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| equal_at(v, w, depth + 1))
        }
        _ => a == b,
    }
}

/// int32, int64 and double as one number (int64s beyond 2^53 lose
/// precision, which no spec test reaches).
fn number(value: &Bson) -> Option<f64> {
    match value {
        Bson::Int32(n) => Some(f64::from(*n)),
        Bson::Int64(n) => Some(*n as f64),
        Bson::Double(n) => Some(*n),
        _ => None,
    }
}

/// Whether `value` has the BSON type `$$type` spells `name`.
fn has_type(value: &Bson, name: &str) -> bool {
    match name {
        "number" => matches!(
            value,
            Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
        ),
        "double" => matches!(value, Bson::Double(_)),
        "string" => matches!(value, Bson::String(_)),
        "object" => matches!(value, Bson::Document(_)),
        "array" => matches!(value, Bson::Array(_)),
        "binData" => matches!(value, Bson::Binary(_)),
        "undefined" => matches!(value, Bson::Undefined),
        "objectId" => matches!(value, Bson::ObjectId(_)),
        "bool" => matches!(value, Bson::Boolean(_)),
        "date" => matches!(value, Bson::DateTime(_)),
        "null" => matches!(value, Bson::Null),
        "regex" => matches!(value, Bson::RegularExpression(_)),
        "dbPointer" => matches!(value, Bson::DbPointer(_)),
        "javascript" => matches!(value, Bson::JavaScriptCode(_)),
        "symbol" => matches!(value, Bson::Symbol(_)),
        "javascriptWithScope" => matches!(value, Bson::JavaScriptCodeWithScope(_)),
        "int" => matches!(value, Bson::Int32(_)),
        "timestamp" => matches!(value, Bson::Timestamp(_)),
        "long" => matches!(value, Bson::Int64(_)),
        "decimal" => matches!(value, Bson::Decimal128(_)),
        "minKey" => matches!(value, Bson::MinKey),
        "maxKey" => matches!(value, Bson::MaxKey),
        _ => false,
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

fn parse_json(text: &str) -> Option<Bson> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    Bson::try_from(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{Binary, doc, spec::BinarySubtype};

    struct Fixed;

    impl Entities for Fixed {
        fn value(&self, id: &str) -> Option<Bson> {
            (id == "saved").then_some(Bson::Int32(42))
        }
        fn session_lsid(&self, id: &str) -> Option<Document> {
            (id == "session0").then(|| doc! {"id": 7})
        }
    }

    /// Matches `actual` against `expected` as a root value and compares
    /// the verdict with `ok`.
    fn check(expected: Bson, actual: Bson, ok: bool) {
        let result = matches_root(&expected, &actual, &Fixed);
        assert_eq!(
            result.is_ok(),
            ok,
            "expected {expected} vs actual {actual}: {result:?}"
        );
    }

    #[test]
    fn root_document_allows_extra_keys_but_nested_does_not() {
        check(doc! {"a": 1}.into(), doc! {"a": 1, "b": 2}.into(), true);
        check(
            doc! {"a": {"x": 1}}.into(),
            doc! {"a": {"x": 1, "y": 2}}.into(),
            false,
        );
        check(
            doc! {"a": {"x": 1}}.into(),
            doc! {"a": {"x": 1}}.into(),
            true,
        );
        check(doc! {"a": 1}.into(), doc! {"b": 1}.into(), false);
    }

    #[test]
    fn documents_in_a_root_array_are_root_documents() {
        check(
            Bson::Array(vec![doc! {"_id": 1}.into()]),
            Bson::Array(vec![doc! {"_id": 1, "x": 2}.into()]),
            true,
        );
        check(
            doc! {"a": [{"_id": 1}]}.into(),
            doc! {"a": [{"_id": 1, "x": 2}]}.into(),
            false,
        );
    }

    #[test]
    fn arrays_must_have_the_same_length() {
        check(bson::bson!([1, 2]), bson::bson!([1, 2]), true);
        check(bson::bson!([1, 2]), bson::bson!([1, 2, 3]), false);
        check(bson::bson!([1, 2]), bson::bson!([1]), false);
        check(bson::bson!([1]), Bson::Int32(1), false);
    }

    #[test]
    fn numbers_compare_by_value_across_types() {
        check(Bson::Int32(1), Bson::Int64(1), true);
        check(Bson::Int32(1), Bson::Double(1.0), true);
        check(Bson::Int64(2), Bson::Double(2.5), false);
        check(Bson::Int32(1), Bson::String("1".into()), false);
        check(Bson::Boolean(true), Bson::Int32(1), false);
    }

    #[test]
    fn exists_checks_presence() {
        check(
            doc! {"a": {"$$exists": true}}.into(),
            doc! {"a": 0}.into(),
            true,
        );
        check(doc! {"a": {"$$exists": true}}.into(), doc! {}.into(), false);
        check(doc! {"a": {"$$exists": false}}.into(), doc! {}.into(), true);
        check(
            doc! {"a": {"$$exists": false}}.into(),
            doc! {"a": 0}.into(),
            false,
        );
        // A key expected absent may be absent from a nested document too.
        check(
            doc! {"n": {"a": {"$$exists": false}, "b": 1}}.into(),
            doc! {"n": {"b": 1}}.into(),
            true,
        );
    }

    #[test]
    fn type_accepts_a_name_or_a_list_and_number_aliases() {
        check(
            doc! {"a": {"$$type": "int"}}.into(),
            doc! {"a": 1}.into(),
            true,
        );
        check(
            doc! {"a": {"$$type": "long"}}.into(),
            doc! {"a": 1}.into(),
            false,
        );
        check(
            doc! {"a": {"$$type": ["int", "long"]}}.into(),
            doc! {"a": 1_i64}.into(),
            true,
        );
        check(
            doc! {"a": {"$$type": "number"}}.into(),
            doc! {"a": 1.5}.into(),
            true,
        );
        check(
            doc! {"a": {"$$type": "string"}}.into(),
            doc! {}.into(),
            false,
        );
        check(
            doc! {"a": {"$$type": "objectId"}}.into(),
            doc! {"a": bson::oid::ObjectId::new()}.into(),
            true,
        );
    }

    #[test]
    fn unset_or_matches_accepts_absence_or_a_nested_match() {
        let expected: Bson = doc! {"a": {"$$unsetOrMatches": {"x": 1}}}.into();
        check(expected.clone(), doc! {}.into(), true);
        check(expected.clone(), doc! {"a": {"x": 1}}.into(), true);
        check(expected.clone(), doc! {"a": {"x": 1, "y": 2}}.into(), false);
        check(expected, doc! {"a": {"x": 2}}.into(), false);
        check(
            doc! {"$$unsetOrMatches": {"insertedId": 1}}.into(),
            doc! {"insertedId": 1}.into(),
            true,
        );
    }

    #[test]
    fn session_lsid_and_matches_entity_read_the_entities() {
        check(
            doc! {"lsid": {"$$sessionLsid": "session0"}}.into(),
            doc! {"lsid": {"id": 7}}.into(),
            true,
        );
        check(
            doc! {"lsid": {"$$sessionLsid": "session0"}}.into(),
            doc! {"lsid": {"id": 8}}.into(),
            false,
        );
        check(
            doc! {"lsid": {"$$sessionLsid": "nosuch"}}.into(),
            doc! {"lsid": {"id": 7}}.into(),
            false,
        );
        check(
            doc! {"v": {"$$matchesEntity": "saved"}}.into(),
            doc! {"v": 42_i64}.into(),
            true,
        );
        check(
            doc! {"v": {"$$matchesEntity": "saved"}}.into(),
            doc! {"v": 41}.into(),
            false,
        );
    }

    #[test]
    fn lte_compares_numbers_and_requires_the_key() {
        check(
            doc! {"t": {"$$lte": 10}}.into(),
            doc! {"t": 10_i64}.into(),
            true,
        );
        check(
            doc! {"t": {"$$lte": 10}}.into(),
            doc! {"t": 11}.into(),
            false,
        );
        check(doc! {"t": {"$$lte": 10}}.into(), doc! {}.into(), false);
    }

    #[test]
    fn match_as_document_parses_json_and_matches_it_nested() {
        check(
            doc! {"s": {"$$matchAsDocument": {"a": 1}}}.into(),
            doc! {"s": r#"{"a": 1}"#}.into(),
            true,
        );
        check(
            doc! {"s": {"$$matchAsDocument": {"a": 1}}}.into(),
            doc! {"s": r#"{"a": 1, "b": 2}"#}.into(),
            false,
        );
        check(
            doc! {"s": {"$$matchAsDocument": {"a": 1}}}.into(),
            doc! {"s": "not json"}.into(),
            false,
        );
    }

    #[test]
    fn match_as_root_allows_extra_keys_in_a_nested_document() {
        check(
            doc! {"n": {"$$matchAsRoot": {"a": 1}}}.into(),
            doc! {"n": {"a": 1, "b": 2}}.into(),
            true,
        );
        check(
            doc! {"n": {"$$matchAsRoot": {"a": 1}}}.into(),
            doc! {"n": {"b": 2}}.into(),
            false,
        );
    }

    #[test]
    fn matches_hex_bytes_compares_binary_data() {
        let binary = Binary {
            subtype: BinarySubtype::Generic,
            bytes: vec![0xab, 0x01],
        };
        check(
            doc! {"b": {"$$matchesHexBytes": "ab01"}}.into(),
            doc! {"b": binary.clone()}.into(),
            true,
        );
        check(
            doc! {"b": {"$$matchesHexBytes": "ab02"}}.into(),
            doc! {"b": binary}.into(),
            false,
        );
    }

    #[test]
    fn unknown_operators_are_mismatches_not_panics() {
        check(
            doc! {"a": {"$$nosuch": 1}}.into(),
            doc! {"a": 1}.into(),
            false,
        );
        check(
            doc! {"a": {"$$exists": "yes"}}.into(),
            doc! {"a": 1}.into(),
            false,
        );
    }

    #[test]
    fn equal_ignores_key_order_but_not_extra_keys() {
        assert!(equal(
            &doc! {"a": 1, "b": 2}.into(),
            &doc! {"b": 2.0, "a": 1_i64}.into()
        ));
        assert!(!equal(&doc! {"a": 1}.into(), &doc! {"a": 1, "b": 2}.into()));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let mut deep = Bson::Int32(1);
        for _ in 0..(DEPTH_MAX + 10) {
            deep = doc! {"a": deep}.into();
        }
        assert!(matches_root(&deep, &deep, &NoEntities).is_err());
    }
}
