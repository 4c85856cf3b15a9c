//! Objects: put (streamed, MD5 once), get by range, head, delete, copy. The bytes are durable before
//! the metadata transaction that makes them visible; replaced bytes go to the garbage collector.

use crate::blob::{self, ByteStream, WrittenBlob};
use crate::conditions::{Conditions, EtagMatch};
use crate::error::{GatewayError, Result};
use crate::logs::{self, Change};
use crate::{buckets, gc, keys, records, Gateway};
use meridian_model::names::validate_object_key;
use meridian_model::{BilogOp, Bucket, Manifest, ObjectChecksum, ObjectHeaders, ObjectMeta, Timestamp};
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
}

/// A GET's answer: the object's metadata, the served range and the streamed bytes.
pub struct ObjectRead {
    pub meta: ObjectMeta,
    pub range: std::ops::Range<u64>,
    pub partial: bool,
    pub body: ByteStream,
}

impl Gateway {
    pub async fn put_object(
        &self,
        bucket: &Bucket,
        key: &str,
        body: ByteStream,
        opts: PutOptions,
    ) -> Result<ObjectMeta> {
        validate_object_key(key)?;
        let written = self
            .write_blob(body, opts.content_length, self.options.max_object_size)
            .await?;
        if let Some(expected) = opts.content_md5 {
            if expected != written.md5 {
                self.discard_blob(&written).await;
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
            zones_trace: vec![self.site().zone_id.clone()],
            checksum: opts.checksum.as_ref().and_then(|c| c.get().cloned()),
            tags: opts.tags,
            ..Default::default()
        };
        self.commit_new_object(bucket, meta, opts.conditions, vec![written])
            .await
    }

    /// Makes `meta` the current object; on failure its fresh blobs are discarded.
    pub(crate) async fn commit_new_object(
        &self,
        bucket: &Bucket,
        meta: ObjectMeta,
        conditions: Conditions,
        fresh_blobs: Vec<WrittenBlob>,
    ) -> Result<ObjectMeta> {
        let b = bucket.clone();
        let fresh = fresh_blobs.clone();
        let result = self
            .write(move |txn| {
                crate::moves::check_writable(txn, &b)?;
                blob::store_inline(txn, &fresh)?;
                commit_object(txn, &b, &meta, &conditions)?;
                Ok(meta)
            })
            .await;
        if result.is_err() {
            for blob in &fresh_blobs {
                self.discard_blob(blob).await;
            }
        }
        result
    }

    pub async fn head_object(&self, bucket: &Bucket, key: &str, conditions: &Conditions) -> Result<ObjectMeta> {
        let meta = self.object_meta(bucket, key).await?;
        conditions.check_read(&meta)?;
        Ok(meta)
    }

    pub async fn object_meta(&self, bucket: &Bucket, key: &str) -> Result<ObjectMeta> {
        validate_object_key(key)?;
        let k = keys::object(&bucket.bucket_id, key);
        self.read(move |r| records::get(r, &k)?.ok_or(GatewayError::NoSuchKey))
            .await
    }

    pub async fn get_object(
        &self,
        bucket: &Bucket,
        key: &str,
        range: Option<ByteRange>,
        conditions: &Conditions,
    ) -> Result<ObjectRead> {
        let meta = self.head_object(bucket, key, conditions).await?;
        let (served, partial) = match range {
            Some(r) => (r.resolve(meta.size)?, true),
            None => (0..meta.size, false),
        };
        let body = self
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
    pub async fn get_object_part(
        &self,
        bucket: &Bucket,
        key: &str,
        part_number: i32,
        conditions: &Conditions,
    ) -> Result<ObjectRead> {
        let meta = self.head_object(bucket, key, conditions).await?;
        let served = part_range(&meta, part_number)?;
        let body = self
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
    pub async fn delete_object(&self, bucket: &Bucket, key: &str) -> Result<bool> {
        validate_object_key(key)?;
        let b = bucket.clone();
        let key = key.to_string();
        let zone_id = self.site().zone_id.clone();
        self.write(move |txn| {
            crate::moves::check_writable(txn, &b)?;
            remove_object(txn, &b, &key, Timestamp::now(), &[zone_id])
        })
        .await
    }

    /// Deletes many keys in one transaction; per-key results in order.
    pub async fn delete_objects(&self, bucket: &Bucket, keys_to_delete: Vec<String>) -> Result<Vec<Result<bool>>> {
        let b = bucket.clone();
        let zone_id = self.site().zone_id.clone();
        self.write(move |txn| {
            crate::moves::check_writable(txn, &b)?;
            let mut out = Vec::with_capacity(keys_to_delete.len());
            for key in keys_to_delete {
                out.push(match validate_object_key(&key) {
                    Err(e) => Err(e.into()),
                    Ok(()) => Ok(remove_object(
                        txn,
                        &b,
                        &key,
                        Timestamp::now(),
                        std::slice::from_ref(&zone_id),
                    )?),
                });
            }
            Ok(out)
        })
        .await
    }

    /// CopyObject: `replace_headers` None keeps the source's headers (directive COPY); `replace_tags` None
    /// keeps its tags (`x-amz-tagging-directive: COPY`).
    #[allow(clippy::too_many_arguments)]
    pub async fn copy_object(
        &self,
        src_bucket: &Bucket,
        src_key: &str,
        dst_bucket: &Bucket,
        dst_key: &str,
        replace_headers: Option<ObjectHeaders>,
        replace_tags: Option<meridian_model::TagSet>,
        source_conditions: &Conditions,
    ) -> Result<ObjectMeta> {
        validate_object_key(dst_key)?;
        let src = self.object_meta(src_bucket, src_key).await?;
        source_conditions.check_write(&src)?;
        if src_bucket.bucket_id == dst_bucket.bucket_id && src_key == dst_key && replace_headers.is_none() {
            return Err(GatewayError::InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into(),
            ));
        }
        let body = self.read_segments(src.manifest.segments.clone(), 0, src.size).await?;
        let written = self.write_blob(body, Some(src.size), u64::MAX).await?;
        let meta = ObjectMeta {
            key: dst_key.to_string(),
            instance: crate::new_id(),
            size: written.size,
            // A copy of a multipart object is stored whole, so its ETag becomes the plain MD5.
            etag: written.etag(),
            mtime: Timestamp::now(),
            owner: dst_bucket.owner.clone(),
            headers: replace_headers.unwrap_or(src.headers),
            manifest: Manifest {
                segments: vec![written.segment()],
            },
            zones_trace: vec![self.site().zone_id.clone()],
            // The same bytes: a whole-object checksum still holds; one of parts' checksums does not.
            checksum: src.checksum.filter(|c| !c.composite),
            tags: replace_tags.unwrap_or(src.tags),
            ..Default::default()
        };
        self.commit_new_object(dst_bucket, meta, Conditions::default(), vec![written])
            .await
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

/// Checks the bucket still is the same incarnation (it may have been deleted while bytes streamed).
pub(crate) fn ensure_bucket_current(txn: &dyn WriteTxn, bucket: &Bucket) -> Result<()> {
    match records::get::<Bucket>(txn, &keys::bucket(&bucket.tenant, &bucket.name))? {
        Some(b) if b.bucket_id == bucket.bucket_id => Ok(()),
        _ => Err(GatewayError::NoSuchBucket),
    }
}

/// Writes an object record in the caller's transaction: replaces any current one (its bytes to GC),
/// references the new bytes, updates stats and appends to the bucket index log and data log.
pub(crate) fn commit_object(
    txn: &mut dyn WriteTxn,
    bucket: &Bucket,
    meta: &ObjectMeta,
    conditions: &Conditions,
) -> Result<()> {
    ensure_bucket_current(txn, bucket)?;
    let key = keys::object(&bucket.bucket_id, &meta.key);
    let old: Option<ObjectMeta> = records::get(txn, &key)?;
    match &old {
        Some(o) => conditions.check_write(o)?,
        // S3: If-Match on a key that holds no object is 404.
        None if conditions.if_match.is_some() => return Err(GatewayError::NoSuchKey),
        None => {}
    }
    if let (Some(EtagMatch::Any), Some(_)) = (&conditions.if_none_match, &old) {
        return Err(GatewayError::PreconditionFailed);
    }
    records::put(txn, &key, meta)?;
    txn.delete(&keys::tombstone(&bucket.bucket_id, &meta.key))?;
    for seg in &meta.manifest.segments {
        gc::reference(txn, &seg.data_id)?;
    }
    let (objects_delta, bytes_delta) = match &old {
        Some(o) => {
            gc::enqueue(txn, o.manifest.segments.iter().map(|s| s.data_id.clone()).collect())?;
            (0, meta.size as i64 - o.size as i64)
        }
        None => (1, meta.size as i64),
    };
    buckets::adjust_stats(txn, &bucket.bucket_id, objects_delta, bytes_delta)?;
    logs::record(
        txn,
        bucket,
        &Change {
            op: BilogOp::Write,
            key: &meta.key,
            instance: &meta.instance,
            mtime: meta.mtime,
            etag: &meta.etag,
            size: meta.size,
            zones_trace: &meta.zones_trace,
        },
    )
}

/// Removes an object deleted at `mtime` (in the zone first of `zones_trace`). The delete is logged and leaves
/// a tombstone even when the key is not here (yet): in active-active sync, another zone may still hold a
/// write of it that this delete must win over. Returns whether an object was removed.
pub(crate) fn remove_object(
    txn: &mut dyn WriteTxn,
    bucket: &Bucket,
    key: &str,
    mtime: Timestamp,
    zones_trace: &[String],
) -> Result<bool> {
    ensure_bucket_current(txn, bucket)?;
    let k = keys::object(&bucket.bucket_id, key);
    let old = records::get::<ObjectMeta>(txn, &k)?;
    if let Some(old) = &old {
        txn.delete(&k)?;
        gc::enqueue(txn, old.manifest.segments.iter().map(|s| s.data_id.clone()).collect())?;
        buckets::adjust_stats(txn, &bucket.bucket_id, -1, -(old.size as i64))?;
    }
    crate::replica::record_tombstone(
        txn,
        &bucket.bucket_id,
        key,
        &meridian_model::WriteOrder::of(mtime, zones_trace),
    )?;
    logs::record(
        txn,
        bucket,
        &Change {
            op: BilogOp::Del,
            key,
            instance: old.as_ref().map_or("", |o| o.instance.as_str()),
            mtime,
            etag: "",
            size: 0,
            zones_trace,
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
