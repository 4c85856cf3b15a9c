//! Object Lock in the gateway: the bucket's lock configuration rules, the lock a new version gets, refusing
//! the removal of a protected version, and changing a version's retention or legal hold in place.
//!
//! A change of a version's lock keeps the version (its id derives from its write) and rewrites its record
//! with a new `instance`, a new `meta_mtime` and `meta_trace` = this zone; it is logged as a write of that
//! version, so other zones fetch it and keep whichever change is newest (`replica::apply_meta_update`).

use crate::error::{GatewayError, Result};
use crate::logs::{self, Change};
use crate::versions::{self, Slot, VersionRef};
use crate::{keys, records};
use meridian_model::names::validate_object_key;
use meridian_model::{BilogOp, Bucket, BucketConfigChange, ObjectMeta, Retention, Timestamp, VersioningStatus};
use meridian_store::WriteTxn;

/// What PutObjectRetention or PutObjectLegalHold asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockChange {
    /// The new retention (`None` removes it).
    Retention(Option<Retention>),
    LegalHold(bool),
}

/// Object Lock is enabled only on a bucket whose versioning is Enabled (AWS's rule for existing buckets).
pub(crate) fn check_config_change(stored: &Bucket, change: &BucketConfigChange) -> Result<()> {
    if matches!(change, BucketConfigChange::ObjectLock(_)) && stored.versioning != VersioningStatus::Enabled {
        return Err(GatewayError::InvalidBucketState(
            "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration".into(),
        ));
    }
    Ok(())
}

/// A lock asked for on a bucket without Object Lock is refused (400 InvalidRequest).
pub fn check_bucket_allows_lock(bucket: &Bucket) -> Result<()> {
    if bucket.config.object_lock.is_none() {
        return Err(GatewayError::InvalidRequest(
            "Bucket is missing Object Lock Configuration".into(),
        ));
    }
    Ok(())
}

/// The lock of a version written here: what the request named, else the bucket's default retention (from
/// the version's mtime). `stored` is the bucket as read in the write's transaction.
pub(crate) fn settle_new_version(stored: &Bucket, meta: &mut ObjectMeta) -> Result<()> {
    if meta.delete_marker {
        meta.lock = Default::default();
        return Ok(());
    }
    let Some(config) = stored.config.object_lock else {
        if !meta.lock.is_empty() {
            check_bucket_allows_lock(stored)?;
        }
        return Ok(());
    };
    if meta.lock.retention.is_none() {
        meta.lock.retention = config.default_retention.map(|d| d.retention_from(meta.mtime));
    }
    Ok(())
}

/// `ObjectLocked` (403 AccessDenied) when the version may not be removed now.
pub(crate) fn check_removal(meta: &ObjectMeta, bypass_governance: bool, now: Timestamp) -> Result<()> {
    match meta.lock.removal_refused(bypass_governance, now) {
        Some(why) => Err(GatewayError::ObjectLocked(why.into())),
        None => Ok(()),
    }
}

/// The version a lock request names: the current one (`None`) or that id; a delete marker has no lock.
fn locked_version(
    r: &dyn meridian_store::ReadOps,
    bucket_id: &str,
    key: &str,
    which: Option<&VersionRef>,
) -> Result<(ObjectMeta, Slot)> {
    let found = match which {
        None => versions::current(r, bucket_id, key)?.map(|m| (m, Slot::Current)),
        Some(w) => versions::find(r, bucket_id, key, w)?,
    };
    match found {
        Some((meta, _)) if meta.delete_marker => Err(GatewayError::DeleteMarker {
            version_id: meta.version_id(),
            mtime: meta.mtime,
            by_version: which.is_some(),
        }),
        Some(found) => Ok(found),
        None if which.is_some() => Err(GatewayError::NoSuchVersion),
        None => Err(GatewayError::NoSuchKey),
    }
}

/// `old` as a metadata change made in this zone now (tags, ACL or lock): a new instance, a `meta_mtime` after
/// any earlier change, and `zone_id` as the change's trace. The caller sets what changed, then stores it with
/// `store_meta_update`.
pub(crate) fn changed_in_place(old: ObjectMeta, zone_id: String) -> ObjectMeta {
    let now = Timestamp::now();
    ObjectMeta {
        instance: crate::new_id(),
        meta_mtime: Timestamp(now.0.max(old.meta_mtime.0 + 1)),
        meta_trace: vec![zone_id],
        ..old
    }
}

/// Rewrites the current null version `meta` (its tags or ACL changed) as a new write of this zone: a new
/// instance, an mtime never before the old one's (or the rewrite could lose to the record it replaces), and
/// a bucket-log entry, so the change replicates and wins everywhere. Same bytes, same references: no GC, no
/// stats change.
pub(crate) fn rewrite_current_null(
    txn: &mut dyn WriteTxn,
    bucket: &Bucket,
    old: ObjectMeta,
    zone_id: String,
) -> Result<ObjectMeta> {
    let meta = ObjectMeta {
        instance: crate::new_id(),
        mtime: Timestamp(Timestamp::now().0.max(old.mtime.0 + 1)),
        zones_trace: vec![zone_id],
        ..old
    };
    records::put(txn, &keys::object(&bucket.bucket_id, &meta.key), &meta)?;
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
            version_id: &crate::objects::logged_version_id(bucket, &meta),
            removed: None,
        },
    )?;
    Ok(meta)
}

/// Stores a version's changed metadata where the version is, and logs it as a write of that version with
/// `meta.meta_trace` (see the module doc).
pub(crate) fn store_meta_update(txn: &mut dyn WriteTxn, bucket: &Bucket, meta: &ObjectMeta, slot: Slot) -> Result<()> {
    let id = &bucket.bucket_id;
    match slot {
        Slot::Current => records::put(txn, &keys::object(id, &meta.key), meta)?,
        Slot::Noncurrent => records::put(txn, &keys::version(id, &meta.key, &meta.order()), meta)?,
    }
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
            zones_trace: &meta.meta_trace,
            version_id: &meta.version_id(),
            removed: None,
        },
    )
}

impl crate::ObjectService<'_> {
    /// The version a GetObjectRetention or GetObjectLegalHold reads.
    pub async fn lock_of(&self, bucket: &Bucket, key: &str, version_id: Option<&str>) -> Result<ObjectMeta> {
        validate_object_key(key)?;
        check_bucket_allows_lock(bucket)?;
        let which = version_id.map(VersionRef::parse).transpose()?;
        let (id, key) = (bucket.bucket_id.clone(), key.to_string());
        self.core
            .read(move |r| locked_version(r, &id, &key, which.as_ref()).map(|(m, _)| m))
            .await
    }

    /// PutObjectRetention / PutObjectLegalHold on a version (the current one when `version_id` is `None`),
    /// following Object Lock's rules (`bypass_governance`: `x-amz-bypass-governance-retention`).
    pub async fn set_lock(
        &self,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
        change: LockChange,
        bypass_governance: bool,
    ) -> Result<ObjectMeta> {
        validate_object_key(key)?;
        let which = version_id.map(VersionRef::parse).transpose()?;
        let (b, key) = (bucket.clone(), key.to_string());
        let zone_id = self.core.site().zone_id.clone();
        self.core
            .write(move |txn| {
                crate::moves::check_writable(txn, &b)?;
                let stored = crate::objects::ensure_bucket_current(txn, &b)?;
                check_bucket_allows_lock(&stored)?;
                let (old, slot) = locked_version(txn, &b.bucket_id, &key, which.as_ref())?;
                if !old.versioned {
                    // The null version's record is replaced by any later null write; its lock would not
                    // replicate as a change of one version.
                    return Err(GatewayError::NotImplemented(
                        "Object Lock settings of the null version cannot be changed".into(),
                    ));
                }
                let now = Timestamp::now();
                let mut lock = old.lock;
                match change {
                    LockChange::Retention(new) => {
                        if new.is_some_and(|r| r.until <= now) {
                            return Err(GatewayError::InvalidArgument(
                                "The retain until date must be in the future!".into(),
                            ));
                        }
                        if let Some(why) = lock.retention_change_refused(new, bypass_governance, now) {
                            return Err(GatewayError::ObjectLocked(why.into()));
                        }
                        lock.retention = new;
                    }
                    LockChange::LegalHold(on) => lock.legal_hold = on,
                }
                let meta = ObjectMeta {
                    lock,
                    ..changed_in_place(old, zone_id)
                };
                store_meta_update(txn, &b, &meta, slot)?;
                Ok(meta)
            })
            .await
    }
}
