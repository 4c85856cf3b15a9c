//! Multi-site: a realm of three zones (zonegroup `us`: master zone `us-east` + `us-west`; zonegroup `eu`:
//! `eu-1`), each a real `meridian server` with its own data directory, configured with the radosgw-admin
//! shaped verbs. Periods (commit, push, pull, epochs), forwarding of metadata changes to the master, redirects
//! between zonegroups, and the refusals that keep a realm consistent.

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_s3::Client;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

const ALICE_ACCESS: &str = "AKIAMERIDIANALICE001";
const ALICE_SECRET: &str = "alice-secret-key-0001/abcdefghijklmnopqr";

/// How long a running zone may take to hold a period the master committed.
const PROPAGATION: Duration = Duration::from_secs(15);

#[track_caller]
fn text(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

/// The zonegroup of a period's map named `name`.
#[track_caller]
fn zonegroup_of<'a>(period: &'a Value, name: &str) -> &'a Value {
    period["period_map"]["zonegroups"]
        .as_array()
        .unwrap_or_else(|| panic!("period without period_map.zonegroups: {period:#}"))
        .iter()
        .find(|zg| zg["name"] == name)
        .unwrap_or_else(|| panic!("no zonegroup {name} in the period: {period:#}"))
}

/// Sorted names of the entries of an array (`zonegroups`, `zones`).
fn names(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn location_constraint(api_name: &str) -> CreateBucketConfiguration {
    CreateBucketConfiguration::builder()
        .location_constraint(BucketLocationConstraint::from(api_name))
        .build()
}

async fn create_bucket_in(client: &Client, bucket: &str, api_name: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(location_constraint(api_name))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket} in {api_name}: {e:?}"));
}

#[track_caller]
fn bucket_zonegroup(zone: &Zone, bucket: &str) -> String {
    text(&zone.cli(&["bucket", "stats", "--bucket", bucket])["zonegroup"])
}

/// A raw request: method, path, query, body, and the `Location` it must be redirected to.
type RawCase<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [u8], String);

/// A signed `/admin/...` POST with the realm's system key: status and JSON answer.
async fn admin_post(zone: &Zone, resource: &str, body: &Value) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let (status, _, answer) = send_signed(
        &Signer::new(SYS_ACCESS, SYS_SECRET),
        "POST",
        zone.addr,
        &zone.addr.to_string(),
        &format!("/admin/{resource}"),
        &[],
        &bytes,
    )
    .await;
    let value = serde_json::from_str(&answer).unwrap_or_else(|_| json!(answer));
    (status, value)
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// `user create` with a given key.
fn user_create_args<'a>(uid: &'a str, access: &'a str, secret: &'a str) -> Vec<&'a str> {
    vec![
        "user",
        "create",
        "--uid",
        uid,
        "--display-name",
        uid,
        "--access-key",
        access,
        "--secret",
        secret,
    ]
}

// ---------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn three_zones_share_one_period() {
    let realm = Realm::build_three_zones();
    let (a, b, c) = (&realm.a, &realm.b, &realm.c);
    let us_east = a.zone_id(None);
    let us_west = b.zone_id(None);
    let eu_1 = c.zone_id(None);
    // Each server serves the zone its data directory was set up for.
    assert_eq!(a.cli(&["zone", "get"])["name"], "us-east");
    assert_eq!(b.cli(&["zone", "get"])["name"], "us-west");
    assert_eq!(c.cli(&["zone", "get"])["name"], "eu-1");
    assert_eq!(a.cli(&["zone", "get"])["system_key"]["access_key"], SYS_ACCESS);

    let period = a.period();
    let id = text(&period["id"]);
    assert_ne!(
        id, realm.first_period,
        "the master's first commit starts a new period: {period:#}"
    );
    // Commits by A (new period, epoch 1), B (epoch 2), C (epoch 3): the master zone never changed.
    assert_eq!(period["epoch"], 3, "{period:#}");
    assert_eq!(period["predecessor_uuid"], realm.first_period.as_str(), "{period:#}");
    assert_eq!(period["realm_id"], realm.realm_id.as_str());
    assert_eq!(period["realm_name"], "gold");
    assert_eq!(
        period["realm_epoch"], 2,
        "one new period id since the realm's first: {period:#}"
    );
    assert_eq!(period["period_map"]["id"], id.as_str());
    assert_eq!(period["master_zone"], us_east.as_str(), "{period:#}");
    for zone in [b, c] {
        assert_eq!(
            zone.period(),
            period,
            "zone {} holds another period\n{}",
            zone.name,
            realm.logs()
        );
    }

    assert_eq!(names(&period["period_map"]["zonegroups"]), ["eu", "us"]);
    let us = zonegroup_of(&period, "us");
    let eu = zonegroup_of(&period, "eu");
    assert_eq!(period["master_zonegroup"], us["id"], "{period:#}");
    assert_eq!(us["is_master"], "true");
    assert_eq!(eu["is_master"], "false");
    assert_eq!(us["api_name"], "us");
    assert_eq!(eu["api_name"], "eu");
    assert_eq!(strings(&us["endpoints"]), [a.endpoint.as_str()]);
    assert_eq!(strings(&eu["endpoints"]), [c.endpoint.as_str()]);
    assert_eq!(strings(&us["hostnames"]), ["s3.us.example.com"]);
    assert_eq!(strings(&eu["hostnames"]), ["s3.eu.example.com"]);
    assert_eq!(us["master_zone"], us_east.as_str());
    assert_eq!(eu["master_zone"], eu_1.as_str());
    assert_eq!(names(&us["zones"]), ["us-east", "us-west"]);
    assert_eq!(names(&eu["zones"]), ["eu-1"]);
    let zone_entry = |zg: &Value, id: &str| -> Value {
        zg["zones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|z| z["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no zone {id} in {zg:#}"))
    };
    assert_eq!(zone_entry(us, &us_east)["name"], "us-east");
    assert_eq!(strings(&zone_entry(us, &us_east)["endpoints"]), [a.endpoint.as_str()]);
    assert_eq!(zone_entry(us, &us_west)["name"], "us-west");
    assert_eq!(strings(&zone_entry(us, &us_west)["endpoints"]), [b.endpoint.as_str()]);
    assert_eq!(zone_entry(eu, &eu_1)["name"], "eu-1");
    assert_eq!(strings(&zone_entry(eu, &eu_1)["endpoints"]), [c.endpoint.as_str()]);

    let listed = strings(&a.cli(&["period", "list"])["periods"]);
    assert!(
        listed.contains(&id) && listed.contains(&realm.first_period),
        "period list on the master: {listed:?}"
    );

    let r = b.cli(&["realm", "get"]);
    assert_eq!(r["id"], realm.realm_id.as_str());
    assert_eq!(r["name"], "gold");
    assert_eq!(r["current_period"], id.as_str(), "{r}");
    assert_eq!(r["epoch"], 2, "{r}");
    let realms = c.cli(&["realm", "list"]);
    assert_eq!(strings(&realms["realms"]), ["gold"], "{realms}");
    assert_eq!(realms["default_info"], realm.realm_id.as_str());
    for zone in realm.zones() {
        let zgs = strings(&zone.cli(&["zonegroup", "list"])["zonegroups"]);
        assert!(
            zgs.contains(&"us".to_string()) && zgs.contains(&"eu".to_string()),
            "zonegroup list on {}: {zgs:?}",
            zone.name
        );
        // The zonegroup records of every zone follow the period.
        assert_eq!(
            zone.zonegroup_id("eu"),
            text(&eu["id"]),
            "zonegroup eu on zone {}",
            zone.name
        );
    }
}

#[tokio::test]
async fn a_commit_reaches_every_running_zone_without_a_restart() {
    let realm = Realm::build_three_zones();
    let (a, b, c) = (&realm.a, &realm.b, &realm.c);
    let (id, epoch) = a.period_version();
    let tester = a.client();
    create_bucket(&tester, "vhost-us").await;
    put(&tester, "vhost-us", "k", b"x").await;

    // Before the change s3.us2.example.com is no hostname of the realm: the Host header is just a name.
    let us2_on_c = format!("vhost-us.s3.us2.example.com:{}", c.port());
    let (status, _, body) = send_signed(&c.signer(), "GET", c.addr, &us2_on_c, "/k", &[], b"").await;
    assert_ne!(status, 301, "{body}");

    let zg = a.cli(&[
        "zonegroup",
        "modify",
        "--rgw-zonegroup",
        "us",
        "--hostnames",
        "s3.us.example.com,s3.us2.example.com",
    ]);
    assert_eq!(strings(&zg["hostnames"]), ["s3.us.example.com", "s3.us2.example.com"]);
    let committed = a.cli(&["period", "update", "--commit"]);
    assert_eq!(
        committed["id"],
        id.as_str(),
        "same master zone, same period: {committed:#}"
    );
    assert_eq!(committed["epoch"], epoch + 1, "{committed:#}");
    assert_eq!(a.period_version(), (id.clone(), epoch + 1));

    for zone in [b, c] {
        let p = wait_for_period(zone, &id, epoch + 1, PROPAGATION).await;
        assert_eq!(
            (p["id"].clone(), p["epoch"].clone()),
            (json!(id), json!(epoch + 1)),
            "zone {} did not get the new period\n{}",
            zone.name,
            realm.logs()
        );
        assert_eq!(
            strings(&zonegroup_of(&p, "us")["hostnames"]),
            ["s3.us.example.com", "s3.us2.example.com"]
        );
    }

    // The running C serves the new hostname: a request for a bucket of us under it is redirected to us.
    let (status, headers, body) = send_signed(&c.signer(), "GET", c.addr, &us2_on_c, "/k", &[], b"").await;
    assert_eq!(status, 301, "{body}\n{}", realm.logs());
    assert!(body.contains("<Code>PermanentRedirect</Code>"), "{body}");
    assert_eq!(
        header(&headers, "location"),
        format!("http://vhost-us.s3.us.example.com:{}/k", a.port())
    );
    // And the running B (zonegroup us) serves the bucket under it: a listing of the bucket, not of the service.
    let us2_on_b = format!("vhost-us.s3.us2.example.com:{}", b.port());
    let (status, _, body) = send_signed(&b.signer(), "GET", b.addr, &us2_on_b, "/", &[], b"").await;
    assert_eq!(status, 200, "{body}\n{}", realm.logs());
    assert!(
        body.contains("<ListBucketResult") && body.contains("<Name>vhost-us</Name>"),
        "{body}"
    );
}

#[tokio::test]
async fn a_zone_that_missed_a_commit_catches_up() {
    let mut realm = Realm::build_three_zones();
    let (id, e0) = realm.a.period_version();
    create_bucket(&realm.a.client(), "catch-up").await;

    realm.b.stop();
    realm.a.cli(&[
        "zonegroup",
        "modify",
        "--rgw-zonegroup",
        "us",
        "--hostnames",
        "s3.us.example.com,s3.down1.example.com",
    ]);
    let committed = realm.a.cli(&["period", "update", "--commit"]);
    assert_eq!(
        (text(&committed["id"]), committed["epoch"].as_u64()),
        (id.clone(), Some(e0 + 1))
    );
    // C was up and got it; B's data directory (no server) still holds the old epoch.
    let p = wait_for_period(&realm.c, &id, e0 + 1, PROPAGATION).await;
    assert_eq!(p["epoch"], e0 + 1, "{}", realm.logs());
    assert_eq!(realm.b.period_version(), (id.clone(), e0));

    // Restarted, B pulls the period from the master by itself.
    realm.b.start();
    let p = wait_for_period(&realm.b, &id, e0 + 1, PROPAGATION).await;
    assert_eq!(p["epoch"], e0 + 1, "B did not pull the new period\n{}", realm.logs());
    assert!(strings(&zonegroup_of(&p, "us")["hostnames"]).contains(&"s3.down1.example.com".to_string()));
    // ... and serves it: the new hostname addresses the bucket.
    let host = format!("catch-up.s3.down1.example.com:{}", realm.b.port());
    let (status, _, body) = send_signed(&realm.b.signer(), "GET", realm.b.addr, &host, "/", &[], b"").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Name>catch-up</Name>"), "{body}");

    // Missed again; this time the operator pulls by hand while the server is down.
    realm.b.stop();
    realm.a.cli(&[
        "zonegroup",
        "modify",
        "--rgw-zonegroup",
        "us",
        "--hostnames",
        "s3.us.example.com,s3.down2.example.com",
    ]);
    let committed = realm.a.cli(&["period", "update", "--commit"]);
    assert_eq!(committed["epoch"], e0 + 2);
    assert_eq!(realm.b.period_version(), (id.clone(), e0 + 1));
    let pulled = realm.b.cli_with_key(&["period", "pull", "--url", &realm.a.endpoint]);
    assert_eq!(
        (text(&pulled["id"]), pulled["epoch"].as_u64()),
        (id.clone(), Some(e0 + 2))
    );
    assert_eq!(realm.b.period_version(), (id.clone(), e0 + 2));
    let local = realm.b.cli(&["zonegroup", "get", "--rgw-zonegroup", "us"]);
    assert_eq!(
        strings(&local["hostnames"]),
        ["s3.us.example.com", "s3.down2.example.com"],
        "B's zonegroup record follows the pulled period"
    );
    assert_eq!(realm.b.cli(&["realm", "get"])["current_period"], id.as_str());
    realm.b.start();
    assert_eq!(realm.b.period_version(), (id, e0 + 2));
}

#[tokio::test]
async fn metadata_changes_go_through_the_master() {
    let realm = Realm::build_three_zones();
    let (a, b, c) = (&realm.a, &realm.b, &realm.c);
    let us = a.zonegroup_id("us");
    let eu = a.zonegroup_id("eu");

    // A user created through a secondary zone is created on the master, and copied back.
    let created = b.cli(&user_create_args("alice", ALICE_ACCESS, ALICE_SECRET));
    assert_eq!(created["keys"][0]["access_key"], ALICE_ACCESS, "{created:#}");
    for zone in [a, b] {
        let info = zone.cli(&["user", "info", "--uid", "alice"]);
        assert_eq!(
            info["keys"][0]["access_key"], ALICE_ACCESS,
            "on {}: {info:#}",
            zone.name
        );
        assert_eq!(
            info["keys"][0]["secret_key"], ALICE_SECRET,
            "on {}: {info:#}",
            zone.name
        );
    }
    let on_a = a.cli(&["metadata", "get", "user:alice"]);
    let on_b = b.cli(&["metadata", "get", "user:alice"]);
    assert_eq!(on_a["ver"], on_b["ver"], "A: {on_a:#}\nB: {on_b:#}");
    assert_eq!(on_a["mtime"], on_b["mtime"]);
    assert_eq!(on_a["data"]["keys"], on_b["data"]["keys"]);

    // eu-1 has never heard of alice: it asks the master for the key.
    let alice_c = c.client_for(ALICE_ACCESS, ALICE_SECRET);
    alice_c
        .list_buckets()
        .send()
        .await
        .unwrap_or_else(|e| panic!("alice's key on eu-1: {e:?}\n{}", realm.logs()));
    assert_eq!(c.cli(&["metadata", "get", "user:alice"])["ver"], on_a["ver"]);

    // A bucket created through B lives in zonegroup us, recorded by the master.
    let alice_b = b.client_for(ALICE_ACCESS, ALICE_SECRET);
    create_bucket(&alice_b, "alice-west").await;
    let listed = strings(&a.cli(&["bucket", "list"]));
    assert!(
        listed.contains(&"alice-west".to_string()),
        "bucket list on A: {listed:?}"
    );
    let st_a = a.cli(&["bucket", "stats", "--bucket", "alice-west"]);
    let st_b = b.cli(&["bucket", "stats", "--bucket", "alice-west"]);
    assert_eq!(st_a["zonegroup"], us.as_str(), "{st_a:#}");
    assert_eq!(st_b["zonegroup"], us.as_str(), "{st_b:#}");
    assert_eq!(st_a["id"], st_b["id"], "one bucket instance");
    assert_eq!(st_a["owner"], "alice");

    // Through C with LocationConstraint eu: zonegroup eu.
    create_bucket_in(&alice_c, "alice-eu", "eu").await;
    assert_eq!(bucket_zonegroup(a, "alice-eu"), eu);
    assert_eq!(bucket_zonegroup(c, "alice-eu"), eu);
    assert_eq!(a.cli(&["metadata", "get", "bucket:alice-eu"])["data"]["owner"], "alice");

    // Bucket names are unique in the realm, whichever zone is asked.
    let tester_c = c.client();
    let res = tester_c
        .create_bucket()
        .bucket("alice-west")
        .create_bucket_configuration(location_constraint("eu"))
        .send()
        .await;
    expect_err(res, "BucketAlreadyExists", 409);
    let res = b.client().create_bucket().bucket("alice-eu").send().await;
    expect_err(res, "BucketAlreadyExists", 409);
    let res = alice_b.create_bucket().bucket("alice-eu").send().await;
    let err = match res {
        Ok(v) => panic!("alice re-created alice-eu through us-west: {v:?}"),
        Err(e) => e,
    };
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(409), "{err:?}");
    assert!(
        matches!(err.code(), Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")),
        "{err:?}"
    );
    assert_eq!(bucket_zonegroup(a, "alice-eu"), eu, "a refused create moves nothing");
    assert_eq!(bucket_zonegroup(a, "alice-west"), us);

    // A location constraint naming another zonegroup: refused where it was sent, naming where eu is served.
    let res = alice_b
        .create_bucket()
        .bucket("wrong-place")
        .create_bucket_configuration(location_constraint("eu"))
        .send()
        .await;
    let err = expect_err(res, "InvalidLocationConstraint", 400);
    let msg = err.message().unwrap_or_default().to_string();
    assert!(msg.contains("eu") && msg.contains(&c.endpoint), "{msg}");
    let missing = a.cli_fails(&["bucket", "stats", "--bucket", "wrong-place"]);
    assert!(missing.contains("NoSuchBucket"), "{missing}");
}

#[tokio::test]
async fn master_unreachable_means_503_until_it_is_back() {
    let mut realm = Realm::build_three_zones();
    let tester_b = realm.b.client();
    // B learns tester's key from the master while it is up.
    tester_b.list_buckets().send().await.expect("tester on us-west");

    realm.a.stop();
    let res = tester_b.create_bucket().bucket("while-master-down").send().await;
    let err = expect_err(res, "ServiceUnavailable", 503);
    let msg = err.message().unwrap_or_default().to_string();
    assert!(msg.contains("metadata master"), "{msg}");
    let stderr = realm
        .b
        .cli_fails(&user_create_args("bob", "AKIAMERIDIANBOB00001", "bob-secret-0001"));
    assert!(stderr.contains("metadata master"), "{stderr}");
    let info = realm.b.cli_fails(&["user", "info", "--uid", "bob"]);
    assert!(info.contains("bob"), "{info}");

    realm.a.start();
    create_bucket(&tester_b, "while-master-down").await;
    assert_eq!(
        bucket_zonegroup(&realm.a, "while-master-down"),
        realm.a.zonegroup_id("us")
    );
    realm
        .b
        .cli(&user_create_args("bob", "AKIAMERIDIANBOB00001", "bob-secret-0001"));
    assert_eq!(
        realm.a.cli(&["user", "info", "--uid", "bob"])["keys"][0]["access_key"],
        "AKIAMERIDIANBOB00001"
    );
}

#[tokio::test]
async fn requests_for_another_zonegroup_are_redirected() {
    let realm = Realm::build_three_zones();
    let (a, b, c) = (&realm.a, &realm.b, &realm.c);
    let pa = a.port();
    let tester_a = a.client();
    create_bucket(&tester_a, "us-photos").await;
    put(&tester_a, "us-photos", "dir/a.txt", b"hello from us").await;

    // The SDK sees PermanentRedirect (301) for object and bucket operations sent to eu-1.
    let tester_c = c.client();
    let res = tester_c
        .put_object()
        .bucket("us-photos")
        .key("dir/b.txt")
        .body(ByteStream::from_static(b"misdirected"))
        .send()
        .await;
    let err = expect_err(res, "PermanentRedirect", 301);
    // The same request target (the SDK adds `?x-id=PutObject`) at the us zonegroup's endpoint.
    let location = err
        .raw_response()
        .and_then(|r| r.headers().get("location"))
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        location.split('?').next(),
        Some(format!("http://127.0.0.1:{pa}/us-photos/dir/b.txt").as_str()),
        "{location}"
    );
    let res = tester_c.get_object().bucket("us-photos").key("dir/a.txt").send().await;
    expect_err(res, "PermanentRedirect", 301);
    let res = tester_c.head_object().bucket("us-photos").key("dir/a.txt").send().await;
    assert_eq!(err_status(res), 301);
    let res = tester_c.list_objects_v2().bucket("us-photos").send().await;
    expect_err(res, "PermanentRedirect", 301);

    // Raw requests: the headers and the error document.
    let signer = c.signer();
    let host_c = c.addr.to_string();
    let cases: [RawCase; 4] = [
        (
            "PUT",
            "/us-photos/dir/b.txt",
            &[],
            b"misdirected",
            format!("http://127.0.0.1:{pa}/us-photos/dir/b.txt"),
        ),
        (
            "GET",
            "/us-photos/dir/a.txt",
            &[],
            b"",
            format!("http://127.0.0.1:{pa}/us-photos/dir/a.txt"),
        ),
        (
            "HEAD",
            "/us-photos/dir/a.txt",
            &[],
            b"",
            format!("http://127.0.0.1:{pa}/us-photos/dir/a.txt"),
        ),
        (
            "GET",
            "/us-photos",
            &[("list-type", "2"), ("prefix", "dir/")],
            b"",
            format!("http://127.0.0.1:{pa}/us-photos?list-type=2&prefix=dir%2F"),
        ),
    ];
    for (method, path, query, body, expected) in cases {
        let (status, headers, doc) = send_signed(&signer, method, c.addr, &host_c, path, query, body).await;
        assert_eq!(status, 301, "{method} {path}: {doc}");
        assert_eq!(header(&headers, "location"), expected, "{method} {path}");
        assert_eq!(header(&headers, "x-amz-bucket-region"), "us", "{method} {path}");
        if method != "HEAD" {
            assert!(doc.contains("<Code>PermanentRedirect</Code>"), "{method} {path}: {doc}");
            assert!(
                doc.contains(&format!("<Endpoint>127.0.0.1:{pa}</Endpoint>")),
                "{method} {path}: {doc}"
            );
            assert!(doc.contains("<Bucket>us-photos</Bucket>"), "{method} {path}: {doc}");
        }
    }
    // Virtual-hosted style: sent on under the owning zonegroup's hostname.
    let vhost = format!("us-photos.s3.eu.example.com:{}", c.port());
    let (status, headers, doc) = send_signed(&signer, "GET", c.addr, &vhost, "/dir/a.txt", &[], b"").await;
    assert_eq!(status, 301, "{doc}");
    assert_eq!(
        header(&headers, "location"),
        format!("http://us-photos.s3.us.example.com:{pa}/dir/a.txt")
    );
    assert_eq!(header(&headers, "x-amz-bucket-region"), "us");

    // Where a bucket lives is answered anywhere.
    let loc = tester_c
        .get_bucket_location()
        .bucket("us-photos")
        .send()
        .await
        .expect("GetBucketLocation on eu-1");
    assert_eq!(loc.location_constraint().map(|l| l.as_str()), Some("us"));

    // The other zone of the bucket's zonegroup serves it.
    let tester_b = b.client();
    put(&tester_b, "us-photos", "from-west.txt", b"west").await;
    assert_eq!(get_bytes(&tester_b, "us-photos", "from-west.txt").await, b"west");
    tester_b
        .head_bucket()
        .bucket("us-photos")
        .send()
        .await
        .expect("HeadBucket on us-west");
    let listed = tester_b
        .list_objects_v2()
        .bucket("us-photos")
        .send()
        .await
        .expect("ListObjectsV2 on us-west");
    assert!(
        listed.contents().iter().any(|o| o.key() == Some("from-west.txt")),
        "{listed:?}"
    );

    // The awscli reports the redirect with the endpoint to use.
    awscli_sees_the_redirect(c, pa);

    // A bucket holding an object does not change zonegroup by a metadata put.
    let eu = a.zonegroup_id("eu");
    let us = a.zonegroup_id("us");
    let bucket_id = text(&a.cli(&["bucket", "stats", "--bucket", "us-photos"])["id"]);
    let key = format!("bucket.instance:us-photos:{bucket_id}");
    let mut doc = a.cli(&["metadata", "get", &key]);
    doc["data"]["bucket_info"]["zonegroup"] = json!(eu);
    let file = a.root_dir().join("us-photos.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let err = a.cli_fails(&["metadata", "put", &key, "--infile", &file.to_string_lossy()]);
    assert!(err.contains("bucket move"), "{err}");
    assert_eq!(bucket_zonegroup(a, "us-photos"), us);
    let res = tester_c.get_object().bucket("us-photos").key("dir/a.txt").send().await;
    expect_err(res, "PermanentRedirect", 301);
}

fn awscli_sees_the_redirect(c: &Zone, pa: u16) {
    if Command::new("aws").arg("--version").output().is_err() {
        println!("aws is not on PATH: skipping the awscli redirect check");
        return;
    }
    let dir = c.root_dir();
    let body = dir.join("awscli-body.txt");
    std::fs::write(&body, b"from the awscli").unwrap();
    let config = dir.join("aws-config");
    let credentials = dir.join("aws-credentials");
    std::fs::write(&config, b"").unwrap();
    std::fs::write(&credentials, b"").unwrap();
    let mut cmd = Command::new("aws");
    cmd.args(["--endpoint-url", &c.endpoint, "s3api", "put-object"])
        .args(["--bucket", "us-photos", "--key", "cli.txt", "--body"])
        .arg(&body)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_DEFAULT_REGION", "eu")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env_remove("AWS_CA_BUNDLE")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL");
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "aws put-object to the wrong zonegroup succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("PermanentRedirect"), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{pa}")), "{stderr}");
}

#[tokio::test]
async fn refusals_name_what_is_wrong() {
    let mut realm = Realm::build_three_zones();
    let (id, e) = realm.a.period_version();

    // A push of an older epoch of the current period changes nothing.
    let older = realm
        .a
        .cli(&["period", "get", "--period", &id, "--epoch", &(e - 1).to_string()]);
    assert_eq!(older["epoch"], e - 1, "{older:#}");
    let (status, answer) = admin_post(&realm.b, "realm/period", &older).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer.to_string().contains("not newer"), "{answer}");
    assert_eq!(realm.b.period_version(), (id.clone(), e));

    // Names already taken, and records this data directory needs.
    let err = realm.a.cli_fails(&["realm", "create", "--rgw-realm", "gold"]);
    assert!(err.contains("gold") && err.contains("already exists"), "{err}");
    let err = realm
        .b
        .cli_fails(&["zone", "create", "--rgw-zonegroup", "us", "--rgw-zone", "us-west"]);
    assert!(err.contains("us-west") && err.contains("already"), "{err}");
    let err = realm
        .a
        .cli_fails(&["zone", "create", "--rgw-zonegroup", "us", "--rgw-zone", "us-west"]);
    assert!(err.contains("us-west") && err.contains("already"), "{err}");
    let err = realm.c.cli_fails(&["zonegroup", "create", "--rgw-zonegroup", "us"]);
    assert!(err.contains("us") && err.contains("already exists"), "{err}");
    let err = realm.b.cli_fails(&["zonegroup", "delete", "--rgw-zonegroup", "us"]);
    assert!(err.contains("holds this data directory's zone"), "{err}");
    let err = realm.c.cli_fails(&["zone", "delete", "--rgw-zone", "eu-1"]);
    assert!(err.contains("eu-1") && err.contains("serves"), "{err}");
    assert_eq!(
        names(&realm.b.cli(&["zonegroup", "get", "--rgw-zonegroup", "us"])["zones"]),
        ["us-east", "us-west"]
    );

    // A secondary whose staging period is behind the master's: refused, with the fix named.
    realm.c.stop();
    realm.a.cli(&[
        "zonegroup",
        "modify",
        "--rgw-zonegroup",
        "us",
        "--hostnames",
        "s3.us.example.com,s3.while-c-down.example.com",
    ]);
    let committed = realm.a.cli(&["period", "update", "--commit"]);
    assert_eq!(committed["epoch"], e + 1);
    assert_eq!(realm.c.period_version(), (id.clone(), e), "C missed the commit");
    realm
        .c
        .cli(&["zone", "modify", "--rgw-zone", "eu-1", "--endpoints", &realm.c.endpoint]);
    let err = realm.c.cli_fails(&["period", "update", "--commit"]);
    assert!(
        err.contains("built on") || err.contains("realm epoch"),
        "the refusal says what the staging period is behind: {err}"
    );
    assert!(err.contains("period pull"), "the refusal names the fix: {err}");
    let current = realm.a.period();
    assert_eq!(current["epoch"], e + 1, "the stale staging period was not committed");
    assert!(
        strings(&zonegroup_of(&current, "us")["hostnames"]).contains(&"s3.while-c-down.example.com".to_string()),
        "the master's change is intact: {current:#}"
    );

    let pulled = realm.c.cli_with_key(&["period", "pull", "--url", &realm.a.endpoint]);
    assert_eq!(pulled["epoch"], e + 1);
    let committed = realm.c.cli(&["period", "update", "--commit"]);
    assert_eq!(
        (text(&committed["id"]), committed["epoch"].as_u64()),
        (id.clone(), Some(e + 2))
    );
    let current = realm.a.period();
    assert_eq!(current["epoch"], e + 2);
    assert!(
        strings(&zonegroup_of(&current, "us")["hostnames"]).contains(&"s3.while-c-down.example.com".to_string()),
        "committing after the pull keeps the master's change: {current:#}"
    );
    realm.c.start();
    assert_eq!(realm.c.period_version(), (id.clone(), e + 2));
    let p = wait_for_period(&realm.b, &id, e + 2, PROPAGATION).await;
    assert_eq!(p["epoch"], e + 2, "{}", realm.logs());
}

#[tokio::test]
async fn offline_configuration_rules() {
    // A period needs a metadata master zone.
    let lonely = Zone::scratch("lonely");
    lonely.cli(&["realm", "create", "--rgw-realm", "lonely", "--default"]);
    lonely.cli(&["zonegroup", "create", "--rgw-zonegroup", "x", "--master"]);
    lonely.cli(&["zone", "create", "--rgw-zonegroup", "x", "--rgw-zone", "z"]);
    let err = lonely.cli_fails(&["period", "update", "--commit"]);
    assert!(err.contains("--master"), "{err}");
    let realm = lonely.cli(&["realm", "get"]);
    assert_eq!(
        strings(&lonely.cli(&["period", "list"])["periods"])
            .into_iter()
            .filter(|p| !p.ends_with(":staging"))
            .collect::<Vec<_>>(),
        [text(&realm["current_period"])],
        "nothing was committed"
    );

    // Deletes that would orphan a zone or a zonegroup are refused; renames keep the ids.
    let site = Zone::scratch("site");
    site.cli(&["realm", "create", "--rgw-realm", "gold", "--default"]);
    site.cli(&["zonegroup", "create", "--rgw-zonegroup", "us", "--master", "--default"]);
    site.cli(&[
        "zone",
        "create",
        "--rgw-zonegroup",
        "us",
        "--rgw-zone",
        "us-east",
        "--master",
        "--default",
    ]);
    site.cli(&["zone", "create", "--rgw-zonegroup", "us", "--rgw-zone", "us-west"]);
    site.cli(&["zonegroup", "create", "--rgw-zonegroup", "eu"]);
    site.cli(&[
        "zone",
        "create",
        "--rgw-zonegroup",
        "eu",
        "--rgw-zone",
        "eu-1",
        "--master",
    ]);
    site.cli(&["zone", "create", "--rgw-zonegroup", "eu", "--rgw-zone", "eu-2"]);

    let err = site.cli_fails(&["zone", "delete", "--rgw-zone", "eu-1"]);
    assert!(err.contains("eu-1") && err.contains("master zone"), "{err}");
    let err = site.cli_fails(&["zone", "delete", "--rgw-zone", "us-east"]);
    assert!(err.contains("us-east") && err.contains("serves"), "{err}");
    let err = site.cli_fails(&["zonegroup", "delete", "--rgw-zonegroup", "us"]);
    assert!(err.contains("holds this data directory's zone"), "{err}");
    site.cli(&["zone", "delete", "--rgw-zone", "eu-2"]);
    assert_eq!(
        names(&site.cli(&["zonegroup", "get", "--rgw-zonegroup", "eu"])["zones"]),
        ["eu-1"]
    );

    let west = site.zone_id(Some("us-west"));
    let renamed = site.cli(&[
        "zone",
        "rename",
        "--rgw-zone",
        "us-west",
        "--zone-new-name",
        "us-west-2",
    ]);
    assert_eq!(renamed["id"], west.as_str(), "{renamed:#}");
    assert_eq!(renamed["name"], "us-west-2");
    assert_eq!(site.zone_id(Some("us-west-2")), west);
    let err = site.cli_fails(&["zone", "get", "--rgw-zone", "us-west"]);
    assert!(err.contains("does not exist"), "{err}");
    let zones = strings(&site.cli(&["zone", "list"])["zones"]);
    assert!(
        zones.contains(&"us-west-2".to_string()) && !zones.contains(&"us-west".to_string()),
        "{zones:?}"
    );

    let eu = site.zonegroup_id("eu");
    let renamed = site.cli(&[
        "zonegroup",
        "rename",
        "--rgw-zonegroup",
        "eu",
        "--zonegroup-new-name",
        "europe",
    ]);
    assert_eq!(renamed["id"], eu.as_str(), "{renamed:#}");
    assert_eq!(site.zonegroup_id("europe"), eu);
    let err = site.cli_fails(&["zonegroup", "get", "--rgw-zonegroup", "eu"]);
    assert!(err.contains("does not exist"), "{err}");

    // The committed period carries the new names under the old ids.
    let period = site.cli(&["period", "update", "--commit"]);
    let europe = zonegroup_of(&period, "europe");
    assert_eq!(europe["id"], eu.as_str());
    let us = zonegroup_of(&period, "us");
    let entry = us["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["id"] == west.as_str())
        .unwrap_or_else(|| panic!("zone {west} missing: {us:#}"));
    assert_eq!(entry["name"], "us-west-2");
}

/// `admin_post` with another method (a signed admin request with a JSON body).
async fn admin_send(zone: &Zone, method: &str, resource: &str, query: &[(&str, &str)], body: &Value) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let (status, _, answer) = send_signed(
        &Signer::new(SYS_ACCESS, SYS_SECRET),
        method,
        zone.addr,
        &zone.addr.to_string(),
        &format!("/admin/{resource}"),
        query,
        &bytes,
    )
    .await;
    (status, serde_json::from_str(&answer).unwrap_or_else(|_| json!(answer)))
}

/// `metadata get` of a bucket's instance with its zonegroup replaced, written to a file for `metadata put`.
fn instance_with_zonegroup(zone: &Zone, bucket: &str, zonegroup: &str) -> (String, Value, std::path::PathBuf) {
    let bucket_id = text(&zone.cli(&["bucket", "stats", "--bucket", bucket])["id"]);
    let key = format!("bucket.instance:{bucket}:{bucket_id}");
    let mut doc = zone.cli(&["metadata", "get", &key]);
    doc["data"]["bucket_info"]["zonegroup"] = json!(zonegroup);
    let file = zone.root_dir().join(format!("{bucket}-{zonegroup}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    (key, doc, file)
}

/// The defects of a `metadata put` that changes a bucket's zonegroup (issue 12): the master must not count
/// only its own objects for another zonegroup's bucket; an entry a zone cannot apply must not stall its
/// metadata sync; an error reported to the caller means nothing changed.
#[tokio::test]
async fn zonegroup_changes_by_metadata_put_never_strand_objects() {
    let mut realm = Realm::build_three_zones();
    let us = realm.a.zonegroup_id("us");
    let eu = realm.a.zonegroup_id("eu");
    let tester_c = realm.c.client();
    create_bucket_in(&tester_c, "eu-full", "eu").await;
    create_bucket_in(&tester_c, "eu-empty", "eu").await;
    for i in 0..3 {
        put(&tester_c, "eu-full", &format!("k{i}"), b"kept in eu").await;
    }
    let (a, c) = (&realm.a, &realm.c);

    // 1. On the master: eu-full holds objects in eu, which the master does not hold; refused, unchanged.
    let (key, _, file) = instance_with_zonegroup(a, "eu-full", &us);
    let err = a.cli_fails(&["metadata", "put", &key, "--infile", &file.to_string_lossy()]);
    assert!(
        err.contains("meridian bucket move --bucket eu-full --zonegroup") && err.contains("3 objects"),
        "{err}"
    );
    assert_eq!(bucket_zonegroup(a, "eu-full"), eu);
    assert_eq!(get_bytes(&tester_c, "eu-full", "k0").await, b"kept in eu");

    // 3. The same put sent to the eu zone: refused there too (the master refused), and nothing changed anywhere.
    let (key_c, _, file_c) = instance_with_zonegroup(c, "eu-full", &us);
    assert_eq!(key_c, key);
    let err = c.cli_fails(&["metadata", "put", &key, "--infile", &file_c.to_string_lossy()]);
    assert!(err.contains("bucket move"), "{err}");
    assert_eq!(bucket_zonegroup(a, "eu-full"), eu);
    assert_eq!(bucket_zonegroup(c, "eu-full"), eu);

    // An empty eu bucket's zonegroup change still works, sent to the eu zone: the master asks eu, commits,
    // and the eu zone reports success with the master's record stored.
    let (key_empty, _, file_empty) = instance_with_zonegroup(c, "eu-empty", &us);
    c.cli(&["metadata", "put", &key_empty, "--infile", &file_empty.to_string_lossy()]);
    assert_eq!(bucket_zonegroup(a, "eu-empty"), us);
    assert_eq!(bucket_zonegroup(c, "eu-empty"), us);

    // 2. An entry the eu zone cannot apply: the master stores a zonegroup change of eu-full verbatim (a sync
    // put, as a race or an older master could leave it). eu refuses it, sets it aside, and keeps syncing.
    let (_, mut doc, _) = instance_with_zonegroup(a, "eu-full", &us);
    doc["ver"]["ver"] = json!(doc["ver"]["ver"].as_u64().unwrap() + 1);
    let bucket_id = key.rsplit(':').next().unwrap().to_string();
    let (status, out) = admin_send(
        a,
        "PUT",
        "metadata/bucket.instance",
        &[("key", &format!("eu-full:{bucket_id}")), ("sync", "true")],
        &doc,
    )
    .await;
    assert_eq!(status, 200, "{out}");
    a.cli(&["user", "create", "--uid", "after-refusal", "--display-name", "After"]);
    let mut seen_user = false;
    let mut status_doc = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        seen_user = c.cli_raw(&["user", "info", "--uid", "after-refusal"]).status.success();
        status_doc = sync_status(c).await.unwrap_or_default();
        let set_aside = status_doc["metadata"]["source"]["set_aside_entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if seen_user
            && set_aside
                .iter()
                .any(|e| e["key"] == "bucket:eu-full" || e["key"] == key.as_str())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        seen_user,
        "a user created after the refused entry never reached eu: {}",
        realm.logs()
    );
    let source = &status_doc["metadata"]["source"];
    assert_eq!(source["caught_up"], false, "{status_doc:#}");
    let set_aside = source["set_aside_entries"].as_array().cloned().unwrap_or_default();
    assert!(!set_aside.is_empty(), "the refused entry is not shown: {status_doc:#}");
    assert!(
        set_aside[0]["error"].as_str().unwrap_or("").contains("bucket move"),
        "{status_doc:#}"
    );
    let text_status = String::from_utf8_lossy(&c.cli_raw(&["sync", "status"]).stdout).into_owned();
    assert!(text_status.contains("set aside"), "{text_status}");
    assert_eq!(bucket_zonegroup(c, "eu-full"), eu, "eu kept its objects' zonegroup");

    // Reverted on the master: the set-aside entry applies on its retry and eu is caught up again.
    let (_, mut back, _) = instance_with_zonegroup(a, "eu-full", &eu);
    back["ver"]["ver"] = json!(back["ver"]["ver"].as_u64().unwrap() + 1);
    let (status, out) = admin_send(
        a,
        "PUT",
        "metadata/bucket.instance",
        &[("key", &format!("eu-full:{bucket_id}")), ("sync", "true")],
        &back,
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let mut cleared = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline && !cleared {
        status_doc = sync_status(c).await.unwrap_or_default();
        let source = &status_doc["metadata"]["source"];
        cleared = source["set_aside_entries"].as_array().is_some_and(Vec::is_empty) && source["caught_up"] == true;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(cleared, "the set-aside entry was never applied: {status_doc:#}");

    // The eu zone unreachable: the master cannot confirm eu-full is empty, so it refuses.
    realm.c.stop();
    let (key, _, file) = instance_with_zonegroup(&realm.a, "eu-full", &us);
    let err = realm
        .a
        .cli_fails(&["metadata", "put", &key, "--infile", &file.to_string_lossy()]);
    assert!(err.contains("cannot confirm"), "{err}");
    assert_eq!(bucket_zonegroup(&realm.a, "eu-full"), eu);
}
