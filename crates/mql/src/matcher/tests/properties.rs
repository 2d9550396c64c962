//! Properties over generated filters and documents: parsing and matching
//! never panic, and `$nor` negates.

use bson::{Bson, Document, doc};
use proptest::prelude::*;

use super::regex;
use crate::matcher::Filter;

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::Null),
        Just(Bson::MinKey),
        Just(Bson::MaxKey),
        Just(Bson::Undefined),
        (-3i32..4).prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
        any::<f64>().prop_map(Bson::Double),
        "[a-c$.(]{0,3}".prop_map(Bson::String),
        any::<bool>().prop_map(Bson::Boolean),
        ("[a(.*]{0,3}", "[imsxz]{0,2}").prop_map(|(p, o)| regex(&p, &o)),
    ]
}

/// Keys biased towards operators and short paths, so generated documents are
/// often valid filters.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab]",
        "[ab]\\.[0-2b]",
        prop::sample::select(vec![
            "$eq",
            "$ne",
            "$gt",
            "$gte",
            "$lt",
            "$lte",
            "$in",
            "$nin",
            "$and",
            "$or",
            "$nor",
            "$not",
            "$exists",
            "$type",
            "$all",
            "$elemMatch",
            "$size",
            "$regex",
            "$options",
            "$mod",
            "$bitsAllSet",
            "$bitsAnyClear",
            "$comment",
        ])
        .prop_map(str::to_owned),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::vec((key(), inner), 0..3)
                .prop_map(|fields| Bson::Document(fields.into_iter().collect::<Document>())),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    prop::collection::vec((key(), value()), 0..4).prop_map(|fields| fields.into_iter().collect())
}

#[test]
fn filters_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Filter>();
    assert_send_sync::<crate::projection::Projection>();
}

proptest! {
    #[test]
    fn parse_and_match_never_panic(filter in document(), doc in document(), element in value()) {
        if let Ok(parsed) = Filter::parse(&filter) {
            let _ = parsed.matches_at(&doc);
        }
        if let Ok(parsed) = Filter::parse_element(&element) {
            let _ = parsed.matches_element(&element);
            let _ = parsed.matches(&doc);
        }
    }

    #[test]
    fn nor_of_a_filter_is_its_negation(filter in document(), doc in document()) {
        if let Ok(parsed) = Filter::parse(&filter) {
            let nor = Filter::parse(&doc! {"$nor": [filter.clone()]});
            prop_assert!(nor.is_ok());
            if let Ok(nor) = nor {
                prop_assert_eq!(nor.matches(&doc), !parsed.matches(&doc));
            }
        }
    }
}
