//! Checkpoints: writing one beside the live log and installing it atomically,
//! and reading back the newest one at recovery.
//!
//! A checkpoint is written to `checkpoint-<lsn>.ckpt.tmp`, fsynced, renamed to
//! `checkpoint-<lsn>.ckpt`, and the directory fsynced; only then is it
//! installed, and only then may older checkpoints and covered log segments be
//! deleted (the caller, `Journal::checkpoint`, does that). A crash before the
//! rename leaves a `.tmp` that recovery deletes; after it, the new checkpoint.
//!
//! Integrity: one crc32c over header and body, stored in a trailer with the
//! body length and an end magic. Recovery verifies the whole file before
//! handing out a reader, so the engine never starts applying a checkpoint
//! that later turns out bad; the price is reading the file twice (the second
//! read mostly hits the page cache).
//!
//! Deliberately not here: what the body means, and compression.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Take, Write};
use std::path::{Path, PathBuf};

use crate::dir::DataDir;
use crate::error::{CorruptReason, Error, Result, io_err};
use crate::format::{
    CHECKPOINT_HEADER_LEN, CHECKPOINT_TRAILER_LEN, Lsn, checkpoint_header, checkpoint_name,
    checkpoint_tmp_name, checkpoint_trailer, parse_checkpoint_header, parse_checkpoint_trailer,
};

/// Buffer size for checkpoint writes and verification reads: large enough that
/// syscall overhead is negligible next to the disk.
const CHECKPOINT_BUFFER_BYTES: usize = 1024 * 1024;

/// Reads the body of a verified checkpoint, exactly as the engine wrote it.
#[derive(Debug)]
pub struct CheckpointReader {
    body: Take<BufReader<File>>,
    body_len: u64,
}

impl CheckpointReader {
    /// Length of the body in bytes.
    pub fn body_len(&self) -> u64 {
        self.body_len
    }
}

impl Read for CheckpointReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.body.read(buf)
    }
}

/// Opens and fully verifies the checkpoint at `path`, named for `named`.
pub(crate) fn open_checkpoint(path: &Path, named: Lsn) -> Result<CheckpointReader> {
    let corrupt = |offset, reason| Error::Corrupt {
        file: path.to_path_buf(),
        offset,
        reason,
    };
    let read_err = io_err("read checkpoint", path);
    let file = File::open(path).map_err(io_err("open checkpoint", path))?;
    let file_len = file
        .metadata()
        .map_err(io_err("stat checkpoint", path))?
        .len();
    let frame_len = (CHECKPOINT_HEADER_LEN + CHECKPOINT_TRAILER_LEN) as u64;
    if file_len < frame_len {
        return Err(corrupt(
            0,
            CorruptReason::BadCheckpoint("shorter than header and trailer"),
        ));
    }
    let mut reader = BufReader::with_capacity(CHECKPOINT_BUFFER_BYTES, file);
    let mut header = [0u8; CHECKPOINT_HEADER_LEN];
    reader.read_exact(&mut header).map_err(read_err)?;
    let stored = parse_checkpoint_header(&header).map_err(|reason| corrupt(0, reason))?;
    if stored != named {
        return Err(corrupt(0, CorruptReason::NameMismatch { named, stored }));
    }
    let trailer_at = file_len - CHECKPOINT_TRAILER_LEN as u64;
    let body_len = trailer_at - CHECKPOINT_HEADER_LEN as u64;
    let mut crc = crc32c::crc32c(&header);
    let mut body = (&mut reader).take(body_len);
    let mut buf = vec![0u8; CHECKPOINT_BUFFER_BYTES];
    loop {
        let n = body
            .read(&mut buf)
            .map_err(io_err("read checkpoint", path))?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        crc = crc32c::crc32c_append(crc, chunk);
    }
    let mut trailer = [0u8; CHECKPOINT_TRAILER_LEN];
    reader
        .read_exact(&mut trailer)
        .map_err(io_err("read checkpoint", path))?;
    let (stored_len, stored_crc) =
        parse_checkpoint_trailer(&trailer).map_err(|reason| corrupt(trailer_at, reason))?;
    if stored_len != body_len {
        return Err(corrupt(
            trailer_at,
            CorruptReason::BadCheckpoint("body length mismatch"),
        ));
    }
    if stored_crc != crc {
        return Err(corrupt(
            trailer_at,
            CorruptReason::BadCheckpoint("checksum mismatch"),
        ));
    }
    let at = CHECKPOINT_HEADER_LEN as u64;
    reader
        .seek(SeekFrom::Start(at))
        .map_err(io_err("seek checkpoint", path))?;
    Ok(CheckpointReader {
        body: reader.take(body_len),
        body_len,
    })
}

/// Writes and installs the checkpoint covering `covers`; on any failure the
/// temporary file is removed and nothing is installed.
pub(crate) fn write_checkpoint(
    dir: &DataDir,
    covers: Lsn,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<PathBuf> {
    let tmp = dir.file(&checkpoint_tmp_name(covers));
    let installed = dir.file(&checkpoint_name(covers));
    let written = write_tmp(&tmp, covers, write);
    if let Err(e) = written {
        if let Err(cleanup) = fs::remove_file(&tmp) {
            tracing::warn!(file = %tmp.display(), error = %cleanup, "could not remove failed checkpoint");
        }
        return Err(e);
    }
    fs::rename(&tmp, &installed).map_err(io_err("rename checkpoint into place", &installed))?;
    dir.sync()?;
    Ok(installed)
}

fn write_tmp(
    tmp: &Path,
    covers: Lsn,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let write_err = io_err("write checkpoint", tmp);
    let file = File::create(tmp).map_err(io_err("create checkpoint", tmp))?;
    let mut out = CrcWriter {
        inner: BufWriter::with_capacity(CHECKPOINT_BUFFER_BYTES, file),
        crc: 0,
        len: 0,
    };
    out.write_all(&checkpoint_header(covers))
        .map_err(write_err)?;
    let body_start = out.len;
    write(&mut out).map_err(Error::CheckpointWriter)?;
    let trailer = checkpoint_trailer(out.len - body_start, out.crc);
    let mut inner = out.inner;
    inner
        .write_all(&trailer)
        .map_err(io_err("write checkpoint", tmp))?;
    let file = inner
        .into_inner()
        .map_err(|e| io_err("write checkpoint", tmp)(e.into_error()))?;
    file.sync_all().map_err(io_err("fsync checkpoint", tmp))
}

/// Passes bytes through while keeping their crc32c and count.
struct CrcWriter<W> {
    inner: W,
    crc: u32,
    len: u64,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = buf.get(..n).unwrap_or(buf);
        self.crc = crc32c::crc32c_append(self.crc, written);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
