//! Fuzzes the SCRAM message parsers and the server's conversation with
//! arbitrary bytes; the property is `scram::fuzzing::check`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| scram::fuzzing::check(bytes));
