#!/usr/bin/env bash
# DNS benchmark: queries per second and latency (p50/p99) of the built-in responder with N buckets in the
# index, side by side with a pdns_server on the PowerDNS remote backend (its packet cache on), both measured
# with dnsperf (Debian `dnsperf`); then the index's memory for 1M buckets.
#
# The responder runs as `dns_bench_server` (crates/dns/examples): the same index, responder and backend code
# the server runs, over N synthetic buckets in two zonegroups (creating 100k real buckets through S3 would
# only measure bucket creation; queries never read the store). Query mix: 80% A for existing buckets, 10%
# missing buckets (NXDOMAIN), 5% AAAA, 5% apex SOA.
#
# Knobs: BUCKETS (100000) DURATION (10 s per run) CLIENTS (dnsperf -c, 8) THREADS (responder threads, 2)
# OUTSTANDING (dnsperf -q, 200) MEMORY_BUCKETS (1000000) OUT (bench/raw/dns.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUCKETS="${BUCKETS:-100000}"
DURATION="${DURATION:-10}"
CLIENTS="${CLIENTS:-8}"
THREADS="${THREADS:-2}"
OUTSTANDING="${OUTSTANDING:-200}"
MEMORY_BUCKETS="${MEMORY_BUCKETS:-1000000}"
OUT="${OUT:-$ROOT/bench/raw/dns.txt}"
for tool in dnsperf pdns_server dig; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
        { echo "bench/dns.sh: $tool is missing (apt-get install dnsperf pdns-server pdns-backend-remote dnsutils)" >&2; exit 1; }
done
PDNS="$(command -v pdns_server || echo /usr/sbin/pdns_server)"

cd "$ROOT"
mkdir -p "$(dirname "$OUT")"
cargo build --release -p meridian-dns --example dns_bench_server
BIN="$ROOT/target/release/examples/dns_bench_server"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/meridian-dns-bench.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" --buckets "$BUCKETS" --threads "$THREADS" --queries "$WORK/queries.txt" >"$WORK/server.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do grep -q "^backend" "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
RESPONDER="$(sed -n 's/^responder udp+tcp //p' "$WORK/server.out")"
BACKEND="$(sed -n 's/^backend //p' "$WORK/server.out")"
[ -n "$RESPONDER" ] && [ -n "$BACKEND" ] || { cat "$WORK/server.out"; exit 1; }

PDNS_PORT=$((20000 + RANDOM % 10000))
: >"$WORK/pdns.conf"
"$PDNS" --config-dir="$WORK" --socket-dir="$WORK" --guardian=no --daemon=no --disable-syslog --write-pid=no \
    --local-address=127.0.0.1 --local-port="$PDNS_PORT" --launch=remote \
    --remote-connection-string="http:url=$BACKEND" --cache-ttl=60 --negquery-cache-ttl=60 --query-cache-ttl=60 \
    --webserver=no --security-poll-suffix= --loglevel=3 --receiver-threads=1 --distributor-threads=2 \
    >"$WORK/pdns.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
    dig @127.0.0.1 -p "$PDNS_PORT" s3.example.com SOA +time=1 +tries=1 2>/dev/null | grep -q NOERROR && break
    sleep 0.2
done

run() { # label host port
    local label=$1 host=$2 port=$3
    # -v prints one line per answered query, ending with its latency in seconds: p50/p99 come from them.
    dnsperf -s "$host" -p "$port" -d "$WORK/queries.txt" -l "$DURATION" -c "$CLIENTS" -q "$OUTSTANDING" -v \
        >"$WORK/$label.txt" 2>&1 || true
    python3 - "$label" "$WORK/$label.txt" <<'PY'
import re, sys
label, path = sys.argv[1], sys.argv[2]
qps = sent = lost = None
lat = []
rcodes = {}
for line in open(path, errors="replace"):
    if line.startswith("> "):
        f = line.split()
        try:
            lat.append(float(f[-1]))
            rcodes[f[1]] = rcodes.get(f[1], 0) + 1
        except ValueError:
            pass
    elif "Queries per second:" in line:
        qps = float(line.split()[-1])
    elif "Queries sent:" in line:
        sent = line.split()[-1]
    elif "Queries lost:" in line:
        lost = line.split()[2]
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else float("nan")
mix = ", ".join(f"{k} {v}" for k, v in sorted(rcodes.items()))
print(f"{label:<30} {qps or 0:>8.0f} qps  p50 {pct(0.5):6.3f} ms  p99 {pct(0.99):6.3f} ms  sent {sent} lost {lost}  ({mix})")
PY
}

{
    echo "# bench/dns.sh $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores; $BUCKETS buckets; dnsperf -c $CLIENTS -q $OUTSTANDING, ${DURATION}s per run"
    echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    run "meridian responder" "${RESPONDER%:*}" "${RESPONDER##*:}"
    run "pdns (packet cache) + backend" 127.0.0.1 "$PDNS_PORT"
    run "meridian responder (again)" "${RESPONDER%:*}" "${RESPONDER##*:}"
    # A hot set of 1,000 names, which pdns's packet cache holds after the first pass.
    head -1000 "$WORK/queries.txt" >"$WORK/hot.txt"
    cp "$WORK/hot.txt" "$WORK/queries.txt"
    run "meridian, 1k hot names" "${RESPONDER%:*}" "${RESPONDER##*:}"
    run "pdns, 1k hot names (cached)" 127.0.0.1 "$PDNS_PORT"
    echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    "$BIN" --memory --buckets "$MEMORY_BUCKETS"
} | tee "$OUT"
