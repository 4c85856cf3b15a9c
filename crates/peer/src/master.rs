//! Talking to the metadata master and to the other zones of the realm: forwarding the metadata changes only
//! the master makes, copying what it recorded, committing a staging period there, and distributing
//! (push) or fetching (pull) periods. Every call is signed with this zone's system key.

use crate::{AdminRequest, PeerClient, PeerError};
use http::Method;
use meridian_gateway::metadata::{BucketContents, MetadataEntry, PutMode};
use meridian_gateway::realm::Accepted;
use meridian_gateway::{Gateway, GatewayError, Site};
use meridian_model::bucket::bucket_spec;
use meridian_model::{AccessKey, Bucket, Period, Realm, User};
use serde_json::Value;
use std::time::Duration;

/// A client for `endpoint` signed with this zone's system key (or `key`).
pub fn system_client(site: &Site, endpoint: &str, key: Option<&AccessKey>) -> PeerClient {
    let key = key.unwrap_or(&site.system_key);
    PeerClient::new(endpoint, &key.access_key, &key.secret_key)
}

/// Maps a refusal from the master back onto the error the master raised, so clients see the same S3 code.
pub fn gateway_error(e: PeerError) -> GatewayError {
    match e {
        PeerError::Remote { status, code, message } => match code.as_str() {
            "BucketAlreadyExists" => GatewayError::BucketAlreadyExists,
            "BucketAlreadyOwnedByYou" => GatewayError::BucketAlreadyOwnedByYou,
            "BucketNotEmpty" => GatewayError::BucketNotEmpty,
            "NoSuchBucket" => GatewayError::NoSuchBucket,
            "NoSuchUser" => GatewayError::NoSuchUser(message),
            "InvalidAccessKeyId" => GatewayError::NoSuchKeyId(message),
            "UserAlreadyExists" => GatewayError::UserExists(message),
            "KeyExists" => GatewayError::KeyExists(message),
            "InvalidBucketName" => GatewayError::InvalidBucketName(message),
            "TooManyBuckets" => GatewayError::TooManyBuckets(message),
            "InvalidLocationConstraint" => GatewayError::InvalidLocationConstraint(message),
            "InvalidArgument" => GatewayError::InvalidArgument(message),
            "NotFound" | "NoSuchEntity" => GatewayError::NotFound(message),
            "Conflict" => GatewayError::Conflict(message),
            "InvalidBucketState" => GatewayError::InvalidBucketState(message),
            _ if status == 409 => GatewayError::Conflict(message),
            _ => GatewayError::MasterUnavailable(format!("the master answered {status} {code}: {message}")),
        },
        other => GatewayError::MasterUnavailable(other.to_string()),
    }
}

/// Sends `req` to the first metadata-master endpoint that answers.
pub async fn forward(gw: &Gateway, req: &AdminRequest) -> Result<Value, GatewayError> {
    let site = gw.site();
    let endpoints = site.master_endpoints();
    if endpoints.is_empty() {
        return Err(GatewayError::MasterUnavailable(
            "the current period names no endpoint for the metadata master zone".into(),
        ));
    }
    send_to_any(&site, &endpoints, req).await.map_err(gateway_error)
}

async fn send_to_any(site: &Site, endpoints: &[String], req: &AdminRequest) -> Result<Value, PeerError> {
    let mut last = None;
    for endpoint in endpoints {
        match system_client(site, endpoint, None).send(req).await {
            Err(e @ PeerError::Unreachable { .. }) => {
                tracing::debug!(%endpoint, error = %e, "peer endpoint unreachable, trying the next");
                last = Some(e);
            }
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| PeerError::BadEndpoint("no endpoint".into())))
}

/// What a bucket holds in the zones of its own zonegroup, asked of the first of them that answers: the
/// metadata master holds no data of another zonegroup's buckets, so its own count proves nothing.
pub async fn remote_bucket_contents(gw: &Gateway, b: &Bucket) -> Result<BucketContents, GatewayError> {
    #[derive(serde::Deserialize)]
    struct Stats {
        #[serde(default)]
        usage: std::collections::HashMap<String, Usage>,
        #[serde(default)]
        num_incomplete_uploads: u64,
    }
    #[derive(serde::Deserialize)]
    struct Usage {
        #[serde(default)]
        num_objects: u64,
    }
    let site = gw.site();
    let zonegroup = site.zonegroup(&b.zonegroup).ok_or_else(|| {
        GatewayError::Conflict(format!(
            "bucket {} belongs to zonegroup {}, which the current period does not name; nothing was changed",
            bucket_spec(&b.tenant, &b.name),
            b.zonegroup
        ))
    })?;
    let mut endpoints: Vec<String> = zonegroup.zones.iter().flat_map(|z| z.endpoints.clone()).collect();
    endpoints.extend(zonegroup.endpoints.iter().cloned());
    let req = AdminRequest::new(Method::GET, "bucket").param("bucket", bucket_spec(&b.tenant, &b.name));
    let unconfirmed = |why: String| {
        GatewayError::MasterUnavailable(format!(
            "cannot confirm that bucket {} is empty in its zonegroup {} ({why}); nothing was changed",
            bucket_spec(&b.tenant, &b.name),
            zonegroup.name
        ))
    };
    let answer = match send_to_any(&site, &endpoints, &req).await {
        Ok(v) => v,
        // Metadata sync has not brought the bucket there yet: it cannot hold anything.
        Err(PeerError::Remote { code, .. }) if code == "NoSuchBucket" => return Ok(BucketContents::default()),
        Err(e) => return Err(unconfirmed(e.to_string())),
    };
    let stats: Stats = serde_json::from_value(answer).map_err(|e| unconfirmed(format!("unreadable stats: {e}")))?;
    Ok(BucketContents {
        objects: stats.usage.values().map(|u| u.num_objects).sum(),
        uploads: stats.num_incomplete_uploads,
    })
}

/// Stores what the master answered for a metadata key (never overwriting something newer).
async fn adopt_entry(gw: &Gateway, key: &str, entry: Value) -> Result<(), GatewayError> {
    let entry: MetadataEntry = serde_json::from_value(entry)
        .map_err(|e| GatewayError::MasterUnavailable(format!("the master sent a malformed {key} entry: {e}")))?;
    gw.metadata().put(key, entry, PutMode::Sync).await?;
    Ok(())
}

/// CreateBucket on a non-master zone: the master records the bucket (in this zone's zonegroup), then this
/// zone stores the master's record.
pub async fn create_bucket_on_master(
    gw: &Gateway,
    owner: &User,
    name: &str,
    acl: Option<&meridian_model::Acl>,
) -> Result<Bucket, GatewayError> {
    let site = gw.site();
    let mut req = AdminRequest::new(Method::PUT, "bucket")
        .param("bucket", name)
        .param("uid", owner.full_id())
        .param("zonegroup", site.zonegroup_id.clone());
    if let Some(acl) = acl {
        let json = serde_json::to_string(acl).map_err(|e| GatewayError::Internal(e.to_string()))?;
        req = req.param("acl", json);
    }
    let entry = forward(gw, &req).await?;
    let bucket_id = entry
        .pointer("/data/bucket_info/bucket/bucket_id")
        .and_then(Value::as_str)
        .ok_or_else(|| GatewayError::MasterUnavailable("the master's answer names no bucket id".into()))?
        .to_string();
    let key = format!("bucket.instance:{}:{bucket_id}", bucket_spec(&owner.tenant, name));
    adopt_entry(gw, &key, entry).await?;
    gw.buckets().get(&owner.tenant, name).await
}

/// PutBucketVersioning on a zone that is not the metadata master: the master's record of the bucket instance
/// is read, given the new status (RGW's flags) and put back as a checked put (a concurrent change of the
/// record makes it read again), then this zone keeps the master's record. Metadata sync carries it to the
/// other zones.
pub async fn set_bucket_versioning_on_master(
    gw: &Gateway,
    bucket: &Bucket,
    status: meridian_model::VersioningStatus,
) -> Result<Bucket, GatewayError> {
    let key = format!("{}:{}", bucket_spec(&bucket.tenant, &bucket.name), bucket.bucket_id);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut entry = forward(
            gw,
            &AdminRequest::new(Method::GET, "metadata/bucket.instance").param("key", key.clone()),
        )
        .await?;
        let flags = entry.pointer_mut("/data/bucket_info/flags").ok_or_else(|| {
            GatewayError::MasterUnavailable(format!("the master's bucket.instance:{key} has no flags"))
        })?;
        *flags = Value::from(meridian_gateway::metadata::versioning_flags(status));
        let put = AdminRequest::new(Method::PUT, "metadata/bucket.instance")
            .param("key", key.clone())
            .with_body(entry);
        match forward(gw, &put).await {
            Ok(answer) => {
                adopt_entry(gw, &format!("bucket.instance:{key}"), answer).await?;
                return gw.buckets().get(&bucket.tenant, &bucket.name).await;
            }
            Err(GatewayError::Conflict(_)) if attempt < 5 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A bucket this zone has not heard of yet (it was created through another zone): ask the master and keep
/// its record. `NoSuchBucket` when the master does not know it either.
pub async fn fetch_bucket_from_master(gw: &Gateway, tenant: &str, name: &str) -> Result<Bucket, GatewayError> {
    let spec = bucket_spec(tenant, name);
    let entry = forward(
        gw,
        &AdminRequest::new(Method::GET, "metadata/bucket").param("key", spec.clone()),
    )
    .await
    .map_err(|e| match e {
        GatewayError::NotFound(_) => GatewayError::NoSuchBucket,
        other => other,
    })?;
    let bucket_id = entry
        .pointer("/data/bucket/bucket_id")
        .and_then(Value::as_str)
        .ok_or(GatewayError::NoSuchBucket)?
        .to_string();
    let key = format!("{spec}:{bucket_id}");
    let instance = forward(
        gw,
        &AdminRequest::new(Method::GET, "metadata/bucket.instance").param("key", key.clone()),
    )
    .await?;
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
    let req = AdminRequest::new(Method::GET, &format!("metadata/{section}")).param("key", name);
    match forward(gw, &req).await {
        Ok(entry) => adopt_entry(gw, key, entry).await,
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
    let req = AdminRequest::new(Method::GET, "user").param("access-key", access_key);
    let answer = forward(gw, &req).await.map_err(|e| match e {
        GatewayError::NoSuchUser(_) | GatewayError::NotFound(_) => GatewayError::NoSuchKeyId(access_key.to_string()),
        other => other,
    })?;
    let uid = answer
        .get("user_id")
        .and_then(Value::as_str)
        .ok_or_else(|| GatewayError::NoSuchKeyId(access_key.to_string()))?;
    copy_user_from_master(gw, uid).await
}

/// `period update --commit`: builds the realm's staging period, then commits it here when this zone is its
/// master (pushing it to the others), or has the master commit it.
pub async fn commit_staging(gw: &Gateway, realm: Option<&str>) -> Result<Period, GatewayError> {
    let staging = gw.realm().update_period(realm).await?;
    if staging.master_zone.is_empty() || staging.master_zone == gw.site().zone_id {
        commit_and_push(gw, staging).await
    } else {
        commit_on_master(gw, &staging).await
    }
}

/// Commits a staging period on this, its master zone, and pushes the committed period to every other zone.
/// Push failures are logged where they happen and do not fail the commit: a zone that missed the push
/// pulls the period later.
pub async fn commit_and_push(gw: &Gateway, staging: Period) -> Result<Period, GatewayError> {
    let committed = gw.realm().commit_period(staging).await?;
    push_period(gw, &committed).await;
    Ok(committed)
}

/// `period update --commit` on a zone that is not the master: the master commits our staging period and
/// answers with the committed one, which becomes current here too.
pub async fn commit_on_master(gw: &Gateway, staging: &Period) -> Result<Period, GatewayError> {
    let site = gw.site();
    let endpoints = site
        .period
        .as_ref()
        .map(|p| p.master_endpoints())
        .filter(|e| !e.is_empty())
        .or_else(|| {
            staging
                .zone(&staging.master_zone)
                .map(|z| z.endpoints.clone())
                .filter(|e| !e.is_empty())
        })
        .ok_or_else(|| {
            GatewayError::MasterUnavailable(format!(
                "the master zone {} has no endpoints to send the period to",
                staging.master_zone
            ))
        })?;
    let body = serde_json::to_value(staging).map_err(|e| GatewayError::Internal(e.to_string()))?;
    let req = AdminRequest::new(Method::POST, "realm/period").with_body(body);
    let answer = send_to_any(&site, &endpoints, &req).await.map_err(gateway_error)?;
    let committed: Period = serde_json::from_value(answer)
        .map_err(|e| GatewayError::MasterUnavailable(format!("the master answered with a malformed period: {e}")))?;
    gw.realm().accept_period(committed.clone()).await?;
    Ok(committed)
}

/// Sends a committed period to every other zone of the realm (they switch to it without a restart). A zone
/// that misses it catches up by pulling.
pub async fn push_period(gw: &Gateway, period: &Period) {
    let site = gw.site();
    let body = match serde_json::to_value(period) {
        Ok(b) => b,
        Err(e) => return tracing::error!(error = %e, "cannot encode the period to push it"),
    };
    let req = AdminRequest::new(Method::POST, "realm/period").with_body(body);
    let zones: Vec<(String, Vec<String>)> = period
        .period_map
        .zonegroups
        .iter()
        .flat_map(|zg| zg.zones.iter())
        .filter(|z| z.id != site.zone_id)
        .map(|z| (z.name.clone(), z.endpoints.clone()))
        .collect();
    let pushes = zones.into_iter().map(|(zone, endpoints)| {
        let site = site.clone();
        let req = req.clone();
        async move {
            // (error, whether the zone answered at all)
            let error = if endpoints.is_empty() {
                Some(("the zone has no endpoints".to_string(), false))
            } else {
                match tokio::time::timeout(Duration::from_secs(10), send_to_any(&site, &endpoints, &req)).await {
                    Ok(Ok(_)) => None,
                    Ok(Err(e @ PeerError::Unreachable { .. })) => Some((e.to_string(), false)),
                    Ok(Err(e)) => Some((e.to_string(), true)),
                    Err(_) => Some(("timed out".to_string(), false)),
                }
            };
            match &error {
                None => tracing::info!(%zone, "period pushed"),
                // A zone that is not running yet (or is down) is normal during setup: harmless.
                Some((e, false)) => tracing::info!(
                    %zone,
                    error = %e,
                    "period not pushed: the zone is not reachable (not started yet?); it will pull the period itself"
                ),
                Some((e, true)) => tracing::warn!(%zone, error = %e, "period push failed; the zone will pull it"),
            }
        }
    });
    futures::future::join_all(pushes).await;
}

/// `period pull`: fetches the current period from `url` and makes it current here if it is newer.
pub async fn pull_period(gw: &Gateway, url: &str, key: Option<&AccessKey>) -> Result<(Period, Accepted), GatewayError> {
    let site = gw.site();
    let client = system_client(&site, url, key);
    let answer = client
        .send(&AdminRequest::new(Method::GET, "realm/period"))
        .await
        .map_err(gateway_error)?;
    let period: Period = serde_json::from_value(answer)
        .map_err(|e| GatewayError::MasterUnavailable(format!("{url} answered with a malformed period: {e}")))?;
    let accepted = gw.realm().accept_period(period.clone()).await?;
    Ok((period, accepted))
}

/// `realm pull`: fetches the realm and its current period from `url` (a zone of that realm).
pub async fn pull_realm(gw: &Gateway, url: &str, key: Option<&AccessKey>) -> Result<Realm, GatewayError> {
    let site = gw.site();
    let client = system_client(&site, url, key);
    let answer = client
        .send(&AdminRequest::new(Method::GET, "realm"))
        .await
        .map_err(gateway_error)?;
    let realm: Realm = serde_json::from_value(answer)
        .map_err(|e| GatewayError::MasterUnavailable(format!("{url} answered with a malformed realm: {e}")))?;
    let answer = client
        .send(&AdminRequest::new(Method::GET, "realm/period").param("period_id", realm.current_period.clone()))
        .await
        .map_err(gateway_error)?;
    let period: Period = serde_json::from_value(answer)
        .map_err(|e| GatewayError::MasterUnavailable(format!("{url} answered with a malformed period: {e}")))?;
    gw.realm().adopt_realm(realm, period).await
}

/// A zone that was down while the master pushed catches up by itself: every `interval` it asks the master
/// for the current period.
pub async fn run_period_puller(gw: Gateway, mut worker: meridian_worker::Worker, interval: Duration) {
    // The first pull runs at once: a zone that starts after a commit it missed catches up without waiting.
    loop {
        let site = gw.site();
        if site.period.is_none() || site.is_meta_master() {
            worker.status("idle: this zone is the metadata master, or in no realm");
            if !worker.sleep(interval).await {
                return;
            }
            continue;
        }
        let mut last_error = None;
        for endpoint in site.master_endpoints() {
            match pull_period(&gw, &endpoint, None).await {
                Ok((p, accepted)) => {
                    if accepted == Accepted::Updated {
                        tracing::info!(period = %p.id, epoch = p.epoch, "pulled a newer period from the master");
                    }
                    worker.status(format!("current period {} epoch {} (from {endpoint})", p.id, p.epoch));
                    last_error = None;
                    break;
                }
                Err(e) => {
                    tracing::debug!(%endpoint, error = %e, "period pull failed");
                    last_error = Some(e);
                }
            }
        }
        match last_error {
            None => worker.pass_done(),
            Some(e) => worker.failed(&e),
        }
        if !worker.sleep(interval).await {
            return;
        }
    }
}

/// A change of a bucket's tags, CORS or lifecycle rules on a zone that is not the metadata master: made to
/// the master's record (read, changed, put back at the version read, so a concurrent change is refused
/// rather than lost), which this zone then stores at once; metadata sync brings it to the other zones.
pub async fn change_bucket_config_on_master(
    gw: &Gateway,
    bucket: &Bucket,
    change: meridian_model::BucketConfigChange,
) -> Result<Bucket, GatewayError> {
    let key = format!("{}:{}", bucket_spec(&bucket.tenant, &bucket.name), bucket.bucket_id);
    let get = AdminRequest::new(Method::GET, "metadata/bucket.instance").param("key", key.clone());
    let mut entry = forward(gw, &get).await.map_err(|e| match e {
        GatewayError::NotFound(_) => GatewayError::NoSuchBucket,
        other => other,
    })?;
    let mut config: meridian_model::BucketConfig = match entry.pointer("/data/s3_config") {
        Some(v) if !v.is_null() => serde_json::from_value(v.clone())
            .map_err(|e| GatewayError::MasterUnavailable(format!("the master sent a malformed s3_config: {e}")))?,
        _ => Default::default(),
    };
    change.apply(&mut config);
    let value = serde_json::to_value(&config).map_err(|e| GatewayError::Internal(e.to_string()))?;
    match entry.get_mut("data").and_then(Value::as_object_mut) {
        Some(data) => {
            data.insert("s3_config".into(), value);
        }
        None => {
            return Err(GatewayError::MasterUnavailable(
                "the master's bucket entry has no data".into(),
            ))
        }
    }
    let put = AdminRequest::new(Method::PUT, "metadata/bucket.instance")
        .param("key", key.clone())
        .with_body(entry);
    let answer = forward(gw, &put).await?;
    adopt_entry(gw, &format!("bucket.instance:{key}"), answer).await?;
    gw.buckets().get(&bucket.tenant, &bucket.name).await
}
