//! [`Client::sibling`]: a second client to the same deployment, as a second
//! `MongoClient` built from the same connection string would be.
//!
//! Embedded clients own their engine, so `Client::in_memory()` twice gives
//! two separate databases; a sibling shares the first client's transport
//! (and so its engine or connections) but nothing of the driver state
//! above it: it has its own command listeners, server-session pool and
//! cluster time. Test runners need this (each test entity is its own
//! client observing its own events), and so do applications that want
//! separately monitored handles.

use bson::Document;

use crate::client::Client;
use crate::error::Result;
use crate::transport::{BoxFuture, Transport};

/// A transport that forwards to another client's transport, raw: no
/// events, sessions or cluster times of that client are involved.
struct Shared(Client);

impl Transport for Shared {
    fn run_command(&self, db: &str, command: Document) -> BoxFuture<'_, Result<Document>> {
        self.0.inner.transport.run_command(db, command)
    }

    fn configure_fail_point(&self, command: Document) -> BoxFuture<'_, Result<Document>> {
        self.0.inner.transport.configure_fail_point(command)
    }
}

impl Client {
    /// A new client over the same deployment as this one, with the same
    /// defaults (concerns, retry switches) but its own listeners, session
    /// pool and cluster time.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
    /// let first = rotor::Client::in_memory()?;
    /// let second = first.sibling();
    /// let seen = Arc::new(AtomicUsize::new(0));
    /// let count = seen.clone();
    /// second.subscribe(move |_| { count.fetch_add(1, Ordering::Relaxed); });
    /// first.database("db").collection::<bson::Document>("c").insert_one(bson::doc! {"x": 1}).await?;
    /// let n = second.database("db").collection::<bson::Document>("c").count_documents(bson::doc! {}).await?;
    /// assert_eq!(n, 1); // the same data...
    /// assert_eq!(seen.load(Ordering::Relaxed), 2); // ...but only its own events (started, succeeded)
    /// # Ok(()) }
    /// ```
    pub fn sibling(&self) -> Client {
        Client::build(Shared(self.clone()), self.inner.defaults.clone())
    }
}
