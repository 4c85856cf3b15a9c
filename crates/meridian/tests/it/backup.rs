//! Backups (`meridian backup create|verify|restore|list`) against real `meridian server` processes on
//! loopback: a backup taken online under concurrent PUT, DELETE and multipart load restores to exactly the
//! snapshot; damaged and truncated archives are refused; a `kill -9` mid-backup leaves nothing that looks
//! complete; writes after the snapshot are left out; a backup without data is restored only when asked; a
//! restored non-master zone whose peers trimmed their logs falls back to full sync and converges.

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::Client;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CONVERGE: Duration = Duration::from_secs(120);
/// A second user's access key and secret.
const SECOND_KEY: (&str, &str) = ("SECONDUSERKEY0000001", "secondusersecret00000000000000000000000a");

/// A standalone zone (no realm) with the test user, started.
fn solo_zone(root: &Path, name: &str) -> Zone {
    let mut z = Zone::new(root, name);
    assert!(z.cli_raw(&["init"]).status.success(), "meridian init failed");
    z.create_test_user();
    z.start();
    z
}

async fn multipart(client: &Client, bucket: &str, key: &str, parts: &[Vec<u8>]) -> String {
    upload_in_parts(client, bucket, key, parts)
        .await
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string()
}

fn md5_of(body: &[u8]) -> String {
    md5_hex(body)
}

/// The ETag of a multipart object made of `parts`.
fn multipart_etag(parts: &[Vec<u8>]) -> String {
    let mut all = Vec::new();
    for p in parts {
        all.extend_from_slice(&hex::decode(md5_hex(p)).expect("hex"));
    }
    format!("{}-{}", md5_hex(&all), parts.len())
}

/// `meridian --data-dir DIR ARGS` with a deadline; returns the output.
fn meridian(data_dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("MERIDIAN_CONFIG")
        .env_remove("MERIDIAN_DATA_DIR")
        .stdin(Stdio::null());
    run_with_timeout(cmd, Duration::from_secs(300))
}

#[track_caller]
fn meridian_ok(data_dir: &Path, args: &[&str]) -> Value {
    let out = meridian(data_dir, args);
    assert!(
        out.status.success(),
        "meridian {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "meridian {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs a verb that must fail; returns its stderr.
#[track_caller]
fn meridian_fails(data_dir: &Path, args: &[&str]) -> String {
    let out = meridian(data_dir, args);
    assert!(
        !out.status.success(),
        "meridian {args:?} succeeded but must fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every file name in `dir`.
fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads every object of `bucket` on `zone` and checks it is not torn: the body's MD5 is its ETag (simple
/// objects), or the body is what `multipart_bodies` says the ETag stands for. Returns key → (size, etag).
async fn check_bodies(
    zone: &Zone,
    bucket: &str,
    multipart_bodies: &BTreeMap<String, Vec<u8>>,
) -> BTreeMap<String, Listed> {
    let listing = list_objects(zone, bucket).await.expect("listing");
    let client = zone.client();
    for (key, l) in &listing {
        let body = get_bytes(&client, bucket, key).await;
        assert_eq!(
            body.len() as i64,
            l.size,
            "{key}: the body's length differs from the listing"
        );
        if l.etag.contains('-') {
            let known = multipart_bodies
                .get(&l.etag)
                .unwrap_or_else(|| panic!("{key}: multipart ETag {} was never written", l.etag));
            assert!(
                known == &body,
                "{key}: multipart body differs from the one its ETag stands for"
            );
        } else {
            assert_eq!(md5_of(&body), l.etag, "{key}: torn object (body MD5 is not its ETag)");
        }
    }
    listing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn online_backup_under_load_restores_the_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = solo_zone(dir.path(), "zone");
    let client = zone.client();
    create_bucket(&client, "load").await;
    // Buckets the load leaves alone, one of them another user's: every bucket and user must come back.
    zone.cli(&[
        "user",
        "create",
        "--uid",
        "second",
        "--display-name",
        "Second",
        "--access-key",
        SECOND_KEY.0,
        "--secret",
        SECOND_KEY.1,
    ]);
    let quiet = [
        ("quiet-a", ACCESS_KEY, SECRET_KEY),
        ("quiet-b", ACCESS_KEY, SECRET_KEY),
        ("second-owned", SECOND_KEY.0, SECOND_KEY.1),
    ];
    for (n, (bucket, key, secret)) in quiet.iter().enumerate() {
        let owner = zone.client_for(key, secret);
        create_bucket(&owner, bucket).await;
        for i in 0..8u64 {
            let size = if i % 4 == 0 { 120_000 } else { 700 + i as usize };
            put(
                &owner,
                bucket,
                &format!("q{i}"),
                &pattern(size, 9000 + n as u64 * 100 + i),
            )
            .await;
        }
    }

    // Acknowledged before the backup: small (inline) and large (blob file) objects, and multipart ones.
    let mut stable: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..120u64 {
        let size = if i % 6 == 0 {
            100 * 1024 + (i as usize) * 997
        } else {
            1 + (i as usize) * 131
        };
        let key = format!("stable/{i:04}");
        let etag = put(&client, "load", &key, &pattern(size, i)).await;
        stable.insert(key, etag.trim_matches('"').to_string());
    }
    let mut multipart_bodies: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..2u64 {
        let parts = vec![pattern(5 << 20, 1000 + i), pattern(70_000, 2000 + i)];
        let key = format!("stable/multi-{i}");
        let etag = multipart(&client, "load", &key, &parts).await;
        assert_eq!(etag, multipart_etag(&parts));
        multipart_bodies.insert(etag.clone(), parts.concat());
        stable.insert(key, etag);
    }
    // Objects the load overwrites and deletes while the backup runs.
    for i in 0..40u64 {
        put(&client, "load", &format!("churn/{i:03}"), &pattern(80 * 1024, 500 + i)).await;
    }

    // Concurrent load: new keys, overwrites (their old blobs go to GC), deletes, multipart uploads.
    let stop = Arc::new(AtomicBool::new(false));
    let mp_written = Arc::new(Mutex::new(Vec::<(String, Vec<u8>)>::new()));
    let mut load = Vec::new();
    for w in 0..3u64 {
        let (client, stop, mp_written) = (zone.client(), stop.clone(), mp_written.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let seed = w * 1_000_000 + n;
                match n % 4 {
                    0 => {
                        put(
                            &client,
                            "load",
                            &format!("new/{w}-{n:05}"),
                            &pattern((seed as usize * 37) % 150_000, seed),
                        )
                        .await;
                    }
                    1 => {
                        put(
                            &client,
                            "load",
                            &format!("churn/{:03}", seed % 40),
                            &pattern(90 * 1024, seed),
                        )
                        .await;
                    }
                    2 => {
                        let _ = client
                            .delete_object()
                            .bucket("load")
                            .key(format!("churn/{:03}", (seed * 7) % 40))
                            .send()
                            .await;
                    }
                    _ if n % 20 == 3 => {
                        let parts = vec![pattern(5 << 20, seed), pattern(1000, seed + 1)];
                        let etag = multipart(&client, "load", &format!("mp/{w}-{n}"), &parts).await;
                        mp_written.lock().unwrap().push((etag, parts.concat()));
                    }
                    _ => {}
                }
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let backup = dir.path().join("zone.tar.zst");
    let data_dir = zone.data_dir.clone();
    let b = backup.clone();
    let created = tokio::task::spawn_blocking(move || {
        meridian_ok(&data_dir, &["backup", "create", "--out", s(&b), "--with-data"])
    })
    .await
    .expect("backup create");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut ops = 0;
    for t in load {
        ops += t.await.expect("load task");
    }
    assert!(ops > 20, "the load made only {ops} requests");
    assert!(
        backup.exists(),
        "backup create reported success without the file: {created}"
    );
    assert_eq!(created["with_data"], true);
    for m in mp_written.lock().unwrap().iter() {
        multipart_bodies.insert(m.0.clone(), m.1.clone());
    }

    // The listing at the source now differs from the snapshot (the load went on): the restore must not.
    let verified = meridian_ok(dir.path(), &["backup", "verify", s(&backup)]);
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["objects_without_bytes"], 0, "{verified}");
    assert!(verified["counts"]["blobs"].as_u64().unwrap_or(0) >= 20, "{verified}");

    let mut restored = Zone::new(dir.path(), "restored");
    let report = restored.cli(&["backup", "restore", s(&backup)]);
    assert_eq!(report["counts"], created["counts"], "restore and create disagree");
    restored.start();

    let listing = check_bodies(&restored, "load", &multipart_bodies).await;
    for (key, etag) in &stable {
        let got = listing
            .get(key)
            .unwrap_or_else(|| panic!("{key}, acknowledged before the backup, is missing"));
        assert_eq!(&got.etag, etag, "{key}: wrong ETag after restore");
    }
    let stats = restored.cli(&["bucket", "stats", "--bucket", "load"]);
    let usage = &stats["usage"]["rgw.main"];
    assert_eq!(
        usage["num_objects"].as_u64(),
        Some(listing.len() as u64),
        "bucket stats: {stats}"
    );
    let listed_bytes: i64 = listing.values().map(|l| l.size).sum();
    assert_eq!(usage["size"].as_i64(), Some(listed_bytes), "bucket stats: {stats}");

    // Every user and every bucket came back, as many as the manifest counts; the buckets the load left
    // alone hold exactly what the source holds, bytes and stats included.
    let users = zone.cli(&["user", "list"]);
    assert_eq!(restored.cli(&["user", "list"]), users);
    assert_eq!(
        users.as_array().map(|u| u.len() as u64),
        created["counts"]["users"].as_u64(),
        "users: {users}"
    );
    let sorted = |v: Value| -> Vec<String> {
        let mut names: Vec<String> = v
            .as_array()
            .expect("a list")
            .iter()
            .map(|n| n.as_str().expect("a name").to_string())
            .collect();
        names.sort();
        names
    };
    let buckets = sorted(zone.cli(&["bucket", "list"]));
    assert_eq!(buckets, ["load", "quiet-a", "quiet-b", "second-owned"]);
    assert_eq!(sorted(restored.cli(&["bucket", "list"])), buckets);
    assert_eq!(created["counts"]["buckets"].as_u64(), Some(buckets.len() as u64));
    let (mut all_objects, mut all_bytes) = (listing.len() as u64, listed_bytes);
    for (bucket, key, secret) in quiet {
        let at_source = list_objects_as(&zone, bucket, key, secret)
            .await
            .expect("source listing");
        let after = list_objects_as(&restored, bucket, key, secret)
            .await
            .expect("restored listing");
        assert_eq!(after, at_source, "{bucket}");
        assert_eq!(after.len(), 8, "{bucket}");
        let owner = restored.client_for(key, secret);
        for (k, l) in &after {
            assert_eq!(md5_of(&get_bytes(&owner, bucket, k).await), l.etag, "{bucket}/{k}");
        }
        let bytes: i64 = after.values().map(|l| l.size).sum();
        assert_eq!(bucket_stats(&restored, bucket), (8, bytes as u64), "{bucket}");
        all_objects += 8;
        all_bytes += bytes;
    }
    assert_eq!(
        created["counts"]["objects"].as_u64(),
        Some(all_objects),
        "the restored listings and the manifest disagree"
    );
    assert_eq!(
        created["bytes"]["objects"].as_i64(),
        Some(all_bytes),
        "manifest bytes vs restored listings"
    );

    // The restored zone takes writes as usual.
    let etag = put(&restored.client(), "load", "after-restore", b"hello").await;
    assert_eq!(etag.trim_matches('"'), md5_of(b"hello"));

    // The source's metrics tell about the last backup.
    let text = metrics_text(&zone).await.expect("metrics");
    let size = metric_samples(&text, "meridian_backup_last_size_bytes", &[]);
    assert!(
        size.first().is_some_and(|(_, v)| *v > 1000.0),
        "no backup size metric: {size:?}"
    );
}

/// Writes a small zone with inline and blob objects, backs it up offline; returns (zone, backup file).
async fn small_backup(root: &Path) -> (Zone, PathBuf) {
    let mut zone = solo_zone(root, "small");
    let client = zone.client();
    create_bucket(&client, "small").await;
    for i in 0..30u64 {
        put(
            &client,
            "small",
            &format!("k{i}"),
            &pattern(if i % 3 == 0 { 200_000 } else { 3000 }, i),
        )
        .await;
    }
    zone.stop();
    let file = root.join("small.tar.zst");
    let created = meridian_ok(&zone.data_dir, &["backup", "create", "--out", s(&file), "--with-data"]);
    assert_eq!(created["counts"]["objects"], 30, "{created}");
    meridian_ok(root, &["backup", "verify", s(&file)]);
    (zone, file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_and_truncated_backups_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zone, good) = small_backup(dir.path()).await;
    let bytes = std::fs::read(&good).expect("read backup");

    // A restore refuses a directory that is not empty.
    let full = dir.path().join("not-empty");
    std::fs::create_dir_all(&full).expect("mkdir");
    std::fs::write(full.join("something"), b"x").expect("write");
    let err = meridian_fails(&full, &["backup", "restore", s(&good)]);
    assert!(err.contains("not empty"), "{err}");

    let flipped = dir.path().join("flipped.tar.zst");
    let mut damaged = bytes.clone();
    let at = damaged.len() / 2;
    damaged[at] ^= 0x01;
    std::fs::write(&flipped, &damaged).expect("write");

    let truncated = dir.path().join("truncated.tar.zst");
    std::fs::write(&truncated, &bytes[..bytes.len() - 64]).expect("write");
    let halved = dir.path().join("halved.tar.zst");
    std::fs::write(&halved, &bytes[..bytes.len() / 2]).expect("write");

    for bad in [&flipped, &truncated, &halved] {
        let err = meridian_fails(dir.path(), &["backup", "verify", s(bad)]);
        assert!(
            err.contains("damaged") || err.contains("incomplete"),
            "{}: {err}",
            bad.display()
        );
        let target = dir
            .path()
            .join(format!("restore-{}", bad.file_name().unwrap().to_string_lossy()));
        let err = meridian_fails(&target, &["backup", "restore", s(bad)]);
        assert!(err.contains("cannot restore"), "{err}");
        assert!(
            names_in(&target).is_empty(),
            "a refused restore left files in {}: {:?}",
            target.display(),
            names_in(&target)
        );
    }

    // The intact file restores, and the data is there.
    let mut restored = Zone::new(dir.path(), "restored");
    restored.cli(&["backup", "restore", s(&good)]);
    restored.start();
    let listing = check_bodies(&restored, "small", &BTreeMap::new()).await;
    assert_eq!(listing.len(), 30);

    // `backup list` reads the manifests of a directory's backups (not the broken halves' contents).
    let listed = meridian_ok(dir.path(), &["backup", "list", "--dir", s(dir.path())]);
    let files = listed.as_array().expect("list is an array");
    let good_entry = files
        .iter()
        .find(|f| f["file"].as_str() == Some(s(&good)))
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(good_entry["manifest"]["zone"]["name"], "default");

    // A backup made without --with-data lacks the bytes of the 10 objects kept outside the metadata: it
    // verifies and says so, and restore refuses it unless given --allow-missing-data.
    let meta_only = dir.path().join("meta-only.tar.zst");
    let created = meridian_ok(&zone.data_dir, &["backup", "create", "--out", s(&meta_only)]);
    assert_eq!(created["with_data"], false, "{created}");
    let verified = meridian_ok(dir.path(), &["backup", "verify", s(&meta_only)]);
    assert_eq!(verified["objects_without_bytes"], 10, "{verified}");
    let target = dir.path().join("restore-meta-only");
    let err = meridian_fails(&target, &["backup", "restore", s(&meta_only)]);
    assert!(
        err.contains("10 objects") && err.contains("--allow-missing-data"),
        "{err}"
    );
    assert!(names_in(&target).is_empty(), "{:?}", names_in(&target));
    let mut partial = Zone::new(dir.path(), "meta-only");
    let report = partial.cli(&["backup", "restore", s(&meta_only), "--allow-missing-data"]);
    assert_eq!(report["counts"]["objects"], 30, "{report}");
    partial.start();
    let listing = list_objects(&partial, "small").await.expect("listing");
    assert_eq!(listing.len(), 30);
    let client = partial.client();
    for i in 0..30u64 {
        let key = format!("k{i}");
        let body = match client.get_object().bucket("small").key(&key).send().await {
            Ok(o) => o
                .body
                .collect()
                .await
                .map(|b| b.into_bytes().to_vec())
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("{e:?}")),
        };
        if i % 3 == 0 {
            assert!(
                body.is_err(),
                "{key}: its bytes are not in the backup, yet it was served"
            );
        } else {
            let body = body.unwrap_or_else(|e| panic!("{key} is inline in the metadata: {e}"));
            assert_eq!(md5_of(&body), listing[&key].etag, "{key}");
        }
    }
    drop(zone);
}

/// A signer with the running server's own admin key (`<data-dir>/admin.json`, what the CLI uses).
fn admin_signer(zone: &Zone) -> Signer {
    let text = std::fs::read(zone.data_dir.join("admin.json")).expect("admin.json");
    let v: Value = serde_json::from_slice(&text).expect("admin.json is JSON");
    Signer::new(
        v["access_key"].as_str().expect("access_key"),
        v["secret_key"].as_str().expect("secret_key"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_after_the_snapshot_are_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = solo_zone(dir.path(), "snap");
    let client = zone.client();
    create_bucket(&client, "snap").await;
    // 24 MiB that zstd cannot shrink: more than the server's stream buffer and the socket buffers hold, so
    // the backup cannot finish before this test reads its body.
    for i in 0..24u64 {
        put(&client, "snap", &format!("filler/{i:02}"), &pattern(1 << 20, i)).await;
    }
    let old_body = pattern(300_000, 100);
    let old_etag = put(&client, "snap", "overwritten", &old_body).await;
    put(&client, "snap", "deleted", b"deleted after the snapshot").await;

    // `GET /admin/backup?with-data=true`, as `meridian backup create` sends it to a running server. The
    // server takes the snapshot before it answers: whatever is written once the response is here comes
    // after the snapshot.
    let signed = admin_signer(&zone).sign(
        "GET",
        zone.addr,
        &zone.addr.to_string(),
        "/admin/backup",
        &[("with-data", "true")],
        &[],
        &sha256_hex(b""),
        std::time::SystemTime::now(),
    );
    let mut resp = signed
        .request(&http(), reqwest::Method::GET)
        .send()
        .await
        .expect("backup request");
    assert_eq!(resp.status(), 200);
    put(&client, "snap", "after-snapshot", &pattern(200_000, 101)).await;
    put(&client, "snap", "overwritten", &pattern(250_000, 102)).await;
    client
        .delete_object()
        .bucket("snap")
        .key("deleted")
        .send()
        .await
        .expect("delete");
    create_bucket(&client, "after-bucket").await;
    // The backup is still running (waiting for this test to read): no backup has finished yet.
    let text = metrics_text(&zone).await.expect("metrics");
    assert!(
        metric_samples(&text, "meridian_backup_last_success_timestamp_seconds", &[]).is_empty(),
        "the backup finished before the writes: the test proves nothing"
    );

    let file = dir.path().join("snap.tar.zst");
    let mut out = std::fs::File::create(&file).expect("backup file");
    while let Some(chunk) = resp.chunk().await.expect("backup body") {
        std::io::Write::write_all(&mut out, &chunk).expect("write");
    }
    drop(out);
    let verified = meridian_ok(dir.path(), &["backup", "verify", s(&file)]);
    assert_eq!(
        (&verified["counts"]["buckets"], &verified["counts"]["objects"]),
        (&serde_json::json!(1), &serde_json::json!(26)),
        "{verified}"
    );
    assert_eq!(verified["objects_without_bytes"], 0, "{verified}");

    let mut restored = Zone::new(dir.path(), "restored");
    restored.cli(&["backup", "restore", s(&file)]);
    restored.start();
    let listing = list_objects(&restored, "snap").await.expect("listing");
    assert!(
        !listing.contains_key("after-snapshot"),
        "an object written after the snapshot"
    );
    assert!(
        listing.contains_key("deleted"),
        "an object deleted after the snapshot is missing"
    );
    assert_eq!(listing.len(), 26);
    assert_eq!(listing["overwritten"].etag, old_etag.trim_matches('"'));
    let body = get_bytes(&restored.client(), "snap", "overwritten").await;
    assert!(
        body == old_body,
        "the overwritten object's bytes are not the snapshot's"
    );
    assert_eq!(restored.cli(&["bucket", "list"]), serde_json::json!(["snap"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_backup_create_leaves_nothing_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = solo_zone(dir.path(), "big");
    let client = zone.client();
    create_bucket(&client, "big").await;
    for i in 0..48u64 {
        put(&client, "big", &format!("o{i}"), &pattern(1 << 20, i)).await;
    }
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let file = out.join("big.tar.zst");
    let mut killed_while_writing = 0;
    for attempt in 0..3 {
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(&zone.data_dir)
            .args(["backup", "create", "--with-data", "--out", s(&file)])
            .env_remove("MERIDIAN_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn backup create");
        // Kill it once it is writing (its partial file has bytes), or after a while (the backup runs at a
        // low CPU priority: on a busy machine it may take long to start writing).
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut writing = false;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            let partial = names_in(&out).into_iter().any(|n| {
                n.contains(".partial") && std::fs::metadata(out.join(&n)).map(|m| m.len() > 4096).unwrap_or(false)
            });
            if partial {
                writing = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let status = child.wait().expect("wait");
        if writing && !status.success() {
            killed_while_writing += 1;
        }
        assert!(
            !file.exists() || status.success(),
            "attempt {attempt}: a killed backup left {}",
            file.display()
        );
        // Whatever is left is named partial and does not verify.
        for n in names_in(&out) {
            assert!(n.contains(".partial"), "attempt {attempt}: unexpected file {n}");
            let err = meridian_fails(dir.path(), &["backup", "verify", s(&out.join(&n))]);
            assert!(err.contains("damaged") || err.contains("incomplete"), "{err}");
            std::fs::remove_file(out.join(&n)).expect("rm");
        }
        if file.exists() {
            std::fs::remove_file(&file).expect("rm");
        }
    }
    assert!(killed_while_writing > 0, "no backup was killed while it was writing");
    // The server is fine and the next backup completes; the broken ones were counted.
    let created = meridian_ok(&zone.data_dir, &["backup", "create", "--with-data", "--out", s(&file)]);
    assert_eq!(created["counts"]["objects"], 48);
    meridian_ok(dir.path(), &["backup", "verify", s(&file)]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = metrics_text(&zone).await.expect("metrics");
        let failures = metric_samples(&text, "meridian_backup_failures_total", &[]);
        if failures.first().is_some_and(|(_, v)| *v >= 1.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed backups were not counted as failures: {failures:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_keep_the_newest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backups = dir.path().join("scheduled");
    let mut z = Zone::new(dir.path(), "sched");
    assert!(z.cli_raw(&["init"]).status.success(), "meridian init failed");
    z.create_test_user();
    z.extra_args = vec![
        "--backup-interval-secs".into(),
        "1".into(),
        "--backup-dir".into(),
        s(&backups).into(),
        "--backup-keep".into(),
        "2".into(),
    ];
    z.start();
    create_bucket(&z.client(), "sched").await;
    put(&z.client(), "sched", "k", b"v").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let listed = loop {
        if !backups.exists() {
            assert!(Instant::now() < deadline, "no scheduled backup: {}", z.server_log());
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        }
        let listed = meridian_ok(dir.path(), &["backup", "list", "--dir", s(&backups)]);
        let n = listed.as_array().map_or(0, Vec::len);
        let rounds = z.server_log().matches("scheduled backup written").count();
        // Enough rounds have run that older backups had to go.
        if rounds >= 4 && n == 2 {
            break listed;
        }
        assert!(
            Instant::now() < deadline,
            "scheduled backups: {rounds} rounds, {n} files: {listed}\n{}",
            z.server_log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(listed.as_array().map_or(0, Vec::len), 2, "keep 2: {listed}");
    let text = metrics_text(&z).await.expect("metrics");
    for name in [
        "meridian_backup_last_success_timestamp_seconds",
        "meridian_backup_last_duration_seconds",
        "meridian_backup_last_size_bytes",
    ] {
        assert!(!metric_samples(&text, name, &[]).is_empty(), "{name} missing");
    }
    // With the server stopped nothing changes under the check.
    z.stop();
    let listed = meridian_ok(dir.path(), &["backup", "list", "--dir", s(&backups)]);
    let files = listed.as_array().expect("array");
    assert_eq!(files.len(), 2, "keep 2: {listed}");
    for f in files {
        assert_eq!(f["manifest"]["zone"]["name"], "default", "{f}");
        meridian_ok(dir.path(), &["backup", "verify", f["file"].as_str().expect("file")]);
    }
}

/// A zone's listing of `bucket` with the test user, or the error.
async fn listing(zone: &Zone, bucket: &str) -> Result<BTreeMap<String, Listed>, String> {
    list_objects(zone, bucket).await
}

async fn wait_equal(zones: &[&Zone], buckets: &[&str]) {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let mut diff = None;
        for b in buckets {
            let first = listing(zones[0], b).await;
            for z in &zones[1..] {
                let other = listing(z, b).await;
                if first.is_err() || first != other {
                    diff = Some(format!(
                        "{b}: {} has {:?} keys, {} has {:?}",
                        zones[0].name,
                        first.as_ref().map(|l| l.len()),
                        z.name,
                        other.as_ref().map(|l| l.len())
                    ));
                }
            }
        }
        let Some(diff) = diff else { return };
        if Instant::now() > deadline {
            let logs: Vec<String> = zones
                .iter()
                .map(|z| format!("== {} ==\n{}", z.name, z.log_tail(200)))
                .collect();
            panic!("zones did not converge: {diff}\n{}", logs.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restored_zone_falls_back_to_full_sync_where_peers_trimmed_and_converges() {
    let mut site = Site::build_with(&["us-east", "us-west"], |z| z.sync.log_trim_interval_secs = 1);
    let east = site.zones[0].client();
    create_bucket(&east, "msite").await;
    for i in 0..20u64 {
        put(
            &east,
            "msite",
            &format!("before/{i}"),
            &pattern(if i % 5 == 0 { 100_000 } else { 500 }, i),
        )
        .await;
    }
    put(&site.zones[1].client(), "msite", "from-west", b"west").await;
    wait_equal(&[&site.zones[0], &site.zones[1]], &["msite"]).await;

    // 1. Back up the non-master zone, online.
    let backup = site.zones[1].root_dir().join("us-west.tar.zst");
    let (period_id, period_epoch) = site.zones[1].period_version();
    let created = site.zones[1].cli(&["backup", "create", "--with-data", "--out", s(&backup)]);
    assert_eq!(created["zone"], "us-west", "{created}");
    // The manifest names the realm, zonegroup, zone and period of the zone backed up.
    let listed = site.zones[1].cli(&["backup", "list", "--dir", s(site.zones[1].root_dir())]);
    let manifest = listed
        .as_array()
        .and_then(|l| l.iter().find(|f| f["file"].as_str() == Some(s(&backup))))
        .map(|f| f["manifest"].clone())
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(
        [
            &manifest["realm"],
            &manifest["zonegroup"],
            &manifest["zone"],
            &manifest["period"]
        ],
        [
            &serde_json::json!({"id": site.realm_id, "name": "gold"}),
            &serde_json::json!({"id": site.zones[1].zonegroup_id("us"), "name": "us"}),
            &serde_json::json!({"id": site.zones[1].zone_id(None), "name": "us-west"}),
            &serde_json::json!({"id": period_id, "epoch": period_epoch}),
        ],
        "{manifest:#}"
    );

    // 2. The others keep writing (objects and a new bucket, so both logs move); us-west keeps syncing, so
    //    us-east trims past what the backup's markers say.
    for i in 0..30u64 {
        put(
            &east,
            "msite",
            &format!("after/{i}"),
            &pattern(700 + i as usize, 100 + i),
        )
        .await;
    }
    for i in 0..5u64 {
        east.delete_object()
            .bucket("msite")
            .key(format!("before/{i}"))
            .send()
            .await
            .expect("delete");
    }
    create_bucket(&east, "msite-later").await;
    put(&east, "msite-later", "x", b"later").await;
    // Many buckets, so shards of the metadata and data logs hold several entries (trimming keeps each
    // shard's newest one).
    let mut buckets = vec!["msite".to_string(), "msite-later".to_string()];
    for i in 0..40 {
        let b = format!("many-{i:02}");
        create_bucket(&east, &b).await;
        put(&east, &b, "k", format!("v{i}").as_bytes()).await;
        buckets.push(b);
    }
    let all: Vec<&str> = buckets.iter().map(String::as_str).collect();
    wait_equal(&[&site.zones[0], &site.zones[1]], &all).await;
    let deadline = Instant::now() + CONVERGE;
    loop {
        let t = admin_get(&site.zones[0], "sync/trimmed", &[])
            .await
            .expect("sync/trimmed");
        let buckets = t["buckets"].as_object().map_or(0, |m| m.len());
        let data = t["data"].as_object().map_or(0, |m| m.len());
        let meta = t["metadata"].as_object().map_or(0, |m| m.len());
        if buckets > 0 && data > 0 && meta > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "us-east never trimmed its logs: {t}\n{}",
            site.logs()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // 3. Wipe us-west and restore it from the backup.
    site.zones[1].kill();
    std::fs::remove_dir_all(&site.zones[1].data_dir).expect("wipe us-west");
    site.zones[1].cli(&["backup", "restore", s(&backup)]);
    let restored = listing_offline_count(&site.zones[1]);
    assert!(restored > 0);
    // More writes on us-east while us-west is down.
    put(&east, "msite", "while-down", b"down").await;
    site.zones[1].start();

    // 4. It converges, and its status showed the fallback.
    wait_equal(&[&site.zones[0], &site.zones[1]], &all).await;
    let status = sync_status(&site.zones[1]).await.expect("status");
    let data = status["data"].as_array().expect("data sources");
    let fallbacks: Vec<&Value> = data
        .iter()
        .flat_map(|d| d["full_sync_fallbacks"].as_array().into_iter().flatten())
        .collect();
    assert!(
        fallbacks
            .iter()
            .any(|f| f["what"].as_str().is_some_and(|w| w.contains("msite"))),
        "no bucket fell back to full sync: {status:#}"
    );
    assert!(
        fallbacks
            .iter()
            .any(|f| f["what"].as_str().is_some_and(|w| w.starts_with("shard"))),
        "no data log shard fell back to full sync: {status:#}"
    );
    let meta_fallbacks = status["metadata"]["source"]["full_sync_fallbacks"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(meta_fallbacks > 0, "the metadata log fell back to nothing: {status:#}");
    // `meridian sync status` (text) shows them too.
    let out = site.zones[1].cli_raw(&["sync", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let fell_back = |what: &str| {
        text.lines()
            .any(|l| l.contains(what) && l.contains("synced in full again"))
    };
    assert!(
        text.contains("full sync fallbacks: ") && fell_back("msite") && fell_back("shard "),
        "{text}"
    );
    let keys: BTreeSet<String> = listing(&site.zones[1], "msite")
        .await
        .expect("list")
        .into_keys()
        .collect();
    assert!(keys.contains("after/29") && !keys.contains("before/0"), "{keys:?}");

    // Writes on the restored zone reach its peer (its own logs moved past what the peer had read).
    let etag = put(&site.zones[1].client(), "msite", "written-after-restore", b"new").await;
    wait_equal(&[&site.zones[0], &site.zones[1]], &["msite"]).await;
    let east_listing = listing(&site.zones[0], "msite").await.expect("list");
    assert_eq!(
        east_listing.get("written-after-restore").map(|l| l.etag.clone()),
        Some(etag.trim_matches('"').to_string())
    );
}

/// How many buckets the (stopped) zone's data directory holds.
fn listing_offline_count(zone: &Zone) -> usize {
    zone.cli(&["bucket", "list"]).as_array().map_or(0, Vec::len)
}
