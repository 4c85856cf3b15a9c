#!/usr/bin/env bash
# Soak test (not part of CI): a 3-zone realm (zonegroup `us`: zone-a master, zone-b, zone-c) on loopback, mixed S3
# load (PUT/GET/DELETE/LIST from several boto3 threads, spread over the zones) for $DURATION seconds, one gateway
# restarted every $RESTART_EVERY seconds (round robin; SIGTERM and SIGKILL alternate), and a probe object written
# every 10 s whose arrival in the other two zones gives the replication lag. At the end it waits for the zones
# to converge and checks every acknowledged write. Reports: 5xx count, connection errors (expected while a
# gateway restarts), objects lost (acknowledged last write missing or different in any zone: must be 0), RSS of
# each gateway over time, and lag over time. Needs python3 with boto3 (scripts/install-test-deps.sh).
#
# Knobs (environment): DURATION (600) RESTART_EVERY (120) WORKERS (4) KEYS (300 per worker) MAX_SIZE (262144)
# CONVERGE_TIMEOUT (300) MERIDIAN_BIN (default target/release/meridian if built, else target/debug/meridian)
# SERVER_ARGS (extra `meridian server` flags) KEEP=1 (keep data directories and logs) OUT (report file).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DURATION="${DURATION:-600}" RESTART_EVERY="${RESTART_EVERY:-120}" WORKERS="${WORKERS:-4}"
export KEYS="${KEYS:-300}" MAX_SIZE="${MAX_SIZE:-262144}" CONVERGE_TIMEOUT="${CONVERGE_TIMEOUT:-300}"
export SERVER_ARGS="${SERVER_ARGS:-}"
if [[ -z "${MERIDIAN_BIN:-}" ]]; then
  if [[ -x "$ROOT/target/release/meridian" ]]; then MERIDIAN_BIN="$ROOT/target/release/meridian"; else MERIDIAN_BIN="$ROOT/target/debug/meridian"; fi
fi
export MERIDIAN_BIN
[[ -x "$MERIDIAN_BIN" ]] || { echo "soak.sh: $MERIDIAN_BIN is missing (cargo build -p meridian)" >&2; exit 1; }
python3 -c 'import boto3' 2>/dev/null || { echo "soak.sh: python3 with boto3 is needed (scripts/install-test-deps.sh)" >&2; exit 1; }
unset MERIDIAN_CONFIG MERIDIAN_DATA_DIR 2>/dev/null || true

DIR="$(mktemp -d "${TMPDIR:-/tmp}/meridian-soak.XXXXXX")"
export DIR
export OUT="${OUT:-$DIR/report.md}"
read -r PA PB PC < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
export PA PB PC
SYS=(--access-key SOAKSYSTEMKEY0000001 --secret soak-system-secret-000000000001)
PIDS=()
finish() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept: $DIR"; else rm -rf "$DIR"; fi
}
trap finish EXIT
m() { local zone="$1"; shift; (cd "$DIR" && "$MERIDIAN_BIN" --data-dir "$DIR/$zone" "$@"); }
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not open" >&2; exit 1; }
start() { # zone port: a configuration-time server (the driver runs its own)
  (cd "$DIR" && exec "$MERIDIAN_BIN" --data-dir "$DIR/$1" server --listen "127.0.0.1:$2") >>"$DIR/$1.log" 2>&1 &
  PIDS+=($!)
  wait_port "$2"
}

echo "== configuring zone-a (master) :$PA, zone-b :$PB, zone-c :$PC in $DIR (binary $MERIDIAN_BIN)"
m a realm create --rgw-realm soak --default >/dev/null
m a zonegroup create --rgw-zonegroup us --endpoints "http://127.0.0.1:$PA" --master --default >/dev/null
m a zone create --rgw-zonegroup us --rgw-zone zone-a --endpoints "http://127.0.0.1:$PA" --master --default "${SYS[@]}" >/dev/null
m a period update --commit >/dev/null
start a "$PA"
for z in b c; do
  port=$([[ $z == b ]] && echo "$PB" || echo "$PC")
  m "$z" realm pull --url "http://127.0.0.1:$PA" "${SYS[@]}" >/dev/null
  m "$z" zone create --rgw-zonegroup us --rgw-zone "zone-$z" --endpoints "http://127.0.0.1:$port" --default "${SYS[@]}" >/dev/null
  m "$z" period update --commit >/dev/null
done
m a user create --uid soak --display-name soak --access-key SOAKUSERKEY000000001 --secret soak-user-secret-0000000001 >/dev/null
for pid in "${PIDS[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
PIDS=()

echo "== load for ${DURATION}s, a gateway restarted every ${RESTART_EVERY}s"
python3 "$ROOT/bench/soak_driver.py"
echo "== report: $OUT"
cat "$OUT"
