//! The journal's limits and defaults, each with the reason for its value.
//!
//! Only constants live here; the checks that use them sit next to the code
//! that reads or writes the bytes.

use std::time::Duration;

/// Largest payload one record may carry: 64 MiB. A commit record holds a
/// transaction's writes; MongoDB caps one document at 16 MiB and a
/// transaction's oplog entry at the same, so four full-size documents fit with
/// room for the engine's framing. The cap also bounds the memory recovery
/// allocates for one record when it reads a length field from disk.
pub const RECORD_PAYLOAD_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Default size at which a log segment is closed and a new one begun: 64 MiB.
/// Large enough that rotation (a file create plus a directory fsync) is rare,
/// small enough that a checkpoint frees space in useful steps and recovery
/// can read a whole segment into memory.
pub const SEGMENT_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;

/// Default interval of the background flusher: 100 ms. Writes that never wait
/// for durability (`j: false`) are on disk within this bound, mirroring
/// mongod's default `commitIntervalMs` of 100.
pub const SYNC_INTERVAL_DEFAULT: Duration = Duration::from_millis(100);

/// Most group-commit flights (a batch written and being `fdatasync`ed) at
/// once: 4. A committer that arrives during a sync starts the next flight at
/// once rather than waiting a whole sync for the running one to end; disks
/// overlap concurrent flushes (on the development VM 2 and 4 concurrent
/// syncers reached about 2.5 and up to 6 times one syncer's rate). More
/// flights mean smaller batches and more syscalls for the same commits, so
/// flights overlap only while each running one holds a single record (see
/// `Group::may_fly` in `log.rs`): with 8 committers on the development VM
/// that rule cut syncs per commit from 0.6 to 0.25 and raised commits per
/// second by about a third.
pub const SYNCS_IN_FLIGHT_MAX: usize = 4;

/// How far ahead of the last record the open segment is extended with
/// zeros: 1 MiB. Overwriting blocks that are already allocated and synced
/// lets `fdatasync` flush just the data, not the inode's size and extents
/// too (on the development VM's ext4 small syncs ran 1.3 times as often).
/// One extension then serves thousands of small commits, and writing 1 MiB
/// of zeros costs one commit a few milliseconds at most.
pub const SEGMENT_PREALLOC_BYTES: u64 = 1024 * 1024;

/// Smallest segment size an [`crate::Options`] may ask for: a header, the
/// mark that leads a flight's records, and one empty record, so that every
/// segment can hold at least one record.
pub const SEGMENT_BYTES_MIN: u64 = 64;

const _: () = assert!(
    SEGMENT_BYTES_MIN
        >= (crate::format::SEGMENT_HEADER_LEN
            + crate::format::MARK_LEN
            + crate::format::RECORD_HEADER_LEN) as u64
);

const _: () = assert!(SYNCS_IN_FLIGHT_MAX >= 1);

// A record's length field is a u32; the cap must fit in it.
const _: () = assert!(RECORD_PAYLOAD_BYTES_MAX < u32::MAX as usize);
