//! Changing an object's ACL (PutObjectAcl). The current null version's record is rewritten like a tag
//! change (new instance and mtime, logged as a write), so the new ACL replicates and wins everywhere; a
//! version with its own id is changed in place and logged as a change of that version (`meta_mtime`,
//! `meta_trace`, as its tags and lock are), so it replicates too; a noncurrent null version is changed in
//! place in this zone only (a rewrite would make it newer than the versions above it).

use crate::error::{GatewayError, Result};
use crate::versions::{self, Slot, VersionRef};
use crate::{keys, records};
use meridian_model::names::validate_object_key;
use meridian_model::{Acl, Bucket, ObjectMeta};

impl crate::ObjectService<'_> {
    /// Gives the object version `version_id` names (`None`: the current one) the ACL `acl`.
    pub async fn put_acl(&self, bucket: &Bucket, key: &str, version_id: Option<&str>, acl: Acl) -> Result<ObjectMeta> {
        validate_object_key(key)?;
        let which = version_id.map(VersionRef::parse).transpose()?;
        let b = bucket.clone();
        let key = key.to_string();
        let zone_id = self.core.site().zone_id.clone();
        self.core
            .write(move |txn| {
                crate::moves::check_writable(txn, &b)?;
                crate::objects::ensure_bucket_current(txn, &b)?;
                let (old, slot) = match &which {
                    None => versions::current(txn, &b.bucket_id, &key)?
                        .map(|m| (m, Slot::Current))
                        .ok_or(GatewayError::NoSuchKey)?,
                    Some(which) => {
                        versions::find(txn, &b.bucket_id, &key, which)?.ok_or(GatewayError::NoSuchVersion)?
                    }
                };
                if old.delete_marker {
                    return Err(GatewayError::DeleteMarker {
                        version_id: old.version_id(),
                        mtime: old.mtime,
                        by_version: which.is_some(),
                    });
                }
                if old.versioned {
                    // A version with its own id: changed in place and logged as a change of that version (as its
                    // tags and lock are), so the new ACL replicates and the newest change wins in every zone.
                    let meta = ObjectMeta {
                        acl: Some(acl),
                        ..crate::object_lock::changed_in_place(old, zone_id)
                    };
                    crate::object_lock::store_meta_update(txn, &b, &meta, slot)?;
                    return Ok(meta);
                }
                if slot == Slot::Noncurrent {
                    let record = match slot {
                        Slot::Current => keys::object(&b.bucket_id, &key),
                        Slot::Noncurrent => keys::version(&b.bucket_id, &key, &old.order()),
                    };
                    let meta = ObjectMeta { acl: Some(acl), ..old };
                    records::put(txn, &record, &meta)?;
                    return Ok(meta);
                }
                crate::object_lock::rewrite_current_null(txn, &b, ObjectMeta { acl: Some(acl), ..old }, zone_id)
            })
            .await
    }
}
