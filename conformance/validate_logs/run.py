#!/usr/bin/env python3
"""Conformance of `sealtrail validate-logs` with the real `aws cloudtrail validate-logs`.

    .venv/bin/python conformance/validate_logs/run.py \\
        --sealtrail target/debug/sealtrail --testkit target/debug/sealtrail-testkit --work DIR

For each scenario (a generated chain, uploaded with its metadata to moto's S3 on 127.0.0.1, then
tampered with), it runs the AWS CLI from this venv and sealtrail with the same arguments and
environment, and checks:

  aws      the AWS CLI itself did what the scenario means (exit code, key messages), so that a
           scenario that silently tests nothing is caught;
  online   `sealtrail validate-logs` (S3 from moto, CloudTrail from the fixture): identical
           stdout, stderr and exit code;
  sync     `sealtrail sync s3://BUCKET DIR2`, then `sealtrail validate-logs --local DIR2
           --public-keys FILE`: identical to the AWS CLI's online run;
  plain    `aws s3 sync s3://BUCKET DIR3` (no metadata), then `sealtrail validate-logs --local
           DIR3 --public-keys FILE [--s3-bucket B]`: the same verdicts (file, verdict and gap lines, summary
           counts), the digests sealtrail reports as `unverifiable offline` (the newest of the
           window) and the logs it then skips aside; listed expected differences aside.

The offline runs get a dead endpoint (a bound, never-listening port) for every AWS service: they
must not need the network.

CloudTrail `ListPublicKeys`/`DescribeTrails` and Organizations `DescribeOrganization` come from
`sealtrail-testkit serve` (moto has no ListPublicKeys); the fatal-S3-error scenario uses that
fixture as its S3 endpoint too (moto cannot answer 403). Every process started is stopped by PID
(its process group) at the end, also on failure.

Exit status 0 only when every check passes. Needs only the standard library and boto3.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import dataclasses
import difflib
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Optional

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from procs import Procs, free_port, fresh_workdir, wait_http  # noqa: E402  (conformance/procs.py)

ACCOUNT = "123456789012"
TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/mytrail"
ORG = "o-abcdefghij"
CHAIN_START = "2026-01-10T00:05:00Z"
WINDOW = ["--start-time", "2026-01-10T00:00:00Z", "--end-time", "2026-01-10T09:00:00Z"]
REPO = Path(__file__).resolve().parents[2]
SIGNING_KEY = REPO / "testdata/keys/demo-signing-key.pk8"

# Generated chain variants: extra `sealtrail-testkit gen` arguments.
CHAINS = {
    "std": [],
    "gap": ["--gaps", "3,4"],
    "backfill": ["--backfill", "2,5"],
    "org": ["--organization", ORG],
    "prefix": ["--prefix", "pfx/logs"],
}
CHAIN_PREFIX = {"prefix": "pfx/logs"}
CHAIN_ORG = {"org": ORG}
GEN_COMMON = ["--seed", "7", "--start", CHAIN_START, "--hours", "8", "--logs-per-hour", "3", "--records-per-log", "3"]


class Fixture:
    """`sealtrail-testkit serve` with its own port file."""

    def __init__(self, procs: Procs, testkit: str, args: list[str], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        port_file = workdir / "fixture.port"
        port_file.unlink(missing_ok=True)
        self.log = open(workdir / "fixture.log", "wb")
        self.proc = procs.start([testkit, "serve", *args, "--port-file", str(port_file)], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fixture exited with {self.proc.returncode}: {(workdir / 'fixture.log').read_text()}")
            try:
                self.port = int(port_file.read_text().strip())
                break
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError("fixture did not start")
                time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"
        self._procs = procs

    def stop(self) -> None:
        self._procs.stop(self.proc)
        self.log.close()


# --------------------------------------------------------------------------------------------
# Chains and buckets


def gen_chain(testkit: str, variant: str, bucket: str, out: Path) -> tuple[Path, Path]:
    """Generates `variant` for `bucket` into out/copy (a sync copy) and out/public-keys.json."""
    copy, keys = out / "copy", out / "public-keys.json"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    r = subprocess.run(
        [testkit, "gen", "--key", str(SIGNING_KEY), "--out", str(copy), "--public-keys", str(keys), "--bucket", bucket, *GEN_COMMON, *CHAINS[variant]],
        capture_output=True,
    )
    if r.returncode != 0:
        raise RuntimeError(f"gen {variant} failed: {r.stderr.decode(errors='replace')}")
    return copy, keys


def copy_objects(copy: Path) -> list[tuple[str, Path, dict]]:
    """(key, file, metadata) of every object of a sync copy, in key order."""
    out = []
    meta_root = copy / ".sealtrail-sync" / "meta"
    for root, dirs, files in os.walk(copy):
        if Path(root) == copy and ".sealtrail-sync" in dirs:
            dirs.remove(".sealtrail-sync")
        for f in files:
            path = Path(root) / f
            key = path.relative_to(copy).as_posix()
            meta = {}
            side = meta_root / (key + ".json")
            if side.exists():
                meta = json.loads(side.read_text()).get("metadata", {})
            out.append((key, path, meta))
    out.sort(key=lambda t: t[0].encode())
    return out


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}),
    )


DIGEST_RE = re.compile(r"^(?P<head>.*/CloudTrail-Digest/[^/]+/)(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<name>.*_)(?P<ts>\d{8}T\d{6}Z)(?P<tail>(?:_backfill)?\.json\.gz)$")


class Ctx:
    """What a tamper can see and do: the bucket in moto and the generated copy."""

    def __init__(self, s3, bucket: str, copy: Path) -> None:
        self.s3, self.bucket, self.copy = s3, bucket, copy
        self.keys = [k for k, _, _ in copy_objects(copy)]

    @property
    def digests(self) -> list[str]:
        return [k for k in self.keys if "/CloudTrail-Digest/" in k and not k.endswith("_backfill.json.gz")]

    def digest_json(self, key: str) -> dict:
        return json.loads(gzip.decompress((self.copy / key).read_bytes()))

    def logs_of(self, digest_key: str) -> list[str]:
        return [f["s3Object"] for f in self.digest_json(digest_key)["logFiles"]]

    def get(self, key: str) -> tuple[bytes, dict]:
        r = self.s3.get_object(Bucket=self.bucket, Key=key)
        return r["Body"].read(), r.get("Metadata", {})

    def put(self, key: str, body: bytes, metadata: Optional[dict] = None) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata=metadata or {})

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)


def upload(s3, bucket: str, copy: Path) -> int:
    s3.create_bucket(Bucket=bucket)
    objs = copy_objects(copy)
    for key, path, meta in objs:
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), Metadata=meta)
    return len(objs)


# --------------------------------------------------------------------------------------------
# Tampers


def t_log_modified(c: Ctx) -> str:
    key = c.logs_of(c.digests[3])[0]
    body, _ = c.get(key)
    text = gzip.decompress(body).replace(b'"eventVersion"', b'"eventversion"', 1)
    c.put(key, gzip.compress(text))
    return f"changed the content of {key} (re-gzipped)"


def t_log_deleted(c: Ctx) -> str:
    key = c.logs_of(c.digests[5])[1]
    c.delete(key)
    return f"deleted {key}"


def t_log_trailing(c: Ctx) -> str:
    key = c.logs_of(c.digests[2])[0]
    body, _ = c.get(key)
    c.put(key, body + b"trailing bytes after the gzip member")
    return f"appended bytes after the gzip stream of {key}"


def t_log_not_gzip(c: Ctx) -> str:
    key = c.logs_of(c.digests[4])[2]
    c.put(key, b'{"Records": []}')
    return f"replaced {key} by uncompressed JSON"


def t_digest_deleted(c: Ctx) -> str:
    key = c.digests[3]
    c.delete(key)
    return f"deleted the middle digest {key}"


def t_newest_deleted(c: Ctx) -> str:
    key = c.digests[-1]
    c.delete(key)
    return f"deleted the newest digest {key}"


def t_signature_changed(c: Ctx) -> str:
    key = c.digests[4]
    body, meta = c.get(key)
    sig = meta["signature"]
    meta["signature"] = ("0" if sig[0] != "0" else "1") + sig[1:]
    c.put(key, body, meta)
    return f"re-uploaded {key} with a different signature"


def t_metadata_removed(c: Ctx) -> str:
    key = c.digests[4]
    body, _ = c.get(key)
    c.put(key, body, {})
    return f"re-uploaded {key} without metadata"


def t_digest_garbage(c: Ctx) -> str:
    key = c.digests[5]
    _, meta = c.get(key)
    c.put(key, gzip.compress(b"this is not JSON"), meta)
    return f"replaced {key} by gzipped non-JSON (metadata kept)"


def t_digest_moved(c: Ctx) -> str:
    key = c.digests[4]
    m = DIGEST_RE.match(key)
    assert m, key
    ts = datetime.strptime(m["ts"], "%Y%m%dT%H%M%SZ") - timedelta(minutes=30)
    new = f"{m['head']}{ts:%Y/%m/%d}/{m['name']}{ts:%Y%m%dT%H%M%SZ}{m['tail']}"
    c.s3.copy_object(Bucket=c.bucket, Key=new, CopySource={"Bucket": c.bucket, "Key": key})
    c.delete(key)
    return f"moved {key} to {new} (metadata kept)"


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclasses.dataclass
class Scenario:
    name: str
    chain: str = "std"
    args: list = dataclasses.field(default_factory=lambda: [])  # after --trail-arn and window
    trail_arn: str = TRAIL
    window: Optional[list] = None  # default WINDOW
    tamper: Optional[Callable[[Ctx], str]] = None
    keys: str = "ok"  # ok | wrong-fingerprint | empty | bad-value
    trail: str = "ok"  # ok | org | absent
    deny_first_log: bool = False  # S3 from the fixture, GetObject of one log is 403
    expect_rc: int = 0
    expect: list = dataclasses.field(default_factory=lambda: [])  # substrings of the AWS CLI's output
    sync_diff: Optional[str] = None  # reason the `sync` mode cannot match
    plain_diff: Optional[str] = None  # reason the `plain` mode may differ

    @property
    def bucket(self) -> str:
        return f"ct-{self.name}"[:63]

    def argv(self) -> list[str]:
        return ["--trail-arn", self.trail_arn, *(WINDOW if self.window is None else self.window), *self.args]


DESCRIBE_TRAILS = "the condition comes from DescribeTrails, which an offline run does not call (no network)"
METADATA_ONLY = "the tamper is in S3 metadata only, which a plain copy does not have: offline, each digest's signature comes from its successor's previousDigestSignature, which still holds the original"
ONLINE_ONLY = "an S3 permission error exists only online"

SCENARIOS = [
    Scenario("all-valid", expect=["8/8 digest files valid", "24/24 log files valid"]),
    Scenario("verbose", args=["--verbose"], expect=["Digest file\ts3://", "\tvalid\n", "Log file\ts3://"]),
    Scenario("log-modified", tamper=t_log_modified, expect_rc=1, expect=["INVALID: hash value doesn't match", "23/24 log files valid, 1/24 log files INVALID"]),
    Scenario("log-modified-verbose", args=["--verbose"], tamper=t_log_modified, expect_rc=1, expect=["INVALID: hash value doesn't match"]),
    Scenario("log-deleted", tamper=t_log_deleted, expect_rc=1, expect=["Log file\ts3://", "INVALID: not found"]),
    Scenario("log-trailing-data", tamper=t_log_trailing, expect_rc=1, expect=["INVALID: unexpected data after end of compressed stream"]),
    Scenario("log-not-gzip", tamper=t_log_not_gzip, expect_rc=1, expect=["Log file\ts3://", "INVALID: invalid format"]),
    Scenario("digest-deleted-middle", tamper=t_digest_deleted, expect_rc=1, expect=["Digest file\ts3://", "INVALID: not found", "7/8 digest files valid, 1/8 digest files INVALID"]),
    Scenario("digest-deleted-newest", tamper=t_newest_deleted, expect=["7/7 digest files valid"]),
    Scenario("digest-signature-changed", tamper=t_signature_changed, expect_rc=1, expect=["INVALID: signature verification failed"], plain_diff=METADATA_ONLY),
    Scenario("digest-metadata-removed", tamper=t_metadata_removed, expect_rc=1, expect=["INVALID: signature verification failed"], plain_diff=METADATA_ONLY),
    Scenario("digest-invalid-format", tamper=t_digest_garbage, expect_rc=1, expect=["Digest file\ts3://", "INVALID: invalid format"]),
    Scenario("digest-moved", tamper=t_digest_moved, expect_rc=1, expect=["INVALID: has been moved from its original location", "INVALID: not found"]),
    Scenario("public-key-not-found", keys="wrong-fingerprint", expect_rc=1, expect=["INVALID: public key not found in region us-east-1 for fingerprint", "No valid digests found in range"]),
    Scenario("public-key-unloadable", keys="bad-value", expect_rc=1, expect=["INVALID: Unable to load PKCS #1 key with fingerprint"]),
    Scenario("no-public-keys", keys="empty", expect_rc=255, expect=["No public keys found between 2026-01-10T00:00:00Z and 2026-01-10T11:00:00Z"]),
    Scenario("no-digests-in-window", window=["--start-time", "2026-02-01T00:00:00Z", "--end-time", "2026-02-02T00:00:00Z"], expect=["No digests found"]),
    Scenario("window-inside-chain", window=["--start-time", "2026-01-10T03:00:00Z", "--end-time", "2026-01-10T05:30:00Z"], args=["--verbose"], expect=["Results found for"]),
    Scenario("gap", chain="gap", expect=["No log files were delivered by CloudTrail between"]),
    Scenario("gap-verbose", chain="gap", args=["--verbose"], expect=["No log files were delivered by CloudTrail between"]),
    Scenario("backfill", chain="backfill", args=["--verbose"], expect=["(backfill) Digest file\ts3://", "2/2 backfill digest files valid"]),
    Scenario("org-trail", chain="org", trail="org", args=["--account-id", ACCOUNT], expect=["8/8 digest files valid"]),
    Scenario("org-trail-no-account-id", chain="org", trail="org", expect_rc=255, expect=["--account-id"], sync_diff=DESCRIBE_TRAILS, plain_diff=DESCRIBE_TRAILS),
    Scenario("s3-prefix", chain="prefix", args=["--s3-bucket", "ct-s3-prefix", "--s3-prefix", "pfx/logs"], expect=["8/8 digest files valid"]),
    Scenario("prefix-from-trail", chain="prefix", expect=["8/8 digest files valid"]),
    Scenario("trail-not-found", trail="absent", expect_rc=255, expect=["A trail could not be found for"], sync_diff=DESCRIBE_TRAILS, plain_diff=DESCRIBE_TRAILS),
    Scenario("fatal-s3-access-denied", deny_first_log=True, expect_rc=255, expect=["An error occurred (AccessDenied) when calling the GetObject operation: Access Denied"], sync_diff=ONLINE_ONLY, plain_diff=ONLINE_ONLY),
    Scenario("invalid-trail-arn", trail_arn=f"arn:aws:cloudtrail:us-east-1:12345:trail/mytrail", expect_rc=255, expect=["Invalid trail ARN provided: arn:aws:cloudtrail:us-east-1:12345:trail/mytrail"]),
    Scenario("start-after-end", window=["--start-time", "2026-01-10T09:00:00Z", "--end-time", "2026-01-10T00:00:00Z"], expect_rc=255, expect=["Invalid time range specified: start-time must occur before end-time"]),
]

# --------------------------------------------------------------------------------------------
# Running and comparing


@dataclasses.dataclass
class Run:
    rc: Optional[int]
    stdout: str
    stderr: str
    seconds: float = 0.0

    def text(self) -> str:
        return f"exit code: {self.rc}\n--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}"


def run(argv: list[str], env: dict, timeout: float = 180) -> Run:
    t = time.monotonic()
    try:
        r = subprocess.run(argv, env=env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError as e:
        return Run(None, "", f"cannot run: {e}\n")
    except subprocess.TimeoutExpired:
        return Run(None, "", f"timed out after {timeout}s\n", timeout)
    return Run(r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"), time.monotonic() - t)


def diff(expected: Run, actual: Run, a: str, b: str) -> str:
    lines = difflib.unified_diff(
        expected.text().splitlines(keepends=True), actual.text().splitlines(keepends=True), fromfile=a, tofile=b, n=2
    )
    return "".join(l if l.endswith("\n") else l + "\n" for l in lines).replace("\t", "<TAB>")


VERDICT_RE = re.compile(r"^(?P<kind>(?:\(backfill\) )?(?:Digest|Log) file)\t(?P<url>s3://\S+)\t(?P<verdict>.*)$")
COUNT_RE = re.compile(r"^(?P<v>\d+)/(?P<t>\d+) (?P<kind>digest|backfill digest|log) files valid(?:, (?P<i>\d+)/\d+ (?:digest|backfill digest|log) files INVALID)?")


def verdicts(r: Run) -> tuple[dict, set, dict]:
    """(url -> (kind, verdict)), gap lines, kind -> (valid, invalid) from a run's output."""
    found, gaps, counts = {}, set(), {}
    for line in (r.stdout + r.stderr).splitlines():
        m = VERDICT_RE.match(line)
        if m:
            found[m["url"]] = (m["kind"], m["verdict"])
        elif "No log files were delivered by CloudTrail between" in line:
            gaps.add(line)
        m = COUNT_RE.match(line)
        if m:
            counts[m["kind"]] = (int(m["v"]), int(m["i"] or 0))
    return found, gaps, counts


# How sealtrail marks a digest whose signature a plain copy cannot supply (the newest of the
# window): its verdict line says UNVERIFIED / "unverifiable offline" / "unavailable offline".
UNVERIFIED_RE = re.compile(r"UNVERIFIED|unverifiable offline|unavailable offline", re.IGNORECASE)


def compare_plain(aws: Run, st: Run, plain_dir: Path, verbose: bool) -> tuple[bool, str]:
    """Compares the verdicts of the AWS CLI's online run with sealtrail's on a plain copy.

    Compared: every verdict line (in a verbose run every file has one; otherwise only the
    invalid ones do), the gap lines and the (valid, invalid) counts per kind. Set aside: each
    digest sealtrail reports as unverified offline (its online verdict is taken out of the
    AWS CLI's counts), and its log files if sealtrail skipped them.
    """
    if aws.rc == 255 or st.rc == 255:
        same = aws.rc == st.rc and aws.stderr == st.stderr and aws.stdout == st.stdout
        return same, "" if same else diff(aws, st, "aws (online)", "sealtrail (plain copy)")
    a_found, a_gaps, a_counts_t = verdicts(aws)
    s_found, s_gaps, s_counts = verdicts(st)
    a_counts = {k: list(v) for k, v in a_counts_t.items()}
    notes = []
    skippable_valid_logs = 0  # logs of unverified digests, valid online, that leave no line
    for url in [u for u, (_, v) in s_found.items() if UNVERIFIED_RE.search(v)]:
        kind = "backfill digest" if url.endswith("_backfill.json.gz") else "digest"
        online = a_found.pop(url, (None, "valid"))[1]
        s_found.pop(url)
        notes.append(f"unverified offline (set aside): {url} (online: {online})")
        if kind in a_counts:
            a_counts[kind][0 if online == "valid" else 1] -= 1
        key = url.split("/", 3)[3]
        try:
            logs = json.loads(gzip.decompress((plain_dir / key).read_bytes())).get("logFiles", [])
        except Exception:  # noqa: BLE001 - a digest that does not parse names no log files
            logs = []
        for lf in logs:
            lu = f"s3://{lf.get('s3Bucket')}/{lf.get('s3Object')}"
            if lu in s_found:
                continue  # sealtrail checked it: compared below
            if lu in a_found:  # sealtrail skipped a file the AWS CLI reported
                _, v = a_found.pop(lu)
                if "log" in a_counts:
                    a_counts["log"][0 if v == "valid" else 1] -= 1
            elif not verbose:
                skippable_valid_logs += 1
    a_counts = {k: tuple(v) for k, v in a_counts.items() if v != [0, 0]}
    problems = []
    for url in sorted(set(a_found) | set(s_found)):
        if a_found.get(url) != s_found.get(url):
            problems.append(f"  {url}\n      aws:       {a_found.get(url)}\n      sealtrail: {s_found.get(url)}")
    if a_gaps != s_gaps:
        problems.append(f"  gap lines differ:\n      aws:       {sorted(a_gaps)}\n      sealtrail: {sorted(s_gaps)}")
    s_logs, a_logs = s_counts.get("log"), a_counts.get("log")
    if s_logs and a_logs and skippable_valid_logs and s_logs == (a_logs[0] - skippable_valid_logs, a_logs[1]):
        a_counts["log"] = s_logs  # the unverified digests' valid log files were skipped
        notes.append(f"  {skippable_valid_logs} valid log file(s) of the unverified digest(s) skipped")
    if a_counts != s_counts:
        problems.append(f"  counts (valid, invalid) differ:\n      aws (adjusted): {a_counts}\n      sealtrail:      {s_counts}")
    if aws.rc != st.rc:
        notes.append(f"exit codes: aws {aws.rc}, sealtrail {st.rc} (not compared in this mode)")
    text = "\n".join(notes)
    if problems:
        text += ("\n" if text else "") + "verdicts differ:\n" + "\n".join(problems)
        text += "\n" + diff(aws, st, "aws (online)", "sealtrail (plain copy)")
    return not problems, text


@dataclasses.dataclass
class Result:
    scenario: Scenario
    status: dict = dataclasses.field(default_factory=dict)  # check -> PASS/FAIL/EXPECTED-DIFF/N/A/MISSING
    details: list = dataclasses.field(default_factory=list)
    aws_seconds: float = 0.0
    st_seconds: float = 0.0


class Harness:
    def __init__(self, a: argparse.Namespace, procs: Procs) -> None:
        self.a = a
        self.procs = procs
        self.work = Path(a.work).resolve()
        self.venv = Path(sys.executable).parent
        self.aws = str(self.venv / "aws")
        self.sealtrail = str(Path(a.sealtrail).resolve()) if a.sealtrail else ""
        self.testkit = str(Path(a.testkit).resolve())
        self.sealtrail_ok = bool(self.sealtrail) and os.access(self.sealtrail, os.X_OK)
        # A port that refuses connections: the offline runs' endpoint for every service.
        self.dead = socket.socket()
        self.dead.bind(("127.0.0.1", 0))
        self.dead_url = f"http://127.0.0.1:{self.dead.getsockname()[1]}"

    def env(self, s3: str, orgs: Optional[str] = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
            AWS_ENDPOINT_URL_S3=s3,
            AWS_ENDPOINT_URL_ORGANIZATIONS=orgs or self.dead_url,
        )
        return env

    def start_moto(self) -> str:
        port = free_port()
        log = open(self.work / "moto.log", "wb")
        p = self.procs.start([str(self.venv / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/moto-api/", p, "moto_server")
        return url

    def keys_file(self, s: Scenario, generated: Path, out: Path) -> Path:
        doc = json.loads(generated.read_text())
        keys = doc["PublicKeyList"]
        if s.keys == "wrong-fingerprint":
            for k in keys:
                k["Fingerprint"] = "0123456789abcdef0123456789abcdef"
        elif s.keys == "empty":
            keys = []
        elif s.keys == "bad-value":
            for k in keys:
                k["Value"] = base64.b64encode(b"this is not a DER RSA public key").decode()
        out.write_text(json.dumps({"PublicKeyList": keys}, indent=2) + "\n")
        return out

    def trails_file(self, s: Scenario, out: Path) -> Path:
        trails = []
        if s.trail != "absent":
            t = {
                "Name": "mytrail",
                "S3BucketName": s.bucket,
                "IncludeGlobalServiceEvents": True,
                "IsMultiRegionTrail": False,
                "HomeRegion": "us-east-1",
                "TrailARN": TRAIL,
                "LogFileValidationEnabled": True,
                "HasCustomEventSelectors": False,
                "HasInsightSelectors": False,
                "IsOrganizationTrail": s.trail == "org",
            }
            if s.chain in CHAIN_PREFIX:
                t["S3KeyPrefix"] = CHAIN_PREFIX[s.chain]
            trails.append(t)
        out.write_text(json.dumps({"trailList": trails}, indent=2) + "\n")
        return out

    def run_scenario(self, s: Scenario, moto: str) -> Result:
        res = Result(s)
        d = self.work / "scenarios" / s.name
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        copy, gen_keys = gen_chain(self.testkit, s.chain, s.bucket, d / "chain")
        keys = self.keys_file(s, gen_keys, d / "public-keys.json")
        trails = self.trails_file(s, d / "trails.json")
        fixture_args = ["--public-keys", str(keys), "--trails", str(trails)]
        if s.chain in CHAIN_ORG:
            fixture_args += ["--organization-id", CHAIN_ORG[s.chain]]
        if s.deny_first_log:
            first_log = next(k for k, _, _ in copy_objects(copy) if "/CloudTrail/" in k)
            fixture_args += ["--copy", str(copy), "--deny", first_log]
            res.details.append(f"tamper: S3 is the fixture; GetObject of {first_log} answers 403 AccessDenied")
        fixture = Fixture(self.procs, self.testkit, fixture_args, d)
        try:
            s3_url = fixture.url if s.deny_first_log else moto
            if not s.deny_first_log:
                s3 = s3_client(moto)
                n = upload(s3, s.bucket, copy)
                note = s.tamper(Ctx(s3, s.bucket, copy)) if s.tamper else "none"
                res.details.append(f"uploaded {n} objects to s3://{s.bucket}; tamper: {note}")
            env = self.env(s3_url, fixture.url)
            argv = s.argv()
            aws = run([self.aws, "cloudtrail", "validate-logs", "--endpoint-url", fixture.url, *argv], env)
            res.aws_seconds = aws.seconds
            (d / "aws.out").write_text(aws.text())

            # 1. The AWS CLI did what the scenario means.
            out = aws.stdout + aws.stderr
            missing = [e for e in s.expect if e not in out]
            if aws.rc != s.expect_rc or missing:
                res.status["aws"] = "FAIL"
                res.details.append(f"AWS CLI: expected exit code {s.expect_rc} and {missing!r} in its output:\n{aws.text()}")
            else:
                res.status["aws"] = "PASS"

            if not self.sealtrail_ok:
                for check in ("online", "sync", "plain"):
                    res.status[check] = "MISSING"
                return res

            # 2. Online.
            st = run([self.sealtrail, "validate-logs", "--endpoint-url", fixture.url, *argv], env)
            res.st_seconds = st.seconds
            (d / "sealtrail-online.out").write_text(st.text())
            if (st.rc, st.stdout, st.stderr) == (aws.rc, aws.stdout, aws.stderr):
                res.status["online"] = "PASS"
            else:
                res.status["online"] = "FAIL"
                res.details.append("online: output differs\n" + diff(aws, st, "aws cloudtrail validate-logs", "sealtrail validate-logs"))

            offline_env = self.env(self.dead_url, self.dead_url)
            offline_argv = ["--endpoint-url", self.dead_url, *argv, "--public-keys", str(keys)]

            # 3. A `sealtrail sync` copy: identical output.
            if s.sync_diff == ONLINE_ONLY:
                res.status["sync"] = "N/A"
            else:
                dir2 = d / "sync-copy"
                sync = run([self.sealtrail, "sync", f"s3://{s.bucket}", str(dir2)], self.env(s3_url))
                if sync.rc != 0:
                    res.status["sync"] = "FAIL"
                    res.details.append("sync: `sealtrail sync` failed\n" + sync.text())
                else:
                    loc = run([self.sealtrail, "validate-logs", *offline_argv, "--local", str(dir2)], offline_env)
                    (d / "sealtrail-sync-local.out").write_text(loc.text())
                    if (loc.rc, loc.stdout, loc.stderr) == (aws.rc, aws.stdout, aws.stderr):
                        res.status["sync"] = "PASS"
                    elif s.sync_diff:
                        res.status["sync"] = "EXPECTED-DIFF"
                        res.details.append(f"sync: expected difference ({s.sync_diff}):\n" + diff(aws, loc, "aws cloudtrail validate-logs", "sealtrail validate-logs --local (sync copy)"))
                    else:
                        res.status["sync"] = "FAIL"
                        res.details.append("sync: --local on a sealtrail sync copy differs from the AWS CLI online\n" + diff(aws, loc, "aws cloudtrail validate-logs", "sealtrail validate-logs --local (sync copy)"))

            # 4. An `aws s3 sync` copy: the same verdicts.
            if s.plain_diff == ONLINE_ONLY:
                res.status["plain"] = "N/A"
            else:
                dir3 = d / "plain-copy"
                ps = run([self.aws, "s3", "sync", "--only-show-errors", f"s3://{s.bucket}", str(dir3)], self.env(s3_url))
                if ps.rc != 0:
                    res.status["plain"] = "FAIL"
                    res.details.append("plain: `aws s3 sync` failed\n" + ps.text())
                else:
                    # A plain copy does not know its bucket (nor, offline, the trail's prefix):
                    # give what DescribeTrails would have said.
                    located = list(argv)
                    if "--s3-bucket" not in located:
                        located += ["--s3-bucket", s.bucket]
                        if s.chain in CHAIN_PREFIX:
                            located += ["--s3-prefix", CHAIN_PREFIX[s.chain]]
                    loc = run([self.sealtrail, "validate-logs", "--endpoint-url", self.dead_url, *located, "--public-keys", str(keys), "--local", str(dir3)], offline_env)
                    (d / "sealtrail-plain-local.out").write_text(loc.text())
                    same, text = compare_plain(aws, loc, dir3, "--verbose" in argv)
                    if same:
                        res.status["plain"] = "PASS"
                        if text:
                            res.details.append("plain: " + text)
                    elif s.plain_diff:
                        res.status["plain"] = "EXPECTED-DIFF"
                        res.details.append(f"plain: expected difference ({s.plain_diff}):\n{text}")
                    else:
                        res.status["plain"] = "FAIL"
                        res.details.append("plain: " + text)
            return res
        finally:
            fixture.stop()


CHECKS = ["aws", "online", "sync", "plain"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sealtrail", help="the sealtrail binary (missing: its checks are reported MISSING and fail)")
    p.add_argument("--testkit", required=True, help="the sealtrail-testkit binary")
    p.add_argument("--work", required=True, help="scratch directory (emptied)")
    p.add_argument("--jobs", type=int, default=4, help="scenarios run in parallel")
    p.add_argument("--only", action="append", default=[], help="run only scenarios whose name contains this (repeatable)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    a = p.parse_args()
    if a.list:
        for s in SCENARIOS:
            print(s.name)
        return 0
    scenarios = [s for s in SCENARIOS if not a.only or any(o in s.name for o in a.only)]
    work = Path(a.work).resolve()
    if not fresh_workdir(work):
        return 2

    procs = Procs()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = time.monotonic()
    results: dict[str, Result] = {}
    try:
        h = Harness(a, procs)
        if not h.sealtrail_ok:
            print(f"!!! sealtrail binary {a.sealtrail!r} is missing or not executable: its checks are MISSING (failures)", flush=True)
        moto = h.start_moto()
        print(f"moto_server on {moto}; {len(scenarios)} scenarios, {a.jobs} at a time; work dir {work}", flush=True)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            futures = {pool.submit(h.run_scenario, s, moto): s for s in scenarios}
            for f in concurrent.futures.as_completed(futures):
                s = futures[f]
                try:
                    r = f.result()
                except Exception:  # noqa: BLE001 - reported as a failure of the scenario
                    r = Result(s, {c: "FAIL" for c in CHECKS}, ["harness error:\n" + traceback.format_exc()])
                results[s.name] = r
                print(f"  {s.name:<28} " + " ".join(f"{c}={r.status.get(c, '-')}" for c in CHECKS), flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()

    elapsed = time.monotonic() - started
    print()
    failed = False
    for s in scenarios:
        r = results.get(s.name)
        if r is None:
            continue
        bad = any(v in ("FAIL", "MISSING") for v in r.status.values())
        failed |= bad
        if r.details and (bad or a.only):
            print(f"==== {s.name}")
            for d in r.details:
                print(d.rstrip())
            print()

    print("Expected differences (offline runs cannot see metadata-only tampering, DescribeTrails or online-only failures):")
    for s in scenarios:
        for mode, why in (("sync", s.sync_diff), ("plain", s.plain_diff)):
            if why:
                print(f"  {s.name} [{mode}]: {why}")
    print("  every scenario [plain]: the newest digest of the window cannot be verified without its metadata: set aside (its log files too, if sealtrail skips them)")
    print()
    w = max(len(s.name) for s in scenarios)
    print(f"{'scenario':<{w}}  " + "  ".join(f"{c:<13}" for c in CHECKS) + "  aws s  sealtrail s")
    for s in scenarios:
        r = results.get(s.name) or Result(s, {c: "FAIL" for c in CHECKS})
        print(f"{s.name:<{w}}  " + "  ".join(f"{r.status.get(c, '-'):<13}" for c in CHECKS) + f"  {r.aws_seconds:5.2f}  {r.st_seconds:5.2f}")
    counts: dict[str, int] = {}
    for r in results.values():
        for v in r.status.values():
            counts[v] = counts.get(v, 0) + 1
    n_pass = counts.get("PASS", 0) + counts.get("EXPECTED-DIFF", 0)
    n_fail = counts.get("FAIL", 0) + counts.get("MISSING", 0) + sum(len(CHECKS) for s in scenarios if s.name not in results)
    print()
    print(f"validate-logs conformance: {' '.join(f'{k}={v}' for k, v in sorted(counts.items()))} in {elapsed:.1f}s")
    print(f"{n_pass} passed, {n_fail} failed")
    return 1 if failed or n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
