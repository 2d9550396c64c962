//! Sessions as the driver-sessions, causal-consistency, transactions and
//! retryable-writes specs describe them, observed through the commands the
//! client sends.

mod common;

use std::time::Duration;

use bson::{Bson, Document, doc};
use common::{named, recorded};
use rotor::{SessionOptions, TRANSIENT_TRANSACTION_ERROR};

const WRITE_CONFLICT: i32 = 112;

fn coll(client: &rotor::Client) -> rotor::Collection {
    client.database("t").collection("c")
}

#[tokio::test]
async fn end_session_aborts_the_transaction_and_refuses_later_use() {
    let (client, sent) = recorded();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    session.start_transaction(Default::default()).unwrap();
    coll(&client)
        .insert_one(doc! {"_id": 1})
        .session(&mut session)
        .await
        .unwrap();
    session.end_session().await;
    assert!(session.has_ended());
    assert_eq!(named(&sent, "abortTransaction").len(), 1);
    assert_eq!(coll(&client).count_documents(doc! {}).await.unwrap(), 0);
    let error = coll(&client)
        .insert_one(doc! {"_id": 2})
        .session(&mut session)
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), rotor::ErrorKind::InvalidState { .. }),
        "{error}"
    );
    assert!(session.start_transaction(Default::default()).is_err());
}

#[tokio::test]
async fn dropping_a_session_aborts_its_transaction() {
    let (client, sent) = recorded();
    {
        let mut session = client.start_session(SessionOptions::default()).unwrap();
        session.start_transaction(Default::default()).unwrap();
        coll(&client)
            .insert_one(doc! {"_id": 1})
            .session(&mut session)
            .await
            .unwrap();
    }
    // The abort runs on a spawned task; a plain write to the same key waits
    // for the transaction, so it succeeds only once the abort has landed.
    let write = coll(&client).insert_one(doc! {"_id": 1, "after": true});
    tokio::time::timeout(Duration::from_secs(10), write)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(named(&sent, "abortTransaction").len(), 1);
}

#[tokio::test]
async fn conflicting_transactions_give_a_write_conflict_with_the_transient_label() {
    let (client, _) = recorded();
    coll(&client)
        .insert_one(doc! {"_id": 1, "v": 0})
        .await
        .unwrap();
    let mut a = client.start_session(SessionOptions::default()).unwrap();
    let mut b = client.start_session(SessionOptions::default()).unwrap();
    a.start_transaction(Default::default()).unwrap();
    b.start_transaction(Default::default()).unwrap();
    let set = |v: i32| doc! {"$set": {"v": v}};
    coll(&client)
        .update_one(doc! {"_id": 1}, set(1))
        .session(&mut a)
        .await
        .unwrap();
    let error = coll(&client)
        .update_one(doc! {"_id": 1}, set(2))
        .session(&mut b)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(WRITE_CONFLICT));
    assert_eq!(error.code_name(), Some("WriteConflict"));
    assert!(error.has_label(TRANSIENT_TRANSACTION_ERROR), "{error}");
    a.commit_transaction().await.unwrap();
    let _ = b.abort_transaction().await;
    let doc = coll(&client)
        .find_one(doc! {"_id": 1})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doc.get_i32("v").ok(), Some(1));
}

#[tokio::test]
async fn causal_reads_send_after_cluster_time_from_the_sessions_operation_time() {
    let (client, sent) = recorded();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    coll(&client)
        .insert_one(doc! {"x": 1})
        .session(&mut session)
        .await
        .unwrap();
    let written_at = session.operation_time().unwrap();
    coll(&client)
        .find_one(doc! {})
        .session(&mut session)
        .await
        .unwrap();
    let find = named(&sent, "find").pop().unwrap();
    assert_eq!(
        find.get_document("readConcern").ok(),
        Some(&doc! {"afterClusterTime": Bson::Timestamp(written_at)})
    );
    let gossiped = find
        .get_document("$clusterTime")
        .unwrap()
        .get_timestamp("clusterTime")
        .unwrap();
    assert!((gossiped.time, gossiped.increment) >= (written_at.time, written_at.increment));
}

#[tokio::test]
async fn only_the_first_statement_of_a_transaction_carries_a_read_concern() {
    let (client, sent) = recorded();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    coll(&client)
        .insert_one(doc! {"x": 1})
        .session(&mut session)
        .await
        .unwrap();
    let options = rotor::TransactionOptions {
        read_concern: Some(doc! {"level": "snapshot"}),
        ..Default::default()
    };
    session.start_transaction(options).unwrap();
    coll(&client)
        .find_one(doc! {})
        .session(&mut session)
        .await
        .unwrap();
    coll(&client)
        .find_one(doc! {})
        .session(&mut session)
        .await
        .unwrap();
    session.commit_transaction().await.unwrap();
    let finds = named(&sent, "find");
    let first = finds[0].get_document("readConcern").unwrap();
    assert_eq!(first.get_str("level").ok(), Some("snapshot"));
    assert!(first.contains_key("afterClusterTime"));
    assert_eq!(finds[0].get_bool("startTransaction").ok(), Some(true));
    assert!(!finds[1].contains_key("readConcern"));
    assert!(!finds[1].contains_key("startTransaction"));
}

#[tokio::test]
async fn txn_numbers_increase_across_retryable_writes_and_transactions() {
    let (client, sent) = recorded();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    coll(&client)
        .insert_one(doc! {"x": 1})
        .session(&mut session)
        .await
        .unwrap();
    coll(&client)
        .update_one(doc! {}, doc! {"$set": {"x": 2}})
        .session(&mut session)
        .await
        .unwrap();
    for _ in 0..2 {
        session.start_transaction(Default::default()).unwrap();
        coll(&client)
            .insert_one(doc! {})
            .session(&mut session)
            .await
            .unwrap();
        coll(&client)
            .delete_one(doc! {"x": 2})
            .session(&mut session)
            .await
            .unwrap();
        session.commit_transaction().await.unwrap();
    }
    let numbers: Vec<i64> = sent
        .lock()
        .unwrap()
        .iter()
        .filter_map(|c| c.get_i64("txnNumber").ok())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 3, 3, 4, 4, 4]);
}

#[tokio::test]
async fn a_retryable_write_is_retried_once_with_the_same_txn_number() {
    let (client, sent) = recorded();
    client
        .configure_fail_point(doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": ["insert"], "errorCode": 91, "errorLabels": ["RetryableWriteError"]},
        })
        .await
        .unwrap();
    coll(&client).insert_one(doc! {"_id": 1}).await.unwrap();
    let inserts = named(&sent, "insert");
    assert_eq!(inserts.len(), 2);
    assert_eq!(inserts[0].get("txnNumber"), inserts[1].get("txnNumber"));
    assert_eq!(inserts[0].get("lsid"), inserts[1].get("lsid"));
    assert_eq!(coll(&client).count_documents(doc! {}).await.unwrap(), 1);
}

#[tokio::test]
async fn server_sessions_are_reused_last_in_first_out() {
    let (client, _) = recorded();
    let first = client.start_session(SessionOptions::default()).unwrap();
    let second = client.start_session(SessionOptions::default()).unwrap();
    let (id1, id2) = (first.session_id().clone(), second.session_id().clone());
    assert_ne!(id1, id2);
    drop(first);
    drop(second);
    let next = client.start_session(SessionOptions::default()).unwrap();
    assert_eq!(next.session_id(), &id2);
}

#[tokio::test]
async fn shutdown_ends_pooled_sessions() {
    let (client, sent) = recorded();
    let session = client.start_session(SessionOptions::default()).unwrap();
    let id = session.session_id().clone();
    drop(session);
    client.shutdown().await.unwrap();
    let end = named(&sent, "endSessions");
    assert_eq!(end.len(), 1);
    assert_eq!(
        end[0].get_array("endSessions").unwrap(),
        &vec![Bson::Document(id)]
    );
}

#[tokio::test]
async fn transaction_state_errors_follow_the_spec() {
    let (client, _) = recorded();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    assert!(
        session.commit_transaction().await.is_err(),
        "no transaction"
    );
    session.start_transaction(Default::default()).unwrap();
    assert!(
        session.start_transaction(Default::default()).is_err(),
        "already in progress"
    );
    session.commit_transaction().await.unwrap();
    assert!(
        session.abort_transaction().await.is_err(),
        "abort after commit"
    );
    session.start_transaction(Default::default()).unwrap();
    session.abort_transaction().await.unwrap();
    assert!(session.abort_transaction().await.is_err(), "abort twice");
}

#[tokio::test]
async fn crud_round_trips_through_the_command_layer() {
    let (client, _) = recorded();
    let c = coll(&client);
    let ids = c
        .insert_many(vec![doc! {"k": 1}, doc! {"k": 2}, doc! {"k": 2}])
        .await
        .unwrap()
        .inserted_ids;
    assert_eq!(ids.len(), 3);
    assert_eq!(
        c.distinct("k", doc! {}).await.unwrap(),
        vec![Bson::Int32(1), Bson::Int32(2)]
    );
    let updated = c
        .update_many(doc! {"k": 2}, doc! {"$set": {"m": true}})
        .await
        .unwrap();
    assert_eq!((updated.matched_count, updated.modified_count), (2, 2));
    let upserted = c
        .update_one(doc! {"k": 9}, doc! {"$set": {"u": 1}})
        .upsert(true)
        .await
        .unwrap();
    assert!(upserted.upserted_id.is_some());
    let before = c
        .find_one_and_update(doc! {"k": 1}, doc! {"$inc": {"k": 10}})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.get_i32("k").ok(), Some(1));
    let after = c
        .find_one_and_replace(doc! {"k": 11}, doc! {"k": 12})
        .return_document(rotor::ReturnDocument::After)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.get_i32("k").ok(), Some(12));
    assert!(
        c.find_one_and_delete(doc! {"k": 12})
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(c.delete_many(doc! {"k": 2}).await.unwrap().deleted_count, 2);
    assert_eq!(c.estimated_document_count().await.unwrap(), 1);
    let name = c
        .create_index(rotor::IndexModel {
            keys: doc! {"k": 1, "u": -1},
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(name, "k_1_u_-1");
    let grouped: Vec<Document> = c
        .aggregate(vec![doc! {"$project": {"_id": 0, "k": 1}}])
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(grouped, vec![doc! {"k": 9}]);
    let replaced = c.replace_one(doc! {"k": 9}, doc! {"k": 10}).await.unwrap();
    assert_eq!(replaced.modified_count, 1);
    c.drop().await.unwrap();
    assert_eq!(c.count_documents(doc! {}).await.unwrap(), 0);
}

#[tokio::test]
async fn cursors_fetch_later_batches_with_get_more() {
    let (client, sent) = recorded();
    let docs: Vec<Document> = (0..5).map(|i| doc! {"_id": i}).collect();
    coll(&client).insert_many(docs.clone()).await.unwrap();
    let all = coll(&client)
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .batch_size(2)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, docs);
    assert_eq!(named(&sent, "getMore").len(), 2);
}

#[tokio::test]
async fn snapshot_sessions_read_one_point_in_time() {
    let (client, sent) = recorded();
    coll(&client).insert_one(doc! {"_id": 1}).await.unwrap();
    let options = SessionOptions {
        snapshot: true,
        ..SessionOptions::default()
    };
    let mut session = client.start_session(options).unwrap();
    assert_eq!(
        coll(&client)
            .find(doc! {})
            .session(&mut session)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
            .len(),
        1
    );
    coll(&client).insert_one(doc! {"_id": 2}).await.unwrap();
    let later = coll(&client)
        .find(doc! {})
        .session(&mut session)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        later.len(),
        1,
        "the second read sees the first read's snapshot"
    );
    let finds = named(&sent, "find");
    assert!(
        !finds[0]
            .get_document("readConcern")
            .unwrap()
            .contains_key("atClusterTime")
    );
    assert!(
        finds[1]
            .get_document("readConcern")
            .unwrap()
            .contains_key("atClusterTime")
    );
    assert!(
        session.start_transaction(Default::default()).is_err(),
        "no transactions in snapshot sessions"
    );
}
