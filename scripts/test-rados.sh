#!/usr/bin/env bash
# The RADOS stage of scripts/test-all.sh: starts a throw-away Ceph cluster (scripts/ceph-test-cluster.sh), runs
# the RADOS store tests, the two-gateway and multi-site RADOS tests (module `rados_gateways` of the integration
# test binary `it`), and the S3 integration test modules a second time against RADOS-backed servers
# (MERIDIAN_TEST_STORE=rados), then stops the cluster. The last line is
# `rados: N passed, M failed`. A cluster that does not start is a failure (exit 1), never a skip.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
WORK="$(mktemp -d "${TMPDIR:-/tmp}/meridian-rados.XXXXXX")"
CLUSTER="$WORK/ceph"
# The S3 integration test modules that also run on RADOS (the others inspect the local store's files).
MATRIX=(buckets_objects listing multipart auth sigv2 hardening metadata)

cleanup() {
    bash scripts/ceph-test-cluster.sh stop "$CLUSTER" >/dev/null 2>&1 || echo "warning: stopping the Ceph test cluster failed"
    rm -rf "$WORK"
}
trap cleanup EXIT

t0=$(date +%s)
if ! bash scripts/ceph-test-cluster.sh start "$CLUSTER" >"$WORK/start.log" 2>&1; then
    cat "$WORK/start.log"
    echo "FAIL rados: the Ceph test cluster did not start (install Ceph with scripts/install-test-deps.sh)"
    echo "rados: 0 passed, 1 failed"
    exit 1
fi
echo "Ceph test cluster up in $(($(date +%s) - t0)) s ($CLUSTER/ceph.conf)"
export MERIDIAN_TEST_RADOS_CONF="$CLUSTER/ceph.conf"

failed_runs=0
run() {
    "$@" 2>&1 | tee -a "$WORK/tests.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed_runs=$((failed_runs + 1))
}
run cargo test -p meridian-store-rados --no-fail-fast -- --include-ignored
run cargo test -p meridian --features rados --test it --no-fail-fast -- --include-ignored rados_gateways::
# libtest runs the tests whose name contains any of the filters: `listing::` selects module `listing`.
filters=()
for m in "${MATRIX[@]}"; do filters+=("$m::"); done
MERIDIAN_TEST_STORE=rados run cargo test -p meridian --features rados --test it --no-fail-fast -- "${filters[@]}"

read -r p f < <(sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed;.*/\1 \2/p' "$WORK/tests.log" |
    awk '{p += $1; f += $2} END {print p + 0, f + 0}')
if [ "$failed_runs" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL rados: $failed_runs cargo test run(s) exited non-zero"
    f=1
fi
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL rados: no RADOS test ran"
    f=1
fi
echo "rados: $p passed, $f failed"
[ "$f" -eq 0 ]
