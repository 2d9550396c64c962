//! The planner: picks an index for equality, `$in` and range predicates on
//! an index's leading field, or a point lookup for `_id`.
//!
//! It only narrows: a predicate the planner does not understand is simply
//! not used for access (the executor re-checks the whole filter). Values the
//! index cannot answer exactly (null, arrays, regexes) are never planned, so
//! no matching document can be missed.
//!
//! Indexes (and `_id` lookups) hold keys in the simple collation, so under a
//! query collation a string bound would miss documents equal under it:
//! values holding strings are then not planned (mongod too uses an index
//! for string bounds only when the collations agree).

use std::borrow::Cow;
use std::ops::Bound;

use bson::{Bson, Document};

use crate::storage::collection::Collection;
use crate::storage::index::Index;
use crate::storage::key::Key;

pub enum Plan {
    /// Fetch these `_id`s (from the `_id` index or a secondary index).
    Ids(Vec<Key>),
    CollectionScan,
}

/// What the planner chose, as `explain` reports it; built only on request
/// so the query path pays nothing for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Equality or `$in` on `_id`, looked up directly: the point intervals,
    /// in mongod's notation (`"[1, 1]"`).
    IdPoints(Vec<String>),
    /// A scan of one index over its leading field.
    Index {
        name: String,
        key_pattern: Document,
        field: String,
        /// The scanned intervals, in mongod's notation (`"[1, 1]"`,
        /// `"(3, inf.0]"`).
        bounds: Vec<String>,
    },
    CollectionScan,
}

/// What a filter says about one top-level path, borrowing the filter's
/// values (only the type brackets of ranges are made up).
// A filter yields a handful of these, briefly: unboxed, a range costs no
// allocation per statement.
#[allow(clippy::large_enum_variant)]
enum Predicate<'a> {
    /// Equality with any of these values: one value, or `$in`'s list, both
    /// borrowed from the filter.
    Points(&'a [Bson]),
    Range(Limit<'a>, Limit<'a>),
}

impl Predicate<'_> {
    /// Whether a bound holds a string anywhere (a collation would compare it).
    fn has_strings(&self) -> bool {
        match self {
            Predicate::Points(values) => values.iter().any(holds_string),
            Predicate::Range(low, high) => [low, high].into_iter().any(|end| match end {
                Bound::Included(v) | Bound::Excluded(v) => holds_string(v),
                Bound::Unbounded => false,
            }),
        }
    }
}

fn holds_string(value: &Bson) -> bool {
    match value {
        Bson::String(_) | Bson::Symbol(_) => true,
        Bson::Array(items) => items.iter().any(holds_string),
        Bson::Document(doc) => doc.values().any(holds_string),
        _ => false,
    }
}

/// One end of a range predicate.
type Limit<'a> = Bound<Cow<'a, Bson>>;

/// Picks the access path for `filter`; `collated` says the query compares
/// strings under a (non-simple) collation.
pub fn plan(coll: &Collection, filter: &Document, collated: bool) -> Plan {
    choose(coll, filter, collated, false).0
}

/// [`plan`], with a description of the chosen access path.
pub fn plan_described(coll: &Collection, filter: &Document, collated: bool) -> (Plan, Access) {
    let (plan, access) = choose(coll, filter, collated, true);
    (plan, access.unwrap_or(Access::CollectionScan))
}

/// The planner; `describe` asks for an [`Access`] too.
///
/// Predicates are built lazily, in the filter's order: the `_id` one first,
/// then only those on a field some index leads with; under a collation, one
/// holding strings is not usable.
fn choose(
    coll: &Collection,
    filter: &Document,
    collated: bool,
    describe: bool,
) -> (Plan, Option<Access>) {
    let usable = |value| predicate(value).filter(|p| !(collated && p.has_strings()));
    let mut on_id = None;
    each_field(filter, &mut |path, value| {
        if on_id.is_none() && path == "_id" {
            on_id = usable(value);
        }
    });
    if let Some(points @ Predicate::Points(values)) = &on_id {
        let access = describe.then(|| Access::IdPoints(bounds(points)));
        return (
            Plan::Ids(values.iter().map(|v| Key(v.clone())).collect()),
            access,
        );
    }
    let indexes = coll.indexes();
    let leads = |index: &Index, path: &str| {
        index.spec.partial.is_none()
            && index.spec.fields.first().map(|f| f.0.as_str()) == Some(path)
    };
    let mut best: Option<(u8, Vec<Key>, Option<Access>)> = None;
    each_field(filter, &mut |path, value| {
        if !indexes.iter().any(|index| leads(index, path)) {
            return;
        }
        let Some(predicate) = usable(value) else {
            return;
        };
        let rank = match predicate {
            Predicate::Points(_) => 0,
            Predicate::Range(..) => 1,
        };
        for index in indexes.iter().filter(|index| leads(index, path)) {
            // Only a strictly better rank replaces the best so far.
            if best.as_ref().is_some_and(|(r, _, _)| rank >= *r) {
                continue;
            }
            let ids = match &predicate {
                Predicate::Points(values) => {
                    let scan = |v| index.scan_leading(Bound::Included(v), Bound::Included(v));
                    match values {
                        [value] => scan(value),
                        _ => values.iter().flat_map(scan).collect(),
                    }
                }
                Predicate::Range(low, high) => {
                    let low = low.as_ref().map(|v| &**v);
                    let high = high.as_ref().map(|v| &**v);
                    index.scan_leading(low, high)
                }
            };
            let access = describe.then(|| Access::Index {
                name: index.spec.name.clone(),
                key_pattern: index.spec.key.clone(),
                field: path.to_owned(),
                bounds: bounds(&predicate),
            });
            best = Some((rank, ids, access));
        }
    });
    match best {
        Some((_, ids, access)) => (Plan::Ids(ids), access),
        None => (
            Plan::CollectionScan,
            describe.then_some(Access::CollectionScan),
        ),
    }
}

/// A predicate's index intervals in mongod's notation. Ends the planner
/// made up from a type bracket print as mongod prints them.
fn bounds(predicate: &Predicate<'_>) -> Vec<String> {
    match predicate {
        Predicate::Points(values) => {
            let mut points: Vec<&Bson> = values.iter().collect();
            points.sort_by(|a, b| mql::order::compare(a, b));
            points.dedup_by(|a, b| mql::order::compare(a, b).is_eq());
            points
                .iter()
                .map(|v| {
                    let v = render(v);
                    format!("[{v}, {v}]")
                })
                .collect()
        }
        Predicate::Range(low, high) => {
            let (open, low) = match low {
                // A made-up numeric low end (NaN sorts first) is mongod's -inf.
                Bound::Included(Cow::Owned(Bson::Double(d))) if d.is_nan() => {
                    ('[', "-inf.0".to_owned())
                }
                Bound::Included(v) => ('[', render(v)),
                Bound::Excluded(v) => ('(', render(v)),
                Bound::Unbounded => ('[', "MinKey".to_owned()),
            };
            let (close, high) = match high {
                Bound::Included(v) => (']', render(v)),
                // A made-up numeric high end (strings sort next) is mongod's inf.
                Bound::Excluded(Cow::Owned(Bson::String(s))) if s.is_empty() => {
                    (']', "inf.0".to_owned())
                }
                Bound::Excluded(v) => (')', render(v)),
                Bound::Unbounded => (']', "MaxKey".to_owned()),
            };
            vec![format!("{open}{low}, {high}{close}")]
        }
    }
}

/// A value as mongod's explain prints index bounds.
fn render(value: &Bson) -> String {
    match value {
        Bson::Int32(n) => n.to_string(),
        Bson::Int64(n) => n.to_string(),
        Bson::Double(d) if d.is_infinite() => if *d > 0.0 { "inf.0" } else { "-inf.0" }.to_owned(),
        Bson::Double(d) if d.fract() == 0.0 && d.abs() < 1e15 => format!("{d:.1}"),
        Bson::Double(d) => d.to_string(),
        Bson::String(s) => format!("{s:?}"),
        Bson::Boolean(b) => b.to_string(),
        Bson::ObjectId(id) => format!("ObjectId('{id}')"),
        Bson::DateTime(t) => format!("new Date({})", t.timestamp_millis()),
        Bson::Document(d) if d.is_empty() => "{}".to_owned(),
        other => other.to_string(),
    }
}

/// Calls `visit` with each top-level path of `filter` and its condition,
/// in order, looking inside `$and` (other `$` operators say nothing an index
/// can answer).
fn each_field<'a>(filter: &'a Document, visit: &mut dyn FnMut(&'a str, &'a Bson)) {
    for (field, value) in filter {
        if field == "$and" {
            if let Bson::Array(items) = value {
                for item in items {
                    if let Bson::Document(sub) = item {
                        each_field(sub, visit);
                    }
                }
            }
            continue;
        }
        if !field.starts_with('$') {
            visit(field, value);
        }
    }
}

fn is_operator_doc(doc: &Document) -> bool {
    doc.keys().next().is_some_and(|k| k.starts_with('$'))
}

/// Values an index lookup answers exactly by equality.
fn plannable(value: &Bson) -> bool {
    match value {
        Bson::Null
        | Bson::Undefined
        | Bson::Array(_)
        | Bson::RegularExpression(_)
        | Bson::MinKey
        | Bson::MaxKey => false,
        Bson::Document(doc) => !is_operator_doc(doc),
        _ => true,
    }
}

fn predicate(value: &Bson) -> Option<Predicate<'_>> {
    let Bson::Document(doc) = value else {
        return plannable(value).then(|| Predicate::Points(std::slice::from_ref(value)));
    };
    if !is_operator_doc(doc) {
        return plannable(value).then(|| Predicate::Points(std::slice::from_ref(value)));
    }
    if let Some(eq) = mql::path::field(doc, "$eq") {
        return plannable(eq).then(|| Predicate::Points(std::slice::from_ref(eq)));
    }
    if let Some(Bson::Array(values)) = mql::path::field(doc, "$in") {
        return values
            .iter()
            .all(plannable)
            .then_some(Predicate::Points(values));
    }
    let mut low = Bound::Unbounded;
    let mut high = Bound::Unbounded;
    let mut bracket = None;
    for (op, operand) in doc {
        if !plannable(operand) {
            continue;
        }
        match op.as_str() {
            "$gt" => low = Bound::Excluded(Cow::Borrowed(operand)),
            "$gte" => low = Bound::Included(Cow::Borrowed(operand)),
            "$lt" => high = Bound::Excluded(Cow::Borrowed(operand)),
            "$lte" => high = Bound::Included(Cow::Borrowed(operand)),
            _ => continue,
        }
        bracket = Some(type_bracket(operand));
    }
    let (type_low, type_high) = bracket?;
    if matches!(low, Bound::Unbounded) {
        low = type_low.map(Cow::Owned);
    }
    if matches!(high, Bound::Unbounded) {
        high = type_high.map(Cow::Owned);
    }
    Some(Predicate::Range(low, high))
}

/// The span of values of `value`'s canonical type: comparison operators
/// never match across types.
fn type_bracket(value: &Bson) -> (Bound<Bson>, Bound<Bson>) {
    let next = |v: Bson| Bound::Excluded(v);
    match value {
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => (
            Bound::Included(Bson::Double(f64::NAN)),
            next(Bson::String(String::new())),
        ),
        Bson::String(_) | Bson::Symbol(_) => (
            Bound::Included(Bson::String(String::new())),
            next(Bson::Document(Document::new())),
        ),
        Bson::ObjectId(_) => (
            Bound::Included(Bson::ObjectId(bson::oid::ObjectId::from_bytes([0; 12]))),
            next(Bson::Boolean(false)),
        ),
        Bson::DateTime(_) => (
            Bound::Included(Bson::DateTime(bson::DateTime::from_millis(i64::MIN))),
            next(Bson::Timestamp(bson::Timestamp {
                time: 0,
                increment: 0,
            })),
        ),
        _ => (Bound::Unbounded, Bound::Unbounded),
    }
}
