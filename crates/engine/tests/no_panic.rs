//! No panic is reachable from a command document: arbitrary commands, built
//! from real command names, real field names and operator-shaped values,
//! always get a reply with `ok` and, on failure, `code` and `codeName`.

mod common;

use bson::{Bson, Document};
use proptest::prelude::*;

const COMMANDS: &[&str] = &[
    "insert",
    "update",
    "delete",
    "find",
    "findAndModify",
    "getMore",
    "killCursors",
    "aggregate",
    "count",
    "distinct",
    "create",
    "drop",
    "dropDatabase",
    "listDatabases",
    "listCollections",
    "createIndexes",
    "dropIndexes",
    "listIndexes",
    "ping",
    "buildInfo",
    "hello",
    "isMaster",
    "commitTransaction",
    "abortTransaction",
    "endSessions",
    "killAllSessions",
    "startSession",
    "refreshSessions",
    "getParameter",
    "setParameter",
    "configureFailPoint",
    "serverStatus",
    "nonsense",
];
const FIELDS: &[&str] = &[
    "documents",
    "updates",
    "deletes",
    "filter",
    "query",
    "q",
    "u",
    "limit",
    "multi",
    "upsert",
    "sort",
    "projection",
    "pipeline",
    "cursor",
    "batchSize",
    "skip",
    "key",
    "indexes",
    "name",
    "lsid",
    "txnNumber",
    "autocommit",
    "startTransaction",
    "readConcern",
    "writeConcern",
    "maxTimeMS",
    "ordered",
    "arrayFilters",
    "update",
    "remove",
    "new",
    "fields",
    "collection",
    "cursors",
    "index",
    "mode",
    "data",
    "$match",
    "$group",
    "$set",
    "$inc",
    "$push",
    "$gt",
    "$in",
    "$elemMatch",
    "$expr",
    "$each",
    "$slice",
    "$",
    "$[]",
    "a",
    "a.b",
    "_id",
    "id",
    "level",
    "afterClusterTime",
    "atClusterTime",
    "w",
    "j",
];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(FIELDS).prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = Bson> {
    let leaf = prop_oneof![
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
        any::<i32>().prop_map(Bson::Int32),
        (-3i64..3).prop_map(Bson::Int64),
        any::<f64>().prop_map(Bson::Double),
        "[a-c$.]{0,4}".prop_map(Bson::String),
        Just(Bson::Binary(bson::Binary::from_uuid(
            bson::Uuid::from_bytes([7; 16])
        ))),
        Just(Bson::Timestamp(bson::Timestamp {
            time: 1,
            increment: 1
        })),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Bson::Array),
            prop::collection::vec((name(), inner), 0..5)
                .prop_map(|f| Bson::Document(f.into_iter().collect())),
        ]
    })
}

fn command() -> impl Strategy<Value = Document> {
    (
        prop::sample::select(COMMANDS),
        value(),
        prop::collection::vec((name(), value()), 0..6),
    )
        .prop_map(|(command, target, fields)| {
            let mut doc = Document::new();
            doc.insert(command, target);
            for (field, value) in fields {
                doc.insert(field, value);
            }
            doc
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_commands_get_a_well_formed_reply(commands in prop::collection::vec(command(), 1..6)) {
        let db = common::engine();
        common::ok(&db, "t", bson::doc! {"insert": "c", "documents": [{"_id": 1, "a": [1, {"b": 2}]}]});
        for body in commands {
            let reply = common::run(&db, "t", body.clone());
            let ok = reply.get_f64("ok").ok();
            prop_assert!(ok == Some(1.0) || ok == Some(0.0), "no ok in reply to {}: {}", body, reply);
            if ok == Some(0.0) {
                prop_assert!(reply.get_i32("code").is_ok(), "no code in {}", reply);
                prop_assert!(reply.get_str("codeName").is_ok(), "no codeName in {}", reply);
            }
        }
    }
}
