//! The benchmarks' workloads do the same work on Rotor and on SQLite: the
//! same answers for the CRUD operations, one order and one stock decrement
//! per committed seed transaction. A ratio between two databases means
//! nothing unless this holds. Nothing here is timed.

use std::sync::Mutex;
use std::thread;

use rotor_bench::crud::{Crud, Item, RotorCrud, SqliteCrud, probe, secondary};
use rotor_bench::rotor::{self, Client};
use rotor_bench::seed::{self, Begin, Inventory, RotorWorker};
use rotor_bench::sqlite;

const N_DOCS: usize = 250;

fn item(id: i64) -> Item {
    Item {
        id,
        k: secondary(id),
        v: id,
        name: format!("item-{id}"),
    }
}

/// Runs the CRUD operations on `db` and checks each answer.
fn check_crud(db: &dyn Crud) {
    assert_eq!(db.n_docs(), N_DOCS);
    for index in 0..20 {
        let id = probe(index, N_DOCS);
        assert!((0..N_DOCS as i64).contains(&id), "probe {id} in range");
        assert_eq!(db.find_by_id(id), Some(item(id)), "find by _id {id}");
        assert_eq!(
            db.find_by_secondary(secondary(id)),
            Some(item(id)),
            "find by k"
        );
    }
    assert_eq!(db.find_by_id(N_DOCS as i64), None, "no item past the end");
    assert_eq!(db.scan(), 0, "the scan matches nothing");
    let added = [N_DOCS as i64, N_DOCS as i64 + 1];
    for id in added {
        db.insert(id);
    }
    assert_eq!(db.find_by_id(added[1]), Some(item(added[1])), "inserted");
    db.remove(&added);
    assert_eq!(db.find_by_id(added[0]), None, "removed again");
    assert_eq!(
        db.find_by_secondary(secondary(added[1])),
        None,
        "removed from k"
    );
}

#[test]
fn crud_answers_alike_on_rotor_and_sqlite() {
    check_crud(&RotorCrud::build(N_DOCS));
    check_crud(&SqliteCrud::build(N_DOCS));
}

#[test]
fn crud_build_spans_several_bulk_batches() {
    let n_docs = rotor_bench::crud::BUILD_BATCH * 2 + 3;
    let db = RotorCrud::build(n_docs);
    assert_eq!(
        db.find_by_id(n_docs as i64 - 1),
        Some(item(n_docs as i64 - 1))
    );
    assert_eq!(db.find_by_id(n_docs as i64), None);
}

const THREADS: usize = 4;
const TXNS_PER_THREAD: usize = 25;

/// Runs the seed on Rotor from `THREADS` threads; returns the retries.
fn run_rotor_seed(client: &Client, inventory: Inventory) -> u64 {
    thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|session| {
                let mut worker = RotorWorker::new(client.clone(), inventory.sku(session));
                scope.spawn(move || {
                    (0..TXNS_PER_THREAD)
                        .map(|_| worker.transaction())
                        .sum::<u64>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).sum()
    })
}

/// Each committed transaction made one order and took one order's stock.
fn check_seed(inventory: Inventory, orders: i64, stock: impl Fn(&str) -> Option<i64>) {
    let n_txns = (THREADS * TXNS_PER_THREAD) as i64;
    assert_eq!(orders, n_txns, "one order per transaction");
    let skus = inventory.skus(THREADS);
    let taken: i64 = skus
        .iter()
        .map(|sku| seed::STOCK - stock(sku).expect("the sku is stocked"))
        .sum();
    assert_eq!(taken, n_txns * seed::ORDER_QTY, "stock taken");
    if inventory == Inventory::PerSession {
        for sku in &skus {
            let per_session = TXNS_PER_THREAD as i64 * seed::ORDER_QTY;
            assert_eq!(stock(sku), Some(seed::STOCK - per_session), "{sku}");
        }
    }
}

#[test]
fn seed_on_rotor_in_memory_takes_stock_once_per_commit() {
    for inventory in [Inventory::PerSession, Inventory::Shared] {
        let client = Client::new(rotor::open_in_memory());
        seed::rotor_setup(&client, THREADS, inventory);
        let retries = run_rotor_seed(&client, inventory);
        if inventory == Inventory::PerSession {
            assert_eq!(retries, 0, "sessions with their own stock never conflict");
        }
        check_seed(inventory, seed::rotor_orders(&client), |sku| {
            seed::rotor_stock(&client, sku)
        });
    }
}

#[test]
fn seed_on_rotor_durable_takes_stock_once_per_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client = Client::new(rotor::open_directory(dir.path().to_path_buf()));
    seed::rotor_setup(&client, THREADS, Inventory::PerSession);
    run_rotor_seed(&client, Inventory::PerSession);
    check_seed(Inventory::PerSession, seed::rotor_orders(&client), |sku| {
        seed::rotor_stock(&client, sku)
    });
}

#[test]
fn seed_on_sqlite_in_memory_takes_stock_once_per_commit() {
    for inventory in [Inventory::PerSession, Inventory::Shared] {
        let conn = Mutex::new(sqlite::open_in_memory());
        seed::sqlite_setup(&conn.lock().expect("lock"), THREADS, inventory);
        thread::scope(|scope| {
            for session in 0..THREADS {
                let (conn, sku) = (&conn, inventory.sku(session));
                scope.spawn(move || {
                    for _ in 0..TXNS_PER_THREAD {
                        seed::sqlite_shared_transaction(conn, &sku);
                    }
                });
            }
        });
        let conn = conn.lock().expect("lock");
        check_seed(inventory, seed::sqlite_orders(&conn), |sku| {
            seed::sqlite_stock(&conn, sku)
        });
    }
}

#[test]
fn seed_on_sqlite_durable_takes_stock_once_per_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("seed.db");
    let setup = sqlite::open_durable(&path);
    seed::sqlite_setup(&setup, THREADS, Inventory::PerSession);
    thread::scope(|scope| {
        for session in 0..THREADS {
            let (path, sku) = (&path, Inventory::PerSession.sku(session));
            scope.spawn(move || {
                let conn = sqlite::open_durable(path);
                for _ in 0..TXNS_PER_THREAD {
                    seed::sqlite_transaction(&conn, &sku, Begin::Immediate);
                }
            });
        }
    });
    check_seed(Inventory::PerSession, seed::sqlite_orders(&setup), |sku| {
        seed::sqlite_stock(&setup, sku)
    });
}
