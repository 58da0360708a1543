#!/usr/bin/env bash
# Downloads the real CloudTrail log file of testdata/real/ from its published source (the
# trailscraper sdist on PyPI), checks the sdist's sha256, and fails if the file differs from
# the committed copy.
set -euo pipefail
cd "$(dirname "$0")/real"
url=https://files.pythonhosted.org/packages/43/82/74344dd629ac17dc4b3906eb07a53a731c3ccc80913abdbbe378c658498f/trailscraper-0.10.0.tar.gz
sum=805994a27ebd3ecd9353cd85b54139822e73980b1da93f63fa0e5d42c8b67ec1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/ts.tar.gz" "$url"
echo "$sum  $tmp/ts.tar.gz" | sha256sum -c --quiet
tar xzf "$tmp/ts.tar.gz" -C "$tmp"
for f in 111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json 111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json.gz; do
  cmp "$tmp/trailscraper-0.10.0/tests/cloudtrail/data/$f" "$f"
done
echo "testdata/real: the log file matches its published source"
