//! Open cursors: the rest of a query's results, handed out by `getMore`.
//!
//! Results are materialised when the cursor is opened (a cursor inside a
//! transaction therefore reads at the transaction's snapshot, and a cursor
//! outside one at the snapshot of its `find`). A cursor belongs to the
//! session that opened it, if any; `killSessions` and `endSessions` kill it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bson::Document;
use parking_lot::Mutex;

/// Open cursors a server holds at most.
pub const CURSORS_MAX: usize = 100_000;

pub struct Cursor {
    pub ns: String,
    pub docs: VecDeque<Document>,
    /// The owning session's `lsid.id`, if the cursor was opened in one.
    pub session: Option<Vec<u8>>,
    /// The transaction number the cursor was opened in, if in a transaction.
    pub txn_number: Option<i64>,
}

pub struct Cursors {
    next_id: AtomicI64,
    map: Mutex<HashMap<i64, Arc<Mutex<Cursor>>>>,
}

impl Default for Cursors {
    fn default() -> Cursors {
        Cursors {
            next_id: AtomicI64::new(1),
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl Cursors {
    /// Registers a cursor; `None` when [`CURSORS_MAX`] are open.
    pub fn open(&self, cursor: Cursor) -> Option<i64> {
        let mut map = self.map.lock();
        if map.len() >= CURSORS_MAX {
            return None;
        }
        // Ids mix a counter with a multiplier so they are not trivially guessable
        // sequential small numbers, and never 0 (0 means "exhausted").
        let id = self
            .next_id
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x5DEE_CE66D)
            .rem_euclid(i64::MAX - 1)
            + 1;
        map.insert(id, Arc::new(Mutex::new(cursor)));
        Some(id)
    }

    pub fn get(&self, id: i64) -> Option<Arc<Mutex<Cursor>>> {
        self.map.lock().get(&id).cloned()
    }

    pub fn remove(&self, id: i64) -> Option<Arc<Mutex<Cursor>>> {
        self.map.lock().remove(&id)
    }

    /// Kills every cursor over a namespace (the collection was dropped).
    pub fn kill_namespace(&self, ns: &str) {
        self.map.lock().retain(|_, c| c.lock().ns != ns);
    }

    /// Kills every cursor of a session.
    pub fn kill_session(&self, session: &[u8]) {
        self.map
            .lock()
            .retain(|_, c| c.lock().session.as_deref() != Some(session));
    }
}
