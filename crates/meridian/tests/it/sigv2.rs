//! SigV2 (`Authorization: AWS key:signature` and `?AWSAccessKeyId=&Expires=&Signature=` URLs), which s3cmd
//! and old SDKs still use: accepted when right, refused with AWS's error codes when not, Date rules included.

use crate::common::*;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `Base64(HMAC-SHA1(secret, StringToSign))`.
fn sign_v2(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (date, datetime) = amz_dates(t);
    let (y, m, d) = (&date[..4], &date[4..6], &date[6..8]);
    let month = MONTHS[m.parse::<usize>().unwrap() - 1];
    let weekday = DAYS[(secs / 86_400 % 7) as usize];
    format!(
        "{weekday}, {d} {month} {y} {}:{}:{} GMT",
        &datetime[9..11],
        &datetime[11..13],
        &datetime[13..15]
    )
}

struct V2 {
    access_key: String,
    secret: String,
}

impl V2 {
    fn new(access_key: &str, secret: &str) -> Self {
        Self {
            access_key: access_key.into(),
            secret: secret.into(),
        }
    }

    /// A header-signed request. `date` goes into `Date` (or `x-amz-date` when `amz_date`), `None`: neither.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        http: &reqwest::Client,
        srv: &Server,
        method: reqwest::Method,
        resource: &str,
        date: Option<SystemTime>,
        amz_date: bool,
        content_type: &str,
        body: &[u8],
    ) -> reqwest::RequestBuilder {
        let date_text = date.map(http_date).unwrap_or_default();
        let (date_line, amz_headers) = if amz_date {
            (String::new(), format!("x-amz-date:{date_text}\n"))
        } else {
            (date_text.clone(), String::new())
        };
        let sts = format!("{method}\n\n{content_type}\n{date_line}\n{amz_headers}{resource}");
        let mut rb = http
            .request(method, format!("{}{resource}", srv.endpoint))
            .header(
                "authorization",
                format!("AWS {}:{}", self.access_key, sign_v2(&self.secret, &sts)),
            )
            .body(body.to_vec());
        if !content_type.is_empty() {
            rb = rb.header("content-type", content_type);
        }
        if date.is_some() {
            rb = rb.header(if amz_date { "x-amz-date" } else { "date" }, date_text);
        }
        rb
    }

    fn presign(&self, srv: &Server, resource: &str, expires: SystemTime) -> String {
        let expires = expires.duration_since(UNIX_EPOCH).unwrap().as_secs().to_string();
        let sts = format!("GET\n\n\n{expires}\n{resource}");
        let sig = uri_encode(&sign_v2(&self.secret, &sts), false);
        format!(
            "{}{resource}?AWSAccessKeyId={}&Expires={expires}&Signature={sig}",
            srv.endpoint, self.access_key
        )
    }
}

async fn answer(rb: reqwest::RequestBuilder) -> (u16, String) {
    let resp = rb.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

fn code(text: &str) -> &str {
    text.split("<Code>")
        .nth(1)
        .and_then(|r| r.split("</Code>").next())
        .unwrap_or_default()
}

#[tokio::test]
async fn sigv2_header_requests() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "vtwo").await;
    let http = http();
    let v2 = V2::new(ACCESS_KEY, SECRET_KEY);
    let now = SystemTime::now();
    use reqwest::Method;

    let (status, text) = answer(v2.request(
        &http,
        &srv,
        Method::PUT,
        "/vtwo/k",
        Some(now),
        false,
        "text/plain",
        b"v2 body",
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = answer(v2.request(&http, &srv, Method::GET, "/vtwo/k", Some(now), false, "", b"")).await;
    assert_eq!((status, text.as_str()), (200, "v2 body"));
    // x-amz-date instead of Date.
    let (status, text) = answer(v2.request(&http, &srv, Method::GET, "/vtwo/k", Some(now), true, "", b"")).await;
    assert_eq!((status, text.as_str()), (200, "v2 body"));

    // More than 15 minutes off, either way.
    for skewed in [now - Duration::from_secs(20 * 60), now + Duration::from_secs(20 * 60)] {
        let (status, text) =
            answer(v2.request(&http, &srv, Method::GET, "/vtwo/k", Some(skewed), false, "", b"")).await;
        assert_eq!((status, code(&text)), (403, "RequestTimeTooSkewed"), "{text}");
    }
    // No date at all.
    let (status, text) = answer(v2.request(&http, &srv, Method::GET, "/vtwo/k", None, false, "", b"")).await;
    assert_eq!((status, code(&text)), (403, "AccessDenied"), "{text}");

    // Wrong secret, unknown key.
    let wrong = V2::new(ACCESS_KEY, "not-the-secret");
    let (status, text) = answer(wrong.request(&http, &srv, Method::GET, "/vtwo/k", Some(now), false, "", b"")).await;
    assert_eq!((status, code(&text)), (403, "SignatureDoesNotMatch"), "{text}");
    let unknown = V2::new("AKIANOSUCHKEY0000000", SECRET_KEY);
    let (status, text) = answer(unknown.request(&http, &srv, Method::GET, "/vtwo/k", Some(now), false, "", b"")).await;
    assert_eq!((status, code(&text)), (403, "InvalidAccessKeyId"), "{text}");
    // A refused PUT wrote nothing.
    let (status, _) = answer(wrong.request(&http, &srv, Method::PUT, "/vtwo/other", Some(now), false, "", b"x")).await;
    assert_eq!(status, 403);
    expect_err(
        s3.get_object().bucket("vtwo").key("other").send().await,
        "NoSuchKey",
        404,
    );
}

#[tokio::test]
async fn sigv2_presigned_urls() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "vtwopre").await;
    put(&s3, "vtwopre", "k", b"presigned v2").await;
    let http = http();
    let v2 = V2::new(ACCESS_KEY, SECRET_KEY);

    let url = v2.presign(&srv, "/vtwopre/k", SystemTime::now() + Duration::from_secs(300));
    let (status, text) = answer(http.get(&url)).await;
    assert_eq!((status, text.as_str()), (200, "presigned v2"));

    let expired = v2.presign(&srv, "/vtwopre/k", SystemTime::now() - Duration::from_secs(10));
    let (status, text) = answer(http.get(&expired)).await;
    assert_eq!((status, code(&text)), (403, "AccessDenied"), "{text}");

    let other_key = v2.presign(&srv, "/vtwopre/k", SystemTime::now() + Duration::from_secs(300));
    let tampered = other_key.replace("/vtwopre/k?", "/vtwopre/x?");
    let (status, text) = answer(http.get(&tampered)).await;
    assert_eq!((status, code(&text)), (403, "SignatureDoesNotMatch"), "{text}");
}

/// botocore's SigV2 signer (boto3 `signature_version="s3"`, s3-tests' v2 client) signs a bucket as
/// `/bucket/` and keeps the Date line when x-amz-date is present; AWS and RGW accept both, and so do we.
#[tokio::test]
async fn botocore_style_sigv2_signatures() {
    let srv = Server::start();
    let http = http();
    let now = http_date(SystemTime::now());
    let send = |method: reqwest::Method, path: &str, sts: String, secret: &str, amz_date: bool, body: &[u8]| {
        let mut rb = http
            .request(method, format!("{}{path}", srv.endpoint))
            .header("date", now.clone())
            .header("authorization", format!("AWS {ACCESS_KEY}:{}", sign_v2(secret, &sts)))
            .body(body.to_vec());
        if amz_date {
            rb = rb.header("x-amz-date", now.clone());
        }
        rb
    };
    use reqwest::Method;
    // CreateBucket signed with the resource `/bucket/`.
    let (status, text) = answer(send(
        Method::PUT,
        "/botov2",
        format!("PUT\n\n\n{now}\n/botov2/"),
        SECRET_KEY,
        false,
        b"",
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    // x-amz-date in RFC 1123 form beside Date, the Date line kept in the string to sign.
    let sts = format!("PUT\n\ntext/plain\n{now}\nx-amz-date:{now}\n/botov2/k");
    let (status, text) = answer(
        send(Method::PUT, "/botov2/k", sts.clone(), SECRET_KEY, true, b"kept").header("content-type", "text/plain"),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    // AWS's own form (empty Date line) still works.
    let sts_aws = format!("GET\n\n\n\nx-amz-date:{now}\n/botov2/k");
    let (status, text) = answer(send(Method::GET, "/botov2/k", sts_aws, SECRET_KEY, true, b"")).await;
    assert_eq!((status, text.as_str()), (200, "kept"));
    // A wrong secret is refused whichever form it was made in.
    let (status, text) =
        answer(send(Method::PUT, "/botov2/k", sts, "not-the-secret", true, b"x").header("content-type", "text/plain"))
            .await;
    assert_eq!((status, code(&text)), (403, "SignatureDoesNotMatch"), "{text}");
    let (status, text) = answer(send(
        Method::GET,
        "/botov2",
        format!("GET\n\n\n{now}\n/botov2/"),
        "not-the-secret",
        false,
        b"",
    ))
    .await;
    assert_eq!((status, code(&text)), (403, "SignatureDoesNotMatch"), "{text}");
    // A presigned ListObjects URL signed for `/bucket/`.
    let v2 = V2::new(ACCESS_KEY, SECRET_KEY);
    let url = v2.presign(&srv, "/botov2/", SystemTime::now() + Duration::from_secs(300));
    let url = url.replacen("/botov2/?", "/botov2?", 1);
    let (status, text) = answer(http.get(&url)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<Key>k</Key>"), "{text}");
}
