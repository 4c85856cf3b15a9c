//! Test harness: one `meridian server` process per test (own data dir, own loopback port), a user created
//! through the CLI, an `aws-sdk-s3` client for it, and `aws-sigv4` signing for raw requests (virtual-hosted
//! style, presigned URLs, streaming chunk signatures, exact status codes).

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use md5::{Digest, Md5};
use sha2::Sha256;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const BIN: &str = env!("CARGO_BIN_EXE_meridian");
pub const ACCESS_KEY: &str = "AKIAMERIDIANTEST0001";
pub const SECRET_KEY: &str = "meridian-test-secret-key-0001/abcdefghij";
pub const UID: &str = "tester";

/// The test matrix: with `MERIDIAN_TEST_STORE=rados` (and `MERIDIAN_TEST_RADOS_CONF`, the ceph.conf of a
/// running cluster) every server the tests start keeps its zone in RADOS pools `mtest.*`, in a namespace of
/// its own, instead of the local store.
pub fn rados_args() -> Vec<String> {
    if std::env::var("MERIDIAN_TEST_STORE").as_deref() != Ok("rados") {
        return vec![];
    }
    let conf = std::env::var("MERIDIAN_TEST_RADOS_CONF")
        .expect("MERIDIAN_TEST_STORE=rados needs MERIDIAN_TEST_RADOS_CONF (scripts/ceph-test-cluster.sh start)");
    vec![
        "--store".into(),
        "rados".into(),
        "--rados-conf".into(),
        conf,
        "--rados-pool-prefix".into(),
        "mtest".into(),
        "--rados-namespace".into(),
        unique_namespace(),
    ]
}

pub fn unique_namespace() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "t{}-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// A running `meridian server`, killed (and its data dir removed) on drop.
/// Drains a spawned server's stderr for the whole life of the process (or the server would block on a full
/// pipe) into a shared log, echoed as `[label] line` when `MERIDIAN_TEST_LOG` is set; the receiver gets the
/// address of every `listening on http://ADDR` line.
pub fn capture_log(child: &mut Child, label: &str) -> (Arc<Mutex<Vec<String>>>, mpsc::Receiver<String>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    let sink = log.clone();
    let label = label.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
            }
            if std::env::var_os("MERIDIAN_TEST_LOG").is_some() {
                eprintln!("[{label}] {line}");
            }
            sink.lock().unwrap().push(line);
        }
    });
    (log, rx)
}

/// Whether `addr` accepts TCP connections within 30 s.
pub fn accepts_connections(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

pub struct Server {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    pub addr: SocketAddr,
    pub endpoint: String,
    /// Kept last so the directory outlives the process.
    dir: tempfile::TempDir,
}

impl Server {
    /// A server with the default user `tester` already created.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(extra_args: &[&str]) -> Server {
        let server = Self::spawn(extra_args);
        server.create_user(UID, ACCESS_KEY, SECRET_KEY);
        server
    }

    /// A server without any user (e.g. a second gateway of a zone whose users exist already).
    pub fn spawn(extra_args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        // Tests that choose their store themselves are left alone by the matrix.
        let matrix = if extra_args.contains(&"--store") {
            vec![]
        } else {
            rados_args()
        };
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir.path().join("data-root"))
            .args([
                "server",
                "--listen",
                "127.0.0.1:0",
                "--gc-delay-secs",
                "0",
                "--gc-interval-secs",
                "1",
                "--log",
                "warn",
            ])
            .args(extra_args)
            .args(matrix)
            .current_dir(dir.path())
            .env_remove("MERIDIAN_CONFIG")
            .env_remove("MERIDIAN_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn meridian server");
        let (log, listening) = capture_log(&mut child, "server");
        let addr: SocketAddr = match listening.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a.parse().expect("listen address"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not start; its log:\n{}", log.lock().unwrap().join("\n"));
            }
        };
        assert!(
            accepts_connections(addr),
            "server at {addr} does not accept connections"
        );
        let server = Server {
            child,
            log,
            endpoint: format!("http://{addr}"),
            addr,
            dir,
        };
        server
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data-root")
    }

    /// The test's private directory (the data dir is a child of it).
    pub fn root_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Runs an admin verb of the same binary against this server's data dir; panics unless it succeeds.
    /// Returns the printed JSON (`Null` if nothing was printed).
    pub fn cli(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cli_raw(args);
        assert!(
            out.status.success(),
            "meridian {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let text = String::from_utf8(out.stdout).expect("utf-8 output");
        if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("meridian {args:?} printed no JSON ({e}): {text}"))
        }
    }

    pub fn cli_raw(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("MERIDIAN_CONFIG")
            .env_remove("MERIDIAN_DATA_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("run meridian cli")
    }

    pub fn create_user(&self, uid: &str, access_key: &str, secret: &str) -> serde_json::Value {
        let v = self.cli(&[
            "user",
            "create",
            "--uid",
            uid,
            "--display-name",
            &format!("User {uid}"),
            "--access-key",
            access_key,
            "--secret",
            secret,
        ]);
        let keys = v["keys"].as_array().expect("keys in user create output");
        assert!(
            keys.iter()
                .any(|k| k["access_key"] == access_key && k["secret_key"] == secret),
            "{v}"
        );
        v
    }

    /// The SDK client of the default user.
    pub fn client(&self) -> Client {
        self.client_for(ACCESS_KEY, SECRET_KEY)
    }

    pub fn client_for(&self, access_key: &str, secret: &str) -> Client {
        make_client(&self.endpoint, access_key, secret)
    }

    pub fn signer(&self) -> Signer {
        Signer::new(ACCESS_KEY, SECRET_KEY)
    }

    /// A path-style request to this server signed now by the test user, every header of `headers` signed.
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        payload_hash: &str,
    ) -> Signed {
        self.signer().sign(
            method,
            self.addr,
            &self.addr.to_string(),
            path,
            query,
            headers,
            payload_hash,
            SystemTime::now(),
        )
    }

    /// A path-style request signed by the test user (every header of `headers` signed, the payload hash that
    /// of `body`), sent over a plain client.
    pub async fn send_signed(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        self.send_signed_hashed(method, path, query, headers, &sha256_hex(body), body)
            .await
    }

    /// `send_signed` with the payload hash given (`UNSIGNED-PAYLOAD`, streaming, or a wrong one on purpose).
    pub async fn send_signed_hashed(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        payload_hash: &str,
        body: &[u8],
    ) -> Answer {
        self.sign(method, path, query, headers, payload_hash)
            .send(&http(), method, body)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The head of a path-style request signed by the test user as raw HTTP/1.1 text, with
    /// `unsigned_headers` appended after the signed ones; and the signed request (for chunk signatures).
    pub fn signed_head(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        signed_headers: &[(&str, &str)],
        unsigned_headers: &[(&str, &str)],
        payload_hash: &str,
    ) -> (String, Signed) {
        let host = self.addr.to_string();
        let signed = self.sign(method, path, query, signed_headers, payload_hash);
        let target = signed
            .url
            .split_once(&host)
            .map(|(_, t)| t.to_string())
            .expect("the URL names the address");
        let mut head = format!("{method} {target} HTTP/1.1\r\n");
        for (k, v) in signed
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(unsigned_headers.iter().copied())
        {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        (head, signed)
    }

    pub fn server_log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn make_client(endpoint: &str, access_key: &str, secret: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(access_key, secret, None, None, "meridian-tests"))
        .force_path_style(true)
        .http_client(http)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

/// Asserts that an SDK call failed with this S3 error code and HTTP status.
#[track_caller]
pub fn expect_err<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
    code: &str,
    status: u16,
) -> SdkError<E, HttpResponse> {
    let err = match result {
        Ok(v) => panic!("expected {code} ({status}), got success: {v:?}"),
        Err(e) => e,
    };
    let got_status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(got_status, Some(status), "HTTP status for expected {code}: {err:?}");
    assert_eq!(err.code(), Some(code), "error code (status {status}): {err:?}");
    err
}

/// The HTTP status of a failed SDK call (for HEAD requests, which carry no error body).
#[track_caller]
pub fn err_status<T: std::fmt::Debug, E: std::fmt::Debug>(result: Result<T, SdkError<E, HttpResponse>>) -> u16 {
    match result {
        Ok(v) => panic!("expected an error, got success: {v:?}"),
        Err(e) => e
            .raw_response()
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|| panic!("no HTTP response: {e:?}")),
    }
}

pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

pub fn md5_b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(data))
}

/// Deterministic pseudo-random bytes (xorshift), different per seed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// PutObject, which must succeed: its whole answer.
pub async fn put_object(
    client: &Client,
    bucket: &str,
    key: &str,
    body: &[u8],
) -> aws_sdk_s3::operation::put_object::PutObjectOutput {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"))
}

/// PutObject: the ETag.
pub async fn put(client: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    put_object(client, bucket, key, body).await.e_tag.unwrap_or_default()
}

/// PutObject into a versioned bucket: the version id, which the answer must carry.
pub async fn put_versioned(client: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    put_object(client, bucket, key, body)
        .await
        .version_id
        .unwrap_or_else(|| panic!("PUT {bucket}/{key} answered without x-amz-version-id"))
}

pub async fn get_bytes(client: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {bucket}/{key}: {e:?}"));
    out.body.collect().await.expect("read body").into_bytes().to_vec()
}

/// PutBucketVersioning with `status` (Enabled or Suspended).
pub async fn set_versioning(s3: &Client, bucket: &str, status: aws_sdk_s3::types::BucketVersioningStatus) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(status)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("put versioning of {bucket}: {e:?}"));
}

pub async fn create_bucket(client: &Client, bucket: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
}

/// CreateMultipartUpload with no options: the upload id.
pub async fn create_upload(s3: &Client, bucket: &str, key: &str) -> String {
    s3.create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create upload {bucket}/{key}: {e:?}"))
        .upload_id
        .expect("upload id")
}

/// UploadPart of `data` as part `n`: the part's ETag.
pub async fn upload_part(s3: &Client, bucket: &str, key: &str, upload_id: &str, n: i32, data: &[u8]) -> String {
    s3.upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(n)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("upload part {n}: {e:?}"))
        .e_tag
        .expect("part etag")
}

/// The CompleteMultipartUpload body listing `parts` as (part number, ETag), in the order given.
pub fn completed(parts: &[(i32, &str)]) -> aws_sdk_s3::types::CompletedMultipartUpload {
    aws_sdk_s3::types::CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|(n, e)| {
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(*n)
                        .e_tag(*e)
                        .build()
                })
                .collect(),
        ))
        .build()
}

/// CompleteMultipartUpload of `parts` (part number, ETag), which must succeed.
pub async fn complete_upload(
    s3: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: &[(i32, &str)],
) -> aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput {
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(completed(parts))
        .send()
        .await
        .unwrap_or_else(|e| panic!("complete {bucket}/{key}: {e:?}"))
}

/// A whole multipart upload of `parts` (numbered from 1), which must succeed: the completion's answer.
pub async fn upload_in_parts(
    s3: &Client,
    bucket: &str,
    key: &str,
    parts: &[Vec<u8>],
) -> aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput {
    let id = create_upload(s3, bucket, key).await;
    let mut etags = Vec::new();
    for (n, body) in (1..).zip(parts) {
        etags.push((n, upload_part(s3, bucket, key, &id, n, body).await));
    }
    let listed: Vec<(i32, &str)> = etags.iter().map(|(n, e)| (*n, e.as_str())).collect();
    complete_upload(s3, bucket, key, &id, &listed).await
}

/// ListBuckets: the names, in the order listed.
pub async fn list_bucket_names(client: &Client) -> Vec<String> {
    client
        .list_buckets()
        .send()
        .await
        .expect("list buckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect()
}

/// A plain HTTP client for raw requests.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("reqwest client")
}

/// Polls `f` until it returns true or `timeout` passes.
pub async fn wait_until<F: FnMut() -> bool>(timeout: Duration, mut f: F) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Total size of the regular files under `dir` (0 if it does not exist).
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Every path (files and directories) under `dir`.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------
// SigV4 for raw requests, through `aws-sigv4` (the signer the AWS SDKs use), for what the SDK would not send:
// exact headers, virtual-hosted Host headers, presigned URLs, aws-chunked bodies with chunk signatures.

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(Sha256::digest(data))
}

/// `(YYYYMMDD, YYYYMMDDTHHMMSSZ)` for a UTC time.
pub fn amz_dates(t: SystemTime) -> (String, String) {
    let secs = t.duration_since(UNIX_EPOCH).expect("time").as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let date = format!("{y:04}{m:02}{d:02}");
    let datetime = format!("{date}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60);
    (date, datetime)
}

/// RFC 3986 encoding as SigV4 wants it (unreserved characters kept; `/` kept only if `keep_slash`).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub struct Signer {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

/// A signed request ready to be sent: the URL to connect to, and every header (including Host).
pub struct Signed {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub signature: String,
    identity: aws_smithy_runtime_api::client::identity::Identity,
    region: String,
    time: SystemTime,
}

fn signing_params<'a, S: Default>(
    identity: &'a aws_smithy_runtime_api::client::identity::Identity,
    region: &'a str,
    time: SystemTime,
    settings: S,
) -> aws_sigv4::sign::v4::SigningParams<'a, S> {
    aws_sigv4::sign::v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .expect("signing parameters")
}

/// S3's settings: the path encoded once and never normalised; nothing left out of the signed headers.
fn s3_settings() -> aws_sigv4::http_request::SigningSettings {
    use aws_sigv4::http_request::{PercentEncodingMode, SigningSettings, UriPathNormalizationMode};
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.excluded_headers = None;
    settings
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            region: "us-east-1".into(),
        }
    }

    fn identity(&self) -> aws_smithy_runtime_api::client::identity::Identity {
        aws_credential_types::Credentials::new(&self.access_key, &self.secret_key, None, None, "meridian-tests").into()
    }

    fn query_string(query: &[(&str, &str)]) -> String {
        query
            .iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k, false), uri_encode(v, false)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Header-signed request. `addr` is where to connect; `host` the Host header (path-style: the address;
    /// virtual-hosted: `bucket.<hostname>:port`); `path` is the raw (unencoded) path, starting with `/`;
    /// `payload_hash` is what `x-amz-content-sha256` carries (a hex SHA-256, `UNSIGNED-PAYLOAD`, or
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`).
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &self,
        method: &str,
        addr: SocketAddr,
        host: &str,
        path: &str,
        query: &[(&str, &str)],
        extra_headers: &[(&str, &str)],
        payload_hash: &str,
        now: SystemTime,
    ) -> Signed {
        use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest};
        let encoded_path = uri_encode(path, true);
        let query_string = Self::query_string(query);
        let suffix = if query_string.is_empty() {
            encoded_path.clone()
        } else {
            format!("{encoded_path}?{query_string}")
        };
        let mut headers: Vec<(String, String)> = vec![("host".into(), host.to_string())];
        headers.extend(
            extra_headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string())),
        );
        let identity = self.identity();
        let mut settings = s3_settings();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = signing_params(&identity, &self.region, now, settings).into();
        let signable = SignableRequest::new(
            method,
            format!("http://{host}{suffix}"),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Precomputed(payload_hash.to_string()),
        )
        .expect("signable request");
        let (instructions, signature) = sign(signable, &params).expect("sign").into_parts();
        let (added, _) = instructions.into_parts();
        headers.extend(added.into_iter().map(|h| (h.name().to_string(), h.value().to_string())));
        Signed {
            url: format!("http://{addr}{suffix}"),
            headers,
            signature,
            identity,
            region: self.region.clone(),
            time: now,
        }
    }

    /// A presigned URL (query-string auth) connecting to `addr` with the given Host header.
    pub fn presign(
        &self,
        method: &str,
        addr: SocketAddr,
        host: &str,
        path: &str,
        expires_secs: u64,
        now: SystemTime,
    ) -> String {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation};
        let encoded_path = uri_encode(path, true);
        let identity = self.identity();
        let mut settings = s3_settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires_secs));
        let params = signing_params(&identity, &self.region, now, settings).into();
        let signable = SignableRequest::new(
            method,
            format!("http://{host}{encoded_path}"),
            [("host", host)].into_iter(),
            SignableBody::UnsignedPayload,
        )
        .expect("signable request");
        let (instructions, _) = sign(signable, &params).expect("presign").into_parts();
        let (_, query) = instructions.into_parts();
        let query: Vec<(&str, String)> = query.into_iter().map(|(k, v)| (k, v.into_owned())).collect();
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("http://{addr}{encoded_path}?{}", Self::query_string(&query))
    }
}

impl Signed {
    /// The `aws-chunked` body of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload, each chunk signed in a chain
    /// starting from this request's (seed) signature.
    pub fn chunked_body(&self, data: &[u8], chunk_size: usize) -> Vec<u8> {
        let params = signing_params(&self.identity, &self.region, self.time, ());
        let mut prev = self.signature.clone();
        let mut out = Vec::new();
        let mut chunks: Vec<&[u8]> = data.chunks(chunk_size).collect();
        chunks.push(&[]);
        for chunk in chunks {
            let bytes = bytes::Bytes::copy_from_slice(chunk);
            let sig = aws_sigv4::sign::v4::sign_chunk(&bytes, &prev, &params)
                .expect("chunk signature")
                .into_parts()
                .1;
            out.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
            prev = sig;
        }
        out
    }

    pub fn request(&self, client: &reqwest::Client, method: reqwest::Method) -> reqwest::RequestBuilder {
        let mut rb = client.request(method, &self.url);
        for (k, v) in &self.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        rb
    }

    /// Sends this request with `body` over `client`; a connection error is an `Err` naming the request.
    pub async fn send(&self, client: &reqwest::Client, method: &str, body: &[u8]) -> Result<Answer, String> {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| format!("{method}: {e}"))?;
        let resp = self
            .request(client, verb)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| format!("{method} {}: {e}", self.url))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap_or_default().to_vec();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Answer {
            status,
            headers,
            body,
            bytes,
        })
    }
}

/// The answer to a raw request: status, headers, and the body as text (for messages and XML) and as bytes.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Answer {
    /// The first value of header `name`, bytes that are not UTF-8 replaced.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    /// The `<Code>` of an S3 error document ("" if there is none).
    pub fn code(&self) -> &str {
        self.body
            .split("<Code>")
            .nth(1)
            .and_then(|r| r.split("</Code>").next())
            .unwrap_or_default()
    }
}

/// The encoded length of an aws-chunked body (for Content-Length).
pub fn chunked_len(data_len: usize, chunk_size: usize) -> usize {
    let sig_len = 64;
    let mut total = 0;
    let mut sizes: Vec<usize> = (0..data_len)
        .step_by(chunk_size)
        .map(|o| chunk_size.min(data_len - o))
        .collect();
    sizes.push(0);
    for s in sizes {
        total += format!("{s:x}").len() + ";chunk-signature=".len() + sig_len + 2 + s + 2;
    }
    total
}

/// Runs an admin verb of the same binary with `input` on its stdin (e.g. `metadata put KEY < entry.json`).
pub fn cli_stdin(server: &Server, args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(args)
        .current_dir(server.root_dir())
        .env_remove("MERIDIAN_CONFIG")
        .env_remove("MERIDIAN_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run meridian cli");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("meridian cli output")
}

pub mod realm;
