//! How an engine is opened.

use std::path::PathBuf;
use std::time::Duration;

/// Where an engine keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Nothing survives the process: for tests and caches.
    InMemory,
    /// A data directory with the journal and checkpoints.
    Directory(PathBuf),
}

/// Options for [`crate::Engine::open`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Enables `configureFailPoint` and the other test-only commands.
    pub enable_test_commands: bool,
    /// How this node presents itself in `hello`.
    pub topology: Topology,
    /// How far back snapshot reads may look, in seconds (mongod's
    /// `minSnapshotHistoryWindowInSeconds`, default 300).
    pub snapshot_history_window_secs: u64,
    /// How much memory the versions kept only for snapshot reads may take
    /// (default 256 MiB); past it the window kept shrinks (see
    /// [`crate::limits::SNAPSHOT_HISTORY_BYTES_MAX_DEFAULT`]).
    pub snapshot_history_bytes_max: u64,
    pub storage: Storage,
    /// How soon a write that does not wait for the journal (`j: false`) is
    /// on disk anyway (mongod's `commitIntervalMs`, default 100 ms).
    pub journal_commit_interval: Duration,
    /// How often a checkpoint bounds the journal (default 60 s).
    pub checkpoint_interval: Duration,
    /// Requires authentication and checks every command against the
    /// user's roles (mongod's `--auth`). Off by default: an embedded
    /// engine trusts its own process.
    pub auth: bool,
}

/// The replica set this node presents: one member, always primary.
#[derive(Debug, Clone)]
pub struct Topology {
    /// The replica set name (`setName`).
    pub set_name: String,
    /// The `host:port` clients dial; reported as `me`, `primary` and `hosts`.
    pub advertise: String,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            enable_test_commands: false,
            snapshot_history_window_secs: 300,
            snapshot_history_bytes_max: crate::limits::SNAPSHOT_HISTORY_BYTES_MAX_DEFAULT,
            storage: Storage::InMemory,
            journal_commit_interval: Duration::from_millis(100),
            checkpoint_interval: Duration::from_secs(60),
            auth: false,
            topology: Topology {
                set_name: "rs0".to_owned(),
                advertise: "localhost:27017".to_owned(),
            },
        }
    }
}
