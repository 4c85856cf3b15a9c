# shellcheck shell=bash
# Shared helpers for tests/clients/run.sh and tests/crash/run.sh. Source it; do not run it.
#
# Environment knobs:
#   MERIDIAN_BIN         path of the meridian binary (default: <target dir>/debug/meridian)
#   MERIDIAN_SKIP_BUILD  =1 to skip `cargo build -p meridian` (scripts/test-all.sh has built already)
#   MERIDIAN_KEEP_TMP    =1 to keep the temporary directory (data dirs, logs) for debugging

unset MERIDIAN_CONFIG MERIDIAN_DATA_DIR 2>/dev/null || true # the scripts pass --data-dir; no stray config
MERIDIAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MERIDIAN_ROOT

# ---------------------------------------------------------------- results
T_PASS=0
T_FAIL=0
pass() { T_PASS=$((T_PASS + 1)); echo "PASS $1"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $1: ${2:-failed}"; }

# Counts PASS/FAIL lines printed by a helper program (e.g. a python driver) into the totals.
# usage: count_results FILE
count_results() {
    local p f
    p=$(grep -c '^PASS ' "$1" || true)
    f=$(grep -c '^FAIL ' "$1" || true)
    T_PASS=$((T_PASS + p))
    T_FAIL=$((T_FAIL + f))
}

# Prints "<label>: N passed, M failed" and returns non-zero when something failed.
summary() {
    echo "$1: ${T_PASS} passed, ${T_FAIL} failed"
    [ "$T_FAIL" -eq 0 ]
}

# ---------------------------------------------------------------- binary
meridian_bin() {
    if [ -n "${MERIDIAN_BIN:-}" ]; then
        echo "$MERIDIAN_BIN"
    else
        echo "${CARGO_TARGET_DIR:-$MERIDIAN_ROOT/target}/debug/meridian"
    fi
}

ensure_built() {
    if [ "${MERIDIAN_SKIP_BUILD:-0}" != 1 ] && [ -z "${MERIDIAN_BIN:-}" ]; then
        (cd "$MERIDIAN_ROOT" && cargo build -q -p meridian --features rados) || return 1
    fi
    BIN="$(meridian_bin)"
    if [ ! -x "$BIN" ]; then
        echo "meridian binary not found at $BIN" >&2
        return 1
    fi
    export BIN
}

# ---------------------------------------------------------------- tmp dir + cleanup
SERVER_PID=""
TMP=""
setup_tmp() {
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/meridian-$1.XXXXXX")"
    export TMP
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

cleanup() {
    local rc=$?
    stop_server
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "${MERIDIAN_KEEP_TMP:-0}" = 1 ]; then
            echo "kept $TMP" >&2
        else
            rm -rf "$TMP"
        fi
    fi
    return $rc
}

# ---------------------------------------------------------------- server
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# usage: start_server DATA_DIR PORT LOG   (sets SERVER_PID, ENDPOINT)
start_server() {
    local data=$1 port=$2 log=$3 _
    # from the temporary directory, so that no meridian.toml of the caller's working directory is picked up
    (cd "$TMP" && exec "$BIN" --data-dir "$data" server --listen "127.0.0.1:$port") >>"$log" 2>&1 </dev/null &
    SERVER_PID=$!
    ENDPOINT="http://127.0.0.1:$port"
    export ENDPOINT
    for _ in $(seq 1 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited during start-up; last log lines:" >&2
            tail -n 20 "$log" >&2
            SERVER_PID=""
            return 1
        fi
        # An anonymous request gets an S3 error (403) once the server is up: any HTTP status will do.
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$ENDPOINT/" 2>/dev/null)" != 000 ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "server did not answer on $ENDPOINT within 30 s; last log lines:" >&2
    tail -n 20 "$log" >&2
    return 1
}

# Graceful stop (SIGTERM, then SIGKILL after 10 s).
stop_server() {
    [ -n "${SERVER_PID:-}" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local _
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# Crash: SIGKILL, no chance to flush anything.
kill9_server() {
    [ -n "${SERVER_PID:-}" ] || return 0
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# usage: create_user DATA_DIR UID ACCESS_KEY SECRET OUT_JSON
# Runs `meridian user create` and checks that its JSON names the key.
create_user() {
    local data=$1 uid=$2 ak=$3 sk=$4 out=$5
    (cd "$TMP" && exec "$BIN" --data-dir "$data" user create --uid "$uid" --display-name "Test user $uid" \
        --access-key "$ak" --secret "$sk") >"$out" 2>"$out.err" </dev/null || {
        echo "meridian user create exited $?: $(tail -n 5 "$out.err")" >&2
        return 1
    }
    python3 - "$out" "$uid" "$ak" "$sk" <<'PY'
import json, sys
path, uid, ak, sk = sys.argv[1:]
text = open(path).read()
try:
    doc = json.loads(text)
except ValueError as e:
    sys.exit(f"user create printed no JSON ({e}): {text[:300]!r}")
keys = doc.get("keys") or []
if not any(k.get("access_key") == ak and k.get("secret_key") == sk for k in keys):
    sys.exit(f"user create JSON has no key {ak}: {text[:300]!r}")
if doc.get("user_id", uid) != uid:
    sys.exit(f"user create JSON has user_id {doc.get('user_id')!r}, expected {uid!r}")
PY
}
