//! Applying another zone's object changes. Every zone decides the same way which change of a key wins
//! (`WriteOrder`: later mtime, then origin zone), so zones converge whatever order changes arrive in;
//! deletes leave a tombstone so a late replica of an older write cannot bring a deleted key back.

use crate::blob::{self, ByteStream, WrittenBlob};
use crate::error::{GatewayError, Result};
use crate::objects::{commit_object, remove_object};
use crate::sync_state::SyncStateBatch;
use crate::{keys, records, Gateway};
use meridian_model::names::validate_object_key;
use meridian_model::{Bucket, Manifest, ObjectMeta, Timestamp, Tombstone, WriteOrder};
use meridian_store::{ReadOps, WriteTxn};

/// What applying a replicated change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The change is now this zone's state of the key.
    Done,
    /// This zone already holds that change or a newer one.
    Superseded,
}

/// What this zone holds for a key: the current object's order and instance, or a tombstone's order.
fn local_state(r: &dyn ReadOps, bucket_id: &str, key: &str) -> Result<Option<(WriteOrder, Option<String>)>> {
    if let Some(obj) = records::get::<ObjectMeta>(r, &keys::object(bucket_id, key))? {
        return Ok(Some((WriteOrder::of(obj.mtime, &obj.zones_trace), Some(obj.instance))));
    }
    Ok(records::get::<Tombstone>(r, &keys::tombstone(bucket_id, key))?.map(|t| (t, None)))
}

/// Whether a change of `order` (an object write of `instance`, or a delete) replaces what is held locally.
fn replaces(local: Option<&(WriteOrder, Option<String>)>, order: &WriteOrder, instance: Option<&str>) -> bool {
    match local {
        None => true,
        Some((_, Some(held))) if instance == Some(held.as_str()) => false,
        Some((held, _)) => order > held,
    }
}

pub(crate) fn record_tombstone(txn: &mut dyn WriteTxn, bucket_id: &str, key: &str, order: &WriteOrder) -> Result<()> {
    records::put(txn, &keys::tombstone(bucket_id, key), order)
}

pub(crate) fn drop_tombstones(txn: &mut dyn WriteTxn, bucket_id: &str) -> Result<()> {
    records::delete_prefix(txn, &keys::tombstone_prefix(bucket_id))
}

/// `trace` with this zone appended (once).
fn traced(trace: &[String], zone_id: &str) -> Vec<String> {
    let mut out = trace.to_vec();
    if !out.iter().any(|z| z == zone_id) {
        out.push(zone_id.to_string());
    }
    out
}

impl Gateway {
    /// Whether a source's object write (`order`, `instance`) would replace this zone's state of `key`: when
    /// not, the sync agent does not even fetch it.
    pub async fn replica_write_wanted(
        &self,
        bucket: &Bucket,
        key: &str,
        order: WriteOrder,
        instance: &str,
    ) -> Result<bool> {
        let (id, key, instance) = (bucket.bucket_id.clone(), key.to_string(), instance.to_string());
        self.read(move |r| Ok(replaces(local_state(r, &id, &key)?.as_ref(), &order, Some(&instance))))
            .await
    }

    /// Whether each of a batch of source writes (`key`, `order`, `instance`) would replace this zone's state
    /// of its key, all read from one snapshot.
    pub async fn replica_writes_wanted(
        &self,
        bucket: &Bucket,
        writes: Vec<(String, WriteOrder, String)>,
    ) -> Result<Vec<bool>> {
        let id = bucket.bucket_id.clone();
        self.read(move |r| {
            writes
                .iter()
                .map(|(key, order, instance)| Ok(replaces(local_state(r, &id, key)?.as_ref(), order, Some(instance))))
                .collect()
        })
        .await
    }

    /// Stores the bytes of an object fetched from another zone (inline when small, else a durable file),
    /// checked against the source's size and MD5 (for a plain ETag) so a torn fetch is never made visible;
    /// nothing is visible until `apply_replica_batch` commits it. The object keeps its identity (instance,
    /// mtime, ETag, headers) and its zones trace gains this zone.
    pub async fn stage_replica_write(
        &self,
        bucket: &Bucket,
        source: ObjectMeta,
        body: ByteStream,
    ) -> Result<StagedReplica> {
        validate_object_key(&source.key)?;
        let written = self.write_blob(body, Some(source.size), u64::MAX).await?;
        let plain_etag = source.parts_count.is_none() && !source.etag.contains('-');
        if written.size != source.size || (plain_etag && written.etag() != source.etag) {
            self.discard_blob(&written).await;
            return Err(GatewayError::Internal(format!(
                "fetched bytes of {} do not match the source (size {} vs {}, etag {} vs {})",
                source.key,
                written.size,
                source.size,
                written.etag(),
                source.etag
            )));
        }
        let zone_id = self.site().zone_id.clone();
        let meta = ObjectMeta {
            owner: bucket.owner.clone(),
            manifest: Manifest {
                segments: vec![written.segment()],
            },
            zones_trace: traced(&source.zones_trace, &zone_id),
            ..source
        };
        Ok(StagedReplica { meta, blob: written })
    }

    /// Drops a staged write that will not be applied (its file, if it has one).
    pub async fn discard_staged(&self, staged: StagedReplica) {
        self.discard_blob(&staged.blob).await;
    }

    /// Applies many replicated changes of one bucket, in order, in ONE metadata transaction, together with
    /// `progress` (the sync position they bring the bucket to): the position can never be saved without the
    /// changes before it. Each change wins or loses as `WriteOrder` says. Returns what each change did.
    pub async fn apply_replica_batch(
        &self,
        bucket: &Bucket,
        changes: Vec<ReplicaChange>,
        progress: SyncStateBatch,
    ) -> Result<Vec<Applied>> {
        for c in &changes {
            if let ReplicaChange::Delete { key, .. } = c {
                validate_object_key(key)?;
            }
        }
        let zone_id = self.site().zone_id.clone();
        let b = bucket.clone();
        let is_write: Vec<bool> = changes.iter().map(|c| matches!(c, ReplicaChange::Write(_))).collect();
        let staged: Vec<WrittenBlob> = changes
            .iter()
            .filter_map(|c| match c {
                ReplicaChange::Write(w) => Some(w.blob.clone()),
                ReplicaChange::Delete { .. } => None,
            })
            .collect();
        let result = self
            .write(move |txn| {
                let mut out = Vec::with_capacity(changes.len());
                for change in &changes {
                    out.push(match change {
                        ReplicaChange::Write(w) => {
                            let meta = &w.meta;
                            let order = WriteOrder::of(meta.mtime, &meta.zones_trace);
                            let local = local_state(txn, &b.bucket_id, &meta.key)?;
                            if replaces(local.as_ref(), &order, Some(&meta.instance)) {
                                blob::store_inline(txn, std::slice::from_ref(&w.blob))?;
                                commit_object(txn, &b, meta, &Default::default())?;
                                Applied::Done
                            } else {
                                Applied::Superseded
                            }
                        }
                        ReplicaChange::Delete {
                            key,
                            mtime,
                            zones_trace,
                        } => {
                            let trace = traced(zones_trace, &zone_id);
                            let order = WriteOrder::of(*mtime, &trace);
                            let local = local_state(txn, &b.bucket_id, key)?;
                            if replaces(local.as_ref(), &order, None) {
                                remove_object(txn, &b, key, *mtime, &trace)?;
                                Applied::Done
                            } else {
                                Applied::Superseded
                            }
                        }
                    });
                }
                progress.write_to(txn)?;
                Ok(out)
            })
            .await;
        // Bytes that did not become visible go (a superseded write's, or all of them on failure).
        let mut blobs = staged.iter();
        match &result {
            Ok(applied) => {
                for (write, a) in is_write.iter().zip(applied) {
                    if *write {
                        if let Some(blob) = blobs.next() {
                            if *a != Applied::Done {
                                self.discard_blob(blob).await;
                            }
                        }
                    }
                }
            }
            Err(_) => {
                for blob in blobs {
                    self.discard_blob(blob).await;
                }
            }
        }
        result
    }

    /// Stores an object fetched from another zone (see `stage_replica_write`) and applies it on its own.
    pub async fn apply_replica_write(&self, bucket: &Bucket, source: ObjectMeta, body: ByteStream) -> Result<Applied> {
        let staged = self.stage_replica_write(bucket, source, body).await?;
        let applied = self
            .apply_replica_batch(
                bucket,
                vec![ReplicaChange::Write(Box::new(staged))],
                SyncStateBatch::default(),
            )
            .await?;
        Ok(applied.first().copied().unwrap_or(Applied::Superseded))
    }

    /// Objects of a bucket by key, with their bytes when stored inline (small objects), all read from one
    /// snapshot, for another zone's batched fetch. Keys not held are `missing`; objects kept in files (or
    /// past `max_bytes` of bytes in all) are `large` and fetched one by one, streaming.
    pub async fn replica_read_small(&self, bucket: &Bucket, keys: Vec<String>, max_bytes: u64) -> Result<SmallObjects> {
        let id = bucket.bucket_id.clone();
        self.read(move |r| {
            let mut out = SmallObjects::default();
            let mut budget = max_bytes;
            for key in keys {
                let Some(meta) = records::get::<ObjectMeta>(r, &keys::object(&id, &key))? else {
                    out.missing.push(key);
                    continue;
                };
                let inline = meta.manifest.segments.iter().all(|s| s.inline);
                if !inline || meta.size > budget {
                    out.large.push(key);
                    continue;
                }
                let mut bytes = Vec::with_capacity(meta.size as usize);
                for seg in &meta.manifest.segments {
                    let part = r
                        .get(&keys::inline(&seg.data_id))?
                        .ok_or_else(|| GatewayError::Internal(format!("inline blob {} is missing", seg.data_id)))?;
                    bytes.extend_from_slice(&part);
                }
                budget -= meta.size;
                out.objects.push((
                    ObjectMeta {
                        manifest: Manifest::default(),
                        ..meta
                    },
                    bytes::Bytes::from(bytes),
                ));
            }
            Ok(out)
        })
        .await
    }

    /// Applies a delete made in another zone at `mtime`: the key goes unless this zone holds a newer write;
    /// either way the tombstone remembers the delete.
    pub async fn apply_replica_delete(
        &self,
        bucket: &Bucket,
        key: &str,
        mtime: Timestamp,
        zones_trace: &[String],
    ) -> Result<Applied> {
        validate_object_key(key)?;
        let trace = traced(zones_trace, &self.site().zone_id);
        let (b, key) = (bucket.clone(), key.to_string());
        self.write(move |txn| {
            let order = WriteOrder::of(mtime, &trace);
            let local = local_state(txn, &b.bucket_id, &key)?;
            if !replaces(local.as_ref(), &order, None) {
                return Ok(Applied::Superseded);
            }
            remove_object(txn, &b, &key, mtime, &trace)?;
            Ok(Applied::Done)
        })
        .await
    }

    /// One page of a bucket's state after `marker` (by key), for another zone's full sync: objects and the
    /// tombstones of deleted keys, merged in key order, at most `max` in all.
    pub async fn replica_list(&self, bucket: &Bucket, marker: Option<String>, max: usize) -> Result<ReplicaPage> {
        let id = bucket.bucket_id.clone();
        self.read(move |r| {
            let after = |prefix: Vec<u8>| {
                let mut start = prefix.clone();
                if let Some(m) = marker.as_deref().filter(|m| !m.is_empty()) {
                    start.extend_from_slice(m.as_bytes());
                    start.push(0);
                }
                r.scan(&start, &meridian_store::meta::prefix_end(&prefix), max + 1)
                    .map(|rows| (prefix.len(), rows))
            };
            let (olen, objects) = after(keys::object_prefix(&id))?;
            let (tlen, tombs) = after(keys::tombstone_prefix(&id))?;
            let mut merged: Vec<(Vec<u8>, bool, Vec<u8>)> = objects
                .into_iter()
                .map(|(k, v)| (k[olen..].to_vec(), true, v))
                .chain(tombs.into_iter().map(|(k, v)| (k[tlen..].to_vec(), false, v)))
                .collect();
            merged.sort_by(|a, b| a.0.cmp(&b.0));
            let truncated = merged.len() > max;
            merged.truncate(max);
            let mut page = ReplicaPage {
                truncated,
                next_marker: merged.last().map(|(k, _, _)| String::from_utf8_lossy(k).into_owned()),
                ..Default::default()
            };
            for (key, is_object, value) in merged {
                if is_object {
                    page.objects.push(records::decode(&key, &value)?);
                } else {
                    let tomb: Tombstone = records::decode(&key, &value)?;
                    page.tombstones.push((String::from_utf8_lossy(&key).into_owned(), tomb));
                }
            }
            Ok(page)
        })
        .await
    }
}

/// An object fetched from another zone whose bytes are stored but not visible yet.
pub struct StagedReplica {
    meta: ObjectMeta,
    blob: WrittenBlob,
}

impl StagedReplica {
    pub fn meta(&self) -> &ObjectMeta {
        &self.meta
    }
}

/// One change of `apply_replica_batch`.
pub enum ReplicaChange {
    Write(Box<StagedReplica>),
    Delete {
        key: String,
        mtime: Timestamp,
        zones_trace: Vec<String>,
    },
}

/// What `replica_read_small` found.
#[derive(Debug, Default)]
pub struct SmallObjects {
    /// Metadata (without manifest) and bytes.
    pub objects: Vec<(ObjectMeta, bytes::Bytes)>,
    pub missing: Vec<String>,
    pub large: Vec<String>,
}

/// A page of `replica_list`.
#[derive(Debug, Default)]
pub struct ReplicaPage {
    pub objects: Vec<ObjectMeta>,
    pub tombstones: Vec<(String, Tombstone)>,
    pub truncated: bool,
    /// The last key of the page (objects and tombstones alike): where the next page starts.
    pub next_marker: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(mtime: u64, origin: &str) -> WriteOrder {
        WriteOrder {
            mtime: Timestamp(mtime),
            origin: origin.into(),
        }
    }

    #[test]
    fn newer_mtime_wins_and_ties_go_to_the_greater_zone_id() {
        let held = Some((order(10, "b"), Some("i1".to_string())));
        assert!(replaces(held.as_ref(), &order(11, "a"), Some("i2")));
        assert!(!replaces(held.as_ref(), &order(9, "z"), Some("i2")));
        assert!(replaces(held.as_ref(), &order(10, "c"), Some("i2")));
        assert!(!replaces(held.as_ref(), &order(10, "a"), Some("i2")));
        assert!(
            !replaces(held.as_ref(), &order(99, "z"), Some("i1")),
            "the same write is never applied twice"
        );
        let tomb = Some((order(10, "b"), None));
        assert!(
            !replaces(tomb.as_ref(), &order(5, "a"), Some("i1")),
            "an older write stays deleted"
        );
        assert!(replaces(tomb.as_ref(), &order(12, "a"), Some("i1")));
        assert!(replaces(None, &order(1, "a"), None));
    }

    use crate::test_support::{body, gateway};

    async fn read_all(gw: &Gateway, bucket: &Bucket, key: &str) -> Option<Vec<u8>> {
        use futures::TryStreamExt;
        let read = match gw.get_object(bucket, key, None, &Default::default()).await {
            Ok(r) => r,
            Err(GatewayError::NoSuchKey) => return None,
            Err(e) => panic!("{e}"),
        };
        let chunks: Vec<bytes::Bytes> = read.body.try_collect().await.unwrap();
        Some(chunks.concat())
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn replicas_keep_identity_and_older_changes_never_win() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(dir.path()).await;
        let user = gw
            .create_user(crate::users::NewUser {
                uid: "u".into(),
                display_name: "U".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let bucket = gw.create_bucket(&user, "replicas", None).await.unwrap();
        let local = gw
            .put_object(&bucket, "k", body(b"local"), Default::default())
            .await
            .unwrap();

        // A write made elsewhere later wins, and keeps its identity.
        let remote = ObjectMeta {
            key: "k".into(),
            instance: "remote-1".into(),
            size: 6,
            etag: "2ba38ab6b5d0a5ad5c1b4c4e38de2e9a".into(),
            mtime: Timestamp(local.mtime.0 + 1),
            zones_trace: vec!["zone-b".into()],
            ..local.clone()
        };
        let wrong = gw.apply_replica_write(&bucket, remote.clone(), body(b"remote")).await;
        assert!(wrong.is_err(), "bytes that do not match the ETag are refused");
        assert_eq!(read_all(&gw, &bucket, "k").await.unwrap(), b"local");
        let etag = hex::encode(<md5::Md5 as md5::Digest>::digest(b"remote"));
        let remote = ObjectMeta { etag, ..remote };
        assert_eq!(
            gw.apply_replica_write(&bucket, remote.clone(), body(b"remote"))
                .await
                .unwrap(),
            Applied::Done
        );
        let stored = gw.object_meta(&bucket, "k").await.unwrap();
        assert_eq!(
            (stored.instance.as_str(), stored.mtime, stored.etag.as_str()),
            ("remote-1", remote.mtime, remote.etag.as_str())
        );
        assert_eq!(
            stored.zones_trace,
            vec!["zone-b".to_string(), gw.site().zone_id.clone()]
        );
        assert_eq!(
            gw.apply_replica_write(&bucket, remote.clone(), body(b"remote"))
                .await
                .unwrap(),
            Applied::Superseded,
            "the same write twice is applied once"
        );

        // An older delete loses; a newer one wins and leaves a tombstone an older write cannot pass.
        let older = Timestamp(remote.mtime.0 - 1);
        assert_eq!(
            gw.apply_replica_delete(&bucket, "k", older, &["zone-c".into()])
                .await
                .unwrap(),
            Applied::Superseded
        );
        assert!(read_all(&gw, &bucket, "k").await.is_some());
        let newer = Timestamp(remote.mtime.0 + 10);
        assert_eq!(
            gw.apply_replica_delete(&bucket, "k", newer, &["zone-c".into()])
                .await
                .unwrap(),
            Applied::Done
        );
        assert!(read_all(&gw, &bucket, "k").await.is_none());
        let late = ObjectMeta {
            instance: "remote-2".into(),
            mtime: Timestamp(newer.0 - 5),
            ..remote.clone()
        };
        assert_eq!(
            gw.apply_replica_write(&bucket, late, body(b"remote")).await.unwrap(),
            Applied::Superseded,
            "a write older than the delete stays deleted"
        );
        assert!(read_all(&gw, &bucket, "k").await.is_none());
        assert_eq!(gw.bucket_stats(&bucket).await.unwrap().num_objects, 0);
    }

    /// Many changes in one transaction with the sync position they bring: all or nothing, each deciding
    /// by `WriteOrder` as a single apply would.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_batch_applies_with_its_position_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(dir.path()).await;
        let user = gw
            .create_user(crate::users::NewUser {
                uid: "u".into(),
                display_name: "U".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let bucket = gw.create_bucket(&user, "batch", None).await.unwrap();
        let held = gw
            .put_object(&bucket, "held", body(b"held"), Default::default())
            .await
            .unwrap();
        let gone = gw
            .put_object(&bucket, "gone", body(b"gone"), Default::default())
            .await
            .unwrap();
        let remote = |key: &str, data: &[u8], mtime: u64| ObjectMeta {
            key: key.into(),
            instance: format!("remote-{key}"),
            size: data.len() as u64,
            etag: hex::encode(<md5::Md5 as md5::Digest>::digest(data)),
            mtime: Timestamp(mtime),
            zones_trace: vec!["zone-b".into()],
            ..held.clone()
        };
        let stage = |key: &'static str, data: &'static [u8], mtime: u64| {
            let gw = gw.clone();
            let bucket = bucket.clone();
            let meta = remote(key, data, mtime);
            async move { gw.stage_replica_write(&bucket, meta, body(data)).await.unwrap() }
        };
        let mut progress = SyncStateBatch::default();
        progress.put("test/position", &"p1".to_string()).unwrap();
        let changes = vec![
            ReplicaChange::Write(Box::new(stage("new-1", b"one", held.mtime.0 + 5).await)),
            // Older than what this zone holds: loses.
            ReplicaChange::Write(Box::new(stage("held", b"older", held.mtime.0 - 1).await)),
            ReplicaChange::Write(Box::new(stage("new-2", b"two", held.mtime.0 + 5).await)),
            ReplicaChange::Delete {
                key: "gone".into(),
                mtime: Timestamp(gone.mtime.0 + 1),
                zones_trace: vec!["zone-b".into()],
            },
        ];
        let applied = gw.apply_replica_batch(&bucket, changes, progress).await.unwrap();
        assert_eq!(
            applied,
            vec![Applied::Done, Applied::Superseded, Applied::Done, Applied::Done]
        );
        assert_eq!(read_all(&gw, &bucket, "new-1").await.unwrap(), b"one");
        assert_eq!(read_all(&gw, &bucket, "new-2").await.unwrap(), b"two");
        assert_eq!(read_all(&gw, &bucket, "held").await.unwrap(), b"held");
        assert!(read_all(&gw, &bucket, "gone").await.is_none());
        assert_eq!(
            gw.sync_state_get::<String>("test/position").await.unwrap().as_deref(),
            Some("p1")
        );
        let wanted = gw
            .replica_writes_wanted(
                &bucket,
                vec![
                    (
                        "new-1".into(),
                        WriteOrder::of(Timestamp(held.mtime.0 + 5), &["zone-b".to_string()]),
                        "remote-new-1".into(),
                    ),
                    (
                        "new-3".into(),
                        WriteOrder::of(Timestamp(1), &["zone-b".to_string()]),
                        "x".into(),
                    ),
                ],
            )
            .await
            .unwrap();
        assert_eq!(wanted, vec![false, true], "held writes are not fetched again");

        // A batch that cannot apply (the bucket went away) saves neither its changes nor its position.
        let staged = stage("new-4", b"four", held.mtime.0 + 9).await;
        gw.remove_bucket(&bucket.tenant, &bucket.name, true).await.unwrap();
        let mut progress = SyncStateBatch::default();
        progress.put("test/position", &"p2".to_string()).unwrap();
        assert!(gw
            .apply_replica_batch(&bucket, vec![ReplicaChange::Write(Box::new(staged))], progress)
            .await
            .is_err());
        assert_eq!(
            gw.sync_state_get::<String>("test/position").await.unwrap().as_deref(),
            Some("p1"),
            "the position moved without its changes"
        );
    }
}
