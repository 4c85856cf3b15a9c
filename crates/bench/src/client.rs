//! The S3 client of the load generator: path-style requests over the hyper-util pooled HTTP/1.1 client
//! (keep-alive), SigV4-signed with UNSIGNED-PAYLOAD. Request bodies are `RepeatBody`s cut from a shared buffer
//! by refcount, answer bodies are drained and counted frame by frame without copying. Any non-2xx answer is an
//! error, classified by status and S3 error code.

use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_TYPE, ETAG, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::body::RepeatBody;
use crate::error::{ErrorKind, RequestError};
use crate::sign::{Payload, Signer};
use crate::units::format_duration;
use crate::xml::{self, ListPage};

/// Why the client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid endpoint {0:?}: expected http://HOST[:PORT]")]
    InvalidEndpoint(String),
    #[error(
        "endpoint {0:?}: https is not supported by the load generator; use an http:// endpoint \
         (or a local TLS-terminating proxy)"
    )]
    Https(String),
}

/// Where requests go: `http://host:port`, and the `Host` header that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub base: String,
    pub host: String,
}

/// Parses `--endpoint`: http only, no path (a trailing `/` is fine).
pub fn parse_endpoint(text: &str) -> Result<Endpoint, ClientError> {
    let uri: Uri = text
        .trim()
        .parse()
        .map_err(|_| ClientError::InvalidEndpoint(text.to_string()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(ClientError::Https(text.to_string())),
        _ => return Err(ClientError::InvalidEndpoint(text.to_string())),
    }
    let authority = uri
        .authority()
        .ok_or_else(|| ClientError::InvalidEndpoint(text.to_string()))?;
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(ClientError::InvalidEndpoint(text.to_string()));
    }
    // The Host header hyper would send: the port is left out when it is the scheme's default.
    let host = match authority.port_u16() {
        Some(80) | None => authority.host().to_string(),
        Some(port) => format!("{}:{port}", authority.host()),
    };
    Ok(Endpoint {
        base: format!("http://{authority}"),
        host,
    })
}

/// Percent-encodes like SigV4's `UriEncode`: everything but `A-Za-z0-9-_.~` (and `/` when `keep_slash`).
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A request that succeeded: bytes of body moved (sent for uploads, received for downloads) and the time to
/// the answer's headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Done {
    pub bytes: u64,
    pub ttfb: Duration,
}

/// What to do with a 2xx answer's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyMode {
    /// Count the bytes and drop them.
    Drain,
    /// Keep them (XML answers).
    Collect,
}

struct Answer {
    headers: HeaderMap,
    body: Bytes,
    received: u64,
    ttfb: Duration,
}

/// At most this much of an error answer's body is read.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A signed S3 client for one endpoint and bucket.
pub struct S3Client {
    http: Client<HttpConnector, RepeatBody>,
    signer: Signer,
    endpoint: Endpoint,
    host: HeaderValue,
    bucket: String,
    timeout: Duration,
}

impl S3Client {
    pub fn new(
        endpoint: Endpoint,
        signer: Signer,
        bucket: &str,
        max_connections: usize,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let host =
            HeaderValue::from_str(&endpoint.host).map_err(|_| ClientError::InvalidEndpoint(endpoint.base.clone()))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(max_connections)
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(S3Client {
            http,
            signer,
            endpoint,
            host,
            bucket: bucket.to_string(),
            timeout,
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn object_path(&self, key: &str) -> String {
        format!("/{}/{}", uri_encode(&self.bucket, false), uri_encode(key, true))
    }

    fn bucket_path(&self) -> String {
        format!("/{}", uri_encode(&self.bucket, false))
    }

    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: RepeatBody,
        content_type: Option<&'static str>,
        mode: BodyMode,
    ) -> Result<Answer, RequestError> {
        match tokio::time::timeout(
            self.timeout,
            self.send_inner(method, path_and_query, body, content_type, mode),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(RequestError::new(
                ErrorKind::Timeout,
                format!("no complete answer within {}", format_duration(self.timeout)),
            )),
        }
    }

    async fn send_inner(
        &self,
        method: Method,
        path_and_query: &str,
        body: RepeatBody,
        content_type: Option<&'static str>,
        mode: BodyMode,
    ) -> Result<Answer, RequestError> {
        let uri: Uri = format!("{}{}", self.endpoint.base, path_and_query)
            .parse()
            .map_err(|e| RequestError::new(ErrorKind::Client, format!("bad URI: {e}")))?;
        let mut headers = HeaderMap::with_capacity(6);
        headers.insert(HOST, self.host.clone());
        if let Some(ct) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        self.signer
            .sign(&method, &uri, &mut headers, Payload::Unsigned, SystemTime::now())
            .map_err(|e| RequestError::new(ErrorKind::Client, e.to_string()))?;
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .map_err(|e| RequestError::new(ErrorKind::Client, e.to_string()))?;
        *request.headers_mut() = headers;

        let start = Instant::now();
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| RequestError::from_client(&e))?;
        let ttfb = start.elapsed();
        let status = response.status();
        let (parts, incoming) = response.into_parts();
        if !status.is_success() {
            let body = read_error_body(incoming).await;
            return Err(RequestError::from_response(status.as_u16(), &body));
        }
        let (body, received) = match mode {
            BodyMode::Drain => (Bytes::new(), drain(incoming).await?),
            BodyMode::Collect => {
                let body = incoming
                    .collect()
                    .await
                    .map_err(|e| RequestError::from_body(&e))?
                    .to_bytes();
                let len = body.len() as u64;
                (body, len)
            }
        };
        Ok(Answer {
            headers: parts.headers,
            body,
            received,
            ttfb,
        })
    }

    /// PUT Object from a shared buffer.
    pub async fn put_object(&self, key: &str, body: RepeatBody) -> Result<Done, RequestError> {
        self.put_object_etag(key, body).await.map(|(_, done)| done)
    }

    /// PUT Object, also returning the ETag the server answered (`None` if it sent none).
    pub async fn put_object_etag(&self, key: &str, body: RepeatBody) -> Result<(Option<String>, Done), RequestError> {
        let len = body.len();
        let answer = self
            .send(Method::PUT, &self.object_path(key), body, None, BodyMode::Drain)
            .await?;
        Ok((
            etag_of(&answer.headers),
            Done {
                bytes: len,
                ttfb: answer.ttfb,
            },
        ))
    }

    /// GET Object, body drained; `expected` (when known) is checked against the bytes received.
    pub async fn get_object(&self, key: &str, expected: Option<u64>) -> Result<Done, RequestError> {
        let answer = self
            .send(
                Method::GET,
                &self.object_path(key),
                RepeatBody::empty(),
                None,
                BodyMode::Drain,
            )
            .await?;
        if let Some(size) = expected {
            if answer.received != size {
                return Err(RequestError::new(
                    ErrorKind::SizeMismatch,
                    format!("{key}: got {} bytes, expected {size}", answer.received),
                ));
            }
        }
        Ok(Done {
            bytes: answer.received,
            ttfb: answer.ttfb,
        })
    }

    /// HEAD Object.
    pub async fn head_object(&self, key: &str) -> Result<Done, RequestError> {
        self.head_object_etag(key).await.map(|(_, done)| done)
    }

    /// HEAD Object, also returning the object's ETag (`None` if the answer had none).
    pub async fn head_object_etag(&self, key: &str) -> Result<(Option<String>, Done), RequestError> {
        let answer = self
            .send(
                Method::HEAD,
                &self.object_path(key),
                RepeatBody::empty(),
                None,
                BodyMode::Drain,
            )
            .await?;
        Ok((
            etag_of(&answer.headers),
            Done {
                bytes: 0,
                ttfb: answer.ttfb,
            },
        ))
    }

    /// A signed GET of any path (an admin API read, say), its whole answer collected.
    pub async fn get_collect(&self, path_and_query: &str) -> Result<(Bytes, Done), RequestError> {
        let answer = self
            .send(
                Method::GET,
                path_and_query,
                RepeatBody::empty(),
                None,
                BodyMode::Collect,
            )
            .await?;
        Ok((
            answer.body,
            Done {
                bytes: answer.received,
                ttfb: answer.ttfb,
            },
        ))
    }

    /// DELETE Object.
    pub async fn delete_object(&self, key: &str) -> Result<Done, RequestError> {
        let answer = self
            .send(
                Method::DELETE,
                &self.object_path(key),
                RepeatBody::empty(),
                None,
                BodyMode::Drain,
            )
            .await?;
        Ok(Done {
            bytes: 0,
            ttfb: answer.ttfb,
        })
    }

    /// One ListObjectsV2 page under `prefix`.
    pub async fn list_page(
        &self,
        prefix: &str,
        token: Option<&str>,
        max_keys: u32,
    ) -> Result<(ListPage, Done), RequestError> {
        let mut query = format!(
            "{}?list-type=2&max-keys={max_keys}&prefix={}",
            self.bucket_path(),
            uri_encode(prefix, false)
        );
        if let Some(token) = token {
            query.push_str("&continuation-token=");
            query.push_str(&uri_encode(token, false));
        }
        let answer = self
            .send(Method::GET, &query, RepeatBody::empty(), None, BodyMode::Collect)
            .await?;
        let page = xml::parse_list_page(&answer.body).ok_or_else(|| {
            RequestError::new(
                ErrorKind::BadResponse,
                format!(
                    "unreadable ListObjectsV2 answer: {}",
                    String::from_utf8_lossy(&answer.body[..answer.body.len().min(200)])
                ),
            )
        })?;
        if page.is_truncated && page.next_token.is_none() {
            return Err(RequestError::new(
                ErrorKind::BadResponse,
                "truncated ListObjectsV2 page without NextContinuationToken",
            ));
        }
        Ok((
            page,
            Done {
                bytes: answer.received,
                ttfb: answer.ttfb,
            },
        ))
    }

    /// HEAD Bucket.
    pub async fn head_bucket(&self) -> Result<Done, RequestError> {
        let answer = self
            .send(
                Method::HEAD,
                &self.bucket_path(),
                RepeatBody::empty(),
                None,
                BodyMode::Drain,
            )
            .await?;
        Ok(Done {
            bytes: 0,
            ttfb: answer.ttfb,
        })
    }

    /// PUT Bucket, with a LocationConstraint unless the region is us-east-1.
    pub async fn create_bucket(&self, region: &str) -> Result<Done, RequestError> {
        let body = if region == "us-east-1" || region.is_empty() {
            RepeatBody::empty()
        } else {
            RepeatBody::from_bytes(Bytes::from(format!(
                "<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint>\
                 </CreateBucketConfiguration>"
            )))
        };
        let answer = self
            .send(Method::PUT, &self.bucket_path(), body, None, BodyMode::Drain)
            .await?;
        Ok(Done {
            bytes: 0,
            ttfb: answer.ttfb,
        })
    }

    /// DELETE Bucket.
    pub async fn delete_bucket(&self) -> Result<Done, RequestError> {
        let answer = self
            .send(
                Method::DELETE,
                &self.bucket_path(),
                RepeatBody::empty(),
                None,
                BodyMode::Drain,
            )
            .await?;
        Ok(Done {
            bytes: 0,
            ttfb: answer.ttfb,
        })
    }

    /// CreateMultipartUpload: the upload id.
    pub async fn create_multipart(&self, key: &str) -> Result<String, RequestError> {
        let answer = self
            .send(
                Method::POST,
                &format!("{}?uploads", self.object_path(key)),
                RepeatBody::empty(),
                None,
                BodyMode::Collect,
            )
            .await?;
        xml::parse_upload_id(&answer.body)
            .ok_or_else(|| RequestError::new(ErrorKind::BadResponse, "CreateMultipartUpload answer without UploadId"))
    }

    /// UploadPart: the part's ETag as the server sent it.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: RepeatBody,
    ) -> Result<(String, Done), RequestError> {
        let len = body.len();
        let path = format!(
            "{}?partNumber={part_number}&uploadId={}",
            self.object_path(key),
            uri_encode(upload_id, false)
        );
        let answer = self.send(Method::PUT, &path, body, None, BodyMode::Drain).await?;
        let etag = etag_of(&answer.headers)
            .ok_or_else(|| RequestError::new(ErrorKind::BadResponse, "UploadPart answer without ETag"))?;
        Ok((
            etag,
            Done {
                bytes: len,
                ttfb: answer.ttfb,
            },
        ))
    }

    /// CompleteMultipartUpload. A 200 whose body is an `<Error>` (S3 does that) is an error.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Done, RequestError> {
        let path = format!("{}?uploadId={}", self.object_path(key), uri_encode(upload_id, false));
        let body = RepeatBody::from_bytes(Bytes::from(xml::complete_multipart_body(parts)));
        let answer = self
            .send(Method::POST, &path, body, Some("application/xml"), BodyMode::Collect)
            .await?;
        if let Some(err) = xml::parse_error(&answer.body) {
            return Err(RequestError::new(
                ErrorKind::Http {
                    status: 200,
                    code: err.code,
                },
                err.message.unwrap_or_else(|| "error inside a 200 answer".to_string()),
            ));
        }
        Ok(Done {
            bytes: 0,
            ttfb: answer.ttfb,
        })
    }

    /// AbortMultipartUpload.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<Done, RequestError> {
        let path = format!("{}?uploadId={}", self.object_path(key), uri_encode(upload_id, false));
        let answer = self
            .send(Method::DELETE, &path, RepeatBody::empty(), None, BodyMode::Drain)
            .await?;
        Ok(Done {
            bytes: 0,
            ttfb: answer.ttfb,
        })
    }
}

/// The `ETag` header of an answer, as sent (quotes included).
fn etag_of(headers: &HeaderMap) -> Option<String> {
    headers.get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Reads a body to its end, counting bytes; each frame is dropped as soon as it is counted.
async fn drain(mut body: Incoming) -> Result<u64, RequestError> {
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| RequestError::from_body(&e))?;
        if let Some(data) = frame.data_ref() {
            received += data.len() as u64;
        }
    }
    Ok(received)
}

/// Reads up to `ERROR_BODY_LIMIT` bytes of an error answer; an unreadable body reads as empty.
async fn read_error_body(mut body: Incoming) -> Bytes {
    let mut out = BytesMut::new();
    while out.len() < ERROR_BODY_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let room = ERROR_BODY_LIMIT - out.len();
                    out.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("http://127.0.0.1:7480").unwrap(),
            Endpoint {
                base: "http://127.0.0.1:7480".into(),
                host: "127.0.0.1:7480".into()
            }
        );
        assert_eq!(
            parse_endpoint("http://s3.us-east-1.amazonaws.com/").unwrap(),
            Endpoint {
                base: "http://s3.us-east-1.amazonaws.com".into(),
                host: "s3.us-east-1.amazonaws.com".into()
            }
        );
        assert_eq!(parse_endpoint("http://localhost:80").unwrap().host, "localhost");
        assert!(matches!(
            parse_endpoint("https://s3.amazonaws.com"),
            Err(ClientError::Https(_))
        ));
        assert!(matches!(
            parse_endpoint("127.0.0.1:7480"),
            Err(ClientError::InvalidEndpoint(_))
        ));
        assert!(matches!(
            parse_endpoint("http://host/path"),
            Err(ClientError::InvalidEndpoint(_))
        ));
    }

    #[test]
    fn encoding() {
        assert_eq!(uri_encode("bench-1/obj-00000001", true), "bench-1/obj-00000001");
        assert_eq!(uri_encode("a b/c+d=é~", true), "a%20b/c%2Bd%3D%C3%A9~");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(uri_encode("2~abc/def+=", false), "2~abc%2Fdef%2B%3D");
    }
}
