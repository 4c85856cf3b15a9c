//! Bucket changes on a zone that is not the metadata master: made to the master's record (created there,
//! or read, changed and put back at the version read, so a concurrent change is refused rather than lost),
//! which this zone then stores at once; metadata sync brings it to the other zones.

use crate::adopt::adopt_entry;
use crate::forward::call_master;
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::bucket::bucket_spec;
use meridian_model::{Bucket, BucketConfigChange, User, VersioningStatus};
use meridian_proto::metadata::{GetEntry, InstanceEntry, PutEntry};
use meridian_proto::ops::CreateBucket;
use meridian_proto::rgw::versioning_flags;

/// CreateBucket on a non-master zone: the master records the bucket (in this zone's zonegroup), then this
/// zone stores the master's record.
pub async fn create_bucket_on_master(
    gw: &Gateway,
    owner: &User,
    name: &str,
    acl: Option<&meridian_model::Acl>,
) -> Result<Bucket, GatewayError> {
    let site = gw.site();
    let acl = acl
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| GatewayError::Internal(e.to_string()))?;
    let entry = call_master(
        gw,
        &CreateBucket {
            bucket: name,
            uid: &owner.full_id(),
            zonegroup: &site.zonegroup_id,
            acl,
        },
    )
    .await?;
    let bucket_id = entry
        .data
        .bucket_id()
        .ok_or_else(|| GatewayError::MasterUnavailable("the master's answer names no bucket id".into()))?;
    let key = format!("bucket.instance:{}:{bucket_id}", bucket_spec(&owner.tenant, name));
    adopt_entry(gw, &key, entry).await?;
    gw.buckets().get(&owner.tenant, name).await
}

/// Reads the master's record of `bucket`'s instance, edits it with `edit` and puts it back as a checked put
/// (a concurrent change of the record makes it read again, up to `attempts` times), then keeps the master's
/// record here.
async fn edit_on_master(
    gw: &Gateway,
    bucket: &Bucket,
    attempts: u32,
    edit: impl Fn(&mut InstanceEntry) -> Result<(), GatewayError>,
) -> Result<Bucket, GatewayError> {
    let key = format!("{}:{}", bucket_spec(&bucket.tenant, &bucket.name), bucket.bucket_id);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut entry = call_master(gw, &GetEntry::instance(&key)).await.map_err(|e| match e {
            GatewayError::NotFound(_) => GatewayError::NoSuchBucket,
            other => other,
        })?;
        edit(&mut entry)?;
        let put = PutEntry {
            section: "bucket.instance",
            key: &key,
            entry: &entry,
            sync: false,
        };
        match call_master(gw, &put).await {
            Ok(stored) => {
                adopt_entry(gw, &format!("bucket.instance:{key}"), stored).await?;
                return gw.buckets().get(&bucket.tenant, &bucket.name).await;
            }
            Err(GatewayError::Conflict(_)) if attempt < attempts => continue,
            Err(e) => return Err(e),
        }
    }
}

/// PutBucketVersioning on a zone that is not the metadata master: the master's record of the bucket
/// instance is given the new status (RGW's flags).
pub async fn set_bucket_versioning_on_master(
    gw: &Gateway,
    bucket: &Bucket,
    status: VersioningStatus,
) -> Result<Bucket, GatewayError> {
    edit_on_master(gw, bucket, 5, |entry| {
        let info =
            entry.data.bucket_info.as_mut().ok_or_else(|| {
                GatewayError::MasterUnavailable(format!("the master's {} has no bucket_info", entry.key))
            })?;
        info.flags = Some(versioning_flags(status));
        Ok(())
    })
    .await
}

/// A change of a bucket's tags, CORS or lifecycle rules on a zone that is not the metadata master.
pub async fn change_bucket_config_on_master(
    gw: &Gateway,
    bucket: &Bucket,
    change: BucketConfigChange,
) -> Result<Bucket, GatewayError> {
    edit_on_master(gw, bucket, 1, |entry| {
        change
            .clone()
            .apply(entry.data.s3_config.get_or_insert_with(Default::default));
        Ok(())
    })
    .await
}
