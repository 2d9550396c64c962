//! mongod's `onPrimaryTransactionalWrite` failpoint through the command
//! layer: `closeConnection` (default true) applies the retryable write and
//! then asks the transport to close the connection, so a driver's retry
//! gets the recorded result; `failBeforeCommitExceptionCode` fails the
//! write instead, with or without closing.

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
            response.reply.get_i32("code").ok(),
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
        (false, Some((0.0, Some(91))), 0),
    );
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
