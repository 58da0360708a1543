//! Structured logs with `tracing`, to stderr, human-readable or JSON Lines.
//!
//! The level filter comes from `SEALTRAIL_LOG` (`info` by default; e.g.
//! `SEALTRAIL_LOG=warn` or `SEALTRAIL_LOG=info,sealtrail::request=warn`). One line is written
//! per request (`target: sealtrail::request`) with the request id, status, API, operation,
//! error code, access key id, caller ARN, source IP and latency; never a body, a header
//! value other than these, or a secret.
//!
//! Lines are formatted on the thread that logs and written by a dedicated thread, in batches
//! (one `write` per batch instead of one per line), so a request does not wait on stderr.
//! The queue is bounded: when it is full, the logging thread waits (no line is dropped).
//! [`LogGuard`] flushes the queue when dropped.

use std::io::Write as _;
use std::str::FromStr;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::error::ServerError;

/// The environment variable holding the level filter.
pub const LOG_ENV: &str = "SEALTRAIL_LOG";

/// Lines waiting to be written at most.
const QUEUE_LINES: usize = 16 * 1024;

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

enum Message {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
}

/// Where formatted lines go: the queue of the writer thread.
#[derive(Debug, Clone)]
struct Sink {
    queue: SyncSender<Message>,
}

/// One event's line, queued when dropped (the formatter writes a whole line, then drops).
struct LineWriter<'a> {
    sink: &'a Sink,
    line: Vec<u8>,
}

impl std::io::Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.line);
        if let Err(std::sync::mpsc::SendError(Message::Line(line))) =
            self.sink.queue.send(Message::Line(line))
        {
            // The writer thread is gone: write directly.
            let _ = std::io::stderr().write_all(&line);
        }
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            sink: self,
            line: Vec::with_capacity(256),
        }
    }
}

fn write_lines(queue: &Receiver<Message>) {
    let mut batch = Vec::with_capacity(64 * 1024);
    while let Ok(first) = queue.recv() {
        // Lock stderr only while writing a batch: holding it while waiting for lines would
        // block every other writer to stderr (the CLI's own error messages) for good.
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Line(line) => batch.extend_from_slice(&line),
                Message::Flush(done) => flushes.push(done),
            }
            next = if batch.len() < 64 * 1024 {
                queue.try_recv().ok()
            } else {
                None
            };
        }
        if !batch.is_empty() {
            let mut out = std::io::stderr().lock();
            let _ = out.write_all(&batch);
            let _ = out.flush();
            batch.clear();
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Flushes the log queue when dropped (hold it until the process exits).
#[derive(Debug)]
pub struct LogGuard {
    sink: Sink,
}

impl LogGuard {
    /// Waits (up to two seconds) until every line queued so far is written.
    pub fn flush(&self) {
        let (done, wait) = sync_channel(1);
        if self.sink.queue.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Installs the global subscriber and starts the writer thread.
///
/// # Errors
/// [`ServerError::Logging`] when `SEALTRAIL_LOG` does not parse, a subscriber is already
/// installed, or the writer thread cannot start.
pub fn init(format: LogFormat) -> Result<LogGuard, ServerError> {
    let filter = match std::env::var(LOG_ENV) {
        Ok(text) if !text.trim().is_empty() => Targets::from_str(text.trim())
            .map_err(|e| ServerError::Logging(format!("{LOG_ENV}=`{text}`: {e}")))?,
        _ => Targets::new().with_default(LevelFilter::INFO),
    };
    let (queue, lines) = sync_channel(QUEUE_LINES);
    std::thread::Builder::new()
        .name("sealtrail-log".to_owned())
        .spawn(move || write_lines(&lines))
        .map_err(|e| ServerError::Logging(format!("cannot start the log writer: {e}")))?;
    let sink = Sink { queue };
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Human => registry
            .with(tracing_subscriber::fmt::layer().with_writer(sink.clone()))
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(sink.clone()),
            )
            .try_init(),
    };
    result.map_err(|e| ServerError::Logging(e.to_string()))?;
    Ok(LogGuard { sink })
}
