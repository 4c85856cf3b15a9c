//! The S3 REST surface: routing, SigV4 (header, presigned, streaming chunks — done by `s3s`), XML and
//! errors, mapped onto the gateway services.

mod auth;
pub mod bucket_names;
mod checksum;
mod chunk_frames;
mod convert;
pub mod cors;
mod errors;
pub mod guard;
mod host;
mod region_compat;
mod service;
#[cfg(test)]
mod service_proptests;
mod sigv2_compat;
mod subresources;

pub use auth::GatewayAuth;
pub use chunk_frames::ChunkFrames;
pub use errors::to_s3_error;
pub use guard::{GuardConfig, RequestGuard};
pub use host::ConfiguredHosts;
pub use region_compat::normalize_signing_region;
pub use service::MeridianS3;

use meridian_gateway::Gateway;
use s3s::route::S3Route;
use s3s::service::{S3Service, S3ServiceBuilder};

/// Extra elements of an S3 error document (`<Endpoint>` of a redirect) travel from the operation to the
/// HTTP layer in these headers; the server moves them into the XML and drops the headers.
pub const ERROR_ELEMENT_PREFIX: &str = "x-meridian-error-";

pub fn error_element_header(element: &str) -> http::HeaderName {
    http::HeaderName::from_bytes(format!("{ERROR_ELEMENT_PREFIX}{}", element.to_ascii_lowercase()).as_bytes())
        .unwrap_or(http::HeaderName::from_static("x-meridian-error-unknown"))
}

/// A HEAD with `partNumber` answers 206 with the part's Content-Range, as GET does; s3s sets 206 only for
/// GET, so a successful HEAD answer that carries a Content-Range becomes 206 here.
pub fn partial_head(method: &str, resp: &mut http::Response<s3s::Body>) {
    if method == "HEAD"
        && resp.status() == http::StatusCode::OK
        && resp.headers().contains_key(http::header::CONTENT_RANGE)
    {
        *resp.status_mut() = http::StatusCode::PARTIAL_CONTENT;
    }
}

/// Builds the S3 service: our operations, authentication against the users' keys, virtual-hosted style
/// for the configured hostnames, and an optional extra route (the admin API) that shares the same SigV4.
pub fn build_service(gateway: Gateway, hostnames: Vec<String>, extra_route: Option<Box<dyn S3Route>>) -> S3Service {
    let mut builder = S3ServiceBuilder::new(MeridianS3::new(gateway.clone(), hostnames.clone()));
    builder.set_host(ConfiguredHosts::new(hostnames, Some(gateway.clone())));
    builder.set_auth(GatewayAuth::new(gateway));
    builder.set_validation(bucket_names::TenantBucketNames);
    if let Some(route) = extra_route {
        builder.set_route(BoxedRoute(route));
    }
    builder.build()
}

struct BoxedRoute(Box<dyn S3Route>);

#[async_trait::async_trait]
impl S3Route for BoxedRoute {
    fn is_match(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        ext: &mut http::Extensions,
    ) -> bool {
        self.0.is_match(method, uri, headers, ext)
    }
    async fn check_access(&self, req: &mut s3s::S3Request<s3s::Body>) -> s3s::S3Result<()> {
        self.0.check_access(req).await
    }
    async fn call(&self, req: s3s::S3Request<s3s::Body>) -> s3s::S3Result<s3s::S3Response<s3s::Body>> {
        self.0.call(req).await
    }
}
