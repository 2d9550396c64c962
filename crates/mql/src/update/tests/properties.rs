//! Properties that hold for every update: parsing and applying never panic,
//! an existing `_id` never changes, a failed update leaves the document as
//! it was, and applying an update reports "modified" exactly when the
//! document's bytes changed.

use bson::{Bson, Document};
use proptest::prelude::*;

use super::ctx;
use crate::update::{ApplyContext, UpdateSpec, identity, upsert_seed};

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::Null),
        (-3i32..4).prop_map(Bson::Int32),
        prop_oneof![Just(i64::MAX), Just(i64::MIN), -3i64..4].prop_map(Bson::Int64),
        prop_oneof![Just(f64::NAN), Just(-0.0), -2.0f64..2.0].prop_map(Bson::Double),
        "[a-c$]{0,2}".prop_map(Bson::String),
        any::<bool>().prop_map(Bson::Boolean),
    ]
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("_id".to_string()),
        Just("$each".to_string()),
        Just("$slice".to_string()),
        Just("$sort".to_string()),
        Just("$position".to_string()),
        Just("$type".to_string()),
        Just("$gte".to_string()),
        Just("and".to_string()),
        "[abx]",
        "[0-2]",
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::vec((field_name(), inner), 0..3)
                .prop_map(|fields| Bson::Document(fields.into_iter().collect())),
        ]
    })
}

fn path() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        Just("_id".to_string()),
        Just("$".to_string()),
        Just("$[]".to_string()),
        Just("$[x]".to_string()),
        Just("".to_string()),
        Just("$y".to_string()),
        "[abx]",
        "[0-3]",
    ];
    prop::collection::vec(part, 1..4).prop_map(|parts| parts.join("."))
}

fn operator() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$set"),
        Just("$unset"),
        Just("$inc"),
        Just("$mul"),
        Just("$min"),
        Just("$max"),
        Just("$rename"),
        Just("$setOnInsert"),
        Just("$currentDate"),
        Just("$push"),
        Just("$addToSet"),
        Just("$pop"),
        Just("$pull"),
        Just("$pullAll"),
        Just("$bit"),
        Just("$foo"),
        Just("a"),
    ]
    .prop_map(str::to_string)
}

fn update() -> impl Strategy<Value = Document> {
    let fields = prop::collection::vec(
        (path(), prop_oneof![value(), path().prop_map(Bson::String)]),
        0..3,
    )
    .prop_map(|f| Bson::Document(f.into_iter().collect()));
    prop_oneof![
        4 => prop::collection::vec((operator(), fields), 0..3)
            .prop_map(|ops| ops.into_iter().collect::<Document>()),
        1 => prop::collection::vec((field_name(), value()), 0..3)
            .prop_map(|f| f.into_iter().collect::<Document>()),
    ]
}

fn document() -> impl Strategy<Value = Document> {
    (
        scalar(),
        prop::collection::vec((field_name(), value()), 0..4),
    )
        .prop_map(|(id, fields)| {
            let mut doc = Document::new();
            doc.insert("_id", id);
            for (key, v) in fields {
                if key != "_id" && !key.starts_with('$') {
                    doc.insert(key, v);
                }
            }
            doc
        })
}

fn filters() -> impl Strategy<Value = Vec<Document>> {
    prop::collection::vec(
        prop_oneof![
            value().prop_map(|v| bson::doc! {"x": v}),
            value().prop_map(|v| bson::doc! {"x.a": {"$gte": v}}),
        ],
        0..2,
    )
}

fn context() -> impl Strategy<Value = ApplyContext> {
    (prop::option::of(0usize..4), any::<bool>()).prop_map(|(positional, is_upsert_insert)| {
        ApplyContext {
            positional,
            is_upsert_insert,
            ..ctx()
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn apply_never_panics_nor_changes_an_existing_id(
        start in document(),
        update in update(),
        array_filters in filters(),
        ctx in context(),
    ) {
        let Ok(spec) = UpdateSpec::parse(&update, &array_filters) else {
            return Ok(());
        };
        let mut doc = start.clone();
        match spec.apply(&mut doc, &ctx) {
            Ok(modified) => {
                let (before, after) = (start.get("_id"), doc.get("_id"));
                prop_assert!(
                    before.zip(after).is_some_and(|(b, a)| crate::order::equal(b, a)),
                    "_id changed: {} -> {}", start, doc
                );
                prop_assert_eq!(modified, !identity::documents(&start, &doc));
            }
            Err(_) => prop_assert!(identity::documents(&start, &doc), "failed update changed doc"),
        }
    }

    #[test]
    fn upsert_seed_never_panics(filter in prop::collection::vec((path(), value()), 0..4)) {
        let filter: Document = filter.into_iter().collect();
        let _ = upsert_seed(&filter);
    }
}
