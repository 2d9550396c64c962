//! Replays the committed fuzz corpus (fuzz/corpus/run_command) on every
//! `cargo test`, with the fuzz target's property (`engine::fuzzing::check`):
//! no command panics, every reply is well formed, and the engine answers
//! `ping` afterwards. The seeds are real command sequences (hand-made and
//! taken from the driver spec tests) and the inputs cargo-fuzz found
//! (`regression_*`, each named in fuzz/README.md).

use std::path::Path;

#[test]
fn fuzz_corpus_seeds_get_well_formed_replies() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/run_command");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let input = std::fs::read(&path).unwrap();
        let run = std::panic::catch_unwind(|| engine::fuzzing::check(&input));
        assert!(run.is_ok(), "seed {} broke the property", path.display());
        seeds += 1;
    }
    assert!(
        seeds >= 10,
        "expected the committed seeds in {}",
        dir.display()
    );
}

#[test]
fn fuzz_corpus_hand_made_seeds_decode_to_their_commands() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/run_command");
    for (name, count) in [
        ("write_operators", 5),
        ("aggregate_stages", 8),
        ("find_and_modify", 6),
        ("transaction_commit", 7),
        ("failpoints", 7),
    ] {
        let input = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(engine::fuzzing::commands(&input).len(), count, "{name}");
    }
}
