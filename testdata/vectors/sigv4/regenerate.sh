#!/usr/bin/env bash
# Regenerates the SigV4 vectors used by crates/server/tests/sigv4_vectors.rs:
#   aws/       AWS's published SigV4 test suite (the header-signed cases with a context.json),
#              copied from the aws-signing-test-suite shipped inside the aws-sigv4 crate
#              (Apache-2.0), at the version pinned in Cargo.lock;
#   botocore.json  requests signed by the venv's botocore SigV4Auth at a fixed time
#              (gen_botocore.py).
# Deterministic: running it twice gives the same files.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cd "$repo"
venv="${SEALTRAIL_VENV:-$repo/.venv}"

version="$(awk '/^name = "aws-sigv4"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
cargo fetch --locked -q
suite=""
for registry in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  if [ -d "$registry/aws-sigv4-$version/aws-signing-test-suite/v4" ]; then
    suite="$registry/aws-sigv4-$version/aws-signing-test-suite/v4"
  fi
done
[ -n "$suite" ] || { echo "aws-sigv4-$version sources not found in the cargo registry" >&2; exit 1; }
rm -rf "$here/aws"
mkdir -p "$here/aws"
for case in "$suite"/*/; do
  name="$(basename "$case")"
  [ -f "$case/context.json" ] || continue
  mkdir -p "$here/aws/$name"
  for f in context.json header-signed-request.txt header-canonical-request.txt header-string-to-sign.txt header-signature.txt; do
    cp "$case/$f" "$here/aws/$name/$f"
  done
done
echo "aws-sigv4 $version" > "$here/aws/SOURCE"

"$venv/bin/python" "$here/gen_botocore.py" > "$here/botocore.json"
echo "sigv4 vectors: $(ls "$here/aws" | grep -vc SOURCE) AWS suite cases, $(grep -c '"name"' "$here/botocore.json") botocore cases"
