//! The listener: accepts connections, spawns one task per connection,
//! counts them, and stops on SIGINT or SIGTERM.
//!
//! Invariant: at most `max_connections` connection tasks exist at once,
//! counting those still in their TLS handshake; a connection over the limit
//! is closed as soon as it is accepted, as mongod does past
//! `maxIncomingConnections`, and the connections already open are not
//! disturbed. Refusals are logged at most once per `REFUSAL_LOG_INTERVAL`,
//! so a flood cannot fill the log. Connections are tasks, not threads;
//! engine calls go to tokio's blocking pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use engine::{Engine, EngineOptions, Storage, Topology};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::cli::ServeArgs;
use crate::tls::Tls;
use crate::transport;

/// Refused connections are reported in one log line per interval.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// What every connection task shares.
pub struct Shared {
    pub engine: Engine,
    pub idle_timeout: Duration,
    /// Bound on the TLS handshake plus the first frame.
    pub handshake_timeout: Duration,
    /// Bound on the peer accepting each piece of a reply.
    pub write_timeout: Duration,
    /// With `--auth`: how long after connecting a connection may stay
    /// unauthenticated.
    pub auth_timeout: Option<Duration>,
    pub tls: Tls,
    pub connections: ConnectionCounts,
}

/// Connection accounting for `serverStatus`'s `connections` section.
pub struct ConnectionCounts {
    next_id: AtomicU64,
    current: AtomicU64,
    pub max: u64,
}

impl ConnectionCounts {
    fn new(max: u64) -> ConnectionCounts {
        ConnectionCounts {
            next_id: AtomicU64::new(1),
            current: AtomicU64::new(0),
            max,
        }
    }

    /// Registers a new connection and returns its id; ids start at 1 and
    /// are never reused.
    pub fn open(&self) -> u64 {
        self.current.fetch_add(1, Ordering::Relaxed);
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn close(&self) {
        self.current.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn current(&self) -> u64 {
        self.current.load(Ordering::Relaxed)
    }

    pub fn total_created(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed) - 1
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn serve(args: ServeArgs) -> Result<(), String> {
    // Watch the signals before the ready line goes out: a supervisor may
    // send SIGTERM the moment it sees that line.
    let shutdown = ShutdownSignal::watch();
    let running = start(args).await?;
    shutdown.received().await;
    running.shutdown().await;
    tracing::info!("rotor shut down");
    Ok(())
}

/// A server accepting connections in the background.
pub struct RunningServer {
    local: std::net::SocketAddr,
    engine: Engine,
    stop: Arc<tokio::sync::Notify>,
    accept: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// The address the listener is bound to (the real port when 0 was asked).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local
    }

    /// The engine behind the server, for tests that arm failpoints or read
    /// metrics in-process.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Stops accepting connections and waits for the accept loop to end.
    /// Open connections end with the runtime.
    pub async fn shutdown(self) {
        self.stop.notify_one();
        let _ = self.accept.await;
    }
}

/// Binds, opens the engine, logs the ready line, and accepts connections in
/// a background task until [`RunningServer::shutdown`].
pub async fn start(args: ServeArgs) -> Result<RunningServer, String> {
    args.check_exposure()?;
    let tls = Tls::from_args(&args)?;
    let listener = TcpListener::bind((args.bind.as_str(), args.port))
        .await
        .map_err(|error| format!("cannot listen on {}:{}: {error}", args.bind, args.port))?;
    let local = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    let advertise = args
        .advertise
        .clone()
        .unwrap_or_else(|| format!("{}:{}", args.bind, local.port()));
    let mut options = EngineOptions::default();
    configure(&mut options, &args, advertise.clone());
    let engine = tokio::task::spawn_blocking(move || Engine::open(options))
        .await
        .map_err(|error| format!("engine failed to open: {error}"))?
        .map_err(|error| format!("cannot open the database: {error}"))?;
    let shared = Arc::new(Shared {
        engine,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        handshake_timeout: Duration::from_secs(args.handshake_timeout_secs),
        write_timeout: Duration::from_secs(args.write_timeout_secs),
        auth_timeout: args
            .auth
            .then(|| Duration::from_secs(args.auth_timeout_secs)),
        tls,
        connections: ConnectionCounts::new(args.max_connections),
    });
    tracing::info!(replset = %args.replset, %advertise, "presenting a one-member replica set");
    tracing::info!(
        mode = ?shared.tls.mode(),
        max_conns = args.max_connections,
        "TLS and connection limits"
    );
    let engine = shared.engine.clone();
    let stop = Arc::new(tokio::sync::Notify::new());
    let accept = tokio::spawn(accept_until_stopped(listener, shared, Arc::clone(&stop)));
    // The last word of this line is the address: scripts wait for it.
    tracing::info!("rotor ready for connections on {local}");
    Ok(RunningServer {
        local,
        engine,
        stop,
        accept,
    })
}

fn configure(options: &mut EngineOptions, args: &ServeArgs, advertise: String) {
    options.enable_test_commands = args.enable_test_commands;
    options.auth = args.auth;
    options.storage = if args.in_memory {
        Storage::InMemory
    } else {
        Storage::Directory(args.dbpath.clone())
    };
    options.checkpoint_interval = Duration::from_secs(args.checkpoint_interval_secs);
    options.journal_commit_interval = Duration::from_millis(args.journal_commit_interval_ms);
    options.topology = Topology {
        set_name: args.replset.clone(),
        advertise,
    };
}

async fn accept_until_stopped(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: Arc<tokio::sync::Notify>,
) {
    let permits = Arc::new(Semaphore::new(
        usize::try_from(shared.connections.max)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS),
    ));
    let mut refusals = Refusals::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.notified() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            drop(stream);
            refusals.count(peer, shared.connections.max);
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            transport::serve(stream, peer, shared).await;
            drop(permit);
        });
    }
}

/// Connections refused for being over the limit, reported in batches.
struct Refusals {
    unreported: u64,
    last_report: Option<tokio::time::Instant>,
}

impl Refusals {
    fn new() -> Refusals {
        Refusals {
            unreported: 0,
            last_report: None,
        }
    }

    fn count(&mut self, peer: std::net::SocketAddr, max: u64) {
        self.unreported += 1;
        let now = tokio::time::Instant::now();
        if self
            .last_report
            .is_some_and(|last| now.duration_since(last) < REFUSAL_LOG_INTERVAL)
        {
            return;
        }
        tracing::warn!(
            %peer,
            refused = self.unreported,
            "refusing connections: {max} connections already open (--max-conns)"
        );
        self.unreported = 0;
        self.last_report = Some(now);
    }
}

/// SIGINT and SIGTERM, watched from the moment [`ShutdownSignal::watch`]
/// returns (tokio installs the handler when the stream is created, not
/// when it is first polled).
struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignal {
    fn watch() -> ShutdownSignal {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let watch = |kind: SignalKind| {
                signal(kind)
                    .map_err(|error| tracing::warn!("cannot watch signal {kind:?}: {error}"))
                    .ok()
            };
            ShutdownSignal {
                interrupt: watch(SignalKind::interrupt()),
                terminate: watch(SignalKind::terminate()),
            }
        }
        #[cfg(not(unix))]
        ShutdownSignal {}
    }

    /// Resolves on the first SIGINT or SIGTERM.
    async fn received(self) {
        #[cfg(unix)]
        {
            async fn next(stream: Option<tokio::signal::unix::Signal>) {
                match stream {
                    Some(mut stream) => {
                        stream.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(self.interrupt) => {}
                () = next(self.terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}
