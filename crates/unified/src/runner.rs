//! Running a spec file: for each test, check its requirements, reset the
//! collections from `initialData`, create the entities, run the
//! operations, then check `expectEvents` and `outcome`, and clean up
//! (disarm failpoints, end sessions, `killAllSessions`) whatever happened.
//!
//! The deployment is reached through one [`Client`], the runner's own:
//! setup, outcome reads and requirement checks go through it, unobserved;
//! every client entity is a sibling of it.

use std::path::Path;
use std::time::Duration;

use bson::{Bson, Document, doc};
use rotor::{Client, Concerns};

use crate::entities::EntityMap;
use crate::events;
use crate::matcher;
use crate::model::{CollectionData, Requirement, Test, TestFile};
use crate::operations::{self, TestState};
use crate::results::OpError;

/// A test still running after this long fails, so one hang (a blocked
/// failpoint, a retry loop) cannot stall the whole run.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the runner knows of the deployment, for `runOnRequirements`.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The server version from `buildInfo`, e.g. `[8, 0, 0]`.
    pub version: Vec<u64>,
    /// The topology the format names it by (`replicaset`).
    pub topology: &'static str,
    /// Its connection string, when reached over TCP.
    pub uri: Option<String>,
    /// Whether the runner authenticates (its connection string carries
    /// credentials): tests that require `auth: true` run only then, and
    /// tests that require `auth: false` only otherwise.
    pub auth: bool,
}

impl Deployment {
    /// Asks the server for its version; Rotor presents itself as a
    /// one-member replica set.
    pub async fn discover(base: &Client) -> Result<Deployment, String> {
        let info = base
            .database("admin")
            .run_command(doc! {"buildInfo": 1})
            .await
            .map_err(|e| format!("buildInfo failed: {e}"))?;
        let version = info
            .get_str("version")
            .map_err(|_| "buildInfo without version")?;
        Ok(Deployment {
            version: parse_version(version),
            topology: "replicaset",
            uri: None,
            auth: false,
        })
    }
}

fn parse_version(version: &str) -> Vec<u64> {
    version
        .split(['.', '-'])
        .map_while(|part| part.parse().ok())
        .collect()
}

/// Compares versions, padding the shorter with zeros (`8.0` == `8.0.0`).
fn version_cmp(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let len = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..len)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// The verdict on one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every expectation held.
    Pass,
    /// Something did not hold: why.
    Fail(String),
    /// The test was not run: why.
    Skip(String),
}

/// Runs every test of the file at `path`; returns each test's description
/// and outcome (a file that cannot be read is one failed pseudo-test).
pub async fn run_file(
    base: &Client,
    deployment: &Deployment,
    path: &Path,
) -> Vec<(String, Outcome)> {
    let file = match crate::model::read_file(path) {
        Ok(file) => file,
        Err(e) => return vec![("(file)".to_owned(), Outcome::Fail(e))],
    };
    let mut outcomes = Vec::new();
    for test in &file.tests {
        let outcome = run_test(base, deployment, &file, test).await;
        outcomes.push((test.description.clone(), outcome));
    }
    outcomes
}

async fn run_test(base: &Client, deployment: &Deployment, file: &TestFile, test: &Test) -> Outcome {
    if let Some(reason) = &test.skip_reason {
        return Outcome::Skip(format!("skipReason: {reason}"));
    }
    for requirements in [&file.run_on_requirements, &test.run_on_requirements] {
        if let Some(reason) = unmet(base, deployment, requirements).await {
            return Outcome::Skip(reason);
        }
    }
    let mut state = TestState {
        entities: EntityMap::new(deployment.uri.clone()),
        base: base.clone(),
        failpoints: Vec::new(),
    };
    let run = tokio::time::timeout(TEST_TIMEOUT, run_body(&mut state, file, test)).await;
    let cleanup = clean_up(&mut state).await;
    let result = match run {
        Ok(result) => result,
        Err(_) => Err(format!("timed out after {TEST_TIMEOUT:?}")),
    };
    let result = result.and(cleanup);
    let result = match (result, &test.outcome) {
        (Ok(()), Some(outcome)) => check_outcome(base, outcome).await,
        (result, _) => result,
    };
    match result {
        Ok(()) => Outcome::Pass,
        Err(reason) => Outcome::Fail(reason),
    }
}

/// Setup, operations and event checks: everything that may fail before
/// the cleanup.
async fn run_body(state: &mut TestState, file: &TestFile, test: &Test) -> Result<(), String> {
    kill_all_sessions(&state.base).await?;
    load_initial_data(&state.base, &file.initial_data).await?;
    let base = state.base.clone();
    state.entities.create(&base, &file.create_entities)?;
    for (i, op) in test.operations.iter().enumerate() {
        operations::run(state, op, &mut None)
            .await
            .map_err(|e| match e {
                OpError::Client(error) => {
                    format!("operation {i} ({}): unexpected error: {error}", op.name)
                }
                OpError::Runner(message) => format!("operation {i} ({}): {message}", op.name),
            })?;
    }
    if let Some(expected) = &test.expect_events {
        events::check(expected, &state.entities)?;
    }
    Ok(())
}

/// Disarms the test's failpoints, ends its sessions (aborting open
/// transactions) and kills all server sessions.
async fn clean_up(state: &mut TestState) -> Result<(), String> {
    for (client, name) in state.failpoints.drain(..) {
        client
            .configure_fail_point(doc! {"configureFailPoint": &name, "mode": "off"})
            .await
            .map_err(|e| format!("disarming failpoint {name} failed: {e}"))?;
    }
    for session in state.entities.sessions_mut() {
        session.end_session().await;
    }
    kill_all_sessions(&state.base).await
}

async fn kill_all_sessions(base: &Client) -> Result<(), String> {
    base.database("admin")
        .run_command(doc! {"killAllSessions": []})
        .await
        .map(drop)
        .map_err(|e| format!("killAllSessions failed: {e}"))
}

fn majority() -> Concerns {
    Concerns {
        write_concern: Some(doc! {"w": "majority"}),
        read_concern: None,
    }
}

async fn load_initial_data(base: &Client, data: &[CollectionData]) -> Result<(), String> {
    for collection in data {
        let db = base
            .database(&collection.database_name)
            .with_concerns(majority());
        let coll = db.collection::<Document>(&collection.collection_name);
        let setup = |what: &str, e: rotor::Error| {
            format!(
                "initialData {}.{}: {what} failed: {e}",
                collection.database_name, collection.collection_name
            )
        };
        coll.drop().await.map_err(|e| setup("drop", e))?;
        if collection.documents.is_empty() || collection.create_options.is_some() {
            let options = collection.create_options.clone().unwrap_or_default();
            db.create_collection(&collection.collection_name, options)
                .await
                .map_err(|e| setup("create", e))?;
        }
        if !collection.documents.is_empty() {
            coll.insert_many(collection.documents.clone())
                .await
                .map_err(|e| setup("insert", e))?;
        }
    }
    Ok(())
}

/// Checks each collection holds exactly the expected documents, in `_id`
/// order.
async fn check_outcome(base: &Client, outcome: &[CollectionData]) -> Result<(), String> {
    for expected in outcome {
        let local = Concerns {
            read_concern: Some(doc! {"level": "local"}),
            write_concern: None,
        };
        let coll = base
            .database(&expected.database_name)
            .collection::<Document>(&expected.collection_name)
            .with_concerns(local);
        let name = format!("{}.{}", expected.database_name, expected.collection_name);
        let cursor = coll
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .await
            .map_err(|e| format!("outcome: reading {name} failed: {e}"))?;
        let actual = cursor
            .try_collect()
            .await
            .map_err(|e| format!("outcome: reading {name} failed: {e}"))?;
        let want = Bson::Array(
            expected
                .documents
                .iter()
                .cloned()
                .map(Bson::Document)
                .collect(),
        );
        let got = Bson::Array(actual.into_iter().map(Bson::Document).collect());
        if !matcher::equal(&want, &got) {
            return Err(format!("outcome {name}: expected {want}, got {got}"));
        }
    }
    Ok(())
}

/// Why none of `requirements` is met, or `None` if one is (or there are
/// none).
async fn unmet(
    base: &Client,
    deployment: &Deployment,
    requirements: &[Requirement],
) -> Option<String> {
    let mut reasons = Vec::new();
    for requirement in requirements {
        match unmet_one(base, deployment, requirement).await {
            None => return None,
            Some(reason) => reasons.push(reason),
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

async fn unmet_one(
    base: &Client,
    deployment: &Deployment,
    requirement: &Requirement,
) -> Option<String> {
    if let Some(min) = &requirement.min_server_version
        && version_cmp(&deployment.version, &parse_version(min)).is_lt()
    {
        return Some(format!("needs server >= {min}"));
    }
    if let Some(max) = &requirement.max_server_version
        && version_cmp(&deployment.version, &parse_version(max)).is_gt()
    {
        return Some(format!("needs server <= {max}"));
    }
    if let Some(topologies) = &requirement.topologies
        && !topologies.iter().any(|t| t == deployment.topology)
    {
        return Some(format!("needs topology {}", topologies.join("/")));
    }
    if requirement.serverless.as_deref() == Some("require") {
        return Some("needs serverless".to_owned());
    }
    match requirement.auth {
        Some(true) if !deployment.auth => return Some("needs auth".to_owned()),
        Some(false) if deployment.auth => return Some("needs no auth".to_owned()),
        _ => {}
    }
    if let Some(key) = requirement.other.keys().next() {
        return Some(format!("requirement {key} is not supported"));
    }
    match &requirement.server_parameters {
        Some(parameters) => unmet_parameters(base, parameters).await,
        None => None,
    }
}

async fn unmet_parameters(base: &Client, parameters: &Document) -> Option<String> {
    let mut command = doc! {"getParameter": 1};
    for key in parameters.keys() {
        command.insert(key, 1);
    }
    let reply = match base.database("admin").run_command(command).await {
        Ok(reply) => reply,
        Err(e) => return Some(format!("getParameter failed: {e}")),
    };
    for (key, want) in parameters {
        match reply.get(key) {
            Some(got) if matcher::equal(want, got) => {}
            got => return Some(format!("needs server parameter {key}={want}, has {got:?}")),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_with_zero_padding() {
        let check = |a: &str, b: &str, expected: std::cmp::Ordering| {
            assert_eq!(
                version_cmp(&parse_version(a), &parse_version(b)),
                expected,
                "{a} vs {b}"
            );
        };
        check("8.0.0", "8.0", std::cmp::Ordering::Equal);
        check("8.0.0", "4.4", std::cmp::Ordering::Greater);
        check("8.0.0", "8.1", std::cmp::Ordering::Less);
        check("8.0.4-rc1", "8.0.4", std::cmp::Ordering::Equal);
    }
}
