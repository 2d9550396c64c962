//! Shared pieces of Rotor's benchmarks: driving the engine as a driver
//! would, the same workloads on SQLite (the peer every number is compared
//! with), and measuring and printing medians.
//!
//! The bench targets in `benches/` are thin: they pick sizes and thread
//! counts, and print tables. The workloads themselves live here so that a
//! test can check, without timing anything, that Rotor and SQLite really do
//! the same work (the same rows end up changed) before anyone trusts a ratio.
//!
//! Nothing here asserts on time: the numbers are for reading, not gating.

/// With the `mimalloc` feature (on by default) every benchmark binary
/// allocates through mimalloc, as the `rotor` server binary does: Rotor's
/// documents are maps of owned strings, so the allocator is a large share
/// of each operation.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod crud;
pub mod measure;
pub mod rotor;
pub mod seed;
pub mod sqlite;
pub mod table;
