#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (a Python venv with the pinned
# AWS CLI, boto3 and moto; cargo-fuzz), then lints, builds, tests, checks golden data for drift,
# runs the conformance suites against the real clients on 127.0.0.1, and smoke-runs the fuzz
# targets. Every server it starts is stopped by PID. Exit status 0 only when all of it passes.
#
#   scripts/test.sh              # everything
#   SEALTRAIL_SKIP_FUZZ=1 scripts/test.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export SEALTRAIL_VENV="${SEALTRAIL_VENV:-$repo/.venv}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A clean clone gains nothing from incremental caches, which cost ~1.4 GiB of disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
started=$(date +%s)
step() { printf '\n==> [%ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
# Disk is what ran out on CI once; say what there is at the start and what the build took.
disk() { printf 'disk: %s free on %s; target/ %s\n' \
  "$(df -Ph . | awk 'NR==2 {print $4}')" "$(df -P . | awk 'NR==2 {print $6}')" \
  "$(if [ -d target ]; then du -sh target | cut -f1; else echo none; fi)"; }
disk
need_kib=$((4 * 1024 * 1024))
if [ "$(df -Pk . | awk 'NR==2 {print $4}')" -lt "$need_kib" ]; then
  echo "warning: under 4 GiB free; a clean build and the suite need about 3 GiB" >&2
fi

step "python venv (awscli, boto3, moto, aws-encryption-sdk-cli), pinned"
conformance/setup_venv.sh

step "rustfmt"
cargo fmt --all --check

step "clippy, shipped code: -D warnings, no unwrap/expect/panic/indexing"
cargo clippy --workspace --lib --bins --locked -- -D warnings
step "clippy, tests and benches"
cargo clippy --workspace --all-targets --locked -- -D warnings \
  -A clippy::unwrap_used -A clippy::expect_used -A clippy::panic -A clippy::indexing_slicing -A clippy::allow_attributes

step "rustdoc -D warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked -q

step "build"
cargo build --workspace --all-targets --locked

disk
step "unit, API, property and CLI tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --doc --locked -q
else
  cargo test --workspace --locked
fi

step "golden data: regenerate and check for drift"
testdata/regenerate.sh
if git rev-parse --git-dir >/dev/null 2>&1; then
  git status --porcelain -- testdata | grep . && { echo "testdata/ drifted after regeneration (see above)" >&2; git diff --stat -- testdata >&2; exit 1; }
  echo "testdata/ regenerates byte for byte"
fi

step "conformance: validate-logs against the real aws cloudtrail validate-logs"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$SEALTRAIL_VENV/bin/python" conformance/validate_logs/run.py \
  --sealtrail target/debug/sealtrail --testkit target/debug/sealtrail-testkit --work "$work/validate-logs"

step "conformance: KMS with boto3, the aws CLI, aws-encryption-cli and the AWS SDK for Rust; sealtrail serve vs moto_server"
# sealtrail-conformance-sdk (the AWS SDK for Rust) is not a default member: the workspace
# build above built it, once, with the features the rest of the workspace uses.
kms_started=$(date +%s)
"$SEALTRAIL_VENV/bin/python" conformance/kms/run.py --target sealtrail --target moto \
  --sealtrail target/debug/sealtrail --sdk target/debug/sealtrail-conformance-sdk --work "$work/kms"
echo "KMS conformance step: $(( $(date +%s) - kms_started ))s"

if [ -z "${SEALTRAIL_SKIP_FUZZ:-}" ]; then
  step "fuzz targets: build and smoke-run on stable (cargo fuzz -s none)"
  if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2 -q
  fi
  (cd fuzz && cargo fuzz build -s none --dev 2>&1 | tail -1)
  for target in $(cd fuzz && cargo fuzz list); do
    if ! out=$(cd fuzz && cargo fuzz run -s none --dev "$target" -- -max_total_time=10 -rss_limit_mb=2048 2>&1); then
      printf '%s\n' "$out" | tail -40
      echo "fuzz target $target failed (reproducer in fuzz/artifacts/$target/)" >&2
      exit 1
    fi
    printf '%s: %s\n' "$target" "$(printf '%s\n' "$out" | tail -1)"
  done
fi

disk
step "all passed in $(( $(date +%s) - started ))s"
