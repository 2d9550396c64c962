//! The engine's limits against exhaustion, through the command layer: open
//! cursors per session and per server, sessions (`maxSessions`), open
//! transactions, and a transaction's size (`transactionSizeLimitBytes`).
//! Each test fills a limit, checks the error at the edge, then checks that
//! releasing what was held makes room again.

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};
use engine::{ConnectionInfo, Engine, EngineOptions, Request};

/// Rotor's limits, as documented in ARCHITECTURE.md.
const CURSORS_OPEN_PER_SESSION_MAX: usize = 1_000;
const CURSORS_OPEN_MAX: usize = 10_000;
const TRANSACTIONS_OPEN_MAX: usize = 10_000;

fn engine() -> Engine {
    Engine::open(EngineOptions::default()).expect("in-memory engines always open")
}

fn run(engine: &Engine, db: &str, body: Document) -> Document {
    engine
        .run_command(Request {
            db,
            body,
            connection: &ConnectionInfo::default(),
        })
        .reply
}

/// Checks a reply: `None` expects success, `Some((code, codeName))` the error.
fn check(reply: &Document, expected: Option<(i32, &str)>) {
    match expected {
        None => assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{reply}"),
        Some((code, name)) => {
            assert_eq!(reply.get_f64("ok").ok(), Some(0.0), "{reply}");
            assert_eq!(reply.get_i32("code").ok(), Some(code), "{reply}");
            assert_eq!(reply.get_str("codeName").ok(), Some(name), "{reply}");
        }
    }
}

fn lsid(n: u32) -> Document {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    bytes[15] = 0x5a;
    doc! {"id": Bson::Binary(Binary { subtype: BinarySubtype::Uuid, bytes: bytes.to_vec() })}
}

fn seed(engine: &Engine) {
    let reply = run(
        engine,
        "db",
        doc! {"insert": "c", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}]},
    );
    check(&reply, None);
}

/// A find in session `n` that leaves a cursor open.
fn open_cursor(engine: &Engine, n: u32) -> Document {
    run(
        engine,
        "db",
        doc! {"find": "c", "batchSize": 1, "lsid": lsid(n)},
    )
}

fn cursor_id(reply: &Document) -> i64 {
    reply
        .get_document("cursor")
        .and_then(|c| c.get_i64("id"))
        .expect("a cursor reply")
}

const RESOURCE_EXHAUSTED: Option<(i32, &str)> = Some((402, "ResourceExhausted"));

#[test]
fn cursors_per_session_are_bounded_and_freed_by_kill_cursors() {
    let engine = engine();
    seed(&engine);
    let mut ids = Vec::new();
    for _ in 0..CURSORS_OPEN_PER_SESSION_MAX {
        let reply = open_cursor(&engine, 1);
        check(&reply, None);
        ids.push(cursor_id(&reply));
    }
    check(&open_cursor(&engine, 1), RESOURCE_EXHAUSTED);
    // Another session is not affected, nor a find that needs no cursor.
    check(&open_cursor(&engine, 2), None);
    let whole = run(&engine, "db", doc! {"find": "c", "lsid": lsid(1)});
    check(&whole, None);
    assert_eq!(cursor_id(&whole), 0);
    let killed = run(
        &engine,
        "db",
        doc! {"killCursors": "c", "cursors": [ids[0]], "lsid": lsid(1)},
    );
    check(&killed, None);
    check(&open_cursor(&engine, 1), None);
    // Exhausting a cursor with getMore frees its place too.
    let more = run(
        &engine,
        "db",
        doc! {"getMore": ids[1], "collection": "c", "lsid": lsid(1)},
    );
    check(&more, None);
    check(&open_cursor(&engine, 1), None);
    check(&open_cursor(&engine, 1), RESOURCE_EXHAUSTED);
}

#[test]
fn cursors_per_server_are_bounded_and_freed_by_end_sessions() {
    let engine = engine();
    seed(&engine);
    let sessions = (CURSORS_OPEN_MAX / CURSORS_OPEN_PER_SESSION_MAX) as u32;
    for n in 0..sessions {
        for _ in 0..CURSORS_OPEN_PER_SESSION_MAX {
            check(&open_cursor(&engine, n), None);
        }
    }
    check(&open_cursor(&engine, sessions), RESOURCE_EXHAUSTED);
    let no_session = run(&engine, "db", doc! {"find": "c", "batchSize": 1});
    check(&no_session, RESOURCE_EXHAUSTED);
    let ended = run(&engine, "admin", doc! {"endSessions": [lsid(0)]});
    check(&ended, None);
    check(&open_cursor(&engine, sessions), None);
}

fn set_parameter(engine: &Engine, name: &str, value: impl Into<Bson>) -> Document {
    let mut body = doc! {"setParameter": 1};
    body.insert(name, value.into());
    let reply = run(engine, "admin", body);
    check(&reply, None);
    reply
}

#[test]
fn sessions_are_bounded_by_max_sessions() {
    let engine = engine();
    let default = run(&engine, "admin", doc! {"getParameter": 1, "maxSessions": 1});
    assert_eq!(default.get_i32("maxSessions").ok(), Some(1_000_000));
    set_parameter(&engine, "maxSessions", 3);
    let ping = |n: u32| run(&engine, "db", doc! {"ping": 1, "lsid": lsid(n)});
    for n in 0..3 {
        check(&ping(n), None);
    }
    let refused = ping(3);
    check(&refused, Some((261, "TooManyLogicalSessions")));
    check(
        &run(&engine, "admin", doc! {"startSession": 1}),
        Some((261, "TooManyLogicalSessions")),
    );
    // Existing sessions keep working; ending one makes room.
    check(&ping(0), None);
    check(
        &run(&engine, "admin", doc! {"endSessions": [lsid(0)]}),
        None,
    );
    check(&ping(3), None);
}

fn start_transaction(engine: &Engine, n: u32) -> Document {
    run(
        engine,
        "db",
        doc! {"insert": "t", "documents": [{"_id": n as i64}], "lsid": lsid(n),
        "txnNumber": 1i64, "startTransaction": true, "autocommit": false},
    )
}

fn end_transaction(engine: &Engine, n: u32, command: &str) -> Document {
    let mut body = doc! {};
    body.insert(command, 1);
    body.insert("lsid", lsid(n));
    body.insert("txnNumber", 1i64);
    body.insert("autocommit", false);
    run(engine, "admin", body)
}

#[test]
fn open_transactions_are_bounded_and_freed_by_commit_and_abort() {
    let engine = engine();
    check(&run(&engine, "db", doc! {"create": "t"}), None);
    let n_txns = TRANSACTIONS_OPEN_MAX as u32;
    for n in 0..n_txns {
        check(&start_transaction(&engine, n), None);
    }
    check(&start_transaction(&engine, n_txns), RESOURCE_EXHAUSTED);
    check(&end_transaction(&engine, 0, "commitTransaction"), None);
    check(&start_transaction(&engine, n_txns), None);
    check(&start_transaction(&engine, n_txns + 1), RESOURCE_EXHAUSTED);
    check(&end_transaction(&engine, 1, "abortTransaction"), None);
    check(&start_transaction(&engine, n_txns + 1), None);
    // The refused session can start later under the same number.
    check(&end_transaction(&engine, 2, "abortTransaction"), None);
    check(&start_transaction(&engine, n_txns + 2), None);
}

fn txn_insert(engine: &Engine, id: i32, start: bool, bytes: usize) -> Document {
    let mut body = doc! {"insert": "big", "documents": [{"_id": id, "pad": "x".repeat(bytes)}],
    "lsid": lsid(7), "txnNumber": 1i64, "autocommit": false};
    if start {
        body.insert("startTransaction", true);
    }
    run(engine, "db", body)
}

#[test]
fn transaction_size_is_bounded_by_transaction_size_limit_bytes() {
    let engine = engine();
    check(&run(&engine, "db", doc! {"create": "big"}), None);
    let default = run(
        &engine,
        "admin",
        doc! {"getParameter": 1, "transactionSizeLimitBytes": 1},
    );
    assert_eq!(
        default.get_i64("transactionSizeLimitBytes").ok(),
        Some(128 * 1024 * 1024)
    );
    let was = set_parameter(&engine, "transactionSizeLimitBytes", 1000);
    assert_eq!(was.get_i64("was").ok(), Some(128 * 1024 * 1024));
    check(&txn_insert(&engine, 1, true, 600), None);
    // As mongod, a statement's error inside a transaction is a write error.
    let reply = txn_insert(&engine, 2, false, 600);
    check(&reply, None);
    let too_large = reply
        .get_array("writeErrors")
        .ok()
        .and_then(|errors| errors.first())
        .and_then(Bson::as_document)
        .expect("a write error");
    assert_eq!(too_large.get_i32("code").ok(), Some(257), "{reply}");
    assert_eq!(
        too_large.get_str("codeName").ok(),
        Some("TransactionTooLarge")
    );
    assert_eq!(
        too_large.get_str("errmsg").ok(),
        Some(
            "Total size of all transaction operations must be less than server parameter 'transactionSizeLimitBytes' = 1000"
        )
    );
    // The statement's failure aborted the transaction: nothing was written.
    check(
        &end_transaction(&engine, 7, "commitTransaction"),
        Some((251, "NoSuchTransaction")),
    );
    let found = run(&engine, "db", doc! {"find": "big"});
    let batch = found
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("a cursor reply");
    assert!(batch.is_empty(), "{found}");
    // Writes outside a transaction are not counted.
    for id in 0..3 {
        let reply = run(
            &engine,
            "db",
            doc! {"insert": "big", "documents": [{"_id": id, "pad": "x".repeat(600)}]},
        );
        check(&reply, None);
    }
}

#[test]
fn parameters_take_mongods_ranges() {
    let engine = engine();
    for (name, value, accepted) in [
        ("minSnapshotHistoryWindowInSeconds", 0, true),
        ("minSnapshotHistoryWindowInSeconds", 10, true),
        ("minSnapshotHistoryWindowInSeconds", -1, false),
        ("transactionLifetimeLimitSeconds", 0, false),
        ("transactionLifetimeLimitSeconds", 1, true),
        ("maxSessions", 0, false),
    ] {
        let mut body = doc! {"setParameter": 1};
        body.insert(name, value);
        let reply = run(&engine, "admin", body);
        match accepted {
            true => check(&reply, None),
            false => check(&reply, Some((2, "BadValue"))),
        }
    }
}
