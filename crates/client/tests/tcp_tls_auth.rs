//! SCRAM-SHA-256 over TLS, end to end: `rotor serve --auth --tls-cert
//! --tls-key` in process, with a CA and server certificate made by rcgen
//! for this run; the first user is created through the localhost
//! exception, then users connect with `tls=true&tlsCAFile=...` and
//! SCRAM-SHA-256. A wrong password fails with AuthenticationFailed (18), a
//! `read` user's insert with Unauthorized (13), and one user can neither
//! continue another's transaction nor getMore another's cursor.

use std::path::{Path, PathBuf};

use bson::{Document, doc};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rotor::{Client, ErrorKind, SessionOptions, TransactionOptions};
use rotor_server::{RunningServer, ServeArgs};

/// The CA and the server's certificate and key, as PEM files.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let server = CertificateParams::new(names)
            .unwrap()
            .signed_by(&server_key, &ca, &ca_key)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

async fn serve(pki: &Pki) -> RunningServer {
    let (cert, key) = (pki.path("server.pem"), pki.path("server.key"));
    let args = ServeArgs::parse([
        "--in-memory",
        "--port",
        "0",
        "--auth",
        "--tls-cert",
        text(&cert),
        "--tls-key",
        text(&key),
    ])
    .unwrap();
    rotor_server::start(args).await.unwrap()
}

/// A client for `credentials` ("user:pw@" or "") over TLS trusting the CA.
async fn connect(server: &RunningServer, pki: &Pki, credentials: &str) -> Client {
    Client::connect(&uri(server, pki, credentials))
        .await
        .unwrap()
}

fn uri(server: &RunningServer, pki: &Pki, credentials: &str) -> String {
    let auth = match credentials {
        "" => "",
        _ => "&authSource=admin&authMechanism=SCRAM-SHA-256",
    };
    format!(
        "mongodb://{credentials}127.0.0.1:{}/?tls=true&tlsCAFile={}{auth}&serverSelectionTimeoutMS=5000",
        server.local_addr().port(),
        text(&pki.path("ca.pem")),
    )
}

/// Creates `admin` (root) through the localhost exception, then the given
/// users (`name`, role on `test`) as `admin`.
async fn create_users(server: &RunningServer, pki: &Pki, users: &[(&str, &str)]) {
    let anonymous = connect(server, pki, "").await;
    anonymous
        .database("admin")
        .run_command(doc! {"createUser": "admin", "pwd": "adminpw", "roles": ["root"]})
        .await
        .unwrap();
    let admin = connect(server, pki, "admin:adminpw@").await;
    for (user, role) in users {
        let roles = vec![doc! {"role": *role, "db": "test"}];
        admin
            .database("admin")
            .run_command(doc! {"createUser": *user, "pwd": format!("{user}pw"), "roles": roles})
            .await
            .unwrap();
    }
}

/// The error code of a command that must fail.
async fn code_of(client: &Client, db: &str, command: Document) -> Option<i32> {
    let result = client.database(db).run_command(command.clone()).await;
    result.expect_err(&format!("{command} should fail")).code()
}

#[tokio::test]
async fn scram_sha_256_over_tls_runs_a_transaction_and_refuses_wrong_passwords() {
    let pki = Pki::new();
    let server = serve(&pki).await;
    create_users(
        &server,
        &pki,
        &[("writer", "readWrite"), ("reader", "read")],
    )
    .await;

    let writer = connect(&server, &pki, "writer:writerpw@").await;
    let status = writer
        .database("admin")
        .run_command(doc! {"connectionStatus": 1})
        .await
        .unwrap();
    let users = status
        .get_document("authInfo")
        .and_then(|info| info.get_array("authenticatedUsers"))
        .unwrap();
    assert_eq!(users.len(), 1, "{status}");

    let coll = writer.database("test").collection::<Document>("c");
    let mut session = writer.start_session(SessionOptions::default()).unwrap();
    session
        .start_transaction(TransactionOptions::default())
        .unwrap();
    coll.insert_one(doc! {"_id": 1})
        .session(&mut session)
        .await
        .unwrap();
    coll.insert_one(doc! {"_id": 2})
        .session(&mut session)
        .await
        .unwrap();
    session.commit_transaction().await.unwrap();
    assert_eq!(
        coll.find(doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
            .len(),
        2
    );

    let wrong = match Client::connect(&uri(&server, &pki, "writer:nope@")).await {
        Ok(client) => client
            .database("test")
            .run_command(doc! {"ping": 1})
            .await
            .expect_err("a wrong password authenticates nothing"),
        Err(error) => error,
    };
    // The client reports a failed handshake as an Authentication error
    // carrying the server's code.
    assert!(
        matches!(wrong.kind(), ErrorKind::Authentication { .. }),
        "{wrong:?}"
    );
    assert_eq!(wrong.code(), Some(18), "{wrong:?}");
    assert_eq!(wrong.code_name(), Some("AuthenticationFailed"), "{wrong:?}");

    let reader = connect(&server, &pki, "reader:readerpw@").await;
    let read = reader.database("test").collection::<Document>("c");
    assert_eq!(
        read.find(doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
            .len(),
        2
    );
    let refused = code_of(
        &reader,
        "test",
        doc! {"insert": "c", "documents": [{"_id": 3}]},
    )
    .await;
    assert_eq!(refused, Some(13));
    server.shutdown().await;
}

#[tokio::test]
async fn scram_over_tls_keeps_sessions_and_cursors_to_their_user() {
    let pki = Pki::new();
    let server = serve(&pki).await;
    create_users(&server, &pki, &[("a", "readWrite"), ("b", "readWrite")]).await;
    let a = connect(&server, &pki, "a:apw@").await;
    let b = connect(&server, &pki, "b:bpw@").await;
    let docs: Vec<Document> = (1..=3).map(|id| doc! {"_id": id}).collect();
    a.database("test")
        .run_command(doc! {"insert": "c", "documents": docs})
        .await
        .unwrap();

    // A opens a transaction and a cursor in the same session.
    let lsid = doc! {"id": bson::Uuid::new()};
    a.database("test")
        .run_command(
            doc! {"insert": "c", "documents": [{"_id": 4}], "lsid": lsid.clone(),
            "txnNumber": 1i64, "startTransaction": true, "autocommit": false},
        )
        .await
        .unwrap();
    let found = a
        .database("test")
        .run_command(doc! {"find": "c", "batchSize": 1, "lsid": lsid.clone()})
        .await
        .unwrap();
    let cursor = found.get_document("cursor").unwrap().get_i64("id").unwrap();
    assert_ne!(cursor, 0);

    // B names the same lsid: it reaches only B's own session.
    let continued = code_of(
        &b,
        "test",
        doc! {"insert": "c", "documents": [{"_id": 5}], "lsid": lsid.clone(),
        "txnNumber": 1i64, "autocommit": false},
    )
    .await;
    assert_eq!(continued, Some(251));
    let committed = code_of(
        &b,
        "admin",
        doc! {"commitTransaction": 1, "lsid": lsid.clone(), "txnNumber": 1i64, "autocommit": false},
    )
    .await;
    assert_eq!(committed, Some(251));
    let more = code_of(
        &b,
        "test",
        doc! {"getMore": cursor, "collection": "c", "lsid": lsid.clone()},
    )
    .await;
    assert_eq!(more, Some(13));

    // A's transaction and cursor are untouched.
    a.database("admin")
        .run_command(
            doc! {"commitTransaction": 1, "lsid": lsid.clone(), "txnNumber": 1i64, "autocommit": false},
        )
        .await
        .unwrap();
    a.database("test")
        .run_command(doc! {"getMore": cursor, "collection": "c", "lsid": lsid})
        .await
        .unwrap();
    server.shutdown().await;
}
