//! A crash mid-append leaves a torn tail: part of the last record, or zeros
//! where the file system extended the file. Recovery must cut exactly that
//! away, keep every earlier record, and append after the last good one.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use common::*;
use journal::{Journal, Lsn};

const PAYLOADS: [&[u8]; 3] = [b"first record", b"second", b"the third and last record"];

/// Writes `PAYLOADS` to a fresh directory, damages the segment with
/// `damage`, reopens, and expects the first two records; then appends one
/// more and expects it to follow them across another reopen.
fn check(damage: impl FnOnce(&Path)) {
    check_after(|journal| journal.close().unwrap(), damage);
}

/// As [`check`], ending the first run with `end` (a clean close or a crash).
fn check_after(end: impl FnOnce(Journal), damage: impl FnOnce(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    append_all(&journal, &PAYLOADS);
    end(journal);
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
fn torn_tail_of_part_of_a_record_inside_preallocated_zeros_is_cut_away() {
    // The log writes over zeros it preallocated: a crash mid-write leaves
    // the start of the record and zeros where the rest should be.
    for kept in [1u64, 4, 16, 20] {
        check(|segment| {
            let bytes = std::fs::read(segment).unwrap();
            let start = record_offset(&PAYLOADS, 2);
            set_len(segment, start);
            let partial = &bytes[start as usize..(start + kept) as usize];
            append_bytes(segment, partial);
            append_bytes(segment, &[0u8; 4096]);
        });
    }
}

#[test]
fn torn_tail_with_a_damaged_last_record_after_a_crash_is_cut_away() {
    // A crash leaves no mark after the last flight, so a last record whose
    // bytes are all there but wrong cannot be told from a torn write (sectors
    // are not atomic); it is cut, not an error. After a clean close the
    // closing mark proves it synced (corruption.rs).
    let offset = record_offset(&PAYLOADS, 2) + RECORD_HEADER_LEN + 3;
    check_after(
        |journal| journal.simulate_crash(0).unwrap(),
        |segment| flip(segment, offset),
    );
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

#[test]
fn torn_tail_open_segment_is_preallocated_and_a_clean_close_trims_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    append_all(&journal, &PAYLOADS);
    let segment = only_segment(tmp.path());
    let records_end = record_offset(&PAYLOADS, 3);
    let file_len = || std::fs::metadata(&segment).unwrap().len();
    assert!(file_len() > records_end, "no space preallocated");
    journal.close().unwrap();
    // The records, then the closing mark.
    assert_eq!(file_len(), records_end + MARK_LEN);
}

#[test]
fn torn_tail_preallocated_space_left_by_a_crash_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    append_all(&journal, &PAYLOADS[..2]);
    journal.simulate_crash(0).unwrap();
    let segment = only_segment(tmp.path());
    let preallocated = std::fs::metadata(&segment).unwrap().len();
    assert!(preallocated > record_offset(&PAYLOADS, 2));
    let (journal, recovery) = open(tmp.path(), quiet());
    assert_eq!(records(&recovery).len(), 2);
    append_all(&journal, &PAYLOADS[2..]);
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), preallocated);
    journal.simulate_crash(0).unwrap();
    let (_journal, recovery) = open(tmp.path(), quiet());
    let payloads: Vec<Vec<u8>> = PAYLOADS.iter().map(|p| p.to_vec()).collect();
    assert_eq!(
        records(&recovery)
            .into_iter()
            .map(|(_, p)| p)
            .collect::<Vec<_>>(),
        payloads
    );
}

#[test]
fn torn_tail_sealed_segment_with_zeros_left_by_a_lost_trim_recovers_whole() {
    // 64-byte segments hold one 30-byte record each.
    let payloads = [[1u8; 30], [2u8; 30], [3u8; 30]];
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), small_segments(64));
    append_all(&journal, &[&payloads[0], &payloads[1], &payloads[2]]);
    journal.close().unwrap();
    let segments = files(tmp.path(), ".wal");
    assert_eq!(segments.len(), 3);
    // As if the crash lost the trim done when the segment was sealed.
    append_bytes(&segments[1], &[0u8; 18]);
    let (_journal, recovery) = open(tmp.path(), small_segments(64));
    let expected: Vec<(u64, Vec<u8>)> = (1..).zip(payloads.iter().map(|p| p.to_vec())).collect();
    assert_eq!(records(&recovery), expected);
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
