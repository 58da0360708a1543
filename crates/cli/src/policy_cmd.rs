//! `sealtrail policy eval` and `sealtrail policy lint` (placeholder until the policy engine
//! lands).

use clap::Subcommand;

use crate::exit::PolicyExit;

/// `sealtrail policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Lint policy files.
    Lint {
        /// Policy files.
        files: Vec<std::path::PathBuf>,
    },
}

/// Runs a `policy` subcommand.
#[must_use]
pub fn run(cmd: PolicyCommand) -> PolicyExit {
    match cmd {
        PolicyCommand::Lint { files } => {
            eprintln!("policy lint is not available yet ({} files)", files.len());
            PolicyExit::Error
        }
    }
}
