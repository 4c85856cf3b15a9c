//! `/admin/...` on the S3 port: authenticated by the same SigV4 as S3, but only system users' keys are
//! accepted, so ordinary users can never reach admin verbs.

use crate::ops::{dispatch, AdminRequest};
use base64::Engine;
use meridian_gateway::Gateway;
use s3s::route::S3Route;
use s3s::{s3_error, Body, S3Request, S3Response, S3Result};

/// Admin documents (periods, metadata entries) are small; anything larger is refused.
const MAX_BODY: usize = 8 << 20;

pub struct AdminRoute {
    gateway: Gateway,
    backup: Option<std::sync::Arc<meridian_backup::BackupService>>,
    workers: Option<meridian_worker::Workers>,
}

impl AdminRoute {
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway,
            backup: None,
            workers: None,
        }
    }

    /// Serves `GET /admin/workers` (the process's background workers) from these.
    pub fn with_workers(mut self, workers: meridian_worker::Workers) -> Self {
        self.workers = Some(workers);
        self
    }

    /// Serves `GET /admin/backup` (the backup archive, streamed) with this service.
    pub fn with_backup(mut self, service: std::sync::Arc<meridian_backup::BackupService>) -> Self {
        self.backup = Some(service);
        self
    }

    /// `GET /admin/sync/object`: an object's bytes, streamed, with its metadata (identity, times, headers,
    /// zones trace) in one header, so another zone's sync stores exactly this object.
    async fn object(
        &self,
        params: &std::collections::BTreeMap<String, String>,
    ) -> Result<S3Response<Body>, crate::AdminError> {
        let need = |name: &str| {
            params
                .get(name)
                .ok_or_else(|| crate::AdminError::BadRequest(format!("missing required parameter --{name}")))
        };
        let bucket = self.gateway.bucket_info(need("bucket")?).await?;
        let read = self
            .gateway
            .get_object_version(
                &bucket,
                need("key")?,
                params.get("version-id").map(String::as_str),
                None,
                &Default::default(),
            )
            .await?;
        let meta = serde_json::to_vec(&meridian_model::ObjectMeta {
            manifest: Default::default(),
            ..read.meta
        })
        .map_err(|e| meridian_gateway::GatewayError::Internal(e.to_string()))?;
        let header = base64::engine::general_purpose::STANDARD.encode(meta);
        let frames = futures::TryStreamExt::map_ok(read.body, http_body::Frame::data);
        let mut resp = S3Response::new(Body::http_body(http_body_util::StreamBody::new(frames)));
        resp.headers.insert(
            meridian_sync::source::OBJECT_META_HEADER,
            http::HeaderValue::from_str(&header)
                .map_err(|e| meridian_gateway::GatewayError::Internal(e.to_string()))?,
        );
        Ok(resp)
    }
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
        match self.gateway.lookup_access_key(&creds.access_key).await {
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
        if resource == "backup" && req.method == http::Method::GET {
            return Ok(crate::backup::serve(self.backup.as_deref(), &params).await);
        }
        if resource == "workers" && req.method == http::Method::GET {
            let list = self.workers.as_ref().map(|w| w.list()).unwrap_or_default();
            return Ok(json_response(200, &serde_json::json!({ "workers": list })));
        }
        if resource == "sync/object" && req.method == http::Method::GET {
            return Ok(match self.object(&params).await {
                Ok(resp) => resp,
                Err(e) => json_response(
                    e.status(),
                    &serde_json::json!({"Code": e.code(), "Message": e.to_string()}),
                ),
            });
        }
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
        Ok(match dispatch(&self.gateway, &admin).await {
            Ok(value) => json_response(200, &value),
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
