//! Object bytes through the dashboard, streamed both ways: downloads relay GetObject; uploads relay the
//! browser's body into PutObject, or, for large files, the browser's slices into multipart upload parts.

use crate::error::DashError;
use crate::s3::Payload;
use crate::session::Session;
use crate::web::{object_endpoint, user_s3, ObjectQuery};
use crate::App;
use axum::body::Body;
use axum::extract::{Json, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::TryStreamExt;
use http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

fn json_error(e: &DashError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, axum::Json(json!({"error": e.to_string(), "code": e.code()}))).into_response()
}

/// The request body as a streaming S3 payload of its declared length (browsers always declare it).
fn payload(headers: &HeaderMap, req: Request) -> Result<Payload, DashError> {
    let length: u64 = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| DashError::BadRequest("the upload needs a Content-Length".into()))?;
    let stream = req.into_body().into_data_stream().map_err(std::io::Error::other);
    Ok(Payload::Stream {
        body: reqwest::Body::wrap_stream(stream),
        length,
    })
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("application/octet-stream")
        .to_string()
}

pub async fn download(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Query(oq): Query<ObjectQuery>,
) -> Response {
    let result = async {
        let (endpoint, _) = object_endpoint(&app, &s, &oq.bucket, oq.zone.as_deref()).await?;
        user_s3(&s, &endpoint).get_object(&oq.bucket, &oq.key).await
    }
    .await;
    match result {
        Ok(streamed) => {
            let mut resp = Response::new(Body::from_stream(streamed.body));
            for name in [
                header::CONTENT_LENGTH,
                header::CONTENT_TYPE,
                header::ETAG,
                header::LAST_MODIFIED,
            ] {
                if let Some(v) = streamed.headers.get(&name) {
                    resp.headers_mut().insert(name, v.clone());
                }
            }
            let file = oq.key.rsplit('/').next().unwrap_or("download");
            let ascii: String = file
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() && c != '"' && c != '\\' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let disposition = format!(
                "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                crate::pages::q(file).replace('+', "%20")
            );
            if let Ok(v) = disposition.parse() {
                resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY),
            e.to_string(),
        )
            .into_response(),
    }
}

/// `PUT /upload/put?bucket&key&zone`: a small file in one PutObject.
pub async fn put_object(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Query(oq): Query<ObjectQuery>,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let result = async {
        let body = payload(&headers, req)?;
        let (endpoint, _) = object_endpoint(&app, &s, &oq.bucket, oq.zone.as_deref()).await?;
        user_s3(&s, &endpoint)
            .put_object(&oq.bucket, &oq.key, &content_type(&headers), body)
            .await
    }
    .await;
    match result {
        Ok(etag) => axum::Json(json!({"etag": etag})).into_response(),
        Err(e) => json_error(&e),
    }
}

/// `POST /upload/start?bucket&key&zone`: CreateMultipartUpload; answers the upload id.
pub async fn start(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Query(oq): Query<ObjectQuery>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (endpoint, _) = object_endpoint(&app, &s, &oq.bucket, oq.zone.as_deref()).await?;
        let ct = headers
            .get("x-object-content-type")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .unwrap_or("application/octet-stream")
            .to_string();
        user_s3(&s, &endpoint).create_multipart(&oq.bucket, &oq.key, &ct).await
    }
    .await;
    match result {
        Ok(id) => axum::Json(json!({"upload_id": id})).into_response(),
        Err(e) => json_error(&e),
    }
}

#[derive(Deserialize)]
pub struct PartQuery {
    bucket: String,
    key: String,
    zone: Option<String>,
    upload_id: String,
    part: u32,
}

/// `PUT /upload/part?bucket&key&zone&upload_id&part`: the body streams into UploadPart.
pub async fn part(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Query(pq): Query<PartQuery>,
    req: Request,
) -> Response {
    let headers = req.headers().clone();
    let result = async {
        let body = payload(&headers, req)?;
        let (endpoint, _) = object_endpoint(&app, &s, &pq.bucket, pq.zone.as_deref()).await?;
        user_s3(&s, &endpoint)
            .upload_part(&pq.bucket, &pq.key, &pq.upload_id, pq.part, body)
            .await
    }
    .await;
    match result {
        Ok(etag) => axum::Json(json!({"etag": etag})).into_response(),
        Err(e) => json_error(&e),
    }
}

#[derive(Deserialize)]
pub struct CompleteBody {
    bucket: String,
    key: String,
    zone: Option<String>,
    upload_id: String,
    #[serde(default)]
    parts: Vec<PartDone>,
}

#[derive(Deserialize)]
pub struct PartDone {
    part: u32,
    etag: String,
}

/// `POST /upload/complete` (JSON): CompleteMultipartUpload with the parts' ETags.
pub async fn complete(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Json(b): Json<CompleteBody>,
) -> Response {
    let result = async {
        let (endpoint, _) = object_endpoint(&app, &s, &b.bucket, b.zone.as_deref()).await?;
        let mut parts: Vec<(u32, String)> = b.parts.iter().map(|p| (p.part, p.etag.clone())).collect();
        parts.sort_by_key(|(n, _)| *n);
        user_s3(&s, &endpoint)
            .complete_multipart(&b.bucket, &b.key, &b.upload_id, &parts)
            .await
    }
    .await;
    match result {
        Ok(()) => axum::Json(json!({"ok": true})).into_response(),
        Err(e) => json_error(&e),
    }
}

/// `POST /upload/abort` (JSON): AbortMultipartUpload after a failed part.
pub async fn abort(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Json(b): Json<CompleteBody>,
) -> Response {
    let result = async {
        let (endpoint, _) = object_endpoint(&app, &s, &b.bucket, b.zone.as_deref()).await?;
        user_s3(&s, &endpoint)
            .abort_multipart(&b.bucket, &b.key, &b.upload_id)
            .await
    }
    .await;
    match result {
        Ok(()) => axum::Json(json!({"ok": true})).into_response(),
        Err(e) => json_error(&e),
    }
}
