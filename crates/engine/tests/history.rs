//! A history checker: concurrent transactions read and write a few keys,
//! every write stores a unique tag, and the recorded history is checked for
//! dirty reads (a committed transaction saw a tag no committed transaction
//! left behind), lost updates (two committed transactions overwrote the same
//! version of a key) and non-repeatable reads within a transaction. Write
//! skew is allowed: snapshot isolation permits it.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bson::doc;
use common::{Session, engine, ok, run};
use rand::{Rng, SeedableRng};

const KEYS: i32 = 4;
const THREADS: usize = 4;
const TXNS_PER_THREAD: usize = 300;

#[derive(Debug, Clone)]
enum Op {
    Read {
        key: i32,
        tag: String,
    },
    /// Overwrites version `replaced` of `key` with `tag`.
    Write {
        key: i32,
        replaced: String,
        tag: String,
    },
}

#[derive(Debug, Default, Clone)]
struct TxnRecord {
    ops: Vec<Op>,
    committed: bool,
}

impl TxnRecord {
    fn writes(&self) -> impl Iterator<Item = (i32, &String, &String)> {
        self.ops.iter().filter_map(|op| match op {
            Op::Write { key, replaced, tag } => Some((*key, replaced, tag)),
            Op::Read { .. } => None,
        })
    }
}

#[test]
fn committed_histories_have_no_dirty_reads_lost_updates_or_fuzzy_reads() {
    let db = engine();
    let initial: Vec<_> = (0..KEYS).map(|k| doc! {"_id": k, "tag": "init"}).collect();
    ok(&db, "h", doc! {"insert": "kv", "documents": initial});
    let history: Arc<Mutex<Vec<TxnRecord>>> = Arc::default();
    let seed: u64 = rand::random();
    println!("history seed {seed}");
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (db, history) = (db.clone(), history.clone());
            std::thread::spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed + t as u64);
                let mut s = Session::new();
                for n in 0..TXNS_PER_THREAD {
                    s.start();
                    let mut record = TxnRecord::default();
                    let mut failed = false;
                    for op in 0..rng.gen_range(1..5) {
                        let key = rng.gen_range(0..KEYS);
                        let read = run(&db, "h", s.stmt(doc! {"find": "kv", "filter": {"_id": key}}));
                        if read.get_i32("code").is_ok() {
                            failed = true;
                            break;
                        }
                        let doc = read.get_document("cursor").unwrap().get_array("firstBatch").unwrap()[0].as_document().unwrap().clone();
                        let seen = doc.get_str("tag").unwrap().to_owned();
                        record.ops.push(Op::Read { key, tag: seen.clone() });
                        if rng.gen_bool(0.5) {
                            let tag = format!("t{t}-{n}-{op}");
                            let write = run(&db, "h", s.stmt(doc! {"update": "kv", "updates": [{"q": {"_id": key}, "u": {"$set": {"tag": tag.clone()}}}]}));
                            if write.get_i32("code").is_ok() {
                                failed = true;
                                break;
                            }
                            record.ops.push(Op::Write { key, replaced: seen, tag });
                        }
                    }
                    if !failed {
                        let commit = run(&db, "admin", s.commit());
                        record.committed = commit.get_i32("code").is_err();
                    } else {
                        run(&db, "admin", s.abort());
                    }
                    history.lock().unwrap().push(record);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("worker");
    }
    let history = history.lock().unwrap().clone();
    check(&history);
}

fn check(history: &[TxnRecord]) {
    let committed: Vec<&TxnRecord> = history.iter().filter(|t| t.committed).collect();
    // The tags other transactions may see: each committed transaction's last write per key.
    let mut visible: HashSet<String> = HashSet::from(["init".to_owned()]);
    for txn in &committed {
        let last: HashMap<i32, &String> = txn.writes().map(|(key, _, tag)| (key, tag)).collect();
        visible.extend(last.values().map(|t| t.to_string()));
    }
    let mut overwritten: HashMap<(i32, String), usize> = HashMap::new();
    for txn in &committed {
        // Within a transaction a key reads what it read or wrote last.
        let mut current: HashMap<i32, &String> = HashMap::new();
        let mut first_write: HashMap<i32, &String> = HashMap::new();
        for op in &txn.ops {
            match op {
                Op::Read { key, tag } => {
                    if let Some(expected) = current.get(key) {
                        assert_eq!(*expected, tag, "non-repeatable read of key {key}");
                    } else {
                        assert!(visible.contains(tag), "dirty read of {tag}");
                    }
                    current.insert(*key, tag);
                }
                Op::Write { key, replaced, tag } => {
                    first_write.entry(*key).or_insert(replaced);
                    current.insert(*key, tag);
                }
            }
        }
        for (key, replaced) in first_write {
            *overwritten.entry((key, replaced.clone())).or_default() += 1;
        }
    }
    for ((key, version), count) in &overwritten {
        assert_eq!(
            *count, 1,
            "lost update: {count} committed transactions overwrote version {version} of key {key}"
        );
    }
    let aborted = history.len() - committed.len();
    println!(
        "{} transactions, {} committed, {aborted} aborted",
        history.len(),
        committed.len()
    );
    assert!(aborted > 0, "the workload must conflict");
    assert!(
        committed.len() > history.len() / 4,
        "most transactions should commit"
    );
}
