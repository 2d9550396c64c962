//! Transactions through the command layer: isolation, conflicts, the
//! transaction-number state machine, labels.

mod common;

use bson::doc;
use common::{Session, engine, fails, find, ok, run};

const NO_SUCH_TRANSACTION: i32 = 251;
const WRITE_CONFLICT: i32 = 112;
const TTE: &str = "TransientTransactionError";

#[test]
fn transactions_read_their_own_writes_and_hide_them_from_others() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "v": 0}]},
    );
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 1}}}]}),
    );
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "c", "documents": [{"_id": 2}]}),
    );
    let inside = find(&db, "t", s.stmt(doc! {"find": "c", "filter": {}}));
    assert_eq!(inside, vec![doc! {"_id": 1, "v": 1}, doc! {"_id": 2}]);
    let outside = find(&db, "t", doc! {"find": "c", "filter": {}});
    assert_eq!(outside, vec![doc! {"_id": 1, "v": 0}], "no dirty reads");
    ok(&db, "admin", s.commit());
    let after = find(&db, "t", doc! {"find": "c", "filter": {}});
    assert_eq!(after, vec![doc! {"_id": 1, "v": 1}, doc! {"_id": 2}]);
}

#[test]
fn snapshot_is_fixed_at_the_first_statement() {
    let db = engine();
    ok(&db, "t", doc! {"insert": "c", "documents": [{"_id": 1}]});
    let mut s = Session::new();
    s.start();
    assert_eq!(find(&db, "t", s.stmt(doc! {"find": "c"})).len(), 1);
    ok(&db, "t", doc! {"insert": "c", "documents": [{"_id": 2}]});
    assert_eq!(
        find(&db, "t", s.stmt(doc! {"find": "c"})).len(),
        1,
        "repeatable read"
    );
    ok(&db, "admin", s.commit());
}

#[test]
fn first_writer_wins_and_the_loser_is_aborted_with_a_transient_label() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "v": 0}]},
    );
    let (mut a, mut b) = (Session::new(), Session::new());
    a.start();
    b.start();
    let set =
        |v: i32| doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": v}}}]};
    ok(&db, "t", a.stmt(set(1)));
    let (code, labels) = fails(&db, "t", b.stmt(set(2)));
    assert_eq!(code, WRITE_CONFLICT);
    assert_eq!(labels, vec![TTE]);
    let (code, labels) = fails(&db, "t", b.stmt(doc! {"find": "c"}));
    assert_eq!(code, NO_SUCH_TRANSACTION, "later statements of the loser");
    assert_eq!(labels, vec![TTE]);
    let (code, _) = fails(&db, "admin", b.commit());
    assert_eq!(code, NO_SUCH_TRANSACTION);
    ok(&db, "admin", a.commit());
    assert_eq!(
        find(&db, "t", doc! {"find": "c"}),
        vec![doc! {"_id": 1, "v": 1}]
    );
}

#[test]
fn a_write_to_a_document_committed_after_the_snapshot_conflicts() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "v": 0}]},
    );
    let mut s = Session::new();
    s.start();
    find(&db, "t", s.stmt(doc! {"find": "c"}));
    ok(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"v": 1}}}]},
    );
    let (code, labels) = fails(
        &db,
        "t",
        s.stmt(doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"v": 10}}}]}),
    );
    assert_eq!((code, labels), (WRITE_CONFLICT, vec![TTE.to_owned()]));
}

#[test]
fn conflicting_unique_keys_conflict_between_transactions() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"createIndexes": "c", "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": true}]},
    );
    let (mut a, mut b) = (Session::new(), Session::new());
    a.start();
    b.start();
    ok(
        &db,
        "t",
        a.stmt(doc! {"insert": "c", "documents": [{"_id": 1, "email": "x"}]}),
    );
    let (code, labels) = fails(
        &db,
        "t",
        b.stmt(doc! {"insert": "c", "documents": [{"_id": 2, "email": "x"}]}),
    );
    assert_eq!((code, labels), (WRITE_CONFLICT, vec![TTE.to_owned()]));
    ok(&db, "admin", a.commit());
    let (code, _) = fails(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 3, "email": "x"}]},
    );
    assert_eq!(code, 11000);
}

#[test]
fn aborted_transactions_leave_nothing_behind() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"createIndexes": "c", "indexes": [{"key": {"k": 1}, "name": "k_1", "unique": true}]},
    );
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "c", "documents": [{"_id": 1, "k": 1}]}),
    );
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "fresh", "documents": [{"_id": 1}]}),
    );
    ok(&db, "admin", s.abort());
    assert!(find(&db, "t", doc! {"find": "c"}).is_empty());
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 2, "k": 1}]},
    );
    let names = ok(&db, "t", doc! {"listCollections": 1, "nameOnly": true});
    let batch = names
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap();
    assert_eq!(
        batch.len(),
        1,
        "the collection created in the aborted transaction is gone: {names}"
    );
}

#[test]
fn commit_is_idempotent_and_abort_after_commit_fails() {
    let db = engine();
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "c", "documents": [{"_id": 1}]}),
    );
    ok(&db, "admin", s.commit());
    ok(&db, "admin", s.commit());
    let (code, _) = fails(&db, "admin", s.abort());
    assert_eq!(code, 256, "TransactionCommitted");
}

#[test]
fn transaction_numbers_only_go_forward() {
    let db = engine();
    let mut s = Session::new();
    s.txn_number = 5;
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "c", "documents": [{"_id": 1}]}),
    );
    // A higher number aborts the open transaction.
    s.txn_number = 6;
    s.started = false;
    ok(&db, "t", s.stmt(doc! {"find": "c"}));
    assert!(
        find(&db, "t", doc! {"find": "c"}).is_empty(),
        "transaction 5 was aborted"
    );
    s.txn_number = 4;
    s.started = false;
    let (code, _) = fails(&db, "t", s.stmt(doc! {"find": "c"}));
    assert_eq!(code, 225, "TransactionTooOld");
    s.txn_number = 9;
    s.started = true;
    let (code, labels) = fails(&db, "t", s.stmt(doc! {"find": "c"}));
    assert_eq!((code, labels), (NO_SUCH_TRANSACTION, vec![TTE.to_owned()]));
}

#[test]
fn statements_inside_transactions_follow_mongods_option_rules() {
    let db = engine();
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"find": "c", "readConcern": {"level": "snapshot"}}),
    );
    let (code, _) = fails(
        &db,
        "t",
        s.stmt(doc! {"find": "c", "readConcern": {"level": "snapshot"}}),
    );
    assert_eq!(code, 72, "readConcern on a later statement");
    let mut s = Session::new();
    s.start();
    let (code, _) = fails(&db, "t", s.stmt(doc! {"count": "c"}));
    assert_eq!(code, 263, "count is not allowed");
    let mut s = Session::new();
    s.start();
    let (code, _) = fails(
        &db,
        "t",
        s.stmt(doc! {"insert": "c", "documents": [{}], "writeConcern": {"w": 1}}),
    );
    assert_eq!(code, 72, "writeConcern on a statement");
}

#[test]
fn writes_outside_a_transaction_wait_for_it_instead_of_failing() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "v": 0}]},
    );
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"v": 1}}}]}),
    );
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            ok(
                &db,
                "t",
                doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"v": 10}}}]},
            )
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        !writer.is_finished(),
        "the plain write waits for the transaction"
    );
    ok(&db, "admin", s.commit());
    let reply = writer.join().expect("writer thread");
    assert_eq!(reply.get_i32("nModified").ok(), Some(1));
    assert_eq!(
        find(&db, "t", doc! {"find": "c"}),
        vec![doc! {"_id": 1, "v": 11}],
        "no lost update"
    );
}

#[test]
fn a_waiting_write_honours_max_time_ms() {
    let db = engine();
    ok(&db, "t", doc! {"insert": "c", "documents": [{"_id": 1}]});
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"delete": "c", "deletes": [{"q": {"_id": 1}, "limit": 1}]}),
    );
    let (code, _) = fails(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"x": 1}}}], "maxTimeMS": 50},
    );
    assert_eq!(code, 50, "MaxTimeMSExpired");
    ok(&db, "admin", s.abort());
}

#[test]
fn retryable_writes_run_once() {
    let db = engine();
    let lsid = common::lsid();
    let insert = doc! {"insert": "c", "documents": [{"_id": 1}, {"_id": 2}], "lsid": lsid.clone(), "txnNumber": 1i64};
    assert_eq!(ok(&db, "t", insert.clone()).get_i32("n").ok(), Some(2));
    assert_eq!(
        ok(&db, "t", insert).get_i32("n").ok(),
        Some(2),
        "the retry returns the original result"
    );
    let inc = doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}], "lsid": lsid.clone(), "txnNumber": 2i64};
    ok(&db, "t", inc.clone());
    ok(&db, "t", inc);
    assert_eq!(
        find(&db, "t", doc! {"find": "c", "filter": {"_id": 1}}),
        vec![doc! {"_id": 1, "n": 1}]
    );
    let (code, _) = fails(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{}], "lsid": lsid, "txnNumber": 1i64},
    );
    assert_eq!(code, 225);
}

#[test]
fn server_status_counts_transactions_and_retried_writes() {
    let db = engine();
    let status = |db: &engine::Engine| {
        let reply = ok(db, "admin", doc! {"serverStatus": 1});
        let section = reply
            .get_document("transactions")
            .expect("a transactions section")
            .clone();
        let count = |name: &str| section.get_i64(name).unwrap_or(-1);
        [
            "totalStarted",
            "totalCommitted",
            "totalAborted",
            "currentOpen",
            "currentActive",
            "currentInactive",
            "retriedCommandsCount",
            "retriedStatementsCount",
            "transactionsCollectionWriteCount",
        ]
        .map(count)
    };
    assert_eq!(status(&db), [0; 9]);
    ok(&db, "t", doc! {"create": "c"});
    let mut sessions = [Session::new(), Session::new(), Session::new()];
    for (i, s) in sessions.iter_mut().enumerate() {
        s.start();
        ok(
            &db,
            "t",
            s.stmt(doc! {"insert": "c", "documents": [{"_id": i as i32}]}),
        );
    }
    ok(&db, "admin", sessions[0].commit());
    ok(&db, "admin", sessions[1].abort());
    // A third stays open and idle.
    assert_eq!(status(&db), [3, 1, 1, 1, 0, 1, 0, 0, 0]);
    // A failing statement aborts its transaction: _id 0 exists.
    let mut failing = Session::new();
    failing.start();
    fails(
        &db,
        "t",
        failing.stmt(doc! {"insert": "c", "documents": [{"_id": 0}]}),
    );
    assert_eq!(status(&db), [4, 1, 2, 1, 0, 1, 0, 0, 0]);
    // A retryable write of two statements, then its retry.
    let retryable = doc! {"insert": "c", "documents": [{"_id": 10}, {"_id": 11}], "lsid": common::lsid(), "txnNumber": 1_i64};
    ok(&db, "t", retryable.clone());
    ok(&db, "t", retryable);
    assert_eq!(status(&db), [4, 1, 2, 1, 0, 1, 1, 2, 2]);
    ok(&db, "admin", sessions[2].commit());
    assert_eq!(status(&db), [4, 2, 2, 0, 0, 0, 1, 2, 2]);
}

#[test]
fn retryable_writes_refuse_statements_that_change_many_documents() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "x": 1}, {"_id": 2, "x": 1}]},
    );
    let lsid = common::lsid();
    // One case per command: the statement, and mongod's message.
    let cases = [
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"y": 1}}}, {"q": {}, "u": {"$set": {"z": 1}}, "multi": true}]},
            "Cannot use (or request) retryable writes with multi=true",
        ),
        (
            doc! {"delete": "c", "deletes": [{"q": {"x": 1}, "limit": 0}]},
            "Cannot use (or request) retryable writes with limit=0",
        ),
        (
            doc! {"bulkWrite": 1, "ops": [{"update": 0, "filter": {}, "updateMods": {"$set": {"z": 1}}, "multi": true}], "nsInfo": [{"ns": "t.c"}]},
            "Cannot use retryable writes with multi=true",
        ),
    ];
    for (number, (mut command, message)) in cases.into_iter().enumerate() {
        command.insert("lsid", lsid.clone());
        command.insert("txnNumber", number as i64 + 1);
        let db_name = if command.contains_key("bulkWrite") {
            "admin"
        } else {
            "t"
        };
        let reply = run(&db, db_name, command.clone());
        let text = reply.to_string();
        assert!(text.contains(message), "{command}: {text}");
        assert!(text.contains("72"), "InvalidOptions: {text}");
    }
    // The first update statement ran; nothing matched many documents.
    assert_eq!(
        find(&db, "t", doc! {"find": "c", "sort": {"_id": 1}}),
        vec![doc! {"_id": 1, "x": 1, "y": 1}, doc! {"_id": 2, "x": 1}]
    );
    // Without a txnNumber the same statements run.
    let reply = ok(
        &db,
        "t",
        doc! {"delete": "c", "deletes": [{"q": {"x": 1}, "limit": 0}]},
    );
    assert_eq!(reply.get_i32("n").ok(), Some(2), "{reply}");
}

#[test]
fn every_reply_carries_cluster_and_operation_time() {
    let db = engine();
    for body in [
        doc! {"ping": 1},
        doc! {"nosuchcommand": 1},
        doc! {"insert": "c", "documents": [{}]},
    ] {
        let reply = run(&db, "t", body);
        assert!(
            reply
                .get_document("$clusterTime")
                .is_ok_and(|c| c.get_timestamp("clusterTime").is_ok()),
            "{reply}"
        );
        assert!(reply.get_timestamp("operationTime").is_ok(), "{reply}");
    }
    let before = run(&db, "t", doc! {"ping": 1})
        .get_timestamp("operationTime")
        .unwrap();
    let after = run(&db, "t", doc! {"insert": "c", "documents": [{}]})
        .get_timestamp("operationTime")
        .unwrap();
    assert!(
        (after.time, after.increment) > (before.time, before.increment),
        "writes advance the cluster time"
    );
}

#[test]
fn killing_all_sessions_aborts_their_transactions() {
    let db = engine();
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "c", "documents": [{"_id": 1}]}),
    );
    ok(&db, "admin", doc! {"killAllSessions": []});
    let (code, _) = fails(&db, "admin", s.commit());
    assert_eq!(code, NO_SUCH_TRANSACTION);
}

#[test]
fn fail_command_fires_before_the_session_is_touched() {
    let db = engine();
    ok(
        &db,
        "admin",
        doc! {"configureFailPoint": "failCommand", "mode": {"times": 1}, "data": {"failCommands": ["insert"], "errorCode": 112}},
    );
    let mut s = Session::new();
    s.start();
    let (code, labels) = fails(
        &db,
        "t",
        s.stmt(doc! {"insert": "c", "documents": [{"_id": 1}]}),
    );
    assert_eq!((code, labels), (WRITE_CONFLICT, vec![TTE.to_owned()]));
    s.started = false;
    s.txn_number += 1;
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "c", "documents": [{"_id": 1}]}),
    );
    ok(&db, "admin", s.commit());
}

#[test]
fn fail_command_write_concern_errors_apply_after_the_write() {
    let db = engine();
    ok(
        &db,
        "admin",
        doc! {"configureFailPoint": "failCommand", "mode": {"times": 1}, "data": {"failCommands": ["insert"], "writeConcernError": {"code": 91, "errmsg": "Replication is being shut down"}}},
    );
    let reply = ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1}], "lsid": common::lsid(), "txnNumber": 1i64},
    );
    assert_eq!(
        reply
            .get_document("writeConcernError")
            .unwrap()
            .get_i32("code")
            .ok(),
        Some(91)
    );
    assert_eq!(
        reply.get_array("errorLabels").unwrap(),
        &vec![bson::Bson::String("RetryableWriteError".into())]
    );
    assert_eq!(find(&db, "t", doc! {"find": "c"}).len(), 1);
}

#[test]
fn unsatisfiable_write_concern_is_reported_after_applying_the_write() {
    let db = engine();
    let reply = ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1}], "writeConcern": {"w": 2}},
    );
    assert_eq!(
        reply
            .get_document("writeConcernError")
            .unwrap()
            .get_i32("code")
            .ok(),
        Some(100)
    );
    assert_eq!(find(&db, "t", doc! {"find": "c"}).len(), 1);
}

#[test]
fn snapshot_reads_outside_transactions_read_the_past_within_the_window() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1, "v": 1}]},
    );
    let reply = ok(
        &db,
        "t",
        doc! {"find": "c", "readConcern": {"level": "snapshot"}},
    );
    let at = reply
        .get_document("cursor")
        .unwrap()
        .get_timestamp("atClusterTime")
        .expect("atClusterTime");
    ok(
        &db,
        "t",
        doc! {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 2}}}]},
    );
    let past = find(
        &db,
        "t",
        doc! {"find": "c", "readConcern": {"level": "snapshot", "atClusterTime": at}},
    );
    assert_eq!(past, vec![doc! {"_id": 1, "v": 1}]);
    let now = find(&db, "t", doc! {"find": "c"});
    assert_eq!(now, vec![doc! {"_id": 1, "v": 2}]);
    let too_old = bson::Timestamp {
        time: at.time - 3600,
        increment: 0,
    };
    let (code, _) = fails(
        &db,
        "t",
        doc! {"find": "c", "readConcern": {"level": "snapshot", "atClusterTime": too_old}},
    );
    assert_eq!(code, 239, "SnapshotTooOld");
}

#[test]
fn causal_reads_after_a_cluster_time_see_that_write() {
    let db = engine();
    let reply = ok(&db, "t", doc! {"insert": "c", "documents": [{"_id": 1}]});
    let op_time = reply.get_timestamp("operationTime").unwrap();
    let docs = find(
        &db,
        "t",
        doc! {"find": "c", "readConcern": {"afterClusterTime": op_time}},
    );
    assert_eq!(docs.len(), 1);
}

#[test]
fn transactions_past_their_lifetime_limit_are_aborted_by_the_reaper() {
    let db = engine();
    ok(
        &db,
        "admin",
        doc! {"setParameter": 1, "transactionLifetimeLimitSeconds": 1},
    );
    let mut s = Session::new();
    s.start();
    ok(
        &db,
        "t",
        s.stmt(doc! {"insert": "c", "documents": [{"_id": 1}]}),
    );
    // The limit is 1 s and the reaper looks every 250 ms; leave room for a loaded machine.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let (code, labels) = fails(&db, "admin", s.commit());
    assert_eq!((code, labels), (NO_SUCH_TRANSACTION, vec![TTE.to_owned()]));
    assert!(find(&db, "t", doc! {"find": "c"}).is_empty());
    // A plain write that waited on it went through.
    ok(&db, "t", doc! {"insert": "c", "documents": [{"_id": 1}]});
}

#[test]
fn in_process_failpoints_need_no_test_commands_flag() {
    let db = engine::Engine::open(engine::EngineOptions::default()).expect("engine");
    let (code, _) = fails(
        &db,
        "admin",
        doc! {"configureFailPoint": "failCommand", "mode": "alwaysOn"},
    );
    assert_eq!(code, 59, "the command is off without enable_test_commands");
    db.configure_fail_point(&doc! {
        "configureFailPoint": "failCommand",
        "mode": {"times": 2},
        "data": {"failCommands": ["find"], "errorCode": 91, "appName": "mine"},
    })
    .expect("armed");
    let other = engine::ConnectionInfo {
        app_name: Some("other".into()),
        ..Default::default()
    };
    let mine = engine::ConnectionInfo {
        app_name: Some("mine".into()),
        ..Default::default()
    };
    let find_as = |connection: &engine::ConnectionInfo| {
        db.run_command(engine::Request {
            db: "t",
            body: doc! {"find": "c"},
            connection,
        })
        .reply
    };
    assert_eq!(
        find_as(&other).get_f64("ok").ok(),
        Some(1.0),
        "appName filters"
    );
    assert_eq!(find_as(&mine).get_i32("code").ok(), Some(91));
    assert_eq!(find_as(&mine).get_i32("code").ok(), Some(91));
    assert_eq!(
        find_as(&mine).get_f64("ok").ok(),
        Some(1.0),
        "times: 2 is spent"
    );
}

#[test]
fn killed_sessions_lose_their_transaction_and_cursors() {
    let db = engine();
    ok(
        &db,
        "t",
        doc! {"insert": "c", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}]},
    );
    let mut s = Session::new();
    s.start();
    let reply = ok(&db, "t", s.stmt(doc! {"find": "c", "batchSize": 1}));
    let cursor = reply.get_document("cursor").unwrap().get_i64("id").unwrap();
    assert_ne!(cursor, 0);
    ok(&db, "admin", doc! {"killSessions": [s.lsid.clone()]});
    let (code, _) = fails(
        &db,
        "t",
        s.stmt(doc! {"getMore": cursor, "collection": "c"}),
    );
    assert_eq!(code, NO_SUCH_TRANSACTION);
    let (code, _) = fails(&db, "t", doc! {"getMore": cursor, "collection": "c"});
    assert_eq!(code, 43, "CursorNotFound");
}

/// Regression: a plain insert waiting for a transaction that created its
/// collection could miss the abort's wake-up (the collection was removed
/// from the catalog after waiters were woken) and wait forever.
#[test]
fn a_write_waiting_on_a_pending_collection_sees_the_abort() {
    for _ in 0..3_000 {
        let db = engine();
        let mut s = Session::new();
        s.start();
        ok(
            &db,
            "t",
            s.stmt(doc! {"insert": "fresh", "documents": [{"_id": 1}]}),
        );
        let writer = {
            let db = db.clone();
            std::thread::spawn(move || {
                ok(
                    &db,
                    "t",
                    doc! {"insert": "fresh", "documents": [{"_id": 1}], "maxTimeMS": 10_000},
                )
            })
        };
        ok(&db, "admin", s.abort());
        writer.join().expect("the waiting insert finished");
        assert_eq!(find(&db, "t", doc! {"find": "fresh"}).len(), 1);
    }
}
