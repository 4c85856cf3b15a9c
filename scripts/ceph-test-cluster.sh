#!/usr/bin/env bash
# Starts and stops a throw-away single-host Ceph 16.2 cluster for the RADOS tests and benchmarks: 1 mon + 1 OSD
# on memstore, no mgr, auth none, everything under one directory, bound to loopback. With --rgw also a radosgw
# (beast) on the same cluster, the benchmark's peer. The ceph.conf settings are the known-good ones of the
# shared Ceph peer (ms mon client mode = crc for radosgw without cephx; osd fast shutdown = false for memstore).
#
#   scripts/ceph-test-cluster.sh start [--rgw] [DIR]   prints "ceph.conf: DIR/ceph.conf" once the OSD is up
#   scripts/ceph-test-cluster.sh stop [DIR]            kills only the pids recorded under DIR/pids, then wipes DIR
#   scripts/ceph-test-cluster.sh status [DIR]
# DIR defaults to /tmp/meridian-ceph. Env: MON_PORT [first free from 16789], MON_V2_PORT [13300], RGW_PORT [18000],
# OSD_BYTES [4 GiB]. The packages come from scripts/install-test-deps.sh (ceph-mon ceph-osd ceph-common radosgw).
set -euo pipefail

CMD="${1:-}"
shift || true
RGW=0
DIR=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rgw) RGW=1 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) DIR="$1" ;;
    esac
    shift
done
DIR="$(realpath -m "${DIR:-/tmp/meridian-ceph}")"
# A port nobody listens on, from $1 upwards (another cluster of this script may be running).
free_from() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}
OSD_BYTES="${OSD_BYTES:-4294967296}"
CONF="$DIR/ceph.conf"
PIDS="$DIR/pids"
MARK="$DIR/.meridian-ceph"

log() { printf '[ceph-test-cluster %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ours() { # pidfile -> 0 if that process is alive and runs with our ceph.conf
    local p
    [ -s "$1" ] || return 1
    p="$(cat "$1")"
    [ -d "/proc/$p" ] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$CONF"
}

stop() {
    [ -d "$DIR" ] || return 0
    [ -f "$MARK" ] || die "$DIR was not created by this script; not touching it"
    local f p _
    for f in "$PIDS"/*.pid; do
        [ -e "$f" ] || continue
        if ours "$f"; then
            p="$(cat "$f")"
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 1 50); do [ -d "/proc/$p" ] || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    rm -rf -- "${DIR:?}"
}

launch() { # name cmd...   (foreground daemon in its own session; pid file under pids/)
    local name=$1 _
    shift
    rm -f "$PIDS/$name.pid"
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PIDS/$name.pid" "$@" -f </dev/null >>"$DIR/log/$name.stdout" 2>&1 &
    for _ in $(seq 1 50); do [ -s "$PIDS/$name.pid" ] && break; sleep 0.1; done
}

wait_for() { # seconds what daemon cmd...
    local secs=$1 what=$2 name=$3 t0
    shift 3
    t0=$(date +%s)
    until "$@" >/dev/null 2>&1; do
        ours "$PIDS/$name.pid" || { tail -5 "$DIR/log/$name.stdout" >&2 || true; die "$name exited while waiting for $what"; }
        [ $(($(date +%s) - t0)) -lt "$secs" ] || die "timed out after ${secs}s waiting for $what"
        sleep 0.3
    done
}

start() {
    MON_PORT="${MON_PORT:-$(free_from 16789)}"
    MON_V2_PORT="${MON_V2_PORT:-$(free_from 13300)}"
    RGW_PORT="${RGW_PORT:-$(free_from 18000)}"
    for b in ceph-mon ceph-osd ceph monmaptool ceph-authtool; do
        command -v "$b" >/dev/null || die "$b missing: run scripts/install-test-deps.sh (Debian ceph-mon ceph-osd ceph-common)"
    done
    [ "$RGW" = 0 ] || command -v radosgw >/dev/null || die "radosgw missing: run scripts/install-test-deps.sh"
    if [ -d "$DIR" ]; then
        stop
    fi
    local t0 fsid osd_uuid
    t0=$(date +%s.%N)
    mkdir -p "$DIR"/{log,run,pids,mon.a,osd.0,rgw}
    touch "$MARK"
    trap 'rc=$?; if [ $rc != 0 ]; then log "start failed; logs in $DIR/log"; tail -20 "$DIR"/log/*.log 2>/dev/null | tail -40 >&2; stop_pids_only; fi' EXIT
    fsid="$(cat /proc/sys/kernel/random/uuid)"
    cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon initial members = a
mon host = [v2:127.0.0.1:$MON_V2_PORT,v1:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms mon client mode = crc
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.\$pid.asok
log file = $DIR/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
mon warn on insecure global id reclaim allowed = false

[mon]
mon data = $DIR/mon.\$id
mon cluster log file = $DIR/log/cluster.log

[osd]
osd data = $DIR/osd.\$id
osd objectstore = memstore
memstore device bytes = $OSD_BYTES
osd crush update on start = true
osd fast shutdown = false
osd op num shards = 2
osd op num threads per shard = 2

[client]
log to file = false

[client.rgw.a]
log to file = true
log file = $DIR/log/\$name.log
rgw data = $DIR/rgw/\$name
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
debug rgw = 0/0
EOF
    ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' >/dev/null
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_V2_PORT,v1:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" >>"$DIR/log/mkfs.log" 2>&1 ||
        die "ceph-mon --mkfs failed"
    launch mon.a ceph-mon -c "$CONF" -i a
    wait_for 60 monitor mon.a timeout 20 ceph -c "$CONF" --connect-timeout 15 mon stat
    osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
    [ "$(ceph -c "$CONF" osd new "$osd_uuid")" = 0 ] || die "expected osd id 0"
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$DIR/log/mkfs.log" 2>&1 || die "ceph-osd --mkfs failed"
    launch osd.0 ceph-osd -c "$CONF" -i 0
    wait_for 90 "osd.0 up" osd.0 osd_up
    if [ "$RGW" = 1 ]; then
        mkdir -p "$DIR/rgw/client.rgw.a"
        radosgw-admin -c "$CONF" user create --uid=test --display-name=Test --access-key=test --secret-key=test \
            >"$DIR/log/user-test.json" 2>>"$DIR/log/radosgw-admin.log" || die "radosgw-admin user create failed"
        launch rgw.a radosgw -c "$CONF" -n client.rgw.a
        wait_for 90 "radosgw on :$RGW_PORT" rgw.a curl -fsS -m 3 -o /dev/null "http://127.0.0.1:$RGW_PORT/"
        log "radosgw on http://127.0.0.1:$RGW_PORT (keys test/test)"
    fi
    trap - EXIT
    log "cluster up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
    echo "ceph.conf: $CONF"
}

stop_pids_only() {
    local f
    for f in "$PIDS"/*.pid; do
        [ -e "$f" ] || continue
        ours "$f" && kill -KILL "$(cat "$f")" 2>/dev/null || true
    done
}

osd_up() { ceph -c "$CONF" --connect-timeout 10 osd dump 2>/dev/null | grep -q '^osd.0 up'; }

case "$CMD" in
start) start ;;
stop) stop ;;
status)
    ours "$PIDS/mon.a.pid" && ours "$PIDS/osd.0.pid" && osd_up && echo "up: $CONF" || { echo "down"; exit 1; }
    ;;
*)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
