//! A source zone as the sync agents see it: the [`Source`] trait (its logs, its bucket listings and its
//! objects) and [`PeerSource`], the real one, which makes the typed calls of `meridian_proto` over the
//! admin API with this zone's system key. Unit tests drive the agents with an in-memory `Source`.

use crate::error::{Result, SyncError};
use meridian_gateway::{ByteStream, Site};
use meridian_model::{BilogEntry, LogShardInfo, ObjectMeta, Timestamp, Tombstone, WriteOrder, ZoneGroupZone};
use meridian_peer::proto::log::{BilogInfoCall, BilogListCall, DatalogListCall, LogInfoCall, MdlogListCall};
use meridian_peer::proto::metadata::ListKeys;
use meridian_peer::proto::sync_listing::{BucketsCall, ObjectsCall, TrimmedCall};
use meridian_peer::proto::sync_object::{decode_meta_header, FetchBatchCall, ObjectFetch};
use meridian_peer::proto::sync_status::{MarkersCall, SyncMarkers};
use meridian_peer::proto::Call;
use meridian_peer::{Failover, PeerError};
use std::collections::HashMap;

pub use meridian_peer::proto::log::ShardedLog;
pub use meridian_peer::proto::sync_listing::TrimmedLogs;
pub use meridian_peer::proto::sync_object::OBJECT_META_HEADER;

/// What the agents read from a source zone. Every error is the source's answer or why there was none; a
/// missing object or bucket is `SyncError::is_not_found`.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    fn zone_id(&self) -> &str;
    fn zone_name(&self) -> &str;

    /// The head of every shard of the source's metadata or data log.
    async fn log_heads(&self, log: ShardedLog) -> Result<Vec<LogShardInfo>>;

    /// Up to `max` data-log marks of `shard` after `marker`.
    async fn datalog(&self, shard: u32, marker: &str, max: usize) -> Result<Vec<DatalogMark>>;

    /// Up to `max` metadata-log entries of `shard` after `marker`.
    async fn mdlog(&self, shard: u32, marker: &str, max: usize) -> Result<Vec<MdlogMark>>;

    /// Every key of a metadata section (`user`, `bucket`), for metadata full sync.
    async fn metadata_keys(&self, section: &str) -> Result<Vec<String>>;

    /// The newest marker of a bucket's index log (`bucket` as `tenant/name`).
    async fn bilog_head(&self, bucket: &str) -> Result<String>;

    /// Up to `max` entries of a bucket's index log after `marker`.
    async fn bilog(&self, bucket: &str, marker: &str, max: usize) -> Result<Vec<BilogEntry>>;

    /// The buckets of the source's zonegroup.
    async fn buckets(&self) -> Result<Vec<SourceBucket>>;

    /// One page of the source's objects of a bucket after `marker`, with the tombstones of deleted keys in
    /// the same key range, and (`with_data`) the bytes of its small objects.
    async fn objects(&self, bucket: &str, marker: &str, max: usize, with_data: bool) -> Result<ObjectPage>;

    /// The source's current object (or the version `version_id` names): its metadata and its bytes,
    /// streamed.
    async fn fetch(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<(ObjectMeta, ByteStream)>;

    /// Many small objects of a bucket at once: their metadata and bytes; keys the source no longer holds are
    /// `missing`, and objects it answers without bytes (too large, or past the answer's budget) are
    /// `large`, for `fetch`.
    async fn fetch_batch(&self, bucket: &str, keys: &[String]) -> Result<FetchedBatch>;

    /// How far the source trimmed its logs.
    async fn trimmed(&self) -> Result<TrimmedLogs>;
}

/// The source zone itself, over the admin API.
#[derive(Debug, Clone)]
pub struct PeerSource {
    pub zone_id: String,
    pub zone_name: String,
    endpoints: Failover,
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

impl PeerSource {
    /// `zone` as this site reaches it: its endpoints, signed with this zone's system key.
    pub fn new(zone: &ZoneGroupZone, site: &Site) -> Self {
        let key = &site.system_key;
        Self {
            zone_id: zone.id.clone(),
            zone_name: zone.name.clone(),
            endpoints: Failover::new(&zone.endpoints, &key.access_key, &key.secret_key),
        }
    }

    /// The same source with a shorter deadline per request (status must answer even when a link hangs).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.endpoints = self.endpoints.with_timeout(timeout);
        self
    }

    /// Makes a typed call on the first endpoint that answers (a refusal is an answer; only unreachable
    /// endpoints are skipped).
    pub(crate) async fn call<C: Call>(&self, call: &C) -> Result<C::Reply> {
        self.check_endpoints()?;
        Ok(self.endpoints.call(call).await?)
    }

    /// A zone with no endpoint cannot be synced from: say which.
    fn check_endpoints(&self) -> Result<()> {
        if self.endpoints.is_empty() {
            return Err(SyncError::NoEndpoint(self.zone_name.clone()));
        }
        Ok(())
    }

    /// What the source has synced from `zone` (its markers), for trimming.
    pub async fn markers_for(&self, zone: &str) -> Result<SyncMarkers> {
        self.call(&MarkersCall {
            source_zone: zone.to_string(),
        })
        .await
    }
}

#[async_trait::async_trait]
impl Source for PeerSource {
    fn zone_id(&self) -> &str {
        &self.zone_id
    }

    fn zone_name(&self) -> &str {
        &self.zone_name
    }

    async fn log_heads(&self, log: ShardedLog) -> Result<Vec<LogShardInfo>> {
        let info = self.call(&LogInfoCall { log }).await?;
        Ok(info.shards.into_iter().map(LogShardInfo::from).collect())
    }

    async fn datalog(&self, shard: u32, marker: &str, max: usize) -> Result<Vec<DatalogMark>> {
        let page = self
            .call(&DatalogListCall {
                shard,
                marker: marker.to_string(),
                max_entries: max,
            })
            .await?;
        Ok(page
            .entries
            .into_iter()
            .map(|e| DatalogMark {
                marker: e.log_id,
                bucket_key: e.entry.key,
                timestamp: e.log_timestamp,
            })
            .collect())
    }

    async fn mdlog(&self, shard: u32, marker: &str, max: usize) -> Result<Vec<MdlogMark>> {
        let page = self
            .call(&MdlogListCall {
                shard,
                marker: marker.to_string(),
                max_entries: max,
            })
            .await?;
        Ok(page
            .entries
            .into_iter()
            .map(|e| MdlogMark {
                key: e.key(),
                id: e.id,
                timestamp: e.timestamp,
            })
            .collect())
    }

    async fn metadata_keys(&self, section: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut call = ListKeys {
            section: section.to_string(),
            max_entries: 1000,
            marker: String::new(),
        };
        loop {
            let page = self.call(&call).await?;
            out.extend(page.keys);
            match page.marker.filter(|_| page.truncated) {
                Some(m) if m != call.marker => call.marker = m,
                _ => return Ok(out),
            }
        }
    }

    async fn bilog_head(&self, bucket: &str) -> Result<String> {
        let info = self
            .call(&BilogInfoCall {
                bucket: bucket.to_string(),
            })
            .await?;
        Ok(info.max_marker)
    }

    async fn bilog(&self, bucket: &str, marker: &str, max: usize) -> Result<Vec<BilogEntry>> {
        let entries = self
            .call(&BilogListCall {
                bucket: bucket.to_string(),
                marker: marker.to_string(),
                max_entries: max,
            })
            .await?;
        Ok(entries.into_iter().map(BilogEntry::from).collect())
    }

    async fn buckets(&self) -> Result<Vec<SourceBucket>> {
        Ok(self
            .call(&BucketsCall)
            .await?
            .into_iter()
            .map(|b| SourceBucket {
                key: b.key,
                objects: b.num_objects,
            })
            .collect())
    }

    async fn objects(&self, bucket: &str, marker: &str, max: usize, with_data: bool) -> Result<ObjectPage> {
        let page = self
            .call(&ObjectsCall {
                bucket: bucket.to_string(),
                marker: marker.to_string(),
                max_entries: max,
                with_data,
            })
            .await?;
        Ok(ObjectPage {
            objects: page.objects,
            versions: page.versions,
            tombstones: page.tombstones,
            removed: page.removed_versions,
            truncated: page.truncated,
            next_marker: page.next_marker,
            data: page.data.into_iter().map(|d| (d.spec, d.data)).collect(),
        })
    }

    async fn fetch(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<(ObjectMeta, ByteStream)> {
        let req = ObjectFetch {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: version_id.map(str::to_string),
        }
        .request();
        self.check_endpoints()?;
        let reply = self.endpoints.send_streaming(&req).await?;
        let meta = reply
            .headers
            .get(OBJECT_META_HEADER)
            .and_then(|h| decode_meta_header(h.as_bytes()))
            .ok_or_else(|| SyncError::Protocol(format!("object {key} came without its metadata")))?;
        let body: ByteStream = Box::pin(futures::TryStreamExt::map_err(reply.body, |e| {
            Box::new(e) as meridian_gateway::BoxError
        }));
        Ok((meta, body))
    }

    /// A source without `POST /admin/sync/fetch` (an older version) answers every key as large.
    async fn fetch_batch(&self, bucket: &str, keys: &[String]) -> Result<FetchedBatch> {
        let call = FetchBatchCall {
            bucket: bucket.to_string(),
            keys: keys.to_vec(),
        };
        let reply = match self.call(&call).await {
            Err(SyncError::Peer(PeerError::Remote {
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
        Ok(FetchedBatch {
            objects: reply
                .objects
                .into_iter()
                .map(|o| (o.spec().to_string(), o.meta, o.data))
                .collect(),
            missing: reply.missing,
            large: reply.large,
        })
    }

    async fn trimmed(&self) -> Result<TrimmedLogs> {
        self.call(&TrimmedCall).await
    }
}
