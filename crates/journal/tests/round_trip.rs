//! Appending and recovering: what is made durable comes back, in order, with
//! dense LSNs, across segment rotation and reopenings.

mod common;

use std::time::Duration;

use common::*;
use journal::{Error, Journal, Lsn, Options, RECORD_PAYLOAD_BYTES_MAX};

/// Appends `payloads` with segments of `segment_bytes_max`, closes, reopens,
/// and expects exactly those records back with LSNs 1..=n.
fn check(payloads: &[&[u8]], segment_bytes_max: u64, segments_expected: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, recovery) = open(tmp.path(), small_segments(segment_bytes_max));
    assert!(recovery.checkpoint.is_none() && recovery.records.is_empty());
    let lsns = append_all(&journal, payloads);
    assert_eq!(
        lsns,
        (1..=payloads.len() as u64).map(Lsn).collect::<Vec<_>>()
    );
    journal.close().unwrap();
    let (_journal, recovery) = open(tmp.path(), quiet());
    let expected: Vec<(u64, Vec<u8>)> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| (i as u64 + 1, p.to_vec()))
        .collect();
    assert_eq!(records(&recovery), expected);
    assert_eq!(files(tmp.path(), ".wal").len(), segments_expected);
}

#[test]
fn round_trip_recovers_every_record_in_order() {
    check(&[], 1 << 20, 1);
    check(&[b"one"], 1 << 20, 1);
    check(&[b"one", b"", b"three", &[0u8; 1000]], 1 << 20, 1);
    // 100-byte segments hold one 40-byte-payload record each after the header.
    check(&[&[7u8; 40], &[8u8; 40], &[9u8; 40]], 100, 3);
    // A record bigger than a segment still fits whole in a segment of its own.
    check(&[b"a", &[1u8; 500], b"b"], 100, 3);
}

#[test]
fn round_trip_lsns_continue_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), small_segments(128));
    append_all(&journal, &[b"a", b"b"]);
    journal.close().unwrap();
    let (journal, recovery) = open(tmp.path(), small_segments(128));
    assert_eq!(recovery.records.len(), 2);
    assert_eq!(journal.last_lsn(), Lsn(2));
    assert_eq!(append_all(&journal, &[b"c"]), vec![Lsn(3)]);
    drop(journal);
    let (_journal, recovery) = open(tmp.path(), quiet());
    assert_eq!(records(&recovery).last(), Some(&(3, b"c".to_vec())));
}

#[test]
fn round_trip_drop_syncs_pending_records() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    journal.append(b"never waited for").unwrap();
    drop(journal);
    let (_journal, recovery) = open(tmp.path(), quiet());
    assert_eq!(records(&recovery), vec![(1, b"never waited for".to_vec())]);
}

#[test]
fn round_trip_background_flusher_makes_unwaited_records_durable() {
    let tmp = tempfile::tempdir().unwrap();
    let interval = Duration::from_millis(20);
    let options = Options {
        sync_interval: Some(interval),
        ..quiet()
    };
    let (journal, _) = open(tmp.path(), options);
    let lsn = journal.append(b"j:false write").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while journal.durable_lsn() < lsn {
        assert!(std::time::Instant::now() < deadline, "flusher never synced");
        std::thread::sleep(interval);
    }
    journal.simulate_crash(0).unwrap();
    let (_journal, recovery) = open(tmp.path(), quiet());
    assert_eq!(records(&recovery), vec![(1, b"j:false write".to_vec())]);
}

#[test]
fn round_trip_unsynced_records_are_lost_in_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    append_all(&journal, &[b"durable"]);
    journal.append(b"buffered only").unwrap();
    journal.simulate_crash(0).unwrap();
    let (journal, recovery) = open(tmp.path(), quiet());
    assert_eq!(records(&recovery), vec![(1, b"durable".to_vec())]);
    assert_eq!(journal.append(b"next").unwrap(), Lsn(2));
}

#[test]
fn append_rejects_a_record_over_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    let payload = vec![0u8; RECORD_PAYLOAD_BYTES_MAX + 1];
    let err = journal.append(&payload).unwrap_err();
    assert!(
        matches!(err, Error::RecordTooLarge { len, .. } if len == payload.len()),
        "{err}"
    );
    // Nothing was consumed: the next record still gets LSN 1.
    assert_eq!(journal.append(b"ok").unwrap(), Lsn(1));
}

#[test]
fn open_rejects_out_of_range_options() {
    let tmp = tempfile::tempdir().unwrap();
    let check = |options: Options| {
        let err = Journal::open(tmp.path(), options).unwrap_err();
        assert!(matches!(err, Error::InvalidOption(_)), "{err}");
    };
    check(small_segments(10));
    check(Options {
        sync_interval: Some(Duration::ZERO),
        ..quiet()
    });
}
