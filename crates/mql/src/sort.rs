//! Sort specifications (`{a: 1, b: -1}`) and MongoDB's sort keys.
//!
//! A document's sort key for a path is the smallest value at that path for
//! ascending order and the largest for descending, looking through arrays; a
//! missing field sorts as `null` and an empty array below `null`.

use std::cmp::Ordering;

use bson::{Bson, Document};

use crate::order::{Number, compare};
use crate::{Error, Result};

/// Paths in one sort specification, at most (mongod's limit on sort keys).
pub const SORT_FIELDS_MAX: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    fields: Vec<(Vec<String>, bool)>,
}

impl SortSpec {
    pub fn parse(spec: &Document) -> Result<SortSpec> {
        if spec.len() > SORT_FIELDS_MAX {
            return Err(Error::bad_value(format!(
                "sort specification has more than {SORT_FIELDS_MAX} fields"
            )));
        }
        let fields = spec
            .iter()
            .map(|(path, direction)| {
                if path.is_empty() {
                    return Err(Error::location(
                        40352,
                        "FieldPath cannot be constructed with empty string",
                    ));
                }
                let ascending = match Number::of(direction).map(Number::as_f64) {
                    Some(1.0) => true,
                    Some(-1.0) => false,
                    _ => {
                        return Err(Error::location(
                            15975,
                            "$sort key ordering must be 1 (for ascending) or -1 (for descending)",
                        ));
                    }
                };
                Ok((path.split('.').map(str::to_owned).collect(), ascending))
            })
            .collect::<Result<Vec<_>>>()?;
        if fields.is_empty() {
            return Err(Error::location(
                15976,
                "$sort stage must have at least one sort key",
            ));
        }
        Ok(SortSpec { fields })
    }

    /// The document's sort key, one value per field.
    pub fn key(&self, doc: &Document) -> Vec<Bson> {
        self.fields
            .iter()
            .map(|(path, ascending)| {
                let mut values = Vec::new();
                collect(doc, path, &mut values);
                let pick = if *ascending {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                values
                    .into_iter()
                    .reduce(|best, v| if compare(&v, &best) == pick { v } else { best })
                    .unwrap_or(Bson::Null)
            })
            .collect()
    }

    /// Compares two sort keys made by [`SortSpec::key`].
    pub fn compare_keys(&self, a: &[Bson], b: &[Bson]) -> Ordering {
        for ((x, y), (_, ascending)) in a.iter().zip(b).zip(&self.fields) {
            let ord = compare(x, y);
            let ord = if *ascending { ord } else { ord.reverse() };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }

    /// Sorts `items` by the documents `doc_of` gives, stably.
    pub fn sort<T>(&self, items: &mut Vec<T>, doc_of: impl Fn(&T) -> &Document) {
        let mut keyed: Vec<(Vec<Bson>, T)> = items
            .drain(..)
            .map(|item| (self.key(doc_of(&item)), item))
            .collect();
        keyed.sort_by(|a, b| self.compare_keys(&a.0, &b.0));
        items.extend(keyed.into_iter().map(|(_, item)| item));
    }
}

fn collect(doc: &Document, path: &[String], out: &mut Vec<Bson>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match doc.get(first) {
        None => out.push(Bson::Null),
        Some(value) => collect_value(value, rest, out),
    }
}

fn collect_value(value: &Bson, rest: &[String], out: &mut Vec<Bson>) {
    match (value, rest.is_empty()) {
        (Bson::Array(items), true) if items.is_empty() => out.push(Bson::Undefined),
        (Bson::Array(items), true) => out.extend(items.iter().cloned()),
        (value, true) => out.push(value.clone()),
        (Bson::Document(inner), false) => collect(inner, rest, out),
        (Bson::Array(items), false) => {
            let before = out.len();
            for item in items {
                if let Bson::Document(inner) = item {
                    collect(inner, rest, out);
                }
            }
            if out.len() == before {
                out.push(Bson::Null);
            }
        }
        _ => out.push(Bson::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn check(spec: Document, docs: Vec<Document>, expected_ids: &[i32]) {
        let spec = SortSpec::parse(&spec).expect("valid spec");
        let mut docs = docs;
        spec.sort(&mut docs, |d| d);
        let ids: Vec<i32> = docs
            .iter()
            .map(|d| d.get_i32("_id").expect("_id"))
            .collect();
        assert_eq!(ids, expected_ids);
    }

    #[test]
    fn sort_orders_by_fields_and_directions() {
        check(
            doc! {"a": 1},
            vec![
                doc! {"_id": 1, "a": 3},
                doc! {"_id": 2, "a": 1},
                doc! {"_id": 3},
            ],
            &[3, 2, 1],
        );
        check(
            doc! {"a": -1, "b": 1},
            vec![
                doc! {"_id": 1, "a": 1, "b": 2},
                doc! {"_id": 2, "a": 1, "b": 1},
                doc! {"_id": 3, "a": 2},
            ],
            &[3, 2, 1],
        );
    }

    #[test]
    fn sort_uses_the_smallest_array_element_ascending_and_largest_descending() {
        let docs = || {
            vec![
                doc! {"_id": 1, "a": [1, 10]},
                doc! {"_id": 2, "a": [5]},
                doc! {"_id": 3, "a": []},
            ]
        };
        check(doc! {"a": 1}, docs(), &[3, 1, 2]);
        check(doc! {"a": -1}, docs(), &[1, 2, 3]);
    }

    #[test]
    fn sort_spec_rejects_bad_directions() {
        let error = SortSpec::parse(&doc! {"a": 2}).expect_err("bad direction");
        assert_eq!(error.code.0, 15975);
        assert!(SortSpec::parse(&doc! {}).is_err());
    }
}
