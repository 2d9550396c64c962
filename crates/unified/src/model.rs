//! The unified test format's files as Rust types: a test file, its tests,
//! operations and expectations, read with serde from the BSON that the
//! file's extended JSON becomes.
//!
//! Only the shape is modelled here; what the fields mean (matching,
//! requirements, entity creation) lives with the code that uses them.
//! Fields this runner does not interpret are kept in `other` documents so
//! that a test using them is reported instead of silently half-run.

use std::path::Path;

use bson::{Bson, Document};
use serde::{Deserialize, Deserializer};

/// A whole spec file (one JSON document).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestFile {
    /// The file's name for humans.
    pub description: String,
    /// The format version the file was written for.
    pub schema_version: String,
    /// Every test needs one of these to be met.
    #[serde(default)]
    pub run_on_requirements: Vec<Requirement>,
    /// Entities created before each test.
    #[serde(default)]
    pub create_entities: Vec<Document>,
    /// Collections (re)created before each test.
    #[serde(default)]
    pub initial_data: Vec<CollectionData>,
    /// The tests, run in order.
    pub tests: Vec<Test>,
}

/// One `runOnRequirements` entry: all its fields must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    /// The lowest server version, e.g. `"4.0"`.
    pub min_server_version: Option<String>,
    /// The highest server version.
    pub max_server_version: Option<String>,
    /// Allowed topologies (`single`, `replicaset`, `sharded`, `load-balanced`).
    pub topologies: Option<Vec<String>>,
    /// `require`, `forbid` or `allow`.
    pub serverless: Option<String>,
    /// Server parameters and their required values.
    pub server_parameters: Option<Document>,
    /// Whether the deployment must (or must not) use authentication.
    pub auth: Option<bool>,
    /// Requirements this runner does not know (e.g. `csfle`).
    #[serde(flatten)]
    pub other: Document,
}

/// A collection's documents: `initialData` and `outcome` entries.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionData {
    /// The collection.
    pub collection_name: String,
    /// Its database.
    pub database_name: String,
    /// The documents, in `_id` order for `outcome`.
    #[serde(default)]
    pub documents: Vec<Document>,
    /// Options for `create` (`initialData` only).
    pub create_options: Option<Document>,
}

/// One test of a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Test {
    /// The test's name, unique in its file.
    pub description: String,
    /// Requirements of this test beyond the file's.
    #[serde(default)]
    pub run_on_requirements: Vec<Requirement>,
    /// Set when the spec authors skip the test everywhere.
    pub skip_reason: Option<String>,
    /// What to run.
    pub operations: Vec<Operation>,
    /// Events each client must have observed.
    pub expect_events: Option<Vec<ClientEvents>>,
    /// Collection contents after the test.
    pub outcome: Option<Vec<CollectionData>>,
}

/// One operation on an entity or on the test runner.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The operation, e.g. `insertOne`.
    pub name: String,
    /// The entity id it runs on, or `testRunner`.
    pub object: String,
    /// Its arguments.
    #[serde(default)]
    pub arguments: Document,
    /// The error it must raise.
    pub expect_error: Option<ExpectedError>,
    /// The result it must return (matched, not compared); an explicit
    /// `null` is kept as `Some(Null)`.
    #[serde(default, deserialize_with = "present")]
    pub expect_result: Option<Bson>,
    /// Store the result as an entity with this id.
    pub save_result_as_entity: Option<String>,
    /// Neither the result nor an error is checked.
    #[serde(default)]
    pub ignore_result_and_error: bool,
}

/// `expectError`: what the raised error must look like.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedError {
    /// Always true when present.
    pub is_error: Option<bool>,
    /// The error comes from the client rather than a server reply.
    pub is_client_error: Option<bool>,
    /// The error is a timeout (CSOT).
    pub is_timeout_error: Option<bool>,
    /// A substring of the message, compared case-insensitively.
    pub error_contains: Option<String>,
    /// The server's numeric code.
    pub error_code: Option<i32>,
    /// The server's code name.
    pub error_code_name: Option<String>,
    /// Labels the error must carry.
    pub error_labels_contain: Option<Vec<String>>,
    /// Labels the error must not carry.
    pub error_labels_omit: Option<Vec<String>>,
    /// The server's error reply, matched as a root document.
    pub error_response: Option<Document>,
    /// The partial result the error carries (bulk writes).
    pub expect_result: Option<Bson>,
    /// The per-operation write errors of a client bulk write, keyed by
    /// model position.
    pub write_errors: Option<Document>,
    /// The write concern errors of a client bulk write, in order.
    pub write_concern_errors: Option<Vec<Bson>>,
    /// Assertions this runner does not know (e.g. `writeErrors`), which
    /// fail the test rather than pass unchecked.
    #[serde(flatten)]
    pub other: Document,
}

/// One `expectEvents` entry: the events one client observed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientEvents {
    /// The client entity's id.
    pub client: String,
    /// `command` (the default), `cmap` or `sdam`.
    pub event_type: Option<String>,
    /// The events, in order, each `{commandStartedEvent: {...}}` etc.
    pub events: Vec<Document>,
    /// Allow more actual events after the expected ones.
    #[serde(default)]
    pub ignore_extra_events: bool,
}

/// A field that is present, even as `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Bson>, D::Error> {
    Bson::deserialize(deserializer).map(Some)
}

/// Reads a spec file: its extended JSON becomes BSON (so `$numberLong`,
/// `$oid` and the like keep their types), then the model.
pub fn read_file(path: &Path) -> Result<TestFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    parse(&text)
}

/// Parses one spec file's text.
pub fn parse(text: &str) -> Result<TestFile, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let bson = Bson::try_from(json).map_err(|e| format!("not extended JSON: {e}"))?;
    let Bson::Document(document) = bson else {
        return Err("the file is not a JSON object".to_owned());
    };
    bson::deserialize_from_document(document).map_err(|e| format!("not a unified test file: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_extended_json_types() {
        let file = parse(
            r#"{"description": "d", "schemaVersion": "1.0", "tests": [
                {"description": "t", "operations": [
                    {"name": "insertOne", "object": "c",
                     "arguments": {"document": {"_id": {"$numberLong": "1"}, "x": 1.5}},
                     "expectResult": {"insertedId": 1}}]}]}"#,
        )
        .unwrap();
        let op = &file.tests[0].operations[0];
        let document = op.arguments.get_document("document").unwrap();
        assert_eq!(document.get("_id"), Some(&Bson::Int64(1)));
        assert_eq!(document.get("x"), Some(&Bson::Double(1.5)));
        assert_eq!(
            op.expect_result,
            Some(Bson::Document(bson::doc! {"insertedId": 1}))
        );
    }

    #[test]
    fn parse_keeps_key_order() {
        let file = parse(
            r#"{"description": "d", "schemaVersion": "1.0", "tests": [
                {"description": "t", "operations": [
                    {"name": "runCommand", "object": "db",
                     "arguments": {"command": {"insert": "c", "documents": [], "b": 1, "a": 2}}}]}]}"#,
        )
        .unwrap();
        let command = file.tests[0].operations[0]
            .arguments
            .get_document("command")
            .unwrap();
        let keys: Vec<&str> = command.keys().map(String::as_str).collect();
        assert_eq!(keys, ["insert", "documents", "b", "a"]);
    }

    #[test]
    fn parse_rejects_a_file_without_tests() {
        assert!(parse(r#"{"description": "d", "schemaVersion": "1.0"}"#).is_err());
    }
}
