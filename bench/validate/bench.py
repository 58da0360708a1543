#!/usr/bin/env python3
"""Benchmarks of `sealtrail validate-logs` (issue 3, item 9) and of the fixture server they use.

Run with the repository's venv (conformance/setup_venv.sh), release binaries preferred:

    .venv/bin/python bench/validate/bench.py fixture --testkit target/release/sealtrail-testkit [--moto]
    .venv/bin/python bench/validate/bench.py online  --testkit ... --sealtrail target/release/sealtrail --case a|b
    .venv/bin/python bench/validate/bench.py offline --testkit ... --sealtrail ...
    .venv/bin/python bench/validate/bench.py memory  --testkit ... --sealtrail ...

fixture  GetObject throughput of `sealtrail-testkit serve` with a parallel keep-alive client, and
         the AWS CLI's time per request on the same chain served by the fixture and by moto
         (--moto), to show which server is fit for measuring the AWS CLI.
online   `aws cloudtrail validate-logs` and `sealtrail validate-logs` on the same chain from the
         fixture on 127.0.0.1: (a) a week of hourly digests, 12 small log files an hour; (b) a
         day with fewer, large log files (~24 MB uncompressed each). Prints the ratio, and the
         server's own time (handler seconds) per run to show the server is not what is measured.
offline  `sealtrail validate-logs --local` throughput against the machine's limit measured in the
         same run: plain gunzip + SHA-256 of the same files on all cores (Python threads over
         zlib and hashlib, which release the GIL).
memory   peak RSS of `sealtrail validate-logs --local` on a chain and on one 10x longer.

Every process started is stopped by PID. Each subcommand prints one ratio from one run.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import http.client
import importlib.util
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import time
import urllib.request
import zlib
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("conformance_run", REPO / "conformance/validate_logs/run.py")
assert _spec and _spec.loader
conf = importlib.util.module_from_spec(_spec)
sys.modules["conformance_run"] = conf
_spec.loader.exec_module(conf)

TRAIL = conf.TRAIL
KEY = REPO / "testdata/keys/demo-signing-key.pk8"


def gen(testkit: str, out: Path, *args: str, plain: bool = False) -> tuple[Path, Path]:
    """Generates a chain (cached: regenerated only when the arguments change)."""
    copy, keys = out / "copy", out / "public-keys.json"
    stamp = out / "args.json"
    argv = [testkit, "gen", "--key", str(KEY), "--out", str(copy), "--public-keys", str(keys), *args] + (["--plain"] if plain else [])
    want = json.dumps(argv[1:])
    if stamp.exists() and stamp.read_text() == want and copy.exists():
        return copy, keys
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    t = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"gen failed: {r.stderr}")
    print(f"generated in {time.monotonic() - t:.1f}s: {r.stderr.strip()}", flush=True)
    stamp.write_text(want)
    return copy, keys


def trails(out: Path, bucket: str) -> Path:
    p = out / "trails.json"
    p.write_text(json.dumps({"trailList": [{"Name": "mytrail", "S3BucketName": bucket, "TrailARN": TRAIL, "HomeRegion": "us-east-1", "LogFileValidationEnabled": True, "IsOrganizationTrail": False}]}))
    return p


def stats(url: str) -> dict:
    with urllib.request.urlopen(url + "/__fixture/stats") as r:
        return json.loads(r.read())


def timed(argv: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t = time.monotonic()
    r = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return time.monotonic() - t, r


def object_keys(copy: Path, marker: str = "/CloudTrail/") -> list[str]:
    return [k for k, _, _ in conf.copy_objects(copy) if marker in k]


# ---------------------------------------------------------------------------------- fixture


# Neither server verifies signatures, but moto treats a request without credentials as anonymous.
AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20260110/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"}


def _hammer(args: tuple[int, str, list[str], float]) -> tuple[int, int, float]:
    port, bucket, keys, seconds = args
    conn = http.client.HTTPConnection("127.0.0.1", port)
    n = nbytes = 0
    lat = 0.0
    end = time.monotonic() + seconds
    i = os.getpid()
    while time.monotonic() < end:
        key = keys[i % len(keys)]
        i += 1
        t = time.monotonic()
        conn.request("GET", f"/{bucket}/{key}", headers=AUTH)
        r = conn.getresponse()
        body = r.read()
        lat += time.monotonic() - t
        if r.status != 200:
            raise RuntimeError(f"GET {key}: {r.status}")
        n += 1
        nbytes += len(body)
    conn.close()
    return n, nbytes, lat


def throughput(port: int, bucket: str, keys: list[str], clients: int, seconds: float) -> tuple[float, float, float]:
    with multiprocessing.Pool(clients) as pool:
        t = time.monotonic()
        res = pool.map(_hammer, [(port, bucket, keys, seconds)] * clients)
        wall = time.monotonic() - t
    n = sum(r[0] for r in res)
    return n / wall, sum(r[1] for r in res) / wall / 1e6, sum(r[2] for r in res) / max(n, 1) * 1e3


def cmd_fixture(a: argparse.Namespace, procs) -> None:
    work = Path(a.work)
    copy, keys = gen(a.testkit, work / f"fixture-chain-{a.hours}h", "--bucket", "bench-bucket", "--hours", str(a.hours), "--logs-per-hour", "12", "--records-per-log", "5")
    fx = conf.Fixture(procs, a.testkit, ["--copy", str(copy), "--public-keys", str(keys), "--trails", str(trails(work, "bench-bucket"))], work / "fx")
    logs = object_keys(copy)
    before = stats(fx.url)
    rps, mbps, lat = throughput(fx.port, "bench-bucket", logs, a.clients, a.seconds)
    after = stats(fx.url)
    served = after["requests"] - before["requests"]
    busy = after["handler_seconds"] - before["handler_seconds"]
    print(f"fixture GetObject: {rps:,.0f} requests/s ({mbps:.1f} MB/s, {lat:.2f} ms mean latency) with {a.clients} keep-alive client processes for {a.seconds}s on {os.cpu_count()} CPUs")
    print(f"  server: {served} requests, {busy / max(served, 1) * 1e6:.0f} us handler time per request")

    env = base_env(fx.url)
    end = datetime(2026, 1, 10, 1, 0, 0) + timedelta(hours=a.hours)
    argv = [str(Path(sys.executable).parent / "aws"), "cloudtrail", "validate-logs", "--endpoint-url", fx.url, "--trail-arn", TRAIL, "--start-time", "2026-01-10T00:00:00Z", "--end-time", f"{end:%Y-%m-%dT%H:%M:%SZ}"]
    s0 = stats(fx.url)
    secs, r = timed(argv, env)
    s1 = stats(fx.url)
    n = s1["requests"] - s0["requests"]
    print(f"aws cloudtrail validate-logs vs fixture: {secs:.2f}s for {n} requests = {secs / n * 1e3:.1f} ms per request (server busy {s1['handler_seconds'] - s0['handler_seconds']:.3f}s), rc {r.returncode}")
    if a.moto:
        moto = start_moto(procs, work)
        s3 = conf.s3_client(moto)
        t = time.monotonic()
        conf.upload(s3, "bench-bucket", copy)
        print(f"  (uploaded to moto in {time.monotonic() - t:.1f}s)")
        env_m = base_env(moto)
        secs_m, rm = timed(argv, env_m)
        same = (rm.returncode, rm.stdout, rm.stderr) == (r.returncode, r.stdout, r.stderr)
        print(f"aws cloudtrail validate-logs vs moto:    {secs_m:.2f}s for the same {n} requests (S3 from moto) = {secs_m / n * 1e3:.1f} ms per request (same output: {same})")
        rps_m, mbps_m, lat_m = throughput(int(moto.rsplit(":", 1)[1]), "bench-bucket", logs, a.clients, a.seconds)
        print(f"moto GetObject: {rps_m:,.0f} requests/s ({mbps_m:.1f} MB/s, {lat_m:.2f} ms mean latency), same client")
        print(f"ratio fixture/moto GetObject throughput: {rps / rps_m:.1f}x; AWS CLI run time moto/fixture: {secs_m / secs:.2f}x")
    fx.stop()


def base_env(s3: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true", AWS_ENDPOINT_URL_S3=s3)
    return env


def start_moto(procs, work: Path) -> str:
    port = conf.free_port()
    log = open(work / "moto.log", "wb")
    p = procs.start([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    conf.wait_http(url + "/moto-api/", p, "moto_server")
    return url


# ----------------------------------------------------------------------------------- online

CASES = {
    "a": (["--hours", "168", "--logs-per-hour", "12", "--records-per-log", "5"], "2026-01-17T01:00:00Z", 50.0),
    "b": (["--hours", "12", "--logs-per-hour", "2", "--records-per-log", "20000"], "2026-01-10T13:00:00Z", 4.0),
}


def cmd_online(a: argparse.Namespace, procs) -> None:
    work = Path(a.work)
    gen_args, end, goal = CASES[a.case]
    copy, keys = gen(a.testkit, work / f"online-{a.case}", "--bucket", "bench-bucket", *gen_args)
    latency = ["--latency-ms", str(a.latency_ms)] if a.latency_ms else []
    fx = conf.Fixture(procs, a.testkit, ["--copy", str(copy), "--public-keys", str(keys), "--trails", str(trails(work, "bench-bucket")), *latency], work / "fx")
    env = base_env(fx.url)
    args = ["--endpoint-url", fx.url, "--trail-arn", TRAIL, "--start-time", "2026-01-10T00:00:00Z", "--end-time", end]
    if a.latency_ms:
        print(f"(every S3 response delayed by {a.latency_ms} ms: a remote S3 over a network, not the loopback)")
    jobs = ["--jobs", str(a.jobs)] if a.jobs else []
    results = {}
    for name, argv in (("sealtrail", [a.sealtrail, "validate-logs", *args, *jobs]), ("aws", [str(Path(sys.executable).parent / "aws"), "cloudtrail", "validate-logs", *args])):
        s0 = stats(fx.url)
        secs, r = timed(argv, env)
        s1 = stats(fx.url)
        results[name] = (secs, r, s1["requests"] - s0["requests"], s1["handler_seconds"] - s0["handler_seconds"])
        print(f"{name:>9}: {secs:8.2f}s  rc {r.returncode}  {results[name][2]} requests, server busy {results[name][3]:.2f}s ({results[name][3] / secs * 100:.1f}% of the run)", flush=True)
    (s_secs, s_r, _, _), (a_secs, a_r, _, _) = results["sealtrail"], results["aws"]
    same = (s_r.returncode, s_r.stdout, s_r.stderr) == (a_r.returncode, a_r.stdout, a_r.stderr)
    print(f"case ({a.case}): {len(object_keys(copy))} log files; identical output: {same}")
    print(f"online ratio ({a.case}): sealtrail is {a_secs / s_secs:.1f}x faster than the AWS CLI (goal >= {goal:g}x)")
    fx.stop()


# ---------------------------------------------------------------------------------- offline


def _gunzip_sha(path: str) -> int:
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            out = d.decompress(chunk)
            h.update(out)
            n += len(out)
    h.update(d.flush())
    return n


def cmd_offline(a: argparse.Namespace, procs) -> None:
    work = Path(a.work)
    copy, keys = gen(a.testkit, work / f"offline-{a.case}", "--bucket", "bench-bucket", *CASES[a.case][0])
    files = [str(p) for _, p, _ in conf.copy_objects(copy)]
    total = sum(os.path.getsize(f) for f in files)
    # Warm the page cache for every contender.
    for f in files:
        Path(f).read_bytes()
    runs = a.runs
    # The limit: plain gunzip + SHA-256 of the same files on all cores, nothing else; the best of
    # a native tool (zlib-rs + aws-lc, threads) and Python (zlib + hashlib, threads), best of N.
    # The native limit is timed two ways: its inner loop only (files already listed, process
    # started), and as a whole process from outside, which is how sealtrail is timed (exec,
    # start-up and finding the files included). The ratio uses the like-for-like one.
    # The contenders take turns within each round, so that a change in the machine's load
    # (it is shared) falls on all of them alike rather than on whichever ran last.
    argv = [a.sealtrail, "validate-logs", "--trail-arn", TRAIL, "--start-time", "2026-01-10T00:00:00Z", "--end-time", CASES[a.case][1], "--local", str(copy), "--public-keys", str(keys)]
    native, native_inner, py, ours = [], [], [], []
    for _ in range(runs):
        secs, r = timed([a.testkit, "limit", str(copy)], os.environ.copy())
        if r.returncode != 0:
            sys.exit(f"sealtrail-testkit limit failed: rc {r.returncode}\n{r.stderr[-2000:]}")
        native.append(secs)
        native_inner.append(json.loads(r.stdout)["seconds"])
        t = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            inflated = sum(pool.map(_gunzip_sha, files))
        py.append(time.monotonic() - t)
        secs, r = timed(argv, base_env("http://127.0.0.1:9"))
        if r.returncode != 0:
            sys.exit(f"sealtrail failed: rc {r.returncode}\n{r.stderr[-2000:]}")
        ours.append(secs)
    limit = min(min(native), min(py))
    secs = min(ours)
    print(f"case ({a.case}): {len(files)} files, {total / 1e6:.0f} MB gzipped -> {inflated / 1e6:.0f} MB inflated; best of {runs} rounds, contenders in turn, {os.cpu_count()} CPUs")
    print(f"limit, native gunzip + SHA-256 on all cores: {min(native):.3f}s as a process ({inflated / 1e6 / min(native):.0f} MB/s); inner loop only {min(native_inner):.3f}s")
    print(f"limit, Python zlib + hashlib on all cores:   {min(py):.3f}s ({inflated / 1e6 / min(py):.0f} MB/s)")
    print(f"sealtrail validate-logs --local:             {secs:.3f}s ({inflated / 1e6 / secs:.0f} MB/s), rc {r.returncode}")
    print(f"offline ratio ({a.case}): {limit / secs:.2f} of the machine's limit (goal >= 0.8); against the native inner loop alone: {min(native_inner) / secs:.2f}")


# ----------------------------------------------------------------------------------- memory


def peak_rss_kib(argv: list[str], env: dict) -> tuple[int, int]:
    code = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


def cmd_memory(a: argparse.Namespace, procs) -> None:
    work = Path(a.work)
    rss: dict[tuple[str, str], int] = {}
    for name, hours, end in (("1x", 24, "2026-01-11T01:00:00Z"), ("10x", 240, "2026-01-20T01:00:00Z")):
        copy, keys = gen(a.testkit, work / f"memory-{name}", "--bucket", "bench-bucket", "--hours", str(hours), "--logs-per-hour", "12", "--records-per-log", "20")
        common = [a.sealtrail, "validate-logs", "--trail-arn", TRAIL, "--start-time", "2026-01-10T00:00:00Z", "--end-time", end]
        rc, kib = peak_rss_kib([*common, "--local", str(copy), "--public-keys", str(keys)], base_env("http://127.0.0.1:9"))
        rss[("local", name)] = kib
        print(f"{name:>4} ({hours} hours), --local: peak RSS {kib / 1024:.1f} MiB, rc {rc}")
        fx = conf.Fixture(procs, a.testkit, ["--copy", str(copy), "--public-keys", str(keys), "--trails", str(trails(work, "bench-bucket"))], work / f"fx-mem-{name}")
        rc, kib = peak_rss_kib([*common, "--endpoint-url", fx.url], base_env(fx.url))
        fx.stop()
        rss[("online", name)] = kib
        print(f"{name:>4} ({hours} hours), online: peak RSS {kib / 1024:.1f} MiB, rc {rc}")
    for mode in ("local", "online"):
        print(f"memory ratio ({mode}): 10x chain / 1x chain peak RSS = {rss[(mode, '10x')] / rss[(mode, '1x')]:.2f} (goal <= 1.2)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("fixture", "online", "offline", "memory"):
        s = sub.add_parser(name)
        s.add_argument("--testkit", required=True)
        s.add_argument("--work", default=str(REPO / "target/bench-validate"))
        if name != "fixture":
            s.add_argument("--sealtrail", required=True)
        if name in ("online", "offline"):
            s.add_argument("--case", choices=sorted(CASES), default="a")
        if name == "offline":
            s.add_argument("--runs", type=int, default=3, help="best of N runs for each contender")
        if name == "online":
            s.add_argument("--latency-ms", type=int, default=0, help="delay every fixture response (model a remote S3)")
            s.add_argument("--jobs", type=int, default=0, help="sealtrail --jobs (default: its own default)")
        if name == "fixture":
            s.add_argument("--moto", action="store_true", help="also measure moto_server")
            s.add_argument("--clients", type=int, default=8)
            s.add_argument("--seconds", type=float, default=5.0)
            s.add_argument("--hours", type=int, default=24, help="chain length (12 small log files an hour)")
    a = p.parse_args()
    Path(a.work).mkdir(parents=True, exist_ok=True)
    procs = conf.Procs()
    try:
        {"fixture": cmd_fixture, "online": cmd_online, "offline": cmd_offline, "memory": cmd_memory}[a.cmd](a, procs)
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
