//! Authentication, authorization and session ownership with
//! `EngineOptions::auth`, through the command layer as a server's
//! connections drive it: each `Conn` is one connection with its own
//! authentication state, and logs in with SCRAM as a driver does.

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};
use engine::{ConnectionInfo, Engine, EngineOptions, Request, Storage};
use scram::{ClientConversation, Mechanism};

const LOCAL: &str = "127.0.0.1:50000";
const REMOTE: &str = "10.1.2.3:50000";

fn auth_engine() -> Engine {
    Engine::open(EngineOptions {
        auth: true,
        ..EngineOptions::default()
    })
    .expect("in-memory engines always open")
}

/// One connection.
struct Conn<'a> {
    engine: &'a Engine,
    info: ConnectionInfo,
}

impl<'a> Conn<'a> {
    fn new(engine: &'a Engine, peer: &str) -> Conn<'a> {
        Conn {
            engine,
            info: ConnectionInfo {
                peer: Some(peer.to_owned()),
                ..ConnectionInfo::default()
            },
        }
    }

    fn run(&self, db: &str, body: Document) -> Document {
        self.engine
            .run_command(Request {
                db,
                body,
                connection: &self.info,
            })
            .reply
    }

    fn ok(&self, db: &str, body: Document) -> Document {
        let reply = self.run(db, body.clone());
        assert_eq!(
            reply.get_f64("ok").ok(),
            Some(1.0),
            "{body} failed: {reply}"
        );
        reply
    }

    /// The error code and message of a command that must fail.
    fn fails(&self, db: &str, body: Document) -> (i32, String) {
        let reply = self.run(db, body.clone());
        assert_eq!(
            reply.get_f64("ok").ok(),
            Some(0.0),
            "{body} should fail: {reply}"
        );
        (
            reply.get_i32("code").expect("code"),
            reply.get_str("errmsg").unwrap_or_default().to_owned(),
        )
    }

    /// SCRAM through saslStart/saslContinue; the failing reply's code, if any.
    fn login_with(
        &self,
        mechanism: Mechanism,
        db: &str,
        user: &str,
        password: &str,
    ) -> Result<(), i32> {
        let mut client = ClientConversation::new(mechanism, user, password).expect("client");
        let mut reply = self.run(
            db,
            doc! {"saslStart": 1, "mechanism": mechanism.name(), "payload": binary(client.client_first()), "autoAuthorize": 1},
        );
        loop {
            if reply.get_f64("ok").ok() != Some(1.0) {
                return Err(reply.get_i32("code").expect("code"));
            }
            if reply.get_bool("done").ok() == Some(true) {
                return Ok(());
            }
            let server = payload(&reply);
            let answer = client.step(&server).expect("the server proves itself");
            let id = reply.get_i32("conversationId").expect("conversationId");
            reply = self.run(
                db,
                doc! {"saslContinue": 1, "conversationId": id, "payload": binary(answer)},
            );
        }
    }

    fn login(&self, db: &str, user: &str, password: &str) -> Result<(), i32> {
        self.login_with(Mechanism::ScramSha256, db, user, password)
    }
}

fn binary(bytes: Vec<u8>) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

fn payload(reply: &Document) -> Vec<u8> {
    match reply.get("payload") {
        Some(Bson::Binary(b)) => b.bytes.clone(),
        other => panic!("payload is binary: {other:?}"),
    }
}

/// An engine with `admin` (root) created through the localhost exception,
/// and the given users on db `test`.
fn with_users<'a>(engine: &'a Engine, users: &[(&str, &str)]) -> Conn<'a> {
    let admin = Conn::new(engine, LOCAL);
    admin.ok(
        "admin",
        doc! {"createUser": "admin", "pwd": "adminpw", "roles": ["root"]},
    );
    admin
        .login("admin", "admin", "adminpw")
        .expect("admin logs in");
    for (user, role) in users {
        admin.ok(
            "test",
            doc! {"createUser": *user, "pwd": format!("{user}pw"), "roles": [*role]},
        );
    }
    admin
}

fn logged_in<'a>(engine: &'a Engine, user: &str) -> Conn<'a> {
    let conn = Conn::new(engine, REMOTE);
    conn.login("test", user, &format!("{user}pw"))
        .expect("logs in");
    conn
}

#[test]
fn wrong_password_and_unknown_user_fail_alike_with_18() {
    let engine = auth_engine();
    with_users(&engine, &[("alice", "readWrite")]);
    let conn = Conn::new(&engine, REMOTE);
    for mechanism in [Mechanism::ScramSha1, Mechanism::ScramSha256] {
        assert_eq!(
            conn.login_with(mechanism, "test", "alice", "wrong"),
            Err(18)
        );
        assert_eq!(
            conn.login_with(mechanism, "test", "nobody", "wrong"),
            Err(18)
        );
        assert_eq!(
            conn.login_with(mechanism, "admin", "alice", "alicepw"),
            Err(18),
            "users belong to their db"
        );
        assert_eq!(
            conn.login_with(mechanism, "test", "alice", "alicepw"),
            Ok(())
        );
    }
    let mut client =
        ClientConversation::new(Mechanism::ScramSha256, "alice", "wrong").expect("client");
    let start = conn.run("test", doc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": binary(client.client_first())});
    let proof = client.step(&payload(&start)).expect("client-final");
    let reply = conn.run(
        "test",
        doc! {"saslContinue": 1, "conversationId": 1, "payload": binary(proof)},
    );
    assert_eq!(reply.get_i32("code").ok(), Some(18));
    assert_eq!(reply.get_str("codeName").ok(), Some("AuthenticationFailed"));
    assert_eq!(reply.get_str("errmsg").ok(), Some("Authentication failed."));
}

#[test]
fn unauthenticated_commands_get_13_but_the_handshake_is_open() {
    let engine = auth_engine();
    with_users(&engine, &[]);
    let conn = Conn::new(&engine, REMOTE);
    let check = |body: Document, expected: Option<&str>| {
        let reply = conn.run("test", body.clone());
        match expected {
            None => assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "{body}: {reply}"),
            Some(message) => {
                assert_eq!(reply.get_i32("code").ok(), Some(13), "{body}: {reply}");
                assert_eq!(reply.get_str("errmsg").ok(), Some(message));
            }
        }
    };
    check(doc! {"hello": 1}, None);
    check(doc! {"isMaster": 1}, None);
    check(doc! {"ping": 1}, None);
    check(doc! {"buildInfo": 1}, None);
    check(doc! {"connectionStatus": 1}, None);
    check(
        doc! {"find": "c"},
        Some("command find requires authentication"),
    );
    check(
        doc! {"insert": "c", "documents": [{}]},
        Some("command insert requires authentication"),
    );
    check(
        doc! {"listDatabases": 1},
        Some("command listDatabases requires authentication"),
    );
    check(
        doc! {"startSession": 1},
        Some("command startSession requires authentication"),
    );
    check(
        doc! {"serverStatus": 1},
        Some("command serverStatus requires authentication"),
    );
    check(
        doc! {"find": "c", "lsid": {"id": bson::Uuid::new()}, "txnNumber": 1i64, "autocommit": false, "startTransaction": true},
        Some("command find requires authentication"),
    );
}

#[test]
fn localhost_exception_creates_only_the_first_user() {
    let engine = auth_engine();
    let remote = Conn::new(&engine, REMOTE);
    let (code, _) = remote.fails(
        "admin",
        doc! {"createUser": "x", "pwd": "p", "roles": ["root"]},
    );
    assert_eq!(code, 13, "not from another machine");
    let local = Conn::new(&engine, "[::1]:4000");
    let (code, _) = local.fails("admin", doc! {"find": "c"});
    assert_eq!(code, 13, "the exception covers createUser only");
    local.ok(
        "admin",
        doc! {"createUser": "first", "pwd": "p", "roles": ["root"]},
    );
    let (code, _) = local.fails(
        "admin",
        doc! {"createUser": "second", "pwd": "p", "roles": ["root"]},
    );
    assert_eq!(code, 13, "closed once a user exists");
}

#[test]
fn read_user_cannot_write_even_in_a_transaction() {
    let engine = auth_engine();
    let admin = with_users(&engine, &[("reader", "read")]);
    admin.ok("test", doc! {"insert": "c", "documents": [{"_id": 1}]});
    let reader = logged_in(&engine, "reader");
    let found = reader.ok("test", doc! {"find": "c"});
    assert_eq!(
        found
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()
            .len(),
        1
    );
    let (code, message) = reader.fails("test", doc! {"insert": "c", "documents": [{"_id": 2}]});
    assert_eq!(code, 13);
    assert!(
        message.starts_with("not authorized on test to execute command { \"insert\""),
        "{message}"
    );
    let lsid = doc! {"id": bson::Uuid::new()};
    reader.ok("test", doc! {"find": "c", "lsid": lsid.clone(), "txnNumber": 1i64, "autocommit": false, "startTransaction": true});
    let (code, _) = reader.fails("test", doc! {"insert": "c", "documents": [{"_id": 3}], "lsid": lsid, "txnNumber": 1i64, "autocommit": false});
    assert_eq!(code, 13);
    let (code, _) = reader.fails("other", doc! {"find": "c"});
    assert_eq!(code, 13, "a role on test gives nothing on other");
    let (code, _) = reader.fails("test", doc! {"drop": "c"});
    assert_eq!(code, 13);
    let (code, message) = reader.fails(
        "test",
        doc! {"createUser": "x", "pwd": "secret", "roles": ["read"]},
    );
    assert_eq!(code, 13);
    assert!(
        !message.contains("secret"),
        "the password is redacted: {message}"
    );
}

#[test]
fn roles_map_to_what_mongod_allows() {
    let engine = auth_engine();
    let admin = with_users(
        &engine,
        &[
            ("rw", "readWrite"),
            ("dba", "dbAdmin"),
            ("ua", "userAdmin"),
            ("owner", "dbOwner"),
        ],
    );
    admin.ok("admin", doc! {"createUser": "any", "pwd": "anypw", "roles": [{"role": "readAnyDatabase", "db": "admin"}]});
    // (user, db, command, allowed)
    let cases: Vec<(&str, &str, Document, bool)> = vec![
        ("rw", "test", doc! {"insert": "c", "documents": [{}]}, true),
        (
            "rw",
            "test",
            doc! {"createIndexes": "c", "indexes": [{"key": {"a": 1}, "name": "a_1"}]},
            true,
        ),
        ("rw", "test", doc! {"dropDatabase": 1}, false),
        ("dba", "test", doc! {"find": "c"}, false),
        ("dba", "test", doc! {"listCollections": 1}, true),
        ("ua", "test", doc! {"find": "c"}, false),
        (
            "ua",
            "test",
            doc! {"createUser": "made", "pwd": "p", "roles": ["read"]},
            true,
        ),
        (
            "ua",
            "test",
            doc! {"createUser": "made2", "pwd": "p", "roles": [{"role": "read", "db": "other"}]},
            false,
        ),
        (
            "owner",
            "test",
            doc! {"insert": "c", "documents": [{}]},
            true,
        ),
        ("owner", "test", doc! {"usersInfo": 1}, true),
        ("rw", "test", doc! {"usersInfo": "rw"}, true),
        ("rw", "test", doc! {"usersInfo": 1}, false),
        ("rw", "admin", doc! {"find": "system.users"}, false),
        ("rw", "test", doc! {"serverStatus": 1}, false),
        ("rw", "test", doc! {"dbStats": 1}, true),
        ("rw", "other", doc! {"dbStats": 1}, false),
        ("ua", "test", doc! {"dbStats": 1}, false),
        ("rw", "admin", doc! {"replSetGetConfig": 1}, false),
        (
            "rw",
            "test",
            doc! {"aggregate": "c", "pipeline": [{"$out": {"db": "other", "coll": "x"}}], "cursor": {}},
            false,
        ),
    ];
    for (user, db, body, allowed) in cases {
        let conn = logged_in(&engine, user);
        let reply = conn.run(db, body.clone());
        let ok = reply.get_f64("ok").ok() == Some(1.0);
        assert_eq!(ok, allowed, "{user} on {db}: {body} -> {reply}");
        if !ok {
            assert_eq!(reply.get_i32("code").ok(), Some(13), "{reply}");
        }
    }
    let any = Conn::new(&engine, REMOTE);
    any.login("admin", "any", "anypw").expect("login");
    any.ok("other", doc! {"find": "c"});
    let (code, _) = any.fails("other", doc! {"insert": "c", "documents": [{}]});
    assert_eq!(code, 13);
}

#[test]
fn list_databases_shows_a_user_only_its_databases() {
    let engine = auth_engine();
    let admin = with_users(&engine, &[("rw", "readWrite")]);
    admin.ok("test", doc! {"insert": "c", "documents": [{}]});
    admin.ok("other", doc! {"insert": "c", "documents": [{}]});
    let names = |reply: &Document| -> Vec<String> {
        reply
            .get_array("databases")
            .unwrap()
            .iter()
            .map(|d| d.as_document().unwrap().get_str("name").unwrap().to_owned())
            .collect()
    };
    let all = names(&admin.ok("admin", doc! {"listDatabases": 1}));
    assert!(
        all.contains(&"other".to_owned()) && all.contains(&"test".to_owned()),
        "{all:?}"
    );
    let rw = logged_in(&engine, "rw");
    assert_eq!(
        names(&rw.ok("admin", doc! {"listDatabases": 1})),
        vec!["test".to_owned()]
    );
}

/// A transaction of `conn` on `lsid`, started with an insert.
fn start_txn(conn: &Conn<'_>, lsid: &Document, id: i32) {
    conn.ok("test", doc! {"insert": "c", "documents": [{"_id": id}], "lsid": lsid.clone(), "txnNumber": 1i64, "autocommit": false, "startTransaction": true});
}

#[test]
fn another_user_cannot_use_continue_end_or_kill_a_session() {
    let engine = auth_engine();
    with_users(&engine, &[("a", "readWrite"), ("b", "readWrite")]);
    let a = logged_in(&engine, "a");
    let b = logged_in(&engine, "b");
    let lsid = doc! {"id": bson::Uuid::new()};
    start_txn(&a, &lsid, 1);
    let (code, _) = b.fails("test", doc! {"insert": "c", "documents": [{"_id": 2}], "lsid": lsid.clone(), "txnNumber": 1i64, "autocommit": false});
    assert_eq!(
        code, 251,
        "B's lsid names B's own session, which has no transaction"
    );
    let (code, _) = b.fails(
        "test",
        doc! {"commitTransaction": 1, "lsid": lsid.clone(), "txnNumber": 1i64, "autocommit": false},
    );
    assert_eq!(code, 251);
    b.ok("admin", doc! {"endSessions": [lsid.clone()]});
    b.ok("admin", doc! {"killSessions": [lsid.clone()]});
    let (code, _) = b.fails("admin", doc! {"killAllSessions": []});
    assert_eq!(code, 13, "killing everyone's sessions takes killAnySession");
    let (code, _) = b.fails(
        "admin",
        doc! {"killAllSessions": [{"user": "a", "db": "test"}]},
    );
    assert_eq!(code, 13);
    b.ok(
        "admin",
        doc! {"killAllSessions": [{"user": "b", "db": "test"}]},
    );
    let (code, _) = b.fails("test", doc! {"find": "c", "lsid": {"id": lsid.get("id").unwrap().clone(), "uid": binary(vec![0; 32])}});
    assert_eq!(code, 13, "setting uid takes impersonate");
    a.ok("test", doc! {"insert": "c", "documents": [{"_id": 3}], "lsid": lsid.clone(), "txnNumber": 1i64, "autocommit": false});
    a.ok(
        "test",
        doc! {"commitTransaction": 1, "lsid": lsid, "txnNumber": 1i64, "autocommit": false},
    );
    let found = a.ok("test", doc! {"find": "c"});
    assert_eq!(
        found
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn root_kill_all_sessions_aborts_other_users_transactions() {
    let engine = auth_engine();
    let admin = with_users(&engine, &[("a", "readWrite")]);
    let a = logged_in(&engine, "a");
    let lsid = doc! {"id": bson::Uuid::new()};
    start_txn(&a, &lsid, 1);
    admin.ok("admin", doc! {"killAllSessions": []});
    let (code, _) = a.fails(
        "test",
        doc! {"commitTransaction": 1, "lsid": lsid, "txnNumber": 1i64, "autocommit": false},
    );
    assert_eq!(code, 251);
}

#[test]
fn another_user_cannot_get_more_or_kill_a_cursor() {
    let engine = auth_engine();
    with_users(&engine, &[("a", "readWrite"), ("b", "readWrite")]);
    let a = logged_in(&engine, "a");
    let b = logged_in(&engine, "b");
    a.ok(
        "test",
        doc! {"insert": "c", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}]},
    );
    for lsid in [None, Some(doc! {"id": bson::Uuid::new()})] {
        let mut find = doc! {"find": "c", "batchSize": 1};
        if let Some(lsid) = &lsid {
            find.insert("lsid", lsid.clone());
        }
        let reply = a.ok("test", find);
        let id = reply.get_document("cursor").unwrap().get_i64("id").unwrap();
        assert_ne!(id, 0);
        let mut get_more = doc! {"getMore": id, "collection": "c", "batchSize": 1};
        if let Some(lsid) = &lsid {
            get_more.insert("lsid", lsid.clone());
        }
        let (code, message) = b.fails("test", get_more.clone());
        assert_eq!(
            (code, message),
            (
                13,
                format!("cursor id {id} was not created by the authenticated user")
            )
        );
        let (code, _) = b.fails("test", doc! {"killCursors": "c", "cursors": [id]});
        assert_eq!(code, 13);
        a.ok("test", get_more);
        a.ok("test", doc! {"killCursors": "c", "cursors": [id]});
    }
}

#[test]
fn dropped_user_and_revoked_roles_take_effect_on_the_next_command() {
    let engine = auth_engine();
    let admin = with_users(&engine, &[("u", "readWrite")]);
    let u = logged_in(&engine, "u");
    u.ok("test", doc! {"insert": "c", "documents": [{}]});
    admin.ok("test", doc! {"updateUser": "u", "roles": ["read"]});
    assert_eq!(
        u.fails("test", doc! {"insert": "c", "documents": [{}]}).0,
        13
    );
    u.ok("test", doc! {"find": "c"});
    admin.ok("test", doc! {"dropUser": "u"});
    assert_eq!(u.fails("test", doc! {"find": "c"}).0, 13);
    assert_eq!(admin.fails("test", doc! {"dropUser": "u"}).0, 11);
    assert_eq!(u.login("test", "u", "upw"), Err(18));
}

#[test]
fn users_are_stored_as_salted_keys_in_mongods_shape() {
    let engine = auth_engine();
    let admin = with_users(&engine, &[("alice", "read")]);
    let stored = admin.ok(
        "admin",
        doc! {"find": "system.users", "filter": {"_id": "test.alice"}},
    );
    let user = stored
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    assert_eq!(user.get_str("user").ok(), Some("alice"));
    assert_eq!(user.get_str("db").ok(), Some("test"));
    assert_eq!(
        user.get_array("roles").unwrap()[0],
        Bson::Document(doc! {"role": "read", "db": "test"})
    );
    for (mechanism, iterations) in [("SCRAM-SHA-1", 10_000), ("SCRAM-SHA-256", 15_000)] {
        let credential = user
            .get_document("credentials")
            .unwrap()
            .get_document(mechanism)
            .unwrap();
        assert_eq!(credential.get_i32("iterationCount").ok(), Some(iterations));
        for field in ["salt", "storedKey", "serverKey"] {
            assert!(credential.get_str(field).is_ok(), "{mechanism}.{field}");
        }
    }
    assert!(
        !user.to_string().contains("alicepw"),
        "no plaintext: {user}"
    );
    let info = admin.ok("test", doc! {"usersInfo": "alice"});
    let listed = info.get_array("users").unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    assert!(!listed.contains_key("credentials"));
    assert_eq!(listed.get_array("mechanisms").unwrap().len(), 2);
    assert_eq!(
        admin
            .fails(
                "test",
                doc! {"createUser": "alice", "pwd": "x", "roles": []}
            )
            .0,
        51003
    );
    let reply = admin.run(
        "test",
        doc! {"createUser": "bob", "pwd": "x", "roles": ["nosuchrole"]},
    );
    assert_eq!(reply.get_i32("code").ok(), Some(31));
    assert_eq!(reply.get_str("codeName").ok(), Some("RoleNotFound"));
    assert_eq!(
        reply.get_str("errmsg").ok(),
        Some("Could not find role: nosuchrole@test")
    );
    assert_eq!(
        admin
            .fails("test", doc! {"createUser": "bob", "pwd": "x"})
            .0,
        40414
    );
}

#[test]
fn a_connection_authenticates_as_one_user_only() {
    let engine = auth_engine();
    with_users(&engine, &[("alice", "read"), ("bob", "read")]);
    let conn = logged_in(&engine, "alice");
    assert_eq!(
        conn.login("test", "alice", "alicepw"),
        Ok(()),
        "again as the same user"
    );
    assert_eq!(conn.login("test", "bob", "bobpw"), Err(5626701));
    let reply = conn.run(
        "test",
        doc! {"saslStart": 1, "mechanism": "PLAIN", "payload": binary(vec![])},
    );
    assert_eq!(reply.get_str("codeName").ok(), Some("MechanismUnavailable"));
    let reply = conn.run(
        "test",
        doc! {"saslContinue": 1, "conversationId": 1, "payload": binary(vec![])},
    );
    assert_eq!(
        reply.get_i32("code").ok(),
        Some(17),
        "no conversation: ProtocolError"
    );
}

#[test]
fn connection_status_reports_the_user_and_roles() {
    let engine = auth_engine();
    with_users(&engine, &[("alice", "readWrite")]);
    let conn = Conn::new(&engine, REMOTE);
    let before = conn.ok("test", doc! {"connectionStatus": 1});
    assert_eq!(
        before
            .get_document("authInfo")
            .unwrap()
            .get_array("authenticatedUsers")
            .unwrap()
            .len(),
        0
    );
    conn.login("test", "alice", "alicepw").expect("login");
    let after = conn.ok("test", doc! {"connectionStatus": 1});
    let info = after.get_document("authInfo").unwrap();
    assert_eq!(
        info.get_array("authenticatedUsers").unwrap(),
        &vec![Bson::Document(doc! {"user": "alice", "db": "test"})]
    );
    assert_eq!(
        info.get_array("authenticatedUserRoles").unwrap(),
        &vec![Bson::Document(doc! {"role": "readWrite", "db": "test"})]
    );
    conn.ok("test", doc! {"logout": 1});
    assert_eq!(conn.fails("test", doc! {"find": "c"}).0, 13);
}

#[test]
fn hello_answers_sasl_supported_mechs_and_speculative_authentication() {
    let engine = auth_engine();
    with_users(&engine, &[("alice", "readWrite")]);
    let conn = Conn::new(&engine, REMOTE);
    let hello = conn.ok(
        "admin",
        doc! {"hello": 1, "saslSupportedMechs": "test.alice"},
    );
    assert_eq!(
        hello.get_array("saslSupportedMechs").unwrap(),
        &vec![Bson::from("SCRAM-SHA-1"), Bson::from("SCRAM-SHA-256")]
    );
    let hello = conn.ok(
        "admin",
        doc! {"hello": 1, "saslSupportedMechs": "test.nobody"},
    );
    assert!(!hello.contains_key("saslSupportedMechs"));

    let mut client =
        ClientConversation::new(Mechanism::ScramSha256, "alice", "alicepw").expect("client");
    let hello = conn.ok(
        "admin",
        doc! {"hello": 1, "speculativeAuthenticate": {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": binary(client.client_first()), "db": "test", "options": {"skipEmptyExchange": true}}},
    );
    let speculative = hello
        .get_document("speculativeAuthenticate")
        .expect("speculative reply");
    assert_eq!(speculative.get_bool("done").ok(), Some(false));
    let proof = client.step(&payload(speculative)).expect("client-final");
    let last = conn.ok(
        "test",
        doc! {"saslContinue": 1, "conversationId": 1, "payload": binary(proof)},
    );
    assert_eq!(
        last.get_bool("done").ok(),
        Some(true),
        "skipEmptyExchange ends at server-final"
    );
    client
        .step(&payload(&last))
        .expect("the server proves itself");
    conn.ok("test", doc! {"find": "c"});
}

#[test]
fn users_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("rotor-auth-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let open = || {
        Engine::open(EngineOptions {
            auth: true,
            storage: Storage::Directory(dir.clone()),
            ..EngineOptions::default()
        })
        .expect("open on disk")
    };
    {
        let engine = open();
        with_users(&engine, &[("alice", "read")]);
    }
    let engine = open();
    let conn = Conn::new(&engine, LOCAL);
    assert_eq!(
        conn.fails(
            "admin",
            doc! {"createUser": "x", "pwd": "p", "roles": ["root"]}
        )
        .0,
        13,
        "users exist: no localhost exception"
    );
    conn.login("test", "alice", "alicepw")
        .expect("alice survives");
    conn.ok("test", doc! {"find": "c"});
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_auth_everything_is_allowed_and_users_still_work() {
    let engine = Engine::open(EngineOptions::default()).expect("open");
    let conn = Conn::new(&engine, REMOTE);
    conn.ok("test", doc! {"insert": "c", "documents": [{}]});
    conn.ok(
        "test",
        doc! {"createUser": "u", "pwd": "p", "roles": ["read"]},
    );
    conn.login("test", "u", "p").expect("login");
    conn.ok("test", doc! {"insert": "c", "documents": [{}]});
}

#[test]
fn fail_command_failpoints_do_not_reach_the_user_store() {
    let engine = Engine::open(EngineOptions {
        auth: true,
        enable_test_commands: true,
        ..EngineOptions::default()
    })
    .expect("open");
    let admin = with_users(&engine, &[("alice", "read")]);
    admin.ok(
        "admin",
        doc! {"configureFailPoint": "failCommand", "mode": "alwaysOn", "data": {"failCommands": ["find", "insert"], "errorCode": 91}},
    );
    let alice = logged_in(&engine, "alice");
    assert_eq!(
        alice.fails("test", doc! {"find": "c"}).0,
        91,
        "clients still fail"
    );
    admin.ok(
        "admin",
        doc! {"configureFailPoint": "failCommand", "mode": "off"},
    );
}

/// The `lsid.id`s `$listLocalSessions` with `spec` shows `conn`, or the
/// error code.
fn local_sessions(conn: &Conn<'_>, spec: Document) -> Result<Vec<Bson>, i32> {
    let reply = conn.run(
        "admin",
        doc! {"aggregate": 1, "pipeline": [{"$listLocalSessions": spec}], "cursor": {}},
    );
    if reply.get_f64("ok").ok() != Some(1.0) {
        return Err(reply.get_i32("code").expect("code"));
    }
    let batch = reply
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("a cursor");
    Ok(batch
        .iter()
        .map(|s| {
            let s = s.as_document().expect("a session document");
            let last_use = s.get_datetime("lastUse").expect("lastUse");
            let age_ms = bson::DateTime::now().timestamp_millis() - last_use.timestamp_millis();
            assert!(
                (0..60_000).contains(&age_ms),
                "lastUse is when it was used: {s}"
            );
            s.get_document("_id")
                .expect("_id")
                .get("id")
                .expect("id")
                .clone()
        })
        .collect())
}

#[test]
fn list_local_sessions_shows_a_user_only_its_own_unless_privileged() {
    let engine = auth_engine();
    let admin = with_users(&engine, &[("a", "readWrite"), ("b", "readWrite")]);
    let a = logged_in(&engine, "a");
    let b = logged_in(&engine, "b");
    let (a_lsid, b_lsid) = (
        doc! {"id": bson::Uuid::new()},
        doc! {"id": bson::Uuid::new()},
    );
    start_txn(&a, &a_lsid, 1);
    b.ok("test", doc! {"find": "c", "lsid": b_lsid.clone()});
    let a_id = a_lsid.get("id").unwrap().clone();
    let b_id = b_lsid.get("id").unwrap().clone();

    assert_eq!(local_sessions(&a, doc! {}), Ok(vec![a_id.clone()]));
    assert_eq!(local_sessions(&b, doc! {}), Ok(vec![b_id.clone()]));
    assert_eq!(
        local_sessions(&a, doc! {"users": [{"user": "a", "db": "test"}]}),
        Ok(vec![a_id.clone()])
    );
    for spec in [
        doc! {"allUsers": true},
        doc! {"users": [{"user": "b", "db": "test"}]},
    ] {
        assert_eq!(local_sessions(&a, spec.clone()), Err(13), "{spec}");
    }
    let (code, _) = a.fails(
        "admin",
        doc! {"aggregate": 1, "pipeline": [{"$listLocalSessions": {}}, {"$lookup": {"from": "system.users", "pipeline": [], "as": "u"}}], "cursor": {}},
    );
    assert_eq!(code, 13, "a stage that reads a collection still needs find");
    let everyone = local_sessions(&admin, doc! {"allUsers": true}).unwrap();
    assert!(
        everyone.contains(&a_id) && everyone.contains(&b_id),
        "{everyone:?}"
    );
    assert_eq!(
        local_sessions(&admin, doc! {"users": [{"user": "b", "db": "test"}]}),
        Ok(vec![b_id])
    );
    for (spec, code) in [
        (doc! {"allUsers": true, "users": []}, 2),
        (doc! {"allUsers": 1}, 2),
        (doc! {"users": "a"}, 2),
        (doc! {"users": [1]}, 2),
        (doc! {"who": "me"}, 40415),
    ] {
        assert_eq!(local_sessions(&admin, spec.clone()), Err(code), "{spec}");
    }
}

#[test]
fn rename_collection_needs_mongods_privileges_on_both_namespaces() {
    let engine = auth_engine();
    let admin = with_users(
        &engine,
        &[("rw", "readWrite"), ("reader", "read"), ("dba", "dbAdmin")],
    );
    admin.ok("test", doc! {"insert": "a", "documents": [{"_id": 1}]});
    let rename = |from: &str, to: &str| doc! {"renameCollection": from, "to": to};
    // renameCollectionSameDB: readWrite and dbAdmin have it, read does not.
    let reader = logged_in(&engine, "reader");
    assert_eq!(reader.fails("admin", rename("test.a", "test.b")).0, 13);
    logged_in(&engine, "rw").ok("admin", rename("test.a", "test.b"));
    logged_in(&engine, "dba").ok("admin", rename("test.b", "test.c"));
    // Across databases the target needs insert and createIndex there.
    let rw = logged_in(&engine, "rw");
    assert_eq!(rw.fails("admin", rename("test.c", "other.c")).0, 13);
    admin.ok("admin", rename("test.c", "other.c"));
    // Back again needs find and dropCollection on `other` as well.
    assert_eq!(rw.fails("admin", rename("other.c", "test.c")).0, 13);
}
