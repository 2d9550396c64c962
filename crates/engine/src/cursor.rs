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
//!
//! Invariant: at most [`CURSORS_OPEN_MAX`] cursors are open, and at most
//! [`CURSORS_OPEN_PER_SESSION_MAX`] per session; the per-session counts
//! change under the same lock as the cursor map, so they always agree.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bson::Document;
use parking_lot::Mutex;

use crate::command::CommandError;
use crate::limits::{self, CURSORS_OPEN_MAX, CURSORS_OPEN_PER_SESSION_MAX};

pub struct Cursor {
    pub ns: String,
    pub docs: VecDeque<Document>,
    /// The owning session's `lsid.id`, if the cursor was opened in one.
    pub session: Option<Vec<u8>>,
    /// The transaction number the cursor was opened in, if in a transaction.
    pub txn_number: Option<i64>,
}

/// An open cursor, the digest of the user who opened it, and its session
/// (copied out, so counting it needs no lock on the cursor).
struct Entry {
    cursor: Arc<Mutex<Cursor>>,
    owner: Option<Vec<u8>>,
    session: Option<Vec<u8>>,
}

pub struct Cursors {
    next_id: AtomicI64,
    open: Mutex<Open>,
}

/// The open cursors, and how many of them each session holds.
#[derive(Default)]
struct Open {
    map: HashMap<i64, Entry>,
    per_session: HashMap<Vec<u8>, usize>,
}

impl Open {
    fn remove(&mut self, id: i64) -> Option<Entry> {
        let entry = self.map.remove(&id)?;
        if let Some(session) = &entry.session {
            self.release(session);
        }
        Some(entry)
    }

    fn release(&mut self, session: &[u8]) {
        if let Some(count) = self.per_session.get_mut(session) {
            *count -= 1;
            if *count == 0 {
                self.per_session.remove(session);
            }
        }
    }

    fn remove_where(&mut self, doomed: impl Fn(&Entry) -> bool) {
        let ids: Vec<i64> = self
            .map
            .iter()
            .filter(|(_, e)| doomed(e))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.remove(id);
        }
    }
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
            open: Mutex::new(Open::default()),
        }
    }
}

impl Cursors {
    /// Registers a cursor; ResourceExhausted when the server or the
    /// cursor's session already holds as many as it may.
    pub fn open(&self, cursor: Cursor) -> Result<i64, CommandError> {
        let mut open = self.open.lock();
        if open.map.len() >= CURSORS_OPEN_MAX {
            return Err(limits::too_many_cursors());
        }
        if let Some(session) = &cursor.session {
            let count = open.per_session.entry(session.clone()).or_default();
            if *count >= CURSORS_OPEN_PER_SESSION_MAX {
                return Err(limits::too_many_session_cursors());
            }
            *count += 1;
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
        let session = cursor.session.clone();
        let cursor = Arc::new(Mutex::new(cursor));
        open.map.insert(
            id,
            Entry {
                cursor,
                owner,
                session,
            },
        );
        Ok(id)
    }

    pub fn get(&self, id: i64) -> Option<Arc<Mutex<Cursor>>> {
        self.open.lock().map.get(&id).map(|e| e.cursor.clone())
    }

    /// The owner of cursor `id`: `None` if there is no such cursor,
    /// `Some(None)` if it was opened without a user.
    pub fn owner(&self, id: i64) -> Option<Option<Vec<u8>>> {
        self.open.lock().map.get(&id).map(|e| e.owner.clone())
    }

    pub fn remove(&self, id: i64) -> Option<Arc<Mutex<Cursor>>> {
        self.open.lock().remove(id).map(|e| e.cursor)
    }

    /// Kills every cursor over a namespace (the collection was dropped).
    pub fn kill_namespace(&self, ns: &str) {
        self.open
            .lock()
            .remove_where(|entry| entry.cursor.lock().ns == ns);
    }

    /// Kills every cursor of a session.
    pub fn kill_session(&self, session: &[u8]) {
        self.open
            .lock()
            .remove_where(|entry| entry.session.as_deref() == Some(session));
    }
}
