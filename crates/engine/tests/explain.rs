//! `explain` through the command layer: the plan reported is the planner's
//! real choice, the execution counts are the real work, and explaining a
//! write changes nothing.

mod common;

use bson::{Bson, Document, doc};
use common::{engine, fails, ok, run};
use engine::Engine;

/// `c` holds `{_id: i, k: i % 10, s: "s<i>"}` for i in 0..100, with
/// indexes `k_1` on k and `s_-1` on s descending.
fn loaded() -> Engine {
    let db = engine();
    let docs: Vec<Document> = (0..100)
        .map(|i| doc! {"_id": i, "k": i % 10, "s": format!("s{i}")})
        .collect();
    ok(&db, "x", doc! {"insert": "c", "documents": docs});
    ok(
        &db,
        "x",
        doc! {"createIndexes": "c", "indexes": [{"key": {"k": 1}, "name": "k_1"}, {"key": {"s": -1}, "name": "s_-1"}]},
    );
    db
}

fn explain(db: &Engine, inner: Document, verbosity: &str) -> Document {
    ok(db, "x", doc! {"explain": inner, "verbosity": verbosity})
}

/// The chain of stage names from the top, following `inputStage`.
fn stage_names(mut stage: &Document) -> Vec<String> {
    let mut names = Vec::new();
    loop {
        names.push(stage.get_str("stage").unwrap_or("?").to_owned());
        match stage.get_document("inputStage") {
            Ok(inner) => stage = inner,
            Err(_) => return names,
        }
    }
}

/// The first stage named `name` in the chain.
fn stage<'a>(mut top: &'a Document, name: &str) -> &'a Document {
    loop {
        if top.get_str("stage").ok() == Some(name) {
            return top;
        }
        top = top
            .get_document("inputStage")
            .unwrap_or_else(|_| panic!("no {name} stage"));
    }
}

fn winning(reply: &Document) -> &Document {
    reply
        .get_document("queryPlanner")
        .and_then(|q| q.get_document("winningPlan"))
        .expect("queryPlanner.winningPlan")
}

/// (filter, stages top-down, index name, bounds on its field)
type PlanCase = (
    Document,
    &'static [&'static str],
    Option<&'static str>,
    Vec<&'static str>,
);

#[test]
fn explain_find_reports_the_access_path_the_planner_chose() {
    let db = loaded();
    let cases: Vec<PlanCase> = vec![
        (doc! {}, &["COLLSCAN"], None, vec![]),
        (doc! {"s2": 1}, &["COLLSCAN"], None, vec![]),
        (doc! {"_id": 7}, &["IDHACK"], None, vec![]),
        // Another condition beside `_id` needs a FETCH filter, not IDHACK.
        (
            doc! {"_id": 7, "k": 7},
            &["FETCH", "IXSCAN"],
            Some("_id_"),
            vec!["[7, 7]"],
        ),
        (
            doc! {"_id": {"$in": [3, 1]}},
            &["FETCH", "IXSCAN"],
            Some("_id_"),
            vec!["[1, 1]", "[3, 3]"],
        ),
        (
            doc! {"k": 4},
            &["FETCH", "IXSCAN"],
            Some("k_1"),
            vec!["[4, 4]"],
        ),
        (
            doc! {"k": {"$in": [5, 2, 5]}},
            &["FETCH", "IXSCAN"],
            Some("k_1"),
            vec!["[2, 2]", "[5, 5]"],
        ),
        (
            doc! {"k": {"$gt": 3}},
            &["FETCH", "IXSCAN"],
            Some("k_1"),
            vec!["(3, inf.0]"],
        ),
        (
            doc! {"k": {"$gte": 2, "$lt": 5}},
            &["FETCH", "IXSCAN"],
            Some("k_1"),
            vec!["[2, 5)"],
        ),
        (
            doc! {"k": {"$lte": 2.5}},
            &["FETCH", "IXSCAN"],
            Some("k_1"),
            vec!["[-inf.0, 2.5]"],
        ),
        (
            doc! {"s": "s5"},
            &["FETCH", "IXSCAN"],
            Some("s_-1"),
            vec!["[\"s5\", \"s5\"]"],
        ),
        // Equality beats a range, as the planner ranks them.
        (
            doc! {"s": {"$gt": "s9"}, "k": 1},
            &["FETCH", "IXSCAN"],
            Some("k_1"),
            vec!["[1, 1]"],
        ),
        // Values an index cannot answer exactly are not planned.
        (doc! {"k": null}, &["COLLSCAN"], None, vec![]),
        (doc! {"k": {"$ne": 1}}, &["COLLSCAN"], None, vec![]),
    ];
    for (filter, stages, index, bounds) in cases {
        let reply = explain(
            &db,
            doc! {"find": "c", "filter": filter.clone()},
            "queryPlanner",
        );
        let plan = winning(&reply);
        assert_eq!(stage_names(plan), stages, "filter {filter}: {plan}");
        if let Some(index) = index {
            let scan = stage(plan, "IXSCAN");
            assert_eq!(
                scan.get_str("indexName").ok(),
                Some(index),
                "filter {filter}"
            );
            let field = scan
                .get_document("keyPattern")
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone();
            let got: Vec<&str> = scan
                .get_document("indexBounds")
                .unwrap()
                .get_array(&field)
                .unwrap()
                .iter()
                .filter_map(Bson::as_str)
                .collect();
            assert_eq!(got, bounds, "filter {filter}");
            assert_eq!(scan.get_str("direction").ok(), Some("forward"));
        }
    }
}

#[test]
fn explain_under_a_collation_skips_indexes_for_strings_as_the_planner_does() {
    let db = loaded();
    let collation = doc! {"locale": "en", "strength": 2};
    let cases = [
        (doc! {"s": "S5"}, vec!["COLLSCAN"]),
        (doc! {"k": 3}, vec!["FETCH", "IXSCAN"]),
    ];
    for (filter, stages) in cases {
        let reply = explain(
            &db,
            doc! {"find": "c", "filter": filter.clone(), "collation": collation.clone()},
            "queryPlanner",
        );
        assert_eq!(stage_names(winning(&reply)), stages, "filter {filter}");
    }
}

#[test]
fn explain_execution_stats_count_the_real_work() {
    let db = loaded();
    // (find, nReturned, totalKeysExamined, totalDocsExamined)
    let cases = [
        (doc! {"find": "c"}, 100, 0, 100),
        (doc! {"find": "c", "filter": {"k": 4}}, 10, 10, 10),
        (
            doc! {"find": "c", "filter": {"k": 4, "s": "s14"}},
            1,
            10,
            10,
        ),
        (doc! {"find": "c", "filter": {"_id": 7}}, 1, 1, 1),
        (doc! {"find": "c", "filter": {"_id": 700}}, 0, 1, 0),
        (doc! {"find": "c", "filter": {"k": {"$gte": 8}}}, 20, 20, 20),
        (doc! {"find": "c", "filter": {"s2": 1}}, 0, 0, 100),
        // A limit without a sort stops the scan early.
        (doc! {"find": "c", "limit": 5}, 5, 0, 5),
        (doc! {"find": "c", "skip": 3, "limit": 5}, 5, 0, 8),
        // A sort must see every match first.
        (doc! {"find": "c", "sort": {"s": 1}, "limit": 5}, 5, 0, 100),
        (doc! {"find": "c", "filter": {"k": 1}, "skip": 8}, 2, 10, 10),
        (doc! {"find": "nosuch"}, 0, 0, 0),
    ];
    for (find, returned, keys, docs) in cases {
        let reply = explain(&db, find.clone(), "executionStats");
        let stats = reply
            .get_document("executionStats")
            .expect("executionStats");
        assert_eq!(stats.get_bool("executionSuccess").ok(), Some(true));
        let got = (
            count(stats, "nReturned").unwrap(),
            count(stats, "totalKeysExamined").unwrap(),
            count(stats, "totalDocsExamined").unwrap(),
        );
        assert_eq!(got, (returned, keys, docs), "{find}: {stats}");
        let top = stats.get_document("executionStages").unwrap();
        assert_eq!(count(top, "nReturned"), Some(returned), "{find}: {top}");
    }
}

#[test]
fn explain_find_wraps_sort_skip_limit_and_projection_stages() {
    let db = loaded();
    let cases: Vec<(Document, &[&str])> = vec![
        (doc! {"find": "c", "sort": {"s": 1}}, &["SORT", "COLLSCAN"]),
        (doc! {"find": "c", "limit": 3}, &["LIMIT", "COLLSCAN"]),
        (doc! {"find": "c", "skip": 3}, &["SKIP", "COLLSCAN"]),
        (
            doc! {"find": "c", "skip": 1, "limit": 3, "projection": {"s": 1}},
            &["PROJECTION_SIMPLE", "LIMIT", "SKIP", "COLLSCAN"],
        ),
        (
            doc! {"find": "c", "filter": {"k": 2}, "sort": {"s": -1}, "limit": 2},
            &["SORT", "FETCH", "IXSCAN"],
        ),
    ];
    for (find, stages) in cases {
        let reply = explain(&db, find.clone(), "queryPlanner");
        assert_eq!(stage_names(winning(&reply)), stages, "{find}");
    }
}

#[test]
fn explain_verbosity_decides_whether_execution_stats_appear() {
    let db = loaded();
    let inner = doc! {"find": "c", "filter": {"k": 1}};
    let cases = [
        (Some("queryPlanner"), false),
        (Some("executionStats"), true),
        (Some("allPlansExecution"), true),
        (None, true),
    ];
    for (verbosity, has_stats) in cases {
        let mut body = doc! {"explain": inner.clone()};
        if let Some(v) = verbosity {
            body.insert("verbosity", v);
        }
        let reply = ok(&db, "x", body);
        assert_eq!(
            reply.contains_key("executionStats"),
            has_stats,
            "{verbosity:?}"
        );
        assert_eq!(reply.get_str("explainVersion").ok(), Some("1"));
        let planner = reply.get_document("queryPlanner").unwrap();
        assert_eq!(planner.get_str("namespace").ok(), Some("x.c"));
        assert_eq!(planner.get_bool("indexFilterSet").ok(), Some(false));
        assert_eq!(
            planner.get_document("parsedQuery").ok(),
            Some(&doc! {"k": {"$eq": 1}})
        );
        assert_eq!(
            planner.get_array("rejectedPlans").map(Vec::len).ok(),
            Some(0)
        );
        let mut command = inner.clone();
        command.insert("$db", "x");
        assert_eq!(reply.get_document("command").ok(), Some(&command));
        let server = reply.get_document("serverInfo").unwrap();
        for field in ["host", "port", "version", "gitVersion"] {
            assert!(server.contains_key(field), "serverInfo.{field}");
        }
    }
}

#[test]
fn explain_of_writes_changes_nothing() {
    let db = loaded();
    // (explained write, top stage, its count field, would-be count)
    let cases = [
        (
            doc! {"delete": "c", "deletes": [{"q": {"k": 3}, "limit": 0}]},
            "DELETE",
            "nWouldDelete",
            10,
        ),
        (
            doc! {"delete": "c", "deletes": [{"q": {"k": 3}, "limit": 1}]},
            "DELETE",
            "nWouldDelete",
            1,
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"k": 3}, "u": {"$set": {"z": 1}}, "multi": true}]},
            "UPDATE",
            "nMatched",
            10,
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 5}, "u": {"z": 1}}]},
            "UPDATE",
            "nMatched",
            1,
        ),
        (
            doc! {"update": "c", "updates": [{"q": {"_id": 500}, "u": {"z": 1}, "upsert": true}]},
            "UPDATE",
            "nWouldUpsert",
            1,
        ),
        (
            doc! {"findAndModify": "c", "query": {"k": 3}, "remove": true},
            "DELETE",
            "nWouldDelete",
            1,
        ),
        (
            doc! {"findAndModify": "c", "query": {"k": 3}, "update": {"$inc": {"k": 1}}, "sort": {"s": 1}},
            "UPDATE",
            "nMatched",
            1,
        ),
    ];
    let before = common::find(&db, "x", doc! {"find": "c", "batchSize": 1000});
    for (write, top, field, expected) in cases {
        for verbosity in ["queryPlanner", "executionStats", "allPlansExecution"] {
            let reply = explain(&db, write.clone(), verbosity);
            assert_eq!(winning(&reply).get_str("stage").ok(), Some(top), "{write}");
            if verbosity != "queryPlanner" {
                let stages = reply
                    .get_document("executionStats")
                    .and_then(|s| s.get_document("executionStages"))
                    .unwrap();
                assert_eq!(count(stages, field), Some(expected), "{write}: {stages}");
            }
        }
    }
    let after = common::find(&db, "x", doc! {"find": "c", "batchSize": 1000});
    assert_eq!(before, after, "explain must never write");
    let upserted = common::find(&db, "x", doc! {"find": "c", "filter": {"_id": 500}});
    assert!(upserted.is_empty());
}

#[test]
fn explain_of_count_distinct_and_aggregate_shows_their_stages() {
    let db = loaded();
    let reply = explain(
        &db,
        doc! {"count": "c", "query": {"k": 2}},
        "executionStats",
    );
    assert_eq!(stage_names(winning(&reply)), ["COUNT", "FETCH", "IXSCAN"]);
    let stages = reply
        .get_document("executionStats")
        .and_then(|s| s.get_document("executionStages"))
        .unwrap();
    assert_eq!(count(stages, "nCounted"), Some(10));

    let reply = explain(
        &db,
        doc! {"distinct": "c", "key": "s", "query": {"_id": {"$lt": 3}}},
        "queryPlanner",
    );
    assert_eq!(
        stage_names(winning(&reply)),
        ["PROJECTION_SIMPLE", "COLLSCAN"]
    );

    let pipeline = vec![
        doc! {"$match": {"k": 4}},
        doc! {"$group": {"_id": null, "n": {"$sum": 1}}},
    ];
    let reply = explain(
        &db,
        doc! {"aggregate": "c", "pipeline": pipeline, "cursor": {}},
        "executionStats",
    );
    let stages = reply.get_array("stages").expect("stages");
    assert_eq!(stages.len(), 2);
    let cursor = stages[0]
        .as_document()
        .unwrap()
        .get_document("$cursor")
        .unwrap();
    let plan = cursor
        .get_document("queryPlanner")
        .unwrap()
        .get_document("winningPlan")
        .unwrap();
    assert_eq!(stage_names(plan), ["FETCH", "IXSCAN"]);
    let stats = cursor.get_document("executionStats").unwrap();
    assert_eq!(count(stats, "totalDocsExamined"), Some(10));
    // mongod appends counts as ints when they fit (shells show `10`, not
    // `Long('10')`).
    assert_eq!(stats.get("totalDocsExamined"), Some(&Bson::Int32(10)));
    assert!(stages[1].as_document().unwrap().contains_key("$group"));
}

#[test]
fn explain_errors_are_mongods() {
    let db = loaded();
    let cases = [
        (doc! {"explain": {"insert": "c", "documents": []}}, 59),
        (doc! {"explain": {"nosuch": "c"}}, 59),
        (doc! {"explain": {"find": "c"}, "verbosity": "loud"}, 2),
        (doc! {"explain": {"find": "c"}, "verbosity": 1}, 14),
        (doc! {"explain": 1}, 14),
        // The inner command's own parse errors pass through.
        (doc! {"explain": {"find": "c", "filter": {"$bogus": 1}}}, 2),
        (doc! {"explain": {"find": "c", "limit": -1}}, 51024),
        (doc! {"explain": {"find": "c", "nosuchfield": 1}}, 40415),
        (doc! {"explain": {"delete": "c", "deletes": []}}, 16),
    ];
    for (body, code) in cases {
        assert_eq!(
            fails(&db, "x", body.clone()).0,
            code,
            "{body}: {}",
            run(&db, "x", body.clone())
        );
    }
}

#[test]
fn explain_is_refused_in_a_transaction() {
    let db = loaded();
    let mut session = common::Session::new();
    session.start();
    ok(
        &db,
        "x",
        session.stmt(doc! {"find": "c", "filter": {"_id": 1}}),
    );
    let body = session.stmt(doc! {"explain": {"find": "c"}});
    assert_eq!(fails(&db, "x", body).0, 263);
    ok(&db, "x", session.abort());
}

/// A connection from `peer`, logged in as `user` on `db` if given.
fn connection(peer: &str) -> engine::ConnectionInfo {
    engine::ConnectionInfo {
        peer: Some(peer.to_owned()),
        ..engine::ConnectionInfo::default()
    }
}

fn run_as(db: &Engine, conn: &engine::ConnectionInfo, body: Document) -> Document {
    db.run_command(engine::Request {
        db: "x",
        body,
        connection: conn,
    })
    .reply
}

/// SCRAM-SHA-256 through saslStart/saslContinue, as a driver logs in.
fn login(db: &Engine, conn: &engine::ConnectionInfo, auth_db: &str, user: &str, pwd: &str) {
    use scram::{ClientConversation, Mechanism};
    let binary = |bytes: Vec<u8>| {
        Bson::Binary(bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes,
        })
    };
    let payload = |reply: &Document| match reply.get("payload") {
        Some(Bson::Binary(b)) => b.bytes.clone(),
        other => panic!("payload is binary: {other:?}"),
    };
    let mut client = ClientConversation::new(Mechanism::ScramSha256, user, pwd).expect("client");
    let run = |body| {
        db.run_command(engine::Request {
            db: auth_db,
            body,
            connection: conn,
        })
        .reply
    };
    let mut reply = run(
        doc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": binary(client.client_first())},
    );
    while reply.get_bool("done").ok() != Some(true) {
        assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "login: {reply}");
        let answer = client.step(&payload(&reply)).expect("server proof");
        let id = reply.get_i32("conversationId").expect("conversationId");
        reply = run(doc! {"saslContinue": 1, "conversationId": id, "payload": binary(answer)});
    }
}

#[test]
fn explain_needs_what_the_explained_command_needs() {
    let db = Engine::open(engine::EngineOptions {
        auth: true,
        ..engine::EngineOptions::default()
    })
    .expect("in-memory engines always open");
    let admin = connection("127.0.0.1:50000");
    let create = |body: Document, on: &str| {
        let reply = db
            .run_command(engine::Request {
                db: on,
                body,
                connection: &admin,
            })
            .reply;
        assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{reply}");
    };
    create(
        doc! {"createUser": "admin", "pwd": "adminpw", "roles": ["root"]},
        "admin",
    );
    login(&db, &admin, "admin", "admin", "adminpw");
    create(
        doc! {"createUser": "reader", "pwd": "readerpw", "roles": [{"role": "read", "db": "x"}]},
        "admin",
    );
    let reader = connection("10.1.2.3:50000");
    login(&db, &reader, "admin", "reader", "readerpw");
    // (explained command, whether a read-only user may explain it)
    let cases = [
        (doc! {"find": "c"}, true),
        (doc! {"count": "c"}, true),
        (doc! {"distinct": "c", "key": "a"}, true),
        (doc! {"aggregate": "c", "pipeline": [], "cursor": {}}, true),
        (
            doc! {"delete": "c", "deletes": [{"q": {}, "limit": 0}]},
            false,
        ),
        (
            doc! {"update": "c", "updates": [{"q": {}, "u": {"a": 1}}]},
            false,
        ),
        (doc! {"findAndModify": "c", "remove": true}, false),
        (doc! {"explain": {"find": "c"}}, false),
    ];
    for (inner, allowed) in cases {
        let reply = run_as(&db, &reader, doc! {"explain": inner.clone()});
        match allowed {
            true => assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{inner}: {reply}"),
            false => assert_eq!(reply.get_i32("code").ok(), Some(13), "{inner}: {reply}"),
        }
        let reply = run_as(&db, &admin, doc! {"explain": inner.clone()});
        let root_ok = !inner.contains_key("explain");
        assert_eq!(
            reply.get_f64("ok").ok() == Some(1.0),
            root_ok,
            "root {inner}: {reply}"
        );
    }
}

#[test]
fn explain_filters_show_what_the_access_path_did_not_answer() {
    let db = loaded();
    // (filter, stage carrying the filter, its filter: None when absent)
    let cases = [
        (
            doc! {"k": 4, "s": "s14"},
            "FETCH",
            Some(doc! {"s": {"$eq": "s14"}}),
        ),
        (doc! {"k": 4}, "FETCH", None),
        (
            doc! {"s2": {"$gt": 1}},
            "COLLSCAN",
            Some(doc! {"s2": {"$gt": 1}}),
        ),
        (
            doc! {"a": 1, "b": 2},
            "COLLSCAN",
            Some(doc! {"$and": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]}),
        ),
        (doc! {}, "COLLSCAN", None),
    ];
    for (filter, name, expected) in cases {
        let reply = explain(
            &db,
            doc! {"find": "c", "filter": filter.clone()},
            "queryPlanner",
        );
        let got = stage(winning(&reply), name)
            .get_document("filter")
            .ok()
            .cloned();
        assert_eq!(got, expected, "filter {filter}");
    }
}

/// A filter on `k` (indexed), `_id` or `n` (not indexed) under one operator.
fn any_filter() -> impl proptest::strategy::Strategy<Value = Document> {
    use proptest::prelude::*;
    let field = prop::sample::select(vec!["k", "_id", "n"]);
    let op = prop::sample::select(vec!["$eq", "$gt", "$gte", "$lt", "$lte", "$in", "$ne"]);
    (field, op, -2i32..110, -2i32..110).prop_map(|(field, op, a, b)| match op {
        "$in" => doc! {field: {"$in": [a, b]}},
        op => doc! {field: {op: a}},
    })
}

proptest::proptest! {
    /// Whatever the filter, explain's counts are what the same find does:
    /// the documents it returns and the documents the engine examined.
    #[test]
    fn explain_counts_equal_the_real_finds_work(filter in any_filter(), limit in 0i64..30) {
        let db = loaded();
        let find = doc! {"find": "c", "filter": filter.clone(), "limit": limit, "batchSize": 1000};
        let before = db.metrics();
        let returned = common::find(&db, "x", find.clone()).len() as i64;
        let after = db.metrics();
        let reply = explain(&db, find, "executionStats");
        let stats = reply.get_document("executionStats").unwrap();
        proptest::prop_assert_eq!(count(stats, "nReturned"), Some(returned));
        let docs = (after.docs_examined - before.docs_examined) as i64;
        let keys = (after.keys_examined - before.keys_examined) as i64;
        proptest::prop_assert_eq!(count(stats, "totalDocsExamined"), Some(docs));
        proptest::prop_assert_eq!(count(stats, "totalKeysExamined"), Some(keys));
    }
}

/// A count in an explain reply: mongod appends an int when it fits, else a
/// long.
fn count(doc: &Document, field: &str) -> Option<i64> {
    match doc.get(field)? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        _ => None,
    }
}
