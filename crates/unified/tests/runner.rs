//! The runner end to end on small spec files against the embedded client:
//! a test whose expectations hold passes, and each kind of broken
//! expectation fails (so the runner can fail), while unmet requirements
//! skip.

use std::sync::atomic::{AtomicUsize, Ordering};

use unified::runner::{self, Deployment, Outcome};

/// A file with one test whose operations and expectations are `test`.
fn file(test: &str) -> String {
    format!(
        r#"{{
  "description": "runner self-test",
  "schemaVersion": "1.9",
  "createEntities": [
    {{"client": {{"id": "client0", "observeEvents": ["commandStartedEvent"]}}}},
    {{"database": {{"id": "db0", "client": "client0", "databaseName": "unified-selftest"}}}},
    {{"collection": {{"id": "coll0", "database": "db0", "collectionName": "coll"}}}},
    {{"session": {{"id": "session0", "client": "client0"}}}}
  ],
  "initialData": [{{"collectionName": "coll", "databaseName": "unified-selftest", "documents": [{{"_id": 1}}]}}],
  "tests": [{test}]
}}"#
    )
}

/// Runs the one test of `file(test)` and checks its outcome's kind
/// (`"pass"`, `"fail"` or `"skip"`).
async fn check(test: &str, expected: &str) {
    let client = rotor::Client::in_memory().unwrap();
    let deployment = Deployment::discover(&client).await.unwrap();
    let dir = std::env::temp_dir().join(format!("rotor-unified-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Tests run in parallel: each file gets its own name.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = dir.join(format!("t{}.json", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, file(test)).unwrap();
    let outcomes = runner::run_file(&client, &deployment, &path).await;
    let _ = std::fs::remove_file(&path);
    let [(_, outcome)] = outcomes.as_slice() else {
        panic!("expected one test, got {outcomes:?}");
    };
    let kind = match outcome {
        Outcome::Pass => "pass",
        Outcome::Fail(_) => "fail",
        Outcome::Skip(_) => "skip",
    };
    assert_eq!(kind, expected, "{test}: {outcome:?}");
}

const INSERT_IN_TRANSACTION: &str = r#"
  {"object": "session0", "name": "startTransaction"},
  {"object": "coll0", "name": "insertOne", "arguments": {"session": "session0", "document": {"_id": 2}},
   "expectResult": {"$$unsetOrMatches": {"insertedId": {"$$unsetOrMatches": 2}}}},
  {"object": "session0", "name": "commitTransaction"}"#;

#[tokio::test]
async fn runner_passes_a_transaction_whose_expectations_hold() {
    let test = format!(
        r#"{{"description": "t", "operations": [{INSERT_IN_TRANSACTION}],
        "expectEvents": [{{"client": "client0", "events": [
          {{"commandStartedEvent": {{"commandName": "insert", "command": {{"lsid": {{"$$sessionLsid": "session0"}}, "startTransaction": true}}}}}},
          {{"commandStartedEvent": {{"commandName": "commitTransaction", "databaseName": "admin"}}}}]}}],
        "outcome": [{{"collectionName": "coll", "databaseName": "unified-selftest", "documents": [{{"_id": 1}}, {{"_id": 2}}]}}]}}"#
    );
    check(&test, "pass").await;
}

#[tokio::test]
async fn runner_fails_on_a_wrong_outcome() {
    let test = format!(
        r#"{{"description": "t", "operations": [{INSERT_IN_TRANSACTION}],
        "outcome": [{{"collectionName": "coll", "databaseName": "unified-selftest", "documents": [{{"_id": 1}}]}}]}}"#
    );
    check(&test, "fail").await;
}

#[tokio::test]
async fn runner_fails_on_a_missing_event() {
    let test = format!(
        r#"{{"description": "t", "operations": [{INSERT_IN_TRANSACTION}],
        "expectEvents": [{{"client": "client0", "events": [
          {{"commandStartedEvent": {{"commandName": "insert"}}}}]}}]}}"#
    );
    check(&test, "fail").await;
}

#[tokio::test]
async fn runner_fails_when_an_expected_error_does_not_happen() {
    let test = r#"{"description": "t", "operations": [
      {"object": "coll0", "name": "insertOne", "arguments": {"document": {"_id": 3}},
       "expectError": {"errorCode": 11000}}]}"#;
    check(test, "fail").await;
}

#[tokio::test]
async fn runner_checks_the_error_a_duplicate_key_raises() {
    let test = r#"{"description": "t", "operations": [
      {"object": "coll0", "name": "insertOne", "arguments": {"document": {"_id": 1}},
       "expectError": {"errorCode": 11000, "isClientError": false}}]}"#;
    check(test, "pass").await;
}

#[tokio::test]
async fn runner_fails_on_an_unknown_option_rather_than_dropping_it() {
    let test = r#"{"description": "t", "operations": [
      {"object": "coll0", "name": "find", "arguments": {"filter": {}, "noSuchOption": 1}}]}"#;
    check(test, "fail").await;
}

#[tokio::test]
async fn runner_skips_tests_for_other_topologies() {
    let test = r#"{"description": "t", "runOnRequirements": [{"topologies": ["sharded"]}],
      "operations": []}"#;
    check(test, "skip").await;
}
