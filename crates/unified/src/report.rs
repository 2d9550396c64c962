//! The run's report: outcomes per suite, compared with the list of
//! expected failures.
//!
//! The list has one test per line, `suite/file.json :: test description  #
//! reason`; `#` starts the reason, which is required, and blank lines and
//! lines starting with `#` are comments. A listed test that fails is
//! expected; one that fails unlisted is a regression; one that is listed
//! but passes is reported so the list shrinks.

use std::collections::{BTreeMap, BTreeSet};

use crate::runner::Outcome;

/// One test's outcome with its name.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The suite, e.g. `transactions/unified`.
    pub suite: String,
    /// The file name, e.g. `abort.json`.
    pub file: String,
    /// The test's description.
    pub description: String,
    /// What happened.
    pub outcome: Outcome,
}

impl TestResult {
    /// The key the expected-failures list uses.
    pub fn key(&self) -> String {
        format!("{}/{} :: {}", self.suite, self.file, self.description)
    }
}

/// Parses an expected-failures list into its keys.
pub fn parse_expected(text: &str) -> Result<BTreeSet<String>, String> {
    let mut keys = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, reason)) = line.split_once(" # ") else {
            return Err(format!("line {}: no `# reason`: {line}", n + 1));
        };
        if reason.trim().is_empty() || !key.contains(" :: ") {
            return Err(format!(
                "line {}: expected `suite/file.json :: test  # reason`",
                n + 1
            ));
        }
        keys.insert(key.trim().to_owned());
    }
    Ok(keys)
}

/// The comparison of a run with the expected failures.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Failures not on the list.
    pub unexpected: Vec<String>,
    /// Listed tests that passed.
    pub fixed: Vec<String>,
}

impl Verdict {
    /// Whether the run is acceptable (no unexpected failures).
    pub fn ok(&self) -> bool {
        self.unexpected.is_empty()
    }
}

/// Prints each failure and a pass/fail/skip line per suite, and compares
/// with `expected`.
pub fn report(results: &[TestResult], expected: &BTreeSet<String>) -> Verdict {
    let mut per_suite: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let mut verdict = Verdict::default();
    let mut skip_reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for result in results {
        let counts = per_suite.entry(&result.suite).or_default();
        let key = result.key();
        match &result.outcome {
            Outcome::Pass => {
                counts[0] += 1;
                if expected.contains(&key) {
                    verdict.fixed.push(key);
                }
            }
            Outcome::Fail(reason) => {
                counts[1] += 1;
                let tag = if expected.contains(&key) {
                    "FAIL (expected)"
                } else {
                    "FAIL"
                };
                println!("{tag} {key}\n    {}", shorten(reason));
                if !expected.contains(&key) {
                    verdict.unexpected.push(key);
                }
            }
            Outcome::Skip(reason) => {
                counts[2] += 1;
                *skip_reasons.entry(reason).or_default() += 1;
            }
        }
    }
    println!();
    for (reason, n) in &skip_reasons {
        println!("skipped ({n}): {reason}");
    }
    for (suite, [pass, fail, skip]) in &per_suite {
        println!("{suite}: {pass} passed, {fail} failed, {skip} skipped");
    }
    for key in &verdict.fixed {
        println!("PASSES BUT LISTED AS EXPECTED FAILURE: {key}");
    }
    verdict
}

/// Failure reasons can quote whole documents; a line or two is enough.
const REASON_CHARS_MAX: usize = 400;

fn shorten(reason: &str) -> String {
    match reason.char_indices().nth(REASON_CHARS_MAX) {
        Some((cut, _)) => format!("{}...", &reason[..cut]),
        None => reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_failures_need_a_key_and_a_reason() {
        let check = |text: &str, expected: Result<Vec<&str>, ()>| {
            let parsed = parse_expected(text)
                .map(|k| k.into_iter().collect::<Vec<_>>())
                .map_err(drop);
            let expected = expected.map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>());
            assert_eq!(parsed, expected, "{text}");
        };
        check(
            "# comment\n\nsessions/a.json :: t one  # why\n",
            Ok(vec!["sessions/a.json :: t one"]),
        );
        check("sessions/a.json :: t one\n", Err(()));
        check("sessions/a.json :: t one  # \n", Err(()));
        check("sessions/a.json  # why\n", Err(()));
    }
}
