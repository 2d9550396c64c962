//! Which error a retried write or commit reports, against a scripted
//! transport whose replies a test lists in advance: the retryable-writes
//! spec's `NoWritesPerformed` rule (the first error is kept when the retry
//! wrote nothing) and the transactions spec's unknown commit result after
//! a server-selection error.

use std::collections::VecDeque;
use std::sync::Mutex;

use bson::{Document, doc};
use rotor::{
    BoxFuture, Client, Error, ErrorKind, SessionOptions, Transport,
    UNKNOWN_TRANSACTION_COMMIT_RESULT,
};

/// Answers each command named in the script with its next outcome, in
/// order, and every other command with `ok: 1`.
struct Scripted {
    command: &'static str,
    outcomes: Mutex<VecDeque<Result<Document, Error>>>,
}

impl Transport for Scripted {
    fn run_command(&self, _db: &str, command: Document) -> BoxFuture<'_, rotor::Result<Document>> {
        let name = command.keys().next().cloned().unwrap_or_default();
        let outcome = match name == self.command {
            true => self.outcomes.lock().unwrap().pop_front(),
            false => None,
        };
        Box::pin(async move { outcome.unwrap_or_else(|| Ok(doc! {"ok": 1, "n": 1})) })
    }
}

fn scripted(command: &'static str, outcomes: Vec<Result<Document, Error>>) -> Client {
    Client::with_transport(Scripted {
        command,
        outcomes: Mutex::new(outcomes.into()),
    })
}

fn failed(code: i32, labels: &[&str]) -> Result<Document, Error> {
    Ok(
        doc! {"ok": 0, "code": code, "codeName": "Scripted", "errmsg": "scripted", "errorLabels": labels},
    )
}

#[tokio::test]
async fn a_retry_that_wrote_nothing_reports_the_first_error() {
    // (the retry's reply, the code the caller sees)
    let check = async |retry: Result<Document, Error>, expected: i32| {
        let first = failed(91, &["RetryableWriteError"]);
        let client = scripted("insert", vec![first, retry]);
        let coll = client.database("t").collection::<Document>("c");
        let error = coll.insert_one(doc! {"_id": 1}).await.unwrap_err();
        assert_eq!(error.code(), Some(expected), "{error}");
    };
    check(
        failed(10107, &["RetryableWriteError", "NoWritesPerformed"]),
        91,
    )
    .await;
    check(failed(10107, &["RetryableWriteError"]), 10107).await;
    let unsent = Error::new(ErrorKind::ServerSelection {
        message: "no primary".to_owned(),
    });
    check(Err(unsent), 91).await;
}

#[tokio::test]
async fn a_commit_that_found_no_server_has_an_unknown_result() {
    let unsent = Error::new(ErrorKind::ServerSelection {
        message: "no primary".to_owned(),
    });
    let client = scripted("commitTransaction", vec![Err(unsent)]);
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    session.start_transaction(Default::default()).unwrap();
    let coll = client.database("t").collection::<Document>("c");
    coll.insert_one(doc! {"_id": 1})
        .session(&mut session)
        .await
        .unwrap();
    let error = session.commit_transaction().await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::ServerSelection { .. }),
        "{error}"
    );
    assert!(
        error.has_label(UNKNOWN_TRANSACTION_COMMIT_RESULT),
        "{error}"
    );
}
