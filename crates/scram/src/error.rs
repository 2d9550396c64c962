//! What can go wrong in a SCRAM conversation. Variants name the cause for
//! logs and tests; a server must not tell a client more than "failed".

/// A SCRAM failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A message does not follow the grammar of RFC 5802 section 7.
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    /// The mechanism name is not SCRAM-SHA-1 or SCRAM-SHA-256.
    #[error("unsupported mechanism: {0}")]
    UnknownMechanism(String),
    /// The client asked for channel binding, which is not offered.
    #[error("channel binding is not supported")]
    ChannelBinding,
    /// The password (or username) is not allowed by SASLprep (RFC 4013).
    #[error("SASLprep rejected the string")]
    SaslPrep,
    /// The nonce does not extend the client's nonce (or does not match).
    #[error("nonce mismatch")]
    NonceMismatch,
    /// The proof (server side) or the server signature (client side) is wrong.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The server's iteration count is outside what a client accepts.
    #[error("iteration count {0} is out of range")]
    IterationCount(u32),
    /// The server ended the conversation with `e=...`.
    #[error("server error: {0}")]
    Server(String),
    /// A message arrived after the conversation ended or failed.
    #[error("the conversation is over")]
    Finished,
}
