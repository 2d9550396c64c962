//! Per-connection authentication state: who the connection has proved to
//! be, and the SASL conversation in progress.
//!
//! The transport creates one [`ConnectionAuth`] per connection (inside its
//! [`crate::ConnectionInfo`]) and passes it with every command; clones share
//! the state, so a transport may clone its `ConnectionInfo` freely.
//!
//! States: unauthenticated -> (saslStart/saslContinue succeed, or the
//! speculative exchange in `hello`) authenticated as exactly one user ->
//! (logout) unauthenticated. A user's roles are cached with the user-store
//! generation they were read at and re-read when any user changes, so a
//! dropped user or a revoked role takes effect on the next command.
//! `Internal` is the engine itself (the user store's own writes); no
//! transport can construct it.

use std::sync::Arc;

use parking_lot::Mutex;

use super::roles::Grant;
use crate::auth::UserName;

/// The authentication state of one connection (shared by its clones).
#[derive(Debug, Clone, Default)]
pub struct ConnectionAuth(Arc<Mutex<State>>);

#[derive(Debug, Default)]
pub(crate) struct State {
    pub internal: bool,
    pub user: Option<Authenticated>,
    pub conversation: Option<Conversation>,
}

/// A proved user and what its roles grant.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated {
    pub name: UserName,
    /// `{role, db}` pairs as stored, for `connectionStatus`.
    pub roles: Vec<(String, String)>,
    pub grants: Vec<Grant>,
    /// [`UserName::digest`]: the `uid` of the user's sessions and cursors.
    pub digest: Vec<u8>,
    /// The user-store generation `roles` were read at.
    pub generation: u64,
}

/// A SASL conversation between `saslStart` and its last `saslContinue`.
#[derive(Debug)]
pub(crate) struct Conversation {
    pub db: String,
    pub scram: scram::ServerConversation,
}

impl ConnectionAuth {
    /// The engine's own principal, allowed everything.
    pub(crate) fn internal() -> ConnectionAuth {
        let state = State {
            internal: true,
            ..State::default()
        };
        ConnectionAuth(Arc::new(Mutex::new(state)))
    }

    /// Whether this is the engine's own principal.
    pub(crate) fn is_internal(&self) -> bool {
        self.0.lock().internal
    }

    /// The authenticated user, as `(user, db)`, if any.
    pub fn user(&self) -> Option<(String, String)> {
        let state = self.0.lock();
        let name = &state.user.as_ref()?.name;
        Some((name.user.clone(), name.db.clone()))
    }

    pub(crate) fn lock(&self) -> parking_lot::MutexGuard<'_, State> {
        self.0.lock()
    }
}
