//! S3 Object Lock through the real aws-sdk-s3 client (and raw signed requests where the SDK would add
//! checks): lock-enabled buckets and their configuration, retention (COMPLIANCE, GOVERNANCE and its bypass),
//! legal holds, the deletes they refuse, lock headers on PUT, copy and multipart, the refusals of a bucket
//! without lock, and a version's lock (and tags) replicated to another zone, where its delete is refused too.

use crate::common::*;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, DefaultRetention, Delete, ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
    ObjectLockRule, VersioningConfiguration,
};
use aws_sdk_s3::Client;
use std::time::{Duration, Instant, SystemTime};

/// A time `secs` from now, in whole seconds (S3 dates carry no more).
fn from_now(secs: i64) -> DateTime {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    DateTime::from_secs(now + secs)
}

async fn lock_bucket(s3: &Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create lock bucket {bucket}: {e:?}"));
}

async fn put_locked(
    s3: &Client,
    bucket: &str,
    key: &str,
    mode: Option<(ObjectLockMode, DateTime)>,
    hold: bool,
) -> String {
    let mut req = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"locked bytes"));
    if let Some((m, until)) = mode {
        req = req.object_lock_mode(m).object_lock_retain_until_date(until);
    }
    if hold {
        req = req.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"))
        .version_id
        .expect("a version id")
}

async fn retention(s3: &Client, bucket: &str, key: &str, version: &str) -> (ObjectLockRetentionMode, i64) {
    let r = s3
        .get_object_retention()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get retention of {bucket}/{key}: {e:?}"))
        .retention
        .expect("a retention");
    (r.mode.expect("mode"), r.retain_until_date.expect("date").secs())
}

fn retention_of(mode: ObjectLockRetentionMode, until: DateTime) -> ObjectLockRetention {
    ObjectLockRetention::builder()
        .mode(mode)
        .retain_until_date(until)
        .build()
}

#[tokio::test]
async fn lock_enabled_buckets_and_their_configuration() {
    let server = Server::start();
    let s3 = server.client();
    lock_bucket(&s3, "vault").await;
    let versioning = s3.get_bucket_versioning().bucket("vault").send().await.unwrap();
    assert_eq!(versioning.status(), Some(&BucketVersioningStatus::Enabled));
    let config = s3
        .get_object_lock_configuration()
        .bucket("vault")
        .send()
        .await
        .unwrap()
        .object_lock_configuration
        .expect("a configuration");
    assert_eq!(config.object_lock_enabled(), Some(&ObjectLockEnabled::Enabled));
    assert!(config.rule().is_none(), "no default retention yet: {config:?}");

    // Versioning can no longer be suspended.
    let suspend = s3
        .put_bucket_versioning()
        .bucket("vault")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await;
    expect_err(suspend, "InvalidBucketState", 409);

    // A default rule: new versions get GOVERNANCE for 2 days.
    let rule = |mode: ObjectLockRetentionMode, days: Option<i32>, years: Option<i32>| {
        ObjectLockConfiguration::builder()
            .object_lock_enabled(ObjectLockEnabled::Enabled)
            .rule(
                ObjectLockRule::builder()
                    .default_retention(
                        DefaultRetention::builder()
                            .mode(mode)
                            .set_days(days)
                            .set_years(years)
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    s3.put_object_lock_configuration()
        .bucket("vault")
        .object_lock_configuration(rule(ObjectLockRetentionMode::Governance, Some(2), None))
        .send()
        .await
        .expect("put lock configuration");
    let got = s3
        .get_object_lock_configuration()
        .bucket("vault")
        .send()
        .await
        .unwrap()
        .object_lock_configuration
        .unwrap();
    let d = got
        .rule()
        .and_then(|r| r.default_retention())
        .expect("default retention");
    assert_eq!(d.mode(), Some(&ObjectLockRetentionMode::Governance));
    assert_eq!((d.days(), d.years()), (Some(2), None));
    let bad = s3
        .put_object_lock_configuration()
        .bucket("vault")
        .object_lock_configuration(rule(ObjectLockRetentionMode::Compliance, Some(1), Some(1)))
        .send()
        .await;
    expect_err(bad, "MalformedXML", 400);
    let bad = s3
        .put_object_lock_configuration()
        .bucket("vault")
        .object_lock_configuration(rule(ObjectLockRetentionMode::Compliance, Some(0), None))
        .send()
        .await;
    expect_err(bad, "InvalidArgument", 400);

    // A plain PUT gets the default retention, shown on HEAD and GET.
    let v = put_locked(&s3, "vault", "doc", None, false).await;
    let head = s3.head_object().bucket("vault").key("doc").send().await.unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    let until = head.object_lock_retain_until_date().expect("retain-until").secs();
    let expected = from_now(2 * 86_400).secs();
    assert!(
        (until - expected).abs() < 120,
        "retain-until {until}, expected about {expected}"
    );
    let get = s3.get_object().bucket("vault").key("doc").send().await.unwrap();
    assert_eq!(get.object_lock_mode(), Some(&ObjectLockMode::Governance));
    assert_eq!(get.object_lock_legal_hold_status(), None);
    let (mode, _) = retention(&s3, "vault", "doc", &v).await;
    assert_eq!(mode, ObjectLockRetentionMode::Governance);

    // A bucket created without lock: none configured; enabling needs versioning Enabled first.
    create_bucket(&s3, "plain").await;
    let none = s3.get_object_lock_configuration().bucket("plain").send().await;
    expect_err(none, "ObjectLockConfigurationNotFoundError", 404);
    let enable = || {
        s3.put_object_lock_configuration()
            .bucket("plain")
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .build(),
            )
    };
    expect_err(enable().send().await, "InvalidBucketState", 409);
    set_versioning(&s3, "plain", aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
    enable().send().await.expect("enable lock on a versioned bucket");
    let got = s3.get_object_lock_configuration().bucket("plain").send().await.unwrap();
    assert_eq!(
        got.object_lock_configuration().and_then(|c| c.object_lock_enabled()),
        Some(&ObjectLockEnabled::Enabled)
    );
}

#[tokio::test]
async fn compliance_and_governance_retention_rules() {
    let server = Server::start();
    let s3 = server.client();
    lock_bucket(&s3, "worm").await;

    // COMPLIANCE: extended by anyone, shortened or removed by no one, its version never deleted.
    let until = from_now(3600);
    let vc = put_locked(&s3, "worm", "c", Some((ObjectLockMode::Compliance, until)), false).await;
    let (mode, got) = retention(&s3, "worm", "c", &vc).await;
    assert_eq!((mode, got), (ObjectLockRetentionMode::Compliance, until.secs()));
    let shorten = s3
        .put_object_retention()
        .bucket("worm")
        .key("c")
        .version_id(&vc)
        .retention(retention_of(ObjectLockRetentionMode::Compliance, from_now(600)))
        .bypass_governance_retention(true)
        .send()
        .await;
    expect_err(shorten, "AccessDenied", 403);
    let weaken = s3
        .put_object_retention()
        .bucket("worm")
        .key("c")
        .version_id(&vc)
        .retention(retention_of(ObjectLockRetentionMode::Governance, from_now(7200)))
        .bypass_governance_retention(true)
        .send()
        .await;
    expect_err(weaken, "AccessDenied", 403);
    let later = from_now(7200);
    s3.put_object_retention()
        .bucket("worm")
        .key("c")
        .version_id(&vc)
        .retention(retention_of(ObjectLockRetentionMode::Compliance, later))
        .send()
        .await
        .expect("extending a COMPLIANCE retention");
    assert_eq!(retention(&s3, "worm", "c", &vc).await.1, later.secs());
    for bypass in [false, true] {
        let del = s3
            .delete_object()
            .bucket("worm")
            .key("c")
            .version_id(&vc)
            .bypass_governance_retention(bypass)
            .send()
            .await;
        expect_err(del, "AccessDenied", 403);
    }
    // A delete without a version id still writes a delete marker; the locked version stays.
    let marker = s3.delete_object().bucket("worm").key("c").send().await.unwrap();
    assert_eq!(marker.delete_marker(), Some(true));
    let body = s3
        .get_object()
        .bucket("worm")
        .key("c")
        .version_id(&vc)
        .send()
        .await
        .unwrap();
    assert_eq!(
        body.body.collect().await.unwrap().into_bytes().as_ref(),
        b"locked bytes"
    );
    // The marker itself has no lock and goes.
    s3.delete_object()
        .bucket("worm")
        .key("c")
        .version_id(marker.version_id().unwrap())
        .send()
        .await
        .expect("removing the delete marker");

    // GOVERNANCE: shortened, removed or deleted only with the bypass header.
    let vg = put_locked(
        &s3,
        "worm",
        "g",
        Some((ObjectLockMode::Governance, from_now(3600))),
        false,
    )
    .await;
    let shorten = || {
        s3.put_object_retention()
            .bucket("worm")
            .key("g")
            .version_id(&vg)
            .retention(retention_of(ObjectLockRetentionMode::Governance, from_now(1800)))
    };
    expect_err(shorten().send().await, "AccessDenied", 403);
    shorten()
        .bypass_governance_retention(true)
        .send()
        .await
        .expect("shortening GOVERNANCE with the bypass");
    let del = s3.delete_object().bucket("worm").key("g").version_id(&vg).send().await;
    expect_err(del, "AccessDenied", 403);
    s3.delete_object()
        .bucket("worm")
        .key("g")
        .version_id(&vg)
        .bypass_governance_retention(true)
        .send()
        .await
        .expect("deleting a GOVERNANCE version with the bypass");
    let gone = s3.head_object().bucket("worm").key("g").version_id(&vg).send().await;
    assert_eq!(err_status(gone), 404);

    // A retention removed with the bypass leaves the version free to go.
    let vr = put_locked(
        &s3,
        "worm",
        "r",
        Some((ObjectLockMode::Governance, from_now(3600))),
        false,
    )
    .await;
    s3.put_object_retention()
        .bucket("worm")
        .key("r")
        .version_id(&vr)
        .retention(ObjectLockRetention::builder().build())
        .bypass_governance_retention(true)
        .send()
        .await
        .expect("removing GOVERNANCE with the bypass");
    let none = s3
        .get_object_retention()
        .bucket("worm")
        .key("r")
        .version_id(&vr)
        .send()
        .await;
    expect_err(none, "NoSuchObjectLockConfiguration", 404);
    s3.delete_object()
        .bucket("worm")
        .key("r")
        .version_id(&vr)
        .send()
        .await
        .expect("delete after the retention was removed");

    // A retain-until date in the past is refused.
    let past = s3
        .put_object()
        .bucket("worm")
        .key("past")
        .body(ByteStream::from_static(b"x"))
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(from_now(-60))
        .send()
        .await;
    expect_err(past, "InvalidArgument", 400);
}

#[tokio::test]
async fn legal_hold_refuses_deletes_until_released() {
    let server = Server::start();
    let s3 = server.client();
    lock_bucket(&s3, "hold").await;
    let held = put_locked(&s3, "hold", "h", None, true).await;
    let free = put_locked(&s3, "hold", "f", None, false).await;
    let status = |key: &'static str, v: String| {
        let s3 = s3.clone();
        async move {
            s3.get_object_legal_hold()
                .bucket("hold")
                .key(key)
                .version_id(v)
                .send()
                .await
                .unwrap()
                .legal_hold
                .and_then(|h| h.status)
        }
    };
    assert_eq!(status("h", held.clone()).await, Some(ObjectLockLegalHoldStatus::On));
    assert_eq!(status("f", free.clone()).await, Some(ObjectLockLegalHoldStatus::Off));
    let head = s3.head_object().bucket("hold").key("h").send().await.unwrap();
    assert_eq!(
        head.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );

    // Neither DeleteObject (even with the bypass) nor DeleteObjects removes it; the other entry goes.
    let del = s3
        .delete_object()
        .bucket("hold")
        .key("h")
        .version_id(&held)
        .bypass_governance_retention(true)
        .send()
        .await;
    expect_err(del, "AccessDenied", 403);
    let objects = [("h", &held), ("f", &free)]
        .iter()
        .map(|(k, v)| ObjectIdentifier::builder().key(*k).version_id(*v).build().unwrap())
        .collect::<Vec<_>>();
    let out = s3
        .delete_objects()
        .bucket("hold")
        .delete(Delete::builder().set_objects(Some(objects)).build().unwrap())
        .send()
        .await
        .expect("delete objects");
    let errors: Vec<_> = out.errors().iter().map(|e| (e.key(), e.code())).collect();
    assert_eq!(errors, vec![(Some("h"), Some("AccessDenied"))]);
    let deleted: Vec<_> = out.deleted().iter().map(|d| d.key()).collect();
    assert_eq!(deleted, vec![Some("f")]);

    // Released: the version goes.
    s3.put_object_legal_hold()
        .bucket("hold")
        .key("h")
        .version_id(&held)
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::Off)
                .build(),
        )
        .send()
        .await
        .expect("release the hold");
    s3.delete_object()
        .bucket("hold")
        .key("h")
        .version_id(&held)
        .send()
        .await
        .expect("delete after release");
}

#[tokio::test]
async fn copy_and_multipart_take_the_lock_headers() {
    let server = Server::start();
    let s3 = server.client();
    lock_bucket(&s3, "locks").await;
    let until = from_now(3600);
    put_locked(&s3, "locks", "src", Some((ObjectLockMode::Compliance, until)), true).await;

    // A copy gets the lock its request names, not the source's.
    let copied = s3
        .copy_object()
        .bucket("locks")
        .key("copy")
        .copy_source("locks/src")
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(until)
        .send()
        .await
        .expect("copy with lock headers");
    let vcopy = copied.version_id().expect("copy version").to_string();
    let head = s3.head_object().bucket("locks").key("copy").send().await.unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    assert_eq!(
        head.object_lock_legal_hold_status(),
        None,
        "the source's hold is not copied"
    );
    let del = s3
        .delete_object()
        .bucket("locks")
        .key("copy")
        .version_id(&vcopy)
        .send()
        .await;
    expect_err(del, "AccessDenied", 403);

    // A multipart upload's lock applies to the completed object.
    let up = s3
        .create_multipart_upload()
        .bucket("locks")
        .key("mp")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .expect("create upload with a legal hold");
    let upload_id = up.upload_id().unwrap();
    let part = upload_part(&s3, "locks", "mp", upload_id, 1, b"one part").await;
    let done = complete_upload(&s3, "locks", "mp", upload_id, &[(1, &part)]).await;
    let vmp = done.version_id().expect("version").to_string();
    let head = s3.head_object().bucket("locks").key("mp").send().await.unwrap();
    assert_eq!(
        head.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    let del = s3
        .delete_object()
        .bucket("locks")
        .key("mp")
        .version_id(&vmp)
        .send()
        .await;
    expect_err(del, "AccessDenied", 403);
}

#[tokio::test]
async fn lock_requests_need_a_lock_bucket_and_an_integrity_header() {
    let server = Server::start();
    let s3 = server.client();
    create_bucket(&s3, "nolock").await;
    set_versioning(&s3, "nolock", aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
    let put = s3
        .put_object()
        .bucket("nolock")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(from_now(3600))
        .send()
        .await;
    expect_err(put, "InvalidRequest", 400);
    let hold = s3
        .put_object()
        .bucket("nolock")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await;
    expect_err(hold, "InvalidRequest", 400);
    let v = put_locked(&s3, "nolock", "k", None, false).await;
    let ret = s3
        .put_object_retention()
        .bucket("nolock")
        .key("k")
        .version_id(&v)
        .retention(retention_of(ObjectLockRetentionMode::Governance, from_now(3600)))
        .send()
        .await;
    expect_err(ret, "InvalidRequest", 400);
    let ret = s3
        .get_object_retention()
        .bucket("nolock")
        .key("k")
        .version_id(&v)
        .send()
        .await;
    expect_err(ret, "InvalidRequest", 400);

    // On a lock bucket, a PUT with lock headers but neither Content-MD5 nor a checksum is refused (the
    // SDK always adds a checksum, so this one is signed by hand).
    lock_bucket(&s3, "strict").await;
    let body = b"signed by hand";
    let until = "2099-01-01T00:00:00Z";
    let lock_headers = [
        ("x-amz-object-lock-mode", "COMPLIANCE"),
        ("x-amz-object-lock-retain-until-date", until),
    ];
    let refused = server.send_signed("PUT", "/strict/raw", &[], &lock_headers, body).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("<Code>InvalidRequest</Code>"), "{}", refused.body);
    let md5 = md5_b64(body);
    let with_md5 = [lock_headers.as_slice(), &[("content-md5", md5.as_str())]].concat();
    let accepted = server.send_signed("PUT", "/strict/raw", &[], &with_md5, body).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let head = s3.head_object().bucket("strict").key("raw").send().await.unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
}

#[tokio::test]
async fn lifecycle_expiry_leaves_locked_versions_behind_a_marker() {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    };
    // A pass every second, and a lifecycle "day" of 2 seconds.
    let server = Server::start_with(&["--lifecycle-interval-secs", "1", "--lifecycle-debug-day-secs", "2"]);
    let s3 = server.client();
    lock_bucket(&s3, "aging").await;
    let v = put_locked(
        &s3,
        "aging",
        "old/k",
        Some((ObjectLockMode::Compliance, from_now(3600))),
        false,
    )
    .await;
    let rule = LifecycleRule::builder()
        .id("expire-old")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("old/").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .unwrap();
    s3.put_bucket_lifecycle_configuration()
        .bucket("aging")
        .lifecycle_configuration(BucketLifecycleConfiguration::builder().rules(rule).build().unwrap())
        .send()
        .await
        .expect("put lifecycle");
    let deadline = Instant::now() + Duration::from_secs(30);
    while s3.head_object().bucket("aging").key("old/k").send().await.is_ok() {
        assert!(Instant::now() < deadline, "old/k never expired");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A few more passes: the locked version is still there, behind one delete marker.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let versions = s3.list_object_versions().bucket("aging").send().await.unwrap();
    assert_eq!(versions.delete_markers().len(), 1, "{versions:?}");
    let kept: Vec<_> = versions.versions().iter().filter_map(|x| x.version_id()).collect();
    assert_eq!(kept, vec![v.as_str()], "{versions:?}");
    let del = s3
        .delete_object()
        .bucket("aging")
        .key("old/k")
        .version_id(&v)
        .send()
        .await;
    expect_err(del, "AccessDenied", 403);
}

#[tokio::test]
async fn a_versions_lock_reaches_the_other_zone_and_guards_it_there() {
    use crate::common::realm::*;
    let site = Site::build(&["lock-east", "lock-west"]);
    let (a, b) = (&site.zones[0], &site.zones[1]);
    let (ca, cb) = (a.client(), b.client());
    lock_bucket(&ca, "shared").await;
    let until = from_now(3600);
    let v = put_locked(&ca, "shared", "k", Some((ObjectLockMode::Compliance, until)), false).await;

    // The version arrives in the other zone with its retention, and its delete is refused there.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = cb
            .get_object_retention()
            .bucket("shared")
            .key("k")
            .version_id(&v)
            .send()
            .await;
        if let Ok(r) = &got {
            let r = r.retention().expect("retention");
            assert_eq!(r.mode(), Some(&ObjectLockRetentionMode::Compliance));
            assert_eq!(r.retain_until_date().map(|d| d.secs()), Some(until.secs()));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "retention never reached {}: {got:?}\n{}",
            b.name,
            b.log_tail(80)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let del = cb.delete_object().bucket("shared").key("k").version_id(&v).send().await;
    expect_err(del, "AccessDenied", 403);

    // A legal hold set in the second zone on that version reaches the first; released there, it clears
    // in the second: the in-place change replicates both ways.
    cb.put_object_legal_hold()
        .bucket("shared")
        .key("k")
        .version_id(&v)
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::On)
                .build(),
        )
        .send()
        .await
        .expect("hold in the second zone");
    let hold_on = |c: Client| {
        let v = v.clone();
        async move {
            c.get_object_legal_hold()
                .bucket("shared")
                .key("k")
                .version_id(v)
                .send()
                .await
                .ok()
                .and_then(|o| o.legal_hold)
                .and_then(|h| h.status)
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while hold_on(ca.clone()).await != Some(ObjectLockLegalHoldStatus::On) {
        assert!(
            Instant::now() < deadline,
            "the hold never reached {}\n{}",
            a.name,
            a.log_tail(80)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ca.put_object_legal_hold()
        .bucket("shared")
        .key("k")
        .version_id(&v)
        .legal_hold(
            ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::Off)
                .build(),
        )
        .send()
        .await
        .expect("release in the first zone");
    let deadline = Instant::now() + Duration::from_secs(60);
    while hold_on(cb.clone()).await != Some(ObjectLockLegalHoldStatus::Off) {
        assert!(
            Instant::now() < deadline,
            "the release never reached {}\n{}",
            b.name,
            b.log_tail(80)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Tags of that version, set by id in the second zone, replicate the same way.
    cb.put_object_tagging()
        .bucket("shared")
        .key("k")
        .version_id(&v)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key("case")
                        .value("42")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("tag the version in the second zone");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = ca
            .get_object_tagging()
            .bucket("shared")
            .key("k")
            .version_id(&v)
            .send()
            .await;
        if got.as_ref().is_ok_and(|t| t.tag_set().len() == 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the version's tags never reached {}: {got:?}",
            a.name
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Still the same version, bytes and retention in both zones; still not deletable in either.
    for (zone, c) in [(a, &ca), (b, &cb)] {
        let out = c
            .get_object()
            .bucket("shared")
            .key("k")
            .version_id(&v)
            .send()
            .await
            .unwrap();
        assert_eq!(
            out.object_lock_mode(),
            Some(&ObjectLockMode::Compliance),
            "{}",
            zone.name
        );
        assert_eq!(out.body.collect().await.unwrap().into_bytes().as_ref(), b"locked bytes");
        let del = c.delete_object().bucket("shared").key("k").version_id(&v).send().await;
        expect_err(del, "AccessDenied", 403);
    }
}
