#!/usr/bin/env python3
"""Crash-consistency driver for tests/crash/run.sh.

  load    concurrent writers (PUTs of 1 KiB-2 MiB, overwrites, deletes, multipart uploads) that journal every
          attempt before it is sent ("begin") and every acknowledgement (HTTP 200) after it ("ack"), until the
          server dies (run.sh writes --killed-file just before `kill -9`) or --max-seconds pass.
  verify  after the restart: every acknowledged write is readable with its ETag and exact bytes (sha256), every
          acknowledged delete stayed deleted, nothing listed is partial, and the listing agrees with GET/HEAD.

A key is written by one thread only, so the journal gives each key's history in order. After a crash a key may
hold its last acknowledged state or the state of an attempt begun after it (in flight at the crash, or answered
with an error); nothing else is allowed.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import sys
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

KiB = 1024
MiB = 1024 * 1024


def client(args, attempts=1, read_timeout=60):
    return boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        aws_access_key_id=args.access_key,
        aws_secret_access_key=args.secret_key,
        region_name="us-east-1",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": attempts, "mode": "standard"},
            connect_timeout=5,
            read_timeout=read_timeout,
            max_pool_connections=32,
        ),
    )


def md5_etag(data):
    return '"%s"' % hashlib.md5(data).hexdigest()


def multipart_etag(parts):
    return '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(), len(parts))


# ---------------------------------------------------------------------------------------------------- load
class Journal:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def write(self, **rec):
        rec["t"] = time.time()
        line = json.dumps(rec, sort_keys=True)
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()


class Load:
    def __init__(self, args):
        self.args = args
        self.s3 = client(args)
        self.journal = Journal(args.journal)
        self.deadline = time.monotonic() + args.max_seconds
        self.stats_lock = threading.Lock()
        self.acks = 0
        self.unexpected = 0

    def killed(self):
        return os.path.exists(self.args.killed_file)

    def running(self):
        return time.monotonic() < self.deadline and not self.killed()

    def on_error(self, tid, what, exc):
        """True when the thread should stop (the server was killed)."""
        if self.killed():
            return True
        with self.stats_lock:
            self.unexpected += 1
        self.journal.write(op="error", thread=tid, what=what, error=f"{type(exc).__name__}: {exc}"[:500])
        time.sleep(0.2)
        return False

    def acked(self):
        with self.stats_lock:
            self.acks += 1

    def put(self, tid, key, data, attempt):
        self.journal.write(op="begin", kind="put", key=key, attempt=attempt, size=len(data),
                           sha256=hashlib.sha256(data).hexdigest(), etag=md5_etag(data))
        r = self.s3.put_object(Bucket=self.args.bucket, Key=key, Body=data)
        self.journal.write(op="ack", key=key, attempt=attempt, etag=r["ETag"])
        self.acked()

    def writer(self, tid):
        rnd = random.Random(self.args.seed * 1000 + tid)
        n = 0
        live = []  # acknowledged unique keys that may be deleted
        while self.running():
            n += 1
            attempt = f"{self.args.prefix}-w{tid}-{n}"
            roll = rnd.random()
            try:
                if roll < 0.75 or (roll >= 0.92 and not live):
                    key = f"{self.args.prefix}/w{tid}/u{n:05d}"
                    self.put(tid, key, os.urandom(rnd.randint(KiB, 2 * MiB)), attempt)
                    live.append(key)
                elif roll < 0.92:
                    key = f"{self.args.prefix}/w{tid}/overwrite{rnd.randint(0, 2)}"
                    self.put(tid, key, os.urandom(rnd.randint(KiB, 2 * MiB)), attempt)
                else:
                    key = live.pop(rnd.randrange(len(live)))
                    self.journal.write(op="del-begin", key=key, attempt=attempt)
                    self.s3.delete_object(Bucket=self.args.bucket, Key=key)
                    self.journal.write(op="del-ack", key=key, attempt=attempt)
                    self.acked()
            except Exception as e:  # noqa: BLE001
                if self.on_error(tid, attempt, e):
                    return

    def multipart(self, tid):
        rnd = random.Random(self.args.seed * 1000 + 500 + tid)
        n = 0
        while self.running():
            n += 1
            attempt = f"{self.args.prefix}-m{tid}-{n}"
            key = f"{self.args.prefix}/m{tid}/mp{n:04d}"
            nparts = rnd.randint(2, 3)
            parts = [os.urandom(5 * MiB) for _ in range(nparts - 1)] + [os.urandom(rnd.randint(KiB, 2 * MiB))]
            whole = b"".join(parts)
            try:
                upload_id = self.s3.create_multipart_upload(Bucket=self.args.bucket, Key=key)["UploadId"]
                self.journal.write(op="mp-create", key=key, attempt=attempt, upload_id=upload_id)
                done = []
                for i, body in enumerate(parts, start=1):
                    r = self.s3.upload_part(Bucket=self.args.bucket, Key=key, UploadId=upload_id, PartNumber=i, Body=body)
                    done.append({"PartNumber": i, "ETag": r["ETag"]})
                self.journal.write(op="begin", kind="mp", key=key, attempt=attempt, size=len(whole),
                                   sha256=hashlib.sha256(whole).hexdigest(), etag=multipart_etag(parts))
                r = self.s3.complete_multipart_upload(Bucket=self.args.bucket, Key=key, UploadId=upload_id,
                                                      MultipartUpload={"Parts": done})
                self.journal.write(op="ack", key=key, attempt=attempt, etag=r["ETag"])
                self.acked()
            except Exception as e:  # noqa: BLE001
                if self.on_error(tid, attempt, e):
                    return

    def run(self):
        s3 = client(self.args, attempts=3)
        try:
            s3.create_bucket(Bucket=self.args.bucket)
        except ClientError as e:
            if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        self.journal.write(op="start")
        threads = [threading.Thread(target=self.writer, args=(t,), daemon=True) for t in range(self.args.writers)]
        threads += [threading.Thread(target=self.multipart, args=(t,), daemon=True) for t in range(self.args.multipart)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
            if time.monotonic() > self.deadline + 60:
                break  # threads stuck in a request: give up on them
        self.journal.write(op="end", acks=self.acks, unexpected_errors=self.unexpected, killed=self.killed())
        print(f"load: {self.acks} acknowledged writes/deletes, {self.unexpected} errors before the kill", flush=True)
        return 0


# ---------------------------------------------------------------------------------------------------- verify
ABSENT = ("absent",)
DELETED = ("absent", "deleted")  # absent because an acknowledged DELETE said so


def same_state(got, want):
    return got == ABSENT if want[0] == "absent" else got == want


def read_journals(paths):
    """key -> (acked_state, [states begun after it]); plus load statistics per journal."""
    keys = {}
    begun = {}  # attempt -> state
    stats = []
    for path in paths:
        st = {"path": path, "acks": 0, "errors": [], "ended": False, "killed": False}
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # cannot happen (the driver is not killed), but a torn line must not hide results
                op = rec["op"]
                if op == "error":
                    st["errors"].append(rec)
                    continue
                if op == "end":
                    st["ended"] = True
                    st["killed"] = rec.get("killed", False)
                    continue
                if op not in ("begin", "ack", "del-begin", "del-ack"):
                    continue
                key = rec["key"]
                acked, pending = keys.setdefault(key, [ABSENT, []])
                if op == "begin":
                    state = ("obj", rec["sha256"], rec["size"], rec["etag"])
                    begun[rec["attempt"]] = state
                    keys[key][1].append(state)
                elif op == "del-begin":
                    begun[rec["attempt"]] = DELETED
                    keys[key][1].append(DELETED)
                else:
                    state = begun[rec["attempt"]]
                    if op == "ack" and rec.get("etag") != state[3]:
                        st["errors"].append({"what": key, "error": f"acknowledged ETag {rec.get('etag')} != expected {state[3]}"})
                    keys[key] = [state, []]
                    st["acks"] += 1
        stats.append(st)
    return keys, stats


def list_all(s3, bucket):
    out = {}
    token = None
    while True:
        kw = {"Bucket": bucket, "MaxKeys": 1000}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        for o in r.get("Contents", []):
            if o["Key"] in out:
                raise RuntimeError(f"key {o['Key']!r} listed twice")
            out[o["Key"]] = o
        if not r.get("IsTruncated"):
            return out
        token = r["NextContinuationToken"]


def read_object(s3, bucket, key):
    """('obj', sha256, size, etag, content_length, md5) or ABSENT."""
    try:
        r = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as e:
        if e.response["Error"]["Code"] in ("NoSuchKey", "NoSuchBucket", "404"):
            return ABSENT
        raise
    data = r["Body"].read()
    return ("obj", hashlib.sha256(data).hexdigest(), len(data), r["ETag"], r["ContentLength"], md5_etag(data))


def describe(state):
    if state[0] == "absent":
        return "deleted" if state == DELETED else "absent"
    return f"{state[2]} bytes sha256 {state[1][:12]} etag {state[3]}"


class Report:
    def __init__(self, label):
        self.label = label
        self.failed = 0

    def check(self, name, problems, ok_detail=""):
        if problems:
            self.failed += 1
            more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
            print(f"FAIL {self.label}-{name}: {len(problems)} problem(s): " + "; ".join(problems[:5]) + more, flush=True)
        else:
            print(f"PASS {self.label}-{name}{' (' + ok_detail + ')' if ok_detail else ''}", flush=True)


def verify(args):
    rep = Report(args.label)
    s3 = client(args, attempts=3, read_timeout=120)
    keys, stats = read_journals(args.journal)

    # the load itself: enough acknowledged writes to make the crash meaningful, no errors before the kill
    problems = []
    for st in stats:
        if st["acks"] < args.min_acks:
            problems.append(f"{os.path.basename(st['path'])}: only {st['acks']} acknowledged operations before the kill")
        for e in st["errors"][:3]:
            problems.append(f"{os.path.basename(st['path'])}: error before the kill: {e.get('what')}: {e.get('error')}")
        if len(st["errors"]) > 3:
            problems.append(f"{len(st['errors']) - 3} more errors")
    rep.check("load-clean", problems, ", ".join(f"{os.path.basename(s['path'])}: {s['acks']} acks" for s in stats))

    listing_problems = []
    try:
        listing = list_all(s3, args.bucket)
    except Exception as e:  # noqa: BLE001 - go on: the reads below tell what is lost
        listing_problems.append(f"listing the bucket failed: {type(e).__name__}: {e}")
        listing = {}

    # read every key that the journals name or the listing shows (8 readers at once)
    names = sorted(set(keys) | set(listing))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        actual = dict(zip(names, pool.map(lambda k: read_object(s3, args.bucket, k), names)))

    acked_problems, partial_problems, delete_problems, unknown = [], [], [], []
    n_acked_obj = n_inflight_seen = n_deleted = n_pending = 0
    for key in names:
        got = actual[key]
        if key in keys:
            acked, pending = keys[key]
            allowed = [acked] + pending
            got_state = ABSENT if got == ABSENT else got[:4]
            if not any(same_state(got_state, s) for s in allowed):
                msg = f"{key}: found {describe(got_state)}; acknowledged {describe(acked)}" + (
                    f", or in flight: {', '.join(describe(p) for p in pending)}" if pending else "")
                if acked == DELETED:
                    delete_problems.append(msg)  # an acknowledged delete undone
                elif acked == ABSENT:
                    partial_problems.append(msg)  # a write never acknowledged, found in no state it ever had
                else:
                    acked_problems.append(msg)
            if acked[0] != "absent":
                n_acked_obj += 1
            elif acked == DELETED:
                n_deleted += 1
            if pending:
                n_pending += 1
                if not same_state(got_state, acked) and any(same_state(got_state, p) for p in pending):
                    n_inflight_seen += 1
        elif got != ABSENT:
            unknown.append(f"{key}: listed but never written by the load ({got[2]} bytes)")
        # the listing must agree with GET
        if got == ABSENT:
            if key in listing:
                listing_problems.append(f"{key}: listed ({listing[key]['Size']} bytes) but GET says NoSuchKey")
        else:
            _, sha, size, etag, content_length, md5 = got
            if size != content_length:
                partial_problems.append(f"{key}: GET returned {size} bytes, Content-Length {content_length}")
            if "-" not in etag.strip('"') and etag != md5:
                partial_problems.append(f"{key}: ETag {etag} but the bytes have MD5 {md5}")
            if key not in listing:
                listing_problems.append(f"{key}: readable but not listed")
            else:
                o = listing[key]
                if o["Size"] != size or o["ETag"] != etag:
                    listing_problems.append(f"{key}: listed as {o['Size']} bytes {o['ETag']}, GET gives {size} bytes {etag}")

    rep.check("acked-writes-durable", acked_problems, f"{n_acked_obj} acknowledged objects byte-exact")
    rep.check("no-partial-objects", partial_problems + unknown,
              f"{len(listing)} listed; {n_pending} keys with an unacknowledged write or delete, {n_inflight_seen} of them applied")
    rep.check("acked-deletes-durable", delete_problems, f"{n_deleted} keys deleted")
    rep.check("listing-consistent", listing_problems, f"{len(listing)} keys")

    # leftover multipart uploads are listable and abortable; the server takes new writes
    problems = []
    try:
        uploads = s3.list_multipart_uploads(Bucket=args.bucket).get("Uploads", [])
        for u in uploads:
            s3.abort_multipart_upload(Bucket=args.bucket, Key=u["Key"], UploadId=u["UploadId"])
        left = s3.list_multipart_uploads(Bucket=args.bucket).get("Uploads", [])
        if left:
            problems.append(f"{len(left)} uploads still listed after aborting them")
        body = os.urandom(300 * KiB)
        key = f"after-restart/{args.label}"
        r = s3.put_object(Bucket=args.bucket, Key=key, Body=body)
        if r["ETag"] != md5_etag(body):
            problems.append(f"PUT after restart: ETag {r['ETag']}")
        if s3.get_object(Bucket=args.bucket, Key=key)["Body"].read() != body:
            problems.append("GET after restart returned other bytes")
        s3.delete_object(Bucket=args.bucket, Key=key)
        aborted = len(uploads)
    except Exception as e:  # noqa: BLE001
        problems.append(f"{type(e).__name__}: {e}")
        aborted = 0
    rep.check("writable-after-restart", problems, f"{aborted} interrupted multipart uploads aborted")
    return 1 if rep.failed else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("load", "verify"):
        s = sub.add_parser(name)
        s.add_argument("--endpoint", required=True)
        s.add_argument("--access-key", required=True)
        s.add_argument("--secret-key", required=True)
        s.add_argument("--bucket", required=True)
    lo = sub.choices["load"]
    lo.add_argument("--journal", required=True)
    lo.add_argument("--killed-file", required=True)
    lo.add_argument("--prefix", required=True)
    lo.add_argument("--seed", type=int, default=1)
    lo.add_argument("--writers", type=int, default=6)
    lo.add_argument("--multipart", type=int, default=2)
    lo.add_argument("--max-seconds", type=float, default=60)
    ve = sub.choices["verify"]
    ve.add_argument("--journal", action="append", required=True)
    ve.add_argument("--label", required=True)
    ve.add_argument("--min-acks", type=int, default=10)
    args = p.parse_args()
    if args.cmd == "load":
        return Load(args).run()
    return verify(args)


if __name__ == "__main__":
    sys.exit(main())
