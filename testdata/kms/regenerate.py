#!/usr/bin/env python3
"""Regenerates blob-v1.json: sealtrail's KMS ciphertext blob (format version 1) computed with
an implementation independent of sealtrail (the `cryptography` package's AESGCM).

Run with the project venv: .venv/bin/python testdata/kms/regenerate.py
crates/kms/tests/vectors.rs checks that sealtrail seals to these exact bytes and opens them.
"""
import json
import os
import struct
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def context_aad(ctx):
    out = struct.pack(">I", len(ctx))
    for k in sorted(ctx, key=lambda k: k.encode()):
        kb, vb = k.encode(), ctx[k].encode()
        out += struct.pack(">I", len(kb)) + kb + struct.pack(">I", len(vb)) + vb
    return out


CASES = [
    ("first material, empty context", bytes(range(32)), "1234abcd-12ab-34cd-56ef-1234567890ab", 1,
     bytes.fromhex("000102030405060708090a0b"), b"hello", {}),
    ("rotated material, CloudTrail context", bytes([0xA5] * 32), "0d990263-018e-4e65-a703-eff731de951e", 3,
     bytes.fromhex("cafebabedeadbeef00112233"), bytes(range(256)) * 2,
     {"aws:cloudtrail:arn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
      "aws:s3:arn": "arn:aws:s3:::ct-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/01/x.json.gz"}),
    ("unicode context, one-byte plaintext", bytes.fromhex("ff" * 16 + "00" * 16), "b776a44b-df37-4438-9be4-a27494e4271a",
     0xFFFFFFFE, bytes(12), b"\x00", {"Département": "Île-de-France", "b": "", "a": "x"}),
]


def main():
    vectors = []
    for name, material, key_id, version, nonce, plaintext, ctx in CASES:
        header = bytes([1]) + uuid.UUID(key_id).bytes + struct.pack(">I", version) + nonce
        sealed = AESGCM(material).encrypt(nonce, plaintext, header + context_aad(ctx))
        vectors.append({
            "name": name, "material": material.hex(), "key_id": key_id, "material_version": version,
            "nonce": nonce.hex(), "plaintext": plaintext.hex(), "encryption_context": ctx,
            "context_aad": context_aad(ctx).hex(), "blob": (header + sealed).hex(),
        })
    doc = {
        "description": "sealtrail KMS ciphertext blob, format version 1 (crates/kms/src/blob.rs): 0x01 | key id (16) | "
                       "material version (u32 BE) | nonce (12) | AES-256-GCM ciphertext | tag (16); AAD = the 33-byte "
                       "header followed by the canonical encryption context. Computed independently with Python's "
                       "cryptography AESGCM by testdata/kms/regenerate.py.",
        "vectors": vectors,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "blob-v1.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
