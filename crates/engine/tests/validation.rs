//! Document validation through the command layer: `create` and `collMod`
//! options, enforcement on every write path by level and action, the
//! `errInfo` of a DocumentValidationFailure, and durability of `collMod`.
//! Expectations follow the MongoDB manual's "Schema Validation" pages.

mod common;

use bson::{Bson, Document, doc};
use common::{Session, engine, fails, find, ok, run};
use engine::Engine;

const DB: &str = "app";
const VALIDATION_FAILED: i32 = 121;

/// A collection `c` with `options`, holding `seed` (stored without
/// validation, as documents written before a validator existed are).
fn collection(options: Document, seed: &[Document]) -> Engine {
    let db = engine();
    let mut create = doc! {"create": "c"};
    create.extend(options);
    ok(&db, DB, create);
    if !seed.is_empty() {
        ok(
            &db,
            DB,
            doc! {"insert": "c", "documents": seed.to_vec(), "bypassDocumentValidation": true},
        );
    }
    db
}

/// What a write did: stored (the collection now holds `after`) or failed
/// with `code`.
#[derive(Debug, PartialEq)]
enum Outcome {
    Stored(Vec<Document>),
    Failed(i32),
}

fn outcome(db: &Engine, write: Document) -> Outcome {
    let reply = run(db, DB, write.clone());
    let ok = reply.get_f64("ok").ok() == Some(1.0);
    if !ok || reply.contains_key("writeErrors") {
        return Outcome::Failed(fails(db, DB, write).0);
    }
    Outcome::Stored(find(db, DB, doc! {"find": "c", "sort": {"_id": 1}}))
}

fn check(options: Document, seed: &[Document], write: Document, expected: Outcome) {
    let db = collection(options.clone(), seed);
    assert_eq!(
        outcome(&db, write.clone()),
        expected,
        "options {options}, seed {seed:?}, write {write}"
    );
}

fn string_x() -> Document {
    doc! {"validator": {"x": {"$type": "string"}}}
}

fn stored(docs: &[Document]) -> Outcome {
    Outcome::Stored(docs.to_vec())
}

#[test]
fn strict_validators_check_every_write_path() {
    let seed = [doc! {"_id": 1, "x": "a"}];
    let refused = || Outcome::Failed(VALIDATION_FAILED);
    let cases = [
        (
            doc! {"insert": "c", "documents": [{"_id": 2, "x": 2}]},
            refused(),
        ),
        (
            doc! {"insert": "c", "documents": [{"_id": 2, "x": "b"}]},
            stored(&[seed[0].clone(), doc! {"_id": 2, "x": "b"}]),
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"x": 1}}}]},
            refused(),
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"x": "z"}}}]},
            stored(&[doc! {"_id": 1, "x": "z"}]),
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"y": 1}}]},
            refused(),
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": [{"$set": {"x": 5}}]}]},
            refused(),
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 9}, "u": {"$set": {"x": 5}}, "upsert": true}]},
            refused(),
        ),
        (
            doc! {"findAndModify": "c", "query": {"_id": 1}, "update": {"$set": {"x": 1}}},
            refused(),
        ),
        (
            doc! {"findAndModify": "c", "query": {"_id": 7}, "update": {"$set": {"x": 1}}, "upsert": true},
            refused(),
        ),
        (
            doc! {"delete": "c", "deletes": [{"q": {"_id": 1}, "limit": 1}]},
            stored(&[]),
        ),
        (
            doc! {"aggregate": "c", "pipeline": [{"$set": {"x": 1}}, {"$merge": {"into": "c"}}], "cursor": {}},
            refused(),
        ),
        (
            doc! {"aggregate": "c", "pipeline": [{"$set": {"x": 1}}, {"$out": "c"}], "cursor": {}},
            refused(),
        ),
    ];
    for (write, expected) in cases {
        check(string_x(), &seed, write, expected);
    }
}

fn bulk_write_outcome(db: &Engine, write: Document) -> Outcome {
    let reply = ok(db, "admin", write);
    match reply.get_i32("nErrors") {
        Ok(0) => Outcome::Stored(find(db, DB, doc! {"find": "c", "sort": {"_id": 1}})),
        _ => {
            let results = reply
                .get_document("cursor")
                .and_then(|c| c.get_array("firstBatch"));
            let code = results.ok().and_then(|r| {
                r.iter()
                    .filter_map(Bson::as_document)
                    .find_map(|r| r.get_i32("code").ok())
            });
            Outcome::Failed(code.unwrap_or_else(|| panic!("no error code in {reply}")))
        }
    }
}

#[test]
fn bulk_write_checks_validators_unless_bypassed() {
    let write = |bypass: bool| {
        doc! {
            "bulkWrite": 1,
            "ops": [{"insert": 0, "document": {"_id": 3, "x": 3}}],
            "nsInfo": [{"ns": "app.c"}],
            "bypassDocumentValidation": bypass,
        }
    };
    let db = collection(string_x(), &[]);
    assert_eq!(
        bulk_write_outcome(&db, write(false)),
        Outcome::Failed(VALIDATION_FAILED)
    );
    assert_eq!(
        bulk_write_outcome(&db, write(true)),
        stored(&[doc! {"_id": 3, "x": 3}])
    );
}

#[test]
fn bypass_document_validation_skips_the_check() {
    let seed = [doc! {"_id": 1, "x": "a"}];
    let cases = [
        (
            doc! {"insert": "c", "documents": [{"_id": 2, "x": 2}], "bypassDocumentValidation": true},
            stored(&[seed[0].clone(), doc! {"_id": 2, "x": 2}]),
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"x": 1}}}], "bypassDocumentValidation": true},
            stored(&[doc! {"_id": 1, "x": 1}]),
        ),
        (
            doc! {"findAndModify": "c", "query": {"_id": 1}, "update": {"$set": {"x": 1}}, "bypassDocumentValidation": true},
            stored(&[doc! {"_id": 1, "x": 1}]),
        ),
        (
            doc! {"aggregate": "c", "pipeline": [{"$set": {"x": 1}}, {"$merge": {"into": "c"}}], "cursor": {}, "bypassDocumentValidation": true},
            stored(&[doc! {"_id": 1, "x": 1}]),
        ),
    ];
    for (write, expected) in cases {
        check(string_x(), &seed, write, expected);
    }
}

#[test]
fn levels_and_actions_decide_what_is_checked() {
    let seed = [doc! {"_id": 1, "x": "valid"}, doc! {"_id": 2, "x": 0}];
    let with = |level: &str, action: &str| {
        let mut options = string_x();
        options.insert("validationLevel", level);
        options.insert("validationAction", action);
        options
    };
    let update =
        |id: i32| doc! {"update": "c", "updates": [{"q": {"_id": id}, "u": {"$set": {"x": 5}}}]};
    let insert = doc! {"insert": "c", "documents": [{"_id": 3, "x": 3}]};
    let updated = |id: i32| {
        let mut docs = seed.to_vec();
        docs[(id - 1) as usize] = doc! {"_id": id, "x": 5};
        Outcome::Stored(docs)
    };
    let inserted = || {
        let mut docs = seed.to_vec();
        docs.push(doc! {"_id": 3, "x": 3});
        Outcome::Stored(docs)
    };
    let refused = || Outcome::Failed(VALIDATION_FAILED);
    let cases = [
        (with("strict", "error"), update(2), refused()),
        // A no-op update stores nothing, so there is nothing to validate.
        (
            with("strict", "error"),
            doc! {"update": "c", "updates": [{"q": {"_id": 2}, "u": {"$set": {"x": 0}}}]},
            Outcome::Stored(seed.to_vec()),
        ),
        (with("moderate", "error"), update(1), refused()),
        (with("moderate", "error"), update(2), updated(2)),
        (with("moderate", "error"), insert.clone(), refused()),
        (with("off", "error"), update(1), updated(1)),
        (with("off", "error"), insert.clone(), inserted()),
        (with("strict", "warn"), update(1), updated(1)),
        (with("strict", "warn"), insert.clone(), inserted()),
    ];
    for (options, write, expected) in cases {
        check(options, &seed, write, expected);
    }
}

#[test]
fn failures_carry_err_info_in_mongods_shape() {
    let entry = |options: Document, write: Document| {
        let db = collection(options, &[doc! {"_id": 1, "x": "a"}]);
        let reply = run(&db, DB, write);
        match reply.get_array("writeErrors") {
            Ok(errors) => errors[0].as_document().cloned().expect("entry"),
            Err(_) => reply,
        }
    };
    let single = entry(
        string_x(),
        doc! {"insert": "c", "documents": [{"_id": 2, "x": 2}]},
    );
    assert_eq!(
        single.get_str("errmsg").ok(),
        Some("Document failed validation")
    );
    assert_eq!(
        single.get_document("errInfo").ok(),
        Some(&doc! {
            "failingDocumentId": 2,
            "details": {
                "operatorName": "$type",
                "specifiedAs": {"x": {"$type": "string"}},
                "reason": "type did not match",
                "consideredValue": 2,
                "consideredType": "int",
            },
        })
    );
    let several = entry(
        doc! {"validator": {"x": {"$type": "string"}, "n": {"$gte": 1}}},
        doc! {"findAndModify": "c", "query": {"_id": 1}, "update": {"$set": {"n": 0}}},
    );
    assert_eq!(several.get_i32("code").ok(), Some(VALIDATION_FAILED));
    assert_eq!(
        several.get_document("errInfo").ok(),
        Some(&doc! {
            "failingDocumentId": 1,
            "details": {
                "operatorName": "$and",
                "clausesNotSatisfied": [{"index": 1, "details": {
                    "operatorName": "$gte",
                    "specifiedAs": {"n": {"$gte": 1}},
                    "reason": "comparison failed",
                    "consideredValue": 0,
                }}],
            },
        })
    );
    let missing = entry(
        doc! {"validator": {"$or": [{"a": 1}, {"b": {"$exists": true}}]}},
        doc! {"insert": "c", "documents": [{"_id": 3}]},
    );
    assert_eq!(
        missing.get_document("errInfo").ok(),
        Some(&doc! {
            "failingDocumentId": 3,
            "details": {
                "operatorName": "$or",
                "clausesNotSatisfied": [
                    {"index": 0, "details": {"operatorName": "$eq", "specifiedAs": {"a": 1}, "reason": "field was missing"}},
                    {"index": 1, "details": {"operatorName": "$exists", "specifiedAs": {"b": {"$exists": true}}, "reason": "field was missing"}},
                ],
            },
        })
    );
}

#[test]
fn json_schema_validators_are_enforced_and_explained() {
    let options = doc! {"validator": {"$jsonSchema": {
        "bsonType": "object",
        "required": ["name", "year"],
        "properties": {
            "name": {"bsonType": "string", "description": "must be a string"},
            "year": {"bsonType": "int", "minimum": 2017},
        },
    }}};
    let seed = [doc! {"_id": 1, "name": "a", "year": 2020}];
    let cases = [
        (
            doc! {"insert": "c", "documents": [{"_id": 2, "name": "b", "year": 2018}]},
            stored(&[seed[0].clone(), doc! {"_id": 2, "name": "b", "year": 2018}]),
        ),
        (
            doc! {"insert": "c", "documents": [{"_id": 2, "name": "b"}]},
            Outcome::Failed(VALIDATION_FAILED),
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"year": 2000}}}]},
            Outcome::Failed(VALIDATION_FAILED),
        ),
    ];
    for (write, expected) in cases {
        check(options.clone(), &seed, write, expected);
    }
    let db = collection(options, &seed);
    let reply = run(
        &db,
        DB,
        doc! {"insert": "c", "documents": [{"_id": 3, "name": 5, "year": 2000}, {"_id": 4}], "ordered": false},
    );
    let errors = reply.get_array("writeErrors").expect("writeErrors");
    let info = |i: usize| {
        errors[i]
            .as_document()
            .and_then(|e| e.get_document("errInfo").ok())
            .cloned()
    };
    assert_eq!(
        info(0),
        Some(doc! {"failingDocumentId": 3, "details": {
            "operatorName": "$jsonSchema",
            "schemaRulesNotSatisfied": [{"operatorName": "properties", "propertiesNotSatisfied": [
                {"propertyName": "name", "details": [{
                    "operatorName": "bsonType", "specifiedAs": {"bsonType": "string"},
                    "reason": "type did not match", "consideredType": "int", "consideredValue": 5,
                }]},
                {"propertyName": "year", "details": [{
                    "operatorName": "minimum", "specifiedAs": {"minimum": 2017},
                    "reason": "comparison failed", "consideredValue": 2000,
                }]},
            ]}],
        }})
    );
    assert_eq!(
        info(1),
        Some(doc! {"failingDocumentId": 4, "details": {
            "operatorName": "$jsonSchema",
            "schemaRulesNotSatisfied": [{
                "operatorName": "required",
                "specifiedAs": {"required": ["name", "year"]},
                "missingProperties": ["name", "year"],
            }],
        }})
    );
}

fn check_create_error(db_name: &str, options: Document, code: i32) {
    let db = engine();
    let mut create = doc! {"create": "c"};
    create.extend(options.clone());
    assert_eq!(fails(&db, db_name, create).0, code, "create with {options}");
    ok(&db, db_name, doc! {"create": "c"});
    let mut coll_mod = doc! {"collMod": "c"};
    coll_mod.extend(options.clone());
    assert_eq!(
        fails(&db, db_name, coll_mod).0,
        code,
        "collMod with {options}"
    );
}

#[test]
fn bad_validation_options_are_refused_when_set() {
    let cases = [
        (DB, doc! {"validator": 7}, 14),
        (DB, doc! {"validator": {"a": {"$bogus": 1}}}, 2),
        (DB, doc! {"validator": {"$where": "this.a"}}, 224),
        (DB, doc! {"validator": {"$text": {"$search": "x"}}}, 224),
        (DB, doc! {"validator": {"loc": {"$near": [0, 0]}}}, 224),
        (
            DB,
            doc! {"validator": {"$expr": {"$function": {"body": "1", "args": [], "lang": "js"}}}},
            224,
        ),
        (DB, doc! {"validator": {"$jsonSchema": {"bogus": 1}}}, 9),
        (
            DB,
            doc! {"validator": {"$jsonSchema": {"required": "a"}}},
            14,
        ),
        (DB, doc! {"validationLevel": "bogus"}, 2),
        (DB, doc! {"validationLevel": 1}, 14),
        (DB, doc! {"validationAction": "errorAndLog"}, 2),
        (DB, doc! {"validationAction": "ignore"}, 2),
        ("admin", doc! {"validator": {"a": 1}}, 72),
    ];
    for (db_name, options, code) in cases {
        check_create_error(db_name, options, code);
    }
}

#[test]
fn coll_mod_changes_validation_and_refuses_what_it_does_not_support() {
    let db = collection(Document::new(), &[doc! {"_id": 1, "x": 1}]);
    let reply = ok(
        &db,
        DB,
        doc! {"collMod": "c", "validator": {"x": {"$type": "string"}}},
    );
    let fields: Vec<&str> = reply.keys().map(String::as_str).collect();
    assert!(
        !fields.iter().any(|f| f.starts_with("validat")),
        "the reply adds nothing: {reply}"
    );
    assert_eq!(
        outcome(&db, doc! {"insert": "c", "documents": [{"_id": 2, "x": 2}]}),
        Outcome::Failed(VALIDATION_FAILED)
    );
    let listed = find(
        &db,
        DB,
        doc! {"listCollections": 1, "filter": {"name": "c"}},
    );
    assert_eq!(
        listed[0].get_document("options").ok(),
        Some(
            &doc! {"validator": {"x": {"$type": "string"}}, "validationLevel": "strict", "validationAction": "error"}
        )
    );
    ok(&db, DB, doc! {"collMod": "c", "validationAction": "warn"});
    ok(
        &db,
        DB,
        doc! {"insert": "c", "documents": [{"_id": 2, "x": 2}]},
    );
    ok(
        &db,
        DB,
        doc! {"collMod": "c", "validationAction": "error", "validator": {}},
    );
    ok(
        &db,
        DB,
        doc! {"insert": "c", "documents": [{"_id": 3, "x": 3}]},
    );
    let cases = [
        (doc! {"collMod": "c", "bogus": 1}, 40415),
        (
            doc! {"collMod": "c", "index": {"name": "x_1", "hidden": true}},
            72,
        ),
        (doc! {"collMod": "missing", "validator": {}}, 26),
    ];
    for (command, code) in cases {
        assert_eq!(fails(&db, DB, command.clone()).0, code, "{command}");
    }
}

#[test]
fn coll_mod_is_refused_in_a_transaction_and_validators_apply_inside_one() {
    let db = collection(string_x(), &[]);
    let mut session = Session::new();
    session.start();
    let insert = session.stmt(doc! {"insert": "c", "documents": [{"_id": 1, "x": 1}]});
    assert_eq!(fails(&db, DB, insert).0, VALIDATION_FAILED);
    let coll_mod = session.stmt(doc! {"collMod": "c", "validator": {}});
    assert_eq!(fails(&db, DB, coll_mod).0, 263);
}

#[test]
fn validators_and_coll_mod_survive_a_restart() {
    let dir = common::temp_dir("validation");
    let options = || {
        doc! {"validator": {"n": {"$gte": 0}}, "validationLevel": "moderate", "validationAction": "error"}
    };
    {
        let db = common::open_dir(&dir);
        ok(&db, DB, doc! {"create": "journaled", "validator": {"n": 1}});
        ok(&db, DB, doc! {"create": "checkpointed"});
        for coll in ["journaled", "checkpointed"] {
            let mut coll_mod = doc! {"collMod": coll};
            coll_mod.extend(options());
            ok(&db, DB, coll_mod);
        }
        db.checkpoint().expect("checkpoint");
        ok(
            &db,
            DB,
            doc! {"collMod": "checkpointed", "validationAction": "error"},
        );
    }
    let db = common::open_dir(&dir);
    for coll in ["journaled", "checkpointed"] {
        let listed = find(
            &db,
            DB,
            doc! {"listCollections": 1, "filter": {"name": coll}},
        );
        assert_eq!(
            listed[0].get_document("options").ok(),
            Some(&options()),
            "{coll}"
        );
        let bad = doc! {"insert": coll, "documents": [{"_id": 1, "n": -1}]};
        assert_eq!(fails(&db, DB, bad).0, VALIDATION_FAILED, "{coll}");
        let good = doc! {"insert": coll, "documents": [{"_id": 1, "n": Bson::Int64(3)}]};
        ok(&db, DB, good);
    }
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
