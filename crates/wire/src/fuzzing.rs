//! The property the `decode_message` fuzz target checks, in one place so the
//! fuzzer and `cargo test`'s replay of the committed corpus check the same
//! thing: any bytes decode to a message or a typed error; whatever decodes
//! re-encodes, and the re-encoded frame decodes and re-encodes to the same
//! bytes. Bytes, not messages, are compared: a NaN in a document never
//! equals itself.

/// Panics if `frame` breaks the property above.
pub fn check(frame: &[u8]) {
    let Some(first) = reencode(frame) else {
        return;
    };
    let second = reencode(&first).expect("a re-encoded message decodes");
    assert_eq!(first, second, "re-encoding is not stable");
}

fn reencode(frame: &[u8]) -> Option<Vec<u8>> {
    let decoded = crate::decode(frame).ok()?;
    let again = crate::encode(
        decoded.header.request_id,
        decoded.header.response_to,
        &decoded.message,
        decoded.compressor,
    )
    .expect("a decoded message re-encodes");
    Some(again)
}
