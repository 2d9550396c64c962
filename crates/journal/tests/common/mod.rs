//! Helpers shared by the journal's integration tests: temp directories,
//! deterministic options, and views of what recovery returned.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use journal::{Faults, Journal, Lsn, Options, Recovery};

/// Options with no background flusher, so tests decide when bytes are synced.
pub fn quiet() -> Options {
    Options {
        sync_interval: None,
        ..Options::default()
    }
}

/// Quiet options with small segments, so few records span several files.
pub fn small_segments(segment_bytes_max: u64) -> Options {
    Options {
        segment_bytes_max,
        ..quiet()
    }
}

/// Quiet options wired to a fresh fault plan.
pub fn faulty() -> (Options, Arc<Faults>) {
    let faults = Arc::new(Faults::new());
    (
        Options {
            faults: Some(Arc::clone(&faults)),
            ..quiet()
        },
        faults,
    )
}

pub fn open(dir: &Path, options: Options) -> (Journal, Recovery) {
    Journal::open(dir, options).unwrap_or_else(|e| panic!("open {}: {e}", dir.display()))
}

/// Appends each payload and waits until all are durable.
pub fn append_all(journal: &Journal, payloads: &[&[u8]]) -> Vec<Lsn> {
    let lsns: Vec<Lsn> = payloads
        .iter()
        .map(|p| journal.append(p).unwrap())
        .collect();
    journal.sync_now().unwrap();
    lsns
}

/// The recovered records as (lsn, payload) pairs.
pub fn records(recovery: &Recovery) -> Vec<(u64, Vec<u8>)> {
    recovery
        .records
        .iter()
        .map(|r| (r.lsn.0, r.payload.clone()))
        .collect()
}

/// Recovery as the engine would replay it: the checkpoint body (decoded by
/// [`checkpoint_body`]'s convention) followed by the records.
pub fn replayed(mut recovery: Recovery) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    if let Some(checkpoint) = recovery.checkpoint.as_mut() {
        let mut body = Vec::new();
        checkpoint.reader.read_to_end(&mut body).unwrap();
        all.extend(decode_body(&body));
    }
    all.extend(recovery.records.into_iter().map(|r| r.payload));
    all
}

/// A checkpoint body holding `payloads`, each prefixed by its u32 length.
pub fn checkpoint_body(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in payloads {
        body.extend_from_slice(&(p.len() as u32).to_le_bytes());
        body.extend_from_slice(p);
    }
    body
}

fn decode_body(mut body: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some((len, rest)) = body.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        out.push(rest[..len].to_vec());
        body = &rest[len..];
    }
    out
}

/// Journal files in `dir` with the given suffix, sorted by name.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    found.sort();
    found
}

/// The single log segment in `dir`.
pub fn only_segment(dir: &Path) -> PathBuf {
    let segments = files(dir, ".wal");
    assert_eq!(
        segments.len(),
        1,
        "expected one segment, found {segments:?}"
    );
    segments[0].clone()
}

/// Segment header length, from the documented format.
pub const SEGMENT_HEADER_LEN: u64 = 32;
/// Record frame length before the payload, from the documented format.
pub const RECORD_HEADER_LEN: u64 = 16;
/// Durability mark length, from the documented format.
pub const MARK_LEN: u64 = 16;

/// Byte offset of record `index` (0-based) in a segment holding `payloads`
/// written as one flight (one mark, then the records).
pub fn record_offset(payloads: &[&[u8]], index: usize) -> u64 {
    SEGMENT_HEADER_LEN
        + MARK_LEN
        + payloads[..index]
            .iter()
            .map(|p| RECORD_HEADER_LEN + p.len() as u64)
            .sum::<u64>()
}

/// Copies every file of `from` into `to` (created).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}
