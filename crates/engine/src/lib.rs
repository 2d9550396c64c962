//! Rotor's engine: an embedded, transactional document store with MongoDB's
//! semantics, and the one command layer through which everything reaches it.
//!
//! The engine knows nothing of sockets, wire formats or async runtimes. Its
//! single entry point is [`Engine::run_command`]: a command document and a
//! context go in, and a reply document shaped exactly as mongod shapes it
//! comes out. The wire server and the in-process client are thin shells
//! around that call.

mod auth;
mod clock;
pub mod command;
mod cursor;
mod durable;
mod engine;
mod exec;
mod failpoint;
pub mod fuzzing;
mod limits;
mod options;
mod params;
mod reaper;
mod session;
mod storage;
mod txn;

pub use auth::{ConnectionAuth, UserName};
pub use command::{ConnectionInfo, ReplyParts, ReplyTimes, Request, Response};
pub use durable::RecoveryError;
pub use engine::Engine;
pub(crate) use engine::Wait;
pub use engine::{Metrics, OpenError};
pub use mql::{Code, Error as MqlError};
pub use options::{EngineOptions, Storage, Topology};
pub use storage::gc::{GcStats, StorageCounts};
