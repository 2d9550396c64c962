//! Damage recovery must not cut away: a bad record with valid records after
//! it, a bad record in a sealed segment, a missing segment, a bad header or a
//! bad checkpoint. Each is `Error::Corrupt` naming the file and offset.

mod common;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use common::*;
use journal::{CorruptReason, Error, Journal, Lsn};

const PAYLOADS: [&[u8]; 4] = [b"alpha", b"bravo charlie", b"delta", b"echo"];

/// Expects opening `dir` to fail as corruption of `file` at `offset` for `reason`.
fn check(dir: &Path, file: &Path, offset: u64, reason: CorruptReason) {
    match Journal::open(dir, quiet()) {
        Err(Error::Corrupt {
            file: f,
            offset: o,
            reason: r,
        }) => {
            assert_eq!((f.as_path(), o, r), (file, offset, reason));
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}

fn written(payloads: &[&[u8]], segment_bytes_max: u64) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), small_segments(segment_bytes_max));
    append_all(&journal, payloads);
    journal.close().unwrap();
    tmp
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn corruption_of_any_byte_of_a_middle_record_is_an_error() {
    let start = record_offset(&PAYLOADS, 1);
    for offset in start..record_offset(&PAYLOADS, 2) {
        let tmp = written(&PAYLOADS, 1 << 20);
        let segment = only_segment(tmp.path());
        flip(&segment, offset);
        let in_len_field = offset < start + 4;
        // A damaged length may make the frame overrun the file.
        let reasons = [
            CorruptReason::RecordChecksum,
            CorruptReason::RecordTruncated,
        ];
        match Journal::open(tmp.path(), quiet()) {
            Err(Error::Corrupt {
                file,
                offset: at,
                reason,
            }) => {
                assert_eq!((file, at), (segment.clone(), start), "flip at {offset}");
                assert!(
                    reason == reasons[0] || in_len_field && reason == reasons[1],
                    "flip at {offset}: {reason}"
                );
            }
            other => panic!("flip at {offset}: expected corruption, got {other:?}"),
        }
    }
}

#[test]
fn corruption_of_the_last_record_of_a_cleanly_closed_log_is_an_error() {
    // The closing mark proves every record synced, so damage to the last
    // one is not a torn write (after a crash it would be: torn_tail.rs).
    let tmp = written(&PAYLOADS, 1 << 20);
    let segment = only_segment(tmp.path());
    let last = record_offset(&PAYLOADS, 3);
    flip(&segment, last + RECORD_HEADER_LEN);
    check(tmp.path(), &segment, last, CorruptReason::RecordChecksum);
}

#[test]
fn corruption_at_the_end_of_a_sealed_segment_is_an_error() {
    // 64-byte segments: each holds one record, so there are four segments.
    let tmp = written(&PAYLOADS, 64);
    let segments = files(tmp.path(), ".wal");
    assert_eq!(segments.len(), 4);
    let len = std::fs::metadata(&segments[1]).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&segments[1])
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    check(
        tmp.path(),
        &segments[1],
        SEGMENT_HEADER_LEN + MARK_LEN,
        CorruptReason::RecordTruncated,
    );
}

#[test]
fn corruption_zeroing_the_end_of_a_sealed_segment_is_an_error() {
    // Zeros where a sealed segment's last record was look like preallocated
    // space, but the next segment then starts at an LSN nobody accounts for.
    let tmp = written(&PAYLOADS, 64);
    let segments = files(tmp.path(), ".wal");
    let len = std::fs::metadata(&segments[1]).unwrap().len();
    std::fs::write(&segments[1], {
        let mut bytes = std::fs::read(&segments[1]).unwrap();
        bytes[SEGMENT_HEADER_LEN as usize..len as usize].fill(0);
        bytes
    })
    .unwrap();
    check(
        tmp.path(),
        &segments[2],
        0,
        CorruptReason::MissingRecords {
            from: Lsn(2),
            to: Lsn(2),
        },
    );
}

#[test]
fn corruption_missing_middle_segment_is_an_error() {
    let tmp = written(&PAYLOADS, 64);
    let segments = files(tmp.path(), ".wal");
    std::fs::remove_file(&segments[2]).unwrap();
    check(
        tmp.path(),
        &segments[3],
        0,
        CorruptReason::MissingRecords {
            from: Lsn(3),
            to: Lsn(3),
        },
    );
}

#[test]
fn corruption_missing_first_segment_is_an_error() {
    let tmp = written(&PAYLOADS, 64);
    let segments = files(tmp.path(), ".wal");
    std::fs::remove_file(&segments[0]).unwrap();
    check(
        tmp.path(),
        &segments[1],
        0,
        CorruptReason::MissingRecords {
            from: Lsn(1),
            to: Lsn(1),
        },
    );
}

#[test]
fn corruption_of_a_segment_header_is_an_error() {
    let tmp = written(&PAYLOADS, 1 << 20);
    let segment = only_segment(tmp.path());
    flip(&segment, 0);
    check(tmp.path(), &segment, 0, CorruptReason::BadMagic);
    flip(&segment, 0);
    flip(&segment, 17);
    check(tmp.path(), &segment, 0, CorruptReason::HeaderChecksum);
}

#[test]
fn corruption_segment_renamed_away_from_its_header_is_an_error() {
    let tmp = written(&PAYLOADS, 1 << 20);
    let segment = only_segment(tmp.path());
    let renamed: PathBuf = tmp.path().join("log-0000000000000002.wal");
    std::fs::rename(&segment, &renamed).unwrap();
    let reason = CorruptReason::NameMismatch {
        named: Lsn(2),
        stored: Lsn(1),
    };
    check(tmp.path(), &renamed, 0, reason);
}

#[test]
fn corruption_of_a_checkpoint_is_an_error() {
    let body = checkpoint_body(&[b"alpha".to_vec(), b"bravo".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    append_all(&journal, &PAYLOADS[..2]);
    journal.checkpoint(Lsn(2), |w| w.write_all(&body)).unwrap();
    journal.close().unwrap();
    let checkpoint = files(tmp.path(), ".ckpt").remove(0);
    let len = std::fs::metadata(&checkpoint).unwrap().len();
    let trailer_at = len - 16;
    flip(&checkpoint, 24 + 3);
    check(
        tmp.path(),
        &checkpoint,
        trailer_at,
        CorruptReason::BadCheckpoint("checksum mismatch"),
    );
    flip(&checkpoint, 24 + 3);
    OpenOptions::new()
        .write(true)
        .open(&checkpoint)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    let reason = CorruptReason::BadCheckpoint("trailer magic missing");
    check(tmp.path(), &checkpoint, trailer_at - 1, reason);
}

mod fuzz {
    //! Arbitrary damage to any segment: recovery must never panic, and when it
    //! succeeds it returns a prefix of what was written, never invented records.

    use super::*;
    use proptest::prelude::*;

    const RECORDS: [&[u8]; 5] = [b"one", b"two two", &[3u8; 40], b"", b"five"];

    #[derive(Debug, Clone)]
    struct Damage {
        /// Which segment (modulo the count) to damage.
        segment: usize,
        /// (offset modulo the length, xor mask) pairs.
        flips: Vec<(usize, u8)>,
        /// Cut the file to this fraction (of 255) of its length.
        keep: Option<u8>,
        /// Append these bytes after the cut.
        garbage: Vec<u8>,
    }

    fn damage() -> impl Strategy<Value = Damage> {
        (
            any::<usize>(),
            proptest::collection::vec((any::<usize>(), 1u8..), 0..4),
            proptest::option::of(any::<u8>()),
            proptest::collection::vec(any::<u8>(), 0..48),
        )
            .prop_map(|(segment, flips, keep, garbage)| Damage {
                segment,
                flips,
                keep,
                garbage,
            })
    }

    fn apply(path: &Path, damage: &Damage) {
        let mut bytes = std::fs::read(path).unwrap();
        for &(offset, mask) in &damage.flips {
            if !bytes.is_empty() {
                let at = offset % bytes.len();
                bytes[at] ^= mask;
            }
        }
        if let Some(keep) = damage.keep {
            bytes.truncate(bytes.len() * usize::from(keep) / 255);
        }
        bytes.extend_from_slice(&damage.garbage);
        std::fs::write(path, bytes).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn damaged_log_recovers_a_prefix_or_reports_corruption(
            damage in damage(),
            segment_bytes_max in prop_oneof![Just(64u64), Just(1u64 << 20)],
        ) {
            let tmp = written(&RECORDS, segment_bytes_max);
            let segments = files(tmp.path(), ".wal");
            apply(&segments[damage.segment % segments.len()], &damage);
            match Journal::open(tmp.path(), quiet()) {
                Ok((_journal, recovery)) => {
                    let got = records(&recovery);
                    prop_assert!(got.len() <= RECORDS.len());
                    for (i, (lsn, payload)) in got.iter().enumerate() {
                        prop_assert_eq!(*lsn, i as u64 + 1);
                        prop_assert_eq!(payload.as_slice(), RECORDS[i]);
                    }
                }
                Err(Error::Corrupt { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
        }
    }
}
