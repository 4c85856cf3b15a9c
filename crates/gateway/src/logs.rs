//! The change logs replication reads: the bucket index log (every object change of a bucket, in order)
//! and the data log (which buckets changed). A bucket has at most one data-log mark per shard: a new
//! change moves its mark to the tail, so marks coalesce without ever hiding a change from a reader.

use crate::error::Result;
use crate::keys;
use crate::records;
use meridian_model::{BilogEntry, BilogOp, Bucket, DatalogEntry, LogShardInfo, Timestamp};
use meridian_store::{ReadOps, WriteTxn};

/// What one object mutation tells the logs.
pub(crate) struct Change<'a> {
    pub op: BilogOp,
    pub key: &'a str,
    pub instance: &'a str,
    pub mtime: Timestamp,
    pub etag: &'a str,
    pub size: u64,
    pub zones_trace: &'a [String],
    /// Empty in a never-versioned bucket, else `null` or the version id.
    pub version_id: &'a str,
    /// The removed version's order (for `DelVersion`).
    pub removed: Option<meridian_model::WriteOrder>,
}

pub fn bucket_log_key(bucket: &Bucket) -> String {
    format!("{}:{}:{}", bucket.tenant, bucket.name, bucket.bucket_id)
}

pub(crate) fn record(txn: &mut dyn WriteTxn, bucket: &Bucket, change: &Change<'_>) -> Result<()> {
    let seq = records::next_seq(txn, &format!("bilog/{}", bucket.bucket_id))?;
    let entry = BilogEntry {
        op_id: keys::marker(seq),
        op: change.op,
        object: change.key.to_string(),
        instance: change.instance.to_string(),
        timestamp: change.mtime,
        etag: change.etag.to_string(),
        size: change.size,
        zones_trace: change.zones_trace.to_vec(),
        version_id: change.version_id.to_string(),
        removed: change.removed.clone(),
    };
    let mut key = keys::bilog_prefix(&bucket.bucket_id);
    key.extend_from_slice(entry.op_id.as_bytes());
    records::put(txn, &key, &entry)?;
    mark_datalog(txn, bucket)
}

fn mark_datalog(txn: &mut dyn WriteTxn, bucket: &Bucket) -> Result<()> {
    let log_key = bucket_log_key(bucket);
    let pos_key = format!("{}{}", keys::DATALOG_POS, log_key).into_bytes();
    if let Some(previous) = txn.get(&pos_key)? {
        txn.delete(&previous)?;
    }
    let seq = records::next_seq(txn, "datalog")?;
    let entry = DatalogEntry {
        marker: keys::marker(seq),
        key: log_key.clone(),
        timestamp: Timestamp::now(),
    };
    let mut key = keys::datalog_prefix(keys::datalog_shard(&log_key));
    key.extend_from_slice(entry.marker.as_bytes());
    records::put(txn, &key, &entry)?;
    txn.put(&pos_key, &key)?;
    crate::note_logged(false);
    Ok(())
}

/// Bucket index log entries after `marker` (exclusive), at most `max`.
pub(crate) fn list_bilog(
    r: &dyn ReadOps,
    bucket_id: &str,
    marker: Option<&str>,
    max: usize,
) -> Result<Vec<BilogEntry>> {
    records::list_after(r, &keys::bilog_prefix(bucket_id), marker, max)
}

/// Data log entries of one shard after `marker` (exclusive), at most `max`.
pub(crate) fn list_datalog(r: &dyn ReadOps, shard: u32, marker: Option<&str>, max: usize) -> Result<Vec<DatalogEntry>> {
    records::list_after(r, &keys::datalog_prefix(shard), marker, max)
}

/// Removes a bucket's whole index log (when the bucket itself is removed).
pub(crate) fn drop_bilog(txn: &mut dyn WriteTxn, bucket_id: &str) -> Result<()> {
    txn.delete(&keys::log_trimmed(&keys::bilog_prefix(bucket_id)))?;
    records::delete_prefix(txn, &keys::bilog_prefix(bucket_id))
}

/// The two sharded logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Metadata,
    Data,
}

impl LogKind {
    pub fn shards(self) -> u32 {
        match self {
            LogKind::Metadata => keys::MDLOG_SHARDS,
            LogKind::Data => keys::DATALOG_SHARDS,
        }
    }

    fn prefix(self, shard: u32) -> Vec<u8> {
        match self {
            LogKind::Metadata => keys::mdlog_prefix(shard),
            LogKind::Data => keys::datalog_prefix(shard),
        }
    }
}

/// The newest entry under `prefix`: its marker (the key's suffix) and time.
fn head(r: &dyn ReadOps, prefix: &[u8]) -> Result<LogShardInfo> {
    let end = meridian_store::meta::prefix_end(prefix);
    let Some((k, v)) = r.scan_rev(prefix, &end, 1)?.into_iter().next() else {
        return Ok(LogShardInfo::default());
    };
    let entry: serde_json::Value = records::decode(&k, &v)?;
    Ok(LogShardInfo {
        marker: String::from_utf8_lossy(&k[prefix.len()..]).into_owned(),
        last_update: entry
            .get("timestamp")
            .and_then(serde_json::Value::as_u64)
            .map(Timestamp),
    })
}

/// Deletes up to `batch` entries under `prefix` with markers up to and including `upto`; returns how many.
/// The newest entry always stays: it is the log's head, which readers compare their positions with.
fn trim(txn: &mut dyn WriteTxn, prefix: &[u8], upto: &str, batch: usize) -> Result<usize> {
    let mut end = prefix.to_vec();
    end.extend_from_slice(upto.as_bytes());
    end.push(0);
    let log_end = meridian_store::meta::prefix_end(prefix);
    if let Some((newest, _)) = txn.scan_rev(prefix, &log_end, 1)?.into_iter().next() {
        end = end.min(newest);
    }
    let page = txn.scan(prefix, &end, batch)?;
    for (k, v) in &page {
        txn.delete(k)?;
        if k.starts_with(keys::DATALOG.as_bytes()) {
            // The bucket's position pointer must not outlive its mark.
            let entry: DatalogEntry = records::decode(k, v)?;
            let pos_key = format!("{}{}", keys::DATALOG_POS, entry.key).into_bytes();
            if txn.get(&pos_key)?.as_deref() == Some(k.as_slice()) {
                txn.delete(&pos_key)?;
            }
        }
    }
    if let Some((last, _)) = page.last() {
        let marker = &last[prefix.len()..];
        let key = keys::log_trimmed(prefix);
        if txn.get(&key)?.is_none_or(|old| old.as_slice() < marker) {
            txn.put(&key, marker)?;
        }
    }
    Ok(page.len())
}

/// How far trimming has gone in each log: the newest marker removed from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrimmedMarkers {
    pub metadata: std::collections::BTreeMap<u32, String>,
    pub data: std::collections::BTreeMap<u32, String>,
    /// By bucket instance id.
    pub buckets: std::collections::BTreeMap<String, String>,
}

fn trimmed_markers(r: &dyn ReadOps) -> Result<TrimmedMarkers> {
    let mut out = TrimmedMarkers::default();
    let prefix = keys::LOG_TRIMMED.as_bytes();
    records::scan_each::<()>(r, prefix, |k, v| {
        let log = String::from_utf8_lossy(&k[prefix.len()..]);
        let marker = String::from_utf8_lossy(&v).into_owned();
        let shard = |rest: &str| rest.trim_end_matches('/').parse::<u32>().ok();
        if let Some(id) = log.strip_prefix(keys::BILOG) {
            out.buckets.insert(id.trim_end_matches('/').to_string(), marker);
        } else if let Some(s) = log.strip_prefix(keys::DATALOG).and_then(shard) {
            out.data.insert(s, marker);
        } else if let Some(s) = log.strip_prefix(keys::MDLOG).and_then(shard) {
            out.metadata.insert(s, marker);
        }
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    Ok(out)
}

/// Trims entries a page per transaction, so a long log never holds the writer for long.
const TRIM_BATCH: usize = 1000;

/// The change logs other zones read: heads, listings and trims of the bucket-index, data and metadata logs.
/// Reached through `Gateway::logs()`.
#[derive(Clone, Copy)]
pub struct LogService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

impl LogService<'_> {
    /// The head of one shard of a log.
    pub async fn head(&self, kind: LogKind, shard: u32) -> Result<LogShardInfo> {
        self.core.read(move |r| head(r, &kind.prefix(shard))).await
    }

    /// The head of every shard of a log.
    pub async fn heads(&self, kind: LogKind) -> Result<Vec<LogShardInfo>> {
        self.core
            .read(move |r| (0..kind.shards()).map(|s| head(r, &kind.prefix(s))).collect())
            .await
    }

    pub async fn bilog_head(&self, bucket_id: &str) -> Result<LogShardInfo> {
        let prefix = keys::bilog_prefix(bucket_id);
        self.core.read(move |r| head(r, &prefix)).await
    }

    /// How far trimming has gone in every log of this zone.
    pub async fn trimmed_markers(&self) -> Result<TrimmedMarkers> {
        self.core.read(trimmed_markers).await
    }

    /// Removes a log shard's entries up to and including `upto`; returns how many went.
    pub async fn trim(&self, kind: LogKind, shard: u32, upto: &str) -> Result<usize> {
        self.trim_prefix(kind.prefix(shard), upto).await
    }

    pub async fn trim_bilog(&self, bucket_id: &str, upto: &str) -> Result<usize> {
        self.trim_prefix(keys::bilog_prefix(bucket_id), upto).await
    }

    async fn trim_prefix(&self, prefix: Vec<u8>, upto: &str) -> Result<usize> {
        let mut total = 0;
        loop {
            let (p, u) = (prefix.clone(), upto.to_string());
            let n = self.core.write(move |txn| trim(txn, &p, &u, TRIM_BATCH)).await?;
            total += n;
            if n < TRIM_BATCH {
                return Ok(total);
            }
        }
    }

    pub async fn list_bilog(&self, bucket: &str, marker: Option<String>, max: usize) -> Result<Vec<BilogEntry>> {
        let b = self.core.buckets().info(bucket).await?;
        self.core
            .read(move |r| list_bilog(r, &b.bucket_id, marker.as_deref(), max))
            .await
    }

    /// Data log entries; `shard` None lists every shard (entries in shard order).
    pub async fn list_datalog(
        &self,
        shard: Option<u32>,
        marker: Option<String>,
        max: usize,
    ) -> Result<Vec<(u32, DatalogEntry)>> {
        self.core
            .read(move |r| {
                let shards: Vec<u32> = match shard {
                    Some(s) => vec![s],
                    None => (0..keys::DATALOG_SHARDS).collect(),
                };
                let mut out = Vec::new();
                for s in shards {
                    if out.len() >= max {
                        break;
                    }
                    for e in list_datalog(r, s, marker.as_deref(), max - out.len())? {
                        out.push((s, e));
                    }
                }
                Ok(out)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{body, gateway};
    use crate::users::NewUser;

    #[tokio::test(flavor = "multi_thread")]
    async fn datalog_marks_coalesce_to_the_tail_and_bilog_keeps_every_change() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(dir.path()).await;
        let user = gw
            .users()
            .create(NewUser {
                uid: "u".into(),
                display_name: "U".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let a = gw.buckets().create(&user, "bucket-a", None).await.unwrap();
        let b = gw.buckets().create(&user, "bucket-b", None).await.unwrap();
        gw.objects()
            .put(&a, "k", body(b"one"), Default::default())
            .await
            .unwrap();
        gw.objects()
            .put(&b, "k", body(b"two"), Default::default())
            .await
            .unwrap();

        let before = gw.logs().list_datalog(None, None, 1000).await.unwrap();
        assert_eq!(before.len(), 2, "one mark per changed bucket: {before:?}");
        let mark_a = before.iter().find(|(_, e)| e.key.contains("bucket-a")).unwrap().clone();

        // A reader that consumed bucket-a's mark must see a new one after the next change.
        gw.objects().delete(&a, "k").await.unwrap();
        let after = gw.logs().list_datalog(None, None, 1000).await.unwrap();
        assert_eq!(after.len(), 2, "still one mark per bucket: {after:?}");
        let new_a = after.iter().find(|(_, e)| e.key.contains("bucket-a")).unwrap();
        assert!(new_a.1.marker > mark_a.1.marker, "the mark moved to the tail");
        let past_old = gw
            .logs()
            .list_datalog(Some(mark_a.0), Some(mark_a.1.marker.clone()), 1000)
            .await
            .unwrap();
        assert!(past_old.iter().any(|(_, e)| e.key.contains("bucket-a")));

        let bilog = gw.logs().list_bilog("bucket-a", None, 100).await.unwrap();
        let ops: Vec<_> = bilog.iter().map(|e| (e.op, e.object.as_str())).collect();
        assert_eq!(
            ops,
            vec![
                (meridian_model::BilogOp::Write, "k"),
                (meridian_model::BilogOp::Del, "k")
            ]
        );
        assert!(bilog[0].op_id < bilog[1].op_id);
        assert_eq!(bilog[0].zones_trace, vec![gw.site().zone_id.clone()]);
        let tail = gw
            .logs()
            .list_bilog("bucket-a", Some(bilog[0].op_id.clone()), 100)
            .await
            .unwrap();
        assert_eq!(tail.len(), 1, "listing after a marker excludes it");
    }
}
