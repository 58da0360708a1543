//! `sealtrail serve`: the HTTP edge of sealtrail, one process on one port.
//!
//! What it does:
//! - HTTP/1.1 (hyper, axum routes), optional TLS (rustls on aws-lc-rs), `TCP_NODELAY`,
//!   request size limits, graceful shutdown on SIGTERM/SIGINT ([`server`], [`serve`]);
//! - SigV4 verification of header-signed requests, with AWS's error codes ([`sigv4`]);
//! - AWS JSON 1.0/1.1 framing: `POST /` with `X-Amz-Target: <prefix>.<Operation>` dispatched
//!   to the registered [`api::JsonApi`], errors as `{"__type", "message"}` ([`framing`],
//!   [`app`]);
//! - callers from access keys: the generated admin key (account root) and the IAM users and
//!   roles of the TOML configuration with their identity policies ([`identity`], [`config`]);
//! - the embedded default: a data directory with the root key and the admin credentials
//!   ([`datadir`]);
//! - `x-amzn-RequestId` on every response, structured logs ([`logging`]), a health endpoint
//!   and Prometheus metrics ([`metrics`]), periodic ticks for the APIs' clocks;
//! - the KMS JSON API ([`kms_api`]).
//!
//! What it does not do: presigned (query-string) or chunked SigV4, SigV4a, temporary
//! credentials (session tokens are refused), HTTP/2, the S3 REST protocol and the CloudTrail
//! API (later issues). Authorization is each API's job: the edge authenticates and hands the
//! API a [`api::Caller`] with its identity policies.

pub mod api;
pub mod app;
pub mod config;
pub mod datadir;
pub mod error;
pub mod framing;
pub mod identity;
pub mod kms_api;
pub mod logging;
pub mod metrics;
pub mod serve;
pub mod server;
pub mod sigv4;
pub mod tls;

pub use error::ServerError;
