#!/usr/bin/env bash
# Installs the external S3 clients used by tests/clients and tests/crash:
#   awscli, s3cmd, rclone (Debian packages) and boto3 (pip, for the python3 on PATH).
# Idempotent: only what is missing is installed; `apt-get update` runs at most once.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
command -v aws    >/dev/null 2>&1 || missing+=(awscli)
command -v s3cmd  >/dev/null 2>&1 || missing+=(s3cmd)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-test-deps: apt-get install ${missing[*]}"
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import boto3' >/dev/null 2>&1; then
    echo "install-test-deps: pip install boto3"
    python3 -m pip install -q --disable-pip-version-check boto3
fi

for tool in aws s3cmd rclone; do
    command -v "$tool" >/dev/null 2>&1 || { echo "install-test-deps: $tool still missing" >&2; exit 1; }
done
python3 -c 'import boto3' || { echo "install-test-deps: boto3 still missing" >&2; exit 1; }
echo "install-test-deps: ok ($(aws --version 2>&1 | head -1); s3cmd $(s3cmd --version 2>&1 | awk '{print $NF}'); $(rclone version 2>/dev/null | head -1); boto3 $(python3 -c 'import boto3; print(boto3.__version__)'))"
