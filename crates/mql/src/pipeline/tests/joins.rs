//! `$match`, `$lookup`, `$unionWith` and `$facet`.

use std::collections::HashMap;

use bson::{Bson, bson, doc};

use super::*;
use crate::pipeline::Pipeline;

#[test]
fn lookup_joins_on_equality_including_array_locals() {
    let orders = vec![
        doc! {"_id": 1, "item": "almonds", "price": 12},
        doc! {"_id": 2, "item": "pecans", "price": 20},
        doc! {"_id": 3},
        doc! {"_id": 4, "items": ["almonds", "cashews"]},
    ];
    let inventory = vec![
        doc! {"_id": 1, "sku": "almonds", "instock": 120},
        doc! {"_id": 2, "sku": "bread", "instock": 80},
        doc! {"_id": 5, "sku": null},
        doc! {"_id": 6},
        doc! {"_id": 7, "sku": ["cashews", "x"]},
    ];
    let colls = HashMap::from([("inventory".to_string(), inventory)]);
    let stages = vec![
        doc! {"$lookup": {"from": "inventory", "localField": "item", "foreignField": "sku", "as": "docs"}},
        doc! {"$project": {"ids": "$docs._id"}},
    ];
    let out = run_with(
        &orders,
        &stages,
        &colls,
        crate::pipeline::STAGE_MEMORY_BYTES_MAX,
    )
    .unwrap();
    let ids: Vec<Bson> = out
        .iter()
        .map(|d| d.get("ids").cloned().unwrap_or(Bson::Null))
        .collect();
    assert_eq!(
        ids,
        vec![bson!([1]), bson!([]), bson!([5, 6]), bson!([5, 6])]
    );
    let stages = vec![
        doc! {"$lookup": {"from": "inventory", "localField": "items", "foreignField": "sku", "as": "docs"}},
        doc! {"$match": {"_id": 4}},
        doc! {"$project": {"ids": "$docs._id"}},
    ];
    let out = run_with(
        &orders,
        &stages,
        &colls,
        crate::pipeline::STAGE_MEMORY_BYTES_MAX,
    )
    .unwrap();
    assert_eq!(out, vec![doc! {"_id": 4, "ids": [1, 7]}]);
    let stages = vec![
        doc! {"$limit": 1},
        doc! {"$lookup": {"from": "inventory", "pipeline": [{"$match": {"instock": {"$gt": 100}}}], "as": "big"}},
        doc! {"$project": {"n": {"$size": "$big"}}},
    ];
    let out = run_with(
        &orders,
        &stages,
        &colls,
        crate::pipeline::STAGE_MEMORY_BYTES_MAX,
    )
    .unwrap();
    assert_eq!(out, vec![doc! {"_id": 1, "n": 1}]);
}

#[test]
fn facet_runs_each_sub_pipeline_over_the_same_input() {
    check(
        &sales(),
        vec![doc! {"$facet": {
            "byItem": [{"$group": {"_id": "$item"}}, {"$sort": {"_id": 1}}],
            "n": [{"$count": "n"}],
        }}],
        vec![doc! {"byItem": [{"_id": "abc"}, {"_id": "jkl"}, {"_id": "xyz"}], "n": [{"n": 5}]}],
    );
}

#[test]
fn leading_match_is_exposed_for_index_use() {
    let p = Pipeline::parse(&[doc! {"$match": {"a": 1}}, doc! {"$limit": 1}]).unwrap();
    assert_eq!(p.leading_match(), Some(&doc! {"a": 1}));
    let p = Pipeline::parse(&[doc! {"$limit": 1}, doc! {"$match": {"a": 1}}]).unwrap();
    assert_eq!(p.leading_match(), None);
    let p = Pipeline::parse(&[doc! {"$match": {"a": 1, "$expr": {"$gt": ["$b", 1]}}}]).unwrap();
    assert_eq!(p.leading_match(), Some(&doc! {"a": 1}));
}

#[test]
fn lookup_let_correlates_a_sub_pipeline_as_the_manual_shows() {
    let orders = vec![
        doc! {"_id": 1, "item": "almonds", "price": 12, "ordered": 2},
        doc! {"_id": 2, "item": "pecans", "price": 20, "ordered": 1},
        doc! {"_id": 3, "item": "cookies", "price": 10, "ordered": 60},
    ];
    let warehouses = vec![
        doc! {"_id": 1, "stock_item": "almonds", "warehouse": "A", "instock": 120},
        doc! {"_id": 2, "stock_item": "pecans", "warehouse": "A", "instock": 80},
        doc! {"_id": 3, "stock_item": "almonds", "warehouse": "B", "instock": 60},
        doc! {"_id": 4, "stock_item": "cookies", "warehouse": "B", "instock": 40},
        doc! {"_id": 5, "stock_item": "cookies", "warehouse": "A", "instock": 80},
    ];
    let colls = HashMap::from([("warehouses".to_string(), warehouses)]);
    let stages = vec![
        doc! {"$lookup": {
            "from": "warehouses",
            "let": {"order_item": "$item", "order_qty": "$ordered"},
            "pipeline": [
                {"$match": {"$expr": {"$and": [
                    {"$eq": ["$stock_item", "$$order_item"]},
                    {"$gte": ["$instock", "$$order_qty"]},
                ]}}},
                {"$project": {"stock_item": 0, "_id": 0}},
            ],
            "as": "stockdata",
        }},
        doc! {"$project": {"stockdata": 1}},
    ];
    let out = run_with(
        &orders,
        &stages,
        &colls,
        crate::pipeline::STAGE_MEMORY_BYTES_MAX,
    )
    .unwrap();
    assert_eq!(
        out,
        vec![
            doc! {"_id": 1, "stockdata": [{"warehouse": "A", "instock": 120}, {"warehouse": "B", "instock": 60}]},
            doc! {"_id": 2, "stockdata": [{"warehouse": "A", "instock": 80}]},
            doc! {"_id": 3, "stockdata": [{"warehouse": "A", "instock": 80}]},
        ]
    );
    let bad = vec![
        doc! {"$lookup": {"from": "w", "let": {"x": 1}, "pipeline": [{"$match": {"$expr": "$$y"}}], "as": "o"}},
    ];
    let err = run_with(
        &orders,
        &bad,
        &colls,
        crate::pipeline::STAGE_MEMORY_BYTES_MAX,
    )
    .err()
    .map(|e| e.code.0);
    assert_eq!(err, Some(17276));
}

#[test]
fn match_evaluates_a_top_level_expr_beside_the_filter() {
    let input = vec![
        doc! {"_id": 1, "category": "food", "budget": 400, "spent": 450},
        doc! {"_id": 2, "category": "drinks", "budget": 100, "spent": 150},
        doc! {"_id": 3, "category": "clothes", "budget": 100, "spent": 50},
        doc! {"_id": 4, "category": "misc", "budget": 500, "spent": 300},
    ];
    check(
        &input,
        vec![
            doc! {"$match": {"$expr": {"$gt": ["$spent", "$budget"]}}},
            doc! {"$project": {"_id": 1}},
        ],
        vec![doc! {"_id": 1}, doc! {"_id": 2}],
    );
    check(
        &input,
        vec![
            doc! {"$match": {"category": "food", "$expr": {"$gt": ["$spent", "$budget"]}}},
            doc! {"$project": {"_id": 1}},
        ],
        vec![doc! {"_id": 1}],
    );
}

#[test]
fn union_with_appends_another_collection() {
    let colls = HashMap::from([(
        "warehouses".to_string(),
        vec![doc! {"_id": 10, "item": "b"}, doc! {"_id": 11, "item": "c"}],
    )]);
    let input = vec![doc! {"_id": 1, "item": "a"}];
    let stages = vec![
        doc! {"$unionWith": {"coll": "warehouses", "pipeline": [{"$match": {"item": "c"}}]}},
        doc! {"$unionWith": "missing"},
        doc! {"$project": {"item": 1, "_id": 0}},
    ];
    let out = run_with(
        &input,
        &stages,
        &colls,
        crate::pipeline::STAGE_MEMORY_BYTES_MAX,
    )
    .unwrap();
    assert_eq!(out, vec![doc! {"item": "a"}, doc! {"item": "c"}]);
    for (stages, code) in [
        (vec![doc! {"$unionWith": {"pipeline": []}}], 40414),
        (vec![doc! {"$unionWith": {"coll": 1}}], 14),
        (vec![doc! {"$unionWith": {"coll": "a", "x": 1}}], 40415),
    ] {
        check_error(&input, stages, code);
    }
}

#[test]
fn nested_pipelines_are_bounded() {
    let mut stage = doc! {"$limit": 1};
    for _ in 0..=crate::pipeline::PIPELINE_DEPTH_MAX + 1 {
        stage = doc! {"$unionWith": {"coll": "a", "pipeline": [stage]}};
    }
    let err = Pipeline::parse(&[stage]).err().map(|e| e.code);
    assert_eq!(err, Some(crate::Code::OVERFLOW));
}

#[test]
fn system_variables_come_from_the_caller() {
    let now = bson::DateTime::from_millis(1_700_000_000_000);
    let input = vec![
        doc! {"_id": 1, "expires": bson::DateTime::from_millis(1_600_000_000_000)},
        doc! {"_id": 2, "expires": bson::DateTime::from_millis(1_800_000_000_000)},
    ];
    let colls = HashMap::new();
    let pipeline = Pipeline::parse(&[
        doc! {"$match": {"$expr": {"$gt": ["$expires", "$$NOW"]}}},
        doc! {"$set": {"seen": "$$NOW", "year": {"$year": "$$NOW"}}},
        doc! {"$project": {"expires": 0}},
    ])
    .unwrap();
    let mut options = RunOptions::new(&colls);
    options.variables = vec![("NOW".to_string(), Bson::DateTime(now))];
    let out = pipeline.run(input.clone(), &options).unwrap();
    assert_eq!(out, vec![doc! {"_id": 2, "seen": now, "year": 2023}]);
    // Without a supplied NOW it is missing: nothing compares above it but
    // MinKey, so every date passes and `seen` is not set.
    let out = pipeline.run(input, &RunOptions::new(&colls)).unwrap();
    assert_eq!(
        out,
        vec![doc! {"_id": 1, "year": null}, doc! {"_id": 2, "year": null}]
    );
}

#[test]
fn graph_lookup_walks_the_manual_reporting_hierarchy() {
    let employees = vec![
        doc! {"_id": 1, "name": "Dev"},
        doc! {"_id": 2, "name": "Eliot", "reportsTo": "Dev"},
        doc! {"_id": 3, "name": "Ron", "reportsTo": "Eliot"},
        doc! {"_id": 4, "name": "Andrew", "reportsTo": "Eliot"},
        doc! {"_id": 5, "name": "Asya", "reportsTo": "Ron"},
        doc! {"_id": 6, "name": "Dan", "reportsTo": "Andrew"},
    ];
    let colls = HashMap::from([("employees".to_string(), employees.clone())]);
    let stage = |extra: Document| {
        let mut spec = doc! {
            "from": "employees", "startWith": "$reportsTo",
            "connectFromField": "reportsTo", "connectToField": "name", "as": "chain",
        };
        spec.extend(extra);
        vec![
            doc! {"$graphLookup": spec},
            doc! {"$project": {"names": "$chain.name", "depths": "$chain.d"}},
        ]
    };
    let run = |stages: Vec<Document>| {
        run_with(
            &employees,
            &stages,
            &colls,
            crate::pipeline::STAGE_MEMORY_BYTES_MAX,
        )
        .unwrap()
    };
    let out = run(stage(doc! {"depthField": "d"}));
    assert_eq!(out[0], doc! {"_id": 1, "names": [], "depths": []});
    assert_eq!(
        out[4],
        doc! {"_id": 5, "names": ["Ron", "Eliot", "Dev"], "depths": [0_i64, 1_i64, 2_i64]}
    );
    let out = run(stage(doc! {"maxDepth": 0}));
    assert_eq!(out[4], doc! {"_id": 5, "names": ["Ron"], "depths": []});
    let out = run(stage(
        doc! {"restrictSearchWithMatch": {"name": {"$ne": "Eliot"}}},
    ));
    assert_eq!(out[4], doc! {"_id": 5, "names": ["Ron"], "depths": []});
    for (spec, code) in [
        (
            doc! {"from": "employees", "startWith": "$x", "connectFromField": "a", "connectToField": "b"},
            40105,
        ),
        (
            doc! {"from": "e", "startWith": "$x", "connectFromField": "a", "connectToField": "b", "as": "c", "maxDepth": -1},
            40101,
        ),
        (
            doc! {"from": "e", "startWith": "$x", "connectFromField": "a", "connectToField": "b", "as": "c", "x": 1},
            40104,
        ),
    ] {
        check_error(&employees, vec![doc! {"$graphLookup": spec}], code);
    }
}
