//! Recovery: turning whatever a crash left in the data directory into the
//! newest checkpoint plus the log records after it, and a log ready to append.
//!
//! Algorithm (the doc's "Recovery" section is the normative version):
//! 1. Delete `*.ckpt.tmp` (never installed). Verify the newest checkpoint
//!    fully; a bad one is an error. Delete older checkpoints (superseded).
//! 2. Sort segments by first LSN; delete leading segments wholly covered by
//!    the checkpoint (their successor starts at or before `covers + 1`).
//! 3. Read the rest in order, checking header, name, and that LSNs run on
//!    densely across records and segments. Any damage is an error, except in
//!    the last segment when no valid durability mark after the damage names
//!    an LSN at or past the damaged record: nothing then proves that record
//!    was ever synced, so the damage is a torn tail (an unsynced flight
//!    persisted partly, in any order); it is warned about and cut off. An
//!    all-zero tail is space the log preallocated, not damage: it is kept in
//!    the last segment and ignored in the others.
//! 4. The log must reach at least the checkpoint's LSN, since a checkpoint is
//!    written only after its LSN is durable in the log.
//!
//! Deliberately not here: repairing corruption or skipping bad records; an
//! operator decides what to do with a damaged directory.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::checkpoint::{CheckpointReader, open_checkpoint};
use crate::dir::DataDir;
use crate::error::{CorruptReason, Error, Result, io_err};
use crate::format::{
    BadRecord, FileKind, Frame, Lsn, RECORD_HEADER_LEN, SEGMENT_FORMAT_VERSION, SEGMENT_HEADER_LEN,
    SegmentHeader, decode_frame, decode_mark, parse_segment_header, segment_header, segment_name,
    segment_version,
};
use crate::log::{OpenTail, SegmentInfo, new_salt};

/// One log record recovered from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its log sequence number.
    pub lsn: Lsn,
    /// The bytes the engine appended.
    pub payload: Vec<u8>,
}

/// The newest checkpoint found at open, already verified against its checksum.
#[derive(Debug)]
pub struct RecoveredCheckpoint {
    /// Every record up to and including this LSN is reflected in the checkpoint.
    pub lsn: Lsn,
    /// The checkpoint's body, exactly as the engine wrote it.
    pub reader: CheckpointReader,
}

/// What [`crate::Journal::open`] found: apply `checkpoint` (if any), then
/// `records` in order, to rebuild the engine's state.
#[derive(Debug)]
pub struct Recovery {
    /// The newest checkpoint, if one was ever installed.
    pub checkpoint: Option<RecoveredCheckpoint>,
    /// Every durable record with an LSN above the checkpoint's, in LSN order.
    pub records: Vec<Record>,
}

/// Recovery's result plus the state the live log starts from.
pub(crate) struct Recovered {
    pub recovery: Recovery,
    pub segments: Vec<SegmentInfo>,
    pub tail: OpenTail,
    pub next_lsn: Lsn,
}

struct SegmentFile {
    first: Lsn,
    path: PathBuf,
}

pub(crate) fn recover(dir: &DataDir) -> Result<Recovered> {
    let mut checkpoints = Vec::new();
    let mut segments = Vec::new();
    for (kind, path) in dir.list()? {
        match kind {
            FileKind::Segment(first) => segments.push(SegmentFile { first, path }),
            FileKind::Checkpoint(lsn) => checkpoints.push((lsn, path)),
            FileKind::CheckpointTmp => remove(&path, "uninstalled checkpoint")?,
        }
    }
    checkpoints.sort_by_key(|(lsn, _)| *lsn);
    let checkpoint = match checkpoints.pop() {
        Some((lsn, path)) => Some(RecoveredCheckpoint {
            lsn,
            reader: open_checkpoint(&path, lsn)?,
        }),
        None => None,
    };
    for (_, path) in &checkpoints {
        remove(path, "superseded checkpoint")?;
    }
    let covers = checkpoint.as_ref().map_or(Lsn(0), |c| c.lsn);
    segments.sort_by_key(|s| s.first);
    while segments.len() >= 2 && segments[1].first <= after(covers) {
        let covered = segments.remove(0);
        remove(&covered.path, "log segment covered by the checkpoint")?;
    }
    let mut log = LogScan {
        covers,
        next: after(covers),
        records: Vec::new(),
        infos: Vec::new(),
        salt: 0,
        marked: Lsn(0),
    };
    let tail = match segments.split_last() {
        None => create_first_segment(dir, log.next, &mut log.infos)?,
        Some((last, sealed)) => {
            for segment in sealed {
                log.scan_sealed(segment)?;
            }
            log.scan_last(dir, last)?
        }
    };
    if log.next <= covers {
        let missing = CorruptReason::MissingRecords {
            from: log.next,
            to: covers,
        };
        return Err(Error::Corrupt {
            file: tail.path,
            offset: tail.len,
            reason: missing,
        });
    }
    let recovery = Recovery {
        checkpoint,
        records: log.records,
    };
    Ok(Recovered {
        recovery,
        segments: log.infos,
        tail,
        next_lsn: log.next,
    })
}

/// How a segment's first LSN must relate to the scan so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Continuation {
    /// It must be exactly the next LSN.
    Exact,
    /// The oldest kept segment may start inside the checkpoint's range.
    MayOverlapCheckpoint,
}

/// Running state of the scan across segments.
struct LogScan {
    covers: Lsn,
    /// The LSN the next record must carry.
    next: Lsn,
    records: Vec<Record>,
    infos: Vec<SegmentInfo>,
    /// The salt of the segment being read.
    salt: u64,
    /// The highest durable LSN named by a valid mark in the segment being read.
    marked: Lsn,
}

impl LogScan {
    /// Reads a segment that is not the last: it must be whole.
    fn scan_sealed(&mut self, segment: &SegmentFile) -> Result<()> {
        let bytes = read(&segment.path)?;
        check_version(segment, &bytes)?;
        let mut off = self.header(segment, &bytes)?;
        while off < bytes.len() {
            match self.frame(segment, &bytes, off)? {
                Ok(len) => off += len,
                // Preallocated space whose trim at rotation was lost. Had
                // records been lost instead, the next segment would not
                // continue the LSNs, which `header` reports.
                Err(_) if is_zeros(&bytes[off..]) => break,
                Err(bad) => return Err(corrupt_record(&segment.path, off, bad)),
            }
        }
        self.infos.push(SegmentInfo {
            first: segment.first,
            len: bytes.len() as u64,
        });
        Ok(())
    }

    /// Reads the last segment, cutting off a torn tail, and opens it for appending.
    fn scan_last(&mut self, dir: &DataDir, segment: &SegmentFile) -> Result<OpenTail> {
        let bytes = read(&segment.path)?;
        check_version(segment, &bytes)?;
        if is_torn_header(&bytes) {
            tracing::warn!(file = %segment.path.display(), len = bytes.len(), "torn segment header; rewriting it");
            self.check_first(segment, Continuation::Exact)?;
            return rewrite_header(dir, segment, &mut self.infos);
        }
        let mut off = self.header(segment, &bytes)?;
        let mut kept = bytes.len();
        while off < bytes.len() {
            match self.frame(segment, &bytes, off)? {
                Ok(len) => off += len,
                Err(_) if is_zeros(&bytes[off..]) => {
                    tracing::debug!(
                        file = %segment.path.display(), offset = off,
                        preallocated_bytes = bytes.len() - off, "log ends in preallocated space"
                    );
                    break;
                }
                Err(bad) if proven_durable(&bytes, off, self.next, self.salt) => {
                    return Err(corrupt_record(&segment.path, off, bad));
                }
                Err(bad) => {
                    tracing::warn!(
                        file = %segment.path.display(), offset = off, reason = ?bad,
                        dropped_bytes = bytes.len() - off, "torn log tail; truncating"
                    );
                    kept = off;
                    break;
                }
            }
        }
        self.infos.push(SegmentInfo {
            first: segment.first,
            len: off as u64,
        });
        let extent = TailExtent {
            valid: off as u64,
            kept: kept as u64,
            on_disk: bytes.len() as u64,
        };
        open_tail(&segment.path, extent, self.salt, self.marked)
    }

    /// The segment's first LSN must continue the sequence: exactly, or for
    /// the oldest kept segment, at or before the record after the checkpoint.
    fn check_first(&self, segment: &SegmentFile, rule: Continuation) -> Result<()> {
        let oldest = self.infos.is_empty() && rule == Continuation::MayOverlapCheckpoint;
        if segment.first == self.next || oldest && segment.first <= self.next {
            return Ok(());
        }
        let reason = if segment.first > self.next {
            CorruptReason::MissingRecords {
                from: self.next,
                to: Lsn(segment.first.0 - 1),
            }
        } else {
            CorruptReason::LsnOutOfOrder {
                expected: self.next,
                found: segment.first,
            }
        };
        Err(Error::Corrupt {
            file: segment.path.clone(),
            offset: 0,
            reason,
        })
    }

    /// Validates the header, returning the offset of the first record.
    fn header(&mut self, segment: &SegmentFile, bytes: &[u8]) -> Result<usize> {
        let corrupt = |reason| Error::Corrupt {
            file: segment.path.clone(),
            offset: 0,
            reason,
        };
        let Some(header) = bytes.first_chunk::<SEGMENT_HEADER_LEN>() else {
            return Err(corrupt(CorruptReason::HeaderTruncated));
        };
        let stored = parse_segment_header(header).map_err(corrupt)?;
        if stored.first != segment.first {
            return Err(corrupt(CorruptReason::NameMismatch {
                named: segment.first,
                stored: stored.first,
            }));
        }
        self.check_first(segment, Continuation::MayOverlapCheckpoint)?;
        self.salt = stored.salt;
        self.marked = Lsn(0);
        // The oldest kept segment may begin before the checkpoint's LSN.
        self.next = segment.first;
        Ok(SEGMENT_HEADER_LEN)
    }

    /// Decodes the frame at `off`; the outer error is corruption, the inner
    /// one is damage whose meaning depends on what follows.
    fn frame(
        &mut self,
        segment: &SegmentFile,
        bytes: &[u8],
        off: usize,
    ) -> Result<Result<usize, BadRecord>> {
        let (record, len) = match decode_frame(&bytes[off..], self.salt) {
            Ok((Frame::Record(record), len)) => (record, len),
            Ok((Frame::Mark(durable), len)) => {
                self.mark(segment, off, durable)?;
                return Ok(Ok(len));
            }
            Err(bad) => return Ok(Err(bad)),
        };
        if record.lsn != self.next {
            let reason = CorruptReason::LsnOutOfOrder {
                expected: self.next,
                found: record.lsn,
            };
            return Err(Error::Corrupt {
                file: segment.path.clone(),
                offset: off as u64,
                reason,
            });
        }
        if record.lsn > self.covers {
            self.records.push(Record {
                lsn: record.lsn,
                payload: record.payload.to_vec(),
            });
        }
        self.next = after(record.lsn);
        Ok(Ok(len))
    }

    /// A valid mark can only name records written before it; one naming
    /// more claims records the log does not hold.
    fn mark(&mut self, segment: &SegmentFile, off: usize, durable: Lsn) -> Result<()> {
        if durable >= self.next {
            return Err(Error::Corrupt {
                file: segment.path.clone(),
                offset: off as u64,
                reason: CorruptReason::MarkAhead {
                    durable,
                    next: self.next,
                },
            });
        }
        self.marked = self.marked.max(durable);
        Ok(())
    }
}

/// A segment of another format version is refused before its header's
/// length or contents are judged, and never taken for a torn header.
fn check_version(segment: &SegmentFile, bytes: &[u8]) -> Result<()> {
    match segment_version(bytes) {
        Some(version) if version != SEGMENT_FORMAT_VERSION => Err(Error::Corrupt {
            file: segment.path.clone(),
            offset: 0,
            reason: CorruptReason::UnsupportedVersion(version),
        }),
        _ => Ok(()),
    }
}

/// The LSN after `lsn`. Saturates: LSNs read from names or headers are
/// untrusted, and a saturated sequence fails the density checks instead of
/// overflowing.
fn after(lsn: Lsn) -> Lsn {
    Lsn(lsn.0.saturating_add(1))
}

fn corrupt_record(path: &Path, off: usize, bad: BadRecord) -> Error {
    let reason = match bad {
        BadRecord::Checksum => CorruptReason::RecordChecksum,
        BadRecord::Truncated | BadRecord::Oversized => CorruptReason::RecordTruncated,
    };
    Error::Corrupt {
        file: path.to_path_buf(),
        offset: off as u64,
        reason,
    }
}

/// Whether a valid mark after the damage at `damaged` names an LSN at or
/// past `next`, the record the damage hit. A mark names only records whose
/// sync had succeeded before it was written, so such a mark proves the
/// damaged bytes were once synced whole: the damage is corruption. Valid
/// *records* after the damage prove nothing: the pages of an unsynced
/// flight may persist in any order.
fn proven_durable(bytes: &[u8], damaged: usize, next: Lsn, salt: u64) -> bool {
    (damaged + 1..bytes.len()).any(|start| {
        // A genuine mark this far on names at most the records that fit
        // between the damage and it; anything larger is not one of ours.
        let fit = ((start - damaged) / RECORD_HEADER_LEN) as u64;
        decode_mark(&bytes[start..], salt)
            .is_some_and(|durable| durable >= next && durable.0 < next.0.saturating_add(fit))
    })
}

/// Whether `bytes` are all zeros: preallocated space no record reached.
fn is_zeros(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// A header that is shorter than a header or all zeros: a crash while the
/// segment was being created.
fn is_torn_header(bytes: &[u8]) -> bool {
    bytes.len() < SEGMENT_HEADER_LEN || bytes.iter().all(|&b| b == 0)
}

fn rewrite_header(
    dir: &DataDir,
    segment: &SegmentFile,
    infos: &mut Vec<SegmentInfo>,
) -> Result<OpenTail> {
    let path = &segment.path;
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err("open log segment", path))?;
    file.set_len(0)
        .map_err(io_err("truncate log segment", path))?;
    let header = SegmentHeader {
        first: segment.first,
        salt: new_salt(),
    };
    file.write_all(&segment_header(header))
        .map_err(io_err("write log segment", path))?;
    file.sync_all().map_err(io_err("fsync log segment", path))?;
    dir.sync()?;
    infos.push(SegmentInfo {
        first: segment.first,
        len: SEGMENT_HEADER_LEN as u64,
    });
    open_tail(path, TailExtent::header_only(), header.salt, Lsn(0))
}

/// Creates the very first segment (or the first after a checkpoint-only
/// directory), named for the next LSN.
fn create_first_segment(
    dir: &DataDir,
    first: Lsn,
    infos: &mut Vec<SegmentInfo>,
) -> Result<OpenTail> {
    let path = dir.file(&segment_name(first));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io_err("create log segment", &path))?;
    let header = SegmentHeader {
        first,
        salt: new_salt(),
    };
    file.write_all(&segment_header(header))
        .map_err(io_err("write log segment", &path))?;
    file.sync_all()
        .map_err(io_err("fsync log segment", &path))?;
    dir.sync()?;
    infos.push(SegmentInfo {
        first,
        len: SEGMENT_HEADER_LEN as u64,
    });
    open_tail(&path, TailExtent::header_only(), header.salt, Lsn(0))
}

/// How much of the last segment recovery keeps.
struct TailExtent {
    /// End of the last valid frame; appends continue here.
    valid: u64,
    /// The file's new length: `valid` plus preallocated zeros kept.
    kept: u64,
    /// The file's length as found.
    on_disk: u64,
}

impl TailExtent {
    fn header_only() -> Self {
        let header = SEGMENT_HEADER_LEN as u64;
        Self {
            valid: header,
            kept: header,
            on_disk: header,
        }
    }
}

/// Opens the last segment for writing at `extent.valid`, keeping the file
/// `extent.kept` bytes long (zeros past `valid`) and cutting off anything
/// past. Always synced: the records kept are reported durable, and the next
/// flight's mark will say so, but a process that crashed (without the
/// machine) may have left them in the page cache only.
fn open_tail(path: &Path, extent: TailExtent, salt: u64, marked: Lsn) -> Result<OpenTail> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err("open log segment", path))?;
    if extent.on_disk != extent.kept {
        file.set_len(extent.kept)
            .map_err(io_err("truncate log segment", path))?;
    }
    file.sync_all().map_err(io_err("fsync log segment", path))?;
    Ok(OpenTail {
        file,
        path: path.to_path_buf(),
        len: extent.valid,
        allocated: extent.kept,
        salt,
        marked,
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(io_err("read log segment", path))
}

fn remove(path: &Path, what: &'static str) -> Result<()> {
    tracing::debug!(file = %path.display(), "removing {what}");
    fs::remove_file(path).map_err(io_err("remove", path))
}
