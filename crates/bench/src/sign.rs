//! AWS Signature Version 4 for the load generator's requests, through the `aws-sigv4` crate. Requests are signed
//! with `x-amz-content-sha256: UNSIGNED-PAYLOAD`, so bodies are never hashed on the client.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

/// What the `x-amz-content-sha256` header and the canonical request carry for the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// `UNSIGNED-PAYLOAD`: what the load generator sends.
    Unsigned,
    /// A hex SHA-256 the caller computed (used by the AWS test vectors).
    Sha256Hex(&'a str),
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("a header value is not visible ASCII: {0}")]
    HeaderValue(String),
    #[error("signing parameters: {0}")]
    Params(String),
    #[error("signing: {0}")]
    Sign(String),
}

/// Signs requests for one key pair and region, service `s3`.
#[derive(Debug)]
pub struct Signer {
    identity: Identity,
    region: String,
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str, region: &str) -> Self {
        let creds = Credentials::new(access_key, secret_key, None, None, "meridian-bench");
        Signer {
            identity: creds.into(),
            region: region.to_string(),
        }
    }

    /// Adds `x-amz-date`, `x-amz-content-sha256` and `authorization` to `headers` for a request of `method` to
    /// `uri` at `time`. Every header already in `headers` (with the default exclusions of `aws-sigv4`, such as
    /// `user-agent`) is signed, so `host` should be there already. Returns the signature (hex).
    pub fn sign(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &mut HeaderMap,
        payload: Payload<'_>,
        time: SystemTime,
    ) -> Result<String, SignError> {
        let mut settings = SigningSettings::default();
        // S3 wants the path encoded once and never normalized, and the payload hash as a header.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;

        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| SignError::Params(e.to_string()))?
            .into();

        let mut pairs = Vec::with_capacity(headers.len());
        for (name, value) in headers.iter() {
            let value = value.to_str().map_err(|_| SignError::HeaderValue(name.to_string()))?;
            pairs.push((name.as_str(), value));
        }
        let body = match payload {
            Payload::Unsigned => SignableBody::UnsignedPayload,
            Payload::Sha256Hex(hex) => SignableBody::Precomputed(hex.to_string()),
        };
        let uri_text = uri.to_string();
        let signable = SignableRequest::new(method.as_str(), &uri_text, pairs.into_iter(), body)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        let (instructions, signature) = sign(signable, &params)
            .map_err(|e| SignError::Sign(e.to_string()))?
            .into_parts();
        let (new_headers, _query) = instructions.into_parts();
        for header in new_headers {
            let name = HeaderName::from_bytes(header.name().as_bytes())
                .map_err(|_| SignError::HeaderValue(header.name().to_string()))?;
            let mut value =
                HeaderValue::from_str(header.value()).map_err(|_| SignError::HeaderValue(header.name().to_string()))?;
            value.set_sensitive(header.sensitive());
            headers.insert(name, value);
        }
        Ok(signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    // The worked examples of "Signature Calculations for the Authorization Header" in the Amazon S3 API
    // reference: bucket `examplebucket`, 2013-05-24T00:00:00Z, the documentation's example key pair.
    const ACCESS: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const HOST: &str = "examplebucket.s3.amazonaws.com";

    fn may_24_2013() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_369_353_600)
    }

    fn sign_example(method: Method, uri: &str, extra: &[(&str, &str)]) -> (String, HeaderMap) {
        let signer = Signer::new(ACCESS, SECRET, "us-east-1");
        let uri: Uri = uri.parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_static(HOST));
        for (k, v) in extra {
            headers.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let sig = signer
            .sign(
                &method,
                &uri,
                &mut headers,
                Payload::Sha256Hex(EMPTY_SHA256),
                may_24_2013(),
            )
            .unwrap();
        (sig, headers)
    }

    #[test]
    fn aws_example_get_object() {
        let (sig, headers) = sign_example(
            Method::GET,
            "http://examplebucket.s3.amazonaws.com/test.txt",
            &[("range", "bytes=0-9")],
        );
        assert_eq!(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        assert_eq!(
            headers["authorization"].to_str().unwrap(),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(headers["x-amz-date"], "20130524T000000Z");
        assert_eq!(headers["x-amz-content-sha256"], EMPTY_SHA256);
    }

    #[test]
    fn aws_example_list_objects_sorts_the_query() {
        let (sig, _) = sign_example(
            Method::GET,
            "http://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
            &[],
        );
        assert_eq!(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
        // The same request with its parameters in another order has the same signature.
        let (sig2, _) = sign_example(
            Method::GET,
            "http://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2",
            &[],
        );
        assert_eq!(sig, sig2);
    }

    #[test]
    fn aws_example_bucket_lifecycle_valueless_parameter() {
        let (sig, _) = sign_example(Method::GET, "http://examplebucket.s3.amazonaws.com/?lifecycle", &[]);
        assert_eq!(sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    }

    #[test]
    fn unsigned_payload_header() {
        let signer = Signer::new(ACCESS, SECRET, "eu-west-1");
        let uri: Uri = "http://127.0.0.1:7480/b/k".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_static("127.0.0.1:7480"));
        let sig = signer
            .sign(&Method::PUT, &uri, &mut headers, Payload::Unsigned, may_24_2013())
            .unwrap();
        assert_eq!(headers["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
        let auth = headers["authorization"].to_str().unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/eu-west-1/s3/aws4_request, \
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
            ),
            "{auth}"
        );
        assert!(auth.ends_with(&sig));
        assert_eq!(sig.len(), 64);
        // A different secret gives a different signature.
        let other = Signer::new(ACCESS, "another-secret", "eu-west-1");
        let mut h2 = HeaderMap::new();
        h2.insert(http::header::HOST, HeaderValue::from_static("127.0.0.1:7480"));
        let sig2 = other
            .sign(&Method::PUT, &uri, &mut h2, Payload::Unsigned, may_24_2013())
            .unwrap();
        assert_ne!(sig, sig2);
    }
}

/// Cost of signing one request: `cargo test --release -p meridian-bench --lib time_signing -- --ignored
/// --nocapture` (about 15 µs with aws-sigv4 on the 2-core development machine).
#[cfg(test)]
mod timing {
    use super::*;
    #[test]
    #[ignore]
    fn time_signing() {
        let signer = Signer::new("AKIAIOSFODNN7EXAMPLE", "secret", "us-east-1");
        let uri: Uri = "http://127.0.0.1:7480/meridian-bench/bench-1234/obj-00000001"
            .parse()
            .unwrap();
        let n = 20000;
        let start = std::time::Instant::now();
        for _ in 0..n {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::HOST, HeaderValue::from_static("127.0.0.1:7480"));
            signer
                .sign(&Method::GET, &uri, &mut headers, Payload::Unsigned, SystemTime::now())
                .unwrap();
        }
        eprintln!("sign: {:?} per request", start.elapsed() / n);
    }
}
