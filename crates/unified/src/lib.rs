//! A runner for MongoDB's unified test format: the JSON spec tests of the
//! drivers (transactions, convenient API, sessions, CRUD), executed
//! against Rotor through its Rust client, `rotor`.
//!
//! [`model`] reads the files, [`matcher`] holds the format's matching
//! rules, [`entities`] builds the entity map, [`operations`] runs
//! operations and checks their outcomes, [`events`] checks command
//! monitoring, [`runner`] runs files and tests, and [`report`] compares
//! the outcomes with a list of expected failures.
//!
//! The runner talks to the deployment only through the client: it never
//! reaches into the engine, so what it tests is what a Rust user gets.
//! It is never lenient to pass a test: an option it cannot pass on, an
//! expectation it cannot check, is a failure naming what is missing.

pub mod entities;
pub mod events;
pub mod matcher;
pub mod model;
pub mod operations;
pub mod report;
pub mod results;
pub mod runner;
pub mod target;
