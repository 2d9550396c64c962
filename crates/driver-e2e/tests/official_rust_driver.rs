//! MongoDB's official Rust driver against `rotor serve`: it discovers the
//! one-member replica set, runs the seed's orders/inventory transaction with
//! `start_transaction().and_run(...)`, commits, aborts, and meets a real
//! write conflict between two sessions.
//!
//! Each test starts its own in-memory server on a free port in-process
//! (`rotor_server::start`), so tests are independent and need no set-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use mongodb::bson::{Document, doc};
use mongodb::error::{Error, ErrorKind, WriteFailure};
use mongodb::{Client, ClientSession, Collection};
use rotor_server::{RunningServer, ServeArgs};

/// mongod's WriteConflict.
const WRITE_CONFLICT: i32 = 112;
/// mongod's NoSuchTransaction.
const NO_SUCH_TRANSACTION: i32 = 251;
const TRANSIENT: &str = "TransientTransactionError";

struct Deployment {
    server: RunningServer,
    client: Client,
}

impl Deployment {
    /// A fresh server and a driver connected to it through the replica-set
    /// discovery path (`replicaSet=rs0`), as an application would connect.
    async fn start() -> Deployment {
        let args = ServeArgs::parse(["--in-memory", "--port", "0", "--enable-test-commands"])
            .expect("valid arguments");
        let server = rotor_server::start(args).await.expect("server starts");
        let uri = format!(
            "mongodb://{}/?replicaSet=rs0&serverSelectionTimeoutMS=10000",
            server.local_addr()
        );
        let client = Client::with_uri_str(&uri).await.expect("valid uri");
        Deployment { server, client }
    }

    fn collection(&self, name: &str) -> Collection<Document> {
        self.client.database("shop").collection(name)
    }

    async fn stop(self) {
        // `immediate`: the driver's plain shutdown waits for every session
        // handle to drop, and the tests still hold theirs.
        self.client.shutdown().immediate(true).await;
        self.server.shutdown().await;
    }
}

/// The server's error code, wherever the driver put it.
fn code(error: &Error) -> Option<i32> {
    match &*error.kind {
        ErrorKind::Command(command) => Some(command.code),
        ErrorKind::Write(WriteFailure::WriteError(write)) => Some(write.code),
        _ => None,
    }
}

/// The seed's workload: take 100 from the inventory if there are at least
/// 100, and record the order, atomically.
async fn place_order(
    session: &mut ClientSession,
    orders: &Collection<Document>,
    inventory: &Collection<Document>,
) -> mongodb::error::Result<()> {
    orders
        .insert_one(doc! {"sku": "abc123", "qty": 100})
        .session(&mut *session)
        .await?;
    inventory
        .update_one(
            doc! {"sku": "abc123", "qty": {"$gte": 100}},
            doc! {"$inc": {"qty": -100}},
        )
        .session(&mut *session)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn and_run_commits_the_seed_transaction() {
    let deployment = Deployment::start().await;
    let orders = deployment.collection("orders");
    let inventory = deployment.collection("inventory");
    inventory
        .insert_one(doc! {"sku": "abc123", "qty": 1000})
        .await
        .unwrap();

    let mut session = deployment.client.start_session().await.unwrap();
    session
        .start_transaction()
        .and_run((&orders, &inventory), |session, (orders, inventory)| {
            async move { place_order(session, orders, inventory).await }.boxed()
        })
        .await
        .unwrap();

    let stock = inventory
        .find_one(doc! {"sku": "abc123"})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stock.get_i32("qty").ok(), Some(900));
    assert_eq!(orders.count_documents(doc! {}).await.unwrap(), 1);
    deployment.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn and_run2_takes_an_async_closure_and_returns_its_value() {
    let deployment = Deployment::start().await;
    let orders = deployment.collection("orders");
    let mut session = deployment.client.start_session().await.unwrap();
    let id = session
        .start_transaction()
        .and_run2(async |session| {
            let inserted = orders
                .insert_one(doc! {"sku": "xyz", "qty": 1})
                .session(session)
                .await?;
            Ok(inserted.inserted_id)
        })
        .await
        .unwrap();
    let stored = orders.find_one(doc! {"_id": id}).await.unwrap();
    assert!(stored.is_some(), "the committed order is visible");
    deployment.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncommitted_writes_are_invisible_and_abort_discards_them() {
    let deployment = Deployment::start().await;
    let orders = deployment.collection("orders");
    orders.insert_one(doc! {"_id": 0}).await.unwrap();

    let mut session = deployment.client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    orders
        .insert_one(doc! {"_id": 1})
        .session(&mut session)
        .await
        .unwrap();
    let inside = orders
        .count_documents(doc! {})
        .session(&mut session)
        .await
        .unwrap();
    assert_eq!(inside, 2, "a transaction reads its own writes");
    let outside = orders.count_documents(doc! {}).await.unwrap();
    assert_eq!(outside, 1, "others never see uncommitted writes");

    session.abort_transaction().await.unwrap();
    assert_eq!(orders.count_documents(doc! {}).await.unwrap(), 1);
    assert!(orders.find_one(doc! {"_id": 1}).await.unwrap().is_none());
    deployment.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_commit_is_visible_and_repeating_it_succeeds() {
    let deployment = Deployment::start().await;
    let orders = deployment.collection("orders");
    let mut session = deployment.client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    orders
        .insert_many([doc! {"_id": 1}, doc! {"_id": 2}])
        .session(&mut session)
        .await
        .unwrap();
    session.commit_transaction().await.unwrap();
    // The driver re-sends commitTransaction: committing is idempotent.
    session.commit_transaction().await.unwrap();
    assert_eq!(orders.count_documents(doc! {}).await.unwrap(), 2);
    deployment.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_writer_of_a_document_gets_a_transient_write_conflict() {
    let deployment = Deployment::start().await;
    let inventory = deployment.collection("inventory");
    inventory
        .insert_one(doc! {"_id": "abc123", "qty": 1000})
        .await
        .unwrap();

    let mut first = deployment.client.start_session().await.unwrap();
    let mut second = deployment.client.start_session().await.unwrap();
    first.start_transaction().await.unwrap();
    second.start_transaction().await.unwrap();
    inventory
        .update_one(doc! {"_id": "abc123"}, doc! {"$inc": {"qty": -100}})
        .session(&mut first)
        .await
        .unwrap();
    let conflict = inventory
        .update_one(doc! {"_id": "abc123"}, doc! {"$inc": {"qty": -1}})
        .session(&mut second)
        .await
        .unwrap_err();
    assert_eq!(code(&conflict), Some(WRITE_CONFLICT), "{conflict}");
    assert!(conflict.contains_label(TRANSIENT), "{conflict}");

    // The loser's transaction is gone on the server; its commit says so.
    let commit = second.commit_transaction().await.unwrap_err();
    assert_eq!(code(&commit), Some(NO_SUCH_TRANSACTION), "{commit}");
    first.commit_transaction().await.unwrap();

    let stock = inventory
        .find_one(doc! {"_id": "abc123"})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stock.get_i32("qty").ok(),
        Some(900),
        "only the winner's write landed"
    );
    deployment.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn and_run_retries_through_a_conflict_until_the_holder_commits() {
    let deployment = Deployment::start().await;
    let inventory = deployment.collection("inventory");
    inventory
        .insert_one(doc! {"_id": "abc123", "qty": 1000})
        .await
        .unwrap();

    let mut holder = deployment.client.start_session().await.unwrap();
    holder.start_transaction().await.unwrap();
    inventory
        .update_one(doc! {"_id": "abc123"}, doc! {"$inc": {"qty": -100}})
        .session(&mut holder)
        .await
        .unwrap();

    let attempts = Arc::new(AtomicU32::new(0));
    let retrier = {
        let client = deployment.client.clone();
        let inventory = inventory.clone();
        let attempts = Arc::clone(&attempts);
        tokio::spawn(async move {
            let mut session = client.start_session().await.unwrap();
            session
                .start_transaction()
                .and_run((inventory, attempts), |session, (inventory, attempts)| {
                    async move {
                        attempts.fetch_add(1, Ordering::SeqCst);
                        inventory
                            .update_one(doc! {"_id": "abc123"}, doc! {"$inc": {"qty": -1}})
                            .session(session)
                            .await?;
                        Ok(())
                    }
                    .boxed()
                })
                .await
        })
    };
    // Hold the document until the retrier has conflicted and started over.
    while attempts.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    holder.commit_transaction().await.unwrap();

    retrier.await.unwrap().unwrap();
    let stock = inventory
        .find_one(doc! {"_id": "abc123"})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stock.get_i32("qty").ok(),
        Some(899),
        "both transactions applied once"
    );
    deployment.stop().await;
}
