//! Buckets and single objects through the real aws-sdk-s3 client.

use crate::common::*;
use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_s3::types::{Delete, MetadataDirective, ObjectIdentifier};
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn bucket_lifecycle() {
    let srv = Server::start();
    let s3 = srv.client();

    let created = s3.create_bucket().bucket("alpha-bucket").send().await.expect("create");
    assert_eq!(created.location(), Some("/alpha-bucket"));
    create_bucket(&s3, "beta.bucket-2").await;

    s3.head_bucket()
        .bucket("alpha-bucket")
        .send()
        .await
        .expect("head existing bucket");
    assert_eq!(err_status(s3.head_bucket().bucket("missing-bucket").send().await), 404);

    let list = s3.list_buckets().send().await.expect("list buckets");
    let names: Vec<&str> = list.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["alpha-bucket", "beta.bucket-2"]);
    assert!(list.buckets().iter().all(|b| b.creation_date().is_some()));
    assert_eq!(list.owner().and_then(|o| o.id()), Some(UID));

    let loc = s3
        .get_bucket_location()
        .bucket("alpha-bucket")
        .send()
        .await
        .expect("location");
    assert_eq!(loc.location_constraint().map(|l| l.as_str()), Some("default"));

    // Not empty: refused, and the bucket and its object stay.
    put(&s3, "alpha-bucket", "obj", b"x").await;
    expect_err(
        s3.delete_bucket().bucket("alpha-bucket").send().await,
        "BucketNotEmpty",
        409,
    );
    assert_eq!(get_bytes(&s3, "alpha-bucket", "obj").await, b"x");

    s3.delete_object()
        .bucket("alpha-bucket")
        .key("obj")
        .send()
        .await
        .expect("delete obj");
    s3.delete_bucket()
        .bucket("alpha-bucket")
        .send()
        .await
        .expect("delete empty bucket");
    assert_eq!(err_status(s3.head_bucket().bucket("alpha-bucket").send().await), 404);
    expect_err(
        s3.delete_bucket().bucket("alpha-bucket").send().await,
        "NoSuchBucket",
        404,
    );
    expect_err(
        s3.get_object().bucket("alpha-bucket").key("obj").send().await,
        "NoSuchBucket",
        404,
    );
    expect_err(
        s3.put_object()
            .bucket("never-existed")
            .key("k")
            .body(ByteStream::from_static(b"1"))
            .send()
            .await,
        "NoSuchBucket",
        404,
    );
    expect_err(
        s3.list_objects_v2().bucket("never-existed").send().await,
        "NoSuchBucket",
        404,
    );

    let list = s3.list_buckets().send().await.expect("list buckets");
    let names: Vec<&str> = list.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["beta.bucket-2"]);

    // The name is free again.
    create_bucket(&s3, "alpha-bucket").await;
}

#[tokio::test]
async fn invalid_bucket_names() {
    let srv = Server::start();
    let s3 = srv.client();
    let long = "a".repeat(64);
    for name in [
        "ab",
        long.as_str(),
        "Upper-Case",
        "under_score",
        "-leading",
        "trailing-",
        "192.168.1.1",
        "two..dots",
    ] {
        expect_err(s3.create_bucket().bucket(name).send().await, "InvalidBucketName", 400);
    }
    let ok63 = "b".repeat(63);
    create_bucket(&s3, &ok63).await;
    create_bucket(&s3, "abc").await;
    let list = s3.list_buckets().send().await.expect("list");
    assert_eq!(list.buckets().len(), 2, "{list:?}");
}

#[tokio::test]
async fn duplicate_buckets() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "shared-name").await;
    put(&s3, "shared-name", "k", b"owner data").await;
    // Re-creating your own bucket answers 200 (us-east-1 and RGW; s3_edges.rs has the details).
    s3.create_bucket()
        .bucket("shared-name")
        .send()
        .await
        .expect("re-create");

    srv.create_user("other", "AKIAOTHERUSER0000001", "other-secret");
    let other = srv.client_for("AKIAOTHERUSER0000001", "other-secret");
    expect_err(
        other.create_bucket().bucket("shared-name").send().await,
        "BucketAlreadyExists",
        409,
    );
    // The other user's own buckets are unaffected and the first bucket is intact.
    assert!(other.list_buckets().send().await.expect("list").buckets().is_empty());
    assert_eq!(get_bytes(&s3, "shared-name", "k").await, b"owner data");
}

#[tokio::test]
async fn a_never_versioned_bucket_keeps_one_version_per_key() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "vers").await;
    let v = s3
        .get_bucket_versioning()
        .bucket("vers")
        .send()
        .await
        .expect("get versioning");
    assert_eq!(v.status(), None);
    assert_eq!(v.mfa_delete(), None);
    // Overwrites replace (no versions kept); versioning itself is tested in versioning.rs.
    put(&s3, "vers", "k", b"one").await;
    put(&s3, "vers", "k", b"two").await;
    let versions = s3.list_objects_v2().bucket("vers").send().await.expect("list");
    assert_eq!(versions.key_count(), Some(1));
    assert_eq!(get_bytes(&s3, "vers", "k").await, b"two");
    let all = s3
        .list_object_versions()
        .bucket("vers")
        .send()
        .await
        .expect("list versions");
    assert_eq!(all.versions().len(), 1);
    assert_eq!(all.versions()[0].version_id(), Some("null"));
}

#[tokio::test]
async fn object_round_trip_with_headers() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "objs").await;
    let body = pattern(10_000, 1);
    let expires = DateTime::from_secs(1_900_000_000);
    let put_out = s3
        .put_object()
        .bucket("objs")
        .key("dir/report.txt")
        .body(ByteStream::from(body.clone()))
        .content_type("text/plain; charset=utf-8")
        .content_encoding("gzip")
        .content_disposition("attachment; filename=\"report.txt\"")
        .cache_control("max-age=60")
        .expires(expires)
        .metadata("color", "blue")
        .metadata("Project-Name", "Meridian test")
        .send()
        .await
        .expect("put");
    let want_etag = format!("\"{}\"", md5_hex(&body));
    assert_eq!(put_out.e_tag(), Some(want_etag.as_str()));

    let got = s3
        .get_object()
        .bucket("objs")
        .key("dir/report.txt")
        .send()
        .await
        .expect("get");
    assert_eq!(got.e_tag(), Some(want_etag.as_str()));
    assert_eq!(got.content_length(), Some(body.len() as i64));
    assert_eq!(got.content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(got.content_encoding(), Some("gzip"));
    assert_eq!(got.content_disposition(), Some("attachment; filename=\"report.txt\""));
    assert_eq!(got.cache_control(), Some("max-age=60"));
    let exp = got.expires_string().expect("Expires header");
    assert_eq!(
        DateTime::from_str(exp, DateTimeFormat::HttpDate).expect("http date"),
        expires
    );
    let meta = got.metadata().expect("metadata");
    assert_eq!(meta.get("color").map(String::as_str), Some("blue"));
    assert_eq!(meta.get("project-name").map(String::as_str), Some("Meridian test"));
    assert_eq!(meta.len(), 2, "{meta:?}");
    assert!(got.last_modified().is_some());
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), &body[..]);

    let head = s3
        .head_object()
        .bucket("objs")
        .key("dir/report.txt")
        .send()
        .await
        .expect("head");
    assert_eq!(head.e_tag(), Some(want_etag.as_str()));
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(head.content_encoding(), Some("gzip"));
    assert_eq!(head.content_disposition(), Some("attachment; filename=\"report.txt\""));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(
        head.metadata().and_then(|m| m.get("color")).map(String::as_str),
        Some("blue")
    );
    assert_eq!(
        err_status(s3.head_object().bucket("objs").key("nope").send().await),
        404
    );

    // Empty object.
    let etag = put(&s3, "objs", "empty", b"").await;
    assert_eq!(etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
    assert!(get_bytes(&s3, "objs", "empty").await.is_empty());

    // Overwrite replaces bytes and headers.
    let etag = put(&s3, "objs", "dir/report.txt", b"short").await;
    assert_eq!(etag, format!("\"{}\"", md5_hex(b"short")));
    let head = s3
        .head_object()
        .bucket("objs")
        .key("dir/report.txt")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(5));
    assert_eq!(head.metadata().map(|m| m.len()).unwrap_or(0), 0);
    assert_eq!(head.content_encoding(), None);
}

#[tokio::test]
async fn content_md5_checks() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "md5").await;
    let body = b"checked body".to_vec();
    s3.put_object()
        .bucket("md5")
        .key("good")
        .body(ByteStream::from(body.clone()))
        .content_md5(md5_b64(&body))
        .send()
        .await
        .expect("put with the right Content-MD5");
    assert_eq!(get_bytes(&s3, "md5", "good").await, body);

    expect_err(
        s3.put_object()
            .bucket("md5")
            .key("bad")
            .body(ByteStream::from(body.clone()))
            .content_md5(md5_b64(b"something else"))
            .send()
            .await,
        "BadDigest",
        400,
    );
    expect_err(
        s3.put_object()
            .bucket("md5")
            .key("malformed")
            .body(ByteStream::from(body.clone()))
            .content_md5("not-base64!!")
            .send()
            .await,
        "InvalidDigest",
        400,
    );
    for key in ["bad", "malformed"] {
        expect_err(s3.get_object().bucket("md5").key(key).send().await, "NoSuchKey", 404);
    }
}

#[tokio::test]
async fn range_reads() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "ranges").await;
    let body = pattern(1000, 2);
    put(&s3, "ranges", "r", &body).await;

    for (range, first, last) in [
        ("bytes=10-19", 10usize, 19usize),
        ("bytes=-100", 900, 999),
        ("bytes=990-", 990, 999),
        ("bytes=0-5000", 0, 999),
    ] {
        let got = s3
            .get_object()
            .bucket("ranges")
            .key("r")
            .range(range)
            .send()
            .await
            .expect(range);
        assert_eq!(
            got.content_range(),
            Some(format!("bytes {first}-{last}/1000").as_str()),
            "{range}"
        );
        assert_eq!(got.content_length(), Some((last - first + 1) as i64), "{range}");
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(bytes.as_ref(), &body[first..=last], "{range}");
    }
    expect_err(
        s3.get_object()
            .bucket("ranges")
            .key("r")
            .range("bytes=1000-")
            .send()
            .await,
        "InvalidRange",
        416,
    );
    expect_err(
        s3.get_object()
            .bucket("ranges")
            .key("r")
            .range("bytes=5000-6000")
            .send()
            .await,
        "InvalidRange",
        416,
    );

    // The raw status line: 206 Partial Content with Content-Range.
    let answer = srv
        .send_signed("GET", "/ranges/r", &[], &[("range", "bytes=100-199")], b"")
        .await;
    assert_eq!(answer.status, 206);
    assert_eq!(answer.header("content-range").as_deref(), Some("bytes 100-199/1000"));
    assert_eq!(answer.bytes, &body[100..200]);
}

#[tokio::test]
async fn conditional_reads() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "cond").await;
    let etag = put(&s3, "cond", "c", b"conditional").await;
    let past = DateTime::from(SystemTime::now() - Duration::from_secs(3600));
    let future = DateTime::from(SystemTime::now() + Duration::from_secs(3600));

    let ok = s3
        .get_object()
        .bucket("cond")
        .key("c")
        .if_match(&etag)
        .send()
        .await
        .expect("if-match");
    assert_eq!(ok.body.collect().await.unwrap().into_bytes().as_ref(), b"conditional");
    s3.get_object()
        .bucket("cond")
        .key("c")
        .if_match("*")
        .send()
        .await
        .expect("if-match *");
    expect_err(
        s3.get_object()
            .bucket("cond")
            .key("c")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await,
        "PreconditionFailed",
        412,
    );

    assert_eq!(
        err_status(
            s3.get_object()
                .bucket("cond")
                .key("c")
                .if_none_match(&etag)
                .send()
                .await
        ),
        304
    );
    s3.get_object()
        .bucket("cond")
        .key("c")
        .if_none_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .await
        .expect("if-none-match other etag");

    assert_eq!(
        err_status(
            s3.get_object()
                .bucket("cond")
                .key("c")
                .if_modified_since(future)
                .send()
                .await
        ),
        304
    );
    s3.get_object()
        .bucket("cond")
        .key("c")
        .if_modified_since(past)
        .send()
        .await
        .expect("modified since an hour ago");

    expect_err(
        s3.get_object()
            .bucket("cond")
            .key("c")
            .if_unmodified_since(past)
            .send()
            .await,
        "PreconditionFailed",
        412,
    );
    s3.get_object()
        .bucket("cond")
        .key("c")
        .if_unmodified_since(future)
        .send()
        .await
        .expect("unmodified since future");

    // HEAD follows the same rules.
    assert_eq!(
        err_status(
            s3.head_object()
                .bucket("cond")
                .key("c")
                .if_none_match(&etag)
                .send()
                .await
        ),
        304
    );
    assert_eq!(
        err_status(s3.head_object().bucket("cond").key("c").if_match("\"00\"").send().await),
        412
    );
}

#[tokio::test]
async fn delete_and_delete_objects() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "del").await;
    put(&s3, "del", "single", b"1").await;
    s3.delete_object()
        .bucket("del")
        .key("single")
        .send()
        .await
        .expect("delete");
    expect_err(
        s3.get_object().bucket("del").key("single").send().await,
        "NoSuchKey",
        404,
    );
    // Deleting a missing key succeeds (S3 semantics).
    s3.delete_object()
        .bucket("del")
        .key("single")
        .send()
        .await
        .expect("delete missing");

    for k in ["a", "b", "c", "d", "e"] {
        put(&s3, "del", k, k.as_bytes()).await;
    }
    let ids = |keys: &[&str]| {
        keys.iter()
            .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
            .collect::<Vec<_>>()
    };
    let out = s3
        .delete_objects()
        .bucket("del")
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&["a", "b", "missing"])))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("delete objects");
    let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    assert_eq!(deleted, ["a", "b", "missing"]);
    assert!(out.errors().is_empty(), "{out:?}");

    let out = s3
        .delete_objects()
        .bucket("del")
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&["c", "d"])))
                .quiet(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("quiet delete objects");
    assert!(out.deleted().is_empty(), "quiet mode lists no deleted keys: {out:?}");
    assert!(out.errors().is_empty(), "{out:?}");

    let left = s3.list_objects_v2().bucket("del").send().await.expect("list");
    let keys: Vec<&str> = left.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["e"]);
}

#[tokio::test]
async fn copy_object() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "src").await;
    create_bucket(&s3, "dst").await;
    let body = pattern(4096, 3);
    s3.put_object()
        .bucket("src")
        .key("orig")
        .body(ByteStream::from(body.clone()))
        .content_type("application/x-orig")
        .metadata("origin", "source")
        .send()
        .await
        .expect("put");
    let etag = format!("\"{}\"", md5_hex(&body));

    // Same bucket, default directive (COPY): bytes and metadata copied.
    let out = s3
        .copy_object()
        .bucket("src")
        .key("copy1")
        .copy_source("src/orig")
        .send()
        .await
        .expect("copy");
    assert_eq!(out.copy_object_result().and_then(|r| r.e_tag()), Some(etag.as_str()));
    let head = s3.head_object().bucket("src").key("copy1").send().await.expect("head");
    assert_eq!(head.content_type(), Some("application/x-orig"));
    assert_eq!(
        head.metadata().and_then(|m| m.get("origin")).map(String::as_str),
        Some("source")
    );
    assert_eq!(get_bytes(&s3, "src", "copy1").await, body);

    // Cross bucket, explicit COPY; the new metadata in the request is ignored.
    s3.copy_object()
        .bucket("dst")
        .key("nested/copy2")
        .copy_source("src/orig")
        .metadata_directive(MetadataDirective::Copy)
        .metadata("ignored", "yes")
        .send()
        .await
        .expect("cross-bucket copy");
    let head = s3
        .head_object()
        .bucket("dst")
        .key("nested/copy2")
        .send()
        .await
        .expect("head");
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    let meta = head.metadata().cloned().unwrap_or_default();
    assert_eq!(meta.get("origin").map(String::as_str), Some("source"));
    assert!(!meta.contains_key("ignored"), "{meta:?}");
    assert_eq!(get_bytes(&s3, "dst", "nested/copy2").await, body);

    // REPLACE: the request's headers and metadata win.
    s3.copy_object()
        .bucket("dst")
        .key("replaced")
        .copy_source("src/orig")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("text/replaced")
        .metadata("fresh", "new")
        .send()
        .await
        .expect("copy with REPLACE");
    let head = s3
        .head_object()
        .bucket("dst")
        .key("replaced")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("text/replaced"));
    let meta = head.metadata().cloned().unwrap_or_default();
    assert_eq!(meta.get("fresh").map(String::as_str), Some("new"));
    assert!(!meta.contains_key("origin"), "{meta:?}");
    assert_eq!(get_bytes(&s3, "dst", "replaced").await, body);

    // Onto itself: only with REPLACE.
    expect_err(
        s3.copy_object()
            .bucket("src")
            .key("orig")
            .copy_source("src/orig")
            .send()
            .await,
        "InvalidRequest",
        400,
    );
    s3.copy_object()
        .bucket("src")
        .key("orig")
        .copy_source("src/orig")
        .metadata_directive(MetadataDirective::Replace)
        .metadata("origin", "rewritten")
        .send()
        .await
        .expect("self copy with REPLACE");
    let head = s3.head_object().bucket("src").key("orig").send().await.expect("head");
    assert_eq!(
        head.metadata().and_then(|m| m.get("origin")).map(String::as_str),
        Some("rewritten")
    );
    assert_eq!(get_bytes(&s3, "src", "orig").await, body);

    // The source must exist.
    expect_err(
        s3.copy_object()
            .bucket("dst")
            .key("x")
            .copy_source("src/missing")
            .send()
            .await,
        "NoSuchKey",
        404,
    );
    // Changing the copy leaves the source alone.
    put(&s3, "src", "copy1", b"changed").await;
    assert_eq!(get_bytes(&s3, "src", "orig").await, body);
}

#[tokio::test]
async fn unusual_keys() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "keys").await;
    let k1024 = "k".repeat(1024);
    let keys = [
        "a/../b",
        "../up",
        "./dot/./x",
        "dir//double",
        "日本語/ファイル ✓.txt",
        "with spaces and +plus & ampersand=eq?q#h",
        "percent%20literal",
        "emoji 🚀",
        k1024.as_str(),
    ];
    for (i, k) in keys.iter().enumerate() {
        let body = format!("body {i}");
        put(&s3, "keys", k, body.as_bytes()).await;
        assert_eq!(get_bytes(&s3, "keys", k).await, body.as_bytes(), "key {k:?}");
    }
    let list = s3.list_objects_v2().bucket("keys").send().await.expect("list");
    let mut listed: Vec<String> = list
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    let mut want: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    want.sort();
    listed.sort();
    assert_eq!(listed, want);
    // "a/../b" is not "b".
    expect_err(s3.get_object().bucket("keys").key("b").send().await, "NoSuchKey", 404);

    let k1025 = "k".repeat(1025);
    expect_err(
        s3.put_object()
            .bucket("keys")
            .key(&k1025)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "KeyTooLongError",
        400,
    );
    // 1024 bytes of multi-byte characters is fine; one more byte is not.
    let multibyte = "é".repeat(512);
    put(&s3, "keys", &multibyte, b"m").await;
    let too_long = format!("{multibyte}x");
    expect_err(
        s3.put_object()
            .bucket("keys")
            .key(&too_long)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "KeyTooLongError",
        400,
    );
}

#[tokio::test]
async fn traversal_keys_stay_opaque() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "trav").await;
    let sentinel = format!("meridian-escape-{}", std::process::id());
    let keys = [
        "../../etc/passwd".to_string(),
        "../../../../../../../../tmp/".to_string() + &sentinel,
        "..".to_string(),
        "/leading/slash".to_string(),
    ];
    for k in &keys {
        put(&s3, "trav", k, b"root:x:0:0").await;
        assert_eq!(get_bytes(&s3, "trav", k).await, b"root:x:0:0", "{k}");
    }
    let list = s3.list_objects_v2().bucket("trav").send().await.expect("list");
    let mut listed: Vec<&str> = list.contents().iter().filter_map(|o| o.key()).collect();
    listed.sort();
    let mut want: Vec<&str> = keys.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(listed, want);

    // Nothing was written outside the data dir: the test's private root holds only the data dir, no file
    // anywhere under it is named after the key, and the sentinel path does not exist.
    let top: Vec<String> = std::fs::read_dir(srv.root_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top, ["data-root"]);
    for p in walk(srv.root_dir()) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name != "passwd" && name != "etc" && name != sentinel,
            "suspicious path {p:?}"
        );
    }
    assert!(!std::path::Path::new("/tmp").join(&sentinel).exists());
}
