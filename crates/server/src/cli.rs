//! The command line. Defaults match mongod's where mongod has the option.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "rotor",
    version,
    about = "A transactional document database with MongoDB's semantics"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the engine over MongoDB's wire protocol as a one-member replica set.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// TCP port to listen on.
    #[arg(long, default_value_t = 27017)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Directory for data files.
    #[arg(long, default_value = "./data")]
    pub dbpath: PathBuf,
    /// Keep all data in memory and write nothing to disk.
    #[arg(long)]
    pub in_memory: bool,
    /// Name of the replica set this node presents.
    #[arg(long, default_value = "rs0")]
    pub replset: String,
    /// The `host:port` clients should dial, reported in `hello` (default: bind:port).
    #[arg(long)]
    pub advertise: Option<String>,
    /// Enable test-only commands such as `configureFailPoint`.
    #[arg(long)]
    pub enable_test_commands: bool,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Close a connection that sends nothing for this many seconds.
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,
    /// Refuse connections beyond this many open at once.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
}
