//! mongod's `onPrimaryTransactionalWrite` failpoint through the command
//! layer. It is evaluated for each statement of a retryable write that
//! runs, never for one a retry replays: `closeConnection` (default true)
//! applies the statement and then asks the transport to close the
//! connection, so a driver's retry gets the recorded result;
//! `failBeforeCommitExceptionCode` fails the statement instead (a
//! `writeErrors` entry), with or without closing.

use bson::{Document, doc};
use engine::{ConnectionInfo, Engine, EngineOptions, Request, Response};

fn engine() -> Engine {
    Engine::open(EngineOptions {
        enable_test_commands: true,
        ..EngineOptions::default()
    })
    .expect("in-memory engines always open")
}

fn run(engine: &Engine, db: &str, body: Document) -> Response {
    engine.run_command(Request {
        db,
        body,
        connection: &ConnectionInfo::default(),
    })
}

fn retryable_insert(engine: &Engine, id: i32) -> Response {
    let lsid = doc! {"id": bson::Uuid::from_bytes([7; 16])};
    run(
        engine,
        "db",
        doc! {"insert": "c", "documents": [{"_id": id}], "lsid": lsid, "txnNumber": id as i64},
    )
}

fn count(engine: &Engine) -> i32 {
    let reply = run(engine, "db", doc! {"count": "c"}).reply;
    reply.get_i32("n").expect("a count")
}

/// What one write does under the failpoint `data`: whether the connection
/// closes, the reply's `ok` and `code` if it replies, and the documents
/// stored afterwards.
fn check(data: Document, expected: (bool, Option<(f64, Option<i32>)>, i32)) {
    let engine = engine();
    let set = run(
        &engine,
        "admin",
        doc! {"configureFailPoint": "onPrimaryTransactionalWrite", "mode": {"times": 1}, "data": data.clone()},
    );
    assert_eq!(set.reply.get_f64("ok").ok(), Some(1.0), "{}", set.reply);
    let response = retryable_insert(&engine, 1);
    let reply = (!response.close_connection).then(|| {
        (
            response.reply.get_f64("ok").unwrap_or(-1.0),
            first_write_error(&response.reply).map(|(_, code)| code),
        )
    });
    let (close, replied, stored) = expected;
    assert_eq!(
        (response.close_connection, reply, count(&engine)),
        (close, replied, stored),
        "data {data}: {}",
        response.reply
    );
    assert!(
        !response.reply.contains_key("$closeConnection"),
        "the marker never reaches a client: {}",
        response.reply
    );
    // The retry (the failpoint has turned off) answers from the recorded
    // result or applies the write once.
    let retry = retryable_insert(&engine, 1);
    assert!(!retry.close_connection);
    assert_eq!(retry.reply.get_i32("n").ok(), Some(1), "{}", retry.reply);
    assert_eq!(count(&engine), 1);
}

#[test]
fn on_primary_transactional_write_closes_the_connection_by_default_after_applying() {
    check(doc! {}, (true, None, 1));
    check(doc! {"closeConnection": true}, (true, None, 1));
}

#[test]
fn on_primary_transactional_write_without_close_connection_replies() {
    check(
        doc! {"closeConnection": false},
        (false, Some((1.0, None)), 1),
    );
}

#[test]
fn on_primary_transactional_write_fail_before_commit_fails_the_write() {
    check(doc! {"failBeforeCommitExceptionCode": 91}, (true, None, 0));
    check(
        doc! {"closeConnection": false, "failBeforeCommitExceptionCode": 91},
        (false, Some((1.0, Some(91))), 0),
    );
}

/// The index and code of a reply's first `writeErrors` entry.
fn first_write_error(reply: &Document) -> Option<(i32, i32)> {
    let errors = reply.get_array("writeErrors").ok()?;
    let error = errors.first()?.as_document()?;
    Some((error.get_i32("index").ok()?, error.get_i32("code").ok()?))
}

fn lsid() -> Document {
    doc! {"id": bson::Uuid::from_bytes([9; 16])}
}

#[test]
fn on_primary_transactional_write_fires_per_statement() {
    // mongod's own check: the second statement of a batch fails, the first
    // applies, and the retry applies only the second.
    let engine = engine();
    run(
        &engine,
        "db",
        doc! {"insert": "c", "documents": [{"_id": 0, "y": 0}, {"_id": 1, "y": 0}]},
    );
    let set = run(
        &engine,
        "admin",
        doc! {"configureFailPoint": "onPrimaryTransactionalWrite", "mode": {"skip": 1},
        "data": {"closeConnection": false, "failBeforeCommitExceptionCode": 1}},
    );
    assert_eq!(set.reply.get_f64("ok").ok(), Some(1.0), "{}", set.reply);
    let update = doc! {
        "update": "c",
        "updates": [{"q": {"_id": 0}, "u": {"$inc": {"y": 1}}}, {"q": {"_id": 1}, "u": {"$inc": {"y": 1}}}],
        "lsid": lsid(),
        "txnNumber": 1_i64,
    };
    let first = run(&engine, "db", update.clone()).reply;
    assert_eq!(first.get_i32("nModified").ok(), Some(1), "{first}");
    assert_eq!(first_write_error(&first), Some((1, 1)), "{first}");
    run(
        &engine,
        "admin",
        doc! {"configureFailPoint": "onPrimaryTransactionalWrite", "mode": "off"},
    );
    let retry = run(&engine, "db", update).reply;
    assert_eq!(retry.get_i32("nModified").ok(), Some(2), "{retry}");
    let found = run(&engine, "db", doc! {"find": "c", "sort": {"_id": 1}}).reply;
    let batch = found
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("a first batch");
    let ys: Vec<i32> = batch
        .iter()
        .filter_map(|d| d.as_document()?.get_i32("y").ok())
        .collect();
    assert_eq!(ys, [1, 1], "each statement applied once");
}

#[test]
fn on_primary_transactional_write_never_fires_on_a_replayed_statement() {
    // `times: 2` over two one-statement writes: each fails once, closing the
    // connection, and each retry replays its saved result without meeting
    // the failpoint (the spec's "All commands are retried").
    let engine = engine();
    let set = run(
        &engine,
        "admin",
        doc! {"configureFailPoint": "onPrimaryTransactionalWrite", "mode": {"times": 2}},
    );
    assert_eq!(set.reply.get_f64("ok").ok(), Some(1.0), "{}", set.reply);
    for number in 1..=2_i64 {
        let insert = doc! {
            "insert": "c", "documents": [{"_id": number}], "lsid": lsid(), "txnNumber": number,
        };
        let first = run(&engine, "db", insert.clone());
        assert!(
            first.close_connection,
            "statement {number} met the failpoint"
        );
        let retry = run(&engine, "db", insert);
        assert!(!retry.close_connection, "retry {number}: {}", retry.reply);
        assert_eq!(retry.reply.get_i32("n").ok(), Some(1), "{}", retry.reply);
    }
    assert_eq!(count(&engine), 2);
}

#[test]
fn on_primary_transactional_write_rejects_a_non_boolean_close_connection() {
    let engine = engine();
    let reply = run(
        &engine,
        "admin",
        doc! {"configureFailPoint": "onPrimaryTransactionalWrite", "mode": "alwaysOn", "data": {"closeConnection": 1}},
    )
    .reply;
    assert_eq!(reply.get_i32("code").ok(), Some(14), "{reply}");
}
