#!/usr/bin/env bash
# Meridian's standard benchmark. Builds the release binary, starts a throwaway server on 127.0.0.1:$PORT with a
# fresh data directory, creates the user `bench`, runs every scenario $RUNS times with `meridian bench`
# (4 KiB, 1 MiB and 64 MiB PUT/GET, LIST of a 10k-object prefix, 256 MiB multipart uploads in 16 parts), and
# writes a markdown table of the medians to bench/results.md; each run's JSON and log go to bench/raw/.
#
# Knobs (environment): PORT (17480) RUNS (3) DURATION (5s per measured phase) CONCURRENCY (8, small objects)
# BIG_CONCURRENCY (4, 64 MiB and up) ONLY (run only scenarios whose name contains this) SKIP_BUILD=1 (use the
# existing target/release/meridian) MERIDIAN_BIN (another binary, not built) KEEP=1 (keep the server's data
# directory) OUT (bench/results.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${PORT:-17480}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-5s}"
CONCURRENCY="${CONCURRENCY:-8}"
BIG_CONCURRENCY="${BIG_CONCURRENCY:-4}"
ONLY="${ONLY:-}"
OUT="${OUT:-$ROOT/bench/results.md}"
RAW="$ROOT/bench/raw"
BIN="${MERIDIAN_BIN:-$ROOT/target/release/meridian}"

command -v python3 >/dev/null || { echo "run.sh: python3 is needed to summarize the results" >&2; exit 1; }

if [[ "${SKIP_BUILD:-0}" != 1 && -z "${MERIDIAN_BIN:-}" ]]; then
  echo "== building (cargo build --release -p meridian)"
  (cd "$ROOT" && cargo build --release -p meridian)
fi
[[ -x "$BIN" ]] || { echo "run.sh: $BIN is missing" >&2; exit 1; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
if port_open; then
  echo "run.sh: something already listens on 127.0.0.1:$PORT; set PORT=" >&2
  exit 1
fi

DIR="$(mktemp -d "${TMPDIR:-/tmp}/meridian-bench.XXXXXX")"
SERVER_PID=""
finish() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "data directory kept: $DIR"; else rm -rf "$DIR"; fi
}
trap finish EXIT

# The server runs in its own directory so that no stray ./meridian.toml is picked up.
(cd "$DIR" && exec "$BIN" --data-dir "$DIR/data" server --listen "127.0.0.1:$PORT") >"$DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  port_open && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run.sh: the server exited:" >&2
    cat "$DIR/server.log" >&2
    exit 1
  fi
  sleep 0.2
done
port_open || { echo "run.sh: the server did not listen on $PORT within 30s" >&2; cat "$DIR/server.log" >&2; exit 1; }
"$BIN" --data-dir "$DIR/data" user create --uid bench --display-name bench \
  --access-key BENCHKEY --secret BENCHSECRET >/dev/null
echo "== server pid $SERVER_PID on 127.0.0.1:$PORT, data in $DIR"

# name|slug|arguments
SCENARIOS=(
  "PUT 4 KiB|put-4k|--op put --size 4KiB --duration $DURATION -c $CONCURRENCY"
  "GET 4 KiB|get-4k|--op get --size 4KiB --duration $DURATION -c $CONCURRENCY"
  "PUT 1 MiB|put-1m|--op put --size 1MiB --duration $DURATION -c $CONCURRENCY"
  "GET 1 MiB|get-1m|--op get --size 1MiB --duration $DURATION -c $CONCURRENCY"
  "PUT 64 MiB|put-64m|--op put --size 64MiB --duration $DURATION -c $BIG_CONCURRENCY"
  "GET 64 MiB|get-64m|--op get --size 64MiB --duration $DURATION -c $BIG_CONCURRENCY"
  "LIST 10k objects|list-10k|--op list --size 1KiB --objects 10000 --duration $DURATION -c $CONCURRENCY"
  "MULTIPART 256 MiB, 16 parts|mpu-256m|--op multipart --size 256MiB --part-size 16MiB --objects 4 --duration 60s -c 2"
)

mkdir -p "$RAW"
rm -f "$RAW"/*.json "$RAW"/*.log
START=$(date +%s)
for entry in "${SCENARIOS[@]}"; do
  IFS='|' read -r name slug args <<<"$entry"
  if [[ -n "$ONLY" && "$name" != *"$ONLY"* ]]; then continue; fi
  for run in $(seq 1 "$RUNS"); do
    json="$RAW/$slug-$run.json"
    log="$RAW/$slug-$run.log"
    # shellcheck disable=SC2086 # $args is a list of flags
    if "$BIN" bench --endpoint "http://127.0.0.1:$PORT" --access-key BENCHKEY --secret BENCHSECRET \
      --bucket bench --no-progress --json --cleanup $args >"$json" 2>"$log"; then
      status=ok
    else
      status="FAILED (exit $?, see $log)"
    fi
    summary=$(python3 - "$json" <<'PY' 2>/dev/null || echo "no result"
import json, sys
r = json.load(open(sys.argv[1]))
o = [x for x in r["ops"] if x["op"] != "PART"][0]
lat = o.get("latency") or {}
print(f'{o["op"]} {o["ops_per_sec"]:.1f} ops/s {o["mib_per_sec"]:.1f} MiB/s p50 {lat.get("p50_ms", 0):.2f} ms, '
      f'{o["errors"]} errors, client CPU {r["cpu"]["percent_of_one_core"]:.0f}%')
PY
)
    echo "== $name, run $run/$RUNS: $status: $summary"
  done
done
ELAPSED=$(( $(date +%s) - START ))

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "uncommitted")
python3 - "$RAW" "$OUT" "$RUNS" "$DURATION" "$CONCURRENCY" "$BIG_CONCURRENCY" "$COMMIT" "$ELAPSED" \
  "${BIN#"$ROOT"/}" "${SCENARIOS[@]}" <<'PY'
import json, os, platform, statistics, sys, time

raw, out, runs, duration, conc, big_conc, commit, elapsed, binary = sys.argv[1:10]
scenarios = [s.split("|", 2) for s in sys.argv[10:]]

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

def ms(v):
    if v is None:
        return "-"
    if v < 1:
        return f"{v * 1000:.0f} µs"
    if v < 1000:
        return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms"
    return f"{v / 1000:.2f} s"

def num(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)

rows = []
for name, slug, args in scenarios:
    results = []
    for run in range(1, int(runs) + 1):
        path = os.path.join(raw, f"{slug}-{run}.json")
        try:
            results.append(json.load(open(path)))
        except (OSError, ValueError):
            pass
    if not results:
        if any(os.path.exists(os.path.join(raw, f"{slug}-{r}.log")) for r in range(1, int(runs) + 1)):
            rows.append(f"| {name} | 0/{runs} | failed, see bench/raw/{slug}-*.log | | | | | | | | |")
        continue
    main = []
    for r in results:
        ops = [o for o in r["ops"] if o["op"] != "PART"]
        if ops:
            main.append((r, ops[0]))
    ok_runs = sum(1 for _, o in main if o["ops"] > 0)
    lat = lambda key: med([(o.get("latency") or {}).get(key) for _, o in main])
    errors = sum(o["errors"] for _, o in main)
    extra = ""
    keys = med([o.get("keys_per_sec") for _, o in main])
    if keys is not None:
        extra = f"{keys:,.0f} keys/s"
    rows.append(
        f"| {name} | {ok_runs}/{runs} | {num(med([o['ops_per_sec'] for _, o in main]))} "
        f"| {num(med([o['mib_per_sec'] for _, o in main]))} "
        f"| {ms(lat('p50_ms'))} | {ms(lat('p90_ms'))} | {ms(lat('p99_ms'))} | {ms(lat('max_ms'))} "
        f"| {errors} | {num(med([(r.get('cpu') or {}).get('percent_of_one_core') for r, _ in main]), '{:.0f}%')} "
        f"| {extra} |"
    )

lines = [
    "# Meridian benchmark results",
    "",
    f"Written by `bench/run.sh` on {time.strftime('%Y-%m-%d %H:%M %Z')} at commit `{commit}`, "
    f"{elapsed} s of scenarios.",
    "",
    f"Machine: {os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}. The server (`{binary}`, "
    "local backend, fresh data directory) and the load generator share this machine and talk over loopback.",
    "",
    f"Each scenario ran {runs} times; every figure is the median of the runs (errors: the sum). Measured phases "
    f"last {duration} (multipart: 4 uploads); objects read by GET and LIST were written first and not timed; "
    f"concurrency {conc} for small objects, {big_conc} for 64 MiB, 2 for multipart. Latency is to the last byte. "
    "Client CPU is the load generator's own user+system time over the measured phase, in % of one core.",
    "",
    "| scenario | runs ok | ops/s | MiB/s | p50 | p90 | p99 | max | errors | client CPU | |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    *rows,
    "",
    "Raw per-run JSON (`meridian bench --json`) is in `bench/raw/`.",
    "",
]
with open(out, "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
PY
echo "== wrote $OUT"
