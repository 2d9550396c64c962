//! The journal's typed errors.
//!
//! Every variant carries the context a caller or an operator needs (the file,
//! the offset, the OS error) in typed fields. I/O failures during appends and
//! syncs poison the journal; that is reported once as [`Error::Io`] and then as
//! [`Error::Poisoned`] until the journal is reopened.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::format::Lsn;

/// Result type of every fallible journal operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the journal could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What the journal was doing, e.g. "fdatasync log segment".
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The data directory's parent does not exist (or is not a directory), so
    /// the directory cannot be created. The journal creates one level only, so
    /// that a mistyped path fails instead of scattering new directories.
    #[error("cannot create data directory {}: its parent directory does not exist", path.display())]
    ParentMissing {
        /// The data directory asked for.
        path: PathBuf,
    },
    /// The data directory path names something that is not a directory.
    #[error("data directory {} exists but is not a directory", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The data directory (or its parent, when creating it) cannot be written:
    /// permissions, or a read-only file system.
    #[error("data directory {} is not writable: {source}", path.display())]
    NotWritable {
        /// The data directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Another journal (in this or another process) holds the directory's lock.
    #[error("data directory {} is in use by another rotor process{}", path.display(), pid_suffix(*pid))]
    InUse {
        /// The data directory.
        path: PathBuf,
        /// The pid recorded by the holder, if it could be read.
        pid: Option<u32>,
    },
    /// Bytes on disk are damaged somewhere recovery cannot safely cut away.
    #[error("corrupt journal file {} at offset {offset}: {reason}", file.display())]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the damage within the file.
        offset: u64,
        /// What is wrong.
        reason: CorruptReason,
    },
    /// An earlier write or sync failed; the journal refuses all work until it
    /// is reopened, because what reached the disk is unknown.
    #[error("journal is poisoned by an earlier I/O failure; reopen it to recover")]
    Poisoned,
    /// A payload exceeds [`crate::RECORD_PAYLOAD_BYTES_MAX`].
    #[error("journal record of {len} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge {
        /// The payload's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A checkpoint was asked to cover an LSN that has not been appended.
    #[error("checkpoint cannot cover lsn {covers}: the last appended lsn is {last}")]
    CheckpointBeyondLog {
        /// The LSN asked for.
        covers: Lsn,
        /// The newest appended LSN.
        last: Lsn,
    },
    /// A checkpoint was asked to cover less than the newest existing one.
    #[error("checkpoint at lsn {covers} is older than the existing checkpoint at lsn {latest}")]
    CheckpointNotNewer {
        /// The LSN asked for.
        covers: Lsn,
        /// The newest checkpoint on disk.
        latest: Lsn,
    },
    /// The caller's checkpoint writer returned an error; nothing was installed.
    #[error("checkpoint writer failed: {0}")]
    CheckpointWriter(#[source] io::Error),
    /// An option is out of range.
    #[error("invalid journal option: {0}")]
    InvalidOption(&'static str),
}

fn pid_suffix(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!(" (pid {pid})"),
        None => String::new(),
    }
}

/// What is wrong with a damaged file, for [`Error::Corrupt`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptReason {
    /// The file does not start with the expected magic bytes.
    BadMagic,
    /// A segment that is not the last is shorter than its header.
    HeaderTruncated,
    /// The file's format version is not one this build reads.
    UnsupportedVersion(u32),
    /// A header's checksum does not match its bytes.
    HeaderChecksum,
    /// The LSN in a file's header differs from the one in its name.
    NameMismatch {
        /// LSN in the file name.
        named: Lsn,
        /// LSN in the header.
        stored: Lsn,
    },
    /// A record's checksum does not match, and a later durability mark proves
    /// it was synced (or it is not in the last segment), so it is not a torn
    /// tail.
    RecordChecksum,
    /// A record is cut short or its length is impossible, and a later
    /// durability mark proves it was synced (or it is not in the last
    /// segment), so it is not a torn tail.
    RecordTruncated,
    /// A record carries an LSN other than its predecessor's plus one.
    LsnOutOfOrder {
        /// The LSN the sequence requires.
        expected: Lsn,
        /// The LSN found.
        found: Lsn,
    },
    /// A durability mark names a record that does not precede it: a mark is
    /// only ever written after the records it names.
    MarkAhead {
        /// The LSN the mark names as durable.
        durable: Lsn,
        /// The LSN the next record would carry at the mark.
        next: Lsn,
    },
    /// Log records needed after the checkpoint are missing.
    MissingRecords {
        /// First missing LSN.
        from: Lsn,
        /// Last missing LSN.
        to: Lsn,
    },
    /// The checkpoint's size, trailer or checksum is wrong.
    BadCheckpoint(&'static str),
}

impl fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => write!(f, "bad magic bytes"),
            Self::HeaderTruncated => write!(f, "segment header cut short"),
            Self::UnsupportedVersion(v) => write!(
                f,
                "unsupported format version {v} (this build reads log segments of version {} \
                 and checkpoints of version {})",
                crate::format::SEGMENT_FORMAT_VERSION,
                crate::format::CHECKPOINT_FORMAT_VERSION
            ),
            Self::HeaderChecksum => write!(f, "header checksum mismatch"),
            Self::NameMismatch { named, stored } => {
                write!(f, "file name says lsn {named} but header says {stored}")
            }
            Self::RecordChecksum => write!(f, "record checksum mismatch in synced log"),
            Self::RecordTruncated => write!(f, "record cut short in synced log"),
            Self::LsnOutOfOrder { expected, found } => {
                write!(f, "expected lsn {expected}, found {found}")
            }
            Self::MarkAhead { durable, next } => write!(
                f,
                "durability mark names lsn {durable} as synced, but the log before it ends at lsn {}",
                next.0.saturating_sub(1)
            ),
            Self::MissingRecords { from, to } => write!(f, "log records {from}..={to} are missing"),
            Self::BadCheckpoint(why) => write!(f, "bad checkpoint: {why}"),
        }
    }
}

/// Builds an [`Error::Io`]; the journal's one way to attach context to an OS error.
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { op, path, source }
}
