//! Object versioning through the real aws-sdk-s3 client: Put/GetBucketVersioning, version ids on every
//! write, GET/HEAD/DELETE of a version, delete markers, ListObjectVersions (markers, prefix, delimiter,
//! pages, never-versioned buckets), the null version under Suspended, copy from a version, multipart onto
//! versioned keys, DeleteObjects with versions, BucketNotEmpty, and old versions' bytes collected.

use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, Delete, ObjectIdentifier, VersioningConfiguration};
use aws_sdk_s3::Client;
use std::time::Duration;

const BOB_ACCESS: &str = "AKIAMERIDIANBOB00001";
const BOB_SECRET: &str = "bob-secret-key-0001/abcdefghijklmnopqrst";

async fn versioned_bucket(s3: &Client, bucket: &str) {
    create_bucket(s3, bucket).await;
    set_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
}

async fn get_version(s3: &Client, bucket: &str, key: &str, version: &str) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {bucket}/{key}?versionId={version}: {e:?}"));
    assert_eq!(out.version_id(), Some(version));
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

/// Every entry of ListObjectVersions, in the order S3 gives them: (key, version id, is latest, is marker).
/// Versions and delete markers come in two lists; they are merged back by key, then newest first.
type Entry = (String, String, bool, bool);

async fn all_versions(s3: &Client, bucket: &str, prefix: Option<&str>) -> Vec<Entry> {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .set_prefix(prefix.map(str::to_string))
        .send()
        .await
        .unwrap_or_else(|e| panic!("list versions of {bucket}: {e:?}"));
    assert_eq!(out.is_truncated(), Some(false));
    entries(&out)
}

fn entries(out: &aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput) -> Vec<Entry> {
    let versions: Vec<Entry> = out
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap().to_string(),
                v.version_id().unwrap().to_string(),
                v.is_latest().unwrap(),
                false,
            )
        })
        .collect();
    let mut markers: std::collections::VecDeque<Entry> = out
        .delete_markers()
        .iter()
        .map(|m| {
            (
                m.key().unwrap().to_string(),
                m.version_id().unwrap().to_string(),
                m.is_latest().unwrap(),
                true,
            )
        })
        .collect();
    // S3 gives versions and delete markers in two lists, each in order; merge them back: by key, the latest
    // first, then by the time our ids encode (a null id encodes none: markers go first then).
    let before =
        |m: &Entry, v: &Entry| m.0 < v.0 || (m.0 == v.0 && (m.2 || (!v.2 && version_time(&m.1) >= version_time(&v.1))));
    let mut all = Vec::new();
    for v in versions {
        while markers.front().is_some_and(|m| before(m, &v)) {
            all.push(markers.pop_front().unwrap());
        }
        all.push(v);
    }
    all.extend(markers);
    all
}

/// The time a version id encodes (`null`: none, the largest).
fn version_time(id: &str) -> u64 {
    id.get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(u64::MAX)
}

fn header(
    err: &impl std::fmt::Debug,
    raw: Option<&aws_smithy_runtime_api::http::Response>,
    name: &str,
) -> Option<String> {
    let raw = raw.unwrap_or_else(|| panic!("no raw response: {err:?}"));
    raw.headers().get(name).map(str::to_string)
}

#[tokio::test]
async fn never_versioned_buckets_list_null_versions() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "plain").await;
    let v = s3.get_bucket_versioning().bucket("plain").send().await.unwrap();
    assert_eq!(
        v.status(),
        None,
        "a never-versioned bucket answers an empty configuration"
    );
    for k in ["a", "b", "c/d", "c/e"] {
        put(&s3, "plain", k, k.as_bytes()).await;
    }
    // An overwrite replaces: still one version per key.
    put(&s3, "plain", "b", b"b2").await;
    let put_out = s3
        .put_object()
        .bucket("plain")
        .key("e")
        .body(ByteStream::from_static(b"e"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put_out.version_id(),
        None,
        "no x-amz-version-id in a never-versioned bucket (as AWS)"
    );

    let out = s3.list_object_versions().bucket("plain").send().await.unwrap();
    assert!(out.delete_markers().is_empty());
    let got: Vec<(&str, &str, bool)> = out
        .versions()
        .iter()
        .map(|v| (v.key().unwrap(), v.version_id().unwrap(), v.is_latest().unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a", "null", true),
            ("b", "null", true),
            ("c/d", "null", true),
            ("c/e", "null", true),
            ("e", "null", true)
        ]
    );
    let b = out.versions().iter().find(|v| v.key() == Some("b")).unwrap();
    assert_eq!(b.e_tag(), Some(format!("\"{}\"", md5_hex(b"b2")).as_str()));
    assert_eq!(b.size(), Some(2));
    assert!(b.last_modified().is_some());

    // Pages of two with the markers the previous page gave.
    let mut seen = Vec::new();
    let (mut km, mut vm): (Option<String>, Option<String>) = (None, None);
    for _ in 0..10 {
        let page = s3
            .list_object_versions()
            .bucket("plain")
            .max_keys(2)
            .set_key_marker(km.clone())
            .set_version_id_marker(vm.clone())
            .send()
            .await
            .unwrap();
        seen.extend(page.versions().iter().map(|v| v.key().unwrap().to_string()));
        if page.is_truncated() != Some(true) {
            assert_eq!(page.next_key_marker(), None);
            break;
        }
        km = page.next_key_marker().map(str::to_string);
        vm = page.next_version_id_marker().map(str::to_string);
        assert_eq!(vm.as_deref(), Some("null"));
    }
    assert_eq!(seen, vec!["a", "b", "c/d", "c/e", "e"]);

    // Delimiter: the c/ keys roll up.
    let out = s3
        .list_object_versions()
        .bucket("plain")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let cps: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(cps, vec!["c/"]);
    assert_eq!(out.versions().len(), 3);

    // The null version by id, and a version id this bucket never had.
    assert_eq!(get_version(&s3, "plain", "b", "null").await, b"b2");
    let head = s3
        .head_object()
        .bucket("plain")
        .key("b")
        .version_id("null")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(2));
    let err = expect_err(
        s3.get_object()
            .bucket("plain")
            .key("b")
            .version_id("0000000000000001some-zone")
            .send()
            .await,
        "NoSuchVersion",
        404,
    );
    drop(err);
    expect_err(
        s3.get_object()
            .bucket("plain")
            .key("b")
            .version_id("bogus!")
            .send()
            .await,
        "InvalidArgument",
        400,
    );
    // DELETE of the null version removes the object; the bucket empties with the versions listed.
    s3.delete_object()
        .bucket("plain")
        .key("b")
        .version_id("null")
        .send()
        .await
        .unwrap();
    assert_eq!(err_status(s3.head_object().bucket("plain").key("b").send().await), 404);
    let listed = s3.list_object_versions().bucket("plain").send().await.unwrap();
    let ids: Vec<ObjectIdentifier> = listed
        .versions()
        .iter()
        .map(|v| {
            ObjectIdentifier::builder()
                .key(v.key().unwrap())
                .version_id(v.version_id().unwrap())
                .build()
                .unwrap()
        })
        .collect();
    let del = s3
        .delete_objects()
        .bucket("plain")
        .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(del.deleted().len(), 4, "{del:?}");
    assert!(del.errors().is_empty(), "{del:?}");
    s3.delete_bucket()
        .bucket("plain")
        .send()
        .await
        .expect("the emptied bucket goes");
}

#[tokio::test]
async fn put_and_get_bucket_versioning() {
    let srv = Server::start();
    srv.create_user("bob", BOB_ACCESS, BOB_SECRET);
    let s3 = srv.client();
    let bob = srv.client_for(BOB_ACCESS, BOB_SECRET);
    create_bucket(&s3, "vstatus").await;
    set_versioning(&s3, "vstatus", BucketVersioningStatus::Enabled).await;
    let v = s3.get_bucket_versioning().bucket("vstatus").send().await.unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    set_versioning(&s3, "vstatus", BucketVersioningStatus::Suspended).await;
    let v = s3.get_bucket_versioning().bucket("vstatus").send().await.unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Suspended));
    // A status S3 does not know is malformed.
    expect_err(
        s3.put_bucket_versioning()
            .bucket("vstatus")
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::from("Disabled"))
                    .build(),
            )
            .send()
            .await,
        "MalformedXML",
        400,
    );
    // Another user may neither read nor change it.
    expect_err(
        bob.get_bucket_versioning().bucket("vstatus").send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        bob.put_bucket_versioning()
            .bucket("vstatus")
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await,
        "AccessDenied",
        403,
    );
    let v = s3.get_bucket_versioning().bucket("vstatus").send().await.unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Suspended));
    expect_err(
        s3.get_bucket_versioning().bucket("no-such-bucket").send().await,
        "NoSuchBucket",
        404,
    );
}

#[tokio::test]
async fn versions_and_delete_markers() {
    let srv = Server::start();
    srv.create_user("bob", BOB_ACCESS, BOB_SECRET);
    let s3 = srv.client();
    let bob = srv.client_for(BOB_ACCESS, BOB_SECRET);
    versioned_bucket(&s3, "vers-b").await;
    let v1 = put_versioned(&s3, "vers-b", "k", b"one").await;
    let v2 = put_versioned(&s3, "vers-b", "k", b"two").await;
    let v3 = put_versioned(&s3, "vers-b", "k", b"three").await;
    assert!(v1 != v2 && v2 != v3 && v1 != v3, "{v1} {v2} {v3}");
    assert_ne!(v1, "null");

    // Every version readable by id; the key reads its newest.
    assert_eq!(get_version(&s3, "vers-b", "k", &v1).await, b"one");
    assert_eq!(get_version(&s3, "vers-b", "k", &v2).await, b"two");
    let latest = s3.get_object().bucket("vers-b").key("k").send().await.unwrap();
    assert_eq!(latest.version_id(), Some(v3.as_str()));
    assert_eq!(latest.body.collect().await.unwrap().into_bytes().as_ref(), b"three");
    let head = s3
        .head_object()
        .bucket("vers-b")
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!((head.content_length(), head.version_id()), (Some(3), Some(v1.as_str())));
    assert_eq!(head.e_tag(), Some(format!("\"{}\"", md5_hex(b"one")).as_str()));

    assert_eq!(
        all_versions(&s3, "vers-b", None).await,
        vec![
            ("k".into(), v3.clone(), true, false),
            ("k".into(), v2.clone(), false, false),
            ("k".into(), v1.clone(), false, false),
        ]
    );
    // ListObjects sees the key once, at its newest version.
    let listed = s3.list_objects_v2().bucket("vers-b").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
    assert_eq!(listed.contents()[0].size(), Some(5));

    // Another user reads no version.
    expect_err(
        bob.get_object().bucket("vers-b").key("k").version_id(&v1).send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        bob.delete_object()
            .bucket("vers-b")
            .key("k")
            .version_id(&v1)
            .send()
            .await,
        "AccessDenied",
        403,
    );
    expect_err(
        bob.list_object_versions().bucket("vers-b").send().await,
        "AccessDenied",
        403,
    );

    // DELETE without a version writes a delete marker.
    let del = s3.delete_object().bucket("vers-b").key("k").send().await.unwrap();
    assert_eq!(del.delete_marker(), Some(true));
    let marker = del.version_id().expect("the marker's version id").to_string();
    let err = expect_err(s3.get_object().bucket("vers-b").key("k").send().await, "NoSuchKey", 404);
    assert_eq!(
        header(&err, err.raw_response(), "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    assert_eq!(
        header(&err, err.raw_response(), "x-amz-version-id").as_deref(),
        Some(marker.as_str())
    );
    let err = s3.head_object().bucket("vers-b").key("k").send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
    assert_eq!(
        header(&err, err.raw_response(), "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    // The marker by id: 405.
    let err = expect_err(
        s3.get_object()
            .bucket("vers-b")
            .key("k")
            .version_id(&marker)
            .send()
            .await,
        "MethodNotAllowed",
        405,
    );
    assert_eq!(
        header(&err, err.raw_response(), "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    let err = s3
        .head_object()
        .bucket("vers-b")
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(405));
    // Older versions stay readable; listings hide the key.
    assert_eq!(get_version(&s3, "vers-b", "k", &v3).await, b"three");
    assert_eq!(
        s3.list_objects_v2().bucket("vers-b").send().await.unwrap().key_count(),
        Some(0)
    );
    assert_eq!(
        s3.list_objects()
            .bucket("vers-b")
            .send()
            .await
            .unwrap()
            .contents()
            .len(),
        0
    );
    assert_eq!(
        all_versions(&s3, "vers-b", None).await,
        vec![
            ("k".into(), marker.clone(), true, true),
            ("k".into(), v3.clone(), false, false),
            ("k".into(), v2.clone(), false, false),
            ("k".into(), v1.clone(), false, false),
        ]
    );

    // Removing the marker brings the newest version back.
    let del = s3
        .delete_object()
        .bucket("vers-b")
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (del.delete_marker(), del.version_id()),
        (Some(true), Some(marker.as_str()))
    );
    assert_eq!(get_bytes(&s3, "vers-b", "k").await, b"three");
    // Removing the current version makes the next one current; the removed id is gone.
    let del = s3
        .delete_object()
        .bucket("vers-b")
        .key("k")
        .version_id(&v3)
        .send()
        .await
        .unwrap();
    assert_eq!(del.version_id(), Some(v3.as_str()));
    assert_ne!(del.delete_marker(), Some(true));
    assert_eq!(get_bytes(&s3, "vers-b", "k").await, b"two");
    expect_err(
        s3.get_object().bucket("vers-b").key("k").version_id(&v3).send().await,
        "NoSuchVersion",
        404,
    );
    // A middle version goes without touching the current one.
    s3.delete_object()
        .bucket("vers-b")
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        all_versions(&s3, "vers-b", None).await,
        vec![("k".into(), v2.clone(), true, false)]
    );
    // Deleting an unknown (well-formed) version succeeds; a malformed one is 400.
    s3.delete_object()
        .bucket("vers-b")
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    expect_err(
        s3.delete_object()
            .bucket("vers-b")
            .key("k")
            .version_id("not-a-version")
            .send()
            .await,
        "InvalidArgument",
        400,
    );
    expect_err(
        s3.get_object()
            .bucket("vers-b")
            .key("nokey")
            .version_id(&v1)
            .send()
            .await,
        "NoSuchVersion",
        404,
    );
    // A key that never existed: a plain 404 without marker.
    let err = expect_err(
        s3.get_object().bucket("vers-b").key("nokey").send().await,
        "NoSuchKey",
        404,
    );
    assert_eq!(header(&err, err.raw_response(), "x-amz-delete-marker"), None);
    // The stats count every version kept.
    let stats = srv.cli(&["bucket", "stats", "--bucket", "vers-b"]);
    assert_eq!(stats["usage"]["rgw.main"]["num_objects"], 1, "{stats:#}");
}

#[tokio::test]
async fn list_versions_markers_prefix_and_delimiter() {
    let srv = Server::start();
    let s3 = srv.client();
    versioned_bucket(&s3, "list-v").await;
    let mut want: Vec<Entry> = Vec::new();
    // Keys in order, each with its versions newest first.
    let plan: [(&str, usize, bool); 5] = [
        ("a", 3, false),
        ("b/1", 2, false),
        ("b/2", 1, true),
        ("c", 1, true),
        ("d", 4, false),
    ];
    for (key, n, then_delete) in plan {
        let mut ids = Vec::new();
        for i in 0..n {
            ids.push(put_versioned(&s3, "list-v", key, format!("{key} {i}").as_bytes()).await);
        }
        let mut entries: Vec<Entry> = Vec::new();
        if then_delete {
            let d = s3.delete_object().bucket("list-v").key(key).send().await.unwrap();
            entries.push((key.into(), d.version_id().unwrap().into(), true, true));
        }
        for id in ids.iter().rev() {
            let latest = entries.is_empty();
            entries.push((key.into(), id.clone(), latest, false));
        }
        want.extend(entries);
    }
    assert_eq!(all_versions(&s3, "list-v", None).await, want);

    // Page through with every page size: the pages add up to the whole listing, in order.
    for page_size in [1, 2, 3, 5, 7] {
        let mut got = Vec::new();
        let (mut km, mut vm): (Option<String>, Option<String>) = (None, None);
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages < 50, "pagination does not end");
            let page = s3
                .list_object_versions()
                .bucket("list-v")
                .max_keys(page_size)
                .set_key_marker(km.clone())
                .set_version_id_marker(vm.clone())
                .send()
                .await
                .unwrap();
            let es = entries(&page);
            assert!(es.len() <= page_size as usize);
            got.extend(es);
            if page.is_truncated() != Some(true) {
                break;
            }
            km = page.next_key_marker().map(str::to_string);
            vm = page.next_version_id_marker().map(str::to_string);
            assert!(km.is_some() && vm.is_some(), "a truncated page names where to resume");
        }
        assert_eq!(got, want, "pages of {page_size}");
    }

    // A key marker alone resumes after all of that key's versions.
    let out = s3
        .list_object_versions()
        .bucket("list-v")
        .key_marker("b/2")
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = entries(&out).into_iter().map(|e| e.0).collect();
    assert_eq!(keys, vec!["c", "c", "d", "d", "d", "d"]);
    // A version marker resumes inside the key.
    let a_second = want[1].1.clone();
    let out = s3
        .list_object_versions()
        .bucket("list-v")
        .key_marker("a")
        .version_id_marker(&a_second)
        .max_keys(2)
        .send()
        .await
        .unwrap();
    assert_eq!(entries(&out), vec![want[2].clone(), want[3].clone()]);
    assert_eq!(out.is_truncated(), Some(true));
    assert_eq!(out.next_key_marker(), Some("b/1"));
    // A version marker needs a key marker.
    expect_err(
        s3.list_object_versions()
            .bucket("list-v")
            .version_id_marker(&a_second)
            .send()
            .await,
        "InvalidArgument",
        400,
    );

    // Prefix and delimiter.
    let b_only = all_versions(&s3, "list-v", Some("b/")).await;
    assert_eq!(b_only, want[3..7].to_vec());
    let out = s3
        .list_object_versions()
        .bucket("list-v")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let cps: Vec<&str> = out.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(cps, vec!["b/"]);
    assert!(entries(&out).iter().all(|e| !e.0.starts_with("b/")));
    assert_eq!(entries(&out).len(), want.len() - 4);
    // A common prefix counts as one entry of a page, and is not given twice.
    let first = s3
        .list_object_versions()
        .bucket("list-v")
        .delimiter("/")
        .max_keys(4)
        .send()
        .await
        .unwrap();
    assert_eq!(first.is_truncated(), Some(true));
    assert_eq!(first.next_key_marker(), Some("b/"));
    assert_eq!(first.common_prefixes().len(), 1);
    let second = s3
        .list_object_versions()
        .bucket("list-v")
        .delimiter("/")
        .key_marker("b/")
        .send()
        .await
        .unwrap();
    assert!(second.common_prefixes().is_empty());
    assert_eq!(entries(&second)[0].0, "c");
    // max-keys 0.
    let none = s3
        .list_object_versions()
        .bucket("list-v")
        .max_keys(0)
        .send()
        .await
        .unwrap();
    assert!(none.versions().is_empty() && none.delete_markers().is_empty());
    assert_eq!(none.is_truncated(), Some(false));
}

#[tokio::test]
async fn suspended_buckets_keep_one_null_version() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "susp").await;
    // An object from before versioning is the null version afterwards.
    put(&s3, "susp", "old", b"from before").await;
    set_versioning(&s3, "susp", BucketVersioningStatus::Enabled).await;
    let post = put_versioned(&s3, "susp", "old", b"after").await;
    assert_eq!(
        all_versions(&s3, "susp", Some("old")).await,
        vec![
            ("old".into(), post.clone(), true, false),
            ("old".into(), "null".into(), false, false),
        ]
    );
    assert_eq!(get_version(&s3, "susp", "old", "null").await, b"from before");

    let v1 = put_versioned(&s3, "susp", "k", b"versioned").await;
    set_versioning(&s3, "susp", BucketVersioningStatus::Suspended).await;
    assert_eq!(put_versioned(&s3, "susp", "k", b"null one").await, "null");
    assert_eq!(put_versioned(&s3, "susp", "k", b"null two").await, "null");
    // The second null write replaced the first.
    assert_eq!(
        all_versions(&s3, "susp", Some("k")).await,
        vec![
            ("k".into(), "null".into(), true, false),
            ("k".into(), v1.clone(), false, false),
        ]
    );
    assert_eq!(get_version(&s3, "susp", "k", "null").await, b"null two");
    assert_eq!(get_bytes(&s3, "susp", "k").await, b"null two");
    // A DELETE writes the null delete marker, which replaces the null version.
    let d = s3.delete_object().bucket("susp").key("k").send().await.unwrap();
    assert_eq!((d.delete_marker(), d.version_id()), (Some(true), Some("null")));
    assert_eq!(
        all_versions(&s3, "susp", Some("k")).await,
        vec![
            ("k".into(), "null".into(), true, true),
            ("k".into(), v1.clone(), false, false),
        ]
    );
    expect_err(s3.get_object().bucket("susp").key("k").send().await, "NoSuchKey", 404);
    expect_err(
        s3.get_object().bucket("susp").key("k").version_id("null").send().await,
        "MethodNotAllowed",
        405,
    );
    // Removing the null marker by id: the versioned one is current again.
    s3.delete_object()
        .bucket("susp")
        .key("k")
        .version_id("null")
        .send()
        .await
        .unwrap();
    assert_eq!(get_bytes(&s3, "susp", "k").await, b"versioned");
    // Under Suspended a write of a key with versions adds the null version on top.
    assert_eq!(put_versioned(&s3, "susp", "k", b"null three").await, "null");
    assert_eq!(
        all_versions(&s3, "susp", Some("k")).await,
        vec![
            ("k".into(), "null".into(), true, false),
            ("k".into(), v1.clone(), false, false),
        ]
    );
    // Enabled again: new versions get ids, the null version stays as it was.
    set_versioning(&s3, "susp", BucketVersioningStatus::Enabled).await;
    let v2 = put_versioned(&s3, "susp", "k", b"versioned again").await;
    assert_ne!(v2, "null");
    assert_eq!(
        all_versions(&s3, "susp", Some("k")).await,
        vec![
            ("k".into(), v2.clone(), true, false),
            ("k".into(), "null".into(), false, false),
            ("k".into(), v1.clone(), false, false),
        ]
    );
    assert_eq!(get_version(&s3, "susp", "k", "null").await, b"null three");
}

#[tokio::test]
async fn copy_from_a_version_and_multipart_onto_versioned_keys() {
    let srv = Server::start();
    let s3 = srv.client();
    versioned_bucket(&s3, "copy-v").await;
    let v1 = put_versioned(&s3, "copy-v", "src", b"first body").await;
    let v2 = put_versioned(&s3, "copy-v", "src", b"second body").await;

    let copied = s3
        .copy_object()
        .bucket("copy-v")
        .key("dst")
        .copy_source(format!("copy-v/src?versionId={v1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(copied.copy_source_version_id(), Some(v1.as_str()));
    let dst_version = copied.version_id().expect("the copy's version id").to_string();
    assert_eq!(get_version(&s3, "copy-v", "dst", &dst_version).await, b"first body");
    // Without a version the copy reads the newest; onto the source key itself it is a new version.
    let copied = s3
        .copy_object()
        .bucket("copy-v")
        .key("src")
        .copy_source(format!("copy-v/src?versionId={v1}"))
        .send()
        .await
        .expect("restoring an old version by copying it onto its key");
    let restored = copied.version_id().unwrap().to_string();
    assert_eq!(get_bytes(&s3, "copy-v", "src").await, b"first body");
    assert_eq!(get_version(&s3, "copy-v", "src", &v2).await, b"second body");
    assert_eq!(all_versions(&s3, "copy-v", Some("src")).await.len(), 3);
    assert_eq!(all_versions(&s3, "copy-v", Some("src")).await[0].1, restored);
    // Copies of a delete marker or an unknown version fail.
    let marker = s3
        .delete_object()
        .bucket("copy-v")
        .key("src")
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    expect_err(
        s3.copy_object()
            .bucket("copy-v")
            .key("x")
            .copy_source(format!("copy-v/src?versionId={marker}"))
            .send()
            .await,
        "InvalidRequest",
        400,
    );
    expect_err(
        s3.copy_object()
            .bucket("copy-v")
            .key("x")
            .copy_source("copy-v/src")
            .send()
            .await,
        "NoSuchKey",
        404,
    );
    expect_err(
        s3.copy_object()
            .bucket("copy-v")
            .key("x")
            .copy_source(format!("copy-v/dst?versionId={v1}"))
            .send()
            .await,
        "NoSuchVersion",
        404,
    );

    // Multipart onto a versioned key: a new version; UploadPartCopy reads an old version.
    let part1 = pattern(5 << 20, 7);
    let upload_id = create_upload(&s3, "copy-v", "dst").await;
    let p1 = upload_part(&s3, "copy-v", "dst", &upload_id, 1, &part1).await;
    let p2 = s3
        .upload_part_copy()
        .bucket("copy-v")
        .key("dst")
        .upload_id(&upload_id)
        .part_number(2)
        .copy_source(format!("copy-v/src?versionId={v2}"))
        .send()
        .await
        .unwrap();
    let p2 = p2.copy_part_result().unwrap().e_tag().unwrap();
    let done = complete_upload(&s3, "copy-v", "dst", &upload_id, &[(1, &p1), (2, p2)]).await;
    let mpu_version = done
        .version_id()
        .expect("CompleteMultipartUpload names the version")
        .to_string();
    let mut want = part1.clone();
    want.extend_from_slice(b"second body");
    assert_eq!(get_version(&s3, "copy-v", "dst", &mpu_version).await, want);
    assert_eq!(get_version(&s3, "copy-v", "dst", &dst_version).await, b"first body");
    let dst = all_versions(&s3, "copy-v", Some("dst")).await;
    assert_eq!(
        dst,
        vec![
            ("dst".into(), mpu_version, true, false),
            ("dst".into(), dst_version, false, false),
        ]
    );
}

#[tokio::test]
async fn delete_objects_with_versions_and_bucket_not_empty() {
    let srv = Server::start();
    let s3 = srv.client();
    versioned_bucket(&s3, "multi-del").await;
    let a1 = put_versioned(&s3, "multi-del", "a", b"a1").await;
    let a2 = put_versioned(&s3, "multi-del", "a", b"a2").await;
    put_versioned(&s3, "multi-del", "b", b"b").await;
    let ident = |k: &str, v: Option<&str>| {
        ObjectIdentifier::builder()
            .key(k)
            .set_version_id(v.map(str::to_string))
            .build()
            .unwrap()
    };
    let out = s3
        .delete_objects()
        .bucket("multi-del")
        .delete(
            Delete::builder()
                .objects(ident("a", Some(&a1)))
                .objects(ident("b", None))
                .objects(ident("c", Some("not-a-version")))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let a = out.deleted().iter().find(|d| d.key() == Some("a")).expect("a deleted");
    assert_eq!(a.version_id(), Some(a1.as_str()));
    assert_ne!(a.delete_marker(), Some(true));
    let b = out.deleted().iter().find(|d| d.key() == Some("b")).expect("b deleted");
    assert_eq!(b.delete_marker(), Some(true));
    let b_marker = b.delete_marker_version_id().expect("the marker's id").to_string();
    assert_eq!(out.errors().len(), 1, "{out:?}");
    assert_eq!(out.errors()[0].key(), Some("c"));
    assert_eq!(out.errors()[0].code(), Some("InvalidArgument"));
    assert_eq!(get_bytes(&s3, "multi-del", "a").await, b"a2");
    expect_err(
        s3.get_object().bucket("multi-del").key("b").send().await,
        "NoSuchKey",
        404,
    );

    // Only a delete marker and noncurrent versions left: not empty.
    s3.delete_object().bucket("multi-del").key("a").send().await.unwrap();
    assert_eq!(
        s3.list_objects_v2()
            .bucket("multi-del")
            .send()
            .await
            .unwrap()
            .key_count(),
        Some(0)
    );
    expect_err(
        s3.delete_bucket().bucket("multi-del").send().await,
        "BucketNotEmpty",
        409,
    );
    // Removing every version and marker, as `aws s3 rb --force` and boto3's object_versions.delete() do.
    let listed = s3.list_object_versions().bucket("multi-del").send().await.unwrap();
    let mut ids = Vec::new();
    for v in listed.versions() {
        ids.push(ident(v.key().unwrap(), v.version_id()));
    }
    for m in listed.delete_markers() {
        ids.push(ident(m.key().unwrap(), m.version_id()));
    }
    assert_eq!(ids.len(), 4, "a2, b, and the markers of a and b: {listed:?}");
    let out = s3
        .delete_objects()
        .bucket("multi-del")
        .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(out.errors().is_empty(), "{out:?}");
    let marker_entry = out
        .deleted()
        .iter()
        .find(|d| d.version_id() == Some(b_marker.as_str()))
        .unwrap();
    assert_eq!(marker_entry.delete_marker(), Some(true));
    assert!(all_versions(&s3, "multi-del", None).await.is_empty());
    let _ = a2;
    // A bucket holding only a delete marker is not empty either.
    s3.delete_object()
        .bucket("multi-del")
        .key("ghost")
        .send()
        .await
        .unwrap();
    expect_err(
        s3.delete_bucket().bucket("multi-del").send().await,
        "BucketNotEmpty",
        409,
    );
    let ghost = all_versions(&s3, "multi-del", None).await;
    assert_eq!(ghost.len(), 1);
    assert!(ghost[0].3 && ghost[0].2, "a lone marker is the latest: {ghost:?}");
    s3.delete_object()
        .bucket("multi-del")
        .key("ghost")
        .version_id(&ghost[0].1)
        .send()
        .await
        .unwrap();
    s3.delete_bucket().bucket("multi-del").send().await.expect("now empty");
}

#[tokio::test]
async fn removed_versions_bytes_are_collected() {
    let srv = Server::start();
    let s3 = srv.client();
    versioned_bucket(&s3, "gcv").await;
    // Large enough to live in files, not inline.
    let big = pattern(2 << 20, 3);
    let v1 = put_versioned(&s3, "gcv", "k", &big).await;
    put_versioned(&s3, "gcv", "k", &big[..1 << 20]).await;
    let data = srv.data_dir();
    let before = dir_bytes(&data);
    assert!(before >= 3 << 20, "both versions' bytes are kept: {before}");
    // Overwriting kept the old bytes (a version); deleting that version frees them.
    s3.delete_object()
        .bucket("gcv")
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    let freed = wait_until(Duration::from_secs(30), || dir_bytes(&data) + (3 << 19) < before).await;
    assert!(
        freed,
        "the removed version's bytes were not collected: {} of {before}",
        dir_bytes(&data)
    );
    assert_eq!(get_bytes(&s3, "gcv", "k").await, &big[..1 << 20]);
    // A delete marker frees nothing: the version stays readable.
    s3.delete_object().bucket("gcv").key("k").send().await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let latest = all_versions(&s3, "gcv", None).await;
    assert_eq!(get_version(&s3, "gcv", "k", &latest[1].1).await, &big[..1 << 20]);
}
