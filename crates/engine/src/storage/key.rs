//! Keys ordered by MongoDB's BSON order, for the primary map and indexes.
//!
//! Invariant: `Ord` on these types is [`mql::order::compare`] (reversed per
//! part for descending index fields), so `1`, `1.0` and `NumberLong(1)` are
//! one key, as in mongod's indexes.

use std::borrow::Borrow;
use std::cmp::Ordering;

use bson::Bson;
use mql::order::compare;

/// A record's primary key: its `_id` value.
#[derive(Clone, Debug)]
pub struct Key(pub Bson);

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        compare(&self.0, &other.0)
    }
}

/// One component of an index key.
#[derive(Clone, Debug)]
pub enum KeyPart {
    Asc(Bson),
    Desc(Bson),
}

impl KeyPart {
    pub fn value(&self) -> &Bson {
        match self {
            KeyPart::Asc(v) | KeyPart::Desc(v) => v,
        }
    }
}

impl PartialEq for KeyPart {
    fn eq(&self, other: &KeyPart) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for KeyPart {}

impl PartialOrd for KeyPart {
    fn partial_cmp(&self, other: &KeyPart) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KeyPart {
    fn cmp(&self, other: &KeyPart) -> Ordering {
        match (self, other) {
            (KeyPart::Desc(a), KeyPart::Desc(b)) => compare(b, a),
            _ => compare(self.value(), other.value()),
        }
    }
}

/// A whole index entry key: one part per field of the key pattern.
pub type IndexKey = Box<[KeyPart]>;

/// An index entry as the entry set orders it, possibly borrowed: through
/// it a scan searches the set from a bound without first copying the bound
/// into an owned entry.
///
/// Invariant: `Ord` on `dyn EntryOrd` is exactly the order of
/// `(IndexKey, Key)` (parts in turn, a prefix first, then the `_id`), as
/// `Borrow` requires.
pub trait EntryOrd {
    /// The key's `i`th part: whether it is descending, and its value.
    fn part(&self, i: usize) -> Option<(bool, &Bson)>;
    /// The entry's `_id`.
    fn id(&self) -> &Bson;
}

impl EntryOrd for (IndexKey, Key) {
    fn part(&self, i: usize) -> Option<(bool, &Bson)> {
        self.0.get(i).map(|part| match part {
            KeyPart::Asc(v) => (false, v),
            KeyPart::Desc(v) => (true, v),
        })
    }

    fn id(&self) -> &Bson {
        &self.1.0
    }
}

impl<'a> Borrow<dyn EntryOrd + 'a> for (IndexKey, Key) {
    fn borrow(&self) -> &(dyn EntryOrd + 'a) {
        self
    }
}

impl Ord for dyn EntryOrd + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in 0.. {
            let ordering = match (self.part(i), other.part(i)) {
                (None, None) => break,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                // As `KeyPart`'s order: descending parts compare reversed.
                (Some((true, a)), Some((true, b))) => compare(b, a),
                (Some((_, a)), Some((_, b))) => compare(a, b),
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        compare(self.id(), other.id())
    }
}

impl PartialOrd for dyn EntryOrd + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for dyn EntryOrd + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for dyn EntryOrd + '_ {}

/// Where a scan from one leading value starts: before every entry whose
/// first part is `value` (the smallest `_id`, MinKey, and no further parts).
pub struct LeadingProbe<'a> {
    pub descending: bool,
    pub value: &'a Bson,
}

/// The smallest `_id` of all: a probe's.
static MIN_ID: Bson = Bson::MinKey;

impl EntryOrd for LeadingProbe<'_> {
    fn part(&self, i: usize) -> Option<(bool, &Bson)> {
        (i == 0).then_some((self.descending, self.value))
    }

    fn id(&self) -> &Bson {
        &MIN_ID
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Bson> {
        prop_oneof![
            any::<i32>().prop_map(Bson::Int32),
            (-3.0..3.0f64).prop_map(Bson::Double),
            "[ab]{0,2}".prop_map(Bson::String),
            Just(Bson::Null),
            Just(Bson::MinKey),
        ]
    }

    /// Entries of one index: every key has the same directions.
    fn entries() -> impl Strategy<Value = Vec<(IndexKey, Key)>> {
        prop::collection::vec(any::<bool>(), 1..3).prop_flat_map(|descending| {
            let key = descending
                .iter()
                .map(|&desc| {
                    value().prop_map(move |v| {
                        if desc {
                            KeyPart::Desc(v)
                        } else {
                            KeyPart::Asc(v)
                        }
                    })
                })
                .collect::<Vec<_>>()
                .prop_map(Vec::into_boxed_slice);
            prop::collection::vec((key, value().prop_map(Key)), 2..6)
        })
    }

    proptest! {
        #[test]
        fn entry_ord_is_the_tuple_order(entries in entries()) {
            for a in &entries {
                for b in &entries {
                    let borrowed = (a as &dyn EntryOrd).cmp(b as &dyn EntryOrd);
                    prop_assert_eq!(borrowed, a.cmp(b));
                }
            }
        }

        #[test]
        fn leading_probe_orders_as_its_owned_entry(entries in entries(), bound in value()) {
            for entry in &entries {
                let descending = matches!(entry.0.first(), Some(KeyPart::Desc(_)));
                let probe = LeadingProbe { descending, value: &bound };
                let part = match descending {
                    true => KeyPart::Desc(bound.clone()),
                    false => KeyPart::Asc(bound.clone()),
                };
                let owned: (IndexKey, Key) = (Box::new([part]), Key(Bson::MinKey));
                let borrowed = (&probe as &dyn EntryOrd).cmp(entry as &dyn EntryOrd);
                prop_assert_eq!(borrowed, owned.cmp(entry));
            }
        }
    }
}
