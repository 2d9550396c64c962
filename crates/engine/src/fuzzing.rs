//! The property the `run_command` fuzz target checks, in one place so the
//! fuzzer and `cargo test`'s replay of the committed corpus
//! (tests/fuzz_corpus.rs) check the same thing.
//!
//! An input is a run of BSON documents laid end to end, each one command;
//! decoding stops at the first bytes that are not a document, so any input
//! yields some commands. A command's database is its `$db` when that is a
//! string, as in OP_MSG, else `test`. All of an input's commands run in
//! order against one fresh in-memory engine with the test commands on.
//!
//! The property: no command panics; every reply has `ok` (1 or 0) and
//! encodes as BSON (the server must send it); a failed reply has a numeric
//! `code` and a `codeName` string; every `writeErrors` entry has a numeric
//! `code`; and the engine still answers `ping` afterwards.
//!
//! Time is bounded, not fuzzed: the target rewrites what would make a
//! command wait on the wall clock (see [`bound_time`]), since a fuzzer
//! input that sleeps only slows the search and finds nothing.

use std::io::Cursor;

use bson::{Bson, Document, doc};

use crate::{ConnectionInfo, Engine, EngineOptions, Request};

/// Commands taken from one input: enough for a transaction's start,
/// a few statements and its end, few enough to keep each run fast.
pub const COMMANDS_MAX: usize = 8;

/// The `maxTimeMS` every command but `getMore` runs with, and the most one
/// may ask for. Without it, a write outside a transaction that meets a
/// document an open transaction of the same input wrote waits, as mongod's
/// does, for that transaction to end, which only its 60 s lifetime limit
/// brings about.
pub const MAX_TIME_MS: i32 = 50;

/// The commands in `input`, each with the database it runs against.
///
/// ```
/// let mut input = bson::doc! {"ping": 1, "$db": "admin"}.to_vec().unwrap();
/// input.extend(b"not a document");
/// let commands = engine::fuzzing::commands(&input);
/// assert_eq!(commands, [("admin".to_owned(), bson::doc! {"ping": 1})]);
/// ```
pub fn commands(input: &[u8]) -> Vec<(String, Document)> {
    let mut reader = Cursor::new(input);
    let mut out = Vec::new();
    while out.len() < COMMANDS_MAX {
        let Ok(mut body) = Document::from_reader(&mut reader) else {
            break;
        };
        let db = match body.get("$db") {
            Some(Bson::String(db)) => db.clone(),
            _ => "test".to_owned(),
        };
        // The engine takes the database apart from the body; a body's
        // `$db` of another type is kept so its refusal is exercised too.
        if matches!(body.get("$db"), Some(Bson::String(_))) {
            body.remove("$db");
        }
        out.push((db, body));
    }
    out
}

/// The stack the commands run on: that of tokio's blocking pool, where the
/// server runs them, so recursion that only fits a bigger stack is found.
pub const STACK_BYTES: usize = 2 << 20;

/// Panics if running `input`'s commands breaks the property above.
///
/// ```
/// let insert = bson::doc! {"insert": "c", "documents": [{"a": {"$numberInt": "x"}}]};
/// engine::fuzzing::check(&insert.to_vec().unwrap());
/// ```
pub fn check(input: &[u8]) {
    let commands = commands(input);
    let run = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || run(commands))
        .expect("a thread for the commands")
        .join();
    if let Err(panic) = run {
        std::panic::resume_unwind(panic);
    }
}

fn run(commands: Vec<(String, Document)>) {
    let engine = Engine::open(EngineOptions {
        enable_test_commands: true,
        ..EngineOptions::default()
    })
    .expect("in-memory engines always open");
    let connection = ConnectionInfo::default();
    for (db, mut body) in commands {
        bound_time(&mut body);
        let shown = body.to_string();
        let reply = engine
            .run_command(Request {
                db: &db,
                body,
                connection: &connection,
            })
            .reply;
        check_reply(&shown, &reply);
    }
    let reply = engine
        .run_command(Request {
            db: "admin",
            body: doc! {"ping": 1},
            connection: &connection,
        })
        .reply;
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0), "ping after: {reply}");
}

/// Clamps `maxTimeMS` to [`MAX_TIME_MS`] (adding it where missing, except
/// on `getMore`, which refuses it for most cursors) and drops a failpoint's
/// `blockTimeMS`, which would sleep that long on every matching command.
fn bound_time(body: &mut Document) {
    let name = body.keys().next().cloned().unwrap_or_default();
    if name == "configureFailPoint"
        && let Ok(data) = body.get_document_mut("data")
    {
        data.remove("blockTimeMS");
    }
    let max_time = body.get("maxTimeMS").cloned();
    let clamped = match max_time {
        None if name == "getMore" => None,
        None => Some(Bson::Int32(MAX_TIME_MS)),
        Some(value) => match mql::order::Number::of(&value) {
            Some(ms) if ms.as_f64() > f64::from(MAX_TIME_MS) => Some(Bson::Int32(MAX_TIME_MS)),
            _ => None,
        },
    };
    if let Some(ms) = clamped {
        body.insert("maxTimeMS", ms);
    }
}

fn check_reply(command: &str, reply: &Document) {
    let ok = reply.get_f64("ok").ok();
    assert!(
        ok == Some(1.0) || ok == Some(0.0),
        "no ok in the reply to {command}: {reply}"
    );
    if ok == Some(0.0) {
        assert!(
            reply.get_i32("code").is_ok(),
            "no code in the reply to {command}: {reply}"
        );
        assert!(
            reply.get_str("codeName").is_ok(),
            "no codeName in the reply to {command}: {reply}"
        );
    }
    if let Ok(errors) = reply.get_array("writeErrors") {
        for error in errors {
            let code = error.as_document().and_then(|e| e.get_i32("code").ok());
            assert!(
                code.is_some(),
                "a write error without a code in the reply to {command}: {reply}"
            );
        }
    }
    if let Err(error) = reply.to_vec() {
        panic!("the reply to {command} does not encode ({error}): {reply}");
    }
}
