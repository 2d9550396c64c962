//! How commands reach a server: the [`Transport`] trait and its in-process
//! implementation over an embedded [`engine::Engine`] (the TCP one lives in
//! `tcp`).
//!
//! A transport moves one command document to a database and one reply
//! document back; it knows nothing of sessions, retries or labels, which
//! live above it in the client. The engine is synchronous and may block
//! (waiting for a conflicting transaction, or for an fsync), so the
//! in-process transport runs it in place under `block_in_place` on a
//! multi-threaded runtime (the worker's other tasks move to another
//! thread; no hop, no wakeup), and on tokio's blocking pool on a
//! current-thread runtime, where blocking in place would stall every task.

use std::future::Future;
use std::pin::Pin;

use bson::Document;

use crate::error::{Error, ErrorKind, Result};

/// A boxed future, as transports return them (they are used behind `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Carries commands to a server and brings back its replies.
///
/// A transport returns the reply document as the server sent it, `ok: 0`
/// included; it returns `Err` only when no reply arrived: a network error
/// (after which the client treats the server-side state as unknown), no
/// server to send to, or a command it could not send.
pub trait Transport: Send + Sync + 'static {
    /// Sends `command` to database `db` and waits for the reply.
    fn run_command(&self, db: &str, command: Document) -> BoxFuture<'_, Result<Document>>;

    /// Arms or disarms a server failpoint (`configureFailPoint`). Servers
    /// accept it only with test commands enabled; the in-process transport
    /// always does.
    fn configure_fail_point(&self, command: Document) -> BoxFuture<'_, Result<Document>> {
        self.run_command("admin", command)
    }

    /// Releases what the transport holds open (idle connections); called
    /// by [`crate::Client::shutdown`]. The transport stays usable.
    fn close(&self) {}
}

/// The transport to an engine in this process.
pub(crate) struct InProcess {
    engine: engine::Engine,
    connection: engine::ConnectionInfo,
}

impl InProcess {
    pub(crate) fn new(engine: engine::Engine) -> InProcess {
        InProcess {
            engine,
            connection: engine::ConnectionInfo::default(),
        }
    }
}

impl Transport for InProcess {
    fn run_command(&self, db: &str, command: Document) -> BoxFuture<'_, Result<Document>> {
        let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
        if let Ok(tokio::runtime::RuntimeFlavor::MultiThread) = flavor {
            // The command runs now, in place, borrowing what it needs: the
            // caller awaits the future at once, so running it here rather
            // than at the first poll changes nothing but the copies of the
            // engine handle, connection and database name a future that
            // outlives this call would need.
            let response = tokio::task::block_in_place(|| {
                self.engine.run_command(engine::Request {
                    db,
                    body: command,
                    connection: &self.connection,
                })
            });
            return Box::pin(std::future::ready(reply_of(response)));
        }
        let engine = self.engine.clone();
        let connection = self.connection.clone();
        let db = db.to_owned();
        Box::pin(async move {
            let run = move || {
                engine.run_command(engine::Request {
                    db: &db,
                    body: command,
                    connection: &connection,
                })
            };
            reply_of(tokio::task::spawn_blocking(run).await?)
        })
    }

    fn configure_fail_point(&self, command: Document) -> BoxFuture<'_, Result<Document>> {
        let result = self.engine.configure_fail_point(&command);
        Box::pin(async move {
            result.map_err(|error| {
                Error::new(ErrorKind::Command {
                    code: error.code.0,
                    code_name: error.code.name().into_owned(),
                    message: error.message,
                })
                .with_labels(error.labels)
            })
        })
    }
}

/// The reply, unless the engine simulated a dropped connection: a
/// failpoint's `closeConnection` means the reply never reaches the driver.
fn reply_of(response: engine::Response) -> Result<Document> {
    if response.close_connection {
        return Err(Error::new(ErrorKind::Network {
            message: "connection closed by the server".to_owned(),
        }));
    }
    Ok(response.reply)
}
