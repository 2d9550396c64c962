//! The connection pool of one server.
//!
//! Invariants: at most `maxPoolSize` connections are checked out at once
//! (a semaphore; waiters queue fairly); idle connections are reused last
//! in, first out, so the pool shrinks back to what the load needs; a
//! connection goes back to the pool only if it is reusable (see
//! `connection`) and was opened in the pool's current generation.
//! [`Pool::clear`] starts a new generation: after a network error or a
//! shutdown of the server, every connection opened before is discarded as
//! it comes back, as the Connection Monitoring and Pooling spec asks.
//!
//! Not done: `minPoolSize` pre-warming, background reaping and a wait
//! queue timeout (a caller waits for a free connection as long as it
//! takes; connections are held only for one round trip). A connection idle
//! for longer than [`IDLE_MAX`] is closed when it would next be used.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::Result;
use bson::Document;

use crate::tcp::connection::{Connection, Settings, network};
use crate::tcp::handshake::Hello;
use crate::uri::ServerAddress;

/// Firewalls and load balancers drop silent connections after minutes;
/// a connection idle this long is more likely dead than alive.
const IDLE_MAX: Duration = Duration::from_secs(5 * 60);

/// The connections to one server.
pub(crate) struct Pool {
    address: ServerAddress,
    settings: Arc<Settings>,
    idle: Mutex<Vec<Connection>>,
    /// `None` when `maxPoolSize=0` (no limit).
    permits: Option<Arc<Semaphore>>,
    generation: AtomicU64,
}

/// A checked-out connection; dropping it checks it back in.
pub(crate) struct Pooled {
    connection: Option<Connection>,
    pool: Arc<Pool>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Pool {
    pub(crate) fn new(
        address: ServerAddress,
        settings: Arc<Settings>,
        max_size: Option<u32>,
    ) -> Pool {
        Pool {
            address,
            settings,
            idle: Mutex::new(Vec::new()),
            permits: max_size
                .map(|size| Arc::new(Semaphore::new(usize::try_from(size).unwrap_or(usize::MAX)))),
            generation: AtomicU64::new(0),
        }
    }

    /// The most recently used idle connection, or a new one.
    pub(crate) async fn check_out(self: &Arc<Pool>) -> Result<Pooled> {
        let permit = match &self.permits {
            // The semaphore is never closed, so acquiring fails only in
            // theory; a pool without a permit is still bounded by callers.
            Some(permits) => permits.clone().acquire_owned().await.ok(),
            None => None,
        };
        let generation = self.generation.load(Ordering::Acquire);
        let connection = match self.pop_idle(generation) {
            Some(connection) => connection,
            None => Connection::open(&self.address, &self.settings, generation).await?,
        };
        Ok(Pooled {
            connection: Some(connection),
            pool: Arc::clone(self),
            _permit: permit,
        })
    }

    fn pop_idle(&self, generation: u64) -> Option<Connection> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(connection) = idle.pop() {
            if connection.generation == generation && connection.last_used.elapsed() < IDLE_MAX {
                return Some(connection);
            }
        }
        None
    }

    /// Discards every connection opened so far (idle ones now, checked-out
    /// ones when they come back).
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn check_in(&self, mut connection: Connection) {
        if !connection.is_reusable()
            || connection.generation != self.generation.load(Ordering::Acquire)
        {
            return;
        }
        connection.last_used = Instant::now();
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(connection);
        }
    }
}

impl Pooled {
    /// Runs one command on the connection (see [`Connection::command`]).
    pub(crate) async fn command(&mut self, db: &str, command: Document) -> Result<Document> {
        match self.connection.as_mut() {
            Some(connection) => connection.command(db, command).await,
            // Only `drop` takes the connection out.
            None => Err(network("the connection was already checked in".to_owned())),
        }
    }

    /// What the server said in this connection's handshake.
    pub(crate) fn hello(&self) -> Option<&Hello> {
        self.connection.as_ref().map(|c| &c.hello)
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.pool.check_in(connection);
        }
    }
}
