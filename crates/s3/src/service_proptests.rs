//! Property tests of the S3 surface's parsers through the real service (request guard, then s3s, then our
//! operations, on a gateway over a temporary local store): arbitrary SigV4 `Authorization` headers,
//! presigned query strings and (validly signed) XML bodies are answered with an S3 error or success, never
//! a 5xx or a panic.

use crate::guard::{GuardConfig, RequestGuard};
use crate::region_compat::{canonical_request, signature};
use base64::Engine;
use bytes::Bytes;
use md5::{Digest, Md5};
use meridian_gateway::users::NewUser;
use meridian_gateway::{Gateway, GatewayOptions};
use meridian_store::local::{LocalData, LocalMeta};
use proptest::prelude::*;
use s3s::service::S3Service;
use sha2::Sha256;
use std::sync::{Arc, OnceLock};

const AK: &str = "AKIAPROPTEST00000001";
const SK: &str = "proptest-secret-key-000000000000000001";

struct Env {
    rt: tokio::runtime::Runtime,
    service: S3Service,
    guard: RequestGuard,
    _dir: tempfile::TempDir,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let gw = rt.block_on(async {
            let (gw, _) = Gateway::open(
                Arc::new(LocalMeta::open(&dir.path().join("meta.redb")).unwrap()),
                Arc::new(LocalData::open(&dir.path().join("data")).unwrap()),
                None,
                GatewayOptions::default(),
            )
            .await
            .unwrap();
            let user = gw
                .users()
                .create(NewUser {
                    tenant: String::new(),
                    uid: "fuzzer".into(),
                    display_name: "Fuzzer".into(),
                    email: String::new(),
                    access_key: Some(AK.into()),
                    secret_key: Some(SK.into()),
                    system: false,
                    max_buckets: None,
                })
                .await
                .unwrap();
            gw.buckets().create(&user, "fuzz", None).await.unwrap();
            gw
        });
        Env {
            rt,
            service: crate::build_service(gw.clone(), vec![], None),
            guard: RequestGuard::new(gw, vec![], GuardConfig::default()),
            _dir: dir,
        }
    })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// Sends a request through the guard and the service; the HTTP status.
fn status_of(req: http::Request<Bytes>) -> u16 {
    let env = env();
    env.rt.block_on(async {
        let (parts, body) = req.into_parts();
        match env.guard.admit(parts, http_body_util::Full::new(body)).await {
            Err(refusal) => refusal.status.as_u16(),
            Ok((req, _)) => match env.service.call(req).await {
                Ok(resp) => resp.status().as_u16(),
                Err(e) => panic!("no HTTP answer: {e:?}"),
            },
        }
    })
}

fn amz_now() -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let date = format!("{:04}{:02}{:02}", now.year(), u8::from(now.month()), now.day());
    let datetime = format!("{date}T{:02}{:02}{:02}Z", now.hour(), now.minute(), now.second());
    (date, datetime)
}

/// A request signed with SigV4 (UNSIGNED-PAYLOAD), with Content-MD5 of the body.
fn signed(method: http::Method, path_and_query: &str, body: Vec<u8>) -> http::Request<Bytes> {
    let (date, datetime) = amz_now();
    let uri: http::Uri = path_and_query.parse().unwrap();
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&body));
    let mut headers = http::HeaderMap::new();
    headers.insert("host", "localhost".parse().unwrap());
    headers.insert("content-md5", md5.parse().unwrap());
    headers.insert("content-length", body.len().to_string().parse().unwrap());
    headers.insert("x-amz-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
    headers.insert("x-amz-date", datetime.parse().unwrap());
    let signed = [
        "content-length",
        "content-md5",
        "host",
        "x-amz-content-sha256",
        "x-amz-date",
    ];
    let canonical = canonical_request(&method, &uri, &headers, &signed, "UNSIGNED-PAYLOAD").unwrap();
    let hash = hex::encode(<Sha256 as sha2::Digest>::digest(canonical.as_bytes()));
    let sig = signature(SK, &datetime, &date, "us-east-1", "s3", &hash);
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={AK}/{date}/us-east-1/s3/aws4_request, SignedHeaders={}, Signature={sig}",
        signed.join(";")
    );
    headers.insert("authorization", auth.parse().unwrap());
    let mut req = http::Request::new(Bytes::from(body));
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    req
}

fn xml_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<Delete>".to_string()),
        Just("</Delete>".to_string()),
        Just("<Object><Key>k</Key></Object>".to_string()),
        Just("<Quiet>true</Quiet>".to_string()),
        Just("<CompleteMultipartUpload>".to_string()),
        Just("<Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part>".to_string()),
        Just("<CreateBucketConfiguration><LocationConstraint>".to_string()),
        Just("</LocationConstraint></CreateBucketConfiguration>".to_string()),
        Just("<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>".to_string()),
        Just("</TagSet></Tagging>".to_string()),
        Just(
            "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"
                .to_string()
        ),
        Just("</CORSRule></CORSConfiguration>".to_string()),
        Just("<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix>".to_string()),
        Just("</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>".to_string()),
        Just("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>".to_string()),
        Just("<AccessControlPolicy><Owner><ID>x</ID></Owner><AccessControlList><Grant>".to_string()),
        Just("<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\"><URI>".to_string()),
        Just(
            "</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"
                .to_string()
        ),
        Just("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>".to_string()),
        Just(
            "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>"
                .to_string()
        ),
        Just("<LegalHold><Status>ON</Status></LegalHold>".to_string()),
        Just("<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>".to_string()),
        Just("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",".to_string()),
        Just("\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::fuzz/*\"}]}".to_string()),
        Just("<?xml version=\"1.0\"?>".to_string()),
        Just("<![CDATA[".to_string()),
        Just("&amp;&lt;&#0;&#xFFFFFF;&bogus;".to_string()),
        "[<>/a-zA-Z0-9 =\"]{0,30}",
        "\\PC{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Any Authorization header: an S3 error (4xx), never a fault.
    #[test]
    fn any_authorization_header(
        prefix in prop_oneof![Just("AWS4-HMAC-SHA256 "), Just("AWS "), Just("")],
        rest in "[ -~]{0,160}",
        credential in "[A-Za-z0-9/_-]{0,60}",
    ) {
        for value in [format!("{prefix}{rest}"), format!("{prefix}Credential={credential}, SignedHeaders=host;x-amz-date, Signature={rest}")] {
            let Ok(v) = http::HeaderValue::from_str(&value) else { continue };
            let mut req = http::Request::new(Bytes::new());
            *req.uri_mut() = "/fuzz?list-type=2".parse().unwrap();
            req.headers_mut().insert("host", "localhost".parse().unwrap());
            req.headers_mut().insert("authorization", v);
            req.headers_mut().insert("x-amz-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
            req.headers_mut().insert("x-amz-date", amz_now().1.parse().unwrap());
            let status = status_of(req);
            prop_assert!((400..500).contains(&status), "Authorization {value:?} answered {status}");
        }
    }

    /// Any presigned query string: an S3 error, never a fault.
    #[test]
    fn any_presigned_query(
        params in proptest::collection::vec(
            (
                prop_oneof![
                    Just("X-Amz-Algorithm"), Just("X-Amz-Credential"), Just("X-Amz-Date"), Just("X-Amz-Expires"),
                    Just("X-Amz-SignedHeaders"), Just("X-Amz-Signature"), Just("AWSAccessKeyId"), Just("Expires"),
                    Just("Signature"),
                ],
                prop_oneof![
                    "[A-Za-z0-9%/_.-]{0,40}",
                    Just(format!("{AK}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request")),
                    Just("AWS4-HMAC-SHA256".to_string()),
                    (0u64..10_000_000_000).prop_map(|n| n.to_string()),
                ],
            ),
            1..8,
        )
    ) {
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let Ok(uri) = format!("/fuzz/key?{}", query.join("&")).parse::<http::Uri>() else { return Ok(()) };
        let mut req = http::Request::new(Bytes::new());
        *req.uri_mut() = uri;
        req.headers_mut().insert("host", "localhost".parse().unwrap());
        let status = status_of(req);
        prop_assert!((400..500).contains(&status), "query {query:?} answered {status}");
    }

    /// Bodies of every call that reads one (DeleteObjects, CompleteMultipartUpload, CreateBucket, and the
    /// bucket and object configuration PUTs: tagging, CORS, lifecycle, versioning, ACLs, policy, Object Lock,
    /// public access block), validly signed: whatever they hold, the answer is success or a client error (or
    /// 501 for a valid request of something not built, such as a lifecycle transition), never a fault.
    #[test]
    fn any_xml_body(fragments in proptest::collection::vec(xml_fragment(), 0..12), which in 0usize..15) {
        let body = fragments.concat().into_bytes();
        let (method, target) = match which {
            0 => (http::Method::POST, "/fuzz?delete"),
            1 => (http::Method::POST, "/fuzz/key?uploadId=nosuchupload"),
            2 => (http::Method::PUT, "/fuzz"),
            3 => (http::Method::PUT, "/fuzz?tagging"),
            4 => (http::Method::PUT, "/fuzz?cors"),
            5 => (http::Method::PUT, "/fuzz?lifecycle"),
            6 => (http::Method::PUT, "/fuzz?versioning"),
            7 => (http::Method::PUT, "/fuzz?acl"),
            8 => (http::Method::PUT, "/fuzz?policy"),
            9 => (http::Method::PUT, "/fuzz?object-lock"),
            10 => (http::Method::PUT, "/fuzz?publicAccessBlock"),
            11 => (http::Method::PUT, "/fuzz/key?tagging"),
            12 => (http::Method::PUT, "/fuzz/key?acl"),
            13 => (http::Method::PUT, "/fuzz/key?retention"),
            _ => (http::Method::PUT, "/fuzz/key?legal-hold"),
        };
        let status = status_of(signed(method, target, body.clone()));
        prop_assert!(
            status < 500 || status == 501,
            "{target} with {:?} answered {status}",
            String::from_utf8_lossy(&body)
        );
    }
}

#[test]
fn a_signed_request_is_accepted() {
    // The signer above is right, so the XML property really reaches the XML parsers.
    let body = b"<Delete><Object><Key>none</Key></Object></Delete>".to_vec();
    assert_eq!(status_of(signed(http::Method::POST, "/fuzz?delete", body)), 200);
}
