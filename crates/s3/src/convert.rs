//! Conversions between s3s DTO types and the gateway's model types.

use bytes::Bytes;
use futures::Stream;
use meridian_gateway::conditions::{Conditions, EtagMatch};
use meridian_gateway::objects::ByteRange;
use meridian_gateway::{BoxError, ByteStream};
use meridian_model::{ObjectHeaders, Timestamp};
use s3s::dto::{ETag, ETagCondition, StreamingBlob, Timestamp as S3Timestamp, TimestampFormat};
use s3s::stream::RemainingLength;
use s3s::{s3_error, S3Result};
use std::pin::Pin;
use std::task::{Context, Poll};

pub fn etag(value: &str) -> ETag {
    ETag::Strong(value.to_string())
}

pub fn s3_time(t: Timestamp) -> S3Timestamp {
    S3Timestamp::from(t.to_system())
}

pub fn model_time(t: S3Timestamp) -> Timestamp {
    let odt: time::OffsetDateTime = t.into();
    Timestamp::from_system(odt.into())
}

fn etag_match(cond: Option<ETagCondition>) -> Option<EtagMatch> {
    cond.map(|c| match c {
        ETagCondition::Any => EtagMatch::Any,
        ETagCondition::ETag(e) => EtagMatch::Tags(vec![e.value().to_string()]),
    })
}

pub fn conditions(
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
    if_modified_since: Option<S3Timestamp>,
    if_unmodified_since: Option<S3Timestamp>,
) -> Conditions {
    Conditions {
        if_match: etag_match(if_match),
        if_none_match: etag_match(if_none_match),
        if_modified_since: if_modified_since.map(model_time),
        if_unmodified_since: if_unmodified_since.map(model_time),
    }
}

pub fn byte_range(r: s3s::dto::Range) -> ByteRange {
    match r {
        s3s::dto::Range::Int { first, last } => ByteRange::From { first, last },
        s3s::dto::Range::Suffix { length } => ByteRange::Suffix { len: length },
    }
}

/// `x-amz-copy-source-range: bytes=first-last` (both bounds required by S3).
pub fn copy_source_range(value: &str) -> S3Result<ByteRange> {
    let parsed = value
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((first, last)) if first <= last => Ok(ByteRange::From { first, last: Some(last) }),
        _ => Err(s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )),
    }
}

pub fn content_md5(value: Option<&str>) -> S3Result<Option<[u8; 16]>> {
    use base64::Engine;
    let Some(v) = value else { return Ok(None) };
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()
        .and_then(|raw| <[u8; 16]>::try_from(raw).ok())
        .map(Some)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid."))
}

pub fn request_body(blob: Option<StreamingBlob>) -> ByteStream {
    match blob {
        Some(b) => Box::pin(b),
        None => Box::pin(futures::stream::empty()),
    }
}

pub fn http_date(t: &S3Timestamp) -> Option<String> {
    let mut buf = Vec::new();
    t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    String::from_utf8(buf).ok()
}

pub fn parse_http_date(s: &str) -> Option<S3Timestamp> {
    S3Timestamp::parse(TimestampFormat::HttpDate, s).ok()
}

/// Object headers from a PUT / CreateMultipartUpload / CopyObject(REPLACE).
#[allow(clippy::too_many_arguments)]
pub fn object_headers(
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<S3Timestamp>,
    metadata: Option<s3s::dto::Metadata>,
) -> ObjectHeaders {
    ObjectHeaders {
        content_type,
        content_encoding: without_aws_chunked(content_encoding),
        content_disposition,
        content_language,
        cache_control,
        expires: expires.as_ref().and_then(http_date),
        user_meta: metadata
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
    }
}

/// `aws-chunked` only describes how the request body was framed (streaming SigV4); S3 does not store it.
fn without_aws_chunked(encoding: Option<String>) -> Option<String> {
    let kept: Vec<&str> = encoding
        .as_deref()?
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// A response body with a known length, so the response carries Content-Length.
struct SizedBody {
    inner: ByteStream,
    remaining: usize,
}

impl Stream for SizedBody {
    type Item = Result<Bytes, BoxError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let poll = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &poll {
            self.remaining = self.remaining.saturating_sub(chunk.len());
        }
        poll
    }
}

impl s3s::stream::ByteStream for SizedBody {
    fn remaining_length(&self) -> RemainingLength {
        RemainingLength::new_exact(self.remaining)
    }
}

pub fn response_body(stream: ByteStream, len: u64) -> StreamingBlob {
    StreamingBlob::new(SizedBody {
        inner: stream,
        remaining: usize::try_from(len).unwrap_or(usize::MAX),
    })
}

/// `encoding-type=url`: keys and prefixes percent-encoded (keeping `/`), as S3 does.
pub fn url_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges() {
        assert_eq!(
            copy_source_range("bytes=0-9").unwrap(),
            ByteRange::From {
                first: 0,
                last: Some(9)
            }
        );
        assert!(copy_source_range("bytes=9-0").is_err());
        assert!(copy_source_range("0-9").is_err());
        assert!(copy_source_range("bytes=5-").is_err());
    }

    #[test]
    fn md5_header() {
        assert_eq!(
            content_md5(Some("1B2M2Y8AsgTpgAmY7PhCfg=="))
                .unwrap()
                .map(hex::encode)
                .as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert!(content_md5(Some("nope")).is_err());
    }

    #[test]
    fn aws_chunked_is_not_stored() {
        assert_eq!(without_aws_chunked(Some("aws-chunked".into())), None);
        assert_eq!(
            without_aws_chunked(Some("aws-chunked, gzip".into())).as_deref(),
            Some("gzip")
        );
        assert_eq!(without_aws_chunked(Some("gzip".into())).as_deref(), Some("gzip"));
        assert_eq!(without_aws_chunked(None), None);
    }

    #[test]
    fn url_encoding_keeps_slashes() {
        assert_eq!(url_encode("a b/c+d"), "a%20b/c%2Bd");
    }
}
