//! The edges of the S3 core, each probed with real requests against a running server (the SDK where it
//! can send the request, raw signed HTTP where it cannot): bucket re-creation, completing twice, a part
//! re-sent while its first upload is still streaming, bad copy ranges, listing edges, ListBuckets paging,
//! 304s, chunked uploads without Content-Length, non-ASCII metadata, the default Content-Type, canned ACL
//! values and empty Content-MD5; then conditional writes, `partNumber` reads, checksums and SSE refusals.

use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one whole HTTP/1.1 answer (Content-Length framed) from `s`.
async fn read_answer(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
            .await
            .expect("answer in time")
            .expect("read");
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if out.len() >= end + 4 + len {
                return text;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn recreating_your_own_bucket_answers_200() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "again").await;
    put(&s3, "again", "kept", b"still here").await;
    s3.create_bucket()
        .bucket("again")
        .send()
        .await
        .expect("re-create is 200");
    assert_eq!(
        get_bytes(&s3, "again", "kept").await,
        b"still here",
        "re-creating keeps the bucket"
    );
    // Another user's name stays taken.
    srv.create_user("other", "AKIAEDGESOTHER000001", "other-secret-0001");
    let other = srv.client_for("AKIAEDGESOTHER000001", "other-secret-0001");
    expect_err(
        other.create_bucket().bucket("again").send().await,
        "BucketAlreadyExists",
        409,
    );
}

#[tokio::test]
async fn completing_twice_and_a_resent_part_that_finishes_last() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "mpedge").await;

    // Completing an already completed upload with the same parts succeeds again, with the same ETag.
    let id = create_upload(&s3, "mpedge", "twice").await;
    let e1 = upload_part(&s3, "mpedge", "twice", &id, 1, b"only part").await;
    let first = complete_upload(&s3, "mpedge", "twice", &id, &[(1, &e1)]).await;
    let again = complete_upload(&s3, "mpedge", "twice", &id, &[(1, &e1)]).await;
    assert_eq!(first.e_tag, again.e_tag);
    assert_eq!(get_bytes(&s3, "mpedge", "twice").await, b"only part");
    // Other parts: the upload is gone.
    expect_err(
        s3.complete_multipart_upload()
            .bucket("mpedge")
            .key("twice")
            .upload_id(&id)
            .multipart_upload(completed(&[(1, "\"0123456789abcdef0123456789abcdef\"")]))
            .send()
            .await,
        "NoSuchUpload",
        404,
    );

    // Part 1 is sent (A) and, while its body still streams, sent again (B) and finished; A finishes
    // last, so A is the part. The client lists both answers for part 1, as s3-tests does.
    let id = create_upload(&s3, "mpedge", "resend").await;
    let a = vec![b'A'; 8];
    let query = [("partNumber", "1"), ("uploadId", id.as_str())];
    let (head, _) = srv.signed_head(
        "PUT",
        "/mpedge/resend",
        &query,
        &[],
        &[("content-length", "8")],
        "UNSIGNED-PAYLOAD",
    );
    let mut conn = TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&a[..4]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let eb = upload_part(&s3, "mpedge", "resend", &id, 1, &[b'B'; 8]).await;
    conn.write_all(&a[4..]).await.unwrap();
    let answer = read_answer(&mut conn).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    let ea = answer
        .lines()
        .find_map(|l| l.strip_prefix("etag: ").or_else(|| l.strip_prefix("ETag: ")))
        .expect("etag")
        .trim()
        .to_string();
    assert_ne!(ea, eb);
    complete_upload(&s3, "mpedge", "resend", &id, &[(1, &eb), (1, &ea)]).await;
    assert_eq!(get_bytes(&s3, "mpedge", "resend").await, a);
}

#[tokio::test]
async fn upload_part_copy_with_a_range_past_the_source_is_invalid_range() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "cprange").await;
    put(&s3, "cprange", "src", &[7u8; 10]).await;
    let id = create_upload(&s3, "cprange", "dst").await;
    let copy = |range: &str| {
        s3.upload_part_copy()
            .bucket("cprange")
            .key("dst")
            .upload_id(&id)
            .part_number(1)
            .copy_source("cprange/src")
            .copy_source_range(range)
            .send()
    };
    expect_err(copy("bytes=0-21").await, "InvalidRange", 416);
    expect_err(copy("bytes=10-12").await, "InvalidRange", 416);
    // A malformed range is InvalidArgument.
    expect_err(copy("bytes=5-2").await, "InvalidArgument", 400);
    copy("bytes=0-9").await.expect("whole source");
}

#[tokio::test]
async fn listing_edges() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "lists").await;
    for k in ["bar", "baz", "cab", "foo/x"] {
        put(&s3, "lists", k, b"x").await;
    }
    // max-keys=0: nothing, and not truncated.
    let v2 = s3.list_objects_v2().bucket("lists").max_keys(0).send().await.unwrap();
    assert_eq!(v2.is_truncated, Some(false));
    assert_eq!(v2.key_count, Some(0));
    assert!(v2.contents.unwrap_or_default().is_empty());
    let v1 = s3.list_objects().bucket("lists").max_keys(0).send().await.unwrap();
    assert_eq!(v1.is_truncated, Some(false));
    // An empty delimiter lists everything and is not echoed.
    for q in [vec![("delimiter", "")], vec![("list-type", "2"), ("delimiter", "")]] {
        let a = srv.send_signed("GET", "/lists", &q, &[], b"").await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(!a.body.contains("<Delimiter"), "{}", a.body);
        assert_eq!(a.body.matches("<Key>").count(), 4, "{}", a.body);
    }
    // A prefix with a newline comes back exactly.
    let out = s3.list_objects_v2().bucket("lists").prefix("\n").send().await.unwrap();
    assert_eq!(out.prefix.as_deref(), Some("\n"));
    let out = s3.list_objects().bucket("lists").prefix("a\nb").send().await.unwrap();
    assert_eq!(out.prefix.as_deref(), Some("a\nb"));
}

#[tokio::test]
async fn list_buckets_pages_with_max_buckets() {
    let srv = Server::start();
    let s3 = srv.client();
    for b in ["pa-one", "pa-three", "pa-two", "pb-four"] {
        create_bucket(&s3, b).await;
    }
    let first = s3.list_buckets().max_buckets(2).send().await.unwrap();
    let names: Vec<_> = first.buckets().iter().filter_map(|b| b.name.clone()).collect();
    assert_eq!(names, ["pa-one", "pa-three"]);
    let token = first.continuation_token.clone().expect("a continuation token");
    let rest = s3
        .list_buckets()
        .max_buckets(2)
        .continuation_token(token)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = rest.buckets().iter().filter_map(|b| b.name.clone()).collect();
    assert_eq!(names, ["pa-two", "pb-four"]);
    assert_eq!(rest.continuation_token, None);
    let pa = s3.list_buckets().prefix("pa-").send().await.unwrap();
    assert_eq!(pa.buckets().len(), 3);
    assert_eq!(pa.prefix.as_deref(), Some("pa-"));
    // All of them when no limit is given.
    assert_eq!(s3.list_buckets().send().await.unwrap().buckets().len(), 4);
    expect_err(s3.list_buckets().max_buckets(0).send().await, "InvalidArgument", 400);
    expect_err(
        s3.list_buckets().max_buckets(10_001).send().await,
        "InvalidArgument",
        400,
    );
}

#[tokio::test]
async fn not_modified_carries_the_etag() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "notmod").await;
    let etag = put(&s3, "notmod", "k", b"cached").await;
    for method in ["GET", "HEAD"] {
        let a = srv
            .send_signed(method, "/notmod/k", &[], &[("if-none-match", &etag)], b"")
            .await;
        assert_eq!(a.status, 304, "{method}");
        assert_eq!(a.header("etag").as_deref(), Some(etag.as_str()), "{method}");
        assert!(a.header("last-modified").is_some(), "{method}");
    }
}

#[tokio::test]
async fn chunked_upload_without_content_length() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "chunky").await;
    let data = pattern(100_000, 3);
    let decoded = data.len().to_string();
    let (head, signed) = srv.signed_head(
        "PUT",
        "/chunky/k",
        &[],
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", &decoded),
        ],
        &[("transfer-encoding", "chunked")],
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    );
    let body = signed.chunked_body(&data, 64 * 1024);
    let mut conn = TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    // HTTP chunks of their own, unrelated to the aws-chunked frames inside.
    for piece in body.chunks(10_000) {
        conn.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
            .await
            .unwrap();
        conn.write_all(piece).await.unwrap();
        conn.write_all(b"\r\n").await.unwrap();
    }
    conn.write_all(b"0\r\n\r\n").await.unwrap();
    let answer = read_answer(&mut conn).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert_eq!(get_bytes(&s3, "chunky", "k").await, data);
}

#[tokio::test]
async fn metadata_content_type_acl_and_md5_edges() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "meta").await;

    // Non-ASCII metadata: stored as text, answered RFC 2047-encoded (as AWS does).
    let value = "héllo wörld ✓";
    s3.put_object()
        .bucket("meta")
        .key("utf8")
        .metadata("name", value)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let a = srv.send_signed("HEAD", "/meta/utf8", &[], &[], b"").await;
    let got = a.header("x-amz-meta-name").expect("metadata header");
    assert!(got.starts_with("=?UTF-8?B?") && got.ends_with("?="), "{got}");
    assert_eq!(decode_rfc2047(&got), value);
    // An encoded word sent by the client is decoded when stored.
    let a = srv
        .send_signed(
            "PUT",
            "/meta/encoded",
            &[],
            &[("x-amz-meta-name", "=?UTF-8?B?aMOpbGxv?=")],
            b"x",
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = srv.send_signed("HEAD", "/meta/encoded", &[], &[], b"").await;
    assert_eq!(decode_rfc2047(&a.header("x-amz-meta-name").unwrap()), "héllo");
    // A Latin-1 byte (HTTP's obs-text, as Python's http.client sends it) is that character.
    let (head, _) = srv.signed_head(
        "PUT",
        "/meta/latin1",
        &[],
        &[],
        &[("content-length", "0")],
        &sha256_hex(b""),
    );
    let head = head.replacen("\r\n\r\n", "\r\nx-amz-meta-name: caf\u{e9}\r\n\r\n", 1);
    let head_bytes: Vec<u8> = head.chars().map(|c| c as u32 as u8).collect();
    let mut conn = TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(&head_bytes).await.unwrap();
    let answer = read_answer(&mut conn).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    let a = srv.send_signed("HEAD", "/meta/latin1", &[], &[], b"").await;
    assert_eq!(decode_rfc2047(&a.header("x-amz-meta-name").unwrap()), "café");

    // No Content-Type stored: GET and HEAD answer binary/octet-stream.
    let a = srv.send_signed("PUT", "/meta/untyped", &[], &[], b"bytes").await;
    assert_eq!(a.status, 200, "{}", a.body);
    for method in ["GET", "HEAD"] {
        let a = srv.send_signed(method, "/meta/untyped", &[], &[], b"").await;
        assert_eq!(
            a.header("content-type").as_deref(),
            Some("binary/octet-stream"),
            "{method}"
        );
    }
    let typed = s3
        .put_object()
        .bucket("meta")
        .key("typed")
        .content_type("text/plain")
        .body(ByteStream::from_static(b"t"))
        .send()
        .await;
    typed.unwrap();
    let h = s3.head_object().bucket("meta").key("typed").send().await.unwrap();
    assert_eq!(h.content_type.as_deref(), Some("text/plain"));

    // Canned ACLs: valid ones are accepted (and not enforced yet), bogus ones are 400 InvalidArgument.
    for acl in ["private", "public-read", "bucket-owner-full-control"] {
        let a = srv
            .send_signed("PUT", "/meta/acl", &[], &[("x-amz-acl", acl)], b"a")
            .await;
        assert_eq!(a.status, 200, "{acl}: {}", a.body);
    }
    let a = srv
        .send_signed("PUT", "/meta/acl", &[], &[("x-amz-acl", "bogus")], b"a")
        .await;
    assert_eq!((a.status, a.code()), (400, "InvalidArgument"), "{}", a.body);
    let a = srv
        .send_signed("PUT", "/aclbucket", &[], &[("x-amz-acl", "bogus")], b"")
        .await;
    assert_eq!((a.status, a.code()), (400, "InvalidArgument"), "{}", a.body);
    expect_err(s3.head_bucket().bucket("aclbucket").send().await, "NotFound", 404);
    let a = srv
        .send_signed("PUT", "/aclbucket", &[], &[("x-amz-acl", "public-read")], b"")
        .await;
    assert_eq!(a.status, 200, "{}", a.body);

    // An empty Content-MD5 is InvalidDigest; nothing is stored.
    let a = srv
        .send_signed("PUT", "/meta/md5", &[], &[("content-md5", "")], b"data")
        .await;
    assert_eq!((a.status, a.code()), (400, "InvalidDigest"), "{}", a.body);
    expect_err(s3.get_object().bucket("meta").key("md5").send().await, "NoSuchKey", 404);
}

/// Decodes `=?UTF-8?B?...?=` words (separated by spaces); anything else is returned as it is.
fn decode_rfc2047(v: &str) -> String {
    use base64::Engine;
    if !v.starts_with("=?") {
        return v.to_string();
    }
    let mut bytes = Vec::new();
    for word in v.split(' ') {
        let inner = word
            .strip_prefix("=?UTF-8?B?")
            .and_then(|w| w.strip_suffix("?="))
            .expect("encoded word");
        bytes.extend(base64::engine::general_purpose::STANDARD.decode(inner).unwrap());
    }
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn conditional_writes() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "condw").await;
    let put_if =
        |key: &'static str, none_match: Option<&'static str>, matching: Option<String>, body: &'static [u8]| {
            s3.put_object()
                .bucket("condw")
                .key(key)
                .set_if_none_match(none_match.map(str::to_string))
                .set_if_match(matching)
                .body(ByteStream::from_static(body))
                .send()
        };
    // If-None-Match: * creates only.
    let first = put_if("k", Some("*"), None, b"one")
        .await
        .expect("create-only on a new key");
    expect_err(put_if("k", Some("*"), None, b"two").await, "PreconditionFailed", 412);
    assert_eq!(get_bytes(&s3, "condw", "k").await, b"one");
    // If-Match: replaces only that ETag; a key with no object is 404.
    let etag = first.e_tag.unwrap();
    expect_err(
        put_if("k", None, Some("\"0123456789abcdef0123456789abcdef\"".into()), b"x").await,
        "PreconditionFailed",
        412,
    );
    put_if("k", None, Some(etag.clone()), b"three")
        .await
        .expect("matching ETag");
    expect_err(put_if("k", None, Some(etag), b"four").await, "PreconditionFailed", 412);
    expect_err(
        put_if("absent", None, Some("\"abc\"".into()), b"x").await,
        "NoSuchKey",
        404,
    );
    assert_eq!(get_bytes(&s3, "condw", "k").await, b"three");

    // Many create-only writes of one key at once: exactly one wins (the check is in the commit).
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let s3 = s3.clone();
        tasks.push(tokio::spawn(async move {
            s3.put_object()
                .bucket("condw")
                .key("race")
                .if_none_match("*")
                .body(ByteStream::from(vec![i; 100_000]))
                .send()
                .await
                .map_err(|e| e.raw_response().map(|r| r.status().as_u16()))
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(status) => assert_eq!(status, Some(412)),
        }
    }
    assert_eq!(won, 1, "exactly one create-only write wins");

    // CompleteMultipartUpload with If-None-Match / If-Match.
    let id = create_upload(&s3, "condw", "k").await;
    let e1 = upload_part(&s3, "condw", "k", &id, 1, b"multipart").await;
    let complete = |none_match: Option<&'static str>, matching: Option<String>| {
        s3.complete_multipart_upload()
            .bucket("condw")
            .key("k")
            .upload_id(&id)
            .multipart_upload(completed(&[(1, &e1)]))
            .set_if_none_match(none_match.map(str::to_string))
            .set_if_match(matching)
            .send()
    };
    expect_err(complete(Some("*"), None).await, "PreconditionFailed", 412);
    expect_err(
        complete(None, Some("\"0123456789abcdef0123456789abcdef\"".into())).await,
        "PreconditionFailed",
        412,
    );
    assert_eq!(
        get_bytes(&s3, "condw", "k").await,
        b"three",
        "a refused completion changes nothing"
    );
    let current = s3
        .head_object()
        .bucket("condw")
        .key("k")
        .send()
        .await
        .unwrap()
        .e_tag
        .unwrap();
    complete(None, Some(current))
        .await
        .expect("the upload is still there and completes");
    assert_eq!(get_bytes(&s3, "condw", "k").await, b"multipart");
    let id = create_upload(&s3, "condw", "fresh").await;
    let e = upload_part(&s3, "condw", "fresh", &id, 1, b"new").await;
    s3.complete_multipart_upload()
        .bucket("condw")
        .key("fresh")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, &e)]))
        .if_none_match("*")
        .send()
        .await
        .expect("create-only completion of a new key");
}

#[tokio::test]
async fn get_and_head_by_part_number() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "parts").await;
    let p1 = pattern(5 << 20, 1);
    let p2 = pattern(1000, 2);
    let id = create_upload(&s3, "parts", "mp").await;
    let e1 = upload_part(&s3, "parts", "mp", &id, 1, &p1).await;
    let e2 = upload_part(&s3, "parts", "mp", &id, 2, &p2).await;
    complete_upload(&s3, "parts", "mp", &id, &[(1, &e1), (2, &e2)]).await;
    let total = p1.len() + p2.len();

    let part2 = s3
        .get_object()
        .bucket("parts")
        .key("mp")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(part2.parts_count, Some(2));
    assert_eq!(part2.content_length, Some(1000));
    assert_eq!(
        part2.content_range.as_deref(),
        Some(format!("bytes {}-{}/{total}", p1.len(), total - 1).as_str())
    );
    assert_eq!(part2.body.collect().await.unwrap().into_bytes().as_ref(), p2.as_slice());
    let part1 = s3
        .get_object()
        .bucket("parts")
        .key("mp")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(part1.content_length, Some(p1.len() as i64));
    assert_eq!(part1.body.collect().await.unwrap().into_bytes().as_ref(), p1.as_slice());
    let head = s3
        .head_object()
        .bucket("parts")
        .key("mp")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!((head.content_length, head.parts_count), (Some(1000), Some(2)));
    let a = srv
        .send_signed("GET", "/parts/mp", &[("partNumber", "2")], &[], b"")
        .await;
    assert_eq!(a.status, 206);
    assert_eq!(a.header("x-amz-mp-parts-count").as_deref(), Some("2"));
    let a = srv
        .send_signed("HEAD", "/parts/mp", &[("partNumber", "1")], &[], b"")
        .await;
    assert_eq!(a.status, 206);
    assert_eq!(a.header("content-length"), Some(p1.len().to_string()));
    expect_err(
        s3.get_object().bucket("parts").key("mp").part_number(3).send().await,
        "InvalidPartNumber",
        416,
    );
    assert_eq!(
        err_status(s3.head_object().bucket("parts").key("mp").part_number(3).send().await),
        416
    );
    let a = srv
        .send_signed(
            "GET",
            "/parts/mp",
            &[("partNumber", "1")],
            &[("range", "bytes=0-1")],
            b"",
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "InvalidRequest"), "{}", a.body);

    // A simple object is one part, all of it.
    put(&s3, "parts", "simple", b"simple object").await;
    let one = s3
        .get_object()
        .bucket("parts")
        .key("simple")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(one.content_length, Some(13));
    assert_eq!(one.parts_count, None);
    assert_eq!(
        one.body.collect().await.unwrap().into_bytes().as_ref(),
        b"simple object"
    );
    expect_err(
        s3.get_object()
            .bucket("parts")
            .key("simple")
            .part_number(2)
            .send()
            .await,
        "InvalidPartNumber",
        416,
    );
    let a = srv
        .send_signed("GET", "/parts/simple", &[("partNumber", "0")], &[], b"")
        .await;
    assert_eq!(a.status / 100, 4, "{}", a.body);
}

#[tokio::test]
async fn server_side_encryption_is_refused() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "sse").await;
    use base64::Engine;
    let key = [7u8; 32];
    let b64 = base64::engine::general_purpose::STANDARD;
    let key_b64 = b64.encode(key);
    let key_md5 = md5_b64(&key);
    expect_err(
        s3.put_object()
            .bucket("sse")
            .key("c")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key_b64)
            .sse_customer_key_md5(&key_md5)
            .body(ByteStream::from_static(b"secret"))
            .send()
            .await,
        "NotImplemented",
        501,
    );
    expect_err(s3.get_object().bucket("sse").key("c").send().await, "NoSuchKey", 404);
    for sse in [
        aws_sdk_s3::types::ServerSideEncryption::AwsKms,
        aws_sdk_s3::types::ServerSideEncryption::Aes256,
    ] {
        expect_err(
            s3.put_object()
                .bucket("sse")
                .key("k")
                .server_side_encryption(sse)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
            "NotImplemented",
            501,
        );
    }
    expect_err(
        s3.create_multipart_upload()
            .bucket("sse")
            .key("m")
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .send()
            .await,
        "NotImplemented",
        501,
    );
    put(&s3, "sse", "plain", b"plain").await;
    expect_err(
        s3.get_object()
            .bucket("sse")
            .key("plain")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&key_b64)
            .sse_customer_key_md5(&key_md5)
            .send()
            .await,
        "InvalidRequest",
        400,
    );
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// CRC-32 (ISO-HDLC), as S3's `x-amz-checksum-crc32`.
fn crc32(data: &[u8]) -> [u8; 4] {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    (!crc).to_be_bytes()
}

#[tokio::test]
async fn checksums_are_verified_stored_and_returned() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType};
    use sha2::Digest;
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "sums").await;
    let data = pattern(200_000, 9);

    // The SDK computes each algorithm; the server verifies, keeps and returns it.
    for alg in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32C,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ] {
        let key = format!("k-{}", alg.as_str());
        let put = s3
            .put_object()
            .bucket("sums")
            .key(&key)
            .checksum_algorithm(alg.clone())
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
        let head = s3
            .head_object()
            .bucket("sums")
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        let (sent, got) = match alg {
            ChecksumAlgorithm::Crc32 => (put.checksum_crc32, head.checksum_crc32),
            ChecksumAlgorithm::Crc32C => (put.checksum_crc32_c, head.checksum_crc32_c),
            ChecksumAlgorithm::Crc64Nvme => (put.checksum_crc64_nvme, head.checksum_crc64_nvme),
            ChecksumAlgorithm::Sha1 => (put.checksum_sha1, head.checksum_sha1),
            _ => (put.checksum_sha256, head.checksum_sha256),
        };
        assert!(got.is_some(), "{alg:?} returned on HEAD");
        assert_eq!(sent, got, "{alg:?}");
        assert_eq!(head.checksum_type, Some(ChecksumType::FullObject));
        // The SDK validates a GET's checksum itself when it is returned.
        let get = s3
            .get_object()
            .bucket("sums")
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(get.body.collect().await.unwrap().into_bytes().as_ref(), data.as_slice());
    }
    let sha = b64(&sha2::Sha256::digest(&data));
    let head = s3
        .head_object()
        .bucket("sums")
        .key("k-SHA256")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_sha256.as_deref(), Some(sha.as_str()));
    // Not asked: not returned.
    let head = s3.head_object().bucket("sums").key("k-SHA256").send().await.unwrap();
    assert_eq!(head.checksum_sha256, None);
    // The SDK sends a CRC32 on every PUT by default: it is verified and kept too.
    put(&s3, "sums", "default", b"payload").await;
    let head = s3
        .head_object()
        .bucket("sums")
        .key("default")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_crc32, Some(b64(&crc32(b"payload"))));

    // Raw headers: a wrong value is BadDigest and nothing is stored; a malformed one is InvalidRequest.
    let good = b64(&crc32(b"payload"));
    let a = srv
        .send_signed("PUT", "/sums/raw", &[], &[("x-amz-checksum-crc32", &good)], b"payload")
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("x-amz-checksum-crc32"), Some(good.clone()));
    let wrong = b64(&crc32(b"other"));
    let a = srv
        .send_signed("PUT", "/sums/bad", &[], &[("x-amz-checksum-crc32", &wrong)], b"payload")
        .await;
    assert_eq!((a.status, a.code()), (400, "BadDigest"), "{}", a.body);
    expect_err(s3.get_object().bucket("sums").key("bad").send().await, "NoSuchKey", 404);
    let a = srv
        .send_signed(
            "PUT",
            "/sums/bad",
            &[],
            &[("x-amz-checksum-sha256", "bm9wZQ==")],
            b"payload",
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "InvalidRequest"), "{}", a.body);
    let a = srv
        .send_signed(
            "PUT",
            "/sums/bad",
            &[],
            &[
                ("x-amz-checksum-crc32", &good),
                ("x-amz-checksum-sha1", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ],
            b"payload",
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "InvalidRequest"), "{}", a.body);
    let a = srv
        .send_signed(
            "PUT",
            "/sums/bad",
            &[],
            &[("x-amz-sdk-checksum-algorithm", "MD5")],
            b"payload",
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "InvalidRequest"), "{}", a.body);

    // A trailing checksum in an unsigned aws-chunked body (what current SDKs send over HTTPS).
    for (name, trailer_value, expected_status) in
        [("trailer-ok", good.clone(), 200), ("trailer-bad", wrong.clone(), 400)]
    {
        let mut body = format!("{:x}\r\n", 7).into_bytes();
        body.extend_from_slice(b"payload\r\n0\r\n");
        body.extend_from_slice(format!("x-amz-checksum-crc32:{trailer_value}\r\n\r\n").as_bytes());
        let path = format!("/sums/{name}");
        let a = srv
            .send_signed_hashed(
                "PUT",
                &path,
                &[],
                &[
                    ("content-encoding", "aws-chunked"),
                    ("x-amz-decoded-content-length", "7"),
                    ("x-amz-trailer", "x-amz-checksum-crc32"),
                ],
                "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                &body,
            )
            .await;
        assert_eq!(a.status, expected_status, "{name}: {}", a.body);
        if expected_status == 400 {
            assert_eq!(a.code(), "BadDigest");
            expect_err(s3.get_object().bucket("sums").key(name).send().await, "NoSuchKey", 404);
        } else {
            assert_eq!(get_bytes(&s3, "sums", name).await, b"payload");
            let h = s3
                .head_object()
                .bucket("sums")
                .key(name)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .unwrap();
            assert_eq!(h.checksum_crc32, Some(good.clone()));
        }
    }

    // Multipart: parts verified; the object gets the composite checksum (digest of the part digests, -N).
    let p1 = pattern(5 << 20, 4);
    let p2 = pattern(3000, 5);
    let id = s3
        .create_multipart_upload()
        .bucket("sums")
        .key("mp")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let mut parts = Vec::new();
    for (n, p) in [(1, &p1), (2, &p2)] {
        let out = s3
            .upload_part()
            .bucket("sums")
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(out.checksum_crc32, Some(b64(&crc32(p))));
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag.unwrap())
                .checksum_crc32(out.checksum_crc32.unwrap())
                .build(),
        );
    }
    // A part whose checksum does not match is refused and not kept.
    let a = srv
        .send_signed(
            "PUT",
            "/sums/mp",
            &[("partNumber", "3"), ("uploadId", id.as_str())],
            &[("x-amz-checksum-crc32", &wrong)],
            b"payload",
        )
        .await;
    assert_eq!((a.status, a.code()), (400, "BadDigest"), "{}", a.body);
    let listed = s3
        .list_parts()
        .bucket("sums")
        .key("mp")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts().len(), 2);
    assert_eq!(listed.parts()[1].checksum_crc32, Some(b64(&crc32(&p2))));
    let done = s3
        .complete_multipart_upload()
        .bucket("sums")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    let mut cat = crc32(&p1).to_vec();
    cat.extend(crc32(&p2));
    let composite = format!("{}-2", b64(&crc32(&cat)));
    assert_eq!(done.checksum_crc32.as_deref(), Some(composite.as_str()));
    let head = s3
        .head_object()
        .bucket("sums")
        .key("mp")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_crc32.as_deref(), Some(composite.as_str()));
    assert_eq!(head.checksum_type, Some(ChecksumType::Composite));

    // CRC64NVME uploads get the full-object checksum: the same as a single PUT of the same bytes.
    let id = s3
        .create_multipart_upload()
        .bucket("sums")
        .key("mp64")
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let mut parts = Vec::new();
    for (n, p) in [(1, &p1), (2, &p2)] {
        let out = s3
            .upload_part()
            .bucket("sums")
            .key("mp64")
            .upload_id(&id)
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag.unwrap())
                .build(),
        );
    }
    let done = s3
        .complete_multipart_upload()
        .bucket("sums")
        .key("mp64")
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    let mut whole = p1.clone();
    whole.extend_from_slice(&p2);
    let single = s3
        .put_object()
        .bucket("sums")
        .key("single64")
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .body(ByteStream::from(whole))
        .send()
        .await
        .unwrap();
    assert!(done.checksum_crc64_nvme.is_some());
    assert_eq!(done.checksum_crc64_nvme, single.checksum_crc64_nvme);
    assert_eq!(done.checksum_type, Some(ChecksumType::FullObject));
    expect_err(
        s3.create_multipart_upload()
            .bucket("sums")
            .key("bad")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_type(ChecksumType::FullObject)
            .send()
            .await,
        "InvalidRequest",
        400,
    );
}
