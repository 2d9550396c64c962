//! A crash mid-append leaves a torn tail: part of the last record, or zeros
//! where the file system extended the file. Recovery must cut exactly that
//! away, keep every earlier record, and append after the last good one.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use common::*;
use journal::Lsn;

const PAYLOADS: [&[u8]; 3] = [b"first record", b"second", b"the third and last record"];

/// Writes `PAYLOADS` to a fresh directory, damages the segment with
/// `damage`, reopens, and expects the first two records; then appends one
/// more and expects it to follow them across another reopen.
fn check(damage: impl FnOnce(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    append_all(&journal, &PAYLOADS);
    journal.close().unwrap();
    damage(&only_segment(tmp.path()));
    let (journal, recovery) = open(tmp.path(), quiet());
    let kept = vec![(1, PAYLOADS[0].to_vec()), (2, PAYLOADS[1].to_vec())];
    assert_eq!(records(&recovery), kept);
    assert_eq!(append_all(&journal, &[b"after the tear"]), vec![Lsn(3)]);
    journal.close().unwrap();
    let (_journal, recovery) = open(tmp.path(), quiet());
    let mut expected = kept;
    expected.push((3, b"after the tear".to_vec()));
    assert_eq!(records(&recovery), expected);
}

#[test]
fn torn_tail_at_every_offset_of_the_last_record_is_cut_away() {
    let start = record_offset(&PAYLOADS, 2);
    let end = record_offset(&PAYLOADS, 3);
    for cut in start..end {
        check(|segment| set_len(segment, cut));
    }
}

#[test]
fn torn_tail_of_zeros_is_cut_away() {
    for zeros in [1usize, 15, 16, 4096] {
        check(|segment| {
            set_len(segment, record_offset(&PAYLOADS, 2));
            append_bytes(segment, &vec![0u8; zeros]);
        });
    }
}

#[test]
fn torn_tail_with_a_damaged_last_record_is_cut_away() {
    // A last record whose bytes are all there but wrong is indistinguishable
    // from a torn write when sectors are not atomic; it is cut, not an error.
    let offset = record_offset(&PAYLOADS, 2) + RECORD_HEADER_LEN + 3;
    check(|segment| flip(segment, offset));
}

#[test]
fn torn_tail_of_garbage_shorter_than_a_frame_is_cut_away() {
    check(|segment| {
        set_len(segment, record_offset(&PAYLOADS, 2));
        append_bytes(segment, &[0xff; 9]);
    });
}

#[test]
fn torn_header_of_a_new_last_segment_is_rewritten() {
    // Segments of 64 bytes hold one of these 30-byte records each.
    let (one, two, again) = ([1u8; 30], [2u8; 30], [3u8; 30]);
    for cut in [0u64, 1, 23] {
        let tmp = tempfile::tempdir().unwrap();
        let (journal, _) = open(tmp.path(), small_segments(64));
        append_all(&journal, &[&one, &two]);
        journal.close().unwrap();
        let segments = files(tmp.path(), ".wal");
        assert_eq!(segments.len(), 2);
        // As if the crash came after creating the second segment, before its
        // header (and so any record in it) reached the disk.
        set_len(&segments[1], cut);
        let (journal, recovery) = open(tmp.path(), small_segments(64));
        assert_eq!(records(&recovery), vec![(1, one.to_vec())]);
        assert_eq!(append_all(&journal, &[&again]), vec![Lsn(2)]);
        journal.close().unwrap();
        let (_journal, recovery) = open(tmp.path(), quiet());
        assert_eq!(
            records(&recovery),
            vec![(1, one.to_vec()), (2, again.to_vec())]
        );
    }
}

pub fn set_len(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

pub fn append_bytes(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

pub fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}
