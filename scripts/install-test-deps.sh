#!/usr/bin/env bash
# Installs the external S3 clients used by tests/clients and tests/crash, and Ceph for the RADOS store (the build
# links librados: librados-dev; the rados tests start a cluster: ceph-mon ceph-osd ceph-common; the benchmark's
# peer: radosgw; all Debian's Ceph 16.2, no service started):
#   awscli, s3cmd, rclone (Debian packages) and boto3 (pip, for the python3 on PATH; with awscli v1 from pip
#   kept on the same botocore); for the DNS tests dig (dnsutils), pdns-server and pdns-backend-remote; and for
#   tests/dashboard: chromium + chromium-driver and firefox-esr (Debian), geckodriver (Firefox's WebDriver,
#   not packaged by Debian: `cargo install geckodriver --locked`, from crates.io) and selenium (pip).
# Idempotent: only what is missing is installed; `apt-get update` runs at most once.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# boto3 and the pip awscli (v1) share botocore. botocore < 1.43.77 stalls 60 s on the request that follows a
# zero-length PUT on a kept-alive connection when the server sends no interim "100 Continue" for an empty body
# (RFC 9110 allows that; AWS S3 does it too): boto/botocore#3755, fixed by boto/botocore#3784.
botocore_ok() {
    python3 - <<'PY' 2>/dev/null
import sys
import boto3, botocore
v = tuple(int(x) for x in botocore.__version__.split(".")[:3])
sys.exit(0 if v >= (1, 43, 77) else 1)
PY
}
if ! botocore_ok; then
    echo "install-test-deps: pip install -U boto3 awscli (botocore >= 1.43.77)"
    python3 -m pip install -q --disable-pip-version-check -U boto3 awscli
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
    hash -r
fi

missing=()
command -v aws    >/dev/null 2>&1 || missing+=(awscli)
command -v s3cmd  >/dev/null 2>&1 || missing+=(s3cmd)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || missing+=(firefox-esr)

# The DNS tests: dig (dnsutils) and a real PowerDNS with the remote backend (started by the tests themselves).
command -v dig >/dev/null 2>&1 || missing+=(dnsutils)
[ -x /usr/sbin/pdns_server ] || command -v pdns_server >/dev/null 2>&1 || missing+=(pdns-server)
ls /usr/lib/*/pdns/libremotebackend.so >/dev/null 2>&1 || missing+=(pdns-backend-remote)

# Ceph: the RADOS store's library (the workspace links it) and a cluster for its tests (scripts/ceph-test-cluster.sh).
[ -f /usr/include/rados/librados.h ] || missing+=(librados-dev)
command -v ceph-mon >/dev/null 2>&1 || missing+=(ceph-mon)
command -v ceph-osd >/dev/null 2>&1 || missing+=(ceph-osd)
command -v ceph >/dev/null 2>&1 || missing+=(ceph-common)
command -v radosgw >/dev/null 2>&1 || missing+=(radosgw)

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-test-deps: apt-get install ${missing[*]}"
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    # No package may start a service here (pdns would take port 53): policy-rc.d refuses every start while
    # installing, unless the machine already has one.
    POLICY=/usr/sbin/policy-rc.d
    OWN_POLICY=0
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
        $SUDO chmod 755 "$POLICY"
        OWN_POLICY=1
    fi
    $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ "$OWN_POLICY" = 1 ]; then $SUDO rm -f "$POLICY"; fi
    # If a pdns service started anyway (a systemd machine), stop and disable it: the tests run their own.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet pdns 2>/dev/null; then
        $SUDO systemctl disable --now pdns || true
    fi
fi

# geckodriver: built from crates.io into ~/.cargo/bin (selenium-manager's prebuilt download is not reachable
# from every machine; crates.io is). About 2 minutes on two cores, once.
if ! command -v geckodriver >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/geckodriver" ]; then
    echo "install-test-deps: cargo install geckodriver --locked"
    cargo install -q geckodriver --locked
fi

if ! python3 -c 'import selenium' 2>/dev/null; then
    echo "install-test-deps: pip install selenium"
    python3 -m pip install -q --disable-pip-version-check selenium
fi

for tool in aws s3cmd rclone dig chromium chromedriver firefox-esr ceph-mon ceph-osd ceph radosgw; do
    command -v "$tool" >/dev/null 2>&1 || { echo "install-test-deps: $tool still missing" >&2; exit 1; }
done
{ [ -x /usr/sbin/pdns_server ] || command -v pdns_server >/dev/null 2>&1; } ||
    { echo "install-test-deps: pdns_server still missing" >&2; exit 1; }
ls /usr/lib/*/pdns/libremotebackend.so >/dev/null 2>&1 ||
    { echo "install-test-deps: the pdns remote backend still missing" >&2; exit 1; }
[ -f /usr/include/rados/librados.h ] || { echo "install-test-deps: librados-dev still missing" >&2; exit 1; }
command -v geckodriver >/dev/null 2>&1 || [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/geckodriver" ] ||
    { echo "install-test-deps: geckodriver still missing" >&2; exit 1; }
botocore_ok || { echo "install-test-deps: boto3 with botocore >= 1.43.77 still missing" >&2; exit 1; }
python3 -c 'import selenium' 2>/dev/null || { echo "install-test-deps: selenium still missing" >&2; exit 1; }
echo "install-test-deps: ok ($(aws --version 2>&1 | head -1); s3cmd $(s3cmd --version 2>&1 | awk '{print $NF}'); $(rclone version 2>/dev/null | head -1); boto3 $(python3 -c 'import boto3, botocore; print(boto3.__version__, "botocore", botocore.__version__)'))"
