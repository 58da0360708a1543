"""Scenarios with the other real clients: the AWS CLI (`aws kms ...`), the AWS Encryption SDK
CLI (`aws-encryption-cli`) and the AWS SDK for Rust (the `sealtrail-conformance-sdk` binary).
They run on both targets.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

from harness import ACCOUNT, REGION, K, short
from registry import scenario
from scenarios_api import DEFAULT_POLICY


def run(argv: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, capture_output=True, timeout=timeout)


def show(p: subprocess.CompletedProcess) -> str:
    return f"rc {p.returncode}\n      stdout: {short(p.stdout.decode(errors='replace'))}\n      stderr: {short(p.stderr.decode(errors='replace'))}"


def cli_env(k: K) -> dict:
    """The AWS CLI reads the server's own credentials file (profile `sealtrail`) and nothing else."""
    env = {k2: v for k2, v in os.environ.items() if not k2.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(k.t.credentials_file), AWS_CONFIG_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="", AWS_MAX_ATTEMPTS="1")
    return env


@scenario("aws-cli", "cli")
def aws_cli(k: K) -> None:
    """`aws kms`: create-key, encrypt/decrypt via fileb://, list-keys, get-key-policy, an error's exact text."""
    aws = [str(k.ctx.venv / "aws"), "--endpoint-url", k.t.url, "--region", REGION, "--profile", k.t.profile]
    env = cli_env(k)
    p = run(aws + ["kms", "create-key", "--description", "made by the aws cli", "--output", "json"], env)
    meta = {}
    if p.returncode == 0:
        meta = json.loads(p.stdout).get("KeyMetadata", {})
    kid = meta.get("KeyId", "")
    if kid:
        k.name(kid, "<K1>")
    k.fact("create-key", p.returncode == 0 and meta.get("Arn") == k.arn(kid) and meta.get("Description") == "made by the aws cli" and meta.get("KeyState") == "Enabled",
           "create-key: " + show(p), {"rc": p.returncode, "KeyState": meta.get("KeyState"), "Description": meta.get("Description")})
    if not kid:
        return
    plain = bytes(range(256)) + b"\x00\xff binary, not text"
    (k.work / "in.bin").write_bytes(plain)
    p = run(aws + ["kms", "encrypt", "--key-id", kid, "--plaintext", f"fileb://{k.work / 'in.bin'}", "--encryption-context", "purpose=cli,stage=test",
                   "--query", "CiphertextBlob", "--output", "text"], env)
    ok_enc = p.returncode == 0 and p.stdout.strip() != b""
    k.fact("encrypt-fileb", ok_enc, "encrypt: " + show(p), {"rc": p.returncode})
    if ok_enc:
        (k.work / "ct.bin").write_bytes(base64.b64decode(p.stdout.strip()))
        p = run(aws + ["kms", "decrypt", "--ciphertext-blob", f"fileb://{k.work / 'ct.bin'}", "--encryption-context", "stage=test,purpose=cli",
                       "--query", "Plaintext", "--output", "text"], env)
        got = base64.b64decode(p.stdout.strip()) if p.returncode == 0 else b""
        k.fact("decrypt-fileb", got == plain, f"decrypt: expected the {len(plain)} bytes back; " + show(p), {"rc": p.returncode, "round trip": got == plain})
        p = run(aws + ["kms", "decrypt", "--ciphertext-blob", f"fileb://{k.work / 'ct.bin'}"], env)
        want = "\nAn error occurred (InvalidCiphertextException) when calling the Decrypt operation: \n"
        k.fact("decrypt-no-context", p.returncode == 255 and p.stderr.decode() == want, f"decrypt without the context: expected rc 255 and stderr {want!r}; " + show(p),
               {"rc": p.returncode, "stderr": k.norm.text(p.stderr.decode(errors="replace"))})
    p = run(aws + ["kms", "list-keys", "--output", "json"], env)
    keys = json.loads(p.stdout).get("Keys", []) if p.returncode == 0 else []
    k.fact("list-keys", {"KeyId": kid, "KeyArn": k.arn(kid)} in keys, "list-keys does not list the new key: " + show(p), {"rc": p.returncode, "listed": {"KeyId": kid, "KeyArn": k.arn(kid)} in keys})
    p = run(aws + ["kms", "get-key-policy", "--key-id", kid, "--policy-name", "default", "--query", "Policy", "--output", "text"], env)
    want_policy = (DEFAULT_POLICY % ACCOUNT) + "\n"
    k.fact("get-key-policy-text", p.stdout.decode() == want_policy, "get-key-policy --output text: expected the default policy (spec §4.4) and a newline; " + show(p),
           {"rc": p.returncode, "default text": p.stdout.decode() == want_policy})
    missing = "0a0b0c0d-1111-4222-8333-444455556666"
    p = run(aws + ["kms", "describe-key", "--key-id", missing], env)
    want = f"\nAn error occurred (NotFoundException) when calling the DescribeKey operation: Key '{k.arn(missing)}' does not exist\n"
    k.fact("error-text", p.returncode == 255 and p.stdout == b"" and p.stderr.decode() == want, f"describe-key of a missing key: expected rc 255 and stderr {want!r}; " + show(p),
           {"rc": p.returncode, "stderr": k.norm.text(p.stderr.decode(errors="replace"))})
    p = run(aws + ["kms", "disable-key", "--key-id", kid], env)
    p2 = run(aws + ["kms", "encrypt", "--key-id", kid, "--plaintext", f"fileb://{k.work / 'in.bin'}"], env)
    want = f"\nAn error occurred (DisabledException) when calling the Encrypt operation: {k.arn(kid)} is disabled.\n"
    k.fact("disabled-text", p.returncode == 0 and p2.returncode == 255 and p2.stderr.decode() == want, f"encrypt with a disabled key: expected rc 255 and stderr {want!r}; " + show(p2),
           {"rc": p2.returncode, "stderr": k.norm.text(p2.stderr.decode(errors="replace"))})


@scenario("encryption-sdk-cli", "esdk")
def encryption_sdk_cli(k: K) -> None:
    """`aws-encryption-cli` round trip with a KMS wrapping key on the server; a refused decrypt."""
    kid = k.create_key(Description="esdk wrapping key")
    arn = k.arn(kid)
    esdk = str(k.ctx.venv / "aws-encryption-cli")
    plain = os.urandom(100_000) + b"the end"
    src, ct, back = k.work / "plain.bin", k.work / "plain.bin.encrypted", k.work / "plain.bin.decrypted"
    src.write_bytes(plain)
    env = k.t.env("admin")
    common = ["--wrapping-keys", f"key={arn}", "--encryption-context", "purpose=conformance", "stage=esdk", "--commitment-policy", "require-encrypt-require-decrypt", "-S"]
    p = run([esdk, "--encrypt", "--input", str(src), "--output", str(ct)] + common, env)
    blob = ct.read_bytes() if ct.exists() else b""
    k.fact("encrypt", p.returncode == 0 and len(blob) > len(plain), "aws-encryption-cli --encrypt: " + show(p), {"rc": p.returncode})
    if p.returncode != 0:
        return
    p = run([esdk, "--decrypt", "--input", str(ct), "--output", str(back)] + common, env)
    got = back.read_bytes() if back.exists() else b""
    k.fact("decrypt", p.returncode == 0 and got == plain, "aws-encryption-cli --decrypt: expected the plaintext back; " + show(p), {"rc": p.returncode, "round trip": got == plain})
    # The message's encryption context must hold what --encryption-context requires on
    # decrypt: the CLI skips the file (exit status 0, a warning, no output).
    p = run([esdk, "--decrypt", "--input", str(ct), "--output", str(k.work / "wrong-context.bin"), "--wrapping-keys", f"key={arn}",
             "--encryption-context", "purpose=other", "--commitment-policy", "require-encrypt-require-decrypt", "-S"], env)
    skipped = b"encryption context did not match required elements" in p.stderr
    k.fact("decrypt-wrong-context", skipped and not (k.work / "wrong-context.bin").exists(), "a decrypt requiring another context must be skipped: " + show(p), {"skipped": skipped})
    if k.sealtrail:
        # bob's identity policy lets him encrypt but not decrypt (moto enforces no policy).
        # -vvv: the CLI prints botocore's error (otherwise only `DecryptKeyError`).
        p = run([esdk, "--decrypt", "--input", str(ct), "--output", str(k.work / "bob.bin"), "-vvv"] + common, k.t.env("bob"))
        text = p.stderr.decode(errors="replace")
        want = f"User: {k.t.principals['bob'].arn} is not authorized to perform: kms:Decrypt on resource: {arn} because no identity-based policy allows the kms:Decrypt action"
        k.fact("decrypt-refused", p.returncode != 0 and not (k.work / "bob.bin").exists() and "AccessDeniedException" in text and want in text,
               f"decrypt by bob (no kms:Decrypt) must fail with AccessDeniedException and {want!r}: " + show(p), compare=False)


@scenario("sdk-rust", "sdk-rust")
def sdk_rust(k: K) -> None:
    """The AWS SDK for Rust: CreateKey, Encrypt/Decrypt with context, GenerateDataKey, DescribeKey, AccessDenied."""
    binary = getattr(k.ctx, "sdk", "")
    if not binary or not os.access(binary, os.X_OK):
        k.fact("binary", False, f"the sealtrail-conformance-sdk binary is missing ({binary!r}): build it with `cargo build -p sealtrail-conformance-sdk` and pass --sdk")
        return
    env = k.t.env("admin")
    if k.sealtrail:
        bob = k.t.principals["bob"]
        env.update(SEALTRAIL_SDK_DENIED_ACCESS_KEY_ID=bob.access_key, SEALTRAIL_SDK_DENIED_SECRET_ACCESS_KEY=bob.secret, SEALTRAIL_SDK_DENIED_ARN=bob.arn)
    started = time.monotonic()
    p = run([binary], env, timeout=120)
    lines = [ln for ln in p.stdout.decode(errors="replace").splitlines() if ln.startswith("{")]
    names = set()
    for ln in lines:
        r = json.loads(ln)
        names.add(r["step"])
        k.name_all(r.get("names", {}))
        k.record(r["step"], "PASS" if r["ok"] else "FAIL", r.get("detail", ""), {"holds": r["ok"], "seen": k.norm.value(r.get("observation"))}, compare=r.get("compare", True))
    want = {"create-key", "describe-key", "encrypt-context", "decrypt-context", "decrypt-wrong-context", "generate-data-key", "decrypt-data-key", "list-keys"}
    if k.sealtrail:
        want.add("access-denied")
    # Exit status 1 means a step was not as AWS (recorded above); anything else is a crash.
    k.fact("ran", p.returncode in (0, 1) and want <= names, f"sealtrail-conformance-sdk: exit {p.returncode}, steps missing {sorted(want - names)}, {time.monotonic() - started:.1f}s\n" + short(p.stderr.decode(errors="replace"), 2000),
           {"completed": p.returncode in (0, 1) and want <= names})
