//! Motor's `async with s.start_transaction()` in Rust: a delete and an
//! insert in one scoped transaction, committed when the closure returns
//! `Ok` and aborted when it returns `Err` (no retries).
//!
//! Runs embedded in memory by default; pass a directory to keep the data
//! on disk, or a connection string to run against `rotor serve` or a
//! MongoDB replica set:
//! `cargo run -p rotor --example scoped_transaction [-- DATA_DIR | mongodb://localhost:27017/?replicaSet=rs0]`.

use bson::doc;
use rotor::{Client, ClientSession, Error, SessionOptions};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let client = match std::env::args().nth(1) {
        Some(uri) if uri.starts_with("mongodb") => Client::connect(&uri).await?,
        Some(dir) => Client::open(dir)?,
        None => Client::in_memory()?,
    };
    let collection = client.database("test").collection::<bson::Document>("c");
    collection.insert_one(doc! {"x": 1}).await?;

    let mut s = client.start_session(SessionOptions::default())?;
    s.transaction(Default::default(), async |s: &mut ClientSession| {
        let collection = s
            .client()
            .database("test")
            .collection::<bson::Document>("c");
        collection.delete_one(doc! {"x": 1}).session(s).await?;
        collection.insert_one(doc! {"x": 2}).session(s).await?;
        Ok::<_, Error>(())
    })
    .await?;
    s.end_session().await;

    let xs = collection.distinct("x", doc! {}).await?;
    println!("x values after the transaction: {xs:?}");
    client.shutdown().await
}
