//! After a failed write or sync the journal is poisoned: the failing commit
//! is reported failed, never acknowledged, and every later operation returns
//! `Error::Poisoned` until the journal is reopened.

mod common;

use std::io::ErrorKind;

use common::*;
use journal::{Error, Lsn};

/// Makes one wait fail through `inject`, then checks the error, the poisoning,
/// and that reopening recovers the records acknowledged before the failure.
fn check(inject: impl FnOnce(&journal::Faults), kind: ErrorKind, op: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (options, faults) = faulty();
    let (journal, _) = open(tmp.path(), options);
    append_all(&journal, &[b"acknowledged"]);
    inject(&faults);
    let lsn = journal.append(b"doomed").unwrap();
    match journal.wait_durable(lsn) {
        Err(Error::Io {
            op: failed_op,
            source,
            ..
        }) => {
            assert_eq!((failed_op, source.kind()), (op, kind));
        }
        other => panic!("expected the injected failure, got {other:?}"),
    }
    assert!(
        journal.durable_lsn() < lsn,
        "a failed record was reported durable"
    );
    assert!(matches!(journal.wait_durable(lsn), Err(Error::Poisoned)));
    assert!(matches!(journal.append(b"after"), Err(Error::Poisoned)));
    assert!(matches!(journal.sync_now(), Err(Error::Poisoned)));
    assert!(matches!(
        journal.checkpoint(Lsn(1), |_| Ok(())),
        Err(Error::Poisoned)
    ));
    drop(journal);
    let (journal, recovery) = open(tmp.path(), quiet());
    let recovered = records(&recovery);
    assert_eq!(recovered[0], (1, b"acknowledged".to_vec()));
    // The failed record's fate is unknown (a failed fsync may still have
    // persisted it), but nothing else may appear.
    assert!(recovered.len() <= 2, "{recovered:?}");
    let next = journal.append(b"after reopen").unwrap();
    journal.wait_durable(next).unwrap();
}

#[test]
fn commit_after_failed_fsync_is_poisoned() {
    check(
        |f| f.fail_syncs_after(0),
        ErrorKind::Other,
        "fdatasync log segment",
    );
}

#[test]
fn commit_after_failed_write_with_no_space_is_poisoned() {
    check(
        |f| f.fail_writes_after(0),
        ErrorKind::StorageFull,
        "write log segment",
    );
}

#[test]
fn poisoning_fails_every_concurrent_waiter() {
    let tmp = tempfile::tempdir().unwrap();
    let (options, faults) = faulty();
    let (journal, _) = open(tmp.path(), options);
    faults.fail_syncs_after(0);
    let lsns: Vec<Lsn> = (0..8).map(|i| journal.append(&[i]).unwrap()).collect();
    std::thread::scope(|s| {
        for &lsn in &lsns {
            let journal = &journal;
            s.spawn(move || assert!(journal.wait_durable(lsn).is_err(), "lsn {lsn} acknowledged"));
        }
    });
    assert_eq!(journal.durable_lsn(), Lsn(0));
}

#[test]
fn poisoning_by_a_failed_rotation_is_reported() {
    // With 64-byte segments the second record starts a new segment, whose
    // header write is the second write.
    let tmp = tempfile::tempdir().unwrap();
    let (options, faults) = faulty();
    let (journal, _) = open(
        tmp.path(),
        journal::Options {
            segment_bytes_max: 64,
            ..options
        },
    );
    append_all(&journal, &[&[1u8; 30]]);
    faults.fail_writes_after(0);
    let lsn = journal.append(&[2u8; 30]).unwrap();
    assert!(matches!(journal.wait_durable(lsn), Err(Error::Io { .. })));
    assert!(matches!(journal.append(b"x"), Err(Error::Poisoned)));
    drop(journal);
    let (_journal, recovery) = open(tmp.path(), quiet());
    assert_eq!(records(&recovery), vec![(1, vec![1u8; 30])]);
}

#[test]
fn poisoning_mid_stream_acknowledges_nothing_at_or_after_the_failed_flight() {
    // Concurrent committers keep several flights syncing at once; the fourth
    // sync fails. A flight's success counts only after every earlier one's,
    // so no acknowledged LSN may follow any LSN that failed.
    let tmp = tempfile::tempdir().unwrap();
    let (options, faults) = faulty();
    let (journal, _) = open(tmp.path(), options);
    faults.fail_syncs_after(3);
    let outcomes = std::sync::Mutex::new((Vec::new(), Vec::new()));
    std::thread::scope(|s| {
        for thread in 0..16u8 {
            let (journal, outcomes) = (&journal, &outcomes);
            s.spawn(move || {
                loop {
                    let Ok(lsn) = journal.append(&[thread]) else {
                        return;
                    };
                    let waited = journal.wait_durable(lsn);
                    let mut outcomes = outcomes.lock().unwrap();
                    match waited {
                        Ok(()) => outcomes.0.push(lsn),
                        Err(_) => return outcomes.1.push(lsn),
                    }
                }
            });
        }
    });
    let (acked, failed) = outcomes.into_inner().unwrap();
    let first_failed = failed
        .iter()
        .min()
        .expect("the injected failure hit someone");
    assert!(
        acked.iter().all(|lsn| lsn < first_failed),
        "{acked:?} vs {failed:?}"
    );
    assert_eq!(
        journal.durable_lsn(),
        acked.iter().max().copied().unwrap_or(Lsn(0))
    );
    drop(journal);
    let (_journal, recovery) = open(tmp.path(), quiet());
    assert!(records(&recovery).len() >= acked.len());
}
