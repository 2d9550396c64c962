//! The seed's `with_transaction` example: place an order and take the
//! stock out of the inventory in one transaction, retried as a whole if it
//! meets a transient error.
//!
//! Runs embedded in memory by default; pass a directory to keep the data
//! on disk, or a connection string to run against `rotor serve` or a
//! MongoDB replica set:
//! `cargo run -p rotor --example orders_inventory [-- DATA_DIR | mongodb://localhost:27017/?replicaSet=rs0]`.

use bson::{Bson, doc};
use rotor::{Client, ClientSession, Error, SessionOptions};

async fn place_order(session: &mut ClientSession) -> Result<Bson, Error> {
    let db = session.client().database("shop");
    let orders = db.collection::<bson::Document>("orders");
    let inventory = db.collection::<bson::Document>("inventory");
    let inserted = orders
        .insert_one(doc! {"sku": "abc123", "qty": 100})
        .session(session)
        .await?;
    inventory
        .update_one(
            doc! {"sku": "abc123", "qty": {"$gte": 100}},
            doc! {"$inc": {"qty": -100}},
        )
        .session(session)
        .await?;
    Ok(inserted.inserted_id)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let client = match std::env::args().nth(1) {
        Some(uri) if uri.starts_with("mongodb") => Client::connect(&uri).await?,
        Some(dir) => Client::open(dir)?,
        None => Client::in_memory()?,
    };
    let inventory = client
        .database("shop")
        .collection::<bson::Document>("inventory");
    inventory
        .update_one(doc! {"sku": "abc123"}, doc! {"$setOnInsert": {"qty": 1000}})
        .upsert(true)
        .await?;

    let mut session = client.start_session(SessionOptions::default())?;
    let inserted_id = session
        .with_transaction(Default::default(), async |s: &mut ClientSession| {
            place_order(s).await
        })
        .await?;
    session.end_session().await;

    let left = inventory.find_one(doc! {"sku": "abc123"}).await?;
    println!("order {inserted_id} placed; inventory now {left:?}");
    client.shutdown().await
}
