//! An in-memory source zone for the agents' unit tests: logs, buckets and objects held in maps, with
//! failures to inject (transient errors, bytes that do not match their metadata), and a record of what the
//! agents asked.

use crate::error::{Result, SyncError};
use crate::source::{DatalogMark, FetchedBatch, MdlogMark, ObjectPage, ShardedLog, Source, SourceBucket, TrimmedLogs};
use bytes::Bytes;
use md5::{Digest, Md5};
use meridian_gateway::ByteStream;
use meridian_model::{BilogEntry, BilogOp, LogShardInfo, ObjectMeta, Timestamp};
use meridian_peer::PeerError;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Shards of each sharded log the memory source has.
pub const SHARDS: usize = 4;

#[derive(Default)]
pub struct MemoryState {
    pub data_log: [Vec<DatalogMark>; SHARDS],
    pub md_log: [Vec<MdlogMark>; SHARDS],
    /// By bucket spec (`tenant/name` or `name`).
    pub buckets: BTreeMap<String, MemoryBucket>,
    /// What `buckets()` lists.
    pub bucket_list: Vec<SourceBucket>,
    pub trimmed: TrimmedLogs,
    /// Errors the next fetches answer with, in order.
    pub fetch_errors: VecDeque<SyncError>,
    /// Fetches answer bytes other than their metadata describes.
    pub corrupt: bool,
    /// Object fetches made (failed ones included).
    pub fetches: usize,
    /// The markers the agents read each bucket index log from, in order.
    pub bilog_reads: Vec<String>,
    /// The (shard, marker) the agents read the data log from, in order.
    pub datalog_reads: Vec<(u32, String)>,
}

#[derive(Default)]
pub struct MemoryBucket {
    pub bilog: Vec<BilogEntry>,
    pub objects: BTreeMap<String, (ObjectMeta, Bytes)>,
}

pub struct MemorySource {
    pub zone_id: String,
    pub state: Mutex<MemoryState>,
}

/// The `n`th marker of a log, as Meridian writes them (zero-padded so they sort as text).
pub fn marker(n: usize) -> String {
    format!("{n:020}")
}

impl MemorySource {
    pub fn new(zone_id: &str) -> Self {
        Self {
            zone_id: zone_id.to_string(),
            state: Mutex::new(MemoryState::default()),
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut MemoryState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Writes `key` in bucket `spec` (never versioned) and logs it; returns the entry's marker.
    pub fn put(&self, spec: &str, key: &str, data: &'static [u8]) -> String {
        let meta = ObjectMeta {
            key: key.to_string(),
            instance: format!("{key}-{}", Timestamp::now().0),
            size: data.len() as u64,
            etag: hex::encode(Md5::digest(data)),
            mtime: Timestamp::now(),
            zones_trace: vec![self.zone_id.clone()],
            ..Default::default()
        };
        self.log(spec, BilogOp::Write, &meta, Some(Bytes::from_static(data)))
    }

    /// Deletes `key` of bucket `spec` (never versioned) and logs it.
    pub fn delete(&self, spec: &str, key: &str) -> String {
        let meta = ObjectMeta {
            key: key.to_string(),
            mtime: Timestamp::now(),
            zones_trace: vec![self.zone_id.clone()],
            ..Default::default()
        };
        self.log(spec, BilogOp::Del, &meta, None)
    }

    fn log(&self, spec: &str, op: BilogOp, meta: &ObjectMeta, data: Option<Bytes>) -> String {
        self.with(|st| {
            let bucket = st.buckets.entry(spec.to_string()).or_default();
            let op_id = marker(bucket.bilog.len() + 1);
            bucket.bilog.push(BilogEntry {
                op_id: op_id.clone(),
                op,
                object: meta.key.clone(),
                instance: meta.instance.clone(),
                timestamp: meta.mtime,
                etag: meta.etag.clone(),
                size: meta.size,
                zones_trace: meta.zones_trace.clone(),
                version_id: String::new(),
                removed: None,
            });
            match data {
                Some(d) => bucket.objects.insert(meta.key.clone(), (meta.clone(), d)),
                None => bucket.objects.remove(&meta.key),
            };
            op_id
        })
    }

    /// Marks bucket `bucket_key` changed in data-log shard `shard`; returns the mark's marker.
    pub fn mark_changed(&self, shard: usize, bucket_key: &str) -> String {
        self.with(|st| {
            let m = marker(st.data_log[shard].len() + 1);
            st.data_log[shard].push(DatalogMark {
                marker: m.clone(),
                bucket_key: bucket_key.to_string(),
                timestamp: Timestamp::now(),
            });
            m
        })
    }

    /// Logs a metadata change of `key` (`section:name`) in shard `shard`; returns its marker.
    pub fn metadata_changed(&self, shard: usize, key: &str) -> String {
        self.with(|st| {
            let id = marker(st.md_log[shard].len() + 1);
            st.md_log[shard].push(MdlogMark {
                id: id.clone(),
                key: key.to_string(),
                timestamp: Timestamp::now(),
            });
            id
        })
    }
}

fn not_found(what: &str) -> SyncError {
    SyncError::Peer(PeerError::Remote {
        status: 404,
        code: "NoSuchKey".into(),
        message: what.to_string(),
    })
}

#[async_trait::async_trait]
impl Source for MemorySource {
    fn zone_id(&self) -> &str {
        &self.zone_id
    }

    fn zone_name(&self) -> &str {
        "memory"
    }

    async fn log_heads(&self, log: ShardedLog) -> Result<Vec<LogShardInfo>> {
        Ok(self.with(|st| {
            let head = |last: Option<(&String, Timestamp)>| LogShardInfo {
                marker: last.map(|(m, _)| m.clone()).unwrap_or_default(),
                last_update: last.map(|(_, t)| t),
            };
            match log {
                ShardedLog::Data => st
                    .data_log
                    .iter()
                    .map(|s| head(s.last().map(|m| (&m.marker, m.timestamp))))
                    .collect(),
                ShardedLog::Metadata => st
                    .md_log
                    .iter()
                    .map(|s| head(s.last().map(|m| (&m.id, m.timestamp))))
                    .collect(),
            }
        }))
    }

    async fn datalog(&self, shard: u32, marker: &str, max: usize) -> Result<Vec<DatalogMark>> {
        Ok(self.with(|st| {
            st.datalog_reads.push((shard, marker.to_string()));
            st.data_log[shard as usize]
                .iter()
                .filter(|m| m.marker.as_str() > marker)
                .take(max)
                .cloned()
                .collect()
        }))
    }

    async fn mdlog(&self, shard: u32, marker: &str, max: usize) -> Result<Vec<MdlogMark>> {
        Ok(self.with(|st| {
            st.md_log[shard as usize]
                .iter()
                .filter(|m| m.id.as_str() > marker)
                .take(max)
                .cloned()
                .collect()
        }))
    }

    async fn metadata_keys(&self, _section: &str) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn bilog_head(&self, bucket: &str) -> Result<String> {
        self.with(|st| {
            let b = st.buckets.get(bucket).ok_or_else(|| not_found(bucket))?;
            Ok(b.bilog.last().map(|e| e.op_id.clone()).unwrap_or_default())
        })
    }

    async fn bilog(&self, bucket: &str, marker: &str, max: usize) -> Result<Vec<BilogEntry>> {
        self.with(|st| {
            st.bilog_reads.push(marker.to_string());
            let b = st.buckets.get(bucket).ok_or_else(|| not_found(bucket))?;
            Ok(b.bilog
                .iter()
                .filter(|e| e.op_id.as_str() > marker)
                .take(max)
                .cloned()
                .collect())
        })
    }

    async fn buckets(&self) -> Result<Vec<SourceBucket>> {
        Ok(self.with(|st| st.bucket_list.clone()))
    }

    async fn objects(&self, bucket: &str, marker: &str, max: usize, _with_data: bool) -> Result<ObjectPage> {
        self.with(|st| {
            let b = st.buckets.get(bucket).ok_or_else(|| not_found(bucket))?;
            let after: Vec<&(ObjectMeta, Bytes)> = b
                .objects
                .iter()
                .filter(|(k, _)| k.as_str() > marker)
                .map(|(_, o)| o)
                .collect();
            let page: Vec<ObjectMeta> = after.iter().take(max).map(|(m, _)| m.clone()).collect();
            Ok(ObjectPage {
                truncated: after.len() > page.len(),
                next_marker: page.last().map(|m| m.key.clone()),
                objects: page,
                versions: Vec::new(),
                tombstones: Vec::new(),
                removed: Vec::new(),
                data: Default::default(),
            })
        })
    }

    async fn fetch(&self, bucket: &str, key: &str, _version_id: Option<&str>) -> Result<(ObjectMeta, ByteStream)> {
        let (meta, data) = self.with(|st| {
            st.fetches += 1;
            if let Some(e) = st.fetch_errors.pop_front() {
                return Err(e);
            }
            let (meta, data) = st
                .buckets
                .get(bucket)
                .and_then(|b| b.objects.get(key))
                .cloned()
                .ok_or_else(|| not_found(key))?;
            if st.corrupt {
                // Same length, other bytes: only the ETag tells.
                let mut torn = data.to_vec();
                torn.iter_mut().for_each(|b| *b = b.wrapping_add(1));
                return Ok((meta, Bytes::from(torn)));
            }
            Ok((meta, data))
        })?;
        let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(data) }));
        Ok((meta, body))
    }

    /// Like a source without batched fetches: every object is fetched on its own.
    async fn fetch_batch(&self, _bucket: &str, keys: &[String]) -> Result<FetchedBatch> {
        Ok(FetchedBatch {
            large: keys.to_vec(),
            ..Default::default()
        })
    }

    async fn trimmed(&self) -> Result<TrimmedLogs> {
        Ok(self.with(|st| st.trimmed.clone()))
    }
}
