//! Garbage collection against a model: random sequences of inserts,
//! deletes, indexed updates, collection rounds and transactions holding old
//! snapshots, applied to the engine (with no snapshot history) and to a
//! `BTreeMap`. After every step, reads by `_id` and through the index agree
//! with the model, an open transaction still sees its snapshot, and once
//! everything ends, the collection holds exactly the live documents.

mod common;

use std::collections::BTreeMap;

use bson::{Document, doc};
use common::{Session, find, ok, run};
use engine::{Engine, EngineOptions, StorageCounts};
use proptest::prelude::*;

/// `_id`s and indexed values: few, so they collide, die and come back.
const IDS: i32 = 5;
const VALUES: i32 = 3;
/// Rounds that reclaim everything reclaimable in a collection this small:
/// two to move the horizon to the present, then one sweep.
const ROUNDS_TO_SETTLE: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Insert(i32, i32),
    Delete(i32),
    Update(i32, i32),
    Collect,
    /// Opens a transaction and takes its snapshot (if none is open).
    Pin,
    /// Commits the open transaction, if any.
    Unpin,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..IDS, 0..VALUES).prop_map(|(id, v)| Op::Insert(id, v)),
        2 => (0..IDS).prop_map(Op::Delete),
        3 => (0..IDS, 0..VALUES).prop_map(|(id, v)| Op::Update(id, v)),
        3 => Just(Op::Collect),
        1 => Just(Op::Pin),
        1 => Just(Op::Unpin),
    ]
}

type Model = BTreeMap<i32, i32>;

/// A transaction holding a snapshot, and what it must keep seeing.
struct Pinned {
    session: Session,
    model: Model,
}

fn apply(db: &Engine, model: &mut Model, op: &Op) {
    match *op {
        Op::Insert(id, v) => {
            let reply = run(
                db,
                "m",
                doc! {"insert": "c", "documents": [{"_id": id, "v": v}]},
            );
            let collided = reply.contains_key("writeErrors");
            assert_eq!(collided, model.contains_key(&id), "insert {id}: {reply}");
            model.entry(id).or_insert(v);
        }
        Op::Delete(id) => {
            ok(
                db,
                "m",
                doc! {"delete": "c", "deletes": [{"q": {"_id": id}, "limit": 1}]},
            );
            model.remove(&id);
        }
        Op::Update(id, v) => {
            ok(
                db,
                "m",
                doc! {"update": "c", "updates": [{"q": {"_id": id}, "u": {"$set": {"v": v}}}]},
            );
            if let Some(old) = model.get_mut(&id) {
                *old = v;
            }
        }
        Op::Collect | Op::Pin | Op::Unpin => {}
    }
}

/// What `filter` should find in `model`, in `_id` order.
fn expected(model: &Model, keep: impl Fn(i32, i32) -> bool) -> Vec<Document> {
    model
        .iter()
        .filter(|&(&id, &v)| keep(id, v))
        .map(|(&id, &v)| doc! {"_id": id, "v": v})
        .collect()
}

/// Checks every `_id` and every value against `model`, through `session`'s
/// transaction if given.
fn check(db: &Engine, model: &Model, mut session: Option<&mut Session>) {
    let mut read = |filter: Document| {
        let body = doc! {"find": "c", "filter": filter, "sort": {"_id": 1}};
        let body = match session.as_deref_mut() {
            Some(session) => session.stmt(body),
            None => body,
        };
        find(db, "m", body)
    };
    for id in 0..IDS {
        let found = read(doc! {"_id": id});
        assert_eq!(found, expected(model, |i, _| i == id), "_id {id}");
    }
    for value in 0..VALUES {
        let found = read(doc! {"v": value});
        assert_eq!(found, expected(model, |_, v| v == value), "v {value}");
    }
}

fn run_case(ops: &[Op]) {
    let db = Engine::open(EngineOptions {
        enable_test_commands: true,
        snapshot_history_window_secs: 0,
        ..EngineOptions::default()
    })
    .expect("in-memory engines always open");
    ok(
        &db,
        "m",
        doc! {"createIndexes": "c", "indexes": [{"key": {"v": 1}, "name": "v_1"}]},
    );
    let mut model = Model::new();
    let mut pinned: Option<Pinned> = None;
    for op in ops {
        match op {
            Op::Collect => {
                db.collect_garbage();
            }
            Op::Pin if pinned.is_none() => {
                let mut session = Session::new();
                session.start();
                check(&db, &model, Some(&mut session));
                pinned = Some(Pinned {
                    session,
                    model: model.clone(),
                });
            }
            Op::Unpin => {
                if let Some(mut done) = pinned.take() {
                    ok(&db, "admin", done.session.commit());
                }
            }
            _ => apply(&db, &mut model, op),
        }
        check(&db, &model, None);
        if let Some(pin) = &mut pinned {
            check(&db, &pin.model, Some(&mut pin.session));
        }
    }
    if let Some(mut done) = pinned.take() {
        ok(&db, "admin", done.session.commit());
    }
    for _ in 0..ROUNDS_TO_SETTLE {
        db.collect_garbage();
    }
    let live = model.len();
    let counts = db.storage_counts("m", "c").expect("m.c exists");
    let expected = StorageCounts {
        records: live,
        versions: live,
        index_entries: vec![("v_1".to_owned(), live)],
    };
    assert_eq!(counts, expected, "after {ops:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn gc_model_reads_agree_and_only_live_documents_remain(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        run_case(&ops);
    }
}
