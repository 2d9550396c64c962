//! Test-only crate: `tests/official_rust_driver.rs` runs MongoDB's official
//! Rust driver (the `mongodb` crate) against `rotor serve`. The library is
//! empty on purpose; the crate exists so the driver's long build stays out
//! of every other crate's dependency graph.
