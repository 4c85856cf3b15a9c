//! Tenants as RGW has them, against real `meridian server` processes: users `tenant$uid`, buckets of the
//! same name in several tenants (and the default tenant), S3 requests naming `tenant:bucket`, the admin
//! verbs and metadata keys with the tenant, and a tenant's bucket replicating between two zones.

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::Client;
use serde_json::{json, Value};
use std::time::Duration;

const ANN_ACCESS: &str = "AKIATENANTACMEANN001";
const ANN_SECRET: &str = "acme-ann-secret-key-0001/abcdefghijklmn";
const BOB_ACCESS: &str = "AKIATENANTGLOBEXBOB1";
const BOB_SECRET: &str = "globex-bob-secret-key-001/abcdefghijklm";

/// Creates `uid` (as `tenant$uid`, or with `--tenant`) with a known key; returns what `user create` printed.
fn create_tenant_user(run: impl Fn(&[&str]) -> Value, id_args: &[&str], access: &str, secret: &str) -> Value {
    let mut args = vec!["user", "create"];
    args.extend_from_slice(id_args);
    args.extend([
        "--display-name",
        "Tenant user",
        "--access-key",
        access,
        "--secret",
        secret,
    ]);
    run(&args)
}

#[track_caller]
fn cli_fails(srv: &Server, args: &[&str]) -> String {
    let out = srv.cli_raw(args);
    assert!(
        !out.status.success(),
        "meridian {args:?} succeeded but should not have: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn keys_of(client: &Client, bucket: &str) -> Vec<String> {
    client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("list {bucket}: {e:?}"))
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect();
    out.sort();
    out
}

/// Users `acme$ann` and `globex$bob` beside the default tenant's `tester`.
fn server_with_tenants() -> Server {
    let srv = Server::start();
    let ann = create_tenant_user(|a| srv.cli(a), &["--uid", "acme$ann"], ANN_ACCESS, ANN_SECRET);
    assert_eq!(ann["user_id"], "acme$ann", "{ann:#}");
    let bob = create_tenant_user(
        |a| srv.cli(a),
        &["--tenant", "globex", "--uid", "bob"],
        BOB_ACCESS,
        BOB_SECRET,
    );
    assert_eq!(bob["user_id"], "globex$bob", "{bob:#}");
    srv
}

#[tokio::test]
async fn tenant_user_ids_are_checked_and_accepted_in_both_forms() {
    let srv = server_with_tenants();
    // Both spellings name the same user, for every user verb.
    assert_eq!(
        srv.cli(&["user", "info", "--uid", "globex$bob"])["user_id"],
        "globex$bob"
    );
    assert_eq!(
        srv.cli(&["user", "info", "--tenant", "acme", "--uid", "ann"])["user_id"],
        "acme$ann"
    );
    // `ann` alone is a user of the default tenant, which does not exist.
    let err = cli_fails(&srv, &["user", "info", "--uid", "ann"]);
    assert!(err.contains("ann"), "{err}");
    assert_eq!(
        sorted(&srv.cli(&["user", "list"])),
        vec!["acme$ann".to_string(), "globex$bob".into(), UID.into()]
    );

    // A tenant is letters, digits and '_', named once; a '$' needs a tenant before it.
    for (args, why) in [
        (&["--tenant", "globex", "--uid", "acme$carl"][..], "disagrees"),
        (&["--uid", "$carl"][..], "tenant"),
        (&["--uid", "ac-me$carl"][..], "tenant"),
        (&["--tenant", "ac:me", "--uid", "carl"][..], "tenant"),
        (&["--uid", "acme$carl$x"][..], "uid"),
    ] {
        let mut all = vec!["user", "create", "--display-name", "Carl"];
        all.extend_from_slice(args);
        let err = cli_fails(&srv, &all);
        assert!(err.contains(why), "{args:?}: {err}");
    }
    assert_eq!(srv.cli(&["user", "list"]).as_array().map(Vec::len), Some(3));

    // Suspend, enable, a new key and removal take the tenant too.
    let ann = srv.client_for(ANN_ACCESS, ANN_SECRET);
    create_bucket(&ann, "docs").await;
    srv.cli(&["user", "suspend", "--uid", "acme$ann"]);
    expect_err(ann.list_buckets().send().await, "UserSuspended", 403);
    srv.cli(&["user", "enable", "--tenant", "acme", "--uid", "ann"]);
    assert_eq!(list_bucket_names(&ann).await, vec!["docs"]);
    let with_key = srv.cli(&[
        "key",
        "create",
        "--uid",
        "acme$ann",
        "--access-key",
        "AKIATENANTACMEANN002",
        "--secret",
        "acme-ann-second-secret/abcdefghijklmnop",
    ]);
    assert_eq!(with_key.as_array().map(Vec::len), Some(2), "{with_key:#}");
    let second = srv.client_for("AKIATENANTACMEANN002", "acme-ann-second-secret/abcdefghijklmnop");
    assert_eq!(list_bucket_names(&second).await, vec!["docs"]);
    cli_fails(&srv, &["user", "rm", "--uid", "acme$ann"]);
    srv.cli(&["user", "rm", "--tenant", "acme", "--uid", "ann", "--purge-data"]);
    expect_err(ann.list_buckets().send().await, "InvalidAccessKeyId", 403);
    assert_eq!(
        sorted(&srv.cli(&["bucket", "list"])),
        Vec::<String>::new(),
        "the purge removed acme/docs"
    );
}

#[tokio::test]
async fn three_tenants_each_own_photos_and_keep_their_objects_apart() {
    let srv = server_with_tenants();
    let tester = srv.client();
    let ann = srv.client_for(ANN_ACCESS, ANN_SECRET);
    let bob = srv.client_for(BOB_ACCESS, BOB_SECRET);
    for (client, who) in [(&tester, "default"), (&ann, "acme"), (&bob, "globex")] {
        create_bucket(client, "photos").await;
        put(client, "photos", "who", who.as_bytes()).await;
        put(client, "photos", &format!("only-{who}"), b"x").await;
    }
    for (client, who) in [(&tester, "default"), (&ann, "acme"), (&bob, "globex")] {
        assert_eq!(get_bytes(client, "photos", "who").await, who.as_bytes(), "{who}");
        assert_eq!(
            keys_of(client, "photos").await,
            vec![format!("only-{who}"), "who".into()]
        );
        // ListBuckets lists the caller's own tenant.
        assert_eq!(list_bucket_names(client).await, vec!["photos"], "{who}");
    }
    // Naming your own tenant explicitly is the same bucket.
    assert_eq!(get_bytes(&ann, "acme:photos", "who").await, b"acme");
    assert_eq!(get_bytes(&tester, ":photos", "who").await, b"default");
    assert_eq!(keys_of(&bob, "globex:photos").await, vec!["only-globex", "who"]);

    // Another tenant's bucket is reachable by name, and refused: buckets are private to their owner.
    expect_err(
        ann.get_object().bucket("globex:photos").key("who").send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        ann.get_object().bucket(":photos").key("who").send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        tester.list_objects_v2().bucket("acme:photos").send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        bob.put_object()
            .bucket("acme:photos")
            .key("intruder")
            .body(b"no".to_vec().into())
            .send()
            .await,
        "AccessDenied",
        403,
    );
    expect_err(
        ann.get_object().bucket("globex:nothere").key("who").send().await,
        "NoSuchBucket",
        404,
    );
    // Buckets are created in your own tenant only.
    expect_err(
        ann.create_bucket().bucket("globex:newbucket").send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        ann.create_bucket().bucket(":newbucket").send().await,
        "AccessDenied",
        403,
    );
    create_bucket(&ann, "acme:second").await;
    assert_eq!(list_bucket_names(&ann).await, vec!["photos", "second"]);
    // Only `tenant:` may precede a bucket name.
    for bad in ["ac-me:photos", "acme:photos:x", "acme:Photos", "photos:"] {
        expect_err(ann.list_objects_v2().bucket(bad).send().await, "InvalidBucketName", 400);
    }
    // A copy source names a bucket by S3's plain rules (s3s parses it): `tenant:bucket` is refused there.
    let copied = ann
        .copy_object()
        .bucket("photos")
        .key("copy")
        .copy_source("acme:photos/who")
        .send()
        .await;
    expect_err(copied, "InvalidArgument", 400);
    ann.copy_object()
        .bucket("photos")
        .key("copy")
        .copy_source("photos/who")
        .send()
        .await
        .expect("copy within the tenant by the plain name");
    assert_eq!(get_bytes(&ann, "acme:photos", "copy").await, b"acme");
    ann.delete_object()
        .bucket("photos")
        .key("copy")
        .send()
        .await
        .expect("delete copy");
    // Deleting through another tenant's name is refused; the owner's plain name deletes its own.
    expect_err(
        bob.delete_bucket().bucket("acme:second").send().await,
        "AccessDenied",
        403,
    );
    ann.delete_bucket()
        .bucket("second")
        .send()
        .await
        .expect("delete acme:second");
    assert_eq!(list_bucket_names(&ann).await, vec!["photos"]);
    assert_eq!(
        get_bytes(&bob, "photos", "who").await,
        b"globex",
        "nothing written into globex"
    );

    // The admin verbs name a tenant's bucket `tenant/name`.
    assert_eq!(
        sorted(&srv.cli(&["bucket", "list"])),
        vec!["acme/photos", "globex/photos", "photos"]
    );
    assert_eq!(
        srv.cli(&["bucket", "list", "--uid", "acme$ann"]),
        json!(["acme/photos"])
    );
    assert_eq!(
        srv.cli(&["bucket", "list", "--tenant", "globex", "--uid", "bob"]),
        json!(["globex/photos"])
    );
    let stats = srv.cli(&["bucket", "stats", "--bucket", "acme/photos"]);
    assert_eq!(
        (&stats["bucket"], &stats["tenant"], &stats["owner"]),
        (&json!("photos"), &json!("acme"), &json!("acme$ann")),
        "{stats:#}"
    );
    assert_eq!(stats["usage"]["rgw.main"]["num_objects"], 2, "{stats:#}");
    assert_eq!(srv.cli(&["bucket", "stats", "--bucket", "photos"])["owner"], UID);
    let log = srv.cli(&["bucket", "log", "list", "--bucket", "globex/photos"]);
    let logged: Vec<&str> = log
        .as_array()
        .expect("a log")
        .iter()
        .filter_map(|e| e["object"].as_str())
        .collect();
    assert_eq!(logged, vec!["who", "only-globex"], "{log:#}");

    srv.cli(&["bucket", "rm", "--bucket", "globex/photos", "--purge-objects"]);
    expect_err(bob.list_objects_v2().bucket("photos").send().await, "NoSuchBucket", 404);
    assert_eq!(get_bytes(&ann, "photos", "who").await, b"acme");
    assert_eq!(get_bytes(&tester, "photos", "who").await, b"default");
    assert_eq!(sorted(&srv.cli(&["bucket", "list"])), vec!["acme/photos", "photos"]);
}

#[tokio::test]
async fn metadata_keys_carry_the_tenant() {
    let srv = server_with_tenants();
    let ann = srv.client_for(ANN_ACCESS, ANN_SECRET);
    create_bucket(&srv.client(), "photos").await;
    create_bucket(&ann, "photos").await;
    put(&ann, "photos", "k", b"acme's").await;
    let id = srv.cli(&["bucket", "stats", "--bucket", "acme/photos"])["id"]
        .as_str()
        .expect("id")
        .to_string();

    assert_eq!(
        sorted(&srv.cli(&["metadata", "list", "user"])),
        vec!["acme$ann", "globex$bob", UID]
    );
    assert_eq!(
        sorted(&srv.cli(&["metadata", "list", "bucket"])),
        vec!["acme/photos", "photos"]
    );
    let instances = sorted(&srv.cli(&["metadata", "list", "bucket.instance"]));
    assert!(instances.contains(&format!("acme/photos:{id}")), "{instances:?}");

    let user = srv.cli(&["metadata", "get", "user:acme$ann"]);
    assert_eq!(
        (&user["key"], &user["data"]["user_id"]),
        (&json!("user:acme$ann"), &json!("acme$ann"))
    );
    let bucket = srv.cli(&["metadata", "get", "bucket:acme/photos"]);
    assert_eq!(bucket["data"]["bucket"]["tenant"], "acme", "{bucket:#}");
    assert_eq!(bucket["data"]["bucket"]["bucket_id"], id.as_str());
    assert_eq!(bucket["data"]["owner"], "acme$ann");
    let instance = srv.cli(&["metadata", "get", &format!("bucket.instance:acme/photos:{id}")]);
    assert_eq!(
        instance["data"]["bucket_info"]["bucket"]["tenant"], "acme",
        "{instance:#}"
    );
    // The default tenant's `photos` is another bucket.
    let default_photos = srv.cli(&["metadata", "get", "bucket:photos"]);
    assert_ne!(default_photos["data"]["bucket"]["bucket_id"], id.as_str());

    // get → edit → put round-trips with the tenant in the key.
    let mut doc = user.clone();
    doc["data"]["display_name"] = json!("Ann of Acme");
    let file = srv.root_dir().join("ann.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    srv.cli(&["metadata", "put", "user:acme$ann", "--infile", &file.to_string_lossy()]);
    assert_eq!(
        srv.cli(&["user", "info", "--uid", "acme$ann"])["display_name"],
        "Ann of Acme"
    );
    let file = srv.root_dir().join("bucket.json");
    std::fs::write(&file, serde_json::to_vec(&bucket).unwrap()).unwrap();
    srv.cli(&[
        "metadata",
        "put",
        "bucket:acme/photos",
        "--infile",
        &file.to_string_lossy(),
    ]);
    assert_eq!(get_bytes(&ann, "photos", "k").await, b"acme's");

    // A new tenanted user from a document: the tenant comes from the key's user id.
    let mut carl = user.clone();
    carl["key"] = json!("user:initech$carl");
    carl["data"]["user_id"] = json!("initech$carl");
    carl["data"]["keys"] = json!([{"user": "initech$carl", "access_key": "AKIATENANTINITECH001",
        "secret_key": "initech-carl-secret/abcdefghijklmnopqrs"}]);
    let file = srv.root_dir().join("carl.json");
    std::fs::write(&file, serde_json::to_vec(&carl).unwrap()).unwrap();
    srv.cli(&[
        "metadata",
        "put",
        "user:initech$carl",
        "--infile",
        &file.to_string_lossy(),
    ]);
    let carl_s3 = srv.client_for("AKIATENANTINITECH001", "initech-carl-secret/abcdefghijklmnopqrs");
    create_bucket(&carl_s3, "photos").await;
    assert!(srv
        .cli(&["metadata", "list", "bucket"])
        .as_array()
        .expect("list")
        .contains(&json!("initech/photos")));

    // Keys whose tenant RGW would not accept are refused.
    for bad in ["bucket:ac-me/photos", "bucket.instance:a:b/photos:1"] {
        let err = cli_fails(&srv, &["metadata", "get", bad]);
        assert!(err.contains("invalid metadata key"), "{bad}: {err}");
    }
    let mut bad_user = carl.clone();
    bad_user["key"] = json!("user:in-itech$carl");
    bad_user["data"]["user_id"] = json!("in-itech$carl");
    std::fs::write(&file, serde_json::to_vec(&bad_user).unwrap()).unwrap();
    let err = cli_fails(
        &srv,
        &[
            "metadata",
            "put",
            "user:in-itech$carl",
            "--infile",
            &file.to_string_lossy(),
        ],
    );
    assert!(err.contains("tenant"), "{err}");
}

/// How long replication may take to show a change.
const CONVERGE: Duration = Duration::from_secs(60);

async fn wait_for_object(client: &Client, bucket: &str, key: &str, body: &[u8], site: &Site) {
    let found = async {
        loop {
            if let Ok(out) = client.get_object().bucket(bucket).key(key).send().await {
                if let Ok(data) = out.body.collect().await {
                    if data.into_bytes().as_ref() == body {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    };
    if tokio::time::timeout(CONVERGE, found).await.is_err() {
        panic!("{bucket}/{key} never arrived with its bytes\n{}", site.logs());
    }
}

#[tokio::test]
async fn a_tenants_bucket_and_objects_replicate_between_two_zones() {
    let site = Site::build(&["us-east", "us-west"]);
    let (east, west) = (&site.zones[0], &site.zones[1]);
    create_tenant_user(|a| east.cli(a), &["--uid", "acme$ann"], ANN_ACCESS, ANN_SECRET);
    let found_user = wait_until(CONVERGE, || {
        west.cli(&["metadata", "list", "user"])
            .as_array()
            .is_some_and(|l| l.contains(&json!("acme$ann")))
    })
    .await;
    assert!(found_user, "acme$ann never reached us-west\n{}", site.logs());

    let (tester_east, tester_west) = (east.client(), west.client());
    let (ann_east, ann_west) = (
        east.client_for(ANN_ACCESS, ANN_SECRET),
        west.client_for(ANN_ACCESS, ANN_SECRET),
    );
    // Both tenants' `photos`: one created through the master, one through the secondary.
    create_bucket(&tester_east, "photos").await;
    create_bucket(&ann_west, "photos").await;
    let ids: Vec<Value> = [east, west]
        .iter()
        .map(|z| z.cli(&["bucket", "stats", "--bucket", "acme/photos"])["id"].clone())
        .collect();
    assert_eq!(ids[0], ids[1], "one bucket instance of acme/photos");

    let big = pattern(300_000, 14);
    put(&ann_east, "photos", "from-east", b"acme, written in the east").await;
    put(&ann_west, "photos", "from-west", &big).await;
    put(&tester_west, "photos", "from-west", b"default tenant, west").await;
    wait_for_object(&ann_west, "photos", "from-east", b"acme, written in the east", &site).await;
    wait_for_object(&ann_east, "photos", "from-west", &big, &site).await;
    wait_for_object(&tester_east, "photos", "from-west", b"default tenant, west", &site).await;
    // The data log names the bucket with its tenant.
    let datalog = east.cli(&["datalog", "list"]);
    let keys: Vec<&str> = datalog
        .as_array()
        .expect("datalog")
        .iter()
        .filter_map(|e| e["entry"]["key"].as_str().or(e["key"].as_str()))
        .collect();
    assert!(
        keys.iter().any(|k| k.starts_with("acme:photos:")),
        "no acme:photos data log entry: {datalog:#}"
    );

    // A delete replicates too, and only in the tenant it was made in.
    ann_east
        .delete_object()
        .bucket("photos")
        .key("from-west")
        .send()
        .await
        .expect("delete");
    let gone = wait_until(CONVERGE, || {
        west.cli(&["bucket", "stats", "--bucket", "acme/photos"])["usage"]["rgw.main"]["num_objects"] == 1
    })
    .await;
    assert!(gone, "the delete never reached us-west\n{}", site.logs());
    assert_eq!(
        get_bytes(&tester_west, "photos", "from-west").await,
        b"default tenant, west"
    );
    expect_err(
        ann_west.get_object().bucket("photos").key("from-west").send().await,
        "NoSuchKey",
        404,
    );
    let status = west.cli_raw(&["bucket", "sync", "status", "--bucket", "acme/photos"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success() && text.contains("bucket acme/photos") && text.contains("source zone: us-east"),
        "bucket sync status of acme/photos: {text}{}",
        String::from_utf8_lossy(&status.stderr)
    );

    // A tenant's bucket deleted through the secondary is gone from the realm; the default tenant's stays.
    create_bucket(&ann_west, "scratch").await;
    create_bucket(&tester_east, "scratch").await;
    ann_west
        .delete_bucket()
        .bucket("scratch")
        .send()
        .await
        .expect("delete acme:scratch");
    let removed = wait_until(CONVERGE, || {
        [east, west].iter().all(|z| {
            let listed = z.cli(&["bucket", "list"]);
            let names = listed.as_array().cloned().unwrap_or_default();
            !names.contains(&json!("acme/scratch")) && names.contains(&json!("scratch"))
        })
    })
    .await;
    assert!(removed, "acme/scratch lingered or scratch went\n{}", site.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_bucket_moves_to_another_zonegroup_and_the_default_tenants_stays() {
    let mut realm = Realm::build_three_zones();
    for z in [&mut realm.a, &mut realm.b, &mut realm.c] {
        z.stop();
        z.extra_args = [
            "--bucket-move-poll-ms",
            "100",
            "--bucket-move-grace-secs",
            "3",
            "--bucket-move-cutover-timeout-secs",
            "20",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        z.start();
    }
    let (us_east, eu) = (&realm.a, &realm.c);
    create_tenant_user(|a| us_east.cli(a), &["--uid", "acme$ann"], ANN_ACCESS, ANN_SECRET);
    let synced = wait_until(CONVERGE, || {
        eu.cli(&["metadata", "list", "user"])
            .as_array()
            .is_some_and(|l| l.contains(&json!("acme$ann")))
    })
    .await;
    assert!(synced, "acme$ann never reached eu-1");
    let (ann_us, ann_eu) = (
        us_east.client_for(ANN_ACCESS, ANN_SECRET),
        eu.client_for(ANN_ACCESS, ANN_SECRET),
    );
    let tester_us = us_east.client();
    create_bucket(&tester_us, "photos").await;
    put(&tester_us, "photos", "who", b"default").await;
    create_bucket(&ann_us, "photos").await;
    for i in 0..20 {
        put(&ann_us, "photos", &format!("k{i:02}"), &pattern(1000 + i, i as u64)).await;
    }

    // `--all-of-user` lists the user's buckets as `acme/photos`, which `bucket move` takes back.
    let out = us_east.cli_raw(&[
        "bucket",
        "move",
        "--all-of-user",
        "acme$ann",
        "--zonegroup",
        "eu",
        "--wait",
        "--timeout-secs",
        "120",
    ]);
    assert!(
        out.status.success(),
        "bucket move failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let zonegroup_of = |bucket: &str| us_east.cli(&["bucket", "stats", "--bucket", bucket])["zonegroup"].clone();
    assert_eq!(zonegroup_of("acme/photos"), json!(us_east.zonegroup_id("eu")));
    assert_eq!(zonegroup_of("photos"), json!(us_east.zonegroup_id("us")));
    for i in 0..20 {
        assert_eq!(
            get_bytes(&ann_eu, "photos", &format!("k{i:02}")).await,
            pattern(1000 + i, i as u64)
        );
    }
    // us now redirects acme's `photos` to eu, and still serves the default tenant's.
    assert_eq!(
        err_status(ann_us.get_object().bucket("photos").key("k00").send().await),
        301
    );
    assert_eq!(get_bytes(&tester_us, "photos", "who").await, b"default");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_keeps_tenants_users_and_buckets_apart() {
    let srv = server_with_tenants();
    let (tester, ann) = (srv.client(), srv.client_for(ANN_ACCESS, ANN_SECRET));
    create_bucket(&tester, "photos").await;
    put(&tester, "photos", "who", b"default").await;
    create_bucket(&ann, "photos").await;
    put(&ann, "photos", "who", b"acme").await;
    put(&ann, "photos", "big", &pattern(200_000, 3)).await;
    let file = srv.root_dir().join("tenants.tar.zst");
    let created = srv.cli(&["backup", "create", "--out", &file.to_string_lossy(), "--with-data"]);
    assert_eq!(created["counts"]["objects"], 3, "{created:#}");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut restored = Zone::new(dir.path(), "restored");
    restored.cli(&["backup", "restore", &file.to_string_lossy()]);
    restored.start();
    assert_eq!(
        sorted(&restored.cli(&["bucket", "list"])),
        vec!["acme/photos", "photos"]
    );
    let (tester, ann) = (restored.client(), restored.client_for(ANN_ACCESS, ANN_SECRET));
    assert_eq!(get_bytes(&ann, "photos", "who").await, b"acme");
    assert_eq!(get_bytes(&ann, "photos", "big").await, pattern(200_000, 3));
    assert_eq!(get_bytes(&tester, "photos", "who").await, b"default");
    assert_eq!(keys_of(&tester, "photos").await, vec!["who"]);
    assert_eq!(
        restored.cli(&["user", "info", "--uid", "acme$ann"])["user_id"],
        "acme$ann"
    );
}
