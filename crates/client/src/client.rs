//! The client handle: the transport, the highest cluster time seen, the
//! pool of server sessions, and the command listeners. Cheap to clone;
//! clones share all of it.
//!
//! The server-session pool is LIFO (the most recently used session is the
//! least likely to have timed out on the server), drops sessions that saw a
//! network error (their server state is unknown), and is emptied with
//! `endSessions` by [`Client::shutdown`].

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bson::{Bson, Document, doc};

use crate::cluster_time::{self, ClusterTime};
use crate::database::Database;
use crate::error::Result;
use crate::event::{CommandEvent, Listener};
use crate::session::{ClientSession, ServerSession, SessionOptions};
use crate::tcp::Tcp;
use crate::transport::{InProcess, Transport};
use crate::uri::ClientOptions;

/// mongod's `logicalSessionTimeoutMinutes` default, as `hello` reports it.
const SESSION_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A pooled session this close to its server-side expiry is discarded
/// rather than reused (the driver-sessions spec's one-minute margin).
const SESSION_EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// `endSessions` accepts at most this many ids per command.
const END_SESSIONS_BATCH_MAX: usize = 10_000;

/// A handle to a Rotor deployment.
///
/// ```
/// # #[tokio::main] async fn main() -> rotor::Result<()> {
/// let client = rotor::Client::in_memory()?;
/// let reply = client.database("admin").run_command(bson::doc! {"ping": 1}).await?;
/// assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Box<dyn Transport>,
    /// Shared with sessions that saw the same reply, never copied; set in
    /// place only while no session holds it (`cluster_time::replace`).
    pub(crate) cluster_time: Mutex<Option<ClusterTime>>,
    pool: Mutex<Vec<ServerSession>>,
    pub(crate) listeners: RwLock<Vec<Listener>>,
    pub(crate) next_request_id: AtomicU64,
    pub(crate) defaults: Defaults,
}

/// What the client adds to operations that do not say otherwise.
#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    /// For writes outside transactions, and for transactions' commits.
    pub(crate) write_concern: Option<Document>,
    /// For reads outside transactions, and for transactions.
    pub(crate) read_concern: Option<Document>,
    pub(crate) retry_writes: bool,
    pub(crate) retry_reads: bool,
    /// The connection string's database.
    default_database: Option<String>,
}

impl Default for Defaults {
    fn default() -> Defaults {
        Defaults {
            write_concern: None,
            read_concern: None,
            retry_writes: true,
            retry_reads: true,
            default_database: None,
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client over a fresh in-memory engine: nothing survives the
    /// process.
    pub fn in_memory() -> Result<Client> {
        Client::embedded(engine::EngineOptions::default())
    }

    /// A client over an engine on the data directory `path`, recovering
    /// what it holds.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let client = rotor::Client::open(dir.path())?;
    /// client.database("db").collection::<bson::Document>("c").insert_one(bson::doc! {"x": 1}).await?;
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Client> {
        Client::embedded(engine::EngineOptions {
            storage: engine::Storage::Directory(path.as_ref().to_path_buf()),
            ..engine::EngineOptions::default()
        })
    }

    /// A client over an engine opened with `options`.
    pub fn embedded(options: engine::EngineOptions) -> Result<Client> {
        let engine = engine::Engine::open(options)?;
        Ok(Client::with_transport(InProcess::new(engine)))
    }

    /// A client of the deployment a `mongodb://` connection string names:
    /// a replica set (its primary is found from the seed list), a single
    /// server with `directConnection=true`, a mongos, or `rotor serve`.
    ///
    /// Nothing is sent yet: the first operation finds the primary, waiting
    /// up to `serverSelectionTimeoutMS` for one. The string's `w`,
    /// `wtimeoutMS`, `journal`, `readConcernLevel`, `retryWrites` and
    /// `retryReads` become the defaults of CRUD operations and transactions
    /// (commands sent with `run_command`, and index and drop commands, are
    /// sent as given). With a user and password in the string, every
    /// connection authenticates with SCRAM; `tls=true` (or any `tls*`
    /// option) encrypts them.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// # let server = rotor_server::start(rotor_server::ServeArgs::parse(["--in-memory", "--port", "0"]).unwrap()).await.unwrap();
    /// # let port = server.local_addr().port();
    /// let uri = format!("mongodb://127.0.0.1:{port}/shop?replicaSet=rs0&w=majority&appName=docs");
    /// let client = rotor::Client::connect(&uri).await?;
    /// let orders = client.default_database().unwrap().collection::<bson::Document>("orders");
    /// orders.insert_one(bson::doc! {"sku": "abc123", "qty": 1}).await?;
    /// assert_eq!(orders.count_documents(bson::doc! {}).await?, 1);
    /// client.shutdown().await?;
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn connect(uri: &str) -> Result<Client> {
        Client::with_options(ClientOptions::parse(uri)?)
    }

    /// A client of the deployment `options` describe (see
    /// [`Client::connect`]); fails only if the TLS files cannot be read.
    pub fn with_options(options: ClientOptions) -> Result<Client> {
        let transport = Tcp::new(&options)?;
        let defaults = Defaults {
            write_concern: options.write_concern,
            read_concern: options.read_concern,
            retry_writes: options.retry_writes,
            retry_reads: options.retry_reads,
            default_database: options.default_database,
        };
        Ok(Client::build(transport, defaults))
    }

    /// A client over any transport.
    pub fn with_transport(transport: impl Transport) -> Client {
        Client::build(transport, Defaults::default())
    }

    pub(crate) fn build(transport: impl Transport, defaults: Defaults) -> Client {
        Client {
            inner: Arc::new(Inner {
                transport: Box::new(transport),
                cluster_time: Mutex::new(None),
                pool: Mutex::new(Vec::new()),
                listeners: RwLock::new(Vec::new()),
                next_request_id: AtomicU64::new(1),
                defaults,
            }),
        }
    }

    /// The database named `name` (nothing is sent until it is used).
    pub fn database(&self, name: &str) -> Database {
        Database::new(self.clone(), name)
    }

    /// The database named in the connection string's path, if any.
    pub fn default_database(&self) -> Option<Database> {
        let name = self.inner.defaults.default_database.as_deref()?;
        Some(self.database(name))
    }

    /// Starts a logical session. Its transactions take the client's read
    /// and write concerns unless the options name their own.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// let session = client.start_session(rotor::SessionOptions::default())?;
    /// assert!(!session.in_transaction());
    /// # Ok(()) }
    /// ```
    pub fn start_session(&self, mut options: SessionOptions) -> Result<ClientSession> {
        let defaults = &mut options.default_transaction_options;
        if defaults.read_concern.is_none() {
            defaults.read_concern = self.inner.defaults.read_concern.clone();
        }
        if defaults.write_concern.is_none() {
            defaults.write_concern = self.inner.defaults.write_concern.clone();
        }
        ClientSession::new(self.clone(), options)
    }

    /// Calls `listener` with every [`CommandEvent`] from now on.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// use std::sync::{Arc, Mutex};
    /// let client = rotor::Client::in_memory()?;
    /// let names = Arc::new(Mutex::new(Vec::new()));
    /// let seen = names.clone();
    /// client.subscribe(move |event| {
    ///     if let rotor::CommandEvent::Started { command_name, .. } = event {
    ///         seen.lock().unwrap().push(command_name.clone());
    ///     }
    /// });
    /// client.database("admin").run_command(bson::doc! {"ping": 1}).await?;
    /// assert_eq!(*names.lock().unwrap(), ["ping"]);
    /// # Ok(()) }
    /// ```
    pub fn subscribe(&self, listener: impl Fn(&CommandEvent) + Send + Sync + 'static) {
        if let Ok(mut listeners) = self.inner.listeners.write() {
            listeners.push(Arc::new(listener));
        }
    }

    /// Arms or disarms a server failpoint, as `configureFailPoint` does; on
    /// embedded clients it works without enabling test commands, so
    /// applications can test their retry logic.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// let client = rotor::Client::in_memory()?;
    /// client.configure_fail_point(bson::doc! {
    ///     "configureFailPoint": "failCommand",
    ///     "mode": {"times": 1},
    ///     "data": {"failCommands": ["ping"], "errorCode": 91},
    /// }).await?;
    /// let error = client.database("admin").run_command(bson::doc! {"ping": 1}).await.unwrap_err();
    /// assert_eq!(error.code(), Some(91));
    /// # Ok(()) }
    /// ```
    pub async fn configure_fail_point(&self, command: Document) -> Result<Document> {
        self.inner.transport.configure_fail_point(command).await
    }

    /// The highest cluster time this client has seen (`$clusterTime`).
    pub fn cluster_time(&self) -> Option<Document> {
        self.shared_cluster_time().map(|t| t.document().clone())
    }

    pub(crate) fn shared_cluster_time(&self) -> Option<ClusterTime> {
        self.inner.cluster_time.lock().ok().and_then(|t| t.clone())
    }

    /// Ends every pooled server session on the server (`endSessions`) and
    /// closes idle connections, even when `endSessions` fails (its error is
    /// returned). Sessions still in use are not ended; the server times
    /// them out. The client stays usable.
    pub async fn shutdown(&self) -> Result<()> {
        let ids: Vec<Bson> = match self.inner.pool.lock() {
            Ok(mut pool) => pool.drain(..).map(|s| Bson::Document(s.id)).collect(),
            Err(_) => Vec::new(),
        };
        let mut outcome = Ok(());
        for batch in ids.chunks(END_SESSIONS_BATCH_MAX) {
            let ended = self.send("admin", doc! {"endSessions": batch.to_vec()}, None);
            if let Err(error) = ended.await {
                outcome = Err(error);
                break;
            }
        }
        self.inner.transport.close();
        outcome
    }

    /// A server session from the pool, or a new one.
    pub(crate) fn check_out(&self) -> ServerSession {
        let mut pool = match self.inner.pool.lock() {
            Ok(pool) => pool,
            Err(_) => return ServerSession::new(),
        };
        while let Some(session) = pool.pop() {
            if session.last_use.elapsed() + SESSION_EXPIRY_MARGIN < SESSION_TIMEOUT {
                return session;
            }
        }
        ServerSession::new()
    }

    /// Returns a server session to the pool, unless a network error made
    /// its server-side state unknown.
    pub(crate) fn check_in(&self, mut session: ServerSession) {
        if session.dirty {
            return;
        }
        session.last_use = Instant::now();
        if let Ok(mut pool) = self.inner.pool.lock() {
            pool.push(session);
        }
    }

    /// Records a cluster time seen in a reply (whose time is `key`),
    /// keeping the highest; returns the copy it kept, if `seen` was later
    /// than the client's time.
    pub(crate) fn advance_cluster_time(
        &self,
        seen: &Document,
        key: cluster_time::Key,
    ) -> Option<ClusterTime> {
        let mut time = self.inner.cluster_time.lock().ok()?;
        if !cluster_time::is_later(key, time.as_ref()) {
            return None;
        }
        Some(cluster_time::replace(&mut time, seen, key))
    }

    /// Whether any command listener is registered: events (and the copies
    /// of commands and replies they carry) are built only then.
    pub(crate) fn is_monitored(&self) -> bool {
        self.inner
            .listeners
            .read()
            .is_ok_and(|listeners| !listeners.is_empty())
    }

    /// Hands the event to every listener.
    pub(crate) fn emit(&self, event: CommandEvent) {
        let listeners = match self.inner.listeners.read() {
            Ok(listeners) => listeners.clone(),
            Err(_) => return,
        };
        for listener in listeners {
            listener(&event);
        }
    }

    pub(crate) fn request_id(&self) -> u64 {
        self.inner.next_request_id.fetch_add(1, Ordering::Relaxed)
    }
}
