"""Real botocore/boto3 against a running sealtrail server (run by crates/server/tests/serve_clients.rs).

    python botocore_client.py ENDPOINT REGION CA_BUNDLE_OR_DASH

The admin credentials come from AWS_SHARED_CREDENTIALS_FILE (profile `sealtrail`). Checks:
the KMS through boto3 (create, encrypt/decrypt with a context, data keys, an error parsed by
botocore, request ids), SigV4 failures as botocore parses them (wrong secret, unknown key,
wrong region, expired and future signatures), and a raw request signed by botocore's
SigV4Auth to the test echo API (secure transport and caller as the server saw them).
Prints one JSON line per check; exits 1 if any failed.
"""
import datetime
import json
import re
import ssl
import sys
import urllib.error
import urllib.request
from unittest import mock

import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, region, ca = sys.argv[1], sys.argv[2], sys.argv[3]
verify = None if ca == "-" else ca
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
failures = 0


def check(name, ok, detail=""):
    global failures
    if not ok:
        failures += 1
    print(json.dumps({"check": name, "ok": bool(ok), "detail": str(detail)[:500]}))


def error_of(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, None, None


no_retry = Config(retries={"max_attempts": 1, "mode": "standard"})
session = boto3.Session(profile_name="sealtrail")
creds = session.get_credentials().get_frozen_credentials()
kms = session.client("kms", region_name=region, endpoint_url=endpoint, verify=verify, config=no_retry)

created = kms.create_key(Description="boto3")
key = created["KeyMetadata"]
check("create_key", key["KeyState"] == "Enabled" and key["Arn"].endswith(key["KeyId"]), key)
rid = created["ResponseMetadata"]["RequestId"]
check("request id is a uuid v4 and the header's", UUID.match(rid) and created["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == rid, rid)
ct = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello", EncryptionContext={"purpose": "test"})
pt = kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext={"purpose": "test"})
check("encrypt/decrypt round trip", pt["Plaintext"] == b"hello" and pt["KeyId"] == key["Arn"], pt.get("KeyId"))
code, _, status = error_of(lambda: kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext={"purpose": "other"}))
check("wrong context is InvalidCiphertextException", (code, status) == ("InvalidCiphertextException", 400), code)
dk = kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
check("generate_data_key", len(dk["Plaintext"]) == 32 and kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"])
code, _, status = error_of(lambda: kms.describe_key(KeyId="alias/does-not-exist"))
check("botocore parses the KMS's errors", (code, status) == ("NotFoundException", 400), code)
check("list_keys", any(k["KeyId"] == key["KeyId"] for k in kms.list_keys()["Keys"]))


def client(**kw):
    args = dict(region_name=region, endpoint_url=endpoint, verify=verify, config=no_retry,
                aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key)
    args.update(kw)
    return boto3.client("kms", **args)


code, msg, status = error_of(lambda: client(aws_secret_access_key="wrong" * 8).list_keys())
check("wrong secret", (code, status) == ("InvalidSignatureException", 400) and msg.startswith("The request signature we calculated does not match"), (code, msg))
code, msg, status = error_of(lambda: client(aws_access_key_id="AKIAUNKNOWN000000000").list_keys())
check("unknown key", (code, msg, status) == ("UnrecognizedClientException", "The security token included in the request is invalid.", 400), (code, msg))
code, msg, status = error_of(lambda: client(region_name="eu-west-1").list_keys())
check("wrong region", code == "InvalidSignatureException" and "valid region" in msg, (code, msg))
code, msg, status = error_of(lambda: client(aws_session_token="token").list_keys())
check("session token refused", code == "UnrecognizedClientException", (code, msg))
real_now = botocore.auth.get_current_datetime()
for name, delta, prefix in (("expired", -20, "Signature expired: "), ("not yet current", 20, "Signature not yet current: ")):
    skewed = real_now + datetime.timedelta(minutes=delta)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=skewed):
        code, msg, status = error_of(lambda: client().list_keys())
    check(name, code == "InvalidSignatureException" and msg.startswith(prefix) and msg.endswith("15 min.)"), (code, msg))

# A raw request signed by botocore's SigV4Auth to the test-only echo API.
body = b'{"from": "botocore"}'
request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
    "X-Amz-Target": "SealtrailEcho_20260101.Echo", "Content-Type": "application/x-amz-json-1.1"})
botocore.auth.SigV4Auth(creds, "echo", region).add_auth(request)
prepared = request.prepare()
context = ssl.create_default_context(cafile=ca) if ca != "-" else None
raw = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method="POST")
try:
    with urllib.request.urlopen(raw, context=context) as response:
        echoed = json.loads(response.read())
        check("SigV4Auth raw request", echoed["caller"].endswith(":root") and echoed["input"] == {"from": "botocore"}, echoed)
        check("secure transport seen by the API", echoed["secure"] == (ca != "-"), echoed["secure"])
except urllib.error.HTTPError as e:
    check("SigV4Auth raw request", False, e.read())

sys.exit(1 if failures else 0)
