//! Predicates on one value: what a leaf of a filter tests at each candidate
//! its path yields.
//!
//! A predicate sees `None` for a missing value. Comparisons only relate
//! values of the same canonical type ("type bracketing"), with mongod's
//! exceptions: null bounds also match missing values, MinKey/MaxKey bounds
//! match everything on their open side, and NaN equals only NaN.
//!
//! Testing never allocates, except `$elemMatch` over an array nested in an
//! array, which mongod matches as a document keyed by position.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::bits::Bits;
use super::regex::Pattern;
use super::tree::Node;
use crate::collation::Collation;
use crate::order::{self, canonical_type, decimal_to_f64};
use crate::path::LeafArrays;

/// A test on one value.
#[derive(Debug, Clone)]
pub(super) enum Pred {
    Compare(Cmp, Bson),
    In(InSet),
    Regex(Pattern),
    Exists,
    Type(TypeSet),
    Mod {
        divisor: i64,
        remainder: i64,
    },
    Size(usize),
    /// `$elemMatch` over values: some element satisfies every operator.
    ElemMatchValue(Vec<Op>),
    /// `$elemMatch` over documents: some element matches the filter.
    ElemMatchObject(Box<Node>),
    /// `$bitsAllSet` and its siblings.
    Bits(Bits),
    /// `$all: []` matches nothing.
    Never,
}

/// An operator of a field's operator document, kept unbound from any path so
/// that `$elemMatch` can apply it to elements and a filter to candidates.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Pred(Pred),
    /// `$ne`, `$nin`, `$not`, `$exists: false`: none of the operators holds.
    Not(Vec<Op>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
}

/// The values of `$in`, sorted in MongoDB's order for binary search.
#[derive(Debug, Clone)]
pub(super) struct InSet {
    values: Vec<Bson>,
    patterns: Vec<Pattern>,
    has_null: bool,
}

impl InSet {
    pub(super) fn new(mut values: Vec<Bson>, patterns: Vec<Pattern>) -> InSet {
        values.sort_by(order::compare);
        values.dedup_by(|a, b| order::equal(a, b));
        let has_null = values.iter().any(|v| matches!(v, Bson::Null));
        InSet {
            values,
            patterns,
            has_null,
        }
    }

    fn contains(&self, value: Option<&Bson>, coll: Option<&Collation>) -> bool {
        let Some(value) = value else {
            return self.has_null;
        };
        // The values are sorted in the binary order; under a collation
        // that order does not hold, so each is compared in turn.
        let listed = match coll {
            None => self
                .values
                .binary_search_by(|probe| order::compare(probe, value))
                .is_ok(),
            Some(_) => self
                .values
                .iter()
                .any(|v| order::equal_collated(v, value, coll)),
        };
        listed || self.patterns.iter().any(|p| p.matches(value))
    }
}

/// A set of `$type` codes as a bit mask: bit n for BSON type n (1..=19),
/// and bits for "number", MinKey and MaxKey.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TypeSet(u32);

const NUMBER_BIT: u32 = 0;
const MIN_KEY_BIT: u32 = 20;
const MAX_KEY_BIT: u32 = 21;

impl TypeSet {
    /// Adds a type by mongod's numeric code; false if there is no such type.
    pub(super) fn insert_code(&mut self, code: i64) -> bool {
        let bit = match code {
            -1 => MIN_KEY_BIT,
            127 => MAX_KEY_BIT,
            1..=19 => code as u32,
            _ => return false,
        };
        self.0 |= 1 << bit;
        true
    }

    /// Adds a type by its alias; false for an unknown alias.
    pub(super) fn insert_alias(&mut self, alias: &str) -> bool {
        let code = match alias {
            "number" => {
                self.0 |= 1 << NUMBER_BIT;
                return true;
            }
            "double" => 1,
            "string" => 2,
            "object" => 3,
            "array" => 4,
            "binData" => 5,
            "undefined" => 6,
            "objectId" => 7,
            "bool" => 8,
            "date" => 9,
            "null" => 10,
            "regex" => 11,
            "dbPointer" => 12,
            "javascript" => 13,
            "symbol" => 14,
            "javascriptWithScope" => 15,
            "int" => 16,
            "timestamp" => 17,
            "long" => 18,
            "decimal" => 19,
            "minKey" => -1,
            "maxKey" => 127,
            _ => return false,
        };
        self.insert_code(code)
    }

    pub(super) fn contains(self, value: &Bson) -> bool {
        let is_number = canonical_type(value) == canonical_type(&Bson::Int32(0));
        (self.0 & (1 << type_bit(value)) != 0) || (is_number && self.0 & (1 << NUMBER_BIT) != 0)
    }
}

pub(crate) use crate::order::type_name;

fn type_bit(value: &Bson) -> u32 {
    match value {
        Bson::Double(_) => 1,
        Bson::String(_) => 2,
        Bson::Document(_) => 3,
        Bson::Array(_) => 4,
        Bson::Binary(_) => 5,
        Bson::Undefined => 6,
        Bson::ObjectId(_) => 7,
        Bson::Boolean(_) => 8,
        Bson::DateTime(_) => 9,
        Bson::Null => 10,
        Bson::RegularExpression(_) => 11,
        Bson::DbPointer(_) => 12,
        Bson::JavaScriptCode(_) => 13,
        Bson::Symbol(_) => 14,
        Bson::JavaScriptCodeWithScope(_) => 15,
        Bson::Int32(_) => 16,
        Bson::Timestamp(_) => 17,
        Bson::Int64(_) => 18,
        Bson::Decimal128(_) => 19,
        Bson::MinKey => MIN_KEY_BIT,
        Bson::MaxKey => MAX_KEY_BIT,
    }
}

impl Pred {
    /// Which candidates a path yields for this predicate.
    pub(super) fn leaf_arrays(&self) -> LeafArrays {
        match self {
            Pred::Size(_) | Pred::ElemMatchValue(_) | Pred::ElemMatchObject(_) => LeafArrays::Whole,
            _ => LeafArrays::Elements,
        }
    }

    /// Tests one candidate, comparing strings under `coll`. `$elemMatch`
    /// stores the position of the element that matched in `at`.
    pub(super) fn test(
        &self,
        value: Option<&Bson>,
        at: &mut Option<usize>,
        coll: Option<&Collation>,
    ) -> bool {
        match self {
            Pred::Compare(cmp, bound) => compare(*cmp, bound, value, coll),
            Pred::In(set) => set.contains(value, coll),
            Pred::Regex(pattern) => value.is_some_and(|v| pattern.matches(v)),
            Pred::Exists => value.is_some(),
            Pred::Type(types) => value.is_some_and(|v| types.contains(v)),
            Pred::Mod { divisor, remainder } => {
                value.is_some_and(|v| modulo(v, *divisor, *remainder))
            }
            Pred::Size(size) => matches!(value, Some(Bson::Array(items)) if items.len() == *size),
            Pred::ElemMatchValue(ops) => elements(value, at, |item| all_hold(ops, item, coll)),
            Pred::ElemMatchObject(node) => {
                elements(value, at, |item| object_matches(node, item, coll))
            }
            Pred::Bits(bits) => value.is_some_and(|v| bits.matches(v)),
            Pred::Never => false,
        }
    }
}

/// Whether every operator holds for one value (no path, no array traversal).
pub(super) fn all_hold(ops: &[Op], value: &Bson, coll: Option<&Collation>) -> bool {
    ops.iter().all(|op| match op {
        Op::Pred(pred) => pred.test(Some(value), &mut None, coll),
        Op::Not(inner) => !all_hold(inner, value, coll),
    })
}

fn elements(value: Option<&Bson>, at: &mut Option<usize>, test: impl FnMut(&Bson) -> bool) -> bool {
    let Some(Bson::Array(items)) = value else {
        return false;
    };
    match items.iter().position(test) {
        Some(position) => {
            *at = Some(position);
            true
        }
        None => false,
    }
}

fn object_matches(node: &Node, item: &Bson, coll: Option<&Collation>) -> bool {
    match item {
        Bson::Document(doc) => node.matches(doc, &mut None, coll),
        Bson::Array(items) => {
            let keyed: Document = items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect();
            node.matches(&keyed, &mut None, coll)
        }
        _ => false,
    }
}

fn compare(cmp: Cmp, bound: &Bson, value: Option<&Bson>, coll: Option<&Collation>) -> bool {
    let Some(value) = value else {
        return missing_compares(cmp, bound);
    };
    if canonical_type(value) != canonical_type(bound) {
        return match bound {
            Bson::MinKey => matches!(cmp, Cmp::Gt | Cmp::Gte),
            Bson::MaxKey => matches!(cmp, Cmp::Lt | Cmp::Lte),
            _ => false,
        };
    }
    let (value_nan, bound_nan) = (is_nan(value), is_nan(bound));
    if value_nan || bound_nan {
        return value_nan && bound_nan && matches!(cmp, Cmp::Eq | Cmp::Lte | Cmp::Gte);
    }
    let ordering = order::compare_collated(value, bound, coll);
    match cmp {
        Cmp::Eq => ordering == Ordering::Equal,
        Cmp::Lt => ordering == Ordering::Less,
        Cmp::Lte => ordering != Ordering::Greater,
        Cmp::Gt => ordering == Ordering::Greater,
        Cmp::Gte => ordering != Ordering::Less,
    }
}

/// A missing value compares like mongod's end-of-object: equal to null, and
/// inside MinKey/MaxKey bounds.
fn missing_compares(cmp: Cmp, bound: &Bson) -> bool {
    match bound {
        Bson::Null => matches!(cmp, Cmp::Eq | Cmp::Lte | Cmp::Gte),
        Bson::MinKey => matches!(cmp, Cmp::Gt | Cmp::Gte),
        Bson::MaxKey => matches!(cmp, Cmp::Lt | Cmp::Lte),
        _ => false,
    }
}

fn is_nan(value: &Bson) -> bool {
    match value {
        Bson::Double(d) => d.is_nan(),
        Bson::Decimal128(d) => decimal_to_f64(d).is_nan(),
        _ => false,
    }
}

/// `$mod`: the value, truncated to an integer, has the remainder. NaN and
/// infinities have no integer value and never match.
fn modulo(value: &Bson, divisor: i64, remainder: i64) -> bool {
    let whole = match value {
        Bson::Int32(i) => i64::from(*i),
        Bson::Int64(i) => *i,
        Bson::Double(d) if d.is_finite() => *d as i64,
        Bson::Decimal128(d) => match decimal_to_f64(d) {
            f if f.is_finite() => f as i64,
            _ => return false,
        },
        _ => return false,
    };
    match whole.checked_rem(divisor) {
        Some(rest) => rest == remainder,
        // Only i64::MIN % -1 overflows, and its remainder is 0; a zero
        // divisor is refused at parse time and never matches here.
        None => divisor == -1 && remainder == 0,
    }
}
