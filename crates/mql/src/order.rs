//! The total order MongoDB defines over all BSON values.
//!
//! Values of different types compare by their *canonical type*
//! (MinKey < Undefined < Null < numbers < strings < objects < arrays < binary
//! < ObjectId < bool < date < timestamp < regex < DBPointer < code
//! < code-with-scope < MaxKey); values of the same canonical type compare by
//! value. All numeric types (int32, int64, double, decimal128) form one
//! canonical type and compare by mathematical value, exactly, with NaN below
//! every other number and equal to itself. Strings compare byte-wise (the
//! simple collation). Documents compare element by element: canonical type,
//! then field name, then value; a prefix sorts first. Arrays compare the same
//! way, element by element.
//!
//! [`compare_collated`] is the same order with strings compared under a
//! collation ([`crate::collation`]); `compare` is it with none, and pays for
//! the option only when two strings meet.
//!
//! Invariant: [`compare`] is a total order (reflexive, antisymmetric,
//! transitive) on every value, including NaN and nested values; the property
//! tests below check it. This is what sort, `$min`/`$max`, range predicates and
//! index keys all rely on.

use std::cmp::Ordering;

use bson::{Bson, Document};

use crate::collation::Collation;

/// mongod's canonical type numbers; only their order matters.
pub fn canonical_type(value: &Bson) -> u8 {
    match value {
        Bson::MinKey => 0,
        Bson::Undefined => 1,
        Bson::Null => 2,
        Bson::Double(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Decimal128(_) => 3,
        Bson::String(_) | Bson::Symbol(_) => 4,
        Bson::Document(_) => 5,
        Bson::Array(_) => 6,
        Bson::Binary(_) => 7,
        Bson::ObjectId(_) => 8,
        Bson::Boolean(_) => 9,
        Bson::DateTime(_) => 10,
        Bson::Timestamp(_) => 11,
        Bson::RegularExpression(_) => 12,
        Bson::DbPointer(_) => 13,
        Bson::JavaScriptCode(_) => 14,
        Bson::JavaScriptCodeWithScope(_) => 15,
        Bson::MaxKey => 16,
    }
}

/// mongod's name of a value's BSON type (`$type`'s names), as its messages
/// print it.
pub fn type_name(value: &Bson) -> &'static str {
    match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::Undefined => "undefined",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::DbPointer(_) => "dbPointer",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::Symbol(_) => "symbol",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        Bson::MinKey => "minKey",
        Bson::MaxKey => "maxKey",
    }
}

/// Compares two values in MongoDB's order.
#[inline]
pub fn compare(a: &Bson, b: &Bson) -> Ordering {
    // `_id`s, inline: the primary map compares them on every step.
    if let (Bson::ObjectId(x), Bson::ObjectId(y)) = (a, b) {
        return object_ids(x, y);
    }
    compare_collated(a, b, None)
}

/// Compares two values in MongoDB's order, strings (at any depth) under
/// `collation` when there is one. Field names always compare byte-wise.
pub fn compare_collated(a: &Bson, b: &Bson, collation: Option<&Collation>) -> Ordering {
    // The usual `_id` and index key types, compared without classifying
    // them first: primary maps and indexes call this on every step.
    match (a, b) {
        (Bson::ObjectId(x), Bson::ObjectId(y)) => return object_ids(x, y),
        (Bson::String(x), Bson::String(y)) => return strings(x, y, collation),
        (Bson::Int32(x), Bson::Int32(y)) => return x.cmp(y),
        (Bson::Int64(x), Bson::Int64(y)) => return x.cmp(y),
        _ => {}
    }
    let by_type = canonical_type(a).cmp(&canonical_type(b));
    if by_type != Ordering::Equal {
        return by_type;
    }
    match (a, b) {
        (Bson::String(x) | Bson::Symbol(x), Bson::String(y) | Bson::Symbol(y)) => {
            strings(x, y, collation)
        }
        (Bson::Document(x), Bson::Document(y)) => documents(x, y, collation),
        (Bson::Array(x), Bson::Array(y)) => arrays(x, y, collation),
        (Bson::Binary(x), Bson::Binary(y)) => x
            .bytes
            .len()
            .cmp(&y.bytes.len())
            .then_with(|| u8::from(x.subtype).cmp(&u8::from(y.subtype)))
            .then_with(|| x.bytes.cmp(&y.bytes)),
        (Bson::ObjectId(x), Bson::ObjectId(y)) => object_ids(x, y),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.timestamp_millis().cmp(&y.timestamp_millis()),
        (Bson::Timestamp(x), Bson::Timestamp(y)) => {
            (x.time, x.increment).cmp(&(y.time, y.increment))
        }
        (Bson::RegularExpression(x), Bson::RegularExpression(y)) => x
            .pattern
            .as_str()
            .cmp(y.pattern.as_str())
            .then_with(|| x.options.as_str().cmp(y.options.as_str())),
        (Bson::JavaScriptCode(x), Bson::JavaScriptCode(y)) => x.cmp(y),
        (Bson::JavaScriptCodeWithScope(x), Bson::JavaScriptCodeWithScope(y)) => x
            .code
            .cmp(&y.code)
            .then_with(|| compare_documents(&x.scope, &y.scope)),
        (Bson::DbPointer(x), Bson::DbPointer(y)) => {
            // The fields are private; their debug form carries both.
            format!("{x:?}").cmp(&format!("{y:?}"))
        }
        _ => match (Number::of(a), Number::of(b)) {
            (Some(x), Some(y)) => x.total_cmp(y),
            // Same canonical type and not a number: MinKey, MaxKey, Null, Undefined.
            _ => Ordering::Equal,
        },
    }
}

/// Byte-wise order of two ObjectIds, as two integer compares: the primary
/// map compares `_id`s on every step, and a 12-byte `memcmp` call costs
/// several times more.
#[inline]
fn object_ids(x: &bson::oid::ObjectId, y: &bson::oid::ObjectId) -> Ordering {
    let (x, y) = (x.bytes(), y.bytes());
    let split = |b: [u8; 12]| {
        let (high, low) = b.split_at(8);
        let high = u64::from_be_bytes(high.try_into().unwrap_or_default());
        let low = u32::from_be_bytes(low.try_into().unwrap_or_default());
        (high, low)
    };
    split(x).cmp(&split(y))
}

fn strings(a: &str, b: &str, collation: Option<&Collation>) -> Ordering {
    match collation {
        None => a.as_bytes().cmp(b.as_bytes()),
        Some(collation) => collation.compare_str(a, b),
    }
}

/// Compares two documents element by element: canonical type, field name, value.
pub fn compare_documents(a: &Document, b: &Document) -> Ordering {
    documents(a, b, None)
}

fn documents(a: &Document, b: &Document, collation: Option<&Collation>) -> Ordering {
    let mut left = a.iter();
    let mut right = b.iter();
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((ka, va)), Some((kb, vb))) => {
                let ord = canonical_type(va)
                    .cmp(&canonical_type(vb))
                    .then_with(|| ka.as_bytes().cmp(kb.as_bytes()))
                    .then_with(|| compare_collated(va, vb, collation));
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

fn arrays(a: &[Bson], b: &[Bson], collation: Option<&Collation>) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = canonical_type(x)
            .cmp(&canonical_type(y))
            .then_with(|| compare_collated(x, y, collation));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

/// Equality in MongoDB's order (so `1 == 1.0 == NumberLong(1)`).
pub fn equal(a: &Bson, b: &Bson) -> bool {
    compare(a, b) == Ordering::Equal
}

/// Equality in MongoDB's order under a collation.
pub fn equal_collated(a: &Bson, b: &Bson, collation: Option<&Collation>) -> bool {
    compare_collated(a, b, collation) == Ordering::Equal
}

/// A numeric value, widened for exact comparison across BSON's number types.
#[derive(Clone, Copy, Debug)]
pub enum Number {
    Int(i64),
    Double(f64),
}

impl Number {
    pub fn of(value: &Bson) -> Option<Number> {
        match value {
            Bson::Int32(i) => Some(Number::Int(i64::from(*i))),
            Bson::Int64(i) => Some(Number::Int(*i)),
            Bson::Double(d) => Some(Number::Double(*d)),
            Bson::Decimal128(d) => Some(Number::Double(decimal_to_f64(d))),
            _ => None,
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Double(d) => d,
        }
    }

    /// Exact comparison; NaN sorts below every number and equals itself.
    pub fn total_cmp(self, other: Number) -> Ordering {
        match (self, other) {
            (Number::Int(x), Number::Int(y)) => x.cmp(&y),
            (Number::Int(x), Number::Double(y)) => compare_int_double(x, y),
            (Number::Double(x), Number::Int(y)) => compare_int_double(y, x).reverse(),
            (Number::Double(x), Number::Double(y)) => compare_doubles(x, y),
        }
    }
}

/// Converts a decimal128 through its decimal string; exact for every value a
/// double can hold, and the nearest double otherwise.
pub fn decimal_to_f64(value: &bson::Decimal128) -> f64 {
    let text = value.to_string();
    match text.as_str() {
        "NaN" | "-NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ => text.parse().unwrap_or(f64::NAN),
    }
}

fn compare_doubles(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        // Neither is NaN, so partial_cmp is total here; -0.0 == 0.0 as in mongod.
        (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

fn compare_int_double(x: i64, y: f64) -> Ordering {
    // 2^63 as a double; every i64 is below it and at or above its negation.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if y.is_nan() {
        return Ordering::Greater;
    }
    if y >= TWO_POW_63 {
        return Ordering::Less;
    }
    if y < -TWO_POW_63 {
        return Ordering::Greater;
    }
    let whole = y.trunc();
    // In range, so the cast is exact.
    let whole_int = whole as i64;
    x.cmp(&whole_int).then_with(|| {
        let fraction = y - whole;
        if fraction > 0.0 {
            Ordering::Less
        } else if fraction < 0.0 {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{Bson, doc, oid::ObjectId};
    use proptest::prelude::*;

    fn check(smaller: Bson, larger: Bson) {
        assert_eq!(
            compare(&smaller, &larger),
            Ordering::Less,
            "{smaller} < {larger}"
        );
        assert_eq!(
            compare(&larger, &smaller),
            Ordering::Greater,
            "{larger} > {smaller}"
        );
    }

    #[test]
    fn order_across_types_follows_canonical_types() {
        let ladder = [
            Bson::MinKey,
            Bson::Null,
            Bson::Int32(5),
            Bson::String("a".into()),
            Bson::Document(doc! {}),
            Bson::Array(vec![]),
            Bson::ObjectId(ObjectId::from_bytes([0; 12])),
            Bson::Boolean(false),
            Bson::DateTime(bson::DateTime::from_millis(0)),
            Bson::Timestamp(bson::Timestamp {
                time: 0,
                increment: 0,
            }),
            Bson::MaxKey,
        ];
        for pair in ladder.windows(2) {
            check(pair[0].clone(), pair[1].clone());
        }
    }

    #[test]
    fn numbers_compare_by_value_across_types() {
        assert!(equal(&Bson::Int32(1), &Bson::Double(1.0)));
        assert!(equal(&Bson::Int64(1), &Bson::Int32(1)));
        check(Bson::Double(f64::NAN), Bson::Double(f64::NEG_INFINITY));
        check(Bson::Int64(i64::MAX), Bson::Double(9.3e18));
        check(Bson::Int64(i64::MAX - 1), Bson::Int64(i64::MAX));
        check(Bson::Int64(2), Bson::Double(2.5));
        check(Bson::Double(-2.5), Bson::Int64(-2));
        assert!(equal(&Bson::Double(-0.0), &Bson::Int32(0)));
    }

    #[test]
    fn documents_and_arrays_compare_element_wise() {
        check(Bson::Document(doc! {"a": 1}), Bson::Document(doc! {"a": 2}));
        check(Bson::Document(doc! {"a": 1}), Bson::Document(doc! {"b": 1}));
        check(
            Bson::Document(doc! {"a": 1}),
            Bson::Document(doc! {"a": 1, "b": 0}),
        );
        check(
            Bson::Document(doc! {"a": 9}),
            Bson::Document(doc! {"a": "x"}),
        );
        check(
            Bson::Array(vec![Bson::Int32(1)]),
            Bson::Array(vec![Bson::Int32(1), Bson::Int32(0)]),
        );
    }

    fn scalar() -> impl Strategy<Value = Bson> {
        prop_oneof![
            Just(Bson::Null),
            Just(Bson::MinKey),
            Just(Bson::MaxKey),
            any::<i32>().prop_map(Bson::Int32),
            any::<i64>().prop_map(Bson::Int64),
            any::<f64>().prop_map(Bson::Double),
            (-3i64..3).prop_map(|i| Bson::Double(i as f64 + 0.5)),
            "[a-c]{0,3}".prop_map(Bson::String),
            any::<bool>().prop_map(Bson::Boolean),
        ]
    }

    fn value() -> impl Strategy<Value = Bson> {
        scalar().prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
                prop::collection::vec(("[ab]", inner), 0..3).prop_map(|fields| {
                    Bson::Document(fields.into_iter().collect::<Document>())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn compare_is_a_total_order(a in value(), b in value(), c in value()) {
            prop_assert_eq!(compare(&a, &a), Ordering::Equal);
            prop_assert_eq!(compare(&a, &b), compare(&b, &a).reverse());
            if compare(&a, &b) != Ordering::Greater && compare(&b, &c) != Ordering::Greater {
                prop_assert_ne!(compare(&a, &c), Ordering::Greater);
            }
        }
    }
}
