//! `sealtrail sync s3://BUCKET[/PREFIX] DIR`: a parallel, incremental, crash-safe download of
//! a bucket that, unlike `aws s3 sync`, keeps every object's S3 metadata (where a digest's
//! signature lives), so that `validate-logs --local DIR` gives the online verdicts offline.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use sealtrail_store::{CopySource, LocalCopyWriter, ObjectInfo};
use tokio::io::AsyncWriteExt;

use crate::validate::s3::{Aws, NetworkArgs, S3Store};

/// Arguments of `sealtrail sync`.
#[derive(Debug, clap::Args)]
#[command(long_about = "\
Copies s3://BUCKET[/PREFIX] into DIR, as `aws s3 sync` does (keys below PREFIX become paths
below DIR), and keeps beside each object what S3 said about it: size, ETag, Last-Modified and
the user metadata (x-amz-meta-*). CloudTrail stores each digest's signature only in that
metadata, so this copy can be validated offline with `sealtrail validate-logs --local DIR`
with the same verdicts as online.

Incremental: objects whose ETag and size are unchanged are skipped. Crash-safe: each object
and its record are written to a temporary file, fsynced and renamed into place, so an
interrupted sync leaves a consistent copy; run it again to finish. Keys that are not safe
as paths (`..`, empty segments, ...) are stored under DIR/.sealtrail-sync/unsafe/.

Exit status: 0 when everything was copied, 1 when some objects failed (the rest is kept),
2 on a usage or listing error.")]
pub struct SyncArgs {
    /// The source: s3://BUCKET or s3://BUCKET/PREFIX.
    #[arg(value_name = "S3_URL")]
    pub source: String,
    /// The destination directory (created if needed).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The region of the S3 client used to find the bucket's region.
    #[arg(long)]
    pub region: Option<String>,
    /// A named profile of the AWS shared config and credentials files.
    #[arg(long)]
    pub profile: Option<String>,
    /// Objects downloaded at once.
    #[arg(long, default_value_t = 32)]
    pub jobs: usize,
    /// Print each object copied.
    #[arg(long)]
    pub verbose: bool,
    /// `--cli-read-timeout` and `--cli-connect-timeout`, as in the AWS CLI.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Exit codes of `sealtrail sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncExit {
    /// Everything copied.
    Done = 0,
    /// Some objects failed; the others are in place.
    Partial = 1,
    /// Usage or listing error; nothing was changed.
    Error = 2,
}

impl SyncExit {
    /// The process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Splits `s3://bucket/prefix`.
fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    };
    Some((bucket.to_owned(), prefix))
}

/// Runs `sealtrail sync`.
#[must_use]
pub fn run(args: SyncArgs) -> SyncExit {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sealtrail sync: cannot start the runtime: {e}");
            return SyncExit::Error;
        }
    };
    rt.block_on(run_async(args))
}

struct Stats {
    copied: AtomicU64,
    skipped: AtomicU64,
    failed: AtomicU64,
    bytes: AtomicU64,
}

async fn run_async(args: SyncArgs) -> SyncExit {
    let Some((bucket, prefix)) = parse_s3_url(&args.source) else {
        eprintln!(
            "sealtrail sync: `{}` is not an s3://BUCKET[/PREFIX] URL",
            args.source
        );
        return SyncExit::Error;
    };
    let writer = match LocalCopyWriter::create(
        &args.dir,
        &CopySource {
            bucket: bucket.clone(),
            prefix: prefix.clone(),
        },
    ) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            eprintln!("sealtrail sync: {e}");
            return SyncExit::Error;
        }
    };
    let tmp_dir = args.dir.join(".sealtrail-sync").join("tmp");
    if let Err(e) = std::fs::create_dir_all(&tmp_dir) {
        eprintln!("sealtrail sync: {}: {e}", tmp_dir.display());
        return SyncExit::Error;
    }
    let aws = Aws::load(
        args.region.as_deref(),
        args.profile.as_deref(),
        None,
        args.network,
    )
    .await;
    let store = S3Store::new(aws);
    let mut objects: Vec<ObjectInfo> = Vec::new();
    let listed = store
        .list_all(&bucket, &prefix, &mut |o| {
            if let Some(k) = o.key() {
                objects.push(ObjectInfo {
                    key: k.to_owned(),
                    size: u64::try_from(o.size().unwrap_or(0)).unwrap_or(0),
                    etag: o.e_tag().map(str::to_owned),
                    last_modified: None,
                    metadata: Default::default(),
                });
            }
        })
        .await;
    if let Err(e) = listed {
        eprintln!("sealtrail sync: {e}");
        return SyncExit::Error;
    }
    let stats = Arc::new(Stats {
        copied: AtomicU64::new(0),
        skipped: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
    });
    let total = objects.len() as u64;
    let bar = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new(total);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} objects {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    });
    let counter = Arc::new(AtomicU64::new(0));
    futures::stream::iter(objects)
        .map(|listed| {
            let (store, writer, stats, tmp_dir, bar, counter) = (
                store.clone(),
                writer.clone(),
                stats.clone(),
                tmp_dir.clone(),
                bar.clone(),
                counter.clone(),
            );
            let bucket = bucket.clone();
            let verbose = args.verbose;
            let dir = args.dir.clone();
            async move {
                let result = copy_one(&store, &writer, &bucket, &listed, &tmp_dir, &counter).await;
                match result {
                    Ok(None) => {
                        stats.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Some(bytes)) => {
                        stats.copied.fetch_add(1, Ordering::Relaxed);
                        stats.bytes.fetch_add(bytes, Ordering::Relaxed);
                        if verbose {
                            let line = format!(
                                "download: s3://{bucket}/{} to {}",
                                listed.key,
                                dir.display()
                            );
                            match &bar {
                                Some(pb) => pb.println(line),
                                None => println!("{line}"),
                            }
                        }
                    }
                    Err(e) => {
                        stats.failed.fetch_add(1, Ordering::Relaxed);
                        let line = format!("sealtrail sync: s3://{bucket}/{}: {e}", listed.key);
                        match &bar {
                            Some(pb) => pb.suspend(|| eprintln!("{line}")),
                            None => eprintln!("{line}"),
                        }
                    }
                }
                if let Some(pb) = &bar {
                    pb.inc(1);
                    pb.set_message(format!(
                        "{:.1} MB",
                        stats.bytes.load(Ordering::Relaxed) as f64 / 1e6
                    ));
                }
            }
        })
        .buffer_unordered(args.jobs.max(1))
        .collect::<()>()
        .await;
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    let _ = std::fs::remove_dir(&tmp_dir);
    let finished = match Arc::try_unwrap(writer) {
        Ok(w) => w.finish(),
        Err(_) => Ok(()),
    };
    let failed = stats.failed.load(Ordering::Relaxed);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "synced s3://{bucket}/{prefix} to {}: {} copied ({} bytes), {} unchanged, {failed} failed",
        args.dir.display(),
        stats.copied.load(Ordering::Relaxed),
        stats.bytes.load(Ordering::Relaxed),
        stats.skipped.load(Ordering::Relaxed),
    );
    if let Err(e) = finished {
        eprintln!("sealtrail sync: {e}");
        return SyncExit::Partial;
    }
    if failed > 0 {
        SyncExit::Partial
    } else {
        SyncExit::Done
    }
}

/// Copies one object unless it is current. `Ok(None)`: skipped; `Ok(Some(bytes))`: copied.
async fn copy_one(
    store: &S3Store,
    writer: &Arc<LocalCopyWriter>,
    bucket: &str,
    listed: &ObjectInfo,
    tmp_dir: &Path,
    counter: &AtomicU64,
) -> Result<Option<u64>, String> {
    let current = writer
        .is_current(&listed.key, listed.etag.as_deref(), listed.size)
        .map_err(|e| e.to_string())?;
    if current {
        return Ok(None);
    }
    let Some(mut out) = store.get_object(bucket, &listed.key).await? else {
        // Deleted since the listing.
        return Ok(None);
    };
    let tmp = tmp_dir.join(format!(
        "{}dl-{}-{}",
        sealtrail_store::localcopy::TMP_MARK,
        std::process::id(),
        counter.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut size = 0u64;
    let download: Result<(), String> = async {
        while let Some(chunk) = store
            .next_chunk(&mut out.body)
            .await
            .map_err(|e| format!("download failed: {e}"))?
        {
            size += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|e| format!("{}: {e}", tmp.display()))?;
        }
        file.flush()
            .await
            .map_err(|e| format!("{}: {e}", tmp.display()))
    }
    .await;
    drop(file);
    if let Err(e) = download {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    let info = ObjectInfo {
        key: listed.key.clone(),
        size,
        etag: out
            .e_tag()
            .map(str::to_owned)
            .or_else(|| listed.etag.clone()),
        last_modified: out.last_modified().map(|t| t.to_string()),
        metadata: out
            .metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect(),
    };
    let mtime = out
        .last_modified()
        .and_then(|t| u64::try_from(t.secs()).ok())
        .map(|s| std::time::UNIX_EPOCH + Duration::from_secs(s));
    let writer = writer.clone();
    let tmp2 = tmp.clone();
    let put = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut f = std::fs::File::open(&tmp2).map_err(|e| format!("{}: {e}", tmp2.display()))?;
        writer.put(&info, &mut f, mtime).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    let _ = tokio::fs::remove_file(&tmp).await;
    put.map(|()| Some(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls() {
        assert_eq!(parse_s3_url("s3://b"), Some(("b".into(), String::new())));
        assert_eq!(parse_s3_url("s3://b/p"), Some(("b".into(), "p/".into())));
        assert_eq!(
            parse_s3_url("s3://b/p/q/"),
            Some(("b".into(), "p/q/".into()))
        );
        assert_eq!(parse_s3_url("b/p"), None);
        assert_eq!(parse_s3_url("s3:///p"), None);
    }
}
