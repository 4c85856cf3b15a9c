//! Buckets: create (in this zonegroup), look up, list, stats, versioning and sub-resource changes (on the
//! metadata master), delete (only empty) and purge.

use crate::error::{GatewayError, Result};
use crate::{gc, keys, logs, records};
use meridian_model::names::validate_bucket_name;
use meridian_model::{
    Acl, Bucket, BucketConfigChange, BucketStats, MultipartUpload, ObjectMeta, Timestamp, User, VersioningStatus,
};
use meridian_store::WriteTxn;

/// `tenant/name` (radosgw-admin's form) or a plain name in the default tenant.
pub fn split_bucket_name(spec: &str) -> (String, String) {
    match spec.split_once('/') {
        Some((t, b)) => (t.to_string(), b.to_string()),
        None => (String::new(), spec.to_string()),
    }
}

/// The tenant and name of the bucket an S3 request names, as RGW resolves it: `tenant:name` is a bucket of
/// that tenant (`:name` one of the default tenant); a plain name is a bucket of the caller's own tenant.
pub fn resolve_bucket_name(caller_tenant: &str, requested: &str) -> (String, String) {
    match requested.split_once(':') {
        Some((tenant, name)) => (tenant.to_string(), name.to_string()),
        None => (caller_tenant.to_string(), requested.to_string()),
    }
}

/// Adds to a bucket's object count and byte total (inside the mutation's transaction).
pub(crate) fn adjust_stats(txn: &mut dyn WriteTxn, bucket_id: &str, objects: i64, bytes: i64) -> Result<()> {
    let key = keys::stats(bucket_id);
    let mut stats: BucketStats = records::get(txn, &key)?.unwrap_or_default();
    stats.num_objects = stats.num_objects.saturating_add_signed(objects);
    stats.size = stats.size.saturating_add_signed(bytes);
    records::put(txn, &key, &stats)
}

/// May `user` act on `bucket`? Owners may; system users (other zones) may everything.
pub fn authorize(user: &User, bucket: &Bucket) -> Result<()> {
    if user.system || bucket.owner == user.full_id() {
        Ok(())
    } else {
        Err(GatewayError::AccessDenied)
    }
}

/// Stores `bucket` as its next version (version bumped, mtime now) and logs it in the metadata log: every
/// change of a bucket's own record on the metadata master goes this way.
fn store_next_version(txn: &mut dyn WriteTxn, bucket: &mut Bucket) -> Result<()> {
    bucket.ver = bucket.ver.bumped();
    bucket.mtime = Timestamp::now();
    records::put(txn, &keys::bucket(&bucket.tenant, &bucket.name), bucket)?;
    crate::mdlog::bucket_written(txn, bucket)
}

/// Buckets: create, look up, list, versioning and configuration, delete.
/// Reached through `Gateway::buckets()`.
#[derive(Clone, Copy)]
pub struct BucketService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

impl BucketService<'_> {
    /// Is `location` (a CreateBucket LocationConstraint: the zonegroup's api_name, optionally
    /// `api_name:placement`) this zonegroup? An empty constraint means this zonegroup.
    pub fn check_location(&self, location: Option<&str>) -> Result<()> {
        let Some(loc) = location.filter(|l| !l.is_empty()) else {
            return Ok(());
        };
        let site = self.core.site();
        let zg = loc.split(':').next().unwrap_or_default();
        // RGW users send the api_name in any case (`s3cmd mb --bucket-location=EU` sends `EU` for `eu`).
        if zg.eq_ignore_ascii_case(&site.zonegroup_api_name) {
            return Ok(());
        }
        let hint = match site.zonegroup_by_api_name(zg) {
            Some(other) => format!(
                "; zonegroup {zg:?} is served at {}",
                other.client_endpoints().first().map_or("(no endpoint)", String::as_str)
            ),
            None => String::new(),
        };
        Err(GatewayError::InvalidLocationConstraint(format!(
            "the location constraint {loc:?} does not match this zonegroup ({}){hint}",
            site.zonegroup_api_name
        )))
    }

    /// CreateBucket in this zonegroup, on the metadata master (a non-master zone forwards it first).
    pub async fn create(&self, owner: &User, name: &str, location: Option<&str>) -> Result<Bucket> {
        self.create_with_acl(owner, name, location, None).await
    }

    /// CreateBucket with the ACL a canned ACL or grant headers asked for (`None`: private).
    pub async fn create_with_acl(
        &self,
        owner: &User,
        name: &str,
        location: Option<&str>,
        acl: Option<Acl>,
    ) -> Result<Bucket> {
        self.check_location(location)?;
        let zonegroup = self.core.site().zonegroup_id.clone();
        self.create_in_with_acl(owner, name, &zonegroup, acl).await
    }

    /// Records a new bucket of `zonegroup` (the master does this for every zonegroup of the realm).
    pub async fn create_in(&self, owner: &User, name: &str, zonegroup: &str) -> Result<Bucket> {
        self.create_in_with_acl(owner, name, zonegroup, None).await
    }

    /// `create_in` with the new bucket's ACL, recorded in the same write as the bucket.
    pub async fn create_in_with_acl(
        &self,
        owner: &User,
        name: &str,
        zonegroup: &str,
        acl: Option<Acl>,
    ) -> Result<Bucket> {
        validate_bucket_name(name)?;
        let site = self.core.site();
        let zg = site.zonegroup(zonegroup).ok_or_else(|| {
            GatewayError::InvalidLocationConstraint(format!("zonegroup {zonegroup} is not part of the current period"))
        })?;
        let placement_rule = if zg.default_placement.is_empty() {
            meridian_model::DEFAULT_PLACEMENT.to_string()
        } else {
            zg.default_placement.clone()
        };
        let now = Timestamp::now();
        let bucket = Bucket {
            tenant: owner.tenant.clone(),
            name: name.to_string(),
            bucket_id: crate::new_id(),
            owner: owner.full_id(),
            zonegroup: zonegroup.to_string(),
            placement_rule,
            creation_time: now,
            versioning: VersioningStatus::Off,
            ver: meridian_model::ObjVersion::first(),
            mtime: now,
            config: meridian_model::BucketConfig {
                acl,
                ..Default::default()
            },
        };
        let max_buckets = owner.max_buckets;
        self.core
            .write(move |txn| {
                let key = keys::bucket(&bucket.tenant, &bucket.name);
                if let Some(existing) = records::get::<Bucket>(txn, &key)? {
                    return Err(if existing.owner == bucket.owner {
                        GatewayError::BucketAlreadyOwnedByYou
                    } else {
                        GatewayError::BucketAlreadyExists
                    });
                }
                let prefix = keys::user_bucket_prefix(&bucket.owner);
                let owned = txn.scan(
                    &prefix,
                    &meridian_store::meta::prefix_end(&prefix),
                    max_buckets.max(0) as usize + 1,
                )?;
                if max_buckets >= 0 && owned.len() as i64 >= max_buckets {
                    return Err(GatewayError::TooManyBuckets(format!(
                        "user may own at most {max_buckets} buckets"
                    )));
                }
                records::put(txn, &key, &bucket)?;
                crate::mdlog::bucket_written(txn, &bucket)?;
                txn.put(
                    &keys::user_bucket(&bucket.owner, &bucket.name),
                    bucket.tenant.as_bytes(),
                )?;
                records::put(txn, &keys::stats(&bucket.bucket_id), &BucketStats::default())?;
                Ok(bucket)
            })
            .await
            .inspect(|b| self.core.notify_bucket(&b.tenant, &b.name))
    }

    pub async fn get(&self, tenant: &str, name: &str) -> Result<Bucket> {
        let key = keys::bucket(tenant, name);
        self.core
            .read(move |r| records::get(r, &key)?.ok_or(GatewayError::NoSuchBucket))
            .await
    }

    /// Looks a bucket up by radosgw-admin's `[tenant/]name`.
    pub async fn info(&self, spec: &str) -> Result<Bucket> {
        let (tenant, name) = split_bucket_name(spec);
        self.get(&tenant, &name).await
    }

    /// Buckets owned by `owner`, by name.
    pub async fn list(&self, owner: &str) -> Result<Vec<Bucket>> {
        let prefix = keys::user_bucket_prefix(owner);
        self.core
            .read(move |r| {
                let end = meridian_store::meta::prefix_end(&prefix);
                let mut out = Vec::new();
                for (k, tenant) in r.scan(&prefix, &end, usize::MAX)? {
                    let name = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                    let tenant = String::from_utf8_lossy(&tenant).into_owned();
                    if let Some(b) = records::get::<Bucket>(r, &keys::bucket(&tenant, &name))? {
                        out.push(b);
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Every bucket of the zone (admin listing).
    pub async fn list_all(&self) -> Result<Vec<Bucket>> {
        self.core
            .read(|r| {
                Ok(records::scan_all::<Bucket>(r, keys::BUCKET.as_bytes())?
                    .into_iter()
                    .map(|(_, b)| b)
                    .collect())
            })
            .await
    }

    pub async fn stats(&self, bucket: &Bucket) -> Result<BucketStats> {
        let key = keys::stats(&bucket.bucket_id);
        self.core
            .read(move |r| Ok(records::get(r, &key)?.unwrap_or_default()))
            .await
    }

    /// PutBucketVersioning on the metadata master: the bucket record gets the status and a new version, so
    /// metadata sync carries it to the other zones (a non-master zone asks the master, see
    /// `meridian_multisite::set_bucket_versioning_on_master`). A bucket never goes back to Off.
    pub async fn set_versioning(&self, bucket: &Bucket, status: VersioningStatus) -> Result<Bucket> {
        if status == VersioningStatus::Off {
            return Err(GatewayError::MalformedXml(
                "versioning status must be Enabled or Suspended".into(),
            ));
        }
        let b = bucket.clone();
        self.core
            .write(move |txn| {
                let key = keys::bucket(&b.tenant, &b.name);
                let mut stored: Bucket = records::get(txn, &key)?.ok_or(GatewayError::NoSuchBucket)?;
                if stored.bucket_id != b.bucket_id {
                    return Err(GatewayError::NoSuchBucket);
                }
                if stored.versioning == status {
                    return Ok(stored);
                }
                if status == VersioningStatus::Suspended && stored.config.object_lock.is_some() {
                    return Err(GatewayError::InvalidBucketState(
                    "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
                        .into(),
                ));
                }
                stored.versioning = status;
                store_next_version(txn, &mut stored)?;
                Ok(stored)
            })
            .await
            .inspect(|b| self.core.notify_bucket(&b.tenant, &b.name))
    }

    /// DeleteBucket: only an empty bucket (no objects, no multipart uploads in progress) goes.
    pub async fn delete(&self, user: &User, tenant: &str, name: &str) -> Result<()> {
        let bucket = self.get(tenant, name).await?;
        authorize(user, &bucket)?;
        self.delete_empty(bucket).await
    }

    /// `BucketNotEmpty` unless the bucket has no objects, no other versions or delete markers and no
    /// multipart uploads in progress.
    pub async fn ensure_empty(&self, bucket: &Bucket) -> Result<()> {
        let id = bucket.bucket_id.clone();
        self.core
            .read(move |r| {
                for prefix in [
                    keys::object_prefix(&id),
                    keys::version_prefix(&id),
                    keys::upload_prefix(&id),
                ] {
                    if !r
                        .scan(&prefix, &meridian_store::meta::prefix_end(&prefix), 1)?
                        .is_empty()
                    {
                        return Err(GatewayError::BucketNotEmpty);
                    }
                }
                Ok(())
            })
            .await
    }

    async fn delete_empty(&self, bucket: Bucket) -> Result<()> {
        let (tenant, name) = (bucket.tenant.clone(), bucket.name.clone());
        self.core
            .write(move |txn| {
                let current: Bucket = records::get(txn, &keys::bucket(&bucket.tenant, &bucket.name))?
                    .ok_or(GatewayError::NoSuchBucket)?;
                if current.bucket_id != bucket.bucket_id {
                    return Err(GatewayError::NoSuchBucket);
                }
                crate::moves::check_not_moving(txn, &bucket)?;
                for prefix in [
                    keys::object_prefix(&bucket.bucket_id),
                    keys::version_prefix(&bucket.bucket_id),
                    keys::upload_prefix(&bucket.bucket_id),
                ] {
                    if !txn
                        .scan(&prefix, &meridian_store::meta::prefix_end(&prefix), 1)?
                        .is_empty()
                    {
                        return Err(GatewayError::BucketNotEmpty);
                    }
                }
                drop_bucket_records(txn, &bucket)
            })
            .await
            .inspect(|_| self.core.notify_bucket(&tenant, &name))
    }

    /// Admin removal: with `purge_objects`, deletes every object and upload first (in batches, bytes to GC).
    pub async fn remove(&self, tenant: &str, name: &str, purge_objects: bool) -> Result<()> {
        let bucket = self.get(tenant, name).await?;
        if purge_objects {
            loop {
                let b = bucket.clone();
                let more = self.core.write(move |txn| purge_batch(txn, &b, 500)).await?;
                if !more {
                    break;
                }
            }
        }
        self.delete_empty(bucket).await
    }

    /// Applies a change of a bucket's sub-resources on the metadata master: the bucket's version is bumped
    /// and the change logged in the metadata log (metadata sync carries it to the other zones).
    pub async fn change_config(&self, bucket: &Bucket, change: BucketConfigChange) -> Result<Bucket> {
        let b = bucket.clone();
        self.core
            .write(move |txn| {
                let key = keys::bucket(&b.tenant, &b.name);
                let mut stored: Bucket = records::get(txn, &key)?.ok_or(GatewayError::NoSuchBucket)?;
                if stored.bucket_id != b.bucket_id {
                    return Err(GatewayError::NoSuchBucket);
                }
                crate::object_lock::check_config_change(&stored, &change)?;
                change.apply(&mut stored.config);
                store_next_version(txn, &mut stored)?;
                Ok(stored)
            })
            .await
    }
}

fn drop_bucket_records(txn: &mut dyn WriteTxn, bucket: &Bucket) -> Result<()> {
    txn.delete(&keys::bucket(&bucket.tenant, &bucket.name))?;
    crate::mdlog::bucket_removed(txn, bucket)?;
    crate::replica::drop_tombstones(txn, &bucket.bucket_id)?;
    txn.delete(&keys::user_bucket(&bucket.owner, &bucket.name))?;
    txn.delete(&keys::stats(&bucket.bucket_id))?;
    logs::drop_bilog(txn, &bucket.bucket_id)
}

/// Deletes up to `limit` objects (versions, delete markers) and uploads of a bucket; returns whether any
/// remain.
pub(crate) fn purge_batch(txn: &mut dyn WriteTxn, bucket: &Bucket, limit: usize) -> Result<bool> {
    let mut garbage = Vec::new();
    let mut removed = 0usize;
    let mut bytes = 0u64;
    let mut full = false;
    for prefix in [
        keys::object_prefix(&bucket.bucket_id),
        keys::version_prefix(&bucket.bucket_id),
    ] {
        let objects = txn.scan(&prefix, &meridian_store::meta::prefix_end(&prefix), limit)?;
        full |= objects.len() == limit;
        for (k, v) in &objects {
            let obj: ObjectMeta = records::decode(k, v)?;
            garbage.extend(obj.manifest.segments.iter().map(|s| s.data_id.clone()));
            if !obj.delete_marker {
                bytes += obj.size;
                removed += 1;
            }
            txn.delete(k)?;
        }
    }
    let uprefix = keys::upload_prefix(&bucket.bucket_id);
    let uploads = txn.scan(&uprefix, &meridian_store::meta::prefix_end(&uprefix), limit)?;
    for (k, v) in &uploads {
        let upload: MultipartUpload = records::decode(k, v)?;
        garbage.extend(crate::multipart::drop_parts(txn, &upload.upload_id)?);
        txn.delete(k)?;
    }
    adjust_stats(txn, &bucket.bucket_id, -(removed as i64), -(bytes as i64))?;
    gc::enqueue(txn, garbage)?;
    Ok(full || uploads.len() == limit)
}

#[cfg(test)]
mod tenant_name_tests {
    use super::*;

    #[test]
    fn requests_name_buckets_in_the_callers_tenant_unless_prefixed() {
        let pair = |t: &str, n: &str| (t.to_string(), n.to_string());
        assert_eq!(resolve_bucket_name("acme", "photos"), pair("acme", "photos"));
        assert_eq!(resolve_bucket_name("", "photos"), pair("", "photos"));
        assert_eq!(resolve_bucket_name("acme", "globex:photos"), pair("globex", "photos"));
        assert_eq!(resolve_bucket_name("acme", ":photos"), pair("", "photos"));
        assert_eq!(resolve_bucket_name("", "acme:photos"), pair("acme", "photos"));
        assert_eq!(split_bucket_name("acme/photos"), pair("acme", "photos"));
    }
}
