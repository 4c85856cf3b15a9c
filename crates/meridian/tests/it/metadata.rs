//! `meridian metadata list | get | put | rm` against a running server (the CLI goes through its admin API):
//! RGW's entry shapes, optimistic concurrency for operators' puts, and the zonegroup guard of bucket puts.

use crate::common::*;
use serde_json::{json, Value};

/// `2026-11-22T17:44:28.624636Z`: RFC 3339, UTC, microseconds.
fn assert_rgw_time(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time string: {v}"));
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    assert!(
        b.len() == 27
            && digits(0..4)
            && b[4] == b'-'
            && digits(5..7)
            && b[7] == b'-'
            && digits(8..10)
            && b[10] == b'T'
            && digits(11..13)
            && b[13] == b':'
            && digits(14..16)
            && b[16] == b':'
            && digits(17..19)
            && b[19] == b'.'
            && digits(20..26)
            && b[26] == b'Z',
        "not an RFC 3339 time with microseconds: {s:?}"
    );
}

fn assert_ver(entry: &Value, expected: u64) -> String {
    let tag = entry["ver"]["tag"]
        .as_str()
        .unwrap_or_else(|| panic!("no ver.tag: {entry}"));
    assert!(tag.starts_with('_') && tag.len() == 24, "tag {tag:?}");
    assert_eq!(entry["ver"]["ver"], expected, "{entry:#}");
    tag.to_string()
}

/// Runs a verb that must fail; returns its stderr.
#[track_caller]
fn cli_fails(srv: &Server, args: &[&str]) -> String {
    let out = srv.cli_raw(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "meridian {args:?} succeeded but should not have: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn write_doc(srv: &Server, name: &str, doc: &Value) -> String {
    let path = srv.root_dir().join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

fn bucket_id(srv: &Server, bucket: &str) -> String {
    srv.cli(&["bucket", "stats", "--bucket", bucket])["id"]
        .as_str()
        .expect("bucket id")
        .to_string()
}

#[tokio::test]
async fn list_and_get_print_rgw_entries() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "photos").await;
    let id = bucket_id(&srv, "photos");
    let zonegroup = srv.cli(&["bucket", "stats", "--bucket", "photos"])["zonegroup"].clone();

    assert_eq!(
        srv.cli(&["metadata", "list"]),
        json!(["bucket", "bucket.instance", "user"])
    );
    assert_eq!(srv.cli(&["metadata", "list", "user"]), json!([UID]));
    assert_eq!(srv.cli(&["metadata", "list", "bucket"]), json!(["photos"]));
    assert_eq!(
        srv.cli(&["metadata", "list", "bucket.instance"]),
        json!([format!("photos:{id}")])
    );
    // `user list` is still the plain list of ids.
    assert_eq!(srv.cli(&["user", "list"]), json!([UID]));

    let user = srv.cli(&["metadata", "get", &format!("user:{UID}")]);
    assert_eq!(user["key"], format!("user:{UID}"));
    assert_ver(&user, 1);
    assert_rgw_time(&user["mtime"]);
    let data = &user["data"];
    assert_eq!(data["user_id"], UID);
    assert_eq!(data["display_name"], format!("User {UID}"));
    assert_eq!(data["suspended"], 0);
    assert_eq!(data["max_buckets"], 1000);
    assert_eq!(data["keys"][0]["access_key"], ACCESS_KEY);
    assert_eq!(data["keys"][0]["secret_key"], SECRET_KEY);
    assert_eq!(data["keys"][0]["user"], UID);
    assert_eq!(data["op_mask"], "read, write, delete");
    assert_eq!(data["type"], "rgw");
    assert_eq!(data["attrs"], json!([]));
    assert_eq!(data["user_quota"]["max_objects"], -1);

    let bucket = srv.cli(&["metadata", "get", "bucket:photos"]);
    assert_eq!(bucket["key"], "bucket:photos");
    let tag = assert_ver(&bucket, 1);
    assert_rgw_time(&bucket["mtime"]);
    let data = &bucket["data"];
    assert_eq!(data["bucket"]["name"], "photos");
    assert_eq!(data["bucket"]["bucket_id"], id.as_str());
    assert_eq!(data["bucket"]["marker"], id.as_str());
    assert_eq!(data["bucket"]["tenant"], "");
    assert_eq!(
        data["bucket"]["explicit_placement"],
        json!({"data_pool": "", "data_extra_pool": "", "index_pool": ""})
    );
    assert_eq!(data["owner"], UID);
    assert_rgw_time(&data["creation_time"]);
    assert_eq!(data["linked"], "true");
    assert_eq!(data["has_bucket_info"], "false");

    let key = format!("bucket.instance:photos:{id}");
    let inst = srv.cli(&["metadata", "get", &key]);
    assert_eq!(inst["key"], key.as_str());
    assert_eq!(assert_ver(&inst, 1), tag, "one record, one ver for both keys");
    let info = &inst["data"]["bucket_info"];
    assert_eq!(info["bucket"]["bucket_id"], id.as_str());
    assert_eq!(info["owner"], UID);
    assert_eq!(info["zonegroup"], zonegroup);
    assert_eq!(info["placement_rule"], "default-placement");
    assert_eq!(info["creation_time"], data["creation_time"]);
    assert_eq!(info["flags"], 0);
    assert_eq!(info["has_instance_obj"], "true");
    assert_eq!(info["num_shards"], 0);
    assert_eq!(info["quota"]["enabled"], false);
    assert_eq!(info["mdsearch_config"], json!([]));
    assert_eq!(inst["data"]["attrs"], json!([]));

    // Wrong keys and sections are answered with the accepted forms.
    let err = cli_fails(&srv, &["metadata", "get", "photos"]);
    assert!(err.contains("bucket.instance:[<tenant>/]<name>:<bucket id>"), "{err}");
    let err = cli_fails(&srv, &["metadata", "get", "bucket.instance:photos"]);
    assert!(err.contains("user:<uid>"), "{err}");
    let err = cli_fails(&srv, &["metadata", "list", "buckets"]);
    assert!(err.contains("bucket, bucket.instance, user"), "{err}");
    let err = cli_fails(&srv, &["metadata", "get", "user:nobody"]);
    assert!(err.contains("NoSuchUser"), "{err}");
    let err = cli_fails(&srv, &["metadata", "get", "bucket:nothing"]);
    assert!(err.contains("NoSuchBucket"), "{err}");
}

#[tokio::test]
async fn put_bumps_the_version_and_refuses_a_stale_document() {
    let srv = Server::start();
    let key = format!("user:{UID}");
    let mut doc = srv.cli(&["metadata", "get", &key]);
    assert_ver(&doc, 1);
    doc["data"]["display_name"] = json!("Renamed by metadata put");
    let file = write_doc(&srv, "user.json", &doc);

    let stored = srv.cli(&["metadata", "put", &key, "--infile", &file]);
    assert_ver(&stored, 2);
    assert_eq!(stored["data"]["display_name"], "Renamed by metadata put");
    assert_eq!(
        srv.cli(&["user", "info", "--uid", UID])["display_name"],
        "Renamed by metadata put"
    );
    assert_ver(&srv.cli(&["metadata", "get", &key]), 2);
    // The keys (and their index) survived: S3 still authenticates the user.
    srv.client()
        .list_buckets()
        .send()
        .await
        .expect("S3 with the user's key after the put");

    // The same document again is stale now.
    let err = cli_fails(&srv, &["metadata", "put", &key, "--infile", &file]);
    assert!(
        err.contains(&format!("{key} is at version 2")) && err.contains("read at version 1"),
        "{err}"
    );
    assert!(err.contains(&format!("meridian metadata get {key}")), "{err}");
    assert_ver(&srv.cli(&["metadata", "get", &key]), 2);

    // get → edit → put through stdin, as `metadata put KEY < file`.
    let mut doc = srv.cli(&["metadata", "get", &key]);
    doc["data"]["email"] = json!("tester@example.com");
    let out = cli_stdin(&srv, &["metadata", "put", &key], &serde_json::to_vec(&doc).unwrap());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = srv.cli(&["metadata", "get", &key]);
    assert_ver(&after, 3);
    assert_eq!(after["data"]["email"], "tester@example.com");
    assert_eq!(after["data"]["display_name"], "Renamed by metadata put");

    // Broken documents are named and never sent.
    let broken = srv.root_dir().join("broken.json");
    std::fs::write(
        &broken,
        "{\"key\": \"user:tester\",\n  \"data\": {\"display_name\": \"x\",}}",
    )
    .unwrap();
    let err = cli_fails(&srv, &["metadata", "put", &key, "--infile", &broken.to_string_lossy()]);
    assert!(err.contains("not valid JSON") && err.contains("broken.json"), "{err}");
    let out = cli_stdin(&srv, &["metadata", "put", &key], b"display_name: x\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not valid JSON") && err.contains("stdin"), "{err}");
    let err = cli_fails(&srv, &["metadata", "put", &key]);
    assert!(err.contains("empty"), "stdin closed: {err}");
    // JSON, but not an entry.
    let file = write_doc(&srv, "data-only.json", &after["data"]);
    let err = cli_fails(&srv, &["metadata", "put", &key, "--infile", &file]);
    assert!(err.contains("no \"data\""), "{err}");
    assert_ver(&srv.cli(&["metadata", "get", &key]), 3);

    // A user owning buckets is not removed by metadata rm.
    create_bucket(&srv.client(), "kept").await;
    let err = cli_fails(&srv, &["metadata", "rm", &key]);
    assert!(err.contains("kept"), "{err}");
}

#[tokio::test]
async fn bucket_zonegroup_changes_only_when_empty() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "full").await;
    create_bucket(&s3, "empty").await;
    put(&s3, "full", "photo.jpg", b"bytes").await;
    let home = srv.cli(&["bucket", "stats", "--bucket", "full"])["zonegroup"]
        .as_str()
        .expect("zonegroup")
        .to_string();
    srv.cli(&["realm", "create", "--rgw-realm", "gold", "--default"]);
    let zg2 = srv.cli(&["zonegroup", "create", "--rgw-zonegroup", "zg2"])["id"]
        .as_str()
        .expect("zonegroup id")
        .to_string();
    assert_ne!(zg2, home);

    let move_to = |bucket: &str, zonegroup: &str| {
        let key = format!("bucket.instance:{bucket}:{}", bucket_id(&srv, bucket));
        let mut doc = srv.cli(&["metadata", "get", &key]);
        doc["data"]["bucket_info"]["zonegroup"] = json!(zonegroup);
        let file = write_doc(&srv, &format!("{bucket}.json"), &doc);
        srv.cli_raw(&["metadata", "put", &key, "--infile", &file])
    };

    let out = move_to("full", &zg2);
    assert!(!out.status.success(), "moving a bucket with an object must be refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("bucket full holds 1 object in zonegroup {home}")),
        "{err}"
    );
    assert!(err.contains("bucket move"), "{err}");
    assert_eq!(
        srv.cli(&["bucket", "stats", "--bucket", "full"])["zonegroup"],
        home.as_str()
    );
    assert_eq!(get_bytes(&s3, "full", "photo.jpg").await, b"bytes");

    let out = move_to("empty", "zg-typo");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not known"));

    let out = move_to("empty", &zg2);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = format!("bucket.instance:empty:{}", bucket_id(&srv, "empty"));
    let inst = srv.cli(&["metadata", "get", &key]);
    assert_eq!(inst["data"]["bucket_info"]["zonegroup"], zg2.as_str());
    assert_ver(&inst, 2);

    // The instance id of a bucket never changes by a put of its entrypoint.
    let mut ep = srv.cli(&["metadata", "get", "bucket:full"]);
    ep["data"]["bucket"]["bucket_id"] = json!("another-instance");
    let file = write_doc(&srv, "ep.json", &ep);
    let err = cli_fails(&srv, &["metadata", "put", "bucket:full", "--infile", &file]);
    assert!(err.contains("instance ids never change"), "{err}");

    // A bucket holding objects is not removed; an empty one is.
    let err = cli_fails(&srv, &["metadata", "rm", "bucket:full"]);
    assert!(err.contains("BucketNotEmpty"), "{err}");
    srv.cli(&["metadata", "rm", &key]);
    assert_eq!(srv.cli(&["metadata", "list", "bucket"]), json!(["full"]));
}

const SYS_ACCESS: &str = "AKIAMERIDIANSYSTEM01";
const SYS_SECRET: &str = "meridian-test-system-secret-0001/abcdefg";

/// A signed `/admin/...` request with the system user's key; returns the status and the JSON answer.
async fn admin(
    srv: &Server,
    method: &str,
    resource: &str,
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
    let host = srv.addr.to_string();
    let signed = Signer::new(SYS_ACCESS, SYS_SECRET).sign(
        method,
        srv.addr,
        &host,
        &format!("/admin/{resource}"),
        query,
        &[],
        &sha256_hex(&bytes),
        std::time::SystemTime::now(),
    );
    let resp = signed
        .request(&http(), method.parse().unwrap())
        .body(bytes)
        .send()
        .await
        .expect("admin request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} /admin/{resource}: no JSON ({e}): {text}"))
    };
    (status, value)
}

#[tokio::test]
async fn rest_api_pages_keys_and_sync_puts_never_go_back() {
    let srv = Server::start();
    srv.cli(&[
        "user",
        "create",
        "--uid",
        "syncer",
        "--display-name",
        "Sync",
        "--system",
        "--access-key",
        SYS_ACCESS,
        "--secret",
        SYS_SECRET,
    ]);

    let (status, sections) = admin(&srv, "GET", "metadata", &[], None).await;
    assert_eq!((status, sections), (200, json!(["bucket", "bucket.instance", "user"])));
    let (_, all) = admin(&srv, "GET", "metadata/user", &[], None).await;
    assert_eq!(all, json!(["syncer", UID]), "plain array without paging parameters");

    // Paged, as RGW's metadata full sync asks.
    let (status, page) = admin(&srv, "GET", "metadata/user", &[("max-entries", "1")], None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page,
        json!({"keys": ["syncer"], "truncated": true, "count": 1, "marker": "syncer"})
    );
    let (_, page) = admin(
        &srv,
        "GET",
        "metadata/user",
        &[("max-entries", "1"), ("marker", "syncer")],
        None,
    )
    .await;
    assert_eq!(page, json!({"keys": [UID], "truncated": false, "count": 1}));

    let (status, entry) = admin(&srv, "GET", "metadata/user", &[("key", UID)], None).await;
    assert_eq!(status, 200, "{entry}");
    let tag = assert_ver(&entry, 1);

    // A sync put stores the master's version verbatim.
    let mut newer = entry.clone();
    newer["ver"]["ver"] = json!(7);
    newer["mtime"] = json!("2031-05-06T07:08:09.101112Z");
    newer["data"]["display_name"] = json!("From the master");
    let (status, out) = admin(
        &srv,
        "PUT",
        "metadata/user",
        &[("key", UID), ("sync", "true")],
        Some(&newer),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let (_, now) = admin(&srv, "GET", "metadata/user", &[("key", UID)], None).await;
    assert_eq!(now["ver"], json!({"tag": tag, "ver": 7}));
    assert_eq!(now["mtime"], "2031-05-06T07:08:09.101112Z");
    assert_eq!(now["data"]["display_name"], "From the master");

    // An older one changes nothing.
    let mut older = entry.clone();
    older["ver"]["ver"] = json!(3);
    older["data"]["display_name"] = json!("stale");
    let (status, out) = admin(
        &srv,
        "PUT",
        "metadata/user",
        &[("key", UID), ("sync", "true")],
        Some(&older),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["ver"]["ver"], 7, "answers with what is stored");
    let (_, now) = admin(&srv, "GET", "metadata/user", &[("key", UID)], None).await;
    assert_eq!(now["data"]["display_name"], "From the master");

    // An operator's put of the stale document: 409 Conflict.
    let (status, err) = admin(&srv, "PUT", "metadata/user", &[("key", UID)], Some(&older)).await;
    assert_eq!((status, &err["Code"]), (409, &json!("Conflict")), "{err}");
    assert!(err["Message"].as_str().unwrap().contains("is at version 7"), "{err}");

    // Not an entry: 400 naming the problem.
    let (status, err) = admin(&srv, "PUT", "metadata/user", &[("key", UID)], Some(&json!(["x"]))).await;
    assert_eq!(status, 400, "{err}");
    assert!(err["Message"].as_str().unwrap().contains("JSON object"), "{err}");
    let (status, err) = admin(&srv, "PUT", "metadata/user", &[("key", UID)], None).await;
    assert_eq!(status, 400, "{err}");
    assert!(err["Message"].as_str().unwrap().contains("JSON body"), "{err}");
}
