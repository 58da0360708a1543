"""boto3 scenarios: every KMS operation of issue 5 item 4, with the shapes, errors and messages
AWS documents (spec-formats.md §4, botocore's KMS model and examples). They run on both
targets; run.py compares the observations.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from harness import ACCOUNT, REGION, K, Mismatch, need, need_eq, ok, err
from registry import scenario

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# spec §4.4 and botocore's GetKeyPolicy example: the default key policy, byte for byte.
DEFAULT_POLICY = (
    '{\n  "Version" : "2012-10-17",\n  "Id" : "key-default-1",\n  "Statement" : [ {\n'
    '    "Sid" : "Enable IAM User Permissions",\n    "Effect" : "Allow",\n    "Principal" : {\n'
    '      "AWS" : "arn:aws:iam::%s:root"\n    },\n    "Action" : "kms:*",\n    "Resource" : "*"\n  } ]\n}'
)

# KeyMetadata of a symmetric customer key (spec §4.3, botocore's DescribeKey example).
KEY_METADATA_REQUIRED = {
    "AWSAccountId", "KeyId", "Arn", "CreationDate", "Enabled", "Description", "KeyUsage", "KeyState",
    "Origin", "KeyManager", "CustomerMasterKeySpec", "KeySpec", "EncryptionAlgorithms", "MultiRegion",
}
# Members AWS adds for some keys or states (the 2025 model's CurrentKeyMaterialId; pending deletion).
KEY_METADATA_OPTIONAL = {"CurrentKeyMaterialId", "DeletionDate", "PendingDeletionWindowInDays"}


def a_policy(account: str = ACCOUNT, extra: str = "") -> str:
    """A custom key policy in an unusual layout, to check that GetKeyPolicy returns the text as stored."""
    return (
        '{ "Version":"2012-10-17",\n\t"Id": "custom-%s",  "Statement": [\n'
        '   {"Sid": "Enable IAM User Permissions", "Effect":"Allow",\n'
        '    "Principal": {"AWS": "arn:aws:iam::%s:root"}, "Action":"kms:*", "Resource":"*"}%s ]}' % (account, account, extra)
    )


def check_metadata(k: K, kid: str, *, description: str = "", state: str = "Enabled") -> callable:
    def check(m: dict) -> None:
        keys = set(m)
        missing = KEY_METADATA_REQUIRED - keys
        extra = keys - KEY_METADATA_REQUIRED - KEY_METADATA_OPTIONAL
        need(not missing, f"KeyMetadata lacks {sorted(missing)}")
        need(not extra, f"KeyMetadata has members a symmetric key does not have: {sorted(extra)}")
        need_eq(m["AWSAccountId"], ACCOUNT, "AWSAccountId")
        need_eq(m["KeyId"], kid, "KeyId")
        need_eq(m["Arn"], k.arn(kid), "Arn")
        need(isinstance(m["CreationDate"], dt.datetime), "CreationDate is a timestamp")
        need_eq(m["Enabled"], state == "Enabled", "Enabled")
        need_eq(m["Description"], description, "Description")
        need_eq(m["KeyUsage"], "ENCRYPT_DECRYPT", "KeyUsage")
        need_eq(m["KeyState"], state, "KeyState")
        need_eq(m["Origin"], "AWS_KMS", "Origin")
        need_eq(m["KeyManager"], "CUSTOMER", "KeyManager")
        need_eq(m["CustomerMasterKeySpec"], "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec")
        need_eq(m["KeySpec"], "SYMMETRIC_DEFAULT", "KeySpec")
        need_eq(m["EncryptionAlgorithms"], ["SYMMETRIC_DEFAULT"], "EncryptionAlgorithms")
        need_eq(m["MultiRegion"], False, "MultiRegion")
        if state == "PendingDeletion":
            need(isinstance(m.get("DeletionDate"), dt.datetime), "DeletionDate of a key pending deletion")
        else:
            need("DeletionDate" not in m and "PendingDeletionWindowInDays" not in m, "no DeletionDate unless pending deletion")

    return check


def described(k: K, kid: str, **kw) -> callable:
    check = check_metadata(k, kid, **kw)
    return lambda r: check(r["KeyMetadata"])


def encrypted_by(k: K, kid: str) -> callable:
    def check(r: dict) -> None:
        need_eq(r["KeyId"], k.arn(kid), "KeyId (the key ARN)")
        need(isinstance(r["CiphertextBlob"], bytes) and len(r["CiphertextBlob"]) > 0, "CiphertextBlob")
        need_eq(r.get("EncryptionAlgorithm"), "SYMMETRIC_DEFAULT", "EncryptionAlgorithm")

    return check


def decrypts_to(k: K, kid: str, plaintext: bytes) -> callable:
    def check(r: dict) -> None:
        need_eq(r["KeyId"], k.arn(kid), "KeyId (the key ARN)")
        need(r["Plaintext"] == plaintext, f"Plaintext: expected {len(plaintext)} bytes {plaintext[:16]!r}..., got {r['Plaintext'][:16]!r}...")
        need_eq(r.get("EncryptionAlgorithm"), "SYMMETRIC_DEFAULT", "EncryptionAlgorithm")

    return check


HIDDEN = object()  # a sensitive or blob member: AWS does not show its value


def validation(value, member: str, constraint: str) -> str:
    """AWS's front-end ValidationException text for one broken member constraint."""
    shown = "Value null" if value is None else ("Value" if value is HIDDEN else f"Value '{value}'")
    return f"1 validation error detected: {shown} at '{member}' failed to satisfy constraint: {constraint}"


def not_found(k: K, kid: str) -> str:
    return f"Key '{k.arn(kid)}' does not exist"


# --------------------------------------------------------------------------------------------


@scenario("create-key", "boto3")
def create_key(k: K) -> None:
    """CreateKey with and without Policy, Description and Tags; the default policy text."""
    c = k.call("create-default", "create_key", expect=ok(), required=True)
    kid = c["KeyMetadata"]["KeyId"]
    k.name(kid, "<K1>")
    k.check("create-default-metadata", c, ok(described(k, kid)))
    k.call("describe-default", "describe_key", KeyId=kid, expect=ok(described(k, kid)))
    want = DEFAULT_POLICY % ACCOUNT
    k.call("default-policy-text", "get_key_policy", KeyId=kid, PolicyName="default",
           expect=ok(lambda r: need_eq(r["Policy"], want, "the default key policy, byte for byte (spec §4.4)")))
    k.call("get-policy-without-name", "get_key_policy", KeyId=kid,
           expect=ok(lambda r: need_eq(r["Policy"], want, "GetKeyPolicy without PolicyName (default is `default`)")))
    # The only policy name is `default`; AWS does not document the code for another name.
    k.call("get-policy-other-name", "get_key_policy", KeyId=kid, PolicyName="other", expect=err(("NotFoundException", "ValidationException")))
    k.call("list-key-policies", "list_key_policies", KeyId=kid,
           expect=ok(lambda r: (need_eq(r["PolicyNames"], ["default"], "PolicyNames"), need_eq(r["Truncated"], False, "Truncated"))))

    tags = [{"TagKey": "team", "TagValue": "audit"}, {"TagKey": "env", "TagValue": ""}]
    c2 = k.call("create-described-tagged", "create_key", Description="logs of trail T", Tags=tags, expect=ok(), required=True)
    kid2 = c2["KeyMetadata"]["KeyId"]
    k.name(kid2, "<K2>")
    k.check("create-described-metadata", c2, ok(described(k, kid2, description="logs of trail T")))
    k.call("tags-from-create", "list_resource_tags", KeyId=kid2,
           expect=ok(lambda r: (need_eq(sorted(r["Tags"], key=lambda t: t["TagKey"]), sorted(tags, key=lambda t: t["TagKey"]), "Tags"), need_eq(r["Truncated"], False, "Truncated"))),
           observe=lambda r: {"Tags": sorted((t["TagKey"], t["TagValue"]) for t in r["Tags"]), "Truncated": r["Truncated"]})

    policy = a_policy()
    c3 = k.call("create-with-policy", "create_key", Policy=policy, expect=ok(), required=True)
    kid3 = c3["KeyMetadata"]["KeyId"]
    k.name(kid3, "<K3>")
    k.call("policy-as-given", "get_key_policy", KeyId=kid3, PolicyName="default",
           expect=ok(lambda r: need_eq(r["Policy"], policy, "GetKeyPolicy returns the policy exactly as given")))
    k.call("update-description", "update_key_description", KeyId=kid3, Description="renamed", expect=ok())
    k.call("described-after-update", "describe_key", KeyId=kid3, expect=ok(described(k, kid3, description="renamed")))
    k.call("description-too-long", "create_key", validate=False, Description="d" * 8193,
           expect=err("ValidationException", validation("d" * 8193, "description", "Member must have length less than or equal to 8192")))
    k.call("create-bad-key-usage", "create_key", validate=False, KeyUsage="NOPE", expect=err("ValidationException"))
    k.call("create-not-json-policy", "create_key", Policy="this is not a policy", expect=err("MalformedPolicyDocumentException"))


@scenario("key-policy", "boto3")
def key_policy(k: K) -> None:
    """PutKeyPolicy/GetKeyPolicy: the text exactly as stored; malformed documents."""
    kid = k.create_key()
    p1 = a_policy(extra=',\n {"Sid":"Describe for all in the account","Effect":"Allow","Principal":{"AWS":"*"},'
                        '"Action":"kms:DescribeKey","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"%s"}}}' % ACCOUNT)
    k.call("put", "put_key_policy", KeyId=kid, PolicyName="default", Policy=p1, expect=ok())
    k.call("get-as-stored", "get_key_policy", KeyId=kid, PolicyName="default",
           expect=ok(lambda r: need_eq(r["Policy"], p1, "the policy exactly as put")))
    k.call("put-by-arn-no-name", "put_key_policy", KeyId=k.arn(kid), Policy=a_policy(), expect=ok())
    k.call("get-by-arn", "get_key_policy", KeyId=k.arn(kid), PolicyName="default",
           expect=ok(lambda r: need_eq(r["Policy"], a_policy(), "the policy exactly as put")))
    k.call("put-not-json", "put_key_policy", KeyId=kid, PolicyName="default", Policy="{not json", expect=err("MalformedPolicyDocumentException"))
    k.call("put-bad-principal", "put_key_policy", KeyId=kid, PolicyName="default",
           Policy=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "not-an-arn"}, "Action": "kms:*", "Resource": "*"}]}),
           BypassPolicyLockoutSafetyCheck=True,
           expect=err("MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."))
    k.call("kept-after-refusals", "get_key_policy", KeyId=kid, PolicyName="default",
           expect=ok(lambda r: need_eq(r["Policy"], a_policy(), "the last accepted policy")))
    k.call("put-missing-key", "put_key_policy", KeyId="00000000-0000-4000-8000-000000000000", PolicyName="default", Policy=a_policy(),
           expect=err("NotFoundException", not_found(k, "00000000-0000-4000-8000-000000000000")))


@scenario("describe-forms", "boto3")
def describe_forms(k: K) -> None:
    """DescribeKey, Encrypt and Decrypt by key id, key ARN, alias name and alias ARN; NotFound forms."""
    kid = k.create_key()
    alias = k.new_alias()
    k.call("create-alias", "create_alias", AliasName=alias, TargetKeyId=kid, expect=ok(), required=True)
    for label, ident in (("id", kid), ("arn", k.arn(kid)), ("alias", alias), ("alias-arn", k.alias_arn(alias))):
        k.call(f"describe-by-{label}", "describe_key", KeyId=ident, expect=ok(described(k, kid)))
        e = k.call(f"encrypt-by-{label}", "encrypt", KeyId=ident, Plaintext=b"by " + label.encode(), expect=ok(encrypted_by(k, kid)))
        if e.ok:
            k.call(f"decrypt-with-keyid-{label}", "decrypt", KeyId=ident, CiphertextBlob=e["CiphertextBlob"],
                   expect=ok(decrypts_to(k, kid, b"by " + label.encode())))
    missing = "0a0b0c0d-1111-4222-8333-444455556666"
    k.call("not-found-id", "describe_key", KeyId=missing, expect=err("NotFoundException", not_found(k, missing)))
    k.call("not-found-arn", "describe_key", KeyId=k.arn(missing), expect=err("NotFoundException", not_found(k, missing)))
    k.call("not-found-alias", "describe_key", KeyId="alias/does-not-exist-" + k.run_id,
           expect=err("NotFoundException", f"Alias {k.alias_arn('alias/does-not-exist-' + k.run_id)} is not found."))
    k.call("invalid-key-id", "describe_key", KeyId="not-a-key", expect=err("NotFoundException", "Invalid keyId not-a-key"))
    k.call("encrypt-not-found", "encrypt", KeyId=k.arn(missing), Plaintext=b"x", expect=err("NotFoundException", not_found(k, missing)))
    k.call("key-id-empty", "describe_key", validate=False, KeyId="",
           expect=err("ValidationException", validation("", "keyId", "Member must have length greater than or equal to 1")))


@scenario("list-keys", "boto3")
def list_keys(k: K) -> None:
    """ListKeys pagination with Limit and Marker; Limit out of range; a marker not issued."""
    ours = [k.create_key() for _ in range(5)]
    seen: list[str] = []
    pages = 0
    marker = None
    problems = []
    while True:
        params = {"Limit": 2}
        if marker:
            params["Marker"] = marker
        pages += 1
        out = k.call(f"page-{min(pages, 3)}" if pages <= 3 else "page-more", "list_keys", expect=ok(), observe=lambda r: {"entries<=2": len(r["Keys"]) <= 2, "Truncated": r["Truncated"], "has NextMarker": "NextMarker" in r}, **params)
        if not out.ok:
            break
        r = out.resp
        if len(r["Keys"]) > 2:
            problems.append(f"page {pages} has {len(r['Keys'])} entries with Limit 2")
        for e in r["Keys"]:
            if set(e) != {"KeyId", "KeyArn"} or e["KeyArn"] != k.arn(e["KeyId"]):
                problems.append(f"entry {e}")
            seen.append(e["KeyId"])
        if r["Truncated"] != ("NextMarker" in r):
            problems.append(f"page {pages}: Truncated={r['Truncated']} but NextMarker {'present' if 'NextMarker' in r else 'absent'}")
        if not r["Truncated"]:
            break
        marker = r["NextMarker"]
        if pages > 500:
            problems.append("more than 500 pages")
            break
    k.fact("all-pages", not problems and all(seen.count(x) == 1 for x in ours) and len(seen) == len(set(seen)),
           f"paging ListKeys with Limit 2: {problems}; ours seen {[seen.count(x) for x in ours]} times; {len(seen) - len(set(seen))} duplicates",
           {"ours once": [seen.count(x) == 1 for x in ours], "no duplicates": len(seen) == len(set(seen))})
    k.call("limit-0", "list_keys", validate=False, Limit=0,
           expect=err("ValidationException", validation("0", "limit", "Member must have value greater than or equal to 1")))
    k.call("limit-1001", "list_keys", validate=False, Limit=1001,
           expect=err("ValidationException", validation("1001", "limit", "Member must have value less than or equal to 1000")))
    k.call("bad-marker", "list_keys", Marker="not-a-marker-we-issued", expect=err("InvalidMarkerException"))


@scenario("aliases", "boto3")
def aliases(k: K) -> None:
    """CreateAlias/UpdateAlias/DeleteAlias/ListAliases, AlreadyExists, reserved alias/aws/, paging."""
    k1, k2, k3 = k.create_key(), k.create_key(), k.create_key()  # k3: the target of the refused aliases
    names = [k.new_alias() for _ in range(5)]
    for i, n in enumerate(names):
        k.call(f"create-{i + 1}", "create_alias", AliasName=n, TargetKeyId=k1 if i < 4 else k.arn(k1), expect=ok(), required=True)
    k.call("create-existing", "create_alias", AliasName=names[0], TargetKeyId=k3,
           expect=err("AlreadyExistsException", f"An alias with the name {k.alias_arn(names[0])} already exists"))
    # AWS documents that alias/aws/ is reserved but not the code it answers: emulators built
    # against AWS (local-kms, moto for its known names) answer NotAuthorizedException, which
    # the model does not list; InvalidAliasNameException is the modelled code.
    k.call("create-reserved", "create_alias", AliasName=f"alias/aws/{k.run_id}", TargetKeyId=k3, expect=err(("NotAuthorizedException", "InvalidAliasNameException")))
    k.call("create-bad-pattern", "create_alias", validate=False, AliasName="alias/has space", TargetKeyId=k3,
           expect=err("ValidationException", validation("alias/has space", "aliasName", "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")))
    k.call("create-no-prefix", "create_alias", AliasName=f"no-prefix-{k.run_id}", TargetKeyId=k3,
           expect=err("ValidationException", re.compile(r'Alias must start with the prefix "alias/"\. Please see https?://docs\.aws\.amazon\.com/kms/latest/developerguide/\S+')))
    k.call("create-missing-key", "create_alias", AliasName=k.new_alias(), TargetKeyId="0a0b0c0d-1111-4222-8333-444455556666",
           expect=err("NotFoundException", not_found(k, "0a0b0c0d-1111-4222-8333-444455556666")))

    def entries_ok(r: dict, want: set[str], target: str) -> None:
        got = {e["AliasName"] for e in r["Aliases"]}
        need_eq(got, want, "aliases of the key")
        for e in r["Aliases"]:
            need_eq(e["AliasArn"], k.alias_arn(e["AliasName"]), "AliasArn")
            need_eq(e["TargetKeyId"], target, "TargetKeyId (the key id, not its ARN)")
            need(isinstance(e.get("CreationDate"), dt.datetime) and isinstance(e.get("LastUpdatedDate"), dt.datetime), "CreationDate and LastUpdatedDate")

    def alias_list(r: dict) -> dict:
        return {"Aliases": sorted(k.norm.value(r["Aliases"]), key=lambda e: e["AliasName"]), "Truncated": r.get("Truncated")}

    k.call("list-by-key", "list_aliases", KeyId=k1, expect=ok(lambda r: (entries_ok(r, set(names), k1), need_eq(r["Truncated"], False, "Truncated"))), observe=alias_list)
    k.call("list-by-key-arn", "list_aliases", KeyId=k.arn(k1), expect=ok(lambda r: entries_ok(r, set(names), k1)), observe=alias_list)
    # Paging with a filter: Limit 2 over the key's 5 aliases.
    seen, marker, pages, shape_ok = [], None, 0, True
    while pages < 10:
        pages += 1
        params = {"KeyId": k1, "Limit": 2, **({"Marker": marker} if marker else {})}
        out = k.call(f"page-{pages}", "list_aliases", expect=ok(), observe=lambda r: {"n": len(r["Aliases"]), "Truncated": r["Truncated"], "has NextMarker": "NextMarker" in r}, **params)
        if not out.ok:
            break
        seen += [e["AliasName"] for e in out.resp["Aliases"]]
        shape_ok &= len(out.resp["Aliases"]) <= 2 and out.resp["Truncated"] == ("NextMarker" in out.resp)
        if not out.resp["Truncated"]:
            break
        marker = out.resp["NextMarker"]
    k.fact("paged-all", shape_ok and sorted(seen) == sorted(names), f"paging ListAliases(KeyId, Limit=2) gave {seen}", {"pages": pages, "complete": sorted(seen) == sorted(names)})
    # Unfiltered paging finds ours exactly once.
    seen, marker = [], None
    for _ in range(1000):
        out = k.client().list_aliases(Limit=50, **({"Marker": marker} if marker else {}))
        seen += [e["AliasName"] for e in out["Aliases"]]
        if not out["Truncated"]:
            break
        marker = out["NextMarker"]
    k.fact("unfiltered-once", all(seen.count(n) == 1 for n in names), f"unfiltered ListAliases: counts {[seen.count(n) for n in names]}")

    k.call("update", "update_alias", AliasName=names[0], TargetKeyId=k2, expect=ok())
    k.call("describe-after-update", "describe_key", KeyId=names[0], expect=ok(lambda r: need_eq(r["KeyMetadata"]["KeyId"], k2, "the alias's new key")))
    k.call("list-after-update", "list_aliases", KeyId=k2, expect=ok(lambda r: entries_ok(r, {names[0]}, k2)), observe=alias_list)
    k.call("update-missing-alias", "update_alias", AliasName=k.new_alias(), TargetKeyId=k2, expect=err("NotFoundException"))
    k.call("delete", "delete_alias", AliasName=names[1], expect=ok())
    k.call("describe-deleted", "describe_key", KeyId=names[1], expect=err("NotFoundException", f"Alias {k.alias_arn(names[1])} is not found."))
    k.call("delete-again", "delete_alias", AliasName=names[1], expect=err("NotFoundException"))
    k.call("encrypt-by-alias-arn", "encrypt", KeyId=k.alias_arn(names[2]), Plaintext=b"x", expect=ok(encrypted_by(k, k1)))


@scenario("crypto", "boto3")
def crypto(k: K) -> None:
    """Encrypt/Decrypt with and without encryption context; mismatches, corrupt blobs, IncorrectKey."""
    k1, k2 = k.create_key(), k.create_key()
    pt = bytes(range(256)) * 3
    ctx = {"aws:cloudtrail:arn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/t", "purpose": "test"}
    e0 = k.call("encrypt-no-context", "encrypt", KeyId=k1, Plaintext=pt, expect=ok(encrypted_by(k, k1)), required=True)
    k.call("decrypt-no-context", "decrypt", CiphertextBlob=e0["CiphertextBlob"], expect=ok(decrypts_to(k, k1, pt)))
    e1 = k.call("encrypt-context", "encrypt", KeyId=k1, Plaintext=pt, EncryptionContext=ctx, expect=ok(encrypted_by(k, k1)), required=True)
    blob = e1["CiphertextBlob"]
    k.call("decrypt-context", "decrypt", CiphertextBlob=blob, EncryptionContext=ctx, expect=ok(decrypts_to(k, k1, pt)))
    k.call("decrypt-context-reordered", "decrypt", CiphertextBlob=blob, EncryptionContext=dict(reversed(list(ctx.items()))), expect=ok(decrypts_to(k, k1, pt)))
    k.call("decrypt-with-key-id", "decrypt", KeyId=k1, CiphertextBlob=blob, EncryptionContext=ctx, expect=ok(decrypts_to(k, k1, pt)))
    ic = err("InvalidCiphertextException", "")
    k.call("decrypt-context-missing", "decrypt", CiphertextBlob=blob, expect=ic)
    k.call("decrypt-context-extra", "decrypt", CiphertextBlob=blob, EncryptionContext={**ctx, "extra": "x"}, expect=ic)
    k.call("decrypt-context-value", "decrypt", CiphertextBlob=blob, EncryptionContext={**ctx, "purpose": "other"}, expect=ic)
    k.call("decrypt-context-case", "decrypt", CiphertextBlob=blob, EncryptionContext={**ctx, "purpose": "TEST"}, expect=ic)
    k.call("decrypt-unexpected-context", "decrypt", CiphertextBlob=e0["CiphertextBlob"], EncryptionContext={"purpose": "test"}, expect=ic)
    utf8 = {"clé": "valeur ✓", "ключ": "значение", "emoji": "🔑"}
    e2 = k.call("encrypt-utf8-context", "encrypt", KeyId=k1, Plaintext=b"utf-8", EncryptionContext=utf8, expect=ok(encrypted_by(k, k1)), required=True)
    k.call("decrypt-utf8-context", "decrypt", CiphertextBlob=e2["CiphertextBlob"], EncryptionContext=utf8, expect=ok(decrypts_to(k, k1, b"utf-8")))
    k.call("decrypt-utf8-context-other-value", "decrypt", CiphertextBlob=e2["CiphertextBlob"], EncryptionContext={**utf8, "emoji": "🔒"}, expect=ic)
    mid = len(blob) // 2
    k.call("decrypt-flipped-byte", "decrypt", CiphertextBlob=blob[:mid] + bytes([blob[mid] ^ 1]) + blob[mid + 1:], EncryptionContext=ctx, expect=ic)
    k.call("decrypt-flipped-last", "decrypt", CiphertextBlob=blob[:-1] + bytes([blob[-1] ^ 0x80]), EncryptionContext=ctx, expect=ic)
    k.call("decrypt-truncated", "decrypt", CiphertextBlob=blob[:-7], EncryptionContext=ctx, expect=ic)
    k.call("decrypt-garbage", "decrypt", CiphertextBlob=b"\x07" * 80, expect=ic)
    k.call("decrypt-wrong-key-id", "decrypt", KeyId=k2, CiphertextBlob=blob, EncryptionContext=ctx,
           expect=err("IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation."))
    k.call("encrypt-4096", "encrypt", KeyId=k1, Plaintext=b"p" * 4096, expect=ok(encrypted_by(k, k1)))
    k.call("encrypt-4097", "encrypt", validate=False, KeyId=k1, Plaintext=b"p" * 4097,
           expect=err("ValidationException", validation(HIDDEN, "plaintext", "Member must have length less than or equal to 4096")))
    k.call("encrypt-empty", "encrypt", validate=False, KeyId=k1, Plaintext=b"",
           expect=err("ValidationException", validation(HIDDEN, "plaintext", "Member must have length greater than or equal to 1")))
    k.call("encrypt-bad-algorithm", "encrypt", validate=False, KeyId=k1, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256", expect=err("InvalidKeyUsageException"))
    k.call("decrypt-blob-too-long", "decrypt", validate=False, CiphertextBlob=b"x" * 6145,
           expect=err("ValidationException", validation(HIDDEN, "ciphertextBlob", "Member must have length less than or equal to 6144")))


@scenario("data-keys", "boto3")
def data_keys(k: K) -> None:
    """GenerateDataKey(WithoutPlaintext) and GenerateRandom: lengths, contexts, ranges."""
    kid = k.create_key()
    ctx = {"aws:s3:arn": "arn:aws:s3:::bucket/key"}

    def data_key(n: int) -> callable:
        def check(r: dict) -> None:
            need_eq(r["KeyId"], k.arn(kid), "KeyId (the key ARN)")
            need_eq(len(r["Plaintext"]), n, "Plaintext length")
            need(len(r["CiphertextBlob"]) > 0, "CiphertextBlob")

        return check

    for label, params, n in (("aes-256", {"KeySpec": "AES_256"}, 32), ("aes-128", {"KeySpec": "AES_128"}, 16), ("bytes-64", {"NumberOfBytes": 64}, 64), ("bytes-1024", {"NumberOfBytes": 1024}, 1024)):
        out = k.call(f"generate-{label}", "generate_data_key", KeyId=kid, EncryptionContext=ctx, expect=ok(data_key(n)), **params)
        if out.ok:
            k.call(f"decrypt-{label}", "decrypt", CiphertextBlob=out["CiphertextBlob"], EncryptionContext=ctx, expect=ok(decrypts_to(k, kid, out["Plaintext"])))
            if label == "aes-256":
                k.call("decrypt-without-context", "decrypt", CiphertextBlob=out["CiphertextBlob"], expect=err("InvalidCiphertextException", ""))
    k.call("generate-no-context", "generate_data_key", KeyId=kid, KeySpec="AES_256", expect=ok(data_key(32)))
    k.call("generate-both-specs", "generate_data_key", KeyId=kid, KeySpec="AES_256", NumberOfBytes=32, expect=err("ValidationException"))
    k.call("generate-no-spec", "generate_data_key", KeyId=kid, expect=err("ValidationException"))
    k.call("generate-bytes-0", "generate_data_key", validate=False, KeyId=kid, NumberOfBytes=0,
           expect=err("ValidationException", validation("0", "numberOfBytes", "Member must have value greater than or equal to 1")))
    k.call("generate-bytes-1025", "generate_data_key", validate=False, KeyId=kid, NumberOfBytes=1025,
           expect=err("ValidationException", validation("1025", "numberOfBytes", "Member must have value less than or equal to 1024")))
    k.call("generate-bad-spec", "generate_data_key", validate=False, KeyId=kid, KeySpec="AES_512",
           expect=err("ValidationException", validation("AES_512", "keySpec", "Member must satisfy enum value set: [AES_256, AES_128]")))

    def without_plaintext(r: dict) -> None:
        need("Plaintext" not in r, "no Plaintext")
        need_eq(r["KeyId"], k.arn(kid), "KeyId (the key ARN)")

    w = k.call("without-plaintext", "generate_data_key_without_plaintext", KeyId=kid, KeySpec="AES_256", EncryptionContext=ctx, expect=ok(without_plaintext))
    if w.ok:
        k.call("decrypt-without-plaintext", "decrypt", CiphertextBlob=w["CiphertextBlob"], EncryptionContext=ctx,
               expect=ok(lambda r: need_eq(len(r["Plaintext"]), 32, "the data key's length")), observe=lambda r: {"Plaintext": f"<{len(r['Plaintext'])} bytes>", "KeyId": k.norm.text(r["KeyId"])})

    for n in (1, 32, 1024):
        k.call(f"random-{n}", "generate_random", NumberOfBytes=n, expect=ok(lambda r, n=n: need_eq(len(r["Plaintext"]), n, "Plaintext length")))
    r1 = k.client().generate_random(NumberOfBytes=32)["Plaintext"]
    r2 = k.client().generate_random(NumberOfBytes=32)["Plaintext"]
    k.fact("random-differs", r1 != r2, "two GenerateRandom calls returned the same 32 bytes")
    k.call("random-0", "generate_random", validate=False, NumberOfBytes=0,
           expect=err("ValidationException", validation("0", "numberOfBytes", "Member must have value greater than or equal to 1")))
    k.call("random-1025", "generate_random", validate=False, NumberOfBytes=1025,
           expect=err("ValidationException", validation("1025", "numberOfBytes", "Member must have value less than or equal to 1024")))


@scenario("re-encrypt", "boto3")
def re_encrypt(k: K) -> None:
    """ReEncrypt between keys and contexts; wrong source context; IncorrectKey on SourceKeyId."""
    k1, k2 = k.create_key(), k.create_key()
    pt = b"re-encrypt me"
    e = k.call("encrypt", "encrypt", KeyId=k1, Plaintext=pt, EncryptionContext={"a": "1"}, expect=ok(), required=True)

    def re_encrypted(r: dict) -> None:
        need_eq(r["SourceKeyId"], k.arn(k1), "SourceKeyId (ARN)")
        need_eq(r["KeyId"], k.arn(k2), "KeyId (destination ARN)")
        need_eq(r.get("SourceEncryptionAlgorithm"), "SYMMETRIC_DEFAULT", "SourceEncryptionAlgorithm")
        need_eq(r.get("DestinationEncryptionAlgorithm"), "SYMMETRIC_DEFAULT", "DestinationEncryptionAlgorithm")

    r = k.call("re-encrypt", "re_encrypt", CiphertextBlob=e["CiphertextBlob"], SourceEncryptionContext={"a": "1"}, DestinationKeyId=k2,
               DestinationEncryptionContext={"b": "2"}, expect=ok(re_encrypted))
    if r.ok:
        k.call("decrypt-new", "decrypt", CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"b": "2"}, expect=ok(decrypts_to(k, k2, pt)))
        k.call("decrypt-new-old-context", "decrypt", CiphertextBlob=r["CiphertextBlob"], EncryptionContext={"a": "1"}, expect=err("InvalidCiphertextException", ""))
    k.call("wrong-source-context", "re_encrypt", CiphertextBlob=e["CiphertextBlob"], SourceEncryptionContext={"a": "2"}, DestinationKeyId=k2, expect=err("InvalidCiphertextException", ""))
    k.call("wrong-source-key", "re_encrypt", CiphertextBlob=e["CiphertextBlob"], SourceKeyId=k2, SourceEncryptionContext={"a": "1"}, DestinationKeyId=k2,
           expect=err("IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation."))


@scenario("key-states", "boto3")
def key_states(k: K) -> None:
    """EnableKey/DisableKey, ScheduleKeyDeletion/CancelKeyDeletion and the key-state matrix (spec §4.5)."""
    kid = k.create_key()
    arn = k.arn(kid)
    e = k.call("encrypt-enabled", "encrypt", KeyId=kid, Plaintext=b"state", expect=ok(), required=True)
    blob = e["CiphertextBlob"]
    k.call("disable", "disable_key", KeyId=kid, expect=ok())
    k.call("describe-disabled", "describe_key", KeyId=kid, expect=ok(described(k, kid, state="Disabled")))
    disabled = err("DisabledException", f"{arn} is disabled.")
    k.call("encrypt-disabled", "encrypt", KeyId=kid, Plaintext=b"x", expect=disabled)
    k.call("decrypt-disabled", "decrypt", CiphertextBlob=blob, expect=disabled)
    k.call("generate-disabled", "generate_data_key", KeyId=kid, KeySpec="AES_256", expect=disabled)
    k.call("generate-without-plaintext-disabled", "generate_data_key_without_plaintext", KeyId=kid, KeySpec="AES_256", expect=disabled)
    k.call("re-encrypt-disabled", "re_encrypt", CiphertextBlob=blob, DestinationKeyId=kid, expect=disabled)
    k.call("enable-rotation-disabled", "enable_key_rotation", KeyId=kid, expect=disabled)
    k.call("policy-while-disabled", "get_key_policy", KeyId=kid, PolicyName="default", expect=ok(), observe=lambda r: "<policy>")
    alias = k.new_alias()
    k.call("alias-to-disabled", "create_alias", AliasName=alias, TargetKeyId=kid, expect=ok())
    k.call("encrypt-alias-of-disabled", "encrypt", KeyId=alias, Plaintext=b"x", expect=disabled)
    k.call("enable", "enable_key", KeyId=kid, expect=ok())
    k.call("decrypt-enabled-again", "decrypt", CiphertextBlob=blob, expect=ok(decrypts_to(k, kid, b"state")))

    def scheduled(r: dict) -> None:
        need_eq(r["KeyId"], arn, "KeyId (the key ARN)")
        need_eq(r.get("KeyState"), "PendingDeletion", "KeyState")
        need_eq(r.get("PendingWindowInDays"), 7, "PendingWindowInDays")
        when = r["DeletionDate"]
        need(isinstance(when, dt.datetime), "DeletionDate")
        days = (when - dt.datetime.now(dt.timezone.utc)).total_seconds() / 86400
        need(6.9 < days < 7.1, f"DeletionDate {when} is about 7 days away (got {days:.2f})")

    k.call("schedule-deletion", "schedule_key_deletion", KeyId=kid, PendingWindowInDays=7, expect=ok(scheduled))

    def pending(r: dict) -> None:
        described(k, kid, state="PendingDeletion")(r)
        need_eq(r["KeyMetadata"].get("PendingDeletionWindowInDays"), 7, "PendingDeletionWindowInDays")

    k.call("describe-pending", "describe_key", KeyId=kid, expect=ok(pending))
    pend = err("KMSInvalidStateException", f"{arn} is pending deletion.")
    k.call("encrypt-pending", "encrypt", KeyId=kid, Plaintext=b"x", expect=pend)
    k.call("decrypt-pending", "decrypt", CiphertextBlob=blob, expect=pend)
    k.call("generate-pending", "generate_data_key", KeyId=kid, KeySpec="AES_256", expect=pend)
    k.call("enable-pending", "enable_key", KeyId=kid, expect=pend)
    k.call("disable-pending", "disable_key", KeyId=kid, expect=pend)
    k.call("alias-to-pending", "create_alias", AliasName=k.new_alias(), TargetKeyId=kid, expect=pend)
    k.call("schedule-again", "schedule_key_deletion", KeyId=kid, PendingWindowInDays=7, expect=pend)
    k.call("policy-while-pending", "get_key_policy", KeyId=kid, PolicyName="default", expect=ok(), observe=lambda r: "<policy>")
    k.call("cancel", "cancel_key_deletion", KeyId=kid, expect=ok(lambda r: need_eq(r["KeyId"], arn, "KeyId (the key ARN)")))
    k.call("describe-after-cancel", "describe_key", KeyId=kid, expect=ok(described(k, kid, state="Disabled")))
    k.call("cancel-again", "cancel_key_deletion", KeyId=kid, expect=err("KMSInvalidStateException", f"{arn} is not pending deletion."))
    # The model allows 1-365 (AWS's front end checks that, with its usual text); the API
    # reference says the service accepts 7-30 (its message is not documented).
    k.call("schedule-window-0", "schedule_key_deletion", validate=False, KeyId=kid, PendingWindowInDays=0,
           expect=err("ValidationException", validation("0", "pendingWindowInDays", "Member must have value greater than or equal to 1")))
    k.call("schedule-window-366", "schedule_key_deletion", validate=False, KeyId=kid, PendingWindowInDays=366,
           expect=err("ValidationException", validation("366", "pendingWindowInDays", "Member must have value less than or equal to 365")))
    for days in (6, 31):
        k.call(f"schedule-window-{days}", "schedule_key_deletion", KeyId=kid, PendingWindowInDays=days, expect=err("ValidationException"))
    k.call("schedule-missing", "schedule_key_deletion", KeyId="0a0b0c0d-1111-4222-8333-444455556666", PendingWindowInDays=7,
           expect=err("NotFoundException", not_found(k, "0a0b0c0d-1111-4222-8333-444455556666")))


@scenario("rotation", "boto3")
def rotation(k: K) -> None:
    """EnableKeyRotation/GetKeyRotationStatus/RotateKeyOnDemand/ListKeyRotations; old ciphertext decrypts."""
    kid = k.create_key()
    arn = k.arn(kid)

    def status(enabled: bool, period=None) -> callable:
        def check(r: dict) -> None:
            need_eq(r["KeyRotationEnabled"], enabled, "KeyRotationEnabled")
            need(r.get("KeyId") in (kid, arn), f"KeyId: the key's id or ARN, got {r.get('KeyId')!r}")
            if period is not None:
                need_eq(r.get("RotationPeriodInDays"), period, "RotationPeriodInDays")
                need(isinstance(r.get("NextRotationDate"), dt.datetime), "NextRotationDate")

        return check

    k.call("status-new", "get_key_rotation_status", KeyId=kid, expect=ok(status(False)))
    k.call("enable", "enable_key_rotation", KeyId=kid, expect=ok())
    k.call("status-enabled", "get_key_rotation_status", KeyId=kid, expect=ok(status(True, 365)))
    k.call("enable-180", "enable_key_rotation", KeyId=kid, RotationPeriodInDays=180, expect=ok())
    k.call("status-180", "get_key_rotation_status", KeyId=kid, expect=ok(status(True, 180)))
    k.call("period-89", "enable_key_rotation", validate=False, KeyId=kid, RotationPeriodInDays=89,
           expect=err("ValidationException", validation("89", "rotationPeriodInDays", "Member must have value greater than or equal to 90")))
    k.call("period-2561", "enable_key_rotation", validate=False, KeyId=kid, RotationPeriodInDays=2561,
           expect=err("ValidationException", validation("2561", "rotationPeriodInDays", "Member must have value less than or equal to 2560")))
    k.call("disable", "disable_key_rotation", KeyId=kid, expect=ok())
    k.call("status-disabled", "get_key_rotation_status", KeyId=kid, expect=ok(status(False)))
    k.call("list-before", "list_key_rotations", KeyId=kid, expect=ok(lambda r: (need_eq(r["Rotations"], [], "no rotations yet"), need_eq(r["Truncated"], False, "Truncated"))))
    before = k.call("encrypt-before", "encrypt", KeyId=kid, Plaintext=b"before rotation", EncryptionContext={"r": "1"}, expect=ok(), required=True)
    # The AWS CLI's example shows the key id in RotateKeyOnDemand's answer; other operations
    # answer the ARN: either is accepted.
    rotated = ok(lambda r: need(r["KeyId"] in (kid, arn), f"KeyId: the key's id or ARN, got {r['KeyId']!r}"))
    k.call("rotate-1", "rotate_key_on_demand", KeyId=kid, expect=rotated)
    middle = k.call("encrypt-between", "encrypt", KeyId=kid, Plaintext=b"between rotations", expect=ok(), required=True)
    k.call("rotate-2", "rotate_key_on_demand", KeyId=arn, expect=rotated)

    def rotations(n: int) -> callable:
        def check(r: dict) -> None:
            need_eq(len(r["Rotations"]), n, "number of completed rotations")
            for e in r["Rotations"]:
                need_eq(e["KeyId"], kid, "rotation entry KeyId")  # the key id, as the AWS CLI's example shows
                need_eq(e.get("RotationType"), "ON_DEMAND", "RotationType")
                need(isinstance(e.get("RotationDate"), dt.datetime), "RotationDate")

        return check

    k.call("list-after", "list_key_rotations", KeyId=kid, expect=ok(rotations(2)),
           observe=lambda r: {"Rotations": k.norm.value(r["Rotations"]), "Truncated": r.get("Truncated")})
    p1 = k.call("list-page-1", "list_key_rotations", KeyId=kid, Limit=1,
                expect=ok(lambda r: (need_eq(len(r["Rotations"]), 1, "entries"), need_eq(r["Truncated"], True, "Truncated"), need("NextMarker" in r, "NextMarker"))),
                observe=lambda r: {"n": len(r["Rotations"]), "Truncated": r.get("Truncated")})
    if p1.ok and p1.resp.get("NextMarker"):
        k.call("list-page-2", "list_key_rotations", KeyId=kid, Limit=1, Marker=p1["NextMarker"],
               expect=ok(lambda r: (need_eq(len(r["Rotations"]), 1, "entries"), need_eq(r["Truncated"], False, "Truncated"))),
               observe=lambda r: {"n": len(r["Rotations"]), "Truncated": r.get("Truncated")})
    k.call("decrypt-before", "decrypt", CiphertextBlob=before["CiphertextBlob"], EncryptionContext={"r": "1"}, expect=ok(decrypts_to(k, kid, b"before rotation")))
    k.call("decrypt-between", "decrypt", CiphertextBlob=middle["CiphertextBlob"], expect=ok(decrypts_to(k, kid, b"between rotations")))
    after = k.call("encrypt-after", "encrypt", KeyId=kid, Plaintext=b"after rotation", expect=ok(), required=True)
    k.call("decrypt-after", "decrypt", CiphertextBlob=after["CiphertextBlob"], expect=ok(decrypts_to(k, kid, b"after rotation")))
    k.call("disable-key", "disable_key", KeyId=kid, expect=ok())
    k.call("rotate-disabled", "rotate_key_on_demand", KeyId=kid, expect=err("DisabledException", f"{arn} is disabled."))
    k.call("rotate-missing", "rotate_key_on_demand", KeyId="0a0b0c0d-1111-4222-8333-444455556666",
           expect=err("NotFoundException", not_found(k, "0a0b0c0d-1111-4222-8333-444455556666")))


@scenario("tags", "boto3")
def tags(k: K) -> None:
    """TagResource/UntagResource/ListResourceTags; overwriting a tag; reserved aws: prefix."""
    kid = k.create_key()
    as_set = lambda r: sorted((t["TagKey"], t["TagValue"]) for t in r["Tags"])  # noqa: E731
    k.call("list-none", "list_resource_tags", KeyId=kid, expect=ok(lambda r: (need_eq(r["Tags"], [], "Tags"), need_eq(r["Truncated"], False, "Truncated"))))
    k.call("tag", "tag_resource", KeyId=kid, Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}], expect=ok())
    k.call("tag-overwrite", "tag_resource", KeyId=k.arn(kid), Tags=[{"TagKey": "a", "TagValue": "3"}], expect=ok())
    k.call("list", "list_resource_tags", KeyId=kid, expect=ok(lambda r: need_eq(as_set(r), [("a", "3"), ("b", "2")], "Tags")), observe=as_set)
    k.call("untag", "untag_resource", KeyId=kid, TagKeys=["b", "not-there"], expect=ok())
    k.call("list-after-untag", "list_resource_tags", KeyId=kid, expect=ok(lambda r: need_eq(as_set(r), [("a", "3")], "Tags")), observe=as_set)
    k.call("tag-reserved", "tag_resource", KeyId=kid, Tags=[{"TagKey": "aws:owner", "TagValue": "x"}], expect=err("TagException"))
    k.call("tag-missing-key", "tag_resource", KeyId="0a0b0c0d-1111-4222-8333-444455556666", Tags=[{"TagKey": "a", "TagValue": "1"}],
           expect=err("NotFoundException", not_found(k, "0a0b0c0d-1111-4222-8333-444455556666")))
