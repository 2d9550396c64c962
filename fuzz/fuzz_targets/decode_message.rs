//! Fuzzes the wire decoder with whole frames: any bytes must decode to a
//! message or a typed error. Whatever decodes must re-encode, and the
//! re-encoded frame must decode and re-encode to the same bytes. Bytes,
//! not messages, are compared: a NaN in a document never equals itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn reencode(frame: &[u8]) -> Option<Vec<u8>> {
    let decoded = wire::decode(frame).ok()?;
    let again = wire::encode(
        decoded.header.request_id,
        decoded.header.response_to,
        &decoded.message,
        decoded.compressor,
    )
    .expect("a decoded message re-encodes");
    Some(again)
}

fuzz_target!(|frame: &[u8]| {
    let Some(first) = reencode(frame) else {
        return;
    };
    let second = reencode(&first).expect("a re-encoded message decodes");
    assert_eq!(first, second);
});
