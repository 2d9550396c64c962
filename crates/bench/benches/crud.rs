//! CRUD costs per operation on Rotor (in memory) and SQLite (in memory), at
//! 1,000 and 1,000,000 documents: single-document inserts, point finds by
//! `_id`, point finds by an indexed secondary field, and a full scan (an
//! unindexed filter matching nothing). The growth columns show how each
//! cost changes from the small to the large collection: point lookups
//! should stay near flat, the scan should grow about 1000x.
//!
//! Each collection is built once per size (bulk inserts of 10,000 ordered
//! documents; the per-document cost of that is the first row). Every cost is
//! the median over samples of many operations.
//!
//! Run: `cargo bench -p rotor-bench --bench crud`. `ROTOR_BENCH_LARGE` sets
//! the large size (default 1000000) for a quicker look.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Instant;

use rotor_bench::crud::{Crud, Item, RotorCrud, SqliteCrud, probe, secondary};
use rotor_bench::measure::{load_average, nanos_per_op};
use rotor_bench::sqlite;
use rotor_bench::table::{Table, nanos, ratio};

const SMALL: usize = 1_000;
const LARGE_DEFAULT: usize = 1_000_000;
/// Samples per operation; the median is shown.
const SAMPLES: usize = 11;
/// Operations per sample for the cheap operations.
const POINT_OPS: usize = 2_000;
/// Inserts per sample; they are deleted again after each sample so the
/// collection keeps its size.
const INSERT_OPS: usize = 1_000;
/// Documents scanned per sample (at least one scan per sample).
const SCAN_DOCS: usize = 200_000;
/// Samples of the scan: fewer, since one scan of the large collection
/// takes long.
const SCAN_SAMPLES: usize = 7;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    BulkInsert,
    Insert,
    FindById,
    FindBySecondary,
    Scan,
}

const OPS: [Op; 5] = [
    Op::BulkInsert,
    Op::Insert,
    Op::FindById,
    Op::FindBySecondary,
    Op::Scan,
];

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::BulkInsert => "bulk insert (per doc)",
            Op::Insert => "insert one doc",
            Op::FindById => "find by _id",
            Op::FindBySecondary => "find by indexed k",
            Op::Scan => "scan, no match",
        }
    }
}

/// Median nanoseconds per operation for one database at one size, in the
/// order of [`OPS`].
fn measure(db: &dyn Crud, build_ns_per_doc: f64) -> Vec<f64> {
    check_answers(db);
    let n_docs = db.n_docs();
    // Inserts go last: the items they add are deleted again, but an MVCC
    // store may keep their tombstones for a while, and the finds and the
    // scan are meant to see the collection as built.
    let mut costs: Vec<f64> = OPS
        .iter()
        .map(|op| match op {
            Op::BulkInsert => build_ns_per_doc,
            Op::Insert => f64::NAN,
            Op::FindById => nanos_per_op(
                SAMPLES,
                POINT_OPS,
                |i| {
                    black_box(db.find_by_id(probe(i, n_docs)));
                },
                || {},
            ),
            Op::FindBySecondary => nanos_per_op(
                SAMPLES,
                POINT_OPS,
                |i| {
                    black_box(db.find_by_secondary(secondary(probe(i, n_docs))));
                },
                || {},
            ),
            Op::Scan => nanos_per_op(
                SCAN_SAMPLES,
                (SCAN_DOCS / n_docs).max(1),
                |_| {
                    black_box(db.scan());
                },
                || {},
            ),
        })
        .collect();
    if let Some(insert) = OPS.iter().position(|op| *op == Op::Insert) {
        costs[insert] = measure_inserts(db);
    }
    costs
}

fn measure_inserts(db: &dyn Crud) -> f64 {
    // Ids above every existing item; each sample's are removed after it.
    let first_id = db.n_docs() as i64;
    let inserted = RefCell::new(Vec::with_capacity(INSERT_OPS));
    nanos_per_op(
        SAMPLES,
        INSERT_OPS,
        |i| {
            let id = first_id + i as i64;
            db.insert(id);
            inserted.borrow_mut().push(id);
        },
        || {
            let mut ids = inserted.borrow_mut();
            db.remove(&ids);
            ids.clear();
        },
    )
}

/// Both databases must give the same answers before their costs compare.
fn check_answers(db: &dyn Crud) {
    let id = probe(7, db.n_docs());
    let expected = Item {
        id,
        k: secondary(id),
        v: id,
        name: format!("item-{id}"),
    };
    assert_eq!(db.find_by_id(id), Some(expected.clone()), "find by _id");
    assert_eq!(
        db.find_by_secondary(expected.k),
        Some(expected),
        "find by k"
    );
    assert_eq!(db.scan(), 0, "the scan matches nothing");
}

fn build<T>(n_docs: usize, build: impl FnOnce(usize) -> T) -> (T, f64) {
    let start = Instant::now();
    let db = build(n_docs);
    let ns_per_doc = start.elapsed().as_nanos() as f64 / n_docs as f64;
    (db, ns_per_doc)
}

fn main() {
    let large = std::env::var("ROTOR_BENCH_LARGE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(LARGE_DEFAULT);
    println!(
        "crud: Rotor (in memory) vs SQLite {} (in memory), cost per operation, median of \
         samples; load average {}",
        sqlite::version(),
        load_average()
    );
    // costs[size][database][op]
    let mut costs = Vec::new();
    for n_docs in [SMALL, large] {
        let (rotor, rotor_build) = build(n_docs, RotorCrud::build);
        let rotor_costs = measure(&rotor, rotor_build);
        drop(rotor);
        let (sqlite, sqlite_build) = build(n_docs, SqliteCrud::build);
        let sqlite_costs = measure(&sqlite, sqlite_build);
        drop(sqlite);
        costs.push([rotor_costs, sqlite_costs]);
    }
    let small_label = size_label(SMALL);
    let large_label = size_label(large);
    let mut table = Table::new(&[
        "operation",
        &format!("Rotor {small_label}"),
        &format!("Rotor {large_label}"),
        "growth",
        &format!("SQLite {small_label}"),
        &format!("SQLite {large_label}"),
        "growth",
        &format!("Rotor/SQLite {small_label}"),
        &format!("Rotor/SQLite {large_label}"),
    ]);
    for (index, op) in OPS.iter().enumerate() {
        let [small_rotor, small_sqlite] = [costs[0][0][index], costs[0][1][index]];
        let [large_rotor, large_sqlite] = [costs[1][0][index], costs[1][1][index]];
        table.row(vec![
            op.label().to_owned(),
            nanos(small_rotor),
            nanos(large_rotor),
            ratio(large_rotor / small_rotor),
            nanos(small_sqlite),
            nanos(large_sqlite),
            ratio(large_sqlite / small_sqlite),
            ratio(small_sqlite / small_rotor),
            ratio(large_sqlite / large_rotor),
        ]);
    }
    table.print();
    println!(
        "growth = cost at {large_label} / cost at {small_label}. Rotor/SQLite = Rotor's speed \
         relative to SQLite's (SQLite's cost / Rotor's): above 1.00x Rotor is faster. \
         Load average at the end: {}",
        load_average()
    );
}

fn size_label(n_docs: usize) -> String {
    match n_docs {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}
