#!/usr/bin/env bash
# Bucket move benchmark (issue 12): builds the release binary, sets up a realm of zonegroup `us` (zone-a, the
# metadata master, and zone-b) and zonegroup `eu` (zone-c) on loopback, and for each workload
#   1. SMALL_OBJECTS objects of SMALL_SIZE (default 10,000 x 4 KiB),
#   2. LARGE_OBJECTS objects of LARGE_SIZE (default 32 x 64 MiB = 2 GiB),
# fills a bucket on zone-a (`meridian bench --op put`), waits for zone-b to hold it too, starts a writer
# (bench/move_writer.py: one PUT after the other, through zone-a and zone-b, following the 301 to zone-c,
# retrying 503 every 20 ms), runs `meridian bucket move --bucket B --zonegroup eu` and measures
#   - the copy's throughput: objects and bytes of the bucket / time from the copy's start to the flip;
#   - the whole move (start to flip) and the cut-over as the master records it (fence to flip);
#   - the longest gap between two writes the writer got acknowledged (target: < 1 s).
# Figures are printed and written as markdown to $OUT (default $DIR/results.md, printed at the end).
#
# Knobs (environment): SMALL_OBJECTS (10000) SMALL_SIZE (4KiB) LARGE_OBJECTS (32) LARGE_SIZE (64MiB; 0 objects
# skips the workload) FILL_CONCURRENCY (16) PORT_A/PORT_B/PORT_C (17681-17683) SERVER_ARGS (extra server
# flags; default "--bucket-move-poll-ms 200 --bucket-move-grace-secs 5") TIMEOUT (1800 s per move) SKIP_BUILD=1
# MERIDIAN_BIN KEEP=1 OUT. Needs jq and python3 with botocore.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SMALL_OBJECTS="${SMALL_OBJECTS:-10000}"
SMALL_SIZE="${SMALL_SIZE:-4KiB}"
LARGE_OBJECTS="${LARGE_OBJECTS:-32}"
LARGE_SIZE="${LARGE_SIZE:-64MiB}"
FILL_CONCURRENCY="${FILL_CONCURRENCY:-16}"
PORT_A="${PORT_A:-17681}"
PORT_B="${PORT_B:-17682}"
PORT_C="${PORT_C:-17683}"
SERVER_ARGS="${SERVER_ARGS:---bucket-move-poll-ms 200 --bucket-move-grace-secs 5}"
TIMEOUT="${TIMEOUT:-1800}"
BIN="${MERIDIAN_BIN:-$ROOT/target/release/meridian}"

SYS_ACCESS="SYSKEY0123456789"
SYS_SECRET="SYSSECRET0123456789abcdef"
USER_ACCESS="BENCHKEY"
USER_SECRET="BENCHSECRET"
K=(--access-key "$SYS_ACCESS" --secret "$SYS_SECRET")
EP_A="http://127.0.0.1:$PORT_A"
EP_B="http://127.0.0.1:$PORT_B"
EP_C="http://127.0.0.1:$PORT_C"

unset MERIDIAN_CONFIG MERIDIAN_DATA_DIR 2>/dev/null || true
command -v jq >/dev/null || { echo "bucket-move.sh: jq is needed" >&2; exit 1; }
python3 -c 'import botocore' 2>/dev/null || { echo "bucket-move.sh: python3 with botocore is needed" >&2; exit 1; }
if [[ "${SKIP_BUILD:-0}" != 1 && -z "${MERIDIAN_BIN:-}" ]]; then
  echo "== building (cargo build --release -p meridian)"
  (cd "$ROOT" && cargo build --release -p meridian)
fi
[[ -x "$BIN" ]] || { echo "bucket-move.sh: $BIN is missing" >&2; exit 1; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$PORT_A" "$PORT_B" "$PORT_C"; do
  if port_open "$port"; then
    echo "bucket-move.sh: something already listens on 127.0.0.1:$port; set PORT_A/PORT_B/PORT_C" >&2
    exit 1
  fi
done

DIR="$(mktemp -d "${TMPDIR:-/tmp}/meridian-move-bench.XXXXXX")"
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

m() {
  local zone="$1"
  shift
  (cd "$DIR" && "$BIN" --data-dir "$DIR/$zone" "$@")
}

start_zone() {
  local zone="$1" port="$2"
  # shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
  (cd "$DIR" && exec "$BIN" --data-dir "$DIR/$zone" server --listen "127.0.0.1:$port" --log warn $SERVER_ARGS) \
    >>"$DIR/$zone.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do
    port_open "$port" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bucket-move.sh: the server of $zone exited:" >&2
      tail -50 "$DIR/$zone.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "bucket-move.sh: $zone did not listen on $port within 30s" >&2
  exit 1
}

now() { date +%s.%N; }
calc() { awk "BEGIN { print ($1) }"; }

echo "== realm: us = zone-a (master, $EP_A) + zone-b ($EP_B), eu = zone-c ($EP_C); data in $DIR"
m a realm create --rgw-realm bench --default >/dev/null
m a zonegroup create --rgw-zonegroup us --endpoints "$EP_A" --master --default >/dev/null
m a zone create --rgw-zonegroup us --rgw-zone zone-a --endpoints "$EP_A" --master --default "${K[@]}" >/dev/null
m a period update --commit >/dev/null
start_zone a "$PORT_A"
m b realm pull --url "$EP_A" "${K[@]}" >/dev/null
m b zone create --rgw-zonegroup us --rgw-zone zone-b --endpoints "$EP_B" --default "${K[@]}" >/dev/null
m b period update --commit >/dev/null
start_zone b "$PORT_B"
m c realm pull --url "$EP_A" "${K[@]}" >/dev/null
m c zonegroup create --rgw-zonegroup eu --endpoints "$EP_C" >/dev/null
m c zone create --rgw-zonegroup eu --rgw-zone zone-c --endpoints "$EP_C" --master --default "${K[@]}" >/dev/null
m c period update --commit >/dev/null
start_zone c "$PORT_C"
m a user create --uid bench --display-name bench --access-key "$USER_ACCESS" --secret "$USER_SECRET" >/dev/null

ROWS=()
# run_move NAME OBJECTS SIZE
run_move() {
  local bucket="$1" objects="$2" size="$3"
  echo "== $bucket: $objects objects of $size into zone-a"
  "$BIN" bench --endpoint "$EP_A" --access-key "$USER_ACCESS" --secret "$USER_SECRET" --bucket "$bucket" \
    --op put --objects "$objects" --size "$size" -c "$FILL_CONCURRENCY" --no-progress --json \
    >"$DIR/fill-$bucket.json" 2>"$DIR/fill-$bucket.log" || { cat "$DIR/fill-$bucket.log" >&2; exit 1; }
  m b sync status --watch --interval-ms 200 --timeout-secs "$TIMEOUT" >"$DIR/b-watch-$bucket.log" 2>&1 || {
    cat "$DIR/b-watch-$bucket.log" >&2
    exit 1
  }
  local stop="$DIR/stop-$bucket"
  python3 "$ROOT/bench/move_writer.py" "$USER_ACCESS" "$USER_SECRET" "$bucket" "$stop" "$EP_C" "$EP_A" "$EP_B" \
    >"$DIR/writer-$bucket.json" 2>"$DIR/writer-$bucket.log" &
  local writer=$!
  PIDS+=("$writer")
  sleep 2
  echo "== moving $bucket to eu"
  local t0 t_copy="" t_flip="" status phase
  t0=$(now)
  m b bucket move --bucket "$bucket" --zonegroup eu >/dev/null
  while :; do
    status=$(m a bucket move status --bucket "$bucket")
    phase=$(jq -r .phase <<<"$status")
    [[ -z "$t_copy" && "$phase" != queued && "$phase" != prepare ]] && t_copy=$(now)
    if [[ "$phase" == cleanup || "$phase" == done ]]; then
      t_flip=$(now)
      break
    fi
    if [[ $(calc "$(now) - $t0 > $TIMEOUT") == 1 ]]; then
      echo "bucket-move.sh: the move of $bucket did not finish in ${TIMEOUT}s: $status" >&2
      exit 1
    fi
    sleep 0.1
  done
  sleep 2
  touch "$stop"
  wait "$writer"
  echo "   $(jq -c '{phase, objects_total, bytes_total, cutover_ms, cutover_attempts}' <<<"$status")"
  echo "   writer: $(cat "$DIR/writer-$bucket.json")"
  local n bytes cut gap cgap copy_s total_s
  n=$(jq -r .objects_total <<<"$status")
  bytes=$(jq -r .bytes_total <<<"$status")
  cut=$(jq -r .cutover_ms <<<"$status")
  gap=$(jq -r .longest_gap_ms "$DIR/writer-$bucket.json")
  cgap=$(jq -r .cutover_gap_ms "$DIR/writer-$bucket.json")
  copy_s=$(calc "$t_flip - $t_copy")
  total_s=$(calc "$t_flip - $t0")
  ROWS+=("$(printf '| %s x %s | %s objects, %s | %.1f s | %.1f s | %.0f | %.1f | %s ms | %s ms | %s ms | %s |' "$objects" "$size" \
    "$n" "$(calc "$bytes / 1048576" | xargs printf '%.0f MiB')" "$total_s" "$copy_s" "$(calc "$n / $copy_s")" \
    "$(calc "$bytes / $copy_s / 1000000")" "$cut" "$cgap" "$gap" \
    "$(jq -r '"\(.ops) ops, \(.slowdowns) x 503, \(.redirects) x 301, gaps > 0.5 s: \(.gaps_over_500ms)"' "$DIR/writer-$bucket.json")")")
}

run_move small "$SMALL_OBJECTS" "$SMALL_SIZE"
if [[ "$LARGE_OBJECTS" -gt 0 ]]; then
  run_move large "$LARGE_OBJECTS" "$LARGE_SIZE"
fi

{
  echo "## Bucket move benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, loopback, release build)"
  echo
  echo "us = zone-a + zone-b, eu = zone-c, one machine. Server flags: $SERVER_ARGS. A writer PUTs one object after"
  echo "the other through the us endpoints during the whole move (follows the 301 to eu, retries 503 every 20 ms)."
  echo "Copy = the copy's start to the flip (eu copies from both us zones; the second costs a listing)."
  echo
  echo "Moved = the bucket at the flip (the fill and the writer's objects). Cut-over gap = from the writer's last"
  echo "acknowledged write before its first 503/301 to its first acknowledged write after it (in eu)."
  echo
  echo "| fill | moved | whole move | copy | objects/s | MB/s | cut-over (fence to flip) | cut-over gap seen by the writer | longest gap between acknowledged writes | writer |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} >"$OUT"
echo
cat "$OUT"
