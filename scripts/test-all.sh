#!/usr/bin/env bash
# The project's test command: build, style (rustfmt, clippy -D warnings), `cargo test --workspace`, the
# real-client checks (tests/clients/run.sh), the crash checks (tests/crash/run.sh) and `meridian demo` + the
# dashboard in Chromium and Firefox (tests/dashboard/run.sh; it keeps its screenshots in
# target/test-output/dashboard/, which this script never removes: it removes only its own log folder). Exits non-zero if anything failed; the last line is
# `N passed, M failed` over cargo's tests and every script check.
#
# Needs awscli, s3cmd, rclone and boto3: scripts/install-test-deps.sh installs them (run here when one is missing).
#   scripts/test-all.sh                 everything
#   SKIP_CLIENTS=1 / SKIP_CRASH=1 / SKIP_DASHBOARD=1 / SKIP_RADOS=1   leave out a stage
#
# The `rados` stage starts a throw-away Ceph cluster (scripts/ceph-test-cluster.sh), runs the RADOS store tests,
# the two-gateway and multi-site RADOS tests, and the S3 integration tests a second time on a RADOS-backed server
# (MERIDIAN_TEST_STORE=rados), then stops the cluster. A cluster that does not start is a failure, not a skip.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/meridian-test-all.XXXXXX")"
trap 'rm -rf "$LOGS"' EXIT

PASSED=0
FAILED=0
STAGES=()

stage_result() { # name passed failed
    PASSED=$((PASSED + $2))
    FAILED=$((FAILED + $3))
    STAGES+=("$(printf '%-14s %5d passed, %d failed' "$1:" "$2" "$3")")
}

# Counts PASS/FAIL lines of a script's output; a non-zero exit without a FAIL line counts as one failure.
run_script() { # name script
    local name=$1 script=$2 rc p f
    echo
    echo "==> $script"
    bash "$script" 2>&1 | tee "$LOGS/$name.log"
    rc=${PIPESTATUS[0]}
    p=$(grep -c '^PASS ' "$LOGS/$name.log" || true)
    f=$(grep -c '^FAIL ' "$LOGS/$name.log" || true)
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: $script exited $rc"
        f=1
    fi
    stage_result "$name" "$p" "$f"
}

START=$(date +%s)
if ! command -v dig >/dev/null || ! { [ -x /usr/sbin/pdns_server ] || command -v pdns_server >/dev/null; }; then
    echo "==> scripts/install-test-deps.sh (dig or pdns_server missing: the DNS tests need them)"
    bash scripts/install-test-deps.sh </dev/null || echo "install-test-deps failed: the DNS tests will fail"
fi
if [ ! -f /usr/include/rados/librados.h ] || ! command -v ceph-osd >/dev/null; then
    echo "==> scripts/install-test-deps.sh (librados-dev or Ceph missing: the build links librados)"
    bash scripts/install-test-deps.sh </dev/null || echo "install-test-deps failed: the build or the rados tests will fail"
fi
# The clients, crash and dashboard stages use the S3 clients; the dashboard stage also the browsers and their
# WebDriver servers.
if [ "${SKIP_CLIENTS:-0}${SKIP_CRASH:-0}${SKIP_DASHBOARD:-0}" != 111 ]; then
    if ! command -v aws >/dev/null || ! command -v s3cmd >/dev/null || ! command -v rclone >/dev/null ||
        ! python3 -c 'import boto3' 2>/dev/null || ! command -v chromedriver >/dev/null ||
        ! command -v firefox-esr >/dev/null ||
        ! { command -v geckodriver >/dev/null || [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/geckodriver" ]; } ||
        ! python3 -c 'import selenium' 2>/dev/null; then
        echo "==> scripts/install-test-deps.sh (S3 clients, browsers or WebDriver missing)"
        bash scripts/install-test-deps.sh </dev/null || echo "install-test-deps failed: the client and dashboard checks will fail"
    fi
fi

# Every cargo call of the test command builds the same binary: with the RADOS backend (meridian's `rados`
# feature, off by default so the embedded store builds without librados).
FEATURES=(--features meridian/rados)
echo "==> cargo build --workspace --all-targets ${FEATURES[*]}"
if ! cargo build --workspace --all-targets "${FEATURES[@]}"; then
    echo "FAIL build: cargo build --workspace --all-targets ${FEATURES[*]} failed"
    stage_result build 0 1
    echo
    printf '%s\n' "${STAGES[@]}"
    echo "${PASSED} passed, ${FAILED} failed"
    exit 1
fi

echo
echo "==> style: cargo fmt --check, cargo clippy --all-targets -D warnings"
if cargo fmt --all -- --check >"$LOGS/fmt.log" 2>&1; then
    echo "PASS fmt"
    fmt_failed=0
else
    cat "$LOGS/fmt.log"
    echo "FAIL fmt: cargo fmt --all -- --check (run cargo fmt --all)"
    fmt_failed=1
fi
if cargo clippy --workspace --all-targets "${FEATURES[@]}" -- -D warnings >"$LOGS/clippy.log" 2>&1; then
    echo "PASS clippy"
    clippy_failed=0
else
    grep -E '^(warning|error)' -A7 "$LOGS/clippy.log" | head -200
    echo "FAIL clippy: cargo clippy --workspace --all-targets -- -D warnings"
    clippy_failed=1
fi
stage_result style $((2 - fmt_failed - clippy_failed)) $((fmt_failed + clippy_failed))

echo
echo "==> cargo test --workspace"
cargo test --workspace "${FEATURES[@]}" --no-fail-fast 2>&1 | tee "$LOGS/cargo-test.log"
rc=${PIPESTATUS[0]}
# "test result: ok. 12 passed; 0 failed; 1 ignored; ..." — one line per test binary and doc-test run
read -r cp cf < <(sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed;.*/\1 \2/p' "$LOGS/cargo-test.log" |
    awk '{p += $1; f += $2} END {print p + 0, f + 0}')
if [ "$rc" -ne 0 ] && [ "$cf" -eq 0 ]; then
    echo "FAIL cargo-test: cargo test exited $rc"
    cf=1
fi
stage_result cargo-test "$cp" "$cf"

run_rados() {
    local rc p f
    echo
    echo "==> scripts/test-rados.sh"
    bash scripts/test-rados.sh 2>&1 | tee "$LOGS/rados.log"
    rc=${PIPESTATUS[0]}
    read -r p f < <(sed -nE 's/^rados: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$LOGS/rados.log" | tail -1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL rados: scripts/test-rados.sh exited $rc"
        f=1
    fi
    stage_result rados "$p" "$f"
}
[ "${SKIP_RADOS:-0}" = 1 ] || run_rados

export MERIDIAN_SKIP_BUILD=1 # built above (target/debug/meridian)
[ "${SKIP_CLIENTS:-0}" = 1 ] || run_script clients tests/clients/run.sh
[ "${SKIP_CRASH:-0}" = 1 ] || run_script crash tests/crash/run.sh
[ "${SKIP_DASHBOARD:-0}" = 1 ] || run_script dashboard tests/dashboard/run.sh

[ "${SKIP_DASHBOARD:-0}" = 1 ] || echo "dashboard screenshots: ${CARGO_TARGET_DIR:-$ROOT/target}/test-output/dashboard/{chromium,firefox}"

echo
echo "==> summary ($(($(date +%s) - START)) s)"
printf '%s\n' "${STAGES[@]}"
echo "${PASSED} passed, ${FAILED} failed"
[ "$FAILED" -eq 0 ]
