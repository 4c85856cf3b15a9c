//! CORS: preflight `OPTIONS` requests answered from the bucket's rules (unauthenticated, as S3 does), and
//! the `Access-Control-*` headers added to actual requests whose `Origin` a rule allows. Both run in the
//! HTTP layer after the request guard, since s3s has no OPTIONS operation.

use crate::guard::{Refusal, RequestGuard};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use meridian_model::CorsRule;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn forbidden() -> Refusal {
    Refusal::new(
        StatusCode::FORBIDDEN,
        "AccessForbidden",
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
    )
}

/// The CORS rules of the bucket a request names; `None` when there is no such bucket here. Unauthenticated
/// requests carry no user, so a plain name is a bucket of the default tenant (`tenant:name` names another).
async fn rules_of(guard: &RequestGuard, uri: &Uri, headers: &HeaderMap) -> Option<Option<Vec<CorsRule>>> {
    let named = guard.bucket_named(uri, headers)?;
    let (tenant, name) = meridian_gateway::buckets::resolve_bucket_name("", &named);
    guard
        .gateway()
        .buckets()
        .get(&tenant, &name)
        .await
        .ok()
        .map(|b| b.config.cors)
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// `*` answers `*`; any other matching pattern answers the request's own origin.
fn allow_origin(rule: &CorsRule, origin: &str) -> String {
    if rule.allowed_origins.iter().any(|o| o == "*") {
        "*".to_string()
    } else {
        origin.to_string()
    }
}

/// The answer to a preflight `OPTIONS`: 200 with the allowing rule's headers, else 403 AccessForbidden.
pub async fn preflight(guard: &RequestGuard, uri: &Uri, headers: &HeaderMap) -> http::Response<s3s::Body> {
    let Some(origin) = header(headers, "origin") else {
        return Refusal::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Insufficient information. Origin request header needed.",
        )
        .response();
    };
    let Some(method) = header(headers, "access-control-request-method") else {
        return Refusal::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid Access-Control-Request-Method: (null)",
        )
        .response();
    };
    let rules = match rules_of(guard, uri, headers).await {
        None => {
            return Refusal::new(
                StatusCode::NOT_FOUND,
                "NoSuchBucket",
                "The specified bucket does not exist",
            )
            .response()
        }
        Some(None) => return forbidden().response(),
        Some(Some(rules)) => rules,
    };
    let requested: Vec<&str> = header(headers, "access-control-request-headers")
        .map(|h| h.split(',').map(str::trim).filter(|h| !h.is_empty()).collect())
        .unwrap_or_default();
    let Some(rule) = rules
        .iter()
        .find(|r| r.matches_origin(origin) && r.allows_method(method) && r.allows_headers(requested.iter().copied()))
    else {
        return forbidden().response();
    };
    let mut resp = http::Response::new(s3s::Body::empty());
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    set(h, "access-control-allow-origin", &allow_origin(rule, origin));
    set(h, "access-control-allow-methods", &rule.allowed_methods.join(", "));
    if !requested.is_empty() {
        set(h, "access-control-allow-headers", &requested.join(", "));
    }
    if !rule.expose_headers.is_empty() {
        set(h, "access-control-expose-headers", &rule.expose_headers.join(", "));
    }
    if let Some(age) = rule.max_age_seconds {
        set(h, "access-control-max-age", &age.to_string());
    }
    set(
        h,
        "vary",
        "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    );
    resp
}

/// Adds the CORS headers to the answer of an actual request that carried an allowed `Origin`.
pub async fn decorate(
    guard: &RequestGuard,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    resp: &mut http::Response<s3s::Body>,
) {
    let Some(origin) = header(headers, "origin") else {
        return;
    };
    let Some(Some(rules)) = rules_of(guard, uri, headers).await else {
        return;
    };
    let Some(rule) = rules
        .iter()
        .find(|r| r.matches_origin(origin) && r.allows_method(method.as_str()))
    else {
        return;
    };
    let h = resp.headers_mut();
    set(h, "access-control-allow-origin", &allow_origin(rule, origin));
    set(h, "access-control-allow-methods", &rule.allowed_methods.join(", "));
    if !rule.expose_headers.is_empty() {
        set(h, "access-control-expose-headers", &rule.expose_headers.join(", "));
    }
    if let Some(age) = rule.max_age_seconds {
        set(h, "access-control-max-age", &age.to_string());
    }
    set(h, "vary", "Origin");
}
