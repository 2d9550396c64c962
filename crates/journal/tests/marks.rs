//! Durability marks: recovery must cut damage that no later mark proves was
//! synced (the pages of the final, unsynced flight persisting out of order,
//! or a flight whose fdatasync failed) and report damage that a later mark
//! proves was synced as corruption, never skipping it.
//!
//! The test lays the segment out itself from the documented format
//! (`docs/storage-format.md` section 3.1): a 32-byte header, then for every
//! flight a 16-byte mark naming the LSN that was durable when the flight was
//! written, then the flight's records; a clean close ends with one more mark.
//! It checks that layout against the file before damaging it.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::*;
use journal::{CorruptReason, Error, Journal, Lsn};
use proptest::prelude::*;

/// A page as the kernel writes it back; out-of-order persistence happens
/// at this granularity.
const PAGE: u64 = 4096;

/// How the writing run ends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ending {
    /// A clean close, whose mark proves every flight synced.
    Close,
    /// Power loss right after the last acknowledged flight.
    Crash,
    /// One more flight of records of these sizes is written, its fdatasync
    /// fails, and power is lost with every written byte kept; damage then
    /// models what of that flight did not persist.
    FailedFlight(Vec<usize>),
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A mark naming this LSN durable.
    Mark(u64),
    /// The record with this LSN.
    Record(u64),
}

#[derive(Debug, Clone, Copy)]
struct FrameAt {
    offset: u64,
    len: u64,
    kind: Kind,
}

/// A segment written by a run, before any damage.
struct Written {
    dir: tempfile::TempDir,
    segment: PathBuf,
    frames: Vec<FrameAt>,
    /// Payload of the record with LSN `i + 1`.
    payloads: Vec<Vec<u8>>,
    /// The newest LSN `wait_durable` acknowledged.
    acked: u64,
    /// End of the last acknowledged flight: everything after was never synced.
    synced_end: u64,
    bytes: Vec<u8>,
}

/// What recovery must do with a damaged segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Succeed with the records of LSN 1 up to this one.
    Records(u64),
    /// Fail as corruption at this offset.
    Corrupt(u64),
}

fn payload(lsn: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (lsn as usize * 31 + i) as u8).collect()
}

/// Writes one flight per entry of `flights` (record sizes), each acknowledged
/// by `wait_durable`, and ends the run with `ending`.
fn write(flights: &[Vec<usize>], ending: &Ending) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let (options, faults) = faulty();
    let (journal, _) = open(dir.path(), options);
    let mut layout = Layout {
        frames: Vec::new(),
        payloads: Vec::new(),
        offset: SEGMENT_HEADER_LEN,
        durable: 0,
    };
    for sizes in flights {
        layout.fly(&journal, sizes);
        journal.sync_now().unwrap();
        layout.durable = layout.payloads.len() as u64;
    }
    let (acked, synced_end) = (layout.durable, layout.offset);
    match ending {
        Ending::Close => {
            journal.close().unwrap();
            layout.mark();
        }
        Ending::Crash => journal.simulate_crash(0).unwrap(),
        Ending::FailedFlight(sizes) => {
            faults.fail_syncs_after(0);
            layout.fly(&journal, sizes);
            let last = Lsn(layout.payloads.len() as u64);
            assert!(journal.wait_durable(last).is_err());
            journal.simulate_crash(u64::MAX).unwrap();
        }
    }
    let segment = only_segment(dir.path());
    let bytes = std::fs::read(&segment).unwrap();
    layout.check_against(&bytes);
    Written {
        dir,
        segment,
        frames: layout.frames,
        payloads: layout.payloads,
        acked,
        synced_end,
        bytes,
    }
}

/// The segment as the documented format lays it out, built alongside the run.
struct Layout {
    frames: Vec<FrameAt>,
    payloads: Vec<Vec<u8>>,
    offset: u64,
    /// The newest LSN acknowledged so far: what a new flight's mark names.
    durable: u64,
}

impl Layout {
    fn mark(&mut self) {
        self.push(MARK_LEN, Kind::Mark(self.durable));
    }

    fn fly(&mut self, journal: &Journal, sizes: &[usize]) {
        self.mark();
        for &size in sizes {
            let lsn = self.payloads.len() as u64 + 1;
            let bytes = payload(lsn, size);
            assert_eq!(journal.append(&bytes).unwrap(), Lsn(lsn));
            self.payloads.push(bytes);
            self.push(RECORD_HEADER_LEN + size as u64, Kind::Record(lsn));
        }
    }

    fn push(&mut self, len: u64, kind: Kind) {
        let offset = self.offset;
        self.frames.push(FrameAt { offset, len, kind });
        self.offset += len;
    }

    /// Checks the frames' tags, lengths and LSNs against the file.
    fn check_against(&self, bytes: &[u8]) {
        let u32_at = |at: u64| u32::from_le_bytes(bytes[at as usize..][..4].try_into().unwrap());
        let u64_at = |at: u64| u64::from_le_bytes(bytes[at as usize..][..8].try_into().unwrap());
        for frame in &self.frames {
            let (first_word, second_field) = match frame.kind {
                Kind::Mark(durable) => (u32::MAX, durable),
                Kind::Record(lsn) => ((frame.len - RECORD_HEADER_LEN) as u32, lsn),
            };
            assert_eq!(
                (u32_at(frame.offset), u64_at(frame.offset + 8)),
                (first_word, second_field),
                "{frame:?}"
            );
        }
    }
}

/// Replaces `len` bytes at `start` (clipped to the file) with zeros, as a
/// page that never reached the disk, or with garbage, as one half written.
#[derive(Debug, Clone, Copy)]
struct Damage {
    start: u64,
    len: u64,
    garbage: bool,
}

impl Damage {
    fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        let mut damaged = bytes.to_vec();
        let start = (self.start as usize).min(bytes.len());
        let end = (start + self.len as usize).min(bytes.len());
        for (i, b) in damaged[start..end].iter_mut().enumerate() {
            *b = if self.garbage { 0xa5 ^ (i as u8) } else { 0 };
        }
        damaged
    }
}

/// What the documented recovery rule says about `damaged`: the first frame
/// whose bytes changed is cut, with everything after it, unless an intact
/// mark after the change names an LSN at or past the record it hit; then it
/// is corruption at that frame.
fn expected(written: &Written, damaged: &[u8]) -> Outcome {
    let last_lsn = written.payloads.len() as u64;
    let intact = |f: &FrameAt| {
        let range = f.offset as usize..(f.offset + f.len) as usize;
        written.bytes[range.clone()] == damaged[range]
    };
    let Some(hit) = written.frames.iter().position(|f| !intact(f)) else {
        return Outcome::Records(last_lsn);
    };
    let frames = &written.frames[hit..];
    let next = frames
        .iter()
        .find_map(|f| match f.kind {
            Kind::Record(lsn) => Some(lsn),
            Kind::Mark(_) => None,
        })
        .unwrap_or(last_lsn + 1);
    let proven = frames[1..]
        .iter()
        .any(|f| matches!(f.kind, Kind::Mark(durable) if durable >= next) && intact(f));
    if proven {
        Outcome::Corrupt(frames[0].offset)
    } else {
        Outcome::Records(next - 1)
    }
}

/// Damages the segment, reopens, and returns the outcome and the log lines.
fn recover(written: &Written, damage: Damage) -> (Outcome, String) {
    std::fs::write(&written.segment, damage.apply(&written.bytes)).unwrap();
    let (opened, logs) = capturing_logs(|| Journal::open(written.dir.path(), quiet()));
    let outcome = match opened {
        Ok((_journal, recovery)) => {
            let got = records(&recovery);
            let expected: Vec<(u64, Vec<u8>)> = (1..).zip(written.payloads.clone()).collect();
            assert_eq!(
                got,
                expected[..got.len()],
                "recovered records are not a prefix"
            );
            Outcome::Records(got.len() as u64)
        }
        Err(Error::Corrupt { file, offset, .. }) => {
            assert_eq!(file, written.segment);
            Outcome::Corrupt(offset)
        }
        Err(other) => panic!("unexpected error {other}"),
    };
    (outcome, logs)
}

/// Runs `f` with a subscriber that records every log line at debug level.
fn capturing_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (result, logs)
}

/// Offset of the record with `lsn`.
fn offset_of(written: &Written, lsn: u64) -> u64 {
    written
        .frames
        .iter()
        .find(|f| matches!(f.kind, Kind::Record(l) if l == lsn))
        .unwrap()
        .offset
}

/// LSN of the first record whose frame (or whose flight's mark) starts at
/// or after the frame holding `offset`; one past the last if none does.
fn first_lsn_hit(written: &Written, offset: u64) -> u64 {
    let hit = written
        .frames
        .iter()
        .position(|f| offset < f.offset + f.len)
        .unwrap_or(written.frames.len());
    written.frames[hit..]
        .iter()
        .find_map(|f| match f.kind {
            Kind::Record(lsn) => Some(lsn),
            Kind::Mark(_) => None,
        })
        .unwrap_or(written.payloads.len() as u64 + 1)
}

/// Three small acknowledged flights (records 1 to 6), then a failed flight
/// of six records of 1,500 bytes (7 to 12) spanning three pages.
fn three_flights_then_a_large_failed_one() -> Written {
    let flights = [vec![10, 20], vec![30], vec![5, 5, 5]];
    write(&flights, &Ending::FailedFlight(vec![1500; 6]))
}

fn check(written: &Written, damage: Damage, outcome: Outcome) {
    let (got, logs) = recover(written, damage);
    assert_eq!(got, outcome, "{damage:?}\n{logs}");
    if matches!(got, Outcome::Records(n) if n < written.payloads.len() as u64) {
        assert!(logs.contains("torn log tail; truncating"), "{logs}");
        assert!(logs.contains("dropped_bytes="), "{logs}");
    }
}

#[test]
fn marks_an_earlier_page_of_the_final_flight_lost_while_a_later_one_persisted_is_a_torn_tail() {
    let written = three_flights_then_a_large_failed_one();
    let frames_end = written.frames.last().map_or(0, |f| f.offset + f.len);
    let page = PAGE;
    assert!(page > written.synced_end && page + PAGE < frames_end);
    let hit = first_lsn_hit(&written, page);
    assert!((7..12).contains(&hit), "the page holds record {hit}");
    for garbage in [false, true] {
        let damage = Damage {
            start: page,
            len: PAGE,
            garbage,
        };
        check(&written, damage, Outcome::Records(hit - 1));
        // The cut was made durable, and new records follow the survivors.
        let (journal, recovery) = open(written.dir.path(), quiet());
        assert_eq!(recovery.records.len() as u64, hit - 1);
        assert_eq!(append_all(&journal, &[b"next"]), vec![Lsn(hit)]);
        journal.close().unwrap();
    }
}

#[test]
fn marks_damage_anywhere_in_a_flight_whose_fdatasync_failed_is_a_torn_tail() {
    let written = three_flights_then_a_large_failed_one();
    let frames_end = written.frames.last().map_or(0, |f| f.offset + f.len);
    for start in (written.synced_end..frames_end + 200).step_by(331) {
        let damage = Damage {
            start,
            len: 100,
            garbage: true,
        };
        let hit = first_lsn_hit(&written, start);
        check(&written, damage, Outcome::Records(hit - 1));
    }
}

#[test]
fn marks_damage_to_a_flight_a_later_mark_proves_synced_is_corruption() {
    let cases: [(&str, Ending, u64); 4] = [
        // The second flight's mark names record 2, the third's record 3.
        ("first flight, crash", Ending::Crash, 1),
        ("second flight, crash", Ending::Crash, 3),
        // The failed flight's mark names record 6, the last acknowledged.
        (
            "last acked flight, failed flight after",
            Ending::FailedFlight(vec![8]),
            6,
        ),
        // The closing mark names record 6.
        ("last flight, clean close", Ending::Close, 6),
    ];
    for (name, ending, lsn) in cases {
        let written = write(&[vec![10, 20], vec![30], vec![5, 5, 5]], &ending);
        let at = offset_of(&written, lsn);
        let damage = Damage {
            start: at + RECORD_HEADER_LEN,
            len: 1,
            garbage: true,
        };
        let (got, logs) = recover(&written, damage);
        assert_eq!(got, Outcome::Corrupt(at), "{name}\n{logs}");
    }
}

#[test]
fn marks_damage_to_the_last_flight_before_a_crash_is_cut_since_nothing_proves_it() {
    // The window that remains (doc section 9): the last acknowledged
    // flight's sync succeeded, but no later mark says so, so damage to it
    // cannot be told from a torn write.
    let written = write(&[vec![10, 20], vec![30], vec![5, 5, 5]], &Ending::Crash);
    let damage = Damage {
        start: offset_of(&written, 5) + RECORD_HEADER_LEN,
        len: 1,
        garbage: true,
    };
    check(&written, damage, Outcome::Records(4));
}

#[test]
fn marks_idle_flusher_proves_the_last_flight_so_damage_after_a_crash_is_corruption() {
    let tmp = tempfile::tempdir().unwrap();
    let options = journal::Options {
        sync_interval: Some(std::time::Duration::from_millis(5)),
        ..quiet()
    };
    let (journal, _) = open(tmp.path(), options);
    let payloads: [&[u8]; 2] = [b"only", b"flight"];
    append_all(&journal, &payloads);
    // The flight's sync, then the idle mark's.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while journal.sync_count() < 2 {
        assert!(std::time::Instant::now() < deadline, "no idle mark");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    journal.simulate_crash(0).unwrap();
    let segment = only_segment(tmp.path());
    let last = record_offset(&payloads, 1);
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[(last + RECORD_HEADER_LEN) as usize] ^= 1;
    std::fs::write(&segment, bytes).unwrap();
    let error = Journal::open(tmp.path(), quiet()).unwrap_err();
    assert!(
        matches!(error, Error::Corrupt { offset, .. } if offset == last),
        "{error:?}"
    );
}

/// Offsets just past each record's frame, walking the segment by the
/// documented format, up to the first bytes that are not a frame.
fn record_ends(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut ends = Vec::new();
    let mut at = SEGMENT_HEADER_LEN as usize;
    while let Some(head) = bytes.get(at..at + 16) {
        let first_word = u32::from_le_bytes(head[..4].try_into().unwrap());
        let lsn = u64::from_le_bytes(head[8..].try_into().unwrap());
        if first_word == u32::MAX {
            at += MARK_LEN as usize;
            continue;
        }
        if lsn != ends.len() as u64 + 1 {
            break;
        }
        at += RECORD_HEADER_LEN as usize + first_word as usize;
        ends.push((lsn, at as u64));
    }
    ends
}

#[test]
fn marks_written_by_pipelined_flights_never_name_a_record_that_was_not_durable() {
    // Eight committers keep up to four flights in the air until a sync
    // fails. Whatever follows the last durable record was never reported
    // durable, so no mark may name it: damage anywhere there is a torn tail.
    for failing_sync in [5u64, 17, 40] {
        let tmp = tempfile::tempdir().unwrap();
        let (options, faults) = faulty();
        let (journal, _) = open(tmp.path(), options);
        faults.fail_syncs_after(failing_sync);
        std::thread::scope(|s| {
            for thread in 0..8u8 {
                let journal = &journal;
                s.spawn(move || {
                    for i in 0u16.. {
                        let payload = [vec![thread; 200], i.to_le_bytes().to_vec()].concat();
                        let Ok(lsn) = journal.append(&payload) else {
                            return;
                        };
                        if journal.wait_durable(lsn).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let durable = journal.durable_lsn().0;
        journal.simulate_crash(u64::MAX).unwrap();
        let segment = only_segment(tmp.path());
        let bytes = std::fs::read(&segment).unwrap();
        let ends = record_ends(&bytes);
        let written = ends.last().map_or(0, |&(lsn, _)| lsn);
        assert!(written > durable, "no flight was written after the failure");
        let durable_end = ends
            .iter()
            .find(|&&(lsn, _)| lsn == durable)
            .map_or(SEGMENT_HEADER_LEN, |&(_, end)| end);
        for garbage in [false, true] {
            for start in (durable_end..ends.last().unwrap().1).step_by(613) {
                let mut damaged = bytes.clone();
                let fill = if garbage { 0xa5 } else { 0 };
                let end = (start as usize + 64).min(damaged.len());
                damaged[start as usize..end].fill(fill);
                std::fs::write(&segment, &damaged).unwrap();
                let (journal, recovery) = Journal::open(tmp.path(), quiet())
                    .unwrap_or_else(|e| panic!("sync {failing_sync}, damage at {start}: {e}"));
                assert!(recovery.records.len() as u64 >= durable);
                drop(journal);
            }
        }
    }
}

#[test]
fn marks_segment_of_format_version_one_is_refused_by_name() {
    let written = write(&[vec![10]], &Ending::Close);
    let mut bytes = written.bytes.clone();
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&written.segment, &bytes[..24]).unwrap();
    let error = Journal::open(written.dir.path(), quiet()).unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Corrupt {
                offset: 0,
                reason: CorruptReason::UnsupportedVersion(1),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("unsupported format version 1"),
        "{error}"
    );
}

fn flights() -> impl Strategy<Value = Vec<Vec<usize>>> {
    let flight = proptest::collection::vec(0usize..600, 1..6);
    proptest::collection::vec(flight, 1..5)
}

fn ending() -> impl Strategy<Value = Ending> {
    prop_oneof![
        Just(Ending::Close),
        Just(Ending::Crash),
        proptest::collection::vec(0usize..3000, 1..6).prop_map(Ending::FailedFlight),
    ]
}

/// Damage starting at a fraction (of 1,000) of the way through the frames,
/// or (when `unsynced`) through the bytes never synced; page aligned or not.
#[derive(Debug, Clone)]
struct DamagePlan {
    at_per_mille: u64,
    unsynced: bool,
    page_aligned: bool,
    len: u64,
    garbage: bool,
}

fn damage_plan() -> impl Strategy<Value = DamagePlan> {
    (
        0u64..1000,
        any::<bool>(),
        any::<bool>(),
        1u64..6000,
        any::<bool>(),
    )
        .prop_map(
            |(at_per_mille, unsynced, page_aligned, len, garbage)| DamagePlan {
                at_per_mille,
                unsynced,
                page_aligned,
                len,
                garbage,
            },
        )
}

impl DamagePlan {
    fn place(&self, written: &Written) -> Damage {
        let frames_end = written.frames.last().map_or(0, |f| f.offset + f.len);
        let from = if self.unsynced {
            written.synced_end
        } else {
            SEGMENT_HEADER_LEN
        };
        // A little past the frames, into the preallocated zeros.
        let span = frames_end + 64 - from;
        let mut start = from + span * self.at_per_mille / 1000;
        let mut len = self.len;
        if self.page_aligned {
            start = (start / PAGE * PAGE).max(from);
            len = PAGE;
        }
        Damage {
            start,
            len,
            garbage: self.garbage,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn marks_recovery_cuts_unproven_damage_and_reports_proven_damage(
        flights in flights(),
        ending in ending(),
        plan in damage_plan(),
    ) {
        let written = write(&flights, &ending);
        let damage = plan.place(&written);
        let damaged = damage.apply(&written.bytes);
        let want = expected(&written, &damaged);
        let (got, logs) = recover(&written, damage);
        prop_assert_eq!(&got, &want, "{:?}\n{}", damage, logs);
        // Damage confined to bytes never synced is a torn write: it never
        // costs an acknowledged record and is never reported as corruption.
        if damage.start >= written.synced_end {
            prop_assert!(
                matches!(got, Outcome::Records(n) if n >= written.acked),
                "{:?} lost acknowledged records: {:?}", damage, got
            );
        }
    }
}
