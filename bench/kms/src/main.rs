//! `sealtrail-bench-kms`: a closed-loop load generator for a KMS endpoint (sealtrail, moto or
//! anything that speaks AWS JSON 1.1). It signs every request with SigV4 itself, keeps one
//! HTTP/1.1 keep-alive connection per client, and drives `Encrypt`, `Decrypt` or
//! `GenerateDataKey` at a fixed concurrency for a fixed time, then prints requests per second
//! and the latency percentiles of the measured window (after a warm-up).
//!
//! ```sh
//! sealtrail-bench-kms --endpoint http://127.0.0.1:4599 --access-key AKIA... --secret ... \
//!     --op encrypt --concurrency 16 --duration 10 [--json]
//! ```
//!
//! Before the load it creates a key (unless `--key-id`), makes a ciphertext for `Decrypt`, and
//! checks one answer of each operation (a Decrypt gives the plaintext back, a data key has 32
//! bytes), so that a server answering errors quickly cannot pass for a fast one. Every
//! response in the window must be HTTP 200; others are counted as errors and make the exit
//! status 1.

mod http;
mod sigv4;

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Parser;
use serde_json::{Value, json};

use crate::http::Connection;
use crate::sigv4::{CONTENT_TYPE, Signer, amz_date, payload_hash};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    about = "KMS load generator: requests/s and latency percentiles over HTTP/1.1 with SigV4"
)]
struct Args {
    /// The endpoint, `http://HOST:PORT` (plain HTTP).
    #[arg(long)]
    endpoint: String,
    /// The access key id.
    #[arg(long)]
    access_key: String,
    /// The secret access key.
    #[arg(long)]
    secret: String,
    /// The region in the signature.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Use this key (id or ARN) instead of creating one.
    #[arg(long)]
    key_id: Option<String>,
    /// The operation: encrypt, decrypt or generate-data-key.
    #[arg(long, value_parser = ["encrypt", "decrypt", "generate-data-key"])]
    op: String,
    /// Clients, each with its own connection and one request in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Runtime worker threads of the load generator (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Send no encryption context (by default every request carries a CloudTrail-shaped one).
    #[arg(long)]
    no_context: bool,
    /// Send `Connection: close`: a new TCP connection for every request (moto_server closes
    /// every connection itself; this measures sealtrail under the same handicap).
    #[arg(long)]
    no_keep_alive: bool,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

/// A ready-to-sign request of one operation.
#[derive(Clone)]
struct Template {
    target: String,
    body: Vec<u8>,
    payload_hash: String,
    close: bool,
}

impl Template {
    fn new(op: &str, body: &Value) -> Self {
        let body = body.to_string().into_bytes();
        Self {
            target: format!("TrentService.{op}"),
            payload_hash: payload_hash(&body),
            body,
            close: false,
        }
    }

    fn request(&self, signer: &mut Signer, host: &str) -> Vec<u8> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let date = amz_date(now);
        let auth = signer.authorization(host, &self.target, &date, &self.payload_hash);
        let mut req = format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {CONTENT_TYPE}\r\nX-Amz-Target: {}\r\nX-Amz-Date: {date}\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n{}\r\n",
            self.target,
            self.body.len(),
            if self.close { "Connection: close\r\n" } else { "" }
        )
        .into_bytes();
        req.extend_from_slice(&self.body);
        req
    }
}

/// One client's results.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    opened: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sealtrail-bench-kms: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sealtrail-bench-kms: {e}");
            ExitCode::from(2)
        }
    }
}

/// One signed call outside the load (setup and checks): the parsed JSON answer.
async fn call(
    conn: &mut Connection,
    signer: &mut Signer,
    host: &str,
    op: &str,
    body: &Value,
) -> Result<Value, String> {
    let req = Template::new(op, body).request(signer, host);
    let resp = conn
        .round_trip(&req)
        .await
        .map_err(|e| format!("{op}: {e}"))?;
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    if resp.status != 200 {
        return Err(format!("{op}: HTTP {}: {text}", resp.status));
    }
    serde_json::from_str(&text).map_err(|e| format!("{op}: the answer is not JSON ({e}): {text}"))
}

fn field<'a>(v: &'a Value, name: &str, op: &str) -> Result<&'a str, String> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{op}: no `{name}` in {v}"))
}

async fn run(args: Args) -> Result<bool, String> {
    let host = args
        .endpoint
        .strip_prefix("http://")
        .ok_or("--endpoint must be http://HOST:PORT")?
        .trim_end_matches('/')
        .to_owned();
    let mut signer = Signer::new(&args.access_key, &args.secret, &args.region, "kms");
    let mut conn = Connection::new(&host);
    let key_id = match &args.key_id {
        Some(k) => k.clone(),
        None => {
            let created = call(
                &mut conn,
                &mut signer,
                &host,
                "CreateKey",
                &json!({"Description": "sealtrail-bench-kms"}),
            )
            .await?;
            created
                .get("KeyMetadata")
                .and_then(|m| m.get("KeyId"))
                .and_then(Value::as_str)
                .ok_or_else(|| format!("CreateKey: no KeyMetadata.KeyId in {created}"))?
                .to_owned()
        }
    };
    let context = if args.no_context {
        json!({})
    } else {
        json!({"aws:cloudtrail:arn": "arn:aws:cloudtrail:us-east-1:123456789012:trail/bench", "aws:s3:arn": "arn:aws:s3:::bench-bucket/AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/10/log.json.gz"})
    };
    let plaintext: Vec<u8> = (0u8..32).collect();
    let encrypt =
        json!({"KeyId": key_id, "Plaintext": B64.encode(&plaintext), "EncryptionContext": context});
    let encrypted = call(&mut conn, &mut signer, &host, "Encrypt", &encrypt).await?;
    let blob = field(&encrypted, "CiphertextBlob", "Encrypt")?.to_owned();
    let decrypt = json!({"CiphertextBlob": blob, "EncryptionContext": context});
    let decrypted = call(&mut conn, &mut signer, &host, "Decrypt", &decrypt).await?;
    if B64.decode(field(&decrypted, "Plaintext", "Decrypt")?).ok() != Some(plaintext) {
        return Err(format!(
            "Decrypt did not give the plaintext back: {decrypted}"
        ));
    }
    let generate = json!({"KeyId": key_id, "KeySpec": "AES_256", "EncryptionContext": context});
    let generated = call(&mut conn, &mut signer, &host, "GenerateDataKey", &generate).await?;
    if B64
        .decode(field(&generated, "Plaintext", "GenerateDataKey")?)
        .map(|p| p.len())
        .ok()
        != Some(32)
    {
        return Err(format!(
            "GenerateDataKey did not give a 32-byte data key: {generated}"
        ));
    }
    let mut template = match args.op.as_str() {
        "encrypt" => Template::new("Encrypt", &encrypt),
        "decrypt" => Template::new("Decrypt", &decrypt),
        _ => Template::new("GenerateDataKey", &generate),
    };
    template.close = args.no_keep_alive;

    let started = Instant::now();
    let measure_from = started + Duration::from_secs_f64(args.warmup);
    let until = measure_from + Duration::from_secs_f64(args.duration);
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let template = template.clone();
        let host = host.clone();
        let mut signer = Signer::new(&args.access_key, &args.secret, &args.region, "kms");
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::new(&host);
            let mut tally = Tally {
                latencies_us: Vec::with_capacity(1 << 16),
                ..Tally::default()
            };
            loop {
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                let req = template.request(&mut signer, &host);
                let result = conn.round_trip(&req).await;
                let t1 = Instant::now();
                let ok = match result {
                    Ok(resp) if resp.status == 200 => true,
                    Ok(resp) => {
                        tally.first_error.get_or_insert_with(|| {
                            format!(
                                "HTTP {}: {}",
                                resp.status,
                                String::from_utf8_lossy(&resp.body)
                            )
                        });
                        false
                    }
                    Err(e) => {
                        tally.first_error.get_or_insert_with(|| e.to_string());
                        false
                    }
                };
                if t0 >= measure_from && t1 <= until {
                    if ok {
                        let us =
                            u32::try_from(t1.duration_since(t0).as_micros()).unwrap_or(u32::MAX);
                        tally.latencies_us.push(us);
                    } else {
                        tally.errors += 1;
                    }
                }
            }
            tally.opened = conn.opened;
            tally
        }));
    }
    let mut latencies = Vec::new();
    let (mut errors, mut opened, mut first_error) = (0, 0, None);
    for t in tasks {
        let tally = t.await.map_err(|e| format!("a client task failed: {e}"))?;
        latencies.extend(tally.latencies_us);
        errors += tally.errors;
        opened += tally.opened;
        if first_error.is_none() {
            first_error = tally.first_error;
        }
    }
    latencies.sort_unstable();
    let n = latencies.len();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        f64::from(
            latencies
                .get(rank.saturating_sub(1).min(n - 1))
                .copied()
                .unwrap_or(0),
        ) / 1000.0
    };
    let rps = n as f64 / args.duration;
    let summary = json!({
        "endpoint": args.endpoint,
        "op": args.op,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "requests": n,
        "requests_per_s": (rps * 10.0).round() / 10.0,
        "p50_ms": pct(50.0),
        "p90_ms": pct(90.0),
        "p99_ms": pct(99.0),
        "max_ms": pct(100.0),
        "errors": errors,
        "first_error": first_error,
        "connections_opened": opened,
        "keep_alive": !args.no_keep_alive,
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "{} {} c={} {:.1}s: {} requests, {:.1} req/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} errors, {} connections",
            args.endpoint,
            args.op,
            args.concurrency,
            args.duration,
            n,
            rps,
            pct(50.0),
            pct(90.0),
            pct(99.0),
            pct(100.0),
            errors,
            opened
        );
        if let Some(e) = summary.get("first_error").and_then(Value::as_str) {
            println!("first error: {e}");
        }
    }
    Ok(errors == 0 && n > 0)
}
