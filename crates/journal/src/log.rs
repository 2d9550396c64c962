//! The write-ahead log's live half: appending records, group commit, segment
//! rotation, and poisoning.
//!
//! Group commit is pipelined: a waiter whose record no running sync covers
//! takes *all* pending records, writes them, and issues one `fdatasync` for
//! the lot (a *flight*); waiters whose records a flight covers sleep on
//! `group_cv`. Up to `SYNCS_IN_FLIGHT_MAX` flights sync at once, so a
//! committer arriving during a sync starts the next one at once instead of
//! waiting for the first to end (disks overlap concurrent flushes), but
//! only while each running flight holds a single record: once committers
//! queue, batching beats overlapping (`Group::may_fly`). Flights
//! are applied to `durable` strictly in the order they were written: a
//! flight's success counts only once every earlier flight succeeded too.
//! Each flight syncs through a file descriptor of its own, opened with the
//! segment, so a write-back error is reported to every flight it may affect
//! (Linux reports it once per open file description).
//!
//! Locks, taken in this order:
//! - `writer` (long): the open segment file, held while taking the pending
//!   records and writing them, which keeps flights in log order; released
//!   before the flight's `fdatasync`.
//! - `appender` (short): assigns the next LSN, frames the record into the
//!   pending buffer, and decides rotation. Appends never wait for I/O.
//! - `group` (short): the flights in write order. A waiter whose record a
//!   flight covers sleeps on that flight's condition variable (one per
//!   flight slot, `flight_cvs`) and is woken only when that flight is
//!   applied, not by every earlier one. Of the waiters that may not fly
//!   yet (`may_fly`), one, the *leader*, sleeps on `group_cv`, woken
//!   whenever any flight is applied, to fly next; the others sleep on the
//!   slot of the next flight's id, which will cover their records, so each
//!   is woken once, when its record is durable, instead of once to find
//!   the next flight taken and once more when it lands. That holds only
//!   while someone flies the next flight: a leader that leaves without
//!   flying it (another flight took its record) wakes that slot, so one
//!   of the waiters there leads instead (`hand_on_lead`).
//!   Poisoning wakes everyone.
//!
//! Every flight's bytes begin with a *durability mark*: the LSN `durable`
//! held when the flight was written, so only records whose sync had
//! already succeeded. A mark never needs a sync of its own: if it reaches
//! the disk at all, what it names was already there. Recovery uses marks to
//! tell a torn unsynced tail (cut) from damage to synced records (an
//! error); the reserved mark bytes are part of every chunk from its first
//! append, so segment lengths are known without writing anything extra.
//! `close` adds one last mark after its sync, so that a cleanly closed log
//! proves all of itself, and the background flusher does the same once the
//! log has been quiet for a whole interval.
//!
//! The open segment is kept extended with zeros ahead of its last record
//! (`SEGMENT_PREALLOC_BYTES`), and records are written in place over them,
//! so a commit's `fdatasync` has no file size to flush. Recovery reads an
//! all-zero tail as free space, not damage (a zero frame is never a valid
//! record: LSN 0 is never assigned). Sealed segments and a cleanly closed
//! one are trimmed to their records.
//!
//! Invariants: `durable` only grows, and is set to an LSN only after every
//! record up to it was written and synced; after any failed write or sync
//! `poisoned` is set and stays set, and no LSN is reported durable after that.
//!
//! Deliberately not here: reading the log (that is recovery's job) and any
//! bound on the pending buffer (the background flusher drains it every
//! interval; the engine's own admission limits bound the rate).

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::mem;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use crate::dir::DataDir;
use crate::error::{Error, Result, io_err};
use crate::faults::Faults;
use crate::format::{
    Lsn, MARK_LEN, SEGMENT_HEADER_LEN, SegmentHeader, encode_mark, encode_record, record_len,
    segment_header, segment_name,
};
use crate::limits::{RECORD_PAYLOAD_BYTES_MAX, SEGMENT_PREALLOC_BYTES, SYNCS_IN_FLIGHT_MAX};

/// Source of the zeros a segment is extended with, written in pieces this big.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// A segment as the appender sees it: its first LSN and its length in bytes,
/// counting records still pending in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    pub first: Lsn,
    pub len: u64,
}

/// The last segment, opened for appending, as recovery leaves it.
#[derive(Debug)]
pub struct OpenTail {
    pub file: File,
    pub path: PathBuf,
    /// Valid length of the file; appends continue here.
    pub len: u64,
    /// The file's length: `len` plus any zeros preallocated past it.
    pub allocated: u64,
    /// The salt of the segment's header, for the marks written into it.
    pub salt: u64,
    /// The highest durable LSN a valid mark in the segment names.
    pub marked: Lsn,
}

/// The live log.
#[derive(Debug)]
pub struct Log {
    dir: DataDir,
    segment_bytes_max: u64,
    faults: Option<Arc<Faults>>,
    appender: Mutex<Appender>,
    group: Mutex<Group>,
    group_cv: Condvar,
    /// Waiters for flight `id` sleep on `flight_cvs[flight_slot(id)]`;
    /// live flights have consecutive ids, so they never share one.
    flight_cvs: [Condvar; FLIGHT_SLOTS],
    writer: Mutex<Writer>,
    durable: AtomicU64,
    poisoned: AtomicBool,
    /// Successful `fdatasync`s of segments, for monitoring.
    syncs: AtomicU64,
}

/// Group-commit state, under the `group` lock.
#[derive(Debug)]
struct Group {
    /// Flights written and not yet applied, oldest first.
    flights: VecDeque<Flight>,
    next_flight: u64,
    /// Whether a waiter that may not fly yet sleeps on `group_cv` to fly
    /// next; later such waiters sleep on the next flight's slot instead.
    leader_waiting: bool,
    /// How far the newest applied flight synced its segment.
    synced: Extent,
}

/// One batch written and being (or done being) synced.
#[derive(Debug)]
struct Flight {
    id: u64,
    /// The last LSN in the batch.
    covers: Lsn,
    /// How many records the batch holds.
    records: u64,
    /// The segment as the batch left it.
    extent: Extent,
    /// `None` while its `fdatasync` runs, then whether it succeeded.
    succeeded: Option<bool>,
}

impl Group {
    /// Whether a new flight may start now. Flights overlap only while each
    /// running one carries a single record: then committers are few, and
    /// starting at once saves a committer most of a sync's wait. A running
    /// flight that batched several records shows committers queueing; the
    /// syncs themselves (and their CPU) are then the limit, so waiters let
    /// it land and go together in the next flight rather than in many small
    /// overlapping ones.
    fn may_fly(&self) -> bool {
        self.flights.len() < SYNCS_IN_FLIGHT_MAX && self.flights.iter().all(|f| f.records == 1)
    }
}

/// A segment's written length and file length at some moment.
#[derive(Debug, Clone, Copy)]
struct Extent {
    segment: Lsn,
    written: u64,
    allocated: u64,
}

#[derive(Debug)]
struct Appender {
    next_lsn: Lsn,
    pending: Vec<Chunk>,
    /// Every segment on disk or pending, oldest first; never empty.
    segments: Vec<SegmentInfo>,
}

/// Framed records bound for one segment, after `MARK_LEN` bytes reserved
/// for the mark the writer fills in.
#[derive(Debug)]
struct Chunk {
    segment: Lsn,
    first: Lsn,
    last: Lsn,
    bytes: Vec<u8>,
}

#[derive(Debug)]
struct Writer {
    segment: Lsn,
    file: File,
    path: PathBuf,
    /// Bytes of header and records written; the next record goes here.
    written: u64,
    synced: u64,
    /// The file's length: `written` plus zeros preallocated past it.
    allocated: u64,
    /// The file's length as of the last sync.
    allocated_synced: u64,
    /// Descriptors of this segment that flights sync through, one per
    /// possible flight; a flight holds a clone of the one it uses.
    sync_files: Vec<Arc<File>>,
    /// The segment header's salt, which every mark's checksum includes.
    salt: u64,
    /// The highest durable LSN a mark in this segment names.
    marked: Lsn,
}

impl Writer {
    fn extent(&self) -> Extent {
        Extent {
            segment: self.segment,
            written: self.written,
            allocated: self.allocated,
        }
    }

    /// A sync descriptor no running flight uses. One is always free: there
    /// are `SYNCS_IN_FLIGHT_MAX` of them and fewer flights running.
    fn free_sync_file(&self) -> Arc<File> {
        let free = self.sync_files.iter().find(|f| Arc::strong_count(f) == 1);
        Arc::clone(free.expect("more flights running than sync descriptors"))
    }
}

/// Condition variables for flights: one per flight that may be running,
/// and one for the next flight, which waiters may sleep on before it exists.
const FLIGHT_SLOTS: usize = SYNCS_IN_FLIGHT_MAX + 1;

/// The index in `flight_cvs` of the flight with this id.
fn flight_slot(id: u64) -> usize {
    (id % FLIGHT_SLOTS as u64) as usize
}

/// Opens the descriptors flights of the segment at `path` sync through.
fn open_sync_files(path: &std::path::Path) -> Result<Vec<Arc<File>>> {
    (0..SYNCS_IN_FLIGHT_MAX)
        .map(|_| {
            OpenOptions::new()
                .write(true)
                .open(path)
                .map(Arc::new)
                .map_err(io_err("open log segment", path))
        })
        .collect()
}

impl Log {
    /// Starts the log after recovery. `segments` lists the segments on disk,
    /// oldest first, the last being `tail`; `next_lsn` is the LSN the next
    /// append receives, and everything before it is already durable.
    pub fn start(
        dir: DataDir,
        segments: Vec<SegmentInfo>,
        tail: OpenTail,
        next_lsn: Lsn,
        segment_bytes_max: u64,
        faults: Option<Arc<Faults>>,
    ) -> Result<Self> {
        let last = segments.last().copied();
        assert_eq!(
            last.map(|s| s.len),
            Some(tail.len),
            "tail segment length disagrees"
        );
        let segment = last.map_or(next_lsn, |s| s.first);
        let writer = Writer {
            segment,
            sync_files: open_sync_files(&tail.path)?,
            file: tail.file,
            path: tail.path,
            written: tail.len,
            synced: tail.len,
            allocated: tail.allocated,
            allocated_synced: tail.allocated,
            salt: tail.salt,
            marked: tail.marked,
        };
        let synced = writer.extent();
        Ok(Self {
            dir,
            segment_bytes_max,
            faults,
            appender: Mutex::new(Appender {
                next_lsn,
                pending: Vec::new(),
                segments,
            }),
            group: Mutex::new(Group {
                flights: VecDeque::new(),
                next_flight: 0,
                leader_waiting: false,
                synced,
            }),
            group_cv: Condvar::new(),
            flight_cvs: std::array::from_fn(|_| Condvar::new()),
            writer: Mutex::new(writer),
            durable: AtomicU64::new(next_lsn.0 - 1),
            poisoned: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &DataDir {
        &self.dir
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// The newest LSN handed out by `append` (`Lsn(0)` if none ever was).
    pub fn last_appended(&self) -> Lsn {
        Lsn(self.appender.lock().next_lsn.0 - 1)
    }

    /// How many times a segment was synced since open.
    pub fn sync_count(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// The newest LSN known to be on stable storage.
    pub fn durable(&self) -> Lsn {
        Lsn(self.durable.load(Ordering::Acquire))
    }

    /// Frames `payload` as the next record and buffers it; no I/O.
    pub fn append(&self, payload: &[u8]) -> Result<Lsn> {
        if payload.len() > RECORD_PAYLOAD_BYTES_MAX {
            return Err(Error::RecordTooLarge {
                len: payload.len(),
                max: RECORD_PAYLOAD_BYTES_MAX,
            });
        }
        let mut guard = self.appender.lock();
        // Checked under the lock so no append slips in after a committer that
        // failed has set the flag and begun refusing.
        if self.is_poisoned() {
            return Err(Error::Poisoned);
        }
        let a = &mut *guard;
        let lsn = a.next_lsn;
        let frame_len = record_len(payload.len());
        let current = *a.segments.last().expect("the log always has a segment");
        // A segment that holds no record yet takes this one however large.
        if current.first < lsn
            && current.len + frame_len + mark_cost(&a.pending, current.first)
                > self.segment_bytes_max
        {
            a.segments.push(SegmentInfo {
                first: lsn,
                len: SEGMENT_HEADER_LEN as u64,
            });
        }
        let segment = a.segments.last_mut().expect("the log always has a segment");
        segment.len += frame_len + mark_cost(&a.pending, segment.first);
        let segment_first = segment.first;
        let chunk = match a.pending.last_mut() {
            Some(chunk) if chunk.segment == segment_first => chunk,
            _ => {
                a.pending.push(Chunk {
                    segment: segment_first,
                    first: lsn,
                    last: lsn,
                    bytes: vec![0; MARK_LEN],
                });
                a.pending.last_mut().expect("just pushed")
            }
        };
        encode_record(&mut chunk.bytes, lsn, payload);
        chunk.last = lsn;
        a.next_lsn = Lsn(lsn.0 + 1);
        Ok(lsn)
    }

    /// Blocks until `lsn` is durable: sleeps while a flight covers it or
    /// the most flights already run, and otherwise flies the next one.
    pub fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        let last = self.last_appended();
        assert!(
            lsn <= last,
            "wait_durable({lsn}) for an lsn never appended (last {last})"
        );
        // Set once this waiter has led, until it flies or hands the lead on.
        let mut led = false;
        loop {
            let mut group = self.group.lock();
            // Durable first: a record synced before the journal was poisoned
            // is on disk, and its committer may be told so.
            if self.durable() >= lsn {
                if led {
                    self.hand_on_lead(&group);
                }
                return Ok(());
            }
            if self.is_poisoned() {
                return Err(Error::Poisoned);
            }
            if let Some(flight) = group.flights.iter().find(|f| f.covers >= lsn) {
                if mem::take(&mut led) {
                    self.hand_on_lead(&group);
                }
                let cv = &self.flight_cvs[flight_slot(flight.id)];
                cv.wait(&mut group);
                continue;
            }
            if !group.may_fly() {
                led = false;
                if group.leader_waiting {
                    // The next flight takes every pending record, this
                    // one included (it was appended before this wait).
                    let cv = &self.flight_cvs[flight_slot(group.next_flight)];
                    cv.wait(&mut group);
                } else {
                    group.leader_waiting = true;
                    self.group_cv.wait(&mut group);
                    group.leader_waiting = false;
                    led = true;
                }
                continue;
            }
            drop(group);
            if self.fly()? {
                led = false;
            }
        }
    }

    /// Wakes the waiters sleeping on the next flight's slot, for a leader
    /// that leaves without flying it: one of them must lead instead, or
    /// none would ever fly the flight they sleep on.
    fn hand_on_lead(&self, group: &Group) {
        self.flight_cvs[flight_slot(group.next_flight)].notify_all();
    }

    /// Makes every record appended so far durable.
    pub fn sync_now(&self) -> Result<()> {
        self.wait_durable(self.last_appended())
    }

    /// Writes every pending record, syncs them as one flight, and applies
    /// whatever flights are then complete. Does nothing if there is nothing
    /// pending or the most flights already run. Returns whether it flew.
    fn fly(&self) -> Result<bool> {
        let Some((id, file, path)) = self.write_flight()? else {
            return Ok(false);
        };
        let op = "fdatasync log segment";
        let synced = match &self.faults {
            Some(faults) => faults.on_sync(),
            None => Ok(()),
        }
        .and_then(|()| file.sync_data());
        drop(file);
        let mut group = self.group.lock();
        let flight = group
            .flights
            .iter_mut()
            .find(|f| f.id == id)
            .expect("a flight stays queued until it has succeeded or failed");
        flight.succeeded = Some(synced.is_ok());
        let result = synced.map_err(|source| Error::Io { op, path, source });
        if let Err(e) = &result {
            self.poison(e);
        }
        self.apply(&mut group);
        result.map(|()| true)
    }

    /// Under the writer lock: takes the pending records, writes them, and
    /// queues their flight. Returns its id, the descriptor to sync, and the
    /// segment's path for errors.
    fn write_flight(&self) -> Result<Option<(u64, Arc<File>, PathBuf)>> {
        let mut writer = self.writer.lock();
        if !self.group.lock().may_fly() {
            return Ok(None);
        }
        let mut pending = mem::take(&mut self.appender.lock().pending);
        let (Some(first), Some(covers)) = (pending.first(), pending.last()) else {
            return Ok(None);
        };
        let (records, covers) = (covers.last.0 - first.first.0 + 1, covers.last);
        // Read before writing, under the writer lock: only flights whose
        // sync already succeeded count, never this one or one still running.
        let durable = self.durable();
        if let Err(e) = self.write_chunks(&mut writer, &mut pending, durable) {
            let _group = self.group.lock();
            self.poison(&e);
            return Err(e);
        }
        let file = writer.free_sync_file();
        let mut group = self.group.lock();
        let id = group.next_flight;
        group.next_flight += 1;
        group.flights.push_back(Flight {
            id,
            covers,
            records,
            extent: writer.extent(),
            succeeded: None,
        });
        Ok(Some((id, file, writer.path.clone())))
    }

    /// Applies completed flights from the oldest on, stopping at the first
    /// still running, and wakes their waiters and those held back by the
    /// flight limit.
    fn apply(&self, group: &mut Group) {
        while let Some(flight) = group.flights.front() {
            let Some(succeeded) = flight.succeeded else {
                break;
            };
            if succeeded && !self.is_poisoned() {
                let before = self.durable.swap(flight.covers.0, Ordering::AcqRel);
                assert!(
                    before < flight.covers.0,
                    "durable lsn went backwards: {before} -> {}",
                    flight.covers
                );
                group.synced = flight.extent;
                self.syncs.fetch_add(1, Ordering::Relaxed);
            }
            self.flight_cvs[flight_slot(flight.id)].notify_all();
            group.flights.pop_front();
        }
        self.group_cv.notify_all();
    }

    /// Sets the poisoned flag and wakes everyone to see it. The caller holds
    /// the group lock, so no waiter checks the flag and then misses the wake.
    fn poison(&self, error: &Error) {
        self.poisoned.store(true, Ordering::Release);
        tracing::error!(%error, "journal write or sync failed; journal poisoned until reopened");
        self.group_cv.notify_all();
        for cv in &self.flight_cvs {
            cv.notify_all();
        }
    }

    /// Writes the chunks, each led by a mark naming `durable`.
    fn write_chunks(&self, writer: &mut Writer, pending: &mut [Chunk], durable: Lsn) -> Result<()> {
        for chunk in pending {
            if chunk.segment != writer.segment {
                self.sync(writer)?;
                self.rotate(writer, chunk.segment)?;
            }
            // A mark names only records written before it.
            assert!(durable < chunk.first, "mark {durable} ahead of its flight");
            chunk.bytes[..MARK_LEN].copy_from_slice(&encode_mark(writer.salt, durable));
            self.write(writer, &chunk.bytes)?;
            writer.marked = writer.marked.max(durable);
        }
        Ok(())
    }

    fn write(&self, writer: &mut Writer, bytes: &[u8]) -> Result<()> {
        self.preallocate(writer, bytes.len() as u64)?;
        let op = "write log segment";
        if let Some(faults) = &self.faults {
            faults.on_write().map_err(io_err(op, &writer.path))?;
        }
        writer
            .file
            .write_all_at(bytes, writer.written)
            .map_err(io_err(op, &writer.path))?;
        writer.written += bytes.len() as u64;
        Ok(())
    }

    /// Extends the file with zeros so that `len` more bytes fit, reaching
    /// `SEGMENT_PREALLOC_BYTES` past the last record (but not past the
    /// segment size unless the record itself is larger). The next sync makes
    /// the new size durable once; later syncs then flush data only.
    fn preallocate(&self, writer: &mut Writer, len: u64) -> Result<()> {
        let needed = writer.written + len;
        if needed <= writer.allocated {
            return Ok(());
        }
        let ahead = (writer.written + SEGMENT_PREALLOC_BYTES).min(self.segment_bytes_max);
        let target = needed.max(ahead);
        let op = "preallocate log segment";
        if let Some(faults) = &self.faults {
            faults.on_write().map_err(io_err(op, &writer.path))?;
        }
        while writer.allocated < target {
            let n = (target - writer.allocated).min(ZEROS.len() as u64);
            writer
                .file
                .write_all_at(&ZEROS[..n as usize], writer.allocated)
                .map_err(io_err(op, &writer.path))?;
            writer.allocated += n;
        }
        Ok(())
    }

    fn sync(&self, writer: &mut Writer) -> Result<()> {
        if writer.synced == writer.written && writer.allocated_synced == writer.allocated {
            return Ok(());
        }
        let op = "fdatasync log segment";
        if let Some(faults) = &self.faults {
            faults.on_sync().map_err(io_err(op, &writer.path))?;
        }
        writer.file.sync_data().map_err(io_err(op, &writer.path))?;
        writer.synced = writer.written;
        writer.allocated_synced = writer.allocated;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Closes the current segment (already synced) and starts the segment
    /// whose first record is `first`: create, header, fsync, directory fsync,
    /// so the new file's name is durable before any record in it is acked.
    /// The closed segment is trimmed to its records; the trim need not be
    /// durable, since recovery reads a sealed segment's zero tail as free.
    fn rotate(&self, writer: &mut Writer, first: Lsn) -> Result<()> {
        trim(writer)?;
        let header = SegmentHeader {
            first,
            salt: new_salt(),
        };
        let path = self.dir.file(&segment_name(first));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("create log segment", &path))?;
        *writer = Writer {
            sync_files: open_sync_files(&path)?,
            segment: first,
            file,
            path,
            written: 0,
            synced: 0,
            allocated: 0,
            allocated_synced: 0,
            salt: header.salt,
            marked: Lsn(0),
        };
        self.write(writer, &segment_header(header))?;
        self.sync(writer)?;
        self.dir.sync()?;
        tracing::debug!(segment = %writer.path.display(), "log segment started");
        Ok(())
    }

    /// Forgets every segment whose records all have LSN <= `covers` (never the
    /// newest segment), returning their paths for the caller to delete.
    pub fn detach_covered(&self, covers: Lsn) -> Vec<PathBuf> {
        let mut a = self.appender.lock();
        let n_covered = a
            .segments
            .windows(2)
            .take_while(|w| w[1].first.0 <= covers.0 + 1)
            .count();
        a.segments
            .drain(..n_covered)
            .map(|s| self.dir.file(&segment_name(s.first)))
            .collect()
    }

    /// Makes every record durable, proves it with a synced mark, and trims
    /// the open segment's preallocated zeros, leaving the file exactly as
    /// long as its frames: a clean close.
    pub fn close(&self) -> Result<()> {
        self.sync_now()?;
        let mut writer = self.writer.lock();
        self.write_mark(&mut writer, u64::MAX)?;
        trim(&mut writer)
    }

    /// Called by the background flusher when the log was idle for a whole
    /// interval: proves the last flights synced with a synced mark, so that
    /// damage to them after a crash is reported rather than cut. The sync
    /// holds the writer lock, so a commit arriving meanwhile waits for it;
    /// that happens once per quiet spell, after flights nothing marked yet.
    pub fn mark_durable(&self) -> Result<()> {
        self.write_mark(&mut self.writer.lock(), self.segment_bytes_max)
    }

    /// Writes and syncs a mark naming `durable` after the last record,
    /// unless a mark already names it, records are pending (their flight
    /// will carry the mark), the mark would take the segment past
    /// `segment_bytes_max`, or the journal is poisoned (it writes nothing
    /// more). Without such a mark, damage to the last flight
    /// could not be told from a torn write. A failure poisons the journal,
    /// as any failed log write or sync does.
    fn write_mark(&self, writer: &mut Writer, segment_bytes_max: u64) -> Result<()> {
        let durable = self.durable();
        let mut guard = self.appender.lock();
        let a = &mut *guard;
        let segment = a.segments.last_mut().expect("the log always has a segment");
        let len = segment.len + MARK_LEN as u64;
        let needless = durable <= writer.marked || !a.pending.is_empty();
        if needless || len > segment_bytes_max || self.is_poisoned() {
            return Ok(());
        }
        assert_eq!(segment.first, writer.segment, "no records are pending");
        segment.len = len;
        drop(guard);
        let written = self
            .write(writer, &encode_mark(writer.salt, durable))
            .and_then(|()| self.sync(writer));
        match &written {
            Ok(()) => writer.marked = durable,
            Err(e) => {
                let _group = self.group.lock();
                self.poison(e);
            }
        }
        written
    }

    /// Models power loss: forgets pending records and cuts the open segment
    /// back to its synced length plus up to `torn_bytes_kept` unsynced bytes,
    /// followed by zeros as far as the synced file size reached.
    pub fn simulate_crash(&self, torn_bytes_kept: u64) -> Result<()> {
        self.poisoned.store(true, Ordering::Release);
        self.appender.lock().pending.clear();
        let writer = self.writer.lock();
        let group = self.group.lock();
        let (synced, allocated_synced) = if group.synced.segment == writer.segment {
            (
                writer.synced.max(group.synced.written),
                writer.allocated_synced.max(group.synced.allocated),
            )
        } else {
            (writer.synced, writer.allocated_synced)
        };
        let kept = synced + torn_bytes_kept.min(writer.written - synced);
        let op = "truncate log segment";
        writer
            .file
            .set_len(kept)
            .map_err(io_err(op, &writer.path))?;
        if allocated_synced > kept {
            writer
                .file
                .set_len(allocated_synced)
                .map_err(io_err(op, &writer.path))?;
        }
        Ok(())
    }
}

/// The mark bytes a record adds to `segment`: a mark if it opens a chunk.
fn mark_cost(pending: &[Chunk], segment: Lsn) -> u64 {
    match pending.last() {
        Some(chunk) if chunk.segment == segment => 0,
        _ => MARK_LEN as u64,
    }
}

/// A fresh salt for a new segment's header. `RandomState` draws its keys
/// from the operating system's randomness, so a client cannot predict the
/// salt and plant a mark inside a payload.
pub(crate) fn new_salt() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x5a17);
    hasher.finish()
}

/// Cuts the preallocated zeros off the writer's segment. Not synced: a crash
/// that loses the trim leaves zeros, which recovery reads as free space.
fn trim(writer: &mut Writer) -> Result<()> {
    if writer.allocated == writer.written {
        return Ok(());
    }
    writer
        .file
        .set_len(writer.written)
        .map_err(io_err("truncate log segment", &writer.path))?;
    writer.allocated = writer.written;
    writer.allocated_synced = writer.allocated_synced.min(writer.written);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_of(records: &[u64]) -> Group {
        let extent = Extent {
            segment: Lsn(1),
            written: 0,
            allocated: 0,
        };
        let mut covers = 0;
        let flights = records
            .iter()
            .enumerate()
            .map(|(id, &records)| {
                covers += records;
                Flight {
                    id: id as u64,
                    covers: Lsn(covers),
                    records,
                    extent,
                    succeeded: None,
                }
            })
            .collect();
        Group {
            flights,
            next_flight: records.len() as u64,
            leader_waiting: false,
            synced: extent,
        }
    }

    #[test]
    fn flights_overlap_only_while_each_carries_one_record() {
        let cases: &[(&[u64], bool)] = &[
            (&[], true),
            (&[1], true),
            (&[1, 1, 1], true),
            (&[1, 1, 1, 1], false),
            (&[2], false),
            (&[1, 3], false),
            (&[5, 1], false),
        ];
        assert_eq!(SYNCS_IN_FLIGHT_MAX, 4, "the cases assume a limit of 4");
        for &(running, expected) in cases {
            assert_eq!(group_of(running).may_fly(), expected, "running {running:?}");
        }
    }
}
