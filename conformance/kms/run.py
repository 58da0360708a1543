#!/usr/bin/env python3
"""Conformance of sealtrail's KMS with real AWS clients, and a differential against moto.

    .venv/bin/python conformance/kms/run.py --target sealtrail --target moto \\
        --sealtrail target/debug/sealtrail --sdk target/debug/sealtrail-conformance-sdk --work DIR

Each `--target` starts its server on 127.0.0.1 (sealtrail: `sealtrail serve` on a fresh data
directory with a configuration this script writes: two accounts, users and a role with access
keys and identity policies; moto: `moto_server`), runs every scenario that applies to it, and
stops every process it started by PID (its process group), also on failure.

Scenarios (see `--list`):

  boto3        every KMS operation of issue 5 item 4: AWS's shapes, errors and messages
  cli          `aws kms ...` with --endpoint-url and the credentials file the server writes
  esdk         `aws-encryption-cli` encrypt/decrypt with a KMS wrapping key on the server
  sdk-rust     the AWS SDK for Rust (conformance/sdk-rust), against the same endpoint
  enforcement  key policies and identity policies enforced (sealtrail only)
  sigv4        signature failures as boto3 sees them (sealtrail only)
  persistence  SIGKILL and restart on the same data directory; a scan for plaintext keys
               (sealtrail only)

Every call is a step with an AWS expectation (what AWS documents or botocore's model says).
A step that fails its expectation fails the run, except on moto when the divergence ledger
(`conformance/divergences.md`, section "KMS: sealtrail vs moto") lists it. With both targets,
the normalised observations of every step are compared: a difference the ledger does not list
fails the run, and so does a ledger entry that no longer differs (the ledger stays true).

Exit status 0 only when every check passes. Needs only the standard library and boto3.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import difflib
import fnmatch
import json
import os
import re
import signal
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import K, MotoTarget, Procs, SealtrailTarget, Step, StepAbort, Target  # noqa: E402
from procs import fresh_workdir  # noqa: E402  (conformance/procs.py, on the path through harness)
from registry import SCENARIOS, Scenario  # noqa: E402

import scenarios_api  # noqa: E402,F401  (registers)
import scenarios_clients  # noqa: E402,F401
import scenarios_sealtrail  # noqa: E402,F401

REPO = Path(__file__).resolve().parents[2]
LEDGER_SECTION = "## KMS: sealtrail vs moto"
TARGETS = ("sealtrail", "moto")


# --------------------------------------------------------------------------------------------
# The ledger


@dataclasses.dataclass
class LedgerEntry:
    steps: list[str]  # globs over step ids (`scenario/step`)
    aspects: list[str]  # globs over difference aspects (see `aspects`)
    line: int

    def covers(self, step_id: str, aspect: str = "*") -> bool:
        return any(fnmatch.fnmatchcase(step_id, s) for s in self.steps) and any(fnmatch.fnmatchcase(aspect, a) for a in self.aspects)


@dataclasses.dataclass
class Ledger:
    differences: list[LedgerEntry]
    sealtrail_only: dict[str, int]  # scenario -> line

    def covering(self, step_id: str, aspect: str) -> list[LedgerEntry]:
        return [e for e in self.differences if e.covers(step_id, aspect)]

    def mentions(self, step_id: str) -> list[LedgerEntry]:
        return [e for e in self.differences if any(fnmatch.fnmatchcase(step_id, s) for s in e.steps)]


def read_ledger(path: Path) -> Ledger:
    """The KMS section of the ledger. Rows of `### Differences`: `| \`step glob\`... |
    \`aspect glob\`... | ... |` (several globs in a cell: any of them). Rows of `### Scenarios
    moto cannot run`: `| \`scenario\` | why |`."""
    lines = path.read_text().splitlines()
    diffs: list[LedgerEntry] = []
    only: dict[str, int] = {}
    in_section, sub = False, ""
    for i, line in enumerate(lines, 1):
        if line.startswith("## "):
            in_section = line.strip() == LEDGER_SECTION
            sub = ""
            continue
        if not in_section:
            continue
        if line.startswith("### "):
            sub = line[4:].strip().lower()
            continue
        if not line.startswith("|") or "`" not in line:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        globs = [re.findall(r"`([^`]+)`", c) for c in cells]
        if sub.startswith("differences") and len(globs) >= 2 and globs[0] and globs[1]:
            diffs.append(LedgerEntry(globs[0], globs[1], i))
        elif sub.startswith("scenarios moto cannot run") and globs[0]:
            only[globs[0][0]] = i
    if not diffs and not only:
        raise RuntimeError(f"{path}: no `{LEDGER_SECTION}` section with ledger tables")
    return Ledger(diffs, only)


def aspects(a: Optional[str], b: Optional[str]) -> list[str]:
    """How two observations of one step differ, as short stable strings:
    `outcome: sealtrail X, moto Y` (success or an error code), `code: ...`, `message`,
    `only sealtrail: Member.Path`, `only moto: Member.Path`, `value: Member.Path` (list items
    are `Path[]`), `not run on <target>`. `meets-aws` is left out: it follows from the rest."""
    if a is None or b is None:
        return ["not run on " + ("sealtrail" if a is None else "moto")]
    x, y = json.loads(a), json.loads(b)
    x.pop("meets-aws", None)
    y.pop("meets-aws", None)
    out: list[str] = []

    def walk(p: object, q: object, path: str) -> None:
        if isinstance(p, dict) and isinstance(q, dict):
            for key in sorted(set(p) | set(q)):
                sub = f"{path}.{key}" if path else str(key)
                if key not in q:
                    out.append(f"only sealtrail: {sub}")
                elif key not in p:
                    out.append(f"only moto: {sub}")
                else:
                    walk(p[key], q[key], sub)
        elif isinstance(p, list) and isinstance(q, list) and len(p) == len(q):
            for u, v in zip(p, q):
                walk(u, v, path + "[]")
        elif p != q:
            out.append(f"value: {path or '(body)'}")

    def outcome(o: dict) -> str:
        return "ok" if "ok" in o else o.get("error", "?")

    if "holds" in x or "holds" in y:
        if x.get("holds") != y.get("holds"):
            out.append(f"holds: sealtrail {x.get('holds')}, moto {y.get('holds')}")
        walk(x.get("seen"), y.get("seen"), "")
    elif "ok" in x and "ok" in y:
        walk(x["ok"], y["ok"], "")
    elif outcome(x) != outcome(y) and ("ok" in x or "ok" in y):
        out.append(f"outcome: sealtrail {outcome(x)}, moto {outcome(y)}")
    else:
        if x.get("error") != y.get("error"):
            out.append(f"code: sealtrail {x.get('error')}, moto {y.get('error')}")
        if x.get("message") != y.get("message"):
            out.append("message")
    return sorted(set(out)) or ["(identical but for meets-aws)"]


# --------------------------------------------------------------------------------------------
# Running


@dataclasses.dataclass
class Run:
    scenario: Scenario
    target: str
    steps: list[Step]
    error: str = ""  # harness error or abort
    seconds: float = 0.0


class Context:
    """What scenarios may need beyond their target: the process table, binaries, the venv."""

    def __init__(self, a: argparse.Namespace, procs: Procs, work: Path) -> None:
        self.procs = procs
        self.work = work
        self.venv = Path(sys.executable).parent
        self.sealtrail = str(Path(a.sealtrail).resolve()) if a.sealtrail else ""
        self.sdk = str(Path(a.sdk).resolve()) if a.sdk else ""


def run_one(s: Scenario, target: Target, ctx: Context, run_id: str) -> Run:
    work = ctx.work / "scenarios" / target.name / s.name
    work.mkdir(parents=True, exist_ok=True)
    k = K(target, s.name, run_id, work)
    k.ctx = ctx
    started = time.monotonic()
    error = ""
    try:
        s.fn(k)
    except StepAbort as e:
        error = f"aborted: {e}"
    except harness.Mismatch as e:
        error = f"aborted: {e}"
    except Exception:  # noqa: BLE001 - reported as a failure of the scenario
        error = "harness error:\n" + traceback.format_exc()
    if k.calls:
        # Every answer, success or error, carries x-amzn-RequestId (botocore's RequestId).
        k.fact("request-ids", not k.without_request_id, f"answers without x-amzn-RequestId: {k.without_request_id}", {"every answer": not k.without_request_id})
    return Run(s, target.name, k.steps, error, time.monotonic() - started)


def start_target(name: str, ctx: Context) -> Target:
    if name == "moto":
        return MotoTarget(ctx.procs, ctx.venv, ctx.work / "moto")
    if not ctx.sealtrail or not os.access(ctx.sealtrail, os.X_OK):
        raise RuntimeError(f"--target sealtrail needs --sealtrail BINARY (got {ctx.sealtrail!r})")
    return SealtrailTarget(ctx.procs, ctx.sealtrail, ctx.work / "sealtrail")


# --------------------------------------------------------------------------------------------
# Verdicts


@dataclasses.dataclass
class Verdicts:
    failures: list[str] = dataclasses.field(default_factory=list)
    known: list[str] = dataclasses.field(default_factory=list)  # moto steps excused by the ledger
    differences: list[str] = dataclasses.field(default_factory=list)  # listed differences seen


def judge(runs: list[Run], targets: list[str], ledger: Ledger, scenarios: list[Scenario], full: bool) -> Verdicts:
    """Failures: a sealtrail step not as AWS; a moto step not as AWS that the ledger does not
    excuse; with both targets, a difference the ledger does not list, and a ledger row that
    matches no difference (when every scenario ran)."""
    v = Verdicts()
    by = {(r.scenario.name, r.target): r for r in runs}
    both = set(targets) == set(TARGETS)
    # The differential first: which (step, aspect) differ, and are they listed?
    unlisted_steps: set[str] = set()
    used: set[int] = set()
    if both:
        for s in scenarios:
            if "moto" not in s.targets:
                continue
            a, b = by.get((s.name, "sealtrail")), by.get((s.name, "moto"))
            if a is None or b is None:
                continue
            sa = {st.id: st for st in a.steps if st.compare}
            sb = {st.id: st for st in b.steps if st.compare}
            order = list(sa) + [x for x in sb if x not in sa]
            for sid in order:
                oa = sa[sid].observation if sid in sa else None
                ob = sb[sid].observation if sid in sb else None
                if oa == ob:
                    continue
                for asp in aspects(oa, ob):
                    rows = ledger.covering(sid, asp)
                    if rows:
                        used.update(r.line for r in rows)
                        v.differences.append(f"{sid}: {asp}  (ledger line {rows[0].line})")
                    else:
                        unlisted_steps.add(sid)
                        v.failures.append(f"[differential] {sid}: {asp} (not in the ledger)\n      sealtrail: {harness.short(oa or '(not run)', 600)}\n      moto:      {harness.short(ob or '(not run)', 600)}")
        if full:
            for e in ledger.differences:
                if e.line not in used:
                    v.failures.append(f"ledger line {e.line}: {e.steps} / {e.aspects} matches no difference any more: remove or fix the row")
    for r in runs:
        if r.error:
            v.failures.append(f"[{r.target}] {r.scenario.name}: {r.error.rstrip()}")
        for st in r.steps:
            if st.verdict == "PASS":
                continue
            # moto may miss AWS's behaviour where the ledger says so: with both targets, the
            # step's differences must all be listed; with moto alone, the ledger must name the step.
            excused = r.target == "moto" and (st.id not in unlisted_steps if both else bool(ledger.mentions(st.id)))
            if excused and both:
                other = by.get((r.scenario.name, "sealtrail"))
                excused = other is not None and any(x.id == st.id and x.observation != st.observation for x in other.steps)
            if excused:
                v.known.append(f"[moto] {st.id}: {st.detail}")
            else:
                v.failures.append(f"[{r.target}] {st.id}: {st.detail}")

    # Scenarios moto cannot run: the ledger lists exactly those.
    sealtrail_only = {s.name for s in SCENARIOS if "moto" not in s.targets}
    for name in sorted(sealtrail_only - set(ledger.sealtrail_only)):
        v.failures.append(f"ledger: sealtrail-only scenario `{name}` is not listed under \"Scenarios moto cannot run\"")
    for name in sorted(set(ledger.sealtrail_only) - sealtrail_only):
        v.failures.append(f"ledger line {ledger.sealtrail_only[name]}: `{name}` is listed as sealtrail-only but is no such scenario")
    return v


def print_differences(runs: list[Run]) -> None:
    groups: dict[str, list[str]] = {}
    steps = {(r.target, st.id): st for r in runs for st in r.steps if st.compare}
    for (target, sid), st in steps.items():
        if target != "sealtrail" or ("moto", sid) not in steps:
            continue
        other = steps[("moto", sid)]
        if st.observation != other.observation:
            for asp in aspects(st.observation, other.observation):
                groups.setdefault(asp, []).append(sid)
    for (target, sid) in steps:
        if target == "moto" and ("sealtrail", sid) not in steps:
            groups.setdefault("not run on sealtrail", []).append(sid)
    print("\nsealtrail/moto differences by aspect:")
    for asp in sorted(groups):
        print(f"  {asp}  ({len(groups[asp])})")
        for sid in groups[asp]:
            print(f"      {sid}")


# --------------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", action="append", choices=TARGETS, default=[], help="a server to test (repeatable; both: the differential)")
    p.add_argument("--sealtrail", help="the sealtrail binary (for --target sealtrail)")
    p.add_argument("--sdk", help="the sealtrail-conformance-sdk binary (the AWS SDK for Rust scenario; missing: that scenario fails)")
    p.add_argument("--work", required=True, help="scratch directory (emptied)")
    p.add_argument("--ledger", default=str(REPO / "conformance/divergences.md"), help="the divergence ledger")
    p.add_argument("--jobs", type=int, default=4, help="scenarios run in parallel per target")
    p.add_argument("--only", action="append", default=[], help="run only scenarios whose name contains this (repeatable)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--verbose", "-v", action="store_true", help="print every step")
    p.add_argument("--differences", action="store_true", help="print every sealtrail/moto difference grouped by aspect (for maintaining the ledger)")
    a = p.parse_args()
    if a.list:
        for s in SCENARIOS:
            print(f"{s.name:<24} {s.group:<12} {'/'.join(s.targets):<16} {s.doc}")
        return 0
    if not a.target:
        p.error("give at least one --target")
    targets = list(dict.fromkeys(a.target))
    scenarios = [s for s in SCENARIOS if not a.only or any(o in s.name for o in a.only)]
    work = Path(a.work).resolve()
    if not fresh_workdir(work):
        return 2
    ledger = read_ledger(Path(a.ledger))

    procs = Procs()
    def on_sigterm(*_: object) -> None:
        # Once: a second SIGTERM must not interrupt the cleanup.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    runs: list[Run] = []
    run_id = uuid.uuid4().hex[:8]
    pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
    try:
        ctx = Context(a, procs, work)
        live: dict[str, Target] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futs = {pool.submit(start_target, t, ctx): t for t in targets}
            for f in concurrent.futures.as_completed(futs):
                live[futs[f]] = f.result()
        for t in targets:
            print(f"{t}: {live[t].url}", flush=True)
        jobs = [(s, live[t]) for s in scenarios for t in targets if t in s.targets]
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs) * len(targets))
        futures = {pool.submit(run_one, s, t, ctx, run_id): (s, t) for s, t in jobs}
        for f in concurrent.futures.as_completed(futures):
            r = f.result()
            runs.append(r)
            bad = sum(st.verdict != "PASS" for st in r.steps) + bool(r.error)
            print(f"  {r.target:<9} {r.scenario.name:<24} {len(r.steps):3d} steps, {bad} not as AWS, {r.seconds:5.1f}s" + ("  (aborted)" if r.error else ""), flush=True)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("interrupted: stopping the servers", file=sys.stderr)
        return 130
    finally:
        # Servers first (so that scenarios still running fail fast), then the threads.
        procs.stop_all()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    runs.sort(key=lambda r: ([s.name for s in SCENARIOS].index(r.scenario.name), targets.index(r.target)))
    if a.verbose:
        for r in runs:
            print(f"\n==== {r.target} {r.scenario.name}")
            for st in r.steps:
                print(f"  {st.verdict:<4} {st.id:<48} {st.observation[:160]}" + (f"\n         {st.detail}" if st.detail else ""))
    full = not a.only
    v = judge(runs, targets, ledger, scenarios, full)
    if a.differences:
        print_differences(runs)
    (work / "steps.json").write_text(json.dumps([{"target": r.target, "scenario": r.scenario.name, "error": r.error, "steps": [dataclasses.asdict(s) for s in r.steps]} for r in runs], indent=1))

    print()
    if v.known:
        print(f"moto steps not as AWS, listed in the ledger ({len(v.known)}):")
        for line in v.known:
            print("  " + line.split("\n")[0][:220])
        print()
    if v.differences:
        print(f"sealtrail vs moto differences, listed in the ledger ({len(v.differences)}):")
        for line in v.differences:
            print("  " + line)
        print()
    w = max(len(s.name) for s in scenarios)
    print(f"{'scenario':<{w}}  {'group':<12}" + "".join(f"  {t:<16}" for t in targets))
    for s in scenarios:
        cells = []
        for t in targets:
            r = next((r for r in runs if r.scenario.name == s.name and r.target == t), None)
            if t not in s.targets:
                cells.append("(not run)")
            elif r is None:
                cells.append("MISSING")
            else:
                n_bad = sum(st.verdict != "PASS" for st in r.steps)
                cells.append(f"{len(r.steps) - n_bad}/{len(r.steps)}" + (" ABORT" if r.error else ""))
        print(f"{s.name:<{w}}  {s.group:<12}" + "".join(f"  {c:<16}" for c in cells))
    print()
    n_steps = sum(len(r.steps) for r in runs)
    if v.failures:
        print(f"FAILURES ({len(v.failures)}):")
        for line in v.failures:
            print("  " + line)
        print()
    print(f"kms conformance: {len(runs)} scenario runs, {n_steps} steps, {len(v.failures)} failures, {len(v.known)} known moto gaps, {len(v.differences)} listed differences, {time.monotonic() - started:.1f}s")
    return 1 if v.failures else 0


if __name__ == "__main__":
    sys.exit(main())
