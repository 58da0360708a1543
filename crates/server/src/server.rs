//! The listener: accepts TCP connections (`TCP_NODELAY`), optionally terminates TLS, serves
//! HTTP/1.1 with hyper, runs the periodic ticks, and shuts down gracefully: stop accepting,
//! let in-flight requests finish within the grace period, stop the ticks, run the shutdown
//! hooks (flush state), return.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use sealtrail_model::{Clock, Region, UtcTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tower::ServiceExt as _;

use crate::api::JsonApi;
use crate::app::{self, App, ConnInfo};
use crate::error::ServerError;
use crate::identity::Identities;
use crate::metrics::Metrics;
use crate::sigv4::Verifier;

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to finish a TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the listener needs besides the APIs and the callers.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address to bind (port 0 picks a free port; see [`Server::local_addr`]).
    pub listen: SocketAddr,
    /// The region served.
    pub region: Region,
    /// The largest request body.
    pub max_body_bytes: usize,
    /// How long in-flight requests may finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// The period of the tick hooks.
    pub tick_interval: Duration,
    /// TLS, if any.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

type Tick = Box<dyn Fn(UtcTime) + Send + Sync>;
type Hook = Box<dyn FnOnce() + Send>;

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    app: Arc<App>,
    settings: Settings,
    ticks: Vec<Tick>,
    on_shutdown: Vec<Hook>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the listener.
    ///
    /// # Errors
    /// [`ServerError::Bind`] when the address cannot be bound.
    pub async fn bind(
        settings: Settings,
        identities: Identities,
        apis: Vec<Arc<dyn JsonApi>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServerError> {
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: settings.listen,
            source,
        })?;
        let app = Arc::new(App {
            apis,
            identities,
            verifier: Verifier::new(),
            region: settings.region.clone(),
            clock,
            metrics: Metrics::new(),
            max_body: settings.max_body_bytes,
            started: Instant::now(),
        });
        Ok(Self {
            listener,
            local_addr,
            app,
            settings,
            ticks: Vec::new(),
            on_shutdown: Vec::new(),
        })
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the server speaks TLS.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.settings.tls.is_some()
    }

    /// Calls `tick` with the current time every tick interval (on a blocking thread), for as
    /// long as the server runs. The KMS's clock (key deletion, rotation) is driven this way.
    pub fn on_tick(&mut self, tick: impl Fn(UtcTime) + Send + Sync + 'static) {
        self.ticks.push(Box::new(tick));
    }

    /// Runs `hook` once after the last request is answered (flush state, close stores).
    pub fn on_shutdown(&mut self, hook: impl FnOnce() + Send + 'static) {
        self.on_shutdown.push(Box::new(hook));
    }

    /// Serves until `shutdown` completes, then shuts down gracefully.
    ///
    /// # Errors
    /// None today: accept errors (e.g. too many open files) are logged and retried.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Self {
            listener,
            local_addr,
            app,
            settings,
            ticks,
            on_shutdown,
        } = self;
        let router = app::router(app.clone());
        let acceptor = settings.tls.clone().map(TlsAcceptor::from);
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .keep_alive(true);
        let graceful = GracefulShutdown::new();
        let (stop_ticks, ticks_stopped) = tokio::sync::watch::channel(false);
        let ticker = tokio::spawn(run_ticks(
            ticks,
            app.clock.clone(),
            settings.tick_interval,
            ticks_stopped,
        ));
        tracing::info!(target: "sealtrail::server", %local_addr, tls = acceptor.is_some(), "listening");

        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!(target: "sealtrail::server", error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(target: "sealtrail::server", error = %e, "TCP_NODELAY");
                    }
                    let router = router.clone();
                    let http = http.clone();
                    let watcher = graceful.watcher();
                    match acceptor.clone() {
                        None => {
                            let conn = ConnInfo { peer, tls: false };
                            tokio::spawn(serve_connection(http, watcher, stream, router, conn));
                        }
                        Some(acceptor) => {
                            tokio::spawn(async move {
                                match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                    Ok(Ok(tls)) => {
                                        let conn = ConnInfo { peer, tls: true };
                                        serve_connection(http, watcher, tls, router, conn).await;
                                    }
                                    Ok(Err(e)) => tracing::debug!(target: "sealtrail::server", %peer, error = %e, "TLS handshake failed"),
                                    Err(_) => tracing::debug!(target: "sealtrail::server", %peer, "TLS handshake timed out"),
                                }
                            });
                        }
                    }
                }
            }
        }
        drop(listener);
        tracing::info!(
            target: "sealtrail::server",
            grace_seconds = settings.shutdown_grace.as_secs(),
            "shutting down: no new connections; waiting for requests in flight"
        );
        match tokio::time::timeout(settings.shutdown_grace, graceful.shutdown()).await {
            Ok(()) => tracing::info!(target: "sealtrail::server", "all connections closed"),
            Err(_) => {
                tracing::warn!(target: "sealtrail::server", "grace period over: closing the remaining connections")
            }
        }
        let _ = stop_ticks.send(true);
        let _ = ticker.await;
        for hook in on_shutdown {
            if tokio::task::spawn_blocking(hook).await.is_err() {
                tracing::error!(target: "sealtrail::server", "a shutdown hook panicked");
            }
        }
        drop(router);
        drop(app);
        tracing::info!(target: "sealtrail::server", "stopped");
        Ok(())
    }
}

async fn serve_connection<I>(
    http: http1::Builder,
    watcher: Watcher,
    io: I,
    router: Router,
    conn: ConnInfo,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(conn);
        router.clone().oneshot(request)
    });
    let connection = http.serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(target: "sealtrail::server", peer = %conn.peer, error = %e, "connection ended with an error");
    }
}

async fn run_ticks(
    ticks: Vec<Tick>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    if ticks.is_empty() {
        return;
    }
    let ticks = Arc::new(ticks);
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = timer.tick() => {
                let now = clock.now();
                let ticks = ticks.clone();
                let ran = tokio::task::spawn_blocking(move || {
                    for tick in ticks.iter() {
                        tick(now);
                    }
                })
                .await;
                if ran.is_err() {
                    tracing::error!(target: "sealtrail::server", "a tick panicked");
                }
            }
            _ = stopped.changed() => return,
        }
    }
}
