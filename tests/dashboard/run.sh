#!/usr/bin/env bash
# `meridian demo` end to end: starts the demo realm on free loopback ports, checks the printed endpoints with
# the AWS CLI (the printed `export AWS_...` line), boto3 (threaded multipart) and s3cmd (demo_clients.py),
# drives the dashboard in headless Chromium and in headless Firefox (browser_checks.py; a screenshot of every
# page), stops the demo with a terminal's Ctrl-C (SIGINT to its whole process group) and resumes it. Prints
# one `PASS name` / `FAIL name: reason` line per check, then `dashboard: N passed, M failed`.
#
# Knobs: MERIDIAN_BIN, MERIDIAN_SKIP_BUILD=1, MERIDIAN_KEEP_TMP=1 (see scripts/test-lib.sh);
#        DASHBOARD_OUT=DIR: where the screenshots are kept, in DIR/chromium and DIR/firefox (default:
#        <target dir>/test-output/dashboard; each browser's folder is emptied first);
#        DASHBOARD_BROWSERS="chromium firefox" (the default): the browsers to drive.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/test-lib.sh
source "$HERE/../../scripts/test-lib.sh"

setup_tmp dashboard
OUT="${DASHBOARD_OUT:-${CARGO_TARGET_DIR:-$MERIDIAN_ROOT/target}/test-output/dashboard}"
BROWSERS="${DASHBOARD_BROWSERS:-chromium firefox}"
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

# usage: start_demo OUTFILE [ARGS...] — starts `meridian demo --dir $TMP/demo ARGS`, waits for its summary.
# The demo leads a process group of its own (setsid: this script's background jobs are not process-group
# leaders, so setsid execs in place and $! is the demo), as a command started from a terminal does; its zones'
# servers are in that group too.
start_demo() {
    local out=$1
    shift
    (cd "$TMP" && exec setsid "$BIN" demo --dir "$TMP/demo" "$@") >"$out" 2>"$out.err" </dev/null &
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
# usage: check_dns DEMO_OUTPUT CHECK_PREFIX
check_dns() {
    local port pair bucket zg answer
    port=$(sed -nE 's/^DNS \(global namespace\): 127\.0\.0\.1 port ([0-9]+),.*/\1/p' "$1")
    for pair in demo-us:us demo-eu:eu; do
        bucket=${pair%%:*} zg=${pair##*:}
        answer=$(dig @127.0.0.1 -p "${port:-0}" +short +time=3 +tries=2 "$bucket.s3.localhost" A 2>&1 | tr '\n' ' ')
        if [ -n "$port" ] && [[ "$answer" == "$bucket.$zg.s3.localhost. 127.0.0.1 "* ]]; then
            pass "$2-$bucket"
        else
            fail "$2-$bucket" "port '${port}', dig answered: $answer"
        fi
    done
}
check_dns "$TMP/demo1.out" demo-dns

# The printed `export AWS_...` line, pasted into a shell, is all the AWS CLI needs (AWS_ENDPOINT_URL included):
# no ~/.aws configuration, no --endpoint-url.
EXPORT_LINE=$(sed -nE 's/^  (export AWS_ACCESS_KEY_ID=.*)$/\1/p' "$TMP/demo1.out")
head -c 100000 /dev/urandom >"$TMP/awscli.bin"
aws_out=$(cd "$TMP" && env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" bash -c "
    set -e
    $EXPORT_LINE
    aws s3 cp awscli.bin s3://demo-us/awscli/file.bin
    aws s3 cp s3://demo-us/awscli/file.bin awscli-back.bin
    aws s3 ls s3://demo-us
" 2>&1)
if [[ "$EXPORT_LINE" == *" AWS_ENDPOINT_URL=$US_EAST"* ]] && cmp -s "$TMP/awscli.bin" "$TMP/awscli-back.bin" &&
    grep -q 'hello.txt' <<<"$aws_out"; then
    pass demo-export-line-works-with-aws-cli
else
    fail demo-export-line-works-with-aws-cli "line '$EXPORT_LINE'; aws: $(tr '\n' '|' <<<"$aws_out" | tail -c 600)"
fi

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

# The dashboard in each browser; the screenshots are kept in $OUT/<browser> (target/ is not removed by the test
# command).
for browser in $BROWSERS; do
    rm -rf "${OUT:?}/$browser"
    mkdir -p "$OUT/$browser" "$TMP/$browser"
    started=$(date +%s)
    python3 "$HERE/browser_checks.py" "$browser" "$DASH" "$USER_AK" "$USER_SK" "$ADMIN_AK" "$ADMIN_SK" \
        "$OUT/$browser" "$TMP/$browser" "us-east=$US_EAST" "us-west=$US_WEST" "eu-1=$EU_1" \
        2>"$TMP/$browser.err" | tee "$TMP/$browser.out"
    count_results "$TMP/$browser.out"
    grep -q '^\(PASS\|FAIL\) ' "$TMP/$browser.out" ||
        fail "$browser/dashboard" "browser_checks.py printed nothing: $(tail -n 5 "$TMP/$browser.err")"
    echo "$browser: $(($(date +%s) - started)) s; screenshots kept in $OUT/$browser"
done

# Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the demo and its zones' servers at
# once. It stops everything cleanly: the demo exits 0 and no zone listens any more.
kill -INT -- "-$DEMO_PID"
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
    if [ "$rc" -eq 0 ] && [ -z "$up" ] && grep -q '^interrupted: stopping the zones' "$TMP/demo1.out.err" &&
        grep -q '^stopped' "$TMP/demo1.out.err"; then
        pass demo-ctrl-c-stops
    else
        fail demo-ctrl-c-stops "exit $rc, still answering:$up; $(tail -n 3 "$TMP/demo1.out.err" | tr '\n' '|')"
    fi
fi

# Running it again resumes the same realm: same endpoints, keys, DNS port and client snippets; the DNS
# responder answers again; the objects are still there.
SAME='^ +(us-east|us-west|eu-1) |^Demo user|^Admin user|^Dashboard|^DNS |dig @|^  export AWS_|^  host_base'
if start_demo "$TMP/demo2.out"; then
    check_dns "$TMP/demo2.out" demo-resumed-dns
    if [ "$(grep -cE "$SAME" "$TMP/demo1.out")" -eq 10 ] &&
        cmp -s <(grep -E "$SAME" "$TMP/demo1.out") <(grep -E "$SAME" "$TMP/demo2.out") &&
        grep -q '^resuming the demo realm' "$TMP/demo2.out.err" &&
        s3cmd -c "$S3CFG" ls s3://demo-us/s3cmd/ 2>/dev/null | grep -q 'file.bin'; then
        pass demo-resumes-same-realm
    else
        fail demo-resumes-same-realm "$(diff <(grep -E "$SAME" "$TMP/demo1.out") <(grep -E "$SAME" "$TMP/demo2.out") | tr '\n' '|'); $(tr '\n' '|' <"$TMP/demo2.out.err")"
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
