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

/// A checkpoint, then one more commit, so that recovery reads both the
/// checkpoint and a journal record after it.
fn checkpoint_then_commit_more(db: &Engine) {
    db.checkpoint().expect("checkpoint");
    ok(
        db,
        "app",
        doc! {"insert": "other", "documents": [{"_id": 1}]},
    );
}

/// What a session's retried `commitTransaction`, a late `abortTransaction`
/// and an older statement get from `db`, as codes (0 for ok).
fn retried_outcomes(db: &Engine, session: &mut Session) -> [i32; 3] {
    let code = |reply: bson::Document| match reply.get_f64("ok") {
        Ok(1.0) => 0,
        _ => reply.get_i32("code").unwrap_or(-1),
    };
    let commit = code(common::run(db, "admin", session.commit()));
    let abort = code(common::run(db, "admin", session.abort()));
    let mut older = session.stmt(doc! {"find": "c"});
    older.insert("txnNumber", session.txn_number - 1);
    older.remove("startTransaction");
    [commit, abort, code(common::run(db, "app", older))]
}

#[test]
fn a_commit_retried_after_a_restart_is_answered_as_committed() {
    // mongod keeps transaction outcomes in config.transactions; without
    // them a retried commit gets NoSuchTransaction, whose
    // TransientTransactionError label makes withTransaction run the whole
    // transaction again: twice applied. Each case: whether a checkpoint
    // covers the commit before the restart.
    for checkpoint in [false, true] {
        let dir = common::temp_dir(&format!("durability-retried-commit-{checkpoint}"));
        let mut session = Session::new();
        let mut reader = Session::new();
        {
            let db = common::open_dir(&dir);
            for id in 1..=2 {
                session.start();
                ok(
                    &db,
                    "app",
                    session.stmt(doc! {"insert": "c", "documents": [{"_id": id}]}),
                );
                ok(&db, "admin", session.commit());
            }
            // A transaction that only read commits with no record.
            reader.start();
            ok(&db, "app", reader.stmt(doc! {"find": "c"}));
            ok(&db, "admin", reader.commit());
            if checkpoint {
                checkpoint_then_commit_more(&db);
            }
        }
        let db = common::open_dir(&dir);
        // TransactionCommitted 256, TransactionTooOld 225.
        assert_eq!(
            retried_outcomes(&db, &mut session),
            [0, 256, 225],
            "checkpoint {checkpoint}"
        );
        assert_eq!(find(&db, "app", doc! {"find": "c"}).len(), 2);
        // Nothing was written: nothing to answer for but NoSuchTransaction.
        let reply = common::run(&db, "admin", reader.commit());
        assert_eq!(reply.get_i32("code").ok(), Some(251), "{reply}");
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The fields of a write reply a retry must repeat.
fn write_result(reply: &bson::Document) -> bson::Document {
    let mut result = bson::Document::new();
    for field in [
        "ok",
        "n",
        "nModified",
        "upserted",
        "writeErrors",
        "nInserted",
        "nMatched",
        "nUpserted",
        "nDeleted",
    ] {
        if let Some(value) = reply.get(field) {
            result.insert(field, value.clone());
        }
    }
    result
}

#[test]
fn a_retryable_write_retried_after_a_restart_runs_once() {
    // mongod keeps each statement's result in config.transactions with its
    // write; without it a retry after a restart runs again: an $inc twice.
    // Each case: whether a checkpoint covers the writes before the restart.
    for checkpoint in [false, true] {
        let dir = common::temp_dir(&format!("durability-retried-write-{checkpoint}"));
        // One session per write (a session keeps its latest write's
        // results), each write its own txnNumber 1.
        let writes = [
            (
                "app",
                doc! {"insert": "c", "documents": [{"_id": 2}, {"_id": 3}]},
            ),
            (
                "app",
                doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}]},
            ),
            (
                "app",
                doc! {"update": "c", "updates": [{"q": {"_id": 9}, "u": {"$inc": {"n": 1}}, "upsert": true}]},
            ),
            (
                "app",
                doc! {"delete": "c", "deletes": [{"q": {"_id": 3}, "limit": 1}]},
            ),
            (
                "admin",
                doc! {"bulkWrite": 1, "ops": [
                    {"insert": 0, "document": {"_id": 20, "n": 0}},
                    {"update": 0, "filter": {"_id": 20}, "updateMods": {"$inc": {"n": 1}}},
                ], "nsInfo": [{"ns": "app.c"}]},
            ),
            (
                "app",
                doc! {"findAndModify": "c", "query": {"_id": 30}, "update": {"$inc": {"n": 1}}, "new": true, "fields": {"_id": 0}},
            ),
            (
                "app",
                doc! {"findAndModify": "c", "query": {"_id": 31}, "update": {"$inc": {"n": 1}}, "upsert": true},
            ),
            (
                "app",
                doc! {"findAndModify": "c", "query": {"_id": 32}, "remove": true},
            ),
        ];
        let commands: Vec<(&str, bson::Document)> = writes
            .into_iter()
            .map(|(db, mut command)| {
                command.insert("lsid", common::lsid());
                command.insert("txnNumber", 1_i64);
                (db, command)
            })
            .collect();
        let mut first = Vec::new();
        {
            let db = common::open_dir(&dir);
            ok(
                &db,
                "app",
                doc! {"insert": "c", "documents": [{"_id": 1, "n": 0}, {"_id": 30, "n": 0}, {"_id": 32}]},
            );
            for (name, command) in &commands {
                first.push(write_result(&ok(&db, name, command.clone())));
            }

            if checkpoint {
                checkpoint_then_commit_more(&db);
            }
        }
        let db = common::open_dir(&dir);
        for ((name, command), first) in commands.iter().zip(&first) {
            let retried = write_result(&ok(&db, name, command.clone()));
            assert_eq!(&retried, first, "checkpoint {checkpoint}: {command}");
        }
        assert_eq!(
            find(&db, "app", doc! {"find": "c", "sort": {"_id": 1}}),
            vec![
                doc! {"_id": 1, "n": 1},
                doc! {"_id": 2},
                doc! {"_id": 9, "n": 1},
                doc! {"_id": 20, "n": 1},
                doc! {"_id": 30, "n": 1},
                doc! {"_id": 31, "n": 1},
            ],
            "checkpoint {checkpoint}: every write applied once"
        );
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
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
