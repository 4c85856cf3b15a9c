//! `/admin/bucket-move...`: moving a bucket to another zonegroup (see `meridian_sync::relocate`).
//!
//! On the metadata master (a zone that is not forwards these to it, as other master-only verbs do):
//! - `POST /admin/bucket-move?bucket=B&zonegroup=ZG[&concurrency=N]`: start (queued; idempotent);
//! - `GET /admin/bucket-move[?bucket=B]`: status (phase, objects and bytes copied of the total, rate, ETA);
//! - `POST /admin/bucket-move/cancel?bucket=B`: cancel before the cut-over;
//! - `GET /admin/bucket-move/work?zonegroup=ZG` and `POST /admin/bucket-move/report`: the target zones'
//!   side (what to copy, how far they are).
//!
//! On every zone, called by the master: `POST /admin/bucket-move/zone?op=...` (hold, fence, unfence,
//! reclaim, release, refresh, wake).

use crate::error::AdminError;
use crate::ops::{AdminRequest, Params};
use http::Method;
use meridian_gateway::Gateway;
use meridian_gateway::GatewayError;
use meridian_peer::master;
use meridian_sync::relocate::{self, record::TargetReport, MoveCall};
use serde_json::Value;

/// Answers a bucket-move request, or `None` when `req` is not one.
pub async fn dispatch(gw: &Gateway, req: &AdminRequest) -> Option<Result<Value, AdminError>> {
    let resource = req.resource.trim_matches('/');
    if resource != "bucket-move" && !resource.starts_with("bucket-move/") {
        return None;
    }
    if resource == "bucket-move/zone" {
        return Some(zone(gw, req).await);
    }
    if !gw.site().is_meta_master() {
        return Some(master::forward(gw, req).await.map_err(AdminError::from));
    }
    Some(on_master(gw, req, resource).await)
}

async fn zone(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    if req.method != Method::POST {
        return Err(AdminError::BadRequest("bucket-move/zone takes POST".into()));
    }
    let call = MoveCall::from_request(req).map_err(AdminError::BadRequest)?;
    Ok(relocate::zone::handle(gw, &call).await?)
}

async fn on_master(gw: &Gateway, req: &AdminRequest, resource: &str) -> Result<Value, AdminError> {
    match (&req.method, resource) {
        (&Method::POST, "bucket-move") => {
            let concurrency = req.number("concurrency", 4)?;
            Ok(relocate::master::start(gw, req.require("bucket")?, req.require("zonegroup")?, concurrency).await?)
        }
        (&Method::GET, "bucket-move") => Ok(relocate::master::status(gw, req.get("bucket")).await?),
        (&Method::POST, "bucket-move/cancel") => Ok(relocate::master::cancel(gw, req.require("bucket")?).await?),
        (&Method::GET, "bucket-move/work") => {
            let records = relocate::master::work_for(gw, req.require("zonegroup")?).await?;
            Ok(Value::Array(records.iter().map(relocate::master::raw).collect()))
        }
        (&Method::POST, "bucket-move/report") => {
            let body = req
                .body
                .clone()
                .ok_or_else(|| AdminError::BadRequest("a report needs a JSON body".into()))?;
            let report: TargetReport = serde_json::from_value(body)
                .map_err(|e| AdminError::BadRequest(format!("bad bucket move report: {e}")))?;
            let rec = relocate::master::report(
                gw,
                req.require("bucket")?,
                req.require("move")?,
                req.require("zone")?,
                report,
            )
            .await?;
            Ok(relocate::master::raw(&rec))
        }
        _ => Err(AdminError::Gateway(GatewayError::InvalidRequest(format!(
            "unsupported admin request {} /admin/{resource}",
            req.method
        )))),
    }
}
