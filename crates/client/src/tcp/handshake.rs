//! The connection handshake: the `hello` command a connection opens with
//! (client metadata, `helloOk`, `saslSupportedMechs`) and what its reply
//! tells about the server ([`Hello`]).
//!
//! A reply is untrusted: a field of the wrong type counts as absent, host
//! lists are capped, and sizes are clamped to the wire codec's limits, so
//! a strange server cannot make the client allocate or loop without bound.

use bson::oid::ObjectId;
use bson::{Bson, Document, doc};

use crate::error::{Error, ErrorKind, Result};
use crate::uri::{ClientOptions, ServerAddress};

/// OP_MSG arrived in wire version 6 (MongoDB 3.6); this client speaks
/// nothing older.
const MIN_WIRE_VERSION: i32 = 6;
/// A replica set has at most 50 members; a longer `hosts` list is garbage.
const MEMBERS_MAX: usize = 50;

/// What a server said about itself in `hello`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hello {
    /// `isWritablePrimary` (or the legacy `ismaster`).
    pub(crate) writable_primary: bool,
    /// The replica set it belongs to, if any.
    pub(crate) set_name: Option<String>,
    /// The set's data-bearing members (`hosts` and `passives`).
    pub(crate) hosts: Vec<ServerAddress>,
    /// The member it believes is primary.
    pub(crate) primary: Option<ServerAddress>,
    /// Orders primaries across elections: `(electionId, setVersion)`.
    pub(crate) election: (Option<ObjectId>, i64),
    /// A mongos router (`msg: "isdbgrid"`).
    pub(crate) mongos: bool,
    /// The largest frame it accepts (`maxMessageSizeBytes`).
    pub(crate) max_message_size: usize,
    /// `saslSupportedMechs`, when the handshake asked for them.
    pub(crate) sasl_supported_mechs: Option<Vec<String>>,
    /// `compression`: the offered compressors the server agreed to, in
    /// the client's order of preference.
    pub(crate) compression: Vec<wire::Compressor>,
}

/// The handshake command of every connection of a client.
pub(crate) fn command(options: &ClientOptions) -> Document {
    let mut hello =
        doc! {"hello": 1, "helloOk": true, "client": metadata(options.app_name.as_deref())};
    if !options.compressors.is_empty() {
        let names: Vec<&str> = options.compressors.iter().map(|c| c.name()).collect();
        hello.insert("compression", names);
    }
    if let Some(credential) = &options.credential
        && credential.mechanism.is_none()
    {
        hello.insert(
            "saslSupportedMechs",
            format!("{}.{}", credential.source, credential.username),
        );
    }
    hello
}

/// CommandNotFound: the server predates the `hello` command.
const COMMAND_NOT_FOUND: i32 = 59;

/// Whether a reply to `hello` says the server does not know it.
pub(crate) fn is_command_not_found(reply: &Document) -> bool {
    reply
        .get_i32("code")
        .is_ok_and(|code| code == COMMAND_NOT_FOUND)
}

/// The same handshake as the legacy `isMaster` command.
pub(crate) fn legacy(hello: &Document) -> Document {
    let mut legacy = doc! {"isMaster": 1};
    for (key, value) in hello.iter().filter(|(key, _)| key.as_str() != "hello") {
        legacy.insert(key, value.clone());
    }
    legacy
}

/// The handshake spec's `client` document.
fn metadata(app_name: Option<&str>) -> Document {
    let os_type = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "windows" => "Windows",
        other => other,
    };
    let mut metadata = doc! {
        "driver": {"name": "rotor", "version": env!("CARGO_PKG_VERSION")},
        "os": {"type": os_type, "architecture": std::env::consts::ARCH},
        "platform": "Rust",
    };
    if let Some(name) = app_name {
        metadata.insert("application", doc! {"name": name});
    }
    metadata
}

impl Hello {
    /// Reads a successful `hello` reply from `address`.
    pub(crate) fn parse(address: &ServerAddress, reply: &Document) -> Result<Hello> {
        let wire_version = int(reply, "maxWireVersion").unwrap_or(0);
        if wire_version < i64::from(MIN_WIRE_VERSION) {
            return Err(Error::new(ErrorKind::ServerSelection {
                message: format!(
                    "{address} speaks wire version {wire_version}, but this client needs {MIN_WIRE_VERSION} (MongoDB 3.6) or later"
                ),
            }));
        }
        let flag = |key: &str| reply.get_bool(key).unwrap_or(false);
        let max_message_size = int(reply, "maxMessageSizeBytes")
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(wire::limits::MESSAGE_SIZE_BYTES_MAX)
            .clamp(wire::HEADER_LEN, wire::limits::MESSAGE_SIZE_BYTES_MAX);
        let mut hosts = addresses(reply, "hosts");
        hosts.extend(addresses(reply, "passives"));
        Ok(Hello {
            writable_primary: flag("isWritablePrimary") || flag("ismaster"),
            set_name: reply.get_str("setName").ok().map(str::to_owned),
            hosts,
            primary: reply
                .get_str("primary")
                .ok()
                .and_then(|p| ServerAddress::parse(p).ok()),
            election: (
                reply.get_object_id("electionId").ok(),
                int(reply, "setVersion").unwrap_or(0),
            ),
            mongos: reply.get_str("msg").is_ok_and(|m| m == "isdbgrid"),
            max_message_size,
            sasl_supported_mechs: reply.get_array("saslSupportedMechs").ok().map(|names| {
                names
                    .iter()
                    .filter_map(Bson::as_str)
                    .map(str::to_owned)
                    .collect()
            }),
            compression: reply
                .get_array("compression")
                .map(|names| {
                    names
                        .iter()
                        .filter_map(Bson::as_str)
                        .filter_map(wire::Compressor::from_name)
                        .take(wire::Compressor::NEGOTIABLE.len())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

fn int(reply: &Document, key: &str) -> Option<i64> {
    match reply.get(key)? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) if n.is_finite() => Some(*n as i64),
        _ => None,
    }
}

fn addresses(reply: &Document, key: &str) -> Vec<ServerAddress> {
    reply
        .get_array(key)
        .map(|hosts| {
            hosts
                .iter()
                .take(MEMBERS_MAX)
                .filter_map(Bson::as_str)
                .filter_map(|host| ServerAddress::parse(host).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> ServerAddress {
        ServerAddress::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn check(reply: Document, expected: std::result::Result<Hello, &str>) {
        let parsed = Hello::parse(&address("h:1"), &reply).map_err(|e| e.to_string());
        match (parsed, expected) {
            (Ok(parsed), Ok(expected)) => assert_eq!(parsed, expected, "{reply}"),
            (Err(error), Err(fragment)) => assert!(error.contains(fragment), "{error}"),
            (parsed, expected) => panic!("{reply}: got {parsed:?}, expected {expected:?}"),
        }
    }

    fn standalone() -> Hello {
        Hello {
            writable_primary: true,
            set_name: None,
            hosts: Vec::new(),
            primary: None,
            election: (None, 0),
            mongos: false,
            max_message_size: 48_000_000,
            sasl_supported_mechs: None,
            compression: Vec::new(),
        }
    }

    #[test]
    fn hello_replies_describe_the_server() {
        check(
            doc! {"isWritablePrimary": true, "maxWireVersion": 25},
            Ok(standalone()),
        );
        check(
            doc! {"ismaster": true, "maxWireVersion": 6, "maxMessageSizeBytes": 1000},
            Ok(Hello {
                max_message_size: 1000,
                ..standalone()
            }),
        );
        let id = ObjectId::from_bytes([7; 12]);
        check(
            doc! {
                "isWritablePrimary": false, "secondary": true, "maxWireVersion": 21,
                "setName": "rs0", "hosts": ["A:1", "b:2", 3], "passives": ["c:3"],
                "primary": "a:1", "electionId": id, "setVersion": 4,
                "saslSupportedMechs": ["SCRAM-SHA-256"],
                "compression": ["zstd", "lz4", 7, "zlib"],
            },
            Ok(Hello {
                writable_primary: false,
                set_name: Some("rs0".to_owned()),
                hosts: vec![address("a:1"), address("b:2"), address("c:3")],
                primary: Some(address("a:1")),
                election: (Some(id), 4),
                sasl_supported_mechs: Some(vec!["SCRAM-SHA-256".to_owned()]),
                compression: vec![wire::Compressor::Zstd, wire::Compressor::Zlib],
                ..standalone()
            }),
        );
        check(
            doc! {"isWritablePrimary": true, "msg": "isdbgrid", "maxWireVersion": 21, "maxMessageSizeBytes": 3},
            Ok(Hello {
                mongos: true,
                max_message_size: wire::HEADER_LEN,
                ..standalone()
            }),
        );
    }

    #[test]
    fn hello_from_an_old_server_is_refused() {
        check(
            doc! {"ismaster": true, "maxWireVersion": 5},
            Err("wire version 5"),
        );
        check(doc! {"ismaster": true}, Err("wire version 0"));
    }

    #[test]
    fn handshake_carries_metadata_app_name_and_sasl_request() {
        let options = ClientOptions::parse("mongodb://u:p@h/db?appName=orders")
            .unwrap_or_else(|e| panic!("{e}"));
        let hello = command(&options);
        assert_eq!(hello.get_bool("helloOk").ok(), Some(true));
        assert_eq!(hello.get_str("saslSupportedMechs").ok(), Some("db.u"));
        let client = hello.get_document("client").cloned().unwrap_or_default();
        assert_eq!(
            client.get_document("application").ok(),
            Some(&doc! {"name": "orders"})
        );
        assert_eq!(
            client
                .get_document("driver")
                .ok()
                .and_then(|d| d.get_str("name").ok()),
            Some("rotor")
        );
        let plain = command(&ClientOptions::default());
        assert!(!plain.contains_key("saslSupportedMechs"));
        let legacy = legacy(&hello);
        assert_eq!(legacy.keys().next().map(String::as_str), Some("isMaster"));
        assert!(!legacy.contains_key("hello"));
        assert_eq!(legacy.get("client"), hello.get("client"));
        assert!(is_command_not_found(&doc! {"ok": 0, "code": 59}));
        assert!(!is_command_not_found(&doc! {"ok": 0, "code": 2}));
    }
}
