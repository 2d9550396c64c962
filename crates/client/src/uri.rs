//! MongoDB connection strings (`mongodb://…`) parsed into [`ClientOptions`],
//! following the Connection String and URI Options specifications.
//!
//! Invariants: every option this client acts on is validated here, so a
//! parsed [`ClientOptions`] never needs re-checking; option names are
//! matched case-insensitively and a repeated option keeps its last value,
//! as the specification says. Options that change behaviour and that this
//! client does not implement are refused (silently ignoring `loadBalanced`
//! or `readPreference=secondary` would be a lie); options that only tune
//! performance are accepted and listed in [`ClientOptions::warnings`], as
//! are repeated options. An invalid value is an error, where the
//! specification lets drivers warn and ignore it: a typo in `w` or
//! `retryWrites` should not silently change what the client does.
//!
//! Not supported: `mongodb+srv://` (it needs DNS SRV and TXT lookups),
//! Unix domain sockets, and authentication mechanisms other than SCRAM.

use std::path::PathBuf;
use std::time::Duration;

use bson::{Bson, Document, doc};
use percent_encoding::percent_decode_str;

use crate::error::{Error, ErrorKind, Result};

/// The port mongod listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 27017;
/// The handshake spec's limit on `appName` (mongod truncates nothing: it
/// refuses longer names).
const APP_NAME_BYTES_MAX: usize = 128;
/// More seeds than this is a typo or an attack, not a deployment.
const HOSTS_MAX: usize = 1000;
/// Drivers' default `connectTimeoutMS`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Drivers' default `serverSelectionTimeoutMS`.
const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Drivers' default `maxPoolSize`.
const DEFAULT_MAX_POOL_SIZE: u32 = 100;

/// Options that only tune performance or monitoring: accepted, ignored,
/// and reported in [`ClientOptions::warnings`].
const IGNORED_OPTIONS: [&str; 11] = [
    "heartbeatfrequencyms",
    "localthresholdms",
    "minpoolsize",
    "maxidletimems",
    "maxconnecting",
    "waitqueuetimeoutms",
    "zlibcompressionlevel",
    "servermonitoringmode",
    "uuidrepresentation",
    "serverselectiontryonce",
    "waitqueuemultiple",
];

/// Pairs of TLS options the URI Options spec forbids together, whatever
/// their values.
const TLS_CONFLICTS: [(&str, &str); 6] = [
    ("tlsinsecure", "tlsallowinvalidcertificates"),
    ("tlsinsecure", "tlsallowinvalidhostnames"),
    ("tlsinsecure", "tlsdisablecertificaterevocationcheck"),
    ("tlsinsecure", "tlsdisableocspendpointcheck"),
    (
        "tlsallowinvalidcertificates",
        "tlsdisablecertificaterevocationcheck",
    ),
    ("tlsallowinvalidcertificates", "tlsdisableocspendpointcheck"),
];
/// Revocation options: rustls here checks no revocation, so turning the
/// check off changes nothing (accepted with a warning).
const TLS_REVOCATION_OPTIONS: [&str; 2] = [
    "tlsdisablecertificaterevocationcheck",
    "tlsdisableocspendpointcheck",
];

/// Options that change behaviour in ways this client does not implement.
const UNSUPPORTED_OPTIONS: [&str; 7] = [
    "readpreferencetags",
    "maxstalenessseconds",
    "tlscertificatekeyfilepassword",
    "authmechanismproperties",
    "srvmaxhosts",
    "srvservicename",
    "timeoutms",
];

/// One server's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerAddress {
    /// Host name (lower-cased) or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl ServerAddress {
    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`, as connection
    /// strings and `hello`'s `hosts` spell addresses.
    ///
    /// ```
    /// let address = rotor::ServerAddress::parse("Db.Example.com:27018").unwrap();
    /// assert_eq!((address.host.as_str(), address.port), ("db.example.com", 27018));
    /// assert_eq!(rotor::ServerAddress::parse("[::1]").unwrap().to_string(), "[::1]:27017");
    /// ```
    pub fn parse(text: &str) -> Result<ServerAddress> {
        let (host, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (host, after) = rest
                    .split_once(']')
                    .ok_or_else(|| invalid(format!("unterminated IPv6 address in '{text}'")))?;
                let port = match after {
                    "" => None,
                    _ => Some(after.strip_prefix(':').ok_or_else(|| {
                        invalid(format!("unexpected '{after}' after an IPv6 address"))
                    })?),
                };
                (host, port)
            }
            None => match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            },
        };
        if host.is_empty() {
            return Err(invalid(format!("empty host in '{text}'")));
        }
        if host.ends_with(".sock") || host.contains('/') {
            return Err(invalid(format!(
                "'{host}': Unix domain sockets are not supported"
            )));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| invalid(format!("invalid port '{port}' in '{text}'")))?,
        };
        Ok(ServerAddress {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl std::fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The SASL mechanisms this client authenticates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMechanism {
    /// SCRAM-SHA-1 (RFC 5802 with MongoDB's password digest).
    ScramSha1,
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
}

impl AuthMechanism {
    /// The mechanism's name as MongoDB spells it.
    pub fn name(self) -> &'static str {
        match self {
            AuthMechanism::ScramSha1 => "SCRAM-SHA-1",
            AuthMechanism::ScramSha256 => "SCRAM-SHA-256",
        }
    }
}

/// Who the client authenticates as.
#[derive(Clone, PartialEq)]
pub struct Credential {
    /// The user name, percent-decoded.
    pub username: String,
    /// The password, percent-decoded.
    pub password: String,
    /// The database holding the user (`authSource`; defaults to the
    /// connection string's database, else `admin`).
    pub source: String,
    /// The mechanism, or `None` to negotiate (`saslSupportedMechs`):
    /// SCRAM-SHA-256 where the server offers it, else SCRAM-SHA-1.
    pub mechanism: Option<AuthMechanism>,
}

impl std::fmt::Debug for Credential {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("source", &self.source)
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

/// TLS settings (`tls`, `tlsCAFile`, `tlsCertificateKeyFile`, …).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsOptions {
    /// Trust these PEM certificates instead of the Mozilla roots
    /// (`tlsCAFile`).
    pub ca_file: Option<PathBuf>,
    /// A PEM file holding the client's certificate chain and private key
    /// (`tlsCertificateKeyFile`).
    pub certificate_key_file: Option<PathBuf>,
    /// Accept any server certificate (`tlsAllowInvalidCertificates`):
    /// for tests only, it defeats TLS's protection.
    pub allow_invalid_certificates: bool,
    /// Accept a valid certificate issued for another host name
    /// (`tlsAllowInvalidHostnames`).
    pub allow_invalid_hostnames: bool,
}

/// The read preference modes. Every mode reads from the primary in this
/// client, which all of them but `secondary` allow; `secondary` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadPreference {
    /// Read from the primary (the default).
    #[default]
    Primary,
    /// The primary if there is one.
    PrimaryPreferred,
    /// A secondary if there is one; this client reads the primary.
    SecondaryPreferred,
    /// The lowest latency member; this client reads the primary.
    Nearest,
}

/// How a [`crate::Client`] reaches a deployment over TCP: parsed from a
/// connection string by [`ClientOptions::parse`], or adjusted after.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The seed list.
    pub hosts: Vec<ServerAddress>,
    /// The user to authenticate as, if any.
    pub credential: Option<Credential>,
    /// The database named in the connection string's path.
    pub default_database: Option<String>,
    /// The replica set every member must report (`replicaSet`).
    pub replica_set: Option<String>,
    /// Talk to the one host as is, without discovering the set
    /// (`directConnection`).
    pub direct_connection: bool,
    /// The client's default write concern (`w`, `wtimeoutMS`, `journal`),
    /// e.g. `{w: "majority", wtimeout: 1000}`.
    pub write_concern: Option<Document>,
    /// The client's default read concern (`readConcernLevel`), e.g.
    /// `{level: "majority"}`.
    pub read_concern: Option<Document>,
    /// The read preference; see [`ReadPreference`].
    pub read_preference: ReadPreference,
    /// Sent in the handshake and shown in the server's logs (`appName`).
    pub app_name: Option<String>,
    /// Retry a failed write once (`retryWrites`, default true).
    pub retry_writes: bool,
    /// Retry a failed read once (`retryReads`, default true).
    pub retry_reads: bool,
    /// `Some` when connections use TLS (`tls=true` or any `tls*` option).
    pub tls: Option<TlsOptions>,
    /// How long opening a connection may take (`connectTimeoutMS`; `None`
    /// for no limit).
    pub connect_timeout: Option<Duration>,
    /// How long one command may wait for its reply on a connection
    /// (`socketTimeoutMS`; `None`, the default, for no limit). When it
    /// runs out the command fails with a network error and the connection
    /// is closed, its stream being out of step.
    pub socket_timeout: Option<Duration>,
    /// How long an operation waits for a suitable server
    /// (`serverSelectionTimeoutMS`).
    pub server_selection_timeout: Duration,
    /// Connections per server at most (`maxPoolSize`; `None` for no limit).
    pub max_pool_size: Option<u32>,
    /// Compressors to offer in the handshake, in order of preference
    /// (`compressors=zstd,snappy,zlib`); commands go compressed with the
    /// first one the server also supports. Empty (the default): none.
    pub compressors: Vec<wire::Compressor>,
    /// Options that were accepted but have no effect in this client.
    pub warnings: Vec<String>,
}

impl Default for ClientOptions {
    /// `mongodb://localhost:27017`.
    fn default() -> ClientOptions {
        ClientOptions {
            hosts: vec![ServerAddress {
                host: "localhost".to_owned(),
                port: DEFAULT_PORT,
            }],
            credential: None,
            default_database: None,
            replica_set: None,
            direct_connection: false,
            write_concern: None,
            read_concern: None,
            read_preference: ReadPreference::Primary,
            app_name: None,
            retry_writes: true,
            retry_reads: true,
            tls: None,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            socket_timeout: None,
            server_selection_timeout: DEFAULT_SERVER_SELECTION_TIMEOUT,
            max_pool_size: Some(DEFAULT_MAX_POOL_SIZE),
            compressors: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// The parts of a connection string before its options are applied.
struct Parts<'a> {
    userinfo: Option<&'a str>,
    hosts: &'a str,
    database: Option<&'a str>,
    options: Option<&'a str>,
}

impl ClientOptions {
    /// Parses a `mongodb://` connection string.
    ///
    /// ```
    /// let options = rotor::ClientOptions::parse(
    ///     "mongodb://app:s%40cret@db1,db2:27018/shop?replicaSet=rs0&w=majority&appName=orders",
    /// ).unwrap();
    /// assert_eq!(options.hosts.len(), 2);
    /// assert_eq!(options.credential.as_ref().unwrap().password, "s@cret");
    /// assert_eq!(options.credential.as_ref().unwrap().source, "shop");
    /// assert_eq!(options.write_concern, Some(bson::doc! {"w": "majority"}));
    /// assert!(rotor::ClientOptions::parse("mongodb://db/?nosuchoption=1").is_err());
    /// ```
    pub fn parse(uri: &str) -> Result<ClientOptions> {
        let parts = split(uri)?;
        let mut options = ClientOptions {
            hosts: parse_hosts(parts.hosts)?,
            default_database: parts.database.map(decode).transpose()?,
            ..ClientOptions::default()
        };
        let mut auth = AuthOptions::default();
        let mut tls = TlsSettings::default();
        let mut seen = Vec::new();
        for (key, value) in pairs(parts.options.unwrap_or_default())? {
            if seen.contains(&key) {
                let warning =
                    format!("option '{key}' is given more than once; the last value wins");
                options.warnings.push(warning);
            }
            options.apply(&key, &value, &mut auth, &mut tls)?;
            seen.push(key);
        }
        options.tls = tls.finish()?;
        options.credential = auth.finish(parts.userinfo, options.default_database.as_deref())?;
        options.check()?;
        Ok(options)
    }

    fn apply(
        &mut self,
        key: &str,
        value: &str,
        auth: &mut AuthOptions,
        tls: &mut TlsSettings,
    ) -> Result<()> {
        match key {
            "replicaset" => self.replica_set = Some(non_empty(key, value)?),
            "directconnection" => self.direct_connection = boolean(key, value)?,
            "w" => {
                let w = match value.parse::<i32>() {
                    Ok(n) if n >= 0 => Bson::Int32(n),
                    Ok(_) => return Err(bad_value(key, value)),
                    Err(_) => Bson::String(non_empty(key, value)?),
                };
                concern(&mut self.write_concern).insert("w", w);
            }
            "wtimeoutms" => {
                concern(&mut self.write_concern).insert("wtimeout", millis(key, value)?);
            }
            "journal" => {
                concern(&mut self.write_concern).insert("j", boolean(key, value)?);
            }
            "readconcernlevel" => self.read_concern = Some(doc! {"level": non_empty(key, value)?}),
            "readpreference" => self.read_preference = read_preference(value)?,
            "appname" if value.len() > APP_NAME_BYTES_MAX => {
                return Err(invalid(format!(
                    "appName must be at most {APP_NAME_BYTES_MAX} bytes"
                )));
            }
            "appname" => self.app_name = Some(value.to_owned()),
            "retrywrites" => self.retry_writes = boolean(key, value)?,
            "retryreads" => self.retry_reads = boolean(key, value)?,
            "connecttimeoutms" => {
                let ms = millis(key, value)?;
                self.connect_timeout = (ms > 0).then(|| duration(ms));
            }
            "sockettimeoutms" => {
                let ms = millis(key, value)?;
                self.socket_timeout = (ms > 0).then(|| duration(ms));
            }
            "serverselectiontimeoutms" => match millis(key, value)? {
                0 => return Err(bad_value(key, value)),
                ms => self.server_selection_timeout = duration(ms),
            },
            "maxpoolsize" => {
                let size = u32::try_from(millis(key, value)?).map_err(|_| bad_value(key, value))?;
                self.max_pool_size = (size > 0).then_some(size);
            }
            "compressors" => {
                self.compressors.clear();
                for name in value.split(',').map(str::trim) {
                    match wire::Compressor::from_name(name) {
                        Some(compressor) if !self.compressors.contains(&compressor) => {
                            self.compressors.push(compressor);
                        }
                        Some(_) => {}
                        None => self
                            .warnings
                            .push(format!("compressor '{name}' is not supported; ignored")),
                    }
                }
            }
            "authsource" => auth.source = Some(non_empty(key, value)?),
            "authmechanism" => auth.mechanism = Some(mechanism(value)?),
            "loadbalanced" => {
                if boolean(key, value)? {
                    return Err(invalid(
                        "loadBalanced=true is not supported by this client".to_owned(),
                    ));
                }
            }
            key if IGNORED_OPTIONS.contains(&key) || TLS_REVOCATION_OPTIONS.contains(&key) => {
                if key.starts_with("tls") {
                    tls.apply(key, value)?;
                }
                self.warnings
                    .push(format!("option '{key}' is accepted but has no effect"));
            }
            key if key.starts_with("tls") || key == "ssl" => tls.apply(key, value)?,
            key if UNSUPPORTED_OPTIONS.contains(&key) => {
                return Err(invalid(format!(
                    "option '{key}' is not supported by this client"
                )));
            }
            key => {
                return Err(invalid(format!(
                    "unknown option '{key}' in the connection string"
                )));
            }
        }
        Ok(())
    }

    /// Checks that the options do not contradict one another.
    fn check(&self) -> Result<()> {
        if self.direct_connection && self.hosts.len() > 1 {
            return Err(invalid(
                "directConnection=true cannot be used with multiple hosts".to_owned(),
            ));
        }
        if let Some(concern) = &self.write_concern
            && concern.get_i32("w").is_ok_and(|w| w == 0)
            && concern.get_bool("j").unwrap_or(false)
        {
            return Err(invalid(
                "w=0 and journal=true cannot be used together".to_owned(),
            ));
        }
        Ok(())
    }
}

/// `authSource` and `authMechanism`, resolved once the path is known.
#[derive(Default)]
struct AuthOptions {
    source: Option<String>,
    mechanism: Option<AuthMechanism>,
}

impl AuthOptions {
    fn finish(self, userinfo: Option<&str>, database: Option<&str>) -> Result<Option<Credential>> {
        let Some(userinfo) = userinfo else {
            if self.mechanism.is_some() {
                return Err(invalid(
                    "authMechanism requires a user name in the connection string".to_owned(),
                ));
            }
            return Ok(None);
        };
        let (username, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        if password.is_some_and(|p| p.contains(':')) {
            return Err(invalid(
                "a password containing ':' must be percent-encoded".to_owned(),
            ));
        }
        let username = decode(username)?;
        if username.is_empty() {
            return Err(invalid("the user name is empty".to_owned()));
        }
        let password = password.map(decode).transpose()?.ok_or_else(|| {
            invalid(format!(
                "user '{username}' has no password: SCRAM needs one"
            ))
        })?;
        let source = self
            .source
            .or_else(|| database.map(str::to_owned))
            .unwrap_or_else(|| "admin".to_owned());
        Ok(Some(Credential {
            username,
            password,
            source,
            mechanism: self.mechanism,
        }))
    }
}

/// The `tls*` options, checked together at the end.
#[derive(Default)]
struct TlsSettings {
    /// `tls` and `ssl`, which must agree.
    enabled: Vec<bool>,
    options: TlsOptions,
    /// Whether any option other than `tls`/`ssl` was given.
    tuned: bool,
    insecure: Option<bool>,
    /// Every `tls*` option given, for [`TLS_CONFLICTS`].
    given: Vec<String>,
}

impl TlsSettings {
    fn apply(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "tls" | "ssl" => self.enabled.push(boolean(key, value)?),
            "tlscafile" => self.options.ca_file = Some(PathBuf::from(non_empty(key, value)?)),
            "tlscertificatekeyfile" => {
                self.options.certificate_key_file = Some(PathBuf::from(non_empty(key, value)?));
            }
            "tlsallowinvalidcertificates" => {
                self.options.allow_invalid_certificates = boolean(key, value)?;
            }
            "tlsallowinvalidhostnames" => {
                self.options.allow_invalid_hostnames = boolean(key, value)?;
            }
            key if TLS_REVOCATION_OPTIONS.contains(&key) => {
                boolean(key, value)?;
            }
            "tlsinsecure" => self.insecure = Some(boolean(key, value)?),
            key if UNSUPPORTED_OPTIONS.contains(&key) => {
                return Err(invalid(format!(
                    "option '{key}' is not supported by this client"
                )));
            }
            key => {
                return Err(invalid(format!(
                    "unknown option '{key}' in the connection string"
                )));
            }
        }
        if !matches!(key, "tls" | "ssl") && !TLS_REVOCATION_OPTIONS.contains(&key) {
            self.tuned = true;
        }
        self.given.push(key.to_owned());
        Ok(())
    }

    fn finish(mut self) -> Result<Option<TlsOptions>> {
        if self.enabled.windows(2).any(|w| w[0] != w[1]) {
            return Err(invalid("tls and ssl must agree".to_owned()));
        }
        let given = |key: &str| self.given.iter().any(|g| g == key);
        if let Some((a, b)) = TLS_CONFLICTS.iter().find(|(a, b)| given(a) && given(b)) {
            return Err(invalid(format!(
                "options '{a}' and '{b}' cannot be combined"
            )));
        }
        if TLS_REVOCATION_OPTIONS.iter().all(|key| given(key)) {
            return Err(invalid(
                "tlsDisableCertificateRevocationCheck and tlsDisableOCSPEndpointCheck cannot be combined".to_owned(),
            ));
        }
        if let Some(insecure) = self.insecure {
            self.options.allow_invalid_certificates = insecure;
            self.options.allow_invalid_hostnames = insecure;
        }
        match self.enabled.first() {
            Some(false) if self.tuned => Err(invalid(
                "tls=false contradicts the other tls options".to_owned(),
            )),
            Some(false) => Ok(None),
            Some(true) => Ok(Some(self.options)),
            None => Ok(self.tuned.then_some(self.options)),
        }
    }
}

fn split(uri: &str) -> Result<Parts<'_>> {
    if uri.starts_with("mongodb+srv://") {
        return Err(invalid(
            "mongodb+srv:// connection strings are not supported (no DNS SRV lookup); list the hosts in a mongodb:// string".to_owned(),
        ));
    }
    let rest = uri
        .strip_prefix("mongodb://")
        .ok_or_else(|| invalid("a connection string must start with 'mongodb://'".to_owned()))?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    if userinfo.is_some_and(|u| u.contains('@')) {
        return Err(invalid(
            "an '@' in the user name or password must be percent-encoded".to_owned(),
        ));
    }
    let (path, options) = match tail.split_once('?') {
        Some((path, options)) => (path, Some(options)),
        None => (tail, None),
    };
    let database = path.strip_prefix('/').filter(|d| !d.is_empty());
    if database.is_some_and(|d| d.contains('/')) {
        return Err(invalid(
            "a '/' in the database name must be percent-encoded".to_owned(),
        ));
    }
    Ok(Parts {
        userinfo,
        hosts,
        database,
        options,
    })
}

fn parse_hosts(hosts: &str) -> Result<Vec<ServerAddress>> {
    if hosts.is_empty() {
        return Err(invalid("the connection string names no host".to_owned()));
    }
    let parsed = hosts
        .split(',')
        .map(|host| ServerAddress::parse(&decode(host)?))
        .collect::<Result<Vec<_>>>()?;
    if parsed.len() > HOSTS_MAX {
        return Err(invalid(format!("more than {HOSTS_MAX} hosts")));
    }
    Ok(parsed)
}

/// `key=value` pairs, keys lower-cased, values percent-decoded.
fn pairs(options: &str) -> Result<Vec<(String, String)>> {
    options
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| invalid(format!("option '{pair}' has no value")))?;
            Ok((decode(key)?.to_ascii_lowercase(), decode(value)?))
        })
        .collect()
}

fn decode(text: &str) -> Result<String> {
    let bad_escape = text.match_indices('%').any(|(i, _)| {
        !text
            .get(i + 1..i + 3)
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if bad_escape {
        return Err(invalid(format!("invalid percent-encoding in '{text}'")));
    }
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| invalid(format!("'{text}' does not decode to UTF-8")))
}

fn boolean(key: &str, value: &str) -> Result<bool> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad_value(key, value)),
    }
}

fn millis(key: &str, value: &str) -> Result<i64> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| bad_value(key, value))
}

fn duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn non_empty(key: &str, value: &str) -> Result<String> {
    if value.is_empty() {
        return Err(bad_value(key, value));
    }
    Ok(value.to_owned())
}

fn concern(slot: &mut Option<Document>) -> &mut Document {
    slot.get_or_insert_with(Document::new)
}

fn read_preference(value: &str) -> Result<ReadPreference> {
    match value {
        "primary" => Ok(ReadPreference::Primary),
        "primaryPreferred" => Ok(ReadPreference::PrimaryPreferred),
        "secondaryPreferred" => Ok(ReadPreference::SecondaryPreferred),
        "nearest" => Ok(ReadPreference::Nearest),
        "secondary" => Err(invalid(
            "readPreference=secondary is not supported: this client reads from the primary"
                .to_owned(),
        )),
        other => Err(bad_value("readpreference", other)),
    }
}

fn mechanism(value: &str) -> Result<AuthMechanism> {
    match value {
        "SCRAM-SHA-1" => Ok(AuthMechanism::ScramSha1),
        "SCRAM-SHA-256" => Ok(AuthMechanism::ScramSha256),
        "MONGODB-X509" | "PLAIN" | "GSSAPI" | "MONGODB-AWS" | "MONGODB-OIDC" | "MONGODB-CR" => {
            Err(invalid(format!(
                "authMechanism {value} is not supported: use SCRAM-SHA-256 or SCRAM-SHA-1"
            )))
        }
        other => Err(bad_value("authmechanism", other)),
    }
}

fn bad_value(key: &str, value: &str) -> Error {
    invalid(format!("invalid value '{value}' for option '{key}'"))
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument { message })
}

#[cfg(test)]
mod tests;
