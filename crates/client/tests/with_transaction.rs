//! `with_transaction` against the Convenient API for Transactions spec:
//! values and errors pass through, transient errors retry the whole
//! transaction with backoff, unknown commit results retry the commit, and
//! the time limit ends the retries.

mod common;

use std::time::Duration;

use bson::{Bson, Document, doc};
use common::{fake_policy, named, recorded};
use rotor::{ClientSession, Error, SessionOptions, TRANSIENT_TRANSACTION_ERROR};

/// The seed's example: an order and an inventory change in one transaction.
async fn place_order(s: &mut ClientSession) -> Result<Bson, Error> {
    let db = s.client().database("shop");
    let orders = db.collection::<Document>("orders");
    let inventory = db.collection::<Document>("inventory");
    let inserted = orders
        .insert_one(doc! {"sku": "abc123", "qty": 100})
        .session(s)
        .await?;
    inventory
        .update_one(
            doc! {"sku": "abc123", "qty": {"$gte": 100}},
            doc! {"$inc": {"qty": -100}},
        )
        .session(s)
        .await?;
    Ok(inserted.inserted_id)
}

async fn stocked() -> (
    rotor::Client,
    std::sync::Arc<std::sync::Mutex<Vec<Document>>>,
) {
    let (client, sent) = recorded();
    client
        .database("shop")
        .collection::<Document>("inventory")
        .insert_one(doc! {"sku": "abc123", "qty": 500})
        .await
        .unwrap();
    (client, sent)
}

async fn qty(client: &rotor::Client) -> i32 {
    let inventory = client.database("shop").collection::<Document>("inventory");
    let item = inventory.find_one(doc! {"sku": "abc123"}).await.unwrap();
    item.unwrap().get_i32("qty").unwrap()
}

fn fail_commit(times: i32, code: i32, labels: &[&str]) -> Document {
    doc! {
        "configureFailPoint": "failCommand",
        "mode": {"times": times},
        "data": {"failCommands": ["commitTransaction"], "errorCode": code, "errorLabels": labels},
    }
}

#[tokio::test]
async fn with_transaction_returns_the_callbacks_value_and_commits() {
    let (client, sent) = stocked().await;
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    let id = session
        .with_transaction(Default::default(), async |s: &mut ClientSession| {
            place_order(s).await
        })
        .await
        .unwrap();
    let orders = client.database("shop").collection::<Document>("orders");
    let order = orders.find_one(doc! {"_id": id}).await.unwrap();
    assert_eq!(order.unwrap().get_i32("qty").ok(), Some(100));
    assert_eq!(qty(&client).await, 400);
    assert_eq!(named(&sent, "commitTransaction").len(), 1);
    assert!(!session.in_transaction());
}

#[derive(Debug, thiserror::Error)]
enum AppError {
    #[error("out of stock")]
    OutOfStock,
    #[error(transparent)]
    Db(#[from] Error),
}

#[tokio::test]
async fn with_transaction_returns_a_custom_error_unchanged_and_aborts() {
    let (client, sent) = stocked().await;
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    let mut runs = 0;
    let result = session
        .with_transaction(Default::default(), async |s: &mut ClientSession| {
            runs += 1;
            place_order(s).await?;
            Err::<(), _>(AppError::OutOfStock)
        })
        .await;
    assert!(matches!(result, Err(AppError::OutOfStock)), "{result:?}");
    assert_eq!(runs, 1);
    assert_eq!(named(&sent, "abortTransaction").len(), 1);
    assert_eq!(qty(&client).await, 500, "the transaction was aborted");
}

#[tokio::test]
async fn with_transaction_retries_the_transaction_after_a_transient_commit_error() {
    let (client, sent) = stocked().await;
    client
        .configure_fail_point(fail_commit(1, 112, &[TRANSIENT_TRANSACTION_ERROR]))
        .await
        .unwrap();
    let (retry, clock) = fake_policy(1.0, Duration::from_secs(120));
    let options = SessionOptions {
        retry,
        ..SessionOptions::default()
    };
    let mut session = client.start_session(options).unwrap();
    let mut runs = 0;
    session
        .with_transaction(Default::default(), async |s: &mut ClientSession| {
            runs += 1;
            place_order(s).await
        })
        .await
        .unwrap();
    assert_eq!(runs, 2);
    assert_eq!(named(&sent, "commitTransaction").len(), 2);
    assert_eq!(*clock.slept.lock().unwrap(), [Duration::from_millis(5)]);
    assert_eq!(qty(&client).await, 400, "only the second attempt committed");
}

#[tokio::test]
async fn with_transaction_retries_only_the_commit_after_an_unknown_commit_result() {
    let (client, sent) = stocked().await;
    // ShutdownInProgress twice: the commit's own retry fails too, so the
    // error reaches with_transaction labelled UnknownTransactionCommitResult.
    client
        .configure_fail_point(fail_commit(2, 91, &[]))
        .await
        .unwrap();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    let mut runs = 0;
    session
        .with_transaction(Default::default(), async |s: &mut ClientSession| {
            runs += 1;
            place_order(s).await
        })
        .await
        .unwrap();
    assert_eq!(runs, 1, "the callback ran once");
    let commits = named(&sent, "commitTransaction");
    assert_eq!(commits.len(), 3);
    assert!(!commits[0].contains_key("writeConcern"));
    for retry in &commits[1..] {
        assert_eq!(
            retry.get_document("writeConcern").ok(),
            Some(&doc! {"w": "majority", "wtimeout": 10_000}),
        );
        assert_eq!(retry.get("txnNumber"), commits[0].get("txnNumber"));
    }
    assert_eq!(qty(&client).await, 400);
}

#[tokio::test]
async fn with_transaction_times_out_with_the_last_error_and_its_labels() {
    let (client, sent) = stocked().await;
    client
        .configure_fail_point(doc! {
            "configureFailPoint": "failCommand",
            "mode": "alwaysOn",
            "data": {"failCommands": ["commitTransaction"], "errorCode": 112, "errorLabels": [TRANSIENT_TRANSACTION_ERROR]},
        })
        .await
        .unwrap();
    let (retry, clock) = fake_policy(1.0, Duration::from_millis(100));
    let options = SessionOptions {
        retry,
        ..SessionOptions::default()
    };
    let mut session = client.start_session(options).unwrap();
    let error = session
        .with_transaction(Default::default(), async |s: &mut ClientSession| {
            place_order(s).await
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), rotor::ErrorKind::Timeout { .. }),
        "{error}"
    );
    assert!(error.has_label(TRANSIENT_TRANSACTION_ERROR));
    assert_eq!(error.code(), Some(112));
    let source = std::error::Error::source(&error).and_then(|e| e.downcast_ref::<Error>());
    assert_eq!(
        source.and_then(Error::code),
        Some(112),
        "the last error is the source"
    );
    // 5, 7.5, 11.25, 16.875, 25.3125 ms: the sixth (37.97 ms) would pass 100 ms.
    let expected: Vec<Duration> = [5.0, 7.5, 11.25, 16.875, 25.3125]
        .iter()
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect();
    assert_eq!(*clock.slept.lock().unwrap(), expected);
    assert_eq!(named(&sent, "commitTransaction").len(), 6);
    client
        .configure_fail_point(doc! {"configureFailPoint": "failCommand", "mode": "off"})
        .await
        .unwrap();
}

#[tokio::test]
async fn with_transaction_backoff_is_scaled_by_the_jitter_and_capped() {
    let check = async |jitter: f64, attempts: i32, expected_ms: &[f64]| {
        let (client, _) = stocked().await;
        client
            .configure_fail_point(fail_commit(attempts, 112, &[TRANSIENT_TRANSACTION_ERROR]))
            .await
            .unwrap();
        let (retry, clock) = fake_policy(jitter, Duration::from_secs(120));
        let options = SessionOptions {
            retry,
            ..SessionOptions::default()
        };
        let mut session = client.start_session(options).unwrap();
        session
            .with_transaction(Default::default(), async |s: &mut ClientSession| {
                place_order(s).await
            })
            .await
            .unwrap();
        let slept: Vec<f64> = clock
            .slept
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        assert_eq!(slept.len(), expected_ms.len());
        for (got, want) in slept.iter().zip(expected_ms) {
            assert!((got - want).abs() < 1e-6, "{slept:?} != {expected_ms:?}");
        }
    };
    check(0.5, 3, &[2.5, 3.75, 5.625]).await;
    check(0.0, 2, &[0.0, 0.0]).await;
    // 5 * 1.5^10 = 288 ms, 5 * 1.5^11 = 432 ms, then capped at 500 ms.
    let mut capped: Vec<f64> = (0..12).map(|k| 5.0 * 1.5f64.powi(k)).collect();
    capped.push(500.0);
    check(1.0, 13, &capped).await;
}

#[tokio::test]
async fn with_transaction_returns_at_once_if_the_callback_committed() {
    let (client, sent) = stocked().await;
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    session
        .with_transaction(Default::default(), async |s: &mut ClientSession| {
            place_order(s).await?;
            s.commit_transaction().await
        })
        .await
        .unwrap();
    assert_eq!(named(&sent, "commitTransaction").len(), 1);
    assert_eq!(qty(&client).await, 400);
}

#[tokio::test]
async fn scoped_transaction_commits_on_ok_and_aborts_on_err() {
    let (client, _) = stocked().await;
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    let failed = session
        .transaction(Default::default(), async |s: &mut ClientSession| {
            place_order(s).await?;
            Err::<(), _>(AppError::OutOfStock)
        })
        .await;
    assert!(matches!(failed, Err(AppError::OutOfStock)));
    assert_eq!(qty(&client).await, 500);
    session
        .transaction(Default::default(), async |s: &mut ClientSession| {
            place_order(s).await
        })
        .await
        .unwrap();
    assert_eq!(qty(&client).await, 400);
}
