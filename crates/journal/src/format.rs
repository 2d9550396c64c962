//! Byte layouts of the journal's files: segment headers, log frames (records
//! and durability marks), and checkpoint headers and trailers, plus the
//! file-naming scheme.
//!
//! Pure functions over byte slices: no I/O here. Decoders never panic on any
//! input; they return `None` or a [`CorruptReason`] and leave the decision
//! (torn tail or corruption) to recovery. All integers are little endian.
//! `docs/storage-format.md` is the normative description.

use std::fmt;

use crate::error::CorruptReason;
use crate::limits::RECORD_PAYLOAD_BYTES_MAX;

/// A log sequence number: the position of a record in the log. The first
/// record ever appended has LSN 1; `Lsn(0)` means "before any record".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Version of the log segment format; bumped on any layout change. Version
/// 2 added the header's salt and the durability marks.
pub const SEGMENT_FORMAT_VERSION: u32 = 2;
/// Version of the checkpoint format; bumped on any layout change.
pub const CHECKPOINT_FORMAT_VERSION: u32 = 1;

/// First bytes of every log segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"RTRWAL\r\n";
/// Segment header: magic, version u32, header crc32c u32, first LSN u64,
/// mark salt u64.
pub const SEGMENT_HEADER_LEN: usize = 32;

/// Record frame before the payload: len u32, crc32c u32, lsn u64.
pub const RECORD_HEADER_LEN: usize = 16;

/// A durability mark: tag u32, crc32c u32, durable LSN u64.
pub const MARK_LEN: usize = 16;
/// The first word of a mark, where a record has its length: no payload is
/// this long, so the two frame kinds cannot be mistaken for each other.
pub const MARK_TAG: u32 = u32::MAX;

/// First bytes of every checkpoint.
pub const CHECKPOINT_MAGIC: [u8; 8] = *b"RTRCKPT\n";
/// Checkpoint header: magic, version u32, reserved u32 (zero), covered LSN u64.
pub const CHECKPOINT_HEADER_LEN: usize = 24;
/// Last bytes of every complete checkpoint, after the body length and crc.
pub const CHECKPOINT_END_MAGIC: [u8; 4] = *b"CKND";
/// Checkpoint trailer: body length u64, crc32c u32 over header and body, end magic.
pub const CHECKPOINT_TRAILER_LEN: usize = 16;

/// What a segment header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// LSN of the segment's first record.
    pub first: Lsn,
    /// Mixed into every mark's checksum, so that bytes inside a payload
    /// cannot pass for a mark of this segment (section 3.1 of the doc).
    pub salt: u64,
}

/// Encodes a segment header.
pub fn segment_header(header: SegmentHeader) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[0..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&header.first.0.to_le_bytes());
    h[24..32].copy_from_slice(&header.salt.to_le_bytes());
    let crc = header_crc(&h);
    h[12..16].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The checksum of a segment header: over every byte but the crc field.
fn header_crc(h: &[u8; SEGMENT_HEADER_LEN]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&h[0..12]), &h[16..SEGMENT_HEADER_LEN])
}

/// The format version of a file that starts with the segment magic, read
/// before anything else so that a segment of another version is reported
/// as such even when its header has another length.
pub fn segment_version(bytes: &[u8]) -> Option<u32> {
    let start = bytes.get(..12)?;
    (start[0..8] == SEGMENT_MAGIC).then(|| u32_at(start, 8))
}

/// Decodes a complete segment header.
pub fn parse_segment_header(h: &[u8; SEGMENT_HEADER_LEN]) -> Result<SegmentHeader, CorruptReason> {
    if h[0..8] != SEGMENT_MAGIC {
        return Err(CorruptReason::BadMagic);
    }
    let version = u32_at(h, 8);
    if version != SEGMENT_FORMAT_VERSION {
        return Err(CorruptReason::UnsupportedVersion(version));
    }
    if u32_at(h, 12) != header_crc(h) {
        return Err(CorruptReason::HeaderChecksum);
    }
    Ok(SegmentHeader {
        first: Lsn(u64_at(h, 16)),
        salt: u64_at(h, 24),
    })
}

/// The checksum a mark carries: crc32c over the segment's salt, the tag and
/// the durable LSN.
fn mark_crc(salt: u64, durable: Lsn) -> u32 {
    let crc = crc32c::crc32c(&salt.to_le_bytes());
    let crc = crc32c::crc32c_append(crc, &MARK_TAG.to_le_bytes());
    crc32c::crc32c_append(crc, &durable.0.to_le_bytes())
}

/// Encodes a durability mark: "every record up to `durable` was synced
/// before this mark was written", for a segment with this salt.
pub fn encode_mark(salt: u64, durable: Lsn) -> [u8; MARK_LEN] {
    let mut m = [0u8; MARK_LEN];
    m[0..4].copy_from_slice(&MARK_TAG.to_le_bytes());
    m[4..8].copy_from_slice(&mark_crc(salt, durable).to_le_bytes());
    m[8..16].copy_from_slice(&durable.0.to_le_bytes());
    m
}

/// The durable LSN of a valid mark at `bytes[0]`, or `None` if no mark of a
/// segment with this salt starts there. Cheap on non-marks (one compare),
/// since recovery tries it at every offset after damage.
pub fn decode_mark(bytes: &[u8], salt: u64) -> Option<Lsn> {
    let m = bytes.get(..MARK_LEN)?;
    if u32_at(m, 0) != MARK_TAG {
        return None;
    }
    let durable = Lsn(u64_at(m, 8));
    (u32_at(m, 4) == mark_crc(salt, durable)).then_some(durable)
}

/// The checksum a record carries: crc32c over its LSN bytes, then its payload.
pub fn record_crc(lsn: Lsn, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&lsn.0.to_le_bytes()), payload)
}

/// Appends one framed record to `out`. The caller has checked the payload size.
pub fn encode_record(out: &mut Vec<u8>, lsn: Lsn, payload: &[u8]) {
    debug_assert!(payload.len() <= RECORD_PAYLOAD_BYTES_MAX);
    let len = payload.len() as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&record_crc(lsn, payload).to_le_bytes());
    out.extend_from_slice(&lsn.0.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Bytes a record with a payload of `payload_len` bytes occupies on disk.
pub fn record_len(payload_len: usize) -> u64 {
    (RECORD_HEADER_LEN + payload_len) as u64
}

/// Why a record could not be decoded at some offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadRecord {
    /// Fewer bytes remain than the frame claims (or than a frame header).
    Truncated,
    /// The length field exceeds the payload limit.
    Oversized,
    /// The checksum does not match.
    Checksum,
}

/// A record decoded from a slice, borrowing its payload.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    pub lsn: Lsn,
    pub payload: &'a [u8],
}

/// One frame of a segment: a record or a durability mark.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// A record the engine appended.
    Record(RawRecord<'a>),
    /// A mark: every record up to this LSN was synced before it was written.
    Mark(Lsn),
}

/// Decodes the frame starting at `bytes[0]` in a segment with this salt,
/// returning it and its length.
pub fn decode_frame(bytes: &[u8], salt: u64) -> Result<(Frame<'_>, usize), BadRecord> {
    let Some(head) = bytes.get(..4) else {
        return Err(BadRecord::Truncated);
    };
    if u32_at(head, 0) != MARK_TAG {
        return decode_record(bytes).map(|(record, len)| (Frame::Record(record), len));
    }
    match decode_mark(bytes, salt) {
        Some(durable) => Ok((Frame::Mark(durable), MARK_LEN)),
        None if bytes.len() < MARK_LEN => Err(BadRecord::Truncated),
        None => Err(BadRecord::Checksum),
    }
}

/// Decodes the record starting at `bytes[0]`, returning it and its frame length.
pub fn decode_record(bytes: &[u8]) -> Result<(RawRecord<'_>, usize), BadRecord> {
    let Some(head) = bytes.get(..RECORD_HEADER_LEN) else {
        return Err(BadRecord::Truncated);
    };
    let len = u32_at(head, 0) as usize;
    if len > RECORD_PAYLOAD_BYTES_MAX {
        return Err(BadRecord::Oversized);
    }
    let crc = u32_at(head, 4);
    let lsn = Lsn(u64_at(head, 8));
    let total = RECORD_HEADER_LEN + len;
    let Some(payload) = bytes.get(RECORD_HEADER_LEN..total) else {
        return Err(BadRecord::Truncated);
    };
    if record_crc(lsn, payload) != crc {
        return Err(BadRecord::Checksum);
    }
    Ok((RawRecord { lsn, payload }, total))
}

/// Encodes a checkpoint header for a checkpoint covering `covers`.
pub fn checkpoint_header(covers: Lsn) -> [u8; CHECKPOINT_HEADER_LEN] {
    let mut h = [0u8; CHECKPOINT_HEADER_LEN];
    h[0..8].copy_from_slice(&CHECKPOINT_MAGIC);
    h[8..12].copy_from_slice(&CHECKPOINT_FORMAT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&covers.0.to_le_bytes());
    h
}

/// Decodes a checkpoint header, returning the LSN it covers.
pub fn parse_checkpoint_header(h: &[u8; CHECKPOINT_HEADER_LEN]) -> Result<Lsn, CorruptReason> {
    if h[0..8] != CHECKPOINT_MAGIC {
        return Err(CorruptReason::BadMagic);
    }
    let version = u32_at(h, 8);
    if version != CHECKPOINT_FORMAT_VERSION {
        return Err(CorruptReason::UnsupportedVersion(version));
    }
    if u32_at(h, 12) != 0 {
        return Err(CorruptReason::BadCheckpoint(
            "reserved header field is not zero",
        ));
    }
    Ok(Lsn(u64_at(h, 16)))
}

/// Encodes a checkpoint trailer for a body of `body_len` bytes whose running
/// crc32c (over header and body) is `crc`.
pub fn checkpoint_trailer(body_len: u64, crc: u32) -> [u8; CHECKPOINT_TRAILER_LEN] {
    let mut t = [0u8; CHECKPOINT_TRAILER_LEN];
    t[0..8].copy_from_slice(&body_len.to_le_bytes());
    t[8..12].copy_from_slice(&crc.to_le_bytes());
    t[12..16].copy_from_slice(&CHECKPOINT_END_MAGIC);
    t
}

/// Decodes a checkpoint trailer into (body length, crc).
pub fn parse_checkpoint_trailer(
    t: &[u8; CHECKPOINT_TRAILER_LEN],
) -> Result<(u64, u32), CorruptReason> {
    if t[12..16] != CHECKPOINT_END_MAGIC {
        return Err(CorruptReason::BadCheckpoint("trailer magic missing"));
    }
    Ok((u64_at(t, 0), u32_at(t, 8)))
}

/// Kinds of file the journal keeps in its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `log-<16 hex>.wal`: a log segment whose first record has this LSN.
    Segment(Lsn),
    /// `checkpoint-<16 hex>.ckpt`: an installed checkpoint covering this LSN.
    Checkpoint(Lsn),
    /// `checkpoint-<16 hex>.ckpt.tmp`: a checkpoint never installed.
    CheckpointTmp,
}

/// File name of the segment whose first record has `first`.
pub fn segment_name(first: Lsn) -> String {
    format!("log-{:016x}.wal", first.0)
}

/// File name of the checkpoint covering `covers`.
pub fn checkpoint_name(covers: Lsn) -> String {
    format!("checkpoint-{:016x}.ckpt", covers.0)
}

/// File name under which the checkpoint covering `covers` is written.
pub fn checkpoint_tmp_name(covers: Lsn) -> String {
    format!("checkpoint-{:016x}.ckpt.tmp", covers.0)
}

/// Classifies a directory entry by name; `None` for files that are not ours.
pub fn classify(name: &str) -> Option<FileKind> {
    if let Some(hex) = name
        .strip_prefix("log-")
        .and_then(|r| r.strip_suffix(".wal"))
    {
        return parse_hex(hex).map(FileKind::Segment);
    }
    let rest = name.strip_prefix("checkpoint-")?;
    if let Some(hex) = rest.strip_suffix(".ckpt.tmp") {
        return parse_hex(hex).map(|_| FileKind::CheckpointTmp);
    }
    parse_hex(rest.strip_suffix(".ckpt")?).map(FileKind::Checkpoint)
}

fn parse_hex(hex: &str) -> Option<Lsn> {
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(Lsn)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_rejects_any_flipped_byte() {
        let mut buf = Vec::new();
        encode_record(&mut buf, Lsn(7), b"hello");
        let (rec, len) = decode_record(&buf).unwrap();
        assert_eq!(
            (rec.lsn, rec.payload, len),
            (Lsn(7), &b"hello"[..], buf.len())
        );
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x40;
            assert!(decode_record(&bad).is_err(), "flip at {i} went unnoticed");
        }
    }

    #[test]
    fn names_classify_back_to_their_kind() {
        let check = |name: &str, kind: Option<FileKind>| assert_eq!(classify(name), kind, "{name}");
        check(&segment_name(Lsn(0x2a)), Some(FileKind::Segment(Lsn(0x2a))));
        check(&checkpoint_name(Lsn(9)), Some(FileKind::Checkpoint(Lsn(9))));
        check(&checkpoint_tmp_name(Lsn(9)), Some(FileKind::CheckpointTmp));
        check("LOCK", None);
        check("log-12.wal", None);
        check("log-000000000000000g.wal", None);
    }

    #[test]
    fn segment_header_round_trips_and_detects_damage() {
        let header = SegmentHeader {
            first: Lsn(5),
            salt: 0x0123_4567_89ab_cdef,
        };
        let h = segment_header(header);
        assert_eq!(parse_segment_header(&h), Ok(header));
        for at in [20, 28] {
            let mut bad = h;
            bad[at] ^= 1;
            assert_eq!(
                parse_segment_header(&bad),
                Err(CorruptReason::HeaderChecksum),
                "flip at {at}"
            );
        }
    }

    #[test]
    fn segment_of_another_version_is_named_as_such() {
        let mut h = segment_header(SegmentHeader {
            first: Lsn(1),
            salt: 0,
        });
        h[8..12].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(segment_version(&h[..24]), Some(1));
        assert_eq!(
            parse_segment_header(&h),
            Err(CorruptReason::UnsupportedVersion(1))
        );
        assert_eq!(segment_version(b"RTRWAL\r\n\x02"), None);
    }

    #[test]
    fn mark_round_trips_and_rejects_any_flipped_byte_or_other_salt() {
        let mark = encode_mark(7, Lsn(42));
        let check = |bytes: &[u8], salt: u64, expected: Option<Lsn>| {
            assert_eq!(decode_mark(bytes, salt), expected, "{bytes:?} salt {salt}");
        };
        check(&mark, 7, Some(Lsn(42)));
        check(&mark, 8, None);
        check(&mark[..MARK_LEN - 1], 7, None);
        for i in 0..MARK_LEN {
            let mut bad = mark;
            bad[i] ^= 0x40;
            check(&bad, 7, None);
        }
        assert!(matches!(
            decode_frame(&mark, 7),
            Ok((Frame::Mark(Lsn(42)), MARK_LEN))
        ));
        assert_eq!(
            decode_frame(&mark, 8).map(|(_, len)| len),
            Err(BadRecord::Checksum)
        );
        assert_eq!(
            decode_frame(&mark[..9], 7).map(|(_, len)| len),
            Err(BadRecord::Truncated)
        );
    }
}
