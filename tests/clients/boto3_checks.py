#!/usr/bin/env python3
"""boto3 checks against a running Meridian server (called by tests/clients/run.sh).

Prints one `PASS name` or `FAIL name: reason` line per check; exits 1 when any check failed.

The seed scenario: boto3 `upload_file` of a ~40 MiB file with 8 threads and 5 MiB parts, download, sha256 compare;
a manual multipart upload whose parts are sent from N threads at once, with the S3 multipart ETag checked; presigned
URLs (valid and expired).
"""
import argparse
import concurrent.futures
import hashlib
import os
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError, MissingDependencyException

MiB = 1024 * 1024


class CheckFailed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def multipart_etag(part_bodies):
    digests = b"".join(hashlib.md5(p).digest() for p in part_bodies)
    return '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(part_bodies))


def multipart_etag_of_file(path, chunk):
    parts = []
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            parts.append(block)
    return multipart_etag(parts)


def error_code(exc):
    return exc.response.get("Error", {}).get("Code"), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


class Checks:
    def __init__(self, args):
        self.args = args
        self.work = args.workdir
        os.makedirs(self.work, exist_ok=True)
        self.bucket = "boto3-bucket"
        self.s3 = self.client(args.access_key, args.secret_key)

    def client(self, ak, sk, **config):
        signature_version = config.pop("signature_version", "s3v4")
        cfg = Config(
            signature_version=signature_version,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=10,
            read_timeout=120,
            max_pool_connections=16,
            **config,
        )
        return boto3.client(
            "s3",
            endpoint_url=self.args.endpoint,
            aws_access_key_id=ak,
            aws_secret_access_key=sk,
            region_name="us-east-1",
            config=cfg,
        )

    # ------------------------------------------------------------------ checks
    def check_create_bucket(self):
        self.s3.create_bucket(Bucket=self.bucket)
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        expect(self.bucket in names, f"bucket not listed: {names}")
        # creating it again: 200 for the owner, as us-east-1 and RGW answer
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.head_bucket(Bucket=self.bucket)

    def check_upload_file_threaded(self):
        """The seed scenario: ~40 MiB, 5 MiB parts, 8 threads; download (ranged GETs, threaded); sha256."""
        src = os.path.join(self.work, "seed-40MiB.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(40 * MiB + 12345))
        cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=8, use_threads=True)
        self.s3.upload_file(src, self.bucket, "seed/40MiB.bin", Config=cfg)
        head = self.s3.head_object(Bucket=self.bucket, Key="seed/40MiB.bin")
        expect(head["ContentLength"] == 40 * MiB + 12345, f"ContentLength {head['ContentLength']}")
        want = multipart_etag_of_file(src, 5 * MiB)
        expect(head["ETag"] == want, f"ETag {head['ETag']} != {want}")
        dst = os.path.join(self.work, "seed-40MiB.out")
        self.s3.download_file(self.bucket, "seed/40MiB.bin", dst, Config=cfg)
        a, b = sha256_file(src), sha256_file(dst)
        expect(a == b, f"sha256 differs: uploaded {a}, downloaded {b}")

    def check_concurrent_parts(self):
        """create_multipart_upload + N upload_part calls from N threads at once + complete; ETag and bytes."""
        key = "seed/concurrent-parts.bin"
        n = 8
        bodies = [os.urandom(5 * MiB) for _ in range(n - 1)] + [os.urandom(3 * MiB + 7)]
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, Metadata={"scenario": "concurrent"})
        upload_id = up["UploadId"]
        barrier = threading.Barrier(n)

        def send(i):
            barrier.wait(timeout=30)  # all parts start at the same moment
            r = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=i + 1, Body=bodies[i])
            return i + 1, r["ETag"]

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(send, range(n)))
        for number, etag in results:
            want = '"%s"' % hashlib.md5(bodies[number - 1]).hexdigest()
            expect(etag == want, f"part {number} ETag {etag} != {want}")
        listed = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id)["Parts"]
        expect(
            [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed]
            == [(i + 1, len(bodies[i]), '"%s"' % hashlib.md5(bodies[i]).hexdigest()) for i in range(n)],
            f"list_parts: {[(p['PartNumber'], p['Size']) for p in listed]}",
        )
        done = self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": num, "ETag": etag} for num, etag in sorted(results)]},
        )
        want = multipart_etag(bodies)
        expect(done["ETag"] == want, f"complete ETag {done['ETag']} != {want}")
        got = self.s3.get_object(Bucket=self.bucket, Key=key)
        data = got["Body"].read()
        whole = b"".join(bodies)
        expect(len(data) == len(whole), f"downloaded {len(data)} bytes, expected {len(whole)}")
        expect(hashlib.sha256(data).hexdigest() == hashlib.sha256(whole).hexdigest(), "sha256 of the download differs")
        expect(got["ETag"] == want, f"GET ETag {got['ETag']} != {want}")
        expect(got["Metadata"] == {"scenario": "concurrent"}, f"metadata {got['Metadata']}")
        uploads = self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        expect(not uploads, f"uploads still listed after complete: {uploads}")

    def check_multipart_errors(self):
        key = "seed/errors.bin"
        upload_id = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        small = os.urandom(1000)
        e1 = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=small)["ETag"]
        e2 = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=2, Body=small)["ETag"]
        try:
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
            raise CheckFailed("completing with a 1000-byte non-last part succeeded (want EntityTooSmall)")
        except ClientError as e:
            code, _ = error_code(e)
            expect(code == "EntityTooSmall", f"want EntityTooSmall, got {code}")
        try:
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
            raise CheckFailed("completing with a wrong part ETag succeeded (want InvalidPart)")
        except ClientError as e:
            code, _ = error_code(e)
            expect(code == "InvalidPart", f"want InvalidPart, got {code}")
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        try:
            self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=3, Body=small)
            raise CheckFailed("upload_part to an aborted upload succeeded")
        except ClientError as e:
            code, _ = error_code(e)
            expect(code == "NoSuchUpload", f"want NoSuchUpload, got {code}")

    def check_presigned_get(self):
        body = os.urandom(100_000)
        self.s3.put_object(Bucket=self.bucket, Key="presigned/obj.bin", Body=body)
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "presigned/obj.bin"}, ExpiresIn=300)
        with urllib.request.urlopen(url, timeout=30) as r:
            expect(r.status == 200, f"status {r.status}")
            data = r.read()
        expect(data == body, f"presigned GET returned {len(data)} bytes that differ from the {len(body)} uploaded")

    def check_presigned_put(self):
        body = os.urandom(54_321)
        url = self.s3.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": "presigned/put.bin"}, ExpiresIn=300)
        req = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req, timeout=30) as r:
            expect(r.status == 200, f"status {r.status}")
        data = self.s3.get_object(Bucket=self.bucket, Key="presigned/put.bin")["Body"].read()
        expect(data == body, "object written by presigned PUT differs")

    def check_presigned_expired(self):
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "presigned/obj.bin"}, ExpiresIn=1)
        time.sleep(2)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                raise CheckFailed(f"expired presigned URL answered {r.status} with {len(r.read())} bytes")
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace")
            expect(e.code == 403, f"expired presigned URL answered {e.code}: {body[:300]}")
            expect("<Code>AccessDenied</Code>" in body, f"403 without <Code>AccessDenied</Code>: {body[:300]}")
        # a tampered signature is refused too
        good = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "presigned/obj.bin"}, ExpiresIn=300)
        sig_at = good.index("X-Amz-Signature=") + len("X-Amz-Signature=")
        flipped = good[:sig_at] + ("0" if good[sig_at] != "0" else "1") + good[sig_at + 1:]
        try:
            with urllib.request.urlopen(flipped, timeout=30) as r:
                raise CheckFailed(f"tampered presigned URL answered {r.status}")
        except urllib.error.HTTPError as e:
            expect(e.code == 403, f"tampered presigned URL answered {e.code}")

    def check_auth_errors(self):
        wrong_secret = self.client(self.args.access_key, self.args.secret_key + "x")
        try:
            wrong_secret.list_objects_v2(Bucket=self.bucket)
            raise CheckFailed("request signed with a wrong secret succeeded")
        except ClientError as e:
            code, status = error_code(e)
            expect(status == 403 and code == "SignatureDoesNotMatch", f"wrong secret: {status} {code}")
        unknown = self.client("NOSUCHACCESSKEY00000", "whatever")
        try:
            unknown.list_buckets()
            raise CheckFailed("request with an unknown access key succeeded")
        except ClientError as e:
            code, status = error_code(e)
            expect(status == 403 and code == "InvalidAccessKeyId", f"unknown key: {status} {code}")
        req = urllib.request.Request(f"{self.args.endpoint}/{self.bucket}/presigned/obj.bin")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raise CheckFailed(f"anonymous GET of a private object answered {r.status}")
        except urllib.error.HTTPError as e:
            expect(e.code == 403, f"anonymous GET answered {e.code}")

    def check_special_keys(self):
        keys = [
            "space in name.txt",
            "plus+and&amp=eq;semi,comma.txt",
            "percent%20literal%2F.txt",
            "ünïcødé/日本語/ファイル.txt",
            "deep/a/b/c/d/e/f/g.txt",
            "tilde~star*paren(1)'quote'!.txt",
            "question?hash#.txt",
            "dollar$at@colon:.txt",
        ]
        bodies = {}
        for k in keys:
            bodies[k] = os.urandom(len(k) * 10)
            self.s3.put_object(Bucket=self.bucket, Key="special/" + k, Body=bodies[k])
        self.s3.put_object(Bucket=self.bucket, Key="special/zero-bytes", Body=b"")
        bodies["zero-bytes"] = b""
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="special/")
        got = {o["Key"][len("special/"):]: o["Size"] for o in listed.get("Contents", [])}
        expect(got == {k: len(v) for k, v in bodies.items()}, f"listing {sorted(got)} != {sorted(bodies)}")
        # encoding-type=url listing (what awscli asks for) must decode to the same keys
        enc = self.s3.list_objects(Bucket=self.bucket, Prefix="special/", EncodingType="url")
        # boto3 leaves the keys encoded when the caller asked for EncodingType itself
        got1 = sorted(urllib.parse.unquote_plus(o["Key"])[len("special/"):] for o in enc.get("Contents", []))
        expect(got1 == sorted(bodies), f"list_objects(EncodingType=url) keys {got1}")
        for k, v in bodies.items():
            data = self.s3.get_object(Bucket=self.bucket, Key="special/" + k)["Body"].read()
            expect(data == v, f"GET {k!r} returned different bytes")
            self.s3.head_object(Bucket=self.bucket, Key="special/" + k)
        for k in bodies:
            self.s3.delete_object(Bucket=self.bucket, Key="special/" + k)
        left = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="special/").get("KeyCount")
        expect(left == 0, f"{left} keys left after deleting them all")

    def check_list_pagination(self):
        keys = [f"page/k{i:02d}" for i in range(7)]
        for k in keys:
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=k.encode())
        seen, token, pages = [], None, 0
        while True:
            kw = {"Bucket": self.bucket, "Prefix": "page/", "MaxKeys": 3}
            if token:
                kw["ContinuationToken"] = token
            r = self.s3.list_objects_v2(**kw)
            pages += 1
            expect(r["KeyCount"] == len(r.get("Contents", [])), f"KeyCount {r['KeyCount']} != {len(r.get('Contents', []))}")
            expect(r["MaxKeys"] == 3, f"MaxKeys echoed as {r['MaxKeys']}")
            seen += [o["Key"] for o in r.get("Contents", [])]
            if not r["IsTruncated"]:
                expect("NextContinuationToken" not in r, "NextContinuationToken on the last page")
                break
            token = r["NextContinuationToken"]
            expect(pages < 10, "pagination does not end")
        expect(seen == keys, f"paginated keys {seen}")
        expect(pages == 3, f"{pages} pages for 7 keys of 3 per page")
        # v1 listing with Marker
        r = self.s3.list_objects(Bucket=self.bucket, Prefix="page/", MaxKeys=4)
        expect(r["IsTruncated"] and [o["Key"] for o in r["Contents"]] == keys[:4], f"list_objects page 1 {r.get('Contents')}")
        r2 = self.s3.list_objects(Bucket=self.bucket, Prefix="page/", Marker=keys[3])
        expect(not r2["IsTruncated"] and [o["Key"] for o in r2["Contents"]] == keys[4:], "list_objects after Marker")
        r = self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        expect(not r.get("Errors") and not r.get("Deleted"), f"quiet delete_objects answered {r}")
        expect(self.s3.list_objects_v2(Bucket=self.bucket, Prefix="page/")["KeyCount"] == 0, "keys left after delete_objects")

    def check_overwrite_and_conditional(self):
        key = "cond/obj"
        v1 = os.urandom(1000)
        e1 = self.s3.put_object(Bucket=self.bucket, Key=key, Body=v1)["ETag"]
        v2 = os.urandom(2000)
        e2 = self.s3.put_object(Bucket=self.bucket, Key=key, Body=v2)["ETag"]
        got = self.s3.get_object(Bucket=self.bucket, Key=key)
        expect(got["Body"].read() == v2 and got["ETag"] == e2, "overwrite did not replace the object")
        try:
            self.s3.get_object(Bucket=self.bucket, Key=key, IfNoneMatch=e2)
            raise CheckFailed("If-None-Match with the current ETag did not answer 304")
        except ClientError as e:
            _, status = error_code(e)
            expect(status == 304, f"If-None-Match answered {status}")
        try:
            self.s3.get_object(Bucket=self.bucket, Key=key, IfMatch=e1)
            raise CheckFailed("If-Match with a stale ETag did not answer 412")
        except ClientError as e:
            _, status = error_code(e)
            expect(status == 412, f"If-Match answered {status}")
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def check_checksums(self):
        """boto3's default checksum on PUT and on multipart, each algorithm asked for, and a wrong value refused."""
        import base64
        import zlib

        def b64(raw):
            return base64.b64encode(raw).decode()

        body = os.urandom(100_000)
        crc = b64(zlib.crc32(body).to_bytes(4, "big"))
        # Whatever boto3 sends by default (CRC32 today, as header or trailer) is verified and kept.
        r = self.s3.put_object(Bucket=self.bucket, Key="sums/default", Body=body)
        sent = {k: v for k, v in r.items() if k.startswith("Checksum") and k != "ChecksumType"}
        print(f"  boto3 default PUT checksum: {sent or 'none'}", flush=True)
        head = self.s3.head_object(Bucket=self.bucket, Key="sums/default", ChecksumMode="ENABLED")
        for k, v in sent.items():
            expect(head.get(k) == v, f"HEAD {k} {head.get(k)} != {v}")
        if "ChecksumCRC32" in sent:
            expect(sent["ChecksumCRC32"] == crc, f"CRC32 {sent['ChecksumCRC32']} != {crc}")
        for alg in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"):
            key = f"sums/{alg}"
            try:
                r = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ChecksumAlgorithm=alg)
            except MissingDependencyException:
                # CRC32C and CRC64NVME need botocore[crt] on the client side (the Rust tests cover them).
                print(f"  {alg}: skipped, botocore[crt] is not installed", flush=True)
                continue
            field = "Checksum" + alg
            head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            expect(head.get(field) and head.get(field) == r.get(field), f"{alg}: PUT {r.get(field)} HEAD {head.get(field)}")
            got = self.s3.get_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")["Body"].read()
            expect(got == body, f"{alg}: GET returned other bytes")
        sha = b64(hashlib.sha256(body).digest())
        head = self.s3.head_object(Bucket=self.bucket, Key="sums/SHA256", ChecksumMode="ENABLED")
        expect(head.get("ChecksumSHA256") == sha, f"SHA256 {head.get('ChecksumSHA256')} != {sha}")
        # A wrong value: 400 BadDigest, nothing stored.
        wrong = b64(zlib.crc32(b"other").to_bytes(4, "big"))
        try:
            self.s3.put_object(Bucket=self.bucket, Key="sums/wrong", Body=body, ChecksumCRC32=wrong)
            raise CheckFailed("a wrong x-amz-checksum-crc32 was accepted")
        except ClientError as e:
            code, status = error_code(e)
            expect((status, code) == (400, "BadDigest"), f"wrong checksum answered {status} {code}")
        try:
            self.s3.head_object(Bucket=self.bucket, Key="sums/wrong")
            raise CheckFailed("the object with a wrong checksum was stored")
        except ClientError as e:
            expect(error_code(e)[1] == 404, f"HEAD after a refused PUT: {error_code(e)}")
        # Multipart through s3transfer with its default checksum, and with SHA256 asked for.
        src = os.path.join(self.work, "sums-12MiB.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(12 * MiB + 3))
        cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
        self.s3.upload_file(src, self.bucket, "sums/mp-default", Config=cfg)
        self.s3.upload_file(src, self.bucket, "sums/mp-sha256", Config=cfg, ExtraArgs={"ChecksumAlgorithm": "SHA256"})
        for key in ("sums/mp-default", "sums/mp-sha256"):
            head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            sums = {k: v for k, v in head.items() if k.startswith("Checksum")}
            print(f"  {key}: {sums or 'no checksum'}", flush=True)
            dst = os.path.join(self.work, "sums.out")
            self.s3.download_file(self.bucket, key, dst)
            expect(sha256_file(src) == sha256_file(dst), f"{key}: downloaded bytes differ")
        head = self.s3.head_object(Bucket=self.bucket, Key="sums/mp-sha256", ChecksumMode="ENABLED")
        expect(str(head.get("ChecksumSHA256", "")).endswith("-3"), f"composite SHA256: {head.get('ChecksumSHA256')}")

    def check_conditional_writes(self):
        key = "cond/create-only"
        first = self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"one", IfNoneMatch="*")
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"two", IfNoneMatch="*")
            raise CheckFailed("If-None-Match: * replaced an object")
        except ClientError as e:
            code, status = error_code(e)
            expect((status, code) == (412, "PreconditionFailed"), f"If-None-Match answered {status} {code}")
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"three", IfMatch=first["ETag"])
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"four", IfMatch=first["ETag"])
            raise CheckFailed("If-Match with a stale ETag replaced the object")
        except ClientError as e:
            code, status = error_code(e)
            expect((status, code) == (412, "PreconditionFailed"), f"stale If-Match answered {status} {code}")
        got = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        expect(got == b"three", f"object is {got!r}")
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)
        part = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up["UploadId"], PartNumber=1, Body=b"mp")
        parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
        try:
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=up["UploadId"], MultipartUpload=parts, IfNoneMatch="*"
            )
            raise CheckFailed("a create-only completion replaced the object")
        except ClientError as e:
            code, status = error_code(e)
            expect((status, code) == (412, "PreconditionFailed"), f"complete If-None-Match answered {status} {code}")
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up["UploadId"], MultipartUpload=parts)
        expect(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read() == b"mp", "completion did not land")

    def check_part_number(self):
        key = "parts/two"
        p1, p2 = os.urandom(5 * MiB), os.urandom(777)
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)
        e1 = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up["UploadId"], PartNumber=1, Body=p1)["ETag"]
        e2 = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up["UploadId"], PartNumber=2, Body=p2)["ETag"]
        self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
        )
        r = self.s3.get_object(Bucket=self.bucket, Key=key, PartNumber=2)
        expect(r["Body"].read() == p2, "part 2 bytes differ")
        expect(r["PartsCount"] == 2, f"PartsCount {r.get('PartsCount')}")
        total = len(p1) + len(p2)
        expect(r["ContentRange"] == f"bytes {len(p1)}-{total - 1}/{total}", f"ContentRange {r['ContentRange']}")
        h = self.s3.head_object(Bucket=self.bucket, Key=key, PartNumber=1)
        expect(h["ContentLength"] == len(p1) and h["PartsCount"] == 2, f"HEAD part 1: {h['ContentLength']} {h.get('PartsCount')}")
        try:
            self.s3.get_object(Bucket=self.bucket, Key=key, PartNumber=3)
            raise CheckFailed("part 3 of 2 was served")
        except ClientError as e:
            code, status = error_code(e)
            expect((status, code) == (416, "InvalidPartNumber"), f"part 3 answered {status} {code}")
        self.s3.put_object(Bucket=self.bucket, Key="parts/simple", Body=b"simple")
        r = self.s3.get_object(Bucket=self.bucket, Key="parts/simple", PartNumber=1)
        expect(r["Body"].read() == b"simple", "part 1 of a simple object")

    def check_sigv2(self):
        """boto3's SigV2 signer (signature_version="s3", as s3-tests' v2 client): header and presigned requests,
        x-amz-date in RFC 1123 form beside Date, and the refusals with AWS's codes."""
        import email.utils

        v2 = self.client(self.args.access_key, self.args.secret_key, signature_version="s3")
        bucket = "boto3-sigv2"
        v2.create_bucket(Bucket=bucket)  # resource signed as /bucket/
        v2.put_object(Bucket=bucket, Key="k", Body=b"v2 body")
        expect(v2.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2 body", "GET over SigV2")
        expect([o["Key"] for o in v2.list_objects(Bucket=bucket).get("Contents", [])] == ["k"], "list over SigV2")

        def with_headers(client, headers):
            def add(params, **kwargs):
                params["headers"].update(headers)

            client.meta.events.register("before-call.s3.PutObject", add)
            return client

        now = email.utils.formatdate(usegmt=True)
        c = with_headers(self.client(self.args.access_key, self.args.secret_key, signature_version="s3"), {"X-Amz-Date": now})
        c.put_object(Bucket=bucket, Key="amz-date", Body=b"x")
        for value, want in (
            ("Tue, 07 Jul 2010 21:53:04 GMT", "RequestTimeTooSkewed"),
            ("Bad Date", "AccessDenied"),
            ("", "AccessDenied"),
        ):
            c = with_headers(self.client(self.args.access_key, self.args.secret_key, signature_version="s3"), {"X-Amz-Date": value})
            try:
                c.put_object(Bucket=bucket, Key="bad-date", Body=b"x")
                raise CheckFailed(f"x-amz-date {value!r} was accepted")
            except ClientError as e:
                code, status = error_code(e)
                expect((status, code) == (403, want), f"x-amz-date {value!r}: {status} {code}, want 403 {want}")
        wrong = self.client(self.args.access_key, "not-the-secret", signature_version="s3")
        try:
            wrong.put_object(Bucket=bucket, Key="wrong", Body=b"x")
            raise CheckFailed("a wrong SigV2 signature was accepted")
        except ClientError as e:
            code, status = error_code(e)
            expect((status, code) == (403, "SignatureDoesNotMatch"), f"wrong secret: {status} {code}")
        for op, params in (("get_object", {"Bucket": bucket, "Key": "k"}), ("list_objects", {"Bucket": bucket})):
            url = v2.generate_presigned_url(op, Params=params, ExpiresIn=300)
            with urllib.request.urlopen(url, timeout=30) as r:
                expect(r.status == 200, f"presigned {op}: {r.status}")
        url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=1)
        time.sleep(2.2)
        try:
            urllib.request.urlopen(url, timeout=30)
            raise CheckFailed("an expired SigV2 URL was served")
        except urllib.error.HTTPError as e:
            body = e.read().decode()
            expect(e.code == 403 and "<Code>AccessDenied</Code>" in body and "expired" in body, f"expired URL: {e.code} {body}")
        for key in ("k", "amz-date"):
            v2.delete_object(Bucket=bucket, Key=key)
        v2.delete_bucket(Bucket=bucket)

    def check_tagging(self):
        """Object tags (header, Put/Get/Delete, count on HEAD), bucket tags (NoSuchTagSet), InvalidTag limits."""
        key = "tagging/obj"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"tagged", Tagging="a=1&b=two%20words")
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        expect(tags == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "two words"}], f"tags from the header: {tags}")
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        count = head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-tagging-count")
        expect(count == "2", f"x-amz-tagging-count on HEAD: {count}")
        self.s3.put_object_tagging(Bucket=self.bucket, Key=key, Tagging={"TagSet": [{"Key": "x", "Value": "y"}]})
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        expect(tags == [{"Key": "x", "Value": "y"}], f"tags after put_object_tagging: {tags}")
        too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
        try:
            self.s3.put_object_tagging(Bucket=self.bucket, Key=key, Tagging={"TagSet": too_many})
            raise CheckFailed("11 object tags were accepted")
        except ClientError as e:
            expect(error_code(e) == ("InvalidTag", 400), f"11 tags: {error_code(e)}")
        self.s3.delete_object_tagging(Bucket=self.bucket, Key=key)
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]
        expect(tags == [], f"tags after delete_object_tagging: {tags}")
        try:
            self.s3.get_bucket_tagging(Bucket=self.bucket)
            raise CheckFailed("get_bucket_tagging without tags succeeded")
        except ClientError as e:
            expect(error_code(e) == ("NoSuchTagSet", 404), f"no bucket tags: {error_code(e)}")
        self.s3.put_bucket_tagging(Bucket=self.bucket, Tagging={"TagSet": [{"Key": "env", "Value": "test"}]})
        got = self.s3.get_bucket_tagging(Bucket=self.bucket)["TagSet"]
        expect(got == [{"Key": "env", "Value": "test"}], f"bucket tags: {got}")
        self.s3.delete_bucket_tagging(Bucket=self.bucket)
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def check_cors(self):
        """Bucket CORS rules round-trip; a preflight OPTIONS is answered from them (200 / 403)."""
        try:
            self.s3.get_bucket_cors(Bucket=self.bucket)
            raise CheckFailed("get_bucket_cors without rules succeeded")
        except ClientError as e:
            expect(error_code(e) == ("NoSuchCORSConfiguration", 404), f"no CORS: {error_code(e)}")
        rules = [
            {
                "AllowedOrigins": ["https://*.example.org"],
                "AllowedMethods": ["GET", "PUT"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 300,
            }
        ]
        self.s3.put_bucket_cors(Bucket=self.bucket, CORSConfiguration={"CORSRules": rules})
        got = self.s3.get_bucket_cors(Bucket=self.bucket)["CORSRules"]
        expect(got[0]["AllowedOrigins"] == ["https://*.example.org"] and got[0]["MaxAgeSeconds"] == 300, f"rules: {got}")
        url = f"{self.args.endpoint}/{self.bucket}/any-key"

        def preflight(origin, method):
            req = urllib.request.Request(
                url, method="OPTIONS", headers={"Origin": origin, "Access-Control-Request-Method": method}
            )
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.status, r.headers.get("Access-Control-Allow-Origin")
            except urllib.error.HTTPError as e:
                return e.code, None

        status, allow = preflight("https://app.example.org", "PUT")
        expect((status, allow) == (200, "https://app.example.org"), f"matching preflight: {status} {allow}")
        status, _ = preflight("https://evil.test", "GET")
        expect(status == 403, f"preflight from another origin: {status}")
        status, _ = preflight("https://app.example.org", "DELETE")
        expect(status == 403, f"preflight for a method not allowed: {status}")
        self.s3.delete_bucket_cors(Bucket=self.bucket)
        status, _ = preflight("https://app.example.org", "PUT")
        expect(status == 403, f"preflight after delete_bucket_cors: {status}")

    def check_lifecycle_config(self):
        """Bucket lifecycle rules round-trip (the worker applying them is tested in s3_tagging_cors.rs)."""
        try:
            self.s3.get_bucket_lifecycle_configuration(Bucket=self.bucket)
            raise CheckFailed("get_bucket_lifecycle_configuration without rules succeeded")
        except ClientError as e:
            expect(error_code(e) == ("NoSuchLifecycleConfiguration", 404), f"no lifecycle: {error_code(e)}")
        rules = [
            {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}},
            {
                "ID": "uploads",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
            },
        ]
        self.s3.put_bucket_lifecycle_configuration(Bucket=self.bucket, LifecycleConfiguration={"Rules": rules})
        got = self.s3.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"]
        expect(
            [(r["ID"], r.get("Expiration", {}).get("Days"), r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation")) for r in got]
            == [("tmp", 7, None), ("uploads", None, 2)],
            f"rules: {got}",
        )
        try:
            self.s3.put_bucket_lifecycle_configuration(
                Bucket=self.bucket,
                LifecycleConfiguration={"Rules": [{"ID": "z", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}}]},
            )
            raise CheckFailed("Expiration Days 0 was accepted")
        except ClientError as e:
            expect(error_code(e) == ("InvalidArgument", 400), f"Days 0: {error_code(e)}")
        self.s3.delete_bucket_lifecycle(Bucket=self.bucket)

    def check_delete_bucket(self):
        # empty the bucket, then delete it
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket):
            objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objs:
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": objs})
        for u in self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []):
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=u["Key"], UploadId=u["UploadId"])
        self.s3.delete_bucket(Bucket=self.bucket)
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        expect(self.bucket not in names, "bucket still listed after delete_bucket")
        try:
            self.s3.list_objects_v2(Bucket=self.bucket)
            raise CheckFailed("listing a deleted bucket succeeded")
        except ClientError as e:
            code, status = error_code(e)
            expect(status == 404 and code == "NoSuchBucket", f"listing a deleted bucket: {status} {code}")


def check_versioned_bucket_empties(self):
    """Versioning through boto3: put/get versioning, version ids, a delete marker, list_object_versions with
    its paginator, and bucket.object_versions.delete() emptying the bucket (as cleanup scripts do)."""
    bucket = "boto3-versions"
    self.s3.create_bucket(Bucket=bucket)
    expect("Status" not in self.s3.get_bucket_versioning(Bucket=bucket), "a new bucket has a versioning status")
    self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    status = self.s3.get_bucket_versioning(Bucket=bucket).get("Status")
    expect(status == "Enabled", f"versioning status {status}")
    ids = []
    for i in range(3):
        out = self.s3.put_object(Bucket=bucket, Key="doc.txt", Body=f"v{i}".encode())
        ids.append(out.get("VersionId"))
    expect(None not in ids and len(set(ids)) == 3, f"version ids {ids}")
    for i in range(5):
        self.s3.put_object(Bucket=bucket, Key=f"many/{i}", Body=b"x")
    marker = self.s3.delete_object(Bucket=bucket, Key="doc.txt")
    expect(marker.get("DeleteMarker") is True, f"delete_object answered {marker}")
    first = self.s3.get_object(Bucket=bucket, Key="doc.txt", VersionId=ids[0])["Body"].read()
    expect(first == b"v0", f"first version reads {first!r}")
    try:
        self.s3.get_object(Bucket=bucket, Key="doc.txt", VersionId=marker["VersionId"])
        raise CheckFailed("GET of a delete marker's version succeeded")
    except ClientError as e:
        code, status = error_code(e)
        expect(status == 405, f"GET of a delete marker's version: {status} {code}")
    seen_versions, seen_markers = [], []
    for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}):
        seen_versions += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        seen_markers += [(m["Key"], m["VersionId"]) for m in page.get("DeleteMarkers", [])]
    expect([v for k, v in seen_versions if k == "doc.txt"] == ids[::-1], f"doc.txt versions {seen_versions}")
    expect(len(seen_versions) == 8 and seen_markers == [("doc.txt", marker["VersionId"])], f"listed {seen_versions} {seen_markers}")
    try:
        self.s3.delete_bucket(Bucket=bucket)
        raise CheckFailed("a bucket holding versions was deleted")
    except ClientError as e:
        code, status = error_code(e)
        expect(status == 409 and code == "BucketNotEmpty", f"delete_bucket of a bucket with versions: {status} {code}")
    resource = boto3.resource(
        "s3",
        endpoint_url=self.args.endpoint,
        aws_access_key_id=self.args.access_key,
        aws_secret_access_key=self.args.secret_key,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    resource.Bucket(bucket).object_versions.delete()
    left = self.s3.list_object_versions(Bucket=bucket)
    expect(not left.get("Versions") and not left.get("DeleteMarkers"), f"left after object_versions.delete(): {left}")
    self.s3.delete_bucket(Bucket=bucket)


Checks.check_versioned_bucket_empties = check_versioned_bucket_empties


def check_tenant_path_style(self):
    """A `tenant$uid` user (made by run.sh) through boto3, path-style: its plain bucket names are in its tenant,
    so it owns a bucket of the same name as the default tenant's; `tenant:bucket` names a tenant's bucket.
    botocore checks bucket names client-side and refuses a ':' until that handler is unregistered."""
    from botocore.exceptions import ParamValidationError
    from botocore.handlers import validate_bucket_name

    tenant = self.args.tenant
    t = self.client(self.args.tenant_access_key, self.args.tenant_secret_key)
    try:
        t.head_bucket(Bucket=f"{tenant}:{self.bucket}")
        raise CheckFailed("botocore accepted a bucket name with ':' (its client-side check changed)")
    except ParamValidationError:
        pass
    for client in (t, self.s3):
        client.meta.events.unregister("before-parameter-build.s3", validate_bucket_name)
    # The same name as the default tenant's bucket, in the tenant.
    t.create_bucket(Bucket=self.bucket)
    t.put_object(Bucket=self.bucket, Key="whose.txt", Body=b"the tenant's")
    self.s3.put_object(Bucket=self.bucket, Key="whose.txt", Body=b"the default tenant's")
    mine = t.get_object(Bucket=f"{tenant}:{self.bucket}", Key="whose.txt")["Body"].read()
    expect(mine == b"the tenant's", f"{tenant}:{self.bucket}/whose.txt reads {mine!r}")
    theirs = self.s3.get_object(Bucket=self.bucket, Key="whose.txt")["Body"].read()
    expect(theirs == b"the default tenant's", f"{self.bucket}/whose.txt reads {theirs!r}")
    names = [b["Name"] for b in t.list_buckets()["Buckets"]]
    expect(names == [self.bucket], f"the tenant user lists {names}")
    for client, bucket, who in ((self.s3, f"{tenant}:{self.bucket}", "the default user"), (t, f":{self.bucket}", "the tenant user")):
        try:
            client.get_object(Bucket=bucket, Key="whose.txt")
            raise CheckFailed(f"{who} read {bucket}/whose.txt of another owner")
        except ClientError as e:
            code, status = error_code(e)
            expect(status == 403 and code == "AccessDenied", f"{who} reading {bucket}: {status} {code}")
    t.delete_object(Bucket=f"{tenant}:{self.bucket}", Key="whose.txt")
    t.delete_bucket(Bucket=self.bucket)
    self.s3.delete_object(Bucket=self.bucket, Key="whose.txt")
    self.s3.head_bucket(Bucket=self.bucket)


Checks.check_tenant_path_style = check_tenant_path_style


CHECKS = [
    ("boto3-create-bucket", "check_create_bucket"),
    ("boto3-upload-file-threaded-40MiB", "check_upload_file_threaded"),
    ("boto3-multipart-concurrent-parts", "check_concurrent_parts"),
    ("boto3-multipart-errors", "check_multipart_errors"),
    ("boto3-presigned-get", "check_presigned_get"),
    ("boto3-presigned-put", "check_presigned_put"),
    ("boto3-presigned-expired", "check_presigned_expired"),
    ("boto3-auth-errors", "check_auth_errors"),
    ("boto3-special-keys", "check_special_keys"),
    ("boto3-list-pagination", "check_list_pagination"),
    ("boto3-overwrite-conditional", "check_overwrite_and_conditional"),
    ("boto3-checksums", "check_checksums"),
    ("boto3-conditional-writes", "check_conditional_writes"),
    ("boto3-part-number", "check_part_number"),
    ("boto3-sigv2", "check_sigv2"),
    ("boto3-tagging", "check_tagging"),
    ("boto3-cors", "check_cors"),
    ("boto3-lifecycle-config", "check_lifecycle_config"),
    ("boto3-tenant-path-style", "check_tenant_path_style"),
    ("boto3-delete-bucket", "check_delete_bucket"),
    ("boto3-versions-object-versions-delete", "check_versioned_bucket_empties"),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--tenant", required=True, help="the tenant of the second user")
    p.add_argument("--tenant-access-key", required=True)
    p.add_argument("--tenant-secret-key", required=True)
    p.add_argument("--filter", default="")
    args = p.parse_args()
    checks = Checks(args)
    selected = [c for c in CHECKS if args.filter in c[0]]
    if selected and CHECKS[0] not in selected:
        selected.insert(0, CHECKS[0])  # every other check needs the bucket
    failed = 0
    for name, method in selected:
        t0 = time.monotonic()
        try:
            getattr(checks, method)()
            print(f"PASS {name} ({time.monotonic() - t0:.1f}s)", flush=True)
        except CheckFailed as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
        except ClientError as e:
            failed += 1
            code, status = error_code(e)
            print(f"FAIL {name}: {e.operation_name} answered HTTP {status} {code}: {e}", flush=True)
        except Exception as e:  # noqa: BLE001 - any error is a failed check
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(file=sys.stdout)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
