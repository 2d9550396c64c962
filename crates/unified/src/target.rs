//! Where the runner's client comes from: the one place that builds it.
//!
//! `embedded` opens an in-memory engine in this process; every client
//! entity is a sibling of that client, so they share one deployment. A
//! server reached by URI (`rotor serve`, or a MongoDB replica set) goes
//! through the client's TCP transport; siblings share its connection pool.

use rotor::Client;

/// The deployment to test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An in-memory engine in this process.
    Embedded,
    /// A server at a MongoDB connection string.
    Uri(String),
}

/// The runner's client for `target`.
pub async fn connect(target: &Target) -> Result<Client, String> {
    match target {
        Target::Embedded => {
            Client::in_memory().map_err(|e| format!("cannot open an in-memory engine: {e}"))
        }
        Target::Uri(uri) => Client::connect(uri)
            .await
            .map_err(|e| format!("cannot connect to {uri}: {e}")),
    }
}
