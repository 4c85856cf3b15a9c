#!/usr/bin/env bash
# Replication benchmark: builds the release binary, sets up a two-zone realm (zonegroup `us`, master zone `zone-a`,
# secondary `zone-b`) in a temporary directory on loopback, creates the user `bench`, and measures
#   1. replication lag: `meridian bench replication` writes $SIZE objects to zone-a at $RATE/s for $DURATION and
#      follows zone-b's bucket index log (system key) to see each arrive (p50/p90/p99/max, how many never
#      arrived, completed writes/s, and the tool's own requests/s on zone-b);
#   2. burst catch-up: fills bucket `fill` on zone-a with $FILL_OBJECTS objects of $SIZE (`meridian bench
#      --op put` with $FILL_CONCURRENCY PUTs in flight, unpaced: as fast as the client and zone-a go) and
#      times how long after the burst zone-b's `sync status` says caught up;
#   3. full-sync throughput: fills bucket `bulk` with $BULK_OBJECTS more (zone-b catches up first), adds a
#      NEW zone `zone-c` to the zonegroup and times its data full sync from its log: from the first "data
#      full sync started" to the last "data full sync done" (every source), and, as before, from the start
#      of its server until `meridian sync status --watch` on zone-c reports every source caught up (and
#      zone-c holds as many objects as zone-a): objects/s and MB/s over everything zone-a holds.
# The figures are printed and written as markdown to $OUT (default: $DIR/results.md, printed at the end).
#
# Knobs (environment): RATE (500) DURATION (30s) SIZE (4KiB) ARRIVAL_TIMEOUT (60s) FILL_OBJECTS (10000)
# FILL_CONCURRENCY (64) BULK_OBJECTS (40000) SYNC_TIMEOUT (900, seconds for each catch-up) PORT_A/PORT_B/PORT_C (17581-17583)
# SERVER_ARGS (extra `meridian server` flags, e.g. "--sync-poll-interval-ms 200 --sync-concurrency 16")
# SKIP_BUILD=1 (use the existing target/release/meridian) MERIDIAN_BIN (another binary for the servers, not built;
# the benchmark tool is still this tree's, see BENCH_BIN) BENCH_BIN (the binary whose `bench` is run) KEEP=1 (keep
# the data directories and logs) OUT (markdown summary file).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RATE="${RATE:-500}"
DURATION="${DURATION:-30s}"
SIZE="${SIZE:-4KiB}"
ARRIVAL_TIMEOUT="${ARRIVAL_TIMEOUT:-60s}"
FILL_OBJECTS="${FILL_OBJECTS:-10000}"
FILL_CONCURRENCY="${FILL_CONCURRENCY:-64}"
BULK_OBJECTS="${BULK_OBJECTS:-40000}"
SYNC_TIMEOUT="${SYNC_TIMEOUT:-900}"
PORT_A="${PORT_A:-17581}"
PORT_B="${PORT_B:-17582}"
PORT_C="${PORT_C:-17583}"
SERVER_ARGS="${SERVER_ARGS:-}"
BIN="${MERIDIAN_BIN:-$ROOT/target/release/meridian}"
BENCH="${BENCH_BIN:-$ROOT/target/release/meridian}"

SYS_ACCESS="SYSKEY0123456789"
SYS_SECRET="SYSSECRET0123456789abcdef"
USER_ACCESS="BENCHKEY"
USER_SECRET="BENCHSECRET"
K=(--access-key "$SYS_ACCESS" --secret "$SYS_SECRET")
EP_A="http://127.0.0.1:$PORT_A"
EP_B="http://127.0.0.1:$PORT_B"
EP_C="http://127.0.0.1:$PORT_C"

unset MERIDIAN_CONFIG MERIDIAN_DATA_DIR 2>/dev/null || true
command -v jq >/dev/null || { echo "bench-replication.sh: jq is needed to read the JSON reports" >&2; exit 1; }

if [[ "${SKIP_BUILD:-0}" != 1 && ( -z "${MERIDIAN_BIN:-}" || -z "${BENCH_BIN:-}" ) ]]; then
  echo "== building (cargo build --release -p meridian)"
  (cd "$ROOT" && cargo build --release -p meridian)
fi
[[ -x "$BIN" ]] || { echo "bench-replication.sh: $BIN is missing" >&2; exit 1; }
[[ -x "$BENCH" ]] || { echo "bench-replication.sh: $BENCH is missing" >&2; exit 1; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
BENCH="$(cd "$(dirname "$BENCH")" && pwd)/$(basename "$BENCH")"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$PORT_A" "$PORT_B" "$PORT_C"; do
  if port_open "$port"; then
    echo "bench-replication.sh: something already listens on 127.0.0.1:$port; set PORT_A/PORT_B/PORT_C" >&2
    exit 1
  fi
done

DIR="$(mktemp -d "${TMPDIR:-/tmp}/meridian-repl-bench.XXXXXX")"
OUT="${OUT:-$DIR/results.md}"
PIDS=()
finish() {
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ "${KEEP:-0}" == 1 ]]; then echo "data directories and logs kept: $DIR"; else rm -rf "$DIR"; fi
}
trap finish EXIT

# m ZONE ARGS...: an admin verb on zone ZONE's data directory (through its server while one runs).
m() {
  local zone="$1"
  shift
  (cd "$DIR" && "$BIN" --data-dir "$DIR/$zone" "$@")
}

# start_zone ZONE PORT: starts the zone's server and waits until it accepts connections.
start_zone() {
  local zone="$1" port="$2"
  # shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
  (cd "$DIR" && exec "$BIN" --data-dir "$DIR/$zone" server --listen "127.0.0.1:$port" $SERVER_ARGS) \
    >>"$DIR/$zone.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do
    port_open "$port" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench-replication.sh: the server of $zone exited:" >&2
      tail -50 "$DIR/$zone.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "bench-replication.sh: $zone did not listen on $port within 30s" >&2
  tail -50 "$DIR/$zone.log" >&2
  exit 1
}

now() { date +%s.%N; }
# cpu_secs PID: CPU time (user + system, seconds) the process has used so far: a figure that, unlike
# wall-clock rates, does not depend much on what else the machine runs.
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
# calc EXPR: floating-point arithmetic (awk), e.g. calc "3 / 2"; comparisons print 1 or 0.
calc() { awk "BEGIN { print ($1) }"; }
# objects_and_bytes ZONE: "OBJECTS BYTES" summed over every bucket the zone holds.
objects_and_bytes() {
  m "$1" bucket stats | jq -r '[.[].usage["rgw.main"] // {}] | "\(map(.num_objects // 0) | add // 0) \(map(.size // 0) | add // 0)"'
}

echo "== realm: zone-a (master) on $EP_A, zone-b on $EP_B, data in $DIR"
m a realm create --rgw-realm bench --default >/dev/null
m a zonegroup create --rgw-zonegroup us --endpoints "$EP_A" --master --default >/dev/null
m a zone create --rgw-zonegroup us --rgw-zone zone-a --endpoints "$EP_A" --master --default "${K[@]}" >/dev/null
m a period update --commit >/dev/null
start_zone a "$PORT_A"
m b realm pull --url "$EP_A" "${K[@]}" >/dev/null
m b zone create --rgw-zonegroup us --rgw-zone zone-b --endpoints "$EP_B" --default "${K[@]}" >/dev/null
m b period update --commit >/dev/null
start_zone b "$PORT_B"
m a user create --uid bench --display-name bench --access-key "$USER_ACCESS" --secret "$USER_SECRET" >/dev/null

if ! m b sync status --format json >"$DIR/b-status.json" 2>"$DIR/b-status.err"; then
  echo "bench-replication.sh: zone-b does not answer GET /admin/sync/status: $(cat "$DIR/b-status.err")" >&2
  echo "(this build has no sync agents yet)" >&2
  exit 1
fi

echo "== replication lag: $SIZE objects at $RATE/s for $DURATION, zone-a -> zone-b"
"$BENCH" bench replication --source-endpoint "$EP_A" --target-endpoint "$EP_B" \
  --access-key "$USER_ACCESS" --secret "$USER_SECRET" --bucket lag \
  --log-access-key "$SYS_ACCESS" --log-secret "$SYS_SECRET" \
  --rate "$RATE" --duration "$DURATION" --size "$SIZE" --arrival-timeout "$ARRIVAL_TIMEOUT" \
  --no-progress --json >"$DIR/lag.json" 2>"$DIR/lag.log" || { cat "$DIR/lag.log" >&2; exit 1; }
sed 's/^/   /' "$DIR/lag.log"

echo "== fill: $FILL_OBJECTS objects of $SIZE into bucket fill on zone-a ($FILL_CONCURRENCY concurrent PUTs)"
"$BENCH" bench --endpoint "$EP_A" --access-key "$USER_ACCESS" --secret "$USER_SECRET" --bucket fill \
  --op put --objects "$FILL_OBJECTS" --size "$SIZE" -c "$FILL_CONCURRENCY" --no-progress --json \
  >"$DIR/fill.json" 2>"$DIR/fill.log" || { cat "$DIR/fill.log" >&2; exit 1; }

echo "== zone-b catching up with the fill"
t0=$(now)
if ! m b sync status --watch --interval-ms 100 --timeout-secs "$SYNC_TIMEOUT" >"$DIR/b-watch.log" 2>&1; then
  cat "$DIR/b-watch.log" >&2
  exit 1
fi
b_catchup=$(calc "$(now) - $t0")
fill_rate=$(jq -r '.total.ops_per_sec' "$DIR/fill.json")
echo "   fill at $fill_rate PUT/s; zone-b caught up ${b_catchup}s after the fill"

if [[ "$BULK_OBJECTS" -gt 0 ]]; then
  echo "== bulk: $BULK_OBJECTS objects of $SIZE into bucket bulk on zone-a (for the full sync)"
  "$BENCH" bench --endpoint "$EP_A" --access-key "$USER_ACCESS" --secret "$USER_SECRET" --bucket bulk \
    --op put --objects "$BULK_OBJECTS" --size "$SIZE" -c "$FILL_CONCURRENCY" --no-progress --json \
    >"$DIR/bulk.json" 2>"$DIR/bulk.log" || { cat "$DIR/bulk.log" >&2; exit 1; }
  m b sync status --watch --interval-ms 250 --timeout-secs "$SYNC_TIMEOUT" >>"$DIR/b-watch.log" 2>&1 \
    || { cat "$DIR/b-watch.log" >&2; exit 1; }
fi
read -r a_objects a_bytes < <(objects_and_bytes a)
echo "   zone-a holds $a_objects objects, $a_bytes bytes"

echo "== full sync: new zone zone-c on $EP_C"
m c realm pull --url "$EP_A" "${K[@]}" >/dev/null
m c zone create --rgw-zonegroup us --rgw-zone zone-c --endpoints "$EP_C" --default "${K[@]}" >/dev/null
m c period update --commit >/dev/null
cpu_a0=$(cpu_secs "${PIDS[0]}")
cpu_b0=$(cpu_secs "${PIDS[1]}")
t0=$(now)
start_zone c "$PORT_C"
if ! m c sync status --watch --interval-ms 250 --timeout-secs "$SYNC_TIMEOUT" >"$DIR/c-watch.log" 2>&1; then
  cat "$DIR/c-watch.log" >&2
  exit 1
fi
t_caught_up=$(calc "$(now) - $t0")
# "Caught up" must mean the objects are there: wait (same deadline) until zone-c holds what zone-a holds.
deadline=$(calc "$t0 + $SYNC_TIMEOUT")
while :; do
  read -r c_objects c_bytes < <(objects_and_bytes c)
  [[ "$c_objects" -ge "$a_objects" ]] && break
  if [[ $(calc "$(now) > $deadline") == 1 ]]; then
    echo "bench-replication.sh: zone-c reported caught up but holds $c_objects of $a_objects objects" >&2
    exit 1
  fi
  sleep 0.25
done
t_full=$(calc "$(now) - $t0")
[[ $(calc "$t_full < $t_caught_up") == 1 ]] && t_full="$t_caught_up"
cpu_used=$(calc "$(cpu_secs "${PIDS[0]}") - $cpu_a0 + $(cpu_secs "${PIDS[1]}") - $cpu_b0 + $(cpu_secs "${PIDS[2]}")")
# The data full sync itself, from zone-c's log: first "started" to last "done" (one line per source).
log_time() { # log_time PATTERN first|last: the time (s) of the first or last zone-c log line matching PATTERN
  sed 's/\x1b\[[0-9;]*m//g' "$DIR/c.log" | grep -- "$1" | { if [[ "$2" == first ]]; then head -1; else tail -1; fi; } |
    awk '{print $1}' | xargs -r -I{} date -d {} +%s.%N
}
sync_started=$(log_time "sync::data: data full sync started" first)
sync_done=$(log_time "sync::data: data full sync done" last)
if [[ -z "$sync_started" || -z "$sync_done" ]]; then
  echo "bench-replication.sh: zone-c's log has no data full sync start or end" >&2
  exit 1
fi
t_sync=$(calc "$sync_done - $sync_started")
sources=$(sed 's/\x1b\[[0-9;]*m//g' "$DIR/c.log" | grep -c "sync::data: data full sync done")

lag() { jq -r "$1" "$DIR/lag.json"; }
ms() { jq -r "if .lag == null then \"-\" else (.lag.$1 | . * 10 | round / 10 | tostring) + \" ms\" end" "$DIR/lag.json"; }
objs_per_s=$(calc "$a_objects / $t_full")
sync_objs_per_s=$(calc "$a_objects / $t_sync")
sync_mb_per_s=$(calc "$a_bytes / $t_sync / 1000000")

{
  echo "## Replication benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, loopback)"
  echo
  echo "Server flags: ${SERVER_ARGS:-(defaults)}"
  echo
  echo "### Replication lag, zone-a -> zone-b ($SIZE objects at $RATE/s for $DURATION)"
  echo
  echo "| written | completed writes/s | arrived | never arrived (${ARRIVAL_TIMEOUT}) | p50 | p90 | p99 | max | tool's load on zone-b |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '| %s | %.1f/s | %s | %s | %s | %s | %s | %s | %.0f req/s (%s) |\n' "$(lag .written)" "$(lag .achieved_rate)" \
    "$(lag .arrived)" "$(lag .never_arrived)" "$(ms p50_ms)" "$(ms p90_ms)" "$(ms p99_ms)" "$(ms max_ms)" \
    "$(lag .target_requests_per_s)" "$(lag .detection)"
  echo
  echo "### Full sync of a new zone (zone-c)"
  echo
  echo "| objects | bytes | data full sync (log, $sources sources) | objects/s | MB/s | server start → caught up (sync status) | → all objects present | objects/s from server start |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '| %s | %s | %.2f s | %.0f | %.2f | %.1f s | %.1f s | %.0f |\n' "$a_objects" "$a_bytes" "$t_sync" \
    "$sync_objs_per_s" "$sync_mb_per_s" "$t_caught_up" "$t_full" "$objs_per_s"
  echo
  printf 'CPU used by the three servers from zone-c'"'"'s start until it holds everything: %.1f s (%.2f ms per object).\n' \
    "$cpu_used" "$(calc "$cpu_used * 1000 / $a_objects")"
  echo
  printf 'Burst on zone-a: %s PUTs (%s in flight) at %.0f/s; zone-b caught up with it %.2f s after the burst ended.\n' \
    "$FILL_OBJECTS" "$FILL_CONCURRENCY" "$fill_rate" "$b_catchup"
} >"$OUT"
echo
cat "$OUT"
