//! SigV2 header authentication as clients really sign it. s3s verifies the string to sign of AWS's
//! documentation; botocore's `s3` signer (boto3 with `signature_version="s3"`, s3-tests' v2 client) differs
//! in two places that AWS and RGW accept:
//! - it keeps the Date header's value in the string to sign even when `x-amz-date` is present (AWS's rule
//!   leaves that line empty), and
//! - a request for a bucket itself (path-style `/bucket`) is signed with the resource `/bucket/`.
//!
//! For a header-signed SigV2 request whose signature is not s3s's but is valid under one of these variants
//! (checked here with the user's secret, in constant time), the Authorization header is re-signed with the
//! string s3s computes, so s3s accepts it. Anything else is left for s3s to judge as usual.

use crate::host::ConfiguredHosts;
use base64::Engine;
use meridian_gateway::Gateway;
use s3s::crypto::{Checksum as _, Sha1};
use subtle::ConstantTimeEq;

/// The sub-resources a SigV2 string to sign includes (s3s's list, sorted).
const INCLUDED_QUERY: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut k = if key.len() > BLOCK {
        Sha1::checksum(key).as_ref().to_vec()
    } else {
        key.to_vec()
    };
    k.resize(BLOCK, 0);
    let mut inner = Sha1::new();
    inner.update(&k.iter().map(|b| b ^ 0x36).collect::<Vec<_>>());
    inner.update(data);
    let inner = inner.finalize();
    let mut outer = Sha1::new();
    outer.update(&k.iter().map(|b| b ^ 0x5c).collect::<Vec<_>>());
    outer.update(inner.as_ref());
    outer.finalize().as_ref().to_vec()
}

fn sign(secret: &str, string_to_sign: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha1(secret.as_bytes(), string_to_sign.as_bytes()))
}

/// The parts of a SigV2 string to sign; `date_line` and `resource` are what the variants change.
struct Parts {
    head: String,
    amz_headers: String,
    subresources: String,
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    let mut all = headers.get_all(name).iter();
    let first = all.next()?;
    if all.next().is_some() {
        return None;
    }
    std::str::from_utf8(first.as_bytes()).ok()
}

fn parts(method: &http::Method, uri: &http::Uri, headers: &http::HeaderMap) -> Parts {
    let head = format!(
        "{}\n{}\n{}\n",
        method.as_str(),
        header_str(headers, "content-md5").unwrap_or_default(),
        header_str(headers, "content-type").unwrap_or_default(),
    );
    let mut names: Vec<&str> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|n| n.starts_with("x-amz-"))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut amz_headers = String::new();
    for name in names {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
            .map(str::trim)
            .collect();
        amz_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let params = crate::guard::query_params(uri.query().unwrap_or_default());
    let mut subresources = String::new();
    for q in INCLUDED_QUERY {
        let mut found = params.iter().filter(|(k, _)| k == q);
        if let (Some((_, v)), None) = (found.next(), found.next()) {
            subresources.push(if subresources.is_empty() { '?' } else { '&' });
            subresources.push_str(q);
            if !v.is_empty() {
                subresources.push('=');
                subresources.push_str(v);
            }
        }
    }
    Parts {
        head,
        amz_headers,
        subresources,
    }
}

fn string_to_sign(p: &Parts, date_line: &str, resource: &str) -> String {
    format!("{}{date_line}\n{}{resource}{}", p.head, p.amz_headers, p.subresources)
}

/// s3s's string to sign and the client variants it does not compute. `expires`: a presigned URL's
/// `Expires`, which takes the Date line's place.
fn candidates(
    method: &http::Method,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    vh_bucket: Option<&str>,
    expires: Option<&str>,
) -> (String, Vec<String>) {
    let p = parts(method, uri, headers);
    let date = header_str(headers, "date").unwrap_or_default();
    let amz_date = headers.contains_key("x-amz-date");
    let path = uri.path();
    let resource = match vh_bucket {
        Some(b) => format!("/{b}{path}"),
        None => path.to_string(),
    };
    let s3s_date = match expires {
        Some(e) => e,
        None if amz_date => "",
        None => date,
    };
    let expected = string_to_sign(&p, s3s_date, &resource);
    let mut dates = vec![s3s_date];
    if expires.is_none() && amz_date && !date.is_empty() {
        dates.push(date);
    }
    let mut resources = vec![resource.clone()];
    let bucket_only = vh_bucket.is_none() && path.len() > 1 && !path[1..].contains('/');
    if bucket_only {
        resources.push(format!("{path}/"));
    }
    let mut variants = Vec::new();
    for d in &dates {
        for r in &resources {
            let s = string_to_sign(&p, d, r);
            if s != expected {
                variants.push(s);
            }
        }
    }
    (expected, variants)
}

/// Re-signs a SigV2 request (Authorization header or presigned URL) that is valid under a client variant
/// (see the module doc).
pub async fn normalize_sigv2(gw: &Gateway, hosts: &ConfiguredHosts, req: &mut http::request::Parts) {
    let header_auth = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.strip_prefix("AWS "))
        .and_then(|r| r.split_once(':'))
        .map(|(k, s)| (k.to_string(), s.to_string()));
    let params = crate::guard::query_params(req.uri.query().unwrap_or_default());
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (access_key, signature, expires) = match header_auth {
        Some((k, s)) => (k, s, None),
        None => match (param("AWSAccessKeyId"), param("Signature"), param("Expires")) {
            (Some(k), Some(s), Some(e)) => (k, s, Some(e)),
            _ => return,
        },
    };
    let host = req
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.authority().map(|a| a.as_str()))
        .unwrap_or_default();
    let vh_bucket = hosts.bucket_of(host);
    let (expected, variants) = candidates(
        &req.method,
        &req.uri,
        &req.headers,
        vh_bucket.as_deref(),
        expires.as_deref(),
    );
    if variants.is_empty() {
        return;
    }
    let Ok((_, secret)) = gw.users().lookup_access_key(&access_key).await else {
        return;
    };
    let matches = |sts: &str| bool::from(sign(&secret, sts).as_bytes().ct_eq(signature.as_bytes()));
    if matches(&expected) || !variants.iter().any(|v| matches(v)) {
        return;
    }
    let resigned = sign(&secret, &expected);
    if expires.is_none() {
        if let Ok(v) = http::HeaderValue::from_str(&format!("AWS {access_key}:{resigned}")) {
            req.headers.insert(http::header::AUTHORIZATION, v);
        }
        return;
    }
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(&resigned, SET).to_string();
    let query: Vec<String> = req
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .map(|p| {
            if p.split_once('=').map_or(p, |(k, _)| k) == "Signature" {
                format!("Signature={encoded}")
            } else {
                p.to_string()
            }
        })
        .collect();
    let path_and_query = format!("{}?{}", req.uri.path(), query.join("&"));
    let mut uri_parts = req.uri.clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        uri_parts.path_and_query = Some(pq);
        if let Ok(uri) = http::Uri::from_parts(uri_parts) {
            req.uri = uri;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut m = http::HeaderMap::new();
        for (k, v) in pairs {
            m.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        m
    }

    /// AWS's documented example (Object GET, virtual-hosted): the string to sign and the signature.
    #[test]
    fn aws_documented_example() {
        let headers = h(&[("date", "Tue, 27 Mar 2007 19:36:42 +0000")]);
        let uri: http::Uri = "/photos/puppy.jpg".parse().unwrap();
        let (sts, variants) = candidates(&http::Method::GET, &uri, &headers, Some("awsexamplebucket1"), None);
        assert_eq!(
            sts,
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg"
        );
        assert!(variants.is_empty());
        assert_eq!(
            sign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", &sts),
            "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="
        );
    }

    #[test]
    fn botocore_variants() {
        let headers = h(&[
            ("date", "Wed, 02 Dec 2026 05:29:17 GMT"),
            ("x-amz-date", "Wed, 02 Dec 2026 05:29:17 GMT"),
            ("x-amz-meta-a", " b "),
        ]);
        let uri: http::Uri = "/bucket?acl".parse().unwrap();
        let (sts, variants) = candidates(&http::Method::PUT, &uri, &headers, None, None);
        assert_eq!(
            sts,
            "PUT\n\n\n\nx-amz-date:Wed, 02 Dec 2026 05:29:17 GMT\nx-amz-meta-a:b\n/bucket?acl"
        );
        assert!(variants.contains(
            &"PUT\n\n\nWed, 02 Dec 2026 05:29:17 GMT\nx-amz-date:Wed, 02 Dec 2026 05:29:17 GMT\nx-amz-meta-a:b\n/bucket/?acl"
                .to_string()
        ));
        assert_eq!(variants.len(), 3);
    }
}
