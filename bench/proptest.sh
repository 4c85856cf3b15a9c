#!/usr/bin/env bash
# The long run of the parser property tests (the test command runs them with 64-512 cases each): the aws-chunked
# framing tracker, the request guard's header and query parsers, SigV4 header/query and XML bodies through the
# whole S3 service, the RGW JSON codecs, and the DNS packet handler (malformed packets, pointer loops).
# CASES (default 20000) sets proptest's case count per property.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PROPTEST_CASES="${CASES:-20000}"
echo "== $PROPTEST_CASES cases per property"
cargo test --release -p meridian-s3 --lib -- chunk_frames guard service_proptests
cargo test --release -p meridian-gateway --lib -- codec_proptests
cargo test --release -p meridian-dns --test packets
