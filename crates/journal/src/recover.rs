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
//!    the last segment when no valid record follows the damage: that is a torn
//!    tail (an interrupted append), so it is warned about and cut off. An
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
    BadRecord, FileKind, Lsn, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, decode_record,
    parse_segment_header, peek_lsn, segment_header, segment_name,
};
use crate::log::{OpenTail, SegmentInfo};

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
}

impl LogScan {
    /// Reads a segment that is not the last: it must be whole.
    fn scan_sealed(&mut self, segment: &SegmentFile) -> Result<()> {
        let bytes = read(&segment.path)?;
        let mut off = self.header(segment, &bytes)?;
        while off < bytes.len() {
            match self.record(segment, &bytes, off)? {
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
        if is_torn_header(&bytes) {
            tracing::warn!(file = %segment.path.display(), len = bytes.len(), "torn segment header; rewriting it");
            self.check_first(segment, Continuation::Exact)?;
            return rewrite_header(dir, segment, &mut self.infos);
        }
        let mut off = self.header(segment, &bytes)?;
        let mut kept = bytes.len();
        while off < bytes.len() {
            match self.record(segment, &bytes, off)? {
                Ok(len) => off += len,
                Err(_) if is_zeros(&bytes[off..]) => {
                    tracing::debug!(
                        file = %segment.path.display(), offset = off,
                        preallocated_bytes = bytes.len() - off, "log ends in preallocated space"
                    );
                    break;
                }
                Err(bad) if valid_record_follows(&bytes, off, self.next) => {
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
        open_tail(&segment.path, off as u64, kept as u64, bytes.len() as u64)
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
        if stored != segment.first {
            return Err(corrupt(CorruptReason::NameMismatch {
                named: segment.first,
                stored,
            }));
        }
        self.check_first(segment, Continuation::MayOverlapCheckpoint)?;
        // The oldest kept segment may begin before the checkpoint's LSN.
        self.next = segment.first;
        Ok(SEGMENT_HEADER_LEN)
    }

    /// Decodes the record at `off`; the outer error is corruption, the inner
    /// one is damage whose meaning depends on what follows.
    fn record(
        &mut self,
        segment: &SegmentFile,
        bytes: &[u8],
        off: usize,
    ) -> Result<Result<usize, BadRecord>> {
        let (record, len) = match decode_record(&bytes[off..]) {
            Ok(decoded) => decoded,
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

/// Whether any valid record with an LSN at or past `next` starts after the
/// damage at `damaged`. If one does, the damage is not a torn tail: an append
/// is only ever written after every earlier one, so valid bytes after a bad
/// record mean the bad record was once whole.
fn valid_record_follows(bytes: &[u8], damaged: usize, next: Lsn) -> bool {
    // No record is shorter than its header, so no more LSNs than this fit.
    let lsn_max = next
        .0
        .saturating_add((bytes.len() / RECORD_HEADER_LEN) as u64);
    (damaged + 1..bytes.len()).any(|start| {
        let tail = &bytes[start..];
        peek_lsn(tail).is_some_and(|lsn| lsn >= next && lsn.0 <= lsn_max)
            && decode_record(tail).is_ok()
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
    file.write_all(&segment_header(segment.first))
        .map_err(io_err("write log segment", path))?;
    file.sync_all().map_err(io_err("fsync log segment", path))?;
    dir.sync()?;
    infos.push(SegmentInfo {
        first: segment.first,
        len: SEGMENT_HEADER_LEN as u64,
    });
    let header = SEGMENT_HEADER_LEN as u64;
    open_tail(path, header, header, header)
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
    file.write_all(&segment_header(first))
        .map_err(io_err("write log segment", &path))?;
    file.sync_all()
        .map_err(io_err("fsync log segment", &path))?;
    dir.sync()?;
    infos.push(SegmentInfo {
        first,
        len: SEGMENT_HEADER_LEN as u64,
    });
    let header = SEGMENT_HEADER_LEN as u64;
    open_tail(&path, header, header, header)
}

/// Opens the last segment for writing at `valid`, keeping the file `kept`
/// bytes long (zeros past `valid`) and cutting off (durably) anything past.
fn open_tail(path: &Path, valid: u64, kept: u64, on_disk: u64) -> Result<OpenTail> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err("open log segment", path))?;
    if on_disk != kept {
        file.set_len(kept)
            .map_err(io_err("truncate log segment", path))?;
        file.sync_all().map_err(io_err("fsync log segment", path))?;
    }
    Ok(OpenTail {
        file,
        path: path.to_path_buf(),
        len: valid,
        allocated: kept,
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(io_err("read log segment", path))
}

fn remove(path: &Path, what: &'static str) -> Result<()> {
    tracing::debug!(file = %path.display(), "removing {what}");
    fs::remove_file(path).map_err(io_err("remove", path))
}
