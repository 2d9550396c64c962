//! The command layer: one command document in, one reply document out.
//!
//! Invariant: every reply is built here, in mongod's shape (`ok`, and on
//! failure `code`, `codeName`, `errmsg`, `errorLabels`), and every reply,
//! errors included, carries `operationTime` and `$clusterTime`. No other
//! part of Rotor interprets a command document.
//!
//! A command passes through: [`envelope`] (generic fields), [`gate`]
//! (session and transaction rules, labels), then [`execute`] (the command
//! itself, reading and writing through a [`ctx::Ctx`]).

mod aggregate;
mod args;
mod bulk_write;
mod coll_stats;
mod collation;
mod ctx;
mod cursor_reply;
mod ddl;
mod delete;
mod diag;
mod envelope;
mod explain;
mod find;
mod find_and_modify;
mod gate;
mod insert;
mod list_commands;
mod modification;
mod projection;
mod rename;
mod reply;
mod sessions;
mod update;
mod validate;
mod validation;
mod validation_explain;
mod view;
mod write;
mod write_stage;

use bson::{Bson, Document, doc};
use mql::Code;

use crate::Engine;
use crate::auth::{self, ConnectionAuth};
use crate::clock::Ts;
use crate::failpoint;
use ctx::Ctx;
use envelope::Envelope;
pub(crate) use gate::end_active;
pub use reply::CommandError;

/// What the transport knows of the connection a command arrived on.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    /// The server's id for this connection (`connectionId` in `hello`).
    pub id: u64,
    /// The client's `appName` from its handshake, for `failCommand`.
    pub app_name: Option<String>,
    /// The peer's address, as `host:port`; decides the localhost exception.
    pub peer: Option<String>,
    /// Who the connection has authenticated as; shared by clones, so the
    /// transport keeps one per connection and passes it with every command.
    pub auth: ConnectionAuth,
}

/// One command to run.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The database the command runs against (`$db`).
    pub db: &'a str,
    /// The command document, with any OP_MSG document sequences merged in.
    pub body: Document,
    pub connection: &'a ConnectionInfo,
}

/// The reply to one command.
#[derive(Debug, Clone)]
pub struct Response {
    pub reply: Document,
    /// The transport must close the connection without replying
    /// (`failCommand`'s `closeConnection`).
    pub close_connection: bool,
}

/// The reply to one command with the two fields every reply ends with,
/// `$clusterTime` and `operationTime`, kept apart from the rest (mongod too
/// appends them to every command's reply as metadata, after the command).
/// A caller that reads the times as values skips building them as
/// documents: a copy of the `$clusterTime` document and two inserts into
/// the reply cost about 2,800 instructions, a sixth of the seed
/// transaction's engine work (callgrind, `seed_profile`).
#[derive(Debug, Clone)]
pub struct ReplyParts {
    /// The reply without `$clusterTime` and `operationTime`.
    pub body: Document,
    pub times: ReplyTimes,
    /// As [`Response::close_connection`].
    pub close_connection: bool,
}

/// The cluster time and operation time a reply carries.
#[derive(Debug, Clone, Copy)]
pub struct ReplyTimes {
    pub cluster_time: bson::Timestamp,
    pub operation_time: bson::Timestamp,
}

impl ReplyTimes {
    /// `$clusterTime` and `operationTime` as BSON elements, the same bytes
    /// as the fields [`ReplyParts::into_response`] inserts: for a
    /// transport that writes them after the reply's other fields
    /// (`bson_bytes::write_document_with_tail`) without building them as
    /// documents.
    pub fn elements(&self) -> Result<Vec<u8>, bson_bytes::Error> {
        bson_bytes::elements(|reply| {
            let mut cluster = reply.begin_document("$clusterTime")?;
            cluster.append("clusterTime", &Bson::Timestamp(self.cluster_time))?;
            let mut signature = cluster.begin_document("signature")?;
            signature.append_binary("hash", &[0; SIGNATURE_HASH_BYTES])?;
            signature.append("keyId", &Bson::Int64(0))?;
            signature.finish()?;
            cluster.finish()?;
            reply.append("operationTime", &Bson::Timestamp(self.operation_time))
        })
    }
}

/// The length of `$clusterTime.signature.hash` (HMAC-SHA1); Rotor signs
/// nothing, so it is zeros, as mongod's without keys.
const SIGNATURE_HASH_BYTES: usize = 20;

impl ReplyParts {
    /// The whole reply, as mongod shapes it.
    pub fn into_response(self) -> Response {
        let mut reply = self.body;
        reply.insert(
            "$clusterTime",
            cluster_time_doc(Ts::from_bson(self.times.cluster_time)),
        );
        reply.insert("operationTime", self.times.operation_time);
        Response {
            reply,
            close_connection: self.close_connection,
        }
    }
}

pub(crate) type CommandResult = Result<Document, CommandError>;

/// A field a command puts in its reply (or its error's extra fields) to
/// ask the transport to close the connection instead of replying; `run`
/// removes it. `$` keeps it apart from every field mongod replies with.
pub(crate) const CLOSE_CONNECTION_FIELD: &str = "$closeConnection";

pub(crate) fn run(engine: &Engine, request: Request<'_>) -> ReplyParts {
    let name = request.body.keys().next().map_or("", String::as_str);
    let mut close_connection = false;
    let result = match Envelope::parse(&request.body) {
        Ok(envelope) => {
            if let Some(cluster_time) = envelope.cluster_time {
                gossip(engine, Ts::from_bson(cluster_time));
            }
            // As mongod's `failCommand`, failpoints apply to clients only,
            // not to the engine's own commands (the user store's reads).
            let triggered = match request.connection.auth.is_internal() {
                true => None,
                false => engine.failpoints().check_command(
                    name,
                    namespace(&request),
                    request.connection.app_name.as_deref(),
                ),
            };
            match triggered {
                Some(triggered) => {
                    if let Some(block) = triggered.data.block_time {
                        std::thread::sleep(block);
                    }
                    if triggered.data.close_connection {
                        close_connection = true;
                        Ok(Document::new())
                    } else {
                        run_failing(engine, name, &request, &envelope, triggered.data)
                    }
                }
                None => run_labelled(engine, name, &request, &envelope),
            }
        }
        Err(error) => Err(error),
    };
    let mut reply = reply::finish(result);
    let mut operation_time = None;
    // Few replies carry a `$` control field: scanning the top-level names
    // for one is cheaper than hashing each name into a removal.
    if reply.keys().any(|k| k.starts_with('$')) {
        close_connection |= reply.remove(CLOSE_CONNECTION_FIELD).is_some();
        if let Some(Bson::Timestamp(ts)) = reply.remove("$operationTime") {
            operation_time = Some(ts);
        }
    }
    let operation_time = operation_time.unwrap_or_else(|| engine.txns().visible().to_bson());
    ReplyParts {
        body: reply,
        times: ReplyTimes {
            cluster_time: engine.txns().clock.now().to_bson(),
            operation_time,
        },
        close_connection,
    }
}

/// Runs a command and gives its error, or its `writeConcernError`, mongod's labels.
fn run_labelled(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
    envelope: &Envelope,
) -> CommandResult {
    let result = auth::authorize(engine, name, request).and_then(|access| {
        let mut reply = crate::cursor::with_opener(access.owner(), || match name {
            name if auth::handles(name) => auth::run(engine, name, request),
            name if diag::handles(name) => diag::run(engine, name, request),
            _ => gate::run(engine, name, request, envelope),
        })?;
        if name == "listDatabases" {
            access.filter_databases(&mut reply);
        }
        Ok(reply)
    });
    match result {
        Ok(mut reply) => {
            let wce_code = match reply.get("writeConcernError") {
                Some(Bson::Document(error)) => error.get_i32("code").ok(),
                _ => None,
            };
            if let Some(code) = wce_code {
                let labels = gate::error_labels(name, envelope, Code(code), true);
                if !labels.is_empty() {
                    reply.insert("errorLabels", labels);
                }
            }
            Ok(reply)
        }
        Err(mut error) => {
            for label in gate::error_labels(name, envelope, error.code, false) {
                if !error.labels.contains(&label) {
                    error.labels.push(label);
                }
            }
            Err(error)
        }
    }
}

/// A command a `failCommand` failpoint fires on.
fn run_failing(
    engine: &Engine,
    name: &str,
    request: &Request<'_>,
    envelope: &Envelope,
    data: failpoint::FailCommand,
) -> CommandResult {
    if let Some(code) = data.error_code {
        let mut error = CommandError::new(
            Code(code),
            format!("Failing command {name} via 'failCommand' failpoint"),
        );
        error.labels = match data.error_labels {
            Some(labels) => labels,
            None => gate::error_labels(name, envelope, error.code, false),
        };
        if let Some(extra) = data.error_extra_info {
            error.extra = Box::new(extra);
        }
        return Err(error);
    }
    let mut reply = run_labelled(engine, name, request, envelope)?;
    if let Some(wce) = data.write_concern_error {
        let code = wce.get_i32("code").unwrap_or(0);
        reply.insert("writeConcernError", wce);
        let labels = match data.error_labels {
            Some(labels) => labels,
            None => gate::error_labels(name, envelope, Code(code), true),
        };
        if !labels.is_empty() {
            reply.insert("errorLabels", labels);
        }
    }
    Ok(reply)
}

/// The namespace a command targets, as `failCommand`'s `namespace` names
/// it: `(db, collection)`.
fn namespace<'a>(request: &'a Request<'_>) -> (&'a str, &'a str) {
    let coll = match request.body.iter().next() {
        Some((_, Bson::String(coll))) => coll.as_str(),
        _ => "$cmd",
    };
    (request.db, coll)
}

/// `configureFailPoint`, for the command and the in-process API.
pub(crate) fn configure_fail_point(engine: &Engine, body: &Document) -> CommandResult {
    let name = body.get_str("configureFailPoint").map_err(|_| {
        CommandError::new(
            Code::TYPE_MISMATCH,
            "configureFailPoint must name a failpoint",
        )
    })?;
    let mode = failpoint::Mode::parse(body.get("mode").unwrap_or(&Bson::Null))?;
    let data = body.get_document("data").cloned().unwrap_or_default();
    match name {
        "failCommand" => engine
            .failpoints()
            .set_fail_command(mode, failpoint::FailCommand::parse(&data)?),
        "onPrimaryTransactionalWrite" => {
            let write = failpoint::TransactionalWrite::parse(&data)?;
            engine.failpoints().set_transactional_write(mode, write);
        }
        other => {
            return Err(CommandError::new(
                Code::BAD_VALUE,
                format!("Cannot find failpoint {other}"),
            ));
        }
    }
    Ok(doc! {"count": 0})
}

/// A client's cluster time moves ours forward, unless it is implausibly far
/// ahead of the wall clock (mongod's `maxAcceptableLogicalClockDriftSecs`).
fn gossip(engine: &Engine, ts: Ts) {
    const DRIFT_SECS_MAX: u64 = 365 * 24 * 60 * 60;
    let wall = u64::from(engine.txns().clock.wall_seconds());
    if u64::from(ts.seconds()) <= wall + DRIFT_SECS_MAX {
        engine.txns().clock.advance(ts);
    }
}

fn cluster_time_doc(ts: Ts) -> Document {
    // Every reply carries this: copying a built one is cheaper than
    // building it field by field, and setting the time in place allocates
    // nothing.
    static TEMPLATE: std::sync::OnceLock<Document> = std::sync::OnceLock::new();
    let mut cluster_time = TEMPLATE
        .get_or_init(|| {
            doc! {
                "clusterTime": Ts(0).to_bson(),
                "signature": {
                    "hash": Bson::Binary(bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![0; SIGNATURE_HASH_BYTES] }),
                    "keyId": 0i64,
                },
            }
        })
        .clone();
    if let Some(time) = cluster_time.get_mut("clusterTime") {
        *time = Bson::Timestamp(ts.to_bson());
    }
    cluster_time
}

/// Runs the command itself, once the gate has bound its context.
fn execute(ctx: &mut Ctx<'_>, name: &str, body: &Document) -> CommandResult {
    ctx.check_deadline()?;
    let writes = gate::is_retryable_write(name);
    let write_concern_error = if writes || name == "commitTransaction" || name == "abortTransaction"
    {
        write::write_concern_error(body.get("writeConcern"))?
    } else {
        None
    };
    let bound;
    let body = match body.get("let") {
        Some(lets) if name != "insert" => {
            bound = bind_lets(body, lets)?;
            &bound
        }
        _ => body,
    };
    let mut reply = dispatch(ctx, name, body)?;
    if let Some(error) = write_concern_error {
        reply.insert("writeConcernError", error);
    }
    Ok(reply)
}

/// Evaluates a command's `let` variables and binds them into every
/// filter, update and pipeline of the command (see [`mql::vars`]).
fn bind_lets(body: &Document, lets: &Bson) -> Result<Document, CommandError> {
    let parsed = mql::vars::parse_lets(lets)?;
    let empty = Document::new();
    let mut values = Vec::with_capacity(parsed.len());
    for (name, expr) in parsed {
        values.push((name, expr.eval(&empty)?));
    }
    let mut bound = mql::vars::bind_document(body, &values);
    bound.remove("let");
    Ok(bound)
}

/// Defines [`dispatch`] and [`DISPATCHED`] from one table, so the names
/// `listCommands` reports are exactly the names dispatched.
macro_rules! dispatch_table {
    ($ctx:ident, $name:ident, $body:ident;
     $($($command:literal)|+ $(if $guard:expr)? => $run:expr,)+) => {
        /// Every command name [`dispatch`] runs.
        const DISPATCHED: &[&str] = &[$($($command),+),+];

        fn dispatch($ctx: &mut Ctx<'_>, $name: &str, $body: &Document) -> CommandResult {
            match $name {
                $($($command)|+ $(if $guard)? => $run,)+
                _ => Err(CommandError::new(
                    Code::COMMAND_NOT_FOUND,
                    format!("no such command: '{}'", $name),
                )),
            }
        }
    };
}

dispatch_table! { ctx, name, body;
        "ping" => diag::ping(),
        "buildInfo" | "buildinfo" => diag::build_info(),
        "insert" => insert::insert(ctx, body),
        "delete" => delete::delete(ctx, body),
        "update" => update::update(ctx, body),
        "findAndModify" | "findandmodify" => find_and_modify::find_and_modify(ctx, body),
        "bulkWrite" => bulk_write::bulk_write(ctx, body),
        "find" => find::find(ctx, body),
        "explain" => explain::explain(ctx, body),
        "aggregate" => aggregate::aggregate(ctx, body),
        "collStats" => coll_stats::command(ctx, body),
        "validate" => validate::validate(ctx, body),
        "getMore" => find::get_more(ctx, body),
        "killCursors" => find::kill_cursors(ctx, body),
        "count" => find::count(ctx, body),
        "distinct" => find::distinct(ctx, body),
        "create" => ddl::create(ctx, body),
        "collMod" => ddl::coll_mod(ctx, body),
        "drop" => ddl::drop(ctx, body),
        "dropDatabase" => ddl::drop_database(ctx, body),
        "listDatabases" => ddl::list_databases(ctx, body),
        "listCollections" => ddl::list_collections(ctx, body),
        "createIndexes" => ddl::create_indexes(ctx, body),
        "dropIndexes" | "deleteIndexes" => ddl::drop_indexes(ctx, body),
        "listIndexes" => ddl::list_indexes(ctx, body),
        "renameCollection" => rename::rename_collection(ctx, body),
        "listCommands" => list_commands::list_commands(ctx),
        "startSession" => sessions::start_session(ctx),
        "endSessions" => sessions::end_sessions(ctx, body, "endSessions"),
        "killSessions" => sessions::end_sessions(ctx, body, "killSessions"),
        "refreshSessions" => sessions::refresh_sessions(ctx, body),
        "killAllSessions" | "killAllSessionsByPattern" => {
            sessions::kill_all_sessions(ctx, body, name)
        },
        "configureFailPoint" if ctx.engine.options().enable_test_commands => {
            configure_fail_point(ctx.engine, body)
        },
        "getParameter" => ctx
            .engine
            .params()
            .get(body, ctx.engine.txns().history_window_secs()),
        "setParameter" => ctx
            .engine
            .params()
            .set(body, |secs| ctx.engine.txns().set_history_window_secs(secs)),
        "commitTransaction" | "abortTransaction" => Err(CommandError::new(
            Code::INVALID_OPTIONS,
            format!("{name} must be run within a transaction"),
        )),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_time_elements_are_the_fields_the_whole_reply_ends_with() {
        let times = ReplyTimes {
            cluster_time: bson::Timestamp {
                time: 7,
                increment: 3,
            },
            operation_time: bson::Timestamp {
                time: 7,
                increment: 2,
            },
        };
        let body = doc! {"n": 1, "ok": 1.0};
        let whole = ReplyParts {
            body: body.clone(),
            times,
            close_connection: false,
        }
        .into_response()
        .reply;
        let mut split = Vec::new();
        let tail = times.elements().expect("fixed names encode");
        bson_bytes::write_document_with_tail(&mut split, &body, &tail).expect("encodes");
        assert_eq!(split, whole.to_vec().expect("encodes"));
    }
}
