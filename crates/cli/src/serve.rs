//! `sealtrail serve`: runs the server (KMS today; CloudTrail and S3 to come) in this process,
//! on one port. The work is [`sealtrail_server::serve::run`]; this module is its command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use sealtrail_server::logging::LogFormat;
use sealtrail_server::serve::{ServeOptions, run as run_server};

/// Exit codes of `sealtrail serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeExit {
    /// Stopped by SIGTERM or SIGINT after a graceful shutdown.
    Stopped = 0,
    /// The server could not start: bad configuration, data directory, TLS material, or an
    /// address that cannot be bound (the reason is on stderr).
    Error = 2,
}

impl ServeExit {
    /// The process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Arguments of `sealtrail serve`. Every one is optional: with none, the server listens on
/// 127.0.0.1:4599 and keeps its state in `./sealtrail-data`, creating it (root key, admin
/// credentials) on first start.
#[derive(Debug, Args)]
#[command(after_help = "\
Exit codes: 0 stopped by SIGTERM/SIGINT after a graceful shutdown; 2 could not start.

Logs go to stderr; the level filter is SEALTRAIL_LOG (default `info`, e.g. `warn` or
`info,sealtrail::request=warn`). Health: GET /_sealtrail/health. Metrics (Prometheus text):
GET /_sealtrail/metrics.")]
pub struct ServeArgs {
    /// The TOML configuration: listen address, region, accounts, IAM users and roles with
    /// access keys and identity policies, TLS (see the sealtrail-server `config` docs).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory (default ./sealtrail-data, or `data_dir` of the configuration).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The address to listen on (default 127.0.0.1:4599; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// How log lines look on stderr.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "json"])]
    pub log_format: String,
    /// Once listening, write the bound port (decimal, then a newline) to this file: for
    /// scripts that start the server with --listen 127.0.0.1:0.
    #[arg(long, value_name = "FILE")]
    pub port_file: Option<PathBuf>,
}

/// Runs `sealtrail serve` until SIGTERM or SIGINT.
#[must_use]
pub fn run(args: ServeArgs) -> ServeExit {
    let options = ServeOptions {
        config: args.config,
        data_dir: args.data_dir,
        listen: args.listen,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        log_format: args.log_format.parse().unwrap_or(LogFormat::Human),
        port_file: args.port_file,
    };
    match run_server(&options) {
        Ok(()) => ServeExit::Stopped,
        Err(e) => {
            eprintln!("sealtrail serve: {e}");
            ServeExit::Error
        }
    }
}
