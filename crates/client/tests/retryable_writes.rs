//! The retryable-writes spec's rules for when a write is retried and what
//! it carries, against a scripted transport (the retry decisions) and the
//! in-memory engine (the fields sent):
//! - a write is retried once, only after a network error or an error
//!   labelled `RetryableWriteError`; an unlabelled error is final whatever
//!   its code (MongoDB 4.4+ labels what it knows to be retryable);
//! - a network error on a retryable write outside a transaction gets the
//!   `RetryableWriteError` label, so the error after the retry has it;
//! - multi-document and `w: 0` writes carry no `txnNumber`, and a `w: 0`
//!   write reports no server error;
//! - a bulk stopped by a network error reports what it wrote before;
//! - an empty (server default) read or write concern is not sent.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bson::{Bson, Document, doc};
use rotor::{
    BoxFuture, Client, Collection, Concerns, Error, ErrorKind, PartialResult,
    RETRYABLE_WRITE_ERROR, SessionOptions, TRANSIENT_TRANSACTION_ERROR, Transport, WriteModel,
};

/// Answers each command named `command` with its next scripted outcome,
/// and every other command (and that one once the script runs out) with
/// `ok: 1`; records every command it is given.
struct Scripted {
    command: &'static str,
    outcomes: Mutex<VecDeque<Result<Document, Error>>>,
    sent: Arc<Mutex<Vec<Document>>>,
}

impl Transport for Scripted {
    fn run_command(&self, _db: &str, command: Document) -> BoxFuture<'_, rotor::Result<Document>> {
        let name = command.keys().next().cloned().unwrap_or_default();
        self.sent.lock().unwrap().push(command);
        let outcome = match name == self.command {
            true => self.outcomes.lock().unwrap().pop_front(),
            false => None,
        };
        Box::pin(async move { outcome.unwrap_or_else(|| Ok(doc! {"ok": 1, "n": 1})) })
    }
}

/// A client over a script for `command`, and the commands it sends.
fn scripted(
    command: &'static str,
    outcomes: Vec<Result<Document, Error>>,
) -> (Client, Arc<Mutex<Vec<Document>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let client = Client::with_transport(Scripted {
        command,
        outcomes: Mutex::new(outcomes.into()),
        sent: sent.clone(),
    });
    (client, sent)
}

fn failed(code: i32, labels: &[&str]) -> Result<Document, Error> {
    Ok(
        doc! {"ok": 0, "code": code, "codeName": "Scripted", "errmsg": "scripted", "errorLabels": labels},
    )
}

fn network() -> Result<Document, Error> {
    Err(Error::new(ErrorKind::Network {
        message: "scripted: connection closed".to_owned(),
    }))
}

fn sent_named(sent: &Mutex<Vec<Document>>, name: &str) -> usize {
    common::named(sent, name).len()
}

fn coll(client: &Client) -> Collection<Document> {
    client.database("t").collection::<Document>("c")
}

#[tokio::test]
async fn a_write_is_retried_only_after_a_label_or_a_network_error() {
    // (the first attempt's outcome, how many inserts are sent, the code
    // the caller sees or None for success)
    let check = async |first: Result<Document, Error>, sends: usize, code: Option<i32>| {
        let (client, sent) = scripted("insert", vec![first]);
        let outcome = coll(&client).insert_one(doc! {"_id": 1}).await;
        assert_eq!(outcome.as_ref().err().and_then(Error::code), code);
        assert_eq!(sent_named(&sent, "insert"), sends, "{outcome:?}");
    };
    // Codes the spec once listed (NotWritablePrimary, HostUnreachable,
    // ShutdownInProgress...) are final without the label.
    for code in [91, 10107, 6, 189, 11600] {
        check(failed(code, &[]), 1, Some(code)).await;
    }
    check(failed(91, &[RETRYABLE_WRITE_ERROR]), 2, None).await;
    check(failed(11000, &[]), 1, Some(11000)).await;
    check(network(), 2, None).await;
}

#[tokio::test]
async fn a_write_concern_error_is_retried_only_with_the_label() {
    let reply = |labels: &[&str]| -> Result<Document, Error> {
        Ok(doc! {
            "ok": 1, "n": 1,
            "writeConcernError": {"code": 91, "codeName": "ShutdownInProgress", "errmsg": "x"},
            "errorLabels": labels,
        })
    };
    let check = async |first: Result<Document, Error>, sends: usize| {
        let (client, sent) = scripted("insert", vec![first]);
        let _outcome = coll(&client).insert_one(doc! {"_id": 1}).await;
        assert_eq!(sent_named(&sent, "insert"), sends);
    };
    check(reply(&[]), 1).await;
    check(reply(&[RETRYABLE_WRITE_ERROR]), 2).await;
}

#[tokio::test]
async fn a_network_error_on_a_retryable_write_gets_the_retryable_write_error_label() {
    // (whether the collection retries writes, the label expected)
    let check = async |retry_writes: bool, labelled: bool| {
        let (client, sent) = scripted("insert", vec![network(), network()]);
        let coll = coll(&client).with_retry_writes(retry_writes);
        let error = coll.insert_one(doc! {"_id": 1}).await.unwrap_err();
        assert!(error.to_string().contains("network"), "{error}");
        assert_eq!(error.has_label(RETRYABLE_WRITE_ERROR), labelled, "{error}");
        let sends = if retry_writes { 2 } else { 1 };
        assert_eq!(sent_named(&sent, "insert"), sends);
    };
    check(true, true).await;
    check(false, false).await;
}

#[tokio::test]
async fn a_network_error_in_a_transaction_is_transient_not_retryable() {
    let (client, sent) = scripted("insert", vec![network()]);
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    session.start_transaction(Default::default()).unwrap();
    let error = coll(&client)
        .insert_one(doc! {"_id": 1})
        .session(&mut session)
        .await
        .unwrap_err();
    assert!(error.has_label(TRANSIENT_TRANSACTION_ERROR), "{error}");
    assert!(!error.has_label(RETRYABLE_WRITE_ERROR), "{error}");
    assert_eq!(sent_named(&sent, "insert"), 1);
}

#[tokio::test]
async fn a_bulk_stopped_by_a_network_error_reports_what_it_wrote() {
    // The insert batch succeeds; the update batch fails on both attempts.
    let (client, _sent) = scripted("update", vec![network(), network()]);
    let models = vec![
        WriteModel::InsertOne {
            document: doc! {"_id": 2},
        },
        WriteModel::UpdateOne {
            filter: doc! {"_id": 2},
            update: doc! {"$inc": {"x": 1}}.into(),
            options: doc! {},
        },
    ];
    let error = coll(&client).bulk_write(models).await.unwrap_err();
    assert!(error.has_label(RETRYABLE_WRITE_ERROR), "{error}");
    let failure = error.write_failure().expect("a partial result");
    assert!(failure.write_errors.is_empty());
    let Some(PartialResult::Bulk(partial)) = &failure.partial_result else {
        panic!("no bulk partial result: {failure:?}");
    };
    assert_eq!(partial.inserted_count, 1);
    assert_eq!(partial.inserted_ids.get(&0), Some(&Bson::Int32(2)));
    assert_eq!((partial.matched_count, partial.modified_count), (0, 0));
}

/// An operation to look at the command of (its result is not looked at).
type Operation = fn(Collection<Document>) -> BoxFuture<'static, rotor::Result<()>>;

#[tokio::test]
async fn multi_document_and_unacknowledged_writes_carry_no_txn_number() {
    // (the operation, the command it sends, whether it has a txnNumber)
    let check = async |operation: Operation, command: &str, expected: bool| {
        let (client, sent) = common::recorded();
        coll(&client)
            .insert_many(vec![doc! {"_id": 1}, doc! {"_id": 2}])
            .await
            .unwrap();
        sent.lock().unwrap().clear();
        operation(coll(&client)).await.unwrap();
        let sent = common::named(&sent, command);
        let first = sent.first().expect("the command was sent");
        assert_eq!(first.contains_key("txnNumber"), expected, "{first}");
    };
    check(
        |c| Box::pin(async move { c.insert_one(doc! {"_id": 3}).await.map(drop) }),
        "insert",
        true,
    )
    .await;
    check(
        |c| {
            Box::pin(async move {
                c.update_one(doc! {}, doc! {"$set": {"x": 1}})
                    .await
                    .map(drop)
            })
        },
        "update",
        true,
    )
    .await;
    check(
        |c| {
            Box::pin(async move {
                c.update_many(doc! {}, doc! {"$set": {"x": 1}})
                    .await
                    .map(drop)
            })
        },
        "update",
        false,
    )
    .await;
    check(
        |c| Box::pin(async move { c.delete_one(doc! {}).await.map(drop) }),
        "delete",
        true,
    )
    .await;
    check(
        |c| Box::pin(async move { c.delete_many(doc! {}).await.map(drop) }),
        "delete",
        false,
    )
    .await;
    check(
        |c| {
            let models = vec![WriteModel::DeleteMany {
                filter: doc! {},
                options: doc! {},
            }];
            Box::pin(async move { c.bulk_write(models).await.map(drop) })
        },
        "delete",
        false,
    )
    .await;
    check(
        |c| {
            let c = unacknowledged(c);
            Box::pin(async move { c.insert_one(doc! {"_id": 3}).await.map(drop) })
        },
        "insert",
        false,
    )
    .await;
}

fn unacknowledged(coll: Collection<Document>) -> Collection<Document> {
    coll.with_concerns(Concerns {
        write_concern: Some(doc! {"w": 0}),
        ..Default::default()
    })
}

#[tokio::test]
async fn an_unacknowledged_write_reports_no_server_error() {
    let (client, _sent) = common::recorded();
    coll(&client).insert_one(doc! {"_id": 1}).await.unwrap();
    let duplicate = unacknowledged(coll(&client))
        .insert_one(doc! {"_id": 1})
        .await
        .unwrap();
    assert!(!duplicate.acknowledged);
    let acknowledged = coll(&client).insert_one(doc! {"_id": 1}).await;
    assert_eq!(acknowledged.unwrap_err().code(), Some(11000));
}

#[tokio::test]
async fn an_empty_default_concern_is_not_sent() {
    // (the collection's concerns, the write concern sent, the read
    // concern sent)
    let check = async |concerns: Concerns, write: Option<Document>, read: Option<Document>| {
        let (client, sent) = common::recorded();
        let coll = coll(&client).with_concerns(concerns);
        coll.insert_one(doc! {"_id": 1}).await.unwrap();
        coll.delete_many(doc! {}).await.unwrap();
        coll.find_one(doc! {}).await.unwrap();
        for name in ["insert", "delete"] {
            let command = common::named(&sent, name).remove(0);
            let sent = command.get_document("writeConcern").ok().cloned();
            assert_eq!(sent, write, "{command}");
        }
        let find = common::named(&sent, "find").remove(0);
        assert_eq!(
            find.get_document("readConcern").ok().cloned(),
            read,
            "{find}"
        );
    };
    let concerns = |write: Document, read: Document| Concerns {
        write_concern: Some(write),
        read_concern: Some(read),
    };
    check(concerns(doc! {}, doc! {}), None, None).await;
    check(
        concerns(doc! {"w": 1}, doc! {"level": "local"}),
        Some(doc! {"w": 1}),
        Some(doc! {"level": "local"}),
    )
    .await;
    check(Concerns::default(), None, None).await;
}
