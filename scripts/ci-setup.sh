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

# PostgreSQL (ledger suites) and Redis (rate-limit and multi-instance suites) on loopback, as
# DESIGN.md names them. In CI those suites fail rather than skip when a server is missing, so
# this installs what is absent and starts what is not answering, then waits until both answer.
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}
wait_for() { # wait_for <what> <command…>: up to 30 s
  local what="$1"
  shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "ci-setup: $what did not come up" >&2
  exit 1
}

# The s3-http TLS suite makes a throwaway CA and certificates with openssl at test time.
command -v openssl >/dev/null || apt_install openssl

command -v pg_ctlcluster >/dev/null || apt_install postgresql
if pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "ci-setup: PostgreSQL answering on 127.0.0.1:5432"
else
  echo "ci-setup: starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
fi
# The suites connect as postgres over TCP without a password (trust on loopback) to database `test`.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; then
  echo "ci-setup: allowing trust auth for postgres on 127.0.0.1 (CI machine only)"
  hba="$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -n 1)"
  as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(basename "$(dirname "$(dirname "$hba")")")" main reload
  wait_for 'PostgreSQL (trust auth)' psql -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1'
fi
if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'
fi

command -v redis-server >/dev/null || apt_install redis-server
if [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; then
  echo "ci-setup: Redis answering on 127.0.0.1:6379"
else
  echo "ci-setup: starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis sh -c '[ "$(redis-cli -h 127.0.0.1 -p 6379 ping)" = PONG ]'
fi
