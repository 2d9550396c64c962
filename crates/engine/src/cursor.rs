//! Open cursors: the rest of a query's results, handed out by `getMore`.
//!
//! Results are materialised when the cursor is opened (a cursor inside a
//! transaction therefore reads at the transaction's snapshot, and a cursor
//! outside one at the snapshot of its `find`). A cursor belongs to the
//! session that opened it, if any; `killSessions` and `endSessions` kill it.
//!
//! A cursor also belongs to the user who opened it (its digest, with auth
//! on): only that user may `getMore` it (see `auth::check`). The command
//! layer names the user running a command with [`with_opener`] for the
//! length of the command, and [`Cursors::open`] stamps it; so the commands
//! that open cursors need not carry the user themselves. Commands run on
//! the calling thread from start to finish, which makes a thread-local the
//! right scope.

use std::cell::RefCell;
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

/// An open cursor and the digest of the user who opened it.
struct Entry {
    cursor: Arc<Mutex<Cursor>>,
    owner: Option<Vec<u8>>,
}

pub struct Cursors {
    next_id: AtomicI64,
    map: Mutex<HashMap<i64, Entry>>,
}

thread_local! {
    /// The user running the current command on this thread, if any.
    static OPENER: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// The user running the current command, as its digest.
pub fn opener() -> Option<Vec<u8>> {
    OPENER.with(|opener| opener.borrow().clone())
}

/// Runs `command` with `owner` as the owner of every cursor it opens.
pub fn with_opener<R>(owner: Option<Vec<u8>>, command: impl FnOnce() -> R) -> R {
    let previous = OPENER.with(|opener| opener.replace(owner));
    let result = command();
    OPENER.with(|opener| *opener.borrow_mut() = previous);
    result
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
        let owner = opener();
        let cursor = Arc::new(Mutex::new(cursor));
        map.insert(id, Entry { cursor, owner });
        Some(id)
    }

    pub fn get(&self, id: i64) -> Option<Arc<Mutex<Cursor>>> {
        self.map.lock().get(&id).map(|e| e.cursor.clone())
    }

    /// The owner of cursor `id`: `None` if there is no such cursor,
    /// `Some(None)` if it was opened without a user.
    pub fn owner(&self, id: i64) -> Option<Option<Vec<u8>>> {
        self.map.lock().get(&id).map(|e| e.owner.clone())
    }

    pub fn remove(&self, id: i64) -> Option<Arc<Mutex<Cursor>>> {
        self.map.lock().remove(&id).map(|e| e.cursor)
    }

    /// Kills every cursor over a namespace (the collection was dropped).
    pub fn kill_namespace(&self, ns: &str) {
        self.map.lock().retain(|_, e| e.cursor.lock().ns != ns);
    }

    /// Kills every cursor of a session.
    pub fn kill_session(&self, session: &[u8]) {
        self.map
            .lock()
            .retain(|_, e| e.cursor.lock().session.as_deref() != Some(session));
    }
}
