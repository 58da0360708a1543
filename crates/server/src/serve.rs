//! `sealtrail serve`: configuration, data directory, callers, TLS and the APIs put together
//! into one process on one port.
//!
//! [`run`] is the whole command (logs, runtime, signals); [`prepare`] is the part that tests
//! and tools embed: it returns a bound [`Server`] to run with any shutdown future.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sealtrail_model::{Clock, SystemClock, UtcTime};

use crate::api::JsonApi;
use crate::config::{self, Config, TlsFiles};
use crate::datadir::{DataDir, PROFILE};
use crate::error::ServerError;
use crate::kms_api::{self, KmsApi};
use crate::logging::{self, LogFormat};
use crate::server::{Server, Settings};
use crate::tls;

/// The options of `sealtrail serve`; each one overrides the configuration file.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--data-dir DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--listen ADDR`.
    pub listen: Option<SocketAddr>,
    /// `--tls-cert FILE`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key FILE`.
    pub tls_key: Option<PathBuf>,
    /// `--log-format`.
    pub log_format: LogFormat,
    /// `--port-file FILE`: written with the bound port once the server accepts connections.
    pub port_file: Option<PathBuf>,
}

/// A server ready to run, with what was used to build it.
#[derive(Debug)]
pub struct Prepared {
    /// The bound server.
    pub server: Server,
    /// The effective configuration.
    pub config: Config,
    /// The opened data directory.
    pub data_dir: DataDir,
}

impl Prepared {
    /// The base URL clients use (`http://127.0.0.1:PORT`; a wildcard bind address is shown
    /// as loopback).
    #[must_use]
    pub fn endpoint_url(&self) -> String {
        let mut addr = self.server.local_addr();
        if addr.ip().is_unspecified() {
            addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let scheme = if self.server.is_tls() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{addr}")
    }

    /// What `sealtrail serve` prints once it listens: the address and a command to paste.
    #[must_use]
    pub fn banner(&self) -> String {
        let credentials = self.data_dir.credentials_file();
        let region = self.config.region.as_str();
        let url = self.endpoint_url();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "sealtrail {} listening on {url} (region {region})",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            "data directory: {}{}",
            self.data_dir.path().display(),
            if self.data_dir.created() {
                " (created)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "admin credentials: {} (profile {PROFILE}, root of account {})",
            credentials.display(),
            self.config.admin_account.as_str()
        );
        let tls_hint = if self.server.is_tls() {
            " --ca-bundle <your CA or certificate>"
        } else {
            ""
        };
        let _ = writeln!(out, "try:");
        let _ = writeln!(
            out,
            "  AWS_SHARED_CREDENTIALS_FILE={} aws --profile {PROFILE} --region {region} --endpoint-url {url}{tls_hint} kms create-key",
            credentials.display()
        );
        out
    }
}

/// Loads the configuration, opens the data directory, builds the callers, TLS and the
/// shipped APIs (plus `extra_apis`), and binds the listener.
///
/// # Errors
/// [`ServerError`] for a bad configuration, data directory, TLS material or API store, or
/// an address that cannot be bound.
pub async fn prepare(
    options: &ServeOptions,
    extra_apis: Vec<Arc<dyn JsonApi>>,
) -> Result<Prepared, ServerError> {
    let mut config = match &options.config {
        Some(path) => config::load(path)?,
        None => Config::default(),
    };
    if let Some(dir) = &options.data_dir {
        config.data_dir.clone_from(dir);
    }
    if let Some(listen) = options.listen {
        config.listen = listen;
    }
    match (&options.tls_cert, &options.tls_key) {
        (Some(cert), Some(key)) => {
            config.tls = Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        (None, None) => {}
        _ => return Err(ServerError::TlsIncomplete),
    }
    let data_dir = DataDir::open(&config.data_dir)?;
    let admin = data_dir.admin();
    let identities = config.identities(&admin.access_key_id, &admin.secret)?;
    let tls = match &config.tls {
        Some(files) => Some(tls::load(&files.cert, &files.key)?),
        None => None,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut apis = shipped_apis(&config, &data_dir)?;
    apis.extend(
        extra_apis
            .into_iter()
            .map(|api| Mounted { api, tick: None }),
    );
    let settings = Settings {
        listen: config.listen,
        region: config.region.clone(),
        max_body_bytes: config.max_body_bytes,
        shutdown_grace: Duration::from_secs(config.shutdown_grace_seconds),
        tick_interval: Duration::from_secs(config.tick_seconds),
        tls,
    };
    let mut server = Server::bind(
        settings,
        identities,
        apis.iter().map(|a| a.api.clone()).collect(),
        clock,
    )
    .await?;
    for api in apis {
        if let Some(tick) = api.tick {
            server.on_tick(tick);
        }
    }
    Ok(Prepared {
        server,
        config,
        data_dir,
    })
}

/// An API with its periodic hook.
struct Mounted {
    api: Arc<dyn JsonApi>,
    tick: Option<Box<dyn Fn(UtcTime) + Send + Sync>>,
}

/// The APIs `sealtrail serve` ships, opened over the data directory: the KMS (its SQLite
/// store in the data directory, key material wrapped under the root key, the system RNG),
/// whose clock (scheduled deletions, automatic rotations) advances on every tick.
fn shipped_apis(config: &Config, data_dir: &DataDir) -> Result<Vec<Mounted>, ServerError> {
    let kms = kms_api::open_kms(
        config.region.clone(),
        &data_dir.kms_database(),
        data_dir.root_key().expose(),
    )
    .map_err(|e| ServerError::Api {
        api: "kms",
        message: e.to_string(),
    })?;
    let ticking = kms.clone();
    let tick = move |now: UtcTime| match ticking.tick(now) {
        Ok(report) => {
            for key in &report.deleted {
                tracing::info!(target: "sealtrail::kms", key_id = %key, "scheduled deletion done: key material destroyed");
            }
            for key in &report.rotated {
                tracing::info!(target: "sealtrail::kms", key_id = %key, "automatic rotation");
            }
        }
        Err(e) => {
            tracing::error!(target: "sealtrail::kms", error = %e, "KMS tick failed; retried on the next tick")
        }
    };
    Ok(vec![Mounted {
        api: Arc::new(KmsApi::new(kms)),
        tick: Some(Box::new(tick)),
    }])
}

/// Writes `port` and a newline to `path` atomically (temporary file, then rename).
fn write_port_file(path: &Path, port: u16) -> Result<(), ServerError> {
    let error = |source| ServerError::PortFile {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{port}\n")).map_err(error)?;
    std::fs::rename(&tmp, path).map_err(error)
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(target: "sealtrail::server", error = %e, "cannot watch SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => {
            if let Err(e) = r {
                tracing::warn!(target: "sealtrail::server", error = %e, "cannot watch SIGINT");
                std::future::pending::<()>().await;
            }
            tracing::info!(target: "sealtrail::server", "SIGINT");
        }
        () = terminate => tracing::info!(target: "sealtrail::server", "SIGTERM"),
    }
}

/// The whole `sealtrail serve` command: installs the logger, starts the runtime, prepares
/// and runs the server until SIGTERM or SIGINT, then shuts down gracefully.
///
/// # Errors
/// [`ServerError`] when the server cannot start.
pub fn run(options: &ServeOptions) -> Result<(), ServerError> {
    let log = logging::init(options.log_format)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sealtrail")
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(async {
        let prepared = prepare(options, Vec::new()).await?;
        {
            // A closed stdout must not stop the server: the banner is a courtesy.
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(prepared.banner().as_bytes());
            let _ = stdout.flush();
        }
        if let Some(path) = &options.port_file {
            write_port_file(path, prepared.server.local_addr().port())?;
        }
        let result = prepared.server.run(shutdown_signal()).await;
        if let Some(path) = &options.port_file {
            // A stale port file would point the next reader at a closed port.
            let _ = std::fs::remove_file(path);
        }
        result
    })?;
    // Dropping the runtime waits for blocking tasks; the server already flushed its state.
    runtime.shutdown_timeout(Duration::from_secs(5));
    log.flush();
    Ok(())
}
