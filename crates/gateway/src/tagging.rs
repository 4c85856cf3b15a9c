//! Object and bucket tags: their S3 limits, and changing an object version's tags (a bucket's tags are one of
//! its sub-resources, changed by `BucketService::change_config`).
//!
//! A tag change of a null version is a new write of its record (new instance, new mtime, same bytes) logged
//! in the bucket index log, so other zones order and fetch it like any write; one of a version with an id
//! changes the record in place (`object_lock::store_meta_update`).

use crate::error::{GatewayError, Result};
use crate::versions::{Slot, VersionRef};
use meridian_model::names::validate_object_key;
use meridian_model::{Bucket, ObjectMeta, TagSet};

/// S3's limits: 10 tags on an object, 50 on a bucket.
pub const MAX_OBJECT_TAGS: usize = 10;
pub const MAX_BUCKET_TAGS: usize = 50;
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

/// Checks a tag set against S3's limits (count, key and value length, unique keys): `InvalidTag` if not.
pub fn validate_tags(tags: &TagSet, max: usize) -> Result<()> {
    if tags.len() > max {
        return Err(GatewayError::InvalidTag(format!(
            "Object tags cannot be greater than {max}"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > MAX_KEY_CHARS {
            return Err(GatewayError::InvalidTag(format!(
                "The TagKey you have provided is invalid (1 to {MAX_KEY_CHARS} characters)"
            )));
        }
        if v.chars().count() > MAX_VALUE_CHARS {
            return Err(GatewayError::InvalidTag(format!(
                "The TagValue you have provided is invalid (at most {MAX_VALUE_CHARS} characters)"
            )));
        }
        if !seen.insert(k.as_str()) {
            return Err(GatewayError::InvalidTag(
                "Cannot provide multiple Tags with the same key".into(),
            ));
        }
    }
    Ok(())
}

impl crate::ObjectService<'_> {
    /// Replaces the tags of a key's current object (an empty set removes them); see `put_version_tags`.
    pub async fn put_tags(&self, bucket: &Bucket, key: &str, tags: TagSet) -> Result<ObjectMeta> {
        self.put_version_tags(bucket, key, None, tags).await
    }

    /// Replaces the tags of a version (the current one when `version_id` is `None`). A version with an id
    /// keeps it: its record changes in place (see `object_lock`, which changes a version's lock the same
    /// way), and the change replicates as one. The null version, when current, is rewritten with a new
    /// instance and mtime and logged as a write, so the change replicates and wins over the older record.
    pub async fn put_version_tags(
        &self,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
        tags: TagSet,
    ) -> Result<ObjectMeta> {
        validate_object_key(key)?;
        validate_tags(&tags, MAX_OBJECT_TAGS)?;
        let which = version_id.map(VersionRef::parse).transpose()?;
        let b = bucket.clone();
        let key = key.to_string();
        let zone_id = self.core.site().zone_id.clone();
        self.core
            .write(move |txn| {
                crate::moves::check_writable(txn, &b)?;
                crate::objects::ensure_bucket_current(txn, &b)?;
                let (old, slot) = match &which {
                    None => crate::versions::current(txn, &b.bucket_id, &key)?
                        .filter(|o| !o.delete_marker)
                        .map(|o| (o, Slot::Current))
                        .ok_or(GatewayError::NoSuchKey)?,
                    Some(w) => match crate::versions::find(txn, &b.bucket_id, &key, w)? {
                        Some((m, _)) if m.delete_marker => {
                            return Err(GatewayError::DeleteMarker {
                                version_id: m.version_id(),
                                mtime: m.mtime,
                                by_version: true,
                            })
                        }
                        Some(found) => found,
                        None => return Err(GatewayError::NoSuchVersion),
                    },
                };
                if old.versioned {
                    let meta = ObjectMeta {
                        tags,
                        ..crate::object_lock::changed_in_place(old, zone_id)
                    };
                    crate::object_lock::store_meta_update(txn, &b, &meta, slot)?;
                    return Ok(meta);
                }
                if slot != Slot::Current {
                    // A rewrite would make it newer than the versions above it.
                    return Err(GatewayError::NotImplemented(
                        "Tags of a noncurrent null version cannot be changed".into(),
                    ));
                }
                crate::object_lock::rewrite_current_null(txn, &b, ObjectMeta { tags, ..old }, zone_id)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(n: usize) -> TagSet {
        (0..n).map(|i| (format!("k{i}"), "v".to_string())).collect()
    }

    #[test]
    fn limits_are_s3s() {
        assert!(validate_tags(&tags(10), MAX_OBJECT_TAGS).is_ok());
        assert!(matches!(
            validate_tags(&tags(11), MAX_OBJECT_TAGS),
            Err(GatewayError::InvalidTag(_))
        ));
        assert!(validate_tags(&tags(50), MAX_BUCKET_TAGS).is_ok());
        assert!(validate_tags(&vec![("k".repeat(128), "v".repeat(256))], 10).is_ok());
        assert!(validate_tags(&vec![("k".repeat(129), String::new())], 10).is_err());
        assert!(validate_tags(&vec![("k".into(), "v".repeat(257))], 10).is_err());
        assert!(validate_tags(&vec![("k".into(), "a".into()), ("k".into(), "b".into())], 10).is_err());
    }
}
