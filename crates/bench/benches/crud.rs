//! CRUD costs per operation on Rotor (in memory) and SQLite (in memory), at
//! 1,000 and 1,000,000 documents: single-document inserts, point finds by
//! `_id`, point finds by an indexed secondary field, and a full scan (an
//! unindexed filter matching nothing). The growth columns show how each
//! cost changes from the small to the large collection: point lookups
//! should stay near flat, the scan should grow about 1000x.
//!
//! Each collection is built once per size (bulk inserts of 10,000 ordered
//! documents; the per-document cost of that is the first row, measured
//! once). Every other cost is the median over samples of many operations;
//! the samples of the four collections (two sizes, two databases) take
//! turns, so a burst of load on the shared machine hits all four alike.
//!
//! Run: `cargo bench -p rotor-bench --bench crud`. `ROTOR_BENCH_LARGE` sets
//! the large size (default 1000000) for a quicker look.

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

use rotor_bench::crud::{Crud, Item, RotorCrud, SqliteCrud, probe, secondary};
use rotor_bench::measure::{Target, interleaved_nanos_per_op, load_average};
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

/// Median nanoseconds per operation of `op` on each database, their
/// samples interleaved.
fn measure(op: Op, dbs: &[&dyn Crud]) -> Vec<f64> {
    let mut targets: Vec<Target<'_>> = dbs.iter().map(|db| target(op, *db)).collect();
    let samples = match op {
        Op::Scan => SCAN_SAMPLES,
        _ => SAMPLES,
    };
    interleaved_nanos_per_op(samples, &mut targets)
}

/// One sample of `op` on `db`.
fn target(op: Op, db: &dyn Crud) -> Target<'_> {
    let n_docs = db.n_docs();
    let mut next = 0;
    let mut probes = move |n_ops: usize| {
        let range = next..next + n_ops;
        next += n_ops;
        range.map(move |i| probe(i, n_docs))
    };
    match op {
        Op::BulkInsert => unreachable!("the build is timed once, not sampled"),
        Op::Insert => insert_target(db),
        Op::FindById => Target::new(move || {
            for id in probes(POINT_OPS) {
                black_box(db.find_by_id(id));
            }
            POINT_OPS
        }),
        Op::FindBySecondary => Target::new(move || {
            for id in probes(POINT_OPS) {
                black_box(db.find_by_secondary(secondary(id)));
            }
            POINT_OPS
        }),
        Op::Scan => Target::new(move || {
            let n_scans = (SCAN_DOCS / n_docs).max(1);
            for _ in 0..n_scans {
                black_box(db.scan());
            }
            n_scans
        }),
    }
}

/// Inserts above every existing id; each sample's are deleted after it.
fn insert_target(db: &dyn Crud) -> Target<'_> {
    let inserted = Rc::new(RefCell::new(Vec::with_capacity(INSERT_OPS)));
    let mut next_id = db.n_docs() as i64;
    let run_inserted = Rc::clone(&inserted);
    Target {
        run: Box::new(move || {
            let mut inserted = run_inserted.borrow_mut();
            for _ in 0..INSERT_OPS {
                db.insert(next_id);
                inserted.push(next_id);
                next_id += 1;
            }
            INSERT_OPS
        }),
        after: Box::new(move || {
            let mut ids = inserted.borrow_mut();
            db.remove(&ids);
            ids.clear();
        }),
    }
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
    // All four collections stay alive so that every operation's samples
    // interleave across them: rotor small, rotor large, SQLite small,
    // SQLite large.
    let (rotor_small, rotor_small_build) = build(SMALL, RotorCrud::build);
    let (rotor_large, rotor_large_build) = build(large, RotorCrud::build);
    let (sqlite_small, sqlite_small_build) = build(SMALL, SqliteCrud::build);
    let (sqlite_large, sqlite_large_build) = build(large, SqliteCrud::build);
    let dbs: [&dyn Crud; 4] = [&rotor_small, &rotor_large, &sqlite_small, &sqlite_large];
    for db in dbs {
        check_answers(db);
    }
    let builds = vec![
        rotor_small_build,
        rotor_large_build,
        sqlite_small_build,
        sqlite_large_build,
    ];
    // Inserts go last: the items they add are deleted again, but an MVCC
    // store may keep their tombstones, and the finds and the scan are meant
    // to see the collections as built.
    let mut costs: Vec<Vec<f64>> = OPS
        .iter()
        .map(|op| match op {
            Op::BulkInsert => builds.clone(),
            Op::Insert => Vec::new(),
            _ => measure(*op, &dbs),
        })
        .collect();
    if let Some(insert) = OPS.iter().position(|op| *op == Op::Insert) {
        costs[insert] = measure(Op::Insert, &dbs);
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
    for (op, costs) in OPS.iter().zip(&costs) {
        let [small_rotor, large_rotor, small_sqlite, large_sqlite] =
            [costs[0], costs[1], costs[2], costs[3]];
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
