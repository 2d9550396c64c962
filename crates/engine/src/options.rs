//! How an engine is opened.

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
            topology: Topology {
                set_name: "rs0".to_owned(),
                advertise: "localhost:27017".to_owned(),
            },
        }
    }
}
