//! Several gateways of one zone over one Ceph cluster (`--store rados`), and a RADOS zone in a multi-site
//! realm. Needs a running cluster: `scripts/ceph-test-cluster.sh start`, then
//! `MERIDIAN_TEST_RADOS_CONF=<dir>/ceph.conf cargo test -p meridian --features rados --test it -- --include-ignored rados_gateways::`
//! (scripts/test-all.sh's `rados` stage does this). Ignored by a plain `cargo test`; without the variable
//! they fail, so a missing cluster is never counted as a pass.

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An acknowledged upload: its key and body.
type Acked = (String, Vec<u8>);

fn conf() -> String {
    std::env::var("MERIDIAN_TEST_RADOS_CONF")
        .expect("MERIDIAN_TEST_RADOS_CONF is not set: start a cluster with scripts/ceph-test-cluster.sh start")
}

/// Server flags of one RADOS zone (its own namespace in the test pools).
fn zone_args(namespace: &str) -> Vec<String> {
    [
        "--store",
        "rados",
        "--rados-conf",
        &conf(),
        "--rados-pool-prefix",
        "mtest",
        "--rados-namespace",
        namespace,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Two gateways of one zone: the first creates the test user.
fn two_gateways() -> (Server, Server) {
    let ns = unique_namespace();
    let args = zone_args(&ns);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = Server::start_with(&args);
    let b = Server::spawn(&args);
    (a, b)
}

async fn lease_held(server: &Server, lease: &str) -> bool {
    let Ok(resp) = http().get(format!("{}/metrics", server.endpoint)).send().await else {
        return false;
    };
    let text = resp.text().await.unwrap_or_default();
    text.lines().any(|l| {
        l.starts_with("meridian_zone_lease_held") && l.contains(&format!("lease=\"{lease}\"")) && l.ends_with(" 1")
    })
}

async fn wait_lease(server: &Server, lease: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if lease_held(server, lease).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
#[ignore = "needs a Ceph cluster (MERIDIAN_TEST_RADOS_CONF)"]
async fn a_write_on_one_gateway_is_read_from_the_other() {
    let (a, b) = two_gateways();
    let (ca, cb) = (a.client(), b.client());
    create_bucket(&ca, "shared").await;
    let small = pattern(1000, 1);
    let big = pattern(9 << 20, 2); // three 4 MiB stripes
    let e_small = put(&ca, "shared", "small", &small).await;
    let e_big = put(&ca, "shared", "big", &big).await;
    // Read-after-write on the other gateway, no waiting.
    assert_eq!(get_bytes(&cb, "shared", "small").await, small);
    assert!(
        get_bytes(&cb, "shared", "big").await == big,
        "big object read through B differs"
    );
    let head = cb.head_object().bucket("shared").key("big").send().await.unwrap();
    assert_eq!(head.e_tag.as_deref(), Some(e_big.as_str()));
    let listed = cb.list_objects_v2().bucket("shared").send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["big", "small"]);
    assert_ne!(e_small, e_big);
    // A range read through B crosses a stripe boundary.
    let range = cb
        .get_object()
        .bucket("shared")
        .key("big")
        .range("bytes=4194300-4194310")
        .send()
        .await
        .unwrap();
    let got = range.body.collect().await.unwrap().into_bytes();
    assert_eq!(got.as_ref(), &big[4194300..=4194310]);
    // Changes through B are seen by A: a bucket, a delete, a user created with B's CLI.
    create_bucket(&cb, "from-b").await;
    let buckets = ca.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().iter().any(|bk| bk.name() == Some("from-b")));
    cb.delete_object().bucket("shared").key("small").send().await.unwrap();
    assert!(ca.get_object().bucket("shared").key("small").send().await.is_err());
    b.create_user("bob", "AKIABOBBOBBOBBOB0001", "bob-secret-0001-abcdefgh");
    let bob_on_a = a.client_for("AKIABOBBOBBOBBOB0001", "bob-secret-0001-abcdefgh");
    create_bucket(&bob_on_a, "bobs").await;
}

/// `meridian_dns_index_buckets` of a gateway: how many buckets its DNS index holds.
async fn dns_index_buckets(server: &Server) -> Option<f64> {
    let text = http()
        .get(format!("{}/metrics", server.endpoint))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("meridian_dns_index_buckets "))
        .and_then(|v| v.trim().parse().ok())
}

async fn wait_dns_index(server: &Server, want: f64, within: Duration) -> Option<f64> {
    let deadline = Instant::now() + within;
    loop {
        let now = dns_index_buckets(server).await;
        if now == Some(want) || Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Buckets created and removed through one gateway reach the DNS index of another gateway of the zone (it
/// reads them from the metadata log when the store's commit counter moves), without a restart.
#[tokio::test]
#[ignore = "needs a Ceph cluster (MERIDIAN_TEST_RADOS_CONF)"]
async fn the_dns_index_of_one_gateway_follows_buckets_made_through_another() {
    let ns = unique_namespace();
    let args = zone_args(&ns);
    let a_args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut b_args = a_args.clone();
    b_args.extend(["--dns-domain", "s3.example.com", "--dns-listen", "127.0.0.1:0"]);
    let a = Server::start_with(&a_args);
    let b = Server::spawn(&b_args);
    let ca = a.client();
    create_bucket(&ca, "before-b").await;
    let start = wait_dns_index(&b, 1.0, Duration::from_secs(10)).await;
    assert_eq!(start, Some(1.0), "B's index at start: {:?}", b.server_log());
    for (i, name) in ["made-on-a", "made-on-a-too"].iter().enumerate() {
        create_bucket(&ca, name).await;
        let want = 2.0 + i as f64;
        let got = wait_dns_index(&b, want, Duration::from_secs(5)).await;
        assert_eq!(
            got,
            Some(want),
            "{name} did not reach B's DNS index: {}",
            b.server_log()
        );
    }
    ca.delete_bucket().bucket("made-on-a").send().await.unwrap();
    let got = wait_dns_index(&b, 2.0, Duration::from_secs(5)).await;
    assert_eq!(got, Some(2.0), "a bucket removed on A stayed in B's DNS index");
}

/// A configuration change made through one gateway (here the zonegroup's S3 region name) reaches the other
/// gateway's in-memory site view without a restart.
#[tokio::test]
#[ignore = "needs a Ceph cluster (MERIDIAN_TEST_RADOS_CONF)"]
async fn a_configuration_change_reaches_the_other_gateway() {
    let (a, b) = two_gateways();
    create_bucket(&a.client(), "where").await;
    let location = |c: aws_sdk_s3::Client| async move {
        let out = c.get_bucket_location().bucket("where").send().await.unwrap();
        out.location_constraint()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default()
    };
    let before = location(b.client()).await;
    a.cli(&[
        "zonegroup",
        "modify",
        "--rgw-zonegroup",
        "default",
        "--api-name",
        "refreshed-region",
    ]);
    assert_eq!(location(a.client()).await, "refreshed-region");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = location(b.client()).await;
        if now == "refreshed-region" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B still answers {now:?} (before: {before:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "needs a Ceph cluster (MERIDIAN_TEST_RADOS_CONF)"]
async fn concurrent_puts_of_one_key_end_with_one_of_the_etags() {
    let (a, b) = two_gateways();
    let (ca, cb) = (a.client(), b.client());
    create_bucket(&ca, "race").await;
    for round in 0..6u64 {
        // Small (inline in the metadata) and striped bodies.
        let len = if round % 2 == 0 { 2000 } else { (4 << 20) + 100_000 };
        let (ba, bb) = (pattern(len, round * 2 + 10), pattern(len, round * 2 + 11));
        let key = format!("k{round}");
        let (ea, eb) = tokio::join!(put(&ca, "race", &key, &ba), put(&cb, "race", &key, &bb));
        let got_a = get_bytes(&ca, "race", &key).await;
        let got_b = get_bytes(&cb, "race", &key).await;
        assert!(got_a == got_b, "round {round}: the gateways disagree");
        let etag = cb
            .head_object()
            .bucket("race")
            .key(&key)
            .send()
            .await
            .unwrap()
            .e_tag
            .unwrap_or_default();
        if got_a == ba {
            assert_eq!(etag, ea, "round {round}");
        } else {
            assert!(got_a == bb, "round {round}: a torn object ({} bytes)", got_a.len());
            assert_eq!(etag, eb, "round {round}");
        }
    }
}

#[tokio::test]
#[ignore = "needs a Ceph cluster (MERIDIAN_TEST_RADOS_CONF)"]
async fn a_killed_gateway_loses_no_acknowledged_object_and_its_lease_moves() {
    let ns = unique_namespace();
    let args = zone_args(&ns);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = Server::start_with(&args);
    assert!(
        wait_lease(&a, "sync", Duration::from_secs(10)).await,
        "A never took the sync lease"
    );
    let b = Server::spawn(&args);
    let cb = b.client();
    create_bucket(&a.client(), "crash").await;
    assert!(!lease_held(&b, "sync").await, "two gateways hold the sync lease");

    // Uploads through A, four at a time, until A is killed.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let ca = a.client();
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let (ca, acked) = (ca.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..10_000u64 {
                let len = if i % 3 == 0 { 300_000 } else { 3000 };
                let body = pattern(len, w * 100_000 + i);
                let key = format!("w{w}/{i}");
                let sent = ca
                    .put_object()
                    .bucket("crash")
                    .key(&key)
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await;
                match sent {
                    Ok(_) => acked.lock().unwrap().push((key, body)),
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let killed_at = Instant::now();
    drop(a); // SIGKILL
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 10, "too few uploads before the kill: {}", acked.len());
    eprintln!("{} uploads acknowledged by A before it was killed", acked.len());

    // B serves at once: every acknowledged object reads back whole.
    for (key, body) in &acked {
        assert!(
            get_bytes(&cb, "crash", key).await == *body,
            "{key} differs after A was killed"
        );
    }
    // Writes through B resume once A's metadata lock lease has run out.
    let after = pattern(5000, 999);
    put(&cb, "crash", "after-kill", &after).await;
    assert_eq!(get_bytes(&cb, "crash", "after-kill").await, after);
    assert!(
        wait_lease(&b, "sync", Duration::from_secs(20)).await,
        "B did not take the sync lease after A was killed"
    );
    eprintln!(
        "B writes and holds the sync lease {:?} after the kill",
        killed_at.elapsed()
    );
    assert!(
        killed_at.elapsed() < Duration::from_secs(25),
        "takeover took {:?}",
        killed_at.elapsed()
    );
}

/// A zone on RADOS and a zone on the local store in one realm replicate both ways.
#[tokio::test]
#[ignore = "needs a Ceph cluster (MERIDIAN_TEST_RADOS_CONF)"]
async fn a_rados_zone_replicates_both_ways_with_a_local_zone() {
    let ns = unique_namespace();
    let site = Site::build_with(&["us-east", "us-west"], |z| {
        if z.name == "us-west" {
            // The admin verbs find the store through the data directory's record, the server by its flags.
            std::fs::create_dir_all(&z.data_dir).unwrap();
            let record = serde_json::json!({
                "store": "rados",
                "rados_conf": conf(),
                "rados_user": "admin",
                "rados_pool_prefix": "mtest",
                "rados_namespace": ns,
                "rados_meta_shards": 8,
            });
            std::fs::write(z.data_dir.join("store.json"), record.to_string()).unwrap();
            z.extra_args.extend(zone_args(&ns));
        }
    });
    let (east, west) = (&site.zones[0], &site.zones[1]);
    let (ce, cw) = (east.client(), west.client());
    create_bucket(&ce, "both-ways").await;
    let from_east = pattern(200_000, 7);
    let from_west = pattern(5 << 20, 8);
    // The bucket reaches the RADOS zone by metadata sync.
    let deadline = Instant::now() + Duration::from_secs(60);
    while cw.head_bucket().bucket("both-ways").send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "bucket never reached the RADOS zone\n{}",
            site.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    put(&ce, "both-ways", "east", &from_east).await;
    put(&cw, "both-ways", "west", &from_west).await;
    for (client, key, body, zone) in [
        (&cw, "east", &from_east, "us-west"),
        (&ce, "west", &from_west, "us-east"),
    ] {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(out) = client.get_object().bucket("both-ways").key(key).send().await {
                let got = out.body.collect().await.unwrap().into_bytes();
                if got.as_ref() == body.as_slice() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "{key} never reached {zone}\n{}", site.logs());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
