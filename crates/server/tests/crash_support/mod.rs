//! Helpers for the crash tests: a `rotor serve` process on a real data
//! directory, and a minimal blocking client built on the `wire` codec.
//!
//! Invariant: a [`Server`] never outlives its guard; dropping it (including
//! while a failing test unwinds) kills the process with SIGKILL and reaps
//! it, so no test leaves a server holding a port or a data directory.
//! Deliberately not a driver: no pooling, no retries, no discovery. The
//! tests decide what an error means.

mod client;
mod server;

pub use client::{Client, ok};
pub use server::{Server, free_port};
