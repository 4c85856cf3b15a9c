//! `meridian bench` against a real Meridian server: the same binary is started as a server (the common
//! harness: own data dir, own port, user `tester`) and then run as `meridian bench --json` for every workload,
//! and the JSON report is checked against what the server really holds (listed, HEADed through the SDK).
//! Failure cases are real too: a wrong secret, an unreachable endpoint, parts below S3's 5 MiB minimum, and
//! objects deleted underneath a GET run.

use std::process::{Output, Stdio};
use std::time::Duration;

use crate::common::*;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// The `meridian bench` command line for this server and the default user, without the workload flags.
fn bench_command(server: &Server, access_key: &str, secret: &str, extra: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args([
        "bench",
        "--endpoint",
        &server.endpoint,
        "--access-key",
        access_key,
        "--secret",
        secret,
        "--no-progress",
        "--json",
        "--timeout",
        "30s",
    ])
    .args(extra)
    .current_dir(server.root_dir())
    .env_remove("AWS_ACCESS_KEY_ID")
    .env_remove("AWS_SECRET_ACCESS_KEY")
    .stdin(Stdio::null())
    .kill_on_drop(true);
    cmd
}

async fn run_bench(server: &Server, secret: &str, extra: &[&str]) -> Output {
    let fut = bench_command(server, ACCESS_KEY, secret, extra).output();
    tokio::time::timeout(Duration::from_secs(120), fut)
        .await
        .unwrap_or_else(|_| panic!("meridian bench {extra:?} did not finish in 120 s"))
        .expect("run meridian bench")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn parse_report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", text(out)))
}

/// Runs a benchmark that must succeed and returns its JSON report.
async fn bench_ok(server: &Server, extra: &[&str]) -> Value {
    let out = run_bench(server, SECRET_KEY, extra).await;
    assert!(out.status.success(), "meridian bench {extra:?} failed:\n{}", text(&out));
    let report = parse_report(&out);
    if std::env::var_os("MERIDIAN_TEST_LOG").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    report
}

/// The report of one operation type (`"PUT"`, `"GET"`, `"MULTIPART"`, ...).
fn op<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["ops"]
        .as_array()
        .expect("ops array")
        .iter()
        .find(|o| o["op"] == name)
        .unwrap_or_else(|| panic!("no {name} in the report: {report:#}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Successful operations with no errors, `bytes == ops * size`, positive rates and ordered, positive latencies.
#[track_caller]
fn assert_clean(o: &Value, ops: u64, size: u64) {
    assert_eq!(u(&o["ops"]), ops, "{o:#}");
    assert_eq!(u(&o["errors"]), 0, "{o:#}");
    assert!(o["error_kinds"].as_array().unwrap().is_empty(), "{o:#}");
    assert_eq!(u(&o["bytes"]), ops * size, "{o:#}");
    if ops > 0 {
        assert!(f(&o["ops_per_sec"]) > 0.0, "{o:#}");
        if size > 0 {
            assert!(f(&o["mib_per_sec"]) > 0.0, "{o:#}");
        }
        assert_latency(&o["latency"]);
    }
}

#[track_caller]
fn assert_latency(l: &Value) {
    let (p50, p90, p99, max) = (f(&l["p50_ms"]), f(&l["p90_ms"]), f(&l["p99_ms"]), f(&l["max_ms"]));
    assert!(p50 > 0.0, "{l}");
    assert!(p50 <= p90 && p90 <= p99 && p99 <= max, "{l}");
    assert!(max < 60_000.0, "{l}");
}

/// The client CPU figures are present and plausible.
#[track_caller]
fn assert_cpu(report: &Value) {
    let cpu = &report["cpu"];
    assert!(f(&cpu["total_s"]) > 0.0, "{cpu}");
    assert!(f(&cpu["percent_of_one_core"]) > 0.0, "{cpu}");
    assert!(u(&cpu["cores"]) >= 1, "{cpu}");
}

/// Every key under `prefix` in `bucket`, with its size.
async fn list_all(s3: &Client, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("list {bucket}/{prefix}: {e:?}"));
        for o in page.contents() {
            out.push((o.key().unwrap_or_default().to_string(), o.size().unwrap_or(-1) as u64));
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

async fn bucket_exists(s3: &Client, bucket: &str) -> bool {
    s3.list_buckets()
        .send()
        .await
        .expect("list buckets")
        .buckets()
        .iter()
        .any(|b| b.name() == Some(bucket))
}

#[tokio::test]
async fn put_writes_every_object_and_the_server_holds_them() {
    let server = Server::start();
    let s3 = server.client();
    // 100 KiB: above the 64 KiB inline limit, so every object is a data file on the server.
    let r = bench_ok(
        &server,
        &[
            "--bucket",
            "bput",
            "--op",
            "put",
            "--size",
            "100KiB",
            "--objects",
            "40",
            "-c",
            "4",
        ],
    )
    .await;
    assert_eq!(r["config"]["op"], "put");
    assert_eq!(u(&r["config"]["object_size"]), 100 * KIB);
    assert_eq!(r["ops"].as_array().unwrap().len(), 1, "{r:#}");
    assert_clean(op(&r, "PUT"), 40, 100 * KIB);
    assert_eq!(u(&r["total"]["ops"]), 40);
    assert_eq!(u(&r["total"]["bytes"]), 40 * 100 * KIB);
    assert!(r["prepare"].is_null(), "{r:#}");
    assert!(f(&r["elapsed_s"]) > 0.0);
    assert_cpu(&r);

    // The bench created the bucket; no --cleanup, so the server holds exactly what the report counted.
    let prefix = format!("{}/", r["config"]["prefix"].as_str().unwrap());
    let objects = list_all(&s3, "bput", &prefix).await;
    assert_eq!(objects.len(), 40, "{objects:?}");
    assert!(objects.iter().all(|(_, size)| *size == 100 * KIB), "{objects:?}");
    let body = get_bytes(&s3, "bput", &objects[0].0).await;
    assert_eq!(body.len() as u64, 100 * KIB);
}

#[tokio::test]
async fn get_reads_prepared_objects_and_cleanup_removes_them() {
    let server = Server::start();
    let s3 = server.client();
    let r = bench_ok(
        &server,
        &[
            "--bucket",
            "bget",
            "--op",
            "get",
            "--size",
            "100KiB",
            "--objects",
            "30",
            "-c",
            "3",
            "--cleanup",
        ],
    )
    .await;
    assert_eq!(u(&r["prepare"]["objects"]), 30, "{r:#}");
    assert_eq!(u(&r["config"]["working_set"]), 30);
    let get = op(&r, "GET");
    assert_clean(get, 30, 100 * KIB);
    assert_latency(&get["ttfb"]);
    assert!(f(&get["ttfb"]["p50_ms"]) <= f(&get["latency"]["max_ms"]), "{get:#}");
    assert_cpu(&r);
    // The run created the bucket, so --cleanup removed its objects and then the bucket itself.
    assert!(!bucket_exists(&s3, "bget").await);

    // In a bucket the run did not create, --cleanup removes the objects and keeps the bucket.
    create_bucket(&s3, "kept").await;
    put(&s3, "kept", "mine", b"not the bench's").await;
    let r = bench_ok(
        &server,
        &[
            "--bucket",
            "kept",
            "--op",
            "get",
            "--size",
            "1KiB",
            "--objects",
            "10",
            "--cleanup",
        ],
    )
    .await;
    assert_clean(op(&r, "GET"), 10, KIB);
    assert!(bucket_exists(&s3, "kept").await);
    let left: Vec<String> = list_all(&s3, "kept", "").await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(left, vec!["mine".to_string()]);
}

#[tokio::test]
async fn mixed_uses_all_four_operations_without_errors() {
    let server = Server::start();
    let r = bench_ok(
        &server,
        &[
            "--bucket",
            "bmixed",
            "--op",
            "mixed",
            "--size",
            "2KiB",
            "--objects",
            "300",
            "-c",
            "4",
        ],
    )
    .await;
    assert_eq!(u(&r["prepare"]["objects"]), 300);
    let count = |name: &str| u(&op(&r, name)["ops"]);
    let (get, put, stat, del) = (count("GET"), count("PUT"), count("STAT"), count("DELETE"));
    assert_eq!(u(&r["total"]["errors"]), 0, "{r:#}");
    // 300 operations drawn 45/30/15/10 %; each DELETE is followed by a re-PUT, counted as a PUT.
    assert_eq!(get + stat + del + (put - del), 300, "{r:#}");
    assert!((90..=180).contains(&get), "{get}");
    assert!((10..=80).contains(&stat), "{stat}");
    assert!((5..=60).contains(&del), "{del}");
    assert!(put >= del, "{put} {del}");
    assert_clean(op(&r, "GET"), get, 2 * KIB);
    assert_clean(op(&r, "PUT"), put, 2 * KIB);
    assert_clean(op(&r, "STAT"), stat, 0);
    assert_clean(op(&r, "DELETE"), del, 0);
    assert_eq!(u(&r["total"]["ops"]), get + put + stat + del);
    // Every deleted key was put back, so the prefix still holds the whole working set.
    let prefix = format!("{}/", r["config"]["prefix"].as_str().unwrap());
    assert_eq!(list_all(&server.client(), "bmixed", &prefix).await.len(), 300);
}

#[tokio::test]
async fn list_pages_through_the_prefix() {
    let server = Server::start();
    // 1050 keys: each worker reads pages of 1000 then 50 keys, over and over.
    let r = bench_ok(
        &server,
        &[
            "--bucket",
            "blist",
            "--op",
            "list",
            "--size",
            "16",
            "--objects",
            "1050",
            "-c",
            "8",
            "--duration",
            "1s",
        ],
    )
    .await;
    assert_eq!(u(&r["prepare"]["objects"]), 1050);
    let list = op(&r, "LIST");
    let pages = u(&list["ops"]);
    assert!(pages >= 8, "{list:#}");
    assert_eq!(u(&list["errors"]), 0, "{list:#}");
    assert_latency(&list["latency"]);
    // `full` pages of 1000 keys and `tails` of 50: every worker starts with a full page and alternates, so
    // 0 <= full - tails <= workers.
    let keys = u(&list["keys"]);
    assert_eq!((1000 * pages - keys) % 950, 0, "{keys} keys in {pages} pages");
    let tails = (1000 * pages - keys) / 950;
    let full = pages - tails;
    assert!(
        full >= tails && full - tails <= 8,
        "{full} full pages, {tails} tails: {list:#}"
    );
    assert!(f(&list["keys_per_sec"]) > 0.0);
    // LIST bytes are the XML pages received.
    assert!(u(&list["bytes"]) > keys * 20, "{list:#}");
    let elapsed = f(&r["elapsed_s"]);
    assert!((0.9..10.0).contains(&elapsed), "{elapsed}");
}

#[tokio::test]
async fn multipart_uploads_whole_objects() {
    let server = Server::start();
    let s3 = server.client();
    // 11 MiB in 5 MiB parts: 5 + 5 + 1.
    let r = bench_ok(
        &server,
        &[
            "--bucket",
            "bmpu",
            "--op",
            "multipart",
            "--size",
            "11MiB",
            "--part-size",
            "5MiB",
            "--objects",
            "3",
            "-c",
            "2",
        ],
    )
    .await;
    assert_eq!(u(&r["config"]["part_size"]), 5 * MIB);
    assert_clean(op(&r, "MULTIPART"), 3, 11 * MIB);
    let part = op(&r, "PART");
    assert_eq!(u(&part["ops"]), 9, "{part:#}");
    assert_eq!(u(&part["errors"]), 0, "{part:#}");
    assert_eq!(u(&part["bytes"]), 3 * 11 * MIB);
    assert_latency(&part["latency"]);
    // Parts are not counted twice in the total.
    assert_eq!(u(&r["total"]["ops"]), 3);
    assert_eq!(u(&r["total"]["bytes"]), 3 * 11 * MIB);
    assert_cpu(&r);

    let prefix = format!("{}/", r["config"]["prefix"].as_str().unwrap());
    let objects = list_all(&s3, "bmpu", &prefix).await;
    assert_eq!(objects.len(), 3, "{objects:?}");
    for (key, size) in &objects {
        assert_eq!(*size, 11 * MIB, "{key}");
        let head = s3.head_object().bucket("bmpu").key(key).send().await.expect("head");
        assert_eq!(head.content_length(), Some((11 * MIB) as i64));
        assert!(head.e_tag().unwrap_or_default().ends_with("-3\""), "{head:?}");
    }
    let uploads = s3
        .list_multipart_uploads()
        .bucket("bmpu")
        .send()
        .await
        .expect("list uploads");
    assert!(uploads.uploads().is_empty(), "{uploads:?}");
}

#[tokio::test]
async fn parts_below_the_minimum_fail_every_upload_and_the_run() {
    let server = Server::start();
    let s3 = server.client();
    // 2 MiB in 1 MiB parts: the parts are accepted, the completion is refused (EntityTooSmall).
    let extra = [
        "--bucket",
        "bsmall",
        "--op",
        "multipart",
        "--size",
        "2MiB",
        "--part-size",
        "1MiB",
        "--objects",
        "2",
        "-c",
        "1",
    ];
    let out = run_bench(&server, SECRET_KEY, &extra).await;
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("all 2 requests failed"), "{}", text(&out));
    // The report is still printed.
    let r = parse_report(&out);
    let mpu = op(&r, "MULTIPART");
    assert_eq!(
        (u(&mpu["ops"]), u(&mpu["errors"]), u(&mpu["bytes"])),
        (0, 2, 0),
        "{mpu:#}"
    );
    assert!(mpu["latency"].is_null(), "{mpu:#}");
    let kinds = mpu["error_kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 1, "{mpu:#}");
    assert_eq!(kinds[0]["status"], 400);
    assert_eq!(kinds[0]["code"], "EntityTooSmall");
    assert_eq!(u(&kinds[0]["count"]), 2);
    assert_clean(op(&r, "PART"), 4, MIB);
    assert_eq!(u(&r["total"]["ops"]), 0);
    // Failed uploads were aborted: nothing is left behind.
    let uploads = s3
        .list_multipart_uploads()
        .bucket("bsmall")
        .send()
        .await
        .expect("list uploads");
    assert!(uploads.uploads().is_empty(), "{uploads:?}");
    assert!(list_all(&s3, "bsmall", "").await.is_empty());
}

#[tokio::test]
async fn wrong_secret_stops_the_run_with_signature_does_not_match() {
    let server = Server::start();
    let out = run_bench(
        &server,
        "not-the-secret",
        &["--bucket", "bauth", "--op", "put", "--objects", "5"],
    )
    .await;
    assert!(!out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("SignatureDoesNotMatch"), "{all}");
    assert!(all.contains("403"), "{all}");
    assert!(out.stdout.is_empty(), "no report for a run that never started: {all}");
    assert!(!bucket_exists(&server.client(), "bauth").await);

    // An unknown access key is told apart.
    let out = bench_command(
        &server,
        "NOSUCHKEY0000000",
        SECRET_KEY,
        &["--bucket", "bauth", "--objects", "1"],
    )
    .output()
    .await
    .expect("run meridian bench");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("InvalidAccessKeyId"), "{}", text(&out));
}

#[tokio::test]
async fn unreachable_endpoint_is_a_connect_error() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = tokio::process::Command::new(BIN)
        .args([
            "bench",
            "--endpoint",
            &endpoint,
            "--access-key",
            ACCESS_KEY,
            "--secret",
            SECRET_KEY,
            "--no-progress",
            "--json",
            "--objects",
            "1",
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run meridian bench");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("connect"), "{}", text(&out));
}

/// A GET run whose objects are deleted (by another client) while it runs: the GETs that find no object are
/// errors counted as 404 NoSuchKey, never successes.
#[tokio::test]
async fn gets_of_objects_deleted_underneath_are_errors() {
    let server = Server::start();
    let s3 = server.client();
    // No --objects (it would also cap the GETs): 4 KiB objects make a default working set of 1000, and the
    // measured phase lasts 20 s: listing and deleting 1000 objects must land inside it even on a slow,
    // loaded CI machine (3 s was not enough there).
    let mut child = bench_command(
        &server,
        ACCESS_KEY,
        SECRET_KEY,
        &[
            "--bucket",
            "bgone",
            "--op",
            "get",
            "--size",
            "4KiB",
            "-c",
            "8",
            "--duration",
            "20s",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn meridian bench");
    let mut stdout = child.stdout.take().unwrap();
    let stdout_task = tokio::spawn(async move {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).await.map(|_| buf)
    });
    let mut stderr_lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = Vec::new();
    // "prepared 1000 objects of 4.0 KiB in ..." is printed just before the measured phase starts.
    let prepared = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = stderr_lines.next_line().await.expect("read stderr") {
            let done = line.starts_with("prepared ");
            stderr.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(prepared, "no prepare line:\n{}", stderr.join("\n"));

    // Delete every prepared object with DeleteObjects while the GETs run.
    let keys = list_all(&s3, "bgone", "bench-").await;
    assert_eq!(keys.len(), 1000);
    for chunk in keys.chunks(1000) {
        let ids: Vec<ObjectIdentifier> = chunk
            .iter()
            .map(|(k, _)| ObjectIdentifier::builder().key(k).build().unwrap())
            .collect();
        let out = s3
            .delete_objects()
            .bucket("bgone")
            .delete(Delete::builder().set_objects(Some(ids)).quiet(true).build().unwrap())
            .send()
            .await
            .expect("delete objects");
        assert!(out.errors().is_empty(), "{out:?}");
    }
    assert!(list_all(&s3, "bgone", "bench-").await.is_empty());

    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("bench did not finish")
        .expect("wait for bench");
    while let Some(line) = stderr_lines.next_line().await.expect("read stderr") {
        stderr.push(line);
    }
    let stdout = stdout_task.await.unwrap().expect("read stdout");
    let all = format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        status.code(),
        String::from_utf8_lossy(&stdout),
        stderr.join("\n")
    );
    let r: Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("no JSON ({e}):\n{all}"));
    let get = op(&r, "GET");
    let (ok, errors) = (u(&get["ops"]), u(&get["errors"]));
    if std::env::var_os("MERIDIAN_TEST_LOG").is_some() {
        eprintln!("{all}");
    }
    // Many GETs ran after the deletion: they are errors, all of them 404 NoSuchKey.
    assert!(errors > 0, "{all}");
    let kinds = get["error_kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 1, "{all}");
    assert_eq!(kinds[0]["kind"], "HTTP 404 NoSuchKey");
    assert_eq!(kinds[0]["status"], 404);
    assert_eq!(kinds[0]["code"], "NoSuchKey");
    assert_eq!(u(&kinds[0]["count"]), errors);
    // Only whole objects read before the deletion count as successes.
    assert_eq!(u(&get["bytes"]), ok * 4 * KIB, "{all}");
    assert_eq!(u(&r["total"]["errors"]), errors);
    // The run fails only if not one GET succeeded.
    assert_eq!(status.success(), ok > 0, "{all}");
    if ok == 0 {
        assert!(all.contains(&format!("all {errors} requests failed")), "{all}");
    }
}
