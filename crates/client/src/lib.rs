//! Rotor's async Rust client, modelled on MongoDB drivers and Motor's
//! `AsyncIOMotorClientSession`: a [`Client`] with [`Database`]s and typed
//! [`Collection`]s, [`ClientSession`]s with causal consistency and
//! multi-statement transactions, and [`ClientSession::with_transaction`]
//! following the Convenient API for Transactions specification.
//!
//! Every operation becomes one mongod command document sent through a
//! [`Transport`]: in process, to an embedded engine ([`Client::in_memory`],
//! [`Client::open`]), with no sockets and no serialization; or over TCP to
//! `rotor serve` or a MongoDB replica set ([`Client::connect`] with a
//! `mongodb://` connection string), as OP_MSG through the `wire` crate.
//!
//! ```
//! use bson::doc;
//! # #[tokio::main] async fn main() -> rotor::Result<()> {
//! let client = rotor::Client::in_memory()?;
//! let orders = client.database("shop").collection::<bson::Document>("orders");
//! orders.insert_one(doc! {"sku": "abc123", "qty": 100}).await?;
//! let found = orders.find_one(doc! {"sku": "abc123"}).await?;
//! assert_eq!(found.unwrap().get_i32("qty").ok(), Some(100));
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod action;
mod bulk;
mod client;
mod client_bulk;
mod cluster_time;
mod collection;
mod command;
mod convenient;
mod cursor;
mod database;
mod error;
mod event;
mod exec;
mod names;
mod reply;
mod session;
mod shared;
mod tcp;
mod transport;
mod uri;
mod write_failure;

pub use action::{Action, ReturnDocument};
pub use bulk::{BulkWrite, BulkWriteResult, WriteModel};
pub use client::Client;
pub use client_bulk::{ClientBulkWrite, ClientBulkWriteResult, UpdateOutcome};
pub use collection::{
    Collection, Concerns, DeleteResult, IndexModel, InsertManyResult, InsertOneResult, UpdateResult,
};
pub use convenient::{Clock, RetryPolicy, TokioClock};
pub use cursor::Cursor;
pub use database::Database;
pub use error::{
    Error, ErrorKind, RETRYABLE_WRITE_ERROR, Result, TRANSIENT_TRANSACTION_ERROR,
    UNKNOWN_TRANSACTION_COMMIT_RESULT,
};
pub use event::CommandEvent;
pub use names::ListNames;
pub use session::{ClientSession, SessionOptions, TransactionOptions, TransactionState};
pub use transport::{BoxFuture, Transport};
pub use uri::{
    AuthMechanism, ClientOptions, Credential, DEFAULT_PORT, ReadPreference, ServerAddress,
    TlsOptions,
};
pub use write_failure::{PartialResult, WriteConcernError, WriteError, WriteFailure};
