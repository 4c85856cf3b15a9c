//! Objects: put (streamed, MD5 once), get by range, head, delete, copy. The bytes are durable before
//! the metadata transaction that makes them visible; replaced bytes go to the garbage collector.

use crate::blob::{self, ByteStream, WrittenBlob};
use crate::conditions::{Conditions, EtagMatch};
use crate::error::{GatewayError, Result};
use crate::logs::{self, Change};
use crate::versions::{self, Slot, VersionRef};
use crate::{keys, records};
use meridian_model::names::validate_object_key;
use meridian_model::{
    BilogOp, Bucket, Manifest, ObjectChecksum, ObjectHeaders, ObjectMeta, Timestamp, VersioningStatus, WriteOrder,
};
use meridian_store::WriteTxn;

/// A byte range as the client asked for it (inclusive bounds, like the HTTP Range header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    From { first: u64, last: Option<u64> },
    Suffix { len: u64 },
}

impl ByteRange {
    /// The half-open range to serve for an object of `size` bytes.
    pub fn resolve(self, size: u64) -> Result<std::ops::Range<u64>> {
        let invalid = GatewayError::InvalidRange { object_size: size };
        match self {
            ByteRange::From { first, last } => {
                if first >= size || last.is_some_and(|l| l < first) {
                    return Err(invalid);
                }
                let end = last.map_or(size, |l| (l + 1).min(size));
                Ok(first..end)
            }
            ByteRange::Suffix { len } => {
                if len == 0 || size == 0 {
                    return Err(invalid);
                }
                Ok(size.saturating_sub(len)..size)
            }
        }
    }
}

/// Where the S3 layer leaves the checksum it verified while the body streamed (known only at its end, when
/// a trailing checksum has arrived); read once the bytes are written.
pub type ChecksumSlot = std::sync::Arc<std::sync::OnceLock<ObjectChecksum>>;

/// What a client asked to store, besides the bytes.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub headers: ObjectHeaders,
    pub content_length: Option<u64>,
    pub content_md5: Option<[u8; 16]>,
    /// Write conditions on the object being replaced (If-Match / If-None-Match on PUT).
    pub conditions: Conditions,
    /// The verified checksum to keep with the object.
    pub checksum: Option<ChecksumSlot>,
    /// `x-amz-tagging`.
    pub tags: meridian_model::TagSet,
    /// `x-amz-object-lock-*` (the bucket's default retention applies when none is named).
    pub lock: meridian_model::ObjectLock,
    /// The ACL a canned ACL or grant headers asked for (`None`: private to the writer).
    pub acl: Option<meridian_model::Acl>,
}

/// A GET's answer: the object's metadata, the served range and the streamed bytes.
pub struct ObjectRead {
    pub meta: ObjectMeta,
    pub range: std::ops::Range<u64>,
    pub partial: bool,
    pub body: ByteStream,
}

/// Objects: put, get, head, delete, copy, listing, multipart uploads, tags, ACLs, Object Lock and lifecycle.
/// Reached through `Gateway::objects()`.
#[derive(Clone, Copy)]
pub struct ObjectService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

impl ObjectService<'_> {
    pub async fn put(&self, bucket: &Bucket, key: &str, body: ByteStream, opts: PutOptions) -> Result<ObjectMeta> {
        validate_object_key(key)?;
        let written = self
            .core
            .write_blob(body, opts.content_length, self.core.options.max_object_size)
            .await?;
        if let Some(expected) = opts.content_md5 {
            if expected != written.md5 {
                self.core.discard_blob(&written).await;
                return Err(GatewayError::BadDigest);
            }
        }
        let meta = ObjectMeta {
            key: key.to_string(),
            instance: crate::new_id(),
            size: written.size,
            etag: written.etag(),
            mtime: Timestamp::now(),
            owner: bucket.owner.clone(),
            headers: opts.headers,
            manifest: Manifest {
                segments: vec![written.segment()],
            },
            zones_trace: vec![self.core.site().zone_id.clone()],
            checksum: opts.checksum.as_ref().and_then(|c| c.get().cloned()),
            tags: opts.tags,
            lock: opts.lock,
            acl: opts.acl,
            ..Default::default()
        };
        self.commit_new(bucket, meta, opts.conditions, vec![written]).await
    }

    /// Makes `meta` the current object (in a versioned bucket: a new version, which gets its id here); on
    /// failure its fresh blobs are discarded.
    pub(crate) async fn commit_new(
        &self,
        bucket: &Bucket,
        mut meta: ObjectMeta,
        conditions: Conditions,
        fresh_blobs: Vec<WrittenBlob>,
    ) -> Result<ObjectMeta> {
        let b = bucket.clone();
        let fresh = fresh_blobs.clone();
        let result = self
            .core
            .write(move |txn| {
                crate::moves::check_writable(txn, &b)?;
                blob::store_inline(txn, &fresh)?;
                commit_object(txn, &b, &mut meta, &conditions, true)?;
                Ok(meta)
            })
            .await;
        if result.is_err() {
            for blob in &fresh_blobs {
                self.core.discard_blob(blob).await;
            }
        }
        result
    }

    pub async fn head(&self, bucket: &Bucket, key: &str, conditions: &Conditions) -> Result<ObjectMeta> {
        self.head_version(bucket, key, None, conditions).await
    }

    /// HEAD of the key's current version, or of the version `version_id` names.
    pub async fn head_version(
        &self,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
        conditions: &Conditions,
    ) -> Result<ObjectMeta> {
        let meta = self.version(bucket, key, version_id).await?;
        conditions.check_read(&meta)?;
        Ok(meta)
    }

    /// The key's current version. When there is none because the newest version is a delete marker, the
    /// error names the marker.
    pub async fn meta(&self, bucket: &Bucket, key: &str) -> Result<ObjectMeta> {
        self.version(bucket, key, None).await
    }

    /// A version of a key: the current one (`None`), or the one `version_id` names (`NoSuchVersion` when
    /// not held; a delete marker is `DeleteMarker`).
    pub async fn version(&self, bucket: &Bucket, key: &str, version_id: Option<&str>) -> Result<ObjectMeta> {
        validate_object_key(key)?;
        let which = version_id.map(VersionRef::parse).transpose()?;
        let id = bucket.bucket_id.clone();
        let never_versioned = bucket.versioning == VersioningStatus::Off;
        let key = key.to_string();
        self.core
            .read(move |r| {
                let Some(which) = which else {
                    if let Some(meta) = versions::current(r, &id, &key)? {
                        return Ok(meta);
                    }
                    if !never_versioned {
                        if let Some(top) = versions::newest_noncurrent(r, &id, &key)? {
                            if top.delete_marker {
                                return Err(GatewayError::DeleteMarker {
                                    version_id: top.version_id(),
                                    mtime: top.mtime,
                                    by_version: false,
                                });
                            }
                        }
                    }
                    return Err(GatewayError::NoSuchKey);
                };
                match versions::find(r, &id, &key, &which)? {
                    Some((meta, _)) if meta.delete_marker => Err(GatewayError::DeleteMarker {
                        version_id: meta.version_id(),
                        mtime: meta.mtime,
                        by_version: true,
                    }),
                    Some((meta, _)) => Ok(meta),
                    None => Err(GatewayError::NoSuchVersion),
                }
            })
            .await
    }

    pub async fn get(
        &self,
        bucket: &Bucket,
        key: &str,
        range: Option<ByteRange>,
        conditions: &Conditions,
    ) -> Result<ObjectRead> {
        self.get_version(bucket, key, None, range, conditions).await
    }

    /// GET of the key's current version, or of the version `version_id` names.
    pub async fn get_version(
        &self,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
        range: Option<ByteRange>,
        conditions: &Conditions,
    ) -> Result<ObjectRead> {
        let meta = self.head_version(bucket, key, version_id, conditions).await?;
        let (served, partial) = match range {
            Some(r) => (r.resolve(meta.size)?, true),
            None => (0..meta.size, false),
        };
        let body = self
            .core
            .read_segments(meta.manifest.segments.clone(), served.start, served.end - served.start)
            .await?;
        Ok(ObjectRead {
            meta,
            range: served,
            partial,
            body,
        })
    }

    /// GET with `partNumber`: the bytes of that part of a multipart object (a simple object has one part,
    /// all of it). The range and the part count come from one read of the object.
    pub async fn get_part(
        &self,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
        part_number: i32,
        conditions: &Conditions,
    ) -> Result<ObjectRead> {
        let meta = self.head_version(bucket, key, version_id, conditions).await?;
        let served = part_range(&meta, part_number)?;
        let body = self
            .core
            .read_segments(meta.manifest.segments.clone(), served.start, served.end - served.start)
            .await?;
        Ok(ObjectRead {
            meta,
            range: served,
            partial: true,
            body,
        })
    }

    /// Deletes an object; deleting a missing key succeeds (S3 semantics). Returns whether it existed.
    pub async fn delete(&self, bucket: &Bucket, key: &str) -> Result<bool> {
        Ok(self.delete_version(bucket, key, None, false).await?.existed)
    }

    /// DeleteObject. Without a version id: in a never-versioned bucket the object goes; in a versioned
    /// (suspended) bucket a delete marker (the null delete marker) becomes the newest version. With one: that
    /// version goes (an unknown id succeeds, as on AWS), unless Object Lock protects it
    /// (`bypass_governance`: `x-amz-bypass-governance-retention`).
    pub async fn delete_version(
        &self,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
        bypass_governance: bool,
    ) -> Result<Deleted> {
        validate_object_key(key)?;
        let which = version_id.map(VersionRef::parse).transpose()?;
        let b = bucket.clone();
        let key = key.to_string();
        let zone_id = self.core.site().zone_id.clone();
        self.core
            .write(move |txn| {
                crate::moves::check_writable(txn, &b)?;
                delete_in_txn(txn, &b, &key, which.as_ref(), &zone_id, bypass_governance)
            })
            .await
    }

    /// Deletes many keys in one transaction; per-key results in order.
    pub async fn delete_many(&self, bucket: &Bucket, keys_to_delete: Vec<String>) -> Result<Vec<Result<bool>>> {
        let results = self
            .delete_versions(bucket, keys_to_delete.into_iter().map(|k| (k, None)).collect(), false)
            .await?;
        Ok(results.into_iter().map(|r| r.map(|d| d.existed)).collect())
    }

    /// DeleteObjects: many (key, version id) in one transaction; per-entry results in order.
    pub async fn delete_versions(
        &self,
        bucket: &Bucket,
        entries: Vec<(String, Option<String>)>,
        bypass_governance: bool,
    ) -> Result<Vec<Result<Deleted>>> {
        let b = bucket.clone();
        let zone_id = self.core.site().zone_id.clone();
        self.core
            .write(move |txn| {
                crate::moves::check_writable(txn, &b)?;
                let mut out = Vec::with_capacity(entries.len());
                for (key, version_id) in entries {
                    let which = match (validate_object_key(&key), version_id.as_deref().map(VersionRef::parse)) {
                        (Err(e), _) => {
                            out.push(Err(e.into()));
                            continue;
                        }
                        (Ok(()), Some(Err(e))) => {
                            out.push(Err(e));
                            continue;
                        }
                        (Ok(()), Some(Ok(w))) => Some(w),
                        (Ok(()), None) => None,
                    };
                    // A locked version is refused before anything is written, so the others still go.
                    match delete_in_txn(txn, &b, &key, which.as_ref(), &zone_id, bypass_governance) {
                        Err(e @ GatewayError::ObjectLocked(_)) => out.push(Err(e)),
                        other => out.push(Ok(other?)),
                    }
                }
                Ok(out)
            })
            .await
    }

    /// CopyObject: `replace_headers` None keeps the source's headers (directive COPY); `replace_tags` None
    /// keeps its tags (`x-amz-tagging-directive: COPY`).
    #[allow(clippy::too_many_arguments)]
    pub async fn copy(
        &self,
        src_bucket: &Bucket,
        src_key: &str,
        dst_bucket: &Bucket,
        dst_key: &str,
        replace_headers: Option<ObjectHeaders>,
        replace_tags: Option<meridian_model::TagSet>,
        source_conditions: &Conditions,
    ) -> Result<ObjectMeta> {
        self.copy_version(
            src_bucket,
            src_key,
            None,
            dst_bucket,
            dst_key,
            replace_headers,
            replace_tags,
            Default::default(),
            None,
            source_conditions,
        )
        .await
        .map(|(_, meta)| meta)
    }

    /// The version a copy reads: a delete marker named by id cannot be copied (400, as on AWS).
    pub async fn copy_source_version(
        &self,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<ObjectMeta> {
        match self.version(bucket, key, version_id).await {
            Err(GatewayError::DeleteMarker { by_version: true, .. }) => Err(GatewayError::InvalidRequest(
                "The source of a copy request may not specifically refer to a delete marker by version id.".into(),
            )),
            other => other,
        }
    }

    /// CopyObject from the source's current version or the version `src_version` names; returns the source
    /// version read and the new object. The copy gets `lock` and `acl` (as on AWS, the source's lock and ACL
    /// are not copied).
    #[allow(clippy::too_many_arguments)]
    pub async fn copy_version(
        &self,
        src_bucket: &Bucket,
        src_key: &str,
        src_version: Option<&str>,
        dst_bucket: &Bucket,
        dst_key: &str,
        replace_headers: Option<ObjectHeaders>,
        replace_tags: Option<meridian_model::TagSet>,
        lock: meridian_model::ObjectLock,
        acl: Option<meridian_model::Acl>,
        source_conditions: &Conditions,
    ) -> Result<(ObjectMeta, ObjectMeta)> {
        validate_object_key(dst_key)?;
        let src = self.copy_source_version(src_bucket, src_key, src_version).await?;
        source_conditions.check_write(&src)?;
        if src_bucket.bucket_id == dst_bucket.bucket_id
            && src_key == dst_key
            && replace_headers.is_none()
            && src_version.is_none()
        {
            return Err(GatewayError::InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into(),
            ));
        }
        let body = self
            .core
            .read_segments(src.manifest.segments.clone(), 0, src.size)
            .await?;
        let written = self.core.write_blob(body, Some(src.size), u64::MAX).await?;
        let meta = ObjectMeta {
            key: dst_key.to_string(),
            instance: crate::new_id(),
            size: written.size,
            // A copy of a multipart object is stored whole, so its ETag becomes the plain MD5.
            etag: written.etag(),
            mtime: Timestamp::now(),
            owner: dst_bucket.owner.clone(),
            headers: replace_headers.unwrap_or_else(|| src.headers.clone()),
            manifest: Manifest {
                segments: vec![written.segment()],
            },
            zones_trace: vec![self.core.site().zone_id.clone()],
            // The same bytes: a whole-object checksum still holds; one of parts' checksums does not.
            checksum: src.checksum.clone().filter(|c| !c.composite),
            tags: replace_tags.unwrap_or_else(|| src.tags.clone()),
            lock,
            acl,
            ..Default::default()
        };
        let meta = self
            .commit_new(dst_bucket, meta, Conditions::default(), vec![written])
            .await?;
        Ok((src, meta))
    }
}

/// The byte range of part `n` (from 1) of an object: a multipart object's recorded part sizes, or the whole
/// of any other object as its part 1. Past the last part is `InvalidPartNumber`.
pub fn part_range(meta: &ObjectMeta, n: i32) -> Result<std::ops::Range<u64>> {
    let sizes: Vec<u64> = if meta.part_sizes.is_empty() {
        vec![meta.size]
    } else {
        meta.part_sizes.clone()
    };
    let index = usize::try_from(n)
        .ok()
        .filter(|&i| i >= 1 && i <= sizes.len())
        .ok_or_else(|| {
            GatewayError::InvalidPartNumber(format!(
                "The requested partnumber is not satisfiable: the object has {} part(s)",
                sizes.len()
            ))
        })?;
    let start: u64 = sizes[..index - 1].iter().sum();
    Ok(start..start + sizes[index - 1])
}

/// What a DeleteObject did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Something was removed or a delete marker written.
    pub existed: bool,
    /// The version removed or the delete marker written (None in a never-versioned bucket).
    pub version_id: Option<String>,
    /// The version removed, or the one written, is a delete marker.
    pub delete_marker: bool,
}

/// Checks the bucket still is the same incarnation (it may have been deleted while bytes streamed); returns
/// its record as stored now (its versioning status decides what a write does).
pub(crate) fn ensure_bucket_current(txn: &dyn WriteTxn, bucket: &Bucket) -> Result<Bucket> {
    match records::get::<Bucket>(txn, &keys::bucket(&bucket.tenant, &bucket.name))? {
        Some(b) if b.bucket_id == bucket.bucket_id => Ok(b),
        _ => Err(GatewayError::NoSuchBucket),
    }
}

/// The version id a bucket index log entry carries: none in a never-versioned bucket.
pub(crate) fn logged_version_id(bucket: &Bucket, meta: &ObjectMeta) -> String {
    if !meta.versioned && bucket.versioning == VersioningStatus::Off {
        String::new()
    } else {
        meta.version_id()
    }
}

/// Writes an object (version) record in the caller's transaction, references the new bytes, updates stats
/// and appends to the bucket index log and data log. A null version (every object of a never-versioned
/// bucket) replaces the key's null version, whose bytes go to GC; any other version is added beside the
/// others. `local`: a write made here, not a replica: in a versioned (suspended) bucket it becomes a version
/// (the null version) and the newest one (its mtime moves past the newest version's if need be), so its id
/// is only known after this call.
pub(crate) fn commit_object(
    txn: &mut dyn WriteTxn,
    bucket: &Bucket,
    meta: &mut ObjectMeta,
    conditions: &Conditions,
    local: bool,
) -> Result<()> {
    let stored = ensure_bucket_current(txn, bucket)?;
    let id = &bucket.bucket_id;
    let old: Option<ObjectMeta> = versions::current(txn, id, &meta.key)?;
    match &old {
        Some(o) => conditions.check_write(o)?,
        // S3: If-Match on a key that holds no object is 404.
        None if conditions.if_match.is_some() => return Err(GatewayError::NoSuchKey),
        None => {}
    }
    if let (Some(EtagMatch::Any), Some(_)) = (&conditions.if_none_match, &old) {
        return Err(GatewayError::PreconditionFailed);
    }
    if local && stored.versioning != VersioningStatus::Off {
        meta.versioned = stored.versioning == VersioningStatus::Enabled;
        meta.mtime = versions::next_mtime(txn, id, &meta.key, meta.mtime)?;
    }
    if local {
        crate::object_lock::settle_new_version(&stored, meta)?;
    }
    if !meta.versioned {
        let null = match &old {
            Some(o) if !o.versioned => Some((o.clone(), Slot::Current)),
            _ => versions::find_null(txn, id, &meta.key)?,
        };
        if let Some((o, slot)) = null {
            versions::drop_record(txn, id, &o, slot)?;
        }
        txn.delete(&keys::tombstone(id, &meta.key))?;
    }
    versions::insert(txn, id, meta)?;
    let version_id = logged_version_id(&stored, meta);
    logs::record(
        txn,
        bucket,
        &Change {
            op: if meta.delete_marker {
                BilogOp::DeleteMarker
            } else {
                BilogOp::Write
            },
            key: &meta.key,
            instance: &meta.instance,
            mtime: meta.mtime,
            etag: &meta.etag,
            size: meta.size,
            zones_trace: &meta.zones_trace,
            version_id: &version_id,
            removed: None,
        },
    )
}

/// A local DeleteObject in the caller's transaction (see `ObjectService::delete_version`).
pub(crate) fn delete_in_txn(
    txn: &mut dyn WriteTxn,
    bucket: &Bucket,
    key: &str,
    which: Option<&VersionRef>,
    zone_id: &str,
    bypass_governance: bool,
) -> Result<Deleted> {
    let stored = ensure_bucket_current(txn, bucket)?;
    let now = Timestamp::now();
    let trace = [zone_id.to_string()];
    if let Some(which) = which {
        if let Some((held, _)) = versions::find(txn, &bucket.bucket_id, key, which)? {
            crate::object_lock::check_removal(&held, bypass_governance, now)?;
        }
        let removed = remove_version(txn, &stored, key, which, &trace)?;
        return Ok(match removed {
            Some(meta) => Deleted {
                existed: true,
                version_id: Some(meta.version_id()),
                delete_marker: meta.delete_marker,
            },
            None => Deleted {
                existed: false,
                version_id: Some(match which {
                    VersionRef::Null => meridian_model::NULL_VERSION.to_string(),
                    VersionRef::Id(order) => meridian_model::version_id_of(order),
                }),
                delete_marker: false,
            },
        });
    }
    if stored.versioning == VersioningStatus::Off {
        let existed = remove_object(txn, bucket, key, now, &trace)?;
        return Ok(Deleted {
            existed,
            ..Default::default()
        });
    }
    let mut marker = ObjectMeta {
        key: key.to_string(),
        instance: crate::new_id(),
        size: 0,
        etag: String::new(),
        mtime: now,
        owner: stored.owner.clone(),
        headers: Default::default(),
        manifest: Manifest::default(),
        zones_trace: trace.to_vec(),
        delete_marker: true,
        ..Default::default()
    };
    commit_object(txn, bucket, &mut marker, &Conditions::default(), true)?;
    Ok(Deleted {
        existed: true,
        version_id: Some(marker.version_id()),
        delete_marker: true,
    })
}

/// Removes the version `which` names, if held (its bytes to GC; the next version may become current), and
/// logs it with `zones_trace`. A removed null version raises the key's tombstone; a removed version id is
/// remembered. Returns the removed version.
pub(crate) fn remove_version(
    txn: &mut dyn WriteTxn,
    bucket: &Bucket,
    key: &str,
    which: &VersionRef,
    zones_trace: &[String],
) -> Result<Option<ObjectMeta>> {
    let id = &bucket.bucket_id;
    let Some((meta, slot)) = versions::find(txn, id, key, which)? else {
        return Ok(None);
    };
    versions::remove(txn, id, &meta, slot)?;
    let order = meta.order();
    if meta.versioned {
        versions::record_removed(txn, id, key, &order)?;
    } else {
        versions::raise_tombstone(txn, id, key, &order)?;
    }
    let version_id = meta.version_id();
    logs::record(
        txn,
        bucket,
        &Change {
            op: BilogOp::DelVersion,
            key,
            instance: &meta.instance,
            mtime: Timestamp::now(),
            etag: &meta.etag,
            size: meta.size,
            zones_trace,
            version_id: &version_id,
            removed: Some(order),
        },
    )?;
    Ok(Some(meta))
}

/// Removes the null version of a key deleted at `mtime` (in the zone first of `zones_trace`): in a
/// never-versioned bucket, the object. The delete is logged and leaves a tombstone even when the key is not
/// here (yet): in active-active sync, another zone may still hold a write of it that this delete must win
/// over. Returns whether an object was removed.
pub(crate) fn remove_object(
    txn: &mut dyn WriteTxn,
    bucket: &Bucket,
    key: &str,
    mtime: Timestamp,
    zones_trace: &[String],
) -> Result<bool> {
    ensure_bucket_current(txn, bucket)?;
    let old = versions::find_null(txn, &bucket.bucket_id, key)?;
    if let Some((o, slot)) = &old {
        versions::remove(txn, &bucket.bucket_id, o, *slot)?;
    }
    crate::replica::record_tombstone(txn, &bucket.bucket_id, key, &WriteOrder::of(mtime, zones_trace))?;
    logs::record(
        txn,
        bucket,
        &Change {
            op: BilogOp::Del,
            key,
            instance: old.as_ref().map_or("", |(o, _)| o.instance.as_str()),
            mtime,
            etag: "",
            size: 0,
            zones_trace,
            version_id: "",
            removed: None,
        },
    )?;
    Ok(old.is_some())
}

#[cfg(test)]
mod tests {
    use super::ByteRange;

    #[test]
    fn ranges_resolve_like_http() {
        assert_eq!(
            ByteRange::From {
                first: 0,
                last: Some(9)
            }
            .resolve(100)
            .unwrap(),
            0..10
        );
        assert_eq!(
            ByteRange::From {
                first: 90,
                last: Some(500)
            }
            .resolve(100)
            .unwrap(),
            90..100
        );
        assert_eq!(ByteRange::From { first: 5, last: None }.resolve(100).unwrap(), 5..100);
        assert_eq!(ByteRange::Suffix { len: 10 }.resolve(100).unwrap(), 90..100);
        assert_eq!(ByteRange::Suffix { len: 1000 }.resolve(100).unwrap(), 0..100);
        assert!(ByteRange::From { first: 100, last: None }.resolve(100).is_err());
        assert!(ByteRange::Suffix { len: 0 }.resolve(100).is_err());
        assert!(ByteRange::From { first: 0, last: None }.resolve(0).is_err());
    }
}
