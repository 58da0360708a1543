#!/usr/bin/env bash
# Regenerates the golden data in testdata/ from the fixed demo key and seeds.
# CI runs this and fails on any `git diff` in testdata/: generation must be deterministic.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p sealtrail-testkit
tk=target/debug/sealtrail-testkit
key=testdata/keys/demo-signing-key.pk8
[ -f "$key" ] || { echo "missing $key (the committed demo key); not regenerating it" >&2; exit 2; }

# The demo chain: two days of hourly digests, 3 log files an hour, a two-hour stop of
# logging on the second day, and one backfill digest.
rm -rf testdata/demo
mkdir -p testdata/demo
"$tk" gen --key "$key" --out testdata/demo/bucket --public-keys testdata/demo/public-keys.json \
  --seed 20260110 --start 2026-01-10T00:05:00Z --hours 48 --logs-per-hour 3 --records-per-log 4 \
  --gaps 30,31 --backfill 40
