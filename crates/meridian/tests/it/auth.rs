//! Authentication and authorisation: SigV4 failures, presigned URLs, suspended users, other users' buckets,
//! anonymous requests, streaming chunk signatures, and virtual-hosted-style addressing.

use crate::common::realm::send_signed;
use crate::common::*;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn bad_credentials_are_refused() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "creds").await;

    let wrong_secret = srv.client_for(ACCESS_KEY, "not-the-secret");
    expect_err(wrong_secret.list_buckets().send().await, "SignatureDoesNotMatch", 403);
    expect_err(
        wrong_secret
            .put_object()
            .bucket("creds")
            .key("k")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "SignatureDoesNotMatch",
        403,
    );
    let unknown = srv.client_for("AKIANOSUCHKEY0000000", SECRET_KEY);
    expect_err(unknown.list_buckets().send().await, "InvalidAccessKeyId", 403);
    expect_err(
        unknown.get_object().bucket("creds").key("k").send().await,
        "InvalidAccessKeyId",
        403,
    );
    // Nothing was written by the refused requests.
    expect_err(s3.get_object().bucket("creds").key("k").send().await, "NoSuchKey", 404);

    // A second key of the same user works; after `key rm` it does not.
    srv.cli(&[
        "key",
        "create",
        "--uid",
        UID,
        "--access-key",
        "AKIASECONDKEY0000001",
        "--secret",
        "second-secret",
    ]);
    let second = srv.client_for("AKIASECONDKEY0000001", "second-secret");
    assert_eq!(
        second.list_buckets().send().await.expect("second key").buckets().len(),
        1
    );
    srv.cli(&["key", "rm", "--access-key", "AKIASECONDKEY0000001"]);
    expect_err(second.list_buckets().send().await, "InvalidAccessKeyId", 403);
    s3.list_buckets().send().await.expect("first key still works");
}

#[tokio::test]
async fn presigned_urls() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "pre").await;
    put(&s3, "pre", "file name.txt", b"presigned content").await;
    let http = http();

    let req = s3
        .get_object()
        .bucket("pre")
        .key("file name.txt")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .expect("presign get");
    let resp = http.get(req.uri()).send().await.expect("GET presigned");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"presigned content");

    // Tampering with the signature or the key is refused.
    let uri = req.uri().to_string();
    let sig_at = uri.find("X-Amz-Signature=").expect("signature param") + "X-Amz-Signature=".len();
    let mut tampered = uri.clone();
    let c = if &uri[sig_at..sig_at + 1] == "0" { "1" } else { "0" };
    tampered.replace_range(sig_at..sig_at + 1, c);
    let resp = http.get(&tampered).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert!(resp.text().await.unwrap().contains("SignatureDoesNotMatch"));
    let other_key = uri.replacen("file%20name.txt", "other.txt", 1);
    assert_ne!(other_key, uri);
    assert_eq!(http.get(&other_key).send().await.unwrap().status().as_u16(), 403);

    // Presigned PUT.
    let req = s3
        .put_object()
        .bucket("pre")
        .key("uploaded")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .expect("presign put");
    let mut rb = http.put(req.uri()).body(b"via presigned put".to_vec());
    for (k, v) in req.headers() {
        rb = rb.header(k, v);
    }
    let resp = rb.send().await.expect("PUT presigned");
    assert_eq!(resp.status().as_u16(), 200, "{:?}", resp.text().await);
    assert_eq!(get_bytes(&s3, "pre", "uploaded").await, b"via presigned put");

    // Expiry.
    let req = s3
        .get_object()
        .bucket("pre")
        .key("file name.txt")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(1)).unwrap())
        .await
        .expect("presign short");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let resp = http.get(req.uri()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let text = resp.text().await.unwrap();
    assert!(text.contains("<Code>"), "{text}");
}

#[tokio::test]
async fn suspended_user_is_refused_until_enabled() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "susp").await;
    put(&s3, "susp", "k", b"before").await;

    let info = srv.cli(&["user", "suspend", "--uid", UID]);
    if !info.is_null() {
        assert_eq!(info["suspended"], 1, "{info}");
    }
    assert_eq!(srv.cli(&["user", "info", "--uid", UID])["suspended"], 1);
    assert_eq!(err_status(s3.list_buckets().send().await), 403);
    assert_eq!(err_status(s3.get_object().bucket("susp").key("k").send().await), 403);
    assert_eq!(
        err_status(
            s3.put_object()
                .bucket("susp")
                .key("k")
                .body(ByteStream::from_static(b"during"))
                .send()
                .await
        ),
        403
    );

    srv.cli(&["user", "enable", "--uid", UID]);
    assert_eq!(srv.cli(&["user", "info", "--uid", UID])["suspended"], 0);
    assert_eq!(
        get_bytes(&s3, "susp", "k").await,
        b"before",
        "the refused PUT must not have written"
    );
    put(&s3, "susp", "k", b"after").await;
    assert_eq!(get_bytes(&s3, "susp", "k").await, b"after");
}

#[tokio::test]
async fn other_users_bucket_is_private() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "private").await;
    put(&s3, "private", "secret.txt", b"mine").await;
    srv.create_user("mallory", "AKIAMALLORY000000001", "mallory-secret");
    let m = srv.client_for("AKIAMALLORY000000001", "mallory-secret");

    expect_err(
        m.get_object().bucket("private").key("secret.txt").send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        m.put_object()
            .bucket("private")
            .key("evil")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "AccessDenied",
        403,
    );
    expect_err(m.list_objects_v2().bucket("private").send().await, "AccessDenied", 403);
    expect_err(m.list_objects().bucket("private").send().await, "AccessDenied", 403);
    expect_err(
        m.delete_object().bucket("private").key("secret.txt").send().await,
        "AccessDenied",
        403,
    );
    expect_err(m.delete_bucket().bucket("private").send().await, "AccessDenied", 403);
    expect_err(
        m.create_multipart_upload().bucket("private").key("mp").send().await,
        "AccessDenied",
        403,
    );
    expect_err(
        m.copy_object()
            .bucket("private")
            .key("copied")
            .copy_source("private/secret.txt")
            .send()
            .await,
        "AccessDenied",
        403,
    );
    assert_eq!(err_status(m.head_bucket().bucket("private").send().await), 403);
    assert_eq!(
        err_status(m.head_object().bucket("private").key("secret.txt").send().await),
        403
    );
    // Copying out of it into the attacker's own bucket is refused too.
    create_bucket(&m, "mallory-bucket").await;
    expect_err(
        m.copy_object()
            .bucket("mallory-bucket")
            .key("loot")
            .copy_source("private/secret.txt")
            .send()
            .await,
        "AccessDenied",
        403,
    );
    let mine = list_bucket_names(&m).await;
    assert_eq!(mine, ["mallory-bucket"]);

    // The owner's data is untouched.
    let list = s3.list_objects_v2().bucket("private").send().await.unwrap();
    let keys: Vec<&str> = list.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["secret.txt"]);
    assert_eq!(get_bytes(&s3, "private", "secret.txt").await, b"mine");
}

#[tokio::test]
async fn anonymous_requests_are_refused() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "anon").await;
    put(&s3, "anon", "k", b"data").await;
    let http = http();
    let base = &srv.endpoint;

    for url in [format!("{base}/anon/k"), format!("{base}/anon"), format!("{base}/")] {
        let resp = http.get(&url).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{url}");
        assert!(resp.text().await.unwrap().contains("AccessDenied"), "{url}");
    }
    let resp = http.put(format!("{base}/anon/new")).body("x").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let resp = http.delete(format!("{base}/anon/k")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    expect_err(s3.get_object().bucket("anon").key("new").send().await, "NoSuchKey", 404);
    assert_eq!(get_bytes(&s3, "anon", "k").await, b"data");
}

#[tokio::test]
async fn streaming_signed_chunks() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "stream").await;
    let data = pattern(200 * 1024 + 17, 77);
    let chunk = 64 * 1024;
    let http = http();

    let send = |key: &'static str, tamper: bool| {
        let decoded = data.len().to_string();
        let encoded = chunked_len(data.len(), chunk).to_string();
        let signed = srv.sign(
            "PUT",
            &format!("/stream/{key}"),
            &[],
            &[
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", &decoded),
                ("content-length", &encoded),
                ("content-type", "application/x-streamed"),
            ],
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        );
        let mut body = signed.chunked_body(&data, chunk);
        assert_eq!(body.len(), chunked_len(data.len(), chunk));
        if tamper {
            // Flip one payload byte of the second chunk: its chunk signature no longer matches.
            let pos = body.len() / 2;
            body[pos] ^= 0xff;
        }
        signed.request(&http, reqwest::Method::PUT).body(body).send()
    };

    let resp = send("streamed", false).await.expect("streamed PUT");
    let status = resp.status().as_u16();
    let etag = resp.headers().get("etag").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(status, 200, "{}", resp.text().await.unwrap());
    assert_eq!(etag.as_deref(), Some(format!("\"{}\"", md5_hex(&data)).as_str()));
    let head = s3.head_object().bucket("stream").key("streamed").send().await.unwrap();
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert_eq!(head.content_type(), Some("application/x-streamed"));
    assert_eq!(
        head.content_encoding(),
        None,
        "aws-chunked is a transfer detail, not stored"
    );
    assert!(get_bytes(&s3, "stream", "streamed").await == data);

    let resp = send("tampered", true).await.expect("tampered PUT");
    assert_eq!(resp.status().as_u16(), 403, "{}", resp.text().await.unwrap());
    expect_err(
        s3.get_object().bucket("stream").key("tampered").send().await,
        "NoSuchKey",
        404,
    );
}

#[tokio::test]
async fn sdk_streaming_body_from_file() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "sdkstream").await;
    let data = pattern(300 * 1024 + 5, 88);
    let path = srv.root_dir().join("upload.bin");
    std::fs::write(&path, &data).unwrap();
    // A file-backed body is streamed by the SDK (with its default checksum behaviour).
    let body = ByteStream::from_path(&path).await.unwrap();
    let out = s3
        .put_object()
        .bucket("sdkstream")
        .key("f")
        .body(body)
        .send()
        .await
        .expect("put from file");
    assert_eq!(out.e_tag(), Some(format!("\"{}\"", md5_hex(&data)).as_str()));
    assert!(get_bytes(&s3, "sdkstream", "f").await == data);
    let head = s3.head_object().bucket("sdkstream").key("f").send().await.unwrap();
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert_eq!(head.content_encoding(), None);
}

#[tokio::test]
async fn virtual_hosted_style() {
    let srv = Server::start_with(&["--hostname", "s3.test"]);
    let s3 = srv.client();
    create_bucket(&s3, "vhost").await;
    let http = http();
    let signer = srv.signer();
    let host = format!("vhost.s3.test:{}", srv.port());

    // PUT and GET addressed by Host only (the path is just the key).
    let body = b"virtual hosted".to_vec();
    let (status, _, text) = send_signed(&signer, "PUT", srv.addr, &host, "/dir/v.txt", &[], &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(get_bytes(&s3, "vhost", "dir/v.txt").await, body);

    let (status, _, text) = send_signed(&signer, "GET", srv.addr, &host, "/dir/v.txt", &[], b"").await;
    assert_eq!(status, 200);
    assert_eq!(text.as_bytes(), &body[..]);

    // ListObjectsV2 at the root of the virtual host.
    let (status, _, xml) = send_signed(&signer, "GET", srv.addr, &host, "/", &[("list-type", "2")], b"").await;
    assert_eq!(status, 200);
    assert!(
        xml.contains("<Name>vhost</Name>") && xml.contains("<Key>dir/v.txt</Key>"),
        "{xml}"
    );

    // A presigned virtual-hosted URL.
    let url = signer.presign("GET", srv.addr, &host, "/dir/v.txt", 300, SystemTime::now());
    let resp = http.get(&url).header("host", &host).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &body[..]);

    // An unknown bucket on the virtual host.
    let other = format!("nope.s3.test:{}", srv.port());
    let (status, _, text) = send_signed(&signer, "GET", srv.addr, &other, "/x", &[], b"").await;
    assert_eq!(status, 404);
    assert!(text.contains("NoSuchBucket"));

    // Path style still works on the same server, also through the raw signer.
    let answer = srv.send_signed("GET", "/vhost/dir/v.txt", &[], &[], b"").await;
    assert_eq!(answer.status, 200);
}
