//! The change-log and replication endpoints other zones' sync agents read (`/admin/log`,
//! `/admin/sync/...`), and the sync status an operator reads. RGW's paths and shapes where RGW has them.

use crate::error::AdminError;
use crate::ops::Params;
use crate::rgw_json;
use crate::services::SyncReports;
use meridian_gateway::logs::LogKind;
use meridian_gateway::Gateway;
use meridian_model::LogShardInfo;
use meridian_peer::AdminRequest;
use serde_json::{json, Value};

/// A typed sync document as the JSON reply.
pub(crate) fn document<T: serde::Serialize>(doc: Result<T, AdminError>) -> Result<Value, AdminError> {
    serde_json::to_value(doc?).map_err(|e| {
        AdminError::Gateway(meridian_gateway::GatewayError::Internal(format!(
            "encoding a sync document: {e}"
        )))
    })
}

fn kind(req: &AdminRequest) -> Result<Option<LogKind>, AdminError> {
    match req.require("type")? {
        "metadata" => Ok(Some(LogKind::Metadata)),
        "data" => Ok(Some(LogKind::Data)),
        "bucket-index" => Ok(None),
        other => Err(AdminError::BadRequest(format!(
            "unknown log type {other:?}: use metadata, data or bucket-index"
        ))),
    }
}

fn shard(req: &AdminRequest, kind: LogKind) -> Result<Option<u32>, AdminError> {
    let Some(s) = req.get("id") else {
        return Ok(None);
    };
    match s.parse::<u32>() {
        Ok(n) if n < kind.shards() => Ok(Some(n)),
        _ => Err(AdminError::BadRequest(format!(
            "shard id must be a number below {}, not {s:?}",
            kind.shards()
        ))),
    }
}

fn shard_info(info: &LogShardInfo) -> Value {
    json!({
        "marker": info.marker,
        "last_update": info.last_update.map(|t| t.to_rfc3339()),
    })
}

pub(crate) async fn list(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let max = req.number("max-entries", 1000)?.min(10_000);
    let marker = req.get("marker").map(str::to_string);
    let info = req.params.contains_key("info");
    let Some(kind) = kind(req)? else {
        let bucket = gw.buckets().info(req.require("bucket")?).await?;
        if info {
            let head = gw.logs().bilog_head(&bucket.bucket_id).await?;
            return Ok(
                json!({"bucket_ver": head.marker, "master_ver": head.marker, "max_marker": head.marker, "syncstopped": false}),
            );
        }
        let entries = gw.logs().list_bilog(req.require("bucket")?, marker, max).await?;
        return Ok(Value::Array(entries.iter().map(rgw_json::bilog_entry).collect()));
    };
    match (shard(req, kind)?, info) {
        (None, true) => Ok(json!({
            "num_shards": kind.shards(),
            "shards": gw.logs().heads(kind).await?.iter().map(shard_info).collect::<Vec<_>>(),
        })),
        (Some(s), true) => Ok(shard_info(&gw.logs().head(kind, s).await?)),
        (Some(s), false) => {
            let head = gw.logs().head(kind, s).await?;
            let (entries, last): (Vec<Value>, Option<String>) = match kind {
                LogKind::Metadata => {
                    let e = gw.logs().list_mdlog(s, marker.clone(), max).await?;
                    let last = e.last().map(|e| e.id.clone());
                    (e.iter().map(rgw_json::mdlog_entry).collect(), last)
                }
                LogKind::Data => {
                    let e = gw.logs().list_datalog(Some(s), marker.clone(), max).await?;
                    let last = e.last().map(|(_, e)| e.marker.clone());
                    (e.iter().map(|(s, e)| rgw_json::datalog_entry(*s, e)).collect(), last)
                }
            };
            let truncated = last.as_deref().is_some_and(|l| l < head.marker.as_str());
            Ok(json!({
                "marker": last.or(marker).unwrap_or_default(),
                "entries": entries,
                "truncated": truncated,
            }))
        }
        // Every shard at once: `datalog list` prints this.
        (None, false) if kind == LogKind::Data => {
            let entries = gw.logs().list_datalog(None, marker, max).await?;
            Ok(Value::Array(
                entries.iter().map(|(s, e)| rgw_json::datalog_entry(*s, e)).collect(),
            ))
        }
        (None, false) => Err(AdminError::BadRequest(
            "the metadata log is listed one shard at a time: give id".into(),
        )),
    }
}

/// RGW's trim: entries up to and including `marker` (or `end-marker`) go.
pub(crate) async fn trim(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let upto = req
        .get("marker")
        .or_else(|| req.get("end-marker"))
        .ok_or_else(|| AdminError::BadRequest("missing required parameter --marker".into()))?;
    let trimmed = match kind(req)? {
        None => {
            let bucket = gw.buckets().info(req.require("bucket")?).await?;
            gw.logs().trim_bilog(&bucket.bucket_id, upto).await?
        }
        Some(kind) => {
            let s = shard(req, kind)?
                .ok_or_else(|| AdminError::BadRequest("missing required parameter --shard-id (id)".into()))?;
            gw.logs().trim(kind, s, upto).await?
        }
    };
    Ok(json!({"trimmed": trimmed}))
}

/// The buckets of this zone's zonegroup with their object counts: where a new peer's full sync starts.
pub(crate) async fn buckets(gw: &Gateway) -> Result<Value, AdminError> {
    let zonegroup = gw.site().zonegroup_id.clone();
    let mut out = Vec::new();
    for b in gw.buckets().list_all().await? {
        if b.zonegroup != zonegroup {
            continue;
        }
        let stats = gw.buckets().stats(&b).await?;
        out.push(json!({"key": meridian_gateway::logs::bucket_log_key(&b), "num_objects": stats.num_objects}));
    }
    Ok(Value::Array(out))
}

/// `GET /admin/sync/objects?bucket=B&marker=M&max-entries=N[&with-data]`: a page of a bucket's state for
/// another zone's full sync. With `with-data`, the bytes of the page's small (inline) versions come along
/// (`"data": [{"spec", "data": base64}]`, up to 8 MiB in all), so the reader fetches only the others: each
/// object is read and sent once.
pub(crate) async fn objects(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    use base64::Engine;
    let bucket = gw.buckets().info(req.require("bucket")?).await?;
    let max = req.number("max-entries", 1000)?.clamp(1, 10_000);
    let data_budget = if req.params.contains_key("with-data") {
        FETCH_MAX_BYTES
    } else {
        0
    };
    let page = gw
        .replica()
        .list(&bucket, req.get("marker").map(str::to_string), max, data_budget)
        .await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let data: Vec<Value> = page
        .data
        .iter()
        .map(|(spec, bytes)| json!({"spec": spec, "data": b64.encode(bytes)}))
        .collect();
    Ok(json!({
        "objects": page.objects,
        "versions": page.versions,
        "tombstones": page.tombstones,
        "removed_versions": page.removed,
        "truncated": page.truncated,
        "next_marker": page.next_marker,
        "data": data,
    }))
}

/// How far this zone has trimmed each of its logs (readers further back missed entries: see
/// `meridian_sync::gap`).
pub(crate) async fn trimmed(gw: &Gateway) -> Result<Value, AdminError> {
    let t = gw.logs().trimmed_markers().await?;
    Ok(json!({"metadata": t.metadata, "data": t.data, "buckets": t.buckets}))
}

/// Keys one batched fetch may name.
const FETCH_MAX_KEYS: usize = 1000;
/// Object bytes one batched fetch answers with at most (the rest is named `large`, to be streamed).
const FETCH_MAX_BYTES: u64 = 8 << 20;

/// `POST /admin/log?type=data&notify2&source-zone=Z` (and `type=metadata&notify`), RGW's wake-ups: zone Z
/// wrote to its log, so this zone's agent reading that log from Z looks at once instead of at its next poll.
/// The body (RGW sends the changed shards) is not needed: the agent reads the log heads anyway.
pub(crate) fn notify(gw: &Gateway, sync: &dyn SyncReports, req: &AdminRequest) -> Result<Value, AdminError> {
    if !req.params.contains_key("notify") && !req.params.contains_key("notify2") {
        return Err(AdminError::BadRequest(
            "POST /admin/log takes notify (metadata) or notify2 (data)".into(),
        ));
    }
    let log = match kind(req)? {
        Some(log) => log,
        None => return Err(AdminError::BadRequest("bucket index logs take no notifications".into())),
    };
    let zone = match req.get("source-zone") {
        Some(z) => z.to_string(),
        None => gw
            .site()
            .period
            .as_ref()
            .map(|p| p.master_zone.clone())
            .ok_or_else(|| AdminError::BadRequest("missing required parameter --source-zone".into()))?,
    };
    let woken = sync.wake(log, &zone);
    tracing::trace!(?log, source_zone = %zone, woken, "log change notification");
    Ok(Value::Null)
}

/// `POST /admin/sync/fetch?bucket=B` with `{"keys": [...]}`: many small objects at once, for another zone's
/// batched sync: `{"objects": [{"spec", "meta": ObjectMeta, "data": base64}], "missing": [keys], "large":
/// [keys]}`. A key is a fetch spec: the key (its current version) or `key\0version id` (that version).
/// Only objects stored inline (at most 64 KiB each) come with their bytes, up to 8 MiB in all; the others
/// are `large` and fetched one by one with `GET /admin/sync/object`, streamed.
pub(crate) async fn fetch(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    use base64::Engine;
    let bucket = gw.buckets().info(req.require("bucket")?).await?;
    let keys: Vec<String> = req
        .body
        .as_ref()
        .and_then(|b| b.get("keys"))
        .and_then(Value::as_array)
        .ok_or_else(|| AdminError::BadRequest("the body must be {\"keys\": [...]}".into()))?
        .iter()
        .map(|k| {
            k.as_str()
                .map(str::to_string)
                .ok_or_else(|| AdminError::BadRequest(format!("keys must be strings, not {k}")))
        })
        .collect::<Result<_, _>>()?;
    if keys.len() > FETCH_MAX_KEYS {
        return Err(AdminError::BadRequest(format!(
            "at most {FETCH_MAX_KEYS} keys per fetch, not {}",
            keys.len()
        )));
    }
    let found = gw.replica().read_small(&bucket, keys, FETCH_MAX_BYTES).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let objects: Vec<Value> = found
        .objects
        .iter()
        .map(|(spec, meta, data)| json!({"spec": spec, "meta": meta, "data": b64.encode(data)}))
        .collect();
    Ok(json!({"objects": objects, "missing": found.missing, "large": found.large}))
}
