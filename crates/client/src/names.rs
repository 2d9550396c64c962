//! [`ListNames`]: the names of what a listing command's cursor returns
//! (`list_collection_names`, `list_index_names`), as the CRUD and
//! enumerate-collections specs' name helpers do.
//!
//! The listing runs as the action it wraps (session, retry, read
//! preference); the names are read from every batch, `getMore`s included.
//! An entry without a string `name` is skipped rather than failing the
//! whole listing: the helper promises names, and such an entry has none.

use std::future::IntoFuture;

use bson::Document;

use crate::action::Action;
use crate::cursor::Cursor;
use crate::error::Result;
use crate::session::ClientSession;
use crate::transport::BoxFuture;

/// A listing whose result is the `name` of each entry: `.await` it.
///
/// ```
/// # #[tokio::main] async fn main() -> rotor::Result<()> {
/// let client = rotor::Client::in_memory()?;
/// let db = client.database("db");
/// db.create_collection("c", bson::doc! {}).await?;
/// let mut session = client.start_session(Default::default())?;
/// let names = db.list_collection_names(bson::doc! {}).session(&mut session).await?;
/// assert_eq!(names, ["c"]);
/// # Ok(()) }
/// ```
#[must_use = "a listing does nothing until awaited"]
pub struct ListNames<'a> {
    listing: Action<'a, Cursor<Document>>,
}

impl<'a> ListNames<'a> {
    pub(crate) fn new(listing: Action<'a, Cursor<Document>>) -> ListNames<'a> {
        ListNames { listing }
    }

    /// Runs the listing in `session`.
    pub fn session<'b>(self, session: &'b mut ClientSession) -> ListNames<'b> {
        ListNames {
            listing: self.listing.session(session),
        }
    }
}

impl<'a> IntoFuture for ListNames<'a> {
    type Output = Result<Vec<String>>;
    type IntoFuture = BoxFuture<'a, Result<Vec<String>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let entries = self.listing.await?.try_collect().await?;
            Ok(entries
                .iter()
                .filter_map(|entry| entry.get_str("name").ok().map(str::to_owned))
                .collect())
        })
    }
}
