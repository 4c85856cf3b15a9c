//! Multipart uploads through the real aws-sdk-s3 client.

use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::CompletedMultipartUpload;
use md5::{Digest, Md5};

const MIB: usize = 1 << 20;

/// The S3 multipart ETag: md5 of the concatenated binary part md5s, then `-N`.
fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut all = Vec::new();
    for p in parts {
        all.extend_from_slice(&Md5::digest(p));
    }
    format!("\"{}-{}\"", md5_hex(&all), parts.len())
}

#[tokio::test]
async fn upload_list_and_complete() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "mp-bucket").await;
    let created = s3
        .create_multipart_upload()
        .bucket("mp-bucket")
        .key("big/object.bin")
        .content_type("application/x-big")
        .metadata("kind", "multipart")
        .send()
        .await
        .expect("create upload");
    assert_eq!(created.bucket(), Some("mp-bucket"));
    assert_eq!(created.key(), Some("big/object.bin"));
    let upload_id = created.upload_id().expect("upload id").to_string();

    let p1 = pattern(5 * MIB, 11);
    let p2 = pattern(5 * MIB, 12);
    let p3 = pattern(MIB + 123, 13);
    let e1 = upload_part(&s3, "mp-bucket", "big/object.bin", &upload_id, 1, &p1).await;
    let e2 = upload_part(&s3, "mp-bucket", "big/object.bin", &upload_id, 2, &p2).await;
    let e3 = upload_part(&s3, "mp-bucket", "big/object.bin", &upload_id, 3, &p3).await;
    assert_eq!(e1, format!("\"{}\"", md5_hex(&p1)));
    assert_eq!(e3, format!("\"{}\"", md5_hex(&p3)));

    let parts = s3
        .list_parts()
        .bucket("mp-bucket")
        .key("big/object.bin")
        .upload_id(&upload_id)
        .send()
        .await
        .expect("list parts");
    assert_eq!(parts.upload_id(), Some(upload_id.as_str()));
    assert_eq!(parts.is_truncated(), Some(false));
    let listed: Vec<(i32, i64, &str)> = parts
        .parts()
        .iter()
        .map(|p| (p.part_number().unwrap(), p.size().unwrap(), p.e_tag().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            (1, p1.len() as i64, e1.as_str()),
            (2, p2.len() as i64, e2.as_str()),
            (3, p3.len() as i64, e3.as_str())
        ]
    );
    // Paged ListParts.
    let page = s3
        .list_parts()
        .bucket("mp-bucket")
        .key("big/object.bin")
        .upload_id(&upload_id)
        .max_parts(2)
        .send()
        .await
        .expect("list parts page");
    assert_eq!(page.parts().len(), 2);
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.next_part_number_marker(), Some("2"));
    let rest = s3
        .list_parts()
        .bucket("mp-bucket")
        .key("big/object.bin")
        .upload_id(&upload_id)
        .part_number_marker("2")
        .send()
        .await
        .expect("list parts rest");
    assert_eq!(
        rest.parts()
            .iter()
            .map(|p| p.part_number().unwrap())
            .collect::<Vec<_>>(),
        [3]
    );

    // A second upload of another key, to see both in ListMultipartUploads.
    let other_id = create_upload(&s3, "mp-bucket", "another").await;
    let uploads = s3
        .list_multipart_uploads()
        .bucket("mp-bucket")
        .send()
        .await
        .expect("list uploads");
    let mut listed: Vec<(&str, &str)> = uploads
        .uploads()
        .iter()
        .map(|u| (u.key().unwrap(), u.upload_id().unwrap()))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [("another", other_id.as_str()), ("big/object.bin", upload_id.as_str())]
    );
    assert!(uploads.uploads().iter().all(|u| u.initiated().is_some()));
    let filtered = s3
        .list_multipart_uploads()
        .bucket("mp-bucket")
        .prefix("big/")
        .send()
        .await
        .expect("list uploads prefix");
    assert_eq!(filtered.uploads().len(), 1);
    assert_eq!(filtered.uploads()[0].key(), Some("big/object.bin"));

    // Not visible as an object before completion.
    expect_err(
        s3.get_object().bucket("mp-bucket").key("big/object.bin").send().await,
        "NoSuchKey",
        404,
    );

    let done = complete_upload(
        &s3,
        "mp-bucket",
        "big/object.bin",
        &upload_id,
        &[(1, &e1), (2, &e2), (3, &e3)],
    )
    .await;
    let want_etag = multipart_etag(&[&p1, &p2, &p3]);
    assert_eq!(done.e_tag(), Some(want_etag.as_str()));
    assert!(want_etag.ends_with("-3\""));

    let head = s3
        .head_object()
        .bucket("mp-bucket")
        .key("big/object.bin")
        .send()
        .await
        .expect("head");
    assert_eq!(head.e_tag(), Some(want_etag.as_str()));
    assert_eq!(head.content_length(), Some((p1.len() + p2.len() + p3.len()) as i64));
    assert_eq!(head.content_type(), Some("application/x-big"));
    assert_eq!(
        head.metadata().and_then(|m| m.get("kind")).map(String::as_str),
        Some("multipart")
    );

    let body = get_bytes(&s3, "mp-bucket", "big/object.bin").await;
    assert_eq!(body.len(), p1.len() + p2.len() + p3.len());
    assert!(body[..5 * MIB] == p1[..] && body[5 * MIB..10 * MIB] == p2[..] && body[10 * MIB..] == p3[..]);

    // A range across the part boundary.
    let got = s3
        .get_object()
        .bucket("mp-bucket")
        .key("big/object.bin")
        .range(format!("bytes={}-{}", 5 * MIB - 10, 5 * MIB + 9))
        .send()
        .await
        .expect("range across parts");
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..10], &p1[5 * MIB - 10..]);
    assert_eq!(&bytes[10..], &p2[..10]);

    // The completed upload is gone; the other remains.
    let uploads = s3
        .list_multipart_uploads()
        .bucket("mp-bucket")
        .send()
        .await
        .expect("list uploads");
    let keys: Vec<&str> = uploads.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["another"]);
    expect_err(
        s3.list_parts()
            .bucket("mp-bucket")
            .key("big/object.bin")
            .upload_id(&upload_id)
            .send()
            .await,
        "NoSuchUpload",
        404,
    );
}

#[tokio::test]
async fn completion_errors_and_abort() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "mperr").await;

    let id = create_upload(&s3, "mperr", "a").await;
    let p1 = pattern(5 * MIB, 21);
    let p2 = pattern(1000, 22);
    let e1 = upload_part(&s3, "mperr", "a", &id, 1, &p1).await;
    let e2 = upload_part(&s3, "mperr", "a", &id, 2, &p2).await;
    let complete = |parts: CompletedMultipartUpload| {
        s3.complete_multipart_upload()
            .bucket("mperr")
            .key("a")
            .upload_id(&id)
            .multipart_upload(parts)
            .send()
    };
    let wrong = "\"0123456789abcdef0123456789abcdef\"";
    expect_err(complete(completed(&[(1, &e1), (2, wrong)])).await, "InvalidPart", 400);
    expect_err(complete(completed(&[(1, &e1), (3, &e2)])).await, "InvalidPart", 400);
    expect_err(
        complete(completed(&[(2, &e2), (1, &e1)])).await,
        "InvalidPartOrder",
        400,
    );
    expect_err(s3.get_object().bucket("mperr").key("a").send().await, "NoSuchKey", 404);
    // The failed attempts did not spoil the upload.
    let done = complete(completed(&[(1, &e1), (2, &e2)]))
        .await
        .expect("complete after errors");
    assert_eq!(done.e_tag(), Some(multipart_etag(&[&p1, &p2]).as_str()));
    let body = get_bytes(&s3, "mperr", "a").await;
    assert_eq!(body.len(), p1.len() + p2.len());
    assert!(body[..p1.len()] == p1[..] && body[p1.len()..] == p2[..]);

    // Every part but the last must be at least 5 MiB.
    let id = create_upload(&s3, "mperr", "small").await;
    let s1 = pattern(1024, 23);
    let s2 = pattern(1024, 24);
    let f1 = upload_part(&s3, "mperr", "small", &id, 1, &s1).await;
    let f2 = upload_part(&s3, "mperr", "small", &id, 2, &s2).await;
    expect_err(
        s3.complete_multipart_upload()
            .bucket("mperr")
            .key("small")
            .upload_id(&id)
            .multipart_upload(completed(&[(1, &f1), (2, &f2)]))
            .send()
            .await,
        "EntityTooSmall",
        400,
    );

    // Abort: the upload is gone for every operation.
    s3.abort_multipart_upload()
        .bucket("mperr")
        .key("small")
        .upload_id(&id)
        .send()
        .await
        .expect("abort");
    expect_err(
        s3.upload_part()
            .bucket("mperr")
            .key("small")
            .upload_id(&id)
            .part_number(3)
            .body(ByteStream::from_static(b"late"))
            .send()
            .await,
        "NoSuchUpload",
        404,
    );
    expect_err(
        s3.complete_multipart_upload()
            .bucket("mperr")
            .key("small")
            .upload_id(&id)
            .multipart_upload(completed(&[(1, &f1)]))
            .send()
            .await,
        "NoSuchUpload",
        404,
    );
    expect_err(
        s3.list_parts().bucket("mperr").key("small").upload_id(&id).send().await,
        "NoSuchUpload",
        404,
    );
    expect_err(
        s3.abort_multipart_upload()
            .bucket("mperr")
            .key("small")
            .upload_id(&id)
            .send()
            .await,
        "NoSuchUpload",
        404,
    );
    expect_err(
        s3.list_parts()
            .bucket("mperr")
            .key("a")
            .upload_id("does-not-exist")
            .send()
            .await,
        "NoSuchUpload",
        404,
    );
    assert!(s3
        .list_multipart_uploads()
        .bucket("mperr")
        .send()
        .await
        .unwrap()
        .uploads()
        .is_empty());
    expect_err(
        s3.get_object().bucket("mperr").key("small").send().await,
        "NoSuchKey",
        404,
    );

    // A single small part is a valid upload (the last part may be small).
    let id = create_upload(&s3, "mperr", "one").await;
    let e = upload_part(&s3, "mperr", "one", &id, 1, b"tiny").await;
    let done = complete_upload(&s3, "mperr", "one", &id, &[(1, &e)]).await;
    assert_eq!(done.e_tag(), Some(multipart_etag(&[b"tiny"]).as_str()));
    assert_eq!(get_bytes(&s3, "mperr", "one").await, b"tiny");
}

#[tokio::test]
async fn upload_part_copy_with_range() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "srcb").await;
    create_bucket(&s3, "dstb").await;
    let source = pattern(7 * MIB, 31);
    put(&s3, "srcb", "source", &source).await;

    let id = create_upload(&s3, "dstb", "assembled").await;
    let range1 = (MIB, 6 * MIB); // 5 MiB
    let out = s3
        .upload_part_copy()
        .bucket("dstb")
        .key("assembled")
        .upload_id(&id)
        .part_number(1)
        .copy_source("srcb/source")
        .copy_source_range(format!("bytes={}-{}", range1.0, range1.1 - 1))
        .send()
        .await
        .expect("upload part copy 1");
    let c1 = out
        .copy_part_result()
        .and_then(|r| r.e_tag())
        .expect("etag")
        .to_string();
    assert_eq!(c1, format!("\"{}\"", md5_hex(&source[range1.0..range1.1])));
    let out = s3
        .upload_part_copy()
        .bucket("dstb")
        .key("assembled")
        .upload_id(&id)
        .part_number(2)
        .copy_source("srcb/source")
        .copy_source_range("bytes=100-199")
        .send()
        .await
        .expect("upload part copy 2");
    let c2 = out
        .copy_part_result()
        .and_then(|r| r.e_tag())
        .expect("etag")
        .to_string();
    assert_eq!(c2, format!("\"{}\"", md5_hex(&source[100..200])));

    let parts = s3
        .list_parts()
        .bucket("dstb")
        .key("assembled")
        .upload_id(&id)
        .send()
        .await
        .expect("list parts");
    let sizes: Vec<i64> = parts.parts().iter().map(|p| p.size().unwrap()).collect();
    assert_eq!(sizes, [5 * MIB as i64, 100]);

    let done = complete_upload(&s3, "dstb", "assembled", &id, &[(1, &c1), (2, &c2)]).await;
    let want: Vec<u8> = [&source[range1.0..range1.1], &source[100..200]].concat();
    assert_eq!(
        done.e_tag(),
        Some(multipart_etag(&[&source[range1.0..range1.1], &source[100..200]]).as_str())
    );
    let body = get_bytes(&s3, "dstb", "assembled").await;
    assert!(
        body == want,
        "assembled bytes differ (len {} vs {})",
        body.len(),
        want.len()
    );

    // A copy range must lie inside the source: its last byte is fine, one past it is refused (not clamped).
    let id2 = create_upload(&s3, "dstb", "assembled2").await;
    let size = source.len();
    let tail = s3
        .upload_part_copy()
        .bucket("dstb")
        .key("assembled2")
        .upload_id(&id2)
        .part_number(1)
        .copy_source("srcb/source")
        .copy_source_range(format!("bytes={}-{}", size - 10, size - 1))
        .send()
        .await
        .expect("copy of the last bytes");
    assert_eq!(
        tail.copy_part_result().and_then(|r| r.e_tag()),
        Some(format!("\"{}\"", md5_hex(&source[size - 10..])).as_str())
    );
    expect_err(
        s3.upload_part_copy()
            .bucket("dstb")
            .key("assembled2")
            .upload_id(&id2)
            .part_number(2)
            .copy_source("srcb/source")
            .copy_source_range(format!("bytes={}-{}", size - 10, size))
            .send()
            .await,
        "InvalidRange",
        416,
    );
    let parts = s3
        .list_parts()
        .bucket("dstb")
        .key("assembled2")
        .upload_id(&id2)
        .send()
        .await
        .expect("list parts");
    assert_eq!(parts.parts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_part_uploads() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "conc").await;
    let id = create_upload(&s3, "conc", "parallel").await;
    let parts: Vec<Vec<u8>> = (0..8)
        .map(|i| pattern(if i == 7 { 777_777 } else { 5 * MIB }, 40 + i as u64))
        .collect();
    let mut tasks = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        let s3 = s3.clone();
        let id = id.clone();
        let data = data.clone();
        tasks.push(tokio::spawn(async move {
            let n = i as i32 + 1;
            (n, upload_part(&s3, "conc", "parallel", &id, n, &data).await)
        }));
    }
    let mut etags = Vec::new();
    for t in tasks {
        etags.push(t.await.expect("task"));
    }
    etags.sort();
    for (i, (n, e)) in etags.iter().enumerate() {
        assert_eq!(*n, i as i32 + 1);
        assert_eq!(*e, format!("\"{}\"", md5_hex(&parts[i])));
    }
    let list: Vec<(i32, &str)> = etags.iter().map(|(n, e)| (*n, e.as_str())).collect();
    let done = complete_upload(&s3, "conc", "parallel", &id, &list).await;
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    assert_eq!(done.e_tag(), Some(multipart_etag(&refs).as_str()));
    let body = get_bytes(&s3, "conc", "parallel").await;
    let want = parts.concat();
    assert_eq!(body.len(), want.len());
    assert!(body == want, "GET bytes differ from the uploaded parts");
}
