#!/usr/bin/env python3
"""Real clients against the endpoints `meridian demo` printed: boto3's threaded multipart upload (small
multipart threshold, several threads) into each zonegroup, read back from the other us zone once replicated,
and s3cmd with the printed .s3cfg, including `mb --bucket-location=EU` at the eu zonegroup's zone. One PASS/FAIL
line per check.

usage: demo_clients.py US_EAST US_WEST EU_1 ACCESS_KEY SECRET_KEY S3CFG WORKDIR
"""
import hashlib
import os
import subprocess
import sys
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

US_EAST, US_WEST, EU_1, AK, SK, S3CFG, WORK = sys.argv[1:8]
FAILED = 0


def check(name, ok, detail=""):
    global FAILED
    if ok:
        print(f"PASS {name}", flush=True)
    else:
        FAILED += 1
        print(f"FAIL {name}: {detail}", flush=True)


def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=AK, aws_secret_access_key=SK,
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


os.makedirs(WORK, exist_ok=True)
src = os.path.join(WORK, "boto3-24MiB.bin")
with open(src, "wb") as f:
    f.write(os.urandom(24 << 20))
config = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20, max_concurrency=4,
                        use_threads=True)

for name, endpoint, bucket in [("us-east", US_EAST, "demo-us"), ("eu-1", EU_1, "demo-eu")]:
    try:
        c = client(endpoint)
        c.upload_file(src, bucket, "boto3/threaded.bin", Config=config)
        head = c.head_object(Bucket=bucket, Key="boto3/threaded.bin")
        # A multipart ETag is "<md5 of the parts' md5s>-<parts>": 24 MiB in 5 MiB parts is 5 parts.
        check(f"boto3-threaded-multipart-{name}",
              head["ContentLength"] == 24 << 20 and head["ETag"].strip('"').endswith("-5"), str(head.get("ETag")))
    except Exception as e:
        check(f"boto3-threaded-multipart-{name}", False, repr(e))

# Replicated to the other zone of us: read it back there with boto3's threaded download.
dst = os.path.join(WORK, "boto3-from-us-west.bin")
c = client(US_WEST)
deadline = time.time() + 120
last = None
while time.time() < deadline:
    try:
        c.download_file("demo-us", "boto3/threaded.bin", dst, Config=config)
        if sha(dst) == sha(src):
            break
    except Exception as e:
        last = e
    time.sleep(1)
check("boto3-read-back-from-us-west", os.path.exists(dst) and sha(dst) == sha(src), repr(last))

# A bucket of zonegroup eu asked for at a us endpoint: the S3 redirect names eu's endpoint.
try:
    client(US_EAST).head_object(Bucket="demo-eu", Key="hello.txt")
    check("eu-bucket-redirects-from-us", False, "no redirect")
except Exception as e:
    check("eu-bucket-redirects-from-us", "301" in str(e), repr(e))

# s3cmd with the printed configuration.
small = os.path.join(WORK, "s3cmd.txt")
with open(small, "wb") as f:
    f.write(os.urandom(300_000))


def s3cmd(*args):
    return subprocess.run(["s3cmd", "-c", S3CFG, *args], capture_output=True, text=True, timeout=120)


r = s3cmd("put", small, "s3://demo-us/s3cmd/file.bin")
check("s3cmd-put", r.returncode == 0, r.stderr[-300:])
r = s3cmd("ls", "s3://demo-us/s3cmd/")
check("s3cmd-ls", r.returncode == 0 and "s3://demo-us/s3cmd/file.bin" in r.stdout, r.stdout + r.stderr[-300:])
got = os.path.join(WORK, "s3cmd-got.bin")
r = s3cmd("get", "--force", "s3://demo-us/s3cmd/file.bin", got)
check("s3cmd-get-equal-bytes", r.returncode == 0 and os.path.exists(got) and sha(got) == sha(small),
      r.stderr[-300:])
r = s3cmd("ls")
check("s3cmd-list-buckets", r.returncode == 0 and "s3://demo-us" in r.stdout and "s3://demo-eu" in r.stdout,
      r.stdout + r.stderr[-300:])

# s3cmd sends `--bucket-location=eu` upper-cased (EU); at eu-1, the zone of zonegroup eu, that is eu's api_name
# in another case and must be accepted: the bucket is made in zonegroup eu.
eu_host = EU_1.split("://", 1)[1].rstrip("/")
r = s3cmd(f"--host={eu_host}", f"--host-bucket={eu_host}", "mb", "--bucket-location=EU", "s3://demo-s3cmd-eu")
info = s3cmd(f"--host={eu_host}", f"--host-bucket={eu_host}", "info", "s3://demo-s3cmd-eu")
try:
    location = client(EU_1).get_bucket_location(Bucket="demo-s3cmd-eu").get("LocationConstraint")
except Exception as e:
    location = repr(e)
check("s3cmd-mb-bucket-location-EU-at-eu", r.returncode == 0 and location == "eu",
      f"mb exit {r.returncode}: {r.stdout + r.stderr[-300:]}; info: {info.stdout[-300:]}; location {location!r}")
r = s3cmd(f"--host={eu_host}", f"--host-bucket={eu_host}", "rb", "s3://demo-s3cmd-eu")
check("s3cmd-rb-at-eu", r.returncode == 0, r.stderr[-300:])

sys.exit(1 if FAILED else 0)
