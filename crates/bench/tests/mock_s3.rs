//! End-to-end runs of the load generator against a small in-process S3 stand-in (hyper server on 127.0.0.1:0)
//! that keeps object sizes in memory, checks that every request is SigV4-signed with UNSIGNED-PAYLOAD, and can
//! be told to refuse everything. Covers put, get, mixed, list, multipart, cleanup and the all-failed exit.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use meridian_bench::stats::OpKind;
use meridian_bench::{BenchArgs, ByteSize, DurationArg, Op};
use tokio::net::TcpListener;

#[derive(Default)]
struct State {
    buckets: BTreeMap<String, BTreeMap<String, u64>>,
    uploads: HashMap<String, BTreeMap<u32, u64>>,
    next_upload: u64,
    /// Refuse every request with 403 AccessDenied.
    deny: bool,
    /// Answer every object request (a key in the path) with 503 SlowDown.
    slow_down_objects: bool,
    /// Answer every n-th GET Object with 404 NoSuchKey (0: never).
    get_fail_every: u64,
    gets: u64,
    requests: AtomicU64,
    unsigned_payload_seen: AtomicU64,
}

type Shared = Arc<Mutex<State>>;

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn xml_error(status: StatusCode, code: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Error><Code>{code}</Code><Message>mock says {code}</Message></Error>"
    );
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn ok(body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::new(Full::new(body.into()))
}

async fn handle(state: Shared, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let auth_ok = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 Credential=MOCKKEY/"));
    let unsigned = req
        .headers()
        .get("x-amz-content-sha256")
        .is_some_and(|v| v == "UNSIGNED-PAYLOAD");
    {
        let s = state.lock().unwrap();
        s.requests.fetch_add(1, Ordering::Relaxed);
        if unsigned {
            s.unsigned_payload_seen.fetch_add(1, Ordering::Relaxed);
        }
        if s.deny {
            return Ok(xml_error(StatusCode::FORBIDDEN, "AccessDenied"));
        }
    }
    if !auth_ok || !unsigned {
        return Ok(xml_error(StatusCode::BAD_REQUEST, "AuthorizationHeaderMalformed"));
    }
    let method = req.method().clone();
    let q = query(&req);
    let path = decode(req.uri().path().trim_start_matches('/'));
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (b.to_string(), Some(k.to_string())),
        None => (path.clone(), None),
    };
    let body_len = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().len() as u64)
        .unwrap_or(0);
    let mut s = state.lock().unwrap();
    if key.is_some() && s.slow_down_objects {
        return Ok(xml_error(StatusCode::SERVICE_UNAVAILABLE, "SlowDown"));
    }
    if key.is_some() && method == http::Method::GET && s.get_fail_every > 0 {
        s.gets += 1;
        if s.gets.is_multiple_of(s.get_fail_every) {
            return Ok(xml_error(StatusCode::NOT_FOUND, "NoSuchKey"));
        }
    }
    let resp = match (method.as_str(), key) {
        ("HEAD", None) => {
            if s.buckets.contains_key(&bucket) {
                ok(Bytes::new())
            } else {
                Response::builder().status(404).body(Full::new(Bytes::new())).unwrap()
            }
        }
        ("PUT", None) => {
            s.buckets.entry(bucket).or_default();
            ok(Bytes::new())
        }
        ("DELETE", None) => match s.buckets.get(&bucket) {
            Some(b) if b.is_empty() => {
                s.buckets.remove(&bucket);
                Response::builder().status(204).body(Full::new(Bytes::new())).unwrap()
            }
            Some(_) => xml_error(StatusCode::CONFLICT, "BucketNotEmpty"),
            None => xml_error(StatusCode::NOT_FOUND, "NoSuchBucket"),
        },
        ("GET", None) => {
            let Some(b) = s.buckets.get(&bucket) else {
                return Ok(xml_error(StatusCode::NOT_FOUND, "NoSuchBucket"));
            };
            let prefix = q.get("prefix").cloned().unwrap_or_default();
            let max: usize = q.get("max-keys").and_then(|m| m.parse().ok()).unwrap_or(1000);
            let after = q.get("continuation-token").cloned();
            let keys: Vec<&String> = b
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .filter(|k| after.as_ref().is_none_or(|a| *k > a))
                .take(max + 1)
                .collect();
            let truncated = keys.len() > max;
            let mut xml = String::from(
                "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
            );
            xml.push_str(&format!("<IsTruncated>{truncated}</IsTruncated>"));
            for k in keys.iter().take(max) {
                xml.push_str(&format!("<Contents><Key>{k}</Key><Size>1</Size></Contents>"));
            }
            if truncated {
                xml.push_str(&format!(
                    "<NextContinuationToken>{}</NextContinuationToken>",
                    keys[max - 1]
                ));
            }
            xml.push_str("</ListBucketResult>");
            ok(xml)
        }
        ("POST", Some(key)) if q.contains_key("uploads") => {
            s.next_upload += 1;
            let id = format!("up/{}+=", s.next_upload);
            s.uploads.insert(id.clone(), BTreeMap::new());
            ok(format!(
                "<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>\
                 <UploadId>{id}</UploadId></InitiateMultipartUploadResult>"
            ))
        }
        ("PUT", Some(_)) if q.contains_key("uploadId") => {
            let n: u32 = q.get("partNumber").and_then(|n| n.parse().ok()).unwrap_or(0);
            match s.uploads.get_mut(&q["uploadId"]) {
                Some(parts) => {
                    parts.insert(n, body_len);
                    Response::builder()
                        .header("etag", format!("\"p{n}\""))
                        .body(Full::new(Bytes::new()))
                        .unwrap()
                }
                None => xml_error(StatusCode::NOT_FOUND, "NoSuchUpload"),
            }
        }
        ("POST", Some(key)) if q.contains_key("uploadId") => match s.uploads.remove(&q["uploadId"]) {
            Some(parts) => {
                let total = parts.values().sum();
                s.buckets.entry(bucket).or_default().insert(key, total);
                ok("<CompleteMultipartUploadResult><ETag>\"x-1\"</ETag></CompleteMultipartUploadResult>")
            }
            None => xml_error(StatusCode::NOT_FOUND, "NoSuchUpload"),
        },
        ("DELETE", Some(_)) if q.contains_key("uploadId") => {
            s.uploads.remove(&q["uploadId"]);
            Response::builder().status(204).body(Full::new(Bytes::new())).unwrap()
        }
        ("PUT", Some(key)) => match s.buckets.get_mut(&bucket) {
            Some(b) => {
                b.insert(key, body_len);
                Response::builder()
                    .header("etag", "\"e\"")
                    .body(Full::new(Bytes::new()))
                    .unwrap()
            }
            None => xml_error(StatusCode::NOT_FOUND, "NoSuchBucket"),
        },
        ("GET", Some(key)) => match s.buckets.get(&bucket).and_then(|b| b.get(&key)) {
            Some(&len) => ok(Bytes::from(vec![7u8; len as usize])),
            None => xml_error(StatusCode::NOT_FOUND, "NoSuchKey"),
        },
        ("HEAD", Some(key)) => match s.buckets.get(&bucket).and_then(|b| b.get(&key)) {
            Some(&len) => Response::builder()
                .header("content-length", len)
                .body(Full::new(Bytes::new()))
                .unwrap(),
            None => Response::builder().status(404).body(Full::new(Bytes::new())).unwrap(),
        },
        ("DELETE", Some(key)) => {
            if let Some(b) = s.buckets.get_mut(&bucket) {
                b.remove(&key);
            }
            Response::builder().status(204).body(Full::new(Bytes::new())).unwrap()
        }
        _ => xml_error(StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
    };
    Ok(resp)
}

async fn start_mock() -> (SocketAddr, Shared) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state: Shared = Arc::new(Mutex::new(State::default()));
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let st = st.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(st.clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, state)
}

fn args(addr: SocketAddr, op: Op) -> BenchArgs {
    BenchArgs {
        endpoint: format!("http://{addr}"),
        access_key: Some("MOCKKEY".into()),
        secret: Some("MOCKSECRET".into()),
        region: "us-east-1".into(),
        bucket: "bench-test".into(),
        op,
        size: ByteSize(4096),
        objects: None,
        concurrency: 4,
        duration: None,
        part_size: ByteSize(16 << 20),
        timeout: DurationArg(Duration::from_secs(10)),
        json: false,
        no_progress: true,
        cleanup: false,
    }
}

fn objects_in(state: &Shared, bucket: &str) -> usize {
    state.lock().unwrap().buckets.get(bucket).map_or(0, |b| b.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_counts_every_object_and_creates_the_bucket() {
    let (addr, state) = start_mock().await;
    let mut a = args(addr, Op::Put);
    a.objects = Some(200);
    let report = meridian_bench::run_report(a).await.unwrap();
    assert_eq!(report.ops.len(), 1);
    let put = &report.ops[0];
    assert_eq!(put.op, OpKind::Put);
    assert_eq!(put.ops, 200);
    assert_eq!(put.errors, 0);
    assert_eq!(put.bytes, 200 * 4096);
    assert!(put.ops_per_sec > 0.0);
    assert!(put.latency.is_some());
    assert_eq!(objects_in(&state, "bench-test"), 200);
    let s = state.lock().unwrap();
    let requests = s.requests.load(Ordering::Relaxed);
    // HEAD bucket (404) + PUT bucket + 200 PUTs, all with UNSIGNED-PAYLOAD.
    assert_eq!(requests, 202);
    assert_eq!(s.unsigned_payload_seen.load(Ordering::Relaxed), requests);
    assert!(report.cpu.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_larger_than_the_buffer_arrive_whole() {
    let (addr, state) = start_mock().await;
    let mut a = args(addr, Op::Put);
    a.objects = Some(2);
    a.size = ByteSize(20 << 20); // larger than the 16 MiB random buffer, so it repeats
    let report = meridian_bench::run_report(a).await.unwrap();
    assert_eq!((report.ops[0].ops, report.ops[0].bytes), (2, 40 << 20));
    let s = state.lock().unwrap();
    let sizes: Vec<u64> = s.buckets["bench-test"].values().copied().collect();
    assert_eq!(sizes, vec![20 << 20; 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_reads_prepared_objects_and_cleanup_removes_them() {
    let (addr, state) = start_mock().await;
    let mut a = args(addr, Op::Get);
    a.objects = Some(50);
    a.size = ByteSize(10_000);
    a.cleanup = true;
    let report = meridian_bench::run_report(a).await.unwrap();
    assert_eq!(report.prepare.as_ref().map(|p| p.objects), Some(50));
    let get = &report.ops[0];
    assert_eq!(get.op, OpKind::Get);
    assert_eq!((get.ops, get.errors, get.bytes), (50, 0, 500_000));
    assert!(get.ttfb.is_some());
    // The run created the bucket, so cleanup removed the objects and then the bucket.
    assert!(!state.lock().unwrap().buckets.contains_key("bench-test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_uses_all_four_kinds_without_errors() {
    let (addr, _state) = start_mock().await;
    let mut a = args(addr, Op::Mixed);
    a.objects = Some(2000);
    a.size = ByteSize(100);
    let report = meridian_bench::run_report(a).await.unwrap();
    let count = |op| report.ops.iter().find(|o| o.op == op).map_or(0, |o| o.ops);
    let (get, put, stat, del) = (
        count(OpKind::Get),
        count(OpKind::Put),
        count(OpKind::Stat),
        count(OpKind::Delete),
    );
    assert_eq!(report.total.errors, 0, "{report:?}");
    // 2000 operations drawn 45/30/15/10; each DELETE is followed by a re-PUT.
    assert_eq!(get + stat + del + (put - del), 2000);
    assert!((700..1100).contains(&get), "{get}");
    assert!((150..450).contains(&stat), "{stat}");
    assert!((100..320).contains(&del), "{del}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_through_the_prefix() {
    let (addr, _state) = start_mock().await;
    let mut a = args(addr, Op::List);
    a.objects = Some(2500);
    a.size = ByteSize(1);
    a.concurrency = 2;
    a.duration = Some(DurationArg(Duration::from_secs(1)));
    let report = meridian_bench::run_report(a).await.unwrap();
    let list = &report.ops[0];
    assert_eq!(list.op, OpKind::List);
    assert_eq!(list.errors, 0);
    assert!(list.ops >= 3, "{list:?}");
    // Pages hold 1000, 1000, 500 keys: the keys listed follow that cycle.
    let keys = list.keys.unwrap();
    assert!(
        keys >= 2500 && keys <= list.ops * 1000,
        "{keys} keys in {} pages",
        list.ops
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_uploads_whole_objects() {
    let (addr, state) = start_mock().await;
    let mut a = args(addr, Op::Multipart);
    a.objects = Some(3);
    a.size = ByteSize(2_500_000);
    a.part_size = ByteSize(1_000_000);
    a.concurrency = 2;
    let report = meridian_bench::run_report(a).await.unwrap();
    let mpu = report.ops.iter().find(|o| o.op == OpKind::Multipart).unwrap();
    let part = report.ops.iter().find(|o| o.op == OpKind::Part).unwrap();
    assert_eq!((mpu.ops, mpu.errors, mpu.bytes), (3, 0, 7_500_000));
    assert_eq!((part.ops, part.bytes), (9, 7_500_000));
    assert_eq!(report.total.ops, 3);
    let s = state.lock().unwrap();
    let sizes: Vec<u64> = s.buckets["bench-test"].values().copied().collect();
    assert_eq!(sizes, vec![2_500_000; 3]);
    assert!(s.uploads.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_bucket_stops_the_run_before_it_starts() {
    let (addr, state) = start_mock().await;
    state.lock().unwrap().deny = true;
    let mut a = args(addr, Op::Put);
    a.objects = Some(5);
    let err = meridian_bench::run_report(a).await.unwrap_err();
    assert!(format!("{err:#}").contains("HTTP 403 AccessDenied"), "{err:#}");
    // Nothing but the HEAD Bucket and the GET that reads the error code was sent.
    assert_eq!(state.lock().unwrap().requests.load(Ordering::Relaxed), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_requests_failing_is_reported_and_fails_run() {
    let (addr, state) = start_mock().await;
    state.lock().unwrap().slow_down_objects = true;
    let mut a = args(addr, Op::Put);
    a.objects = Some(20);
    let report = meridian_bench::run_report(a.clone()).await.unwrap();
    let put = &report.ops[0];
    assert_eq!((put.ops, put.errors), (0, 20));
    assert_eq!(put.error_kinds.len(), 1);
    assert_eq!(put.error_kinds[0].kind, "HTTP 503 SlowDown");
    assert_eq!(put.error_kinds[0].count, 20);
    assert_eq!(put.error_kinds[0].sample, "mock says SlowDown");
    assert!(put.latency.is_none());

    let err = meridian_bench::run(a).await.unwrap_err();
    assert_eq!(err.to_string(), "all 20 requests failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn some_failed_gets_are_counted_by_code_not_as_successes() {
    let (addr, state) = start_mock().await;
    state.lock().unwrap().get_fail_every = 4;
    let mut a = args(addr, Op::Get);
    a.objects = Some(100);
    let report = meridian_bench::run_report(a.clone()).await.unwrap();
    let get = &report.ops[0];
    assert_eq!((get.ops, get.errors), (75, 25));
    assert_eq!(get.bytes, 75 * 4096);
    assert_eq!(get.error_kinds[0].kind, "HTTP 404 NoSuchKey");
    assert_eq!(get.error_kinds[0].status, Some(404));
    assert_eq!(get.error_kinds[0].code.as_deref(), Some("NoSuchKey"));
    // Some requests succeeded: the run as a whole does not fail.
    meridian_bench::run(a).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoint_is_a_clear_error() {
    // Bind then drop a listener: nothing listens on that port any more.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let err = meridian_bench::run_report(args(addr, Op::Put)).await.unwrap_err();
    assert!(format!("{err:#}").contains("connect"), "{err:#}");
}
