//! Replication between zones of one zonegroup (docs/replication.md): real `meridian server` processes on
//! loopback, each with its own data directory, replicating through the admin REST of their peers. Metadata
//! sync (users and buckets reach a secondary by themselves), active-active data sync (writes, overwrites,
//! deletes, multipart, the newest write wins, no ping-pong), crashes (kill -9 in the middle of a sync),
//! outages, a zone joining with existing data (full sync), the status documents and metrics an operator
//! watches, log trimming, and a network partition (network namespaces, when the machine allows them).
//!
//! Every wait is bounded (`CONVERGE`), and a failure prints the end of every zone's server log.

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long zones may take to converge after the last change.
const CONVERGE: Duration = Duration::from_secs(60);
/// Between two looks at a zone.
const POLL: Duration = Duration::from_millis(150);

const ALICE_ACCESS: &str = "AKIAMERIDIANALICE001";
const ALICE_SECRET: &str = "alice-secret-key-0001/abcdefghijklmnopqr";

/// The S3 key a test reads buckets with: `(access key, secret)`.
type Creds = (&'static str, &'static str);
const TESTER: Creds = (ACCESS_KEY, SECRET_KEY);
const ALICE: Creds = (ALICE_ACCESS, ALICE_SECRET);

/// What a bucket must hold everywhere: key → (body, ETag without quotes).
type Want = BTreeMap<String, (Vec<u8>, String)>;

/// Zone, bucket, key, content type and user metadata an object must show there.
type HeaderCheck<'a> = (&'a Zone, &'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);

fn listing_of(want: &Want) -> BTreeMap<String, Listed> {
    want.iter()
        .map(|(k, (body, etag))| {
            (
                k.clone(),
                Listed {
                    size: body.len() as i64,
                    etag: etag.clone(),
                },
            )
        })
        .collect()
}

/// What differs between two listings (at most a few keys of each kind).
fn listing_diff(want: &BTreeMap<String, Listed>, got: &BTreeMap<String, Listed>) -> String {
    let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).take(8).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).take(8).collect();
    let differ: Vec<String> = want
        .iter()
        .filter_map(|(k, w)| match got.get(k) {
            Some(g) if g != w => Some(format!("{k}: want {w:?}, got {g:?}")),
            _ => None,
        })
        .take(8)
        .collect();
    format!(
        "{} objects listed, {} wanted; missing {missing:?}; unexpected {extra:?}; different {differ:?}",
        got.len(),
        want.len()
    )
}

/// Every zone's `GET /admin/sync/status` (or why it could not be read), for failure messages.
async fn statuses(zones: &[&Zone]) -> String {
    let mut out = String::new();
    for z in zones {
        let s = match sync_status(z).await {
            Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
            Err(e) => e,
        };
        out.push_str(&format!("----- sync status of {} -----\n{s}\n", z.name));
    }
    out
}

/// A failure message: what went wrong, every zone's sync status and the end of its log.
async fn report(what: &str, zones: &[&Zone]) -> String {
    let logs: Vec<String> = zones
        .iter()
        .map(|z| format!("===== {} (last 200 lines) =====\n{}", z.name, z.log_tail(200)))
        .collect();
    format!("{what}\n{}\n{}", statuses(zones).await, logs.join("\n"))
}

/// What every zone holds of a bucket and says about its sync, for failure messages.
async fn bucket_report(who: Creds, zones: &[&Zone], bucket: &str) -> String {
    let mut out = String::new();
    for z in zones {
        let keys = match list_objects_as(z, bucket, who.0, who.1).await {
            Ok(l) => format!("{:?}", l.keys().collect::<Vec<_>>()),
            Err(e) => e,
        };
        let status = match bucket_sync_status(z, bucket).await {
            Ok(v) => v.to_string(),
            Err(e) => e,
        };
        let log = match bilog(z, bucket).await {
            Ok(entries) => entries
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {} ts={} etag={} trace={}",
                        op_id(e),
                        e["op"],
                        e["object"],
                        e["timestamp"],
                        e["etag"],
                        e["zones_trace"]
                    )
                })
                .collect::<Vec<_>>()
                .join("\n    "),
            Err(e) => e,
        };
        out.push_str(&format!(
            "----- {bucket} on {} -----\nkeys: {keys}\nsync/bucket: {status}\nbilog:\n    {log}\n",
            z.name
        ));
    }
    out
}

/// Waits until `bucket` lists exactly `want` (keys, sizes, ETags) on every zone of `zones`.
async fn wait_converged(who: Creds, zones: &[&Zone], bucket: &str, want: &Want) {
    let want = listing_of(want);
    let deadline = Instant::now() + CONVERGE;
    loop {
        let mut last = None;
        for z in zones {
            match list_objects_as(z, bucket, who.0, who.1).await {
                Ok(got) if got == want => {}
                Ok(got) => {
                    last = Some(format!("{}: {}", z.name, listing_diff(&want, &got)));
                    break;
                }
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        let Some(last) = last else { return };
        if Instant::now() > deadline {
            let msg = format!(
                "bucket {bucket} did not converge within {CONVERGE:?}: {last}\n{}",
                bucket_report(who, zones, bucket).await
            );
            panic!("{}", report(&msg, zones).await);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls a CLI condition (blocking calls) until it holds; panics with the zones' logs otherwise.
async fn wait_cli(zones: &[&Zone], what: &str, mut cond: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let last = match cond() {
            Ok(()) => return,
            Err(e) => e,
        };
        if Instant::now() > deadline {
            panic!("{}", report(&format!("{what}: {last}"), zones).await);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `metadata list SECTION` on a zone, as strings.
fn metadata_list(zone: &Zone, section: &str) -> Vec<String> {
    zone.cli(&["metadata", "list", section])
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn unquote(etag: Option<&str>) -> String {
    etag.unwrap_or_default().trim_matches('"').to_string()
}

/// PUT through a zone's SDK client; returns the ETag (no quotes).
async fn put_object(client: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    unquote(Some(&put(client, bucket, key, body).await))
}

/// PUT with a content type and user metadata.
async fn put_with_meta(
    client: &Client,
    bucket: &str,
    key: &str,
    body: &[u8],
    content_type: &str,
    meta: &[(&str, &str)],
) -> String {
    let mut req = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body.to_vec()));
    for (k, v) in meta {
        req = req.metadata(*k, *v);
    }
    let out = req.send().await.unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
    unquote(out.e_tag())
}

async fn delete_object(client: &Client, bucket: &str, key: &str) {
    client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("delete {bucket}/{key}: {e:?}"));
}

/// A multipart upload of `parts` (in order) with a content type and user metadata; returns the ETag.
async fn multipart_upload(
    client: &Client,
    bucket: &str,
    key: &str,
    parts: &[Vec<u8>],
    content_type: &str,
    meta: &[(&str, &str)],
) -> String {
    let mut create = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .content_type(content_type);
    for (k, v) in meta {
        create = create.metadata(*k, *v);
    }
    let upload = create
        .send()
        .await
        .unwrap_or_else(|e| panic!("create multipart upload {bucket}/{key}: {e:?}"));
    let upload_id = upload.upload_id().expect("upload id").to_string();
    let mut done = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(n)
            .body(ByteStream::from(part.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("upload part {n} of {bucket}/{key}: {e:?}"));
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap_or_default())
                .build(),
        );
    }
    let out = client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .unwrap_or_else(|e| panic!("complete multipart upload {bucket}/{key}: {e:?}"));
    unquote(out.e_tag())
}

/// Whether `key` exists in `bucket` on `zone` (HEAD; any error counts as no).
async fn exists(who: Creds, zone: &Zone, bucket: &str, key: &str) -> bool {
    zone.client_for(who.0, who.1)
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

/// Waits until `key` is visible on `zone` (a change from another zone arrived).
async fn wait_visible(who: Creds, zones: &[&Zone], zone: &Zone, bucket: &str, key: &str) {
    let deadline = Instant::now() + CONVERGE;
    while !exists(who, zone, bucket, key).await {
        if Instant::now() > deadline {
            let msg = format!(
                "{bucket}/{key} never appeared on {}\n{}",
                zone.name,
                bucket_report(who, zones, bucket).await
            );
            panic!("{}", report(&msg, zones).await);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// GETs every object of `want` from every zone and compares the bytes.
async fn assert_bodies(who: Creds, zones: &[&Zone], bucket: &str, want: &Want) {
    for z in zones {
        let client = z.client_for(who.0, who.1);
        for (key, (body, _)) in want {
            let got = get_bytes(&client, bucket, key).await;
            assert!(
                got == *body,
                "{bucket}/{key} on {}: {} bytes (md5 {}), want {} bytes (md5 {})",
                z.name,
                got.len(),
                md5_hex(&got),
                body.len(),
                md5_hex(body)
            );
        }
    }
}

/// The source statuses of a sync status document: `data[]` and, on a secondary, `metadata.source`.
fn sources(status: &Value) -> Vec<&Value> {
    let mut all: Vec<&Value> = status["data"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if status["metadata"]["source"].is_object() {
        all.push(&status["metadata"]["source"]);
    }
    all
}

/// The data source status for `source` in a sync status document.
fn data_source<'a>(status: &'a Value, source: &str) -> Option<&'a Value> {
    status["data"]
        .as_array()?
        .iter()
        .find(|s| s["source_zone"]["name"] == source)
}

/// Why a zone is not fully caught up (`None` if it is): every data source of the zone (one per other zone
/// of `expected_sources`) and, on a secondary, its metadata source, reachable and caught up.
fn not_caught_up(status: &Value, expected_sources: &[&str], secondary: bool) -> Option<String> {
    let names: BTreeSet<String> = status["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["source_zone"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let want: BTreeSet<String> = expected_sources.iter().map(|s| s.to_string()).collect();
    if names != want {
        return Some(format!("data sources {names:?}, want {want:?}"));
    }
    if secondary && !status["metadata"]["source"].is_object() {
        return Some("no metadata source on a secondary".into());
    }
    for s in sources(status) {
        if s["caught_up"] != true || s["reachable"] != true {
            return Some(format!("source not caught up: {s}"));
        }
    }
    None
}

/// Waits until every zone reports every source caught up.
async fn wait_caught_up(zones: &[&Zone]) {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let mut last = None;
        for (i, z) in zones.iter().enumerate() {
            let others: Vec<&str> = zones
                .iter()
                .filter(|o| o.name != z.name)
                .map(|o| o.name.as_str())
                .collect();
            let why = match sync_status(z).await {
                Ok(st) => not_caught_up(&st, &others, i != 0).map(|w| format!("{}: {w}", z.name)),
                Err(e) => Some(e),
            };
            if why.is_some() {
                last = why;
                break;
            }
        }
        let Some(last) = last else { return };
        if Instant::now() > deadline {
            panic!("{}", report(&format!("zones never all caught up: {last}"), zones).await);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The sum of the samples of a metric with these labels on `zone` (0 when there is none).
async fn metric(zone: &Zone, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = metrics_text(zone).await.unwrap_or_default();
    metric_samples(&text, name, labels).iter().map(|(_, v)| v).sum()
}

fn op_id(e: &Value) -> String {
    match &e["op_id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => format!("{n:0>20}"),
        other => panic!("bilog entry without op_id: {other} in {e}"),
    }
}

/// `(entries, last op_id)` of a bucket's index log on a zone.
async fn bilog_shape(zone: &Zone, bucket: &str) -> Result<(usize, Option<String>), String> {
    let entries = bilog(zone, bucket).await?;
    Ok((entries.len(), entries.last().map(op_id)))
}

// ---------------------------------------------------------------------------------------------------------

/// Writes in each of two zones converge: objects (new, overwritten, deleted, multipart) with their bytes,
/// sizes, ETags, content types and user metadata; users and buckets reach the secondary by metadata sync.
#[tokio::test]
async fn two_zones_converge() {
    let site = Site::build(&["us-east", "us-west"]);
    let (a, b) = (&site.zones[0], &site.zones[1]);
    let zones = [a, b];

    // A user created on the master reaches the secondary without any request for it there.
    a.cli(&[
        "user",
        "create",
        "--uid",
        "alice",
        "--display-name",
        "Alice",
        "--access-key",
        ALICE_ACCESS,
        "--secret",
        ALICE_SECRET,
    ]);
    wait_cli(&zones, "user alice never reached us-west by metadata sync", || {
        let users = metadata_list(b, "user");
        if users.contains(&"alice".to_string()) {
            Ok(())
        } else {
            Err(format!("metadata list user on us-west: {users:?}"))
        }
    })
    .await;
    let on_a = a.cli(&["metadata", "get", "user:alice"]);
    let on_b = b.cli(&["metadata", "get", "user:alice"]);
    assert_eq!(on_a["ver"], on_b["ver"], "A: {on_a:#}\nB: {on_b:#}");
    assert_eq!(on_a["data"]["keys"], on_b["data"]["keys"], "A: {on_a:#}\nB: {on_b:#}");

    let alice_a = a.client_for(ALICE_ACCESS, ALICE_SECRET);
    let alice_b = b.client_for(ALICE_ACCESS, ALICE_SECRET);
    // A bucket created through the master reaches the secondary the same way.
    create_bucket(&alice_a, "conv-east").await;
    wait_cli(
        &zones,
        "bucket conv-east never reached us-west by metadata sync",
        || {
            let buckets = metadata_list(b, "bucket");
            if buckets.contains(&"conv-east".to_string()) {
                Ok(())
            } else {
                Err(format!("metadata list bucket on us-west: {buckets:?}"))
            }
        },
    )
    .await;
    // One created through the secondary (forwarded to the master).
    create_bucket(&alice_b, "conv-west").await;
    let id_a = a.cli(&["bucket", "stats", "--bucket", "conv-west"])["id"].clone();
    let id_b = b.cli(&["bucket", "stats", "--bucket", "conv-west"])["id"].clone();
    assert_eq!(id_a, id_b, "one bucket instance");

    let mut east = Want::new();
    let mut west = Want::new();
    for i in 0..8u64 {
        let body = pattern(1000 + i as usize * 37, 100 + i);
        let key = format!("a/{i}");
        east.insert(
            key.clone(),
            (body.clone(), put_object(&alice_a, "conv-east", &key, &body).await),
        );
        let body = pattern(2000 + i as usize * 41, 200 + i);
        let key = format!("b/{i}");
        east.insert(
            key.clone(),
            (body.clone(), put_object(&alice_b, "conv-east", &key, &body).await),
        );
    }
    let body = b"from the east, with metadata".to_vec();
    let etag = put_with_meta(
        &alice_a,
        "conv-west",
        "from-east.txt",
        &body,
        "text/plain; charset=utf-8",
        &[("color", "blue"), ("owner-note", "written in us-east")],
    )
    .await;
    west.insert("from-east.txt".into(), (body, etag));
    let body = pattern(70_000, 7);
    let etag = put_with_meta(
        &alice_b,
        "conv-west",
        "from-west.bin",
        &body,
        "application/x-meridian-test",
        &[("origin", "us-west")],
    )
    .await;
    west.insert("from-west.bin".into(), (body, etag));

    // Overwrites: of a key written in the other zone, and of one's own.
    for (client, key, seed) in [(&alice_b, "a/0", 300), (&alice_a, "b/1", 301), (&alice_a, "a/2", 302)] {
        let body = pattern(1500, seed);
        let etag = put_object(client, "conv-east", key, &body).await;
        east.insert(key.to_string(), (body, etag));
    }
    // Deletes: of one's own key, and of keys that came from the other zone.
    delete_object(&alice_a, "conv-east", "a/3").await;
    east.remove("a/3");
    wait_visible(ALICE, &zones, a, "conv-east", "b/4").await;
    delete_object(&alice_a, "conv-east", "b/4").await;
    east.remove("b/4");
    wait_visible(ALICE, &zones, b, "conv-east", "a/5").await;
    delete_object(&alice_b, "conv-east", "a/5").await;
    east.remove("a/5");

    // A multipart object written in the secondary: 5 MiB + 5 MiB + 1 MiB.
    let parts = vec![pattern(5 << 20, 11), pattern(5 << 20, 12), pattern(1 << 20, 13)];
    let etag = multipart_upload(
        &alice_b,
        "conv-east",
        "big/multi.bin",
        &parts,
        "video/mp4",
        &[("kind", "multipart")],
    )
    .await;
    assert!(etag.ends_with("-3"), "multipart ETag {etag}");
    east.insert("big/multi.bin".into(), (parts.concat(), etag));

    wait_converged(ALICE, &zones, "conv-east", &east).await;
    wait_converged(ALICE, &zones, "conv-west", &west).await;
    assert_bodies(ALICE, &zones, "conv-east", &east).await;
    assert_bodies(ALICE, &zones, "conv-west", &west).await;

    // Content types and user metadata crossed over, each way.
    let checks: [HeaderCheck; 3] = [
        (
            b,
            "conv-west",
            "from-east.txt",
            "text/plain; charset=utf-8",
            &[("color", "blue"), ("owner-note", "written in us-east")],
        ),
        (
            a,
            "conv-west",
            "from-west.bin",
            "application/x-meridian-test",
            &[("origin", "us-west")],
        ),
        (a, "conv-east", "big/multi.bin", "video/mp4", &[("kind", "multipart")]),
    ];
    for (zone, bucket, key, content_type, meta) in checks {
        let head = zone
            .client_for(ALICE_ACCESS, ALICE_SECRET)
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("HEAD {bucket}/{key} on {}: {e:?}", zone.name));
        assert_eq!(
            head.content_type(),
            Some(content_type),
            "{bucket}/{key} on {}",
            zone.name
        );
        let got = head.metadata().cloned().unwrap_or_default();
        let want: std::collections::HashMap<String, String> =
            meta.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(got, want, "user metadata of {bucket}/{key} on {}", zone.name);
    }
    // The multipart object is still a multipart object on the other side (parts count kept).
    let head = a
        .client_for(ALICE_ACCESS, ALICE_SECRET)
        .head_object()
        .bucket("conv-east")
        .key("big/multi.bin")
        .part_number(2)
        .send()
        .await;
    match head {
        Ok(h) => assert_eq!(h.parts_count(), Some(3), "parts count of the synced multipart object"),
        Err(e) => println!("note: HEAD ?partNumber=2 on us-east not answered ({e:?}); parts count unchecked"),
    }
}

/// Three zones of one zonegroup: writes in each reach all; once converged, no zone's bucket index log keeps
/// growing (no change is applied back and forth).
#[tokio::test]
async fn three_zones_converge_without_ping_pong() {
    let site = Site::build(&["us-east", "us-west", "us-central"]);
    let zones: Vec<&Zone> = site.zones.iter().collect();
    create_bucket(&zones[0].client(), "tri").await;
    let mut want = Want::new();
    let mut ops = 0;
    for (zi, z) in zones.iter().enumerate() {
        let client = z.client();
        for i in 0..10u64 {
            let key = format!("{}/{i}", z.name);
            let body = pattern(500 + i as usize, zi as u64 * 100 + i);
            want.insert(
                key.clone(),
                (body.clone(), put_object(&client, "tri", &key, &body).await),
            );
            ops += 1;
        }
    }
    // One key written in every zone, one after the other: the last write wins everywhere.
    for (zi, z) in zones.iter().enumerate() {
        let body = format!("shared, last written by {}", z.name).into_bytes();
        want.insert(
            "shared".into(),
            (body.clone(), put_object(&z.client(), "tri", "shared", &body).await),
        );
        ops += 1;
        if zi + 1 < zones.len() {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    // A delete in the third zone of a key of the first.
    wait_visible(TESTER, &zones, zones[2], "tri", "us-east/9").await;
    delete_object(&zones[2].client(), "tri", "us-east/9").await;
    want.remove("us-east/9");
    ops += 1;

    wait_converged(TESTER, &zones, "tri", &want).await;
    assert_bodies(TESTER, &zones, "tri", &want).await;

    // The logs stop growing: three identical looks in a row, 1 s (10 poll intervals) apart.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut history: Vec<Vec<(usize, Option<String>)>> = Vec::new();
    loop {
        let mut look = Vec::new();
        for z in &zones {
            match bilog_shape(z, "tri").await {
                Ok(s) => look.push(s),
                Err(e) => panic!("{}", report(&e, &zones).await),
            }
        }
        history.push(look);
        let n = history.len();
        if n >= 3 && history[n - 1] == history[n - 2] && history[n - 2] == history[n - 3] {
            break;
        }
        if Instant::now() > deadline {
            let msg = format!("bucket index logs of tri keep changing after convergence (ping-pong?): {history:?}");
            panic!("{}", report(&msg, &zones).await);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Each change is logged at most once per zone.
    let last = history.last().unwrap();
    for (z, (len, _)) in zones.iter().zip(last) {
        assert!(
            *len <= ops,
            "the bilog of tri on {} holds {len} entries for {ops} changes: {:#?}",
            z.name,
            bilog(z, "tri").await
        );
    }
    // And the listing is still the same after the quiet period.
    wait_converged(TESTER, &zones, "tri", &want).await;
}

/// Writes of one key in two zones at about the same time: the later one wins in both zones; a delete after
/// a write in the other zone wins too, even when the write reaches the deleting zone after the delete.
#[tokio::test]
async fn concurrent_writes_newest_wins() {
    let mut site = Site::build(&["us-east", "us-west"]);
    let (ca, cb) = (site.zones[0].client(), site.zones[1].client());
    create_bucket(&ca, "race").await;
    let mut want = Want::new();
    for key in ["victim-del", "victim-put", "late"] {
        let body = format!("{key} v0").into_bytes();
        want.insert(key.into(), (body.clone(), put_object(&ca, "race", key, &body).await));
    }
    {
        let zones: Vec<&Zone> = site.zones.iter().collect();
        wait_converged(TESTER, &zones, "race", &want).await;
        // Both agents run (each zone learned of the other through the period) before the races start.
        wait_caught_up(&zones).await;
    }

    // Same key, both zones, the second write 50 ms after the first (long before a poll could carry the
    // first over and back): the second wins everywhere. Alternate which zone writes first.
    for i in 0..6u64 {
        let key = format!("same-{i}");
        let (first, second) = if i % 2 == 0 { (&ca, &cb) } else { (&cb, &ca) };
        let body1 = pattern(3000 + i as usize, 1000 + i);
        let body2 = pattern(3100 + i as usize, 2000 + i);
        put_object(first, "race", &key, &body1).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let etag2 = put_object(second, "race", &key, &body2).await;
        want.insert(key, (body2, etag2));
    }
    // A overwrites, B deletes 50 ms later: deleted in both.
    put_object(&ca, "race", "victim-del", b"victim-del v1").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    delete_object(&cb, "race", "victim-del").await;
    want.remove("victim-del");
    // B deletes, A writes 50 ms later: the write stays in both.
    let body = b"victim-put v1, after the delete".to_vec();
    delete_object(&cb, "race", "victim-put").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let etag = put_object(&ca, "race", "victim-put", &body).await;
    want.insert("victim-put".into(), (body, etag));
    {
        let zones: Vec<&Zone> = site.zones.iter().collect();
        wait_converged(TESTER, &zones, "race", &want).await;
        assert_bodies(TESTER, &zones, "race", &want).await;
    }

    // The older write may reach B only after B's delete: A overwrites and dies at once (kill -9), B deletes
    // 50 ms after the overwrite, A comes back. The key must be gone in both, and must stay gone.
    put_object(&ca, "race", "late", b"late v1, older than the delete").await;
    site.zones[0].kill();
    tokio::time::sleep(Duration::from_millis(50)).await;
    delete_object(&cb, "race", "late").await;
    want.remove("late");
    site.zones[0].start();
    let zones: Vec<&Zone> = site.zones.iter().collect();
    wait_converged(TESTER, &zones, "race", &want).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    wait_converged(TESTER, &zones, "race", &want).await;
    assert_bodies(TESTER, &zones, "race", &want).await;
}

/// A zone killed (SIGKILL) in the middle of syncing 1600 objects: restarted, it ends with exactly the
/// source's objects, and its bucket stats count each object once.
#[tokio::test]
async fn kill_9_in_the_middle_of_a_sync() {
    let mut site = Site::build_with(&["us-east", "us-west"], |z| z.sync.concurrency = 1);
    // More objects than one page (500), which is applied in one transaction: a kill can fall between pages.
    const N: usize = 1600;
    const SIZE: usize = 2 << 10;
    let mut caught_mid_sync = None;
    for round in 0..3 {
        let bucket = format!("bulk-{round}");
        let ca = site.zones[0].client();
        create_bucket(&ca, &bucket).await;
        let first = pattern(SIZE, 0);
        let mut want = Want::new();
        want.insert(
            "000-first".into(),
            (first.clone(), put_object(&ca, &bucket, "000-first", &first).await),
        );
        {
            let zones: Vec<&Zone> = site.zones.iter().collect();
            wait_converged(TESTER, &zones, &bucket, &want).await;
        }

        site.zones[1].stop();
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..8 {
            let client = ca.clone();
            let bucket = bucket.clone();
            tasks.spawn(async move {
                let mut written = Vec::new();
                for i in (w..N).step_by(8) {
                    let key = format!("obj/{i:04}");
                    let body = pattern(SIZE, (round * 10_000 + i) as u64);
                    let etag = put_object(&client, &bucket, &key, &body).await;
                    written.push((key, (body, etag)));
                }
                written
            });
        }
        while let Some(done) = tasks.join_next().await {
            want.extend(done.expect("writer task"));
        }
        assert_eq!(want.len(), N + 1);

        // B starts syncing; kill it once it has some but not all of the objects.
        site.zones[1].start();
        let deadline = Instant::now() + CONVERGE;
        let mut seen = 0;
        while Instant::now() < deadline {
            seen = list_objects(&site.zones[1], &bucket)
                .await
                .map(|l| l.len())
                .unwrap_or(0);
            if seen > 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        site.zones[1].kill();
        println!("round {round}: us-west had {seen} of {} objects when killed", N + 1);
        tokio::time::sleep(Duration::from_millis(200)).await;
        site.zones[1].start();

        let zones: Vec<&Zone> = site.zones.iter().collect();
        wait_converged(TESTER, &zones, &bucket, &want).await;
        let size: usize = want.values().map(|(b, _)| b.len()).sum();
        for z in &zones {
            assert_eq!(
                bucket_stats(z, &bucket),
                ((N + 1) as u64, size as u64),
                "bucket stats of {bucket} on {} (objects, bytes) after the crash",
                z.name
            );
        }
        if seen > 1 && seen < N + 1 {
            caught_mid_sync = Some(seen);
            break;
        }
    }
    assert!(
        caught_mid_sync.is_some(),
        "in 3 rounds, us-west never was seen with part of the objects before the kill: the crash was not mid-sync"
    );
}

/// A peer down for a while: the other zone reports it unreachable with the error, keeps its logs for it,
/// and once the peer is back both zones converge and report every source caught up.
#[tokio::test]
async fn a_stopped_peer_catches_up() {
    let mut site = Site::build_with(&["us-east", "us-west"], |z| z.sync.log_trim_interval_secs = 1);
    let (ca, cb) = (site.zones[0].client(), site.zones[1].client());
    create_bucket(&ca, "outage").await;
    let mut want = Want::new();
    for i in 0..20u64 {
        let key = format!("o/{i:02}");
        let body = pattern(800 + i as usize, i);
        want.insert(
            key.clone(),
            (body.clone(), put_object(&ca, "outage", &key, &body).await),
        );
    }
    for i in 0..5u64 {
        let key = format!("w/{i}");
        let body = pattern(900, 50 + i);
        want.insert(
            key.clone(),
            (body.clone(), put_object(&cb, "outage", &key, &body).await),
        );
    }
    {
        let zones: Vec<&Zone> = site.zones.iter().collect();
        wait_converged(TESTER, &zones, "outage", &want).await;
    }

    site.zones[1].stop();
    for i in 0..20u64 {
        let key = format!("n/{i:02}");
        let body = pattern(700, 100 + i);
        want.insert(
            key.clone(),
            (body.clone(), put_object(&ca, "outage", &key, &body).await),
        );
    }
    for i in 0..5u64 {
        let key = format!("o/{i:02}");
        let body = pattern(1234, 200 + i);
        want.insert(
            key.clone(),
            (body.clone(), put_object(&ca, "outage", &key, &body).await),
        );
    }
    for i in 5..10u64 {
        let key = format!("o/{i:02}");
        delete_object(&ca, "outage", &key).await;
        want.remove(&key);
    }
    delete_object(&ca, "outage", "w/0").await;
    want.remove("w/0");

    // us-east says us-west is unreachable, and why.
    let a = &site.zones[0];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = sync_status(a).await;
        let src = status.as_ref().ok().and_then(|s| data_source(s, "us-west").cloned());
        if let Some(src) = &src {
            if src["reachable"] == false && src["last_error"].as_str().is_some_and(|e| !e.is_empty()) {
                break;
            }
        }
        if Instant::now() > deadline {
            let msg = format!("us-east never reported us-west unreachable with a last_error: {status:?}");
            panic!("{}", report(&msg, &[a]).await);
        }
        tokio::time::sleep(POLL).await;
    }
    // The failures are counted.
    let errors = metric(
        a,
        "meridian_sync_errors_total",
        &[("source_zone", "us-west"), ("log", "data")],
    )
    .await;
    assert!(
        errors >= 1.0,
        "meridian_sync_errors_total{{source_zone=\"us-west\",log=\"data\"}} on us-east is {errors} while us-west \
         is down:\n{}",
        metrics_text(a).await.unwrap_or_default()
    );
    // Several trim passes (every second) while us-west cannot be asked: nothing it still needs goes.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    site.zones[1].start();
    let zones: Vec<&Zone> = site.zones.iter().collect();
    wait_converged(TESTER, &zones, "outage", &want).await;
    assert_bodies(TESTER, &zones, "outage", &want).await;
    wait_caught_up(&zones).await;
    for z in &zones {
        let st = sync_status(z).await.expect("sync status");
        assert_eq!(st["realm"]["name"], "gold", "{st:#}");
        assert_eq!(st["zonegroup"]["name"], "us", "{st:#}");
        assert_eq!(st["zone"]["name"], z.name.as_str(), "{st:#}");
        let role = if z.name == "us-east" { "master" } else { "secondary" };
        assert_eq!(st["metadata"]["role"], role, "{st:#}");
        for src in sources(&st) {
            assert_eq!(src["phase"], "incremental", "{st:#}");
            assert_eq!(src["behind_entries"], 0, "{st:#}");
            assert!(
                src["oldest_change_age_secs"].is_null(),
                "caught up, yet a change is pending: {st:#}"
            );
            assert_eq!(src["shards"]["behind"], serde_json::json!([]), "{st:#}");
            assert_eq!(src["stalled_shards"], serde_json::json!([]), "{st:#}");
        }
        let data = data_source(&st, if z.name == "us-east" { "us-west" } else { "us-east" })
            .unwrap_or_else(|| panic!("no data source on {}: {st:#}", z.name));
        assert_eq!(data["shards"]["total"], 128, "{st:#}");
        assert_eq!(data["pending_buckets"], 0, "{st:#}");
        if z.name == "us-west" {
            assert_eq!(st["metadata"]["source"]["shards"]["total"], 64, "{st:#}");
            assert_eq!(st["metadata"]["source"]["source_zone"]["name"], "us-east", "{st:#}");
        }
    }
}

/// A zone added to a zonegroup whose only zone already holds data: full sync brings every bucket and
/// object over, then both zones replicate each other's new writes.
#[tokio::test]
async fn a_new_zone_full_syncs_existing_data() {
    let mut site = Site::build(&["us-east"]);
    let ca = site.zones[0].client();
    let buckets = ["old-0", "old-1", "old-2"];
    let mut wants: Vec<Want> = Vec::new();
    let mut total = 0;
    for (bi, bucket) in buckets.iter().enumerate() {
        create_bucket(&ca, bucket).await;
        let mut want = Want::new();
        for i in 0..15u64 {
            let key = format!("k/{i:02}");
            let body = pattern(300 + 97 * i as usize, bi as u64 * 100 + i);
            want.insert(key.clone(), (body.clone(), put_object(&ca, bucket, &key, &body).await));
            total += 1;
        }
        wants.push(want);
    }
    let body = b"existing, with metadata".to_vec();
    let etag = put_with_meta(&ca, "old-0", "meta.txt", &body, "text/x-old", &[("era", "before-b")]).await;
    wants[0].insert("meta.txt".into(), (body, etag));
    total += 1;

    let b = site.add_zone("us-west", |_| {});
    assert_eq!(b, 1);

    // Watch B's status while it syncs: which phases its data source from us-east goes through.
    let mut phases = BTreeSet::new();
    let mut last_status = Value::Null;
    let deadline = Instant::now() + CONVERGE;
    loop {
        if let Ok(st) = sync_status(&site.zones[1]).await {
            if let Some(p) = data_source(&st, "us-east").and_then(|s| s["phase"].as_str()) {
                phases.insert(p.to_string());
            }
            last_status = st;
        }
        let mut done = true;
        for (bucket, want) in buckets.iter().zip(&wants) {
            if list_objects(&site.zones[1], bucket).await.ok() != Some(listing_of(want)) {
                done = false;
                break;
            }
        }
        if done {
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let zones: Vec<&Zone> = site.zones.iter().collect();
    for (bucket, want) in buckets.iter().zip(&wants) {
        wait_converged(TESTER, &zones, bucket, want).await;
    }
    assert_bodies(TESTER, &zones, "old-0", &wants[0]).await;
    let head = site.zones[1]
        .client()
        .head_object()
        .bucket("old-0")
        .key("meta.txt")
        .send()
        .await
        .expect("HEAD meta.txt on us-west");
    assert_eq!(head.content_type(), Some("text/x-old"));
    assert_eq!(
        head.metadata().and_then(|m| m.get("era")).map(String::as_str),
        Some("before-b")
    );
    // The buckets came by metadata sync.
    let listed = metadata_list(&site.zones[1], "bucket");
    for bucket in buckets {
        assert!(
            listed.contains(&bucket.to_string()),
            "metadata list bucket on us-west: {listed:?}"
        );
    }

    wait_caught_up(&zones).await;
    let st = sync_status(&site.zones[1]).await.expect("sync status of us-west");
    let src = data_source(&st, "us-east")
        .unwrap_or_else(|| panic!("no data source us-east: {st:#}"))
        .clone();
    assert_eq!(src["phase"], "incremental", "{st:#}");
    let items_done = src["full_sync"]["items_done"].as_u64().unwrap_or(0);
    println!(
        "us-west's data source us-east went through phases {phases:?}; full_sync at the end: {}",
        src["full_sync"]
    );
    assert!(
        phases.contains("full") || items_done >= total,
        "us-west never showed phase full (phases seen: {phases:?}) and its full_sync items_done is {items_done} \
         for {total} objects: {st:#}\nlast status seen while syncing: {last_status:#}"
    );
    let fetched = metric(
        &site.zones[1],
        "meridian_sync_fetched_objects_total",
        &[("source_zone", "us-east")],
    )
    .await;
    assert!(
        fetched >= total as f64,
        "meridian_sync_fetched_objects_total{{source_zone=\"us-east\"}} on us-west is {fetched}, want >= {total}"
    );

    // Both directions work from now on: A learned of B through the period.
    let cb = site.zones[1].client();
    let body = b"written in the new zone".to_vec();
    let etag = put_object(&cb, "old-1", "from-new-zone", &body).await;
    wants[1].insert("from-new-zone".into(), (body, etag));
    let body = b"written in the old zone after the join".to_vec();
    let etag = put_object(&ca, "old-2", "after-join", &body).await;
    wants[2].insert("after-join".into(), (body, etag));
    wait_converged(TESTER, &zones, "old-1", &wants[1]).await;
    wait_converged(TESTER, &zones, "old-2", &wants[2]).await;

    // The operator's view.
    let help = site.zones[1].cli_raw(&["sync", "status", "--help"]);
    assert!(
        help.status.success(),
        "meridian sync status --help: {}",
        String::from_utf8_lossy(&help.stderr)
    );
    let out = site.zones[1].cli_raw(&["sync", "status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "meridian sync status on us-west failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("us-east"), "meridian sync status on us-west:\n{stdout}");
    let json = site.zones[1].cli(&["sync", "status", "--format", "json"]);
    assert_eq!(json["zone"]["name"], "us-west", "{json:#}");
    assert!(data_source(&json, "us-east").is_some(), "{json:#}");
}

/// A zone that just joined changes objects it got from the old zone (deletes and overwrites) as soon as it
/// holds them, whether or not the old zone already runs its agent for the new one: the changes reach the old
/// zone all the same.
#[tokio::test]
async fn changes_right_after_a_zone_joins_reach_the_old_zone() {
    let mut site = Site::build(&["us-east"]);
    let ca = site.zones[0].client();
    create_bucket(&ca, "joined").await;
    let mut want = Want::new();
    for i in 0..10u64 {
        let key = format!("k/{i}");
        let body = pattern(700, i);
        want.insert(
            key.clone(),
            (body.clone(), put_object(&ca, "joined", &key, &body).await),
        );
    }
    site.add_zone("us-west", |_| {});
    let b = &site.zones[1];
    // As soon as us-west holds us-east's objects, change some of them there.
    let deadline = Instant::now() + CONVERGE;
    while list_objects(b, "joined").await.ok() != Some(listing_of(&want)) {
        if Instant::now() > deadline {
            let msg = "us-west never got us-east's objects".to_string();
            panic!("{}", report(&msg, &[&site.zones[0], b]).await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cb = b.client();
    for key in ["k/0", "k/1", "k/2"] {
        delete_object(&cb, "joined", key).await;
        want.remove(key);
    }
    let body = b"overwritten in the new zone".to_vec();
    let etag = put_object(&cb, "joined", "k/3", &body).await;
    want.insert("k/3".into(), (body, etag));
    let body = b"new in the new zone".to_vec();
    let etag = put_object(&cb, "joined", "k/new", &body).await;
    want.insert("k/new".into(), (body, etag));

    let zones: Vec<&Zone> = site.zones.iter().collect();
    wait_converged(TESTER, &zones, "joined", &want).await;
    assert_bodies(TESTER, &zones, "joined", &want).await;
}

/// The per-bucket status of a caught-up zone, and the sync metrics.
#[tokio::test]
async fn bucket_sync_status_and_metrics() {
    let site = Site::build(&["us-east", "us-west"]);
    let (a, b) = (&site.zones[0], &site.zones[1]);
    let zones = [a, b];
    let (ca, cb) = (a.client(), b.client());
    create_bucket(&ca, "watched").await;
    let mut want = Want::new();
    let mut from_a = 0;
    for i in 0..10u64 {
        let key = format!("a/{i}");
        let body = pattern(4096 + i as usize, i);
        from_a += body.len();
        want.insert(
            key.clone(),
            (body.clone(), put_object(&ca, "watched", &key, &body).await),
        );
    }
    for i in 0..5u64 {
        let key = format!("b/{i}");
        let body = pattern(2048, 100 + i);
        want.insert(
            key.clone(),
            (body.clone(), put_object(&cb, "watched", &key, &body).await),
        );
    }
    wait_converged(TESTER, &zones, "watched", &want).await;

    let bucket_id = a.cli(&["bucket", "stats", "--bucket", "watched"])["id"]
        .as_str()
        .expect("bucket id")
        .to_string();
    for (zone, source) in [(b, "us-east"), (a, "us-west")] {
        let deadline = Instant::now() + CONVERGE;
        loop {
            let st = bucket_sync_status(zone, "watched").await;
            let why = match &st {
                Err(e) => Some(e.clone()),
                Ok(v) => {
                    let srcs = v["sources"].as_array().cloned().unwrap_or_default();
                    if srcs.is_empty() {
                        Some("no sources".to_string())
                    } else if !srcs.iter().any(|s| s["source_zone"]["name"] == source) {
                        Some(format!("no source {source}"))
                    } else {
                        srcs.iter()
                            .find(|s| s["caught_up"] != true || s["behind_entries"] != 0 || s["pending"] != false)
                            .map(|s| format!("not caught up: {s}"))
                    }
                }
            };
            match why {
                None => {
                    let v = st.unwrap();
                    assert_eq!(v["bucket"], "watched", "{v:#}");
                    assert_eq!(v["bucket_id"], bucket_id.as_str(), "{v:#}");
                    for s in v["sources"].as_array().unwrap() {
                        assert_ne!(
                            s["source_zone"]["name"],
                            zone.name.as_str(),
                            "a zone is no source of itself"
                        );
                        assert_eq!(s["phase"], "incremental", "{v:#}");
                        assert!(s["last_error"].is_null(), "{v:#}");
                    }
                    break;
                }
                Some(why) if Instant::now() > deadline => {
                    let msg = format!("sync/bucket?bucket=watched on {}: {why}: {st:?}", zone.name);
                    panic!("{}", report(&msg, &zones).await);
                }
                Some(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    // What us-west synced from us-east, as a peer reads it to trim: the bucket at us-east's bilog head.
    let east_id = a.zone_id(None);
    let head = bilog(a, "watched")
        .await
        .expect("bilog of watched on us-east")
        .last()
        .map(op_id)
        .expect("us-east's bilog of watched is not empty");
    let markers = admin_get(b, "sync/markers", &[("source-zone", &east_id)])
        .await
        .expect("sync/markers on us-west");
    assert_eq!(
        markers["buckets"][&bucket_id],
        head.as_str(),
        "us-west's marker for watched from us-east: {markers:#}"
    );
    assert!(
        markers["data"].is_object() && markers["metadata"].is_object(),
        "{markers:#}"
    );

    // Metrics, labelled with the source zone's name.
    let text = metrics_text(b).await.expect("metrics of us-west");
    let fetched: f64 = metric_samples(
        &text,
        "meridian_sync_fetched_objects_total",
        &[("source_zone", "us-east")],
    )
    .iter()
    .map(|(_, v)| v)
    .sum();
    assert!(
        fetched >= 10.0,
        "fetched objects from us-east on us-west: {fetched}\n{text}"
    );
    let bytes: f64 = metric_samples(
        &text,
        "meridian_sync_fetched_bytes_total",
        &[("source_zone", "us-east")],
    )
    .iter()
    .map(|(_, v)| v)
    .sum();
    assert!(
        bytes >= from_a as f64,
        "fetched bytes from us-east on us-west: {bytes}, want >= {from_a}\n{text}"
    );
    // One more change each way once the bucket is in incremental sync: applied from the bucket index log.
    for (client, key) in [(&ca, "a/late"), (&cb, "b/late")] {
        let body = format!("{key}, incremental").into_bytes();
        want.insert(
            key.to_string(),
            (body.clone(), put_object(client, "watched", key, &body).await),
        );
    }
    wait_converged(TESTER, &zones, "watched", &want).await;
    let text = metrics_text(b).await.expect("metrics of us-west");
    let lag: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("meridian_sync_lag_seconds") && l.contains("source_zone=\"us-east\""))
        .map(str::to_string)
        .collect();
    assert!(
        !lag.is_empty(),
        "no meridian_sync_lag_seconds with source_zone=\"us-east\":\n{text}"
    );
    assert!(
        lag.iter().any(|l| l.contains("log=\"data\"")),
        "meridian_sync_lag_seconds has no log=\"data\" series: {lag:#?}"
    );
    let behind = metric_samples(
        &text,
        "meridian_sync_behind_entries",
        &[("source_zone", "us-east"), ("log", "data")],
    );
    assert!(
        !behind.is_empty(),
        "no meridian_sync_behind_entries{{source_zone=\"us-east\",log=\"data\"}} on us-west:\n{text}"
    );
    let on_a = metric(a, "meridian_sync_fetched_objects_total", &[("source_zone", "us-west")]).await;
    assert!(on_a >= 5.0, "fetched objects from us-west on us-east: {on_a}");

    // The operator's view of one bucket.
    let out = b.cli_raw(&["bucket", "sync", "status", "--bucket", "watched"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "meridian bucket sync status on us-west failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("us-east"),
        "meridian bucket sync status on us-west:\n{stdout}"
    );
    // The lag of the metadata log (the bucket's creation reached us-west through it).
    assert!(
        lag.iter().any(|l| l.contains("log=\"metadata\"")),
        "meridian_sync_lag_seconds on us-west has no log=\"metadata\" series: {lag:#?}"
    );
}

/// With trimming every second, a source keeps its bucket index log while a peer has not read it, and trims
/// it once every peer has.
#[tokio::test]
async fn logs_are_trimmed_once_every_peer_has_them() {
    let mut site = Site::build_with(&["us-east", "us-west"], |z| z.sync.log_trim_interval_secs = 1);
    let ca = site.zones[0].client();
    create_bucket(&ca, "trim").await;
    let mut want = Want::new();
    want.insert(
        "first".into(),
        (b"first".to_vec(), put_object(&ca, "trim", "first", b"first").await),
    );
    {
        let zones: Vec<&Zone> = site.zones.iter().collect();
        wait_converged(TESTER, &zones, "trim", &want).await;
    }

    site.zones[1].stop();
    for i in 0..30u64 {
        let key = format!("t/{i:02}");
        let body = pattern(600, i);
        want.insert(key.clone(), (body.clone(), put_object(&ca, "trim", &key, &body).await));
    }
    let a = &site.zones[0];
    let entries = bilog(a, "trim").await.expect("bilog of trim on us-east");
    let written = |entries: &[Value]| {
        entries
            .iter()
            .filter(|e| e["object"].as_str().is_some_and(|o| o.starts_with("t/")))
            .count()
    };
    assert_eq!(written(&entries), 30, "the 30 writes are in the log: {entries:#?}");
    let head = op_id(entries.last().unwrap());
    // Three trim passes while us-west is down: nothing it has not read goes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kept = bilog(a, "trim").await.expect("bilog of trim on us-east");
    assert_eq!(
        written(&kept),
        30,
        "entries us-west has not read were trimmed while it was down: {kept:#?}\n{}",
        a.log_tail(100)
    );

    site.zones[1].start();
    let zones: Vec<&Zone> = site.zones.iter().collect();
    let a = zones[0];
    wait_converged(TESTER, &zones, "trim", &want).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last;
    // Trimming keeps a log's newest entry: it is the head readers compare their positions with.
    loop {
        last = bilog(a, "trim").await;
        if matches!(&last, Ok(e) if e.len() == 1 && op_id(&e[0]) == head) {
            break;
        }
        if Instant::now() > deadline {
            let msg = format!("the bilog of trim on us-east was not trimmed after us-west caught up: {last:?}");
            panic!("{}", report(&msg, &zones).await);
        }
        tokio::time::sleep(POLL).await;
    }
    match bilog(&site.zones[1], "trim").await {
        Ok(e) => println!("us-west's own bilog of trim holds {} entries", e.len()),
        Err(e) => println!("us-west's bilog of trim: {e}"),
    }

    // A trimmed log goes on: a new write reaches us-west, and is trimmed in turn.
    let body = b"after the trim".to_vec();
    let etag = put_object(&ca, "trim", "after-trim", &body).await;
    want.insert("after-trim".into(), (body, etag));
    wait_converged(TESTER, &zones, "trim", &want).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let entries = bilog(a, "trim").await;
        if matches!(&entries, Ok(e) if e.len() == 1 && e[0]["object"] == "after-trim") {
            break;
        }
        if Instant::now() > deadline {
            panic!("the entry of after-trim was never trimmed: {entries:?}");
        }
        tokio::time::sleep(POLL).await;
    }
    // The head is still known after the trim.
    let info = admin_get(a, "log", &[("type", "bucket-index"), ("bucket", "trim"), ("info", "")])
        .await
        .expect("bilog info");
    assert!(
        info["max_marker"].as_str().unwrap_or_default() > head.as_str(),
        "bilog info of trim on us-east after trimming: max_marker must be the log's head (past {head}, the \
         head before the last write): {info:#}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// A network partition: us-west in a network namespace, reached by the test through one veth pair and by
// us-east through another (the replication link), which the test takes down and up again.

/// Runs `ip ARGS` (in namespace `ns` if given); Err with its stderr if it fails.
fn ip(ns: Option<&str>, args: &[&str]) -> Result<(), String> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = ns {
        cmd.args(["netns", "exec", ns, "ip"]);
    }
    cmd.args(args);
    let out = run_with_timeout(cmd, Duration::from_secs(20));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}{}: {}",
            ns.map(|n| format!("(netns {n}) ")).unwrap_or_default(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A network namespace with two veth pairs to the host; removed on drop.
struct Netns {
    name: String,
    /// Host end and namespace end of the replication link.
    rep: (String, String),
    host_ctl: String,
    /// `(host, namespace)` addresses of the control link (the test reaches the namespace through it).
    ctl_ips: (String, String),
    /// `(host, namespace)` addresses of the replication link.
    rep_ips: (String, String),
}

impl Netns {
    fn create() -> Result<Netns, String> {
        let id = std::process::id() % 100_000;
        let net = (id % 250) as u8;
        let netns = Netns {
            name: format!("mrd-{id}"),
            rep: (format!("mrr{id}h"), format!("mrr{id}n")),
            host_ctl: format!("mrc{id}h"),
            ctl_ips: (format!("10.231.{net}.1"), format!("10.231.{net}.2")),
            rep_ips: (format!("10.232.{net}.1"), format!("10.232.{net}.2")),
        };
        let ns = netns.name.clone();
        let _ = ip(None, &["netns", "del", &ns]);
        ip(None, &["netns", "add", &ns])?;
        // From here on, drop cleans up.
        ip(Some(&ns), &["link", "set", "lo", "up"])?;
        let ctl_ns = format!("mrc{id}n");
        for ((host, inner), (host_ip, ns_ip)) in [
            ((netns.host_ctl.clone(), ctl_ns), netns.ctl_ips.clone()),
            (netns.rep.clone(), netns.rep_ips.clone()),
        ] {
            let _ = ip(None, &["link", "del", &host]);
            ip(None, &["link", "add", &host, "type", "veth", "peer", "name", &inner])?;
            ip(None, &["link", "set", &inner, "netns", &ns])?;
            ip(None, &["addr", "add", &format!("{host_ip}/24"), "dev", &host])?;
            ip(Some(&ns), &["addr", "add", &format!("{ns_ip}/24"), "dev", &inner])?;
            ip(None, &["link", "set", &host, "up"])?;
            ip(Some(&ns), &["link", "set", &inner, "up"])?;
        }
        // While the replication link is down, its addresses are unreachable at once rather than routed
        // elsewhere (the connected route wins while the link is up).
        let rep_net = format!("{}0/24", &netns.rep_ips.0[..netns.rep_ips.0.len() - 1]);
        let _ = ip(None, &["route", "add", "unreachable", &rep_net, "metric", "4000"]);
        Ok(netns)
    }

    /// Cuts (`false`) or restores (`true`) the replication link, both ends.
    fn set_link(&self, up: bool) -> Result<(), String> {
        let state = if up { "up" } else { "down" };
        ip(None, &["link", "set", &self.rep.0, state])?;
        ip(Some(&self.name), &["link", "set", &self.rep.1, state])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let rep_net = format!("{}0/24", &self.rep_ips.0[..self.rep_ips.0.len() - 1]);
        let _ = ip(None, &["route", "del", "unreachable", &rep_net, "metric", "4000"]);
        let _ = ip(None, &["link", "del", &self.rep.0]);
        let _ = ip(None, &["link", "del", &self.host_ctl]);
        let _ = ip(None, &["netns", "del", &self.name]);
    }
}

/// Why the partition test cannot run here, if it cannot.
fn partition_unsupported() -> Option<String> {
    let uid = run_with_timeout(
        {
            let mut c = Command::new("id");
            c.arg("-u");
            c
        },
        Duration::from_secs(10),
    );
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not running as root".into());
    }
    for tool in ["ip", "tc"] {
        if Command::new(tool).arg("-V").output().is_err() {
            return Some(format!("`{tool}` is not available"));
        }
    }
    None
}

#[tokio::test]
async fn partition_between_zones_heals() {
    if let Some(why) = partition_unsupported() {
        println!("skipped: {why}");
        return;
    }
    let netns = match Netns::create() {
        Ok(n) => n,
        Err(e) => {
            println!("skipped: cannot set up network namespaces: {e}");
            return;
        }
    };
    // Latency and loss on the replication link as well, when the kernel has netem.
    let netem = Command::new("tc")
        .args([
            "qdisc",
            "add",
            "dev",
            &netns.rep.0,
            "root",
            "netem",
            "delay",
            "20ms",
            "5ms",
            "loss",
            "1%",
        ])
        .output();
    match netem {
        Ok(o) if o.status.success() => println!("netem: 20 ms ± 5 ms delay and 1% loss on the replication link"),
        Ok(o) => println!(
            "note: no netem on the replication link ({}); partition only",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => println!("note: tc failed ({e}); partition only"),
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let pa = free_port();
    let pb = free_port();
    let any = |p: u16| -> SocketAddr { ([0, 0, 0, 0], p).into() };
    let a = Zone::with_network(
        dir.path(),
        "us-east",
        any(pa),
        ([127, 0, 0, 1], pa).into(),
        format!("http://{}:{pa}", netns.rep_ips.0),
        None,
    );
    let b = Zone::with_network(
        dir.path(),
        "us-west",
        any(pb),
        format!("{}:{pb}", netns.ctl_ips.1).parse().expect("address"),
        format!("http://{}:{pb}", netns.rep_ips.1),
        Some(netns.name.clone()),
    );
    let site = Site::from_zones(dir, vec![a, b]);
    let (a, b) = (&site.zones[0], &site.zones[1]);
    let zones = [a, b];
    let (ca, cb) = (a.client(), b.client());
    create_bucket(&ca, "split").await;
    let mut want = Want::new();
    for (client, prefix) in [(&ca, "east"), (&cb, "west")] {
        for i in 0..5u64 {
            let key = format!("{prefix}/before-{i}");
            let body = pattern(1000, i + if prefix == "east" { 0 } else { 50 });
            want.insert(
                key.clone(),
                (body.clone(), put_object(client, "split", &key, &body).await),
            );
        }
    }
    wait_converged(TESTER, &zones, "split", &want).await;
    wait_caught_up(&zones).await;

    netns.set_link(false).expect("cut the replication link");
    // Both sides keep serving their own writes during the partition.
    for (client, prefix) in [(&ca, "east"), (&cb, "west")] {
        for i in 0..10u64 {
            let key = format!("{prefix}/during-{i}");
            let body = pattern(1500, 100 + i + if prefix == "east" { 0 } else { 50 });
            want.insert(
                key.clone(),
                (body.clone(), put_object(client, "split", &key, &body).await),
            );
        }
    }
    put_object(&ca, "split", "contested", b"east's version, older").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let etag = put_object(&cb, "split", "contested", b"west's version, newer").await;
    want.insert("contested".into(), (b"west's version, newer".to_vec(), etag));
    delete_object(&ca, "split", "west/before-0").await;
    want.remove("west/before-0");

    // us-east cannot reach us-west, and says so. The status document is asked live from the source; note
    // how long it takes while the source's packets go nowhere.
    let mut slowest = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let asked = Instant::now();
        let st = admin_request_within(a, "GET", "sync/status", &[], Duration::from_secs(45)).await;
        slowest = slowest.max(asked.elapsed());
        let src = match &st {
            Ok((200, v)) => data_source(v, "us-west").cloned(),
            _ => None,
        };
        if let Some(src) = &src {
            if src["reachable"] == false && src["last_error"].as_str().is_some_and(|e| !e.is_empty()) {
                break;
            }
        }
        if Instant::now() > deadline {
            let msg = format!("us-east never reported us-west unreachable during the partition: {st:?}");
            panic!("{}", report(&msg, &zones).await);
        }
        tokio::time::sleep(POLL).await;
    }
    // Nothing crossed while the link was down.
    let on_a = list_objects(a, "split").await.expect("list on us-east");
    assert!(
        !on_a.contains_key("west/during-0"),
        "a write of the partitioned zone reached us-east"
    );

    netns.set_link(true).expect("restore the replication link");
    wait_converged(TESTER, &zones, "split", &want).await;
    assert_bodies(TESTER, &zones, "split", &want).await;
    wait_caught_up(&zones).await;
    assert!(
        slowest < Duration::from_secs(10),
        "GET /admin/sync/status on us-east took {slowest:?} to answer while us-west was partitioned away"
    );
    drop(site);
    drop(netns);
}

/// The data source `source` of `zone`'s sync status, read through the CLI (offline while the server is
/// stopped: then the status is computed from the data directory, asking the source live).
fn cli_data_source(zone: &Zone, source: &str) -> Value {
    let st = zone.cli(&["sync", "status", "--format", "json"]);
    data_source(&st, source)
        .cloned()
        .unwrap_or_else(|| panic!("no data source {source} in {st:#}"))
}

/// Issue 17: after an outage, the status said `oldest change 0.1 s ago` (a data-log mark's time is its
/// bucket's LAST change) and gave no counts at the zone level. Now the age is that of the oldest change not
/// applied, read from the source's bucket index log, and the zone level counts changes and buckets behind.
#[tokio::test]
async fn status_after_an_outage_tells_the_oldest_change_and_counts() {
    let mut site = Site::build(&["us-east", "us-west"]);
    let ca = site.zones[0].client();
    create_bucket(&ca, "outage-age").await;
    create_bucket(&ca, "outage-age2").await;
    put_object(&ca, "outage-age", "before", b"before").await;
    {
        let zones: Vec<&Zone> = site.zones.iter().collect();
        wait_visible(TESTER, &zones, &site.zones[1], "outage-age", "before").await;
        wait_caught_up(&zones).await;
    }
    site.zones[1].stop();
    let first = Instant::now();
    put_object(&ca, "outage-age", "first", b"first").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..128 {
        put_object(&ca, "outage-age", &format!("later/{i:03}"), b"later").await;
    }
    put_object(&ca, "outage-age2", "other", b"other").await;
    let outage = first.elapsed().as_secs_f64();

    let src = cli_data_source(&site.zones[1], "us-east");
    let age = src["oldest_change_age_secs"].as_f64().unwrap_or(-1.0);
    assert!(
        age >= 3.0 && age <= outage + 30.0,
        "the oldest change not applied was made {outage:.1} s ago (the first write after the stop), yet the \
         status says {age} s: {src:#}"
    );
    assert_eq!(src["caught_up"], false, "{src:#}");
    assert_eq!(
        src["changes_behind"], 130,
        "129 writes to one bucket and 1 to another: {src:#}"
    );
    assert_eq!(src["behind_buckets"], 2, "{src:#}");
    assert_eq!(src["counts_exact"], true, "{src:#}");
    let text = site.zones[1].cli_raw(&["sync", "status"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("data is behind by 130 changes in 2 buckets, oldest change "),
        "the zone-level line must count what is behind:\n{text}"
    );

    site.zones[1].start();
    let zones: Vec<&Zone> = site.zones.iter().collect();
    wait_caught_up(&zones).await;
    let st = sync_status(&site.zones[1]).await.expect("sync status");
    let src = data_source(&st, "us-east").expect("data source").clone();
    assert_eq!(src["changes_behind"], 0, "{st:#}");
    assert_eq!(src["behind_buckets"], 0, "{st:#}");
    assert!(src["oldest_change_age_secs"].is_null(), "{st:#}");
    assert!(src["eta_secs"].is_null(), "nothing left, no ETA: {st:#}");
    assert!(
        src["apply_rate"].as_f64().is_some_and(|r| r > 0.0),
        "the agent just applied 130 changes, so its rate is not 0: {st:#}"
    );
}

/// Push notification: with a poll interval of a minute, a change still reaches the other zone at once (its
/// agent is woken by the writer's zone), in both directions, and for metadata (a new bucket) too.
#[tokio::test]
async fn a_change_wakes_the_peer_without_polling() {
    let site = Site::build_with(&["us-east", "us-west"], |z| z.sync.poll_interval_ms = 60_000);
    let zones: Vec<&Zone> = site.zones.iter().collect();
    // The agents' first passes (full syncs) are done before the minute-long idle polls start.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (ca, cb) = (site.zones[0].client(), site.zones[1].client());
    create_bucket(&ca, "pushed").await;
    for (i, (client, to)) in [(&ca, &site.zones[1]), (&cb, &site.zones[0]), (&ca, &site.zones[1])]
        .into_iter()
        .enumerate()
    {
        let key = format!("k{i}");
        let start = Instant::now();
        put_object(client, "pushed", &key, b"pushed").await;
        while !exists(TESTER, to, "pushed", &key).await {
            if start.elapsed() > Duration::from_secs(20) {
                let msg = format!(
                    "pushed/{key} did not reach {} within 20 s while polling is every 60 s",
                    to.name
                );
                panic!("{}", report(&msg, &zones).await);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A peer that accepts connections but never answers must not slow the writer: notifications are sent by
/// a background task, each with a deadline.
#[tokio::test]
async fn a_hanging_peer_does_not_slow_writes() {
    let mut site = Site::build(&["us-east", "us-west"]);
    let ca = site.zones[0].client();
    create_bucket(&ca, "hang").await;
    put_object(&ca, "hang", "warm", b"warm").await;
    site.zones[1].stop();
    // us-west's port now accepts connections and never answers.
    let black_hole = std::net::TcpListener::bind(site.zones[1].addr).expect("bind us-west's port");
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        black_hole.set_nonblocking(true).expect("nonblocking");
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Ok((c, _)) = black_hole.accept() {
                conns.push(c);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        conns.len()
    });
    let start = Instant::now();
    for i in 0..20 {
        put_object(&ca, "hang", &format!("k{i}"), b"x").await;
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "20 PUTs took {took:?} while a peer hangs (a notification waits up to 1 s): the writer waited for it"
    );
    drop(held);
}

/// `meridian bench replication` between two zones: every object arrives, the report counts completed
/// writes, and the tool's own load on the target stays bounded, with either way of detecting arrival.
#[tokio::test]
async fn bench_replication_reports_lag_and_its_own_load() {
    let site = Site::build(&["us-east", "us-west"]);
    let (a, b) = (&site.zones[0], &site.zones[1]);
    for (mode, extra) in [
        ("log", vec!["--log-access-key", SYS_ACCESS, "--log-secret", SYS_SECRET]),
        ("head", vec!["--head-rate", "100"]),
    ] {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "bench",
            "replication",
            "--source-endpoint",
            &a.endpoint,
            "--target-endpoint",
            &b.endpoint,
        ])
        .args(["--access-key", ACCESS_KEY, "--secret", SECRET_KEY])
        .args(["--bucket", &format!("bench-{mode}"), "--rate", "40", "--objects", "40"])
        .args([
            "--duration",
            "30s",
            "--arrival-timeout",
            "30s",
            "--json",
            "--no-progress",
        ])
        .args(&extra);
        let out = run_with_timeout(cmd, Duration::from_secs(120));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode}: {stderr}\n{}", site.logs());
        let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{mode}: {e}: {stderr}"));
        assert_eq!(r["detection"], mode, "{r:#}");
        assert_eq!(r["sent"], 40, "{r:#}");
        assert_eq!(r["written"], 40, "{r:#}");
        assert_eq!(r["arrived"], 40, "{mode}: {r:#}\n{}", site.logs());
        assert_eq!(r["never_arrived"], 0, "{r:#}");
        let rate = r["achieved_rate"].as_f64().unwrap_or(0.0);
        assert!(rate > 5.0 && rate < 60.0, "completed writes/s at 40/s asked: {r:#}");
        let load = r["target_requests_per_s"].as_f64().unwrap_or(f64::MAX);
        let requests = r["target_requests"].as_u64().unwrap_or(0);
        assert!(requests > 0, "{r:#}");
        // The log is read once per 5 ms poll at most; HEADs are held to --head-rate.
        let bound = if mode == "log" { 250.0 } else { 110.0 };
        assert!(
            load <= bound,
            "{mode}: the tool put {load} requests/s on the target: {r:#}"
        );
        let p50 = r["lag"]["p50_ms"].as_f64().unwrap_or(-1.0);
        assert!(p50 >= 0.0, "{r:#}");
    }
}
