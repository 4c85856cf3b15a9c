//! Hardening against slow and hostile clients, each probed with real requests against a running server:
//! slowloris heads, idle and over-the-cap connections, stalled bodies, oversized metadata and XML bodies,
//! presigned expiry, truncated aws-chunked bodies, bucket-name rules, empty Content-MD5, the zonegroup's
//! api_name in any case, and client errors kept out of the ERROR log.

use crate::common::*;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `head` (and `body`) on a fresh connection and reads the answer until the server closes it or
/// `limit` passes. Returns the text received and how long it took.
async fn raw_exchange(addr: SocketAddr, head: &str, body: &[u8], limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(head.as_bytes()).await.expect("write head");
    if !body.is_empty() {
        s.write_all(body).await.expect("write body");
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = started + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                // One whole answer is enough when the server keeps the connection.
                if let Some(text) = complete_response(&out) {
                    return (text, started.elapsed());
                }
            }
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
}

/// The response text once its head and Content-Length bytes of body have arrived.
fn complete_response(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let head_end = text.find("\r\n\r\n")?;
    let len: usize = text[..head_end]
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    (bytes.len() >= head_end + 4 + len).then_some(text)
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"))
}

fn code_of(response: &str) -> &str {
    response
        .split("<Code>")
        .nth(1)
        .and_then(|r| r.split("</Code>").next())
        .unwrap_or_default()
}

/// One connection sending a request head one byte per `every`; returns how long until the server closed it
/// (`None` if it was still open after `limit`).
async fn dribble(addr: SocketAddr, every: Duration, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return Some(Duration::ZERO);
    };
    let head = b"GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut buf = [0u8; 1024];
    for byte in head.iter().cycle() {
        if started.elapsed() > limit {
            return None;
        }
        if s.write_all(std::slice::from_ref(byte)).await.is_err() {
            return Some(started.elapsed());
        }
        match tokio::time::timeout(every, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slowloris_connections_are_closed_and_normal_requests_keep_their_latency() {
    let srv = Server::start_with(&["--header-read-timeout-secs", "2", "--idle-timeout-secs", "30"]);
    let s3 = srv.client();
    create_bucket(&s3, "busy").await;
    put(&s3, "busy", "k", b"payload").await;

    let mut baseline = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        get_bytes(&s3, "busy", "k").await;
        baseline.push(t.elapsed());
    }
    baseline.sort();

    // 200 connections each sending its head at one byte per second.
    let slow: Vec<_> = (0..200)
        .map(|_| tokio::spawn(dribble(srv.addr, Duration::from_secs(1), Duration::from_secs(40))))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut during = Vec::new();
    for _ in 0..60 {
        let t = Instant::now();
        assert_eq!(get_bytes(&s3, "busy", "k").await, b"payload");
        during.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    during.sort();
    let mut closed_after = Vec::new();
    for task in slow {
        closed_after.push(task.await.expect("dribble task"));
    }
    let still_open = closed_after.iter().filter(|c| c.is_none()).count();
    assert_eq!(
        still_open, 0,
        "slow connections still open after 40 s: {still_open} of 200"
    );
    let slowest_close = closed_after.iter().flatten().max().copied().unwrap_or_default();
    assert!(
        slowest_close < Duration::from_secs(15),
        "a 2 s header timeout closed the last slow connection only after {slowest_close:?}"
    );
    let p50 = during[during.len() / 2];
    let max = during[during.len() - 1];
    println!(
        "baseline p50 {:?}; under 200 slow connections p50 {p50:?} max {max:?}; slowest close {slowest_close:?}",
        baseline[baseline.len() / 2]
    );
    assert!(p50 < Duration::from_millis(500), "p50 under slowloris {p50:?}");
    assert!(max < Duration::from_secs(3), "slowest request under slowloris {max:?}");
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let srv = Server::start_with(&["--idle-timeout-secs", "2", "--header-read-timeout-secs", "30"]);
    // A connection that never sends anything.
    let (text, took) = raw_exchange(srv.addr, "", b"", Duration::from_secs(20)).await;
    assert!(text.is_empty(), "{text}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "silent connection closed after {took:?}"
    );

    // A keep-alive connection after one answered request.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let t = Instant::now();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(_)) => continue, // the rest of the metrics page
            Err(_) => break false,
        }
    };
    assert!(closed, "idle keep-alive connection still open after 20 s");
    assert!(t.elapsed() < Duration::from_secs(10), "closed after {:?}", t.elapsed());
}

#[tokio::test]
async fn stalled_or_short_bodies_fail_with_request_timeout() {
    let srv = Server::start_with(&["--body-timeout-secs", "2"]);
    let s3 = srv.client();
    create_bucket(&s3, "stall").await;
    // Content-Length 100000, 10 bytes sent, then nothing.
    let (head, _) = srv.signed_head(
        "PUT",
        "/stall/short",
        &[],
        &[("content-length", "100000")],
        &[],
        "UNSIGNED-PAYLOAD",
    );
    let (text, took) = raw_exchange(srv.addr, &head, b"0123456789", Duration::from_secs(30)).await;
    assert_eq!(status_of(&text), 400, "{text}");
    assert_eq!(code_of(&text), "RequestTimeout", "{text}");
    assert!(took < Duration::from_secs(15), "answered after {took:?}");
    expect_err(
        s3.get_object().bucket("stall").key("short").send().await,
        "NoSuchKey",
        404,
    );

    // A stalled DeleteObjects body (read into memory) times out the same way.
    let (head, _) = srv.signed_head(
        "POST",
        "/stall",
        &[("delete", "")],
        &[("content-length", "500")],
        &[],
        "UNSIGNED-PAYLOAD",
    );
    let (text, _) = raw_exchange(srv.addr, &head, b"<Delete>", Duration::from_secs(30)).await;
    assert_eq!(code_of(&text), "RequestTimeout", "{text}");
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_clearly() {
    let srv = Server::start_with(&["--max-connections", "4"]);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(srv.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (text, _) = raw_exchange(
        srv.addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        b"",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(status_of(&text), 503, "{text}");
    assert_eq!(code_of(&text), "ServiceUnavailable", "{text}");
    assert!(text.contains("max_connections"), "{text}");
    drop(held);
    let ok = wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(srv.addr)
            .and_then(|mut s| {
                use std::io::{Read, Write};
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
                let mut b = [0u8; 12];
                s.read_exact(&mut b)?;
                Ok(b.starts_with(b"HTTP/1.1 200"))
            })
            .unwrap_or(false)
    })
    .await;
    assert!(ok, "requests work again once connections were closed");
    let metrics = http()
        .get(format!("{}/metrics", srv.endpoint))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("meridian_connections_refused_total"), "{metrics}");
}

#[tokio::test]
async fn user_metadata_is_capped_at_2_kb() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "meta").await;
    // Name "k" (1 byte) + value: 2048 bytes in all is the most S3 allows.
    let fits = "v".repeat(2047);
    s3.put_object()
        .bucket("meta")
        .key("fits")
        .metadata("k", &fits)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("2 KB of metadata");
    let head = s3.head_object().bucket("meta").key("fits").send().await.unwrap();
    assert_eq!(head.metadata().and_then(|m| m.get("k")).map(String::len), Some(2047));

    let big = "v".repeat(350 * 1024);
    expect_err(
        s3.put_object()
            .bucket("meta")
            .key("big")
            .metadata("big", &big)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "MetadataTooLarge",
        400,
    );
    expect_err(
        s3.put_object()
            .bucket("meta")
            .key("big")
            .metadata("k", format!("{fits}v"))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "MetadataTooLarge",
        400,
    );
    expect_err(
        s3.create_multipart_upload()
            .bucket("meta")
            .key("big")
            .metadata("a", "v".repeat(1500))
            .metadata("b", "v".repeat(1500))
            .send()
            .await,
        "MetadataTooLarge",
        400,
    );
    expect_err(
        s3.copy_object()
            .bucket("meta")
            .key("copy")
            .copy_source("meta/fits")
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .metadata("k", "v".repeat(3000))
            .send()
            .await,
        "MetadataTooLarge",
        400,
    );
    assert_eq!(err_status(s3.head_object().bucket("meta").key("big").send().await), 404);
    assert_eq!(
        err_status(s3.head_object().bucket("meta").key("copy").send().await),
        404
    );
}

#[tokio::test]
async fn presigned_urls_over_a_week_are_refused() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "week").await;
    put(&s3, "week", "k", b"weekly").await;
    let http = http();
    let signer = srv.signer();
    let host = srv.addr.to_string();

    let url = signer.presign("GET", srv.addr, &host, "/week/k", 604_800, SystemTime::now());
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"weekly");

    for expires in [604_801u64, 1_000_000_000] {
        let url = signer.presign("GET", srv.addr, &host, "/week/k", expires, SystemTime::now());
        let resp = http.get(&url).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 400, "X-Amz-Expires={expires}: {text}");
        assert_eq!(code_of(&text), "AuthorizationQueryParametersError", "{text}");
    }

    // The SDK refuses to presign past a week itself; what it signs for a week works.
    let req = s3
        .get_object()
        .bucket("week")
        .key("k")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(604_800)).unwrap())
        .await
        .unwrap();
    assert_eq!(http.get(req.uri()).send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn oversized_xml_bodies_are_refused_early() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "xml").await;
    let fifty_mb = (50u64 << 20).to_string();
    // DeleteObjects, CreateBucket and CompleteMultipartUpload declaring 50 MB; only 1 KiB is sent, so an
    // answer proves the server did not wait for the rest.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
    let cases: [Case; 3] = [
        ("POST", "/xml", &[("delete", "")]),
        ("PUT", "/xml-new-bucket", &[]),
        ("POST", "/xml/obj", &[("uploadId", "nosuch")]),
    ];
    for (method, path, query) in cases {
        let (head, _) = srv.signed_head(
            method,
            path,
            query,
            &[("content-length", fifty_mb.as_str())],
            &[],
            "UNSIGNED-PAYLOAD",
        );
        let (text, took) = raw_exchange(srv.addr, &head, &[b'<'; 1024], Duration::from_secs(20)).await;
        assert_eq!(status_of(&text), 400, "{method} {path}: {text}");
        assert_eq!(code_of(&text), "MaxMessageLengthExceeded", "{method} {path}: {text}");
        assert!(took < Duration::from_secs(5), "{method} {path} answered after {took:?}");
    }

    // Without Content-Length (chunked transfer), reading stops at the limit.
    let (head, _) = srv.signed_head(
        "POST",
        "/xml",
        &[("delete", "")],
        &[("transfer-encoding", "chunked")],
        &[],
        "UNSIGNED-PAYLOAD",
    );
    let (mut rd, mut wr) = TcpStream::connect(srv.addr).await.unwrap().into_split();
    let writer = tokio::spawn(async move {
        let mut sent = 0usize;
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..60 {
            wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
            wr.write_all(&chunk).await?;
            wr.write_all(b"\r\n").await?;
            sent += chunk.len();
        }
        wr.write_all(b"0\r\n\r\n").await?;
        Ok::<usize, std::io::Error>(sent)
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(20), rd.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if complete_response(&answer).is_some() {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    assert_eq!(status_of(&text), 400, "{text}");
    assert_eq!(code_of(&text), "MaxMessageLengthExceeded", "{text}");
    drop(rd);
    writer.abort();
    // The server is fine and nothing was created.
    put(&s3, "xml", "after", b"ok").await;
    assert_eq!(err_status(s3.head_bucket().bucket("xml-new-bucket").send().await), 404);
}

#[tokio::test]
async fn aws_chunked_body_without_its_final_chunk_is_refused() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "chunks").await;
    let data = pattern(150 * 1024 + 3, 9);
    let chunk = 64 * 1024;
    let send = |key: &str, truncate: bool| {
        let decoded = data.len().to_string();
        let signed = srv.sign(
            "PUT",
            &format!("/chunks/{key}"),
            &[],
            &[
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", &decoded),
            ],
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        );
        let mut body = signed.chunked_body(&data, chunk);
        if truncate {
            // Drop the final `0;chunk-signature=...\r\n\r\n`.
            let marker = b"\r\n0;chunk-signature=";
            let start = body.windows(marker.len()).rposition(|w| w == marker).unwrap() + 2;
            assert!(body[start..].starts_with(b"0;chunk-signature="));
            body.truncate(start);
        }
        signed.request(&http(), reqwest::Method::PUT).body(body).send()
    };
    let resp = send("whole", false).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await.unwrap());
    assert!(get_bytes(&s3, "chunks", "whole").await == data);

    let resp = send("truncated", true).await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 400, "{text}");
    assert_eq!(code_of(&text), "IncompleteBody", "{text}");
    expect_err(
        s3.get_object().bucket("chunks").key("truncated").send().await,
        "NoSuchKey",
        404,
    );
}

#[tokio::test]
async fn bucket_names_follow_the_aws_rules() {
    let srv = Server::start();
    let s3 = srv.client();
    // s3s refuses these while parsing the path (no message).
    for name in ["192.168.5.4", "xn--bcher-kva"] {
        expect_err(s3.create_bucket().bucket(name).send().await, "InvalidBucketName", 400);
    }
    for name in [
        "10.0.0.300",
        "photos-s3alias",
        "photos--ol-s3",
        "sthree-photos",
        "amzn-s3-demo-bucket",
        "photos.mrap",
        "admin",
        "metrics",
    ] {
        let err = expect_err(s3.create_bucket().bucket(name).send().await, "InvalidBucketName", 400);
        let msg = aws_sdk_s3::error::ProvideErrorMetadata::message(&err)
            .unwrap_or_default()
            .to_string();
        assert!(msg.contains("reserved") || msg.contains("IP address"), "{name}: {msg}");
    }
    // Near misses are fine.
    for name in ["10.0.0.300a", "admins", "my-metrics", "s3alias-photos", "1.2.3"] {
        create_bucket(&s3, name).await;
    }
    let listed = list_bucket_names(&s3).await;
    assert_eq!(listed.len(), 5, "{listed:?}");
}

#[tokio::test]
async fn empty_content_md5_is_an_invalid_digest() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "md5").await;
    let (head, _) = srv.signed_head(
        "PUT",
        "/md5/k",
        &[],
        &[("content-length", "5")],
        &[("content-md5", "")],
        "UNSIGNED-PAYLOAD",
    );
    let (text, _) = raw_exchange(srv.addr, &head, b"hello", Duration::from_secs(10)).await;
    assert_eq!(status_of(&text), 400, "{text}");
    assert_eq!(code_of(&text), "InvalidDigest", "{text}");
    expect_err(s3.get_object().bucket("md5").key("k").send().await, "NoSuchKey", 404);
    // A right one is accepted.
    s3.put_object()
        .bucket("md5")
        .key("k")
        .content_md5(md5_b64(b"hello"))
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .expect("PUT with a valid Content-MD5");
}

#[tokio::test]
async fn location_constraint_matches_the_api_name_in_any_case() {
    let srv = Server::start();
    let s3 = srv.client();
    for (bucket, location) in [("upper", "DEFAULT"), ("mixed", "Default"), ("lower", "default")] {
        s3.create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(location))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("LocationConstraint {location}: {e:?}"));
    }
    expect_err(
        s3.create_bucket()
            .bucket("elsewhere")
            .create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from("eu"))
                    .build(),
            )
            .send()
            .await,
        "InvalidLocationConstraint",
        400,
    );
}

#[tokio::test]
async fn client_errors_are_not_logged_as_errors() {
    // The harness runs servers at `warn`, which shows ERROR lines too.
    let srv = Server::start();
    let s3 = srv.client();
    for _ in 0..5 {
        expect_err(
            s3.get_object().bucket("nosuch").key("k").send().await,
            "NoSuchBucket",
            404,
        );
        // Unsigned: a missing bucket is 404 for anonymous callers too (as on S3).
        let resp = http().get(format!("{}/nosuch/k", srv.endpoint)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404);
    }
    expect_err(
        s3.create_bucket().bucket("BAD_NAME").send().await,
        "InvalidBucketName",
        400,
    );
    // Let the log lines arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = srv.server_log();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors.is_empty(),
        "client mistakes logged at ERROR:\n{}",
        errors.join("\n")
    );
    assert!(log.contains("listening on"), "{log}");
}
