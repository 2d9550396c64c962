//! Fuzzes the wire decoder with whole frames: any bytes must decode to a
//! message or a typed error. A decoded message must also re-encode, and the
//! re-encoded frame must decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let Ok(decoded) = wire::decode(frame) else {
        return;
    };
    let again = wire::encode(
        decoded.header.request_id,
        decoded.header.response_to,
        &decoded.message,
        decoded.compressor,
    )
    .expect("a decoded message re-encodes");
    let redecoded = wire::decode(&again).expect("a re-encoded message decodes");
    assert_eq!(redecoded.message, decoded.message);
});
