//! The change-log and replication endpoints other zones' sync agents read (`/admin/log`,
//! `/admin/sync/...`), and the sync status an operator reads. RGW's paths and shapes where RGW has them.

use crate::error::AdminError;
use crate::ops::Params;
use crate::services::SyncReports;
use meridian_gateway::logs::LogKind;
use meridian_gateway::Gateway;
use meridian_peer::proto::log::{
    BilogEntryDoc, BilogInfo, DatalogEntryDoc, LogInfo, LogPage, MdlogEntryDoc, ShardHead, Trimmed,
};
use meridian_peer::proto::sync_listing::{ListedBucket, ListedData, ObjectListing, TrimmedLogs};
use meridian_peer::proto::sync_object::{FetchKeys, FetchedObject, FetchedObjects};
use meridian_peer::AdminRequest;
use serde_json::Value;

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

pub(crate) async fn list(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let max = req.number("max-entries", 1000)?.min(10_000);
    let marker = req.get("marker").map(str::to_string);
    let info = req.params.contains_key("info");
    let Some(kind) = kind(req)? else {
        let bucket = gw.buckets().info(req.require("bucket")?).await?;
        if info {
            let head = gw.logs().bilog_head(&bucket.bucket_id).await?;
            return document(Ok(BilogInfo::at(&head.marker)));
        }
        let entries = gw.logs().list_bilog(req.require("bucket")?, marker, max).await?;
        return document(Ok(entries.iter().map(BilogEntryDoc::from).collect::<Vec<_>>()));
    };
    match (shard(req, kind)?, info) {
        (None, true) => document(Ok(LogInfo {
            num_shards: kind.shards(),
            shards: gw.logs().heads(kind).await?.iter().map(ShardHead::from).collect(),
        })),
        (Some(s), true) => document(Ok(ShardHead::from(&gw.logs().head(kind, s).await?))),
        (Some(s), false) => {
            let head = gw.logs().head(kind, s).await?;
            let truncated = |last: &Option<String>| last.as_deref().is_some_and(|l| l < head.marker.as_str());
            match kind {
                LogKind::Metadata => {
                    let e = gw.logs().list_mdlog(s, marker.clone(), max).await?;
                    let last = e.last().map(|e| e.id.clone());
                    document(Ok(LogPage {
                        truncated: truncated(&last),
                        marker: last.or(marker).unwrap_or_default(),
                        entries: e.iter().map(MdlogEntryDoc::from).collect(),
                    }))
                }
                LogKind::Data => {
                    let e = gw.logs().list_datalog(Some(s), marker.clone(), max).await?;
                    let last = e.last().map(|(_, e)| e.marker.clone());
                    document(Ok(LogPage {
                        truncated: truncated(&last),
                        marker: last.or(marker).unwrap_or_default(),
                        entries: e.iter().map(|(s, e)| DatalogEntryDoc::new(*s, e)).collect(),
                    }))
                }
            }
        }
        // Every shard at once: `datalog list` prints this.
        (None, false) if kind == LogKind::Data => {
            let entries = gw.logs().list_datalog(None, marker, max).await?;
            document(Ok(entries
                .iter()
                .map(|(s, e)| DatalogEntryDoc::new(*s, e))
                .collect::<Vec<_>>()))
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
    document(Ok(Trimmed { trimmed }))
}

/// The buckets of this zone's zonegroup with their object counts: where a new peer's full sync starts.
pub(crate) async fn buckets(gw: &Gateway) -> Result<Value, AdminError> {
    let zonegroup = gw.site().zonegroup_id.clone();
    let mut out: Vec<ListedBucket> = Vec::new();
    for b in gw.buckets().list_all().await? {
        if b.zonegroup != zonegroup {
            continue;
        }
        let stats = gw.buckets().stats(&b).await?;
        out.push(ListedBucket {
            key: meridian_gateway::logs::bucket_log_key(&b),
            num_objects: stats.num_objects,
        });
    }
    document(Ok(out))
}

/// `GET /admin/sync/objects?bucket=B&marker=M&max-entries=N[&with-data]`: a page of a bucket's state for
/// another zone's full sync. With `with-data`, the bytes of the page's small (inline) versions come along
/// (`"data": [{"spec", "data": base64}]`, up to 8 MiB in all), so the reader fetches only the others: each
/// object is read and sent once.
pub(crate) async fn objects(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
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
    document(Ok(ObjectListing {
        objects: page.objects,
        versions: page.versions,
        tombstones: page.tombstones,
        removed_versions: page.removed,
        truncated: page.truncated,
        next_marker: page.next_marker,
        data: page
            .data
            .into_iter()
            .map(|(spec, data)| ListedData { spec, data })
            .collect(),
    }))
}

/// How far this zone has trimmed each of its logs (readers further back missed entries: see
/// `meridian_sync::gap`).
pub(crate) async fn trimmed(gw: &Gateway) -> Result<Value, AdminError> {
    let t = gw.logs().trimmed_markers().await?;
    document(Ok(TrimmedLogs {
        metadata: t.metadata,
        data: t.data,
        buckets: t.buckets,
    }))
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
    let bucket = gw.buckets().info(req.require("bucket")?).await?;
    let FetchKeys { keys } = req
        .body
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| AdminError::BadRequest(format!("the body must be {{\"keys\": [strings]}}: {e}")))?
        .ok_or_else(|| AdminError::BadRequest("the body must be {\"keys\": [...]}".into()))?;
    if keys.len() > FETCH_MAX_KEYS {
        return Err(AdminError::BadRequest(format!(
            "at most {FETCH_MAX_KEYS} keys per fetch, not {}",
            keys.len()
        )));
    }
    let found = gw.replica().read_small(&bucket, keys, FETCH_MAX_BYTES).await?;
    document(Ok(FetchedObjects {
        objects: found
            .objects
            .into_iter()
            .map(|(spec, meta, data)| FetchedObject {
                spec: Some(spec),
                meta,
                data,
            })
            .collect(),
        missing: found.missing,
        large: found.large,
    }))
}
