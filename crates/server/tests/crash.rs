//! Crash tests of a real `rotor serve --dbpath` process.
//!
//! The main test proves that Rotor never loses an acknowledged commit and
//! never shows part of a transaction. Concurrent clients run transactions
//! that each insert one item and `$inc` a shared counter; the server is
//! killed with SIGKILL at random moments and restarted on the same data
//! directory. After each restart: every acknowledged item is present, no
//! item appears that was never attempted, no item seen after an earlier
//! restart has vanished, the counter equals the number of items, and
//! `validate` finds both collections sound (the items' unique index, which
//! recovery rebuilds, agrees with the items), and each client's last
//! commit, retried as a driver retries it, is answered as the data says:
//! ok if the item is there, NoSuchTransaction only if it is not (which a
//! driver's `withTransaction` takes as a reason to run it again). One more
//! client sends retryable `$inc`s outside transactions; after the restart
//! its last one is retried, and the counter must then equal the writes
//! sent: each applied exactly once.
//!
//! An item whose commit got no reply may or may not be present: recovery may
//! keep a commit whose acknowledgement died with the server. The kill delays
//! come from a seeded RNG and the seed is printed; `ROTOR_CRASH_SEED=<seed>`
//! replays the kill timing (thread interleavings are not replayable).
//! `ROTOR_CRASH_CYCLES=<n>` sets the number of kill/restart cycles, and
//! `ROTOR_CRASH_KILL_DELAY_MS_MIN`/`_MAX` how long clients run before a kill.
//!
//! The second test pins that a data directory has one owner: a server
//! started on a directory another live server holds refuses to start.
//!
//! Deliberately not tested here: power loss (SIGKILL keeps the OS page
//! cache, so unsynced writes survive it); that belongs to a storage-level
//! test that separates written from synced bytes.

mod crash_support;

use std::collections::BTreeSet;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bson::{Binary, Bson, Document, Uuid, doc};
use crash_support::{Client, Server, free_port, ok};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Concurrent clients: enough to make transactions conflict on the counter.
const WORKERS: usize = 4;
/// Kill/restart cycles by default: about a thousand commits in ten seconds
/// or so of a debug build. Raise with ROTOR_CRASH_CYCLES for soak runs.
const CYCLES_DEFAULT: usize = 20;
/// How long the clients run before the kill by default: long enough for many
/// commits, short enough for many cycles. ROTOR_CRASH_KILL_DELAY_MS_MIN and
/// _MAX override it; soak runs over 60 s cross the engine's checkpoint interval.
const KILL_DELAY_MS: Range<u64> = 50..500;
/// One cycle in this many also kills the restarted server while it recovers,
/// so recovery itself must be crash-safe (idempotent over a torn tail).
const RECOVERY_KILL_ONE_IN: u32 = 4;
/// When that kill lands after the spawn: a debug build starts and replays a
/// test journal within roughly this window, so some kills land mid-replay.
const RECOVERY_KILL_MS: Range<u64> = 0..300;
/// Upper bound of the pause after a conflict, so retries do not run in lockstep.
const CONFLICT_BACKOFF_US_MAX: u64 = 2_000;
/// Items per find/getMore batch when reading everything back.
const READ_BATCH_SIZE: i32 = 1_000;
/// Ids a failure message lists; the count is always given in full.
const IDS_SHOWN_MAX: usize = 20;
/// A server that refuses the data directory exits at once; this is a hang.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

const DB: &str = "crash";
const COUNTER_ID: &str = "counter";
/// The counter only retryable writes (no transactions) increment.
const RETRIED_COUNTER_ID: &str = "retried";
const TRANSIENT: &str = "TransientTransactionError";
const UNKNOWN_COMMIT: &str = "UnknownTransactionCommitResult";
/// mongod's NoSuchTransaction.
const NO_SUCH_TRANSACTION: i32 = 251;

/// What the clients know, across all cycles.
#[derive(Default)]
struct Ledger {
    /// Every id ever sent in an insert: the only ids that may exist.
    attempted: BTreeSet<i64>,
    /// Ids whose commit returned ok: these must exist after any restart.
    acknowledged: BTreeSet<i64>,
    /// Failures that are not explained by the kill.
    unexpected: Vec<String>,
    /// Each client's last transaction that sent `commitTransaction`:
    /// after the restart a driver would retry that commit, and the answer
    /// must match the data (see [`check_commit_retries`]).
    last_commits: Vec<LastCommit>,
    /// The retryable `$inc`s sent, all on one session, one `txnNumber`
    /// each; the last may not have landed (see [`check_retried_writes`]).
    retried: RetriedWrites,
}

/// The retryable writes one client sent on its session.
struct RetriedWrites {
    lsid: Document,
    /// `txnNumber`s used so far: every one was sent.
    sent: i64,
}

impl Default for RetriedWrites {
    fn default() -> RetriedWrites {
        RetriedWrites {
            lsid: doc! {"id": Binary::from_uuid(Uuid::new())},
            sent: 0,
        }
    }
}

/// A transaction whose commit was sent.
struct LastCommit {
    lsid: Document,
    txn_number: i64,
    id: i64,
    acknowledged: bool,
}

/// State the clients of one cycle share with the test.
struct Shared {
    address: String,
    ledger: Mutex<Ledger>,
    next_id: AtomicI64,
    /// Set just before the kill: connection errors after it are expected.
    killed: AtomicBool,
}

/// How one transaction attempt ended, when the connection survived it.
enum Attempt {
    Committed,
    /// Transient error: the transaction was aborted; run a new one.
    Retry,
    /// The commit outcome is unknown; the id may or may not exist.
    Unknown,
}

/// Why a client stops.
enum Stop {
    Io(io::Error),
    Unexpected(String),
}

impl From<io::Error> for Stop {
    fn from(error: io::Error) -> Stop {
        Stop::Io(error)
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a valid value")),
        Err(_) => default,
    }
}

fn has_label(reply: &Document, label: &str) -> bool {
    reply
        .get_array("errorLabels")
        .is_ok_and(|labels| labels.iter().any(|l| l.as_str() == Some(label)))
}

fn as_i64(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        _ => None,
    }
}

/// Judges one reply inside the transaction: `None` to go on, or how the
/// attempt ended. `expected_n` is the `n` a successful write must report.
fn judge(what: &str, reply: &Document, expected_n: Option<i64>) -> Result<Option<Attempt>, Stop> {
    let clean =
        ok(reply) && !reply.contains_key("writeErrors") && !reply.contains_key("writeConcernError");
    if clean {
        let n = reply.get("n").and_then(as_i64);
        return match expected_n {
            Some(expected) if n != Some(expected) => Err(Stop::Unexpected(format!(
                "{what} reported n={n:?}, expected {expected}: {reply}"
            ))),
            _ => Ok(None),
        };
    }
    if has_label(reply, TRANSIENT) {
        return Ok(Some(Attempt::Retry));
    }
    if has_label(reply, UNKNOWN_COMMIT) {
        return Ok(Some(Attempt::Unknown));
    }
    Err(Stop::Unexpected(format!("{what} failed: {reply}")))
}

/// One transaction: insert a fresh item, `$inc` the counter, commit.
fn transaction(
    client: &mut Client,
    shared: &Shared,
    lsid: &Document,
    txn_number: i64,
) -> Result<Attempt, Stop> {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    shared.ledger.lock().unwrap().attempted.insert(id);
    let session = doc! {"lsid": lsid.clone(), "txnNumber": txn_number, "autocommit": false};
    let mut insert =
        doc! {"insert": "items", "documents": [{"_id": id, "k": id}], "startTransaction": true};
    insert.extend(session.clone());
    if let Some(end) = judge("insert", &client.command(DB, insert)?, Some(1))? {
        return Ok(end);
    }
    let mut update = doc! {
        "update": "counters",
        "updates": [{"q": {"_id": COUNTER_ID}, "u": {"$inc": {"n": 1}}, "upsert": true}],
    };
    update.extend(session.clone());
    if let Some(end) = judge("update", &client.command(DB, update)?, Some(1))? {
        return Ok(end);
    }
    let mut commit = doc! {"commitTransaction": 1};
    commit.extend(session);
    let last = LastCommit {
        lsid: lsid.clone(),
        txn_number,
        id,
        acknowledged: false,
    };
    note_commit(shared, last);
    if let Some(end) = judge("commitTransaction", &client.command("admin", commit)?, None)? {
        return Ok(end);
    }
    let mut ledger = shared.ledger.lock().unwrap();
    ledger.acknowledged.insert(id);
    if let Some(last) = ledger.last_commits.iter_mut().find(|c| c.lsid == *lsid) {
        last.acknowledged = true;
    }
    Ok(Attempt::Committed)
}

/// Records `last` as its client's last commit sent.
fn note_commit(shared: &Shared, last: LastCommit) {
    let mut ledger = shared.ledger.lock().unwrap();
    ledger.last_commits.retain(|c| c.lsid != last.lsid);
    ledger.last_commits.push(last);
}

/// The retryable `$inc` with `txn_number` on the retried counter.
fn retried_inc(lsid: &Document, txn_number: i64) -> Document {
    doc! {
        "update": "counters",
        "updates": [{"q": {"_id": RETRIED_COUNTER_ID}, "u": {"$inc": {"n": 1}}}],
        "lsid": lsid.clone(), "txnNumber": txn_number,
    }
}

/// A client of retryable writes (no transaction): `$inc`s the retried
/// counter, one `txnNumber` each, until its connection dies.
fn run_retryable_writes(client: &mut Client, shared: &Shared) -> Stop {
    loop {
        let (lsid, number) = {
            let mut ledger = shared.ledger.lock().unwrap();
            ledger.retried.sent += 1;
            (ledger.retried.lsid.clone(), ledger.retried.sent)
        };
        match client.command(DB, retried_inc(&lsid, number)) {
            Ok(reply) if ok(&reply) && reply.get_i32("nModified").ok() == Some(1) => {}
            Ok(reply) => return Stop::Unexpected(format!("a retryable $inc failed: {reply}")),
            Err(error) => return Stop::Io(error),
        }
    }
}

/// Retries the last retryable `$inc`, as a driver does after a network
/// error: it runs now if it never landed and answers its saved result if
/// it did, so afterwards every write sent has applied exactly once.
fn check_retried_writes(
    context: &str,
    client: &mut Client,
    retried: &RetriedWrites,
    log: &dyn Fn() -> String,
) {
    if retried.sent > 0 {
        let reply = client
            .command(DB, retried_inc(&retried.lsid, retried.sent))
            .expect("retry the last write");
        assert!(
            ok(&reply) && reply.get_i32("nModified").ok() == Some(1),
            "{context}: the retried write failed: {reply}\n{}",
            log()
        );
    }
    let found = client
        .command(
            DB,
            doc! {"find": "counters", "filter": {"_id": RETRIED_COUNTER_ID}},
        )
        .expect("read the retried counter");
    let n = found
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .ok()
        .and_then(|batch| batch.first()?.as_document()?.get("n").and_then(as_i64));
    assert_eq!(
        n,
        Some(retried.sent),
        "{context}: the retryable $inc ran other than once per write sent\n{}",
        log()
    );
}

/// A client: connects and runs `work` until its connection dies, and
/// records why it stopped unless the kill explains it.
fn drive(shared: &Shared, work: fn(&mut Client, &Shared) -> Stop) {
    let stop = match Client::connect(&shared.address) {
        Ok(mut client) => work(&mut client, shared),
        Err(error) => Stop::Io(error),
    };
    let unexpected = match stop {
        Stop::Io(_) if shared.killed.load(Ordering::SeqCst) => return,
        Stop::Io(error) => format!("connection failed before the kill: {error}"),
        Stop::Unexpected(message) => message,
    };
    shared.ledger.lock().unwrap().unexpected.push(unexpected);
}

/// Runs transactions until the connection dies.
fn run_transactions(client: &mut Client, shared: &Shared) -> Stop {
    let lsid = doc! {"id": Binary::from_uuid(Uuid::new())};
    let mut rng = rand::thread_rng();
    for txn_number in 1.. {
        match transaction(client, shared, &lsid, txn_number) {
            Ok(Attempt::Committed | Attempt::Unknown) => {}
            Ok(Attempt::Retry) => thread::sleep(Duration::from_micros(
                rng.gen_range(0..CONFLICT_BACKOFF_US_MAX),
            )),
            Err(stop) => return stop,
        }
    }
    unreachable!("txnNumber space exhausted")
}

/// Every item id in the collection, following the cursor to its end.
fn read_item_ids(client: &mut Client) -> BTreeSet<i64> {
    let mut ids = BTreeSet::new();
    let mut command = doc! {"find": "items", "filter": {}, "batchSize": READ_BATCH_SIZE};
    let mut batch_field = "firstBatch";
    loop {
        let reply = client.command(DB, command).expect("read the items");
        assert!(ok(&reply), "reading items failed: {reply}");
        let cursor = reply.get_document("cursor").expect("a cursor");
        for item in cursor.get_array(batch_field).expect("a batch") {
            let id = item.as_document().and_then(|item| item.get("_id"));
            ids.insert(id.and_then(as_i64).expect("items have integer ids"));
        }
        let cursor_id = cursor.get_i64("id").expect("a cursor id");
        if cursor_id == 0 {
            return ids;
        }
        command = doc! {"getMore": cursor_id, "collection": "items", "batchSize": READ_BATCH_SIZE};
        batch_field = "nextBatch";
    }
}

/// The counter's value, or `None` if the counter document is missing.
fn read_counter(client: &mut Client) -> Option<i64> {
    let reply = client
        .command(DB, doc! {"find": "counters", "filter": {"_id": COUNTER_ID}})
        .expect("read the counter");
    assert!(ok(&reply), "reading the counter failed: {reply}");
    let batch = reply
        .get_document("cursor")
        .and_then(|cursor| cursor.get_array("firstBatch"))
        .expect("a first batch");
    let counter = batch.first().and_then(Bson::as_document)?;
    Some(counter.get("n").and_then(as_i64).expect("an integer count"))
}

/// Creates the collections and the counter before any crash, durably.
fn set_up(address: &str) {
    let mut client = Client::connect(address).expect("connect");
    for command in [
        doc! {"create": "items"},
        // Recovery must rebuild it to agree with the items (`validate`).
        doc! {"createIndexes": "items", "indexes": [{"key": {"k": 1}, "name": "k_1", "unique": true}]},
        doc! {"create": "counters"},
        doc! {"insert": "counters", "documents": [
            {"_id": COUNTER_ID, "n": 0_i64},
            {"_id": RETRIED_COUNTER_ID, "n": 0_i64},
        ]},
    ] {
        let reply = client.command(DB, command.clone()).expect("set up");
        assert!(ok(&reply), "{command} -> {reply}");
    }
}

/// How many ids there are and the first few, for failure messages.
fn sample(ids: &[&i64]) -> String {
    format!(
        "{} ids, first {:?}",
        ids.len(),
        &ids[..ids.len().min(IDS_SHOWN_MAX)]
    )
}

/// Checks the invariants after a restart and returns the items present.
fn check_after_restart(
    context: &str,
    address: &str,
    server: &Server,
    ledger: &Ledger,
    seen_before: &BTreeSet<i64>,
) -> BTreeSet<i64> {
    let mut client = Client::connect(address).expect("connect after restart");
    let present = read_item_ids(&mut client);
    let counter = read_counter(&mut client);
    let log = || format!("log of the restarted server:\n{}", server.log());
    let lost: Vec<_> = ledger.acknowledged.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "{context}: acknowledged items lost: {}\n{}",
        sample(&lost),
        log()
    );
    let phantom: Vec<_> = present.difference(&ledger.attempted).collect();
    assert!(
        phantom.is_empty(),
        "{context}: items never inserted: {}\n{}",
        sample(&phantom),
        log()
    );
    let vanished: Vec<_> = seen_before.difference(&present).collect();
    assert!(
        vanished.is_empty(),
        "{context}: items seen earlier vanished: {}\n{}",
        sample(&vanished),
        log()
    );
    assert_eq!(
        counter,
        Some(present.len() as i64),
        "{context}: the counter disagrees with the item count, so a transaction is partly visible\n{}",
        log()
    );
    check_commit_retries(context, &mut client, ledger, &present, &log);
    check_retried_writes(context, &mut client, &ledger.retried, &log);
    for collection in ["items", "counters"] {
        let reply = client
            .command(DB, doc! {"validate": collection, "full": true})
            .expect("validate");
        assert!(
            ok(&reply) && reply.get_bool("valid").ok() == Some(true),
            "{context}: {collection} is not valid after recovery: {reply}\n{}",
            log()
        );
    }
    present
}

/// Retries each client's last commit, as a driver does after a network
/// error: an acknowledged commit must be answered ok, and any other
/// answer must agree with the data (ok only if the item is there,
/// NoSuchTransaction only if it is not). An answer of NoSuchTransaction
/// for a commit that did land would make a driver run it again.
fn check_commit_retries(
    context: &str,
    client: &mut Client,
    ledger: &Ledger,
    present: &BTreeSet<i64>,
    log: &dyn Fn() -> String,
) {
    for last in &ledger.last_commits {
        let commit = doc! {
            "commitTransaction": 1, "lsid": last.lsid.clone(),
            "txnNumber": last.txn_number, "autocommit": false,
        };
        let reply = client.command("admin", commit).expect("retry a commit");
        let committed = ok(&reply);
        let code = reply.get_i32("code").ok();
        let there = present.contains(&last.id);
        let consistent = match (committed, code) {
            (true, _) => there,
            (false, Some(NO_SUCH_TRANSACTION)) => !there && !last.acknowledged,
            _ => false,
        };
        assert!(
            consistent,
            "{context}: a retried commit of item {} (acknowledged: {}, present: {there}) got {reply}\n{}",
            last.id,
            last.acknowledged,
            log()
        );
    }
}

/// Lets the clients run for a random while, then kills the server under them.
fn run_and_kill(shared: &Shared, server: &mut Server, kill_after: Duration) {
    shared.killed.store(false, Ordering::SeqCst);
    thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| drive(shared, run_transactions));
        }
        scope.spawn(|| drive(shared, run_retryable_writes));
        thread::sleep(kill_after);
        shared.killed.store(true, Ordering::SeqCst);
        server.kill();
    });
}

/// Starts a server and kills it `after` the spawn, ready or not.
fn kill_while_starting(dbpath: &Path, port: u16, after: Duration) {
    let mut server = Server::spawn(dbpath, port);
    thread::sleep(after);
    server.kill();
}

#[test]
fn sigkill_loses_no_acknowledged_commit_and_exposes_no_partial_transaction() {
    let seed = env_or("ROTOR_CRASH_SEED", rand::random::<u64>());
    let cycles = env_or("ROTOR_CRASH_CYCLES", CYCLES_DEFAULT);
    let kill_delay_ms = env_or("ROTOR_CRASH_KILL_DELAY_MS_MIN", KILL_DELAY_MS.start)
        ..env_or("ROTOR_CRASH_KILL_DELAY_MS_MAX", KILL_DELAY_MS.end);
    assert!(
        !kill_delay_ms.is_empty(),
        "empty kill delay range {kill_delay_ms:?}"
    );
    println!(
        "crash test: seed {seed}, {cycles} cycles, kill after {kill_delay_ms:?} ms \
         (replay with ROTOR_CRASH_SEED={seed})"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("a temporary dbpath");
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut server = Server::start(dir.path(), port);
    set_up(&address);
    let shared = Shared {
        address: address.clone(),
        ledger: Mutex::default(),
        next_id: AtomicI64::new(1),
        killed: AtomicBool::new(false),
    };
    let started = Instant::now();
    let mut present = BTreeSet::new();
    for cycle in 1..=cycles {
        let kill_after = Duration::from_millis(rng.gen_range(kill_delay_ms.clone()));
        run_and_kill(&shared, &mut server, kill_after);
        let killed_log = server.log();
        let mut context = format!("seed {seed}, cycle {cycle}, killed after {kill_after:?}");
        if rng.gen_ratio(1, RECOVERY_KILL_ONE_IN) {
            let recovery_kill = Duration::from_millis(rng.gen_range(RECOVERY_KILL_MS));
            kill_while_starting(dir.path(), port, recovery_kill);
            context += &format!(", then killed {recovery_kill:?} into the restart");
        }
        server = Server::start(dir.path(), port);
        let ledger = shared.ledger.lock().unwrap();
        assert!(
            ledger.unexpected.is_empty(),
            "{context}: clients failed for reasons other than the kill: {:#?}\nlog of the killed server:\n{killed_log}",
            ledger.unexpected
        );
        present = check_after_restart(&context, &address, &server, &ledger, &present);
    }
    let ledger = shared.ledger.lock().unwrap();
    println!(
        "crash test: {cycles} cycles in {:?}; {} attempted, {} acknowledged, {} present",
        started.elapsed(),
        ledger.attempted.len(),
        ledger.acknowledged.len(),
        present.len()
    );
    assert!(
        ledger.acknowledged.len() >= cycles,
        "too few commits to prove anything: {}",
        ledger.acknowledged.len()
    );
}

#[test]
fn dbpath_held_by_a_running_server_refuses_a_second_server() {
    let dir = tempfile::tempdir().expect("a temporary dbpath");
    let holder_port = free_port();
    let _holder = Server::start(dir.path(), holder_port);
    let mut second = Server::spawn(dir.path(), free_port());
    let status = second
        .wait_exit(EXIT_TIMEOUT)
        .unwrap_or_else(|| panic!("the second server kept running:\n{}", second.log()));
    let log = second.log();
    assert!(
        !status.success(),
        "the second server exited successfully:\n{log}"
    );
    assert!(!log.contains("ready for connections"), "{log}");
    let dbpath = dir.path().display().to_string();
    assert!(
        log.contains("data directory") && log.contains("in use") && log.contains(&dbpath),
        "the error must name the data directory and say it is in use:\n{log}"
    );
    let mut client = Client::connect(&format!("127.0.0.1:{holder_port}")).expect("connect");
    let reply = client
        .command(DB, doc! {"insert": "items", "documents": [{"_id": 1}]})
        .expect("the first server still answers");
    assert!(
        ok(&reply),
        "the first server must still accept writes: {reply}"
    );
}
