//! `rotor serve` refuses to expose an unauthenticated database to the
//! network: with the real binary, a non-loopback `--bind` without `--auth`
//! exits at once with a clear error, and starts when `--auth` or
//! `--allow-unauthenticated-network` is given.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Runs `rotor serve` with `args`; returns whether it became ready (it is
/// then killed) or its exit status and log if it stopped first.
fn serve(args: &[&str]) -> Result<(), (Option<i32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rotor"))
        .args(["serve", "--in-memory", "--port", "0"])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stderr = child.stderr.take().expect("stderr");
    let mut log = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap_or_default();
        if line.contains("rotor ready for connections on ") {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(());
        }
        log.push_str(&line);
        log.push('\n');
    }
    let status = child.wait().expect("exit status");
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
    }
    Err((status.code(), log + &stdout))
}

#[test]
fn network_bind_without_auth_is_refused_with_a_clear_error() {
    let (code, log) = serve(&["--bind", "0.0.0.0"]).expect_err("refused");
    assert_ne!(code, Some(0), "{log}");
    assert!(code.is_some(), "exited, not killed: {log}");
    assert!(
        log.contains("refusing to listen on 0.0.0.0 without authentication")
            && log.contains("--auth"),
        "{log}"
    );
}

#[test]
fn network_bind_starts_with_auth_or_when_explicitly_allowed() {
    assert_eq!(serve(&["--bind", "0.0.0.0", "--auth"]), Ok(()));
    assert_eq!(
        serve(&["--bind", "0.0.0.0", "--allow-unauthenticated-network"]),
        Ok(())
    );
    assert_eq!(serve(&["--bind", "127.0.0.1"]), Ok(()));
}
