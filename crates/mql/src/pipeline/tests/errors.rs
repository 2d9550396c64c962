//! Stage errors with mongod's codes, and the memory limit.

use std::collections::HashMap;

use bson::{Document, doc};

use super::*;

#[test]
fn stage_errors_carry_mongod_codes() {
    let input = sales();
    for (stages, code) in [
        (vec![doc! {"$foo": 1}], 40324),
        (vec![doc! {"$match": {}, "$limit": 1}], 40323),
        (vec![doc! {}], 40323),
        (vec![doc! {"$match": 1}], 15959),
        (vec![doc! {"$project": {}}], 51272),
        (vec![doc! {"$project": {"a": 1, "b": 0}}], 31254),
        (vec![doc! {"$project": {"a": 0, "b": 1}}], 31253),
        (vec![doc! {"$project": {"a": 0, "b": "$x"}}], 31252),
        (
            vec![doc! {"$project": {"x": {"$add": [1]}, "x.b": 1}}],
            31249,
        ),
        (
            vec![doc! {"$project": {"x.b": 1, "x": {"$add": [1]}}}],
            31250,
        ),
        (vec![doc! {"$project": {"x": {"b": 1}, "x.b": 1}}], 31250),
        (vec![doc! {"$project": {"x.b": 1, "x": {"b": 1}}}], 31250),
        (vec![doc! {"$project": {"": 1}}], 40352),
        (vec![doc! {"$project": {"$a": 1}}], 16410),
        (vec![doc! {"$project": 1}], 15969),
        (vec![doc! {"$addFields": 1}], 40272),
        (vec![doc! {"$unset": 1}], 31002),
        (vec![doc! {"$unset": [1]}], 31120),
        (vec![doc! {"$group": {"n": {"$sum": 1}}}], 15955),
        (vec![doc! {"$group": 1}], 15947),
        (vec![doc! {"$group": {"_id": null, "n": 1}}], 40234),
        (
            vec![doc! {"$group": {"_id": null, "n": {"$sum": 1, "$avg": 1}}}],
            40238,
        ),
        (
            vec![doc! {"$group": {"_id": null, "n": {"$foo": 1}}}],
            15952,
        ),
        (
            vec![doc! {"$group": {"_id": null, "n": {"$push": [1, 2]}}}],
            40237,
        ),
        (vec![doc! {"$sort": 1}], 15973),
        (vec![doc! {"$sort": {}}], 15976),
        (vec![doc! {"$sort": {"a": 2}}], 15975),
        (vec![doc! {"$skip": -1}], 15956),
        (vec![doc! {"$skip": "a"}], 15972),
        (vec![doc! {"$limit": 0}], 15958),
        (vec![doc! {"$limit": "a"}], 15957),
        (vec![doc! {"$count": ""}], 40157),
        (vec![doc! {"$count": "$n"}], 40158),
        (vec![doc! {"$count": "a.b"}], 40160),
        (vec![doc! {"$unwind": 1}], 15981),
        (vec![doc! {"$unwind": "sizes"}], 28818),
        (vec![doc! {"$unwind": {"path": "$a", "x": 1}}], 28811),
        (vec![doc! {"$unwind": {"includeArrayIndex": "i"}}], 28812),
        (vec![doc! {"$replaceRoot": {"newRoot": "$item"}}], 40228),
        (vec![doc! {"$replaceRoot": {"newRoot": "$missing"}}], 40228),
        (vec![doc! {"$replaceRoot": {}}], 40231),
        (
            vec![doc! {"$replaceRoot": {"newRoot": "$a", "x": 1}}],
            40415,
        ),
        (
            vec![doc! {"$lookup": {"from": "x", "localField": "a", "foreignField": "b"}}],
            9,
        ),
        (
            vec![doc! {"$lookup": {"from": 1, "localField": "a", "foreignField": "b", "as": "c"}}],
            4570,
        ),
        (vec![doc! {"$facet": {"a": 1}}], 40170),
        (vec![doc! {"$facet": {"a": [{"$facet": {"b": []}}]}}], 40600),
        (vec![doc! {"$project": {"x": {"$divide": [1, 0]}}}], 2),
    ] {
        check_error(&input, stages, code);
    }
}

#[test]
fn memory_limit_stops_group_and_sort() {
    let input: Vec<Document> = (0..200)
        .map(|i| doc! {"_id": i, "pad": "x".repeat(100)})
        .collect();
    let colls = HashMap::new();
    for stages in [
        vec![doc! {"$group": {"_id": "$_id", "p": {"$push": "$pad"}}}],
        vec![doc! {"$sort": {"_id": -1}}],
    ] {
        let err = run_with(&input, &stages, &colls, 10_000)
            .err()
            .map(|e| e.code.0);
        assert_eq!(err, Some(292), "{stages:?}");
        assert!(run_with(&input, &stages, &colls, 1_000_000).is_ok());
    }
}
