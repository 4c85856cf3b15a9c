//! Region compatibility: RGW accepts any SigV4 credential region (s3cmd signs with `US` by default), but
//! s3s only accepts `[a-z0-9-]+`. For a header-signed request with such a region we verify the client's
//! signature ourselves and, only if it is valid, re-sign the request for `us-east-1` so s3s accepts it.
//! Streaming (chunk-signed) bodies are left alone: their chunk signatures are bound to the original scope.

use hmac::{Hmac, Mac};
use meridian_gateway::Gateway;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const NORMALIZED_REGION: &str = "us-east-1";

struct ParsedAuth<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<ParsedAuth<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.trim_start();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let (access_key, date, region, service, terminator) = (
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
    );
    if terminator != "aws4_request" || scope.next().is_some() {
        return None;
    }
    Some(ParsedAuth {
        access_key,
        date,
        region,
        service,
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    })
}

fn region_accepted_by_s3s(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn aws_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', "%20"))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (aws_encode(&decode(k)), aws_encode(&decode(v)))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn canonical_request(
    method: &http::Method,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    signed: &[&str],
    payload_hash: &str,
) -> Option<String> {
    let mut canonical_headers = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .get_all(*name)
            .iter()
            .map(|v| v.to_str().map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")))
            .collect::<Result<_, _>>()
            .ok()?;
        if values.is_empty() {
            return None;
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Some(format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        uri.path(),
        canonical_query(uri.query().unwrap_or_default()),
        signed.join(";"),
    ))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn signature(
    secret: &str,
    amz_date: &str,
    date: &str,
    region: &str,
    service: &str,
    canonical_hash: &str,
) -> String {
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!("{ALGORITHM}\n{amz_date}\n{scope}\n{canonical_hash}");
    let key = hmac(format!("AWS4{secret}").as_bytes(), date);
    let key = hmac(&key, region);
    let key = hmac(&key, service);
    let key = hmac(&key, "aws4_request");
    hex::encode(hmac(&key, &string_to_sign))
}

/// Rewrites a valid signature made for a region s3s would refuse into one for `us-east-1`.
pub async fn normalize_signing_region(
    gw: &Gateway,
    method: &http::Method,
    uri: &http::Uri,
    headers: &mut http::HeaderMap,
) {
    let Some(auth) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let Some(parsed) = parse_authorization(auth) else {
        return;
    };
    if region_accepted_by_s3s(parsed.region) {
        return;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(amz_date), Some(payload_hash)) = (header("x-amz-date"), header("x-amz-content-sha256")) else {
        return;
    };
    if payload_hash.starts_with("STREAMING-") {
        return;
    }
    let Ok((_, secret)) = gw.users().lookup_access_key(parsed.access_key).await else {
        return;
    };
    let Some(canonical) = canonical_request(method, uri, headers, &parsed.signed_headers, payload_hash) else {
        return;
    };
    let canonical_hash = hex::encode(Sha256::digest(canonical.as_bytes()));
    let expected = signature(
        &secret,
        amz_date,
        parsed.date,
        parsed.region,
        parsed.service,
        &canonical_hash,
    );
    if !bool::from(expected.as_bytes().ct_eq(parsed.signature.as_bytes())) {
        return; // s3s reports the failure as usual
    }
    let resigned = signature(
        &secret,
        amz_date,
        parsed.date,
        NORMALIZED_REGION,
        parsed.service,
        &canonical_hash,
    );
    let value = format!(
        "{ALGORITHM} Credential={}/{}/{NORMALIZED_REGION}/{}/aws4_request, SignedHeaders={}, Signature={resigned}",
        parsed.access_key,
        parsed.date,
        parsed.service,
        parsed.signed_headers.join(";"),
    );
    if let Ok(v) = http::HeaderValue::from_str(&value) {
        headers.insert(http::header::AUTHORIZATION, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AWS SigV4 documentation's GET Object example (examplebucket, 20130524, us-east-1).
    #[test]
    fn matches_the_aws_documented_signature() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "examplebucket.s3.amazonaws.com".parse().unwrap());
        headers.insert("range", "bytes=0-9".parse().unwrap());
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        headers.insert("x-amz-content-sha256", empty.parse().unwrap());
        headers.insert("x-amz-date", "20130524T000000Z".parse().unwrap());
        let uri: http::Uri = "/test.txt".parse().unwrap();
        let signed = ["host", "range", "x-amz-content-sha256", "x-amz-date"];
        let canonical = canonical_request(&http::Method::GET, &uri, &headers, &signed, empty).unwrap();
        let hash = hex::encode(Sha256::digest(canonical.as_bytes()));
        let sig = signature(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "20130524T000000Z",
            "20130524",
            "us-east-1",
            "s3",
            &hash,
        );
        assert_eq!(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    }

    #[test]
    fn parses_authorization_and_checks_regions() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20240101/US/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab",
        )
        .unwrap();
        assert_eq!((a.access_key, a.region, a.signature), ("AK", "US", "ab"));
        assert_eq!(a.signed_headers, vec!["host", "x-amz-date"]);
        assert!(!region_accepted_by_s3s("US"));
        assert!(region_accepted_by_s3s("eu-west-1"));
        assert_eq!(
            canonical_query("b=2&a=1&prefix=a%20b&uploads"),
            "a=1&b=2&prefix=a%20b&uploads="
        );
    }
}
