//! Applying another zone's object changes. Every zone decides the same way which change wins, so zones
//! converge whatever order changes arrive in:
//! - the null version of a key (every object of a never-versioned bucket) keeps last-writer-wins by
//!   `WriteOrder` (later mtime, then origin zone); deletes leave a tombstone so a late replica of an older
//!   write cannot bring a deleted key back;
//! - any other version is identified by its order (its id is derived from it), so it is either held or not:
//!   a version is added where it is not held and was not removed by id (`vtomb/` remembers removals).

use crate::blob::{self, ByteStream, WrittenBlob};
use crate::coalesce::Coalesced;
use crate::error::{GatewayError, Result};
use crate::logs::{self, Change};
use crate::objects::{commit_object, ensure_bucket_current, remove_object};
use crate::sync_state::SyncStateBatch;
use crate::versions::{self, VersionRef};
use crate::{keys, records};
use meridian_model::names::validate_object_key;
use meridian_model::{BilogOp, Bucket, Manifest, ObjectMeta, Timestamp, Tombstone, WriteOrder, NULL_VERSION};
use meridian_store::meta::prefix_end;
use meridian_store::{ReadOps, WriteTxn};

/// What applying a replicated change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The change is now this zone's state of the key.
    Done,
    /// A held version took the source's newer metadata (its lock); its fetched bytes were not needed.
    MetaUpdated,
    /// This zone already holds that change or a newer one.
    Superseded,
}

/// What this zone holds for a key's null version: its order and instance, or a tombstone's order.
fn local_state(r: &dyn ReadOps, bucket_id: &str, key: &str) -> Result<Option<(WriteOrder, Option<String>)>> {
    if let Some((obj, _)) = versions::find_null(r, bucket_id, key)? {
        return Ok(Some((obj.order(), Some(obj.instance))));
    }
    Ok(records::get::<Tombstone>(r, &keys::tombstone(bucket_id, key))?.map(|t| (t, None)))
}

/// Whether a change of the null version of `order` (a write of `instance`, or a delete) replaces what is
/// held locally.
fn replaces(local: Option<&(WriteOrder, Option<String>)>, order: &WriteOrder, instance: Option<&str>) -> bool {
    match local {
        None => true,
        Some((_, Some(held))) if instance == Some(held.as_str()) => false,
        Some((held, _)) => order > held,
    }
}

/// Whether a source's write of a version would change this zone: a null version by `replaces`, any other
/// when it is neither held nor removed.
fn write_wanted(
    r: &dyn ReadOps,
    bucket_id: &str,
    key: &str,
    order: &WriteOrder,
    instance: &str,
    versioned: bool,
) -> Result<bool> {
    if versioned {
        // A held version whose instance differs had its metadata (lock) changed on one side.
        Ok(!versions::removed(r, bucket_id, key, order)?
            && versions::find(r, bucket_id, key, &VersionRef::Id(order.clone()))?
                .is_none_or(|(held, _)| held.instance != instance))
    } else {
        Ok(replaces(
            local_state(r, bucket_id, key)?.as_ref(),
            order,
            Some(instance),
        ))
    }
}

pub(crate) fn record_tombstone(txn: &mut dyn WriteTxn, bucket_id: &str, key: &str, order: &WriteOrder) -> Result<()> {
    records::put(txn, &keys::tombstone(bucket_id, key), order)
}

pub(crate) fn drop_tombstones(txn: &mut dyn WriteTxn, bucket_id: &str) -> Result<()> {
    records::delete_prefix(txn, &keys::tombstone_prefix(bucket_id))?;
    records::delete_prefix(txn, &keys::version_tomb_prefix(bucket_id))
}

/// `trace` with this zone appended (once).
fn traced(trace: &[String], zone_id: &str) -> Vec<String> {
    let mut out = trace.to_vec();
    if !out.iter().any(|z| z == zone_id) {
        out.push(zone_id.to_string());
    }
    out
}

/// One source write asked about by `writes_wanted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteQuery {
    pub key: String,
    pub order: WriteOrder,
    pub instance: String,
    /// A version with an id (false: the null version, or a never-versioned bucket's object).
    pub versioned: bool,
}

/// Applies the removal of one version made in another zone (see `ReplicaChange::DelVersion`).
fn apply_version_removal(
    txn: &mut dyn WriteTxn,
    bucket: &Bucket,
    key: &str,
    version_id: &str,
    removed: &WriteOrder,
    trace: &[String],
) -> Result<Applied> {
    let id = &bucket.bucket_id;
    let held = if version_id == NULL_VERSION {
        let held = versions::find_null(txn, id, key)?;
        let tomb = records::get::<Tombstone>(txn, &keys::tombstone(id, key))?;
        let removes_held = held.as_ref().is_some_and(|(m, _)| m.order() <= *removed);
        if !removes_held && tomb.is_some_and(|t| t >= *removed) {
            return Ok(Applied::Superseded);
        }
        let held = held.filter(|_| removes_held);
        versions::raise_tombstone(txn, id, key, removed)?;
        held
    } else {
        if versions::removed(txn, id, key, removed)? {
            return Ok(Applied::Superseded);
        }
        versions::record_removed(txn, id, key, removed)?;
        versions::find(txn, id, key, &VersionRef::Id(removed.clone()))?
    };
    if let Some((meta, slot)) = &held {
        versions::remove(txn, id, meta, *slot)?;
    }
    let (instance, etag, size) = held.as_ref().map_or((String::new(), String::new(), 0), |(m, _)| {
        (m.instance.clone(), m.etag.clone(), m.size)
    });
    logs::record(
        txn,
        bucket,
        &Change {
            op: BilogOp::DelVersion,
            key,
            instance: &instance,
            mtime: Timestamp::now(),
            etag: &etag,
            size,
            zones_trace: trace,
            version_id,
            removed: Some(removed.clone()),
        },
    )?;
    Ok(Applied::Done)
}

/// Applies another zone's change of a version's metadata (its lock, tags or ACL; see `object_lock`): the
/// newer change (by `meta_mtime`, then instance) wins, whichever order they arrive in; the bytes held stay.
fn apply_meta_update(
    txn: &mut dyn WriteTxn,
    bucket: &Bucket,
    held: ObjectMeta,
    slot: versions::Slot,
    source: &ObjectMeta,
    zone_id: &str,
) -> Result<Applied> {
    if (source.meta_mtime, &source.instance) <= (held.meta_mtime, &held.instance) {
        return Ok(Applied::Superseded);
    }
    let meta = ObjectMeta {
        instance: source.instance.clone(),
        meta_mtime: source.meta_mtime,
        meta_trace: traced(&source.meta_trace, zone_id),
        lock: source.lock,
        tags: source.tags.clone(),
        acl: source.acl.clone(),
        ..held
    };
    crate::object_lock::store_meta_update(txn, bucket, &meta, slot)?;
    Ok(Applied::MetaUpdated)
}

/// Applying what another zone wrote: replicated writes and deletes, and the reads their agents need.
/// Reached through `Gateway::replica()`.
#[derive(Clone, Copy)]
pub struct ReplicaService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

impl ReplicaService<'_> {
    /// Whether a source's object write (`order`, `instance`) of the null version would replace this zone's
    /// state of `key`: when not, the sync agent does not even fetch it.
    pub async fn write_wanted(&self, bucket: &Bucket, key: &str, order: WriteOrder, instance: &str) -> Result<bool> {
        let (id, key, instance) = (bucket.bucket_id.clone(), key.to_string(), instance.to_string());
        self.core
            .read(move |r| write_wanted(r, &id, &key, &order, &instance, false))
            .await
    }

    /// Whether each of a batch of source writes would change this zone (see `write_wanted`), all read from
    /// one snapshot.
    pub async fn writes_wanted(&self, bucket: &Bucket, writes: Vec<WriteQuery>) -> Result<Vec<bool>> {
        let id = bucket.bucket_id.clone();
        self.core
            .read(move |r| {
                writes
                    .iter()
                    .map(|w| write_wanted(r, &id, &w.key, &w.order, &w.instance, w.versioned))
                    .collect()
            })
            .await
    }

    /// Stores the bytes of an object fetched from another zone (inline when small, else a durable file),
    /// checked against the source's size and MD5 (for a plain ETag) so a torn fetch is never made visible;
    /// nothing is visible until `apply_batch` commits it. The object keeps its identity (instance,
    /// mtime, ETag, headers, version) and its zones trace gains this zone.
    pub async fn stage_write(&self, bucket: &Bucket, source: ObjectMeta, body: ByteStream) -> Result<StagedReplica> {
        validate_object_key(&source.key)?;
        // No expected length for the write itself: a body of another size is the mismatch below, typed,
        // not an `IncompleteBody` that reads as a torn transfer worth retrying.
        let written = self.core.write_blob(body, None, u64::MAX).await?;
        let plain_etag = source.parts_count.is_none() && !source.etag.contains('-');
        if written.size != source.size || (plain_etag && written.etag() != source.etag) {
            self.core.discard_blob(&written).await;
            return Err(GatewayError::ReplicaMismatch {
                key: source.key,
                size: written.size,
                expected_size: source.size,
                etag: written.etag(),
                expected_etag: source.etag,
            });
        }
        let zone_id = self.core.site().zone_id.clone();
        let meta = ObjectMeta {
            owner: bucket.owner.clone(),
            manifest: Manifest {
                segments: vec![written.segment()],
            },
            zones_trace: traced(&source.zones_trace, &zone_id),
            delete_marker: false,
            ..source
        };
        Ok(StagedReplica { meta, blob: written })
    }

    /// Drops a staged write that will not be applied (its file, if it has one).
    pub async fn discard_staged(&self, staged: StagedReplica) {
        self.core.discard_blob(&staged.blob).await;
    }

    /// Applies many replicated changes of one bucket, in order, in ONE metadata transaction, together with
    /// `progress` (the sync position they bring the bucket to): the position can never be saved without the
    /// changes before it. Each change wins or loses as the module's rules say. Returns what each change did.
    pub async fn apply_batch(
        &self,
        bucket: &Bucket,
        changes: Vec<ReplicaChange>,
        progress: SyncStateBatch,
    ) -> Result<Vec<Applied>> {
        for c in &changes {
            match c {
                ReplicaChange::Delete { key, .. } | ReplicaChange::DelVersion { key, .. } => validate_object_key(key)?,
                ReplicaChange::Marker(m) => validate_object_key(&m.key)?,
                ReplicaChange::Write(_) => {}
            }
        }
        let zone_id = self.core.site().zone_id.clone();
        let b = bucket.clone();
        let is_write: Vec<bool> = changes.iter().map(|c| matches!(c, ReplicaChange::Write(_))).collect();
        let staged: Vec<WrittenBlob> = changes
            .iter()
            .filter_map(|c| match c {
                ReplicaChange::Write(w) => Some(w.blob.clone()),
                _ => None,
            })
            .collect();
        let result = self
            .core
            .write(move |outer| {
                // Sequence counters, stats, data-log marks and the bucket record are read and written once
                // for the whole batch, not once per change.
                let mut batch = Coalesced::new(outer);
                let txn: &mut dyn WriteTxn = &mut batch;
                ensure_bucket_current(txn, &b)?;
                let mut out = Vec::with_capacity(changes.len());
                for change in &changes {
                    out.push(match change {
                        ReplicaChange::Write(w) => {
                            let mut meta = w.meta.clone();
                            let order = meta.order();
                            let held = if meta.versioned {
                                versions::find(txn, &b.bucket_id, &meta.key, &VersionRef::Id(order.clone()))?
                            } else {
                                None
                            };
                            if let Some((held, slot)) = held {
                                apply_meta_update(txn, &b, held, slot, &meta, &zone_id)?
                            } else if write_wanted(
                                txn,
                                &b.bucket_id,
                                &meta.key,
                                &order,
                                &meta.instance,
                                meta.versioned,
                            )? {
                                blob::store_inline(txn, std::slice::from_ref(&w.blob))?;
                                commit_object(txn, &b, &mut meta, &Default::default(), false)?;
                                Applied::Done
                            } else {
                                Applied::Superseded
                            }
                        }
                        ReplicaChange::Marker(m) => {
                            let mut meta = ObjectMeta {
                                zones_trace: traced(&m.zones_trace, &zone_id),
                                owner: b.owner.clone(),
                                delete_marker: true,
                                size: 0,
                                manifest: Manifest::default(),
                                ..(**m).clone()
                            };
                            let order = meta.order();
                            if write_wanted(txn, &b.bucket_id, &meta.key, &order, &meta.instance, meta.versioned)? {
                                commit_object(txn, &b, &mut meta, &Default::default(), false)?;
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
                        ReplicaChange::DelVersion {
                            key,
                            version_id,
                            removed,
                            zones_trace,
                        } => {
                            let trace = traced(zones_trace, &zone_id);
                            apply_version_removal(txn, &b, key, version_id, removed, &trace)?
                        }
                    });
                }
                progress.write_to(txn)?;
                batch.finish()?;
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
                                self.core.discard_blob(blob).await;
                            }
                        }
                    }
                }
            }
            Err(_) => {
                for blob in blobs {
                    self.core.discard_blob(blob).await;
                }
            }
        }
        result
    }

    /// Stores an object fetched from another zone (see `stage_write`) and applies it on its own.
    pub async fn apply_write(&self, bucket: &Bucket, source: ObjectMeta, body: ByteStream) -> Result<Applied> {
        let staged = self.stage_write(bucket, source, body).await?;
        self.apply_one(bucket, ReplicaChange::Write(Box::new(staged))).await
    }

    async fn apply_one(&self, bucket: &Bucket, change: ReplicaChange) -> Result<Applied> {
        let applied = self
            .apply_batch(bucket, vec![change], SyncStateBatch::default())
            .await?;
        Ok(applied.first().copied().unwrap_or(Applied::Superseded))
    }

    /// Objects of a bucket by fetch spec (`key`: the current version, or `key\0version id`: that version),
    /// with their bytes when stored inline (small objects), all read from one snapshot, for another zone's
    /// batched fetch. Specs not held are `missing`; objects kept in files (or past `max_bytes` of bytes in
    /// all) are `large` and fetched one by one, streaming.
    pub async fn read_small(&self, bucket: &Bucket, keys: Vec<String>, max_bytes: u64) -> Result<SmallObjects> {
        let id = bucket.bucket_id.clone();
        self.core
            .read(move |r| {
                let mut out = SmallObjects::default();
                let mut budget = max_bytes;
                for spec in keys {
                    let (key, version) = split_fetch_spec(&spec);
                    let found = match version {
                        None => versions::current(r, &id, key)?,
                        Some(v) => match VersionRef::parse(v) {
                            Ok(which) => versions::find(r, &id, key, &which)?.map(|(m, _)| m),
                            Err(_) => None,
                        },
                    };
                    let Some(meta) = found.filter(|m| !m.delete_marker) else {
                        out.missing.push(spec);
                        continue;
                    };
                    if meta.size > budget {
                        out.large.push(spec);
                        continue;
                    }
                    let Some(bytes) = inline_bytes(r, &meta)? else {
                        out.large.push(spec);
                        continue;
                    };
                    budget -= meta.size;
                    out.objects.push((
                        spec,
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
    pub async fn apply_delete(
        &self,
        bucket: &Bucket,
        key: &str,
        mtime: Timestamp,
        zones_trace: &[String],
    ) -> Result<Applied> {
        self.apply_one(
            bucket,
            ReplicaChange::Delete {
                key: key.to_string(),
                mtime,
                zones_trace: zones_trace.to_vec(),
            },
        )
        .await
    }

    /// One page of a bucket's state after `marker` (by key), for another zone's full sync: current objects,
    /// the other versions and delete markers, the tombstones of deleted keys and the versions removed by id,
    /// a whole key at a time (a page never splits a key's versions), at least `max` records unless the
    /// bucket ends first.
    /// The bytes of the page's small (inline) objects and versions come with it, up to `data_budget` bytes
    /// in all (`ReplicaPage::data`), so the reader fetches only the others.
    pub async fn list(
        &self,
        bucket: &Bucket,
        marker: Option<String>,
        max: usize,
        data_budget: u64,
    ) -> Result<ReplicaPage> {
        let id = bucket.bucket_id.clone();
        self.core
            .read(move |r| {
                let from = keys::after_marker(b"", marker.as_deref());
                match list_by_scan(r, &id, &from, max, data_budget)? {
                    Some(page) => Ok(page),
                    None => list_by_key(r, &id, from, max, data_budget),
                }
            })
            .await
    }
}

/// What a listing page holds for one key.
#[derive(Default)]
struct KeyRecords {
    current: Option<ObjectMeta>,
    versions: Vec<ObjectMeta>,
    tombstone: Option<Tombstone>,
    removed: Vec<WriteOrder>,
}

impl KeyRecords {
    fn count(&self) -> usize {
        usize::from(self.current.is_some())
            + self.versions.len()
            + usize::from(self.tombstone.is_some())
            + self.removed.len()
    }
}

/// Adds one key's records to a page, with the bytes of its small versions while `budget` lasts.
fn add_to_page(
    r: &dyn ReadOps,
    page: &mut ReplicaPage,
    budget: &mut u64,
    key: String,
    records: KeyRecords,
) -> Result<()> {
    let listed = records.current.into_iter().map(|m| {
        let current = !m.delete_marker;
        (m, current)
    });
    for (meta, current) in listed.chain(records.versions.into_iter().map(|m| (m, false))) {
        if !meta.delete_marker && meta.size <= *budget {
            if let Some(bytes) = inline_bytes(r, &meta)? {
                *budget -= meta.size;
                page.data
                    .push((listed_fetch_spec(&meta, current), bytes::Bytes::from(bytes)));
            }
        }
        if current {
            page.objects.push(meta);
        } else {
            page.versions.push(meta);
        }
    }
    if let Some(t) = records.tombstone {
        page.tombstones.push((key.clone(), t));
    }
    page.removed
        .extend(records.removed.into_iter().map(|o| (key.clone(), o)));
    page.next_marker = Some(key);
    Ok(())
}

/// A listing page from one range scan per key space (current objects, tombstones, versions, removed
/// versions), merged by key. A space whose scan filled up bounds the page: only keys before its last one
/// are known whole. `None` when no key is (one key with more records than a scan reads): list by key.
fn list_by_scan(r: &dyn ReadOps, id: &str, from: &[u8], max: usize, data_budget: u64) -> Result<Option<ReplicaPage>> {
    let rows_per_space = max.saturating_add(1);
    let mut keys_seen: std::collections::BTreeMap<Vec<u8>, KeyRecords> = Default::default();
    // Keys at or after this one may have records the scans did not reach.
    let mut bound: Option<Vec<u8>> = None;
    let spaces = [
        keys::object_prefix(id),
        keys::tombstone_prefix(id),
        keys::version_prefix(id),
        keys::version_tomb_prefix(id),
    ];
    for (space, prefix) in spaces.iter().enumerate() {
        let mut start = prefix.clone();
        start.extend_from_slice(from);
        let rows = r.scan(&start, &prefix_end(prefix), rows_per_space)?;
        let full = rows.len() == rows_per_space;
        let key_of = |k: &[u8]| -> Vec<u8> {
            if space >= 2 {
                keys::key_of_version_record(k, prefix.len()).to_vec()
            } else {
                k[prefix.len()..].to_vec()
            }
        };
        if full {
            if let Some((k, _)) = rows.last() {
                let last = key_of(k);
                if bound.as_ref().is_none_or(|b| last < *b) {
                    bound = Some(last);
                }
            }
        }
        for (k, v) in rows {
            let entry = keys_seen.entry(key_of(&k)).or_default();
            match space {
                0 => entry.current = Some(records::decode(&k, &v)?),
                1 => entry.tombstone = Some(records::decode(&k, &v)?),
                2 => entry.versions.push(records::decode(&k, &v)?),
                _ => entry.removed.push(records::decode(&k, &v)?),
            }
        }
    }
    if let Some(b) = &bound {
        keys_seen.retain(|k, _| k < b);
        if keys_seen.is_empty() {
            return Ok(None);
        }
    }
    let mut page = ReplicaPage::default();
    let mut count = 0usize;
    let mut budget = data_budget;
    let total = keys_seen.len();
    for (n, (key_bytes, records)) in keys_seen.into_iter().enumerate() {
        if count >= max {
            page.truncated = true;
            break;
        }
        count += records.count();
        add_to_page(
            r,
            &mut page,
            &mut budget,
            String::from_utf8_lossy(&key_bytes).into_owned(),
            records,
        )?;
        if n + 1 == total && bound.is_some() {
            page.truncated = true;
        }
    }
    Ok(Some(page))
}

/// A listing page read key by key (a few lookups per key): for pages `list_by_scan` cannot bound.
fn list_by_key(r: &dyn ReadOps, id: &str, mut from: Vec<u8>, max: usize, data_budget: u64) -> Result<ReplicaPage> {
    let spaces = [
        keys::object_prefix(id),
        keys::tombstone_prefix(id),
        keys::version_prefix(id),
        keys::version_tomb_prefix(id),
    ];
    // The first key at or after `from` (a key suffix) in any of the four spaces.
    let first_key = |from: &[u8]| -> Result<Option<Vec<u8>>> {
        let mut best: Option<Vec<u8>> = None;
        for (i, prefix) in spaces.iter().enumerate() {
            let mut start = prefix.clone();
            start.extend_from_slice(from);
            if let Some((k, _)) = r.scan(&start, &prefix_end(prefix), 1)?.into_iter().next() {
                let key = if i >= 2 {
                    keys::key_of_version_record(&k, prefix.len()).to_vec()
                } else {
                    k[prefix.len()..].to_vec()
                };
                if best.as_ref().is_none_or(|b| key < *b) {
                    best = Some(key);
                }
            }
        }
        Ok(best)
    };
    let mut page = ReplicaPage::default();
    let mut count = 0usize;
    let mut budget = data_budget;
    while let Some(key_bytes) = first_key(&from)? {
        if count >= max {
            page.truncated = true;
            break;
        }
        let key = String::from_utf8_lossy(&key_bytes).into_owned();
        let vt_prefix = {
            let mut p = keys::version_tomb_prefix(id);
            p.extend_from_slice(key.as_bytes());
            p.push(0);
            p
        };
        let records = KeyRecords {
            current: versions::current(r, id, &key)?,
            versions: records::scan_all::<ObjectMeta>(r, &keys::key_versions(id, &key))?
                .into_iter()
                .map(|(_, m)| m)
                .collect(),
            tombstone: records::get::<Tombstone>(r, &keys::tombstone(id, &key))?,
            removed: records::scan_all::<WriteOrder>(r, &vt_prefix)?
                .into_iter()
                .map(|(_, o)| o)
                .collect(),
        };
        count += records.count();
        add_to_page(r, &mut page, &mut budget, key, records)?;
        from = key_bytes;
        from.push(1);
    }
    Ok(page)
}

/// `key` and the version of a fetch spec (`key\0version id`; NUL cannot occur in keys).
pub fn split_fetch_spec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once('\0') {
        Some((k, v)) => (k, Some(v)),
        None => (spec, None),
    }
}

/// The fetch spec of a key's version (`None`: its current version).
pub fn fetch_spec(key: &str, version_id: Option<&str>) -> String {
    match version_id {
        Some(v) => format!("{key}\0{v}"),
        None => key.to_string(),
    }
}

/// The fetch spec of a version a full-sync listing names (`current`: listed among the current objects): a
/// current object that is not a version with an id by its key, any other by its version id.
pub fn listed_fetch_spec(meta: &ObjectMeta, current: bool) -> String {
    let version = (meta.versioned || !current).then(|| meta.version_id());
    fetch_spec(&meta.key, version.as_deref())
}

/// The bytes of an object stored inline (in the metadata store); `None` when any part is in a file.
fn inline_bytes(r: &dyn ReadOps, meta: &ObjectMeta) -> Result<Option<Vec<u8>>> {
    if !meta.manifest.segments.iter().all(|s| s.inline) {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(meta.size as usize);
    for seg in &meta.manifest.segments {
        let part = r
            .get(&keys::inline(&seg.data_id))?
            .ok_or_else(|| GatewayError::Internal(format!("inline blob {} is missing", seg.data_id)))?;
        bytes.extend_from_slice(&part);
    }
    Ok(Some(bytes))
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

/// One change of `apply_batch`.
pub enum ReplicaChange {
    /// A version (or a never-versioned bucket's object) fetched from the source.
    Write(Box<StagedReplica>),
    /// A delete marker the source wrote (its log entry is the whole version: no bytes to fetch).
    Marker(Box<ObjectMeta>),
    /// A key deleted in a never-versioned bucket (its null version, at `mtime`).
    Delete {
        key: String,
        mtime: Timestamp,
        zones_trace: Vec<String>,
    },
    /// One version removed by id (`null` or an id), `removed` being its order.
    DelVersion {
        key: String,
        version_id: String,
        removed: WriteOrder,
        zones_trace: Vec<String>,
    },
}

/// What `read_small` found, by fetch spec.
#[derive(Debug, Default)]
pub struct SmallObjects {
    /// Spec, metadata (without manifest) and bytes.
    pub objects: Vec<(String, ObjectMeta, bytes::Bytes)>,
    pub missing: Vec<String>,
    pub large: Vec<String>,
}

/// A page of `list`.
#[derive(Debug, Default)]
pub struct ReplicaPage {
    /// Current versions (`obj/`).
    pub objects: Vec<ObjectMeta>,
    /// Noncurrent versions and delete markers.
    pub versions: Vec<ObjectMeta>,
    pub tombstones: Vec<(String, Tombstone)>,
    /// Versions removed by id: key and the version's order.
    pub removed: Vec<(String, WriteOrder)>,
    pub truncated: bool,
    /// The last key of the page: where the next page starts.
    pub next_marker: Option<String>,
    /// The bytes of the page's small (inline) versions, by fetch spec (see `listed_fetch_spec`), as far
    /// as the page's byte budget went.
    pub data: Vec<(String, bytes::Bytes)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Gateway;

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
        let read = match gw.objects().get(bucket, key, None, &Default::default()).await {
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
        let (_, bucket) = crate::test_support::user_bucket(&gw, "replicas").await;
        let local = gw
            .objects()
            .put(&bucket, "k", body(b"local"), Default::default())
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
        let wrong = gw.replica().apply_write(&bucket, remote.clone(), body(b"remote")).await;
        assert!(wrong.is_err(), "bytes that do not match the ETag are refused");
        assert_eq!(read_all(&gw, &bucket, "k").await.unwrap(), b"local");
        let etag = hex::encode(<md5::Md5 as md5::Digest>::digest(b"remote"));
        let remote = ObjectMeta { etag, ..remote };
        assert_eq!(
            gw.replica()
                .apply_write(&bucket, remote.clone(), body(b"remote"))
                .await
                .unwrap(),
            Applied::Done
        );
        let stored = gw.objects().meta(&bucket, "k").await.unwrap();
        assert_eq!(
            (stored.instance.as_str(), stored.mtime, stored.etag.as_str()),
            ("remote-1", remote.mtime, remote.etag.as_str())
        );
        assert_eq!(
            stored.zones_trace,
            vec!["zone-b".to_string(), gw.site().zone_id.clone()]
        );
        assert_eq!(
            gw.replica()
                .apply_write(&bucket, remote.clone(), body(b"remote"))
                .await
                .unwrap(),
            Applied::Superseded,
            "the same write twice is applied once"
        );

        // An older delete loses; a newer one wins and leaves a tombstone an older write cannot pass.
        let older = Timestamp(remote.mtime.0 - 1);
        assert_eq!(
            gw.replica()
                .apply_delete(&bucket, "k", older, &["zone-c".into()])
                .await
                .unwrap(),
            Applied::Superseded
        );
        assert!(read_all(&gw, &bucket, "k").await.is_some());
        let newer = Timestamp(remote.mtime.0 + 10);
        assert_eq!(
            gw.replica()
                .apply_delete(&bucket, "k", newer, &["zone-c".into()])
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
            gw.replica().apply_write(&bucket, late, body(b"remote")).await.unwrap(),
            Applied::Superseded,
            "a write older than the delete stays deleted"
        );
        assert!(read_all(&gw, &bucket, "k").await.is_none());
        assert_eq!(gw.buckets().stats(&bucket).await.unwrap().num_objects, 0);
    }

    /// Many changes in one transaction with the sync position they bring: all or nothing, each deciding
    /// by `WriteOrder` as a single apply would.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_batch_applies_with_its_position_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(dir.path()).await;
        let (_, bucket) = crate::test_support::user_bucket(&gw, "batch").await;
        let held = gw
            .objects()
            .put(&bucket, "held", body(b"held"), Default::default())
            .await
            .unwrap();
        let gone = gw
            .objects()
            .put(&bucket, "gone", body(b"gone"), Default::default())
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
            async move { gw.replica().stage_write(&bucket, meta, body(data)).await.unwrap() }
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
        let applied = gw.replica().apply_batch(&bucket, changes, progress).await.unwrap();
        assert_eq!(
            applied,
            vec![Applied::Done, Applied::Superseded, Applied::Done, Applied::Done]
        );
        assert_eq!(read_all(&gw, &bucket, "new-1").await.unwrap(), b"one");
        assert_eq!(read_all(&gw, &bucket, "new-2").await.unwrap(), b"two");
        assert_eq!(read_all(&gw, &bucket, "held").await.unwrap(), b"held");
        assert!(read_all(&gw, &bucket, "gone").await.is_none());
        assert_eq!(
            gw.sync_state().get::<String>("test/position").await.unwrap().as_deref(),
            Some("p1")
        );
        let wanted = gw
            .replica()
            .writes_wanted(
                &bucket,
                vec![
                    WriteQuery {
                        key: "new-1".into(),
                        order: WriteOrder::of(Timestamp(held.mtime.0 + 5), &["zone-b".to_string()]),
                        instance: "remote-new-1".into(),
                        versioned: false,
                    },
                    WriteQuery {
                        key: "new-3".into(),
                        order: WriteOrder::of(Timestamp(1), &["zone-b".to_string()]),
                        instance: "x".into(),
                        versioned: false,
                    },
                ],
            )
            .await
            .unwrap();
        assert_eq!(wanted, vec![false, true], "held writes are not fetched again");

        // A batch that cannot apply (the bucket went away) saves neither its changes nor its position.
        let staged = stage("new-4", b"four", held.mtime.0 + 9).await;
        gw.buckets().remove(&bucket.tenant, &bucket.name, true).await.unwrap();
        let mut progress = SyncStateBatch::default();
        progress.put("test/position", &"p2".to_string()).unwrap();
        assert!(gw
            .replica()
            .apply_batch(&bucket, vec![ReplicaChange::Write(Box::new(staged))], progress)
            .await
            .is_err());
        assert_eq!(
            gw.sync_state().get::<String>("test/position").await.unwrap().as_deref(),
            Some("p1"),
            "the position moved without its changes"
        );
    }

    /// The range-scan listing holds exactly what the key-by-key one does, across pages of every size (plain
    /// objects, tombstones, versions, delete markers, removed versions, bytes of small objects).
    #[tokio::test(flavor = "multi_thread")]
    async fn listing_by_scan_matches_listing_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(dir.path()).await;
        let (_, bucket) = crate::test_support::user_bucket(&gw, "listing").await;
        for i in 0..24 {
            let data: &'static [u8] = format!("v{i}").into_bytes().leak();
            gw.objects()
                .put(&bucket, &format!("k{i:02}"), body(data), Default::default())
                .await
                .unwrap();
        }
        for i in [3, 4, 11] {
            gw.objects().delete(&bucket, &format!("k{i:02}")).await.unwrap();
        }
        let bucket = gw
            .buckets()
            .set_versioning(&bucket, meridian_model::VersioningStatus::Enabled)
            .await
            .unwrap();
        let mut removed = None;
        for round in 0..4 {
            for key in ["k05", "k06", "k20", "v-only"] {
                let data: &'static [u8] = format!("{key}-{round}").into_bytes().leak();
                let meta = gw
                    .objects()
                    .put(&bucket, key, body(data), Default::default())
                    .await
                    .unwrap();
                if key == "k06" && round == 1 {
                    removed = Some(meta.version_id());
                }
            }
        }
        gw.objects().delete(&bucket, "k07").await.unwrap();
        gw.objects()
            .delete_version(&bucket, "k06", removed.as_deref(), false)
            .await
            .unwrap();
        let id = bucket.bucket_id.clone();
        gw.core.read(move |r| {
            let everything = |page: &ReplicaPage| {
                serde_json::json!({
                    "objects": page.objects, "versions": page.versions, "tombstones": page.tombstones,
                    "removed": page.removed, "data": page.data.iter().map(|(s, d)| (s.clone(), d.to_vec())).collect::<Vec<_>>(),
                })
            };
            let whole = |scan: bool, max: usize, budget: u64| -> Result<Vec<serde_json::Value>> {
                let mut from = Vec::new();
                let mut pages = Vec::new();
                loop {
                    let page = if scan {
                        match list_by_scan(r, &id, &from, max, budget)? {
                            Some(p) => p,
                            None => list_by_key(r, &id, from.clone(), max, budget)?,
                        }
                    } else {
                        list_by_key(r, &id, from.clone(), max, budget)?
                    };
                    pages.push(everything(&page));
                    if !page.truncated {
                        return Ok(pages);
                    }
                    from = keys::after_marker(b"", page.next_marker.as_deref());
                }
            };
            let flat = |pages: Vec<serde_json::Value>| {
                let mut all = serde_json::Map::new();
                for field in ["objects", "versions", "tombstones", "removed", "data"] {
                    let joined: Vec<serde_json::Value> = pages
                        .iter()
                        .flat_map(|p| p[field].as_array().cloned().unwrap_or_default())
                        .collect();
                    all.insert(field.into(), joined.into());
                }
                serde_json::Value::Object(all)
            };
            let reference = flat(whole(false, 1000, u64::MAX)?);
            assert_eq!(reference["objects"].as_array().unwrap().len(), 21);
            assert!(!reference["removed"].as_array().unwrap().is_empty());
            assert!(!reference["tombstones"].as_array().unwrap().is_empty());
            for max in [1, 2, 3, 5, 8, 1000] {
                assert_eq!(flat(whole(true, max, u64::MAX)?), reference, "pages of {max}");
                assert_eq!(flat(whole(false, max, u64::MAX)?), reference, "key by key, pages of {max}");
            }
            // No bytes without a budget.
            let listed = whole(true, 1000, 0)?;
            assert!(listed[0]["data"].as_array().unwrap().is_empty());
            Ok(())
        })
        .await
        .unwrap();
    }

    /// Versions replicate by identity: a version is added once, a removal by id wins over any late copy of
    /// it, a delete marker needs no bytes, and the null version keeps newest-wins against its tombstone.
    #[tokio::test(flavor = "multi_thread")]
    async fn versions_apply_once_and_removals_win_over_late_copies() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(dir.path()).await;
        let (_, bucket) = crate::test_support::user_bucket(&gw, "versions").await;
        let bucket = gw
            .buckets()
            .set_versioning(&bucket, meridian_model::VersioningStatus::Enabled)
            .await
            .unwrap();
        let local = gw
            .objects()
            .put(&bucket, "k", body(b"local"), Default::default())
            .await
            .unwrap();
        assert!(local.versioned);
        let etag = hex::encode(<md5::Md5 as md5::Digest>::digest(b"remote"));
        let remote = |mtime: u64, versioned: bool| ObjectMeta {
            instance: format!("remote-{mtime}"),
            size: 6,
            etag: etag.clone(),
            mtime: Timestamp(local.mtime.0 + mtime),
            zones_trace: vec!["zone-b".into()],
            versioned,
            ..local.clone()
        };
        let r1 = remote(10, true);
        let apply = |meta: ObjectMeta| {
            let (gw, bucket) = (gw.clone(), bucket.clone());
            async move { gw.replica().apply_write(&bucket, meta, body(b"remote")).await.unwrap() }
        };
        assert_eq!(apply(r1.clone()).await, Applied::Done);
        assert_eq!(apply(r1.clone()).await, Applied::Superseded, "a version is added once");
        assert_eq!(
            gw.objects().meta(&bucket, "k").await.unwrap().version_id(),
            r1.version_id()
        );
        let del_r1 = ReplicaChange::DelVersion {
            key: "k".into(),
            version_id: r1.version_id(),
            removed: r1.order(),
            zones_trace: vec!["zone-b".into()],
        };
        assert_eq!(gw.replica().apply_one(&bucket, del_r1).await.unwrap(), Applied::Done);
        assert_eq!(gw.objects().meta(&bucket, "k").await.unwrap().instance, local.instance);
        assert_eq!(
            apply(r1.clone()).await,
            Applied::Superseded,
            "a removed version stays removed"
        );

        let marker = ObjectMeta {
            delete_marker: true,
            size: 0,
            etag: String::new(),
            ..remote(20, true)
        };
        assert_eq!(
            gw.replica()
                .apply_one(&bucket, ReplicaChange::Marker(Box::new(marker.clone())))
                .await
                .unwrap(),
            Applied::Done
        );
        assert!(matches!(
            gw.objects().meta(&bucket, "k").await,
            Err(GatewayError::DeleteMarker { by_version: false, .. })
        ));
        // An older version arriving late goes under the marker.
        assert_eq!(apply(remote(5, true)).await, Applied::Done);
        assert!(gw.objects().meta(&bucket, "k").await.is_err());

        // The null version: newest wins, and its removal holds off older copies.
        let n1 = remote(30, false);
        assert_eq!(apply(n1.clone()).await, Applied::Done);
        assert_eq!(gw.objects().meta(&bucket, "k").await.unwrap().instance, n1.instance);
        assert_eq!(apply(remote(25, false)).await, Applied::Superseded);
        let del_null = ReplicaChange::DelVersion {
            key: "k".into(),
            version_id: NULL_VERSION.into(),
            removed: n1.order(),
            zones_trace: vec!["zone-b".into()],
        };
        assert_eq!(gw.replica().apply_one(&bucket, del_null).await.unwrap(), Applied::Done);
        assert_eq!(
            apply(remote(28, false)).await,
            Applied::Superseded,
            "older than the removed null"
        );
        assert!(matches!(
            gw.objects().meta(&bucket, "k").await,
            Err(GatewayError::DeleteMarker { .. })
        ));
        let all = gw
            .core
            .read({
                let id = bucket.bucket_id.clone();
                move |r| versions::all_of_key(r, &id, "k")
            })
            .await
            .unwrap();
        let ids: Vec<String> = all.iter().map(ObjectMeta::version_id).collect();
        assert_eq!(
            ids,
            vec![marker.version_id(), remote(5, true).version_id(), local.version_id()],
            "newest first"
        );
        assert_eq!(gw.buckets().stats(&bucket).await.unwrap().num_objects, 2);
    }
}
