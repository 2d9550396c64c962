//! The Convenient API for Transactions: [`ClientSession::with_transaction`]
//! (retries per the mongodb/specifications `transactions-convenient-api`)
//! and [`ClientSession::transaction`] (commit on `Ok`, abort on `Err`, no
//! retries).
//!
//! The clock and the jitter are seams ([`RetryPolicy`]) so tests can check
//! backoff and timeouts deterministically.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use crate::session::{ClientSession, MAX_TIME_MS_EXPIRED, TransactionOptions, TxnState};
use crate::transport::BoxFuture;

/// The spec's default limit on retrying a transaction.
const TIMEOUT_DEFAULT: Duration = Duration::from_secs(120);
/// The spec's `BACKOFF_INITIAL`: the first backoff before jitter.
const BACKOFF_INITIAL: Duration = Duration::from_millis(5);
/// The spec's `BACKOFF_MAX`: backoff stops growing here.
const BACKOFF_MAX: Duration = Duration::from_millis(500);
/// The spec's backoff growth factor per attempt.
const BACKOFF_GROWTH: f64 = 1.5;

/// Time as `with_transaction` sees it.
pub trait Clock: Send + Sync + 'static {
    /// The current monotonic time.
    fn now(&self) -> Instant;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real clock: `Instant::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// How [`ClientSession::with_transaction`] retries: its time limit, clock
/// and jitter source.
#[derive(Clone)]
pub struct RetryPolicy {
    /// No new attempt starts after this much time (default 120 s).
    pub timeout: Duration,
    /// The clock that measures the limit and sleeps between attempts.
    pub clock: Arc<dyn Clock>,
    /// A source of jitter in `[0, 1)`, multiplied into each backoff.
    pub jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            timeout: TIMEOUT_DEFAULT,
            clock: Arc::new(TokioClock),
            jitter: Arc::new(rand::random::<f64>),
        }
    }
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    /// The backoff before retry number `attempt` (1 for the first retry),
    /// as `with_transaction` waits: public so that code retrying
    /// transactions by hand (the benchmarks) waits the same.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let grown = BACKOFF_INITIAL.as_secs_f64() * BACKOFF_GROWTH.powi(exponent);
        let capped = grown.min(BACKOFF_MAX.as_secs_f64());
        Duration::from_secs_f64(((self.jitter)().clamp(0.0, 1.0)) * capped)
    }
}

/// The user's error, or the rotor error inside it, for reading labels.
fn rotor_error<E: std::error::Error + 'static>(error: &E) -> Option<&Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<Error>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

fn has_label<E: std::error::Error + 'static>(error: &E, label: &str) -> bool {
    rotor_error(error).is_some_and(|e| e.has_label(label))
}

impl ClientSession {
    /// Runs `callback` in a transaction and commits it, retrying as the
    /// Convenient API for Transactions specifies: the whole transaction
    /// after a `TransientTransactionError` (with jittered backoff), the
    /// commit alone after an `UnknownTransactionCommitResult`, until
    /// [`RetryPolicy::timeout`] passes. Returns the callback's value.
    ///
    /// The callback may run several times, so it should have no effects
    /// outside the transaction. It must let command errors propagate (a
    /// swallowed error leaves a transaction the server already aborted). An
    /// error of the callback's own is returned unchanged after the
    /// transaction is aborted. If the callback commits or aborts itself,
    /// its value is returned with no further action. Labels are read from
    /// the first [`Error`] in the callback error's source chain.
    ///
    /// The returned future is not `Send` (stable Rust cannot yet require an
    /// async closure's future to be `Send`), so await it rather than
    /// `tokio::spawn` it directly; spawn a task that owns the session and
    /// awaits it from a `LocalSet` if that is needed.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// use bson::doc;
    /// let client = rotor::Client::in_memory()?;
    /// let mut session = client.start_session(Default::default())?;
    /// let id = session
    ///     .with_transaction(Default::default(), async |s: &mut rotor::ClientSession| {
    ///         let orders = s.client().database("db").collection::<bson::Document>("orders");
    ///         let inserted = orders.insert_one(doc! {"sku": "abc123"}).session(s).await?;
    ///         Ok::<_, rotor::Error>(inserted.inserted_id)
    ///     })
    ///     .await?;
    /// assert!(matches!(id, bson::Bson::ObjectId(_)));
    /// # Ok(()) }
    /// ```
    pub async fn with_transaction<T, E, F>(
        &mut self,
        options: TransactionOptions,
        mut callback: F,
    ) -> Result<T, E>
    where
        F: AsyncFnMut(&mut ClientSession) -> Result<T, E>,
        E: From<Error> + std::error::Error + 'static,
    {
        let policy = self.options().retry.clone();
        let started = policy.clock.now();
        let elapsed = || policy.clock.now().saturating_duration_since(started);
        let mut attempt = 0u32;
        let mut last: Option<Last<E>> = None;
        'transaction: loop {
            if attempt > 0 {
                let backoff = policy.backoff(attempt);
                if elapsed() + backoff >= policy.timeout {
                    return Err(timed_out(last));
                }
                policy.clock.sleep(backoff).await;
            }
            self.start_transaction(options.clone())?;
            attempt += 1;
            let value = match callback(self).await {
                Ok(value) => value,
                Err(error) => {
                    if self.in_transaction() {
                        let _ignored = self.abort_transaction().await;
                    }
                    if has_label(&error, TRANSIENT_TRANSACTION_ERROR) {
                        if elapsed() < policy.timeout {
                            last = Some(Last::Theirs(error));
                            continue 'transaction;
                        }
                        return Err(timed_out(Some(Last::Theirs(error))));
                    }
                    return Err(error);
                }
            };
            if matches!(
                self.state,
                TxnState::None | TxnState::Committed { .. } | TxnState::Aborted
            ) {
                return Ok(value);
            }
            loop {
                let Err(error) = self.commit_transaction().await else {
                    return Ok(value);
                };
                if elapsed() >= policy.timeout {
                    return Err(timed_out(Some(Last::Ours(error))));
                }
                if error.has_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    && error.code() != Some(MAX_TIME_MS_EXPIRED)
                {
                    continue;
                }
                if error.has_label(TRANSIENT_TRANSACTION_ERROR) {
                    last = Some(Last::Ours(error));
                    continue 'transaction;
                }
                return Err(E::from(error));
            }
        }
    }

    /// Runs `callback` in a transaction: commits if it returns `Ok`, aborts
    /// if it returns `Err`, and never retries (Motor's
    /// `async with s.start_transaction()`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> rotor::Result<()> {
    /// use bson::doc;
    /// let client = rotor::Client::in_memory()?;
    /// let coll = client.database("db").collection::<bson::Document>("c");
    /// coll.insert_one(doc! {"x": 1}).await?;
    /// let mut s = client.start_session(Default::default())?;
    /// s.transaction(Default::default(), async |s: &mut rotor::ClientSession| {
    ///     let coll = s.client().database("db").collection::<bson::Document>("c");
    ///     coll.delete_one(doc! {"x": 1}).session(s).await?;
    ///     coll.insert_one(doc! {"x": 2}).session(s).await?;
    ///     Ok::<_, rotor::Error>(())
    /// })
    /// .await?;
    /// assert_eq!(coll.count_documents(doc! {"x": 2}).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn transaction<T, E, F>(
        &mut self,
        options: TransactionOptions,
        callback: F,
    ) -> Result<T, E>
    where
        F: AsyncFnOnce(&mut ClientSession) -> Result<T, E>,
        E: From<Error>,
    {
        self.start_transaction(options)?;
        match callback(self).await {
            Ok(value) => {
                if self.in_transaction() {
                    self.commit_transaction().await?;
                }
                Ok(value)
            }
            Err(error) => {
                if self.in_transaction() {
                    let _ignored = self.abort_transaction().await;
                }
                Err(error)
            }
        }
    }
}

/// The error that made the latest attempt fail: a commit's (ours) or the
/// callback's (the user's type).
enum Last<E> {
    Ours(Error),
    Theirs(E),
}

/// The timeout error, wrapping the last error and keeping its labels. A
/// callback error of the user's own type cannot be wrapped and is returned
/// unchanged; one that is a bare [`Error`] is wrapped.
fn timed_out<E: From<Error> + 'static>(last: Option<Last<E>>) -> E {
    let theirs = match last {
        None => return E::from(Error::invalid_state("with_transaction timed out")),
        Some(Last::Ours(error)) => return E::from(Error::timeout(error)),
        Some(Last::Theirs(error)) => error,
    };
    let mut slot = Some(theirs);
    let ours = (&mut slot as &mut dyn std::any::Any)
        .downcast_mut::<Option<Error>>()
        .and_then(Option::take);
    match (ours, slot) {
        (Some(error), _) => E::from(Error::timeout(error)),
        (None, Some(error)) => error,
        (None, None) => E::from(Error::invalid_state("with_transaction timed out")),
    }
}
