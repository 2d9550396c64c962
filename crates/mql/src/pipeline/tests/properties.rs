//! Properties: parsing and running arbitrary stages never panics; top-n
//! sorting equals a truncated stable sort.

use std::collections::HashMap;

use bson::{Bson, Document, doc};
use proptest::prelude::*;

use super::*;

fn arbitrary_value() -> impl Strategy<Value = Bson> {
    let leaf = prop_oneof![
        Just(Bson::Null),
        (-3i32..3).prop_map(Bson::Int32),
        any::<f64>().prop_map(Bson::Double),
        any::<bool>().prop_map(Bson::Boolean),
        "\\$?[abx_.]{0,4}".prop_map(Bson::String),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        let keys = prop::sample::select(vec![
            "a",
            "b",
            "_id",
            "a.b",
            "$sum",
            "$push",
            "$add",
            "$gt",
            "path",
            "newRoot",
            "includeArrayIndex",
            "groupBy",
            "startWith",
            "connectFromField",
            "connectToField",
            "boundaries",
            "let",
            "pipeline",
            "from",
            "localField",
            "foreignField",
            "as",
            "$a",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
            prop::collection::vec((keys, inner), 0..3).prop_map(|fields| {
                Bson::Document(
                    fields
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn arbitrary_stage() -> impl Strategy<Value = Document> {
    let names = prop::sample::select(vec![
        "$match",
        "$project",
        "$addFields",
        "$unset",
        "$group",
        "$sort",
        "$skip",
        "$limit",
        "$count",
        "$unwind",
        "$replaceRoot",
        "$replaceWith",
        "$lookup",
        "$facet",
        "$bucket",
        "$sortByCount",
        "$sample",
        "$graphLookup",
        "$unionWith",
    ]);
    (names, arbitrary_value()).prop_map(|(name, spec)| doc! {name: spec})
}

proptest! {
    #[test]
    fn parse_and_run_never_panic(
        stages in prop::collection::vec(arbitrary_stage(), 0..4),
        docs in prop::collection::vec(arbitrary_value(), 0..4),
    ) {
        let input: Vec<Document> = docs.into_iter().map(|v| doc! {"a": v.clone(), "b": [v, {"a": 1}]}).collect();
        let colls = HashMap::from([("a".to_string(), input.clone())]);
        let _ = run_with(&input, &stages, &colls, 1_000_000);
    }
}

proptest! {
    #[test]
    fn top_n_equals_a_stable_sort_truncated(values in prop::collection::vec(arbitrary_value(), 0..12), n in 0usize..14, descending in any::<bool>()) {
        let docs: Vec<Document> = values.into_iter().enumerate().map(|(i, v)| doc! {"i": i as i32, "a": v}).collect();
        let spec = crate::pipeline::SortSpec::parse(&doc! {"a": if descending { -1 } else { 1 }}).unwrap();
        let mut sorted = docs.clone();
        spec.sort(&mut sorted);
        sorted.truncate(n);
        prop_assert_eq!(spec.top(docs, n), sorted);
    }
}
