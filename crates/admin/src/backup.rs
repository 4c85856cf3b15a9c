//! `GET /admin/backup[?with-data]`: a backup of this zone, streamed as the response body (the archive
//! itself); `meridian backup create` uses it while the server runs.

use crate::services::{BackupArchive, BackupRefused};
use s3s::{Body, S3Response};

pub async fn serve(service: Option<&dyn BackupArchive>, with_data: bool) -> S3Response<Body> {
    let Some(service) = service else {
        return error(501, "NotImplemented", "this server does not serve backups".into());
    };
    match service.stream(with_data).await {
        Ok(stream) => {
            let frames = futures::TryStreamExt::map_ok(stream, http_body::Frame::data);
            let mut resp = S3Response::new(Body::http_body(http_body_util::StreamBody::new(frames)));
            resp.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/zstd"),
            );
            resp
        }
        Err(BackupRefused::Busy) => error(409, "BackupInProgress", "a backup is already running".into()),
        Err(e @ BackupRefused::Failed(_)) => {
            tracing::warn!(error = %e, "backup failed");
            error(500, "InternalError", e.to_string())
        }
    }
}

fn error(status: u16, code: &str, message: String) -> S3Response<Body> {
    let body = serde_json::to_vec(&serde_json::json!({"Code": code, "Message": message})).unwrap_or_default();
    let mut resp = S3Response::new(Body::from(body));
    resp.status = http::StatusCode::from_u16(status).ok();
    resp.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}
