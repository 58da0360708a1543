#!/usr/bin/env bash
# Creates or updates the Python venv that the conformance tests use (the real AWS CLI, boto3,
# moto[server]), from the pinned conformance/requirements.lock.txt. Idempotent: pip runs only
# when the lock file changed since the last successful install (a stamp file in the venv holds
# the lock file's sha256).
#
#   conformance/setup_venv.sh            # venv at ${SEALTRAIL_VENV:-<repo>/.venv}
#   PYTHON=python3.11 conformance/setup_venv.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SEALTRAIL_VENV:-$repo/.venv}"
lock="$repo/conformance/requirements.lock.txt"
stamp="$venv/.sealtrail-lock.sha256"

[ -f "$lock" ] || { echo "setup_venv: missing $lock" >&2; exit 2; }
want="$(sha256sum "$lock" | cut -d' ' -f1)"

# The venv is usable when its interpreter runs (a venv whose base Python moved is not).
usable() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; }

if usable && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/aws" ] && [ -x "$venv/bin/moto_server" ]; then
  echo "setup_venv: $venv is up to date with $(basename "$lock") (sha256 ${want:0:12})"
  exit 0
fi

if ! usable; then
  python="${PYTHON:-}"
  if [ -z "$python" ]; then
    for candidate in python3.11 python3; do
      if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
    done
  fi
  [ -n "$python" ] || { echo "setup_venv: no python3.11 or python3 on PATH" >&2; exit 2; }
  version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if [ "$version" != "3.11" ]; then
    echo "setup_venv: warning: $python is Python $version; the lock file was made with 3.11" >&2
  fi
  echo "setup_venv: creating $venv with $python (Python $version)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

echo "setup_venv: installing $(grep -cv '^\s*\(#\|$\)' "$lock") pinned packages from $(basename "$lock") into $venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$lock"
"$venv/bin/aws" --version
echo "$want" >"$stamp"
echo "setup_venv: done ($venv)"
