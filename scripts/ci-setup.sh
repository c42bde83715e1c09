#!/usr/bin/env bash
# Machine setup for CI (Debian, run as root): what the test suites need beyond `npm ci`.
# Idempotent: installs only what is missing, so running it twice is cheap.
set -euo pipefail

CHROMIUM="${DROPGATE_CHROMIUM:-/usr/bin/chromium}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "ci-setup: need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

# The browser tests drive Debian's chromium through playwright-core (`npx playwright install`
# cannot download here); without it they fail in CI rather than skip.
if [ -x "$CHROMIUM" ]; then
  echo "ci-setup: chromium present ($CHROMIUM)"
else
  echo "ci-setup: installing chromium"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  "$CHROMIUM" --version
fi

# The S3 suites run against a single-node Ceph RGW started by scripts/rgw.sh (see .ci/run); in CI
# they fail rather than skip without it.
if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v ceph >/dev/null; then
  echo "ci-setup: ceph present ($(radosgw --version | awk '{print $3}'))"
else
  echo "ci-setup: installing ceph-mon ceph-osd radosgw ceph-common"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ceph-mon ceph-osd radosgw ceph-common
fi
