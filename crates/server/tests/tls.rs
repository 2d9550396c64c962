//! `rotor serve` over TLS, end to end: a test CA, server and client
//! certificates are generated with rcgen at test time; the real binary is
//! started with the `--tls-*` flags; clients connect with tokio-rustls and
//! speak the wire protocol through the `wire` codec. Covers the modes
//! (require refuses plaintext, allow and prefer take both), client
//! certificates against `--tls-ca`, and startup refusal of unusable files
//! or contradictory flags.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bson::doc;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use support::{Server, command, is_closed, pings};

/// A client's certificate chain and key.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

/// A CA, a server certificate it signed (SANs localhost and 127.0.0.1),
/// a client certificate it signed, and a client certificate from a CA the
/// server does not trust, as files in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateDer<'static>,
    client: Identity,
    stranger: Identity,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let (ca, ca_key) = authority("rotor test CA");
        let server_key = KeyPair::generate().unwrap();
        let server = leaf(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
        std::fs::write(
            dir.path().join("combined.pem"),
            server.pem() + &server_key.serialize_pem(),
        )
        .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let client = leaf(&[], ExtendedKeyUsagePurpose::ClientAuth)
            .signed_by(&client_key, &ca, &ca_key)
            .unwrap();
        let (other_ca, other_ca_key) = authority("someone else's CA");
        let stranger_key = KeyPair::generate().unwrap();
        let stranger = leaf(&[], ExtendedKeyUsagePurpose::ClientAuth)
            .signed_by(&stranger_key, &other_ca, &other_ca_key)
            .unwrap();
        Pki {
            dir,
            ca: ca.der().clone(),
            client: Identity {
                chain: vec![client.der().clone()],
                key_der: client_key.serialize_der(),
            },
            stranger: Identity {
                chain: vec![stranger.der().clone()],
                key_der: stranger_key.serialize_der(),
            },
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `--tls-cert`, `--tls-key` and any further flags, as owned strings.
    fn flags(&self, extra: &[&str]) -> Vec<String> {
        let mut flags = vec![
            "--tls-cert".to_owned(),
            path_str(&self.path("server.pem")),
            "--tls-key".to_owned(),
            path_str(&self.path("server.key")),
        ];
        flags.extend(extra.iter().map(|flag| (*flag).to_owned()));
        flags
    }

    /// Connects over TLS, naming the server `name`, presenting `identity`.
    async fn connect(
        &self,
        server: &Server,
        name: &str,
        identity: Option<&Identity>,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some(identity) => {
                let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.clone()));
                builder
                    .with_client_auth_cert(identity.chain.clone(), key)
                    .unwrap()
            }
        };
        let connector = TlsConnector::from(Arc::new(config));
        let name = ServerName::try_from(name.to_owned()).unwrap();
        connector.connect(name, server.connect().await).await
    }

    /// Whether a TLS client with `identity` gets through the handshake and
    /// has `hello` and `ping` answered. (In TLS 1.3 a refused client
    /// certificate shows only at the first read, so the commands decide.)
    async fn served(&self, server: &Server, name: &str, identity: Option<&Identity>) -> bool {
        let Ok(mut stream) = self.connect(server, name, identity).await else {
            return false;
        };
        let hello = command(&mut stream, doc! {"hello": 1, "$db": "admin"}).await;
        hello.is_some_and(|reply| reply.get_bool("isWritablePrimary").ok() == Some(true))
            && pings(&mut stream).await
    }
}

fn authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).unwrap(), key)
}

fn leaf(names: &[&str], usage: ExtendedKeyUsagePurpose) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.extended_key_usages = vec![usage];
    params
}

fn path_str(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

fn start(flags: &[String]) -> Server {
    Server::start(&flags.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Whether a plaintext client has `ping` answered.
async fn plaintext_served(server: &Server) -> bool {
    pings(&mut server.connect().await).await
}

#[tokio::test]
async fn tls_require_serves_tls_clients_by_name_and_address_and_refuses_plaintext() {
    let pki = Pki::new();
    // A certificate alone means require.
    let server = start(&pki.flags(&[]));
    assert!(pki.served(&server, "localhost", None).await);
    assert!(pki.served(&server, "127.0.0.1", None).await);
    let mut open = pki.connect(&server, "localhost", None).await.unwrap();
    assert!(pings(&mut open).await);
    assert!(
        !plaintext_served(&server).await,
        "plaintext must be refused"
    );
    // A failed handshake does not disturb other connections.
    assert!(pings(&mut open).await);
    let explicit = start(&pki.flags(&["--tls-mode", "require"]));
    assert!(!plaintext_served(&explicit).await);
    assert!(pki.served(&explicit, "localhost", None).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_many_concurrent_clients_are_served() {
    const CLIENTS: usize = 200;
    let pki = Arc::new(Pki::new());
    let server = Arc::new(start(&pki.flags(&[])));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (pki, server) = (Arc::clone(&pki), Arc::clone(&server));
            tokio::spawn(async move { pki.served(&server, "localhost", None).await })
        })
        .collect();
    for (index, client) in clients.into_iter().enumerate() {
        assert!(client.await.unwrap(), "client {index}");
    }
}

#[tokio::test]
async fn tls_allow_and_prefer_serve_tls_and_plaintext_on_one_port() {
    let pki = Pki::new();
    for mode in ["allow", "prefer"] {
        let server = start(&pki.flags(&["--tls-mode", mode]));
        assert!(pki.served(&server, "localhost", None).await, "{mode}");
        assert!(plaintext_served(&server).await, "{mode}");
        assert!(pki.served(&server, "localhost", None).await, "{mode}");
    }
}

#[tokio::test]
async fn tls_disabled_server_closes_tls_clients_and_serves_plaintext() {
    let pki = Pki::new();
    let server = Server::start(&[]);
    assert!(!pki.served(&server, "localhost", None).await);
    assert!(plaintext_served(&server).await);
}

#[tokio::test]
async fn tls_key_may_share_the_certificate_file() {
    let pki = Pki::new();
    let combined = path_str(&pki.path("combined.pem"));
    let server = Server::start(&["--tls-cert", &combined]);
    assert!(pki.served(&server, "localhost", None).await);
}

#[tokio::test]
async fn tls_ca_requires_a_client_certificate_that_it_signed() {
    let pki = Pki::new();
    let ca = path_str(&pki.path("ca.pem"));
    let server = start(&pki.flags(&["--tls-ca", &ca]));
    assert!(pki.served(&server, "localhost", Some(&pki.client)).await);
    assert!(
        !pki.served(&server, "localhost", None).await,
        "no certificate"
    );
    assert!(
        !pki.served(&server, "localhost", Some(&pki.stranger)).await,
        "a certificate from an unknown CA"
    );
}

#[tokio::test]
async fn tls_allow_connections_without_certificates_still_checks_those_presented() {
    let pki = Pki::new();
    let ca = path_str(&pki.path("ca.pem"));
    let server = start(&pki.flags(&[
        "--tls-ca",
        &ca,
        "--tls-allow-connections-without-certificates",
    ]));
    assert!(pki.served(&server, "localhost", None).await);
    assert!(pki.served(&server, "localhost", Some(&pki.client)).await);
    assert!(!pki.served(&server, "localhost", Some(&pki.stranger)).await);
}

#[tokio::test]
async fn tls_stalled_handshake_is_closed_after_the_handshake_timeout() {
    let pki = Pki::new();
    for mode in ["require", "allow"] {
        let server = start(&pki.flags(&["--tls-mode", mode, "--handshake-timeout-secs", "1"]));
        let mut silent = server.connect().await;
        // Half a TLS record header: enough to look like TLS, never finished.
        let mut partial = server.connect().await;
        tokio::io::AsyncWriteExt::write_all(&mut partial, &[0x16, 0x03])
            .await
            .unwrap();
        let started = std::time::Instant::now();
        assert!(is_closed(&mut silent).await, "{mode}");
        assert!(is_closed(&mut partial).await, "{mode}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{mode}"
        );
        assert!(pki.served(&server, "localhost", None).await, "{mode}");
    }
}

/// Starting with `flags` fails with a message containing `expected`.
fn check_startup_refused(flags: &[String], expected: &str) {
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    match Server::try_start(&flags) {
        Ok(_) => panic!("{flags:?} must not start"),
        Err(log) => {
            assert!(log.contains(expected), "{flags:?}: {log}");
            assert!(!log.contains("exit: exit status: 0"), "{flags:?}: {log}");
        }
    }
}

#[test]
fn tls_unusable_files_and_contradictory_flags_stop_the_server_at_startup() {
    let pki = Pki::new();
    let missing = path_str(&pki.path("missing.pem"));
    let ca = path_str(&pki.path("ca.pem"));
    let server_pem = path_str(&pki.path("server.pem"));
    let owned = |flags: &[&str]| {
        flags
            .iter()
            .map(|flag| (*flag).to_owned())
            .collect::<Vec<_>>()
    };
    for (flags, expected) in [
        (
            owned(&["--tls-cert", &missing]),
            "cannot read certificates from --tls-cert",
        ),
        (
            owned(&["--tls-cert", &server_pem]),
            "cannot read a private key from --tls-key",
        ),
        (
            owned(&["--tls-cert", &server_pem, "--tls-key", &ca]),
            "cannot read a private key from --tls-key",
        ),
        (
            pki.flags(&["--tls-ca", &missing]),
            "cannot read certificates from --tls-ca",
        ),
        (owned(&["--tls-mode", "require"]), "needs --tls-cert"),
        (
            pki.flags(&["--tls-mode", "disabled"]),
            "cannot be used with --tls-mode disabled",
        ),
        (
            pki.flags(&["--tls-allow-connections-without-certificates"]),
            "needs --tls-ca",
        ),
    ] {
        check_startup_refused(&flags, expected);
    }
}
