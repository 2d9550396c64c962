//! The CRUD workload, on Rotor and on SQLite: a collection (table) of
//! `n_docs` items `{_id, k, v, name}` with an index on `k`, and the
//! operations the crud bench times one at a time: single-document inserts,
//! point finds by `_id`, point finds by `k`, and a scan for a `v` no item
//! has (an unindexed filter matching nothing reads every item).
//!
//! SQLite keeps the same fields as columns (`id INTEGER PRIMARY KEY`, so a
//! find by id is its rowid B-tree), with an index on `k`; its finds read
//! every column of the row, as Rotor's return the whole document. Each
//! SQLite statement runs in autocommit mode, as each Rotor command does.

use bson::{Document, doc};
use rusqlite::{Connection, params};

use crate::rotor::{self, Client};
use crate::sqlite;

pub const DB: &str = "bench";
pub const COLLECTION: &str = "items";
/// Documents per bulk insert while building a collection.
pub const BUILD_BATCH: usize = 10_000;

/// The item with id `id`.
pub fn item(id: i64) -> Document {
    doc! {"_id": id, "k": secondary(id), "v": id, "name": format!("item-{id}")}
}

/// One item as the finds return it, whichever database answered: SQLite's
/// rows are read into it column by column (as an application reads them),
/// Rotor's documents field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub k: i64,
    pub v: i64,
    pub name: String,
}

impl Item {
    fn from_document(doc: &Document) -> Option<Item> {
        Some(Item {
            id: doc.get_i64("_id").ok()?,
            k: doc.get_i64("k").ok()?,
            v: doc.get_i64("v").ok()?,
            name: doc.get_str("name").ok()?.to_owned(),
        })
    }
}

/// The indexed field of item `id`: distinct per item, and different from
/// `_id` so that only the secondary index can answer a find by it.
pub fn secondary(id: i64) -> i64 {
    id * 3 + 1
}

/// A `v` no item has: the scan's filter.
pub const MISSING_V: i64 = -1;

/// The id of an existing item for the `index`th probe: scattered over the
/// whole collection (a multiplicative hash), so the probes do not walk the
/// index in order and caches help no more than they would in real use.
pub fn probe(index: usize, n_docs: usize) -> i64 {
    let scattered = (index as u64).wrapping_mul(2_654_435_761);
    (scattered % n_docs.max(1) as u64) as i64
}

/// The operations the crud bench times, on either database.
pub trait Crud {
    /// Items the collection holds before any insert of the bench.
    fn n_docs(&self) -> usize;
    fn insert(&self, id: i64);
    /// Removes items the inserts added (untimed cleanup).
    fn remove(&self, ids: &[i64]);
    /// The item with `_id` `id`, or `None`.
    fn find_by_id(&self, id: i64) -> Option<Item>;
    /// The item whose `k` is `k`, or `None`.
    fn find_by_secondary(&self, k: i64) -> Option<Item>;
    /// How many items the scan for [`MISSING_V`] found (always 0).
    fn scan(&self) -> usize;
}

/// Rotor, in memory, with `n_docs` items.
pub struct RotorCrud {
    client: Client,
    n_docs: usize,
}

impl RotorCrud {
    /// Builds the collection: the `k` index first, then the items in bulk
    /// inserts of [`BUILD_BATCH`] ordered documents.
    pub fn build(n_docs: usize) -> RotorCrud {
        let client = Client::new(rotor::open_in_memory());
        client.must(
            DB,
            doc! {
                "createIndexes": COLLECTION,
                "indexes": [{"key": {"k": 1}, "name": "k_1"}],
            },
        );
        let mut start = 0;
        while start < n_docs {
            let end = (start + BUILD_BATCH).min(n_docs);
            let documents: Vec<Document> = (start..end).map(|id| item(id as i64)).collect();
            client.must(
                DB,
                doc! {"insert": COLLECTION, "documents": documents, "ordered": true},
            );
            start = end;
        }
        RotorCrud { client, n_docs }
    }

    fn find_one(&self, filter: Document) -> Option<Item> {
        let found = self
            .client
            .find(DB, doc! {"find": COLLECTION, "filter": filter})
            .unwrap_or_else(|failed| panic!("a find failed: {failed}"));
        found.first().and_then(Item::from_document)
    }
}

impl Crud for RotorCrud {
    fn n_docs(&self) -> usize {
        self.n_docs
    }

    fn insert(&self, id: i64) {
        self.client
            .must(DB, doc! {"insert": COLLECTION, "documents": [item(id)]});
    }

    fn remove(&self, ids: &[i64]) {
        self.client.must(
            DB,
            doc! {
                "delete": COLLECTION,
                "deletes": [{"q": {"_id": {"$in": ids}}, "limit": 0}],
            },
        );
    }

    fn find_by_id(&self, id: i64) -> Option<Item> {
        self.find_one(doc! {"_id": id})
    }

    fn find_by_secondary(&self, k: i64) -> Option<Item> {
        self.find_one(doc! {"k": k})
    }

    fn scan(&self) -> usize {
        self.client
            .find(DB, doc! {"find": COLLECTION, "filter": {"v": MISSING_V}})
            .unwrap_or_else(|failed| panic!("the scan failed: {failed}"))
            .len()
    }
}

/// SQLite, in memory, with `n_docs` rows.
pub struct SqliteCrud {
    conn: Connection,
    n_docs: usize,
}

const SELECT_BY_ID: &str = "SELECT id, k, v, name FROM items WHERE id = ?1";
const SELECT_BY_K: &str = "SELECT id, k, v, name FROM items WHERE k = ?1";
const SELECT_BY_V: &str = "SELECT id, k, v, name FROM items WHERE v = ?1";
const INSERT: &str = "INSERT INTO items (id, k, v, name) VALUES (?1, ?2, ?3, ?4)";

impl SqliteCrud {
    /// Builds the table: the `k` index first, then the rows in
    /// transactions of [`BUILD_BATCH`] inserts.
    pub fn build(n_docs: usize) -> SqliteCrud {
        let conn = sqlite::open_in_memory();
        conn.execute_batch(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, \
             v INTEGER NOT NULL, name TEXT NOT NULL);
             CREATE INDEX items_k ON items (k);",
        )
        .unwrap_or_else(|error| panic!("creating SQLite's table failed: {error}"));
        let mut start = 0;
        while start < n_docs {
            let end = (start + BUILD_BATCH).min(n_docs);
            let batch = || -> rusqlite::Result<()> {
                conn.execute_batch("BEGIN")?;
                let mut insert = conn.prepare_cached(INSERT)?;
                for id in start as i64..end as i64 {
                    insert.execute(params![id, secondary(id), id, format!("item-{id}")])?;
                }
                conn.execute_batch("COMMIT")
            };
            batch().unwrap_or_else(|error| panic!("filling SQLite's table failed: {error}"));
            start = end;
        }
        SqliteCrud { conn, n_docs }
    }

    fn select(&self, sql: &str, value: i64) -> Vec<Item> {
        let rows = || -> rusqlite::Result<Vec<Item>> {
            let mut statement = self.conn.prepare_cached(sql)?;
            let rows = statement.query_map([value], |row| {
                Ok(Item {
                    id: row.get(0)?,
                    k: row.get(1)?,
                    v: row.get(2)?,
                    name: row.get(3)?,
                })
            })?;
            rows.collect()
        };
        rows().unwrap_or_else(|error| panic!("a SQLite select failed: {error}"))
    }
}

impl Crud for SqliteCrud {
    fn n_docs(&self) -> usize {
        self.n_docs
    }

    fn insert(&self, id: i64) {
        self.conn
            .prepare_cached(INSERT)
            .and_then(|mut insert| {
                insert.execute(params![id, secondary(id), id, format!("item-{id}")])
            })
            .unwrap_or_else(|error| panic!("a SQLite insert failed: {error}"));
    }

    fn remove(&self, ids: &[i64]) {
        let remove = || -> rusqlite::Result<()> {
            self.conn.execute_batch("BEGIN")?;
            let mut delete = self
                .conn
                .prepare_cached("DELETE FROM items WHERE id = ?1")?;
            for id in ids {
                delete.execute([id])?;
            }
            self.conn.execute_batch("COMMIT")
        };
        remove().unwrap_or_else(|error| panic!("a SQLite delete failed: {error}"));
    }

    fn find_by_id(&self, id: i64) -> Option<Item> {
        self.select(SELECT_BY_ID, id).into_iter().next()
    }

    fn find_by_secondary(&self, k: i64) -> Option<Item> {
        self.select(SELECT_BY_K, k).into_iter().next()
    }

    fn scan(&self) -> usize {
        self.select(SELECT_BY_V, MISSING_V).len()
    }
}
