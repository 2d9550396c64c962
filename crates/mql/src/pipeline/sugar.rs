//! Stages mongod defines in terms of others: `$sortByCount` is a `$group`
//! and a `$sort`; `$bucket` is a `$group` on a `$switch` over the boundaries
//! and a `$sort`. Each is validated with mongod's codes, then expanded into
//! the stage documents it stands for.

use bson::{Bson, Document, doc};

use crate::expr::type_name;
use crate::{Error, Result, order};

fn err(code: i32, message: impl Into<String>) -> Error {
    Error::location(code, message)
}

fn is_expression(spec: &Bson) -> bool {
    match spec {
        Bson::String(s) => s.starts_with('$'),
        Bson::Document(d) => d.keys().next().is_some_and(|k| k.starts_with('$')),
        _ => false,
    }
}

/// `{$sortByCount: <expr>}`.
pub(super) fn sort_by_count(spec: &Bson) -> Result<Vec<Document>> {
    if !is_expression(spec) {
        return Err(err(
            40148,
            "the sortByCount field must be defined as a $-prefixed path or an expression",
        ));
    }
    Ok(vec![
        doc! {"$group": {"_id": spec.clone(), "count": {"$sum": 1}}},
        doc! {"$sort": {"count": -1}},
    ])
}

/// `{$bucket: {groupBy, boundaries, default, output}}`.
pub(super) fn bucket(spec: &Bson) -> Result<Vec<Document>> {
    let Bson::Document(spec) = spec else {
        return Err(err(
            40201,
            format!(
                "Argument to $bucket stage must be an object, but found type: {}",
                type_name(Some(spec))
            ),
        ));
    };
    let (mut group_by, mut boundaries, mut default, mut output) = (None, None, None, None);
    for (key, value) in spec {
        match key.as_str() {
            "groupBy" => group_by = Some(value),
            "boundaries" => boundaries = Some(value),
            "default" => default = Some(value),
            "output" => output = Some(value),
            _ => {
                return Err(err(
                    40197,
                    format!("Unrecognized option to $bucket: {key}."),
                ));
            }
        }
    }
    let (Some(group_by), Some(boundaries)) = (group_by, boundaries) else {
        return Err(err(
            40198,
            "$bucket requires 'groupBy' and 'boundaries' to be specified.",
        ));
    };
    if !is_expression(group_by) {
        return Err(err(
            40202,
            format!(
                "The $bucket 'groupBy' field must be defined as a $-prefixed path or an expression, but found: {group_by}"
            ),
        ));
    }
    let boundaries = check_boundaries(boundaries)?;
    if let Some(default) = default {
        check_default(default, &boundaries)?;
    }
    let output = match output {
        None => doc! {"count": {"$sum": 1}},
        Some(Bson::Document(output)) => output.clone(),
        Some(other) => {
            return Err(err(
                40196,
                format!(
                    "The $bucket 'output' field must be an object, but found type: {}",
                    type_name(Some(other))
                ),
            ));
        }
    };
    let branches: Vec<Bson> = boundaries
        .windows(2)
        .filter_map(|pair| match pair {
            [low, high] => Some(Bson::Document(doc! {
                "case": {"$and": [
                    {"$gte": [group_by.clone(), {"$literal": low.clone()}]},
                    {"$lt": [group_by.clone(), {"$literal": high.clone()}]},
                ]},
                "then": {"$literal": low.clone()},
            })),
            _ => None,
        })
        .collect();
    let mut switch = doc! {"branches": branches};
    if let Some(default) = default {
        switch.insert("default", doc! {"$literal": default.clone()});
    }
    let mut group = doc! {"_id": {"$switch": switch}};
    for (field, accumulator) in output {
        group.insert(field, accumulator);
    }
    Ok(vec![doc! {"$group": group}, doc! {"$sort": {"_id": 1}}])
}

fn check_boundaries(boundaries: &Bson) -> Result<Vec<Bson>> {
    let Bson::Array(values) = boundaries else {
        return Err(err(
            40200,
            format!(
                "The $bucket 'boundaries' field must be an array, but found type: {}",
                type_name(Some(boundaries))
            ),
        ));
    };
    if values.len() < 2 {
        return Err(err(
            40192,
            format!(
                "The $bucket 'boundaries' field must have at least 2 values, but found {} value(s).",
                values.len()
            ),
        ));
    }
    for (i, pair) in values.windows(2).enumerate() {
        let [low, high] = pair else { continue };
        if order::canonical_type(low) != order::canonical_type(high) {
            return Err(err(
                40193,
                format!(
                    "All values in the the 'boundaries' option to $bucket must have the same type. Found conflicting types {} and {}.",
                    type_name(Some(low)),
                    type_name(Some(high))
                ),
            ));
        }
        if !order::compare(low, high).is_lt() {
            return Err(err(
                40194,
                format!(
                    "The 'boundaries' option to $bucket must be sorted in ascending order, but elements {} and {} are not in ascending order ({low} is not less than {high}).",
                    i,
                    i + 1
                ),
            ));
        }
    }
    Ok(values.clone())
}

fn check_default(default: &Bson, boundaries: &[Bson]) -> Result<()> {
    let (Some(lowest), Some(highest)) = (boundaries.first(), boundaries.last()) else {
        return Ok(());
    };
    let same_type = order::canonical_type(default) == order::canonical_type(lowest);
    if same_type
        && !order::compare(default, lowest).is_lt()
        && order::compare(default, highest).is_lt()
    {
        return Err(err(
            40199,
            "The $bucket 'default' field must be less than the lowest boundary or greater than or equal to the highest boundary.",
        ));
    }
    Ok(())
}
