#!/usr/bin/env bash
# Backup benchmark. Starts a throwaway server on 127.0.0.1:$PORT with a fresh data directory, fills it with
# OBJECTS small objects of SIZE (inline in the metadata store) and LARGE objects of LARGE_SIZE (blob files),
# then measures, through the running server (`meridian backup create`, streamed over the admin API):
#   - backup throughput, metadata only and --with-data;
#   - PUT latency without a backup and while backups run back to back, in the same run (same bucket, size,
#     concurrency and duration);
#   - `backup verify` and `backup restore` throughput;
# and writes a markdown section to bench/results.md (between the backup-bench markers, replacing an older
# one); raw JSON goes to bench/raw/backup-*.
#
# Knobs (environment): PORT (17490) OBJECTS (1000000) SIZE (1KiB) LARGE (200) LARGE_SIZE (1MiB)
# FILL_CONCURRENCY (16) LAT_DURATION (20s) LAT_CONCURRENCY (4) LAT_SIZE (4KiB) SKIP_BUILD=1 MERIDIAN_BIN
# KEEP=1 (keep the data directory) OUT (bench/results.md). Needs python3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${PORT:-17490}"
OBJECTS="${OBJECTS:-1000000}"
SIZE="${SIZE:-1KiB}"
LARGE="${LARGE:-200}"
LARGE_SIZE="${LARGE_SIZE:-1MiB}"
FILL_CONCURRENCY="${FILL_CONCURRENCY:-16}"
LAT_DURATION="${LAT_DURATION:-20s}"
LAT_CONCURRENCY="${LAT_CONCURRENCY:-4}"
LAT_SIZE="${LAT_SIZE:-4KiB}"
OUT="${OUT:-$ROOT/bench/results.md}"
RAW="${RAW:-$ROOT/bench/raw}"
BIN="${MERIDIAN_BIN:-$ROOT/target/release/meridian}"

command -v python3 >/dev/null || { echo "backup.sh: python3 is needed" >&2; exit 1; }
if [[ "${SKIP_BUILD:-0}" != 1 && -z "${MERIDIAN_BIN:-}" ]]; then
  echo "== building (cargo build --release -p meridian)"
  (cd "$ROOT" && cargo build --release -p meridian)
fi
[[ -x "$BIN" ]] || { echo "backup.sh: $BIN is missing" >&2; exit 1; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
mkdir -p "$RAW"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
if port_open; then
  echo "backup.sh: something already listens on 127.0.0.1:$PORT; set PORT=" >&2
  exit 1
fi

DIR="$(mktemp -d "${TMPDIR:-/tmp}/meridian-backup-bench.XXXXXX")"
DATA="$DIR/data"
SERVER_PID=""
LOOP_PID=""
finish() {
  [[ -n "$LOOP_PID" ]] && kill "$LOOP_PID" 2>/dev/null || true
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "data directory kept: $DIR"; else rm -rf "$DIR"; fi
}
trap finish EXIT

(cd "$DIR" && exec "$BIN" --data-dir "$DATA" server --listen "127.0.0.1:$PORT" --log warn) >>"$DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do port_open && break; sleep 0.2; done
port_open || { echo "backup.sh: the server did not start" >&2; cat "$DIR/server.log" >&2; exit 1; }
"$BIN" --data-dir "$DATA" user create --uid bench --display-name bench --access-key BENCHKEY --secret BENCHSECRET >/dev/null

mbench() {
  "$BIN" bench --endpoint "http://127.0.0.1:$PORT" --access-key BENCHKEY --secret BENCHSECRET --no-progress --json "$@"
}

echo "== filling: $OBJECTS x $SIZE and $LARGE x $LARGE_SIZE"
t0=$(date +%s.%N)
mbench --bucket fill --op put --size "$SIZE" --objects "$OBJECTS" -c "$FILL_CONCURRENCY" --timeout 10m >"$RAW/backup-fill.json"
mbench --bucket large --op put --size "$LARGE_SIZE" --objects "$LARGE" -c 4 >"$RAW/backup-fill-large.json"
t1=$(date +%s.%N)
FILL_S=$(python3 -c "print(round($t1 - $t0, 1))")

# backup NAME ARGS...: one online backup, its CLI JSON in $RAW/backup-NAME.json
backup() {
  local name="$1"; shift
  rm -f "$DIR/$name.tar.zst"
  "$BIN" --data-dir "$DATA" backup create --out "$DIR/$name.tar.zst" "$@" >"$RAW/backup-$name.json"
}

echo "== backup, metadata only"
backup meta
echo "== backup, with data"
backup data --with-data

echo "== PUT latency without a backup"
mbench --bucket lat --op put --size "$LAT_SIZE" --duration "$LAT_DURATION" -c "$LAT_CONCURRENCY" --cleanup >"$RAW/backup-put-idle.json"
echo "== PUT latency while backups run back to back"
(
  n=0
  while true; do
    n=$((n + 1))
    rm -f "$DIR/loop.tar.zst"
    "$BIN" --data-dir "$DATA" backup create --out "$DIR/loop.tar.zst" >"$RAW/backup-loop-$n.json" 2>/dev/null || true
  done
) &
LOOP_PID=$!
sleep 1
mbench --bucket lat --op put --size "$LAT_SIZE" --duration "$LAT_DURATION" -c "$LAT_CONCURRENCY" --cleanup >"$RAW/backup-put-busy.json"
kill "$LOOP_PID" 2>/dev/null || true
wait "$LOOP_PID" 2>/dev/null || true
LOOP_PID=""
LOOPS=$(ls "$RAW"/backup-loop-*.json 2>/dev/null | wc -l)

echo "== verify and restore (with data)"
t0=$(date +%s.%N)
"$BIN" backup verify "$DIR/data.tar.zst" >"$RAW/backup-verify.json"
t1=$(date +%s.%N)
VERIFY_S=$(python3 -c "print(round($t1 - $t0, 2))")
"$BIN" --data-dir "$DIR/restored" backup restore "$DIR/data.tar.zst" >"$RAW/backup-restore.json"

python3 - "$OUT" "$RAW" "$OBJECTS" "$SIZE" "$LARGE" "$LARGE_SIZE" "$FILL_S" "$VERIFY_S" "$LOOPS" \
  "$LAT_DURATION" "$LAT_CONCURRENCY" "$LAT_SIZE" "$(git -C "$ROOT" rev-parse --short HEAD)" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$BIN" <<'PY'
import glob, json, os, sys, datetime
out, raw, objects, size, large, large_size, fill_s, verify_s, loops, lat_d, lat_c, lat_size, commit, nproc, load, binary = sys.argv[1:]
j = lambda n: json.load(open(os.path.join(raw, f"backup-{n}.json")))
meta, data, restore = j("meta"), j("data"), j("restore")
def put_stats(n):
    op = j(n)["ops"][0]
    rate = round(op["ops_per_sec"], 1)
    return op["latency"], rate
idle, idle_rate = put_stats("put-idle")
busy, busy_rate = put_stats("put-busy")
loop_runs = []
for f in sorted(glob.glob(os.path.join(raw, "backup-loop-*.json"))):
    try:
        loop_runs.append(json.load(open(f)))
    except Exception:
        pass
mib = 1024 * 1024
def row(name, r):
    s = r["seconds"]
    return (f"| {name} | {r['counts']['objects']:,} | {r['bytes']['members'] / mib:,.1f} MiB | {r['size'] / mib:,.1f} MiB "
            f"| {s:.1f} s | {r['counts']['objects'] / s:,.0f} | {r['bytes']['members'] / mib / s:,.1f} | {r['snapshot_wait_us']} µs |")
lines = [
    "<!-- backup-bench:start -->",
    "## Backup and restore",
    "",
    f"Written by `bench/backup.sh` on {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC at commit `{commit}`; nproc {nproc}, "
    f"load average {load} at the end; binary `{os.path.relpath(binary)}`. **The machine was shared with other jobs while this ran**: the figures "
    "are lower bounds for an idle machine. The zone was filled through S3 with "
    f"{int(objects):,} objects of {size} (inline in the metadata store) and {large} of {large_size} (blob files) in {fill_s} s; "
    "every backup below is online: `meridian backup create` through the running server, streamed over the admin "
    "API and checked member by member as it arrives.",
    "",
    "| backup | objects | archive members (uncompressed) | file | duration | objects/s | MiB/s (members) | snapshot wait |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    row("metadata only", meta),
    row("with data", data),
    "",
    f"`backup verify` of the with-data file: {verify_s} s; `backup restore` of it: {restore['seconds']:.1f} s "
    f"({data['counts']['objects'] / restore['seconds']:,.0f} objects/s, {data['bytes']['members'] / mib / restore['seconds']:,.1f} MiB/s).",
    "",
    f"PUT latency ({lat_size}, concurrency {lat_c}, {lat_d} each, same run), without a backup and while metadata-only "
    f"backups ran back to back ({len(loop_runs)} completed during the phase):",
    "",
    "| phase | ops/s | p50 | p90 | p99 | max |",
    "|---|---:|---:|---:|---:|---:|",
    f"| no backup | {idle_rate if idle_rate is not None else '-'} | {idle['p50_ms']:.2f} ms | {idle['p90_ms']:.2f} ms | {idle['p99_ms']:.2f} ms | {idle['max_ms']:.2f} ms |",
    f"| backups running | {busy_rate if busy_rate is not None else '-'} | {busy['p50_ms']:.2f} ms | {busy['p90_ms']:.2f} ms | {busy['p99_ms']:.2f} ms | {busy['max_ms']:.2f} ms |",
    "",
    f"p99 while backing up / p99 without: **{busy['p99_ms'] / idle['p99_ms']:.2f}x** (target: at most 1.5x).",
    "<!-- backup-bench:end -->",
]
section = "\n".join(lines) + "\n"
text = open(out).read() if os.path.exists(out) else ""
start, end = text.find("<!-- backup-bench:start -->"), text.find("<!-- backup-bench:end -->")
if start >= 0 and end >= 0:
    text = text[:start] + section + text[end + len("<!-- backup-bench:end -->") + 1:]
else:
    text = text.rstrip("\n") + "\n\n" + section
open(out, "w").write(text)
print(section)
PY
