//! `listCommands`: lists exactly the commands the server runs, with
//! mongod's per-command fields.

mod common;

use bson::{Document, doc};
use common::{engine, ok, run};
use engine::{Engine, EngineOptions};

fn listed(db: &Engine) -> Document {
    ok(db, "admin", doc! {"listCommands": 1})
        .get_document("commands")
        .cloned()
        .expect("commands")
}

#[test]
fn list_commands_lists_only_commands_that_run() {
    let db = engine();
    let commands = listed(&db);
    assert!(commands.len() > 40, "{commands}");
    for name in commands.keys() {
        let reply = run(&db, "admin", doc! {name.as_str(): 1});
        assert_ne!(
            reply.get_i32("code").ok(),
            Some(59),
            "{name} is listed but not found: {reply}"
        );
    }
    let reply = run(&db, "admin", doc! {"noSuchCommand": 1});
    assert_eq!(reply.get_i32("code").ok(), Some(59));
    assert!(!commands.contains_key("noSuchCommand"));
}

#[test]
fn list_commands_reports_mongods_fields() {
    let db = engine();
    let commands = listed(&db);
    let check = |name: &str, requires_auth: bool, secondary_ok: bool, admin_only: bool| {
        let entry = commands
            .get_document(name)
            .unwrap_or_else(|_| panic!("{name} is listed"));
        assert_eq!(
            entry.get_bool("requiresAuth").ok(),
            Some(requires_auth),
            "{name}"
        );
        assert_eq!(
            entry.get_bool("secondaryOk").ok(),
            Some(secondary_ok),
            "{name}"
        );
        assert_eq!(entry.get_bool("adminOnly").ok(), Some(admin_only), "{name}");
        assert!(entry.get_str("help").is_ok_and(|h| !h.is_empty()), "{name}");
    };
    check("renameCollection", true, false, true);
    check("find", true, true, false);
    check("insert", true, false, false);
    check("hello", false, true, false);
    check("saslStart", false, true, false);
    check("listCommands", false, true, false);
    check("createUser", true, false, false);
    check("serverStatus", true, true, false);
}

#[test]
fn list_commands_lists_test_commands_only_when_enabled() {
    assert!(listed(&engine()).contains_key("configureFailPoint"));
    let plain = Engine::open(EngineOptions::default()).expect("open");
    assert!(!listed(&plain).contains_key("configureFailPoint"));
}
