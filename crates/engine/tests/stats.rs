//! Collection statistics through the command layer, against mongod 8.0's
//! reply shapes: the `$collStats` stage (mongosh's `db.coll.stats()`,
//! `dataSize()`, `totalSize()`) and the legacy `collStats` command. mongod
//! appends counts and sizes with `appendNumber`: int32 when they fit.
//!
//! Expected sizes are worked out by hand from BSON's encoding: `{_id: 1}`
//! is 4 (length) + 1 (type) + 4 ("_id\0") + 4 (int32) + 1 (end) = 14 bytes;
//! `{_id: 2, s: "ab"}` adds 1 + 2 ("s\0") + 4 (length) + 3 ("ab\0") = 24.
//! Index sizes are Rotor's documented estimate, each entry's key as a BSON
//! document: `_id_` keys are 14 bytes each; `s_1` keys are `{s: null}` =
//! 4 + 1 + 2 + 1 = 8 bytes and `{s: "ab"}` = 15.
//!
//! Also `rolesInfo` (mongosh's `db.getRoles()`, `db.getRole()`) over the
//! built-in roles, and who may run it and `collStats` with auth on.

mod common;

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};
use common::{engine, fails, find, ok};
use engine::{ConnectionInfo, Engine, EngineOptions, Request};
use scram::{ClientConversation, Mechanism};

const BAD_VALUE: i32 = 2;
const NAMESPACE_NOT_FOUND: i32 = 26;
const COMMAND_NOT_SUPPORTED_ON_VIEW: i32 = 166;
const UNKNOWN_FIELD: i32 = 40415;
const NOT_FIRST: i32 = 40602;

/// Checks that `actual` holds every field of `expected` with its value and type.
fn check(actual: &Document, expected: Document) {
    for (field, value) in &expected {
        assert_eq!(actual.get(field), Some(value), "{field} in {actual}");
    }
}

/// The one document `$collStats: spec` gives on `shop.coll`.
fn coll_stats(engine: &Engine, coll: &str, spec: Document) -> Document {
    let mut out = find(
        engine,
        "shop",
        doc! {"aggregate": coll, "pipeline": [{"$collStats": spec}], "cursor": {}},
    );
    assert_eq!(out.len(), 1, "{out:?}");
    out.remove(0)
}

/// `shop.a` with {_id: 1}, {_id: 2, s: "ab"} and an index on `s`.
fn seeded() -> Engine {
    let db = engine();
    ok(
        &db,
        "shop",
        doc! {"insert": "a", "documents": [{"_id": 1}, {"_id": 2, "s": "ab"}]},
    );
    ok(
        &db,
        "shop",
        doc! {"createIndexes": "a", "indexes": [{"key": {"s": 1}, "name": "s_1"}]},
    );
    db
}

fn seeded_storage_stats() -> Document {
    doc! {
        "size": 38,
        "count": 2,
        "avgObjSize": 19,
        "storageSize": 38,
        "capped": false,
        "nindexes": 2,
        "totalIndexSize": 51,
        "totalSize": 89,
        "indexSizes": {"_id_": 28, "s_1": 23},
        "scaleFactor": 1,
    }
}

#[test]
fn collstats_stage_reports_storage_stats_and_count() {
    let db = seeded();
    let out = coll_stats(&db, "a", doc! {"storageStats": {}, "count": {}});
    check(&out, doc! {"ns": "shop.a", "count": 2});
    assert!(matches!(out.get("localTime"), Some(Bson::DateTime(_))));
    check(
        out.get_document("storageStats").expect("storageStats"),
        seeded_storage_stats(),
    );
}

#[test]
fn collstats_stage_follows_deletes_and_inserts() {
    let db = seeded();
    ok(
        &db,
        "shop",
        doc! {"delete": "a", "deletes": [{"q": {"_id": 2}, "limit": 1}]},
    );
    ok(&db, "shop", doc! {"insert": "a", "documents": [{"_id": 3}]});
    let out = coll_stats(&db, "a", doc! {"storageStats": {}, "count": {}});
    check(&out, doc! {"count": 2});
    check(
        out.get_document("storageStats").expect("storageStats"),
        doc! {"size": 28, "count": 2, "avgObjSize": 14, "indexSizes": {"_id_": 28, "s_1": 16}},
    );
}

#[test]
fn collstats_stage_scales_sizes_but_not_counts_or_average() {
    let out = coll_stats(&seeded(), "a", doc! {"storageStats": {"scale": 10}});
    check(
        out.get_document("storageStats").expect("storageStats"),
        doc! {
            "size": 3, "count": 2, "avgObjSize": 19, "storageSize": 3,
            "totalIndexSize": 5, "totalSize": 8,
            "indexSizes": {"_id_": 2, "s_1": 2}, "scaleFactor": 10,
        },
    );
}

#[test]
fn collstats_stage_output_feeds_later_stages() {
    let out = find(
        &seeded(),
        "shop",
        doc! {"aggregate": "a", "pipeline": [
            {"$collStats": {"storageStats": {}}},
            {"$project": {"_id": 0, "size": "$storageStats.size"}},
        ], "cursor": {}},
    );
    assert_eq!(out, vec![doc! {"size": 38}]);
}

#[test]
fn collstats_stage_with_only_latency_stats_gives_zeros() {
    let out = coll_stats(&seeded(), "a", doc! {"latencyStats": {}});
    assert!(out.get("storageStats").is_none());
    check(
        out.get_document("latencyStats").expect("latencyStats"),
        doc! {"reads": {"latency": 0i64, "ops": 0i64}},
    );
}

/// `(pipeline on shop.<coll>, expected error code)`.
fn check_refused(coll: &str, pipeline: Vec<Document>, code: i32) {
    let db = seeded();
    ok(
        &db,
        "shop",
        doc! {"create": "v", "viewOn": "a", "pipeline": []},
    );
    let (got, _) = fails(
        &db,
        "shop",
        doc! {"aggregate": coll, "pipeline": pipeline.clone(), "cursor": {}},
    );
    assert_eq!(got, code, "{pipeline:?} on {coll}");
}

#[test]
fn collstats_stage_refusals_match_mongod() {
    check_refused(
        "missing",
        vec![doc! {"$collStats": {"storageStats": {}}}],
        NAMESPACE_NOT_FOUND,
    );
    check_refused(
        "missing",
        vec![doc! {"$collStats": {"count": {}}}],
        NAMESPACE_NOT_FOUND,
    );
    check_refused(
        "a",
        vec![doc! {"$match": {}}, doc! {"$collStats": {"count": {}}}],
        NOT_FIRST,
    );
    check_refused("a", vec![doc! {"$collStats": {"bogus": {}}}], UNKNOWN_FIELD);
    check_refused(
        "a",
        vec![doc! {"$collStats": {"storageStats": {"scale": 0}}}],
        BAD_VALUE,
    );
    check_refused(
        "v",
        vec![doc! {"$collStats": {"storageStats": {}}}],
        COMMAND_NOT_SUPPORTED_ON_VIEW,
    );
}

#[test]
fn collstats_command_is_storage_stats_with_ns() {
    let reply = ok(&seeded(), "shop", doc! {"collStats": "a"});
    let mut expected = doc! {"ns": "shop.a", "ok": 1.0};
    expected.extend(seeded_storage_stats());
    check(&reply, expected);
}

#[test]
fn collstats_command_takes_a_scale() {
    let reply = ok(&seeded(), "shop", doc! {"collStats": "a", "scale": 2});
    check(
        &reply,
        doc! {"size": 19, "totalIndexSize": 25, "totalSize": 44, "scaleFactor": 2},
    );
}

#[test]
fn collstats_command_on_a_missing_collection_is_zeros() {
    let reply = ok(&seeded(), "shop", doc! {"collStats": "missing"});
    check(
        &reply,
        doc! {"ns": "shop.missing", "size": 0, "count": 0, "nindexes": 0, "totalSize": 0},
    );
}

#[test]
fn collstats_command_refuses_views_and_bad_scales() {
    let db = seeded();
    ok(
        &db,
        "shop",
        doc! {"create": "v", "viewOn": "a", "pipeline": []},
    );
    for (body, code) in [
        (doc! {"collStats": "v"}, COMMAND_NOT_SUPPORTED_ON_VIEW),
        (doc! {"collStats": "a", "scale": -1}, BAD_VALUE),
    ] {
        assert_eq!(fails(&db, "shop", body.clone()).0, code, "{body}");
    }
}

/// Runs `rolesInfo` on `db` and checks the `(role, db)` pairs it lists.
fn check_roles(db: &str, body: Document, expected: &[(&str, &str)]) {
    let reply = ok(&engine(), db, body.clone());
    let roles: Vec<(String, String)> = reply
        .get_array("roles")
        .expect("roles")
        .iter()
        .filter_map(Bson::as_document)
        .map(|r| {
            assert_eq!(r.get_bool("isBuiltin").ok(), Some(true), "{r}");
            assert_eq!(r.get_array("roles").map(Vec::len).ok(), Some(0), "{r}");
            (
                r.get_str("role").expect("role").to_owned(),
                r.get_str("db").expect("db").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(r, d)| ((*r).to_owned(), (*d).to_owned()))
        .collect();
    assert_eq!(roles, expected, "{body}");
}

#[test]
fn rolesinfo_accepts_each_form_of_its_argument() {
    check_roles("test", doc! {"rolesInfo": "read"}, &[("read", "test")]);
    check_roles(
        "test",
        doc! {"rolesInfo": {"role": "root", "db": "admin"}},
        &[("root", "admin")],
    );
    check_roles(
        "test",
        doc! {"rolesInfo": ["readWrite", {"role": "clusterMonitor", "db": "admin"}]},
        &[("readWrite", "test"), ("clusterMonitor", "admin")],
    );
    // Only user-defined roles by default, and Rotor has none.
    check_roles("test", doc! {"rolesInfo": 1}, &[]);
    check_roles(
        "test",
        doc! {"rolesInfo": 1, "showBuiltinRoles": true},
        &[
            ("dbAdmin", "test"),
            ("dbOwner", "test"),
            ("read", "test"),
            ("readWrite", "test"),
            ("userAdmin", "test"),
        ],
    );
}

#[test]
fn rolesinfo_leaves_out_unknown_roles() {
    check_roles("test", doc! {"rolesInfo": "nosuch"}, &[]);
    // Admin-only roles exist only on admin.
    check_roles("test", doc! {"rolesInfo": "root"}, &[]);
    check_roles(
        "test",
        doc! {"rolesInfo": ["nosuch", "read"]},
        &[("read", "test")],
    );
}

#[test]
fn rolesinfo_shows_privileges_by_resource() {
    let reply = ok(
        &engine(),
        "test",
        doc! {"rolesInfo": ["read", {"role": "clusterMonitor", "db": "admin"}], "showPrivileges": true},
    );
    let roles = reply.get_array("roles").expect("roles");
    let read = roles[0].as_document().expect("read");
    let expected = bson::bson!([{
        "resource": {"db": "test", "collection": ""},
        "actions": ["find", "listCollections", "listIndexes"],
    }]);
    assert_eq!(read.get("privileges"), Some(&expected), "{read}");
    assert_eq!(read.get("inheritedPrivileges"), Some(&expected), "{read}");
    let monitor = roles[1].as_document().expect("clusterMonitor");
    let expected = bson::bson!([{
        "resource": {"cluster": true},
        "actions": ["listDatabases", "listSessions", "serverStatus"],
    }]);
    assert_eq!(monitor.get("privileges"), Some(&expected), "{monitor}");
    let plain = ok(&engine(), "test", doc! {"rolesInfo": "read"});
    let plain = plain.get_array("roles").expect("roles")[0].clone();
    assert!(
        plain
            .as_document()
            .is_some_and(|r| !r.contains_key("privileges"))
    );
}

#[test]
fn rolesinfo_refuses_malformed_arguments() {
    for body in [
        doc! {"rolesInfo": 2},
        doc! {"rolesInfo": {"role": "read"}},
        doc! {"rolesInfo": [3]},
    ] {
        assert_eq!(
            fails(&engine(), "test", body.clone()).0,
            BAD_VALUE,
            "{body}"
        );
    }
}

/// Runs `body` on `db` over `connection` and gives the reply.
fn run_as(engine: &Engine, connection: &ConnectionInfo, db: &str, body: Document) -> Document {
    engine
        .run_command(Request {
            db,
            body,
            connection,
        })
        .reply
}

/// Logs `connection` in as `user` (password `<user>pw`) on `db` with SCRAM-SHA-256.
fn login(engine: &Engine, connection: &ConnectionInfo, db: &str, user: &str) {
    let mechanism = Mechanism::ScramSha256;
    let mut client =
        ClientConversation::new(mechanism, user, &format!("{user}pw")).expect("client");
    let bytes = |reply: &Document| match reply.get("payload") {
        Some(Bson::Binary(b)) => b.bytes.clone(),
        other => panic!("payload is binary: {other:?} in {reply}"),
    };
    let binary = |bytes: Vec<u8>| {
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes,
        })
    };
    let mut reply = run_as(
        engine,
        connection,
        db,
        doc! {"saslStart": 1, "mechanism": mechanism.name(), "payload": binary(client.client_first())},
    );
    while reply.get_bool("done").ok() != Some(true) {
        let answer = client
            .step(&bytes(&reply))
            .expect("the server proves itself");
        let id = reply.get_i32("conversationId").expect("conversationId");
        reply = run_as(
            engine,
            connection,
            db,
            doc! {"saslContinue": 1, "conversationId": id, "payload": binary(answer)},
        );
    }
}

#[test]
fn rolesinfo_is_open_to_user_admins_and_to_a_user_about_its_own_roles() {
    let db = Engine::open(EngineOptions {
        auth: true,
        ..EngineOptions::default()
    })
    .expect("in-memory engines always open");
    let local = ConnectionInfo {
        peer: Some("127.0.0.1:50000".to_owned()),
        ..ConnectionInfo::default()
    };
    // The localhost exception creates the first user.
    run_as(
        &db,
        &local,
        "test",
        doc! {"createUser": "ua", "pwd": "uapw", "roles": ["userAdmin"]},
    );
    login(&db, &local, "test", "ua");
    run_as(
        &db,
        &local,
        "test",
        doc! {"createUser": "rw", "pwd": "rwpw", "roles": ["readWrite"]},
    );
    // (user, command on test, allowed)
    let cases = [
        ("ua", doc! {"rolesInfo": "dbAdmin"}, true),
        ("ua", doc! {"rolesInfo": 1, "showBuiltinRoles": true}, true),
        (
            "rw",
            doc! {"rolesInfo": "readWrite", "showPrivileges": true},
            true,
        ),
        ("rw", doc! {"rolesInfo": "dbAdmin"}, false),
        ("rw", doc! {"rolesInfo": 1}, false),
        ("rw", doc! {"collStats": "c"}, true),
        ("ua", doc! {"collStats": "c"}, false),
    ];
    for (user, body, allowed) in cases {
        let connection = ConnectionInfo {
            peer: Some("10.1.2.3:50000".to_owned()),
            ..ConnectionInfo::default()
        };
        login(&db, &connection, "test", user);
        let reply = run_as(&db, &connection, "test", body.clone());
        let expected = if allowed { 1.0 } else { 0.0 };
        assert_eq!(
            reply.get_f64("ok").ok(),
            Some(expected),
            "{user}: {body} -> {reply}"
        );
        if !allowed {
            assert_eq!(reply.get_i32("code").ok(), Some(13), "{reply}");
        }
    }
}
