//! Prometheus metrics, rendered in the text exposition format (version 0.0.4) at
//! `GET /_sealtrail/metrics`:
//!
//! - `sealtrail_requests_total{api,operation,status}`: requests answered;
//! - `sealtrail_request_duration_seconds{api,operation}`: a latency histogram;
//! - `sealtrail_requests_in_flight`: requests being served;
//! - `sealtrail_build_info{version}`.
//!
//! `api` is the signing name of the API (`kms`), or `sealtrail` for the server's own
//! endpoints, or `none`; `operation` is the AWS operation for an authenticated call the API
//! knows, otherwise `-`, so unauthenticated clients cannot grow the label set. The number of
//! series is capped all the same ([`MAX_SERIES`]); beyond it, series fold into
//! `operation="other"`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Histogram bucket upper bounds, in seconds.
pub const BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The largest number of `(api, operation)` pairs tracked.
pub const MAX_SERIES: usize = 512;

#[derive(Debug, Default)]
struct Series {
    by_status: RwLock<HashMap<u16, Arc<AtomicU64>>>,
    /// Per-bucket counts (not cumulative: one increment per request); the exposition sums
    /// them. The last slot counts observations above every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

/// The server's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// By API, then operation: looked up with `&str`, without allocating.
    series: RwLock<HashMap<String, HashMap<String, Arc<Series>>>>,
    in_flight: AtomicI64,
}

/// Decrements the in-flight gauge when dropped.
#[derive(Debug)]
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Empty metrics.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records one answered request.
    pub fn record(&self, api: &str, operation: &str, status: u16, elapsed: Duration) {
        let series = self.series(api, operation);
        let counter = {
            let known = series
                .by_status
                .read()
                .ok()
                .and_then(|m| m.get(&status).cloned());
            match known {
                Some(c) => c,
                None => match series.by_status.write() {
                    Ok(mut m) => m.entry(status).or_default().clone(),
                    Err(_) => return,
                },
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|bound| secs <= *bound)
            .unwrap_or(BUCKETS.len());
        if let Some(bucket) = series.buckets.get(slot) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        series.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        series.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn series(&self, api: &str, operation: &str) -> Arc<Series> {
        if let Ok(map) = self.series.read()
            && let Some(s) = map.get(api).and_then(|ops| ops.get(operation))
        {
            return s.clone();
        }
        let Ok(mut map) = self.series.write() else {
            return Arc::default();
        };
        let total: usize = map.values().map(HashMap::len).sum();
        let ops = map.entry(api.to_owned()).or_default();
        let operation = if total >= MAX_SERIES && !ops.contains_key(operation) {
            "other"
        } else {
            operation
        };
        ops.entry(operation.to_owned()).or_default().clone()
    }

    /// The text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let mut snapshot: Vec<((String, String), Arc<Series>)> = self
            .series
            .read()
            .map(|m| {
                m.iter()
                    .flat_map(|(api, ops)| {
                        ops.iter()
                            .map(|(op, s)| ((api.clone(), op.clone()), s.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        snapshot.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::with_capacity(1024 + snapshot.len() * 1024);
        out.push_str(
            "# HELP sealtrail_requests_total Requests answered, by API, operation and HTTP status.\n",
        );
        out.push_str("# TYPE sealtrail_requests_total counter\n");
        for ((api, op), series) in &snapshot {
            let mut statuses: Vec<(u16, u64)> = series
                .by_status
                .read()
                .map(|m| {
                    m.iter()
                        .map(|(s, c)| (*s, c.load(Ordering::Relaxed)))
                        .collect()
                })
                .unwrap_or_default();
            statuses.sort_unstable();
            for (status, count) in statuses {
                let _ = writeln!(
                    out,
                    "sealtrail_requests_total{{api=\"{}\",operation=\"{}\",status=\"{status}\"}} {count}",
                    escape(api),
                    escape(op)
                );
            }
        }
        out.push_str("# HELP sealtrail_request_duration_seconds Time from the request head to the response head.\n");
        out.push_str("# TYPE sealtrail_request_duration_seconds histogram\n");
        for ((api, op), series) in &snapshot {
            let labels = format!("api=\"{}\",operation=\"{}\"", escape(api), escape(op));
            let mut cumulative = 0u64;
            for (bound, bucket) in BUCKETS.iter().zip(&series.buckets) {
                cumulative = cumulative.saturating_add(bucket.load(Ordering::Relaxed));
                let _ = writeln!(
                    out,
                    "sealtrail_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = series.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "sealtrail_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            #[expect(
                clippy::cast_precision_loss,
                reason = "a sum of nanoseconds shown as float seconds"
            )]
            let sum = series.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let _ = writeln!(
                out,
                "sealtrail_request_duration_seconds_sum{{{labels}}} {sum}"
            );
            let _ = writeln!(
                out,
                "sealtrail_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        out.push_str("# HELP sealtrail_requests_in_flight Requests being served.\n");
        out.push_str("# TYPE sealtrail_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "sealtrail_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out.push_str("# HELP sealtrail_build_info The running version.\n");
        out.push_str("# TYPE sealtrail_build_info gauge\n");
        let _ = writeln!(
            out,
            "sealtrail_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

/// Escapes a label value (backslash, double quote, line feed).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let m = Metrics::new();
        {
            let _g = m.start();
            assert!(m.render().contains("sealtrail_requests_in_flight 1\n"));
        }
        m.record("kms", "Encrypt", 200, Duration::from_micros(300));
        m.record("kms", "Encrypt", 200, Duration::from_millis(3));
        m.record("kms", "Encrypt", 400, Duration::from_millis(30));
        m.record("x\"y", "-", 404, Duration::from_millis(1));
        let text = m.render();
        assert!(
            text.contains(
                "sealtrail_requests_total{api=\"kms\",operation=\"Encrypt\",status=\"200\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "sealtrail_requests_total{api=\"kms\",operation=\"Encrypt\",status=\"400\"} 1\n"
        ));
        assert!(text.contains("sealtrail_request_duration_seconds_bucket{api=\"kms\",operation=\"Encrypt\",le=\"0.0005\"} 1\n"), "{text}");
        assert!(text.contains("sealtrail_request_duration_seconds_bucket{api=\"kms\",operation=\"Encrypt\",le=\"0.005\"} 2\n"));
        assert!(text.contains("sealtrail_request_duration_seconds_bucket{api=\"kms\",operation=\"Encrypt\",le=\"+Inf\"} 3\n"));
        assert!(text.contains(
            "sealtrail_request_duration_seconds_count{api=\"kms\",operation=\"Encrypt\"} 3\n"
        ));
        assert!(text.contains("api=\"x\\\"y\""));
        assert!(text.contains("sealtrail_requests_in_flight 0\n"));
    }

    #[test]
    fn series_are_capped() {
        let m = Metrics::new();
        for i in 0..(MAX_SERIES + 10) {
            m.record("kms", &format!("Op{i}"), 200, Duration::ZERO);
        }
        let text = m.render();
        assert!(text.contains("operation=\"other\""));
        assert_eq!(
            text.matches("sealtrail_requests_total{").count(),
            MAX_SERIES + 1
        );
    }
}
