//! Object and bucket tagging, CORS and lifecycle against a running server: the S3 calls through the SDK
//! (limits, another user, missing configurations), `x-amz-tagging` on PUT, multipart and copy, the tag count
//! on GET and HEAD, preflight OPTIONS and `Origin` requests as raw HTTP, tags and CORS rules reaching the
//! other zone of a two-zone site, and the lifecycle worker expiring objects and aborting uploads (with a
//! lifecycle "day" of two seconds).

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CorsConfiguration, CorsRule, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, Tag, Tagging, TaggingDirective,
};
use aws_sdk_s3::Client;
use std::time::{Duration, Instant};

const BOB_ACCESS: &str = "AKIAMERIDIANBOB00001";
const BOB_SECRET: &str = "bob-secret-key-00001/abcdefghijklmnopqrs";

fn tagging(pairs: &[(&str, &str)]) -> Tagging {
    Tagging::builder()
        .set_tag_set(Some(
            pairs
                .iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
                .collect(),
        ))
        .build()
        .unwrap()
}

fn many(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("k{i}"), format!("v{i}"))).collect()
}

fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn object_tags(c: &Client, bucket: &str, key: &str) -> Vec<(String, String)> {
    c.get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get object tagging")
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// An unauthenticated request (a browser's preflight).
async fn anonymous(
    srv: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = http().request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{path}", srv.endpoint),
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let h = resp.headers().clone();
    (status, h, resp.text().await.unwrap_or_default())
}

fn hdr(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

#[tokio::test]
async fn object_tagging() {
    let srv = Server::start();
    let c = srv.client();
    srv.create_user("bob", BOB_ACCESS, BOB_SECRET);
    let bob = srv.client_for(BOB_ACCESS, BOB_SECRET);
    create_bucket(&c, "tags").await;

    // x-amz-tagging on PUT (URL-encoded), returned by GetObjectTagging in order, counted on GET and HEAD.
    c.put_object()
        .bucket("tags")
        .key("a")
        .tagging("team=red&note=a%20b%26c")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        object_tags(&c, "tags", "a").await,
        pairs(&[("team", "red"), ("note", "a b&c")])
    );
    let got = c.get_object().bucket("tags").key("a").send().await.unwrap();
    assert_eq!(got.tag_count(), Some(2));
    let Answer { status, headers: h, .. } = srv.send_signed("HEAD", "/tags/a", &[], &[], b"").await;
    assert_eq!(status, 200);
    assert_eq!(hdr(&h, "x-amz-tagging-count").as_deref(), Some("2"));

    // PutObjectTagging replaces the set; the bytes stay; DeleteObjectTagging empties it.
    c.put_object_tagging()
        .bucket("tags")
        .key("a")
        .tagging(tagging(&[("only", "one")]))
        .send()
        .await
        .unwrap();
    assert_eq!(object_tags(&c, "tags", "a").await, pairs(&[("only", "one")]));
    assert_eq!(get_bytes(&c, "tags", "a").await, b"hello");
    let ten = many(10);
    c.put_object_tagging()
        .bucket("tags")
        .key("a")
        .tagging(tagging(&as_refs(&ten)))
        .send()
        .await
        .expect("10 tags are allowed");
    assert_eq!(object_tags(&c, "tags", "a").await.len(), 10);
    c.delete_object_tagging().bucket("tags").key("a").send().await.unwrap();
    assert!(object_tags(&c, "tags", "a").await.is_empty());
    let got = c.get_object().bucket("tags").key("a").send().await.unwrap();
    assert_eq!(got.tag_count(), None);

    // The limits: 11 tags, a long key or value, a repeated key; on the call and on the header.
    let eleven = many(11);
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    for bad in [
        as_refs(&eleven),
        vec![(long_key.as_str(), "v")],
        vec![("k", long_value.as_str())],
        vec![("k", "1"), ("k", "2")],
    ] {
        expect_err(
            c.put_object_tagging()
                .bucket("tags")
                .key("a")
                .tagging(tagging(&bad))
                .send()
                .await,
            "InvalidTag",
            400,
        );
    }
    let header = (0..11).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join("&");
    expect_err(
        c.put_object()
            .bucket("tags")
            .key("b")
            .tagging(header)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "InvalidTag",
        400,
    );
    expect_err(
        c.put_object()
            .bucket("tags")
            .key("b")
            .tagging("k=1&k=2")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "InvalidTag",
        400,
    );
    expect_err(
        c.get_object_tagging().bucket("tags").key("missing").send().await,
        "NoSuchKey",
        404,
    );
    expect_err(
        c.put_object_tagging()
            .bucket("tags")
            .key("missing")
            .tagging(tagging(&[("a", "b")]))
            .send()
            .await,
        "NoSuchKey",
        404,
    );

    // Another user may neither read nor change them.
    expect_err(
        bob.get_object_tagging().bucket("tags").key("a").send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        bob.put_object_tagging()
            .bucket("tags")
            .key("a")
            .tagging(tagging(&[("x", "y")]))
            .send()
            .await,
        "AccessDenied",
        403,
    );
    expect_err(
        bob.delete_object_tagging().bucket("tags").key("a").send().await,
        "AccessDenied",
        403,
    );

    // CopyObject keeps the source's tags (COPY, the default) or takes the request's (REPLACE).
    c.put_object_tagging()
        .bucket("tags")
        .key("a")
        .tagging(tagging(&[("src", "1")]))
        .send()
        .await
        .unwrap();
    c.copy_object()
        .bucket("tags")
        .key("copy")
        .copy_source("tags/a")
        .send()
        .await
        .unwrap();
    assert_eq!(object_tags(&c, "tags", "copy").await, pairs(&[("src", "1")]));
    c.copy_object()
        .bucket("tags")
        .key("copy2")
        .copy_source("tags/a")
        .tagging_directive(TaggingDirective::Replace)
        .tagging("dst=2")
        .send()
        .await
        .unwrap();
    assert_eq!(object_tags(&c, "tags", "copy2").await, pairs(&[("dst", "2")]));

    // A multipart upload's tags (given on create) are the completed object's.
    let up = c
        .create_multipart_upload()
        .bucket("tags")
        .key("mp")
        .tagging("mp=yes")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let part = upload_part(&c, "tags", "mp", id, 1, b"part").await;
    complete_upload(&c, "tags", "mp", id, &[(1, &part)]).await;
    assert_eq!(object_tags(&c, "tags", "mp").await, pairs(&[("mp", "yes")]));
}

#[tokio::test]
async fn bucket_tagging() {
    let srv = Server::start();
    let c = srv.client();
    srv.create_user("bob", BOB_ACCESS, BOB_SECRET);
    let bob = srv.client_for(BOB_ACCESS, BOB_SECRET);
    create_bucket(&c, "btags").await;

    expect_err(c.get_bucket_tagging().bucket("btags").send().await, "NoSuchTagSet", 404);
    let fifty = many(50);
    c.put_bucket_tagging()
        .bucket("btags")
        .tagging(tagging(&as_refs(&fifty)))
        .send()
        .await
        .expect("50 bucket tags are allowed");
    let got = c.get_bucket_tagging().bucket("btags").send().await.unwrap();
    let got: Vec<(String, String)> = got
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(got, fifty);
    let fifty_one = many(51);
    expect_err(
        c.put_bucket_tagging()
            .bucket("btags")
            .tagging(tagging(&as_refs(&fifty_one)))
            .send()
            .await,
        "InvalidTag",
        400,
    );
    expect_err(
        c.put_bucket_tagging()
            .bucket("btags")
            .tagging(tagging(&[("d", "1"), ("d", "2")]))
            .send()
            .await,
        "InvalidTag",
        400,
    );
    expect_err(
        bob.get_bucket_tagging().bucket("btags").send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        bob.put_bucket_tagging()
            .bucket("btags")
            .tagging(tagging(&[("x", "y")]))
            .send()
            .await,
        "AccessDenied",
        403,
    );
    expect_err(
        bob.delete_bucket_tagging().bucket("btags").send().await,
        "AccessDenied",
        403,
    );
    // The refused calls changed nothing.
    assert_eq!(
        c.get_bucket_tagging()
            .bucket("btags")
            .send()
            .await
            .unwrap()
            .tag_set()
            .len(),
        50
    );
    c.delete_bucket_tagging().bucket("btags").send().await.unwrap();
    expect_err(c.get_bucket_tagging().bucket("btags").send().await, "NoSuchTagSet", 404);
}

fn cors_rules() -> CorsConfiguration {
    CorsConfiguration::builder()
        .cors_rules(
            CorsRule::builder()
                .id("web")
                .allowed_origins("http://*.example.com")
                .allowed_methods("GET")
                .allowed_methods("PUT")
                .allowed_headers("x-amz-*")
                .allowed_headers("content-type")
                .expose_headers("ETag")
                .max_age_seconds(600)
                .build()
                .unwrap(),
        )
        .cors_rules(
            CorsRule::builder()
                .allowed_origins("*")
                .allowed_methods("HEAD")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn cors() {
    let srv = Server::start();
    let c = srv.client();
    srv.create_user("bob", BOB_ACCESS, BOB_SECRET);
    let bob = srv.client_for(BOB_ACCESS, BOB_SECRET);
    create_bucket(&c, "web").await;
    put(&c, "web", "page.html", b"<html/>").await;

    let preflight = |origin: &'static str, method: &'static str, headers: Option<&'static str>| {
        let srv = &srv;
        async move {
            let mut h = vec![("Origin", origin), ("Access-Control-Request-Method", method)];
            if let Some(x) = headers {
                h.push(("Access-Control-Request-Headers", x));
            }
            anonymous(srv, "OPTIONS", "/web/page.html", &h).await
        }
    };

    // No configuration: GetBucketCors is 404, every preflight 403.
    expect_err(
        c.get_bucket_cors().bucket("web").send().await,
        "NoSuchCORSConfiguration",
        404,
    );
    let (status, _, body) = preflight("http://www.example.com", "GET", None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessForbidden</Code>"), "{body}");

    // Bad rules are refused; another user may not set, read or delete them.
    let bad = CorsConfiguration::builder()
        .cors_rules(
            CorsRule::builder()
                .allowed_origins("*")
                .allowed_methods("PATCH")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    expect_err(
        c.put_bucket_cors().bucket("web").cors_configuration(bad).send().await,
        "InvalidRequest",
        400,
    );
    expect_err(
        bob.put_bucket_cors()
            .bucket("web")
            .cors_configuration(cors_rules())
            .send()
            .await,
        "AccessDenied",
        403,
    );

    c.put_bucket_cors()
        .bucket("web")
        .cors_configuration(cors_rules())
        .send()
        .await
        .unwrap();
    let got = c.get_bucket_cors().bucket("web").send().await.unwrap();
    let rules = got.cors_rules();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].id(), Some("web"));
    assert_eq!(rules[0].allowed_origins(), ["http://*.example.com"]);
    assert_eq!(rules[0].allowed_methods(), ["GET", "PUT"]);
    assert_eq!(rules[0].allowed_headers(), ["x-amz-*", "content-type"]);
    assert_eq!(rules[0].expose_headers(), ["ETag"]);
    assert_eq!(rules[0].max_age_seconds(), Some(600));
    expect_err(bob.get_bucket_cors().bucket("web").send().await, "AccessDenied", 403);
    expect_err(bob.delete_bucket_cors().bucket("web").send().await, "AccessDenied", 403);

    // A matching preflight: 200 with the rule's answer.
    let (status, h, body) = preflight("http://www.example.com", "PUT", Some("x-amz-meta-a, Content-Type")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        hdr(&h, "access-control-allow-origin").as_deref(),
        Some("http://www.example.com")
    );
    assert_eq!(hdr(&h, "access-control-allow-methods").as_deref(), Some("GET, PUT"));
    assert_eq!(
        hdr(&h, "access-control-allow-headers").as_deref(),
        Some("x-amz-meta-a, Content-Type")
    );
    assert_eq!(hdr(&h, "access-control-max-age").as_deref(), Some("600"));
    assert_eq!(hdr(&h, "access-control-expose-headers").as_deref(), Some("ETag"));
    // The `*` rule answers `*`.
    let (status, h, _) = preflight("http://anyone.test", "HEAD", None).await;
    assert_eq!(status, 200);
    assert_eq!(hdr(&h, "access-control-allow-origin").as_deref(), Some("*"));

    // No rule allows: another origin, another method, a header not allowed.
    for (origin, method, headers) in [
        ("https://www.example.com", "GET", None),
        ("http://evil.test", "GET", None),
        ("http://www.example.com", "DELETE", None),
        ("http://www.example.com", "GET", Some("authorization")),
    ] {
        let (status, h, body) = preflight(origin, method, headers).await;
        assert_eq!(status, 403, "{origin} {method} {headers:?}: {body}");
        assert!(body.contains("AccessForbidden"), "{body}");
        assert!(hdr(&h, "access-control-allow-origin").is_none());
    }
    // A preflight without Origin is a bad request.
    let (status, _, _) = anonymous(
        &srv,
        "OPTIONS",
        "/web/page.html",
        &[("Access-Control-Request-Method", "GET")],
    )
    .await;
    assert_eq!(status, 400);

    // An actual request with an allowed Origin gets the headers; another origin does not.
    let Answer {
        status,
        headers: h,
        body,
        ..
    } = srv
        .send_signed("GET", "/web/page.html", &[], &[("Origin", "http://a.example.com")], b"")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "<html/>");
    assert_eq!(
        hdr(&h, "access-control-allow-origin").as_deref(),
        Some("http://a.example.com")
    );
    assert_eq!(hdr(&h, "access-control-expose-headers").as_deref(), Some("ETag"));
    assert_eq!(hdr(&h, "vary").as_deref(), Some("Origin"));
    let Answer { status, headers: h, .. } = srv
        .send_signed("GET", "/web/page.html", &[], &[("Origin", "http://evil.test")], b"")
        .await;
    assert_eq!(status, 200);
    assert!(hdr(&h, "access-control-allow-origin").is_none());

    // Deleted: the preflight is refused again.
    c.delete_bucket_cors().bucket("web").send().await.unwrap();
    expect_err(
        c.get_bucket_cors().bucket("web").send().await,
        "NoSuchCORSConfiguration",
        404,
    );
    let (status, _, _) = preflight("http://www.example.com", "GET", None).await;
    assert_eq!(status, 403);
}

async fn tags_of(c: &Client, bucket: &str, key: &str) -> Option<Vec<(String, String)>> {
    let out = c.get_object_tagging().bucket(bucket).key(key).send().await.ok()?;
    Some(
        out.tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
    )
}

async fn bucket_tags_of(c: &Client, bucket: &str) -> Vec<(String, String)> {
    match c.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn tags_and_cors_replicate() {
    let site = Site::build(&["us-east", "us-west"]);
    let (a, b) = (&site.zones[0], &site.zones[1]);
    let (ca, cb) = (a.client(), b.client());
    create_bucket(&ca, "rtags").await;
    ca.put_object()
        .bucket("rtags")
        .key("k")
        .tagging("from=east")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap();
    eventually("object tags set on us-east never reached us-west", &site, || async {
        tags_of(&cb, "rtags", "k").await == Some(pairs(&[("from", "east")]))
    })
    .await;

    // A tags-only change made on the secondary reaches the master.
    cb.put_object_tagging()
        .bucket("rtags")
        .key("k")
        .tagging(tagging(&[("from", "west")]))
        .send()
        .await
        .unwrap();
    eventually("a tag change on us-west never reached us-east", &site, || async {
        tags_of(&ca, "rtags", "k").await == Some(pairs(&[("from", "west")]))
    })
    .await;
    assert_eq!(get_bytes(&ca, "rtags", "k").await, b"data");

    // Bucket tags set through either zone reach the other (a secondary's change goes through the master).
    cb.put_bucket_tagging()
        .bucket("rtags")
        .tagging(tagging(&[("owner", "west")]))
        .send()
        .await
        .unwrap();
    assert_eq!(bucket_tags_of(&cb, "rtags").await, pairs(&[("owner", "west")]));
    eventually("bucket tags set on us-west never reached us-east", &site, || async {
        bucket_tags_of(&ca, "rtags").await == pairs(&[("owner", "west")])
    })
    .await;
    ca.put_bucket_tagging()
        .bucket("rtags")
        .tagging(tagging(&[("owner", "east")]))
        .send()
        .await
        .unwrap();
    eventually("bucket tags set on us-east never reached us-west", &site, || async {
        bucket_tags_of(&cb, "rtags").await == pairs(&[("owner", "east")])
    })
    .await;

    // CORS rules are bucket metadata too: a preflight on the other zone is answered from them.
    ca.put_bucket_cors()
        .bucket("rtags")
        .cors_configuration(cors_rules())
        .send()
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}/rtags/k", b.port());
    eventually(
        "CORS rules set on us-east never answered a preflight on us-west",
        &site,
        || async {
            http()
                .request(reqwest::Method::OPTIONS, &url)
                .header("Origin", "http://www.example.com")
                .header("Access-Control-Request-Method", "GET")
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 200)
        },
    )
    .await;
}

fn lc_rule(id: &str, filter: LifecycleRuleFilter) -> aws_sdk_s3::types::builders::LifecycleRuleBuilder {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(filter)
}

#[tokio::test]
async fn lifecycle() {
    // A pass every second, and a lifecycle "day" of 2 seconds.
    let srv = Server::start_with(&["--lifecycle-interval-secs", "1", "--lifecycle-debug-day-secs", "2"]);
    let c = srv.client();
    srv.create_user("bob", BOB_ACCESS, BOB_SECRET);
    let bob = srv.client_for(BOB_ACCESS, BOB_SECRET);
    create_bucket(&c, "lcy").await;
    expect_err(
        c.get_bucket_lifecycle_configuration().bucket("lcy").send().await,
        "NoSuchLifecycleConfiguration",
        404,
    );

    // Refused: a rule without action, zero days, another user.
    let no_action = BucketLifecycleConfiguration::builder()
        .rules(
            lc_rule("none", LifecycleRuleFilter::builder().prefix("x/").build())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    expect_err(
        c.put_bucket_lifecycle_configuration()
            .bucket("lcy")
            .lifecycle_configuration(no_action)
            .send()
            .await,
        "InvalidRequest",
        400,
    );
    let zero = BucketLifecycleConfiguration::builder()
        .rules(
            lc_rule("zero", LifecycleRuleFilter::builder().prefix("x/").build())
                .expiration(LifecycleExpiration::builder().days(0).build())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    expect_err(
        c.put_bucket_lifecycle_configuration()
            .bucket("lcy")
            .lifecycle_configuration(zero)
            .send()
            .await,
        "InvalidArgument",
        400,
    );

    let config = BucketLifecycleConfiguration::builder()
        .rules(
            lc_rule("tmp", LifecycleRuleFilter::builder().prefix("tmp/").build())
                .expiration(LifecycleExpiration::builder().days(1).build())
                .build()
                .unwrap(),
        )
        .rules(
            lc_rule(
                "tagged",
                LifecycleRuleFilter::builder()
                    .tag(Tag::builder().key("expire").value("yes").build().unwrap())
                    .build(),
            )
            .expiration(LifecycleExpiration::builder().days(1).build())
            .build()
            .unwrap(),
        )
        .rules(
            lc_rule("old", LifecycleRuleFilter::builder().prefix("old/").build())
                .expiration(
                    LifecycleExpiration::builder()
                        .date(aws_sdk_s3::primitives::DateTime::from_secs(1_577_836_800))
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .rules(
            lc_rule("uploads", LifecycleRuleFilter::builder().prefix("").build())
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(1)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    expect_err(
        bob.put_bucket_lifecycle_configuration()
            .bucket("lcy")
            .lifecycle_configuration(config.clone())
            .send()
            .await,
        "AccessDenied",
        403,
    );
    c.put_bucket_lifecycle_configuration()
        .bucket("lcy")
        .lifecycle_configuration(config)
        .send()
        .await
        .unwrap();
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket("lcy")
        .send()
        .await
        .unwrap();
    let rules = got.rules();
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[0].id(), Some("tmp"));
    assert_eq!(rules[0].expiration().and_then(|e| e.days()), Some(1));
    assert_eq!(rules[0].filter().and_then(|f| f.prefix()), Some("tmp/"));
    assert_eq!(
        rules[1].filter().and_then(|f| f.tag()).map(|t| (t.key(), t.value())),
        Some(("expire", "yes"))
    );
    assert_eq!(
        rules[2].expiration().and_then(|e| e.date()).map(|d| d.secs()),
        Some(1_577_836_800)
    );
    assert_eq!(
        rules[3]
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
        Some(1)
    );
    expect_err(
        bob.get_bucket_lifecycle_configuration().bucket("lcy").send().await,
        "AccessDenied",
        403,
    );

    put(&c, "lcy", "tmp/a", b"a").await;
    put(&c, "lcy", "old/b", b"b").await;
    put(&c, "lcy", "keep/c", b"c").await;
    c.put_object()
        .bucket("lcy")
        .key("keep/tagged")
        .tagging("expire=yes")
        .body(ByteStream::from_static(b"t"))
        .send()
        .await
        .unwrap();
    let upload = c
        .create_multipart_upload()
        .bucket("lcy")
        .key("big")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap().to_string();

    // Within a few "days" (2 s each) the rules have applied; keep/c matches no rule and stays.
    let deadline = Instant::now() + Duration::from_secs(30);
    let remaining = loop {
        let listed = c.list_objects_v2().bucket("lcy").send().await.unwrap();
        let keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        let uploads = c.list_multipart_uploads().bucket("lcy").send().await.unwrap();
        if (keys == ["keep/c"] && uploads.uploads().is_empty()) || Instant::now() > deadline {
            break (keys, uploads.uploads().len());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(remaining, (vec!["keep/c".to_string()], 0), "{}", srv.server_log());
    expect_err(
        c.list_parts()
            .bucket("lcy")
            .key("big")
            .upload_id(&upload_id)
            .send()
            .await,
        "NoSuchUpload",
        404,
    );
    assert_eq!(get_bytes(&c, "lcy", "keep/c").await, b"c");

    c.delete_bucket_lifecycle().bucket("lcy").send().await.unwrap();
    expect_err(
        c.get_bucket_lifecycle_configuration().bucket("lcy").send().await,
        "NoSuchLifecycleConfiguration",
        404,
    );
}

async fn keys_of(c: &Client, bucket: &str) -> Option<Vec<String>> {
    let out = c.list_objects_v2().bucket(bucket).send().await.ok()?;
    Some(
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect(),
    )
}

#[tokio::test]
async fn lifecycle_in_two_zones() {
    let site = Site::build_with(&["us-east", "us-west"], |z| {
        z.extra_args = ["--lifecycle-interval-secs", "1", "--lifecycle-debug-day-secs", "2"]
            .map(String::from)
            .to_vec();
    });
    let (a, b) = (&site.zones[0], &site.zones[1]);
    let (ca, cb) = (a.client(), b.client());
    create_bucket(&ca, "lc2").await;
    put(&ca, "lc2", "tmp/x", b"x").await;
    put(&ca, "lc2", "keep/y", b"y").await;
    eventually("objects never reached us-west", &site, || async {
        keys_of(&cb, "lc2").await.is_some_and(|k| k.len() == 2)
    })
    .await;
    // Rules set through the secondary (forwarded to the master) apply in both zones; the expiry replicates.
    let config = BucketLifecycleConfiguration::builder()
        .rules(
            lc_rule("tmp", LifecycleRuleFilter::builder().prefix("tmp/").build())
                .expiration(LifecycleExpiration::builder().days(1).build())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    cb.put_bucket_lifecycle_configuration()
        .bucket("lc2")
        .lifecycle_configuration(config)
        .send()
        .await
        .unwrap();
    let rules = ca
        .get_bucket_lifecycle_configuration()
        .bucket("lc2")
        .send()
        .await
        .unwrap();
    assert_eq!(rules.rules().len(), 1, "the master holds the rules set through us-west");
    for (c, zone) in [(&ca, "us-east"), (&cb, "us-west")] {
        eventually(&format!("tmp/x never expired on {zone}"), &site, || async {
            keys_of(c, "lc2").await == Some(vec!["keep/y".to_string()])
        })
        .await;
    }
}

/// In a versioning-enabled bucket: tagging a version is refused (a version's id comes from its write, so a
/// rewrite would make it another version), and a lifecycle expiry writes a delete marker, keeping the
/// version it expired.
#[tokio::test]
async fn versioned_buckets_tag_versions_and_expire_into_delete_markers() {
    let srv = Server::start_with(&["--lifecycle-interval-secs", "1", "--lifecycle-debug-day-secs", "2"]);
    let c = srv.client();
    create_bucket(&c, "lcv").await;
    set_versioning(&c, "lcv", aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
    let put = c
        .put_object()
        .bucket("lcv")
        .key("old/k")
        .body(ByteStream::from_static(b"v1"))
        .send()
        .await
        .expect("put");
    let v1 = put.version_id().expect("a version id").to_string();
    // Tags of the current version, then of that version by id: it keeps its id and its bytes.
    let tagged = c
        .put_object_tagging()
        .bucket("lcv")
        .key("old/k")
        .tagging(tagging(&[("a", "b")]))
        .send()
        .await
        .expect("tag the current version");
    assert_eq!(tagged.version_id(), Some(v1.as_str()));
    c.put_object_tagging()
        .bucket("lcv")
        .key("old/k")
        .version_id(&v1)
        .tagging(tagging(&[("a", "c"), ("d", "e")]))
        .send()
        .await
        .expect("tag a version by id");
    let got = c
        .get_object_tagging()
        .bucket("lcv")
        .key("old/k")
        .version_id(&v1)
        .send()
        .await
        .expect("tags of the version");
    assert_eq!(got.version_id(), Some(v1.as_str()));
    let tags: Vec<_> = got.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, vec![("a", "c"), ("d", "e")]);
    let head = c.head_object().bucket("lcv").key("old/k").send().await.expect("head");
    assert_eq!(
        head.version_id(),
        Some(v1.as_str()),
        "a tag change is not a new version"
    );
    expect_err(
        c.get_object_tagging()
            .bucket("lcv")
            .key("old/k")
            .version_id("0000000000000001nowhere")
            .send()
            .await,
        "NoSuchVersion",
        404,
    );
    c.delete_object_tagging()
        .bucket("lcv")
        .key("old/k")
        .version_id(&v1)
        .send()
        .await
        .expect("remove the version's tags");
    let got = c
        .get_object_tagging()
        .bucket("lcv")
        .key("old/k")
        .version_id(&v1)
        .send()
        .await
        .expect("tags of the version");
    assert!(got.tag_set().is_empty(), "{got:?}");

    let rules = BucketLifecycleConfiguration::builder()
        .rules(
            lc_rule("expire-old", LifecycleRuleFilter::builder().prefix("old/").build())
                .expiration(LifecycleExpiration::builder().days(1).build())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.put_bucket_lifecycle_configuration()
        .bucket("lcv")
        .lifecycle_configuration(rules)
        .send()
        .await
        .expect("put lifecycle");
    // A "day" is 2 s and a pass runs every second: the object expires within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let head = c.head_object().bucket("lcv").key("old/k").send().await;
        if head.is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "old/k never expired");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let versions = c
        .list_object_versions()
        .bucket("lcv")
        .send()
        .await
        .expect("list versions");
    let markers = versions.delete_markers();
    assert_eq!(markers.len(), 1, "{versions:?}");
    assert_eq!(markers[0].key(), Some("old/k"));
    assert_eq!(markers[0].is_latest(), Some(true));
    let kept: Vec<_> = versions.versions().iter().filter_map(|v| v.version_id()).collect();
    assert_eq!(kept, vec![v1.as_str()], "the expired version is kept behind the marker");
    let body = c
        .get_object()
        .bucket("lcv")
        .key("old/k")
        .version_id(&v1)
        .send()
        .await
        .expect("get the kept version")
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(&body[..], b"v1");
}
