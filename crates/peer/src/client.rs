//! A SigV4-signing JSON client for `/admin/...` of a peer zone or of the local running server.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use futures::StreamExt;
use meridian_proto::{AdminRequest, Call};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PeerError {
    #[error("{code}: {message}")]
    Remote { status: u16, code: String, message: String },
    #[error("cannot reach {endpoint}: {message}")]
    Unreachable { endpoint: String, message: String },
    #[error("bad endpoint {0}")]
    BadEndpoint(String),
    /// The peer answered 2xx with a document that is not the call's reply type (a version mismatch or a bug,
    /// never transient).
    #[error("{endpoint} answered {resource} with an unreadable document: {message}")]
    BadReply {
        endpoint: String,
        resource: String,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct PeerClient {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    /// Whole-request deadline; a peer that does not answer in time counts as unreachable.
    pub timeout: Duration,
}

impl PeerClient {
    pub fn new(endpoint: &str, access_key: &str, secret_key: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            timeout: Duration::from_secs(30),
        }
    }

    /// Sends an admin request and returns its JSON answer.
    pub async fn send(&self, req: &AdminRequest) -> Result<Value, PeerError> {
        let resp = self
            .signed(req)?
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| self.unreachable(e))?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status >= 300 {
            return Err(remote_error(status, &value));
        }
        Ok(value)
    }

    /// Makes one typed call: sends its request and decodes the handler's reply type.
    pub async fn call<C: Call>(&self, call: &C) -> Result<C::Reply, PeerError> {
        let req = call.request();
        let value = self.send(&req).await?;
        serde_json::from_value(value).map_err(|e| PeerError::BadReply {
            endpoint: self.endpoint.clone(),
            resource: req.resource.clone(),
            message: e.to_string(),
        })
    }

    /// Sends an admin request whose answer is a byte stream (an object's bytes): the headers come back at
    /// once, the body as it arrives. Only the connection and each read are bounded in time, so large
    /// bodies are not cut by the whole-request deadline.
    pub async fn send_streaming(&self, req: &AdminRequest) -> Result<StreamingReply, PeerError> {
        let resp = self.signed(req)?.send().await.map_err(|e| self.unreachable(e))?;
        let status = resp.status().as_u16();
        if status >= 300 {
            let text = resp.text().await.map_err(|e| self.unreachable(e))?;
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Err(remote_error(status, &value));
        }
        let headers = resp.headers().clone();
        let endpoint = self.endpoint.clone();
        let body = resp.bytes_stream().map(move |chunk| {
            chunk.map_err(|e| {
                std::io::Error::other(PeerError::Unreachable {
                    endpoint: endpoint.clone(),
                    message: e.to_string(),
                })
            })
        });
        Ok(StreamingReply {
            headers,
            body: Box::pin(body),
        })
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> PeerError {
        PeerError::Unreachable {
            endpoint: self.endpoint.clone(),
            message: e.to_string(),
        }
    }

    /// The request, signed with SigV4 (payload hash included) for the peer's `/admin/` resource.
    fn signed(&self, req: &AdminRequest) -> Result<reqwest::RequestBuilder, PeerError> {
        let mut url = url::Url::parse(&format!("{}/admin/{}", self.endpoint, req.resource))
            .map_err(|e| PeerError::BadEndpoint(format!("{}: {e}", self.endpoint)))?;
        if !req.params.is_empty() {
            url.query_pairs_mut().extend_pairs(req.params.iter());
        }
        let body = match &req.body {
            Some(v) => serde_json::to_vec(v).map_err(|e| self.unreachable(e))?,
            None => Vec::new(),
        };
        let identity = Credentials::new(&self.access_key, &self.secret_key, None, None, "meridian").into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| self.unreachable(e))?
            .into();
        let host = url.host_str().unwrap_or_default().to_string();
        let host = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let headers = [("host", host.as_str())];
        let signable = SignableRequest::new(
            req.method.as_str(),
            url.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| self.unreachable(e))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| self.unreachable(e))?.into_parts();
        let (signed_headers, _) = instructions.into_parts();
        let mut builder = http_client()
            .map_err(|e| self.unreachable(e))?
            .request(req.method.clone(), url.as_str());
        for h in signed_headers {
            builder = builder.header(h.name(), h.value());
        }
        if req.body.is_some() {
            builder = builder.header("content-type", "application/json").body(body);
        }
        Ok(builder)
    }
}

/// An answer whose body streams.
pub struct StreamingReply {
    pub headers: http::HeaderMap,
    pub body: std::pin::Pin<Box<dyn futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + Sync>>,
}

/// One connection pool for every peer conversation of the process (sync agents make many small requests).
fn http_client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn remote_error(status: u16, value: &Value) -> PeerError {
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
    // S3-layer refusals (a bad signature, ...) come back as an XML `<Error>` document, not JSON.
    let xml = value
        .as_str()
        .and_then(|text| quick_xml::de::from_str::<XmlError>(text).ok());
    PeerError::Remote {
        status,
        code: field("Code")
            .or_else(|| xml.as_ref().and_then(|x| x.code.clone()))
            .unwrap_or_else(|| status.to_string()),
        message: field("Message")
            .or_else(|| xml.and_then(|x| x.message))
            .unwrap_or_else(|| value.to_string()),
    }
}

/// The fields of an S3 `<Error>` document a remote error keeps.
#[derive(serde::Deserialize)]
struct XmlError {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_errors_keep_code_and_message() {
        let body = Value::String(
            "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>a &amp; b</Message>\
             <RequestId>r1</RequestId></Error>"
                .into(),
        );
        match remote_error(403, &body) {
            PeerError::Remote { status, code, message } => {
                assert_eq!(
                    (status, code.as_str(), message.as_str()),
                    (403, "SignatureDoesNotMatch", "a & b")
                );
            }
            other => panic!("{other:?}"),
        }
        match remote_error(502, &Value::String("<html>bad gateway</html>".into())) {
            PeerError::Remote { code, .. } => assert_eq!(code, "502"),
            other => panic!("{other:?}"),
        }
    }
}
