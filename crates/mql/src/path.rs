//! Dotted field paths (`"a.b.0.c"`) and the way MongoDB walks them through
//! embedded documents and arrays.
//!
//! A path is split into its parts once, when a filter or projection is
//! parsed; walking it never allocates. A part that is a canonical decimal
//! number (`"0"`, `"12"`, never `"01"`) can index an array.
//!
//! The walk ([`any_candidate`]) yields every value a query predicate must
//! consider, in mongod's order, as mongod's element iterator does:
//! - a missing field yields one *missing* candidate (so `{a: null}` and
//!   `$exists` can see it), as does a path running into a scalar;
//! - an array met before the end of the path is traversed implicitly: each
//!   element that is a document continues the walk (other elements yield
//!   nothing); a numeric part also indexes the array, and the element it
//!   names is a candidate as it is, without expanding it if it is an array;
//! - an array at the end of the path yields its elements first, then itself,
//!   unless the predicate asks for whole values ([`LeafArrays::Whole`], as
//!   `$size` and `$elemMatch` do);
//! - arrays directly inside arrays are not traversed implicitly.
//!
//! Each candidate carries the index of the element of the first array the
//! walk went through, which is what the positional `$` operator uses.
//!
//! Recursion depth is bounded by the nesting depth of the document walked,
//! since every step descends one level into it.

use bson::{Bson, Document};

/// A field path split into parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    repr: Repr,
}

/// Most paths have one part, which then is the whole path: it is kept once,
/// in one allocation (its name), rather than as a dotted copy beside a list.
/// The two forms never hold the same path (only a dotted one has a dot),
/// so derived equality is path equality.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    Single(Part),
    Dotted { dotted: String, parts: Box<[Part]> },
}

/// One part of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    name: String,
    index: Option<usize>,
}

impl Part {
    pub fn new(name: &str) -> Part {
        Part {
            name: name.to_owned(),
            index: array_index(name),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The array position this part names, if it is a canonical number.
    pub fn index(&self) -> Option<usize> {
        self.index
    }
}

impl FieldPath {
    /// Splits a dotted path. Every string is a path (empty parts included);
    /// callers that forbid some shapes check them before.
    pub fn new(dotted: &str) -> FieldPath {
        let repr = if dotted.contains('.') {
            Repr::Dotted {
                dotted: dotted.to_owned(),
                parts: dotted.split('.').map(Part::new).collect(),
            }
        } else {
            Repr::Single(Part::new(dotted))
        };
        FieldPath { repr }
    }

    pub fn dotted(&self) -> &str {
        match &self.repr {
            Repr::Single(part) => part.name(),
            Repr::Dotted { dotted, .. } => dotted,
        }
    }

    /// Never empty: splitting any string yields at least one part.
    pub fn parts(&self) -> &[Part] {
        match &self.repr {
            Repr::Single(part) => std::slice::from_ref(part),
            Repr::Dotted { parts, .. } => parts,
        }
    }
}

/// Up to this many fields, [`field`] finds a name by comparing it with each
/// key: cheaper than hashing it, for the small documents most are.
const FIELDS_SCANNED_MAX: usize = 8;

/// `doc.get(name)`, without hashing `name` when `doc` is small. Keys are
/// unique, so both find the same field.
#[inline]
pub fn field<'a>(doc: &'a Document, name: &str) -> Option<&'a Bson> {
    if doc.len() <= FIELDS_SCANNED_MAX {
        doc.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    } else {
        doc.get(name)
    }
}

/// `doc.get_mut(name)`, as [`field`] finds it.
#[inline]
pub fn field_mut<'a>(doc: &'a mut Document, name: &str) -> Option<&'a mut Bson> {
    if doc.len() <= FIELDS_SCANNED_MAX {
        doc.iter_mut()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    } else {
        doc.get_mut(name)
    }
}

/// The array position a path part names: digits only, no leading zero.
fn array_index(name: &str) -> Option<usize> {
    let digits_only = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
    let canonical = name == "0" || !name.starts_with('0');
    if digits_only && canonical {
        name.parse().ok()
    } else {
        None
    }
}

/// Whether an array at the end of a path yields its elements as candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafArrays {
    /// The elements, then the array itself (equality, ranges, `$in`, ...).
    Elements,
    /// Only the array itself (`$size`, `$elemMatch`).
    Whole,
}

/// One value a path leads to.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// `None` when the path leads nowhere (missing field, or a scalar where a
    /// document was needed).
    pub value: Option<&'a Bson>,
    /// The position in the first array the walk traversed.
    pub array_index: Option<usize>,
}

/// Walks `parts` through `doc`, calling `test` on each candidate until one
/// passes; returns whether one did.
pub fn any_candidate<'a, F>(
    doc: &'a Document,
    parts: &[Part],
    leaf: LeafArrays,
    test: &mut F,
) -> bool
where
    F: FnMut(Candidate<'a>) -> bool,
{
    walk_document(doc, parts, None, leaf, test)
}

fn walk_document<'a, F>(
    doc: &'a Document,
    parts: &[Part],
    array_index: Option<usize>,
    leaf: LeafArrays,
    test: &mut F,
) -> bool
where
    F: FnMut(Candidate<'a>) -> bool,
{
    let Some((first, rest)) = parts.split_first() else {
        return false;
    };
    match field(doc, first.name()) {
        Some(value) => walk_value(value, rest, array_index, leaf, test),
        None => test(Candidate {
            value: None,
            array_index,
        }),
    }
}

fn walk_value<'a, F>(
    value: &'a Bson,
    rest: &[Part],
    array_index: Option<usize>,
    leaf: LeafArrays,
    test: &mut F,
) -> bool
where
    F: FnMut(Candidate<'a>) -> bool,
{
    if rest.is_empty() {
        return walk_leaf(value, array_index, leaf, test);
    }
    match value {
        Bson::Document(doc) => walk_document(doc, rest, array_index, leaf, test),
        Bson::Array(items) => walk_array(items, rest, array_index, leaf, test),
        _ => test(Candidate {
            value: None,
            array_index,
        }),
    }
}

fn walk_leaf<'a, F>(
    value: &'a Bson,
    array_index: Option<usize>,
    leaf: LeafArrays,
    test: &mut F,
) -> bool
where
    F: FnMut(Candidate<'a>) -> bool,
{
    if let (Bson::Array(items), LeafArrays::Elements) = (value, leaf) {
        for (position, item) in items.iter().enumerate() {
            let candidate = Candidate {
                value: Some(item),
                array_index: array_index.or(Some(position)),
            };
            if test(candidate) {
                return true;
            }
        }
    }
    test(Candidate {
        value: Some(value),
        array_index,
    })
}

fn walk_array<'a, F>(
    items: &'a [Bson],
    rest: &[Part],
    array_index: Option<usize>,
    leaf: LeafArrays,
    test: &mut F,
) -> bool
where
    F: FnMut(Candidate<'a>) -> bool,
{
    let Some((next, after)) = rest.split_first() else {
        return false;
    };
    for (position, item) in items.iter().enumerate() {
        if let Bson::Document(doc) = item
            && walk_document(doc, rest, array_index.or(Some(position)), leaf, test)
        {
            return true;
        }
        if next.index() == Some(position) && walk_indexed(item, after, array_index, leaf, test) {
            return true;
        }
    }
    false
}

/// Continues a walk through an element reached by its position. This is not
/// an implicit traversal: it records no array position, an element that
/// ends the path is a candidate as it is (even an array), and a scalar with
/// path left yields nothing.
fn walk_indexed<'a, F>(
    item: &'a Bson,
    after: &[Part],
    array_index: Option<usize>,
    leaf: LeafArrays,
    test: &mut F,
) -> bool
where
    F: FnMut(Candidate<'a>) -> bool,
{
    if after.is_empty() {
        return test(Candidate {
            value: Some(item),
            array_index,
        });
    }
    match item {
        Bson::Document(doc) => walk_document(doc, after, array_index, leaf, test),
        Bson::Array(inner) => walk_array(inner, after, array_index, leaf, test),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{Bson, doc};

    /// Collects every candidate `path` yields over `doc`, as (value, index).
    fn check(
        doc: Document,
        path: &str,
        leaf: LeafArrays,
        expected: Vec<(Option<Bson>, Option<usize>)>,
    ) {
        let path = FieldPath::new(path);
        let mut seen = Vec::new();
        any_candidate(&doc, path.parts(), leaf, &mut |c: Candidate<'_>| {
            seen.push((c.value.cloned(), c.array_index));
            false
        });
        assert_eq!(seen, expected, "{doc} at {}", path.dotted());
    }

    #[test]
    fn path_missing_field_yields_one_missing_candidate() {
        check(doc! {"b": 1}, "a", LeafArrays::Elements, vec![(None, None)]);
        check(
            doc! {"a": 1},
            "a.b",
            LeafArrays::Elements,
            vec![(None, None)],
        );
    }

    #[test]
    fn path_leaf_array_yields_elements_then_itself() {
        check(
            doc! {"a": [1, [2]]},
            "a",
            LeafArrays::Elements,
            vec![
                (Some(Bson::Int32(1)), Some(0)),
                (Some(Bson::Array(vec![Bson::Int32(2)])), Some(1)),
                (
                    Some(Bson::Array(vec![
                        Bson::Int32(1),
                        Bson::Array(vec![Bson::Int32(2)]),
                    ])),
                    None,
                ),
            ],
        );
        check(
            doc! {"a": [1]},
            "a",
            LeafArrays::Whole,
            vec![(Some(Bson::Array(vec![Bson::Int32(1)])), None)],
        );
    }

    #[test]
    fn path_traverses_documents_inside_arrays_and_skips_scalars() {
        check(
            doc! {"a": [{"b": 1}, 7, {"c": 2}, {"b": [3]}]},
            "a.b",
            LeafArrays::Elements,
            vec![
                (Some(Bson::Int32(1)), Some(0)),
                (None, Some(2)),
                (Some(Bson::Int32(3)), Some(3)),
                (Some(Bson::Array(vec![Bson::Int32(3)])), Some(3)),
            ],
        );
    }

    #[test]
    fn path_numeric_part_indexes_arrays_and_names_fields() {
        check(
            doc! {"a": [{"0": 5}, 6]},
            "a.1",
            LeafArrays::Elements,
            vec![(None, Some(0)), (Some(Bson::Int32(6)), None)],
        );
        check(doc! {"a": [5]}, "a.00", LeafArrays::Elements, vec![]);
        check(doc! {"a": [5]}, "a.0.b", LeafArrays::Elements, vec![]);
        check(
            doc! {"a": [[5]]},
            "a.0",
            LeafArrays::Elements,
            vec![(Some(Bson::Array(vec![Bson::Int32(5)])), None)],
        );
        check(
            doc! {"a": [[{"b": 1}]]},
            "a.0.b",
            LeafArrays::Elements,
            vec![(Some(Bson::Int32(1)), Some(0))],
        );
        check(
            doc! {"a": [[{"b": 1}]]},
            "a.b",
            LeafArrays::Elements,
            vec![],
        );
    }
}
