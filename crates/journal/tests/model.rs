//! Model test: random sequences of appends, waits, syncs, checkpoints,
//! injected sync failures, clean reopens and crashes, run against the journal
//! and against a `Vec` of payloads. After every reopen the journal's replay
//! (checkpoint body, then records) must be a prefix of the model's appends
//! that keeps at least every acknowledged record, and LSNs must be dense.

mod common;

use std::sync::Arc;

use common::*;
use journal::{Error, Faults, Journal, Lsn, Options};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    AppendAndWait(Vec<u8>),
    Sync,
    /// Checkpoint at a point chosen between the last checkpoint and the log end.
    Checkpoint(u8),
    /// Arm one sync failure, append, and sync: the journal must poison.
    FailSync,
    Reopen,
    /// Power loss, keeping this many bytes written but not synced.
    Crash(u16),
}

fn op() -> impl Strategy<Value = Op> {
    let payload = || proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        4 => payload().prop_map(Op::Append),
        3 => payload().prop_map(Op::AppendAndWait),
        1 => Just(Op::Sync),
        1 => any::<u8>().prop_map(Op::Checkpoint),
        1 => Just(Op::FailSync),
        1 => Just(Op::Reopen),
        1 => (0u16..200).prop_map(Op::Crash),
    ]
}

/// What the test knows must be, or may be, on disk.
struct Model {
    appended: Vec<Vec<u8>>,
    acked: usize,
    checkpoint: u64,
    poisoned: bool,
}

struct Harness {
    dir: tempfile::TempDir,
    faults: Arc<Faults>,
    journal: Option<Journal>,
    model: Model,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(Faults::new());
        let model = Model {
            appended: Vec::new(),
            acked: 0,
            checkpoint: 0,
            poisoned: false,
        };
        let mut harness = Self {
            dir,
            faults,
            journal: None,
            model,
        };
        harness.reopen();
        harness
    }

    fn options(&self) -> Options {
        Options {
            faults: Some(Arc::clone(&self.faults)),
            ..small_segments(160)
        }
    }

    fn journal(&self) -> &Journal {
        self.journal.as_ref().unwrap()
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Append(payload) => self.append(payload, false),
            Op::AppendAndWait(payload) => self.append(payload, true),
            Op::Sync => match self.journal().sync_now() {
                Ok(()) => self.model.acked = self.model.appended.len(),
                Err(e) => assert!(self.model.poisoned && matches!(e, Error::Poisoned), "{e}"),
            },
            Op::Checkpoint(at) => self.checkpoint(at),
            Op::FailSync => self.fail_sync(),
            Op::Reopen if self.model.poisoned => self.crash(0),
            Op::Reopen => {
                self.journal.take().unwrap().close().unwrap();
                self.model.acked = self.model.appended.len();
                self.reopen();
            }
            Op::Crash(torn) => self.crash(u64::from(torn)),
        }
    }

    fn append(&mut self, payload: Vec<u8>, wait: bool) {
        let appended = self.journal().append(&payload);
        if self.model.poisoned {
            assert!(matches!(appended, Err(Error::Poisoned)), "{appended:?}");
            return;
        }
        let lsn = appended.unwrap();
        self.model.appended.push(payload);
        assert_eq!(lsn, Lsn(self.model.appended.len() as u64));
        if wait {
            self.journal().wait_durable(lsn).unwrap();
            self.model.acked = self.model.appended.len();
        }
    }

    fn checkpoint(&mut self, at: u8) {
        let span = self.model.appended.len() as u64 - self.model.checkpoint;
        let covers = self.model.checkpoint + span * u64::from(at) / 255;
        let body = checkpoint_body(&self.model.appended[..covers as usize]);
        let installed = self
            .journal()
            .checkpoint(Lsn(covers), |w| w.write_all(&body));
        if self.model.poisoned {
            assert!(matches!(installed, Err(Error::Poisoned)), "{installed:?}");
            return;
        }
        installed.unwrap();
        self.model.checkpoint = covers;
        self.model.acked = self.model.acked.max(covers as usize);
    }

    fn fail_sync(&mut self) {
        if self.model.poisoned {
            return;
        }
        self.faults.fail_syncs_after(0);
        let lsn = self.journal().append(b"doomed").unwrap();
        self.model.appended.push(b"doomed".to_vec());
        assert!(matches!(
            self.journal().wait_durable(lsn),
            Err(Error::Io { .. })
        ));
        self.faults.fail_syncs_after(u64::MAX);
        self.model.poisoned = true;
    }

    fn crash(&mut self, torn: u64) {
        self.journal.take().unwrap().simulate_crash(torn).unwrap();
        self.reopen();
    }

    /// Reopens and checks the replay against the model, then adopts what
    /// survived as the new model.
    fn reopen(&mut self) {
        let (journal, recovery) = Journal::open(self.dir.path(), self.options()).unwrap();
        let checkpoint = recovery.checkpoint.as_ref().map_or(0, |c| c.lsn.0);
        assert_eq!(checkpoint, self.model.checkpoint);
        let lsns: Vec<u64> = recovery.records.iter().map(|r| r.lsn.0).collect();
        let n_records = lsns.len() as u64;
        assert_eq!(
            lsns,
            (checkpoint + 1..=checkpoint + n_records).collect::<Vec<_>>()
        );
        let replay = replayed(recovery);
        let model = &mut self.model;
        assert!(
            replay.len() >= model.acked,
            "lost acked records: {} < {}",
            replay.len(),
            model.acked
        );
        assert!(
            replay.len() <= model.appended.len(),
            "records out of nowhere"
        );
        assert_eq!(replay, model.appended[..replay.len()]);
        model.appended.truncate(replay.len());
        model.acked = replay.len();
        model.poisoned = false;
        assert_eq!(journal.last_lsn(), Lsn(replay.len() as u64));
        self.journal = Some(journal);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn model_journal_replays_a_prefix_keeping_every_acknowledged_record(
        ops in proptest::collection::vec(op(), 1..80)
    ) {
        let mut harness = Harness::new();
        for op in ops {
            harness.apply(op);
        }
        harness.apply(Op::Reopen);
    }
}
