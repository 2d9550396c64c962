//! Handshake and diagnostic commands: `hello`/`isMaster`, `ping`,
//! `buildInfo`, `getCmdLineOpts`, `serverStatus`, `connectionStatus`,
//! `hostInfo`, `whatsmyuri`, `getLog`, `replSetGetStatus`,
//! `replSetGetConfig`, `dbStats`.
//!
//! Rotor presents itself as the primary of a one-member replica set, so a
//! driver discovers a replica set, selects this node for reads and writes,
//! and runs sessions and transactions against it. Every field a driver reads
//! from `hello` (the handshake, SDAM and server-selection specifications) is
//! here with mongod 8.0's value. Deliberately absent: `topologyVersion` (no
//! awaitable `hello`: drivers then poll, which a single primary survives),
//! `saslSupportedMechs` (no authentication yet), and `lastWrite` optimes.
//! The transport adds what only it knows: `compression` in `hello` and the
//! `connections` section of `serverStatus`.
//!
//! `dbStats` counts what the newest committed snapshot holds by walking
//! every record of the database (mongod reads kept counters instead), so it
//! costs a scan; sizes are the documents' BSON sizes, with no index or
//! on-disk sizes, which Rotor does not track.

use std::sync::OnceLock;
use std::time::Instant;

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, doc};
use mql::Code;
use mql::order::Number;

use super::args::Args;
use super::envelope::type_name;
use super::write::encoded_size;
use super::{CommandError, CommandResult, Request};
use crate::Engine;

/// The mongod release whose behaviour Rotor reproduces.
pub(super) const VERSION: &str = "8.0.0";
/// mongod 8.0's wire version: drivers enable features by it.
const MAX_WIRE_VERSION: i32 = 25;
/// Largest user document (mongod's `maxBsonObjectSize`).
const MAX_BSON_OBJECT_SIZE: i32 = 16 * 1024 * 1024;
/// Largest message (mongod's `maxMessageSizeBytes`).
const MAX_MESSAGE_SIZE_BYTES: i32 = 48_000_000;
/// Most write statements in one command (mongod's `maxWriteBatchSize`).
const MAX_WRITE_BATCH_SIZE: i32 = 100_000;
/// Idle session lifetime drivers are told (mongod's default).
const LOGICAL_SESSION_TIMEOUT_MINUTES: i32 = 30;
/// A fixed election id: one member, elected once, in term 1. Drivers use it
/// with `setVersion` to spot stale primaries, so it must never go backwards.
const ELECTION_ID: [u8; 12] = [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1];
/// The set's `replicaSetId`: fixed, as the one configuration never changes.
const REPLICA_SET_ID: [u8; 12] = [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2];
/// Largest stats scale (mongod's: one pebibyte, 2^50).
const DB_STATS_SCALE_MAX: i64 = 1 << 50;
/// The `getLog` logs this server keeps (both always empty for now).
const LOG_NAMES: [&str; 2] = ["global", "startupWarnings"];

/// Commands answered here without a session or transaction context
/// (`listCommands` lists them).
pub(super) const COMMANDS: &[&str] = &[
    "hello",
    "isMaster",
    "ismaster",
    "getCmdLineOpts",
    "serverStatus",
    "connectionStatus",
    "hostInfo",
    "whatsmyuri",
    "getLog",
    "replSetGetStatus",
    "replSetGetConfig",
    "dbStats",
    "dbstats",
];

/// Whether this module answers command `name`.
pub(super) fn handles(name: &str) -> bool {
    COMMANDS.contains(&name)
}

/// Runs one of the commands [`handles`] accepts.
pub(super) fn run(engine: &Engine, name: &str, request: &Request<'_>) -> CommandResult {
    started_at();
    match name {
        "hello" => hello(engine, request, Form::Hello),
        "isMaster" | "ismaster" => hello(engine, request, Form::Legacy),
        "getCmdLineOpts" => get_cmd_line_opts(engine),
        "serverStatus" => server_status(engine),
        "connectionStatus" => connection_status(engine, request),
        "hostInfo" => host_info(),
        "whatsmyuri" => whatsmyuri(request),
        "getLog" => get_log(&request.body),
        "replSetGetStatus" => repl_set_get_status(engine),
        "replSetGetConfig" => repl_set_get_config(engine, &request.body),
        "dbStats" | "dbstats" => db_stats(engine, request),
        other => Err(CommandError::new(
            Code::COMMAND_NOT_FOUND,
            format!("no such command: '{other}'"),
        )),
    }
}

pub(super) fn ping() -> CommandResult {
    Ok(doc! {})
}

pub(super) fn build_info() -> CommandResult {
    Ok(doc! {
        "version": VERSION,
        "gitVersion": "rotor",
        "modules": [],
        "allocator": "system",
        "javascriptEngine": "none",
        "sysInfo": "deprecated",
        "versionArray": [8, 0, 0, 0],
        "openssl": {"running": "disabled", "compiled": "disabled"},
        "buildEnvironment": {},
        "bits": 64,
        "debug": false,
        "maxBsonObjectSize": MAX_BSON_OBJECT_SIZE,
        "storageEngines": ["rotor"],
    })
}

/// `hello` answers `isWritablePrimary`; the legacy `isMaster` answers
/// `ismaster` instead, as mongod does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Hello,
    Legacy,
}

fn hello(engine: &Engine, request: &Request<'_>, form: Form) -> CommandResult {
    let topology = &engine.options().topology;
    let mut reply = Document::new();
    // Any `helloOk` in the request, whatever its value, tells the client
    // this server understands `hello`, as mongod answers.
    if request.body.contains_key("helloOk") {
        reply.insert("helloOk", true);
    }
    reply.insert("hosts", vec![topology.advertise.clone()]);
    reply.insert("setName", topology.set_name.clone());
    reply.insert("setVersion", 1);
    match form {
        Form::Hello => reply.insert("isWritablePrimary", true),
        Form::Legacy => reply.insert("ismaster", true),
    };
    reply.insert("secondary", false);
    reply.insert("primary", topology.advertise.clone());
    reply.insert("me", topology.advertise.clone());
    reply.insert("electionId", ObjectId::from_bytes(ELECTION_ID));
    reply.insert("maxBsonObjectSize", MAX_BSON_OBJECT_SIZE);
    reply.insert("maxMessageSizeBytes", MAX_MESSAGE_SIZE_BYTES);
    reply.insert("maxWriteBatchSize", MAX_WRITE_BATCH_SIZE);
    reply.insert("localTime", DateTime::now());
    reply.insert(
        "logicalSessionTimeoutMinutes",
        LOGICAL_SESSION_TIMEOUT_MINUTES,
    );
    reply.insert("connectionId", small_number(request.connection.id));
    reply.insert("minWireVersion", 0);
    reply.insert("maxWireVersion", MAX_WIRE_VERSION);
    reply.insert("readOnly", false);
    // Drivers ask which SCRAM mechanisms a user has, and start SCRAM inside
    // the handshake to save a round trip.
    if let Some(mechanisms) = crate::auth::supported_mechs(engine, &request.body) {
        reply.insert("saslSupportedMechs", mechanisms);
    }
    if let Some(speculative) = crate::auth::speculative(engine, request.connection, &request.body) {
        reply.insert("speculativeAuthenticate", speculative);
    }
    Ok(reply)
}

fn get_cmd_line_opts(engine: &Engine) -> CommandResult {
    let options = engine.options();
    let mut parsed = doc! {
        "replication": {"replSet": options.topology.set_name.clone()},
    };
    if options.enable_test_commands {
        parsed.insert("setParameter", doc! {"enableTestCommands": "1"});
    }
    let argv: Vec<String> = std::env::args().collect();
    Ok(doc! {"argv": argv, "parsed": parsed})
}

fn server_status(engine: &Engine) -> CommandResult {
    let topology = &engine.options().topology;
    let uptime = started_at().elapsed();
    let metrics = engine.metrics();
    Ok(doc! {
        "host": hostname(),
        "version": VERSION,
        "process": "rotor",
        "pid": i64::from(std::process::id()),
        "uptime": uptime.as_secs_f64().floor(),
        "uptimeMillis": i64::try_from(uptime.as_millis()).unwrap_or(i64::MAX),
        "uptimeEstimate": i64::try_from(uptime.as_secs()).unwrap_or(i64::MAX),
        "localTime": DateTime::now(),
        "repl": {
            "setName": topology.set_name.clone(),
            "setVersion": 1,
            "isWritablePrimary": true,
            "secondary": false,
            "hosts": [topology.advertise.clone()],
            "primary": topology.advertise.clone(),
            "me": topology.advertise.clone(),
        },
        "storageEngine": {
            "name": "rotor",
            "supportsCommittedReads": true,
            "supportsSnapshotReadConcern": true,
            "readOnly": false,
        },
        "transactions": transactions(engine),
        "metrics": {
            "queryExecutor": {
                "scanned": clamp(metrics.keys_examined),
                "scannedObjects": clamp(metrics.docs_examined),
            },
        },
    })
}

/// mongod's `serverStatus.transactions`, for a member that never
/// prepares (no sharding): the prepared counters stay zero.
fn transactions(engine: &Engine) -> Document {
    let status = engine.sessions().txn_status();
    doc! {
        "retriedCommandsCount": clamp(status.retried_commands),
        "retriedStatementsCount": clamp(status.retried_statements),
        "transactionsCollectionWriteCount": clamp(status.recorded_writes),
        "currentActive": clamp(status.current_active),
        "currentInactive": clamp(status.current_inactive),
        "currentOpen": clamp(status.current_open),
        "totalAborted": clamp(status.total_aborted),
        "totalCommitted": clamp(status.total_committed),
        "totalStarted": clamp(status.total_started),
        "totalPrepared": 0_i64,
        "totalPreparedThenCommitted": 0_i64,
        "totalPreparedThenAborted": 0_i64,
        "currentPrepared": 0_i64,
    }
}

/// No authentication yet: every connection is unauthenticated.
fn connection_status(engine: &Engine, request: &Request<'_>) -> CommandResult {
    let mut auth_info = crate::auth::auth_info(engine, request);
    if request.body.get("showPrivileges").is_some_and(truthy) {
        auth_info.insert("authenticatedUserPrivileges", Vec::<Bson>::new());
    }
    Ok(doc! {"authInfo": auth_info})
}

fn host_info() -> CommandResult {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Ok(doc! {
        "system": {
            "currentTime": DateTime::now(),
            "hostname": hostname(),
            "cpuAddrSize": 64,
            "numCores": i32::try_from(cores).unwrap_or(i32::MAX),
            "cpuArch": std::env::consts::ARCH,
            "numaEnabled": false,
        },
        "os": {"type": std::env::consts::OS},
        "extra": {},
    })
}

fn whatsmyuri(request: &Request<'_>) -> CommandResult {
    let you = request.connection.peer.clone().unwrap_or_default();
    Ok(doc! {"you": you})
}

fn get_log(body: &Document) -> CommandResult {
    let Some(Bson::String(name)) = body.get("getLog") else {
        return Err(CommandError::new(
            Code::TYPE_MISMATCH,
            "Argument to getLog must be of type String",
        ));
    };
    if name == "*" {
        return Ok(doc! {"names": LOG_NAMES.to_vec()});
    }
    if !LOG_NAMES.contains(&name.as_str()) {
        return Err(CommandError::new(
            Code::OPERATION_FAILED,
            format!("No log named '{name}'"),
        ));
    }
    Ok(doc! {"totalLinesWritten": 0, "log": []})
}

fn repl_set_get_status(engine: &Engine) -> CommandResult {
    let topology = &engine.options().topology;
    let uptime_secs = i64::try_from(started_at().elapsed().as_secs()).unwrap_or(i64::MAX);
    Ok(doc! {
        "set": topology.set_name.clone(),
        "date": DateTime::now(),
        "myState": 1,
        "term": 1i64,
        "heartbeatIntervalMillis": 2000i64,
        "majorityVoteCount": 1,
        "writeMajorityCount": 1,
        "votingMembersCount": 1,
        "writableVotingMembersCount": 1,
        "members": [{
            "_id": 0,
            "name": topology.advertise.clone(),
            "health": 1.0,
            "state": 1,
            "stateStr": "PRIMARY",
            "uptime": uptime_secs,
            "electionId": ObjectId::from_bytes(ELECTION_ID),
            "configVersion": 1,
            "configTerm": 1i64,
            "self": true,
        }],
    })
}

/// The one-member configuration mongod would hold after `rs.initiate()`
/// with default settings (what `rs.conf()` shows).
fn repl_set_get_config(engine: &Engine, body: &Document) -> CommandResult {
    let args = Args::new("replSetGetConfig", body);
    args.check_known(&["commitmentStatus", "$_internalIncludeNewlyAdded"])?;
    let topology = &engine.options().topology;
    let config = doc! {
        "_id": topology.set_name.clone(),
        "version": 1,
        "term": 1i64,
        "members": [{
            "_id": 0,
            "host": topology.advertise.clone(),
            "arbiterOnly": false,
            "buildIndexes": true,
            "hidden": false,
            "priority": 1.0,
            "tags": {},
            "secondaryDelaySecs": 0i64,
            "votes": 1,
        }],
        "protocolVersion": 1i64,
        "writeConcernMajorityJournalDefault": true,
        "settings": {
            "chainingAllowed": true,
            "heartbeatIntervalMillis": 2000,
            "heartbeatTimeoutSecs": 10,
            "electionTimeoutMillis": 10000,
            "catchUpTimeoutMillis": -1,
            "catchUpTakeoverDelayMillis": 30000,
            "getLastErrorModes": {},
            "getLastErrorDefaults": {"w": 1, "wtimeout": 0},
            "replicaSetId": ObjectId::from_bytes(REPLICA_SET_ID),
        },
    };
    let mut reply = doc! {"config": config};
    // The configuration never changes, so it is always committed.
    if args.bool("commitmentStatus")?.unwrap_or(false) {
        reply.insert("commitmentStatus", true);
    }
    Ok(reply)
}

/// mongod's `dbStats` reply. `storageSize` is the documents' size, as an
/// in-memory engine holds them uncompressed; `indexSize` is 0 and the
/// `fs*` sizes are absent, as mongod omits them for an ephemeral engine.
fn db_stats(engine: &Engine, request: &Request<'_>) -> CommandResult {
    let args = Args::new("dbStats", &request.body);
    args.check_known(&["scale", "freeStorage"])?;
    let scale = scale_of("dbStats.scale", args.get("scale"))?;
    let free_storage = args.bool("freeStorage")?.unwrap_or(false);
    let snapshot = engine.txns().visible();
    let (views, collections): (Vec<_>, Vec<_>) = engine
        .catalog()
        .collections(request.db, None)
        .into_iter()
        .partition(|c| super::view::is_view(c));
    let (mut objects, mut data_size, mut indexes) = (0i64, 0i64, 0i64);
    for coll in &collections {
        indexes += clamp(coll.index_specs().len() as u64);
        for (_, record) in coll.records_from(None) {
            if let Some(doc) = record.lock().visible_at(snapshot) {
                objects += 1;
                data_size += clamp(encoded_size(&doc) as u64);
            }
        }
    }
    let avg_obj_size = if objects == 0 {
        0.0
    } else {
        data_size as f64 / objects as f64
    };
    // Whole bytes or units of `scale`, sent as doubles; counts are longs.
    let scaled = (data_size / scale) as f64;
    let mut reply = doc! {
        "db": request.db,
        "collections": clamp(collections.len() as u64),
        "views": clamp(views.len() as u64),
        "objects": objects,
        "avgObjSize": avg_obj_size,
        "dataSize": scaled,
        "storageSize": scaled,
        "indexes": indexes,
        "indexSize": 0.0,
        "totalSize": scaled,
        "scaleFactor": scale,
    };
    if free_storage {
        reply.insert("freeStorageSize", 0.0);
        reply.insert("indexFreeStorageSize", 0.0);
        reply.insert("totalFreeStorageSize", 0.0);
    }
    Ok(reply)
}

/// A stats command's `scale` (`field` names it in errors): any number, its
/// integer part taken, in `1..=2^50`. Shared by `dbStats` and `collStats`.
pub(super) fn scale_of(field: &str, value: Option<&Bson>) -> Result<i64, CommandError> {
    let scale = match value {
        None => 1,
        Some(value) => match Number::of(value) {
            Some(Number::Int(n)) => n,
            // `as` saturates out-of-range doubles and maps NaN to 0, both
            // then refused by the range check.
            Some(Number::Double(d)) => d.trunc() as i64,
            None => {
                return Err(CommandError::new(
                    Code::TYPE_MISMATCH,
                    format!(
                        "BSON field '{field}' is the wrong type '{}', expected types '[long, int, decimal, double]'",
                        type_name(value)
                    ),
                ));
            }
        },
    };
    if !(1..=DB_STATS_SCALE_MAX).contains(&scale) {
        return Err(CommandError::new(
            Code::BAD_VALUE,
            "Scale factor must be greater than zero and less than or equal to 2^50",
        ));
    }
    Ok(scale)
}

/// When this process started answering diagnostics. The engine handle does
/// not record its open time, so uptime counts from the first diagnostic
/// command, which a driver's handshake sends at once.
fn started_at() -> Instant {
    static STARTED_AT: OnceLock<Instant> = OnceLock::new();
    *STARTED_AT.get_or_init(Instant::now)
}

/// The machine's name, as mongod reports `host`; Linux exposes it in /proc.
pub(super) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// BSON truthiness as mongod reads boolean options (`trueValue()`).
fn truthy(value: &Bson) -> bool {
    match value {
        Bson::Boolean(flag) => *flag,
        Bson::Int32(number) => *number != 0,
        Bson::Int64(number) => *number != 0,
        Bson::Double(number) => *number != 0.0,
        Bson::Null | Bson::Undefined => false,
        _ => true,
    }
}

/// mongod's `appendNumber`: an int32 below 2^30, an int64 above.
pub(super) fn small_number(count: u64) -> Bson {
    match i32::try_from(count) {
        Ok(small) if small < 1 << 30 => Bson::Int32(small),
        _ => Bson::Int64(clamp(count)),
    }
}

fn clamp(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
