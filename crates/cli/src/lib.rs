//! The `sealtrail` command line: one library function per subcommand, each returning a typed
//! exit code. `main.rs` only parses and dispatches.
//!
//! This crate is an edge: it owns the terminal, the file system, the network and the async
//! runtime. The decisions it prints are made by the pure crates (`sealtrail-integrity`,
//! `sealtrail-policy`).

pub mod exit;
pub mod policy_cmd;
pub mod serve;
pub mod sync;
pub mod validate;

use clap::{Parser, Subcommand};

/// sealtrail: a self-hosted, tamper-evident audit trail that speaks the AWS CloudTrail, KMS
/// and S3 wire protocols.
#[derive(Debug, Parser)]
#[command(name = "sealtrail", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate CloudTrail log files against their digests, as `aws cloudtrail validate-logs`
    /// does (same output and exit codes), faster, offline too, and stricter on request.
    ValidateLogs(Box<validate::ValidateLogsArgs>),
    /// Copy a CloudTrail bucket to a directory, keeping the S3 metadata that holds digest
    /// signatures (for `validate-logs --local`).
    Sync(sync::SyncArgs),
    /// Evaluate and lint IAM policies (key, bucket and identity policies).
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Run the server: KMS (AWS JSON 1.1, SigV4) on one port, with an embedded default
    /// (data directory, root key, admin credentials) when started without configuration.
    Serve(serve::ServeArgs),
}

/// Runs one parsed command line and returns the process exit code.
#[must_use]
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::ValidateLogs(args) => validate::run(*args).code(),
        Command::Sync(args) => sync::run(args).code(),
        Command::Policy(cmd) => policy_cmd::run(cmd).code(),
        Command::Serve(args) => serve::run(args).code(),
    }
}
