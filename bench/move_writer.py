#!/usr/bin/env python3
"""The writer of bench/bucket-move.sh: PUTs small objects into BUCKET one after the other (alternating between
the source zonegroup's endpoints), follows the bucket to the target endpoint when a source answers 301, retries
503 (the cut-over) every RETRY_MS, and stops when STOP_FILE exists. Prints one JSON line: operations, the
longest gap between two acknowledged writes (what a client sees of the cut-over), when it was, and how many
503 / 301 answers it got.

usage: move_writer.py ACCESS SECRET BUCKET STOP_FILE TARGET_ENDPOINT SOURCE_ENDPOINT...
"""
import hashlib
import http.client
import json
import os
import sys
import time
from urllib.parse import urlparse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

RETRY_MS = int(os.environ.get("RETRY_MS", "20"))


class Endpoint:
    def __init__(self, url):
        self.url = url.rstrip("/")
        u = urlparse(self.url)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def put(self, creds, path, body):
        req = AWSRequest(
            method="PUT",
            url=self.url + path,
            data=body,
            headers={"x-amz-content-sha256": hashlib.sha256(body).hexdigest()},
        )
        SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                self.conn.request("PUT", path, body=body, headers=dict(req.headers.items()))
                resp = self.conn.getresponse()
                resp.read()
                return resp.status
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 1:
                    return None
        return None


def main():
    access, secret, bucket, stop_file, target = sys.argv[1:6]
    sources = [Endpoint(u) for u in sys.argv[6:]]
    target = Endpoint(target)
    creds = Credentials(access, secret)
    start = time.monotonic()
    last_ok = None
    longest, longest_at = 0.0, 0.0
    ops = slowdowns = redirects = failures = 0
    in_target = False
    # The gap that contains the cut-over: from the last success before the first 503 (or 301) to the first
    # success after it.
    cut_from = None
    cutover_gap = None
    gaps = []
    n = 0
    while not os.path.exists(stop_file):
        n += 1
        body = os.urandom(512 + n % 3000)
        path = f"/{bucket}/w/{n:08d}"
        while True:
            ep = target if in_target else sources[n % len(sources)]
            status = ep.put(creds, path, body)
            if status == 200:
                now = time.monotonic()
                if last_ok is not None:
                    gaps.append((now - last_ok, last_ok - start))
                    if now - last_ok > longest:
                        longest, longest_at = now - last_ok, last_ok - start
                if cut_from is not None and cutover_gap is None:
                    cutover_gap = now - cut_from
                last_ok = now
                ops += 1
                break
            if status in (301, 503) and cut_from is None and last_ok is not None:
                cut_from = last_ok
            if status == 301:
                redirects += 1
                if in_target:
                    time.sleep(RETRY_MS / 1000)
                in_target = True
            elif status == 503:
                slowdowns += 1
                time.sleep(RETRY_MS / 1000)
            else:
                failures += 1
                time.sleep(RETRY_MS / 1000)
    print(
        json.dumps(
            {
                "ops": ops,
                "seconds": round(time.monotonic() - start, 3),
                "longest_gap_ms": round(longest * 1000, 1),
                "longest_gap_at_s": round(longest_at, 3),
                "cutover_gap_ms": None if cutover_gap is None else round(cutover_gap * 1000, 1),
                "cutover_at_s": None if cut_from is None else round(cut_from - start, 3),
                "gaps_over_500ms": sum(1 for g, _ in gaps if g > 0.5),
                "top_gaps_ms_at_s": [[round(g * 1000, 1), round(t, 2)] for g, t in sorted(gaps, reverse=True)[:3]],
                "slowdowns": slowdowns,
                "redirects": redirects,
                "other_failures": failures,
                "ended_in_target": in_target,
            }
        )
    )


if __name__ == "__main__":
    main()
