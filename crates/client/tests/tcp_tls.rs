//! The client's TLS over a tokio-rustls terminating proxy in front of
//! `rotor serve`: trust from `tlsCAFile`, host name checks and their
//! relaxations, client certificates, and configuration errors. The
//! certificates are made per test run with rcgen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bson::doc;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rotor::{Client, ErrorKind};
use rotor_server::{RunningServer, ServeArgs};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};

/// A test CA, the PEM files a client reads, and the proxy's certificate.
struct Pki {
    dir: tempfile::TempDir,
    ca: rustls::pki_types::CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca, &ca_key)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let client = CertificateParams::new(vec!["client.test".to_owned()])
            .unwrap()
            .signed_by(&client_key, &ca, &ca_key)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        let client_pem = format!("{}{}", client.pem(), client_key.serialize_pem());
        std::fs::write(dir.path().join("client.pem"), client_pem).unwrap();
        std::fs::write(dir.path().join("empty.pem"), "").unwrap();
        Pki {
            dir,
            ca: ca.der().clone(),
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server_config(&self, require_client_certificate: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_certificate {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        Arc::new(
            builder
                .with_single_cert(self.server_chain.clone(), key)
                .unwrap(),
        )
    }
}

/// `rotor serve` behind a TLS proxy; the server advertises the proxy's
/// address as `localhost:PORT`, the name in the certificate.
struct Deployment {
    server: RunningServer,
    port: u16,
}

async fn deployment(pki: &Pki, require_client_certificate: bool) -> Deployment {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let advertise = format!("localhost:{port}");
    let args = ServeArgs::parse(["--in-memory", "--port", "0", "--advertise", &advertise]).unwrap();
    let server = rotor_server::start(args).await.unwrap();
    let config = pki.server_config(require_client_certificate);
    tokio::spawn(proxy(listener, config, server.local_addr()));
    Deployment { server, port }
}

async fn proxy(listener: TcpListener, config: Arc<rustls::ServerConfig>, backend: SocketAddr) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    while let Ok((tcp, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return;
            };
            if let Ok(mut plain) = TcpStream::connect(backend).await {
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }
        });
    }
}

fn file_option(name: &str, path: &Path) -> String {
    format!("&{name}={}", path.display())
}

/// Pings through the proxy with `options`; the error's text on failure.
async fn ping(host: &str, port: u16, options: &str) -> Result<(), String> {
    let uri = format!("mongodb://{host}:{port}/?serverSelectionTimeoutMS=500{options}");
    let client = Client::connect(&uri).await.map_err(|e| e.to_string())?;
    let result = client.database("admin").run_command(doc! {"ping": 1}).await;
    match result {
        Ok(_) => Ok(()),
        Err(error) => {
            assert!(
                matches!(error.kind(), ErrorKind::ServerSelection { .. }),
                "{error}"
            );
            Err(error.to_string())
        }
    }
}

fn check(result: Result<(), String>, expected_error: Option<&str>) {
    match (result, expected_error) {
        (Ok(()), None) => {}
        (Err(error), Some(fragment)) => assert!(error.contains(fragment), "{error}"),
        (result, expected) => panic!("got {result:?}, expected an error with {expected:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_verifies_the_server_against_the_ca_file_and_its_name() {
    let pki = Pki::new();
    let d = deployment(&pki, false).await;
    let ca = file_option("tlsCAFile", &pki.path("ca.pem"));
    check(ping("localhost", d.port, &ca).await, None);
    check(
        ping("localhost", d.port, "&tls=true").await,
        Some("UnknownIssuer"),
    );
    let direct = format!("&directConnection=true{ca}");
    check(
        ping("127.0.0.1", d.port, &direct).await,
        Some("not valid for name"),
    );
    let relaxed = format!("{direct}&tlsAllowInvalidHostnames=true");
    check(ping("127.0.0.1", d.port, &relaxed).await, None);
    check(
        ping("localhost", d.port, "&tlsAllowInvalidCertificates=true").await,
        None,
    );
    check(
        ping("localhost", d.port, "&tls=false&directConnection=true").await,
        Some("localhost"),
    );
    d.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_certificate_is_presented_when_the_server_requires_one() {
    let pki = Pki::new();
    let d = deployment(&pki, true).await;
    let ca = file_option("tlsCAFile", &pki.path("ca.pem"));
    let with_certificate = format!(
        "{ca}{}",
        file_option("tlsCertificateKeyFile", &pki.path("client.pem"))
    );
    check(ping("localhost", d.port, &with_certificate).await, None);
    check(ping("localhost", d.port, &ca).await, Some("localhost"));
    let uri = format!("mongodb://localhost:{}/?{}", d.port, &with_certificate[1..]);
    let client = Client::connect(&uri).await.unwrap();
    let c = client.database("t").collection::<bson::Document>("c");
    c.insert_one(doc! {"_id": 1}).await.unwrap();
    assert_eq!(c.find_one(doc! {}).await.unwrap(), Some(doc! {"_id": 1}));
    d.server.shutdown().await;
}

#[tokio::test]
async fn tls_files_that_cannot_be_read_are_invalid_arguments() {
    let pki = Pki::new();
    for (option, file, fragment) in [
        ("tlsCAFile", "missing.pem", "cannot read certificates"),
        ("tlsCAFile", "empty.pem", "holds no certificate"),
        (
            "tlsCertificateKeyFile",
            "ca.pem",
            "cannot read a private key",
        ),
    ] {
        let uri = format!(
            "mongodb://localhost/?{}",
            &file_option(option, &pki.path(file))[1..]
        );
        let error = Client::connect(&uri).await.unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::InvalidArgument { .. }),
            "{error}"
        );
        assert!(error.to_string().contains(fragment), "{option}: {error}");
    }
}
