//! Replays the committed fuzz seeds (fuzz/corpus/sasl_message) on every
//! `cargo test`, with the fuzz target's property (`scram::fuzzing::check`).

use std::path::Path;

#[test]
fn fuzz_corpus_seeds_parse_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/sasl_message");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("corpus entry").path();
        scram::fuzzing::check(&std::fs::read(&path).expect("seed"));
        seeds += 1;
    }
    assert!(seeds >= 5, "the corpus has its seeds");
}
