#!/usr/bin/env bash
# Real S3 clients against a real `meridian server`: awscli, s3cmd, rclone and boto3.
# Starts its own server on a free loopback port with a temporary data dir, creates a user with the CLI,
# and prints one `PASS name` / `FAIL name: reason` line per check, then `clients: N passed, M failed`.
# Exit status: 0 when every check passed.
#
#   tests/clients/run.sh [FILTER]      FILTER: only run checks whose name contains it (e.g. `s3cmd`)
#
# Knobs: MERIDIAN_BIN, MERIDIAN_SKIP_BUILD=1, MERIDIAN_KEEP_TMP=1 (see scripts/test-lib.sh),
#        AWS_CLI (aws binary, default `aws` on PATH), CHECK_TIMEOUT (seconds per check, default 300).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/test-lib.sh
source "$HERE/../../scripts/test-lib.sh"

FILTER="${1:-}"
CHECK_TIMEOUT="${CHECK_TIMEOUT:-300}"
AWS_CLI="${AWS_CLI:-aws}"

setup_tmp clients
mkdir -p "$TMP/logs" "$TMP/w"
export W="$TMP/w" HERE AWS_CLI

if ! ensure_built; then
    fail clients-server-build "meridian binary not available"
    summary clients
    exit 1
fi

PORT="$(free_port)"
if ! start_server "$TMP/data" "$PORT" "$TMP/server.log"; then
    fail clients-server-start "server did not come up (see output above)"
    summary clients
    exit 1
fi
echo "server: $ENDPOINT (data $TMP/data, pid $SERVER_PID)"

export AK="MERIDIANCLIENTS0001" SK="clientsSecretKey/0001+abcdefghijklmnopqrs"
# The server is running: `user create` goes through the server's admin API.
if create_user "$TMP/data" clients "$AK" "$SK" "$TMP/user.json" 2>"$TMP/user.err"; then
    pass cli-user-create-online
else
    fail cli-user-create-online "$(tail -n 3 "$TMP/user.err" | tr '\n' ' ')"
    summary clients
    exit 1
fi

# ------------------------------------------------------------------ client environments
export AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" AWS_DEFAULT_OUTPUT=json
export AWS_CONFIG_FILE="$TMP/aws-config" AWS_SHARED_CREDENTIALS_FILE="$TMP/aws-credentials"
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
# plain-http endpoint: a CA bundle from the environment only confuses clients (rclone refuses to start with one)
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_CA_BUNDLE 2>/dev/null || true

export S3CMD_CFG="$TMP/s3cfg"
cat >"$S3CMD_CFG" <<EOF
[default]
access_key = $AK
secret_key = $SK
host_base = 127.0.0.1:$PORT
host_bucket = 127.0.0.1:$PORT
use_https = False
signature_v2 = False
bucket_location = us-east-1
check_ssl_certificate = False
guess_mime_type = False
progress_meter = False
EOF

export RCLONE_CONFIG="$TMP/rclone.conf"
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_M_TYPE=s3 RCLONE_CONFIG_M_PROVIDER=Ceph RCLONE_CONFIG_M_ENV_AUTH=false
export RCLONE_CONFIG_M_ACCESS_KEY_ID="$AK" RCLONE_CONFIG_M_SECRET_ACCESS_KEY="$SK"
export RCLONE_CONFIG_M_ENDPOINT="$ENDPOINT" RCLONE_CONFIG_M_REGION=us-east-1
export RCLONE_CONFIG_M_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_M_UPLOAD_CUTOFF=5M RCLONE_CONFIG_M_CHUNK_SIZE=5M

# ------------------------------------------------------------------ helpers (run inside checks)
die() {
    echo "$*" >&2
    [ -z "${REASON_FILE:-}" ] || echo "$*" | tr '\n' ' ' | cut -c1-500 >"$REASON_FILE"
    exit 1
}
# The client wrappers name a failing command (the FAIL line shows the last two lines of a check's output) and
# a slow one (over 10 s).
client() {
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    [ "$rc" -eq 0 ] || echo "[$* -> exit $rc]" >&2
    [ $((SECONDS - t0)) -le 10 ] || echo "[slow: $* took $((SECONDS - t0)) s]" >&2
    return $rc
}
awsc() { client "$AWS_CLI" --endpoint-url "$ENDPOINT" --region us-east-1 --output json "$@"; }
s3c() { client s3cmd -c "$S3CMD_CFG" --no-progress "$@"; }
rcl() { client rclone --retries 1 --low-level-retries 2 --stats 0 "$@"; }
mkrand() { head -c "$2" /dev/urandom >"$1"; }
md5of() { md5sum "$1" | cut -d' ' -f1; }
# jget FILE EXPR: evaluates a python expression over the JSON document `d` in FILE and prints it.
# (awscli v2 prints nothing for an empty result: that is read as {}.)
jget() { python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read() or "{}"); r=eval(sys.argv[2]); print(json.dumps(r) if isinstance(r,(dict,list)) else r)' "$1" "$2"; }
# jassert FILE EXPR MESSAGE: fails with MESSAGE (and the document) unless EXPR over `d` is true.
jassert() {
    python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read() or "{}"); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
        die "$3; expected $2; got $(head -c 600 "$1")"
}
same() { cmp -s "$1" "$2" || die "content differs: $1 vs $2 ($(stat -c %s "$1") vs $(stat -c %s "$2") bytes)"; }
# expect_fail WHAT PATTERN CMD...: CMD must fail and its stderr must match PATTERN (grep -E).
expect_fail() {
    local what=$1 pat=$2
    shift 2
    if "$@" >"$W/ef.out" 2>"$W/ef.err"; then die "$what: expected an error, the command succeeded: $(head -c 300 "$W/ef.out")"; fi
    grep -Eq "$pat" "$W/ef.err" || die "$what: error does not match /$pat/: $(head -c 400 "$W/ef.err")"
}
# Expected S3 multipart ETag of FILE uploaded in parts of CHUNK bytes.
mp_etag() {
    python3 - "$1" "$2" <<'PY'
import hashlib, sys
path, chunk = sys.argv[1], int(sys.argv[2])
digests = []
with open(path, "rb") as f:
    while True:
        b = f.read(chunk)
        if not b:
            break
        digests.append(hashlib.md5(b).digest())
print('"%s-%d"' % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests)))
PY
}
# Builds a directory tree with nested dirs, an empty file, odd names and a few sizes.
mktree() {
    local d=$1 i
    mkdir -p "$d/d1/d2" "$d/sp ace" "$d/ünï" "$d/many"
    mkrand "$d/a.txt" 1000
    : >"$d/empty"
    mkrand "$d/d1/b.bin" 100000
    mkrand "$d/d1/d2/c.bin" 3000000
    mkrand "$d/sp ace/f+plus&amp=eq.txt" 333
    mkrand "$d/ünï/çödé 日本.txt" 4444
    for i in $(seq 1 15); do mkrand "$d/many/$i.txt" $((i * 37)); done
}
# Lists the relative paths of the files under a directory, sorted.
relfiles() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }

# ------------------------------------------------------------------ awscli
check_aws_mb() {
    awsc s3 mb s3://awsb >"$W/mb.out"
    grep -q 'make_bucket: awsb' "$W/mb.out" || die "unexpected mb output: $(cat "$W/mb.out")"
    awsc s3api list-buckets >"$W/lb.json"
    jassert "$W/lb.json" "'awsb' in [b['Name'] for b in d['Buckets']]" "list-buckets lacks awsb"
    awsc s3api head-bucket --bucket awsb
    awsc s3 ls >"$W/ls.out"
    grep -Eq ' awsb$' "$W/ls.out" || die "aws s3 ls lacks awsb: $(cat "$W/ls.out")"
    expect_fail "head-bucket on a missing bucket" '404|Not Found' awsc s3api head-bucket --bucket no-such-bucket-here
}

check_aws_cp_small() {
    mkrand "$W/small.bin" 1234
    awsc s3 cp "$W/small.bin" s3://awsb/small.bin >/dev/null
    awsc s3 cp s3://awsb/small.bin "$W/small.out" >/dev/null
    same "$W/small.bin" "$W/small.out"
    awsc s3api head-object --bucket awsb --key small.bin >"$W/h.json"
    jassert "$W/h.json" "d['ContentLength'] == 1234 and d['ETag'] == '\"$(md5of "$W/small.bin")\"'" "head-object of small.bin"
    # streamed upload from stdin and download to stdout
    printf 'hello from stdin %s\n' "$RANDOM" >"$W/stdin.txt"
    awsc s3 cp - s3://awsb/stdin.txt <"$W/stdin.txt" >/dev/null
    awsc s3 cp s3://awsb/stdin.txt - >"$W/stdout.txt"
    same "$W/stdin.txt" "$W/stdout.txt"
}

check_aws_cp_multipart() {
    mkrand "$W/big.bin" $((20 * 1024 * 1024))
    awsc s3 cp "$W/big.bin" s3://awsb/big/big.bin >/dev/null
    awsc s3api head-object --bucket awsb --key big/big.bin >"$W/h.json"
    # awscli's default multipart_chunksize is 8 MiB: 3 parts
    local want
    want="$(mp_etag "$W/big.bin" $((8 * 1024 * 1024)))"
    jassert "$W/h.json" "d['ContentLength'] == 20971520 and d['ETag'] == '$want'" "head-object of the multipart upload"
    awsc s3 cp s3://awsb/big/big.bin "$W/big.out" >/dev/null
    same "$W/big.bin" "$W/big.out"
}

check_aws_ls() {
    awsc s3 ls s3://awsb/ >"$W/ls.out"
    awk '$4 == "small.bin" {print $3}' "$W/ls.out" | grep -qx 1234 || die "ls lacks small.bin of 1234 bytes: $(cat "$W/ls.out")"
    grep -Eq '^ +PRE big/$' "$W/ls.out" || die "ls lacks PRE big/: $(cat "$W/ls.out")"
    awsc s3 ls s3://awsb/ --recursive --summarize >"$W/lsr.out"
    awk '$4 == "big/big.bin" {print $3}' "$W/lsr.out" | grep -qx 20971520 || die "recursive ls lacks big/big.bin: $(cat "$W/lsr.out")"
    grep -q 'Total Objects: 3' "$W/lsr.out" || die "expected 3 objects: $(cat "$W/lsr.out")"
}

check_aws_sync() {
    rm -rf "$W/src" "$W/dst"
    mktree "$W/src"
    rm "$W/src/empty" # empty files: see check_aws_sync_empty_files
    awsc s3 sync "$W/src" s3://awsb/tree/ >/dev/null
    awsc s3 sync s3://awsb/tree/ "$W/dst" >/dev/null
    diff -r "$W/src" "$W/dst" >&2 || die "tree downloaded by sync differs"
    # change, delete and add, then sync --delete both ways
    mkrand "$W/src/a.txt" 2000
    rm "$W/src/d1/b.bin"
    mkrand "$W/src/new.txt" 77
    awsc s3 sync "$W/src" s3://awsb/tree/ --delete >/dev/null
    awsc s3api list-objects-v2 --bucket awsb --prefix tree/ >"$W/l.json"
    jget "$W/l.json" "'\n'.join(sorted(o['Key'][len('tree/'):] for o in d.get('Contents', [])))" >"$W/remote.lst"
    relfiles "$W/src" >"$W/local.lst"
    diff "$W/local.lst" "$W/remote.lst" >&2 || die "bucket listing after sync --delete differs from the local tree"
    awsc s3 sync s3://awsb/tree/ "$W/dst" --delete >/dev/null
    diff -r "$W/src" "$W/dst" >&2 || die "tree after second sync down differs"
}

# aws CLI v1 (its vendored botocore, still at 1.43.62 in awscli 1.46.3) stalls 60 s on the request that follows a
# zero-length PUT on the same kept-alive connection when the server answers that PUT without an interim
# "100 Continue" (boto/botocore#3755: the final status is cached and the next response misparsed). hyper, like Go's
# net/http, sends no 100 for an empty body. A server avoids the stall by sending the 100 anyway or by closing such
# a connection after the response (`Connection: close`).
check_aws_sync_empty_files() {
    local i t0 dt
    rm -rf "$W/esrc" "$W/edst"
    mkdir -p "$W/esrc"
    for i in 1 2 3; do : >"$W/esrc/0-empty-$i"; done
    for i in $(seq 10 40); do mkrand "$W/esrc/$i.txt" 100; done
    t0=$SECONDS
    awsc s3 sync "$W/esrc" s3://awsb/etree/ >/dev/null
    dt=$((SECONDS - t0))
    awsc s3 sync s3://awsb/etree/ "$W/edst" >/dev/null
    diff -r "$W/esrc" "$W/edst" >&2 || die "tree with empty files downloaded by sync differs"
    awsc s3api head-object --bucket awsb --key etree/0-empty-1 >"$W/h.json"
    jassert "$W/h.json" "d['ContentLength'] == 0 and d['ETag'] == '\"d41d8cd98f00b204e9800998ecf8427e\"'" "head-object of an empty object"
    awsc s3 rm s3://awsb/etree/ --recursive >/dev/null
    [ "$dt" -le 30 ] || die "aws s3 sync of 34 small files (3 empty) took ${dt} s: botocore's 60 s stall after a zero-length PUT answered without '100 Continue' (boto/botocore#3755); the server can avoid it with 'Connection: close' on such responses"
}

check_aws_rm_recursive() {
    awsc s3 rm s3://awsb/tree/ --recursive >/dev/null
    awsc s3api list-objects-v2 --bucket awsb --prefix tree/ >"$W/l.json"
    jassert "$W/l.json" "d.get('KeyCount', 0) == 0 and not d.get('Contents')" "objects left under tree/"
    awsc s3api list-objects-v2 --bucket awsb >"$W/l.json"
    jassert "$W/l.json" "sorted(o['Key'] for o in d['Contents']) == ['big/big.bin', 'small.bin', 'stdin.txt']" "rm --recursive removed too much or too little"
}

check_aws_rb() {
    expect_fail "delete-bucket on a non-empty bucket" 'BucketNotEmpty' awsc s3api delete-bucket --bucket awsb
    awsc s3 rb s3://awsb --force >/dev/null
    awsc s3api list-buckets >"$W/lb.json"
    jassert "$W/lb.json" "'awsb' not in [b['Name'] for b in d['Buckets']]" "bucket still listed after rb"
    expect_fail "head-bucket after rb" '404|Not Found' awsc s3api head-bucket --bucket awsb
}

# ------------------------------------------------------------------ aws s3api
check_s3api_put_head_get() {
    awsc s3api create-bucket --bucket apib >"$W/cb.json"
    mkrand "$W/body" 70000
    local md5
    md5="$(md5of "$W/body")"
    awsc s3api put-object --bucket apib --key dir/obj.bin --body "$W/body" \
        --content-type application/x-meridian-test --metadata color=blue,size=large >"$W/put.json"
    jassert "$W/put.json" "d['ETag'] == '\"$md5\"'" "put-object ETag"
    awsc s3api head-object --bucket apib --key dir/obj.bin >"$W/h.json"
    jassert "$W/h.json" "d['ContentLength'] == 70000 and d['ETag'] == '\"$md5\"' and d['ContentType'] == 'application/x-meridian-test' and d['Metadata'] == {'color': 'blue', 'size': 'large'}" "head-object"
    awsc s3api get-object --bucket apib --key dir/obj.bin "$W/get.out" >"$W/get.json"
    same "$W/body" "$W/get.out"
    jassert "$W/get.json" "d['ContentLength'] == 70000 and d['ETag'] == '\"$md5\"' and d['Metadata'] == {'color': 'blue', 'size': 'large'}" "get-object"
    awsc s3api get-object --bucket apib --key dir/obj.bin --range bytes=100-199 "$W/range.out" >"$W/gr.json"
    dd if="$W/body" of="$W/range.want" bs=1 skip=100 count=100 status=none
    same "$W/range.want" "$W/range.out"
    jassert "$W/gr.json" "d['ContentLength'] == 100 and d['ContentRange'] == 'bytes 100-199/70000'" "ranged get-object"
    expect_fail "head-object on a missing key" '404|Not Found' awsc s3api head-object --bucket apib --key no/such/key
    expect_fail "get-object on a missing key" 'NoSuchKey' awsc s3api get-object --bucket apib --key no/such/key "$W/none.out"
}

check_s3api_list_objects_v2() {
    local k
    for k in list/a/1 list/a/2 list/a/3 list/a/4 list/a/5 list/b/1 list/b/2 list/b/3; do
        printf '%s' "$k" >"$W/k"
        awsc s3api put-object --bucket apib --key "$k" --body "$W/k" >/dev/null
    done
    awsc s3api put-object --bucket apib --key list/c.txt >/dev/null # empty body
    awsc s3api list-objects-v2 --bucket apib --prefix list/ --delimiter / >"$W/l.json"
    jassert "$W/l.json" "[p['Prefix'] for p in d['CommonPrefixes']] == ['list/a/', 'list/b/'] and [o['Key'] for o in d['Contents']] == ['list/c.txt'] and d['Contents'][0]['Size'] == 0" "delimiter listing"
    # --page-size 3 makes the CLI follow continuation tokens over 3 pages
    awsc s3api list-objects-v2 --bucket apib --prefix list/ --page-size 3 >"$W/l.json"
    jassert "$W/l.json" "[o['Key'] for o in d['Contents']] == ['list/a/1','list/a/2','list/a/3','list/a/4','list/a/5','list/b/1','list/b/2','list/b/3','list/c.txt']" "paginated listing"
    jassert "$W/l.json" "all(o['Size'] == len(o['Key']) for o in d['Contents'] if o['Key'] != 'list/c.txt')" "listed sizes"
    awsc s3api list-objects-v2 --bucket apib --prefix list/ --start-after list/b/1 >"$W/l.json"
    jassert "$W/l.json" "[o['Key'] for o in d['Contents']] == ['list/b/2','list/b/3','list/c.txt']" "start-after listing"
    awsc s3api list-objects --bucket apib --prefix list/b/ >"$W/l1.json"
    jassert "$W/l1.json" "[o['Key'] for o in d['Contents']] == ['list/b/1','list/b/2','list/b/3'] and all(o['ETag'].startswith('\"') for o in d['Contents'])" "list-objects (v1)"
}

check_s3api_delete_objects() {
    awsc s3api delete-objects --bucket apib \
        --delete '{"Objects":[{"Key":"list/a/1"},{"Key":"list/a/2"},{"Key":"list/never-existed"}]}' >"$W/d.json"
    jassert "$W/d.json" "sorted(x['Key'] for x in d.get('Deleted', [])) == ['list/a/1','list/a/2','list/never-existed'] and not d.get('Errors')" "delete-objects result"
    awsc s3api list-objects-v2 --bucket apib --prefix list/a/ >"$W/l.json"
    jassert "$W/l.json" "[o['Key'] for o in d['Contents']] == ['list/a/3','list/a/4','list/a/5']" "listing after delete-objects"
    awsc s3api delete-objects --bucket apib --delete '{"Objects":[{"Key":"list/a/3"}],"Quiet":true}' >"$W/dq.json"
    [ ! -s "$W/dq.json" ] || jassert "$W/dq.json" "not d.get('Deleted') and not d.get('Errors')" "quiet delete-objects"
    expect_fail "get of a deleted key" 'NoSuchKey' awsc s3api get-object --bucket apib --key list/a/3 "$W/none.out"
    awsc s3api delete-object --bucket apib --key list/a/4 >/dev/null
    expect_fail "head of a deleted key" '404|Not Found' awsc s3api head-object --bucket apib --key list/a/4
}

check_s3api_copy_object() {
    awsc s3api head-object --bucket apib --key dir/obj.bin >"$W/src.json"
    local etag
    etag="$(jget "$W/src.json" "d['ETag']")"
    awsc s3api copy-object --copy-source apib/dir/obj.bin --bucket apib --key copy/obj.bin >"$W/c.json"
    jassert "$W/c.json" "d['CopyObjectResult']['ETag'] == '$etag'" "copy-object ETag"
    awsc s3api get-object --bucket apib --key copy/obj.bin "$W/copy.out" >/dev/null
    same "$W/body" "$W/copy.out"
    awsc s3api head-object --bucket apib --key copy/obj.bin >"$W/h.json"
    jassert "$W/h.json" "d['Metadata'] == {'color': 'blue', 'size': 'large'} and d['ContentType'] == 'application/x-meridian-test'" "metadata copied (COPY directive)"
    awsc s3api copy-object --copy-source apib/dir/obj.bin --bucket apib --key copy/replaced.bin \
        --metadata-directive REPLACE --metadata shape=round --content-type text/plain >/dev/null
    awsc s3api head-object --bucket apib --key copy/replaced.bin >"$W/h.json"
    jassert "$W/h.json" "d['Metadata'] == {'shape': 'round'} and d['ContentType'] == 'text/plain' and d['ETag'] == '$etag'" "metadata replaced (REPLACE directive)"
    # copy onto itself with REPLACE updates metadata in place
    awsc s3api copy-object --copy-source apib/copy/replaced.bin --bucket apib --key copy/replaced.bin \
        --metadata-directive REPLACE --metadata shape=square >/dev/null
    awsc s3api head-object --bucket apib --key copy/replaced.bin >"$W/h.json"
    jassert "$W/h.json" "d['Metadata'] == {'shape': 'square'}" "self-copy with REPLACE"
    expect_fail "copy from a missing key" 'NoSuchKey|404|Not Found' awsc s3api copy-object --copy-source apib/no/such --bucket apib --key copy/x
}

check_s3api_multipart() {
    mkrand "$W/p1" $((5 * 1024 * 1024))
    mkrand "$W/p2" $((5 * 1024 * 1024))
    mkrand "$W/p3" $((1024 * 1024 + 17))
    cat "$W/p1" "$W/p2" "$W/p3" >"$W/mp.all"
    awsc s3api create-multipart-upload --bucket apib --key mp/obj.bin --content-type application/x-mp >"$W/cmu.json"
    local uid i parts=""
    uid="$(jget "$W/cmu.json" "d['UploadId']")"
    [ -n "$uid" ] || die "no UploadId"
    for i in 1 2 3; do
        awsc s3api upload-part --bucket apib --key mp/obj.bin --upload-id "$uid" --part-number "$i" --body "$W/p$i" >"$W/up$i.json"
        jassert "$W/up$i.json" "d['ETag'] == '\"$(md5of "$W/p$i")\"'" "upload-part $i ETag"
        parts="$parts${parts:+,}{\"PartNumber\":$i,\"ETag\":$(jget "$W/up$i.json" "json.dumps(d['ETag'])")}"
    done
    awsc s3api list-parts --bucket apib --key mp/obj.bin --upload-id "$uid" >"$W/lp.json"
    jassert "$W/lp.json" "[(p['PartNumber'], p['Size']) for p in d['Parts']] == [(1, 5242880), (2, 5242880), (3, 1048593)]" "list-parts"
    awsc s3api list-multipart-uploads --bucket apib >"$W/lmu.json"
    jassert "$W/lmu.json" "[(u['Key'], u['UploadId']) for u in d.get('Uploads', [])] == [('mp/obj.bin', '$uid')]" "list-multipart-uploads"
    echo "{\"Parts\":[$parts]}" >"$W/mpu.json"
    awsc s3api complete-multipart-upload --bucket apib --key mp/obj.bin --upload-id "$uid" \
        --multipart-upload "file://$W/mpu.json" >"$W/cmp.json"
    local want
    want="$(mp_etag "$W/mp.all" $((5 * 1024 * 1024)))"
    jassert "$W/cmp.json" "d['ETag'] == '$want' and d['Key'] == 'mp/obj.bin'" "complete-multipart-upload"
    awsc s3api get-object --bucket apib --key mp/obj.bin "$W/mp.out" >"$W/g.json"
    same "$W/mp.all" "$W/mp.out"
    jassert "$W/g.json" "d['ETag'] == '$want' and d['ContentLength'] == 11534353 and d['ContentType'] == 'application/x-mp'" "get of the completed upload"
    awsc s3api list-multipart-uploads --bucket apib >"$W/lmu.json"
    jassert "$W/lmu.json" "not d.get('Uploads')" "upload still listed after complete"
    # abort
    awsc s3api create-multipart-upload --bucket apib --key mp/aborted.bin >"$W/cmu2.json"
    uid="$(jget "$W/cmu2.json" "d['UploadId']")"
    awsc s3api upload-part --bucket apib --key mp/aborted.bin --upload-id "$uid" --part-number 1 --body "$W/p3" >/dev/null
    awsc s3api abort-multipart-upload --bucket apib --key mp/aborted.bin --upload-id "$uid"
    awsc s3api list-multipart-uploads --bucket apib >"$W/lmu.json"
    jassert "$W/lmu.json" "not d.get('Uploads')" "upload still listed after abort"
    expect_fail "list-parts of an aborted upload" 'NoSuchUpload' awsc s3api list-parts --bucket apib --key mp/aborted.bin --upload-id "$uid"
    expect_fail "head of an aborted upload's key" '404|Not Found' awsc s3api head-object --bucket apib --key mp/aborted.bin
}

# ------------------------------------------------------------------ s3cmd
check_s3cmd_mb() {
    s3c mb s3://s3cmdb >/dev/null
    s3c ls >"$W/ls.out"
    grep -q 's3://s3cmdb$' "$W/ls.out" || die "s3cmd ls lacks the bucket: $(cat "$W/ls.out")"
}

check_s3cmd_put_get() {
    mkrand "$W/s3cmd.bin" 50000
    s3c put "$W/s3cmd.bin" s3://s3cmdb/dir/f.bin >/dev/null
    s3c get --force s3://s3cmdb/dir/f.bin "$W/s3cmd.out" >/dev/null
    same "$W/s3cmd.bin" "$W/s3cmd.out"
    s3c info s3://s3cmdb/dir/f.bin >"$W/info.out"
    grep -Eq "MD5 sum: +$(md5of "$W/s3cmd.bin")" "$W/info.out" || die "s3cmd info MD5 differs: $(cat "$W/info.out")"
}

check_s3cmd_ls() {
    s3c ls s3://s3cmdb/dir/ >"$W/ls.out"
    awk '$4 == "s3://s3cmdb/dir/f.bin" {print $3}' "$W/ls.out" | grep -qx 50000 || die "ls lacks dir/f.bin of 50000 bytes: $(cat "$W/ls.out")"
    s3c ls s3://s3cmdb/ >"$W/ls.out"
    grep -Eq 'DIR +s3://s3cmdb/dir/$' "$W/ls.out" || die "ls lacks DIR s3://s3cmdb/dir/: $(cat "$W/ls.out")"
}

check_s3cmd_multipart() {
    mkrand "$W/s3cmd-big.bin" $((12 * 1024 * 1024))
    s3c put --multipart-chunk-size-mb=5 "$W/s3cmd-big.bin" s3://s3cmdb/big.bin >/dev/null
    s3c get --force s3://s3cmdb/big.bin "$W/s3cmd-big.out" >/dev/null
    same "$W/s3cmd-big.bin" "$W/s3cmd-big.out"
    s3c ls s3://s3cmdb/big.bin >"$W/ls.out"
    awk '{print $3}' "$W/ls.out" | grep -qx 12582912 || die "ls size of big.bin: $(cat "$W/ls.out")"
}

check_s3cmd_del() {
    s3c del s3://s3cmdb/dir/f.bin >/dev/null
    s3c ls --recursive s3://s3cmdb/ >"$W/ls.out"
    ! grep -q 'dir/f.bin' "$W/ls.out" || die "dir/f.bin still listed: $(cat "$W/ls.out")"
    grep -q 's3://s3cmdb/big.bin' "$W/ls.out" || die "big.bin missing: $(cat "$W/ls.out")"
}

check_s3cmd_rb() {
    s3c del s3://s3cmdb/big.bin >/dev/null
    s3c rb s3://s3cmdb >/dev/null
    s3c ls >"$W/ls.out"
    ! grep -q 's3://s3cmdb$' "$W/ls.out" || die "bucket still listed after rb: $(cat "$W/ls.out")"
}

# The zonegroup's api_name (here `default`) in another case, as `s3cmd mb --bucket-location=EU` sends for `eu`.
check_s3cmd_mb_location_case() {
    s3c mb --bucket-location=DEFAULT s3://s3cmdloc >/dev/null
    s3c info s3://s3cmdloc >"$W/info.out"
    grep -Eq 'Location: +default' "$W/info.out" || die "s3cmd info location: $(cat "$W/info.out")"
    s3c rb s3://s3cmdloc >/dev/null
}

# SigV2 (s3cmd --signature-v2): header-signed requests.
check_s3cmd_signature_v2() {
    mkrand "$W/v2.bin" 30000
    s3c --signature-v2 mb s3://s3cmdv2 >/dev/null
    s3c --signature-v2 put "$W/v2.bin" s3://s3cmdv2/v2.bin >/dev/null
    s3c --signature-v2 get --force s3://s3cmdv2/v2.bin "$W/v2.out" >/dev/null
    same "$W/v2.bin" "$W/v2.out"
    s3c --signature-v2 ls s3://s3cmdv2/ >"$W/ls.out"
    grep -q 's3://s3cmdv2/v2.bin' "$W/ls.out" || die "v2 ls: $(cat "$W/ls.out")"
    # multipart, and a presigned (query-string SigV2) URL fetched with curl
    mkrand "$W/v2-big.bin" $((11 * 1024 * 1024))
    s3c --signature-v2 put --multipart-chunk-size-mb=5 "$W/v2-big.bin" s3://s3cmdv2/big.bin >/dev/null
    s3c --signature-v2 get --force s3://s3cmdv2/big.bin "$W/v2-big.out" >/dev/null
    same "$W/v2-big.bin" "$W/v2-big.out"
    url="$(s3c --signature-v2 signurl s3://s3cmdv2/v2.bin +300 | tail -n 1)"
    curl -sf -o "$W/v2-url.out" "$url" || die "presigned v2 URL refused: $url"
    same "$W/v2.bin" "$W/v2-url.out"
    code="$(curl -s -o /dev/null -w '%{http_code}' "${url/Signature=/Signature=x}")"
    [ "$code" = 403 ] || die "a tampered presigned v2 URL answered $code"
    s3c --signature-v2 del s3://s3cmdv2/v2.bin s3://s3cmdv2/big.bin >/dev/null
    s3c --signature-v2 rb s3://s3cmdv2 >/dev/null
}

# ------------------------------------------------------------------ rclone
check_rclone_copy_check() {
    rm -rf "$W/rsrc" "$W/rdst"
    mktree "$W/rsrc"
    mkrand "$W/rsrc/d1/multi.bin" $((12 * 1024 * 1024)) # above upload_cutoff: multipart
    rcl mkdir m:rclb
    rcl copy "$W/rsrc" m:rclb/tree
    rcl check "$W/rsrc" m:rclb/tree 2>"$W/check.err" || die "rclone check: $(tail -n 5 "$W/check.err")"
    # the server's hashes must equal the local ones
    rcl md5sum "$W/rsrc" | LC_ALL=C sort -k2 >"$W/local.md5"
    rcl md5sum m:rclb/tree | LC_ALL=C sort -k2 >"$W/remote.md5"
    diff "$W/local.md5" "$W/remote.md5" >&2 || die "md5sums differ"
    [ "$(wc -l <"$W/remote.md5")" -eq "$(relfiles "$W/rsrc" | wc -l)" ] || die "md5sum count differs"
}

check_rclone_sync_ls() {
    mkrand "$W/rsrc/a.txt" 5000
    rm "$W/rsrc/many/3.txt"
    mkrand "$W/rsrc/many/new.txt" 10
    rcl sync "$W/rsrc" m:rclb/tree
    rcl ls "$W/rsrc" | LC_ALL=C sort -k2 >"$W/local.ls"
    rcl ls m:rclb/tree | LC_ALL=C sort -k2 >"$W/remote.ls"
    diff "$W/local.ls" "$W/remote.ls" >&2 || die "listings differ after sync"
    rcl check "$W/rsrc" m:rclb/tree 2>"$W/check.err" || die "rclone check after sync: $(tail -n 5 "$W/check.err")"
}

check_rclone_copy_back() {
    rcl copy m:rclb/tree "$W/rdst"
    diff -r "$W/rsrc" "$W/rdst" >&2 || die "tree copied back differs"
}

check_rclone_purge() {
    rcl purge m:rclb
    rcl lsd m: >"$W/lsd.out"
    ! grep -q ' rclb$' "$W/lsd.out" || die "bucket still listed after purge: $(cat "$W/lsd.out")"
}

# ------------------------------------------------------------------ versioning (awscli, rclone)
check_aws_versioning() {
    awsc s3 mb s3://awsver >/dev/null
    awsc s3api get-bucket-versioning --bucket awsver >"$W/gv.json"
    jassert "$W/gv.json" "'Status' not in d" "a never-versioned bucket has no status"
    # Never versioned: list-object-versions answers every object as version null.
    printf 'plain' >"$W/v0.txt"
    awsc s3api put-object --bucket awsver --key plain.txt --body "$W/v0.txt" >/dev/null
    awsc s3api list-object-versions --bucket awsver >"$W/lv0.json"
    jassert "$W/lv0.json" "[(v['Key'], v['VersionId'], v['IsLatest']) for v in d['Versions']] == [('plain.txt', 'null', True)]" "null versions of a never-versioned bucket"
    awsc s3api put-bucket-versioning --bucket awsver --versioning-configuration Status=Enabled
    awsc s3api get-bucket-versioning --bucket awsver >"$W/gv.json"
    jassert "$W/gv.json" "d.get('Status') == 'Enabled'" "versioning status after put-bucket-versioning"
    local i
    for i in 1 2 3; do
        printf 'version %s' "$i" >"$W/v$i.txt"
        awsc s3api put-object --bucket awsver --key k.txt --body "$W/v$i.txt" >"$W/p$i.json"
        jassert "$W/p$i.json" "d.get('VersionId') not in (None, 'null')" "put-object $i names its version"
    done
    local first
    first="$(jget "$W/p1.json" "d['VersionId']")"
    awsc s3api delete-object --bucket awsver --key k.txt >"$W/d.json"
    jassert "$W/d.json" "d.get('DeleteMarker') is True and d.get('VersionId')" "delete-object writes a delete marker"
    # --page-size 1: the CLI pages with max-keys 1 and the key/version-id markers.
    awsc s3api list-object-versions --bucket awsver --page-size 1 >"$W/lv.json"
    jassert "$W/lv.json" "[v['VersionId'] for v in d['Versions'] if v['Key'] == 'k.txt'] == [$(for i in 3 2 1; do printf "'%s'," "$(jget "$W/p$i.json" "d['VersionId']")"; done)]" "three versions of k.txt, newest first"
    jassert "$W/lv.json" "[(m['Key'], m['IsLatest']) for m in d['DeleteMarkers']] == [('k.txt', True)]" "the delete marker is the latest"
    awsc s3api get-object --bucket awsver --key k.txt --version-id "$first" "$W/got1.txt" >/dev/null
    same "$W/v1.txt" "$W/got1.txt"
    expect_fail "get-object of a key whose latest version is a delete marker" 'NoSuchKey|Not Found|404' awsc s3api get-object --bucket awsver --key k.txt "$W/none.txt"
    awsc s3api list-objects-v2 --bucket awsver >"$W/l.json"
    jassert "$W/l.json" "[o['Key'] for o in d.get('Contents', [])] == ['plain.txt']" "list-objects-v2 hides the deleted key"
}

# `aws s3 rb --force` empties a bucket with `rm --recursive` (ListObjectsV2 and DeleteObject) before
# DeleteBucket: on a versioned bucket, as on AWS, that writes delete markers and DeleteBucket answers
# BucketNotEmpty. Once list-object-versions + delete-objects removed every version and marker, it succeeds.
check_aws_rb_force_versioned() {
    awsc s3 rb s3://awsver --force >"$W/rb1.out" 2>"$W/rb1.err" && die "rb --force removed a bucket that still holds versions"
    grep -q 'BucketNotEmpty' "$W/rb1.err" || die "rb --force on a versioned bucket: $(head -c 400 "$W/rb1.err")"
    awsc s3api list-object-versions --bucket awsver >"$W/lv.json"
    jassert "$W/lv.json" "len(d.get('Versions', [])) == 4 and len(d.get('DeleteMarkers', [])) == 2" "versions and markers left by rm --recursive"
    jget "$W/lv.json" "{'Objects': [{'Key': v['Key'], 'VersionId': v['VersionId']} for v in d.get('Versions', []) + d.get('DeleteMarkers', [])], 'Quiet': False}" >"$W/del.json"
    awsc s3api delete-objects --bucket awsver --delete "file://$W/del.json" >"$W/dr.json"
    jassert "$W/dr.json" "len(d.get('Deleted', [])) == 6 and not d.get('Errors')" "delete-objects of every version"
    awsc s3 rb s3://awsver --force >/dev/null
    expect_fail "head-bucket after rb" '404|Not Found' awsc s3api head-bucket --bucket awsver
}

check_rclone_purge_versioned() {
    rcl mkdir m:rclver
    awsc s3api put-bucket-versioning --bucket rclver --versioning-configuration Status=Enabled
    local i
    for i in 1 2 3; do
        mkrand "$W/rv.bin" $((1000 * i))
        rcl copyto "$W/rv.bin" m:rclver/dir/file.bin
    done
    mkrand "$W/rv2.bin" 500
    rcl copyto "$W/rv2.bin" m:rclver/other.bin
    rcl deletefile m:rclver/other.bin
    # Old versions are listed with --s3-versions (ListObjectVersions).
    rcl ls --s3-versions m:rclver >"$W/rv.ls"
    [ "$(grep -c 'file' "$W/rv.ls")" -eq 3 ] || die "rclone --s3-versions lists $(cat "$W/rv.ls")"
    rcl purge --s3-versions m:rclver
    rcl lsd m: >"$W/lsd.out"
    ! grep -q ' rclver$' "$W/lsd.out" || die "bucket still listed after purge: $(cat "$W/lsd.out")"
}

# ------------------------------------------------------------------ runner
# the checks run in `timeout bash -c`: hand them every function defined above
# shellcheck disable=SC2046
export -f $(declare -F | awk '{print $3}')

run_check() {
    local name=$1 fn=$2 log="$TMP/logs/$1.log" rc=0 t0=$SECONDS
    case "$name" in *"$FILTER"*) ;; *) return 0 ;; esac
    REASON_FILE="$TMP/logs/$name.reason" timeout -k 5 "$CHECK_TIMEOUT" bash -c "set -euo pipefail; $fn" \
        >"$log" 2>&1 </dev/null || rc=$?
    if [ "$rc" -eq 0 ]; then
        pass "$name ($((SECONDS - t0))s)"
    else
        local reason
        if [ -s "$TMP/logs/$name.reason" ]; then
            reason="$(cat "$TMP/logs/$name.reason")"
        else # a command failed under `set -e`: its last words
            reason="$(grep -v '^\s*$' "$log" | tail -n 2 | tr '\n' ' ' | cut -c1-400)"
        fi
        [ "$rc" -ne 124 ] || reason="timed out after ${CHECK_TIMEOUT}s; $reason"
        fail "$name" "${reason:-exit $rc}"
        sed 's/^/    | /' "$log" | tail -n 25
    fi
    server_alive_after "$name"
}

# A server that died during a check is reported (with its exit status and its last words) and restarted on the
# same data dir and port, so that the checks after it still mean something.
server_alive_after() {
    kill -0 "$SERVER_PID" 2>/dev/null && return 0
    local src=0 words
    wait "$SERVER_PID" 2>/dev/null || src=$?
    SERVER_PID=""
    words="$(grep -a -m1 -A2 'panicked' "$TMP/server.log" | tr '\n' ' ' | cut -c1-400 || true)"
    [ -n "$words" ] || words="$(tail -n 3 "$TMP/server.log" | tr '\n' ' ' | cut -c1-400)"
    fail "server-alive-after-$1" "the server exited with status $src during $1 (101: panic, 137: SIGKILL, 143: SIGTERM); log: $words"
    echo "--- restarting the server on $ENDPOINT" >>"$TMP/server.log"
    start_server "$TMP/data" "$PORT" "$TMP/server.log" || fail "server-restart-after-$1" "the server did not come back"
}

echo "awscli: $("$AWS_CLI" --version 2>&1 | head -n 1)"
run_check aws-mb check_aws_mb
run_check aws-cp-small check_aws_cp_small
run_check aws-cp-multipart-20MiB check_aws_cp_multipart
run_check aws-ls check_aws_ls
run_check aws-sync check_aws_sync
run_check aws-sync-empty-files check_aws_sync_empty_files
run_check aws-rm-recursive check_aws_rm_recursive
run_check aws-rb check_aws_rb
run_check s3api-put-head-get check_s3api_put_head_get
run_check s3api-list-objects-v2 check_s3api_list_objects_v2
run_check s3api-delete-objects check_s3api_delete_objects
run_check s3api-copy-object check_s3api_copy_object
run_check s3api-multipart check_s3api_multipart
run_check aws-versioning-list-object-versions check_aws_versioning
run_check aws-rb-force-versioned check_aws_rb_force_versioned

echo "s3cmd: $(s3cmd --version 2>&1 | head -n 1)"
run_check s3cmd-mb check_s3cmd_mb
run_check s3cmd-put-get check_s3cmd_put_get
run_check s3cmd-ls check_s3cmd_ls
run_check s3cmd-multipart check_s3cmd_multipart
run_check s3cmd-del check_s3cmd_del
run_check s3cmd-rb check_s3cmd_rb
run_check s3cmd-mb-location-case check_s3cmd_mb_location_case
run_check s3cmd-signature-v2 check_s3cmd_signature_v2

echo "rclone: $(rclone version 2>&1 | head -n 1)"
run_check rclone-copy-check check_rclone_copy_check
run_check rclone-sync-ls check_rclone_sync_ls
run_check rclone-copy-back check_rclone_copy_back
run_check rclone-purge check_rclone_purge
run_check rclone-purge-versioned check_rclone_purge_versioned

# boto3: the python driver prints its own PASS/FAIL lines.
echo "boto3: $(python3 -c 'import boto3, botocore; print(boto3.__version__, "botocore", botocore.__version__)')"
# A user of tenant `boto3t` for the tenant check (`tenant$uid`).
TAK="MERIDIANTENANT00001" TSK="tenantSecretKey/0001+abcdefghijklmnopqrs"
if create_user "$TMP/data" 'boto3t$ann' "$TAK" "$TSK" "$TMP/tenant-user.json" 2>"$TMP/tenant-user.err"; then
    pass cli-user-create-tenant
else
    fail cli-user-create-tenant "$(tail -n 3 "$TMP/tenant-user.err" | tr '\n' ' ')"
fi
rc=0
timeout -k 5 $((CHECK_TIMEOUT * 2)) python3 "$HERE/boto3_checks.py" --endpoint "$ENDPOINT" \
    --access-key "$AK" --secret-key "$SK" --workdir "$W" ${FILTER:+--filter "$FILTER"} \
    --tenant boto3t --tenant-access-key "$TAK" --tenant-secret-key "$TSK" \
    >"$TMP/logs/boto3.log" 2>&1 </dev/null || rc=$?
cat "$TMP/logs/boto3.log"
count_results "$TMP/logs/boto3.log"
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$TMP/logs/boto3.log"; then
    fail boto3-driver "boto3_checks.py exited $rc without a FAIL line"
fi

server_alive_after boto3-checks
summary clients
