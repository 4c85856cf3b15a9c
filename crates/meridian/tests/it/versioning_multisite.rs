//! Object versions across the zones of a zonegroup (the multi-site harness of replication.rs): every version
//! and delete marker reaches the other zones with the same version id, removing a version replicates, the
//! null version of a suspended bucket replicates by last-writer-wins, concurrent writes of one key in two
//! zones give both versions everywhere in the same order, full sync carries every version, the versioning
//! status replicates as bucket metadata, and nothing ping-pongs.

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::types::BucketVersioningStatus;
use aws_sdk_s3::Client;
use serde_json::Value;
use std::time::{Duration, Instant};

const CONVERGE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(150);

/// One entry of ListObjectVersions: (key, version id, is latest, is delete marker, ETag).
type Entry = (String, String, bool, bool, String);

/// What a zone lists of a bucket's versions, exactly as it answers (versions in its order, then delete
/// markers in its order).
async fn snapshot(zone: &Zone, bucket: &str) -> Result<Vec<Entry>, String> {
    let client = zone.client();
    let mut out = Vec::new();
    let mut markers = Vec::new();
    let (mut km, mut vm): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = tokio::time::timeout(
            Duration::from_secs(20),
            client
                .list_object_versions()
                .bucket(bucket)
                .set_key_marker(km.clone())
                .set_version_id_marker(vm.clone())
                .send(),
        )
        .await
        .map_err(|_| format!("list versions of {bucket} on {}: no answer", zone.name))?
        .map_err(|e| format!("list versions of {bucket} on {}: {e:?}", zone.name))?;
        for v in page.versions() {
            out.push((
                v.key().unwrap_or_default().to_string(),
                v.version_id().unwrap_or_default().to_string(),
                v.is_latest().unwrap_or_default(),
                false,
                v.e_tag().unwrap_or_default().trim_matches('"').to_string(),
            ));
        }
        for m in page.delete_markers() {
            markers.push((
                m.key().unwrap_or_default().to_string(),
                m.version_id().unwrap_or_default().to_string(),
                m.is_latest().unwrap_or_default(),
                true,
                String::new(),
            ));
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        km = page.next_key_marker().map(str::to_string);
        vm = page.next_version_id_marker().map(str::to_string);
    }
    out.extend(markers);
    Ok(out)
}

fn logs_of(zones: &[&Zone]) -> String {
    zones
        .iter()
        .map(|z| format!("===== {} (last 150 lines) =====\n{}", z.name, z.log_tail(150)))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn bilogs_of(zones: &[&Zone], bucket: &str) -> String {
    let mut out = String::new();
    for z in zones {
        let log = match bilog(z, bucket).await {
            Ok(entries) => entries
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {} v={} trace={}",
                        e["op_id"], e["op"], e["object"], e["instance"], e["zones_trace"]
                    )
                })
                .collect::<Vec<_>>()
                .join("\n    "),
            Err(e) => e,
        };
        out.push_str(&format!("----- bilog of {bucket} on {} -----\n    {log}\n", z.name));
    }
    out
}

/// Waits until every zone lists the same versions of `bucket` (and, with `check`, until they pass it);
/// returns that listing.
async fn wait_same(zones: &[&Zone], bucket: &str, check: impl Fn(&[Entry]) -> Result<(), String>) -> Vec<Entry> {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let mut snaps = Vec::new();
        let mut problem = None;
        for z in zones {
            match snapshot(z, bucket).await {
                Ok(s) => snaps.push(s),
                Err(e) => {
                    problem = Some(e);
                    break;
                }
            }
        }
        if problem.is_none() {
            if let Some(i) = snaps.iter().position(|s| *s != snaps[0]) {
                problem = Some(format!(
                    "{} lists {:#?}\n{} lists {:#?}",
                    zones[0].name, snaps[0], zones[i].name, snaps[i]
                ));
            } else if let Err(e) = check(&snaps[0]) {
                problem = Some(format!("{e}: {:#?}", snaps[0]));
            }
        }
        let Some(problem) = problem else {
            return snaps.swap_remove(0);
        };
        if Instant::now() > deadline {
            panic!(
                "the versions of {bucket} did not converge within {CONVERGE:?}: {problem}\n{}\n{}",
                bilogs_of(zones, bucket).await,
                logs_of(zones)
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The versions of `key` in a listing: (version id, latest, marker).
fn of_key(snap: &[Entry], key: &str) -> Vec<(String, bool, bool)> {
    snap.iter()
        .filter(|e| e.0 == key)
        .map(|e| (e.1.clone(), e.2, e.3))
        .collect()
}

async fn wait_status(zones: &[&Zone], bucket: &str, want: BucketVersioningStatus) {
    let deadline = Instant::now() + CONVERGE;
    for z in zones {
        loop {
            let got = z.client().get_bucket_versioning().bucket(bucket).send().await;
            if let Ok(v) = &got {
                if v.status() == Some(&want) {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "versioning of {bucket} on {} is {got:?}, not {want:?}\n{}",
                z.name,
                logs_of(zones)
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

async fn delete(s3: &Client, bucket: &str, key: &str, version: Option<&str>) -> Option<String> {
    s3.delete_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await
        .unwrap_or_else(|e| panic!("delete {bucket}/{key} ({version:?}): {e:?}"))
        .version_id
}

/// Asserts every zone serves `body` for that version.
async fn assert_version_body(zones: &[&Zone], bucket: &str, key: &str, version: &str, body: &[u8]) {
    for z in zones {
        let out = z
            .client()
            .get_object()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {bucket}/{key}?versionId={version} on {}: {e:?}", z.name));
        assert_eq!(out.version_id(), Some(version));
        let got = out.body.collect().await.unwrap().into_bytes();
        assert_eq!(got.as_ref(), body, "{bucket}/{key} version {version} on {}", z.name);
    }
}

/// Waits until no zone's bucket index log of `bucket` changes for three looks a second apart (no
/// ping-pong); returns the logs' lengths.
async fn wait_quiet(zones: &[&Zone], bucket: &str) -> Vec<usize> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut history: Vec<Vec<(usize, Value)>> = Vec::new();
    loop {
        let mut look = Vec::new();
        for z in zones {
            let entries = bilog(z, bucket).await.unwrap_or_else(|e| panic!("{e}"));
            look.push((
                entries.len(),
                entries.last().map(|e| e["op_id"].clone()).unwrap_or_default(),
            ));
        }
        history.push(look);
        let n = history.len();
        if n >= 3 && history[n - 1] == history[n - 2] && history[n - 2] == history[n - 3] {
            return history[n - 1].iter().map(|(len, _)| *len).collect();
        }
        assert!(
            Instant::now() < deadline,
            "bucket index logs of {bucket} keep changing (ping-pong?): {history:?}\n{}",
            bilogs_of(zones, bucket).await
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test]
async fn versions_and_delete_markers_reach_the_other_zone() {
    let site = Site::build(&["us-east", "us-west"]);
    let (a, b) = (&site.zones[0], &site.zones[1]);
    let zones = [a, b];
    let (ca, cb) = (a.client(), b.client());
    create_bucket(&ca, "vrep").await;
    // Enabled through the zone that is not the metadata master: forwarded, then replicated as metadata.
    set_versioning(&cb, "vrep", BucketVersioningStatus::Enabled).await;
    wait_status(&zones, "vrep", BucketVersioningStatus::Enabled).await;

    let v1 = put_versioned(&ca, "vrep", "k", b"one, from east").await;
    let v2 = put_versioned(&ca, "vrep", "k", b"two, from east").await;
    wait_same(&zones, "vrep", |s| {
        (of_key(s, "k").len() == 2).then_some(()).ok_or("2 versions".into())
    })
    .await;
    let v3 = put_versioned(&cb, "vrep", "k", b"three, from west").await;
    let small = put_versioned(&cb, "vrep", "other", b"x").await;
    let big_body = pattern(300 << 10, 9);
    let big = put_versioned(&ca, "vrep", "big", &big_body).await;
    let snap = wait_same(&zones, "vrep", |s| {
        (of_key(s, "k").len() == 3)
            .then_some(())
            .ok_or("3 versions of k".into())
    })
    .await;
    assert_eq!(
        of_key(&snap, "k"),
        vec![
            (v3.clone(), true, false),
            (v2.clone(), false, false),
            (v1.clone(), false, false)
        ],
        "same ids, newest first, in both zones"
    );
    for (v, body) in [
        (&v1, &b"one, from east"[..]),
        (&v2, b"two, from east"),
        (&v3, b"three, from west"),
    ] {
        assert_version_body(&zones, "vrep", "k", v, body).await;
    }
    assert_version_body(&zones, "vrep", "big", &big, &big_body).await;
    assert_version_body(&zones, "vrep", "other", &small, b"x").await;

    // A delete marker made in one zone, a version removed in the other.
    let marker = delete(&ca, "vrep", "k", None).await.expect("marker id");
    delete(&cb, "vrep", "k", Some(&v1)).await;
    let snap = wait_same(&zones, "vrep", |s| {
        let k = of_key(s, "k");
        (k.len() == 3 && k.contains(&(marker.clone(), true, true)) && !k.iter().any(|e| e.0 == v1))
            .then_some(())
            .ok_or("marker on top, v1 gone".into())
    })
    .await;
    assert_eq!(
        of_key(&snap, "k"),
        vec![
            (v3.clone(), false, false),
            (v2.clone(), false, false),
            (marker.clone(), true, true)
        ]
    );
    for z in zones {
        let err = z
            .client()
            .get_object()
            .bucket("vrep")
            .key("k")
            .send()
            .await
            .unwrap_err();
        let raw = err.raw_response().unwrap();
        assert_eq!(raw.status().as_u16(), 404, "on {}", z.name);
        assert_eq!(raw.headers().get("x-amz-delete-marker"), Some("true"), "on {}", z.name);
    }
    // Removing the marker (in the other zone) brings v3 back everywhere.
    delete(&cb, "vrep", "k", Some(&marker)).await;
    wait_same(&zones, "vrep", |s| {
        (of_key(s, "k") == vec![(v3.clone(), true, false), (v2.clone(), false, false)])
            .then_some(())
            .ok_or("v3 current again".into())
    })
    .await;
    for z in zones {
        assert_eq!(get_bytes(&z.client(), "vrep", "k").await, b"three, from west");
    }

    // Suspended: the null version replicates and replaces the other zone's null version.
    set_versioning(&ca, "vrep", BucketVersioningStatus::Suspended).await;
    wait_status(&zones, "vrep", BucketVersioningStatus::Suspended).await;
    assert_eq!(put_versioned(&cb, "vrep", "k", b"null from west").await, "null");
    wait_same(&zones, "vrep", |s| {
        (of_key(s, "k").first() == Some(&("null".into(), true, false)))
            .then_some(())
            .ok_or("null on top".into())
    })
    .await;
    assert_eq!(put_versioned(&ca, "vrep", "k", b"null from east").await, "null");
    let snap = wait_same(&zones, "vrep", |s| {
        let k = of_key(s, "k");
        let etag = s.iter().find(|e| e.0 == "k" && e.1 == "null").map(|e| e.4.clone());
        (k.len() == 3 && etag.as_deref() == Some(md5_hex(b"null from east").as_str()))
            .then_some(())
            .ok_or("one null version, the east one".into())
    })
    .await;
    assert_eq!(
        of_key(&snap, "k")[1..],
        [(v3.clone(), false, false), (v2.clone(), false, false)]
    );
    assert_version_body(&zones, "vrep", "k", "null", b"null from east").await;
    // The null delete marker replaces it, in both zones.
    assert_eq!(delete(&cb, "vrep", "k", None).await.as_deref(), Some("null"));
    wait_same(&zones, "vrep", |s| {
        (of_key(s, "k")
            == vec![
                (v3.clone(), false, false),
                (v2.clone(), false, false),
                ("null".into(), true, true),
            ])
        .then_some(())
        .ok_or("null marker on top".into())
    })
    .await;
    let lens = wait_quiet(&zones, "vrep").await;
    // Each change is logged once per zone (writes, markers, removals: 13 here) — no echo.
    for (z, len) in zones.iter().zip(lens) {
        assert!(
            len <= 13,
            "the bilog of vrep on {} holds {len} entries\n{}",
            z.name,
            bilogs_of(&zones, "vrep").await
        );
    }
    // The stats agree: every version that is not a marker (k: v3 v2; other; big).
    let stats: Vec<u64> = zones.iter().map(|z| bucket_stats(z, "vrep").0).collect();
    assert_eq!(stats, vec![4, 4]);
}

#[tokio::test]
async fn three_zones_carry_versions_without_ping_pong() {
    let site = Site::build(&["us-east", "us-west", "us-central"]);
    let zones: Vec<&Zone> = site.zones.iter().collect();
    let clients: Vec<Client> = zones.iter().map(|z| z.client()).collect();
    create_bucket(&clients[0], "vtri").await;
    set_versioning(&clients[2], "vtri", BucketVersioningStatus::Enabled).await;
    wait_status(&zones, "vtri", BucketVersioningStatus::Enabled).await;
    let mut changes = 0;
    let mut shared = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        for j in 0..3 {
            put_versioned(
                c,
                "vtri",
                &format!("{}/{j}", zones[i].name),
                format!("{i}{j}").as_bytes(),
            )
            .await;
            changes += 1;
        }
        shared.push(put_versioned(c, "vtri", "shared", format!("shared from {}", zones[i].name).as_bytes()).await);
        changes += 1;
    }
    // A marker in the second zone of a key of the first; the third removes one version of the shared key.
    wait_same(&zones, "vtri", |s| {
        (of_key(s, "us-east/0").len() == 1 && of_key(s, "shared").len() == 3)
            .then_some(())
            .ok_or("first writes everywhere".into())
    })
    .await;
    let marker = delete(&clients[1], "vtri", "us-east/0", None).await.unwrap();
    delete(&clients[2], "vtri", "shared", Some(&shared[1])).await;
    changes += 2;
    let snap = wait_same(&zones, "vtri", |s| {
        (of_key(s, "us-east/0").len() == 2 && of_key(s, "shared").len() == 2)
            .then_some(())
            .ok_or("marker and removal everywhere".into())
    })
    .await;
    assert!(
        of_key(&snap, "us-east/0").contains(&(marker, true, true)),
        "the marker is the latest: {snap:#?}"
    );
    let mut want_shared = vec![shared[2].clone(), shared[0].clone()];
    want_shared.sort_by_key(|v| std::cmp::Reverse(v[..16].to_string()));
    assert_eq!(
        of_key(&snap, "shared").into_iter().map(|e| e.0).collect::<Vec<_>>(),
        want_shared
    );
    assert_eq!(snap.len(), 9 + 2 + 1, "9 keys' versions, 2 shared, 1 marker: {snap:#?}");
    let lens = wait_quiet(&zones, "vtri").await;
    for (z, len) in zones.iter().zip(lens) {
        assert!(
            len <= changes,
            "the bilog of vtri on {} holds {len} entries for {changes} changes\n{}",
            z.name,
            bilogs_of(&zones, "vtri").await
        );
    }
    wait_same(&zones, "vtri", |s| {
        (s == snap.as_slice()).then_some(()).ok_or("unchanged".into())
    })
    .await;
}

/// Writes of one key in two zones at about the same time, versioning on: both versions exist in both
/// zones, with the same ids in the same order, and the same one is current.
#[tokio::test]
async fn concurrent_versioned_writes_keep_both_versions_in_the_same_order() {
    let site = Site::build(&["us-east", "us-west"]);
    let zones: Vec<&Zone> = site.zones.iter().collect();
    let (ca, cb) = (zones[0].client(), zones[1].client());
    create_bucket(&ca, "vrace").await;
    set_versioning(&ca, "vrace", BucketVersioningStatus::Enabled).await;
    wait_status(&zones, "vrace", BucketVersioningStatus::Enabled).await;
    // Both zones know the bucket before the race (a first write each way).
    put_versioned(&cb, "vrace", "warm", b"w").await;
    wait_same(&zones, "vrace", |s| {
        (s.len() == 1).then_some(()).ok_or("warm-up".into())
    })
    .await;

    let mut written = Vec::new();
    for i in 0..6u64 {
        let key = format!("same-{i}");
        let (first, second) = if i % 2 == 0 { (&ca, &cb) } else { (&cb, &ca) };
        let body1 = format!("{key} first");
        let body2 = format!("{key} second");
        let (v1, v2) = if i < 3 {
            // At once.
            tokio::join!(
                put_versioned(first, "vrace", &key, body1.as_bytes()),
                put_versioned(second, "vrace", &key, body2.as_bytes())
            )
        } else {
            let v1 = put_versioned(first, "vrace", &key, body1.as_bytes()).await;
            tokio::time::sleep(Duration::from_millis(30)).await;
            (v1, put_versioned(second, "vrace", &key, body2.as_bytes()).await)
        };
        written.push((key, (v1, body1), (v2, body2)));
    }
    let snap = wait_same(&zones, "vrace", |s| {
        (s.len() == 1 + 2 * written.len())
            .then_some(())
            .ok_or("both versions of every key".into())
    })
    .await;
    for (key, (v1, body1), (v2, body2)) in &written {
        let versions = of_key(&snap, key);
        let ids: Vec<&str> = versions.iter().map(|e| e.0.as_str()).collect();
        assert!(
            ids.contains(&v1.as_str()) && ids.contains(&v2.as_str()),
            "{key}: {versions:?}"
        );
        // Newest first by the write order the ids encode; the newest is current everywhere.
        let mut by_order = vec![v1.clone(), v2.clone()];
        by_order.sort_by(|x, y| (&y[..16], &y[16..]).cmp(&(&x[..16], &x[16..])));
        assert_eq!(ids, by_order, "{key}");
        assert_eq!(versions.iter().map(|e| e.1).collect::<Vec<_>>(), vec![true, false]);
        assert_version_body(&zones, "vrace", key, v1, body1.as_bytes()).await;
        assert_version_body(&zones, "vrace", key, v2, body2.as_bytes()).await;
        let current = if by_order[0] == *v1 { body1 } else { body2 };
        for z in &zones {
            assert_eq!(
                get_bytes(&z.client(), "vrace", key).await,
                current.as_bytes(),
                "{key} on {}",
                z.name
            );
        }
    }
    wait_quiet(&zones, "vrace").await;
}

/// A zone joining a zonegroup whose versioned bucket already holds versions, delete markers, a null version
/// and removed versions: its full sync brings every version, and nothing removed.
#[tokio::test]
async fn full_sync_carries_every_version() {
    let mut site = Site::build(&["us-east"]);
    let ca = site.zones[0].client();
    create_bucket(&ca, "vfull").await;
    put(&ca, "vfull", "pre", b"from before versioning").await;
    set_versioning(&ca, "vfull", BucketVersioningStatus::Enabled).await;
    let mut removed = Vec::new();
    for i in 0..8 {
        let key = format!("k{}", i % 3);
        let v = put_versioned(&ca, "vfull", &key, format!("body {i}").as_bytes()).await;
        if i == 4 {
            delete(&ca, "vfull", &key, Some(&v)).await;
            removed.push(v);
        }
    }
    let big = pattern(200 << 10, 4);
    put_versioned(&ca, "vfull", "k1", &big).await;
    put_versioned(&ca, "vfull", "pre", b"after").await;
    delete(&ca, "vfull", "k2", None).await;
    delete(&ca, "vfull", "gone", None).await;
    let want = snapshot(&site.zones[0], "vfull").await.unwrap();

    site.add_zone("us-west", |_| {});
    let zones: Vec<&Zone> = site.zones.iter().collect();
    let snap = wait_same(&zones, "vfull", |s| {
        (s == want.as_slice()).then_some(()).ok_or("as the source".into())
    })
    .await;
    assert!(snap.iter().all(|e| !removed.contains(&e.1)));
    wait_status(&zones, "vfull", BucketVersioningStatus::Enabled).await;
    for e in snap.iter().filter(|e| !e.3) {
        let out = zones[1]
            .client()
            .get_object()
            .bucket("vfull")
            .key(&e.0)
            .version_id(&e.1)
            .send()
            .await
            .unwrap_or_else(|err| panic!("{e:?} on us-west: {err:?}"));
        assert_eq!(out.e_tag().map(|t| t.trim_matches('"')), Some(e.4.as_str()));
    }
    assert_version_body(&zones, "vfull", "pre", "null", b"from before versioning").await;
    assert_eq!(bucket_stats(zones[0], "vfull"), bucket_stats(zones[1], "vfull"));
}
