//! Command monitoring: the events the client emits around every command it
//! sends, for users to log, count or assert on.
//!
//! Listeners run synchronously on the task that sends the command, so they
//! must be quick; they see every command, including `commitTransaction`,
//! `getMore` and `endSessions`.

use std::time::Duration;

use bson::Document;

/// One command-monitoring event.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CommandEvent {
    /// A command is about to be sent.
    Started {
        /// The command's name, e.g. `"insert"`.
        command_name: String,
        /// The database it runs on.
        database: String,
        /// The command exactly as sent, session fields and `$db` included.
        command: Document,
        /// Pairs this event with its outcome.
        request_id: u64,
    },
    /// The server replied `ok: 1` (write errors included, as drivers do).
    Succeeded {
        /// The command's name.
        command_name: String,
        /// The server's reply.
        reply: Document,
        /// How long the command took.
        duration: Duration,
        /// Pairs this event with its start.
        request_id: u64,
    },
    /// The server replied `ok: 0`, or no reply came.
    Failed {
        /// The command's name.
        command_name: String,
        /// What went wrong.
        failure: String,
        /// How long the command took.
        duration: Duration,
        /// Pairs this event with its start.
        request_id: u64,
    },
}

/// A subscriber to [`CommandEvent`]s.
pub(crate) type Listener = std::sync::Arc<dyn Fn(&CommandEvent) + Send + Sync>;
