//! The client over TCP against `rotor serve` running in this process:
//! CRUD, sessions and transactions, retries after failpoints, the
//! connection pool, connection string options, and server selection.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bson::{Bson, Document, doc};
use rotor::{Client, ClientSession, CommandEvent, ErrorKind, SessionOptions};
use rotor_server::{RunningServer, ServeArgs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn server() -> RunningServer {
    let args = ServeArgs::parse(["--in-memory", "--port", "0", "--enable-test-commands"])
        .expect("valid arguments");
    rotor_server::start(args).await.expect("the server starts")
}

/// A connection string to `server` with `options` appended.
fn uri(server: &RunningServer, options: &str) -> String {
    format!(
        "mongodb://127.0.0.1:{}/?replicaSet=rs0&{options}",
        server.local_addr().port()
    )
}

async fn connect(server: &RunningServer, options: &str) -> Client {
    Client::connect(&uri(server, options))
        .await
        .expect("a valid connection string")
}

/// The commands a client starts, in order.
fn record(client: &Client) -> Arc<Mutex<Vec<Document>>> {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    client.subscribe(move |event| {
        if let CommandEvent::Started { command, .. } = event {
            log.lock().unwrap().push(command.clone());
        }
    });
    sent
}

fn named(sent: &Mutex<Vec<Document>>, name: &str) -> Vec<Document> {
    sent.lock()
        .unwrap()
        .iter()
        .filter(|c| c.keys().next().map(String::as_str) == Some(name))
        .cloned()
        .collect()
}

/// Connections the server has accepted so far.
async fn connections_created(client: &Client) -> i64 {
    let status = client
        .database("admin")
        .run_command(doc! {"serverStatus": 1})
        .await
        .unwrap();
    let connections = status.get_document("connections").unwrap();
    match connections.get("totalCreated") {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        other => panic!("totalCreated is {other:?}"),
    }
}

fn coll(client: &Client) -> rotor::Collection {
    client.database("t").collection("c")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_crud_round_trips() {
    let server = server().await;
    let client = connect(&server, "").await;
    let c = coll(&client);
    let docs: Vec<Document> = (1..=5).map(|i| doc! {"_id": i, "x": i % 2}).collect();
    c.insert_many(docs).await.unwrap();
    let found = c.find_one(doc! {"_id": 3}).await.unwrap();
    assert_eq!(found, Some(doc! {"_id": 3, "x": 1}));
    let updated = c
        .update_many(doc! {"x": 1}, doc! {"$set": {"odd": true}})
        .await
        .unwrap();
    assert_eq!(updated.modified_count, 3);
    assert_eq!(c.count_documents(doc! {"odd": true}).await.unwrap(), 3);
    // A batch size below the result size makes the cursor run getMore.
    let mut cursor = c.find(doc! {}).batch_size(2).await.unwrap();
    let mut ids = Vec::new();
    while let Some(doc) = cursor.try_next().await.unwrap() {
        ids.push(doc.get_i32("_id").unwrap());
    }
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    let deleted = c.delete_many(doc! {"x": 0}).await.unwrap();
    assert_eq!(deleted.deleted_count, 2);
    let distinct = c.distinct("x", doc! {}).await.unwrap();
    assert_eq!(distinct, [Bson::Int32(1)]);
    client.shutdown().await.unwrap();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_transactions_commit_and_abort() {
    let server = server().await;
    let client = connect(&server, "").await;
    let c = coll(&client);
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    session.start_transaction(Default::default()).unwrap();
    c.insert_one(doc! {"_id": 1})
        .session(&mut session)
        .await
        .unwrap();
    assert_eq!(c.count_documents(doc! {}).await.unwrap(), 0);
    session.commit_transaction().await.unwrap();
    assert_eq!(c.count_documents(doc! {}).await.unwrap(), 1);
    session.start_transaction(Default::default()).unwrap();
    c.insert_one(doc! {"_id": 2})
        .session(&mut session)
        .await
        .unwrap();
    session.abort_transaction().await.unwrap();
    assert_eq!(c.count_documents(doc! {}).await.unwrap(), 1);
    assert!(session.operation_time().is_some());
    assert!(client.cluster_time().is_some());
    session.end_session().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_with_transaction_retries_after_a_real_write_conflict() {
    let server = server().await;
    let client = connect(&server, "").await;
    let c = coll(&client);
    c.insert_one(doc! {"_id": 1, "n": 0}).await.unwrap();
    let mut first = client.start_session(SessionOptions::default()).unwrap();
    first.start_transaction(Default::default()).unwrap();
    c.update_one(doc! {"_id": 1}, doc! {"$inc": {"n": 1}})
        .session(&mut first)
        .await
        .unwrap();
    // The second transaction conflicts with the first, which commits
    // before the failed attempt returns; the retry then succeeds.
    let holder = tokio::sync::Mutex::new(Some(first));
    let mut attempts = 0;
    let mut second = client.start_session(SessionOptions::default()).unwrap();
    second
        .with_transaction(Default::default(), async |s: &mut ClientSession| {
            attempts += 1;
            let result = c
                .update_one(doc! {"_id": 1}, doc! {"$inc": {"n": 10}})
                .session(s)
                .await;
            if let Some(mut first) = holder.lock().await.take() {
                first.commit_transaction().await?;
            }
            result.map(drop)
        })
        .await
        .unwrap();
    assert_eq!(attempts, 2);
    let doc = c.find_one(doc! {"_id": 1}).await.unwrap().unwrap();
    assert_eq!(doc.get_i32("n").ok(), Some(11));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_closed_connection_is_a_network_error_and_the_write_is_retried_once() {
    let server = server().await;
    let client = connect(&server, "").await;
    let sent = record(&client);
    client
        .configure_fail_point(doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": ["insert"], "closeConnection": true},
        })
        .await
        .unwrap();
    coll(&client).insert_one(doc! {"_id": 1}).await.unwrap();
    let inserts = named(&sent, "insert");
    assert_eq!(inserts.len(), 2);
    assert_eq!(inserts[0].get("txnNumber"), inserts[1].get("txnNumber"));
    assert_eq!(inserts[0].get("lsid"), inserts[1].get("lsid"));
    assert_eq!(coll(&client).count_documents(doc! {}).await.unwrap(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_not_writable_primary_rediscovers_and_retries() {
    let server = server().await;
    let client = connect(&server, "").await;
    client
        .database("admin")
        .run_command(doc! {"ping": 1})
        .await
        .unwrap();
    let before = connections_created(&client).await;
    let sent = record(&client);
    let fail_once = |command: &str| {
        doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": [command], "errorCode": 10107},
        }
    };
    client
        .configure_fail_point(fail_once("insert"))
        .await
        .unwrap();
    coll(&client).insert_one(doc! {"_id": 1}).await.unwrap();
    assert_eq!(named(&sent, "insert").len(), 2);
    // Rediscovery opened a fresh connection for its `hello`.
    let after_write = connections_created(&client).await;
    assert_eq!(after_write, before + 1);
    client
        .configure_fail_point(fail_once("find"))
        .await
        .unwrap();
    let found = coll(&client).find_one(doc! {}).await.unwrap();
    assert_eq!(found, Some(doc! {"_id": 1}));
    assert_eq!(named(&sent, "find").len(), 2);
    assert_eq!(connections_created(&client).await, after_write + 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_retries_are_off_when_the_connection_string_says_so() {
    let server = server().await;
    let client = connect(&server, "retryWrites=false&retryReads=false").await;
    let sent = record(&client);
    client
        .configure_fail_point(doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 2},
            "data": {"failCommands": ["insert", "find"], "errorCode": 10107},
        })
        .await
        .unwrap();
    let write = coll(&client).insert_one(doc! {"_id": 1}).await.unwrap_err();
    assert_eq!(write.code(), Some(10107));
    let read = coll(&client).find_one(doc! {}).await.unwrap_err();
    assert_eq!(read.code(), Some(10107));
    let inserts = named(&sent, "insert");
    assert_eq!(inserts.len(), 1);
    assert!(!inserts[0].contains_key("txnNumber"));
    assert_eq!(named(&sent, "find").len(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_pool_reuses_idle_connections_and_respects_its_size() {
    let server = server().await;
    let client = connect(&server, "maxPoolSize=2").await;
    let c = coll(&client);
    c.insert_one(doc! {"_id": 0}).await.unwrap();
    let before = connections_created(&client).await;
    for i in 1..=20 {
        c.insert_one(doc! {"_id": i}).await.unwrap();
    }
    assert_eq!(connections_created(&client).await, before);
    let mut tasks = Vec::new();
    for i in 100..110 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.insert_one(doc! {"_id": i}).await.map(drop)
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // One connection was already pooled; at most one more may be opened.
    assert!(connections_created(&client).await <= before + 1);
    assert_eq!(c.count_documents(doc! {}).await.unwrap(), 31);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_app_name_reaches_the_server() {
    let server = server().await;
    let named_client = connect(&server, "appName=tcp-test").await;
    let other = connect(&server, "").await;
    other
        .configure_fail_point(doc! {
            "configureFailPoint": "failCommand",
            "mode": "alwaysOn",
            "data": {"failCommands": ["ping"], "errorCode": 2, "appName": "tcp-test"},
        })
        .await
        .unwrap();
    let ping = doc! {"ping": 1};
    other
        .database("admin")
        .run_command(ping.clone())
        .await
        .unwrap();
    let error = named_client
        .database("admin")
        .run_command(ping)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(2));
    other
        .configure_fail_point(doc! {"configureFailPoint": "failCommand", "mode": "off"})
        .await
        .unwrap();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_client_concerns_flow_into_operations_but_not_transaction_statements() {
    let server = server().await;
    let client = connect(
        &server,
        "w=majority&wtimeoutMS=1000&readConcernLevel=majority",
    )
    .await;
    let sent = record(&client);
    let c = coll(&client);
    c.insert_one(doc! {"_id": 1}).await.unwrap();
    c.find_one(doc! {}).await.unwrap();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    session.start_transaction(Default::default()).unwrap();
    c.insert_one(doc! {"_id": 2})
        .session(&mut session)
        .await
        .unwrap();
    session.commit_transaction().await.unwrap();
    let concern = doc! {"w": "majority", "wtimeout": 1000_i64};
    let inserts = named(&sent, "insert");
    assert_eq!(inserts[0].get_document("writeConcern").ok(), Some(&concern));
    assert!(!inserts[1].contains_key("writeConcern"), "{}", inserts[1]);
    assert_eq!(
        inserts[1]
            .get_document("readConcern")
            .ok()
            .and_then(|r| r.get_str("level").ok()),
        Some("majority")
    );
    let find = &named(&sent, "find")[0];
    assert_eq!(
        find.get_document("readConcern").ok(),
        Some(&doc! {"level": "majority"})
    );
    let commit = &named(&sent, "commitTransaction")[0];
    assert_eq!(commit.get_document("writeConcern").ok(), Some(&concern));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_sessions_are_pooled_discarded_after_network_errors_and_ended_on_shutdown() {
    let server = server().await;
    let client = connect(&server, "").await;
    let sent = record(&client);
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    let id = session.session_id().clone();
    coll(&client)
        .insert_one(doc! {"_id": 1})
        .session(&mut session)
        .await
        .unwrap();
    session.end_session().await;
    let mut again = client.start_session(SessionOptions::default()).unwrap();
    assert_eq!(again.session_id(), &id, "the pool reuses the session");
    client
        .configure_fail_point(doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": ["find"], "closeConnection": true},
        })
        .await
        .unwrap();
    coll(&client)
        .find_one(doc! {})
        .session(&mut again)
        .await
        .unwrap();
    again.end_session().await;
    let fresh = client.start_session(SessionOptions::default()).unwrap();
    assert_ne!(fresh.session_id(), &id, "a dirty session is not reused");
    drop(fresh);
    client.shutdown().await.unwrap();
    let ended = named(&sent, "endSessions");
    assert_eq!(ended.len(), 1);
    let ids = ended[0].get_array("endSessions").unwrap();
    assert!(!ids.contains(&Bson::Document(id.clone())));
    assert_eq!(ids.len(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_server_selection_times_out_against_a_closed_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let uri = format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=300");
    let client = Client::connect(&uri).await.unwrap();
    let started = Instant::now();
    let error = client
        .database("admin")
        .run_command(doc! {"ping": 1})
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(error.kind(), ErrorKind::ServerSelection { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_replica_set_name_must_match() {
    let server = server().await;
    let port = server.local_addr().port();
    let uri = format!("mongodb://127.0.0.1:{port}/?replicaSet=other&serverSelectionTimeoutMS=200");
    let client = Client::connect(&uri).await.unwrap();
    let error = coll(&client).find_one(doc! {}).await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::ServerSelection { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("'rs0', not 'other'"), "{error}");
    let direct = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    let client = Client::connect(&direct).await.unwrap();
    assert_eq!(coll(&client).find_one(doc! {}).await.unwrap(), None);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_network_error_inside_a_transaction_is_transient() {
    let server = server().await;
    let client = connect(&server, "").await;
    client
        .configure_fail_point(doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": ["insert"], "closeConnection": true},
        })
        .await
        .unwrap();
    let mut session = client.start_session(SessionOptions::default()).unwrap();
    session.start_transaction(Default::default()).unwrap();
    let error = coll(&client)
        .insert_one(doc! {"_id": 1})
        .session(&mut session)
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Network { .. }), "{error}");
    assert!(
        error.has_label(rotor::TRANSIENT_TRANSACTION_ERROR),
        "{error}"
    );
    session.abort_transaction().await.unwrap();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connection_of_an_abandoned_request_is_not_reused() {
    let server = server().await;
    let client = connect(&server, "maxPoolSize=1").await;
    let c = coll(&client);
    c.insert_many(vec![doc! {"_id": 1}, doc! {"_id": 2}])
        .await
        .unwrap();
    let before = connections_created(&client).await;
    client
        .configure_fail_point(doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": ["find"], "blockConnection": true, "blockTimeMS": 300},
        })
        .await
        .unwrap();
    let abandoned = tokio::time::timeout(Duration::from_millis(50), c.find_one(doc! {"_id": 1}));
    assert!(abandoned.await.is_err(), "the blocked find timed out");
    // The blocked reply is still on its way on the old connection; the
    // next command must not read it.
    let found = c.find_one(doc! {"_id": 2}).await.unwrap();
    assert_eq!(found, Some(doc! {"_id": 2}));
    assert_eq!(connections_created(&client).await, before + 1);
    server.shutdown().await;
}

/// A fake server on a free port: each command gets the reply listed for
/// its name, anything else `otherwise`.
/// The commands a fake server received, with the compressor each came in.
type Received = Arc<Mutex<Vec<(String, Option<wire::Compressor>)>>>;

async fn fake_server(
    listener: TcpListener,
    replies: Vec<(&'static str, Document)>,
    otherwise: Document,
    received: Received,
) {
    let replies = Arc::new(replies);
    while let Ok((mut stream, _)) = listener.accept().await {
        let replies = replies.clone();
        let otherwise = otherwise.clone();
        let received = received.clone();
        tokio::spawn(async move {
            let mut header = [0u8; wire::HEADER_LEN];
            while stream.read_exact(&mut header).await.is_ok() {
                let parsed = wire::Header::parse(&header).unwrap();
                let mut frame = vec![0u8; parsed.message_length];
                frame[..wire::HEADER_LEN].copy_from_slice(&header);
                stream
                    .read_exact(&mut frame[wire::HEADER_LEN..])
                    .await
                    .unwrap();
                let decoded = wire::decode(&frame).unwrap();
                let wire::Message::Msg(msg) = decoded.message else {
                    return;
                };
                let name = msg.body.keys().next().cloned().unwrap_or_default();
                received
                    .lock()
                    .unwrap()
                    .push((name.clone(), decoded.compressor));
                let reply = replies
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or_else(|| otherwise.clone(), |(_, reply)| reply.clone());
                let out = wire::Message::Msg(wire::OpMsg::new(reply));
                // Replies go back compressed as the request came, as mongod's do.
                let bytes = wire::encode(1, parsed.request_id, &out, decoded.compressor).unwrap();
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// A replica set member that is not the primary: it answers `hello` with
/// the set's members and the primary's address, and anything else with
/// NotWritablePrimary.
async fn fake_secondary(primary: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let me = listener.local_addr().unwrap().to_string();
    let hello = doc! {
        "ok": 1.0, "isWritablePrimary": false, "secondary": true, "setName": "rs0",
        "hosts": [&primary, &me], "primary": &primary, "me": &me, "maxWireVersion": 21,
    };
    let not_primary =
        doc! {"ok": 0.0, "code": 10107, "codeName": "NotWritablePrimary", "errmsg": "not primary"};
    tokio::spawn(fake_server(
        listener,
        vec![("hello", hello)],
        not_primary,
        Received::default(),
    ));
    me
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_old_servers_get_is_master_and_their_message_size_is_honoured() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let not_found = doc! {"ok": 0.0, "code": 59, "codeName": "CommandNotFound", "errmsg": "no such command: 'hello'"};
    let is_master =
        doc! {"ok": 1.0, "ismaster": true, "maxWireVersion": 8, "maxMessageSizeBytes": 2000};
    let replies = vec![("hello", not_found), ("isMaster", is_master)];
    tokio::spawn(fake_server(
        listener,
        replies,
        doc! {"ok": 1.0, "n": 1},
        Received::default(),
    ));
    let client = Client::connect(&format!("mongodb://{address}/?retryWrites=false"))
        .await
        .unwrap();
    coll(&client)
        .insert_one(doc! {"small": true})
        .await
        .unwrap();
    let error = coll(&client)
        .insert_one(doc! {"large": "x".repeat(3000)})
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::InvalidArgument { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("maxMessageSizeBytes of 2000"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_discovery_follows_a_secondary_to_the_primary() {
    let server = server().await;
    let primary = server.local_addr().to_string();
    let secondary = fake_secondary(primary.clone()).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    for seeds in [secondary.clone(), format!("{closed},{secondary}")] {
        let uri = format!("mongodb://{seeds}/?replicaSet=rs0&serverSelectionTimeoutMS=2000");
        let client = Client::connect(&uri).await.unwrap();
        coll(&client).insert_one(doc! {}).await.unwrap();
    }
    assert_eq!(
        coll(&connect(&server, "").await)
            .count_documents(doc! {})
            .await
            .unwrap(),
        2
    );
    let direct =
        format!("mongodb://{secondary}/?directConnection=true&serverSelectionTimeoutMS=2000");
    let client = Client::connect(&direct).await.unwrap();
    let error = coll(&client).insert_one(doc! {}).await.unwrap_err();
    assert_eq!(error.code(), Some(10107), "{error}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connect_timeout_bounds_a_server_that_never_answers() {
    // Accepted by the kernel's backlog, never read: the handshake hangs.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap();
    let uri = format!("mongodb://{address}/?connectTimeoutMS=100&serverSelectionTimeoutMS=700");
    let client = Client::connect(&uri).await.unwrap();
    let error = client
        .database("admin")
        .run_command(doc! {"ping": 1})
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::ServerSelection { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("longer than 100 ms"), "{error}");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_socket_timeout_is_a_network_error_that_discards_the_connection() {
    let server = server().await;
    let client = connect(
        &server,
        "maxPoolSize=1&socketTimeoutMS=100&retryReads=false",
    )
    .await;
    let c = coll(&client);
    c.insert_one(doc! {"_id": 1}).await.unwrap();
    let before = connections_created(&client).await;
    client
        .configure_fail_point(doc! {
            "configureFailPoint": "failCommand",
            "mode": {"times": 1},
            "data": {"failCommands": ["find"], "blockConnection": true, "blockTimeMS": 400},
        })
        .await
        .unwrap();
    let started = Instant::now();
    let error = c.find_one(doc! {"_id": 1}).await.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Network { .. }), "{error}");
    assert!(error.to_string().contains("socketTimeoutMS"), "{error}");
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "it did not wait for the reply"
    );
    // The late reply must not be read as the next command's.
    let found = c.find_one(doc! {"_id": 1}).await.unwrap();
    assert_eq!(found, Some(doc! {"_id": 1}));
    assert!(
        connections_created(&client).await > before,
        "a new connection was opened"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_compression_is_negotiated_and_spares_the_handshake_and_credentials() {
    use wire::Compressor::{Snappy, Zlib, Zstd};
    for (offered, agreed, expected) in [
        (
            "zstd,snappy,zlib",
            vec!["zstd", "snappy", "zlib"],
            Some(Zstd),
        ),
        ("zlib,snappy", vec!["snappy"], Some(Snappy)),
        ("zlib", vec!["zlib"], Some(Zlib)),
        ("zlib", Vec::new(), None),
        // A server naming a compressor the client did not offer is ignored.
        ("snappy", vec!["zstd"], None),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let hello = doc! {"ok": 1.0, "isWritablePrimary": true, "maxWireVersion": 21, "compression": agreed};
        let received = Received::default();
        tokio::spawn(fake_server(
            listener,
            vec![("hello", hello)],
            doc! {"ok": 1.0},
            received.clone(),
        ));
        let uri = format!("mongodb://{address}/?directConnection=true&compressors={offered}");
        let client = Client::connect(&uri).await.unwrap();
        let admin = client.database("admin");
        admin.run_command(doc! {"ping": 1}).await.unwrap();
        admin
            .run_command(doc! {"createUser": "u", "pwd": "secret", "roles": []})
            .await
            .unwrap();
        let received = received.lock().unwrap().clone();
        let compressed = |name: &str| {
            received
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("no {name} in {received:?}"))
                .1
        };
        assert_eq!(compressed("hello"), None, "{offered}: {received:?}");
        assert_eq!(compressed("ping"), expected, "{offered}: {received:?}");
        assert_eq!(compressed("createUser"), None, "{offered}: {received:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_compressed_transactions_run_against_rotor_serve() {
    let server = server().await;
    for compressor in ["zstd", "snappy", "zlib"] {
        let client = connect(&server, &format!("compressors={compressor}")).await;
        let c = coll(&client);
        let mut session = client.start_session(SessionOptions::default()).unwrap();
        session.start_transaction(Default::default()).unwrap();
        let big = "x".repeat(100_000);
        c.insert_one(doc! {"compressor": compressor, "big": &big})
            .session(&mut session)
            .await
            .unwrap();
        session.commit_transaction().await.unwrap();
        session.end_session().await;
        let found = c.find_one(doc! {"compressor": compressor}).await.unwrap();
        assert_eq!(found.unwrap().get_str("big").unwrap(), big);
        client.shutdown().await.unwrap();
    }
    server.shutdown().await;
}
