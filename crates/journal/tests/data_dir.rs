//! The data directory: created when missing, refused when it cannot be one,
//! and locked so that only one journal uses it at a time.

mod common;

use common::*;
use journal::{Error, Journal};

#[test]
fn data_dir_is_created_when_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (journal, recovery) = open(&dir, quiet());
    assert!(dir.is_dir() && recovery.records.is_empty());
    assert_eq!(journal.dir(), dir.as_path());
}

#[test]
fn data_dir_second_open_is_refused_while_the_first_is_open() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, _) = open(tmp.path(), quiet());
    let err = Journal::open(tmp.path(), quiet()).unwrap_err();
    let pid = std::process::id();
    assert!(
        matches!(err, Error::InUse { pid: Some(p), .. } if p == pid),
        "{err:?}"
    );
    let message = format!(
        "data directory {} is in use by another rotor process (pid {pid})",
        tmp.path().display()
    );
    assert_eq!(err.to_string(), message);
    drop(journal);
    let (_again, _) = open(tmp.path(), quiet());
}

#[test]
fn data_dir_errors_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let check = |path: std::path::PathBuf, expected: &dyn Fn(&Error) -> bool| {
        let err = Journal::open(&path, quiet()).unwrap_err();
        assert!(expected(&err), "{}: {err:?}", path.display());
    };
    check(file.clone(), &|e| matches!(e, Error::NotADirectory { .. }));
    check(tmp.path().join("no/such/parent"), &|e| {
        matches!(e, Error::ParentMissing { .. })
    });
    check(file.join("child"), &|e| {
        matches!(e, Error::ParentMissing { .. })
    });
}
