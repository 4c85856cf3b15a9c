//! S3 additional checksums (`x-amz-checksum-crc32`, `-crc32c`, `-crc64nvme`, `-sha1`, `-sha256`): the one a
//! request names (a header, or a trailer of an aws-chunked body announced by `x-amz-trailer`, or only an
//! algorithm by `x-amz-sdk-checksum-algorithm`) is computed while the body streams and compared at its end;
//! a mismatch fails the body, so nothing is stored. The verified value is kept with the object or part.
//! A multipart object's checksum is made from its parts': composite (the digest of the part digests, `-N`)
//! or, for the CRCs when asked, the CRC of the whole object combined from the parts' CRCs.

use base64::Engine;
use bytes::Bytes;
use futures::Stream;
use http::HeaderMap;
use meridian_gateway::objects::ChecksumSlot;
use meridian_gateway::{BoxError, ByteStream as BodyStream};
use meridian_model::{MultipartUpload, ObjectChecksum, PartMeta};
use s3s::crypto::{Checksum as _, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
use s3s::{S3Error, S3ErrorCode};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

pub const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::Crc32,
    Algorithm::Crc32c,
    Algorithm::Crc64Nvme,
    Algorithm::Sha1,
    Algorithm::Sha256,
];

impl Algorithm {
    pub fn parse(name: &str) -> Option<Self> {
        ALGORITHMS
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Self::Sha1 => "x-amz-checksum-sha1",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    fn crc(self) -> Option<crc_fast::CrcAlgorithm> {
        match self {
            Self::Crc32 => Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
            Self::Crc32c => Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
            Self::Crc64Nvme => Some(crc_fast::CrcAlgorithm::Crc64Nvme),
            Self::Sha1 | Self::Sha256 => None,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = Hasher::new(self);
        h.update(data);
        h.finalize()
    }
}

enum Hasher {
    Crc32(Crc32),
    Crc32c(Crc32c),
    Crc64Nvme(Crc64Nvme),
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Hasher {
    fn new(alg: Algorithm) -> Self {
        match alg {
            Algorithm::Crc32 => Self::Crc32(Crc32::new()),
            Algorithm::Crc32c => Self::Crc32c(Crc32c::new()),
            Algorithm::Crc64Nvme => Self::Crc64Nvme(Crc64Nvme::new()),
            Algorithm::Sha1 => Self::Sha1(Sha1::new()),
            Algorithm::Sha256 => Self::Sha256(Sha256::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Crc32(h) => h.update(data),
            Self::Crc32c(h) => h.update(data),
            Self::Crc64Nvme(h) => h.update(data),
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
        }
    }

    fn finalize(self) -> Vec<u8> {
        match self {
            Self::Crc32(h) => h.finalize().to_vec(),
            Self::Crc32c(h) => h.finalize().to_vec(),
            Self::Crc64Nvme(h) => h.finalize().to_vec(),
            Self::Sha1(h) => h.finalize().as_ref().to_vec(),
            Self::Sha256(h) => h.finalize().as_ref().to_vec(),
        }
    }
}

fn invalid_request(msg: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidRequest, msg.into())
}

/// Where the expected value comes from.
#[derive(Debug, Clone)]
enum Expected {
    /// Only the algorithm was named: the computed value is kept, nothing is compared.
    Nothing,
    Header(String),
    Trailer,
}

/// The checksum a PUT or UploadPart asks for.
#[derive(Debug, Clone)]
pub struct Requested {
    pub algorithm: Algorithm,
    expected: Expected,
}

/// Reads the checksum a request names from its headers; `Ok(None)` when it names none.
pub fn requested(headers: &HeaderMap) -> Result<Option<Requested>, S3Error> {
    let mut given: Vec<(Algorithm, String)> = Vec::new();
    for alg in ALGORITHMS {
        for v in headers.get_all(alg.header()) {
            let text = v
                .to_str()
                .map_err(|_| invalid_request(format!("Value for {} header is invalid.", alg.header())))?;
            given.push((alg, text.trim().to_string()));
        }
    }
    if given.len() > 1 {
        return Err(invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        ));
    }
    let sdk = match headers.get("x-amz-sdk-checksum-algorithm") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(Algorithm::parse)
                .ok_or_else(|| invalid_request("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"))?,
        ),
        None => None,
    };
    let trailer = headers
        .get_all("x-amz-trailer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| v.starts_with("x-amz-checksum-"))
        .collect::<Vec<_>>();
    if trailer.len() > 1 || (!trailer.is_empty() && !given.is_empty()) {
        return Err(invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        ));
    }
    let found = if let Some((alg, value)) = given.pop() {
        let ok = B64.decode(&value).is_ok_and(|raw| raw.len() == alg.digest_len());
        if !ok {
            return Err(invalid_request(format!(
                "Value for {} header is invalid.",
                alg.header()
            )));
        }
        Some(Requested {
            algorithm: alg,
            expected: Expected::Header(value),
        })
    } else if let Some(name) = trailer.first() {
        let alg = ALGORITHMS.into_iter().find(|a| a.header() == name).ok_or_else(|| {
            invalid_request(format!(
                "The value specified in the x-amz-trailer header is not supported: {name}"
            ))
        })?;
        Some(Requested {
            algorithm: alg,
            expected: Expected::Trailer,
        })
    } else {
        sdk.map(|alg| Requested {
            algorithm: alg,
            expected: Expected::Nothing,
        })
    };
    if let (Some(sdk), Some(found)) = (sdk, &found) {
        if sdk != found.algorithm {
            return Err(invalid_request(format!(
                "Value for x-amz-sdk-checksum-algorithm header is invalid: {} does not match the {} checksum sent",
                sdk.name(),
                found.algorithm.name()
            )));
        }
    }
    Ok(found)
}

/// The outcome of a checked body, read after the gateway call.
#[derive(Debug, Default, Clone)]
pub struct Verdict(Arc<Mutex<Option<S3Error>>>);

impl Verdict {
    fn fail(&self, e: S3Error) {
        if let Ok(mut g) = self.0.lock() {
            g.get_or_insert(e);
        }
    }

    /// The S3 error the body failed with, if it failed on its checksum.
    pub fn failure(&self) -> Option<S3Error> {
        self.0.lock().ok().and_then(|mut g| g.take())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ChecksumFault(String);

/// A request body that computes the requested checksum and, at its end, compares it and fills `slot`.
pub struct Checked {
    inner: BodyStream,
    hasher: Option<Hasher>,
    requested: Requested,
    trailers: Option<s3s::TrailingHeaders>,
    slot: ChecksumSlot,
    verdict: Verdict,
}

/// Wraps `body` so that it verifies `requested`; returns the body, the slot for the gateway and the verdict.
pub fn checked(
    body: BodyStream,
    requested: Requested,
    trailers: Option<s3s::TrailingHeaders>,
) -> (BodyStream, ChecksumSlot, Verdict) {
    let slot = ChecksumSlot::default();
    let verdict = Verdict::default();
    let stream = Checked {
        inner: body,
        hasher: Some(Hasher::new(requested.algorithm)),
        requested,
        trailers,
        slot: slot.clone(),
        verdict: verdict.clone(),
    };
    (Box::pin(stream), slot, verdict)
}

impl Checked {
    fn finish(&mut self) -> Result<(), S3Error> {
        let Some(hasher) = self.hasher.take() else {
            return Ok(());
        };
        let alg = self.requested.algorithm;
        let computed = B64.encode(hasher.finalize());
        let expected = match &self.requested.expected {
            Expected::Nothing => None,
            Expected::Header(v) => Some(v.clone()),
            Expected::Trailer => {
                let value = self
                    .trailers
                    .as_ref()
                    .and_then(|t| t.read(|h| h.get(alg.header()).and_then(|v| v.to_str().ok()).map(str::to_string)))
                    .flatten();
                match value {
                    Some(v) => Some(v.trim().to_string()),
                    None => {
                        return Err(invalid_request(format!(
                            "The x-amz-trailer header named {} but the body carried no such trailer.",
                            alg.header()
                        )))
                    }
                }
            }
        };
        if let Some(expected) = expected {
            if expected != computed {
                let mut e = S3Error::with_message(
                    S3ErrorCode::BadDigest,
                    format!(
                        "The {} you specified did not match the calculated checksum.",
                        alg.name()
                    ),
                );
                e.set_status_code(http::StatusCode::BAD_REQUEST);
                return Err(e);
            }
        }
        let _ = self.slot.set(ObjectChecksum {
            algorithm: alg.name().to_string(),
            value: computed,
            composite: false,
        });
        Ok(())
    }
}

impl Stream for Checked {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(h) = this.hasher.as_mut() {
                    h.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => match this.finish() {
                Ok(()) => Poll::Ready(None),
                Err(e) => {
                    let msg = e.message().unwrap_or("checksum mismatch").to_string();
                    this.verdict.fail(e);
                    Poll::Ready(Some(Err(Box::new(ChecksumFault(msg)))))
                }
            },
            other => other,
        }
    }
}

/// The object checksum of a completed multipart upload, from its parts' checksums: composite (AWS's
/// default for CRC32, CRC32C, SHA1, SHA256) or full-object (CRC64NVME, or `x-amz-checksum-type:
/// FULL_OBJECT` with a CRC). `None` when the upload named no algorithm or a part lacks its checksum.
pub fn combine(upload: &MultipartUpload, parts: &[PartMeta]) -> Option<ObjectChecksum> {
    let alg = Algorithm::parse(upload.checksum_algorithm.as_deref()?)?;
    let mut raw_parts = Vec::with_capacity(parts.len());
    for p in parts {
        let c = p.checksum.as_ref().filter(|c| c.algorithm == alg.name())?;
        raw_parts.push((B64.decode(&c.value).ok()?, p.size));
    }
    let full_object = upload.checksum_full_object || alg == Algorithm::Crc64Nvme;
    if full_object {
        let crc = alg.crc()?;
        let mut acc: Option<u64> = None;
        for (raw, size) in &raw_parts {
            let mut buf = [0u8; 8];
            buf[8 - raw.len()..].copy_from_slice(raw);
            let value = u64::from_be_bytes(buf);
            acc = Some(match acc {
                None => value,
                Some(a) => crc_fast::checksum_combine(crc, a, value, *size),
            });
        }
        let total = acc?;
        let bytes = total.to_be_bytes();
        return Some(ObjectChecksum {
            algorithm: alg.name().to_string(),
            value: B64.encode(&bytes[8 - alg.digest_len()..]),
            composite: false,
        });
    }
    let concatenated: Vec<u8> = raw_parts.iter().flat_map(|(raw, _)| raw.iter().copied()).collect();
    Some(ObjectChecksum {
        algorithm: alg.name().to_string(),
        value: format!("{}-{}", B64.encode(alg.digest(&concatenated)), parts.len()),
        composite: true,
    })
}

/// Whether a CreateMultipartUpload's checksum settings are ones S3 accepts: FULL_OBJECT only with a CRC,
/// COMPOSITE not with CRC64NVME.
pub fn check_upload_settings(
    algorithm: Option<&str>,
    checksum_type: Option<&str>,
) -> Result<(Option<String>, bool), S3Error> {
    let alg = match algorithm {
        None => None,
        Some(a) => Some(Algorithm::parse(a).ok_or_else(|| {
            invalid_request("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
        })?),
    };
    let full = match checksum_type.map(str::to_ascii_uppercase).as_deref() {
        None => alg == Some(Algorithm::Crc64Nvme),
        Some("FULL_OBJECT") => true,
        Some("COMPOSITE") => false,
        Some(other) => {
            return Err(invalid_request(format!(
                "Value for x-amz-checksum-type header is invalid: {other}"
            )))
        }
    };
    match (alg, full) {
        (None, _) if checksum_type.is_some() => Err(invalid_request(
            "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
        )),
        (Some(a), true) if a.crc().is_none() => Err(invalid_request(format!(
            "The FULL_OBJECT checksum type cannot be used with the {} checksum algorithm.",
            a.name()
        ))),
        (Some(Algorithm::Crc64Nvme), false) => Err(invalid_request(
            "The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.",
        )),
        (a, full) => Ok((a.map(|a| a.name().to_string()), full)),
    }
}

/// The `x-amz-checksum-*` output fields of a stored checksum: (crc32, crc32c, crc64nvme, sha1, sha256, type).
pub struct Fields {
    pub crc32: Option<String>,
    pub crc32c: Option<String>,
    pub crc64nvme: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub checksum_type: Option<s3s::dto::ChecksumType>,
}

pub fn fields(c: Option<&ObjectChecksum>) -> Fields {
    let mut f = Fields {
        crc32: None,
        crc32c: None,
        crc64nvme: None,
        sha1: None,
        sha256: None,
        checksum_type: None,
    };
    let Some(c) = c else { return f };
    let value = Some(c.value.clone());
    match Algorithm::parse(&c.algorithm) {
        Some(Algorithm::Crc32) => f.crc32 = value,
        Some(Algorithm::Crc32c) => f.crc32c = value,
        Some(Algorithm::Crc64Nvme) => f.crc64nvme = value,
        Some(Algorithm::Sha1) => f.sha1 = value,
        Some(Algorithm::Sha256) => f.sha256 = value,
        None => return f,
    }
    f.checksum_type = Some(s3s::dto::ChecksumType::from_static(if c.composite {
        s3s::dto::ChecksumType::COMPOSITE
    } else {
        s3s::dto::ChecksumType::FULL_OBJECT
    }));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        m
    }

    #[test]
    fn known_digests() {
        // "hello world" as AWS documents and common tools compute it.
        assert_eq!(B64.encode(Algorithm::Crc32.digest(b"hello world")), "DUoRhQ==");
        assert_eq!(B64.encode(Algorithm::Crc32c.digest(b"hello world")), "yZRlqg==");
        assert_eq!(
            B64.encode(Algorithm::Sha256.digest(b"hello world")),
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
        );
        assert_eq!(
            B64.encode(Algorithm::Sha1.digest(b"hello world")),
            "Kq5sNclPz7QV2+lfQIuc6R7oRu0="
        );
    }

    #[test]
    fn reading_the_request() {
        assert!(requested(&h(&[])).unwrap().is_none());
        let r = requested(&h(&[("x-amz-checksum-crc32", "DUoRhQ==")])).unwrap().unwrap();
        assert_eq!(r.algorithm, Algorithm::Crc32);
        assert!(requested(&h(&[("x-amz-checksum-crc32", "nope")])).is_err());
        assert!(requested(&h(&[
            ("x-amz-checksum-crc32", "DUoRhQ=="),
            ("x-amz-checksum-sha1", "x")
        ]))
        .is_err());
        let r = requested(&h(&[("x-amz-trailer", "x-amz-checksum-crc32c")]))
            .unwrap()
            .unwrap();
        assert_eq!(r.algorithm, Algorithm::Crc32c);
        let r = requested(&h(&[("x-amz-sdk-checksum-algorithm", "sha256")]))
            .unwrap()
            .unwrap();
        assert_eq!(r.algorithm, Algorithm::Sha256);
        assert!(requested(&h(&[("x-amz-sdk-checksum-algorithm", "md5")])).is_err());
        assert!(requested(&h(&[
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ("x-amz-checksum-crc32c", "yZRlqg==")
        ]))
        .is_err());
    }

    fn part(n: u32, data: &[u8], alg: Algorithm) -> PartMeta {
        PartMeta {
            part_number: n,
            etag: String::new(),
            size: data.len() as u64,
            mtime: Default::default(),
            data_id: String::new(),
            inline: true,
            checksum: Some(ObjectChecksum {
                algorithm: alg.name().into(),
                value: B64.encode(alg.digest(data)),
                composite: false,
            }),
        }
    }

    fn upload(alg: Algorithm, full: bool) -> MultipartUpload {
        MultipartUpload {
            upload_id: "u".into(),
            bucket_id: "b".into(),
            key: "k".into(),
            owner: "o".into(),
            initiated: Default::default(),
            headers: Default::default(),
            checksum_algorithm: Some(alg.name().into()),
            checksum_full_object: full,
            tags: Vec::new(),
            lock: Default::default(),
            acl: None,
        }
    }

    #[test]
    fn multipart_checksums() {
        let (a, b) = (b"first part ".as_slice(), b"second".as_slice());
        let parts = [part(1, a, Algorithm::Crc32), part(2, b, Algorithm::Crc32)];
        let composite = combine(&upload(Algorithm::Crc32, false), &parts).unwrap();
        let mut cat = Algorithm::Crc32.digest(a);
        cat.extend(Algorithm::Crc32.digest(b));
        assert_eq!(
            composite.value,
            format!("{}-2", B64.encode(Algorithm::Crc32.digest(&cat)))
        );
        assert!(composite.composite);
        // Full object: the CRC of all the bytes.
        let full = combine(&upload(Algorithm::Crc32, true), &parts).unwrap();
        assert_eq!(full.value, B64.encode(Algorithm::Crc32.digest(b"first part second")));
        let parts64 = [part(1, a, Algorithm::Crc64Nvme), part(2, b, Algorithm::Crc64Nvme)];
        let full = combine(&upload(Algorithm::Crc64Nvme, false), &parts64).unwrap();
        assert_eq!(
            full.value,
            B64.encode(Algorithm::Crc64Nvme.digest(b"first part second"))
        );
        // A part without the checksum: none for the object.
        let mut missing = parts.clone();
        missing[1].checksum = None;
        assert!(combine(&upload(Algorithm::Crc32, false), &missing).is_none());
    }

    #[test]
    fn upload_settings() {
        assert_eq!(check_upload_settings(None, None).unwrap(), (None, false));
        assert_eq!(
            check_upload_settings(Some("CRC64NVME"), None).unwrap(),
            (Some("CRC64NVME".into()), true)
        );
        assert!(check_upload_settings(Some("SHA256"), Some("FULL_OBJECT")).is_err());
        assert!(check_upload_settings(Some("CRC64NVME"), Some("COMPOSITE")).is_err());
        assert!(check_upload_settings(None, Some("COMPOSITE")).is_err());
    }
}
