//! TLS configuration: turns the `--tls-*` flags into a checked mode and a
//! rustls acceptor, once, at startup.
//!
//! Invariants: a mode other than `disabled` always comes with an acceptor;
//! an inconsistent combination of flags, or a certificate, key or CA file
//! that cannot be read or parsed, is a startup error naming the flag and
//! the file, so the server never runs with less security than was asked.
//! With `--tls-ca`, client certificates are verified against that CA and
//! required unless `--tls-allow-connections-without-certificates`.
//!
//! Not here: choosing plaintext or TLS per connection and the handshake
//! itself (`transport.rs`); X.509 authentication of users (client
//! certificates prove only that the CA signed them).

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::cli::{ServeArgs, TlsMode};

/// The checked TLS settings every connection consults.
pub struct Tls {
    mode: TlsMode,
    acceptor: Option<TlsAcceptor>,
}

impl Tls {
    /// Reads and checks the `--tls-*` flags and the files they name.
    pub fn from_args(args: &ServeArgs) -> Result<Tls, String> {
        let mode = resolve_mode(args)?;
        let acceptor = match (&args.tls_cert, mode) {
            (Some(cert), TlsMode::Allow | TlsMode::Prefer | TlsMode::Require) => {
                let key = args.tls_key.as_deref().unwrap_or(cert);
                Some(acceptor(cert, key, args)?)
            }
            _ => None,
        };
        Ok(Tls { mode, acceptor })
    }

    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// The acceptor; `None` exactly when the mode is `disabled`.
    pub fn acceptor(&self) -> Option<&TlsAcceptor> {
        self.acceptor.as_ref()
    }
}

/// The effective mode, or why the flags contradict each other.
fn resolve_mode(args: &ServeArgs) -> Result<TlsMode, String> {
    let has_cert = args.tls_cert.is_some();
    let mode = args.tls_mode.unwrap_or(if has_cert {
        TlsMode::Require
    } else {
        TlsMode::Disabled
    });
    if mode != TlsMode::Disabled && !has_cert {
        return Err(format!("--tls-mode {} needs --tls-cert", mode_name(mode)));
    }
    if mode == TlsMode::Disabled && (has_cert || args.tls_key.is_some() || args.tls_ca.is_some()) {
        return Err(
            "--tls-cert, --tls-key and --tls-ca cannot be used with --tls-mode disabled".to_owned(),
        );
    }
    if args.tls_key.is_some() && !has_cert {
        return Err("--tls-key needs --tls-cert".to_owned());
    }
    if args.tls_allow_connections_without_certificates && args.tls_ca.is_none() {
        return Err("--tls-allow-connections-without-certificates needs --tls-ca".to_owned());
    }
    Ok(mode)
}

fn mode_name(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Disabled => "disabled",
        TlsMode::Allow => "allow",
        TlsMode::Prefer => "prefer",
        TlsMode::Require => "require",
    }
}

fn acceptor(cert: &Path, key: &Path, args: &ServeArgs) -> Result<TlsAcceptor, String> {
    let chain = read_certificates(cert, "--tls-cert")?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|error| {
        format!(
            "cannot read a private key from --tls-key {}: {error}",
            key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot configure TLS: {error}"))?;
    let builder = match &args.tls_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for certificate in read_certificates(ca, "--tls-ca")? {
                roots.add(certificate).map_err(|error| {
                    format!("bad CA certificate in --tls-ca {}: {error}", ca.display())
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if args.tls_allow_connections_without_certificates {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|error| format!("cannot use --tls-ca {}: {error}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(chain, key).map_err(|error| {
        format!("--tls-cert and --tls-key do not make a usable identity: {error}")
    })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Every certificate in a PEM file; an empty file is an error, not an
/// empty trust list.
fn read_certificates(path: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let unreadable = |error: &dyn std::fmt::Display| {
        format!(
            "cannot read certificates from {flag} {}: {error}",
            path.display()
        )
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| unreadable(&error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| unreadable(&error))?;
    if certificates.is_empty() {
        return Err(unreadable(&"no certificate found"));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::{TlsMode, resolve_mode};
    use crate::cli::ServeArgs;

    fn check(flags: &[&str], expected: Result<TlsMode, &str>) {
        let args = ServeArgs::parse(flags).unwrap();
        let resolved = resolve_mode(&args);
        match expected {
            Ok(mode) => assert_eq!(resolved, Ok(mode), "{flags:?}"),
            Err(needle) => {
                let message = resolved.expect_err(&format!("{flags:?} must be refused"));
                assert!(message.contains(needle), "{flags:?}: {message}");
            }
        }
    }

    #[test]
    fn tls_mode_defaults_follow_the_certificate_and_contradictions_are_refused() {
        check(&[], Ok(TlsMode::Disabled));
        check(&["--tls-cert", "c.pem"], Ok(TlsMode::Require));
        check(
            &["--tls-cert", "c.pem", "--tls-mode", "allow"],
            Ok(TlsMode::Allow),
        );
        check(
            &["--tls-cert", "c.pem", "--tls-mode", "prefer"],
            Ok(TlsMode::Prefer),
        );
        check(
            &[
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
                "--tls-ca",
                "ca.pem",
            ],
            Ok(TlsMode::Require),
        );
        check(&["--tls-mode", "disabled"], Ok(TlsMode::Disabled));
        check(
            &["--tls-mode", "require"],
            Err("--tls-mode require needs --tls-cert"),
        );
        check(
            &["--tls-mode", "allow"],
            Err("--tls-mode allow needs --tls-cert"),
        );
        check(
            &["--tls-cert", "c.pem", "--tls-mode", "disabled"],
            Err("cannot be used with --tls-mode disabled"),
        );
        check(
            &["--tls-key", "k.pem"],
            Err("cannot be used with --tls-mode disabled"),
        );
        check(
            &["--tls-ca", "ca.pem"],
            Err("cannot be used with --tls-mode disabled"),
        );
        check(
            &["--tls-key", "k.pem", "--tls-mode", "require"],
            Err("needs --tls-cert"),
        );
        check(
            &[
                "--tls-cert",
                "c.pem",
                "--tls-allow-connections-without-certificates",
            ],
            Err("needs --tls-ca"),
        );
    }
}
