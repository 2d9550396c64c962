//! `$clusterTime` documents as the client and its sessions hold them:
//! shared (one copy per time seen, not one per holder) and with their time
//! read out once. Every command and every reply orders two cluster times;
//! with the time kept beside the document that is an integer comparison,
//! not a hash lookup in each document.
//!
//! Invariant: a [`ClusterTime`]'s `key` is its document's `clusterTime`
//! (see [`key_of`]). Nothing here decides which time to send or keep; the
//! client and its sessions do, in `exec` and `session`.

use std::sync::Arc;

use bson::{Bson, Document};

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
}
