//! `$jsonSchema`, from the manual's "$jsonSchema" and "JSON Schema
//! Validation" pages: each keyword on the types it constrains, other types
//! passing it, composition, and parse errors.

use bson::{Bson, doc};

use super::{check, check_error};
use crate::Code;

fn schema_check(schema: bson::Document, cases: &[(bson::Document, bool)]) {
    check(doc! {"$jsonSchema": schema}, cases);
}

#[test]
fn schema_types_and_required_fields() {
    schema_check(
        doc! {"bsonType": "object", "required": ["name", "year"], "properties": {
            "name": {"bsonType": "string"},
            "year": {"bsonType": "int", "minimum": 2017, "maximum": 3017},
            "gpa": {"bsonType": ["double", "int"]},
        }},
        &[
            (doc! {"name": "Alice", "year": 2019}, true),
            (doc! {"name": "Alice", "year": 2019, "gpa": 3.5}, true),
            (doc! {"name": "Alice", "year": 2019, "gpa": "A"}, false),
            (doc! {"name": "Alice"}, false),
            (doc! {"name": 5, "year": 2019}, false),
            (doc! {"name": "Alice", "year": 2016}, false),
            (doc! {"name": "Alice", "year": Bson::Int64(2019)}, false),
        ],
    );
    schema_check(
        doc! {"properties": {"a": {"type": ["number", "null"]}, "b": {"type": "boolean"}}},
        &[
            (doc! {"a": 1.5, "b": true}, true),
            (doc! {"a": Bson::Null}, true),
            (doc! {"a": "1"}, false),
            (doc! {"b": 1}, false),
            (doc! {}, true),
        ],
    );
    schema_check(doc! {"bsonType": "array"}, &[(doc! {}, false)]);
}

#[test]
fn schema_keywords_ignore_values_of_other_types() {
    schema_check(
        doc! {"properties": {"v": {"minimum": 5, "minLength": 2, "minItems": 2, "required": ["x"]}}},
        &[
            (doc! {"v": 7}, true),
            (doc! {"v": 3}, false),
            (doc! {"v": "ab"}, true),
            (doc! {"v": "a"}, false),
            (doc! {"v": [1, 2]}, true),
            (doc! {"v": [1]}, false),
            (doc! {"v": {"x": 1}}, true),
            (doc! {"v": {"y": 1}}, false),
            (doc! {"v": true}, true),
        ],
    );
}

#[test]
fn schema_numbers_strings_and_enums() {
    let cases = [
        (
            doc! {"exclusiveMinimum": true, "minimum": 0},
            Bson::Int32(0),
            false,
        ),
        (
            doc! {"exclusiveMinimum": false, "minimum": 0},
            Bson::Int32(0),
            true,
        ),
        (
            doc! {"exclusiveMaximum": true, "maximum": 1.5},
            Bson::Double(1.5),
            false,
        ),
        (doc! {"maximum": 1.5}, Bson::Int64(1), true),
        (doc! {"multipleOf": 3}, Bson::Int32(9), true),
        (doc! {"multipleOf": 3}, Bson::Int32(10), false),
        (doc! {"maxLength": 2}, Bson::String("héé".into()), false),
        (doc! {"maxLength": 3}, Bson::String("héé".into()), true),
        (doc! {"pattern": "^a+$"}, Bson::String("aaa".into()), true),
        (doc! {"pattern": "^a+$"}, Bson::String("ab".into()), false),
        (doc! {"enum": ["x", 1]}, Bson::Double(1.0), true),
        (doc! {"enum": ["x", 1]}, Bson::String("y".into()), false),
    ];
    for (schema, value, expected) in cases {
        schema_check(
            doc! {"properties": {"v": schema}},
            &[(doc! {"v": value}, expected)],
        );
    }
}

#[test]
fn schema_objects_and_arrays() {
    schema_check(
        doc! {"properties": {"a": {}}, "patternProperties": {"^x": {"bsonType": "int"}}, "additionalProperties": false},
        &[
            (doc! {"a": 1, "x1": 2}, true),
            (doc! {"a": 1, "x1": "2"}, false),
            (doc! {"a": 1, "b": 2}, false),
        ],
    );
    schema_check(
        doc! {"additionalProperties": {"bsonType": "string"}, "properties": {"_id": {}}, "minProperties": 2, "maxProperties": 3},
        &[
            (doc! {"_id": 1, "a": "x"}, true),
            (doc! {"_id": 1, "a": 1}, false),
            (doc! {"_id": 1}, false),
            (doc! {"_id": 1, "a": "x", "b": "y", "c": "z"}, false),
        ],
    );
    schema_check(
        doc! {"properties": {"t": {"items": {"bsonType": "string"}, "uniqueItems": true, "maxItems": 3}}},
        &[
            (doc! {"t": ["a", "b"]}, true),
            (doc! {"t": ["a", "a"]}, false),
            (doc! {"t": ["a", 1]}, false),
            (doc! {"t": ["a", "b", "c", "d"]}, false),
        ],
    );
    schema_check(
        doc! {"properties": {"p": {"items": [{"bsonType": "int"}, {"bsonType": "string"}], "additionalItems": false}}},
        &[
            (doc! {"p": [1, "a"]}, true),
            (doc! {"p": [1]}, true),
            (doc! {"p": ["a"]}, false),
            (doc! {"p": [1, "a", 2]}, false),
        ],
    );
    schema_check(
        doc! {"dependencies": {"card": ["billing"], "vip": {"required": ["level"]}}},
        &[
            (doc! {"card": 1, "billing": 2}, true),
            (doc! {"card": 1}, false),
            (doc! {"vip": true}, false),
            (doc! {"vip": true, "level": 3}, true),
        ],
    );
}

#[test]
fn schema_composition() {
    schema_check(
        doc! {"properties": {"n": {
            "anyOf": [{"bsonType": "string"}, {"minimum": 10, "bsonType": "int"}],
            "not": {"enum": ["forbidden"]},
        }}},
        &[
            (doc! {"n": "ok"}, true),
            (doc! {"n": 12}, true),
            (doc! {"n": 5}, false),
            (doc! {"n": "forbidden"}, false),
        ],
    );
    schema_check(
        doc! {"properties": {"n": {"oneOf": [{"minimum": 0}, {"maximum": 10}]}}},
        &[
            (doc! {"n": -5}, true),
            (doc! {"n": 5}, false),
            (doc! {"n": 15}, true),
        ],
    );
    schema_check(
        doc! {"allOf": [{"required": ["a"]}, {"required": ["b"]}], "title": "t", "description": "d"},
        &[(doc! {"a": 1, "b": 1}, true), (doc! {"a": 1}, false)],
    );
    check(
        doc! {"$jsonSchema": {"required": ["a"]}, "a": {"$gt": 1}},
        &[
            (doc! {"a": 2}, true),
            (doc! {"a": 1}, false),
            (doc! {}, false),
        ],
    );
}

#[test]
fn schema_parse_errors() {
    let cases = [
        (
            Bson::Int32(1),
            Code::TYPE_MISMATCH,
            "$jsonSchema must be an object",
        ),
        (
            doc! {"bogus": 1}.into(),
            Code::FAILED_TO_PARSE,
            "Unknown $jsonSchema keyword: bogus",
        ),
        (
            doc! {"$ref": "#/x"}.into(),
            Code::FAILED_TO_PARSE,
            "is not currently supported",
        ),
        (
            doc! {"format": "email"}.into(),
            Code::FAILED_TO_PARSE,
            "is not currently supported",
        ),
        (
            doc! {"type": "integer"}.into(),
            Code::BAD_VALUE,
            "'integer' is not currently supported",
        ),
        (
            doc! {"bsonType": "bogus"}.into(),
            Code::BAD_VALUE,
            "Unknown type name alias",
        ),
        (
            doc! {"required": "a"}.into(),
            Code::TYPE_MISMATCH,
            "must be an array",
        ),
        (
            doc! {"required": ["a", "a"]}.into(),
            Code::FAILED_TO_PARSE,
            "duplicate",
        ),
        (
            doc! {"minLength": -1}.into(),
            Code::FAILED_TO_PARSE,
            "non-negative",
        ),
        (
            doc! {"exclusiveMinimum": true}.into(),
            Code::FAILED_TO_PARSE,
            "minimum",
        ),
        (
            doc! {"properties": {"a": 1}}.into(),
            Code::TYPE_MISMATCH,
            "must be an object",
        ),
        (doc! {"anyOf": []}.into(), Code::BAD_VALUE, "non-empty"),
        (doc! {"enum": []}.into(), Code::FAILED_TO_PARSE, "empty"),
        (
            doc! {"properties": {"a": {"properties": {"b": {"maxItems": "x"}}}}}.into(),
            Code::FAILED_TO_PARSE,
            "maxItems",
        ),
    ];
    for (schema, code, message) in cases {
        check_error(doc! {"$jsonSchema": schema}, code, message);
    }
}

#[test]
fn schema_nesting_is_bounded() {
    let mut schema = doc! {};
    for _ in 0..150 {
        schema = doc! {"properties": {"a": schema}};
    }
    check_error(doc! {"$jsonSchema": schema}, Code::BAD_VALUE, "depth limit");
    let (mut schema, mut good, mut bad) = (
        doc! {"properties": {"a": {"bsonType": "int"}}},
        doc! {"a": 1},
        doc! {"a": "1"},
    );
    for _ in 0..95 {
        schema = doc! {"required": ["a"], "properties": {"a": schema}};
        good = doc! {"a": good};
        bad = doc! {"a": bad};
    }
    schema_check(schema, &[(good, true), (bad, false)]);
}

mod properties {
    //! Generated schemas: parsing and matching never panic, `not` negates
    //! and a one-element `allOf` changes nothing.

    use bson::{Bson, Document, doc};
    use proptest::prelude::*;

    use crate::matcher::Filter;

    fn keyword() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "bsonType",
            "type",
            "required",
            "properties",
            "patternProperties",
            "additionalProperties",
            "dependencies",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
            "minLength",
            "maxLength",
            "pattern",
            "enum",
            "items",
            "additionalItems",
            "minItems",
            "maxItems",
            "uniqueItems",
            "minProperties",
            "maxProperties",
            "allOf",
            "anyOf",
            "oneOf",
            "not",
            "a",
            "b",
        ])
        .prop_map(str::to_owned)
    }

    fn scalar() -> impl Strategy<Value = Bson> {
        prop_oneof![
            Just(Bson::Null),
            (-2i32..4).prop_map(Bson::Int32),
            any::<f64>().prop_map(Bson::Double),
            any::<bool>().prop_map(Bson::Boolean),
            prop::sample::select(vec![
                "a", "b", "int", "string", "object", "array", "number", "^a", "("
            ])
            .prop_map(|s| Bson::String(s.to_owned())),
        ]
    }

    fn value() -> impl Strategy<Value = Bson> {
        scalar().prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
                prop::collection::vec((keyword(), inner), 0..3)
                    .prop_map(|fields| Bson::Document(fields.into_iter().collect::<Document>())),
            ]
        })
    }

    fn schema() -> impl Strategy<Value = Document> {
        prop::collection::vec((keyword(), value()), 0..4).prop_map(|f| f.into_iter().collect())
    }

    fn document() -> impl Strategy<Value = Document> {
        prop::collection::vec((prop::sample::select(vec!["a", "b", "c"]), value()), 0..4)
            .prop_map(|f| f.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    proptest! {
        #[test]
        fn schemas_never_panic_and_not_negates(schema in schema(), doc in document()) {
            if let Ok(parsed) = Filter::parse(&doc! {"$jsonSchema": schema.clone()}) {
                let matched = parsed.matches(&doc);
                let negated = Filter::parse(&doc! {"$jsonSchema": {"not": schema.clone()}});
                prop_assert!(negated.is_ok());
                if let Ok(negated) = negated {
                    prop_assert_eq!(negated.matches(&doc), !matched);
                }
                let wrapped = Filter::parse(&doc! {"$jsonSchema": {"allOf": [schema.clone()]}});
                prop_assert!(wrapped.is_ok());
                if let Ok(wrapped) = wrapped {
                    prop_assert_eq!(wrapped.matches(&doc), matched);
                }
            }
        }
    }
}

/// Schemas nested just under the depth limit parse and match on a 2 MiB
/// stack (the server's threads', tokio's blocking pool), debug builds
/// included: through `anyOf` and `items` arrays, 99 levels overflowed it
/// (found probing the `run_command` fuzz target's nesting shapes).
#[test]
fn schema_nesting_under_the_limit_fits_a_small_stack() {
    let wraps: [fn(Bson) -> Bson; 5] = [
        |s| bson::bson!({"anyOf": [s]}),
        |s| bson::bson!({"allOf": [s, {}]}),
        |s| bson::bson!({"items": [s]}),
        |s| bson::bson!({"not": s}),
        |s| bson::bson!({"properties": {"a": s}}),
    ];
    for wrap in wraps {
        let mut schema = bson::bson!({"bsonType": "int"});
        for _ in 0..crate::matcher::FILTER_DEPTH_MAX - 2 {
            schema = wrap(schema);
        }
        let run = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let filter = crate::matcher::Filter::parse(&doc! {"$jsonSchema": schema})?;
                Ok::<bool, crate::Error>(filter.matches(&doc! {"a": [1]}))
            })
            .expect("spawn")
            .join();
        assert!(matches!(run, Ok(Ok(_))), "{run:?}");
    }
}
