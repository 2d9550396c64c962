//! The engine handle: shared state behind an `Arc`, cheap to clone.

use std::sync::Arc;

use crate::command::{self, Request, Response};
use crate::options::EngineOptions;

/// An open database. Clones share the same data.
#[derive(Clone)]
pub struct Engine {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) options: EngineOptions,
}

impl Engine {
    /// Opens an engine.
    pub fn open(options: EngineOptions) -> Engine {
        Engine {
            shared: Arc::new(Shared { options }),
        }
    }

    /// Runs one command and returns mongod's reply document.
    ///
    /// Never panics on any input: every malformed command gets an error reply.
    pub fn run_command(&self, request: Request<'_>) -> Response {
        command::run(self, request)
    }

    pub(crate) fn options(&self) -> &EngineOptions {
        &self.shared.options
    }
}
