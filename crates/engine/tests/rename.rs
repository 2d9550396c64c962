//! `renameCollection` through the command layer: what moves (documents,
//! indexes, options), every error mongod gives, transactions, cursors,
//! restarts, and writers racing a rename.

mod common;

use std::collections::BTreeSet;

use bson::{Bson, Document, doc};
use common::{Session, engine, fails, find, ok, run};
use engine::Engine;

fn rename(db: &Engine, from: &str, to: &str) -> Document {
    ok(db, "admin", doc! {"renameCollection": from, "to": to})
}

fn names(db: &Engine, database: &str) -> Vec<String> {
    find(db, database, doc! {"listCollections": 1, "nameOnly": true})
        .iter()
        .filter_map(|c| c.get_str("name").ok().map(str::to_owned))
        .collect()
}

fn info(db: &Engine, database: &str, name: &str) -> Document {
    find(
        db,
        database,
        doc! {"listCollections": 1, "filter": {"name": name}},
    )
    .pop()
    .unwrap_or_else(|| panic!("{database}.{name} is listed"))
}

fn index_names(db: &Engine, database: &str, name: &str) -> Vec<String> {
    find(db, database, doc! {"listIndexes": name})
        .iter()
        .filter_map(|i| i.get_str("name").ok().map(str::to_owned))
        .collect()
}

/// A collection `t.a` with two documents, an index and a validator.
fn populated() -> Engine {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"create": "a", "validator": {"n": {"$type": "int"}}},
    );
    ok(
        &db,
        "t",
        doc! {"insert": "a", "documents": [{"_id": 1, "n": 1}, {"_id": 2, "n": 2}]},
    );
    ok(
        &db,
        "t",
        doc! {"createIndexes": "a", "indexes": [{"key": {"n": 1}, "name": "n_1", "unique": true}]},
    );
    db
}

/// What a renamed collection must hold: the documents, the unique index
/// (enforced), and the validator (enforced).
fn check_moved(db: &Engine, database: &str, name: &str) {
    assert_eq!(
        find(db, database, doc! {"find": name, "sort": {"_id": 1}}),
        vec![doc! {"_id": 1, "n": 1}, doc! {"_id": 2, "n": 2}]
    );
    assert_eq!(index_names(db, database, name), vec!["_id_", "n_1"]);
    let options = info(db, database, name)
        .get_document("options")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        options.get_document("validator").ok(),
        Some(&doc! {"n": {"$type": "int"}})
    );
    let (code, _) = fails(
        db,
        database,
        doc! {"insert": name, "documents": [{"_id": 3, "n": 1}]},
    );
    assert_eq!(code, 11000, "the unique index moved with the collection");
    let (code, _) = fails(
        db,
        database,
        doc! {"insert": name, "documents": [{"_id": 4, "n": "x"}]},
    );
    assert_eq!(code, 121, "the validator moved with the collection");
}

fn check_source_gone(db: &Engine, database: &str, name: &str) {
    assert!(!names(db, database).contains(&name.to_owned()));
    assert!(find(db, database, doc! {"find": name}).is_empty());
}

fn uuid(db: &Engine, database: &str, name: &str) -> Bson {
    info(db, database, name)
        .get_document("info")
        .ok()
        .and_then(|i| i.get("uuid").cloned())
        .expect("info.uuid")
}

#[test]
fn rename_within_a_database_moves_documents_indexes_and_options() {
    let db = populated();
    let before = uuid(&db, "t", "a");
    let reply = rename(&db, "t.a", "t.b");
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
    check_moved(&db, "t", "b");
    check_source_gone(&db, "t", "a");
    assert_eq!(uuid(&db, "t", "b"), before, "same database keeps the uuid");
}

#[test]
fn rename_across_databases_moves_everything_and_drops_the_source() {
    let db = populated();
    let before = uuid(&db, "t", "a");
    rename(&db, "t.a", "u.b");
    check_moved(&db, "u", "b");
    check_source_gone(&db, "t", "a");
    let databases = ok(&db, "admin", doc! {"listDatabases": 1, "nameOnly": true});
    let listed: Vec<&str> = databases
        .get_array("databases")
        .expect("databases")
        .iter()
        .filter_map(|d| d.as_document()?.get_str("name").ok())
        .collect();
    assert!(
        !listed.contains(&"t"),
        "the emptied database is gone: {listed:?}"
    );
    assert_ne!(uuid(&db, "u", "b"), before, "mongod copies: a new uuid");
}

#[test]
fn rename_then_the_old_name_is_free_for_a_new_collection() {
    let db = populated();
    rename(&db, "t.a", "t.b");
    ok(&db, "t", doc! {"insert": "a", "documents": [{"_id": 9}]});
    assert_eq!(find(&db, "t", doc! {"find": "a"}), vec![doc! {"_id": 9}]);
    assert_eq!(index_names(&db, "t", "a"), vec!["_id_"]);
    check_moved(&db, "t", "b");
}

#[test]
fn rename_with_drop_target_replaces_the_target() {
    let db = populated();
    ok(
        &db,
        "t",
        doc! {"insert": "b", "documents": [{"_id": 1, "old": true}, {"_id": 7}]},
    );
    ok(
        &db,
        "admin",
        doc! {"renameCollection": "t.a", "to": "t.b", "dropTarget": true},
    );
    check_moved(&db, "t", "b");
    check_source_gone(&db, "t", "a");
    // dropTarget with no target is a plain rename.
    ok(
        &db,
        "admin",
        doc! {"renameCollection": "t.b", "to": "u.c", "dropTarget": true},
    );
    check_moved(&db, "u", "c");
}

/// Runs a rename on `database` that must fail with `code`; the source
/// `t.a` is untouched.
fn check_error(database: &str, body: Document, code: i32) {
    let db = populated();
    ok(&db, "t", doc! {"insert": "b", "documents": [{"_id": 1}]});
    ok(
        &db,
        "t",
        doc! {"create": "v", "viewOn": "a", "pipeline": []},
    );
    let (got, _) = fails(&db, database, body.clone());
    assert_eq!(got, code, "{body}");
    check_moved(&db, "t", "a");
}

#[test]
fn rename_errors_are_mongods() {
    let cases: Vec<(&str, Document, i32)> = vec![
        // renameCollection is adminOnly: Unauthorized.
        ("t", doc! {"renameCollection": "t.a", "to": "t.c"}, 13),
        // NamespaceNotFound, for a missing collection and a missing database.
        ("admin", doc! {"renameCollection": "t.zz", "to": "t.c"}, 26),
        (
            "admin",
            doc! {"renameCollection": "nodb.a", "to": "t.c"},
            26,
        ),
        // NamespaceExists without dropTarget, within and across databases.
        ("admin", doc! {"renameCollection": "t.a", "to": "t.b"}, 48),
        (
            "admin",
            doc! {"renameCollection": "t.a", "to": "t.b", "dropTarget": false},
            48,
        ),
        // A view as target is NamespaceExists even with dropTarget.
        (
            "admin",
            doc! {"renameCollection": "t.a", "to": "t.v", "dropTarget": true},
            48,
        ),
        // Renaming a view: CommandNotSupportedOnView.
        ("admin", doc! {"renameCollection": "t.v", "to": "t.w"}, 166),
        // To itself: IllegalOperation.
        ("admin", doc! {"renameCollection": "t.a", "to": "t.a"}, 20),
        // Invalid namespaces: InvalidNamespace.
        ("admin", doc! {"renameCollection": "t.a", "to": "nodot"}, 73),
        ("admin", doc! {"renameCollection": "t.a", "to": "t."}, 73),
        ("admin", doc! {"renameCollection": "t.a", "to": "b d.c"}, 73),
        ("admin", doc! {"renameCollection": "a", "to": "t.c"}, 73),
        // Names users may not write: IllegalOperation.
        (
            "admin",
            doc! {"renameCollection": "t.a", "to": "t.system.c"},
            20,
        ),
        ("admin", doc! {"renameCollection": "t.a", "to": "t.c$d"}, 20),
        (
            "admin",
            doc! {"renameCollection": "t.a", "to": "admin.system.users"},
            20,
        ),
        // IDL errors: missing and mistyped fields, unknown fields.
        ("admin", doc! {"renameCollection": "t.a"}, 40414),
        ("admin", doc! {"renameCollection": "t.a", "to": 1}, 14),
        ("admin", doc! {"renameCollection": 1, "to": "t.c"}, 14),
        (
            "admin",
            doc! {"renameCollection": "t.a", "to": "t.c", "dropTarget": "yes"},
            14,
        ),
        (
            "admin",
            doc! {"renameCollection": "t.a", "to": "t.c", "bogus": 1},
            40415,
        ),
    ];
    for (database, body, code) in cases {
        check_error(database, body, code);
    }
}

#[test]
fn rename_error_messages_are_mongods() {
    let db = populated();
    ok(&db, "t", doc! {"insert": "b", "documents": [{}]});
    let message = |body: Document| {
        run(&db, "admin", body)
            .get_str("errmsg")
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert_eq!(
        message(doc! {"renameCollection": "t.zz", "to": "t.c"}),
        "Source collection t.zz does not exist"
    );
    assert_eq!(
        message(doc! {"renameCollection": "t.a", "to": "t.b"}),
        "target namespace exists"
    );
    assert_eq!(
        message(doc! {"renameCollection": "t.a", "to": "t.a"}),
        "Can't rename a collection to itself"
    );
    assert_eq!(
        message(doc! {"renameCollection": "t.a", "to": "nodot"}),
        "Invalid target namespace: nodot"
    );
}

#[test]
fn rename_is_refused_inside_a_transaction() {
    let db = populated();
    let mut s = Session::new();
    s.start();
    ok(&db, "t", s.stmt(doc! {"find": "a"}));
    let (code, _) = fails(
        &db,
        "admin",
        s.stmt(doc! {"renameCollection": "t.a", "to": "t.c"}),
    );
    assert_eq!(code, 263, "OperationNotSupportedInTransaction");
    check_moved(&db, "t", "a");
}

#[test]
fn rename_kills_cursors_over_the_source() {
    let db = populated();
    let reply = ok(&db, "t", doc! {"find": "a", "batchSize": 1});
    let id = reply
        .get_document("cursor")
        .and_then(|c| c.get_i64("id"))
        .expect("cursor id");
    assert_ne!(id, 0);
    rename(&db, "t.a", "t.b");
    let (code, _) = fails(&db, "t", doc! {"getMore": id, "collection": "a"});
    assert_eq!(code, 43, "CursorNotFound: the cursor was killed");
}

#[test]
fn an_open_transactions_writes_to_the_source_land_in_the_renamed_collection() {
    let db = populated();
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "a", "documents": [{"_id": 5, "n": 5}]}),
    );
    rename(&db, "t.a", "u.b");
    ok(&db, "admin", s.commit());
    assert_eq!(
        find(&db, "u", doc! {"find": "b", "sort": {"_id": 1}}),
        vec![
            doc! {"_id": 1, "n": 1},
            doc! {"_id": 2, "n": 2},
            doc! {"_id": 5, "n": 5}
        ]
    );
    check_source_gone(&db, "t", "a");
}

#[test]
fn rename_onto_a_collection_an_open_transaction_is_creating_is_a_write_conflict() {
    let db = populated();
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "b", "documents": [{"_id": 1}]}),
    );
    let (code, _) = fails(
        &db,
        "admin",
        doc! {"renameCollection": "t.a", "to": "t.b", "dropTarget": true},
    );
    assert_eq!(code, 112, "WriteConflict");
    ok(&db, "admin", s.commit());
    check_moved(&db, "t", "a");
    assert_eq!(find(&db, "t", doc! {"find": "b"}), vec![doc! {"_id": 1}]);
}

/// Renames within a database, across databases and onto an existing
/// target, with writes before and after each, then checks the result;
/// `checkpoint` takes a checkpoint between the renames and the restart.
fn check_restart(name: &str, checkpoint: bool) {
    let dir = common::temp_dir(&format!("rename-{name}"));
    let expected = |db: &Engine| {
        assert_eq!(
            find(db, "u", doc! {"find": "c", "sort": {"_id": 1}}),
            vec![
                doc! {"_id": 1, "n": 1},
                doc! {"_id": 2, "n": 2},
                doc! {"_id": 3, "n": 3}
            ]
        );
        assert_eq!(index_names(db, "u", "c"), vec!["_id_", "n_1"]);
        let options = info(db, "u", "c")
            .get_document("options")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            options.get_document("validator").ok(),
            Some(&doc! {"n": {"$type": "int"}})
        );
        assert_eq!(find(db, "t", doc! {"find": "a"}), vec![doc! {"_id": 10}]);
        assert_eq!(names(db, "t"), vec!["a"]);
        assert_eq!(names(db, "u"), vec!["c"]);
    };
    {
        let db = common::open_dir(&dir);
        ok(
            &db,
            "t",
            doc! {"create": "a", "validator": {"n": {"$type": "int"}}},
        );
        ok(
            &db,
            "t",
            doc! {"insert": "a", "documents": [{"_id": 1, "n": 1}, {"_id": 2, "n": 2}]},
        );
        ok(
            &db,
            "t",
            doc! {"createIndexes": "a", "indexes": [{"key": {"n": 1}, "name": "n_1"}]},
        );
        rename(&db, "t.a", "t.b");
        ok(
            &db,
            "u",
            doc! {"insert": "c", "documents": [{"_id": 1, "replaced": true}]},
        );
        ok(
            &db,
            "admin",
            doc! {"renameCollection": "t.b", "to": "u.c", "dropTarget": true},
        );
        ok(
            &db,
            "u",
            doc! {"insert": "c", "documents": [{"_id": 3, "n": 3}]},
        );
        ok(&db, "t", doc! {"insert": "a", "documents": [{"_id": 10}]});
        if checkpoint {
            db.checkpoint().expect("checkpoint");
        }
        expected(&db);
    }
    let db = common::open_dir(&dir);
    expected(&db);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn renames_survive_a_restart_from_the_journal() {
    check_restart("journal", false);
}

#[test]
fn renames_survive_a_restart_after_a_checkpoint() {
    check_restart("checkpoint", true);
}

/// Every `_id` in every collection of `t`, with how often it occurs.
fn all_ids(db: &Engine) -> Vec<i64> {
    let mut ids = Vec::new();
    for name in names(db, "t") {
        for doc in find(db, "t", doc! {"find": name, "batchSize": 1_000_000}) {
            ids.push(doc.get_i64("_id").expect("i64 _id"));
        }
    }
    ids.sort_unstable();
    ids
}

/// Writers insert into `t.src` while renames move it away again and again.
/// The rule: each acknowledged insert lands in exactly one collection —
/// the renamed one if the writer found `src` before the rename, or a new
/// `src` created after it — never in both, never in neither; and the
/// journal agrees after a restart.
#[test]
fn writers_racing_renames_lose_and_duplicate_nothing() {
    check_race("race", false);
}

/// The same race with checkpoints taken meanwhile: each checkpoint's
/// collection names are those at its timestamp, so renames after it
/// replay onto the right collections.
#[test]
fn writers_racing_renames_and_checkpoints_lose_and_duplicate_nothing() {
    check_race("race-checkpoint", true);
}

fn check_race(name: &str, checkpoints: bool) {
    const WRITERS: i64 = 4;
    const INSERTS: i64 = 150;
    const RENAMES: usize = 20;
    let dir = common::temp_dir(&format!("rename-{name}"));
    let acknowledged: BTreeSet<i64> = {
        let db = common::open_dir(&dir);
        ok(&db, "t", doc! {"create": "src"});
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let db = db.clone();
                std::thread::spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0..INSERTS {
                        let id = w * 1_000_000 + i;
                        let reply = run(
                            &db,
                            "t",
                            doc! {"insert": "src", "documents": [{"_id": id}], "writeConcern": {"w": 1}},
                        );
                        if reply.get_f64("ok").ok() == Some(1.0)
                            && reply.get_i32("n").ok() == Some(1)
                        {
                            acked.push(id);
                        }
                    }
                    acked
                })
            })
            .collect();
        let renaming = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let checkpointer = checkpoints.then(|| {
            let (db, renaming) = (db.clone(), renaming.clone());
            std::thread::spawn(move || {
                while renaming.load(std::sync::atomic::Ordering::SeqCst) {
                    db.checkpoint().expect("checkpoint");
                }
            })
        });
        for r in 0..RENAMES {
            let reply = run(
                &db,
                "admin",
                doc! {"renameCollection": "t.src", "to": format!("t.dst{r}")},
            );
            // The source may be missing for a moment, until a writer
            // creates it again.
            let code = reply.get_i32("code").unwrap_or(0);
            assert!(
                reply.get_f64("ok").ok() == Some(1.0) || code == 26,
                "{reply}"
            );
            std::thread::yield_now();
        }
        renaming.store(false, std::sync::atomic::Ordering::SeqCst);
        if let Some(checkpointer) = checkpointer {
            checkpointer.join().expect("checkpointer");
        }
        let acked: BTreeSet<i64> = writers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect();
        assert_eq!(acked.len() as i64, WRITERS * INSERTS, "every insert acked");
        assert_eq!(all_ids(&db), acked.iter().copied().collect::<Vec<_>>());
        acked
    };
    let db = common::open_dir(&dir);
    assert_eq!(
        all_ids(&db),
        acknowledged.into_iter().collect::<Vec<_>>(),
        "the journal replays every insert into the collection it landed in"
    );
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One step of the model test: a rename, or an insert that may create
/// its collection again.
#[derive(Debug, Clone)]
enum Step {
    Rename {
        from: usize,
        to: usize,
        drop_target: bool,
    },
    Insert {
        into: usize,
    },
}

/// The namespaces the model test moves documents between.
const SPACES: &[(&str, &str)] = &[("t", "a"), ("t", "b"), ("u", "a"), ("u", "c")];

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0..SPACES.len(), 0..SPACES.len(), any::<bool>()).prop_map(|(from, to, drop_target)| {
            Step::Rename { from, to, drop_target }
        }),
        1 => (0..SPACES.len()).prop_map(|into| Step::Insert { into }),
    ]
}

/// Every namespace's `_id`s, in namespace order.
fn state(db: &Engine) -> Vec<Vec<i32>> {
    SPACES
        .iter()
        .map(|(database, coll)| {
            find(db, database, doc! {"find": *coll, "sort": {"_id": 1}})
                .iter()
                .map(|d| d.get_i32("_id").expect("i32 _id"))
                .collect()
        })
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]

    /// Renames behave as the manual describes them: the source's documents
    /// move whole to the target (replacing it only with dropTarget), a
    /// missing source is NamespaceNotFound, an existing target without
    /// dropTarget is NamespaceExists, a rename to itself IllegalOperation.
    #[test]
    fn renames_move_documents_as_the_manual_says(steps in proptest::collection::vec(step(), 1..12)) {
        let db = engine();
        let mut model: Vec<Vec<i32>> = vec![vec![1, 2], vec![3], vec![], vec![4]];
        for (i, (database, coll)) in SPACES.iter().enumerate() {
            for id in &model[i] {
                ok(&db, database, doc! {"insert": *coll, "documents": [{"_id": *id}]});
            }
        }
        let mut next_id = 100;
        for step in steps {
            match step {
                Step::Insert { into } => {
                    let (database, coll) = SPACES[into];
                    ok(&db, database, doc! {"insert": coll, "documents": [{"_id": next_id}]});
                    model[into].push(next_id);
                    next_id += 1;
                }
                Step::Rename { from, to, drop_target } => {
                    let (from_db, from_coll) = SPACES[from];
                    let (to_db, to_coll) = SPACES[to];
                    let reply = run(&db, "admin", doc! {
                        "renameCollection": format!("{from_db}.{from_coll}"),
                        "to": format!("{to_db}.{to_coll}"),
                        "dropTarget": drop_target,
                    });
                    let code = reply.get_i32("code").unwrap_or(0);
                    // A collection exists in the model while it has documents:
                    // every collection here is created by its first insert.
                    let expected = if from == to {
                        20
                    } else if model[from].is_empty() {
                        26
                    } else if !model[to].is_empty() && !drop_target {
                        48
                    } else {
                        model[to] = std::mem::take(&mut model[from]);
                        0
                    };
                    proptest::prop_assert_eq!(code, expected, "{}", reply);
                }
            }
            proptest::prop_assert_eq!(&state(&db), &model);
        }
    }
}
