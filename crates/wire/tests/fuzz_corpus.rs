//! Replays the committed fuzz corpus (fuzz/corpus/decode_message) on every
//! `cargo test`, with the fuzz target's property (`wire::fuzzing::check`):
//! decoding never panics and whatever decodes re-encodes to the same bytes.
//! Seeds include frames that once needed care: a negative length, a bad
//! sequence size, nested compression, nesting past the depth limit, and a
//! NaN in a body (found by cargo-fuzz: the target compared messages, and
//! NaN != NaN).

use std::path::Path;

#[test]
fn fuzz_corpus_seeds_decode_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode_message");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        wire::fuzzing::check(&std::fs::read(&path).unwrap());
        seeds += 1;
    }
    assert!(
        seeds >= 10,
        "expected the committed seeds in {}",
        dir.display()
    );
}

#[test]
fn fuzz_corpus_valid_seeds_decode() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode_message");
    for name in [
        "op_msg_ping",
        "op_msg_insert_sequence",
        "op_msg_checksum",
        "op_query_ismaster",
        "op_compressed_zlib",
        "op_compressed_noop",
    ] {
        let frame = std::fs::read(dir.join(name)).unwrap();
        assert!(
            wire::decode(&frame).is_ok(),
            "{name}: {:?}",
            wire::decode(&frame)
        );
    }
}
