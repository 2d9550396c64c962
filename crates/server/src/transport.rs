//! What carries one accepted connection: plain TCP, or TLS over it. The
//! client's first bytes say which it speaks; the TLS mode says whether
//! that is welcome (`require` refuses plaintext, `disabled` refuses TLS,
//! `allow` and `prefer` take both).
//!
//! Invariants: the wait for the first bytes and the TLS handshake end by
//! the handshake deadline, and the same deadline then
//! bounds the first frame, so a client that connects and stalls holds its
//! connection slot for at most `--handshake-timeout-secs`. A failed
//! handshake closes that connection only, with one log line.
//!
//! Telling TLS from plaintext: a TLS connection opens with a handshake
//! record, `16 03 0x` with x in 1..=4 (the record type, then the record
//! layer's protocol version). A MongoDB frame opens with its length, little
//! endian, and those three bytes would mean a first message of at least
//! 66,326 bytes; the first message is a `hello` of a few hundred. Two bytes
//! would not do: a 790-byte plaintext `hello` starts `16 03 00 00`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::cli::TlsMode;
use crate::connection;
use crate::server::Shared;

/// How a TLS handshake record begins: content type 22, then the record
/// version's major byte 3 and a minor byte from 1 (TLS 1.0) to 4.
const TLS_RECORD_TYPE_HANDSHAKE: u8 = 0x16;
const TLS_VERSION_MAJOR: u8 = 0x03;
const TLS_VERSION_MINORS: std::ops::RangeInclusive<u8> = 0x01..=0x04;
/// How many leading bytes decide between TLS and plaintext.
const SNIFF_BYTES: usize = 3;
/// Pause before peeking again when only part of a TLS record header has
/// arrived (peek returns at once while any byte is buffered).
const SNIFF_RETRY: Duration = Duration::from_millis(5);

/// Idle time before the first keepalive probe: mongod's 300 s.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(300);
/// Time between unanswered probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// A peer that vanished without a FIN (power loss, a dropped route) is
/// noticed by the kernel instead of holding its slot until the idle
/// timeout, as mongod does.
fn enable_keepalive(tcp: &TcpStream) -> std::io::Result<()> {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    socket2::SockRef::from(tcp).set_tcp_keepalive(&keepalive)
}

/// Serves one accepted TCP connection to its end.
pub async fn serve(tcp: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    // Replies are single writes; waiting to coalesce them only adds latency.
    let _ = tcp.set_nodelay(true);
    if let Err(error) = enable_keepalive(&tcp) {
        tracing::debug!(%peer, %error, "could not enable TCP keepalive");
    }
    let deadline = Instant::now() + shared.handshake_timeout;
    let Some(opens_tls) = opens_with_tls(&tcp, deadline).await else {
        tracing::debug!(%peer, "connection closed or silent before its first bytes");
        return;
    };
    match (opens_tls, shared.tls.acceptor().cloned()) {
        (false, _) if shared.tls.mode() == TlsMode::Require => {
            tracing::info!(%peer, "refusing a plaintext connection: --tls-mode require");
        }
        (false, _) => connection::run(tcp, peer, shared, deadline).await,
        (true, None) => {
            tracing::info!(%peer, "refusing a TLS connection: TLS is disabled (no --tls-cert)");
        }
        (true, Some(acceptor)) => {
            match tokio::time::timeout_at(deadline, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => connection::run(stream, peer, shared, deadline).await,
                Ok(Err(error)) => {
                    tracing::info!(%peer, "closing connection: TLS handshake failed: {error}");
                }
                Err(_) => tracing::info!(%peer, "closing connection: TLS handshake timed out"),
            }
        }
    }
}

/// Whether the client's first bytes open a TLS handshake; `None` when it
/// closed, failed, or sent too little by the deadline.
async fn opens_with_tls(tcp: &TcpStream, deadline: Instant) -> Option<bool> {
    let mut first = [0u8; SNIFF_BYTES];
    loop {
        let seen = tokio::time::timeout_at(deadline, tcp.peek(&mut first))
            .await
            .ok()?
            .ok()?;
        let prefix = first.get(..seen)?;
        if prefix.is_empty() {
            return None;
        }
        if !could_open_tls(prefix) {
            return Some(false);
        }
        if seen == SNIFF_BYTES {
            return Some(true);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(SNIFF_RETRY).await;
    }
}

/// Whether `prefix` agrees with the start of a TLS handshake record.
fn could_open_tls(prefix: &[u8]) -> bool {
    prefix.iter().enumerate().all(|(index, &byte)| match index {
        0 => byte == TLS_RECORD_TYPE_HANDSHAKE,
        1 => byte == TLS_VERSION_MAJOR,
        _ => TLS_VERSION_MINORS.contains(&byte),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_sockets_probe_an_idle_peer_as_mongod_does() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        enable_keepalive(&accepted).unwrap();
        let socket = socket2::SockRef::from(&accepted);
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), KEEPALIVE_IDLE);
        assert_eq!(socket.tcp_keepalive_interval().unwrap(), KEEPALIVE_INTERVAL);
    }

    #[test]
    fn first_bytes_tell_a_tls_client_hello_from_a_mongodb_header() {
        for (prefix, tls) in [
            (&[0x16, 0x03, 0x01][..], true),
            (&[0x16, 0x03, 0x03], true),
            (&[0x16, 0x03], true),
            (&[0x16], true),
            // A 790-byte message: length 0x316, little endian.
            (&[0x16, 0x03, 0x00], false),
            // A 278-byte message: length 0x116.
            (&[0x16, 0x01, 0x00], false),
            (&[0x3b, 0x01, 0x00], false),
        ] {
            assert_eq!(could_open_tls(prefix), tls, "{prefix:02x?}");
        }
    }
}
