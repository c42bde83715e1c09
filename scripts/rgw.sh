#!/usr/bin/env bash
# A single-node Ceph RGW on loopback for the S3 tests: 1 mon, 1 osd on memstore, no cephx, pools of
# size 1, radosgw (beast) on 127.0.0.1. Everything lives in one folder outside the repo; `stop`
# kills what `start` started and removes the folder (memstore keeps no data on disk anyway).
#
#   scripts/rgw.sh start    install the Debian packages if missing, start, create user and bucket
#   scripts/rgw.sh stop     stop the daemons, remove the folder
#   scripts/rgw.sh status   exit 0 when S3 answers
#   scripts/rgw.sh env      print the S3_* / AWS_* variables (also in $DROPGATE_RGW_DIR/env)
#
# Tests read the env file (default /tmp/dropgate-rgw/env). Overrides: DROPGATE_RGW_DIR,
# DROPGATE_RGW_PORT (7480), DROPGATE_RGW_MON_PORT (6789), DROPGATE_RGW_BYTES (memstore size).
set -Eeuo pipefail

DIR="${DROPGATE_RGW_DIR:-/tmp/dropgate-rgw}"
PORT="${DROPGATE_RGW_PORT:-7480}"
MON_PORT="${DROPGATE_RGW_MON_PORT:-6789}"
# memstore holds objects in RAM; this is its ceiling, not an allocation.
STORE_BYTES="${DROPGATE_RGW_BYTES:-$((8 * 1024 * 1024 * 1024))}"
BUCKET=dropgate-test
REGION=us-east-1
# Fixed test keys: this cluster listens on loopback only and holds throwaway data.
ACCESS_KEY=DROPGATETESTACCESS01
SECRET_KEY=dropgate-test-secret-key-not-for-production
CONF="$DIR/ceph.conf"
ENDPOINT="http://127.0.0.1:$PORT"

log() { echo "rgw: $*" >&2; }
trap 'log "failed at line $LINENO: $BASH_COMMAND (logs in $DIR/log)"' ERR
ceph_() { ceph -c "$CONF" --connect-timeout 10 "$@"; }

install_packages() {
  local missing=()
  for bin in ceph-mon ceph-osd radosgw ceph; do command -v "$bin" >/dev/null || missing+=("$bin"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${missing[*]}; run as root (or: apt-get install ceph-mon ceph-osd radosgw ceph-common)"
    exit 1
  fi
  log "installing ceph-mon ceph-osd radosgw ceph-common"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ceph-mon ceph-osd radosgw ceph-common >&2
}

s3_answers() { curl -s -o /dev/null --max-time 2 "$ENDPOINT/"; }

write_conf() {
  local fsid=$1
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$MON_PORT
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
# RGW creates about eight pools; few PGs each start fast and stay under the per-OSD cap.
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
keyring = $DIR/keyring
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $STORE_BYTES
# A 1 GiB upload must fit; the default full ratios assume a real disk.
mon osd full ratio = .99
mon osd backfillfull ratio = .98
mon osd nearfull ratio = .97
# The OSD's own crush and device-class updates at start race its first monmap ("wrong fsid")
# and kill it now and then; start() places it in the crush map instead.
osd crush update on start = false
osd class update on start = false
osd op num shards = 1
osd op num threads per shard = 2

[client.rgw.dropgate]
# tcp_nodelay: beast writes an answer's headers and body apart; with Nagle on, the body waited
# for the client's delayed ACK (~44 ms per answer with a body; bench control, BENCHMARKS.md).
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw data = $DIR/rgw
# Deleted objects are garbage-collected soon instead of after two hours (memstore is RAM).
rgw gc obj min wait = 60
rgw gc processor period = 60
# Lifecycle rules run every ten seconds of "day", so a lifecycle test can see one run.
rgw lc debug interval = 10
EOF
}

start() {
  install_packages
  if s3_answers && [ -f "$DIR/env" ]; then
    log "already running at $ENDPOINT"
    cat "$DIR/env"
    return 0
  fi
  [ -d "$DIR" ] && stop_daemons
  rm -rf "$DIR"
  mkdir -p "$DIR"/{run,log,mon,osd/ceph-0,rgw}
  local started=$SECONDS fsid osd_uuid
  fsid=$(uuidgen)
  osd_uuid=$(uuidgen)
  write_conf "$fsid"
  : >"$DIR/keyring"

  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >/dev/null
  # Daemons fork into the background; what they print before that goes to the log folder.
  ceph-mon -c "$CONF" -i a 2>>"$DIR/log/start.log"
  ceph_ osd new "$osd_uuid" >/dev/null
  ceph_ osd crush add-bucket local host >/dev/null 2>&1
  ceph_ osd crush move local root=default >/dev/null 2>&1
  ceph_ osd crush add osd.0 1.0 host=local >/dev/null 2>&1
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
  ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/start.log"
  wait_for "the osd to come up" osd_up 60
  radosgw -c "$CONF" -n client.rgw.dropgate 2>>"$DIR/log/start.log"
  wait_for "S3 to answer on $ENDPOINT" s3_answers 90

  radosgw-admin -c "$CONF" user create --uid=dropgate --display-name=dropgate \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  wait_for "bucket $BUCKET" create_bucket 30
  write_env
  log "ready at $ENDPOINT in $((SECONDS - started)) s ($(radosgw --version | awk '{print $3, $5}'))"
  cat "$DIR/env"
}

osd_up() { ceph_ osd stat 2>/dev/null | grep -q '1 up'; }

# curl signs with SigV4 itself; a 409 BucketAlreadyOwnedByYou counts as created.
create_bucket() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X PUT \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$ENDPOINT/$BUCKET")
  [ "$code" = 200 ] || [ "$code" = 409 ]
}

wait_for() {
  local what=$1 check=$2 timeout=$3 deadline=$((SECONDS + $3))
  until "$check"; do
    if [ $SECONDS -ge $deadline ]; then
      log "gave up waiting ${timeout}s for $what; logs in $DIR/log"
      tail -n 20 "$DIR"/log/*.log >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

env_lines() {
  cat <<EOF
S3_ENDPOINT=$ENDPOINT
S3_BUCKET=$BUCKET
S3_REGION=$REGION
S3_FORCE_PATH_STYLE=true
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
EOF
}

write_env() { env_lines >"$DIR/env.tmp" && mv "$DIR/env.tmp" "$DIR/env"; }

# Only daemons whose pid file is in our folder, and only if the pid still runs that program.
stop_daemons() {
  local pidfile pid name pids=()
  for name in client.rgw.dropgate osd.0 mon.a; do
    pidfile="$DIR/run/$name.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && grep -qE 'ceph|radosgw' "/proc/$pid/comm" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

stop() {
  [ -d "$DIR" ] || { log "not running"; return 0; }
  stop_daemons
  rm -rf "$DIR"
  log "stopped"
}

status() {
  if s3_answers && [ -f "$DIR/env" ]; then
    log "running at $ENDPOINT"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) if [ -f "$DIR/env" ]; then cat "$DIR/env"; else env_lines; fi ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
