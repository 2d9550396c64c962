//! [`Cursor`]: a stream over a query's results that fetches further
//! batches with `getMore` and kills the server cursor if dropped early.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bson::{Bson, Document, doc};
use serde::de::DeserializeOwned;

use crate::action::Finished;
use crate::client::Client;
use crate::error::Result;
use crate::reply;
use crate::transport::BoxFuture;

/// The results of a find or aggregate, as a [`futures_core::Stream`].
///
/// ```
/// # #[tokio::main] async fn main() -> rotor::Result<()> {
/// use bson::doc;
/// let client = rotor::Client::in_memory()?;
/// let coll = client.database("db").collection::<bson::Document>("c");
/// coll.insert_many(vec![doc! {"x": 1}, doc! {"x": 2}, doc! {"x": 3}]).await?;
/// let mut cursor = coll.find(doc! {}).batch_size(1).await?;
/// let mut n = 0;
/// while let Some(doc) = cursor.try_next().await? {
///     n += doc.get_i32("x").unwrap();
/// }
/// assert_eq!(n, 6);
/// # Ok(()) }
/// ```
pub struct Cursor<T> {
    client: Client,
    db: String,
    collection: String,
    id: i64,
    buffer: VecDeque<Document>,
    session_fields: Document,
    /// The query's batch size, which every `getMore` repeats.
    batch_size: Option<i32>,
    pending: Option<BoxFuture<'static, Result<Document>>>,
    _type: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Cursor<T> {
    /// Builds a cursor from a `find`/`aggregate` reply.
    pub(crate) fn from_reply(finished: Finished) -> Result<Cursor<T>> {
        let cursor = finished
            .reply
            .get_document("cursor")
            .map_err(|_| reply::malformed(&finished.reply))?;
        let batch = cursor
            .get_array("firstBatch")
            .map_err(|_| reply::malformed(&finished.reply))?;
        let ns = cursor.get_str("ns").unwrap_or_default();
        let collection = ns.split_once('.').map_or(ns, |(_, c)| c).to_owned();
        Ok(Cursor {
            id: cursor.get_i64("id").unwrap_or(0),
            buffer: documents(batch),
            client: finished.client,
            db: finished.db,
            collection,
            batch_size: finished.command.get_i32("batchSize").ok().or_else(|| {
                let cursor = finished.command.get_document("cursor").ok()?;
                cursor.get_i32("batchSize").ok()
            }),
            // A getMore repeats the query's comment (servers since 4.4 log it).
            session_fields: match finished.command.get("comment") {
                Some(comment) => {
                    let mut fields = finished.cursor_fields;
                    fields.insert("comment", comment.clone());
                    fields
                }
                None => finished.cursor_fields,
            },
            pending: None,
            _type: PhantomData,
        })
    }

    /// The next result, or `None` at the end.
    pub async fn try_next(&mut self) -> Result<Option<T>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next_item(cx))
            .await
            .transpose()
    }

    /// Every remaining result.
    pub async fn try_collect(mut self) -> Result<Vec<T>> {
        let mut all = Vec::new();
        while let Some(item) = self.try_next().await? {
            all.push(item);
        }
        Ok(all)
    }

    fn poll_next_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        loop {
            if let Some(doc) = self.buffer.pop_front() {
                return Poll::Ready(Some(
                    bson::deserialize_from_document(doc).map_err(Into::into),
                ));
            }
            if self.id == 0 {
                return Poll::Ready(None);
            }
            let pending = self.pending.get_or_insert_with(|| {
                let mut command = doc! {"getMore": self.id, "collection": self.collection.clone()};
                if let Some(batch_size) = self.batch_size {
                    command.insert("batchSize", batch_size);
                }
                command.extend(self.session_fields.clone());
                let client = self.client.clone();
                let db = self.db.clone();
                Box::pin(async move { client.send(&db, command, None).await })
            });
            let reply = match pending.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(reply) => reply,
            };
            self.pending = None;
            match reply {
                Ok(reply) => {
                    if let Err(error) = self.take_batch(&reply) {
                        return Poll::Ready(Some(Err(error)));
                    }
                }
                Err(error) => {
                    self.id = 0;
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
    }

    fn take_batch(&mut self, reply: &Document) -> Result<()> {
        let Some((id, batch)) = reply
            .get_document("cursor")
            .ok()
            .and_then(|c| Some((c.get_i64("id").ok()?, c.get_array("nextBatch").ok()?)))
        else {
            self.id = 0;
            return Err(reply::malformed(reply));
        };
        self.id = id;
        self.buffer = documents(batch);
        Ok(())
    }
}

fn documents(batch: &[Bson]) -> VecDeque<Document> {
    batch
        .iter()
        .filter_map(|d| d.as_document().cloned())
        .collect()
}

impl<T: DeserializeOwned> futures_core::Stream for Cursor<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        self.get_mut().poll_next_item(cx)
    }
}

impl<T> Drop for Cursor<T> {
    /// Kills an unfinished server cursor, on the runtime if there is one
    /// (otherwise the server's idle-cursor timeout reclaims it).
    fn drop(&mut self) {
        if self.id == 0 {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut command = doc! {"killCursors": self.collection.clone(), "cursors": [self.id]};
        if let Ok(lsid) = self.session_fields.get_document("lsid") {
            command.insert("lsid", lsid.clone());
        }
        let client = self.client.clone();
        let db = self.db.clone();
        runtime.spawn(async move {
            let _ignored = client.send(&db, command, None).await;
        });
    }
}
