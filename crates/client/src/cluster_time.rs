//! `$clusterTime` documents as the client and its sessions hold them:
//! shared (one copy per time seen, not one per holder) and with their time
//! read out once. Every command and every reply orders two cluster times;
//! with the time kept beside the document that is an integer comparison,
//! not a hash lookup in each document.
//!
//! Invariant: a [`ClusterTime`]'s `key` is its document's `clusterTime`
//! (see [`key_of`]), and a document is changed in place only while no
//! one else holds it. Nothing here decides which time to send or keep;
//! the client and its sessions do, in `exec` and `session`.

use std::sync::Arc;

use bson::{Bson, Document};

/// How deep [`replace`] compares a held time with a new one; a signed
/// cluster time nests one document (`signature`), and anything deeper is
/// copied rather than compared.
const COMPARE_DEPTH_MAX: usize = 4;

/// A timestamp's order: seconds, then increment. `None` (a document
/// without a `clusterTime` timestamp) orders before every time.
pub(crate) type Key = Option<(u32, u32)>;

/// A cluster time document, shared, with its time.
#[derive(Debug, Clone)]
pub(crate) struct ClusterTime {
    key: Key,
    document: Arc<Document>,
}

impl ClusterTime {
    /// A copy of `document`, whose time is `key` (from [`key_of`]).
    pub(crate) fn new(document: &Document, key: Key) -> ClusterTime {
        ClusterTime {
            key,
            document: Arc::new(document.clone()),
        }
    }

    pub(crate) fn document(&self) -> &Document {
        &self.document
    }

    /// Whether this time is later than `other`'s.
    pub(crate) fn is_later_than(&self, other: &ClusterTime) -> bool {
        self.key > other.key
    }
}

/// The time of a `$clusterTime` document.
pub(crate) fn key_of(document: &Document) -> Key {
    match document.get("clusterTime") {
        Some(Bson::Timestamp(t)) => Some((t.time, t.increment)),
        _ => None,
    }
}

/// Whether a time `key` is later than `held` (any time is later than none
/// held).
pub(crate) fn is_later(key: Key, held: Option<&ClusterTime>) -> bool {
    held.is_none_or(|held| key > held.key)
}

/// Makes `held` the time `seen` (whose time is `key`) and returns it.
/// When `held`'s document is shared with no one and differs from `seen`
/// only in its `clusterTime` (a server signs every time alike, or not at
/// all), the time is set in place: no copy of `seen`, no freeing of the
/// old document.
pub(crate) fn replace(held: &mut Option<ClusterTime>, seen: &Document, key: Key) -> ClusterTime {
    if let Some(current) = held.as_mut()
        && let Some(document) = Arc::get_mut(&mut current.document)
        && retime(document, seen)
    {
        current.key = key;
        return current.clone();
    }
    let fresh = ClusterTime::new(seen, key);
    *held = Some(fresh.clone());
    fresh
}

/// Sets `document`'s `clusterTime` to `seen`'s if the two have the same
/// fields, in the same order, with the same values apart from
/// `clusterTime`; returns whether it did (and so whether `document` now
/// equals `seen`). `document` is unchanged when it returns false.
fn retime(document: &mut Document, seen: &Document) -> bool {
    if document.len() != seen.len() {
        return false;
    }
    let mut time = None;
    for ((name, value), (seen_name, seen_value)) in document.iter_mut().zip(seen) {
        if name != seen_name {
            return false;
        }
        if name == "clusterTime" {
            time = Some((value, seen_value));
        } else if !identical(value, seen_value, 0) {
            return false;
        }
    }
    match time {
        Some((value, seen_value)) => {
            *value = seen_value.clone();
            true
        }
        None => false,
    }
}

/// Whether `a` and `b` are the same value with their fields in the same
/// order (bson's `==` ignores the order of a document's fields).
fn identical(a: &Bson, b: &Bson, depth: usize) -> bool {
    match (a, b) {
        (Bson::Document(a), Bson::Document(b)) => {
            depth < COMPARE_DEPTH_MAX
                && a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((ka, va), (kb, vb))| ka == kb && identical(va, vb, depth + 1))
        }
        (Bson::Array(a), Bson::Array(b)) => {
            depth < COMPARE_DEPTH_MAX
                && a.len() == b.len()
                && a.iter().zip(b).all(|(va, vb)| identical(va, vb, depth + 1))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{Timestamp, doc};

    fn time(seconds: u32, increment: u32) -> Document {
        doc! {"clusterTime": Timestamp { time: seconds, increment }, "signature": {"keyId": 0i64}}
    }

    #[test]
    fn cluster_times_order_by_seconds_then_increment() {
        let check = |seen: Document, held: Option<Document>, expected: bool| {
            let held = held.map(|h| ClusterTime::new(&h, key_of(&h)));
            assert_eq!(is_later(key_of(&seen), held.as_ref()), expected, "{seen}");
        };
        check(time(5, 1), None, true);
        check(time(5, 2), Some(time(5, 1)), true);
        check(time(6, 0), Some(time(5, 9)), true);
        check(time(5, 1), Some(time(5, 1)), false);
        check(time(4, 9), Some(time(5, 0)), false);
        check(doc! {}, Some(time(5, 0)), false);
        check(time(0, 0), Some(doc! {}), true);
    }

    #[test]
    fn replacing_a_held_time_leaves_exactly_the_new_one() {
        let signed = |seconds: u32, key_id: i64| {
            doc! {
                "clusterTime": Timestamp { time: seconds, increment: 1 },
                "signature": {"hash": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![0; 20] }, "keyId": key_id},
            }
        };
        let reordered = doc! {
            "clusterTime": Timestamp { time: 9, increment: 1 },
            "signature": {"keyId": 0i64, "hash": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![0; 20] }},
        };
        // (held, seen, whether the held document is shared elsewhere)
        let check = |held: Document, seen: Document, shared: bool| {
            let mut slot = Some(ClusterTime::new(&held, key_of(&held)));
            let other = shared.then(|| slot.clone());
            let kept = replace(&mut slot, &seen, key_of(&seen));
            let slot = slot.expect("a time is held");
            assert_eq!(
                slot.document().to_string(),
                seen.to_string(),
                "{held} -> {seen}"
            );
            assert_eq!(kept.document().to_string(), seen.to_string());
            assert_eq!(slot.key, key_of(&seen));
            if let Some(Some(other)) = other {
                assert_eq!(other.document(), &held, "a shared time is never changed");
            }
        };
        check(signed(5, 0), signed(6, 0), false);
        check(signed(5, 0), signed(6, 0), true);
        check(signed(5, 0), signed(6, 7), false);
        check(signed(5, 0), reordered, false);
        check(time(5, 0), signed(6, 0), false);
        check(doc! {"signature": {"keyId": 0i64}}, time(6, 0), false);
    }
}
