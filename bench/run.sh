#!/usr/bin/env bash
# Meridian's standard benchmark. Builds the release binary, starts a throwaway server on 127.0.0.1:$PORT with a
# fresh data directory, creates the user `bench`, runs every scenario $RUNS times with `meridian bench`
# (4 KiB, 1 MiB and 64 MiB PUT/GET, LIST of a 10k-object prefix, 256 MiB multipart uploads in 16 parts), and
# then measures the server's peak RSS during RSS_CONCURRENCY-way concurrent uploads of RSS_SIZE objects (single
# PUT, then multipart in 16 MiB parts), and writes a markdown table of the medians to bench/results.md; each
# run's JSON and log go to bench/raw/.
#
# Knobs (environment): PORT (17480) RUNS (3) DURATION (5s per measured phase) CONCURRENCY (8, small objects)
# BIG_CONCURRENCY (4, 64 MiB and up) MPU_OBJECTS (4 uploads of 256 MiB per multipart run) ONLY (run only
# scenarios whose name contains this) RSS (1; 0 skips the memory scenario) RSS_CONCURRENCY (64) RSS_SIZE (256MiB)
# RSS_MODES ("put multipart") RSS_RUNS (3) SKIP_BUILD=1 (use the existing target/release/meridian) MERIDIAN_BIN (another
# binary, not built) KEEP=1 (keep the server's data directory) OUT (bench/results.md). The data directory is
# created under $TMPDIR (/tmp): the memory scenario needs RSS_CONCURRENCY x RSS_SIZE (16 GiB) free there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${PORT:-17480}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-5s}"
CONCURRENCY="${CONCURRENCY:-8}"
BIG_CONCURRENCY="${BIG_CONCURRENCY:-4}"
MPU_OBJECTS="${MPU_OBJECTS:-4}"
ONLY="${ONLY:-}"
RSS="${RSS:-1}"
RSS_CONCURRENCY="${RSS_CONCURRENCY:-64}"
RSS_SIZE="${RSS_SIZE:-256MiB}"
RSS_MODES="${RSS_MODES:-put multipart}"
RSS_RUNS="${RSS_RUNS:-3}"
OUT="${OUT:-$ROOT/bench/results.md}"
RAW="${RAW:-$ROOT/bench/raw}"
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

# start_server DATA_DIR: a fresh server on $PORT (in its own directory, so that no stray ./meridian.toml is
# picked up) with the user `bench`; sets SERVER_PID.
start_server() {
  local data="$1"
  (cd "$DIR" && exec "$BIN" --data-dir "$data" server --listen "127.0.0.1:$PORT") >>"$DIR/server.log" 2>&1 &
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
  "$BIN" --data-dir "$data" user create --uid bench --display-name bench \
    --access-key BENCHKEY --secret BENCHSECRET >/dev/null
  echo "== server pid $SERVER_PID on 127.0.0.1:$PORT, data in $data"
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do port_open || break; sleep 0.1; done
  SERVER_PID=""
}

# Clock ticks of user time, machine-wide (user + nice, every core) and of one process: the difference over a
# run, minus the server's and the load generator's own, is CPU used by other programs, which would skew the
# figures. Kernel time is left out: writeback and loopback networking done for the benchmark land there.
CLK_TCK=$(getconf CLK_TCK)
machine_user_ticks() { awk '$1 == "cpu" {print $2 + $3}' /proc/stat; }
proc_user_ticks() { awk '{sub(/^.*\) /, ""); print $12}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# bench OUT_JSON OUT_LOG HOST_JSON ARGS...: one `meridian bench` run against the server, with the CPU
# accounting above written to HOST_JSON. Returns the bench's exit status.
bench() {
  local json="$1" log="$2" host="$3"
  shift 3
  local m0 s0 t0 rc=0
  m0=$(machine_user_ticks)
  s0=$(proc_user_ticks "$SERVER_PID")
  t0=$(date +%s.%N)
  python3 - "$host.client" "$BIN" bench --endpoint "http://127.0.0.1:$PORT" --access-key BENCHKEY \
    --secret BENCHSECRET --bucket bench --no-progress --json --cleanup "$@" >"$json" 2>"$log" <<'PY' || rc=$?
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{u.ru_utime} {u.ru_stime}")
sys.exit(rc)
PY
  local t1 m1 s1 client
  t1=$(date +%s.%N)
  m1=$(machine_user_ticks)
  s1=$(proc_user_ticks "$SERVER_PID")
  client=$(cat "$host.client" 2>/dev/null || echo "0 0")
  rm -f "$host.client"
  python3 - "$host" "$t0" "$t1" "$m0" "$m1" "$s0" "$s1" "$CLK_TCK" "$client" <<'PY'
import json, sys
host, t0, t1, m0, m1, s0, s1, tck, client = sys.argv[1:]
cu, cs = client.split()
wall = float(t1) - float(t0)
tck = float(tck)
machine_user = (int(m1) - int(m0)) / tck
server_user = (int(s1) - int(s0)) / tck
other_user = max(0.0, machine_user - server_user - float(cu))
json.dump({"wall_s": round(wall, 2), "server_user_s": server_user, "client_user_s": float(cu),
           "client_system_s": float(cs), "other_user_s": round(other_user, 2),
           "other_user_pct": round(100 * other_user / wall, 1) if wall > 0 else 0}, open(host, "w"))
PY
  return "$rc"
}

start_server "$DIR/data"

# name|slug|arguments
SCENARIOS=(
  "PUT 4 KiB|put-4k|--op put --size 4KiB --duration $DURATION -c $CONCURRENCY"
  "GET 4 KiB|get-4k|--op get --size 4KiB --duration $DURATION -c $CONCURRENCY"
  "PUT 1 MiB|put-1m|--op put --size 1MiB --duration $DURATION -c $CONCURRENCY"
  "GET 1 MiB|get-1m|--op get --size 1MiB --duration $DURATION -c $CONCURRENCY"
  "PUT 64 MiB|put-64m|--op put --size 64MiB --duration $DURATION -c $BIG_CONCURRENCY"
  "GET 64 MiB|get-64m|--op get --size 64MiB --duration $DURATION -c $BIG_CONCURRENCY"
  "LIST 10k objects|list-10k|--op list --size 1KiB --objects 10000 --duration $DURATION -c $CONCURRENCY"
  "MULTIPART 256 MiB, 16 parts|mpu-256m|--op multipart --size 256MiB --part-size 16MiB --objects $MPU_OBJECTS --duration 60s -c 2"
)

mkdir -p "$RAW"
rm -f "$RAW"/*.json "$RAW"/*.log "$RAW"/*.host
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
DISK_BEFORE="$(df -h --output=size,avail "$DIR" | tail -1 | awk '{print $2 " free of " $1}')"
START=$(date +%s)
for entry in "${SCENARIOS[@]}"; do
  IFS='|' read -r name slug args <<<"$entry"
  if [[ -n "$ONLY" && "$name" != *"$ONLY"* ]]; then continue; fi
  for run in $(seq 1 "$RUNS"); do
    json="$RAW/$slug-$run.json"
    log="$RAW/$slug-$run.log"
    # shellcheck disable=SC2086 # $args is a list of flags
    if bench "$json" "$log" "$RAW/$slug-$run.host" $args; then
      status=ok
    else
      status="FAILED (exit $?, see $log)"
    fi
    summary=$(python3 - "$json" "$RAW/$slug-$run.host" <<'PY' 2>/dev/null || echo "no result"
import json, sys
r = json.load(open(sys.argv[1]))
h = json.load(open(sys.argv[2]))
o = [x for x in r["ops"] if x["op"] != "PART"][0]
lat = o.get("latency") or {}
print(f'{o["op"]} {o["ops_per_sec"]:.1f} ops/s {o["mib_per_sec"]:.1f} MiB/s p50 {lat.get("p50_ms", 0):.2f} ms, '
      f'{o["errors"]} errors, client CPU {r["cpu"]["percent_of_one_core"]:.0f}%, '
      f'other programs {h["other_user_pct"]:.0f}%')
PY
)
    echo "== $name, run $run/$RUNS: $status: $summary"
  done
done
ELAPSED=$(( $(date +%s) - START ))
LOAD_MID="$(cut -d' ' -f1-3 /proc/loadavg)"

# Peak server RSS under many concurrent large uploads. VmHWM is the process's peak since start, so it is reset
# first (writing 5 to /proc/PID/clear_refs, Linux >= 4.0); a sampler of VmRSS every 100 ms runs alongside as a
# cross-check.
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SERVER_PID/status"; }
RSS_START=$(date +%s)
if [[ "$RSS" == 1 && ( -z "$ONLY" || "RSS" == *"$ONLY"* ) ]]; then
  size_bytes=$(python3 -c 'import re,sys
m=re.fullmatch(r"(\d+)\s*([KMG]i?B)?",sys.argv[1]); n=int(m[1]); u=m[2] or "B"
print(n*{"B":1,"KB":10**3,"MB":10**6,"GB":10**9,"KiB":2**10,"MiB":2**20,"GiB":2**30}[u])' "$RSS_SIZE")
  need_kb=$(( size_bytes * RSS_CONCURRENCY * 5 / 4 / 1024 ))
  for mode in $RSS_MODES; do
    case "$mode" in
      put) mode_args="--op put" ;;
      multipart) mode_args="--op multipart --part-size 16MiB" ;;
      *) echo "run.sh: unknown RSS mode $mode" >&2; exit 1 ;;
    esac
    for run in $(seq 1 "$RSS_RUNS"); do
      tag="rss-$mode-$run"
      # A fresh server and data directory for every run, so that neither memory kept from earlier scenarios
      # nor files waiting for the garbage collector count.
      stop_server
      rm -rf "$DIR/data"*
      start_server "$DIR/data-$tag"
      avail_kb=$(df -Pk "$DIR" | awk 'NR == 2 {print $4}')
      if (( avail_kb < need_kb )); then
        echo "== RSS $mode: skipped, $((avail_kb / 1048576)) GiB free under $DIR, $((need_kb / 1048576)) GiB needed"
        echo "{\"mode\": \"$mode\", \"skipped\": \"only $((avail_kb / 1048576)) GiB free\"}" >"$RAW/$tag.meta.json"
        continue
      fi
      sleep 2
      baseline_kb=$(status_kb VmRSS)
      hwm_before_kb=$(status_kb VmHWM)
      reset=true
      echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null || reset=false
      sampler_out="$RAW/$tag.samples"
      (
        max=0
        while kill -0 "$SERVER_PID" 2>/dev/null; do
          kb=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
          (( kb > max )) && max=$kb && echo "$max" >"$sampler_out"
          sleep 0.1
        done
      ) &
      SAMPLER_PID=$!
      json="$RAW/$tag.json"
      log="$RAW/$tag.log"
      t0=$(date +%s.%N)
      # shellcheck disable=SC2086 # $mode_args is a list of flags
      if bench "$json" "$log" "$RAW/$tag.host" --timeout 15m $mode_args --size "$RSS_SIZE" \
        --objects "$RSS_CONCURRENCY" -c "$RSS_CONCURRENCY"; then
        status=ok
      else
        status="FAILED (exit $?, see $log)"
      fi
      t1=$(date +%s.%N)
      hwm_kb=$(status_kb VmHWM)
      after_kb=$(status_kb VmRSS)
      kill "$SAMPLER_PID" 2>/dev/null || true
      wait "$SAMPLER_PID" 2>/dev/null || true
      sampled_kb=$(cat "$sampler_out" 2>/dev/null || echo 0)
      rm -f "$sampler_out"
      cat >"$RAW/$tag.meta.json" <<JSON
{"mode": "$mode", "run": $run, "status": "$status", "baseline_kb": $baseline_kb,
 "hwm_before_reset_kb": $hwm_before_kb, "reset": $reset, "hwm_kb": $hwm_kb, "sampled_max_kb": $sampled_kb,
 "after_kb": $after_kb, "wall_s": $(python3 -c "print(round($t1 - $t0, 1))"), "concurrency": $RSS_CONCURRENCY,
 "size": "$RSS_SIZE"}
JSON
      echo "== RSS $mode x$RSS_CONCURRENCY $RSS_SIZE, run $run/$RSS_RUNS: $status: server VmHWM" \
        "$((hwm_kb / 1024)) MiB (sampled max $((sampled_kb / 1024)) MiB, idle before $((baseline_kb / 1024)) MiB," \
        "after $((after_kb / 1024)) MiB, reset $reset)"
    done
  done
  stop_server
  rm -rf "$DIR/data"*
fi
RSS_ELAPSED=$(( $(date +%s) - RSS_START ))
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "unknown")
if [[ -n "$(git -C "$ROOT" --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  COMMIT="$COMMIT + uncommitted changes"
fi
export LOAD_BEFORE LOAD_MID LOAD_AFTER DISK_BEFORE RSS_ELAPSED MPU_OBJECTS RSS_RUNS
python3 - "$RAW" "$OUT" "$RUNS" "$DURATION" "$CONCURRENCY" "$BIG_CONCURRENCY" "$COMMIT" "$ELAPSED" \
  "${BIN#"$ROOT"/}" "${SCENARIOS[@]}" <<'PY'
import glob, json, os, platform, statistics, sys, time

raw, out, runs, duration, conc, big_conc, commit, elapsed, binary = sys.argv[1:10]
scenarios = [s.split("|", 2) for s in sys.argv[10:]]
env = os.environ.get

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

def mib(kb):
    return f"{kb / 1024:,.0f} MiB"

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
            rows.append(f"| {name} | 0/{runs} | failed, see bench/raw/{slug}-*.log | | | | | | | | | |")
        continue
    hosts = []
    for run in range(1, int(runs) + 1):
        try:
            hosts.append(json.load(open(os.path.join(raw, f"{slug}-{run}.host"))))
        except (OSError, ValueError):
            pass
    other = max((h["other_user_pct"] for h in hosts), default=None)
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
        f"| {num(other, '{:.0f}%')} | {extra} |"
    )


rss_rows = []
by_mode = {}
for path in sorted(glob.glob(os.path.join(raw, "rss-*.meta.json"))):
    m = json.load(open(path))
    base = path[: -len(".meta.json")]
    try:
        r = json.load(open(base + ".json"))
        m["op"] = [x for x in r["ops"] if x["op"] != "PART"][0]
        m["rate"] = r["total"]["mib_per_sec"]
        m["cpu"] = r["cpu"]["percent_of_one_core"]
    except (OSError, ValueError, KeyError, IndexError):
        pass
    try:
        m["other"] = json.load(open(base + ".host"))["other_user_pct"]
    except (OSError, ValueError, KeyError):
        pass
    by_mode.setdefault(m["mode"], []).append(m)
for mode in sorted(by_mode, key=lambda k: (k != "put", k)):
    ms = by_mode[mode]
    how = "single PUT" if mode == "put" else "multipart, 16 MiB parts"
    done = [m for m in ms if "skipped" not in m]
    if not done:
        rss_rows.append(f"| {how} | skipped: {ms[0]['skipped']} | | | | | | | | | |")
        continue
    ok = sum(m["op"]["ops"] for m in done if "op" in m)
    errors = sum(m["op"]["errors"] for m in done if "op" in m)
    failed = [m["status"] for m in done if m["status"] != "ok"]
    result = f"{len(done) - len(failed)}/{len(done)} runs ok, {ok} uploads, {errors} errors"
    peaks = [m["hwm_kb"] for m in done]
    peak = f"**{mib(med(peaks))}** (runs: {', '.join(mib(p) for p in peaks)})"
    if not all(m["reset"] for m in done):
        peak += " (reset refused: peak since start)"
    sampled = max(m["sampled_max_kb"] for m in done)
    rss_rows.append(
        f"| {how} | {done[0]['concurrency']} x {done[0]['size']} | {result} "
        f"| {med([m['wall_s'] for m in done]):.1f} s | {num(med([m.get('rate') for m in done]), '{:.0f}')} "
        f"| {num(med([m.get('cpu') for m in done]), '{:.0f}%')} "
        f"| {num(max((m['other'] for m in done if 'other' in m), default=None), '{:.0f}%')} "
        f"| {mib(med([m['baseline_kb'] for m in done]))} | {peak} | {mib(sampled)} "
        f"| {mib(med([m['after_kb'] for m in done]))} |"
    )

nproc = os.cpu_count()
lines = [
    "# Meridian benchmark results",
    "",
    f"Written by `bench/run.sh` on {time.strftime('%Y-%m-%d %H:%M %Z')} at commit `{commit}`, "
    f"{elapsed} s of scenarios plus {env('RSS_ELAPSED', '0')} s of the memory scenario.",
    "",
    f"Machine: nproc {nproc}, CPU `{cpu_model()}` (from /proc/cpuinfo), "
    f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, Linux {platform.release()}; "
    f"data directory on a filesystem with {env('DISK_BEFORE', '?')} at start. Load average "
    f"{env('LOAD_BEFORE', '?')} before the run, {env('LOAD_MID', '?')} after the throughput scenarios, "
    f"{env('LOAD_AFTER', '?')} after the memory scenario (threads waiting on the disk count towards it; the "
    "\"other programs\" columns are the direct check that nothing else ran). "
    f"The server (`{binary}`, release "
    "build, local backend, fresh data directory, default settings) and the load generator share this machine and "
    "talk over loopback, so they compete for the same cores.",
    "",
    f"Each scenario ran {runs} times; every figure is the median of the runs (errors: the sum). Measured phases "
    f"last {duration} (multipart: {env('MPU_OBJECTS', '4')} uploads, or 60 s); objects read by GET and LIST were written "
    f"first and not timed; concurrency {conc} for small objects, {big_conc} for 64 MiB, 2 for multipart. Latency "
    "is to the last byte. Client CPU is the load generator's own user+system time over the measured phase, in % "
    "of one core. Other programs is the user CPU the rest of the machine used during the worst of the runs "
    "(machine-wide user time from /proc/stat minus the server's and the load generator's), in % of one core: "
    "near 0 means the figures were not disturbed.",
    "",
    "| scenario | runs ok | ops/s | MiB/s | p50 | p90 | p99 | max | errors | client CPU | other programs | |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    *rows,
    "",
]
if rss_rows:
    lines += [
        "## Server memory under concurrent large uploads",
        "",
        "Peak resident set of the server process (`VmHWM` in /proc/PID/status, reset just before each run by "
        "writing 5 to /proc/PID/clear_refs, cross-checked by sampling `VmRSS` every 100 ms) while all the "
        f"uploads run at once. {env('RSS_RUNS', '?')} runs per row, each on a freshly started server with an empty "
        "data directory; the objects are deleted afterwards (`--cleanup`). Figures are medians over the runs (peak "
        "RSS of every run in brackets, other programs: the worst run); MiB/s is the aggregate upload rate over the "
        "whole run; idle RSS is `VmRSS` just before the run, RSS after is `VmRSS` once every upload has finished "
        "(memory the allocator kept).",
        "",
        "| uploads | objects | result | wall time | MiB/s | client CPU | other programs | server RSS idle "
        "| server peak RSS (VmHWM) | highest VmRSS sample | server RSS after |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|",
        *rss_rows,
        "",
    ]
lines += [
    "Raw per-run JSON (`meridian bench --json`) and logs are in `bench/raw/`.",
    "",
]
with open(out, "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
PY
echo "== wrote $OUT"
