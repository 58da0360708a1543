//! Why `sealtrail serve` cannot start or keep running.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::datadir::DataDirError;
use crate::identity::IdentityError;

/// A startup or runtime failure of the server process (never a per-request error: those are
/// rendered to the client).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration file is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory is unusable.
    #[error("data directory: {0}")]
    DataDir(#[from] DataDirError),
    /// The callers cannot be built (e.g. the admin key id is also configured).
    #[error("identities: {0}")]
    Identity(#[from] IdentityError),
    /// The TLS certificate or key cannot be used.
    #[error("TLS: `{path}`: {message}", path = .path.display())]
    Tls {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Only one of `--tls-cert` and `--tls-key` was given.
    #[error("TLS needs both a certificate and a key")]
    TlsIncomplete,
    /// The listen address cannot be bound.
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The async runtime cannot start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// The port file cannot be written.
    #[error("cannot write the port file `{path}`: {source}", path = .path.display())]
    PortFile {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `SEALTRAIL_LOG` does not parse, or a logger is already installed.
    #[error("logging: {0}")]
    Logging(String),
    /// An API cannot be opened (e.g. the KMS store).
    #[error("cannot open the {api} API: {message}")]
    Api {
        /// The API (`kms`).
        api: &'static str,
        /// What failed.
        message: String,
    },
}
