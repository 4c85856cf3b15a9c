//! A source zone as the sync agents see it: its logs, its bucket listings and its objects, read over the
//! admin API with this zone's system key, and decoded back from RGW's JSON shapes.

use crate::error::{Result, SyncError};
use base64::Engine;
use http::Method;
use meridian_gateway::{ByteStream, Site};
use meridian_model::{BilogEntry, BilogOp, LogShardInfo, ObjectMeta, Timestamp, Tombstone, WriteOrder, ZoneGroupZone};
use meridian_peer::proto::sync_status::SyncMarkers;
use meridian_peer::{AdminRequest, PeerClient};
use serde_json::Value;
use std::collections::HashMap;

pub use meridian_peer::proto::sync_object::OBJECT_META_HEADER;

#[derive(Debug, Clone)]
pub struct Source {
    pub zone_id: String,
    pub zone_name: String,
    clients: Vec<PeerClient>,
}

/// One changed bucket, as a data log entry names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatalogMark {
    pub marker: String,
    /// `tenant:name:bucket_id`.
    pub bucket_key: String,
    pub timestamp: Timestamp,
}

/// One metadata change, as a metadata log entry names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdlogMark {
    pub id: String,
    /// `section:name`, as `metadata get` takes it.
    pub key: String,
    pub timestamp: Timestamp,
}

/// One page of a bucket full sync's listing.
#[derive(Debug, Clone)]
pub struct ObjectPage {
    /// Current versions.
    pub objects: Vec<ObjectMeta>,
    /// Noncurrent versions and delete markers.
    pub versions: Vec<ObjectMeta>,
    pub tombstones: Vec<(String, Tombstone)>,
    /// Versions removed by id: key and the version's order.
    pub removed: Vec<(String, WriteOrder)>,
    pub truncated: bool,
    pub next_marker: Option<String>,
    /// The bytes of small versions that came with the listing, by fetch spec (a source without this
    /// sends none: every object is fetched).
    pub data: HashMap<String, bytes::Bytes>,
}

/// What one batched fetch brought.
#[derive(Debug, Default)]
pub struct FetchedBatch {
    /// By fetch spec (see `meridian_gateway::replica::fetch_spec`).
    pub objects: Vec<(String, ObjectMeta, bytes::Bytes)>,
    pub missing: Vec<String>,
    pub large: Vec<String>,
}

/// A bucket of the source's zonegroup with its object count (full sync's denominator).
#[derive(Debug, Clone)]
pub struct SourceBucket {
    pub key: String,
    pub objects: u64,
}

impl Source {
    /// `zone` as this site reaches it: its endpoints, signed with this zone's system key.
    pub fn new(zone: &ZoneGroupZone, site: &Site) -> Self {
        let key = &site.system_key;
        Self {
            zone_id: zone.id.clone(),
            zone_name: zone.name.clone(),
            clients: zone
                .endpoints
                .iter()
                .map(|e| PeerClient::new(e, &key.access_key, &key.secret_key))
                .collect(),
        }
    }

    /// The same source with a shorter deadline per request (status must answer even when a link hangs).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        for c in &mut self.clients {
            c.timeout = timeout;
        }
        self
    }

    /// Sends to the first endpoint that answers (a refusal is an answer; only unreachable ones are skipped).
    pub(crate) async fn send(&self, req: AdminRequest) -> Result<Value> {
        let mut last = None;
        for client in &self.clients {
            match client.send(&req).await {
                Err(e @ meridian_peer::PeerError::Unreachable { .. }) => last = Some(e),
                other => return other.map_err(SyncError::from),
            }
        }
        Err(last.map_or_else(|| SyncError::NoEndpoint(self.zone_name.clone()), SyncError::from))
    }

    /// The head of every shard of the source's metadata (`metadata`) or data (`data`) log.
    pub async fn log_heads(&self, log: &str) -> Result<Vec<LogShardInfo>> {
        let v = self
            .send(
                AdminRequest::new(Method::GET, "log")
                    .param("type", log)
                    .param("info", ""),
            )
            .await?;
        v.get("shards")
            .and_then(Value::as_array)
            .ok_or_else(|| SyncError::Protocol(format!("{log} log info without shards: {v}")))?
            .iter()
            .map(shard_info)
            .collect()
    }

    async fn log_page(&self, log: &str, shard: u32, marker: &str, max: usize) -> Result<Vec<Value>> {
        let v = self
            .send(
                AdminRequest::new(Method::GET, "log")
                    .param("type", log)
                    .param("id", shard.to_string())
                    .param("marker", marker)
                    .param("max-entries", max.to_string()),
            )
            .await?;
        Ok(v.get("entries").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    pub async fn datalog(&self, shard: u32, marker: &str, max: usize) -> Result<Vec<DatalogMark>> {
        self.log_page("data", shard, marker, max)
            .await?
            .iter()
            .map(|e| {
                Ok(DatalogMark {
                    marker: text(e, "log_id")?,
                    bucket_key: e
                        .pointer("/entry/key")
                        .and_then(Value::as_str)
                        .ok_or_else(|| SyncError::Protocol(format!("datalog entry without key: {e}")))?
                        .to_string(),
                    timestamp: time(e, "log_timestamp")?,
                })
            })
            .collect()
    }

    pub async fn mdlog(&self, shard: u32, marker: &str, max: usize) -> Result<Vec<MdlogMark>> {
        self.log_page("metadata", shard, marker, max)
            .await?
            .iter()
            .map(|e| {
                Ok(MdlogMark {
                    id: text(e, "id")?,
                    key: format!("{}:{}", text(e, "section")?, text(e, "name")?),
                    timestamp: time(e, "timestamp")?,
                })
            })
            .collect()
    }

    pub async fn bilog_head(&self, bucket: &str) -> Result<String> {
        let v = self
            .send(
                AdminRequest::new(Method::GET, "log")
                    .param("type", "bucket-index")
                    .param("bucket", bucket)
                    .param("info", ""),
            )
            .await?;
        Ok(v.get("max_marker")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    pub async fn bilog(&self, bucket: &str, marker: &str, max: usize) -> Result<Vec<BilogEntry>> {
        let v = self
            .send(
                AdminRequest::new(Method::GET, "log")
                    .param("type", "bucket-index")
                    .param("bucket", bucket)
                    .param("marker", marker)
                    .param("max-entries", max.to_string()),
            )
            .await?;
        v.as_array()
            .ok_or_else(|| SyncError::Protocol(format!("bucket index log is not a list: {v}")))?
            .iter()
            .map(bilog_entry)
            .collect()
    }

    /// The buckets of the source's zonegroup.
    pub async fn buckets(&self) -> Result<Vec<SourceBucket>> {
        let v = self.send(AdminRequest::new(Method::GET, "sync/buckets")).await?;
        v.as_array()
            .ok_or_else(|| SyncError::Protocol(format!("bucket list is not a list: {v}")))?
            .iter()
            .map(|b| {
                Ok(SourceBucket {
                    key: text(b, "key")?,
                    objects: b.get("num_objects").and_then(Value::as_u64).unwrap_or(0),
                })
            })
            .collect()
    }

    /// One page of the source's objects of a bucket after `marker`, with the tombstones of deleted keys in
    /// the same key range, and (`with_data`) the bytes of its small objects.
    pub async fn objects(&self, bucket: &str, marker: &str, max: usize, with_data: bool) -> Result<ObjectPage> {
        let mut req = AdminRequest::new(Method::GET, "sync/objects")
            .param("bucket", bucket)
            .param("marker", marker)
            .param("max-entries", max.to_string());
        if with_data {
            req = req.param("with-data", "");
        }
        let v = self.send(req).await?;
        let field = |name: &str| v.get(name).cloned().unwrap_or(Value::Array(vec![]));
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut data = HashMap::new();
        for d in v.get("data").and_then(Value::as_array).into_iter().flatten() {
            let (Some(spec), Some(bytes)) = (
                d.get("spec").and_then(Value::as_str),
                d.get("data").and_then(Value::as_str),
            ) else {
                return Err(SyncError::Protocol(format!("listed data without spec or bytes: {d}")));
            };
            let bytes = b64
                .decode(bytes)
                .map_err(|e| SyncError::Protocol(format!("listed data of {spec}: {e}")))?;
            data.insert(spec.to_string(), bytes::Bytes::from(bytes));
        }
        Ok(ObjectPage {
            objects: serde_json::from_value(field("objects"))
                .map_err(|e| SyncError::Protocol(format!("object listing: {e}")))?,
            versions: serde_json::from_value(field("versions"))
                .map_err(|e| SyncError::Protocol(format!("version listing: {e}")))?,
            tombstones: serde_json::from_value(field("tombstones"))
                .map_err(|e| SyncError::Protocol(format!("tombstone listing: {e}")))?,
            removed: serde_json::from_value(field("removed_versions"))
                .map_err(|e| SyncError::Protocol(format!("removed version listing: {e}")))?,
            truncated: v.get("truncated").and_then(Value::as_bool).unwrap_or(false),
            next_marker: v.get("next_marker").and_then(Value::as_str).map(str::to_string),
            data,
        })
    }

    /// The source's current object (or the version `version_id` names): its metadata and its bytes,
    /// streamed.
    pub async fn fetch(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<(ObjectMeta, ByteStream)> {
        let mut req = AdminRequest::new(Method::GET, "sync/object")
            .param("bucket", bucket)
            .param("key", key);
        if let Some(v) = version_id {
            req = req.param("version-id", v);
        }
        let mut last = None;
        for client in &self.clients {
            match client.send_streaming(&req).await {
                Err(e @ meridian_peer::PeerError::Unreachable { .. }) => last = Some(e),
                Err(e) => return Err(e.into()),
                Ok(reply) => {
                    let meta = reply
                        .headers
                        .get(OBJECT_META_HEADER)
                        .and_then(|h| base64::engine::general_purpose::STANDARD.decode(h.as_bytes()).ok())
                        .and_then(|json| serde_json::from_slice::<ObjectMeta>(&json).ok())
                        .ok_or_else(|| SyncError::Protocol(format!("object {key} came without its metadata")))?;
                    let body: ByteStream = Box::pin(futures::TryStreamExt::map_err(reply.body, |e| {
                        Box::new(e) as meridian_gateway::BoxError
                    }));
                    return Ok((meta, body));
                }
            }
        }
        Err(last.map_or_else(|| SyncError::NoEndpoint(self.zone_name.clone()), SyncError::from))
    }

    /// Many small objects of a bucket at once (`POST /admin/sync/fetch`): their metadata and bytes; keys the
    /// source no longer holds are `missing`, and objects it answers without bytes (too large, or past the
    /// answer's budget) are `large`, for `fetch`. A source without this endpoint (an older version) answers
    /// every key as large.
    pub async fn fetch_batch(&self, bucket: &str, keys: &[String]) -> Result<FetchedBatch> {
        let req = AdminRequest::new(Method::POST, "sync/fetch")
            .param("bucket", bucket)
            .with_body(serde_json::json!({ "keys": keys }));
        let v = match self.send(req).await {
            Err(SyncError::Peer(meridian_peer::PeerError::Remote {
                status: 400 | 405 | 501,
                code,
                ..
            })) if code != "NoSuchBucket" => {
                return Ok(FetchedBatch {
                    large: keys.to_vec(),
                    ..Default::default()
                })
            }
            other => other?,
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let strings = |field: &str| -> Vec<String> {
            v.get(field)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let mut out = FetchedBatch {
            objects: Vec::new(),
            missing: strings("missing"),
            large: strings("large"),
        };
        for o in v.get("objects").and_then(Value::as_array).into_iter().flatten() {
            let meta: ObjectMeta = o
                .get("meta")
                .cloned()
                .ok_or_else(|| SyncError::Protocol(format!("fetched object without meta: {o}")))
                .and_then(|m| {
                    serde_json::from_value(m).map_err(|e| SyncError::Protocol(format!("fetched object: {e}")))
                })?;
            let data = o
                .get("data")
                .and_then(Value::as_str)
                .and_then(|d| b64.decode(d).ok())
                .ok_or_else(|| SyncError::Protocol(format!("fetched object {} without its bytes", meta.key)))?;
            let spec = o
                .get("spec")
                .and_then(Value::as_str)
                .map_or_else(|| meta.key.clone(), str::to_string);
            out.objects.push((spec, meta, bytes::Bytes::from(data)));
        }
        Ok(out)
    }

    /// What the source has synced from `zone` (its markers), for trimming.
    pub async fn markers_for(&self, zone: &str) -> Result<SyncMarkers> {
        let doc = self
            .send(AdminRequest::new(Method::GET, "sync/markers").param("source-zone", zone))
            .await?;
        serde_json::from_value(doc).map_err(|e| SyncError::Protocol(format!("sync markers: {e}")))
    }
}

fn text(v: &Value, field: &str) -> Result<String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| SyncError::Protocol(format!("missing {field} in {v}")))
}

fn time(v: &Value, field: &str) -> Result<Timestamp> {
    Timestamp::parse_rfc3339(&text(v, field)?).ok_or_else(|| SyncError::Protocol(format!("bad time {field} in {v}")))
}

fn shard_info(v: &Value) -> Result<LogShardInfo> {
    Ok(LogShardInfo {
        marker: v.get("marker").and_then(Value::as_str).unwrap_or_default().to_string(),
        last_update: v
            .get("last_update")
            .and_then(Value::as_str)
            .and_then(Timestamp::parse_rfc3339),
    })
}

fn bilog_entry(e: &Value) -> Result<BilogEntry> {
    Ok(BilogEntry {
        op_id: text(e, "op_id")?,
        op: {
            let op = text(e, "op")?;
            BilogOp::parse(&op).ok_or_else(|| SyncError::Protocol(format!("unknown bilog op {op:?}")))?
        },
        object: text(e, "object")?,
        instance: text(e, "op_tag")?,
        timestamp: time(e, "timestamp")?,
        etag: e.get("etag").and_then(Value::as_str).unwrap_or_default().to_string(),
        size: e.get("size").and_then(Value::as_u64).unwrap_or(0),
        zones_trace: e
            .get("zones_trace")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|z| z.get("entry").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        version_id: if e.get("versioned").and_then(Value::as_bool).unwrap_or(false) {
            e.get("instance")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        } else {
            String::new()
        },
        removed: e
            .get("removed")
            .filter(|v| !v.is_null())
            .map(|v| serde_json::from_value(v.clone()))
            .transpose()
            .map_err(|err| SyncError::Protocol(format!("bad removed version in {e}: {err}")))?,
    })
}
