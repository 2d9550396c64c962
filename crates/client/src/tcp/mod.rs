//! The TCP transport: commands to a MongoDB deployment (or `rotor serve`)
//! as OP_MSG frames through the `wire` crate, the same codec the server
//! uses.
//!
//! Each command selects the server ([`topology`]), checks a connection out
//! of its pool ([`pool`]), and sends; the reply comes back as the server
//! sent it, `ok: 0` included, and `Err` means no reply (a network error)
//! or no server. On the way back the transport applies SDAM's error
//! handling: a network error forgets the server and discards its
//! connections; a "not writable primary" or "node is recovering" code
//! forgets the server (and, for a shutdown, its connections), so the next
//! command, or the client's retry, rediscovers the primary. Retrying is
//! not this module's business: the client above decides what is safe to
//! send twice.

mod auth;
mod connection;
mod handshake;
mod pool;
mod tls;
mod topology;

use std::sync::Arc;

use bson::{Bson, Document, doc};

use crate::error::Result;
use crate::transport::{BoxFuture, Transport};
use crate::uri::ClientOptions;
use connection::Settings;
use topology::Topology;

/// SDAM's "not writable primary" codes: NotWritablePrimary,
/// NotPrimaryNoSecondaryOk, LegacyNotPrimary.
const NOT_PRIMARY_CODES: [i32; 3] = [10107, 13435, 10058];
/// SDAM's "node is recovering" codes that are not shutdowns:
/// InterruptedDueToReplStateChange, NotPrimaryOrSecondary,
/// PrimarySteppedDown.
const RECOVERING_CODES: [i32; 3] = [11602, 13436, 189];
/// InterruptedAtShutdown and ShutdownInProgress: the server is going away,
/// and so are its connections.
const SHUTDOWN_CODES: [i32; 2] = [11600, 91];

/// The transport to a deployment over TCP.
pub(crate) struct Tcp {
    topology: Topology,
}

impl Tcp {
    /// Reads the TLS files (once) and prepares the handshake; connects
    /// nothing until the first command.
    pub(crate) fn new(options: &ClientOptions) -> Result<Tcp> {
        let tls = options.tls.as_ref().map(tls::client_config).transpose()?;
        let settings = Arc::new(Settings {
            connect_timeout: options.connect_timeout,
            socket_timeout: options.socket_timeout,
            tls,
            hello: handshake::command(options),
            credential: options.credential.clone(),
            compressors: options.compressors.clone(),
        });
        Ok(Tcp {
            topology: Topology::new(options, settings),
        })
    }

    async fn run(&self, db: &str, mut command: Document) -> Result<Document> {
        let selected = self.topology.select().await?;
        let mut connection = match selected.pool.check_out().await {
            Ok(connection) => connection,
            Err(error) => {
                if error.is_network() {
                    self.topology.mark_unknown(&selected.address, true);
                }
                return Err(error);
            }
        };
        let primary = connection
            .hello()
            .is_some_and(|h| h.writable_primary || h.mongos);
        if self.topology.is_direct() && !primary && !command.contains_key("$readPreference") {
            // Server Selection spec: a direct connection to a secondary
            // must still be able to read.
            command.insert("$readPreference", doc! {"mode": "primaryPreferred"});
        }
        match connection.command(db, command).await {
            Err(error) => {
                if error.is_network() {
                    self.topology.mark_unknown(&selected.address, true);
                }
                Err(error)
            }
            Ok(reply) => {
                if let Some(code) = state_change_code(&reply) {
                    let shutdown = SHUTDOWN_CODES.contains(&code);
                    self.topology.mark_unknown(&selected.address, shutdown);
                }
                Ok(reply)
            }
        }
    }
}

impl Transport for Tcp {
    fn run_command(&self, db: &str, command: Document) -> BoxFuture<'_, Result<Document>> {
        let db = db.to_owned();
        Box::pin(async move { self.run(&db, command).await })
    }

    fn close(&self) {
        self.topology.close();
    }
}

/// The SDAM state-change code in a reply (top level or its
/// `writeConcernError`), if any.
fn state_change_code(reply: &Document) -> Option<i32> {
    let code = |doc: &Document| match doc.get("code") {
        Some(Bson::Int32(code)) => Some(*code),
        _ => None,
    };
    [Some(reply), reply.get_document("writeConcernError").ok()]
        .into_iter()
        .flatten()
        .filter_map(code)
        .find(|c| {
            NOT_PRIMARY_CODES.contains(c)
                || RECOVERING_CODES.contains(c)
                || SHUTDOWN_CODES.contains(c)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_change_codes_are_found_where_sdam_looks() {
        let check = |reply: Document, expected: Option<i32>| {
            assert_eq!(state_change_code(&reply), expected, "{reply}");
        };
        check(doc! {"ok": 1}, None);
        check(doc! {"ok": 0, "code": 10107}, Some(10107));
        check(doc! {"ok": 0, "code": 91}, Some(91));
        check(doc! {"ok": 0, "code": 112}, None);
        check(
            doc! {"ok": 1, "writeConcernError": {"code": 11602}},
            Some(11602),
        );
        check(doc! {"ok": 1, "writeConcernError": {"code": 64}}, None);
        check(doc! {"ok": 0, "code": "10107"}, None);
    }
}
