//! `rotor-unified`: runs unified-format spec suites against Rotor and
//! reports pass/fail/skip per suite, exiting non-zero on failures that are
//! not in the expected-failures list.
//!
//! ```text
//! rotor-unified --spec-dir .cache/pymongo-4.20.0/test \
//!     --suite transactions/unified --suite sessions \
//!     --expected-failures scripts/unified/expected-failures.txt
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use unified::report::{self, TestResult};
use unified::runner::{self, Deployment};
use unified::target::{self, Target};

/// Runs MongoDB unified-format spec tests against Rotor's Rust client.
#[derive(Debug, Parser)]
struct Args {
    /// The directory holding the suites (PyMongo's `test/`).
    #[arg(long)]
    spec_dir: PathBuf,
    /// A suite to run, relative to the spec dir (repeatable), e.g.
    /// `transactions/unified`.
    #[arg(long = "suite", required = true)]
    suites: Vec<String>,
    /// Tests known to fail, `suite/file.json :: description  # reason`.
    #[arg(long)]
    expected_failures: Option<PathBuf>,
    /// `embedded` (an in-memory engine in this process).
    #[arg(long, default_value = "embedded", conflicts_with = "uri")]
    target: String,
    /// A MongoDB connection string (needs the TCP transport).
    #[arg(long)]
    uri: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rotor-unified: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<bool, String> {
    let target = match (&args.uri, args.target.as_str()) {
        (Some(uri), _) => Target::Uri(uri.clone()),
        (None, "embedded") => Target::Embedded,
        (None, other) => return Err(format!("unknown --target {other}")),
    };
    let expected = match &args.expected_failures {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            report::parse_expected(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => BTreeSet::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let results = runtime.block_on(run_suites(&args, &target))?;
    let verdict = report::report(&results, &expected);
    Ok(verdict.ok())
}

async fn run_suites(args: &Args, target: &Target) -> Result<Vec<TestResult>, String> {
    let base = target::connect(target).await?;
    let mut deployment = Deployment::discover(&base).await?;
    if let Target::Uri(uri) = target {
        deployment.uri = Some(uri.clone());
        deployment.auth = rotor::ClientOptions::parse(uri)
            .map_err(|e| format!("{uri}: {e}"))?
            .credential
            .is_some();
    }
    let mut results = Vec::new();
    for suite in &args.suites {
        for path in suite_files(&args.spec_dir.join(suite))? {
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            for (description, outcome) in runner::run_file(&base, &deployment, &path).await {
                results.push(TestResult {
                    suite: suite.clone(),
                    file: file.clone(),
                    description,
                    outcome,
                });
            }
        }
    }
    Ok(results)
}

/// The suite's `.json` files, in name order.
fn suite_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}
