//! The bank-transfer invariant under concurrency: many sessions move money
//! between accounts in transactions while snapshot readers check that the
//! total never changes. Conflicts must really happen, and the final balances
//! must equal the effect of exactly the transfers that committed.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bson::{Document, doc};
use common::{Session, engine, find, ok, run};
use rand::{Rng, SeedableRng};

const ACCOUNTS: i32 = 8;
const INITIAL: i64 = 1_000;
const WORKERS: usize = 6;
const TRANSFERS_PER_WORKER: usize = 400;

fn total(docs: &[Document]) -> i64 {
    docs.iter()
        .map(|d| d.get_i64("balance").expect("balance"))
        .sum()
}

fn code(reply: &Document) -> Option<i32> {
    reply.get_i32("code").ok()
}

#[test]
fn bank_transfers_conserve_money_and_lose_no_update() {
    let db = engine();
    let accounts: Vec<Document> = (0..ACCOUNTS)
        .map(|i| doc! {"_id": i, "balance": INITIAL})
        .collect();
    ok(
        &db,
        "bank",
        doc! {"insert": "accounts", "documents": accounts},
    );
    let committed: Arc<Mutex<Vec<(i32, i32, i64)>>> = Arc::default();
    let conflicts = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let seed: u64 = rand::random();
    println!("bank seed {seed}");

    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (db, committed, conflicts, done) = (db.clone(), committed.clone(), conflicts.clone(), done.clone());
            std::thread::spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed + w as u64);
                let mut s = Session::new();
                let mut transfers = 0;
                while transfers < TRANSFERS_PER_WORKER {
                    let from = rng.gen_range(0..ACCOUNTS);
                    let to = (from + rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
                    let amount = rng.gen_range(1..50i64);
                    s.start();
                    let read = run(&db, "bank", s.stmt(doc! {"find": "accounts", "filter": {"_id": from}}));
                    if code(&read).is_some() {
                        conflicts.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let balance = read.get_document("cursor").unwrap().get_array("firstBatch").unwrap()[0]
                        .as_document()
                        .unwrap()
                        .get_i64("balance")
                        .unwrap();
                    let amount = amount.min(balance);
                    let debit = run(&db, "bank", s.stmt(doc! {"update": "accounts", "updates": [{"q": {"_id": from}, "u": {"$inc": {"balance": -amount}}}]}));
                    let credit = if code(&debit).is_none() {
                        run(&db, "bank", s.stmt(doc! {"update": "accounts", "updates": [{"q": {"_id": to}, "u": {"$inc": {"balance": amount}}}]}))
                    } else {
                        debit
                    };
                    if let Some(c) = code(&credit) {
                        assert_eq!(c, 112, "only write conflicts are expected: {credit}");
                        let labels = credit.get_array("errorLabels").unwrap();
                        assert!(labels.iter().any(|l| l.as_str() == Some("TransientTransactionError")));
                        conflicts.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let commit = run(&db, "admin", s.commit());
                    assert!(code(&commit).is_none(), "commit failed: {commit}");
                    committed.lock().unwrap().push((from, to, amount));
                    transfers += 1;
                }
                done.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();

    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (db, done) = (db.clone(), done.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                let mut s = Session::new();
                while done.load(Ordering::Relaxed) < WORKERS {
                    let docs = if r == 0 {
                        s.start();
                        let docs = find(
                            &db,
                            "bank",
                            s.stmt(doc! {"find": "accounts", "readConcern": {"level": "snapshot"}}),
                        );
                        ok(&db, "admin", s.commit());
                        docs
                    } else {
                        find(&db, "bank", doc! {"find": "accounts"})
                    };
                    assert_eq!(
                        total(&docs),
                        INITIAL * i64::from(ACCOUNTS),
                        "a reader saw a partial transfer"
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();

    for worker in workers {
        worker.join().expect("worker");
    }
    let reads: usize = readers.into_iter().map(|r| r.join().expect("reader")).sum();
    let docs = find(&db, "bank", doc! {"find": "accounts", "sort": {"_id": 1}});
    assert_eq!(total(&docs), INITIAL * i64::from(ACCOUNTS));
    let mut expected = vec![INITIAL; ACCOUNTS as usize];
    for (from, to, amount) in committed.lock().unwrap().iter() {
        expected[*from as usize] -= amount;
        expected[*to as usize] += amount;
    }
    let actual: Vec<i64> = docs.iter().map(|d| d.get_i64("balance").unwrap()).collect();
    assert_eq!(
        actual, expected,
        "final balances are exactly the committed transfers"
    );
    assert!(actual.iter().all(|b| *b >= 0), "no overdraft: {actual:?}");
    let conflicts = conflicts.load(Ordering::Relaxed);
    println!(
        "{} transfers, {conflicts} conflicts, {reads} consistent reads",
        WORKERS * TRANSFERS_PER_WORKER
    );
    assert!(conflicts > 0, "the workload must actually conflict");
    assert!(reads > 0);
}
