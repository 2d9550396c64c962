//! What a failed operation's error carries, as the CRUD spec's
//! exceptions do: the server's reply document (`server_response`), and for
//! many-document writes every write error by the caller's position, the
//! write concern errors, and the partial result (`write_failure`).

use bson::{Bson, Document, doc};
use rotor::{Client, ErrorKind, PartialResult, WriteModel};

fn coll(client: &Client) -> rotor::Collection<Document> {
    client.database("t").collection("c")
}

/// A client whose collection already holds `_id`s 1 and 2.
async fn seeded() -> Client {
    let client = Client::in_memory().unwrap();
    coll(&client)
        .insert_many(vec![doc! {"_id": 1}, doc! {"_id": 2}])
        .await
        .unwrap();
    client
}

fn fail_once(command: &str, data: Document) -> Document {
    let mut data = data;
    data.insert("failCommands", vec![command]);
    doc! {"configureFailPoint": "failCommand", "mode": {"times": 1}, "data": data}
}

/// The failure's write errors as (position, code).
fn positions(error: &rotor::Error) -> Vec<(usize, i32)> {
    let failure = error.write_failure().expect("a write failure");
    failure
        .write_errors
        .iter()
        .map(|e| (e.index, e.code))
        .collect()
}

fn bulk_partial(error: &rotor::Error) -> rotor::BulkWriteResult {
    match &error
        .write_failure()
        .expect("a write failure")
        .partial_result
    {
        Some(PartialResult::Bulk(result)) => result.clone(),
        other => panic!("expected a bulk partial result, got {other:?}"),
    }
}

#[tokio::test]
async fn a_command_error_keeps_the_whole_reply() {
    let client = Client::in_memory().unwrap();
    client
        .configure_fail_point(fail_once(
            "insert",
            doc! {"errorCode": 8, "errorLabels": ["Custom"]},
        ))
        .await
        .unwrap();
    let error = coll(&client).insert_one(doc! {}).await.unwrap_err();
    assert_eq!(error.code(), Some(8));
    let reply = error.server_response().expect("the reply");
    assert_eq!(reply.get_i32("code").ok(), Some(8));
    assert_eq!(reply.get_i32("ok").ok().or(Some(0)), Some(0), "{reply}");
    assert!(error.has_label("Custom"), "{error}");
    assert!(error.write_failure().is_none(), "no writes were reported");
}

#[tokio::test]
async fn an_error_from_the_client_has_no_server_response() {
    let client = Client::in_memory().unwrap();
    let error = coll(&client).bulk_write(vec![]).await.unwrap_err();
    assert!(error.server_response().is_none(), "{error}");
    assert!(error.write_failure().is_none(), "{error}");
}

#[tokio::test]
async fn a_duplicate_key_error_keeps_its_write_error_document() {
    let client = seeded().await;
    let error = coll(&client).insert_one(doc! {"_id": 1}).await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Write { code: 11000, .. }),
        "{error}"
    );
    let entry = error.server_response().expect("the write error");
    assert_eq!(entry.get_i32("code").ok(), Some(11000), "{entry}");
    assert_eq!(entry.get_i32("index").ok(), Some(0), "{entry}");
    assert_eq!(positions(&error), vec![(0, 11000)]);
}

#[tokio::test]
async fn insert_many_reports_every_failure_and_what_was_inserted() {
    // (ordered, documents, expected failures, expected inserted ids)
    let check = async |ordered: bool, ids: &[i32], failed: &[usize], inserted: &[(usize, i32)]| {
        let client = seeded().await;
        let documents = ids.iter().map(|id| doc! {"_id": id}).collect();
        let error = coll(&client)
            .insert_many(documents)
            .ordered(ordered)
            .await
            .unwrap_err();
        let want: Vec<(usize, i32)> = failed.iter().map(|&i| (i, 11000)).collect();
        assert_eq!(positions(&error), want, "{ids:?} ordered={ordered}");
        let partial = bulk_partial(&error);
        assert_eq!(partial.inserted_count, inserted.len() as u64, "{ids:?}");
        let want_ids = inserted
            .iter()
            .map(|&(i, id)| (i, Bson::Int32(id)))
            .collect();
        assert_eq!(partial.inserted_ids, want_ids, "{ids:?} ordered={ordered}");
    };
    check(false, &[1, 3, 2, 4], &[0, 2], &[(1, 3), (3, 4)]).await;
    check(true, &[3, 1, 4], &[1], &[(0, 3)]).await;
    check(true, &[1, 3], &[0], &[]).await;
    check(false, &[3, 3, 4], &[1], &[(0, 3), (2, 4)]).await;
}

#[tokio::test]
async fn an_unordered_bulk_reports_errors_at_the_callers_positions() {
    let client = seeded().await;
    let insert = |id: i32| WriteModel::InsertOne {
        document: doc! {"_id": id},
    };
    let models = vec![
        WriteModel::DeleteOne {
            filter: doc! {"_id": 2},
            options: doc! {},
        },
        insert(1),
        insert(5),
        WriteModel::UpdateOne {
            filter: doc! {"_id": 5},
            update: doc! {"$set": {"x": 1}}.into(),
            options: doc! {},
        },
        insert(2),
    ];
    let error = coll(&client)
        .bulk_write(models)
        .ordered(false)
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Write { index: 1, .. }),
        "the kind names the caller's position: {error}"
    );
    // Inserts run first, so `_id` 2 still exists when inserted again.
    assert_eq!(positions(&error), vec![(1, 11000), (4, 11000)]);
    let partial = bulk_partial(&error);
    assert_eq!(
        (
            partial.inserted_count,
            partial.matched_count,
            partial.deleted_count
        ),
        (1, 1, 1)
    );
    assert_eq!(partial.inserted_ids.keys().collect::<Vec<_>>(), vec![&2]);
}

#[tokio::test]
async fn an_ordered_bulk_stops_at_its_first_error() {
    let client = seeded().await;
    let models = vec![
        WriteModel::DeleteOne {
            filter: doc! {"_id": 2},
            options: doc! {},
        },
        WriteModel::InsertOne {
            document: doc! {"_id": 1},
        },
        WriteModel::DeleteOne {
            filter: doc! {"_id": 1},
            options: doc! {},
        },
    ];
    let error = coll(&client).bulk_write(models).await.unwrap_err();
    assert_eq!(positions(&error), vec![(1, 11000)]);
    let partial = bulk_partial(&error);
    assert_eq!((partial.deleted_count, partial.inserted_count), (1, 0));
}

#[tokio::test]
async fn a_write_concern_error_is_reported_with_what_was_written() {
    let client = Client::in_memory().unwrap();
    client
        .configure_fail_point(fail_once(
            "insert",
            doc! {"writeConcernError": {"code": 64, "errmsg": "waiting for replication timed out"}},
        ))
        .await
        .unwrap();
    let error = coll(&client)
        .bulk_write(vec![WriteModel::InsertOne {
            document: doc! {"_id": 1},
        }])
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::WriteConcern { code: 64, .. }),
        "{error}"
    );
    assert_eq!(
        error.server_response().and_then(|r| r.get_i32("code").ok()),
        Some(64)
    );
    let failure = error.write_failure().unwrap();
    assert!(failure.write_errors.is_empty());
    assert_eq!(failure.write_concern_errors.len(), 1);
    assert_eq!(failure.write_concern_errors[0].code, 64);
    assert_eq!(bulk_partial(&error).inserted_count, 1);
}

#[tokio::test]
async fn a_client_bulk_reports_a_partial_result_only_when_something_succeeded() {
    let check = async |ordered: bool, ids: &[i32], failed: &[usize], succeeded: Option<u64>| {
        let client = seeded().await;
        let models = ids
            .iter()
            .map(|id| {
                let document = doc! {"_id": id};
                ("t.c".to_owned(), WriteModel::InsertOne { document })
            })
            .collect();
        let error = client
            .bulk_write(models)
            .ordered(ordered)
            .verbose_results(true)
            .await
            .unwrap_err();
        let want: Vec<(usize, i32)> = failed.iter().map(|&i| (i, 11000)).collect();
        assert_eq!(positions(&error), want, "{ids:?} ordered={ordered}");
        let partial = match &error.write_failure().unwrap().partial_result {
            Some(PartialResult::ClientBulk(result)) => Some(result.inserted_count),
            None => None,
            other => panic!("{other:?}"),
        };
        assert_eq!(partial, succeeded, "{ids:?} ordered={ordered}");
    };
    check(true, &[1, 3], &[0], None).await;
    check(true, &[3, 1, 4], &[1], Some(1)).await;
    check(false, &[1, 3, 2], &[0, 2], Some(1)).await;
    check(false, &[1, 2], &[0, 1], None).await;
}
