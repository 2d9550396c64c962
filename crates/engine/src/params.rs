//! Server parameters (`getParameter` / `setParameter`) the engine honours.

use std::sync::atomic::{AtomicU64, Ordering};

use bson::{Bson, Document, doc};
use mql::Code;

use crate::command::CommandError;
use crate::limits::{SESSIONS_MAX_DEFAULT, TRANSACTION_SIZE_BYTES_MAX_DEFAULT};

/// mongod's default `transactionLifetimeLimitSeconds`.
pub const TRANSACTION_LIFETIME_SECS_DEFAULT: u64 = 60;
/// mongod's `logicalSessionTimeoutMinutes`.
pub const SESSION_TIMEOUT_MINUTES: u64 = 30;

pub struct Parameters {
    pub transaction_lifetime_secs: AtomicU64,
    /// `maxSessions` (mongod sets it at startup only; Rotor also at run
    /// time, so tests can reach it).
    pub sessions_max: AtomicU64,
    /// `transactionSizeLimitBytes`.
    pub transaction_size_bytes_max: AtomicU64,
    enable_test_commands: bool,
}

impl Parameters {
    pub fn new(enable_test_commands: bool) -> Parameters {
        Parameters {
            transaction_lifetime_secs: AtomicU64::new(TRANSACTION_LIFETIME_SECS_DEFAULT),
            sessions_max: AtomicU64::new(SESSIONS_MAX_DEFAULT),
            transaction_size_bytes_max: AtomicU64::new(TRANSACTION_SIZE_BYTES_MAX_DEFAULT),
            enable_test_commands,
        }
    }

    fn all(&self, history_window_secs: u64) -> Document {
        doc! {
            "enableTestCommands": self.enable_test_commands,
            "transactionLifetimeLimitSeconds": self.transaction_lifetime_secs.load(Ordering::Relaxed) as i32,
            "minSnapshotHistoryWindowInSeconds": history_window_secs as i32,
            "logicalSessionTimeoutMinutes": SESSION_TIMEOUT_MINUTES as i32,
            "maxSessions": self.sessions_max.load(Ordering::Relaxed) as i32,
            "transactionSizeLimitBytes": self.transaction_size_bytes_max.load(Ordering::Relaxed) as i64,
            "featureCompatibilityVersion": {"version": "8.0"},
            "requireApiVersion": false,
            "authenticationMechanisms": ["SCRAM-SHA-1", "SCRAM-SHA-256"],
            "maxTransactionLockRequestTimeoutMillis": 5,
        }
    }

    /// `getParameter`: `"*"` or `1` with named fields.
    pub fn get(&self, body: &Document, history_window_secs: u64) -> Result<Document, CommandError> {
        let all = self.all(history_window_secs);
        if body.get("getParameter") == Some(&Bson::String("*".to_owned())) {
            return Ok(all);
        }
        let mut out = Document::new();
        for field in body.keys().skip(1) {
            if field.starts_with('$') || matches!(field.as_str(), "lsid" | "comment" | "apiVersion")
            {
                continue;
            }
            match all.get(field) {
                Some(value) => {
                    out.insert(field.clone(), value.clone());
                }
                None => {
                    return Err(CommandError::new(
                        Code::INVALID_OPTIONS,
                        format!("no option found to get: {field}"),
                    ));
                }
            }
        }
        if out.is_empty() {
            return Err(CommandError::new(
                Code::INVALID_OPTIONS,
                "no option found to get",
            ));
        }
        Ok(out)
    }

    /// `setParameter`: returns the old value of what was set.
    pub fn set(
        &self,
        body: &Document,
        set_history_window: impl Fn(u64),
    ) -> Result<Document, CommandError> {
        let mut was = Document::new();
        for (field, value) in body.iter().skip(1) {
            if field.starts_with('$') || matches!(field.as_str(), "lsid" | "comment" | "apiVersion")
            {
                continue;
            }
            let at_least = |floor: f64| {
                mql::order::Number::of(value)
                    .map(|n| n.as_f64())
                    .filter(|n| *n >= floor)
                    .map(|n| n as u64)
                    .ok_or_else(|| {
                        let what = if floor > 0.0 {
                            "positive"
                        } else {
                            "non-negative"
                        };
                        CommandError::new(
                            Code::BAD_VALUE,
                            format!("{field} must be a {what} number"),
                        )
                    })
            };
            let positive = || at_least(1.0);
            match field.as_str() {
                "transactionLifetimeLimitSeconds" => {
                    let old = self
                        .transaction_lifetime_secs
                        .swap(positive()?, Ordering::Relaxed);
                    was.insert("was", old as i32);
                }
                "maxSessions" => {
                    let old = self.sessions_max.swap(positive()?, Ordering::Relaxed);
                    was.insert("was", old as i32);
                }
                "transactionSizeLimitBytes" => {
                    let old = self
                        .transaction_size_bytes_max
                        .swap(positive()?, Ordering::Relaxed);
                    was.insert("was", old as i64);
                }
                // mongod accepts 0: no history beyond running readers.
                "minSnapshotHistoryWindowInSeconds" => set_history_window(at_least(0.0)?),
                _ => {
                    return Err(CommandError::new(
                        Code::INVALID_OPTIONS,
                        format!("attempted to set unrecognized parameter [{field}]"),
                    ));
                }
            }
        }
        Ok(was)
    }
}
