//! `meridian bucket move` (issue 12): a realm of zonegroup `us` (us-east, the metadata master, and us-west)
//! and `eu` (eu-1); a bucket of 1,000 objects (multipart ones among them) moves from us to eu while a writer
//! keeps writing, overwriting and deleting through whichever endpoint the bucket answers at. Afterwards every
//! object and every acknowledged write reads back through eu with its ETag, no write was acknowledged by us
//! after one was acknowledged by eu, us answers 301 towards eu, the DNS answer names eu, and after the grace
//! period the us zones no longer hold the bucket's bytes. Also: `kill -9` of the source and of the target
//! gateway during the copy, and `cancel` before the cut-over.

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use futures::StreamExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DOMAIN: &str = "s3.example.com";
const GRACE_SECS: u64 = 3;

/// The three zones restarted with fast move settings (and the DNS responder on us-east).
fn realm(target_concurrency: usize) -> Realm {
    let mut realm = Realm::build_three_zones();
    for z in [&mut realm.a, &mut realm.b, &mut realm.c] {
        z.stop();
        z.extra_args = [
            "--bucket-move-poll-ms",
            "100",
            "--bucket-move-grace-secs",
            &GRACE_SECS.to_string(),
            "--bucket-move-cutover-timeout-secs",
            "20",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
    }
    realm.a.extra_args.extend(
        ["--dns-domain", DOMAIN, "--dns-listen", "127.0.0.1:0"]
            .iter()
            .map(|s| s.to_string()),
    );
    realm.c.sync.concurrency = target_concurrency;
    for z in [&mut realm.a, &mut realm.b, &mut realm.c] {
        z.start();
    }
    realm
}

/// The expected state: key -> ETag (None: deleted).
type Expected = BTreeMap<String, Option<String>>;

fn small_body(i: usize, salt: u64) -> Vec<u8> {
    pattern(100 + (i * 37) % 6000, i as u64 * 7919 + salt)
}

async fn multipart(client: &Client, bucket: &str, key: &str, seed: u64) -> String {
    let parts = [(1, 5 << 20), (2, 70_000)].map(|(n, len)| pattern(len, seed * 10 + n));
    upload_in_parts(client, bucket, key, &parts)
        .await
        .e_tag
        .expect("multipart etag")
}

/// `count` objects: `multiparts` multipart ones (5 MiB + 70 KB), the rest small (or of `size` bytes).
async fn fill(client: &Client, bucket: &str, count: usize, multiparts: usize, size: Option<usize>) -> Expected {
    let mut expected = Expected::new();
    for m in 0..multiparts {
        let key = format!("mp/{m}");
        let etag = multipart(client, bucket, &key, m as u64).await;
        assert!(etag.contains("-2"), "{etag}");
        expected.insert(key, Some(etag));
    }
    let puts = (0..count - multiparts).map(|i| {
        let client = client.clone();
        let bucket = bucket.to_string();
        async move {
            let key = format!("obj/{i:04}");
            let body = match size {
                Some(n) => pattern(n, i as u64),
                None => small_body(i, 0),
            };
            let etag = put(&client, &bucket, &key, &body).await;
            (key, Some(etag))
        }
    });
    let done: Vec<(String, Option<String>)> = futures::stream::iter(puts).buffer_unordered(16).collect().await;
    expected.extend(done);
    expected
}

/// What the writer saw.
#[derive(Default)]
struct Writes {
    expected: Expected,
    /// Zonegroup that acknowledged each operation, in order ("us" / "eu").
    acks: Vec<&'static str>,
    longest_gap: Duration,
    slowdowns: u32,
    slowdown_retry_after: Option<String>,
    redirects: u32,
}

/// The `Retry-After` header of a failed request, if it had one.
fn retry_after<E>(e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<String> {
    e.raw_response()
        .and_then(|r| r.headers().get("retry-after"))
        .map(str::to_string)
}

fn status_of<E>(e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// Writes (new keys, overwrites and deletes of the original keys) through the us zones, alternating, and
/// follows the bucket to eu when us answers 301; retries 503 (the cut-over) and unreachable zones.
fn writer(
    clients: [Client; 3],
    bucket: &str,
    originals: usize,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Writes> {
    let bucket = bucket.to_string();
    tokio::spawn(async move {
        let mut w = Writes::default();
        let mut in_eu = false;
        let mut us = 0usize;
        let mut last_ok = Instant::now();
        let mut n = 0usize;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let (key, body) = match n % 10 {
                3 => (format!("obj/{:04}", (n * 7) % originals), Some(small_body(n, 99))),
                7 => (format!("obj/{:04}", (n * 13) % originals), None),
                _ => (format!("w/{n:06}"), Some(pattern(500 + n % 3000, n as u64))),
            };
            loop {
                let zone = if in_eu { 2 } else { us % 2 };
                let client = &clients[zone];
                let outcome: Result<Option<String>, (Option<u16>, Option<String>)> = match &body {
                    Some(b) => client
                        .put_object()
                        .bucket(&bucket)
                        .key(&key)
                        .body(ByteStream::from(b.clone()))
                        .send()
                        .await
                        .map(|o| o.e_tag)
                        .map_err(|e| (status_of(&e), retry_after(&e))),
                    None => client
                        .delete_object()
                        .bucket(&bucket)
                        .key(&key)
                        .send()
                        .await
                        .map(|_| None)
                        .map_err(|e| (status_of(&e), retry_after(&e))),
                };
                match outcome {
                    Ok(etag) => {
                        let gap = last_ok.elapsed();
                        w.longest_gap = w.longest_gap.max(gap);
                        last_ok = Instant::now();
                        w.expected.insert(key.clone(), if body.is_some() { etag } else { None });
                        w.acks.push(if in_eu { "eu" } else { "us" });
                        us += 1;
                        break;
                    }
                    Err((Some(301), _)) => {
                        w.redirects += 1;
                        if !in_eu {
                            in_eu = true;
                        } else {
                            // eu has not applied the flip yet.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    Err((Some(503), ra)) => {
                        w.slowdowns += 1;
                        // Every 503 must say when to retry: the last one seen without it stays visible.
                        if w.slowdown_retry_after.is_some() || w.slowdowns == 1 {
                            w.slowdown_retry_after = ra;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => {
                        // Unreachable (killed): the other us zone, or eu again after a pause.
                        us += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        w
    })
}

fn status(zone: &Zone, bucket: &str) -> Value {
    zone.cli(&["bucket", "move", "status", "--bucket", bucket])
}

/// Polls the move's status (through `zone`) until `done(status)`; panics with the logs on timeout.
async fn wait_status(
    realm: &Realm,
    zone: &Zone,
    bucket: &str,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let out = zone.cli_raw(&["bucket", "move", "status", "--bucket", bucket]);
        if out.status.success() {
            last = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if done(&last) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "move of {bucket} did not get there in {timeout:?}: {last:#}\n{}",
        realm.logs()
    );
}

/// Every expected key reads back through `client` with its ETag; deleted keys are gone.
async fn check_reads(client: &Client, bucket: &str, expected: &Expected) {
    let checks = expected.iter().map(|(key, etag)| {
        let client = client.clone();
        let bucket = bucket.to_string();
        let (key, etag) = (key.clone(), etag.clone());
        async move {
            let got = client.head_object().bucket(&bucket).key(&key).send().await;
            match (&etag, got) {
                (Some(e), Ok(h)) => {
                    (h.e_tag.as_deref() != Some(e.as_str())).then(|| format!("{key}: {:?} != {e}", h.e_tag))
                }
                (None, Err(err)) if status_of(&err) == Some(404) => None,
                (Some(_), Err(err)) => Some(format!("{key}: {:?}", status_of(&err))),
                (None, Ok(_)) => Some(format!("{key}: deleted but present")),
                (None, Err(err)) => Some(format!("{key}: {:?}", status_of(&err))),
            }
        }
    });
    let wrong: Vec<String> = futures::stream::iter(checks)
        .buffer_unordered(16)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    assert!(
        wrong.is_empty(),
        "{} of {} keys wrong in eu: {:?}",
        wrong.len(),
        expected.len(),
        &wrong[..wrong.len().min(20)]
    );
    // The listing has exactly the live keys.
    let mut listed = 0;
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        listed += page.contents().len();
        token = page.next_continuation_token.clone();
        if token.is_none() {
            break;
        }
    }
    assert_eq!(listed, expected.values().filter(|e| e.is_some()).count());
    // A sample of the bytes, a multipart object among them.
    if expected.get("mp/0").is_some_and(Option::is_some) {
        let got = get_bytes(client, bucket, "mp/0").await;
        assert_eq!(got.len(), (5 << 20) + 70_000);
        assert_eq!(&got[..5 << 20], &pattern(5 << 20, 1)[..]);
    }
}

/// Bytes of the zone's blob files (object bytes kept outside the metadata database).
fn blob_bytes(data_dir: &Path) -> u64 {
    walk(data_dir)
        .iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "objects"))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn usage(zone: &Zone, bucket: &str) -> (u64, u64) {
    let v = zone.cli(&["bucket", "stats", "--bucket", bucket]);
    let u = &v["usage"]["rgw.main"];
    (u["num_objects"].as_u64().unwrap_or(0), u["size"].as_u64().unwrap_or(0))
}

fn zonegroup_of(zone: &Zone, bucket: &str) -> String {
    zone.cli(&["bucket", "stats", "--bucket", bucket])["zonegroup"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// After a finished move: the writer's acks never went back to us, us answers 301 to eu, the DNS names eu,
/// the us copies are reclaimed (objects, and the multipart blobs' bytes), the metrics show it.
async fn check_after_move(realm: &Realm, bucket: &str, w: &Writes, before_blobs: [u64; 2]) {
    let (a, b, c) = (&realm.a, &realm.b, &realm.c);
    let eu = a.zonegroup_id("eu");
    let first_eu = w
        .acks
        .iter()
        .position(|z| *z == "eu")
        .expect("the writer never wrote to eu");
    assert!(
        w.acks[first_eu..].iter().all(|z| *z == "eu"),
        "a write was acknowledged by us after one was acknowledged by eu"
    );
    assert!(first_eu > 0, "the writer never wrote to us");
    for z in [a, b, c] {
        assert_eq!(zonegroup_of(z, bucket), eu, "zone {}", z.name);
    }
    // us answers 301 towards eu.
    let (status, headers, _) = send_signed(
        &a.signer(),
        "GET",
        a.addr,
        &a.addr.to_string(),
        &format!("/{bucket}/w/000001"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 301);
    let location = headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default();
    assert!(
        location.starts_with(&format!("http://127.0.0.1:{}/", c.port())),
        "{location}"
    );
    // The DNS answer names eu.
    let out = a.cli_raw(&["dns", "lookup", &format!("{bucket}.{DOMAIN}"), "--type", "a"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "{bucket}.{DOMAIN}.\t60\tIN\tCNAME\t{bucket}.s3.eu.example.com."
        )),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The us copies are reclaimed.
    for (z, before) in [a, b].into_iter().zip(before_blobs) {
        assert_eq!(usage(z, bucket), (0, 0), "zone {}", z.name);
        let mut now = blob_bytes(&z.data_dir);
        let deadline = Instant::now() + Duration::from_secs(30);
        while now + (4 << 20) > before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(300)).await;
            now = blob_bytes(&z.data_dir);
        }
        assert!(
            now + (4 << 20) <= before,
            "zone {}: blob bytes {before} -> {now}",
            z.name
        );
    }
    let (objects, _) = usage(c, bucket);
    assert_eq!(objects as usize, w.expected.values().filter(|e| e.is_some()).count());
    let metrics = http()
        .get(format!("http://{}/metrics", a.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "meridian_bucket_move_phase{{bucket=\"{bucket}\",phase=\"done\"}} 1"
        )),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("bucket_move"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_moves_to_another_zonegroup_while_a_writer_writes() {
    let realm = realm(4);
    let (a, b, c) = (&realm.a, &realm.b, &realm.c);
    create_bucket(&a.client(), "photos").await;
    let mut expected = fill(&a.client(), "photos", 1000, 4, None).await;
    // us-west holds them too before the move begins (the move copies from both us zones anyway).
    let before_blobs = [blob_bytes(&a.data_dir), blob_bytes(&b.data_dir)];

    let stop = Arc::new(AtomicBool::new(false));
    let writing = writer([a.client(), b.client(), c.client()], "photos", 996, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Asked of a zone that is not the metadata master: forwarded.
    let started = b.cli(&["bucket", "move", "--bucket", "photos", "--zonegroup", "eu"]);
    assert_eq!(started["bucket"], "photos", "{started:#}");
    let again = b.cli(&["bucket", "move", "--bucket", "photos", "--zonegroup", "eu"]);
    assert_eq!(again["id"], started["id"], "a second start answers the move under way");
    let copying = wait_status(&realm, c, "photos", Duration::from_secs(120), |s| {
        s["phase"] == "copy" && s["objects_copied"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(copying["objects_total"].as_u64().unwrap() >= 1000, "{copying:#}");
    assert!(copying["bytes_total"].as_u64().unwrap() > 20 << 20, "{copying:#}");
    let flipped = wait_status(&realm, a, "photos", Duration::from_secs(180), |s| {
        matches!(s["phase"].as_str(), Some("cleanup" | "done"))
    })
    .await;
    assert!(flipped["cutover_ms"].as_u64().is_some(), "{flipped:#}");
    // The writer goes on in eu for a moment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let w = writing.await.unwrap();
    eprintln!(
        "writer: {} operations, longest gap between acknowledged writes {:?}, {} x 503 (Retry-After {:?}), {} x 301; cut-over {} ms",
        w.acks.len(),
        w.longest_gap,
        w.slowdowns,
        w.slowdown_retry_after,
        w.redirects,
        flipped["cutover_ms"]
    );
    if w.slowdowns > 0 {
        assert_eq!(w.slowdown_retry_after.as_deref(), Some("1"));
    }
    // A cancel after the cut-over is refused, naming the way back.
    let err = a.cli_fails(&["bucket", "move", "cancel", "--bucket", "photos"]);
    assert!(
        err.contains("past its cut-over") && err.contains("bucket move"),
        "{err}"
    );

    expected.extend(w.expected.clone());
    check_reads(&c.client(), "photos", &expected).await;
    let done = wait_status(&realm, a, "photos", Duration::from_secs(60), |s| s["phase"] == "done").await;
    assert!(done["reclaimed_objects"].as_u64().unwrap() > 0, "{done:#}");
    check_after_move(&realm, "photos", &Writes { expected, ..w }, before_blobs).await;
    // Writes through eu keep working, and us-east's status document shows the finished move.
    put(&c.client(), "photos", "after", b"after the move").await;
    let all = a.cli(&["bucket", "move", "status"]);
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all:#}");
}

/// The move's status through the admin API (`GET /admin/bucket-move?bucket=B`, signed with the system key).
async fn api_status(zone: &Zone, bucket: &str) -> Option<Value> {
    let (code, _, body) = send_signed_checked(
        &Signer::new(SYS_ACCESS, SYS_SECRET),
        "GET",
        zone.addr,
        &zone.addr.to_string(),
        "/admin/bucket-move",
        &[("bucket", bucket)],
        b"",
    )
    .await
    .ok()?;
    (code == 200).then(|| serde_json::from_str(&body).ok()).flatten()
}

async fn wait_api(realm: &Realm, zone: &Zone, bucket: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Some(s) = api_status(zone, bucket).await {
            if done(&s) {
                return s;
            }
            last = s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "move of {bucket} did not get there in {timeout:?}: {last:#}\n{}",
        realm.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_resumes_after_kill_9_of_the_target_and_the_source() {
    // eu-1 fetches one object at a time, so the copy of 1,500 objects of 70 KB (each streamed) lasts a while.
    let mut realm = realm(1);
    create_bucket(&realm.a.client(), "logs").await;
    let mut expected = fill(&realm.a.client(), "logs", 1500, 2, Some(70_000)).await;
    let before_blobs = [blob_bytes(&realm.a.data_dir), blob_bytes(&realm.b.data_dir)];
    let stop = Arc::new(AtomicBool::new(false));
    let clients = [realm.a.client(), realm.b.client(), realm.c.client()];
    let writing = writer(clients, "logs", 1498, stop.clone());
    realm
        .a
        .cli(&["bucket", "move", "--bucket", "logs", "--zonegroup", "eu"]);

    let copied = |s: &Value| s["objects_copied"].as_u64().unwrap_or(0);
    // kill -9 of the target (eu-1) as soon as the copy moves.
    let first = wait_api(&realm, &realm.a, "logs", Duration::from_secs(120), |s| {
        s["phase"] != "prepare" && s["phase"] != "queued" && copied(s) > 0
    })
    .await;
    assert_eq!(first["phase"], "copy", "{first:#}");
    realm.c.kill();
    let at_kill = copied(&api_status(&realm.a, "logs").await.unwrap());
    tokio::time::sleep(Duration::from_secs(1)).await;
    realm.c.start();
    // It resumes from its saved position (what it holds stays; the count only grows from there).
    let resumed = wait_api(&realm, &realm.a, "logs", Duration::from_secs(120), |s| {
        copied(s) >= at_kill + 20 || s["phase"] != "copy"
    })
    .await;
    assert_eq!(
        resumed["phase"], "copy",
        "the copy ended before the source could be killed: {resumed:#}"
    );
    // kill -9 of the source (us-east, also the metadata master) during the copy.
    realm.a.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    realm.a.start();
    eprintln!(
        "killed eu-1 at {at_kill} objects copied, us-east at {} of {}",
        copied(&resumed),
        resumed["objects_total"]
    );
    let flipped = wait_status(&realm, &realm.a, "logs", Duration::from_secs(240), |s| {
        matches!(s["phase"].as_str(), Some("cleanup" | "done"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let w = writing.await.unwrap();
    eprintln!(
        "writer: {} operations, longest gap {:?}; cut-over {} ms after {} attempt(s)",
        w.acks.len(),
        w.longest_gap,
        flipped["cutover_ms"],
        flipped["cutover_attempts"]
    );
    expected.extend(w.expected.clone());
    check_reads(&realm.c.client(), "logs", &expected).await;
    wait_status(&realm, &realm.a, "logs", Duration::from_secs(60), |s| {
        s["phase"] == "done"
    })
    .await;
    check_after_move(&realm, "logs", &Writes { expected, ..w }, before_blobs).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_before_the_cut_over_leaves_the_bucket_as_it_was() {
    let realm = realm(1);
    let (a, b, c) = (&realm.a, &realm.b, &realm.c);
    let us = a.zonegroup_id("us");
    create_bucket(&a.client(), "keep").await;
    // Enough 70 KB objects (streamed one at a time into eu-1) that the copy outlasts the cancel.
    let expected = fill(&a.client(), "keep", 1200, 0, Some(70_000)).await;
    a.cli(&["bucket", "move", "--bucket", "keep", "--zonegroup", "eu"]);
    wait_status(&realm, c, "keep", Duration::from_secs(120), |s| {
        s["phase"] == "copy" && s["objects_copied"].as_u64().unwrap_or(0) > 0
    })
    .await;
    // Cancelled through the eu zone (forwarded to the master).
    let out = c.cli(&["bucket", "move", "cancel", "--bucket", "keep"]);
    assert!(
        matches!(out["phase"].as_str(), Some("cancelling" | "cancelled")),
        "{out:#}"
    );
    let st = wait_status(&realm, a, "keep", Duration::from_secs(60), |s| {
        s["phase"] == "cancelled"
    })
    .await;
    assert!(st["reclaimed_objects"].as_u64().unwrap_or(0) > 0, "{st:#}");
    for z in [a, b, c] {
        assert_eq!(zonegroup_of(z, "keep"), us, "zone {}", z.name);
    }
    // The partial copy in eu is gone; us serves every object and takes writes.
    assert_eq!(usage(c, "keep"), (0, 0));
    let client = a.client();
    for (key, etag) in expected.iter().step_by(40) {
        let h = client.head_object().bucket("keep").key(key).send().await.unwrap();
        assert_eq!(h.e_tag, etag.clone());
    }
    put(&client, "keep", "after-cancel", b"still in us").await;
    assert_eq!(get_bytes(&b.client(), "keep", "obj/0001").await, pattern(70_000, 1));
    let (code, _, _) = send_signed(
        &c.signer(),
        "GET",
        c.addr,
        &c.addr.to_string(),
        "/keep/obj/0001",
        &[],
        b"",
    )
    .await;
    assert_eq!(code, 301, "eu still redirects to us");
    // Cancelling again is harmless; status says cancelled.
    let again = a.cli(&["bucket", "move", "cancel", "--bucket", "keep"]);
    assert_eq!(again["phase"], "cancelled");
    assert_eq!(status(a, "keep")["phase"], "cancelled");
    // A later move of the same bucket starts afresh.
    let next = a.cli(&["bucket", "move", "--bucket", "keep", "--zonegroup", "eu"]);
    assert_ne!(next["id"], st["id"]);
    a.cli(&["bucket", "move", "cancel", "--bucket", "keep"]);
    wait_status(&realm, a, "keep", Duration::from_secs(60), |s| {
        s["phase"] == "cancelled"
    })
    .await;

    // Many buckets at once: every bucket of a user, one copied at a time (--concurrency 1), the rest queued.
    a.cli(&[
        "user",
        "create",
        "--uid",
        "fleet",
        "--display-name",
        "Fleet",
        "--access-key",
        "AKIAFLEET00000000001",
        "--secret",
        "fleet-secret-key-0001/abcdefghijklmnopqrs",
    ]);
    let fleet = a.client_for("AKIAFLEET00000000001", "fleet-secret-key-0001/abcdefghijklmnopqrs");
    let mut fleet_expected = BTreeMap::new();
    for name in ["fleet-1", "fleet-2", "fleet-3"] {
        create_bucket(&fleet, name).await;
        fleet_expected.insert(name, fill(&fleet, name, 30, 0, None).await);
    }
    let started = b.cli(&[
        "bucket",
        "move",
        "--all-of-user",
        "fleet",
        "--zonegroup",
        "eu",
        "--concurrency",
        "1",
    ]);
    assert_eq!(started.as_array().map(Vec::len), Some(3), "{started:#}");
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut most_active = 0;
    loop {
        let all = a.cli(&["bucket", "move", "status"]);
        let fleet_moves: Vec<&Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["bucket"].as_str().unwrap_or("").starts_with("fleet-"))
            .collect();
        let active = fleet_moves
            .iter()
            .filter(|m| matches!(m["phase"].as_str(), Some("prepare" | "copy" | "cutover")))
            .count();
        most_active = most_active.max(active);
        if fleet_moves.iter().all(|m| m["phase"] == "done") {
            break;
        }
        assert!(Instant::now() < deadline, "{all:#}\n{}", realm.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(most_active, 1, "--concurrency 1 copies one bucket at a time");
    let fleet_eu = c.client_for("AKIAFLEET00000000001", "fleet-secret-key-0001/abcdefghijklmnopqrs");
    for (name, expected) in &fleet_expected {
        check_reads(&fleet_eu, name, expected).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_zone_out_of_reach_holds_the_cut_over_not_the_writes() {
    let mut realm = realm(1);
    create_bucket(&realm.a.client(), "part").await;
    let mut expected = fill(&realm.a.client(), "part", 600, 0, Some(70_000)).await;
    realm
        .a
        .cli(&["bucket", "move", "--bucket", "part", "--zonegroup", "eu"]);
    wait_api(&realm, &realm.a, "part", Duration::from_secs(120), |s| {
        s["phase"] == "copy"
    })
    .await;
    // us-west out of reach (as a partition would leave it): eu cannot copy from it, so no cut-over starts,
    // and the bucket keeps taking writes in us-east.
    realm.b.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let st = api_status(&realm.a, "part").await.unwrap();
    assert_eq!(st["phase"], "copy", "{st:#}");
    for i in 0..20 {
        let key = format!("during/{i}");
        let etag = put(&realm.a.client(), "part", &key, &pattern(1000, i)).await;
        expected.insert(key, Some(etag));
    }
    // Back: the copy resumes from its positions and the move ends.
    realm.b.start();
    wait_status(&realm, &realm.a, "part", Duration::from_secs(120), |s| {
        matches!(s["phase"].as_str(), Some("cleanup" | "done"))
    })
    .await;
    check_reads(&realm.c.client(), "part", &expected).await;
}
