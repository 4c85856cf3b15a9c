//! Adopting the master's records: after the master applied a change (or when this zone meets a user or
//! bucket it has not heard of), the master's entry is copied here, never overwriting something newer. This
//! is also the metadata-sync apply step (`meridian_sync::meta` calls `copy_entry_from_master`).

use crate::forward::call_master;
use meridian_gateway::metadata::PutMode;
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::bucket::bucket_spec;
use meridian_model::Bucket;
use meridian_proto::metadata::{GetEntry, MetadataEntry};
use meridian_proto::ops::GetUserByKey;
use serde::Serialize;

/// Stores what the master answered for a metadata key (never overwriting something newer).
pub(crate) async fn adopt_entry<D: Serialize>(
    gw: &Gateway,
    key: &str,
    entry: MetadataEntry<D>,
) -> Result<(), GatewayError> {
    let data = serde_json::to_value(&entry.data).map_err(|e| GatewayError::Internal(e.to_string()))?;
    gw.metadata().put(key, entry.with_data(data), PutMode::Sync).await?;
    Ok(())
}

/// A bucket this zone has not heard of yet (it was created through another zone): ask the master and keep
/// its record. `NoSuchBucket` when the master does not know it either.
pub async fn fetch_bucket_from_master(gw: &Gateway, tenant: &str, name: &str) -> Result<Bucket, GatewayError> {
    let spec = bucket_spec(tenant, name);
    let entry = call_master(gw, &GetEntry::bucket(&spec)).await.map_err(|e| match e {
        GatewayError::NotFound(_) => GatewayError::NoSuchBucket,
        other => other,
    })?;
    let bucket_id = entry
        .data
        .bucket
        .and_then(|r| r.bucket_id)
        .ok_or(GatewayError::NoSuchBucket)?;
    let key = format!("{spec}:{bucket_id}");
    let instance = call_master(gw, &GetEntry::instance(&key)).await?;
    adopt_entry(gw, &format!("bucket.instance:{key}"), instance).await?;
    gw.buckets().get(tenant, name).await
}

/// After the master applied a change to a metadata key: copy the master's entry (or drop ours if the master
/// removed it).
pub async fn copy_entry_from_master(gw: &Gateway, key: &str) -> Result<(), GatewayError> {
    let (section, name) = key
        .split_once(':')
        .ok_or_else(|| GatewayError::InvalidArgument(format!("bad metadata key {key:?}")))?;
    if section == "bucket" {
        // The entry point alone does not say the bucket's zonegroup: the instance comes with it.
        let (tenant, bucket) = meridian_gateway::buckets::split_bucket_name(name);
        return match fetch_bucket_from_master(gw, &tenant, &bucket).await {
            Ok(_) => Ok(()),
            // The master removed it, so it was empty there; what is still here is the replication's lag.
            Err(GatewayError::NoSuchBucket) => match gw.buckets().remove(&tenant, &bucket, true).await {
                Ok(()) | Err(GatewayError::NoSuchBucket) => Ok(()),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
    }
    let copied = match section {
        "user" => match call_master(gw, &GetEntry::user(name)).await {
            Ok(entry) => Ok(adopt_entry(gw, key, entry).await),
            Err(e) => Err(e),
        },
        "bucket.instance" => match call_master(gw, &GetEntry::instance(name)).await {
            Ok(entry) => Ok(adopt_entry(gw, key, entry).await),
            Err(e) => Err(e),
        },
        _ => return Err(GatewayError::InvalidArgument(format!("bad metadata key {key:?}"))),
    };
    match copied {
        Ok(adopted) => adopted,
        Err(GatewayError::NoSuchUser(_) | GatewayError::NoSuchBucket | GatewayError::NotFound(_)) => {
            match gw.metadata().remove(key).await {
                Ok(()) | Err(GatewayError::NoSuchUser(_) | GatewayError::NoSuchBucket) => Ok(()),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// After the master applied a user change: copy the master's record of that user.
pub async fn copy_user_from_master(gw: &Gateway, full_id: &str) -> Result<(), GatewayError> {
    copy_entry_from_master(gw, &format!("user:{full_id}")).await
}

/// A key this zone does not know, on a zone that is not the metadata master: the user may have been created
/// through another zone. Asks the master and keeps its record; `NoSuchKeyId` if the master has none.
pub async fn fetch_user_by_key(gw: &Gateway, access_key: &str) -> Result<(), GatewayError> {
    let user = call_master(gw, &GetUserByKey { access_key })
        .await
        .map_err(|e| match e {
            GatewayError::NoSuchUser(_) | GatewayError::NotFound(_) => {
                GatewayError::NoSuchKeyId(access_key.to_string())
            }
            other => other,
        })?;
    if user.user_id.is_empty() {
        return Err(GatewayError::NoSuchKeyId(access_key.to_string()));
    }
    copy_user_from_master(gw, &user.user_id).await
}
