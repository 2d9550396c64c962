//! Keys ordered by MongoDB's BSON order, for the primary map and indexes.
//!
//! Invariant: `Ord` on these types is [`mql::order::compare`] (reversed per
//! part for descending index fields), so `1`, `1.0` and `NumberLong(1)` are
//! one key, as in mongod's indexes.

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
