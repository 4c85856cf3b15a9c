#!/usr/bin/env bash
# Crash consistency: `kill -9` the server in the middle of a concurrent write load, restart it on the same data
# dir, and check that every acknowledged write is there byte for byte, every acknowledged delete stayed deleted,
# and nothing partial is visible. Two rounds on the same data dir (round 2 re-checks round 1's objects too).
# Prints one `PASS name` / `FAIL name: reason` line per check, then `crash: N passed, M failed`.
#
#   tests/crash/run.sh
#
# Knobs: MERIDIAN_BIN, MERIDIAN_SKIP_BUILD=1, MERIDIAN_KEEP_TMP=1 (see scripts/test-lib.sh),
#        CRASH_ROUNDS (default 2), CRASH_SEED (default: random; printed so a run can be repeated).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/test-lib.sh
source "$HERE/../../scripts/test-lib.sh"

ROUNDS="${CRASH_ROUNDS:-2}"
SEED="${CRASH_SEED:-$((RANDOM * 32768 + RANDOM))}"
RANDOM=$SEED
echo "crash: seed $SEED (CRASH_SEED=$SEED repeats the kill timing and sizes)"

setup_tmp crash
DATA="$TMP/data"
LOG="$TMP/server.log"
unset AWS_CA_BUNDLE 2>/dev/null || true # plain-http endpoint

if ! ensure_built; then
    fail crash-server-build "meridian binary not available"
    summary crash
    exit 1
fi

AK="MERIDIANCRASH000001"
SK="crashSecretKey/0001+abcdefghijklmnopqrstu"
# The server is not running yet: `init` creates the data dir (admin verbs never do), then `user create`
# writes it directly.
(cd "$TMP" && "$BIN" --data-dir "$DATA" init >/dev/null) || fail cli-init "meridian init failed"
if create_user "$DATA" crash "$AK" "$SK" "$TMP/user.json" 2>"$TMP/user.err"; then
    pass cli-user-create-offline
else
    fail cli-user-create-offline "$(tail -n 3 "$TMP/user.err" | tr '\n' ' ')"
    summary crash
    exit 1
fi

if ! start_server "$DATA" "$(free_port)" "$LOG"; then
    fail crash-server-start "server did not come up"
    summary crash
    exit 1
fi

driver() { python3 "$HERE/crash_driver.py" "$@" --endpoint "$ENDPOINT" --access-key "$AK" --secret-key "$SK" --bucket crash; }
acks() {
    local n
    n=$(grep -c '"op": "\(ack\|del-ack\)"' "$1" 2>/dev/null || true)
    echo "${n:-0}"
}

journals=()
for round in $(seq 1 "$ROUNDS"); do
    journal="$TMP/journal-r$round.jsonl"
    killed="$TMP/killed-r$round"
    journals+=(--journal "$journal")
    echo "--- round $round: load against $ENDPOINT"
    driver load --journal "$journal" --killed-file "$killed" --prefix "r$round" --seed "$((SEED + round))" \
        --max-seconds 120 >"$TMP/load-r$round.log" 2>&1 &
    load_pid=$!

    # kill at a random moment once the load is well under way: >= 3 s and >= 20 acknowledged writes, + 0-2 s
    start=$(date +%s)
    while :; do
        now=$(date +%s)
        if [ $((now - start)) -ge 3 ] && [ "$(acks "$journal")" -ge 20 ]; then break; fi
        if [ $((now - start)) -ge 60 ] || ! kill -0 "$load_pid" 2>/dev/null; then break; fi
        sleep 0.2
    done
    sleep "$((RANDOM % 3)).$((RANDOM % 10))"
    before=$(acks "$journal")
    : >"$killed" # tells the writers that errors from now on are expected
    kill9_server
    echo "killed the server (kill -9) after $(($(date +%s) - start)) s and $before acknowledged operations"

    if ! timeout 180 tail --pid="$load_pid" -f /dev/null; then
        kill -KILL "$load_pid" 2>/dev/null || true
    fi
    wait "$load_pid" || echo "load driver exited $?"
    sed 's/^/    load | /' "$TMP/load-r$round.log" | tail -n 5

    t0=$(date +%s.%N)
    if start_server "$DATA" "$(free_port)" "$LOG"; then
        pass "crash-r$round-restart ($(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s after kill -9)"
    else
        fail "crash-r$round-restart" "the server did not come back on the same data dir; log: $(tail -n 5 "$LOG" | tr '\n' ' ')"
        break
    fi

    rc=0
    timeout 600 python3 "$HERE/crash_driver.py" verify "${journals[@]}" --label "crash-r$round" \
        --endpoint "$ENDPOINT" --access-key "$AK" --secret-key "$SK" --bucket crash \
        >"$TMP/verify-r$round.log" 2>&1 || rc=$?
    cat "$TMP/verify-r$round.log"
    count_results "$TMP/verify-r$round.log"
    if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$TMP/verify-r$round.log"; then
        fail "crash-r$round-verify" "verifier exited $rc without a FAIL line"
    fi
done

summary crash
