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
    // sysfs refuses new directories even to root, standing in for a parent
    // without write permission (which root would bypass).
    if std::path::Path::new("/sys/kernel").is_dir() {
        check("/sys/rotor-journal-test".into(), &|e| {
            matches!(e, Error::NotWritable { .. })
        });
    }
}

/// Set in a child copy of this test binary: the directory it must lock.
const HOLDER_ENV: &str = "ROTOR_JOURNAL_TEST_LOCK_HOLDER";

/// Not a test of its own: the body of the child process that
/// `data_dir_is_refused_while_another_process_holds_it` starts. It locks the
/// directory, says so, and holds it until its stdin closes.
#[test]
fn data_dir_lock_holder_child() {
    let Some(dir) = std::env::var_os(HOLDER_ENV) else {
        return;
    };
    let (_journal, _) = open(std::path::Path::new(&dir), quiet());
    println!("locked");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut rest);
}

#[test]
fn data_dir_is_refused_while_another_process_holds_it() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "data_dir_lock_holder_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLDER_ENV, tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.unwrap().contains("locked")),
        "child never locked the directory"
    );
    let err = Journal::open(tmp.path(), quiet()).unwrap_err();
    let child_pid = child.id();
    assert!(
        matches!(err, Error::InUse { pid: Some(p), .. } if p == child_pid),
        "{err:?}"
    );
    assert!(err.to_string().ends_with(&format!(
        "in use by another rotor process (pid {child_pid})"
    )));
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let (_journal, _) = open(tmp.path(), quiet());
}
