//! Fault injection: mongod's `failCommand` and `onPrimaryTransactionalWrite`
//! failpoints, armed by `configureFailPoint` (test commands only) or, in
//! process, by [`crate::Engine::configure_fail_point`].
//!
//! `failCommand` is evaluated before a command touches its session: a
//! triggered error never changes transaction state. A `writeConcernError`
//! is the exception: the command runs, then the error is attached.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bson::{Bson, Document};
use mql::Code;
use parking_lot::Mutex;

use crate::command::CommandError;

/// How often an armed failpoint fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    AlwaysOn,
    /// Fires this many more times, then turns itself off.
    Times(u64),
    /// Lets this many matching commands pass, then fires on every one.
    Skip(u64),
}

impl Mode {
    pub fn parse(mode: &Bson) -> Result<Mode, CommandError> {
        let bad = || CommandError::new(Code::BAD_VALUE, format!("invalid failpoint mode: {mode}"));
        let count = |v: &Bson| {
            mql::order::Number::of(v)
                .map(|n| n.as_f64())
                .filter(|n| *n >= 0.0)
                .map(|n| n as u64)
                .ok_or_else(bad)
        };
        match mode {
            Bson::String(s) if s == "off" => Ok(Mode::Off),
            Bson::String(s) if s == "alwaysOn" => Ok(Mode::AlwaysOn),
            Bson::Document(doc) => match doc.iter().next() {
                Some((k, v)) if k == "times" => Ok(Mode::Times(count(v)?)),
                Some((k, v)) if k == "skip" => Ok(Mode::Skip(count(v)?)),
                Some((k, _)) if k == "activationProbability" => Ok(Mode::AlwaysOn),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }

    /// Consumes one evaluation; returns whether the failpoint fires.
    fn fire(&mut self) -> bool {
        match self {
            Mode::Off => false,
            Mode::AlwaysOn => true,
            Mode::Times(0) => {
                *self = Mode::Off;
                false
            }
            Mode::Times(n) => {
                *n -= 1;
                if *n == 0 {
                    *self = Mode::Off;
                }
                true
            }
            Mode::Skip(0) => true,
            Mode::Skip(n) => {
                *n -= 1;
                false
            }
        }
    }
}

/// `failCommand`'s `data`.
#[derive(Debug, Clone, Default)]
pub struct FailCommand {
    pub fail_commands: Vec<String>,
    pub error_code: Option<i32>,
    pub error_labels: Option<Vec<String>>,
    pub close_connection: bool,
    pub block_time: Option<Duration>,
    pub write_concern_error: Option<Document>,
    pub app_name: Option<String>,
    pub namespace: Option<String>,
    pub error_extra_info: Option<Document>,
}

impl FailCommand {
    pub fn parse(data: &Document) -> Result<FailCommand, CommandError> {
        let mut out = FailCommand::default();
        let bad = |field: &str| {
            CommandError::new(Code::BAD_VALUE, format!("failCommand: invalid '{field}'"))
        };
        for (field, value) in data {
            match field.as_str() {
                "failCommands" => {
                    let Bson::Array(names) = value else {
                        return Err(bad(field));
                    };
                    out.fail_commands = names
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_owned))
                        .collect();
                }
                "errorCode" => {
                    out.error_code = mql::order::Number::of(value).map(|n| n.as_f64() as i32);
                }
                "errorLabels" => {
                    let Bson::Array(labels) = value else {
                        return Err(bad(field));
                    };
                    out.error_labels = Some(
                        labels
                            .iter()
                            .filter_map(|l| l.as_str().map(str::to_owned))
                            .collect(),
                    );
                }
                "closeConnection" => out.close_connection = value.as_bool().unwrap_or(false),
                "blockConnection" if value.as_bool() == Some(true) && out.block_time.is_none() => {
                    out.block_time = Some(Duration::ZERO);
                }
                "blockTimeMS" => {
                    let ms = mql::order::Number::of(value)
                        .map(|n| n.as_f64().max(0.0) as u64)
                        .unwrap_or(0);
                    out.block_time = Some(Duration::from_millis(ms));
                }
                "writeConcernError" => out.write_concern_error = value.as_document().cloned(),
                "appName" => out.app_name = value.as_str().map(str::to_owned),
                "namespace" => out.namespace = value.as_str().map(str::to_owned),
                "errorExtraInfo" => out.error_extra_info = value.as_document().cloned(),
                _ => {}
            }
        }
        // blockTimeMS without blockConnection does nothing, as in mongod.
        if !data.get_bool("blockConnection").unwrap_or(false) {
            out.block_time = None;
        }
        Ok(out)
    }
}

/// `onPrimaryTransactionalWrite`'s `data`.
#[derive(Debug, Clone)]
pub struct TransactionalWrite {
    /// Fail the write with this code instead of applying it.
    pub fail_before_commit_code: Option<i32>,
    /// Close the connection after the write (applied or failed), so the
    /// client sees a network error and retries; mongod's default is true.
    pub close_connection: bool,
}

impl TransactionalWrite {
    pub fn parse(data: &Document) -> Result<TransactionalWrite, CommandError> {
        let close_connection = match data.get("closeConnection") {
            None => true,
            Some(Bson::Boolean(close)) => *close,
            Some(_) => {
                return Err(CommandError::new(
                    Code::TYPE_MISMATCH,
                    "closeConnection must be a boolean",
                ));
            }
        };
        let fail_before_commit_code = match data.get("failBeforeCommitExceptionCode") {
            None => None,
            Some(value) => Some(
                mql::order::Number::of(value)
                    .map(|n| n.as_f64() as i32)
                    .ok_or_else(|| {
                        CommandError::new(
                            Code::TYPE_MISMATCH,
                            "failBeforeCommitExceptionCode must be a number",
                        )
                    })?,
            ),
        };
        Ok(TransactionalWrite {
            fail_before_commit_code,
            close_connection,
        })
    }
}

/// What a triggered `failCommand` asks of the command.
#[derive(Debug, Clone)]
pub struct Triggered {
    pub data: FailCommand,
}

#[derive(Default)]
pub struct FailPoints {
    /// Whether `fail_command` may be set: every command reads this, and
    /// only the rare armed case takes the lock.
    fail_command_armed: AtomicBool,
    fail_command: Mutex<Option<(Mode, FailCommand)>>,
    /// The same for `transactional_write`, read by every statement of
    /// every retryable write.
    transactional_write_armed: AtomicBool,
    transactional_write: Mutex<Option<(Mode, TransactionalWrite)>>,
}

impl FailPoints {
    pub fn set_fail_command(&self, mode: Mode, data: FailCommand) {
        let mut slot = self.fail_command.lock();
        *slot = (mode != Mode::Off).then_some((mode, data));
        self.fail_command_armed
            .store(slot.is_some(), Ordering::Release);
    }

    pub fn set_transactional_write(&self, mode: Mode, data: TransactionalWrite) {
        let mut slot = self.transactional_write.lock();
        *slot = (mode != Mode::Off).then_some((mode, data));
        self.transactional_write_armed
            .store(slot.is_some(), Ordering::Release);
    }

    /// Evaluates `failCommand` for one command on namespace `db.coll`.
    pub fn check_command(
        &self,
        name: &str,
        (db, coll): (&str, &str),
        app_name: Option<&str>,
    ) -> Option<Triggered> {
        if !self.fail_command_armed.load(Ordering::Acquire) {
            return None;
        }
        let mut slot = self.fail_command.lock();
        let (mode, data) = slot.as_mut()?;
        if !data.fail_commands.iter().any(|c| c == name) {
            return None;
        }
        if data
            .app_name
            .as_deref()
            .is_some_and(|want| Some(want) != app_name)
        {
            return None;
        }
        if data
            .namespace
            .as_deref()
            .is_some_and(|want| !names_namespace(want, db, coll))
        {
            return None;
        }
        if !mode.fire() {
            if *mode == Mode::Off {
                *slot = None;
                self.fail_command_armed.store(false, Ordering::Release);
            }
            return None;
        }
        let triggered = Triggered { data: data.clone() };
        if *mode == Mode::Off {
            *slot = None;
            self.fail_command_armed.store(false, Ordering::Release);
        }
        Some(triggered)
    }

    /// Evaluates `onPrimaryTransactionalWrite` for one statement of a
    /// retryable write.
    pub fn check_transactional_write(&self) -> Option<TransactionalWrite> {
        if !self.transactional_write_armed.load(Ordering::Acquire) {
            return None;
        }
        let mut slot = self.transactional_write.lock();
        let (mode, data) = slot.as_mut()?;
        let fired = mode.fire().then(|| data.clone());
        if *mode == Mode::Off {
            *slot = None;
            self.transactional_write_armed
                .store(false, Ordering::Release);
        }
        fired
    }
}

/// Whether `namespace` is `db.coll`.
fn names_namespace(namespace: &str, db: &str, coll: &str) -> bool {
    namespace
        .strip_prefix(db)
        .and_then(|rest| rest.strip_prefix('.'))
        == Some(coll)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_names_exactly_its_database_and_collection() {
        assert!(names_namespace("db.coll", "db", "coll"));
        assert!(names_namespace("db.a.b", "db", "a.b"));
        assert!(!names_namespace("db.coll", "db", "col"));
        assert!(!names_namespace("dbx.coll", "db", "coll"));
        assert!(!names_namespace("db.coll", "d", "b.coll"));
        assert!(!names_namespace("dbcoll", "db", "coll"));
    }

    #[test]
    fn times_mode_fires_n_times_then_turns_off() {
        let mut mode = Mode::Times(2);
        assert!(mode.fire());
        assert!(mode.fire());
        assert!(!mode.fire());
        assert_eq!(mode, Mode::Off);
    }

    #[test]
    fn skip_mode_passes_n_then_fires_forever() {
        let mut mode = Mode::Skip(1);
        assert!(!mode.fire());
        assert!(mode.fire());
        assert!(mode.fire());
    }
}
