//! A `rotor serve --dbpath` child process and its captured log.
//!
//! The log is read on a thread from the moment the process starts, so the
//! server never blocks on a full pipe, and the newest lines are kept for
//! failure messages. Waits are bounded: a server that neither becomes ready
//! nor exits is a test failure, not a hung test.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The log line that says the server accepts connections; the address follows.
const READY_MARKER: &str = "rotor ready for connections on ";
/// Recovery of a small test database takes well under this; more is a hang.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Enough log to see recovery and the last commits, small enough to print.
const LOG_LINES_MAX: usize = 200;

/// A running (or exited) `rotor serve` process, killed when dropped.
pub struct Server {
    child: Child,
    log: Arc<Mutex<VecDeque<String>>>,
    /// Receives the listening address once the ready line is logged.
    ready: Receiver<String>,
    reader: Option<JoinHandle<()>>,
}

/// A port that was free a moment ago: bind port 0 and let the OS choose.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

impl Server {
    /// Starts `rotor serve` on `dbpath` and `port` without waiting for it.
    pub fn spawn(dbpath: &Path, port: u16) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rotor"))
            .args(["serve", "--log-level", "info", "--port", &port.to_string()])
            .arg("--dbpath")
            .arg(dbpath)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rotor serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (ready_tx, ready) = mpsc::channel();
        let reader = {
            let log = log.clone();
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some((_, address)) = line.split_once(READY_MARKER) {
                        let _ = ready_tx.send(address.trim().to_owned());
                    }
                    let mut log = log.lock().expect("log lock");
                    if log.len() == LOG_LINES_MAX {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            })
        };
        Server {
            child,
            log,
            ready,
            reader: Some(reader),
        }
    }

    /// Starts `rotor serve` and waits for its ready line; panics with the
    /// log if it exits or stalls first.
    pub fn start(dbpath: &Path, port: u16) -> Server {
        let server = Server::spawn(dbpath, port);
        if let Err(why) = server.wait_ready() {
            panic!("rotor serve did not become ready: {why}\n{}", server.log());
        }
        server
    }

    fn wait_ready(&self) -> Result<(), &'static str> {
        self.ready
            .recv_timeout(READY_TIMEOUT)
            .map(drop)
            .map_err(|error| match error {
                mpsc::RecvTimeoutError::Timeout => "timed out",
                mpsc::RecvTimeoutError::Disconnected => "it exited",
            })
    }

    /// Waits up to `timeout` for the process to exit on its own; `None` if
    /// it is still running. Once it has exited the whole log has been read.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The newest lines of the server's log.
    pub fn log(&self) -> String {
        let log = self.log.lock().expect("log lock");
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
