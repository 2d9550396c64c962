//! The data directory: creating it, locking it against a second journal, and
//! the directory-level operations the commit protocol needs (listing our
//! files, fsyncing the directory so creates, renames and deletes persist).
//!
//! The lock is an exclusive `flock` on `LOCK`, held for the journal's life by
//! keeping the file open. `flock` locks belong to the open file description, so
//! a second open in the same process is refused just like one from another
//! process. The holder writes its pid into the file for the error message; the
//! pid is advisory only, the lock is the `flock`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use fs4::FileExt;

use crate::error::{Error, Result, io_err};
use crate::format::{FileKind, classify};

/// Name of the lock file inside the data directory.
const LOCK_FILE: &str = "LOCK";

/// An open, locked data directory. Dropping it releases the lock.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates `path` if missing (one level only) and takes its lock.
    pub fn open(path: &Path) -> Result<Self> {
        ensure_dir(path)?;
        let lock_path = path.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| {
                unwritable(path, e).unwrap_or_else(|e| io_err("open lock file", &lock_path)(e))
            })?;
        match FileExt::try_lock(&lock) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(Error::InUse {
                    path: path.to_path_buf(),
                    pid: read_pid(&mut lock),
                });
            }
            Err(fs4::TryLockError::Error(e)) => return Err(io_err("lock", &lock_path)(e)),
        }
        write_pid(&mut lock).map_err(io_err("write pid to lock file", &lock_path))?;
        Ok(Self {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path of a file inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Every journal file in the directory, by kind, in no particular order.
    pub fn list(&self) -> Result<Vec<(FileKind, PathBuf)>> {
        let entries = fs::read_dir(&self.path).map_err(io_err("list", &self.path))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("list", &self.path))?;
            let name = entry.file_name();
            if let Some(kind) = name.to_str().and_then(classify) {
                found.push((kind, entry.path()));
            }
        }
        Ok(found)
    }

    /// Makes the directory's entries (creates, renames, deletes) durable.
    pub fn sync(&self) -> Result<()> {
        let dir = File::open(&self.path).map_err(io_err("open directory", &self.path))?;
        dir.sync_all()
            .map_err(io_err("fsync directory", &self.path))
    }
}

fn ensure_dir(path: &Path) -> Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(Error::NotADirectory {
                path: path.to_path_buf(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            return Err(Error::ParentMissing {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err("inspect data directory", path)(e)),
    }
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::ParentMissing {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Err(Error::ParentMissing {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(unwritable(path, e).unwrap_or_else(io_err("create data directory", path))),
    }
}

/// Turns a permission or read-only failure into [`Error::NotWritable`],
/// handing any other error back.
fn unwritable(path: &Path, e: io::Error) -> Result<Error, io::Error> {
    match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            Ok(Error::NotWritable {
                path: path.to_path_buf(),
                source: e,
            })
        }
        _ => Err(e),
    }
}

fn read_pid(lock: &mut File) -> Option<u32> {
    let mut text = String::new();
    lock.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

fn write_pid(lock: &mut File) -> io::Result<()> {
    lock.set_len(0)?;
    let pid = std::process::id();
    // Positioned write at 0: the file was just emptied, and the cursor may sit
    // anywhere if an earlier read happened on this description.
    use std::os::unix::fs::FileExt as _;
    lock.write_all_at(format!("{pid}\n").as_bytes(), 0)?;
    lock.flush()
}
