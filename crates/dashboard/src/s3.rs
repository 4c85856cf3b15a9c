//! A small SigV4 S3 client: the dashboard acts on buckets and objects exactly as any S3 client does, signed
//! with the logged-in user's key and sent to a zone's endpoint, so every check of the S3 API applies.

use crate::error::{DashError, Result};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use futures::Stream;
use http::Method;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// Query values and path segments as SigV4 canonicalises them.
const ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ENCODE).to_string()
}

/// One access key at one zone endpoint.
#[derive(Clone, Debug)]
pub struct S3Client {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

/// A bucket as ListBuckets names it.
#[derive(Clone, Debug)]
pub struct BucketEntry {
    pub name: String,
    pub created: String,
}

#[derive(Clone, Debug, Default)]
pub struct ObjectEntry {
    pub key: String,
    pub size: u64,
    pub last_modified: String,
    pub etag: String,
}

/// One page of ListObjectsV2 with a delimiter: folders and objects.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub prefixes: Vec<String>,
    pub objects: Vec<ObjectEntry>,
    pub next_token: Option<String>,
}

/// A streamed answer (GetObject).
pub struct Streamed {
    pub headers: http::HeaderMap,
    pub body: std::pin::Pin<Box<dyn Stream<Item = std::result::Result<bytes::Bytes, std::io::Error>> + Send>>,
}

fn http_client() -> Result<&'static reqwest::Client> {
    static CLIENT: OnceLock<std::result::Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| DashError::Unreachable {
            endpoint: String::new(),
            message: e.clone(),
        })
}

/// A body to send: small documents are signed with their hash; streams go as UNSIGNED-PAYLOAD with their length.
pub enum Payload {
    Empty,
    Bytes(Vec<u8>),
    Stream { body: reqwest::Body, length: u64 },
}

impl S3Client {
    pub fn new(endpoint: &str, access_key: &str, secret_key: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
        }
    }

    fn url(&self, bucket: Option<&str>, key: Option<&str>, query: &[(&str, &str)]) -> String {
        let mut url = self.endpoint.clone();
        url.push('/');
        if let Some(b) = bucket {
            url.push_str(&enc(b));
            if let Some(k) = key {
                url.push('/');
                url.push_str(&k.split('/').map(enc).collect::<Vec<_>>().join("/"));
            }
        }
        if !query.is_empty() {
            let mut pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (enc(k), enc(v))).collect();
            pairs.sort();
            url.push('?');
            url.push_str(
                &pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&"),
            );
        }
        url
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> DashError {
        DashError::Unreachable {
            endpoint: self.endpoint.clone(),
            message: e.to_string(),
        }
    }

    /// Signs and sends one request; a non-2xx answer becomes the S3 error it carries.
    async fn send(
        &self,
        method: Method,
        url: &str,
        extra_headers: &[(&str, String)],
        payload: Payload,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response> {
        let parsed = url::Url::parse(url).map_err(|e| DashError::BadRequest(format!("bad url {url}: {e}")))?;
        let host = match parsed.port() {
            Some(p) => format!("{}:{p}", parsed.host_str().unwrap_or_default()),
            None => parsed.host_str().unwrap_or_default().to_string(),
        };
        let identity = Credentials::new(&self.access_key, &self.secret_key, None, None, "meridian-dashboard").into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| DashError::Internal(e.to_string()))?
            .into();
        let mut headers: Vec<(&str, &str)> = vec![("host", host.as_str())];
        for (k, v) in extra_headers {
            headers.push((k, v.as_str()));
        }
        let signable_body = match &payload {
            Payload::Empty => SignableBody::Bytes(&[]),
            Payload::Bytes(b) => SignableBody::Bytes(b),
            Payload::Stream { .. } => SignableBody::UnsignedPayload,
        };
        let signable = SignableRequest::new(method.as_str(), url, headers.into_iter(), signable_body)
            .map_err(|e| DashError::Internal(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| DashError::Internal(e.to_string()))?
            .into_parts();
        let (signed, _) = instructions.into_parts();
        let mut builder = http_client()?.request(method, url);
        if let Some(t) = timeout {
            builder = builder.timeout(t);
        }
        for h in signed {
            builder = builder.header(h.name(), h.value());
        }
        for (k, v) in extra_headers {
            builder = builder.header(*k, v.as_str());
        }
        builder = match payload {
            Payload::Empty => builder,
            Payload::Bytes(b) => builder.body(b),
            Payload::Stream { body, length } => builder.header(http::header::CONTENT_LENGTH, length).body(body),
        };
        let resp = builder.send().await.map_err(|e| self.unreachable(e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Err(parse_error(status, &text))
    }

    async fn text(&self, method: Method, url: &str, headers: &[(&str, String)], payload: Payload) -> Result<String> {
        let resp = self
            .send(method, url, headers, payload, Some(Duration::from_secs(30)))
            .await?;
        resp.text().await.map_err(|e| self.unreachable(e))
    }

    pub async fn list_buckets(&self) -> Result<Vec<BucketEntry>> {
        let xml = self
            .text(Method::GET, &self.url(None, None, &[]), &[], Payload::Empty)
            .await?;
        let doc = parse(&xml)?;
        Ok(doc
            .descendants()
            .filter(|n| n.has_tag_name("Bucket"))
            .map(|b| BucketEntry {
                name: child_text(b, "Name"),
                created: child_text(b, "CreationDate"),
            })
            .collect())
    }

    /// The bucket's LocationConstraint (the api_name of its zonegroup; empty for the default).
    pub async fn bucket_location(&self, bucket: &str) -> Result<String> {
        let url = self.url(Some(bucket), None, &[("location", "")]);
        let xml = self.text(Method::GET, &url, &[], Payload::Empty).await?;
        let doc = parse(&xml)?;
        Ok(doc.root_element().text().unwrap_or_default().trim().to_string())
    }

    pub async fn create_bucket(&self, bucket: &str, location: &str) -> Result<()> {
        let body = format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
            xml_escape(location)
        );
        self.text(
            Method::PUT,
            &self.url(Some(bucket), None, &[]),
            &[],
            Payload::Bytes(body.into_bytes()),
        )
        .await
        .map(drop)
    }

    pub async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        self.text(Method::DELETE, &self.url(Some(bucket), None, &[]), &[], Payload::Empty)
            .await
            .map(drop)
    }

    /// One page of the bucket below `prefix`, `/` as the delimiter.
    pub async fn list_objects(&self, bucket: &str, prefix: &str, token: Option<&str>) -> Result<Listing> {
        let mut q = vec![
            ("list-type", "2"),
            ("delimiter", "/"),
            ("prefix", prefix),
            ("max-keys", "1000"),
        ];
        if let Some(t) = token {
            q.push(("continuation-token", t));
        }
        let xml = self
            .text(Method::GET, &self.url(Some(bucket), None, &q), &[], Payload::Empty)
            .await?;
        let doc = parse(&xml)?;
        let root = doc.root_element();
        let truncated = child_text(root, "IsTruncated") == "true";
        Ok(Listing {
            prefixes: root
                .children()
                .filter(|n| n.has_tag_name("CommonPrefixes"))
                .map(|n| child_text(n, "Prefix"))
                .collect(),
            objects: root
                .children()
                .filter(|n| n.has_tag_name("Contents"))
                .map(|n| ObjectEntry {
                    key: child_text(n, "Key"),
                    size: child_text(n, "Size").parse().unwrap_or(0),
                    last_modified: child_text(n, "LastModified"),
                    etag: child_text(n, "ETag"),
                })
                .collect(),
            next_token: Some(child_text(root, "NextContinuationToken")).filter(|t| truncated && !t.is_empty()),
        })
    }

    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<http::HeaderMap> {
        let resp = self
            .send(
                Method::HEAD,
                &self.url(Some(bucket), Some(key), &[]),
                &[],
                Payload::Empty,
                Some(Duration::from_secs(30)),
            )
            .await?;
        Ok(resp.headers().clone())
    }

    /// GetObject, streamed: only connecting and each read are bounded in time.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Streamed> {
        let resp = self
            .send(
                Method::GET,
                &self.url(Some(bucket), Some(key), &[]),
                &[],
                Payload::Empty,
                None,
            )
            .await?;
        let headers = resp.headers().clone();
        let body = futures::StreamExt::map(resp.bytes_stream(), |c| c.map_err(std::io::Error::other));
        Ok(Streamed {
            headers,
            body: Box::pin(body),
        })
    }

    pub async fn put_object(&self, bucket: &str, key: &str, content_type: &str, payload: Payload) -> Result<String> {
        let resp = self
            .send(
                Method::PUT,
                &self.url(Some(bucket), Some(key), &[]),
                &[("content-type", content_type.to_string())],
                payload,
                None,
            )
            .await?;
        Ok(etag(resp.headers()))
    }

    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        self.text(
            Method::DELETE,
            &self.url(Some(bucket), Some(key), &[]),
            &[],
            Payload::Empty,
        )
        .await
        .map(drop)
    }

    pub async fn create_multipart(&self, bucket: &str, key: &str, content_type: &str) -> Result<String> {
        let xml = self
            .text(
                Method::POST,
                &self.url(Some(bucket), Some(key), &[("uploads", "")]),
                &[("content-type", content_type.to_string())],
                Payload::Empty,
            )
            .await?;
        let doc = parse(&xml)?;
        let id = child_text(doc.root_element(), "UploadId");
        if id.is_empty() {
            return Err(DashError::Internal("CreateMultipartUpload answered no UploadId".into()));
        }
        Ok(id)
    }

    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: u32,
        payload: Payload,
    ) -> Result<String> {
        let part = part.to_string();
        let resp = self
            .send(
                Method::PUT,
                &self.url(
                    Some(bucket),
                    Some(key),
                    &[("partNumber", &part), ("uploadId", upload_id)],
                ),
                &[],
                payload,
                None,
            )
            .await?;
        Ok(etag(resp.headers()))
    }

    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<()> {
        let mut body = String::from("<CompleteMultipartUpload>");
        for (n, etag) in parts {
            body.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                xml_escape(etag)
            ));
        }
        body.push_str("</CompleteMultipartUpload>");
        let xml = self
            .text(
                Method::POST,
                &self.url(Some(bucket), Some(key), &[("uploadId", upload_id)]),
                &[],
                Payload::Bytes(body.into_bytes()),
            )
            .await?;
        // CompleteMultipartUpload may answer 200 with an error document.
        if roxmltree::Document::parse(&xml).is_ok_and(|doc| doc.root_element().has_tag_name("Error")) {
            return Err(parse_error(500, &xml));
        }
        Ok(())
    }

    pub async fn abort_multipart(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()> {
        self.text(
            Method::DELETE,
            &self.url(Some(bucket), Some(key), &[("uploadId", upload_id)]),
            &[],
            Payload::Empty,
        )
        .await
        .map(drop)
    }
}

fn etag(headers: &http::HeaderMap) -> String {
    headers
        .get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn parse(xml: &str) -> Result<roxmltree::Document<'_>> {
    roxmltree::Document::parse(xml).map_err(|e| DashError::Internal(format!("unreadable S3 answer: {e}")))
}

fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> String {
    node.children()
        .find(|c| c.has_tag_name(name))
        .and_then(|c| c.text())
        .unwrap_or_default()
        .to_string()
}

/// The S3 error document (`<Error><Code>..`) of a failed request.
fn parse_error(status: u16, text: &str) -> DashError {
    let (code, message) = match roxmltree::Document::parse(text) {
        Ok(doc) => {
            let root = doc.root_element();
            (child_text(root, "Code"), child_text(root, "Message"))
        }
        Err(_) => (String::new(), text.chars().take(200).collect()),
    };
    DashError::S3 {
        status,
        code: if code.is_empty() { status.to_string() } else { code },
        message,
    }
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_keys_but_keep_slashes() {
        let c = S3Client::new("http://127.0.0.1:1/", "a", "b");
        assert_eq!(
            c.url(
                Some("b"),
                Some("dir/a b+c.txt"),
                &[("uploadId", "x/y"), ("partNumber", "2")]
            ),
            "http://127.0.0.1:1/b/dir/a%20b%2Bc.txt?partNumber=2&uploadId=x%2Fy"
        );
        assert_eq!(c.url(None, None, &[]), "http://127.0.0.1:1/");
    }

    #[test]
    fn error_documents_become_s3_errors() {
        match parse_error(403, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>") {
            DashError::S3 { status, code, message } => {
                assert_eq!((status, code.as_str(), message.as_str()), (403, "AccessDenied", "no"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
