//! The request guard in front of s3s: checks s3s leaves out or gets wrong (presigned expiry cap, empty
//! Content-MD5, SigV2 date rules, user-metadata size, oversized XML bodies) answered before any body byte is
//! read, and the request body wrapped so that it cannot stall forever (inactivity timeout) and an aws-chunked
//! body must end with its final zero-length chunk.

use crate::chunk_frames::ChunkFrames;
use crate::host::ConfiguredHosts;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use meridian_gateway::{BoxError, Gateway};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

/// AWS's cap on a SigV4 presigned URL's `X-Amz-Expires` (7 days).
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;
/// AWS's cap on user metadata: the UTF-8 bytes of every `x-amz-meta-*` name (without the prefix) and value.
pub const MAX_USER_METADATA_BYTES: usize = 2048;
/// SigV2 requests whose Date (or x-amz-date) is further than this from the server's clock are refused.
pub const MAX_SIGV2_SKEW: Duration = Duration::from_secs(15 * 60);

/// Limits applied to every request.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// A request body that delivers no bytes for this long fails with `RequestTimeout`.
    pub body_timeout: Duration,
    /// XML (and other in-memory) request bodies larger than this get `MaxMessageLengthExceeded`.
    pub xml_max_bytes: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            body_timeout: Duration::from_secs(30),
            xml_max_bytes: 8 << 20,
        }
    }
}

/// A request refused by the guard: an S3 error document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The connection is closed after the answer (the body was not read).
    pub close: bool,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            close: false,
        }
    }

    fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// The S3 error document (the server adds the request id).
    pub fn response(&self) -> http::Response<s3s::Body> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message></Error>",
            self.code,
            xml_escape(&self.message)
        );
        let mut resp = http::Response::new(s3s::Body::from(body));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/xml"),
        );
        if self.close {
            headers.insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        }
        resp
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// What happened to a request body, as seen by the guard (read by [`RequestGuard::finish`]).
#[derive(Debug, Default, Clone)]
pub struct BodyWatch(Arc<AtomicU8>);

const BODY_TIMED_OUT: u8 = 1;
const BODY_MISSING_FINAL_CHUNK: u8 = 2;
/// The body was read to its end (or failed): nothing of it is left on the connection.
const BODY_ENDED: u8 = 4;

impl BodyWatch {
    fn set(&self, flag: u8) {
        self.0.fetch_or(flag, Ordering::Relaxed);
    }

    fn has(&self, flag: u8) -> bool {
        self.0.load(Ordering::Relaxed) & flag != 0
    }
}

#[derive(Debug, thiserror::Error)]
enum BodyFault {
    #[error("no request body bytes arrived for {0:?}")]
    Timeout(Duration),
    #[error("the aws-chunked body ended without its final zero-length chunk")]
    MissingFinalChunk,
}

/// A request body with an inactivity timeout and, for aws-chunked bodies, a check for the final chunk.
struct GuardedBody<B> {
    inner: B,
    timeout: Duration,
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    frames: Option<ChunkFrames>,
    watch: BodyWatch,
    finished: bool,
}

impl<B> HttpBody for GuardedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.idle = None;
                if let (Some(frames), Some(data)) = (this.frames.as_mut(), frame.data_ref()) {
                    frames.feed(data);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.finished = true;
                this.watch.set(BODY_ENDED);
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(None) => {
                this.finished = true;
                this.watch.set(BODY_ENDED);
                if this.frames.as_ref().is_some_and(ChunkFrames::missing_final_chunk) {
                    this.watch.set(BODY_MISSING_FINAL_CHUNK);
                    return Poll::Ready(Some(Err(Box::new(BodyFault::MissingFinalChunk))));
                }
                Poll::Ready(None)
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let idle = this.idle.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if idle.as_mut().poll(cx).is_ready() {
                    this.finished = true;
                    this.watch.set(BODY_TIMED_OUT);
                    return Poll::Ready(Some(Err(Box::new(BodyFault::Timeout(timeout)))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // With the framing check the end must be polled, to report a missing final chunk.
        self.finished || (self.frames.is_none() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// How the guard handles one request's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPlan {
    /// The operation reads its whole body into memory (XML configuration, DeleteObjects, Complete...).
    pub in_memory: bool,
    /// The body is aws-chunked (`x-amz-content-sha256: STREAMING-...`).
    pub aws_chunked: bool,
}

pub struct RequestGuard {
    hosts: ConfiguredHosts,
    gateway: Gateway,
    config: GuardConfig,
}

impl RequestGuard {
    pub fn new(gateway: Gateway, hostnames: Vec<String>, config: GuardConfig) -> Self {
        Self {
            hosts: ConfiguredHosts::new(hostnames, Some(gateway.clone())),
            gateway,
            config,
        }
    }

    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    pub(crate) fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The bucket a request names (virtual-hosted or path style), if any.
    pub(crate) fn bucket_named(&self, uri: &Uri, headers: &HeaderMap) -> Option<String> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .unwrap_or_default();
        if let Some(b) = self.hosts.bucket_of(host) {
            return Some(b);
        }
        let path = uri.path().trim_start_matches('/');
        let name = path.split('/').next().unwrap_or_default();
        (!name.is_empty()).then(|| {
            percent_encoding::percent_decode_str(name)
                .decode_utf8_lossy()
                .into_owned()
        })
    }

    /// Whether the request names an object (a key), not only a bucket or the service.
    fn names_object(&self, uri: &Uri, headers: &HeaderMap) -> bool {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .unwrap_or_default();
        let path = uri.path().trim_start_matches('/');
        if self.hosts.bucket_of(host).is_some() {
            !path.is_empty()
        } else {
            path.split_once('/').is_some_and(|(_, key)| !key.is_empty())
        }
    }

    /// The header-only checks, in the order AWS applies them, and the body plan.
    pub fn check(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<BodyPlan, Refusal> {
        // Path-style requests for a bucket named `admin` would reach the admin API (`/admin/...`), which has
        // nothing at its root: say the name is reserved (`metrics` is refused when it is created).
        if matches!(uri.path(), "/admin" | "/admin/") && !self.names_object(uri, headers) {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "InvalidBucketName",
                "The specified bucket is not valid: bucket name \"admin\" is reserved: /admin is this gateway's own endpoint",
            ));
        }
        check_presigned_expiry(uri.query().unwrap_or_default())?;
        check_sigv2_date(headers, SystemTime::now())?;
        check_sigv4_credential(headers)?;
        check_content_md5(headers)?;
        check_canned_acl(headers)?;
        check_encryption(method, headers)?;
        if *method == Method::PUT || *method == Method::POST {
            check_user_metadata(headers)?;
        }
        let in_memory = !uri.path().starts_with("/admin/")
            && reads_body_into_memory(method, self.names_object(uri, headers), uri.query().unwrap_or_default());
        if in_memory {
            if let Some(len) = content_length(headers) {
                if len > self.config.xml_max_bytes as u64 {
                    return Err(too_big(self.config.xml_max_bytes).closing());
                }
            }
        }
        let aws_chunked = headers
            .get("x-amz-content-sha256")
            .is_some_and(|v| v.as_bytes().starts_with(b"STREAMING-"));
        Ok(BodyPlan { in_memory, aws_chunked })
    }

    /// Checks the request and wraps its body; a refusal is the response to send.
    pub async fn admit<B>(
        &self,
        mut parts: http::request::Parts,
        body: B,
    ) -> Result<(http::Request<s3s::Body>, BodyWatch), Refusal>
    where
        B: HttpBody<Data = Bytes> + Unpin + Send + 'static,
        B::Error: Into<BoxError>,
    {
        latin1_metadata_as_utf8(&mut parts.headers);
        crate::sigv2_compat::normalize_sigv2(&self.gateway, &self.hosts, &mut parts).await;
        let plan = match self.check(&parts.method, &parts.uri, &parts.headers) {
            Ok(plan) => plan,
            Err(refusal) => {
                drain_in_background(body);
                return Err(refusal);
            }
        };
        let watch = BodyWatch::default();
        if body.is_end_stream() {
            watch.set(BODY_ENDED);
        }
        let guarded = GuardedBody {
            inner: body,
            timeout: self.config.body_timeout,
            idle: None,
            frames: plan.aws_chunked.then(ChunkFrames::new),
            watch: watch.clone(),
            finished: false,
        };
        let body = if plan.in_memory {
            s3s::Body::from(read_limited(guarded, self.config.xml_max_bytes, &watch).await?)
        } else {
            s3s::Body::http_body_unsync(guarded)
        };
        Ok((http::Request::from_parts(parts, body), watch))
    }

    /// Replaces the answer to a request whose body failed in the guard with the precise S3 error.
    /// An error answer given before the body was read to its end closes the connection (the rest of the
    /// body is still on it), and says so, so that clients do not reuse it.
    pub fn finish(&self, watch: &BodyWatch, resp: &mut http::Response<s3s::Body>) {
        if resp.status().as_u16() < 400 {
            return;
        }
        let refusal = if watch.has(BODY_TIMED_OUT) {
            timed_out()
        } else if watch.has(BODY_MISSING_FINAL_CHUNK) {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "The aws-chunked request body ended without its final zero-length chunk.",
            )
        } else {
            if !watch.has(BODY_ENDED) && !resp.headers().contains_key(http::header::CONNECTION) {
                resp.headers_mut()
                    .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
            }
            return;
        };
        *resp = refusal.closing().response();
    }
}

/// The part of an S3 error document the log line names.
#[derive(serde::Deserialize)]
struct ErrorCode {
    #[serde(rename = "Code", default)]
    code: String,
}

/// The `<Code>` of an S3 error document (empty when the body is not one).
fn error_code(body: &[u8]) -> String {
    quick_xml::de::from_reader::<_, ErrorCode>(body)
        .map(|e| e.code)
        .unwrap_or_default()
}

/// Logs an error answer: a client's mistake (4xx) at debug level, a server fault (5xx) at error level.
pub fn log_answer(method: &str, path: &str, request_id: &str, resp: &http::Response<s3s::Body>) {
    let status = resp.status().as_u16();
    if status < 400 {
        return;
    }
    let code = resp.body().bytes().map(|b| error_code(&b)).unwrap_or_default();
    if status >= 500 {
        tracing::error!(status, code, method, path, request_id, "request failed");
    } else {
        tracing::debug!(status, code, method, path, request_id, "request refused");
    }
}

fn timed_out() -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "RequestTimeout",
        "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
    )
    .closing()
}

fn too_big(limit: usize) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "MaxMessageLengthExceeded",
        format!("Your request was too big: this request's body may be at most {limit} bytes."),
    )
}

/// What a refused request's client may still send is read and dropped, up to these bounds, so that a
/// client that sends its whole body before reading sees the answer instead of a connection reset.
const DRAIN_MAX_BYTES: usize = 64 << 20;
const DRAIN_MAX_TIME: Duration = Duration::from_secs(10);

fn drain_in_background<B>(body: B)
where
    B: HttpBody<Data = Bytes> + Unpin + Send + 'static,
{
    use http_body_util::BodyExt;
    tokio::spawn(async move {
        let mut body = body;
        let mut drained = 0usize;
        let _ = tokio::time::timeout(DRAIN_MAX_TIME, async {
            while let Some(Ok(frame)) = body.frame().await {
                drained += frame.data_ref().map_or(0, Bytes::len);
                if drained > DRAIN_MAX_BYTES {
                    break;
                }
            }
        })
        .await;
    });
}

/// Reads a whole in-memory body, refusing it as soon as it passes `limit`.
async fn read_limited<B>(mut body: B, limit: usize, watch: &BodyWatch) -> Result<Bytes, Refusal>
where
    B: HttpBody<Data = Bytes, Error = BoxError> + Unpin + Send + 'static,
{
    use http_body_util::BodyExt;
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                if watch.has(BODY_TIMED_OUT) {
                    return Err(timed_out());
                }
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "IncompleteBody",
                    format!("The request body could not be read: {e}"),
                )
                .closing());
            }
        };
        if let Some(data) = frame.data_ref() {
            if buf.len() + data.len() > limit {
                drain_in_background(body);
                return Err(too_big(limit).closing());
            }
            buf.extend_from_slice(data);
        }
    }
    Ok(buf.freeze())
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Query parameters, percent-decoded (`+` is a space, as in forms).
pub fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// SigV4 query authentication: `X-Amz-Expires` must be a whole number of seconds, at most 7 days.
pub fn check_presigned_expiry(query: &str) -> Result<(), Refusal> {
    if !query.contains("X-Amz-") {
        return Ok(());
    }
    let params = query_params(query);
    if !params
        .iter()
        .any(|(k, _)| k == "X-Amz-Signature" || k == "X-Amz-Algorithm")
    {
        return Ok(());
    }
    let Some((_, expires)) = params.iter().find(|(k, _)| k == "X-Amz-Expires") else {
        return Ok(()); // s3s reports the missing field
    };
    let refuse = |m: &str| {
        Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "AuthorizationQueryParametersError",
            m,
        ))
    };
    match expires.parse::<u64>() {
        Err(_) => refuse("X-Amz-Expires should be a number"),
        Ok(n) if n > MAX_PRESIGNED_EXPIRES_SECS => {
            refuse("X-Amz-Expires must be less than a week (in seconds) that is 604800")
        }
        Ok(_) => Ok(()),
    }
}

/// A SigV4 `Authorization` header must carry `Credential=<key>/<YYYYMMDD>/<region>/<service>/aws4_request`.
/// Checked here because s3s's date parser underflows (a panic in debug builds) on a scope date that is not
/// digits; every real client sends this shape.
pub fn check_sigv4_credential(headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(rest) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("AWS4-HMAC-SHA256"))
    else {
        return Ok(());
    };
    let scope_ok = rest.find("Credential=").is_some_and(|i| {
        let credential = rest[i + "Credential=".len()..].split(',').next().unwrap_or_default();
        let parts: Vec<&str> = credential.trim().split('/').collect();
        parts.len() == 5 && parts[1].len() == 8 && parts[1].bytes().all(|b| b.is_ascii_digit())
    });
    if scope_ok {
        return Ok(());
    }
    Err(Refusal::new(
        StatusCode::BAD_REQUEST,
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed: expected Credential=<access key>/<YYYYMMDD>/<region>/<service>/aws4_request",
    ))
}

/// SigV2 header authentication (`Authorization: AWS key:signature`) needs a Date or x-amz-date within
/// 15 minutes of the server's clock (x-amz-date wins when both are present).
pub fn check_sigv2_date(headers: &HeaderMap, now: SystemTime) -> Result<(), Refusal> {
    let is_v2 = headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS ") && !v.as_bytes().starts_with(b"AWS4-"));
    if !is_v2 {
        return Ok(());
    }
    let date = headers
        .get("x-amz-date")
        .or_else(|| headers.get(http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_sigv2_date(v.trim()));
    let Some(date) = date else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "AWS authentication requires a valid Date or x-amz-date header",
        ));
    };
    let skew = match now.duration_since(date) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > MAX_SIGV2_SKEW {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        ));
    }
    Ok(())
}

/// RFC 1123 (`GMT`), the other HTTP date forms, and RFC 2822 with a numeric zone (s3cmd sends `+0000`).
fn parse_sigv2_date(v: &str) -> Option<SystemTime> {
    if let Ok(t) = httpdate::parse_http_date(v) {
        return Some(t);
    }
    let t = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    Some(SystemTime::from(t))
}

/// A Content-MD5 header that is present must hold a base64 MD5 digest; s3s takes an empty one for none.
pub fn check_content_md5(headers: &HeaderMap) -> Result<(), Refusal> {
    match headers.get("content-md5") {
        Some(v) if v.as_bytes().iter().all(u8::is_ascii_whitespace) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
        )),
        _ => Ok(()),
    }
}

/// The canned ACLs S3 knows (objects' and buckets' together).
pub use meridian_model::acl::CANNED_ACLS;

/// `x-amz-acl` must name a canned ACL (s3s takes any string); which ACL it gives is the operation's business.
pub fn check_canned_acl(headers: &HeaderMap) -> Result<(), Refusal> {
    for v in headers.get_all("x-amz-acl") {
        let ok = v.to_str().is_ok_and(|v| CANNED_ACLS.contains(&v.trim()));
        if !ok {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                format!(
                    "{:?} is not a canned ACL (x-amz-acl)",
                    String::from_utf8_lossy(v.as_bytes())
                ),
            ));
        }
    }
    Ok(())
}

/// Server-side encryption is not built: a request that asks for it is refused rather than stored in the
/// clear. SSE-C headers (`x-amz-server-side-encryption-customer-*`, also on a copy source) and
/// `x-amz-server-side-encryption` (`AES256`, `aws:kms`, `aws:kms:dsse`) on a write are 501 NotImplemented
/// (AWS's answer for a header that implies functionality it does not implement); SSE-C headers on a read
/// are 400 InvalidRequest, since no object here is encrypted with a customer key.
pub fn check_encryption(method: &Method, headers: &HeaderMap) -> Result<(), Refusal> {
    let sse_c = headers.keys().any(|k| {
        let k = k.as_str();
        k.starts_with("x-amz-server-side-encryption-customer-")
            || k.starts_with("x-amz-copy-source-server-side-encryption-customer-")
    });
    let read = *method == Method::GET || *method == Method::HEAD;
    if sse_c && read {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "The encryption parameters are not applicable to this object: this gateway stores no object encrypted with a customer-provided key (SSE-C is not supported).",
        ));
    }
    if sse_c {
        return Err(Refusal::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "Server-side encryption with customer-provided keys (SSE-C) is not supported by this gateway; nothing was stored.",
        ));
    }
    let managed = headers
        .get_all("x-amz-server-side-encryption")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect::<Vec<_>>();
    if !read && !managed.is_empty() {
        return Err(Refusal::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            format!(
                "Server-side encryption ({}) is not supported by this gateway; nothing was stored. Send the request without x-amz-server-side-encryption.",
                managed.join(", ")
            ),
        ));
    }
    Ok(())
}

/// `x-amz-meta-*` values that are not UTF-8 carry Latin-1 bytes (HTTP's obs-text; Python's http.client
/// sends `é` as the byte 0xE9): they are rewritten as the UTF-8 of the same characters, which is also what
/// such clients signed (botocore hashes its canonical request as UTF-8).
pub fn latin1_metadata_as_utf8(headers: &mut HeaderMap) {
    let names: Vec<http::HeaderName> = headers
        .iter()
        .filter(|(n, v)| n.as_str().starts_with("x-amz-meta-") && std::str::from_utf8(v.as_bytes()).is_err())
        .map(|(n, _)| n.clone())
        .collect();
    for name in names {
        let values: Vec<http::HeaderValue> = headers
            .get_all(&name)
            .iter()
            .filter_map(|v| {
                let text: String = v.as_bytes().iter().map(|&b| char::from(b)).collect();
                http::HeaderValue::from_bytes(text.as_bytes()).ok()
            })
            .collect();
        headers.remove(&name);
        for v in values {
            headers.append(name.clone(), v);
        }
    }
}

/// The size of the user metadata of a request, as AWS counts it.
pub fn user_metadata_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .filter_map(|(name, value)| {
            name.as_str()
                .strip_prefix("x-amz-meta-")
                .map(|n| n.len() + value.as_bytes().len())
        })
        .sum()
}

pub fn check_user_metadata(headers: &HeaderMap) -> Result<(), Refusal> {
    let size = user_metadata_size(headers);
    if size > MAX_USER_METADATA_BYTES {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "MetadataTooLarge",
            format!(
                "Your metadata headers exceed the maximum allowed metadata size: {size} bytes of x-amz-meta-* names and values, at most {MAX_USER_METADATA_BYTES}."
            ),
        ));
    }
    Ok(())
}

/// Sub-resources whose PUT body is an XML (or JSON) document read whole.
const CONFIG_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "retention",
    "tagging",
    "versioning",
    "website",
];

/// Whether the operation reads its request body into memory (so it must be small), from the method,
/// whether a key is named, and the query string.
pub fn reads_body_into_memory(method: &Method, names_object: bool, query: &str) -> bool {
    let has = |name: &str| {
        query
            .split('&')
            .any(|p| p.split_once('=').map_or(p, |(k, _)| k) == name)
    };
    if *method == Method::POST {
        // DeleteObjects, CompleteMultipartUpload, RestoreObject, SelectObjectContent.
        return has("delete") || has("uploadId") || has("restore") || has("select");
    }
    if *method == Method::PUT {
        if CONFIG_SUBRESOURCES.iter().any(|s| has(s)) {
            return true;
        }
        // CreateBucket (a PUT on the bucket itself); object PUTs and UploadPart stream.
        return !names_object;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logged_code_is_read_from_the_error_document() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"#;
        assert_eq!(error_code(doc), "NoSuchKey");
        assert_eq!(error_code(b"<Error><Message>no code</Message></Error>"), "");
        assert_eq!(error_code(b"not xml at all"), "");
    }
    use proptest::prelude::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn presigned_expiry_is_capped_at_a_week() {
        let q = |e: &str| format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={e}&X-Amz-Signature=ab");
        assert!(check_presigned_expiry(&q("604800")).is_ok());
        let err = check_presigned_expiry(&q("604801")).unwrap_err();
        assert_eq!(err.code, "AuthorizationQueryParametersError");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(check_presigned_expiry(&q("1000000000")).is_err());
        assert!(check_presigned_expiry(&q("-1")).is_err());
        assert!(
            check_presigned_expiry("X-Amz-Expires=999999999").is_ok(),
            "not a presigned request"
        );
        assert!(check_presigned_expiry("list-type=2").is_ok());
    }

    #[test]
    fn sigv2_dates() {
        let now = SystemTime::now();
        let fmt = |t: SystemTime| httpdate::fmt_http_date(t);
        let auth = ("authorization", "AWS AKID:c2ln");
        assert!(check_sigv2_date(&headers(&[auth, ("date", &fmt(now))]), now).is_ok());
        let old = fmt(now - Duration::from_secs(16 * 60));
        assert_eq!(
            check_sigv2_date(&headers(&[auth, ("date", &old)]), now)
                .unwrap_err()
                .code,
            "RequestTimeTooSkewed"
        );
        let future = fmt(now + Duration::from_secs(16 * 60));
        assert!(check_sigv2_date(&headers(&[auth, ("date", &future)]), now).is_err());
        // s3cmd's form: RFC 2822 with a numeric zone.
        let s3cmd = time::OffsetDateTime::from(now)
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap();
        assert!(s3cmd.ends_with("+0000"), "{s3cmd}");
        assert!(check_sigv2_date(&headers(&[auth, ("x-amz-date", &s3cmd)]), now).is_ok());
        // x-amz-date wins over Date.
        assert!(check_sigv2_date(&headers(&[auth, ("date", &old), ("x-amz-date", &fmt(now))]), now).is_ok());
        let missing = check_sigv2_date(&headers(&[auth]), now).unwrap_err();
        assert_eq!((missing.code, missing.status), ("AccessDenied", StatusCode::FORBIDDEN));
        assert!(check_sigv2_date(&headers(&[auth, ("date", "yesterday")]), now).is_err());
        // SigV4 is not touched.
        assert!(check_sigv2_date(&headers(&[("authorization", "AWS4-HMAC-SHA256 Credential=x")]), now).is_ok());
        let v4 = |v: &str| check_sigv4_credential(&headers(&[("authorization", v)]));
        assert!(v4(
            "AWS4-HMAC-SHA256 Credential=AK/20261202/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab"
        )
        .is_ok());
        assert!(v4("AWS4-HMAC-SHA256 / Aaaa AA/").is_err());
        assert!(v4("AWS4-HMAC-SHA256 Credential=AK/2026120A/us-east-1/s3/aws4_request").is_err());
        assert!(v4("AWS AK:sig").is_ok());
    }

    #[test]
    fn empty_md5_and_metadata_size() {
        assert_eq!(
            check_content_md5(&headers(&[("content-md5", "")])).unwrap_err().code,
            "InvalidDigest"
        );
        assert!(check_content_md5(&headers(&[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")])).is_ok());
        assert!(check_content_md5(&headers(&[])).is_ok());
        let v = "v".repeat(2048 - 1);
        assert!(check_user_metadata(&headers(&[("x-amz-meta-a", &v)])).is_ok());
        let err = check_user_metadata(&headers(&[("x-amz-meta-ab", &v)])).unwrap_err();
        assert_eq!(err.code, "MetadataTooLarge");
        assert_eq!(
            user_metadata_size(&headers(&[("x-amz-meta-k", "vv"), ("content-type", "x")])),
            3
        );
    }

    #[test]
    fn which_operations_buffer_their_body() {
        assert!(reads_body_into_memory(&Method::POST, false, "delete"));
        assert!(reads_body_into_memory(&Method::POST, true, "uploadId=abc"));
        assert!(!reads_body_into_memory(&Method::POST, true, "uploads"));
        assert!(reads_body_into_memory(&Method::PUT, false, ""));
        assert!(reads_body_into_memory(&Method::PUT, false, "versioning"));
        assert!(reads_body_into_memory(&Method::PUT, true, "tagging"));
        assert!(!reads_body_into_memory(&Method::PUT, true, ""));
        assert!(!reads_body_into_memory(&Method::PUT, true, "partNumber=1&uploadId=x"));
        assert!(!reads_body_into_memory(&Method::GET, false, "delete"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
        ))]

        /// Any query string: no panic, and a presigned one is accepted exactly when its expiry is a number
        /// of seconds no larger than a week.
        #[test]
        fn presigned_query_parsing(noise in "[ -~]{0,200}", expires in proptest::option::of(0u64..2_000_000)) {
            let _ = check_presigned_expiry(&noise);
            let _ = query_params(&noise);
            if let Some(e) = expires {
                let q = format!("{noise}&X-Amz-Signature=00&X-Amz-Expires={e}");
                let first_expires = query_params(&q).into_iter().find(|(k, _)| k == "X-Amz-Expires").map(|(_, v)| v);
                if first_expires.as_deref() == Some(e.to_string().as_str()) {
                    prop_assert_eq!(check_presigned_expiry(&q).is_ok(), e <= MAX_PRESIGNED_EXPIRES_SECS);
                }
            }
        }

        /// Any Authorization and Date values: no panic; SigV4 or no Authorization is never judged here.
        #[test]
        fn sigv2_header_parsing(auth in "[ -~]{0,80}", date in "[ -~]{0,40}") {
            let mut h = HeaderMap::new();
            if let (Ok(a), Ok(d)) = (http::HeaderValue::from_str(&auth), http::HeaderValue::from_str(&date)) {
                h.insert(http::header::AUTHORIZATION, a);
                h.insert(http::header::DATE, d);
                let verdict = check_sigv2_date(&h, SystemTime::now());
                if !auth.starts_with("AWS ") {
                    prop_assert!(verdict.is_ok());
                }
            }
        }

        /// The metadata size is the sum of name (after the prefix) and value lengths.
        #[test]
        fn metadata_size_sums(entries in proptest::collection::btree_map("[a-z0-9-]{1,20}", "[ -~]{0,300}", 0..12)) {
            let mut h = HeaderMap::new();
            let mut expected = 0;
            for (k, v) in &entries {
                let value = v.trim();
                h.insert(
                    http::HeaderName::from_bytes(format!("x-amz-meta-{k}").as_bytes()).unwrap(),
                    http::HeaderValue::from_str(value).unwrap(),
                );
                expected += k.len() + value.len();
            }
            prop_assert_eq!(user_metadata_size(&h), expected);
            prop_assert_eq!(check_user_metadata(&h).is_ok(), expected <= MAX_USER_METADATA_BYTES);
        }
    }
}
