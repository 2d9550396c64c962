//! Properties that hold for every update: parsing and applying never panic,
//! an existing `_id` never changes, a failed update leaves the document as
//! it was, a change is always reported as a modification, and operators
//! (but for `$currentDate` and a sorting `$push`, which mongod always counts)
//! report one exactly when the document's bytes changed.

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
        Just("$y".to_string()),
        "[abx]",
        "[abx]",
        "[0-3]",
    ];
    let first = prop_oneof![
        Just("_id".to_string()),
        Just("$y".to_string()),
        "[abx]",
        "[0-3]"
    ];
    (first, prop::collection::vec(part, 0..4)).prop_map(|(first, rest)| {
        std::iter::once(first)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(".")
    })
}

fn number() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (-3i32..4).prop_map(Bson::Int32),
        prop_oneof![Just(i64::MAX), Just(i64::MIN), -3i64..4].prop_map(Bson::Int64),
        prop_oneof![Just(f64::NAN), -2.0f64..2.0].prop_map(Bson::Double),
    ]
}

/// An operator with an argument of the kind it takes, mostly well formed so
/// that most generated updates get past parsing and exercise `apply`.
fn operation() -> impl Strategy<Value = (String, Bson)> {
    let direction = prop_oneof![Just(1), Just(-1)];
    let push_each = (
        prop::collection::vec(value(), 0..3),
        prop::option::of(-3i32..4),
        prop::option::of(-3i32..4),
        prop::option::of(prop_oneof![
            direction.clone().prop_map(Bson::Int32),
            (field_name(), direction.clone()).prop_map(|(f, d)| Bson::Document(bson::doc! {f: d})),
        ]),
    )
        .prop_map(|(each, slice, position, sort)| {
            let mut spec = bson::doc! {"$each": each};
            if let Some(n) = slice {
                spec.insert("$slice", n);
            }
            if let Some(n) = position {
                spec.insert("$position", n);
            }
            if let Some(order) = sort {
                spec.insert("$sort", order);
            }
            Bson::Document(spec)
        });
    prop_oneof![
        value().prop_map(|v| ("$set".to_string(), v)),
        value().prop_map(|v| ("$setOnInsert".to_string(), v)),
        Just(("$unset".to_string(), Bson::String(String::new()))),
        number().prop_map(|v| ("$inc".to_string(), v)),
        number().prop_map(|v| ("$mul".to_string(), v)),
        value().prop_map(|v| ("$min".to_string(), v)),
        value().prop_map(|v| ("$max".to_string(), v)),
        path().prop_map(|p| ("$rename".to_string(), Bson::String(p))),
        Just(("$currentDate".to_string(), Bson::Boolean(true))),
        Just((
            "$currentDate".to_string(),
            Bson::Document(bson::doc! {"$type": "timestamp"})
        )),
        value().prop_map(|v| ("$push".to_string(), v)),
        push_each.prop_map(|v| ("$push".to_string(), v)),
        value().prop_map(|v| ("$addToSet".to_string(), v)),
        direction.prop_map(|d| ("$pop".to_string(), Bson::Int32(d))),
        value().prop_map(|v| ("$pull".to_string(), v)),
        number().prop_map(|v| ("$pull".to_string(), Bson::Document(bson::doc! {"$gte": v}))),
        prop::collection::vec(value(), 0..3).prop_map(|v| ("$pullAll".to_string(), Bson::Array(v))),
        (-8i32..8).prop_map(|n| ("$bit".to_string(), Bson::Document(bson::doc! {"xor": n}))),
        value().prop_map(|v| ("$foo".to_string(), v)),
    ]
}

fn update() -> impl Strategy<Value = Document> {
    let operators = prop::collection::vec((path(), operation()), 0..4).prop_map(|ops| {
        let mut update = Document::new();
        for (path, (operator, argument)) in ops {
            match update.get_mut(&operator) {
                Some(Bson::Document(fields)) => {
                    fields.insert(path, argument);
                }
                _ => {
                    update.insert(operator, bson::doc! {path: argument});
                }
            }
        }
        update
    });
    prop_oneof![
        4 => operators,
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
        // Filters only where a path can use them, so that most updates
        // get past parsing (unused filters are covered by the error tables).
        let mut array_filters = array_filters;
        if !format!("{update}").contains("$[x]") {
            array_filters.clear();
        } else if array_filters.is_empty() {
            array_filters.push(bson::doc! {"x": {"$ne": null}});
        }
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
                let unchanged = identity::documents(&start, &doc);
                prop_assert!(modified || unchanged, "changed but not reported");
                let text = format!("{update}");
                let always_modifies = text.contains("$sort") || text.contains("$currentDate");
                if !spec.is_replacement() && !always_modifies {
                    prop_assert_eq!(modified, !unchanged);
                }
            }
            Err(_) => prop_assert!(identity::documents(&start, &doc), "failed update changed doc"),
        }
    }

    #[test]
    fn a_successful_set_is_found_by_an_equality_query(
        start in document(),
        path in "[abx](\\.[abx]){0,2}",
        value in scalar(),
    ) {
        let Ok(spec) = UpdateSpec::parse(&bson::doc! {"$set": {path.clone(): value.clone()}}, &[]) else {
            return Ok(());
        };
        let mut doc = start;
        if spec.apply(&mut doc, &ctx()).is_ok() {
            let query = crate::matcher::Filter::parse(&bson::doc! {path.clone(): value.clone()});
            prop_assert!(query.is_ok_and(|q| q.matches(&doc)), "{} not found in {}", path, doc);
        }
    }

    #[test]
    fn upsert_seed_satisfies_the_equalities_it_came_from(
        fields in prop::collection::vec(("[abc](\\.[abc]){0,2}", scalar()), 1..4),
    ) {
        let filter: Document = fields.into_iter().collect();
        if let Ok(seed) = upsert_seed(&filter) {
            let matcher = crate::matcher::Filter::parse(&filter);
            prop_assert!(
                matcher.is_ok_and(|m| m.matches(&seed)),
                "seed {} does not match {}", seed, filter
            );
        }
    }

    #[test]
    fn upsert_seed_never_panics(filter in prop::collection::vec((path(), value()), 0..4)) {
        let filter: Document = filter.into_iter().collect();
        let _ = upsert_seed(&filter);
    }
}
