//! On-disk engines: what was acknowledged survives a restart, transactions
//! recover whole, checkpoints bound the log, and the catalog is durable.

mod common;

use bson::doc;
use common::{Session, find, ok};
use engine::{Engine, EngineOptions, Storage};

#[test]
fn acknowledged_writes_survive_a_restart() {
    let dir = common::temp_dir("durability-restart");
    {
        let db = common::open_dir(&dir);
        ok(
            &db,
            "app",
            doc! {"insert": "items", "documents": [{"_id": 1, "n": 1}, {"_id": 2, "n": 2}]},
        );
        ok(
            &db,
            "app",
            doc! {"update": "items", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 10}}}]},
        );
        ok(
            &db,
            "app",
            doc! {"delete": "items", "deletes": [{"q": {"_id": 2}, "limit": 1}]},
        );
        ok(
            &db,
            "app",
            doc! {"createIndexes": "items", "indexes": [{"key": {"n": 1}, "name": "n_1", "unique": true}]},
        );
        ok(&db, "app", doc! {"create": "empty"});
    }
    let db = common::open_dir(&dir);
    assert_eq!(
        find(&db, "app", doc! {"find": "items"}),
        vec![doc! {"_id": 1, "n": 11}]
    );
    let indexes = find(&db, "app", doc! {"listIndexes": "items"});
    assert_eq!(indexes.len(), 2, "the unique index is back: {indexes:?}");
    let (code, _) = common::fails(
        &db,
        "app",
        doc! {"insert": "items", "documents": [{"_id": 3, "n": 11}]},
    );
    assert_eq!(code, 11000, "and it is enforced");
    let names = find(&db, "app", doc! {"listCollections": 1, "nameOnly": true});
    assert_eq!(
        names.len(),
        2,
        "the empty collection is durable too: {names:?}"
    );
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn transactions_recover_whole_and_aborted_ones_not_at_all() {
    let dir = common::temp_dir("durability-txn");
    {
        let db = common::open_dir(&dir);
        let mut s = Session::new();
        s.start();
        ok(
            &db,
            "app",
            s.stmt(doc! {"insert": "orders", "documents": [{"_id": 1}]}),
        );
        ok(
            &db,
            "app",
            s.stmt(doc! {"insert": "inventory", "documents": [{"_id": "abc", "qty": 100}]}),
        );
        ok(&db, "admin", s.commit());
        s.start();
        ok(
            &db,
            "app",
            s.stmt(doc! {"insert": "orders", "documents": [{"_id": 2}]}),
        );
        ok(&db, "admin", s.abort());
        s.start();
        // Left open when the engine closes.
        ok(
            &db,
            "app",
            s.stmt(doc! {"insert": "orders", "documents": [{"_id": 3}]}),
        );
    }
    let db = common::open_dir(&dir);
    assert_eq!(
        find(&db, "app", doc! {"find": "orders"}),
        vec![doc! {"_id": 1}]
    );
    assert_eq!(
        find(&db, "app", doc! {"find": "inventory"}),
        vec![doc! {"_id": "abc", "qty": 100}]
    );
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn checkpoints_cover_the_log_and_recovery_continues_after_them() {
    let dir = common::temp_dir("durability-checkpoint");
    {
        let db = common::open_dir(&dir);
        for i in 0..50 {
            ok(
                &db,
                "app",
                doc! {"insert": "c", "documents": [{"_id": i, "v": i}]},
            );
        }
        ok(
            &db,
            "app",
            doc! {"createIndexes": "c", "indexes": [{"key": {"v": 1}, "name": "v_1"}]},
        );
        db.checkpoint().expect("checkpoint");
        ok(
            &db,
            "app",
            doc! {"update": "c", "updates": [{"q": {"_id": 0}, "u": {"$set": {"v": 100}}}]},
        );
        ok(&db, "app", doc! {"drop": "gone"});
        ok(
            &db,
            "app",
            doc! {"insert": "after", "documents": [{"_id": 1}]},
        );
    }
    let db = common::open_dir(&dir);
    let docs = find(
        &db,
        "app",
        doc! {"find": "c", "filter": {"v": {"$gte": 49}}, "sort": {"v": 1}},
    );
    assert_eq!(
        docs,
        vec![doc! {"_id": 49, "v": 49}, doc! {"_id": 0, "v": 100}]
    );
    assert_eq!(find(&db, "app", doc! {"find": "after"}).len(), 1);
    assert_eq!(find(&db, "app", doc! {"listIndexes": "c"}).len(), 2);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_engine_on_the_same_directory_is_refused() {
    let dir = common::temp_dir("durability-lock");
    let first = common::open_dir(&dir);
    let second = Engine::open(EngineOptions {
        storage: Storage::Directory(dir.clone()),
        ..EngineOptions::default()
    });
    let error = second.err().expect("the directory is locked");
    assert!(error.to_string().contains("in use"), "{error}");
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}
