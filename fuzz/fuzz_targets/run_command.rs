//! Fuzzes the engine's command layer with runs of command documents; the
//! property is `engine::fuzzing::check`. Mutation is structure-aware
//! (`rotor_fuzz::bson_mutate`) and draws names from `run_command.dict`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::{fuzz_crossover, fuzz_mutator, fuzz_target};
use rotor_fuzz::bson_mutate;

/// The dictionary's words: each quoted value of `run_command.dict`.
static WORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("../run_command.dict")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let start = line.find('"')?;
            let end = line.rfind('"')?;
            (end > start && !line.contains('\\')).then(|| &line[start + 1..end])
        })
        .collect()
});

fuzz_target!(|input: &[u8]| engine::fuzzing::check(input));

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    bson_mutate::mutate(data, size, max_size, seed, &WORDS)
        .unwrap_or_else(|| libfuzzer_sys::fuzzer_mutate(data, size, max_size))
});

fuzz_crossover!(|first: &[u8], second: &[u8], out: &mut [u8], seed: u32| {
    bson_mutate::crossover(first, second, out, seed)
});
