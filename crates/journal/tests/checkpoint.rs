//! Checkpoints: recovery returns the newest checkpoint and only the records
//! after it, and a crash at any step of installing one leaves a directory
//! that recovers to the same logical state.

mod common;

use std::io;
use std::path::Path;

use common::*;
use journal::{Error, Journal, Lsn};

/// Six payloads of 30 bytes: with 64-byte segments each fills one segment.
fn payloads() -> Vec<Vec<u8>> {
    (1..=6u8).map(|i| vec![i; 30]).collect()
}

fn slices(payloads: &[Vec<u8>]) -> Vec<&[u8]> {
    payloads.iter().map(|p| p.as_slice()).collect()
}

fn install(journal: &Journal, covers: u64, payloads: &[Vec<u8>]) {
    let body = checkpoint_body(&payloads[..covers as usize]);
    journal
        .checkpoint(Lsn(covers), |w| w.write_all(&body))
        .unwrap();
}

/// Opens `dir` and expects it to replay to `expected`, with a checkpoint at
/// `checkpoint_lsn`, and the next append to get the next LSN.
fn check(dir: &Path, checkpoint_lsn: u64, expected: &[Vec<u8>]) {
    let (journal, recovery) = open(dir, small_segments(64));
    assert_eq!(
        recovery.checkpoint.as_ref().map(|c| c.lsn.0),
        Some(checkpoint_lsn)
    );
    let first_record = recovery.records.first().map(|r| r.lsn.0);
    assert_eq!(
        first_record,
        Some(checkpoint_lsn + 1).filter(|&l| l <= expected.len() as u64)
    );
    assert_eq!(replayed(recovery), expected, "replay of {}", dir.display());
    assert_eq!(
        append_all(&journal, &[b"next"]),
        vec![Lsn(expected.len() as u64 + 1)]
    );
    assert!(files(dir, ".tmp").is_empty(), "leftover tmp not removed");
    assert_eq!(
        files(dir, ".ckpt").len(),
        1,
        "superseded checkpoints not removed"
    );
}

#[test]
fn checkpoint_then_recover_gives_checkpoint_and_later_records_only() {
    let all = payloads();
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), small_segments(64));
    append_all(&journal, &slices(&all[..4]));
    install(&journal, 3, &all);
    append_all(&journal, &slices(&all[4..]));
    journal.close().unwrap();
    let (journal, mut recovery) = open(tmp.path(), small_segments(64));
    let checkpoint = recovery.checkpoint.take().unwrap();
    assert_eq!(checkpoint.lsn, Lsn(3));
    assert_eq!(
        checkpoint.reader.body_len(),
        checkpoint_body(&all[..3]).len() as u64
    );
    let lsns: Vec<u64> = recovery.records.iter().map(|r| r.lsn.0).collect();
    assert_eq!(lsns, vec![4, 5, 6]);
    drop(journal);
    check(tmp.path(), 3, &all);
}

#[test]
fn checkpoint_deletes_covered_segments_and_older_checkpoints() {
    let all = payloads();
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), small_segments(64));
    append_all(&journal, &slices(&all));
    assert_eq!(files(tmp.path(), ".wal").len(), 6);
    install(&journal, 2, &all);
    // Segments 1 and 2 hold only records the checkpoint covers.
    let names = |suffix| -> Vec<String> {
        let paths = files(tmp.path(), suffix);
        paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(".wal")[0], "log-0000000000000003.wal");
    install(&journal, 6, &all);
    // The newest segment is always kept, even when wholly covered.
    assert_eq!(names(".wal"), vec!["log-0000000000000006.wal"]);
    assert_eq!(names(".ckpt"), vec!["checkpoint-0000000000000006.ckpt"]);
    journal.close().unwrap();
    check(tmp.path(), 6, &all);
}

#[test]
fn checkpoint_crash_at_every_step_recovers_the_same_state() {
    let all = payloads();
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    let (journal, _) = open(&live, small_segments(64));
    append_all(&journal, &slices(&all[..4]));
    install(&journal, 2, &all);
    append_all(&journal, &slices(&all[4..]));
    let before = root.path().join("before");
    copy_dir(&live, &before);
    install(&journal, 5, &all);
    journal.close().unwrap();
    let new_checkpoint = std::fs::read(live.join("checkpoint-0000000000000005.ckpt")).unwrap();
    let old_checkpoint = "checkpoint-0000000000000002.ckpt";

    // Each state is what a crash after that step may leave: `before` plus
    // the effects of the steps so far, in any persisted subset.
    let state = |name: &str, edit: &dyn Fn(&Path)| {
        let dir = root.path().join(name);
        copy_dir(&before, &dir);
        edit(&dir);
        dir
    };
    let tmp_name = "checkpoint-0000000000000005.ckpt.tmp";
    let installed = |dir: &Path| {
        std::fs::write(
            dir.join("checkpoint-0000000000000005.ckpt"),
            &new_checkpoint,
        )
        .unwrap()
    };
    let remove = |dir: &Path, name: &str| std::fs::remove_file(dir.join(name)).unwrap();

    let partial_tmp = state("partial-tmp", &|d| {
        std::fs::write(d.join(tmp_name), &new_checkpoint[..10]).unwrap()
    });
    check(&partial_tmp, 2, &all);
    let whole_tmp = state("whole-tmp", &|d| {
        std::fs::write(d.join(tmp_name), &new_checkpoint).unwrap()
    });
    check(&whole_tmp, 2, &all);
    let renamed = state("renamed", &|d| installed(d));
    check(&renamed, 5, &all);
    let old_deleted = state("old-deleted", &|d| {
        installed(d);
        remove(d, old_checkpoint);
    });
    check(&old_deleted, 5, &all);
    let some_segments_deleted = state("some-segments-deleted", &|d| {
        installed(d);
        remove(d, old_checkpoint);
        remove(d, "log-0000000000000004.wal");
    });
    check(&some_segments_deleted, 5, &all);
    check(&live, 5, &all);
}

#[test]
fn checkpoint_writer_failure_installs_nothing() {
    let all = payloads();
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), small_segments(64));
    append_all(&journal, &slices(&all));
    let err = journal
        .checkpoint(Lsn(4), |w| {
            w.write_all(b"partial body")?;
            Err(io::Error::other("snapshot iteration failed"))
        })
        .unwrap_err();
    assert!(matches!(err, Error::CheckpointWriter(_)), "{err}");
    assert!(files(tmp.path(), ".tmp").is_empty() && files(tmp.path(), ".ckpt").is_empty());
    assert_eq!(files(tmp.path(), ".wal").len(), 6);
    journal.close().unwrap();
    let (_journal, recovery) = open(tmp.path(), quiet());
    assert!(recovery.checkpoint.is_none());
    assert_eq!(replayed(recovery), all);
}

#[test]
fn checkpoint_rejects_lsns_outside_the_log_or_older_than_the_last() {
    let all = payloads();
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    append_all(&journal, &slices(&all[..3]));
    let err = journal.checkpoint(Lsn(4), |_| Ok(())).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CheckpointBeyondLog {
                covers: Lsn(4),
                last: Lsn(3)
            }
        ),
        "{err}"
    );
    install(&journal, 3, &all);
    let err = journal.checkpoint(Lsn(2), |_| Ok(())).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CheckpointNotNewer {
                covers: Lsn(2),
                latest: Lsn(3)
            }
        ),
        "{err}"
    );
    // Re-covering the same LSN replaces the checkpoint in one rename.
    install(&journal, 3, &all);
    journal.close().unwrap();
    check(tmp.path(), 3, &all[..3]);
}

#[test]
fn checkpoint_lets_appends_and_waits_continue_while_it_is_written() {
    let all = payloads();
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), small_segments(64));
    append_all(&journal, &slices(&all[..3]));
    let body = checkpoint_body(&all[..3]);
    journal
        .checkpoint(Lsn(3), |w| {
            w.write_all(&body[..5])?;
            // A committer during the checkpoint: must neither block nor deadlock.
            for payload in &all[3..] {
                let lsn = journal.append(payload).unwrap();
                journal.wait_durable(lsn).unwrap();
            }
            w.write_all(&body[5..])
        })
        .unwrap();
    journal.close().unwrap();
    check(tmp.path(), 3, &all);
}

#[test]
fn checkpoint_only_directory_starts_a_log_after_it() {
    let all = payloads();
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    append_all(&journal, &slices(&all[..2]));
    install(&journal, 2, &all);
    journal.close().unwrap();
    for segment in files(tmp.path(), ".wal") {
        std::fs::remove_file(segment).unwrap();
    }
    check(tmp.path(), 2, &all[..2]);
}
