//! Multipart uploads: parts are stored as separate blobs and completion writes a manifest that points at
//! them, so completing never copies bytes.

use crate::blob::{self, WrittenBlob};
use crate::conditions::Conditions;
use crate::error::{GatewayError, Result};
use crate::objects::{commit_object, ensure_bucket_current, ByteRange, ChecksumSlot};
use crate::{gc, keys, records};
use md5::{Digest, Md5};
use meridian_model::{
    Bucket, Manifest, MultipartUpload, ObjectChecksum, ObjectHeaders, ObjectMeta, PartMeta, Segment, Timestamp,
};
use meridian_store::{ReadOps, WriteTxn};

pub const MAX_PART_NUMBER: u32 = 10_000;

/// Deletes every part record of an upload; returns their blobs (for the caller to queue for GC).
pub(crate) fn drop_parts(txn: &mut dyn WriteTxn, upload_id: &str) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for (k, part) in records::scan_all::<PartMeta>(txn, &keys::part_prefix(upload_id))? {
        ids.push(part.data_id);
        txn.delete(&k)?;
    }
    Ok(ids)
}

fn load_upload(r: &dyn ReadOps, bucket: &Bucket, key: &str, upload_id: &str) -> Result<MultipartUpload> {
    records::get(r, &keys::upload(&bucket.bucket_id, key, upload_id))?.ok_or(GatewayError::NoSuchUpload)
}

fn check_part_number(n: i64) -> Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
        .ok_or_else(|| {
            GatewayError::InvalidArgument("Part number must be an integer between 1 and 10000, inclusive".into())
        })
}

/// ETag of a completed upload: MD5 of the concatenated binary part MD5s, then `-N`.
pub fn multipart_etag(part_etags: &[&str]) -> Result<String> {
    let mut hasher = Md5::new();
    for etag in part_etags {
        let raw = hex::decode(etag).map_err(|_| GatewayError::InvalidPart)?;
        hasher.update(&raw);
    }
    Ok(format!("{}-{}", hex::encode(hasher.finalize()), part_etags.len()))
}

/// What CreateMultipartUpload asked for besides the object's headers.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    pub headers: ObjectHeaders,
    /// `x-amz-checksum-algorithm`: every part carries such a checksum, and the object gets one of them.
    pub checksum_algorithm: Option<String>,
    /// `x-amz-checksum-type: FULL_OBJECT`.
    pub checksum_full_object: bool,
    /// `x-amz-tagging`: the completed object's tags.
    pub tags: meridian_model::TagSet,
    /// `x-amz-object-lock-*`: the completed object's lock.
    pub lock: meridian_model::ObjectLock,
    /// The completed object's ACL (canned or grant headers on create).
    pub acl: Option<meridian_model::Acl>,
}

/// The part list of a completion, duplicates collapsed: a part number listed twice in a row counts once,
/// with the last ETag given for it (RGW reads the list into a map; s3-tests lists a re-sent part twice).
/// Numbers must otherwise ascend.
fn collapse_parts(chosen: &[(i64, String)]) -> Result<Vec<(i64, String)>> {
    let mut out: Vec<(i64, String)> = Vec::with_capacity(chosen.len());
    for (number, etag) in chosen {
        match out.last_mut() {
            Some(last) if last.0 == *number => last.1 = etag.clone(),
            Some(last) if last.0 > *number => return Err(GatewayError::InvalidPartOrder),
            _ => out.push((*number, etag.clone())),
        }
    }
    Ok(out)
}

impl crate::ObjectService<'_> {
    pub async fn create_upload(&self, bucket: &Bucket, key: &str, opts: UploadOptions) -> Result<MultipartUpload> {
        meridian_model::names::validate_object_key(key)?;
        let upload = MultipartUpload {
            upload_id: crate::new_id(),
            bucket_id: bucket.bucket_id.clone(),
            key: key.to_string(),
            owner: bucket.owner.clone(),
            initiated: Timestamp::now(),
            headers: opts.headers,
            checksum_algorithm: opts.checksum_algorithm,
            checksum_full_object: opts.checksum_full_object,
            tags: opts.tags,
            lock: opts.lock,
            acl: opts.acl,
        };
        let b = bucket.clone();
        self.core
            .write(move |txn| {
                ensure_bucket_current(txn, &b)?;
                records::put(
                    txn,
                    &keys::upload(&b.bucket_id, &upload.key, &upload.upload_id),
                    &upload,
                )?;
                Ok(upload)
            })
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part(
        &self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        part_number: i64,
        body: blob::ByteStream,
        content_length: Option<u64>,
        content_md5: Option<[u8; 16]>,
        checksum: Option<ChecksumSlot>,
    ) -> Result<PartMeta> {
        let number = check_part_number(part_number)?;
        let (b, k, u) = (bucket.clone(), key.to_string(), upload_id.to_string());
        self.core.read(move |r| load_upload(r, &b, &k, &u).map(|_| ())).await?;
        let written = self
            .core
            .write_blob(body, content_length, self.core.options.max_object_size)
            .await?;
        if content_md5.is_some_and(|m| m != written.md5) {
            self.core.discard_blob(&written).await;
            return Err(GatewayError::BadDigest);
        }
        let checksum = checksum.and_then(|c| c.get().cloned());
        self.commit_part(bucket, key, upload_id, number, written, checksum)
            .await
    }

    async fn commit_part(
        &self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        number: u32,
        written: WrittenBlob,
        checksum: Option<ObjectChecksum>,
    ) -> Result<PartMeta> {
        let part = PartMeta {
            part_number: number,
            etag: written.etag(),
            size: written.size,
            mtime: Timestamp::now(),
            data_id: written.data_id.clone(),
            inline: written.inline.is_some(),
            checksum,
        };
        let (b, k, u) = (bucket.clone(), key.to_string(), upload_id.to_string());
        let fresh = written.clone();
        let result = self
            .core
            .write(move |txn| {
                load_upload(txn, &b, &k, &u)?;
                blob::store_inline(txn, std::slice::from_ref(&fresh))?;
                let pkey = keys::part(&u, part.part_number);
                if let Some(old) = records::get::<PartMeta>(txn, &pkey)? {
                    gc::enqueue(txn, vec![old.data_id])?;
                }
                records::put(txn, &pkey, &part)?;
                gc::reference(txn, &part.data_id)?;
                Ok(part)
            })
            .await;
        if result.is_err() {
            self.core.discard_blob(&written).await;
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part_copy(
        &self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        part_number: i64,
        src_bucket: &Bucket,
        src_key: &str,
        src_version: Option<&str>,
        range: Option<ByteRange>,
        source_conditions: &Conditions,
    ) -> Result<PartMeta> {
        let number = check_part_number(part_number)?;
        let (b, k, u) = (bucket.clone(), key.to_string(), upload_id.to_string());
        self.core.read(move |r| load_upload(r, &b, &k, &u).map(|_| ())).await?;
        let src = self.copy_source_version(src_bucket, src_key, src_version).await?;
        source_conditions.check_write(&src)?;
        let served = match range {
            // Unlike a GET range, a copy range is not clamped to the object (S3 refuses it).
            Some(ByteRange::From { last: Some(last), .. }) if last >= src.size => {
                return Err(GatewayError::InvalidRange { object_size: src.size })
            }
            Some(r) => r.resolve(src.size)?,
            None => 0..src.size,
        };
        let len = served.end - served.start;
        let body = self
            .core
            .read_segments(src.manifest.segments.clone(), served.start, len)
            .await?;
        let written = self.core.write_blob(body, Some(len), u64::MAX).await?;
        self.commit_part(bucket, key, upload_id, number, written, None).await
    }

    /// Completes an upload from the client's (part number, ETag) list. `conditions` (If-Match /
    /// If-None-Match) are checked against the object being replaced in the same transaction as the commit.
    /// `combine` makes the object's checksum from the upload's settings and its parts' checksums (the S3
    /// layer knows the algorithms).
    /// Completing an upload that already completed into the key's current object, with the same parts,
    /// answers that object again.
    pub async fn complete_upload(
        &self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        chosen: Vec<(i64, String)>,
        conditions: Conditions,
        combine: fn(&MultipartUpload, &[PartMeta]) -> Option<ObjectChecksum>,
    ) -> Result<ObjectMeta> {
        if chosen.is_empty() {
            return Err(GatewayError::MalformedXml("You must specify at least one part".into()));
        }
        let chosen = collapse_parts(&chosen)?;
        let (b, k, u) = (bucket.clone(), key.to_string(), upload_id.to_string());
        let min_part = self.core.options.min_part_size;
        let zone_id = self.core.site().zone_id.clone();
        self.core
            .write(move |txn| {
                let upload = match load_upload(txn, &b, &k, &u) {
                    Err(GatewayError::NoSuchUpload) => {
                        ensure_bucket_current(txn, &b)?;
                        let current: Option<ObjectMeta> = records::get(txn, &keys::object(&b.bucket_id, &k))?;
                        let etags: Vec<&str> = chosen.iter().map(|(_, e)| e.trim_matches('"')).collect();
                        let again = multipart_etag(&etags).ok();
                        return match current {
                            Some(obj)
                                if obj.upload_id.as_deref() == Some(u.as_str())
                                    && again.as_ref() == Some(&obj.etag) =>
                            {
                                Ok(obj)
                            }
                            _ => Err(GatewayError::NoSuchUpload),
                        };
                    }
                    other => other?,
                };
                let mut stored: std::collections::BTreeMap<u32, PartMeta> =
                    records::scan_all::<PartMeta>(txn, &keys::part_prefix(&u))?
                        .into_iter()
                        .map(|(_, p)| (p.part_number, p))
                        .collect();
                let mut used = Vec::with_capacity(chosen.len());
                let mut previous = 0i64;
                for (number, etag) in &chosen {
                    if *number <= previous {
                        return Err(GatewayError::InvalidPartOrder);
                    }
                    previous = *number;
                    let number = u32::try_from(*number).map_err(|_| GatewayError::InvalidPart)?;
                    let part = stored.remove(&number).ok_or(GatewayError::InvalidPart)?;
                    if part.etag != etag.trim_matches('"') {
                        return Err(GatewayError::InvalidPart);
                    }
                    used.push(part);
                }
                if used[..used.len() - 1].iter().any(|p| p.size < min_part) {
                    return Err(GatewayError::EntityTooSmall);
                }
                let etags: Vec<&str> = used.iter().map(|p| p.etag.as_str()).collect();
                let etag = multipart_etag(&etags)?;
                let manifest = Manifest {
                    segments: used
                        .iter()
                        .map(|p| Segment {
                            data_id: p.data_id.clone(),
                            size: p.size,
                            inline: p.inline,
                        })
                        .collect(),
                };
                let checksum = combine(&upload, &used);
                let mut meta = ObjectMeta {
                    key: k.clone(),
                    instance: crate::new_id(),
                    size: manifest.size(),
                    etag,
                    mtime: Timestamp::now(),
                    owner: upload.owner.clone(),
                    headers: upload.headers.clone(),
                    part_sizes: used.iter().map(|p| p.size).collect(),
                    manifest,
                    zones_trace: vec![zone_id],
                    parts_count: Some(used.len() as u32),
                    upload_id: Some(u.clone()),
                    checksum,
                    versioned: false,
                    delete_marker: false,
                    tags: upload.tags.clone(),
                    lock: upload.lock,
                    acl: upload.acl.clone(),
                    ..Default::default()
                };
                // Part records go; the used blobs stay referenced by the object, the others are garbage.
                for (k2, _) in records::scan_all::<PartMeta>(txn, &keys::part_prefix(&u))? {
                    txn.delete(&k2)?;
                }
                gc::enqueue(txn, stored.into_values().map(|p| p.data_id).collect())?;
                txn.delete(&keys::upload(&b.bucket_id, &k, &u))?;
                crate::moves::check_writable(txn, &b)?;
                commit_object(txn, &b, &mut meta, &conditions, true)?;
                Ok(meta)
            })
            .await
    }

    pub async fn abort_upload(&self, bucket: &Bucket, key: &str, upload_id: &str) -> Result<()> {
        let (b, k, u) = (bucket.clone(), key.to_string(), upload_id.to_string());
        self.core
            .write(move |txn| {
                load_upload(txn, &b, &k, &u)?;
                let garbage = drop_parts(txn, &u)?;
                gc::enqueue(txn, garbage)?;
                txn.delete(&keys::upload(&b.bucket_id, &k, &u))?;
                Ok(())
            })
            .await
    }

    /// Parts after `marker`, at most `max`; also whether more follow.
    pub async fn list_parts(
        &self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        marker: u32,
        max: usize,
    ) -> Result<(MultipartUpload, Vec<PartMeta>, bool)> {
        let (b, k, u) = (bucket.clone(), key.to_string(), upload_id.to_string());
        self.core
            .read(move |r| {
                let upload = load_upload(r, &b, &k, &u)?;
                let prefix = keys::part_prefix(&u);
                let start = keys::part(&u, marker.saturating_add(1));
                let (parts, truncated) =
                    records::page::<PartMeta>(r, &start, &meridian_store::meta::prefix_end(&prefix), max)?;
                Ok((upload, parts, truncated))
            })
            .await
    }

    /// Uploads in progress, by key then upload id, after the (key, upload id) markers.
    pub async fn list_uploads(
        &self,
        bucket: &Bucket,
        prefix: String,
        key_marker: Option<String>,
        upload_id_marker: Option<String>,
        max: usize,
    ) -> Result<(Vec<MultipartUpload>, bool)> {
        let bid = bucket.bucket_id.clone();
        self.core
            .read(move |r| {
                let base = keys::upload_prefix(&bid);
                let mut start = base.clone();
                start.extend_from_slice(prefix.as_bytes());
                let end = meridian_store::meta::prefix_end(&start);
                if let Some(km) = key_marker.filter(|k| !k.is_empty()) {
                    let mut after = keys::upload(&bid, &km, upload_id_marker.as_deref().unwrap_or(""));
                    match upload_id_marker.filter(|u| !u.is_empty()) {
                        Some(_) => after.push(0),
                        // Without an upload-id marker, every upload of the marker key is skipped.
                        None => after = meridian_store::meta::prefix_end(&keys::upload(&bid, &km, "")),
                    }
                    if after > start {
                        start = after;
                    }
                }
                let (uploads, truncated) = records::page::<MultipartUpload>(r, &start, &end, max)?;
                Ok((uploads, truncated))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_md5_of_part_md5s() {
        // Two parts whose MD5s are all-zero and all-one bytes.
        let a = "00000000000000000000000000000000";
        let b = "ffffffffffffffffffffffffffffffff";
        let mut h = Md5::new();
        h.update([0u8; 16]);
        h.update([0xffu8; 16]);
        let expected = format!("{}-2", hex::encode(h.finalize()));
        assert_eq!(multipart_etag(&[a, b]).unwrap(), expected);
        assert!(multipart_etag(&["zz"]).is_err());
    }
}
