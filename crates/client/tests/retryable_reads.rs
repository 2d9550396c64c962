//! The retryable-reads spec's rules for which reads get their one retry
//! after a network error, against the in-memory engine's `failCommand`
//! failpoint (and, for the connection string's `retryReads`, `rotor serve`
//! in this process):
//! - every listing and read honours `retryReads` of the client, database,
//!   collection or operation, whichever is nearest;
//! - an aggregate that writes (`$out`, `$merge`) is not retried;
//! - the name helpers return names.

mod common;

use bson::{Document, doc};
use common::{named, recorded};
use rotor::{BoxFuture, Client};
use rotor_server::ServeArgs;

/// Makes the next `command` fail with a closed connection.
async fn drop_next(client: &Client, command: &str) {
    let fail_point = doc! {
        "configureFailPoint": "failCommand",
        "mode": {"times": 1},
        "data": {"failCommands": [command], "closeConnection": true},
    };
    client.configure_fail_point(fail_point).await.unwrap();
}

/// A read to run once its command has been armed to fail.
type Read = fn(Client) -> BoxFuture<'static, rotor::Result<()>>;

#[tokio::test]
async fn a_read_is_retried_unless_retry_reads_is_off_where_it_runs() {
    // (the read, the command it sends, whether it succeeds on its retry)
    let check = async |read: Read, command: &str, retried: bool| {
        let (client, sent) = recorded();
        let coll = client.database("t").collection::<Document>("c");
        coll.insert_one(doc! {"_id": 1}).await.unwrap();
        drop_next(&client, command).await;
        let outcome = read(client).await;
        assert_eq!(outcome.is_ok(), retried, "{command}: {outcome:?}");
        let sends = if retried { 2 } else { 1 };
        assert_eq!(named(&sent, command).len(), sends, "{command}");
    };
    check(
        |c| Box::pin(async move { c.list_databases().await.map(drop) }),
        "listDatabases",
        true,
    )
    .await;
    check(
        |c| Box::pin(async move { c.list_databases().retry_reads(false).await.map(drop) }),
        "listDatabases",
        false,
    )
    .await;
    check(
        |c| {
            let db = c.database("t").with_retry_reads(false);
            Box::pin(async move { db.list_collections(doc! {}).await.map(drop) })
        },
        "listCollections",
        false,
    )
    .await;
    check(
        |c| {
            let db = c.database("t");
            Box::pin(async move { db.list_collection_names(doc! {}).await.map(drop) })
        },
        "listCollections",
        true,
    )
    .await;
    check(
        |c| {
            let coll = c.database("t").collection::<Document>("c");
            let pipeline = vec![doc! {"$match": {}}];
            Box::pin(async move { coll.aggregate(pipeline).await.map(drop) })
        },
        "aggregate",
        true,
    )
    .await;
    check(
        |c| {
            let coll = c.database("t").collection::<Document>("c");
            let pipeline = vec![doc! {"$out": "copy"}];
            Box::pin(async move { coll.aggregate(pipeline).await.map(drop) })
        },
        "aggregate",
        false,
    )
    .await;
    check(
        |c| {
            let coll = c.database("t").collection::<Document>("c");
            let pipeline = vec![doc! {"$merge": {"into": "copy"}}];
            Box::pin(async move { coll.aggregate(pipeline).await.map(drop) })
        },
        "aggregate",
        false,
    )
    .await;
}

#[tokio::test]
async fn a_connection_strings_retry_reads_reaches_client_level_reads() {
    let args = ServeArgs::parse(["--in-memory", "--port", "0", "--enable-test-commands"])
        .expect("valid arguments");
    let server = rotor_server::start(args).await.expect("the server starts");
    let port = server.local_addr().port();
    // (the connection string's option, whether the read succeeds)
    for (option, retried) in [("", true), ("retryReads=false", false)] {
        let uri = format!("mongodb://127.0.0.1:{port}/?replicaSet=rs0&{option}");
        let client = Client::connect(&uri).await.unwrap();
        drop_next(&client, "listDatabases").await;
        let outcome = client.list_database_names().await;
        assert_eq!(outcome.is_ok(), retried, "{option}: {outcome:?}");
        client.shutdown().await.unwrap();
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_name_helpers_return_names() {
    let (client, _) = recorded();
    let db = client.database("shop");
    let coll = db.collection::<Document>("orders");
    coll.insert_one(doc! {"sku": "a"}).await.unwrap();
    let keys = doc! {"sku": 1};
    coll.create_index(rotor::IndexModel {
        keys,
        ..Default::default()
    })
    .await
    .unwrap();
    db.create_collection("returns", doc! {}).await.unwrap();
    let mut collections = db.list_collection_names(doc! {}).await.unwrap();
    collections.sort();
    assert_eq!(collections, ["orders", "returns"]);
    let filtered = db
        .list_collection_names(doc! {"name": "returns"})
        .await
        .unwrap();
    assert_eq!(filtered, ["returns"]);
    assert_eq!(coll.list_index_names().await.unwrap(), ["_id_", "sku_1"]);
    let databases = client.list_database_names().await.unwrap();
    assert!(databases.contains(&"shop".to_owned()), "{databases:?}");
}

#[tokio::test]
async fn an_index_dropped_by_name_or_all_at_once_is_gone() {
    let (client, sent) = recorded();
    let coll = client.database("t").collection::<Document>("c");
    for keys in [doc! {"a": 1}, doc! {"b": 1}, doc! {"c": 1}] {
        let index = rotor::IndexModel {
            keys,
            ..Default::default()
        };
        coll.create_index(index).await.unwrap();
    }
    coll.drop_index("a_1").await.unwrap();
    assert_eq!(
        coll.list_index_names().await.unwrap(),
        ["_id_", "b_1", "c_1"]
    );
    coll.drop_indexes().await.unwrap();
    assert_eq!(coll.list_index_names().await.unwrap(), ["_id_"]);
    let drops = named(&sent, "dropIndexes");
    let names: Vec<_> = drops.iter().map(|c| c.get("index").cloned()).collect();
    assert_eq!(names, [Some("a_1".into()), Some("*".into())]);
}
