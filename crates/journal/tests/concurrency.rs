//! Many committers at once: every LSN acknowledged by `wait_durable` must be
//! recovered with its payload, even after a crash that loses everything not
//! synced, and LSNs must be dense and unique.

mod common;

use std::collections::BTreeMap;
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use common::*;
use journal::Options;

fn payload(thread: usize, i: usize) -> Vec<u8> {
    format!("thread {thread} commit {i}").into_bytes()
}

/// How long a case may take before a committer is taken to sleep forever
/// (a lost wakeup); a few seconds is normal even on a slow disk.
const STALL_LIMIT: Duration = Duration::from_secs(120);

/// Runs `case`, ending the whole test binary with a failure if it has not
/// finished within `STALL_LIMIT`: a lost wakeup must fail, not hang CI.
fn without_stalls(name: &str, case: impl FnOnce()) {
    let (done, finished) = mpsc::channel::<()>();
    let name = name.to_owned();
    let watchdog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(STALL_LIMIT) {
            eprintln!("{name}: committers stalled for {STALL_LIMIT:?}: a lost wakeup");
            std::process::exit(101);
        }
    });
    case();
    drop(done);
    watchdog.join().unwrap();
}

/// Runs `n_threads` committers doing `n_commits` append + wait_durable each,
/// crashes, reopens, and checks every acknowledged record is there.
fn check(n_threads: usize, n_commits: usize, options: Options) {
    without_stalls(&format!("{n_threads} committers"), || {
        check_once(n_threads, n_commits, options)
    });
}

fn check_once(n_threads: usize, n_commits: usize, options: Options) {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), options);
    let acked = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for thread in 0..n_threads {
            let (journal, acked) = (&journal, &acked);
            s.spawn(move || {
                for i in 0..n_commits {
                    let payload = payload(thread, i);
                    let lsn = journal.append(&payload).unwrap();
                    journal.wait_durable(lsn).unwrap();
                    assert!(journal.durable_lsn() >= lsn);
                    assert!(
                        acked.lock().unwrap().insert(lsn.0, payload).is_none(),
                        "lsn reused"
                    );
                }
            });
        }
    });
    journal.simulate_crash(0).unwrap();
    let acked = acked.into_inner().unwrap();
    let n_total = (n_threads * n_commits) as u64;
    assert_eq!(
        acked.keys().copied().collect::<Vec<_>>(),
        (1..=n_total).collect::<Vec<_>>()
    );
    let (_journal, recovery) = open(tmp.path(), quiet());
    let recovered: BTreeMap<u64, Vec<u8>> = records(&recovery).into_iter().collect();
    assert_eq!(recovered, acked);
}

#[test]
fn concurrent_committers_recover_every_acknowledged_lsn() {
    check(1, 50, quiet());
    check(8, 60, quiet());
    check(16, 25, small_segments(512));
    // Many more committers than flights: most wait as followers on the
    // next flight's slot, across segment rotations.
    check(32, 40, small_segments(4096));
    check(
        4,
        40,
        Options {
            sync_interval: Some(std::time::Duration::from_millis(1)),
            ..quiet()
        },
    );
}

#[test]
fn group_commit_shares_fdatasyncs_among_concurrent_committers() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    let (n_threads, n_commits) = (16u64, 20u64);
    let barrier = std::sync::Barrier::new(n_threads as usize);
    without_stalls("group commit", || {
        std::thread::scope(|s| {
            for thread in 0..n_threads {
                let (journal, barrier) = (&journal, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    for i in 0..n_commits {
                        let lsn = journal
                            .append(&payload(thread as usize, i as usize))
                            .unwrap();
                        journal.wait_durable(lsn).unwrap();
                    }
                });
            }
        })
    });
    let n_syncs = journal.sync_count();
    assert!(
        n_syncs < n_threads * n_commits,
        "{n_syncs} syncs for {} commits",
        n_threads * n_commits
    );
}
