#!/usr/bin/env bash
# `meridian demo` end to end: starts the demo realm on free loopback ports, checks the printed endpoints with
# boto3 (threaded multipart) and s3cmd (demo_clients.py), drives the dashboard in headless Chromium
# (browser_checks.py; screenshots of every page in the output dir), stops the demo with Ctrl-C (SIGINT) and
# resumes it. Prints one `PASS name` / `FAIL name: reason` line per check, then `dashboard: N passed, M failed`.
#
# Knobs: MERIDIAN_BIN, MERIDIAN_SKIP_BUILD=1, MERIDIAN_KEEP_TMP=1 (see scripts/test-lib.sh);
#        DASHBOARD_OUT=DIR keeps the screenshots there (default: $TMP/screenshots, removed unless KEEP_TMP).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/test-lib.sh
source "$HERE/../../scripts/test-lib.sh"

setup_tmp dashboard
OUT="${DASHBOARD_OUT:-$TMP/screenshots}"
mkdir -p "$OUT"
unset AWS_CA_BUNDLE AWS_PROFILE AWS_ENDPOINT_URL 2>/dev/null || true

if ! ensure_built; then
    fail dashboard-build "meridian binary not available"
    summary dashboard
    exit 1
fi

DEMO_PID=""
stop_demo() {
    [ -n "$DEMO_PID" ] || return 0
    kill -TERM "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
    DEMO_PID=""
}
trap 'stop_demo; cleanup' EXIT

# usage: start_demo OUTFILE [ARGS...] — starts `meridian demo --dir $TMP/demo ARGS`, waits for its summary
start_demo() {
    local out=$1
    shift
    (cd "$TMP" && exec "$BIN" demo --dir "$TMP/demo" "$@") >"$out" 2>"$out.err" </dev/null &
    DEMO_PID=$!
    for _ in $(seq 1 600); do
        grep -q '^Ctrl-C stops the demo' "$out" && return 0
        kill -0 "$DEMO_PID" 2>/dev/null || break
        sleep 0.2
    done
    echo "meridian demo did not come up; its output:" >&2
    cat "$out" "$out.err" >&2
    return 1
}

# The value after a label in the demo's summary: `zone_endpoint us-east` etc.
zone_endpoint() { awk -v z="$1" '$1 == z && $2 ~ /^http:/ {print $2; exit}' "$TMP/demo1.out"; }

if ! start_demo "$TMP/demo1.out" --base-port 0; then
    fail demo-starts "meridian demo did not print its summary"
    summary dashboard
    exit 1
fi
pass demo-starts
US_EAST=$(zone_endpoint us-east)
US_WEST=$(zone_endpoint us-west)
EU_1=$(zone_endpoint eu-1)
DASH=$(sed -nE 's/^Dashboard: (http[^ ]+).*/\1/p' "$TMP/demo1.out")
read -r USER_AK USER_SK < <(sed -nE 's/^Demo user "demo": +access key ([^ ]+) +secret ([^ ]+)$/\1 \2/p' "$TMP/demo1.out")
read -r ADMIN_AK ADMIN_SK < <(sed -nE 's/^Admin user "admin" \(system\): +access key ([^ ]+) +secret ([^ ]+)$/\1 \2/p' "$TMP/demo1.out")
S3CFG=$(sed -nE 's/^For s3cmd \(saved as ([^;]+);.*/\1/p' "$TMP/demo1.out")
if [ -n "$US_EAST" ] && [ -n "$US_WEST" ] && [ -n "$EU_1" ] && [ -n "$DASH" ] && [ -n "$USER_AK" ] &&
    [ -n "$ADMIN_AK" ] && [ -f "$S3CFG" ] && grep -q "^  export AWS_ACCESS_KEY_ID=$USER_AK AWS_SECRET_ACCESS_KEY=$USER_SK" "$TMP/demo1.out"; then
    pass demo-prints-endpoints-keys-snippets
else
    fail demo-prints-endpoints-keys-snippets "$(tr '\n' '|' <"$TMP/demo1.out")"
fi
echo "demo: us-east $US_EAST, us-west $US_WEST, eu-1 $EU_1, dashboard $DASH"

# The DNS responder answers for the demo buckets: a CNAME into each bucket's zonegroup, then its address.
DNS_PORT=$(sed -nE 's/^DNS \(global namespace\): 127\.0\.0\.1 port ([0-9]+),.*/\1/p' "$TMP/demo1.out")
for pair in demo-us:us demo-eu:eu; do
    bucket=${pair%%:*} zg=${pair##*:}
    answer=$(dig @127.0.0.1 -p "${DNS_PORT:-0}" +short +time=3 +tries=2 "$bucket.s3.localhost" A 2>&1 | tr '\n' ' ')
    if [ -n "$DNS_PORT" ] && [[ "$answer" == "$bucket.$zg.s3.localhost. 127.0.0.1 "* ]]; then
        pass "demo-dns-$bucket"
    else
        fail "demo-dns-$bucket" "port '${DNS_PORT}', dig answered: $answer"
    fi
done

# The master pushed periods to zones that were not started yet: logged at info, saying the zone will pull.
LOG_EAST="$TMP/demo/logs/us-east.log"
if grep -q 'INFO.*period not pushed.*will pull' "$LOG_EAST" && ! grep -q 'WARN.*period push' "$LOG_EAST"; then
    pass period-push-to-unstarted-zone-is-info
else
    fail period-push-to-unstarted-zone-is-info "$(grep -i 'period' "$LOG_EAST" | tail -n 3 | tr '\n' '|')"
fi

python3 "$HERE/demo_clients.py" "$US_EAST" "$US_WEST" "$EU_1" "$USER_AK" "$USER_SK" "$S3CFG" "$TMP/clients" \
    2>"$TMP/clients.err" | tee "$TMP/clients.out"
count_results "$TMP/clients.out"
grep -q '^\(PASS\|FAIL\) ' "$TMP/clients.out" || fail demo-clients "demo_clients.py printed nothing: $(tail -n 5 "$TMP/clients.err")"

python3 "$HERE/browser_checks.py" "$DASH" "$USER_AK" "$USER_SK" "$ADMIN_AK" "$ADMIN_SK" "$OUT" \
    2>"$TMP/browser.err" | tee "$TMP/browser.out"
count_results "$TMP/browser.out"
grep -q '^\(PASS\|FAIL\) ' "$TMP/browser.out" || fail dashboard-browser "browser_checks.py printed nothing: $(tail -n 5 "$TMP/browser.err")"
echo "screenshots: $OUT"

# Ctrl-C stops everything cleanly: the demo exits 0 and no zone listens any more.
kill -INT "$DEMO_PID"
rc=0
for _ in $(seq 1 600); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DEMO_PID" 2>/dev/null; then
    fail demo-ctrl-c-stops "still running 60 s after SIGINT"
    stop_demo
else
    wait "$DEMO_PID"
    rc=$?
    DEMO_PID=""
    up=""
    for ep in "$US_EAST" "$US_WEST" "$EU_1" "$DASH"; do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$ep/" 2>/dev/null)" = 000 ] || up="$up $ep"
    done
    if [ "$rc" -eq 0 ] && [ -z "$up" ] && grep -q '^stopped' "$TMP/demo1.out.err"; then
        pass demo-ctrl-c-stops
    else
        fail demo-ctrl-c-stops "exit $rc, still answering:$up; $(tail -n 3 "$TMP/demo1.out.err" | tr '\n' '|')"
    fi
fi

# Running it again resumes the same realm: same endpoints and keys, the objects are still there.
if start_demo "$TMP/demo2.out"; then
    if cmp -s <(grep -E '^ +(us-east|us-west|eu-1) |^Demo user|^Admin user|^Dashboard' "$TMP/demo1.out") \
        <(grep -E '^ +(us-east|us-west|eu-1) |^Demo user|^Admin user|^Dashboard' "$TMP/demo2.out") &&
        grep -q '^resuming the demo realm' "$TMP/demo2.out.err" &&
        s3cmd -c "$S3CFG" ls s3://demo-us/s3cmd/ 2>/dev/null | grep -q 'file.bin'; then
        pass demo-resumes-same-realm
    else
        fail demo-resumes-same-realm "$(tr '\n' '|' <"$TMP/demo2.out.err")"
    fi
    kill -TERM "$DEMO_PID"
    wait "$DEMO_PID"
    rc=$?
    DEMO_PID=""
    if [ "$rc" -eq 0 ]; then pass demo-sigterm-stops; else fail demo-sigterm-stops "exit $rc"; fi
else
    fail demo-resumes-same-realm "the second run did not come up"
fi

# A zone's server dying is noticed: the demo stops the other zones and exits non-zero, naming the zone.
if start_demo "$TMP/demo3.out"; then
    EU_PID=$(pgrep -f -- "--data-dir $TMP/demo/eu-1 --config" | head -n 1)
    kill -KILL "$EU_PID" 2>/dev/null
    for _ in $(seq 1 600); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$DEMO_PID" 2>/dev/null; then
        fail demo-notices-dead-zone "still running 60 s after eu-1 was killed"
        stop_demo
    else
        wait "$DEMO_PID"
        rc=$?
        DEMO_PID=""
        if [ "$rc" -ne 0 ] && grep -q "zone eu-1's server exited" "$TMP/demo3.out.err" &&
            [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$US_EAST/" 2>/dev/null)" = 000 ]; then
            pass demo-notices-dead-zone
        else
            fail demo-notices-dead-zone "exit $rc; $(tail -n 3 "$TMP/demo3.out.err" | tr '\n' '|')"
        fi
    fi
else
    fail demo-notices-dead-zone "the third run did not come up"
fi

summary dashboard
