//! The `sealtrail` binary: parses arguments and dispatches; all work lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sealtrail::Cli::parse();
    ExitCode::from(sealtrail::run(cli))
}
