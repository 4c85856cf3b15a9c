#!/usr/bin/env bash
# Meridian on RADOS against radosgw on the same Ceph (issue 16): starts a throw-away cluster with radosgw
# (scripts/ceph-test-cluster.sh start --rgw), two Meridian gateways of one RADOS zone, and runs `meridian bench`:
# 4 KiB PUT and GET at c16, 16 MiB PUT and GET at c4, against RGW, one Meridian gateway, and both gateways at
# once (the same total concurrency split over the two, figures summed). Prints a markdown table.
#   bench/rados.sh [SECONDS per run, default 15]     (needs target/release/meridian: cargo build --release -p meridian --features rados)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${MERIDIAN_BIN:-$ROOT/target/release/meridian}"
SECS="${1:-15}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/meridian-rados-bench.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    bash "$ROOT/scripts/ceph-test-cluster.sh" stop "$WORK/ceph" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

OSD_BYTES="${OSD_BYTES:-12884901888}" bash "$ROOT/scripts/ceph-test-cluster.sh" start --rgw "$WORK/ceph" 2>"$WORK/ceph.log" >/dev/null
CONF="$WORK/ceph/ceph.conf"
RGW="http://127.0.0.1:$(sed -nE 's/.*beast endpoint=127.0.0.1:([0-9]+).*/\1/p' "$CONF")"
R=(--store rados --rados-conf "$CONF" --rados-pool-prefix bench)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1=$(port)
P2=$(port)
for i in 1 2; do
    p=$([ $i = 1 ] && echo "$P1" || echo "$P2")
    "$BIN" --data-dir "$WORK/gw$i" server --listen "127.0.0.1:$p" --log warn "${R[@]}" >"$WORK/gw$i.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.1; done
done
"$BIN" --data-dir "$WORK/gw1" user create --uid bench --display-name Bench --access-key BENCHKEY0001 \
    --secret benchsecret0001 >/dev/null

bench() { # endpoint access secret op size c bucket -> json   (objects deleted afterwards: memstore is RAM)
    "$BIN" bench --endpoint "$1" --access-key "$2" --secret "$3" --op "$4" --size "$5" -c "$6" --bucket "$7" \
        --duration "${SECS}s" --cleanup --json --no-progress 2>>"$WORK/bench.err"
}
# "ops/s MiB/s errors" of the run's one operation type
fig() { python3 -c 'import json,sys; o=json.load(sys.stdin)["ops"][0]; print("%.1f %.1f %d" % (o["ops_per_sec"], o["mib_per_sec"], o["errors"]))' 2>/dev/null || echo "- - -"; }

echo "| workload | RGW ops/s | RGW MiB/s | Meridian 1 gw ops/s | MiB/s | Meridian 2 gw ops/s | MiB/s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for spec in "put 4KiB 16" "get 4KiB 16" "put 16MiB 4" "get 16MiB 4"; do
    read -r op size c <<<"$spec"
    b="b-$size-$(echo "$size" | tr -dc 0-9)"
    read -r ro rm _ < <(bench "$RGW" test test "$op" "$size" "$c" "rgw-${b,,}" | fig)
    read -r mo mm _ < <(bench "http://127.0.0.1:$P1" BENCHKEY0001 benchsecret0001 "$op" "$size" "$c" "m1-${b,,}" | fig)
    half=$((c / 2))
    bench "http://127.0.0.1:$P1" BENCHKEY0001 benchsecret0001 "$op" "$size" "$half" "m2a-${b,,}" | fig >"$WORK/a" &
    first=$!
    bench "http://127.0.0.1:$P2" BENCHKEY0001 benchsecret0001 "$op" "$size" "$half" "m2b-${b,,}" | fig >"$WORK/b"
    wait "$first" # (a bare `wait` would wait for the servers too)
    read -r ao am _ <"$WORK/a"
    read -r bo bm _ <"$WORK/b"
    to=$(python3 -c "print('%.1f' % ($ao + $bo))" 2>/dev/null || echo -)
    tm=$(python3 -c "print('%.1f' % ($am + $bm))" 2>/dev/null || echo -)
    echo "| ${op^^} $size c$c | $ro | $rm | $mo | $mm | $to | $tm |"
done
