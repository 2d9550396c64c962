//! `rotor serve` as a library: the engine behind MongoDB's wire protocol,
//! presented as a one-member replica set.
//!
//! The binary (`src/main.rs`) parses the command line and calls [`serve`].
//! Tests and embedders call [`start`] instead, which binds (port 0 picks a
//! free port), opens the engine, and returns a [`RunningServer`] handle that
//! knows its address and stops the server on request.
//!
//! Nothing in this crate carries database semantics: every command goes to
//! `engine::Engine::run_command`.

pub mod cli;
mod connection;
mod handshake;
mod server;
mod tls;
mod transport;

pub use cli::ServeArgs;
pub use server::{RunningServer, serve, start};
