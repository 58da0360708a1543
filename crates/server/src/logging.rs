//! Structured logs with `tracing`, to stderr, human-readable or JSON Lines.
//!
//! The level filter comes from `SEALTRAIL_LOG` (`info` by default; e.g.
//! `SEALTRAIL_LOG=warn` or `SEALTRAIL_LOG=info,sealtrail::request=warn`). One line is written
//! per request (`target: sealtrail::request`) with the request id, status, API, operation,
//! error code, access key id, caller ARN, source IP and latency; never a body, a header
//! value other than these, or a secret.

use std::str::FromStr;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::error::ServerError;

/// The environment variable holding the level filter.
pub const LOG_ENV: &str = "SEALTRAIL_LOG";

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `2026-01-10T12:00:00.000000Z  INFO sealtrail::request: request request_id=... status=200`
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(Self::Human),
            "json" => Ok(Self::Json),
            other => Err(format!("`{other}` is not a log format (human, json)")),
        }
    }
}

/// Installs the global subscriber.
///
/// # Errors
/// [`ServerError::Logging`] when `SEALTRAIL_LOG` does not parse or a subscriber is already
/// installed.
pub fn init(format: LogFormat) -> Result<(), ServerError> {
    let filter = match std::env::var(LOG_ENV) {
        Ok(text) if !text.trim().is_empty() => Targets::from_str(text.trim())
            .map_err(|e| ServerError::Logging(format!("{LOG_ENV}=`{text}`: {e}")))?,
        _ => Targets::new().with_default(LevelFilter::INFO),
    };
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Human => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(false),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    result.map_err(|e| ServerError::Logging(e.to_string()))
}
