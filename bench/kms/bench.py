#!/usr/bin/env python3
"""KMS throughput: sealtrail serve vs moto_server, the same load generator, the same run.

    cargo build --release -p sealtrail -p sealtrail-bench-kms
    .venv/bin/python bench/kms/bench.py --sealtrail target/release/sealtrail \\
        --loadgen target/release/sealtrail-bench-kms [--concurrency 16] [--duration 10]

Starts `sealtrail serve` (a fresh data directory, the conformance suite's configuration, the
server's default log level) and `moto_server` on 127.0.0.1, then, for Encrypt, Decrypt and
GenerateDataKey in turn, runs `sealtrail-bench-kms` against each (one server under load at a
time) and prints requests/s, p50/p99 latency, the ratio, and how the machine's CPU was split
between the server and the load generator (CPU seconds from /proc and getrusage over the run's
wall time). On sealtrail the caller is the IAM user `alice` (identity policy `kms:*`, key with
the default key policy): every request is authenticated (SigV4) and authorized by both the key
policy and the identity policy. moto checks neither.

Every process started is stopped by PID (its process group). Nothing is asserted: the figures
are printed and, with --out, written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "conformance/kms"))

from harness import MotoTarget, Procs, SealtrailTarget, Target  # noqa: E402

OPS = ["encrypt", "decrypt", "generate-data-key"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load(a: argparse.Namespace, t: Target, who: str, op: str, concurrency: int, keep_alive: bool = True) -> dict:
    p = t.principals[who]
    argv = [a.loadgen, "--endpoint", t.url, "--access-key", p.access_key, "--secret", p.secret, "--op", op,
            "--concurrency", str(concurrency), "--duration", str(a.duration), "--warmup", str(a.warmup), "--threads", str(a.threads), "--json"]
    if not keep_alive:
        argv.append("--no-keep-alive")
    server_pid = t.proc.pid
    s0, c0, w0 = cpu_seconds(server_pid), children_cpu(), time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=a.duration + a.warmup + 120)
    s1, c1, w1 = cpu_seconds(server_pid), children_cpu(), time.monotonic()
    if r.returncode not in (0, 1) or not r.stdout.strip():
        raise RuntimeError(f"load generator failed on {t.name} {op} (exit {r.returncode}): {r.stderr.strip()}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    wall = w1 - w0
    out.update(target=t.name if keep_alive else t.name + " (new connection per request)", wall_s=round(wall, 2), server_cores=round((s1 - s0) / wall, 2), client_cores=round((c1 - c0) / wall, 2))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sealtrail", required=True, help="the sealtrail binary (release build)")
    p.add_argument("--loadgen", required=True, help="the sealtrail-bench-kms binary (release build)")
    p.add_argument("--concurrency", default="16", help="clients (a comma-separated list runs each)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=1, help="load generator runtime threads")
    p.add_argument("--ops", default=",".join(OPS))
    p.add_argument("--out", help="write every run's figures here (JSON)")
    p.add_argument("--also-without-keep-alive", action="store_true",
                   help="also run sealtrail with a new connection per request (moto_server closes every connection itself)")
    a = p.parse_args()
    ops = [o for o in a.ops.split(",") if o]
    levels = [int(c) for c in a.concurrency.split(",") if c]
    os.environ.setdefault("SEALTRAIL_LOG", "info")  # the server's default level, not the test suite's `warn`
    venv = Path(sys.executable).parent
    procs = Procs()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="sealtrail-bench-kms-") as tmp:
            st = SealtrailTarget(procs, str(Path(a.sealtrail).resolve()), Path(tmp) / "sealtrail")
            moto = MotoTarget(procs, venv, Path(tmp) / "moto")
            load1 = os.getloadavg()[0]
            print(f"sealtrail {st.url} (pid {st.proc.pid}), moto_server {moto.url} (pid {moto.proc.pid}); "
                  f"{os.cpu_count()} CPUs, load average {load1:.2f} before the runs", flush=True)
            print(f"concurrency {a.concurrency}, {a.duration:g} s measured after {a.warmup:g} s of warm-up, load generator on {a.threads} thread(s)", flush=True)
            for c in levels:
                for op in ops:
                    runs = [(st, "alice", True), (moto, "admin", True)]
                    if a.also_without_keep_alive:
                        runs.insert(1, (st, "alice", False))
                    for t, who, keep in runs:
                        r = load(a, t, who, op, c, keep)
                        results.append(r)
                        print(f"  c={c:<3} {r['target']:<9} {op:<18} {r['requests_per_s']:>10.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                              f"errors {r['errors']}  CPU: server {r['server_cores']:.2f} cores, load generator {r['client_cores']:.2f} cores", flush=True)
            print(f"load average {os.getloadavg()[0]:.2f} after the runs")
    finally:
        procs.stop_all()

    print()
    print("| clients | operation | sealtrail req/s | p50 ms | p99 ms | moto req/s | p50 ms | p99 ms | ratio | ratio per server core | CPU cores: sealtrail + load gen | CPU cores: moto + load gen |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c in levels:
        for op in ops:
            s = next(r for r in results if r["target"] == "sealtrail" and r["op"] == op and r["concurrency"] == c)
            m = next(r for r in results if r["target"] == "moto" and r["op"] == op and r["concurrency"] == c)
            ratio = s["requests_per_s"] / m["requests_per_s"] if m["requests_per_s"] else float("inf")
            # Requests per CPU-second of the server: moto is one Python process (one core at most
            # for its interpreter), sealtrail uses what the load generator leaves of the two.
            per_core = (s["requests_per_s"] / s["server_cores"]) / (m["requests_per_s"] / m["server_cores"]) if m["requests_per_s"] and s["server_cores"] and m["server_cores"] else float("inf")
            print(f"| {c} | {op} | {s['requests_per_s']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {m['requests_per_s']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | "
                  f"**{ratio:.1f}x** | {per_core:.1f}x | {s['server_cores']:.2f} + {s['client_cores']:.2f} | {m['server_cores']:.2f} + {m['client_cores']:.2f} |")
    closed = [r for r in results if "new connection" in r["target"]]
    if closed:
        print("\nsealtrail with a new TCP connection per request (as moto_server forces on its clients):")
        print("| clients | operation | req/s | p50 ms | p99 ms | ratio to moto | CPU cores: sealtrail + load gen |")
        print("|---|---|---|---|---|---|---|")
        for r in closed:
            m = next(x for x in results if x["target"] == "moto" and x["op"] == r["op"] and x["concurrency"] == r["concurrency"])
            print(f"| {r['concurrency']} | {r['op']} | {r['requests_per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['requests_per_s'] / m['requests_per_s']:.1f}x | {r['server_cores']:.2f} + {r['client_cores']:.2f} |")
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=1) + "\n")
    bad = [r for r in results if r["errors"]]
    if bad:
        print(f"\n{len(bad)} run(s) had errors: " + "; ".join(f"{r['target']} {r['op']}: {r['first_error']}" for r in bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
