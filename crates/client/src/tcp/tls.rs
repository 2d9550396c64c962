//! TLS client configuration from [`TlsOptions`], with rustls and its
//! `ring` provider.
//!
//! Trust comes from `tlsCAFile` when given, else from the Mozilla roots
//! (`webpki-roots`); the system store is not read. The two relaxations the
//! URI options allow are separate verifiers: one that accepts any
//! certificate (`tlsAllowInvalidCertificates`), and one that checks the
//! chain but forgives a name mismatch (`tlsAllowInvalidHostnames`). Both
//! still check the handshake signatures, so the peer must hold the key of
//! the certificate it shows. Reading the files happens here, once per
//! client, not per connection.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::{Error, ErrorKind, Result};
use crate::uri::TlsOptions;

/// The rustls configuration every connection of a client shares.
pub(crate) fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| invalid(format!("TLS setup failed: {error}")))?;
    let roots = Arc::new(roots(options.ca_file.as_deref())?);
    let algorithms = provider.signature_verification_algorithms;
    let builder = if options.allow_invalid_certificates {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { algorithms }))
    } else if options.allow_invalid_hostnames {
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|error| invalid(format!("TLS setup failed: {error}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyHostname { verifier }))
    } else {
        builder.with_root_certificates(roots)
    };
    let config = match &options.certificate_key_file {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let (chain, key) = certificate_and_key(path)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|error| invalid(format!("{}: {error}", path.display())))?
        }
    };
    Ok(Arc::new(config))
}

/// The name the server's certificate must carry: its host name or IP.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| invalid(format!("'{host}' is not a valid TLS server name")))
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore> {
    let Some(path) = ca_file else {
        return Ok(RootCertStore::from_iter(
            webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
        ));
    };
    let mut store = RootCertStore::empty();
    for certificate in certificates(path)? {
        store
            .add(certificate)
            .map_err(|error| invalid(format!("{}: {error}", path.display())))?;
    }
    Ok(store)
}

/// Every certificate in a PEM file; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let unreadable = |error: rustls::pki_types::pem::Error| {
        invalid(format!(
            "cannot read certificates from {}: {error}",
            path.display()
        ))
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(unreadable)?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    if certificates.is_empty() {
        return Err(invalid(format!("{} holds no certificate", path.display())));
    }
    Ok(certificates)
}

/// `tlsCertificateKeyFile`: the client's chain and its private key, in one
/// PEM file as mongod's tools expect.
fn certificate_and_key(
    path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain = certificates(path)?;
    let key = PrivateKeyDer::from_pem_file(path).map_err(|error| {
        invalid(format!(
            "cannot read a private key from {}: {error}",
            path.display()
        ))
    })?;
    Ok((chain, key))
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument { message })
}

/// `tlsAllowInvalidCertificates`: any certificate, but a correct
/// signature over the handshake.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `tlsAllowInvalidHostnames`: a trusted chain, whatever name it is for.
#[derive(Debug)]
struct AcceptAnyHostname {
    verifier: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for AcceptAnyHostname {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let verified = self.verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verified {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.verifier.supported_verify_schemes()
    }
}
