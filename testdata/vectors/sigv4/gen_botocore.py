"""Generates SigV4 vectors with the installed botocore's own signer (SigV4Auth), at a fixed
time, into botocore.json. Run by regenerate.sh with the project venv's Python:

    .venv/bin/python testdata/vectors/sigv4/gen_botocore.py > testdata/vectors/sigv4/botocore.json

Each case is a request as botocore sends it (method, URL, headers, body) with the canonical
request, string to sign and Authorization header botocore computed. The server's verifier must
accept each one at `timestamp` and rebuild the same canonical request.
"""
import datetime
import json
import sys
from unittest import mock

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW = datetime.datetime(2026, 1, 10, 12, 0, 0)
HOST = "127.0.0.1:4566"

CASES = [
    # name, service, region, method, path+query, headers, body
    ("kms-generate-data-key", "kms", "us-east-1", "POST", "/",
     {"X-Amz-Target": "TrentService.GenerateDataKey", "Content-Type": "application/x-amz-json-1.1"},
     '{"KeyId": "alias/ct", "KeySpec": "AES_256"}'),
    ("kms-encrypt-unicode-context", "kms", "us-east-1", "POST", "/",
     {"X-Amz-Target": "TrentService.Encrypt", "Content-Type": "application/x-amz-json-1.1"},
     '{"KeyId": "alias/x", "Plaintext": "aGVsbG8=", "EncryptionContext": {"k\\u00e9y": "v a  l"}}'),
    ("kms-empty-body", "kms", "eu-west-3", "POST", "/",
     {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"}, ""),
    ("cloudtrail-long-target", "cloudtrail", "us-east-1", "POST", "/",
     {"X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
      "Content-Type": "application/x-amz-json-1.1"}, '{}'),
    ("header-values-trimmed", "kms", "us-east-1", "POST", "/",
     {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1",
      "X-Custom": "  a   b \t c  "}, '{}'),
    ("path-and-query-normalised", "kms", "us-east-1", "GET", "/a/./b/../c%20d//e/?z=1&a=%7E&b=x%2By&a=0&e",
     {}, ""),
    ("content-sha256-header", "kms", "us-east-1", "POST", "/",
     {"X-Amz-Target": "TrentService.ListAliases", "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Content-SHA256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}, '{}'),
]


def main():
    out = []
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=NOW):
        for name, service, region, method, path, headers, body in CASES:
            url = f"http://{HOST}{path}"
            request = AWSRequest(method=method, url=url, headers=dict(headers), data=body.encode())
            signer = botocore.auth.SigV4Auth(Credentials(AKID, SECRET), service, region)
            recorded = {}
            canonical_request = signer.canonical_request
            string_to_sign = signer.string_to_sign

            def record_canonical(req, _orig=canonical_request):
                recorded["canonical"] = _orig(req)
                return recorded["canonical"]

            def record_string_to_sign(req, canonical, _orig=string_to_sign):
                recorded["string_to_sign"] = _orig(req, canonical)
                return recorded["string_to_sign"]

            signer.canonical_request = record_canonical
            signer.string_to_sign = record_string_to_sign
            signer.add_auth(request)
            canonical = recorded["canonical"]
            string_to_sign = recorded["string_to_sign"]
            sent = [[k, v] for k, v in request.headers.items()]
            out.append({
                "name": name,
                "service": service,
                "region": region,
                "method": method,
                "path": path.split("?", 1)[0],
                "query": path.split("?", 1)[1] if "?" in path else None,
                "host": HOST,
                "headers": sent,
                "body": body,
                "timestamp": request.context["timestamp"],
                "canonical_request": canonical,
                "string_to_sign": string_to_sign,
                "authorization": request.headers["Authorization"],
            })
    json.dump({"generator": f"botocore {botocore.__version__} SigV4Auth",
               "access_key_id": AKID, "secret_access_key": SECRET, "cases": out},
              sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
