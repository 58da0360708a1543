"""The machinery of the KMS conformance suite: processes, the two targets, and the recorder
that turns every call into a checked, normalised observation.

A scenario is a function `scenario(k: K)`. It talks to one target through `k` and names each
call it makes (`k.call("encrypt-no-context", "encrypt", KeyId=..., expect=ok(...))`). For every
call the recorder keeps:

- the verdict of the call's AWS expectation (`ok(check)` or `err(code, message)`), which is
  what AWS documents or botocore's model says, never what one implementation happens to do;
- an observation: the response (or error code and message) with everything that legitimately
  varies between runs and servers replaced by stable tokens (key ids and ARNs by `<K1>`...,
  the account by `<acct>`, dates by `<date>`, ciphertext blobs by `<ciphertext>`, random bytes
  by `<N bytes>`). Observations of the same step on two targets are compared by the
  differential (run.py).

Only the standard library and boto3/botocore are used.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import re
import signal
import subprocess
import time
import traceback
import uuid
from pathlib import Path
from typing import Any, Callable, Optional, Union

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from procs import Procs, free_port, tail, wait_http  # noqa: E402  (conformance/procs.py)

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account; sealtrail's admin account in our config
OTHER_ACCOUNT = "444455556666"

# --------------------------------------------------------------------------------------------
# Principals and targets


@dataclasses.dataclass
class Principal:
    """A caller with its access key. `arn` is what AWS puts in an AccessDenied message."""

    name: str
    account: str
    arn: str
    access_key: str
    secret: str


class Target:
    """A running server on 127.0.0.1: `moto` or `sealtrail`."""

    name: str = ""
    url: str = ""
    credentials_file: Path
    profile = "sealtrail"

    def __init__(self) -> None:
        self.principals: dict[str, Principal] = {}

    @property
    def admin(self) -> Principal:
        return self.principals["admin"]

    def env(self, who: str = "admin", **extra: str) -> dict:
        """A clean environment for a client process: the principal's keys, our region, no
        user configuration, and every KMS endpoint pointed at this target."""
        p = self.principals[who]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=p.access_key,
            AWS_SECRET_ACCESS_KEY=p.secret,
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
            AWS_ENDPOINT_URL_KMS=self.url,
            AWS_MAX_ATTEMPTS="1",
        )
        env.update(extra)
        return env


class MotoTarget(Target):
    name = "moto"

    def __init__(self, procs: Procs, venv: Path, work: Path) -> None:
        super().__init__()
        work.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.log_path = work / "moto.log"
        self.log = open(self.log_path, "wb")
        self.proc = procs.start([str(venv / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/moto-api/", self.proc, "moto_server", self.log_path)
        # moto does not check signatures: any key is the default account's root.
        self.principals["admin"] = Principal("admin", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", "AKIAMOTOADMIN0000001", "moto-admin-secret")
        # A credentials file in the shape sealtrail writes, for the AWS CLI scenarios.
        self.credentials_file = work / "credentials"
        self.credentials_file.write_text(f"[{self.profile}]\naws_access_key_id = {self.admin.access_key}\naws_secret_access_key = {self.admin.secret}\n")
        os.chmod(self.credentials_file, 0o600)


# The sealtrail configuration: two accounts, users and roles with identity policies.
# Account A (ACCOUNT) is the admin's; account B (OTHER_ACCOUNT) is the cross-account side.
A_KEYS = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


SEALTRAIL_USERS: list[dict] = [
    # alice: an operator; kms:* from her identity policy.
    dict(account=ACCOUNT, kind="user", name="alice", key="AKIASEALALICE0000001",
         policies=[_policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})]),
    # bob: may use keys but not decrypt (nothing allows kms:Decrypt).
    dict(account=ACCOUNT, kind="user", name="bob", key="AKIASEALBOB000000001",
         policies=[_policy({"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:ReEncrypt*"], "Resource": "*"})]),
    # carol: kms:*, but an explicit identity Deny on kms:Decrypt.
    dict(account=ACCOUNT, kind="user", name="carol", key="AKIASEALCAROL0000001", path="/audit/",
         policies=[_policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
                           {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"})]),
    # dave: no identity policy at all; only key policies that name him give him anything.
    dict(account=ACCOUNT, kind="user", name="dave", key="AKIASEALDAVE00000001", policies=[]),
    # eve: kms:* from her identity policy; key policies deny her.
    dict(account=ACCOUNT, kind="user", name="eve", key="AKIASEALEVE000000001",
         policies=[_policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})]),
    # the auditor role (a session): may describe and encrypt, not decrypt.
    dict(account=ACCOUNT, kind="role", name="auditor", session="audit-session", key="AKIASEALAUDITOR00001",
         policies=[_policy({"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:Encrypt"], "Resource": "*"})]),
    # xbob: account B, his identity policy allows using account A's keys.
    dict(account=OTHER_ACCOUNT, kind="user", name="xbob", key="AKIASEALXBOB00000001",
         policies=[_policy({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:DescribeKey", "kms:GenerateDataKey"], "Resource": A_KEYS})]),
    # xnobody: account B, no identity policy.
    dict(account=OTHER_ACCOUNT, kind="user", name="xnobody", key="AKIASEALXNOBODY00001", policies=[]),
]


def _toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def sealtrail_config(data_dir: Path, policy_dir: Path) -> tuple[str, dict[str, Principal]]:
    """The TOML configuration and the configured principals (without the admin)."""
    policy_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        f"region = {_toml_str(REGION)}",
        f"admin_account = {_toml_str(ACCOUNT)}",
        f"data_dir = {_toml_str(str(data_dir))}",
        "tick_seconds = 1",
        "shutdown_grace_seconds = 2",
        "",
    ]
    principals: dict[str, Principal] = {}
    for account in (ACCOUNT, OTHER_ACCOUNT):
        lines += ["[[account]]", f"id = {_toml_str(account)}", ""]
        for u in [u for u in SEALTRAIL_USERS if u["account"] == account]:
            secret = f"{u['name']}-secret-{uuid.uuid4().hex}"
            files = []
            for i, doc in enumerate(u["policies"]):
                f = policy_dir / f"{u['name']}-{i}.json"
                f.write_text(doc)
                files.append("{ file = %s }" % _toml_str(str(f)))
            if u["kind"] == "user":
                path = u.get("path", "/")
                lines += ["[[account.user]]", f"name = {_toml_str(u['name'])}", f"path = {_toml_str(path)}"]
                arn = f"arn:aws:iam::{account}:user{path}{u['name']}"
            else:
                lines += ["[[account.role]]", f"name = {_toml_str(u['name'])}", f"session = {_toml_str(u['session'])}"]
                arn = f"arn:aws:sts::{account}:assumed-role/{u['name']}/{u['session']}"
            lines += [f"policies = [{', '.join(files)}]", "access_keys = [{ id = %s, secret = %s }]" % (_toml_str(u["key"]), _toml_str(secret)), ""]
            principals[u["name"]] = Principal(u["name"], account, arn, u["key"], secret)
    return "\n".join(lines) + "\n", principals


def read_credentials(path: Path, profile: str) -> tuple[str, str]:
    """`aws_access_key_id` and `aws_secret_access_key` of `profile` in a shared credentials file."""
    section, values = None, {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section == profile and "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    if "aws_access_key_id" not in values or "aws_secret_access_key" not in values:
        raise RuntimeError(f"{path} has no [{profile}] profile with both keys")
    return values["aws_access_key_id"], values["aws_secret_access_key"]


class SealtrailTarget(Target):
    """`sealtrail serve` on 127.0.0.1:0 with a config we write and a data dir of its own."""

    name = "sealtrail"

    def __init__(self, procs: Procs, binary: str, work: Path, label: str = "sealtrail") -> None:
        super().__init__()
        self.procs, self.binary, self.work, self.label = procs, binary, work, label
        work.mkdir(parents=True, exist_ok=True)
        self.data_dir = work / "data"
        self.config_path = work / "sealtrail.toml"
        text, principals = sealtrail_config(self.data_dir, work / "policies")
        self.config_path.write_text(text)
        self.principals.update(principals)
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self.start()

    def start(self) -> None:
        self.starts += 1
        port_file = self.work / "port"
        port_file.unlink(missing_ok=True)
        self.log_path = self.work / f"serve-{self.starts}.log"
        log = open(self.log_path, "wb")
        argv = [self.binary, "serve", "--config", str(self.config_path), "--data-dir", str(self.data_dir), "--listen", "127.0.0.1:0", "--port-file", str(port_file)]
        env = dict(os.environ, SEALTRAIL_LOG=os.environ.get("SEALTRAIL_LOG", "warn"))
        self.proc = self.procs.start(argv, stdout=log, stderr=log, env=env)
        log.close()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label}: `sealtrail serve` exited with {self.proc.returncode} while starting:\n{tail(self.log_path)}")
            try:
                port = int(port_file.read_text().strip())
                break
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.label}: no port file after 60 s:\n{tail(self.log_path)}")
                time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/_sealtrail/health", self.proc, self.label, self.log_path)
        self.credentials_file = self.data_dir / "credentials"
        key, secret = read_credentials(self.credentials_file, self.profile)
        self.principals["admin"] = Principal("admin", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", key, secret)

    def kill9(self) -> None:
        """SIGKILL to the server's process group: no graceful shutdown, no flush."""
        if self.proc is not None:
            self.procs.kill(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is not None:
            self.procs.stop(self.proc)


# --------------------------------------------------------------------------------------------
# Expectations


class Mismatch(Exception):
    """A response that is not what AWS documents."""


def need(cond: Any, what: str) -> None:
    if not cond:
        raise Mismatch(what)


def short(x: Any, n: int = 400) -> str:
    r = x if isinstance(x, str) else repr(x)
    return r if len(r) <= n else r[: n - 20] + f"... ({len(r)} chars)"


def need_eq(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise Mismatch(f"{what}: expected {short(expected)}, got {short(actual)}")


@dataclasses.dataclass
class Ok:
    check: Optional[Callable[[dict], None]] = None


@dataclasses.dataclass
class Err:
    code: Union[str, tuple]  # a tuple: any of these codes (where AWS's documentation leaves it open)
    # exact text, a compiled regex (fullmatch) or None (any message)
    message: Union[None, str, "re.Pattern[str]"] = None


def ok(check: Optional[Callable[[dict], None]] = None) -> Ok:
    return Ok(check)


def err(code: Union[str, tuple], message: Union[None, str, "re.Pattern[str]"] = None) -> Err:
    return Err(code, message)


@dataclasses.dataclass
class Outcome:
    ok: bool
    resp: dict
    code: str = ""
    message: str = ""
    status: int = 0
    request_id: str = ""  # x-amzn-RequestId, as botocore parsed it

    def __getitem__(self, k: str) -> Any:
        if not self.ok:
            raise Mismatch(f"needed `{k}` of a response, but the call failed with {self.code}: {self.message}")
        return self.resp[k]


@dataclasses.dataclass
class Step:
    id: str  # scenario/step
    verdict: str  # PASS | FAIL
    detail: str
    observation: str  # normalised, JSON
    compare: bool = True  # False: a sealtrail-only step inside a scenario both targets run


class StepAbort(Exception):
    """Raised by `K.call(..., required=True)` when a call the scenario cannot go on without fails."""


# --------------------------------------------------------------------------------------------
# Normalisation

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX64_RE = re.compile(r"\b[0-9a-f]{64}\b")
REQUEST_ID_RE = re.compile(r"\b[0-9A-Za-z]{52}\b")


class Normaliser:
    def __init__(self, account: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        self.account = account

    def name(self, value: str, token: str) -> None:
        self.tokens.append((value, token))
        self.tokens.sort(key=lambda t: -len(t[0]))  # longest first

    def text(self, s: str) -> str:
        for value, token in self.tokens:
            s = s.replace(value, token)
        s = UUID_RE.sub("<uuid>", s)
        s = HEX64_RE.sub("<hex64>", s)
        return s.replace(self.account, "<acct>").replace(OTHER_ACCOUNT, "<acct-b>")

    def value(self, v: Any, key: str = "") -> Any:
        if isinstance(v, dict):
            return {k: self.value(x, k) for k, x in sorted(v.items()) if k != "ResponseMetadata"}
        if isinstance(v, list):
            return [self.value(x, key) for x in v]
        if isinstance(v, (bytes, bytearray)):
            if key in ("CiphertextBlob", "CiphertextForRecipient"):
                return "<ciphertext>"
            return f"<{len(v)} bytes>"
        if isinstance(v, dt.datetime):
            return "<date>"
        if isinstance(v, str):
            return self.text(v)
        return v


# --------------------------------------------------------------------------------------------
# The per-scenario, per-target context


def kms_client(target: Target, who: str = "admin", validate: bool = True, secret: Optional[str] = None, access_key: Optional[str] = None):
    p = target.principals[who]
    return boto3.session.Session().client(
        "kms",
        endpoint_url=target.url,
        region_name=REGION,
        aws_access_key_id=access_key or p.access_key,
        aws_secret_access_key=secret or p.secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=validate, connect_timeout=10, read_timeout=60),
    )


class K:
    """What a scenario sees of one target. Each call is a recorded, checked step."""

    def __init__(self, target: Target, scenario: str, run_id: str, work: Path) -> None:
        self.t = target
        self.scenario = scenario
        self.run_id = run_id  # unique per run: alias names are per account and servers are shared
        self.work = work
        self.steps: list[Step] = []
        self.norm = Normaliser(ACCOUNT)
        self._clients: dict[tuple, Any] = {}
        self._keys = 0
        self._aliases = 0
        self.ctx: Any = None  # run.Context, set by the runner
        self.calls = 0
        self.without_request_id: list[str] = []  # steps whose answer had no x-amzn-RequestId
        self.name(run_id, "<run>")

    @property
    def target(self) -> str:
        return self.t.name

    @property
    def sealtrail(self) -> bool:
        return self.t.name == "sealtrail"

    def name(self, value: str, token: str) -> None:
        self.norm.name(value, token)

    def name_all(self, names: dict) -> None:
        for value, token in names.items():
            self.norm.name(value, token)

    def client(self, who: str = "admin", validate: bool = True):
        key = (who, validate)
        if key not in self._clients:
            self._clients[key] = kms_client(self.t, who, validate)
        return self._clients[key]

    def arn(self, key_id: str, account: str = ACCOUNT) -> str:
        return f"arn:aws:kms:{REGION}:{account}:key/{key_id}"

    def alias_arn(self, name: str, account: str = ACCOUNT) -> str:
        return f"arn:aws:kms:{REGION}:{account}:{name}"

    def new_alias(self) -> str:
        """A fresh alias name, unique in this run, normalised to `alias/<aN>`."""
        self._aliases += 1
        name = f"alias/{self.scenario}-{self.run_id}-{self._aliases}"
        self.name(name[len("alias/"):], f"<a{self._aliases}>")
        return name

    def record(self, step: str, verdict: str, detail: str, observation: Any, compare: bool = True) -> None:
        self.steps.append(Step(f"{self.scenario}/{step}", verdict, detail, json.dumps(observation, sort_keys=True), compare))

    def call(self, step: str, op: str, *, who: str = "admin", validate: bool = True, expect: Union[Ok, Err], observe: Optional[Callable[[dict], Any]] = None, required: bool = False, compare: bool = True, **params) -> Outcome:
        """Calls `op` (a boto3 method name) as `who`, checks `expect`, records the step."""
        c = self.client(who, validate)
        try:
            resp = getattr(c, op)(**params)
            meta = resp.get("ResponseMetadata", {})
            out = Outcome(True, resp, status=meta.get("HTTPStatusCode", 0), request_id=meta.get("RequestId", ""))
        except ClientError as e:
            error = e.response.get("Error", {})
            meta = e.response.get("ResponseMetadata", {})
            out = Outcome(False, {}, error.get("Code", ""), error.get("Message", ""), meta.get("HTTPStatusCode", 0), meta.get("RequestId", ""))
        self.calls += 1
        if not out.request_id:
            self.without_request_id.append(step)
        self.check(step, out, expect, observe, compare)
        if required and not out.ok:
            raise StepAbort(f"{step}: {op} failed ({out.code}: {out.message}); the scenario cannot go on")
        return out

    def check(self, step: str, out: Outcome, expect: Union[Ok, Err], observe: Optional[Callable[[dict], Any]] = None, compare: bool = True) -> bool:
        problems = []
        if isinstance(expect, Ok):
            if not out.ok:
                problems.append(f"expected success, got {out.code} (HTTP {out.status}): {out.message!r}")
            elif expect.check is not None:
                try:
                    expect.check(out.resp)
                except Mismatch as m:
                    problems.append(str(m))
                except (KeyError, TypeError, ValueError, IndexError) as e:
                    problems.append(f"response shape: {type(e).__name__}: {e}")
        else:
            if out.ok:
                problems.append(f"expected {expect.code}, got success: {short(self.norm.value(out.resp))}")
            else:
                codes = expect.code if isinstance(expect.code, tuple) else (expect.code,)
                if out.code not in codes:
                    problems.append(f"expected {' or '.join(codes)}, got {out.code}: {short(out.message)}")
                elif isinstance(expect.message, str) and out.message != expect.message:
                    problems.append(f"{out.code} message:\n      expected {expect.message!r}\n      got      {out.message!r}")
                elif isinstance(expect.message, re.Pattern) and not expect.message.fullmatch(out.message):
                    problems.append(f"{out.code} message:\n      expected /{expect.message.pattern}/\n      got      {out.message!r}")
        verdict = "FAIL" if problems else "PASS"
        if out.ok:
            obs: Any = {"ok": observe(out.resp) if observe else self.norm.value(out.resp)}
        else:
            obs = {"error": out.code, "message": self.norm.text(out.message)}
        obs["meets-aws"] = verdict == "PASS"
        self.record(step, verdict, "; ".join(problems), obs, compare)
        return not problems

    def fact(self, step: str, cond: bool, detail: str, observation: Any = None, compare: bool = True) -> bool:
        """A check that is not one API call (a CLI run, a file scan, a comparison)."""
        self.record(step, "PASS" if cond else "FAIL", "" if cond else detail, {"holds": bool(cond), "seen": observation}, compare)
        return cond

    # Helpers most scenarios need.

    def create_key(self, step: str = "", who: str = "admin", **params) -> str:
        """CreateKey (recorded when `step` is given); the key id, normalised to `<Kn>`."""
        self._keys += 1
        n = self._keys
        c = self.client(who)
        if step:
            out = self.call(step, "create_key", who=who, expect=ok(), required=True, **params)
            kid = out["KeyMetadata"]["KeyId"]
        else:
            try:
                kid = c.create_key(**params)["KeyMetadata"]["KeyId"]
            except ClientError as e:
                raise StepAbort(f"CreateKey as {who} failed: {e}") from e
        self.name(kid, f"<K{n}>")
        return kid

    def steps_failed(self) -> list[Step]:
        return [s for s in self.steps if s.verdict != "PASS"]


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def format_exc() -> str:
    return traceback.format_exc()
