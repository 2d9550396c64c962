//! Fuzzes the wire decoder with whole frames; the property is
//! `wire::fuzzing::check`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| wire::fuzzing::check(frame));
