//! Measuring: medians of repeated samples, per-operation costs, and
//! transactions per second over concurrent threads.
//!
//! Medians, not means: the machine is shared and noisy, and one sample
//! stalled behind another process's burst should not move the result.
//! Every measurement is repeated, and callers interleave Rotor's and
//! SQLite's rounds so slow drift of the machine hits both alike.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long and how often to measure, from the environment.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Length of one throughput round (`ROTOR_BENCH_SECS`, default 2).
    pub round: Duration,
    /// Rounds per configuration, of which the median is shown
    /// (`ROTOR_BENCH_ROUNDS`, default 3).
    pub rounds: usize,
}

/// Default seconds per round: long enough for thousands of transactions,
/// short enough that a whole bench stays within a few minutes.
const ROUND_SECS_DEFAULT: f64 = 2.0;
/// Default rounds: the fewest with a median that ignores one outlier.
const ROUNDS_DEFAULT: usize = 3;

impl Settings {
    pub fn from_env() -> Settings {
        let secs = env_number("ROTOR_BENCH_SECS").unwrap_or(ROUND_SECS_DEFAULT);
        let rounds = env_number("ROTOR_BENCH_ROUNDS").map_or(ROUNDS_DEFAULT, |n| n as usize);
        Settings {
            round: Duration::from_secs_f64(secs.max(0.01)),
            rounds: rounds.max(1),
        }
    }
}

fn env_number(name: &str) -> Option<f64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// The machine's load averages (1, 5, 15 minutes), printed beside results
/// because other processes on a shared machine move every number.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The median of `samples` (the mean of the middle two for an even count);
/// NaN for no samples.
pub fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// One thing to time in [`interleaved_nanos_per_op`]: `run` does one
/// sample's operations and returns how many it did; `after` runs untimed
/// after each sample (to undo what the sample added).
pub struct Target<'a> {
    pub run: Box<dyn FnMut() -> usize + 'a>,
    pub after: Box<dyn FnMut() + 'a>,
}

impl<'a> Target<'a> {
    /// A target with nothing to undo between samples.
    pub fn new(run: impl FnMut() -> usize + 'a) -> Target<'a> {
        Target {
            run: Box::new(run),
            after: Box::new(|| {}),
        }
    }
}

/// Takes `samples` samples of every target, one sample of each in turn
/// (so a burst of load on the machine hits all targets alike, and their
/// ratios stay meaningful), and returns each target's median nanoseconds
/// per operation.
pub fn interleaved_nanos_per_op(samples: usize, targets: &mut [Target<'_>]) -> Vec<f64> {
    let mut per_op = vec![Vec::with_capacity(samples); targets.len()];
    for _ in 0..samples {
        for (target, per_op) in targets.iter_mut().zip(&mut per_op) {
            let start = Instant::now();
            let n_ops = (target.run)();
            per_op.push(start.elapsed().as_nanos() as f64 / n_ops.max(1) as f64);
            (target.after)();
        }
    }
    per_op.iter().map(|samples| median(samples)).collect()
}

/// What concurrent threads did in one round.
#[derive(Debug, Clone, Copy, Default)]
pub struct Round {
    pub commits: u64,
    /// Transactions begun again after a transient error.
    pub retries: u64,
    pub elapsed: Duration,
}

impl Round {
    pub fn per_sec(&self) -> f64 {
        self.commits as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `n_threads` threads for `duration`. Each thread first builds its
/// worker with `make(thread_index)` (untimed: connections and sessions are
/// opened before the clock starts), then calls it until told to stop; each
/// call commits one transaction and returns how many times it had to retry.
pub fn run_threads<W>(
    n_threads: usize,
    duration: Duration,
    make: impl Fn(usize) -> W + Sync,
) -> Round
where
    W: FnMut() -> u64,
{
    let stop = AtomicBool::new(false);
    let ready = Barrier::new(n_threads + 1);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..n_threads)
            .map(|thread_index| {
                let (make, stop, ready) = (&make, &stop, &ready);
                scope.spawn(move || {
                    let mut worker = make(thread_index);
                    ready.wait();
                    let (mut commits, mut retries) = (0, 0);
                    while !stop.load(Ordering::Relaxed) {
                        retries += worker();
                        commits += 1;
                    }
                    (commits, retries)
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        let mut round = Round::default();
        for handle in handles {
            let (commits, retries) = match handle.join() {
                Ok(counts) => counts,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            round.commits += commits;
            round.retries += retries;
        }
        // Until the last thread finished: commits in flight at the stop
        // signal are counted, so their time is too.
        round.elapsed = start.elapsed();
        round
    })
}

/// The round with the median rate (so its retry count is the one that
/// belongs to the rate shown).
pub fn median_round(rounds: &[Round]) -> Round {
    let mut sorted = rounds.to_vec();
    sorted.sort_by(|a, b| a.per_sec().total_cmp(&b.per_sec()));
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_median(samples: &[f64], expected: f64) {
        assert_eq!(median(samples), expected, "median of {samples:?}");
    }

    #[test]
    fn median_is_the_middle_value_or_the_mean_of_the_middle_two() {
        check_median(&[3.0], 3.0);
        check_median(&[5.0, 1.0, 3.0], 3.0);
        check_median(&[4.0, 1.0, 3.0, 2.0], 2.5);
        check_median(&[1.0, 100.0, 2.0], 2.0);
    }

    #[test]
    fn median_of_nothing_is_nan() {
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn interleaved_runs_every_target_once_per_sample_and_undoes_after_each() {
        let log = std::cell::RefCell::new(Vec::new());
        let mut targets = [
            Target {
                run: Box::new(|| {
                    log.borrow_mut().push("a");
                    4
                }),
                after: Box::new(|| log.borrow_mut().push("undo a")),
            },
            Target::new(|| {
                log.borrow_mut().push("b");
                1
            }),
        ];
        let costs = interleaved_nanos_per_op(2, &mut targets);
        drop(targets);
        assert_eq!(costs.len(), 2);
        assert_eq!(log.into_inner(), ["a", "undo a", "b", "a", "undo a", "b"]);
    }

    #[test]
    fn run_threads_counts_every_commit_and_retry_of_every_thread() {
        let round = run_threads(3, Duration::from_millis(20), |thread_index| {
            move || {
                thread::sleep(Duration::from_millis(1));
                thread_index as u64
            }
        });
        assert!(round.commits >= 3, "each thread committed: {round:?}");
        assert!(round.retries >= 3, "threads 1 and 2 retried: {round:?}");
        assert!(round.elapsed >= Duration::from_millis(20));
    }

    #[test]
    fn median_round_is_the_round_with_the_median_rate() {
        let round = |commits| Round {
            commits,
            retries: commits,
            elapsed: Duration::from_secs(1),
        };
        let picked = median_round(&[round(10), round(30), round(20)]);
        assert_eq!(picked.retries, 20);
    }
}
