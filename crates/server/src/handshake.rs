//! The transport's part of the handshake and of `serverStatus`: what only
//! the connection knows.
//!
//! `hello`'s meaning is the engine's; this module only (1) remembers the
//! client's `appName` for `failCommand`'s `appName` filter, (2) negotiates
//! compression (the server adds `compression: [...]` to the reply with the
//! compressors both sides know, in the client's order of preference, as
//! mongod does), and (3) fills `serverStatus.connections`, which only the
//! listener can count.

use bson::{Bson, Document, doc};
use engine::ConnectionInfo;
use wire::Compressor;

use crate::server::ConnectionCounts;

/// Longest `appName` kept, as mongod limits `client.application.name`.
const APP_NAME_BYTES_MAX: usize = 128;

/// The command kinds the transport looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hello,
    ServerStatus,
    Other,
}

pub fn kind(command: &Document) -> Kind {
    match command.keys().next().map(String::as_str) {
        Some("hello" | "isMaster" | "ismaster") => Kind::Hello,
        Some("serverStatus") => Kind::ServerStatus,
        _ => Kind::Other,
    }
}

/// What a `hello` asked of the transport.
pub struct HelloRequest {
    /// `Some` when the client sent a `compression` list: the compressors
    /// both sides support, in the client's order.
    pub compression: Option<Vec<Compressor>>,
}

/// Reads the handshake fields of a `hello` and records `appName`.
pub fn observe_hello(command: &Document, connection: &mut ConnectionInfo) -> HelloRequest {
    if connection.app_name.is_none() {
        connection.app_name = app_name(command);
    }
    let compression = match command.get("compression") {
        Some(Bson::Array(names)) => Some(
            names
                .iter()
                .filter_map(Bson::as_str)
                .filter_map(Compressor::from_name)
                .collect(),
        ),
        _ => None,
    };
    HelloRequest { compression }
}

fn app_name(command: &Document) -> Option<String> {
    let name = command
        .get_document("client")
        .ok()?
        .get_document("application")
        .ok()?
        .get_str("name")
        .ok()?;
    (name.len() <= APP_NAME_BYTES_MAX).then(|| name.to_owned())
}

/// Adds the negotiated compressors to a successful `hello` reply.
pub fn finish_hello(request: &HelloRequest, reply: &mut Document) {
    let Some(compressors) = &request.compression else {
        return;
    };
    if !is_ok(reply) {
        return;
    }
    let names: Vec<&str> = compressors
        .iter()
        .map(|compressor| compressor.name())
        .collect();
    reply.insert("compression", names);
}

/// Fills `serverStatus.connections` in a successful reply.
pub fn finish_server_status(counts: &ConnectionCounts, reply: &mut Document) {
    if !is_ok(reply) {
        return;
    }
    let current = counts.current();
    let available = counts.max.saturating_sub(current);
    reply.insert(
        "connections",
        doc! {
            "current": clamp(current),
            "available": clamp(available),
            "totalCreated": clamp(counts.total_created()),
        },
    );
}

fn clamp(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

fn is_ok(reply: &Document) -> bool {
    match reply.get("ok") {
        Some(Bson::Double(ok)) => *ok == 1.0,
        Some(Bson::Int32(ok)) => *ok == 1,
        Some(Bson::Int64(ok)) => *ok == 1,
        Some(Bson::Boolean(ok)) => *ok,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_compression(requested: Bson, expected: Option<Vec<&str>>) {
        let mut connection = ConnectionInfo::default();
        let request = observe_hello(
            &doc! {"hello": 1, "compression": requested},
            &mut connection,
        );
        let mut reply = doc! {"ok": 1.0};
        finish_hello(&request, &mut reply);
        let names = reply
            .get_array("compression")
            .ok()
            .map(|names| names.iter().filter_map(Bson::as_str).collect::<Vec<_>>());
        assert_eq!(names, expected);
    }

    #[test]
    fn compression_is_negotiated_in_the_clients_order() {
        check_compression(
            Bson::from(vec!["zlib", "lz4", "zstd"]),
            Some(vec!["zlib", "zstd"]),
        );
        check_compression(Bson::from(vec!["snappy"]), Some(vec!["snappy"]));
        check_compression(Bson::from(Vec::<String>::new()), Some(vec![]));
        check_compression(Bson::Null, None);
    }

    #[test]
    fn app_name_is_taken_from_the_first_handshake_only() {
        let mut connection = ConnectionInfo::default();
        observe_hello(
            &doc! {"hello": 1, "client": {"application": {"name": "first"}}},
            &mut connection,
        );
        observe_hello(
            &doc! {"hello": 1, "client": {"application": {"name": "second"}}},
            &mut connection,
        );
        assert_eq!(connection.app_name.as_deref(), Some("first"));
    }
}
