//! `/admin/...` on the S3 port: authenticated by the same SigV4 as S3, but only system users' keys are
//! accepted, so ordinary users can never reach admin verbs.

use crate::ops::AdminRequest;
use crate::router::{handle, AdminEndpoint, Reply};
use crate::services::{BackupArchive, BucketMoves, Services, SyncReports};
use meridian_gateway::Gateway;
use s3s::route::S3Route;
use s3s::{s3_error, Body, S3Request, S3Response, S3Result};
use std::sync::Arc;

/// Admin documents (periods, metadata entries) are small; anything larger is refused.
const MAX_BODY: usize = 8 << 20;

pub struct AdminRoute {
    gateway: Gateway,
    services: Services,
}

impl AdminRoute {
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway,
            services: Services::default(),
        }
    }

    /// Serves `GET /admin/workers` (the process's background workers) from these.
    pub fn with_workers(mut self, workers: meridian_worker::Workers) -> Self {
        self.services.workers = Some(workers);
        self
    }

    /// Serves `GET /admin/backup` (the backup archive, streamed) with this service.
    pub fn with_backup(mut self, service: Arc<dyn BackupArchive>) -> Self {
        self.services.backup = Some(service);
        self
    }

    /// Serves the sync status documents and log-change notifications with this service.
    pub fn with_sync(mut self, service: Arc<dyn SyncReports>) -> Self {
        self.services.sync = Some(service);
        self
    }

    /// Serves `/admin/bucket-move...` with this service.
    pub fn with_moves(mut self, service: Arc<dyn BucketMoves>) -> Self {
        self.services.moves = Some(service);
        self
    }
}

/// `GET /admin/sync/object`: an object's bytes, streamed, with its metadata (identity, times, headers,
/// zones trace) in one header, so another zone's sync stores exactly this object.
pub(crate) async fn sync_object(
    gw: &Gateway,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<S3Response<Body>, crate::AdminError> {
    let bucket = gw.buckets().info(bucket).await?;
    let read = gw
        .objects()
        .get_version(&bucket, key, version_id, None, &Default::default())
        .await?;
    let header = meridian_peer::proto::sync_object::encode_meta_header(&read.meta)
        .map_err(|e| meridian_gateway::GatewayError::Internal(e.to_string()))?;
    let frames = futures::TryStreamExt::map_ok(read.body, http_body::Frame::data);
    let mut resp = S3Response::new(Body::http_body(http_body_util::StreamBody::new(frames)));
    resp.headers.insert(
        meridian_peer::proto::sync_object::OBJECT_META_HEADER,
        http::HeaderValue::from_str(&header).map_err(|e| meridian_gateway::GatewayError::Internal(e.to_string()))?,
    );
    Ok(resp)
}

fn json_response(status: u16, value: &serde_json::Value) -> S3Response<Body> {
    let body = if value.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec_pretty(value).unwrap_or_default()
    };
    let mut resp = S3Response::new(Body::from(body));
    resp.status = http::StatusCode::from_u16(status).ok();
    resp.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

#[async_trait::async_trait]
impl S3Route for AdminRoute {
    fn is_match(&self, _: &http::Method, uri: &http::Uri, _: &http::HeaderMap, _: &mut http::Extensions) -> bool {
        uri.path().starts_with("/admin/")
    }

    async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
        let creds = req
            .credentials
            .as_ref()
            .ok_or_else(|| s3_error!(AccessDenied, "admin requests must be signed with a system key"))?;
        match self.gateway.users().lookup_access_key(&creds.access_key).await {
            Ok((user, _)) if user.system && !user.suspended => Ok(()),
            _ => Err(s3_error!(AccessDenied, "admin requests need a system user's key")),
        }
    }

    async fn call(&self, mut req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let resource = req.uri.path().trim_start_matches("/admin/").to_string();
        let params: std::collections::BTreeMap<String, String> =
            url::form_urlencoded::parse(req.uri.query().unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let raw = req
            .input
            .store_all_limited(MAX_BODY)
            .await
            .map_err(|e| s3_error!(InvalidRequest, "cannot read the request body: {e}"))?;
        let body = if raw.is_empty() {
            None
        } else {
            match serde_json::from_slice(&raw) {
                Ok(v) => Some(v),
                Err(e) => {
                    return Ok(json_response(
                        400,
                        &serde_json::json!({"Code": "InvalidArgument", "Message": format!("the body is not JSON: {e}")}),
                    ))
                }
            }
        };
        let admin = AdminRequest {
            method: req.method.clone(),
            resource,
            params,
            body,
        };
        let reply = match AdminEndpoint::parse(&admin) {
            Ok(endpoint) => handle(&self.gateway, &self.services, endpoint, &admin).await,
            Err(e) => Err(e),
        };
        Ok(match reply {
            Ok(Reply::Json(value)) => json_response(200, &value),
            Ok(Reply::Stream(resp)) => resp,
            Err(e) => {
                tracing::debug!(error = %e, "admin request failed");
                json_response(
                    e.status(),
                    &serde_json::json!({"Code": e.code(), "Message": e.to_string()}),
                )
            }
        })
    }
}
