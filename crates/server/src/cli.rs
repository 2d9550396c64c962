//! The command line. Defaults match mongod's where mongod has the option.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "rotor",
    version,
    about = "A transactional document database with MongoDB's semantics"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the engine over MongoDB's wire protocol as a one-member replica set.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// TCP port to listen on.
    #[arg(long, default_value_t = 27017)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Directory for data files.
    #[arg(long, default_value = "./data")]
    pub dbpath: PathBuf,
    /// Keep all data in memory and write nothing to disk.
    #[arg(long)]
    pub in_memory: bool,
    /// Name of the replica set this node presents.
    #[arg(long, default_value = "rs0")]
    pub replset: String,
    /// The `host:port` clients should dial, reported in `hello` (default: bind:port).
    #[arg(long, value_parser = parse_host_port)]
    pub advertise: Option<String>,
    /// Enable test-only commands such as `configureFailPoint`.
    #[arg(long)]
    pub enable_test_commands: bool,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Close a connection that sends nothing for this many seconds.
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,
    /// Refuse connections beyond this many open at once (mongod's
    /// `--maxConns`); `--max-connections` is an older name for it.
    #[arg(long = "max-conns", alias = "max-connections", value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Seconds between checkpoints, which bound the journal and recovery
    /// time (mongod's `--syncdelay`).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub checkpoint_interval_secs: u64,
    /// Milliseconds within which writes that do not wait for the journal
    /// (`j: false`) reach disk anyway (mongod's `--journalCommitInterval`).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=500))]
    pub journal_commit_interval_ms: u64,
    /// Close a connection whose TLS handshake and first message have not
    /// both arrived within this many seconds.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub handshake_timeout_secs: u64,
    /// Close a connection whose peer takes longer than this many seconds
    /// to accept a 64 KiB piece of a reply (it stopped reading).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub write_timeout_secs: u64,
    /// Whether connections use TLS: disabled, allow or prefer (both TLS and
    /// plaintext on the same port), require. Default: require when
    /// `--tls-cert` is given, else disabled.
    #[arg(long, value_enum)]
    pub tls_mode: Option<TlsMode>,
    /// PEM file with the server's certificate chain, leaf first.
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the server's private key (default: the `--tls-cert`
    /// file, which then holds both, as mongod's `--tlsCertificateKeyFile`).
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// PEM file of CA certificates: clients must present a certificate
    /// signed by one of them (mongod's `--tlsCAFile`).
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// With `--tls-ca`, still accept TLS clients that present no
    /// certificate; one that does present one must pass verification.
    #[arg(long)]
    pub tls_allow_connections_without_certificates: bool,
    /// Require clients to authenticate (SCRAM-SHA-256 or SCRAM-SHA-1) and
    /// check every command against the user's roles. While no user exists,
    /// a client on this machine may create the first one.
    #[arg(long)]
    pub auth: bool,
    /// With `--auth`, close a connection that has not authenticated within
    /// this many seconds of connecting, so unauthenticated clients cannot
    /// hold connection slots.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_timeout_secs: u64,
    /// Serve a non-loopback address without `--auth`. Without this flag
    /// `rotor serve` refuses to start that way.
    #[arg(long)]
    pub allow_unauthenticated_network: bool,
}

/// mongod's `--tlsMode`. With a single server there are no outgoing
/// connections, so `allow` and `prefer` behave alike: both accept TLS and
/// plaintext clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsMode {
    Disabled,
    Allow,
    Prefer,
    Require,
}

impl ServeArgs {
    /// The arguments `rotor serve ARGS...` would get, for tests and
    /// embedders: `ServeArgs::parse(["--in-memory", "--port", "0"])`.
    pub fn parse<I, T>(args: I) -> Result<ServeArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let command_line = ["rotor".into(), "serve".into()]
            .into_iter()
            .chain(args.into_iter().map(Into::into));
        match Cli::try_parse_from(command_line)?.command {
            Command::Serve(args) => Ok(args),
        }
    }
}

impl ServeArgs {
    /// Refuses to listen beyond this machine without authentication, unless
    /// `--allow-unauthenticated-network` says so: open databases on the
    /// internet get emptied and ransomed.
    pub fn check_exposure(&self) -> Result<(), String> {
        if self.auth || self.allow_unauthenticated_network || is_loopback(&self.bind) {
            return Ok(());
        }
        Err(format!(
            "refusing to listen on {} without authentication: anyone who can reach that address could read and change every database. Start with --auth (and create a user from this machine), bind to 127.0.0.1, or pass --allow-unauthenticated-network if the network is trusted.",
            self.bind
        ))
    }
}

/// Whether `--bind` names only this machine. Host names other than
/// `localhost` are not resolved, and so count as network addresses.
fn is_loopback(bind: &str) -> bool {
    let host = bind.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Accepts `host:port` with a non-empty host and a valid port, as drivers
/// will dial exactly what `hello` reports.
fn parse_host_port(value: &str) -> Result<String, String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("expected HOST:PORT, got '{value}'"))?;
    if host.is_empty() {
        return Err(format!("missing host in '{value}'"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("invalid port in '{value}'"))?;
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{ServeArgs, is_loopback, parse_host_port};

    #[test]
    fn max_conns_has_the_old_name_max_connections_as_an_alias() {
        for flag in ["--max-conns", "--max-connections"] {
            let args = ServeArgs::parse([flag, "7"]).unwrap();
            assert_eq!(args.max_connections, 7, "{flag}");
        }
        assert!(ServeArgs::parse(["--max-conns", "0"]).is_err());
    }

    #[test]
    fn only_loopback_binds_count_as_local() {
        for (bind, local) in [
            ("127.0.0.1", true),
            ("127.8.9.10", true),
            ("::1", true),
            ("[::1]", true),
            ("localhost", true),
            ("0.0.0.0", false),
            ("::", false),
            ("10.0.0.5", false),
            ("db.example.com", false),
        ] {
            assert_eq!(is_loopback(bind), local, "{bind}");
        }
    }

    #[test]
    fn advertise_must_be_host_and_port() {
        for (value, ok) in [
            ("db:27017", true),
            ("[::1]:27017", true),
            ("db", false),
            (":27017", false),
            ("db:99999", false),
        ] {
            assert_eq!(parse_host_port(value).is_ok(), ok, "{value}");
        }
    }
}
