"""The load, restarts and measurements of bench/soak.sh (configuration comes from its environment)."""

import hashlib
import os
import random
import signal
import subprocess
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ConnectionClosedError, ReadTimeoutError

BIN = os.environ["MERIDIAN_BIN"]
DIR = os.environ["DIR"]
OUT = os.environ["OUT"]
DURATION = int(os.environ["DURATION"])
RESTART_EVERY = int(os.environ["RESTART_EVERY"])
WORKERS = int(os.environ["WORKERS"])
KEYS = int(os.environ["KEYS"])
MAX_SIZE = int(os.environ["MAX_SIZE"])
CONVERGE_TIMEOUT = int(os.environ["CONVERGE_TIMEOUT"])
SERVER_ARGS = os.environ.get("SERVER_ARGS", "").split()
ZONES = {"a": int(os.environ["PA"]), "b": int(os.environ["PB"]), "c": int(os.environ["PC"])}
BUCKET = "soak"

lock = threading.Lock()
stats = {"ops": 0, "5xx": 0, "4xx": 0, "conn_errors": 0}
procs = {}
up = {z: False for z in ZONES}
rss_samples = []  # (t, zone, kib)
lag_samples = []  # (t, seconds or None)
restarts = []  # (t, zone, signal)


def start(zone):
    log = open(os.path.join(DIR, f"{zone}.log"), "ab")
    p = subprocess.Popen(
        [BIN, "--data-dir", os.path.join(DIR, zone), "server", "--listen", f"127.0.0.1:{ZONES[zone]}", *SERVER_ARGS],
        cwd=DIR, stdout=log, stderr=log,
    )
    procs[zone] = p
    deadline = time.time() + 60
    import socket
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", ZONES[zone]), timeout=0.5).close()
            up[zone] = True
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"zone {zone} did not start")


def stop(zone, sig):
    up[zone] = False
    p = procs[zone]
    p.send_signal(sig)
    try:
        p.wait(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def client(zone):
    return boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{ZONES[zone]}", region_name="us",
        aws_access_key_id="SOAKUSERKEY000000001", aws_secret_access_key="soak-user-secret-0000000001",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                      s3={"addressing_style": "path"}),
    )


def count(kind):
    with lock:
        stats[kind] += 1


def call(fn):
    """Runs one request; counts its outcome. Returns the result or None."""
    try:
        r = fn()
        count("ops")
        return r
    except ClientError as e:
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        count("5xx" if status >= 500 else "4xx")
        if status >= 500:
            print(f"5xx: {e}", flush=True)
        return None
    except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectionError) as e:
        count("conn_errors")
        return None
    except Exception as e:  # urllib3 protocol errors while a gateway dies
        count("conn_errors")
        return None


def pick_zone():
    live = [z for z in ZONES if up[z]]
    return random.choice(live) if live else None


# key -> md5 hex of the last acknowledged PUT, or None after an acknowledged DELETE
acked = {}


def worker(n, stop_at):
    rng = random.Random(n)
    clients = {z: client(z) for z in ZONES}
    while time.time() < stop_at:
        zone = pick_zone()
        if zone is None:
            time.sleep(0.1)
            continue
        c = clients[zone]
        key = f"w{n}/k{rng.randrange(KEYS)}"
        op = rng.random()
        if op < 0.6:
            body = os.urandom(rng.randrange(1, MAX_SIZE))
            if call(lambda: c.put_object(Bucket=BUCKET, Key=key, Body=body)) is not None:
                with lock:
                    acked[key] = hashlib.md5(body).hexdigest()
        elif op < 0.85:
            call(lambda: c.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        elif op < 0.9:
            if call(lambda: c.delete_object(Bucket=BUCKET, Key=key)) is not None:
                with lock:
                    acked[key] = None
        else:
            call(lambda: c.list_objects_v2(Bucket=BUCKET, Prefix=f"w{n}/", MaxKeys=100))


def prober(stop_at):
    n = 0
    clients = {z: client(z) for z in ZONES}
    while time.time() < stop_at:
        t0 = time.time()
        zone = pick_zone()
        if zone is None:
            time.sleep(1)
            continue
        key = f"probe/{n}"
        n += 1
        if call(lambda: clients[zone].put_object(Bucket=BUCKET, Key=key, Body=b"probe")) is None:
            continue
        wrote = time.time()
        waiting = {z for z in ZONES if z != zone}
        while waiting and time.time() - wrote < 60:
            for z in list(waiting):
                try:
                    clients[z].head_object(Bucket=BUCKET, Key=key)
                    waiting.discard(z)
                except Exception:
                    pass
            time.sleep(0.05)
        lag_samples.append((wrote, None if waiting else time.time() - wrote))
        time.sleep(max(0.0, 10 - (time.time() - t0)))


def rss_sampler(stop_at):
    while time.time() < stop_at:
        for z, p in procs.items():
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss_samples.append((time.time(), z, int(line.split()[1])))
            except OSError:
                pass
        time.sleep(10)


def restarter(stop_at, began):
    i = 0
    order = ["a", "b", "c"]
    while True:
        when = began + RESTART_EVERY * (i + 1)
        if when >= stop_at:
            return
        time.sleep(max(0.0, when - time.time()))
        zone = order[i % 3]
        sig = signal.SIGTERM if i % 2 == 0 else signal.SIGKILL
        print(f"[{time.time() - began:6.0f}s] restarting zone-{zone} ({sig.name})", flush=True)
        stop(zone, sig)
        start(zone)
        restarts.append((time.time() - began, zone, sig.name))
        i += 1


def main():
    for z in ZONES:
        start(z)
    c = client("a")
    c.create_bucket(Bucket=BUCKET)
    time.sleep(2)
    began = time.time()
    stop_at = began + DURATION
    threads = [threading.Thread(target=worker, args=(n, stop_at)) for n in range(WORKERS)]
    threads += [threading.Thread(target=prober, args=(stop_at,)), threading.Thread(target=rss_sampler, args=(stop_at,))]
    threads.append(threading.Thread(target=restarter, args=(stop_at, began)))
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(30)
        if time.time() < stop_at:
            with lock:
                print(f"[{time.time() - began:6.0f}s] {stats}", flush=True)
    for t in threads:
        t.join()

    # Convergence: every acknowledged last write must be in every zone with the same bytes.
    print("== load done; waiting for the zones to converge", flush=True)
    clients = {z: client(z) for z in ZONES}
    deadline = time.time() + CONVERGE_TIMEOUT
    conv_start = time.time()
    while True:
        lost = []
        for key, md5 in sorted(acked.items()):
            for z in ZONES:
                try:
                    etag = clients[z].head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
                except ClientError:
                    etag = None
                except Exception:
                    etag = "unreachable"
                if etag != md5:
                    lost.append((key, z, md5, etag))
        if not lost or time.time() > deadline:
            break
        time.sleep(5)
    converged_after = time.time() - conv_start

    for z in ZONES:
        stop(z, signal.SIGTERM)

    lags = sorted(l for _, l in lag_samples if l is not None)
    never = sum(1 for _, l in lag_samples if l is None)
    with open(OUT, "w") as f:
        f.write(f"# Soak: {DURATION} s, 3 zones, {WORKERS} load threads, restart every {RESTART_EVERY} s\n\n")
        f.write(f"- binary: `{BIN}`\n")
        f.write(f"- requests answered: {stats['ops'] + stats['4xx'] + stats['5xx']} ({stats['4xx']} 4xx, e.g. GET of a deleted key)\n")
        f.write(f"- **5xx: {stats['5xx']}**; connection errors (a gateway restarting): {stats['conn_errors']}\n")
        f.write(f"- acknowledged keys checked: {len(acked)}; **objects lost or different: {len(lost)}**"
                f" (checked in every zone, converged {converged_after:.0f} s after the load)\n")
        for key, z, want, got in lost[:20]:
            f.write(f"  - {key} in zone-{z}: want {want}, got {got}\n")
        f.write(f"- restarts: {', '.join(f'{t:.0f}s zone-{z} {s}' for t, z, s in restarts)}\n")
        if lags:
            f.write(f"- probe lag (write in one zone -> visible in both others): n={len(lags)} "
                    f"p50 {lags[len(lags) // 2]:.2f} s, p90 {lags[int(len(lags) * 0.9)]:.2f} s, max {lags[-1]:.2f} s; "
                    f"never arrived within 60 s: {never}\n")
        f.write("\n## Lag over time (probe every 10 s)\n\n| t (s) | lag (s) |\n|---|---|\n")
        for t, l in lag_samples:
            f.write(f"| {t - began:.0f} | {'-' if l is None else f'{l:.2f}'} |\n")
        f.write("\n## RSS over time (MiB, sampled every 10 s)\n\n| t (s) | zone-a | zone-b | zone-c |\n|---|---|---|---|\n")
        rows = {}
        for t, z, kib in rss_samples:
            rows.setdefault(round((t - began) / 10) * 10, {})[z] = kib / 1024
        for t in sorted(rows):
            r = rows[t]
            f.write(f"| {t} | " + " | ".join(f"{r[z]:.0f}" if z in r else "-" for z in "abc") + " |\n")


if __name__ == "__main__":
    main()
