//! Where the runner's client comes from: the one place that builds it.
//!
//! `embedded` opens an in-memory engine in this process; every client
//! entity is a sibling of that client, so they share one deployment. A
//! server reached by URI needs the TCP transport, which this client does
//! not have yet; asking for it is a clear error rather than a silent
//! fallback to embedded.

use rotor::Client;

/// The deployment to test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An in-memory engine in this process.
    Embedded,
    /// A server at a MongoDB connection string.
    Uri(String),
}

/// The runner's client for `target`. Async because connecting over TCP
/// will be: once `rotor::Client::connect(uri).await` exists, the `Uri` arm
/// becomes that call and nothing else changes.
pub async fn connect(target: &Target) -> Result<Client, String> {
    match target {
        Target::Embedded => {
            Client::in_memory().map_err(|e| format!("cannot open an in-memory engine: {e}"))
        }
        Target::Uri(uri) => Err(format!(
            "--uri {uri}: the Rust client has no TCP transport yet (it is being written on \
             branch `tcp`); use --target embedded"
        )),
    }
}
