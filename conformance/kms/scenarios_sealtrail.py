"""Scenarios only sealtrail can run: authorization by key policies and identity policies,
SigV4 failures, and persistence across a SIGKILL. moto enforces no key policy (only a Deny on
DescribeKey), checks no signature and keeps its keys in memory; the ledger says so.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from harness import ACCOUNT, OTHER_ACCOUNT, REGION, K, SealtrailTarget, StepAbort, kms_client, need_eq, ok, err
from registry import SEALTRAIL, scenario

ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def stmt(effect: str, principal, actions, condition=None, sid=None) -> dict:
    s = {"Effect": effect, "Principal": principal if isinstance(principal, (dict, str)) else {"AWS": principal}, "Action": actions, "Resource": "*"}
    if sid:
        s = {"Sid": sid, **s}
    if condition:
        s["Condition"] = condition
    return s


def key_policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


# The account may manage the key through IAM, but only these actions: the key policy alone
# decides who may use it.
ROOT_MANAGES = stmt("Allow", {"AWS": ROOT}, ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"], sid="Root manages the key")
ROOT_ALL = stmt("Allow", {"AWS": ROOT}, "kms:*", sid="Enable IAM User Permissions")

WHY = {
    "no-resource": "because no resource-based policy allows the kms:{a} action",
    "no-identity": "because no identity-based policy allows the kms:{a} action",
    "deny-resource": "with an explicit deny in a resource-based policy",
    "deny-identity": "with an explicit deny in an identity-based policy",
}


def denied(k: K, who: str, action: str, resource: str, why: str):
    """AccessDeniedException with AWS's message (spec §4.5)."""
    arn = k.t.principals[who].arn
    return err("AccessDeniedException", f"User: {arn} is not authorized to perform: kms:{action} on resource: {resource} {WHY[why].format(a=action)}")


def plain(k: K, kid: str, pt: bytes):
    def check(r: dict) -> None:
        need_eq(r["Plaintext"], pt, "Plaintext")
        need_eq(r["KeyId"], k.arn(kid), "KeyId")

    return ok(check)


CT_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management"
CT_CTX = {"aws:cloudtrail:arn": CT_ARN, "aws:s3:arn": "arn:aws:s3:::ct-bucket/AWSLogs/x.json.gz"}


@scenario("enforce-identity", "enforcement", SEALTRAIL)
def enforce_identity(k: K) -> None:
    """Default key policy (delegates to IAM): identity policies decide; AWS's AccessDenied texts."""
    kid = k.create_key()
    arn = k.arn(kid)
    e = k.call("alice-encrypts", "encrypt", who="alice", KeyId=kid, Plaintext=b"secret", expect=ok(), required=True)
    blob = e["CiphertextBlob"]
    k.call("alice-decrypts", "decrypt", who="alice", CiphertextBlob=blob, expect=plain(k, kid, b"secret"))
    k.call("bob-encrypts", "encrypt", who="bob", KeyId=arn, Plaintext=b"bob's", expect=ok())
    k.call("bob-decrypt-refused", "decrypt", who="bob", CiphertextBlob=blob, expect=denied(k, "bob", "Decrypt", arn, "no-identity"))
    k.call("bob-decrypt-by-key-id-refused", "decrypt", who="bob", KeyId=kid, CiphertextBlob=blob, expect=denied(k, "bob", "Decrypt", arn, "no-identity"))
    k.call("carol-explicit-deny", "decrypt", who="carol", CiphertextBlob=blob, expect=denied(k, "carol", "Decrypt", arn, "deny-identity"))
    k.call("carol-encrypts", "encrypt", who="carol", KeyId=kid, Plaintext=b"x", expect=ok())
    k.call("dave-describe-refused", "describe_key", who="dave", KeyId=kid, expect=denied(k, "dave", "DescribeKey", arn, "no-identity"))
    k.call("dave-create-key-refused", "create_key", who="dave", expect=denied(k, "dave", "CreateKey", "*", "no-identity"))
    k.call("auditor-describes", "describe_key", who="auditor", KeyId=kid, expect=ok())
    k.call("auditor-decrypt-refused", "decrypt", who="auditor", CiphertextBlob=blob, expect=denied(k, "auditor", "Decrypt", arn, "no-identity"))
    k.call("bob-generate-data-key", "generate_data_key", who="bob", KeyId=kid, KeySpec="AES_256", expect=ok())
    k.call("bob-disable-refused", "disable_key", who="bob", KeyId=kid, expect=denied(k, "bob", "DisableKey", arn, "no-identity"))
    k.call("key-still-enabled", "describe_key", KeyId=kid, expect=ok(lambda r: need_eq(r["KeyMetadata"]["KeyState"], "Enabled", "KeyState")))


@scenario("enforce-key-policy", "enforcement", SEALTRAIL)
def enforce_key_policy(k: K) -> None:
    """A key policy that does not delegate use to IAM: it alone grants; a key-policy Deny beats an identity Allow."""
    policy = key_policy(
        ROOT_MANAGES,
        stmt("Allow", {"AWS": k.t.principals["dave"].arn}, ["kms:Encrypt", "kms:Decrypt"], sid="Dave uses the key"),
        stmt("Allow", {"AWS": [k.t.principals["alice"].arn, k.t.principals["eve"].arn, k.t.principals["carol"].arn]}, "kms:Encrypt", sid="Others encrypt"),
        stmt("Allow", {"AWS": k.t.principals["carol"].arn}, "kms:Decrypt", sid="Carol is allowed here but denied by IAM"),
    )
    kid = k.create_key(Policy=policy)
    arn = k.arn(kid)
    e = k.call("dave-encrypts", "encrypt", who="dave", KeyId=kid, Plaintext=b"dave's", expect=ok(), required=True)
    blob = e["CiphertextBlob"]
    k.call("dave-decrypts", "decrypt", who="dave", CiphertextBlob=blob, expect=plain(k, kid, b"dave's"))
    k.call("alice-decrypt-refused", "decrypt", who="alice", CiphertextBlob=blob, expect=denied(k, "alice", "Decrypt", arn, "no-resource"))
    k.call("alice-describes-via-iam", "describe_key", who="alice", KeyId=kid, expect=ok())  # the root statement delegates DescribeKey to IAM
    k.call("alice-rotation-status-refused", "get_key_rotation_status", who="alice", KeyId=kid, expect=denied(k, "alice", "GetKeyRotationStatus", arn, "no-resource"))
    k.call("carol-identity-deny-wins", "decrypt", who="carol", CiphertextBlob=blob, expect=denied(k, "carol", "Decrypt", arn, "deny-identity"))
    k.call("dave-generate-refused", "generate_data_key", who="dave", KeyId=kid, KeySpec="AES_256", expect=err("AccessDeniedException", re.compile(r"User: .*/dave is not authorized to perform: kms:GenerateDataKey on resource: .* because no (resource|identity)-based policy allows the kms:GenerateDataKey action")))

    # A Deny in the key policy beats an Allow in the identity policy.
    kid2 = k.create_key(Policy=key_policy(ROOT_ALL, stmt("Deny", {"AWS": k.t.principals["eve"].arn}, "kms:Decrypt", sid="Eve never decrypts")))
    arn2 = k.arn(kid2)
    e2 = k.call("eve-encrypts", "encrypt", who="eve", KeyId=kid2, Plaintext=b"eve's", expect=ok(), required=True)
    k.call("eve-key-policy-deny-wins", "decrypt", who="eve", CiphertextBlob=e2["CiphertextBlob"], expect=denied(k, "eve", "Decrypt", arn2, "deny-resource"))
    k.call("alice-decrypts-there", "decrypt", who="alice", CiphertextBlob=e2["CiphertextBlob"], expect=plain(k, kid2, b"eve's"))
    # A Deny for everyone with a condition: decrypt only with an encryption context.
    kid3 = k.create_key(Policy=key_policy(ROOT_ALL, stmt("Deny", "*", "kms:Decrypt", {"Null": {"kms:EncryptionContextKeys": "true"}}, sid="Context required")))
    arn3 = k.arn(kid3)
    e3 = k.call("encrypt-no-context", "encrypt", who="alice", KeyId=kid3, Plaintext=b"x", expect=ok(), required=True)
    e4 = k.call("encrypt-context", "encrypt", who="alice", KeyId=kid3, Plaintext=b"y", EncryptionContext={"k": "v"}, expect=ok(), required=True)
    k.call("deny-star-no-context", "decrypt", who="alice", CiphertextBlob=e3["CiphertextBlob"], expect=denied(k, "alice", "Decrypt", arn3, "deny-resource"))
    k.call("deny-star-root-too", "decrypt", CiphertextBlob=e3["CiphertextBlob"], expect=err("AccessDeniedException", f"User: {ROOT} is not authorized to perform: kms:Decrypt on resource: {arn3} with an explicit deny in a resource-based policy"))
    k.call("deny-star-context-ok", "decrypt", who="alice", CiphertextBlob=e4["CiphertextBlob"], EncryptionContext={"k": "v"}, expect=plain(k, kid3, b"y"))


@scenario("enforce-cross-account", "enforcement", SEALTRAIL)
def enforce_cross_account(k: K) -> None:
    """Cross-account use needs the key policy and the other account's identity policy; keys by ARN only."""
    b_root = f"arn:aws:iam::{OTHER_ACCOUNT}:root"
    shared = k.create_key(Policy=key_policy(ROOT_ALL, stmt("Allow", {"AWS": b_root}, ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], sid="Account B uses the key")))
    private = k.create_key()
    arn, parn = k.arn(shared), k.arn(private)
    e = k.call("xbob-encrypts", "encrypt", who="xbob", KeyId=arn, Plaintext=b"from B", expect=ok(lambda r: need_eq(r["KeyId"], arn, "KeyId")), required=True)
    k.call("xbob-decrypts", "decrypt", who="xbob", CiphertextBlob=e["CiphertextBlob"], expect=plain(k, shared, b"from B"))
    k.call("xbob-describes-by-arn", "describe_key", who="xbob", KeyId=arn, expect=ok(lambda r: need_eq(r["KeyMetadata"]["AWSAccountId"], ACCOUNT, "AWSAccountId")))
    k.call("xbob-by-key-id-is-his-account", "describe_key", who="xbob", KeyId=shared,
           expect=err("NotFoundException", f"Key 'arn:aws:kms:{REGION}:{OTHER_ACCOUNT}:key/{shared}' does not exist"))
    k.call("xnobody-no-identity-policy", "decrypt", who="xnobody", CiphertextBlob=e["CiphertextBlob"], expect=denied(k, "xnobody", "Decrypt", arn, "no-identity"))
    k.call("xnobody-encrypt-refused", "encrypt", who="xnobody", KeyId=arn, Plaintext=b"x", expect=denied(k, "xnobody", "Encrypt", arn, "no-identity"))
    e2 = k.call("a-encrypts-private", "encrypt", KeyId=private, Plaintext=b"A only", expect=ok(), required=True)
    k.call("xbob-no-key-policy", "decrypt", who="xbob", CiphertextBlob=e2["CiphertextBlob"], expect=denied(k, "xbob", "Decrypt", parn, "no-resource"))
    k.call("xbob-encrypt-private-refused", "encrypt", who="xbob", KeyId=parn, Plaintext=b"x", expect=denied(k, "xbob", "Encrypt", parn, "no-resource"))
    # DisableKey is not a cross-account operation; AWS does not say which error that gives.
    k.call("xbob-disable-refused", "disable_key", who="xbob", KeyId=arn, expect=err(("AccessDeniedException", "NotFoundException")))
    k.call("key-still-enabled", "describe_key", KeyId=shared, expect=ok(lambda r: need_eq(r["KeyMetadata"]["KeyState"], "Enabled", "KeyState")))


@scenario("enforce-context", "enforcement", SEALTRAIL)
def enforce_context(k: K) -> None:
    """Encryption-context conditions: StringLike on aws:cloudtrail:arn, EncryptionContextKeys sets, the Null form, §5.1."""
    alice = k.t.principals["alice"].arn
    ct_like = {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}}
    # 1. StringLike on the trail ARN (the CloudTrail statements of spec §5.1).
    k1 = k.create_key(Policy=key_policy(ROOT_MANAGES, stmt("Allow", {"AWS": alice}, ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], ct_like, sid="CloudTrail-shaped use")))
    a1 = k.arn(k1)
    e = k.call("like-encrypt", "encrypt", who="alice", KeyId=k1, Plaintext=b"log", EncryptionContext=CT_CTX, expect=ok(), required=True)
    k.call("like-decrypt", "decrypt", who="alice", CiphertextBlob=e["CiphertextBlob"], EncryptionContext=CT_CTX, expect=plain(k, k1, b"log"))
    k.call("like-generate", "generate_data_key", who="alice", KeyId=k1, KeySpec="AES_256", EncryptionContext=CT_CTX, expect=ok())
    other_trail = {"aws:cloudtrail:arn": f"arn:aws:cloudtrail:{REGION}:{OTHER_ACCOUNT}:trail/t"}
    k.call("like-other-account", "encrypt", who="alice", KeyId=k1, Plaintext=b"x", EncryptionContext=other_trail, expect=denied(k, "alice", "Encrypt", a1, "no-resource"))
    k.call("like-value-case", "encrypt", who="alice", KeyId=k1, Plaintext=b"x", EncryptionContext={"aws:cloudtrail:arn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:Trail/t"}, expect=denied(k, "alice", "Encrypt", a1, "no-resource"))
    k.call("like-no-context", "encrypt", who="alice", KeyId=k1, Plaintext=b"x", expect=denied(k, "alice", "Encrypt", a1, "no-resource"))
    # Condition key names are case-insensitive, the context's key included.
    k2 = k.create_key(Policy=key_policy(ROOT_MANAGES, stmt("Allow", {"AWS": alice}, "kms:Encrypt", {"StringLike": {"KMS:encryptioncontext:AWS:CloudTrail:ARN": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}}, sid="Mixed-case key name")))
    k.call("key-name-case-insensitive", "encrypt", who="alice", KeyId=k2, Plaintext=b"x", EncryptionContext=CT_CTX, expect=ok())

    # 2. kms:EncryptionContextKeys with ForAnyValue and ForAllValues.
    k3 = k.create_key(Policy=key_policy(ROOT_MANAGES, stmt("Allow", {"AWS": alice}, "kms:Encrypt", {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["purpose", "app"]}}, sid="Any of")))
    a3 = k.arn(k3)
    k.call("any-one-listed", "encrypt", who="alice", KeyId=k3, Plaintext=b"x", EncryptionContext={"purpose": "p"}, expect=ok())
    k.call("any-listed-and-other", "encrypt", who="alice", KeyId=k3, Plaintext=b"x", EncryptionContext={"purpose": "p", "other": "o"}, expect=ok())
    k.call("any-only-other", "encrypt", who="alice", KeyId=k3, Plaintext=b"x", EncryptionContext={"other": "o"}, expect=denied(k, "alice", "Encrypt", a3, "no-resource"))
    k.call("any-empty", "encrypt", who="alice", KeyId=k3, Plaintext=b"x", expect=denied(k, "alice", "Encrypt", a3, "no-resource"))
    k4 = k.create_key(Policy=key_policy(ROOT_MANAGES, stmt("Allow", {"AWS": alice}, "kms:Encrypt", {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["purpose", "app"]}}, sid="All of")))
    a4 = k.arn(k4)
    k.call("all-subset", "encrypt", who="alice", KeyId=k4, Plaintext=b"x", EncryptionContext={"purpose": "p"}, expect=ok())
    k.call("all-both", "encrypt", who="alice", KeyId=k4, Plaintext=b"x", EncryptionContext={"purpose": "p", "app": "a"}, expect=ok())
    k.call("all-with-other", "encrypt", who="alice", KeyId=k4, Plaintext=b"x", EncryptionContext={"purpose": "p", "other": "o"}, expect=denied(k, "alice", "Encrypt", a4, "no-resource"))
    k.call("all-empty-passes", "encrypt", who="alice", KeyId=k4, Plaintext=b"x", expect=ok())  # the documented trap

    # 3. The per-user decrypt form of spec §5.1: Null on the trail ARN key.
    k5 = k.create_key(Policy=key_policy(ROOT_MANAGES, stmt("Allow", {"AWS": alice}, "kms:Encrypt", sid="Encrypt"),
                                        stmt("Allow", {"AWS": alice}, "kms:Decrypt", {"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}}, sid="Decrypt log files")))
    a5 = k.arn(k5)
    with_ct = k.call("null-encrypt-ct", "encrypt", who="alice", KeyId=k5, Plaintext=b"log", EncryptionContext=CT_CTX, expect=ok(), required=True)
    without = k.call("null-encrypt-plain", "encrypt", who="alice", KeyId=k5, Plaintext=b"not a log", expect=ok(), required=True)
    k.call("null-decrypt-ct", "decrypt", who="alice", CiphertextBlob=with_ct["CiphertextBlob"], EncryptionContext=CT_CTX, expect=plain(k, k5, b"log"))
    k.call("null-decrypt-plain", "decrypt", who="alice", CiphertextBlob=without["CiphertextBlob"], expect=denied(k, "alice", "Decrypt", a5, "no-resource"))

    # 4. "Allow principals in the account to decrypt log files" (spec §5.1): Principal *,
    #    kms:CallerAccount and the trail ARN; no identity policy needed in the account.
    k6 = k.create_key(Policy=key_policy(ROOT_MANAGES, stmt("Allow", {"AWS": alice}, "kms:Encrypt", sid="Encrypt"),
                                        stmt("Allow", {"AWS": "*"}, ["kms:Decrypt", "kms:ReEncryptFrom"], {"StringEquals": {"kms:CallerAccount": ACCOUNT}, **ct_like}, sid="Allow principals in the account to decrypt log files")))
    a6 = k.arn(k6)
    log = k.call("account-encrypt-log", "encrypt", who="alice", KeyId=k6, Plaintext=b"log", EncryptionContext=CT_CTX, expect=ok(), required=True)
    other = k.call("account-encrypt-other", "encrypt", who="alice", KeyId=k6, Plaintext=b"other", EncryptionContext={"purpose": "x"}, expect=ok(), required=True)
    k.call("account-dave-decrypts", "decrypt", who="dave", CiphertextBlob=log["CiphertextBlob"], EncryptionContext=CT_CTX, expect=plain(k, k6, b"log"))
    k.call("account-bob-decrypts", "decrypt", who="bob", CiphertextBlob=log["CiphertextBlob"], EncryptionContext=CT_CTX, expect=plain(k, k6, b"log"))
    k.call("account-other-context", "decrypt", who="alice", CiphertextBlob=other["CiphertextBlob"], EncryptionContext={"purpose": "x"}, expect=denied(k, "alice", "Decrypt", a6, "no-resource"))
    k.call("account-b-refused", "decrypt", who="xbob", CiphertextBlob=log["CiphertextBlob"], EncryptionContext=CT_CTX, expect=denied(k, "xbob", "Decrypt", a6, "no-resource"))


LOCKOUT = "The new key policy will not allow you to update the key policy in the future."


@scenario("enforce-lockout", "enforcement", SEALTRAIL)
def enforce_lockout(k: K) -> None:
    """The policy lockout safety check on CreateKey and PutKeyPolicy, and BypassPolicyLockoutSafetyCheck."""
    dave_only = key_policy(stmt("Allow", {"AWS": k.t.principals["dave"].arn}, "kms:Encrypt", sid="Only dave encrypts"))
    k.call("create-refused", "create_key", who="alice", Policy=dave_only, expect=err("MalformedPolicyDocumentException", LOCKOUT))
    k.call("create-refused-root", "create_key", Policy=dave_only, expect=err("MalformedPolicyDocumentException", LOCKOUT))
    c = k.call("create-bypass", "create_key", who="alice", Policy=dave_only, BypassPolicyLockoutSafetyCheck=True, expect=ok(), required=True)
    locked = c["KeyMetadata"]["KeyId"]
    k.name(locked, "<locked>")
    k.call("locked-describe", "describe_key", who="alice", KeyId=locked, expect=denied(k, "alice", "DescribeKey", k.arn(locked), "no-resource"))
    k.call("locked-get-policy", "get_key_policy", who="alice", KeyId=locked, PolicyName="default", expect=denied(k, "alice", "GetKeyPolicy", k.arn(locked), "no-resource"))
    k.call("locked-dave-encrypts", "encrypt", who="dave", KeyId=k.arn(locked), Plaintext=b"x", expect=ok())

    kid = k.create_key("create-default", who="alice")
    arn = k.arn(kid)
    k.call("put-refused", "put_key_policy", who="alice", KeyId=kid, PolicyName="default", Policy=dave_only, expect=err("MalformedPolicyDocumentException", LOCKOUT))
    k.call("policy-unchanged", "get_key_policy", who="alice", KeyId=kid, PolicyName="default", expect=ok(lambda r: need_eq(json.loads(r["Policy"])["Id"], "key-default-1", "the default policy kept")))
    direct = key_policy(stmt("Allow", {"AWS": k.t.principals["alice"].arn}, ["kms:PutKeyPolicy", "kms:GetKeyPolicy"], sid="Alice keeps the policy"))
    k.call("put-direct-grant", "put_key_policy", who="alice", KeyId=kid, PolicyName="default", Policy=direct, expect=ok())
    k.call("put-bypass", "put_key_policy", who="alice", KeyId=kid, PolicyName="default", Policy=dave_only, BypassPolicyLockoutSafetyCheck=True, expect=ok())
    k.call("now-locked-out", "put_key_policy", who="alice", KeyId=kid, PolicyName="default", Policy=direct, expect=denied(k, "alice", "PutKeyPolicy", arn, "no-resource"))


# --------------------------------------------------------------------------------------------
# SigV4


def sign(method: str, url: str, headers: dict, body: bytes, akid: str, secret: str, when: dt.datetime) -> dict:
    """A SigV4 header signature (spec §8), independent of botocore, for requests boto3 cannot make."""
    host = url.split("://", 1)[1].split("/", 1)[0]
    amz = when.strftime("%Y%m%dT%H%M%SZ")
    day = amz[:8]
    h = {k.lower(): v for k, v in headers.items()}
    h.update({"host": host, "x-amz-date": amz})
    names = sorted(h)
    canonical = "\n".join([method, "/", "", "".join(f"{n}:{h[n].strip()}\n" for n in names), ";".join(names), hashlib.sha256(body).hexdigest()])
    scope = f"{day}/{REGION}/kms/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, REGION, "kms", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {k2: v for k2, v in headers.items()}
    out["X-Amz-Date"] = amz
    out["Authorization"] = f"AWS4-HMAC-SHA256 Credential={akid}/{scope}, SignedHeaders={';'.join(names)}, Signature={sig}"
    return out


def raw_call(url: str, op: str, body: dict, headers: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/", data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


@scenario("sigv4", "sigv4", SEALTRAIL)
def sigv4(k: K) -> None:
    """Signature failures as boto3 sees them (wrong secret, unknown key), plus expired and missing signatures."""
    admin = k.t.admin
    bad = kms_client(k.t, "admin", secret=admin.secret[:-1] + ("A" if admin.secret[-1] != "A" else "B"))
    k.check("wrong-secret", _outcome(lambda: bad.list_keys()), err("InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."))
    unknown = kms_client(k.t, "admin", access_key="AKIAUNKNOWN000000000")
    k.check("unknown-key", _outcome(lambda: unknown.list_keys()), err("UnrecognizedClientException", "The security token included in the request is invalid."))
    base = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"}
    now = dt.datetime.now(dt.timezone.utc)
    status, body = raw_call(k.t.url, "ListKeys", {}, sign("POST", k.t.url, base, b"{}", admin.access_key, admin.secret, now))
    k.fact("own-signer-control", status == 200 and "Keys" in body, f"a request signed by the suite's own signer must pass (status {status}, {body})")
    old = now - dt.timedelta(minutes=20)
    status, body = raw_call(k.t.url, "ListKeys", {}, sign("POST", k.t.url, base, b"{}", admin.access_key, admin.secret, old))
    k.fact("expired", status == 400 and body.get("__type", "").split("#")[-1] == "InvalidSignatureException" and re.fullmatch(
        r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)", body.get("message", body.get("Message", ""))) is not None,
        f"a request signed 20 minutes ago: expected 400 InvalidSignatureException `Signature expired: ...`, got {status} {body}")
    status, body = raw_call(k.t.url, "ListKeys", {}, {**base, "X-Amz-Date": now.strftime("%Y%m%dT%H%M%SZ")})
    k.fact("missing", status in (400, 403) and body.get("__type", "").split("#")[-1] == "MissingAuthenticationTokenException",
           f"an unsigned request: expected MissingAuthenticationTokenException, got {status} {body}")


def _outcome(fn):
    from botocore.exceptions import ClientError

    from harness import Outcome

    try:
        r = fn()
        return Outcome(True, r, status=r["ResponseMetadata"]["HTTPStatusCode"])
    except ClientError as e:
        return Outcome(False, {}, e.response["Error"].get("Code", ""), e.response["Error"].get("Message", ""), e.response["ResponseMetadata"]["HTTPStatusCode"])


# --------------------------------------------------------------------------------------------
# Persistence and the data-directory scan


HEX_TOKEN = re.compile(rb"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
B64_TOKEN = re.compile(rb"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{43}=?(?![A-Za-z0-9+/_-])")


def scan_for_keys(root: Path, data_keys: list[bytes], samples: list[tuple[bytes, bytes]]) -> tuple[list[str], int]:
    """Looks in every file under `root` for the plaintext data keys (raw, hex, base64) and for
    any 32 bytes (raw, or in a 64-hex or 43/44-base64 token) that are the key material of a
    sample ciphertext. The blob format is sealtrail's documented one (crates/kms/src/blob.rs):
    version 1, key id (16), material version (4), nonce (12), AES-256-GCM ciphertext, tag. A
    candidate key K is the material when AES-K(nonce || 00000002) XOR ciphertext[:16] is the
    known plaintext's first 16 bytes (the GCM keystream), whatever the AAD is.
    Returns (findings, bytes scanned)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    checks = []
    for blob, pt in samples:
        if len(pt) < 16 or len(blob) < 33 + 16 or blob[0] != 1:
            raise StepAbort("a sample blob is not in the documented format (version 1, plaintext of at least 16 bytes)")
        nonce, ct = blob[21:33], blob[33:49]
        checks.append((nonce + b"\x00\x00\x00\x02", bytes(a ^ b for a, b in zip(ct, pt[:16]))))
    findings, scanned = [], 0
    encodings = []
    for dk in data_keys:
        encodings += [(dk, "raw"), (dk.hex().encode(), "hex"), (dk.hex().upper().encode(), "HEX"), (base64.b64encode(dk), "base64"), (base64.urlsafe_b64encode(dk).rstrip(b"="), "base64url")]
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        data = f.read_bytes()
        scanned += len(data)
        for needle, how in encodings:
            if needle in data:
                findings.append(f"{f.relative_to(root)}: a plaintext data key ({how})")
        candidates = {data[i:i + 32] for i in range(0, max(0, len(data) - 31))}
        for m in HEX_TOKEN.finditer(data):
            candidates.add(bytes.fromhex(m.group().decode()))
        for m in B64_TOKEN.finditer(data):
            tok = m.group().rstrip(b"=")
            try:
                raw = base64.urlsafe_b64decode(tok.replace(b"+", b"-").replace(b"/", b"_") + b"=")
            except ValueError:
                continue
            if len(raw) == 32:
                candidates.add(raw)
        for cand in candidates:
            enc = Cipher(algorithms.AES(cand), modes.ECB()).encryptor()
            for counter, want in checks:
                if enc.update(counter) == want:
                    findings.append(f"{f.relative_to(root)}: the key material of a ciphertext, unencrypted")
    return findings, scanned


def self_test_scanner(work: Path) -> bool:
    """The scanner finds material planted in a file: it is not a check that cannot fail."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    d = work / "scanner-self-test"
    d.mkdir(parents=True, exist_ok=True)
    material, nonce = os.urandom(32), os.urandom(12)
    pt = b"sixteen+ bytes of plaintext"
    header = b"\x01" + os.urandom(16) + b"\x00\x00\x00\x01" + nonce
    blob = header + AESGCM(material).encrypt(nonce, pt, header + b"\x00\x00\x00\x00")
    dk = os.urandom(32)
    (d / "raw").write_bytes(os.urandom(1001) + material + os.urandom(77))
    (d / "hex").write_bytes(b"x=" + material.hex().encode() + b";")
    (d / "dk").write_bytes(b'{"k":"' + base64.b64encode(dk) + b'"}')
    findings, _ = scan_for_keys(d, [dk], [(blob, pt)])
    return sum("key material" in f for f in findings) == 2 and any("data key" in f for f in findings)


@scenario("persistence", "persistence", SEALTRAIL)
def persistence(k: K) -> None:
    """SIGKILL and restart on the same data directory: keys, aliases, policies, rotation history, ciphertexts survive; no plaintext keys on disk."""
    s = SealtrailTarget(k.ctx.procs, k.ctx.sealtrail, k.work / "server", label="persistence server")
    try:
        _persistence(k, s)
    finally:
        s.stop()


def _persistence(k: K, s: SealtrailTarget) -> None:
    c = kms_client(s)
    policy = key_policy(ROOT_ALL, stmt("Allow", {"AWS": s.principals["dave"].arn}, "kms:Decrypt", sid="Dave decrypts"))
    kid = c.create_key(Policy=policy, Description="survives", Tags=[{"TagKey": "k", "TagValue": "v"}])["KeyMetadata"]["KeyId"]
    k.name(kid, "<K1>")
    alias = k.new_alias()
    c.create_alias(AliasName=alias, TargetKeyId=kid)
    c.enable_key_rotation(KeyId=kid, RotationPeriodInDays=180)
    pt1, pt2 = b"encrypted before the rotation!!!", b"encrypted after the rotation, before the kill"
    e1 = c.encrypt(KeyId=kid, Plaintext=pt1, EncryptionContext={"when": "before"})["CiphertextBlob"]
    c.rotate_key_on_demand(KeyId=kid)
    e2 = c.encrypt(KeyId=alias, Plaintext=pt2)["CiphertextBlob"]
    dks = [c.generate_data_key(KeyId=kid, KeySpec="AES_256", EncryptionContext={"n": str(i)}) for i in range(3)]
    disabled = c.create_key(Description="disabled")["KeyMetadata"]["KeyId"]
    c.disable_key(KeyId=disabled)
    pending = c.create_key(Description="pending")["KeyMetadata"]["KeyId"]
    c.schedule_key_deletion(KeyId=pending, PendingWindowInDays=7)

    def snapshot() -> dict:
        strip = lambda r: {a: b for a, b in r.items() if a != "ResponseMetadata"}  # noqa: E731
        return {
            "describe": [strip(c.describe_key(KeyId=x)) for x in (kid, disabled, pending)],
            "policy": c.get_key_policy(KeyId=kid, PolicyName="default")["Policy"],
            "aliases": strip(c.list_aliases(KeyId=kid)),
            "tags": strip(c.list_resource_tags(KeyId=kid)),
            "rotation": strip(c.get_key_rotation_status(KeyId=kid)),
            "rotations": strip(c.list_key_rotations(KeyId=kid)),
        }

    before = snapshot()
    k.fact("policy-before", before["policy"] == policy, "the policy as put, before the kill")
    admin_key = s.admin.access_key
    s.kill9()
    k.fact("killed", s.proc is not None and s.proc.returncode == -9, f"the server died of SIGKILL (returncode {s.proc.returncode if s.proc else None})")
    samples = [(e1, pt1), (e2, pt2)]
    k.fact("scanner-self-test", self_test_scanner(k.work), "the data-directory scanner did not find planted key material and data key")
    findings, scanned = scan_for_keys(s.data_dir, [d["Plaintext"] for d in dks], samples)
    k.fact("no-plaintext-keys-after-kill", not findings and scanned > 0, f"scan of {s.data_dir} ({scanned} bytes) after SIGKILL: {findings}", {"bytes scanned > 0": scanned > 0})

    s.start()
    k.fact("same-admin-key", s.admin.access_key == admin_key, "the restarted server wrote a new admin key instead of keeping the data directory's")
    c = kms_client(s)
    after = snapshot()
    for part in before:
        k.fact(f"survives-{part}", after[part] == before[part], f"{part} differs after the restart:\n      before {before[part]}\n      after  {after[part]}")
    k.check("decrypt-before-rotation", _outcome(lambda: c.decrypt(CiphertextBlob=e1, EncryptionContext={"when": "before"})), plain(k, kid, pt1))
    k.check("decrypt-after-rotation", _outcome(lambda: c.decrypt(CiphertextBlob=e2)), plain(k, kid, pt2))
    for i, d in enumerate(dks):
        k.check(f"decrypt-data-key-{i}", _outcome(lambda d=d, i=i: c.decrypt(CiphertextBlob=d["CiphertextBlob"], EncryptionContext={"n": str(i)})), plain(k, kid, d["Plaintext"]))
    dave = kms_client(s, "dave")
    k.check("policy-enforced-after-restart", _outcome(lambda: dave.decrypt(CiphertextBlob=e2)), plain(k, kid, pt2))
    k.check("disabled-still-disabled", _outcome(lambda: c.encrypt(KeyId=disabled, Plaintext=b"x")), err("DisabledException", f"{k.arn(disabled)} is disabled."))
    k.check("pending-still-pending", _outcome(lambda: c.encrypt(KeyId=pending, Plaintext=b"x")), err("KMSInvalidStateException", f"{k.arn(pending)} is pending deletion."))
    e3 = c.encrypt(KeyId=kid, Plaintext=b"after the restart, more than 16 bytes")["CiphertextBlob"]
    s.stop()
    k.fact("stopped", s.proc is not None and s.proc.returncode == 0, f"SIGTERM: graceful stop with status 0 (got {s.proc.returncode if s.proc else None})")
    findings, scanned = scan_for_keys(s.data_dir, [d["Plaintext"] for d in dks], samples + [(e3, b"after the restart, more than 16 bytes")])
    k.fact("no-plaintext-keys-after-stop", not findings and scanned > 0, f"scan of {s.data_dir} ({scanned} bytes) after a graceful stop: {findings}")
