//! Keeps the index current: a full load at start (and after falling behind), then one bucket record read
//! per change the gateway announces, and the zonegroups of every new site view. Changes committed through
//! another gateway of a shared (RADOS) store are found in the metadata log, read on from where the last look
//! stopped. Queries never wait on it.

use crate::index::Index;
use meridian_gateway::changes::MetaChange;
use meridian_gateway::logs::LogKind;
use meridian_gateway::{Gateway, GatewayError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Loads every bucket and the site's zonegroups into `index`.
pub async fn load(gw: &Gateway, index: &Index) -> Result<(), GatewayError> {
    index.set_site(&gw.site());
    let buckets = gw.buckets().list_all().await?;
    index.replace_all(
        buckets
            .iter()
            .map(|b| (b.tenant.as_str(), b.name.as_str(), b.zonegroup.as_str())),
    );
    Ok(())
}

/// Where the metadata log's shards ended at the last look: shard → newest marker seen.
type MdlogPositions = HashMap<u32, String>;

async fn mdlog_positions(gw: &Gateway) -> Result<MdlogPositions, GatewayError> {
    let heads = gw.logs().heads(LogKind::Metadata).await?;
    Ok((0u32..).zip(heads).map(|(shard, head)| (shard, head.marker)).collect())
}

/// Re-reads one bucket into the index.
async fn refresh_bucket(gw: &Gateway, index: &Index, tenant: &str, name: &str) -> Result<(), GatewayError> {
    match gw.buckets().get(tenant, name).await {
        Ok(b) => index.set_bucket(&b.tenant, &b.name, Some(&b.zonegroup)),
        Err(GatewayError::NoSuchBucket) => index.set_bucket(tenant, name, None),
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Refreshes every bucket the metadata log names after `positions`, and moves `positions` on. A shard whose
/// head did not move costs one head read.
async fn catch_up_mdlog(gw: &Gateway, index: &Index, positions: &mut MdlogPositions) -> Result<(), GatewayError> {
    const PAGE: usize = 1000;
    for (shard, head) in (0u32..).zip(gw.logs().heads(LogKind::Metadata).await?) {
        let seen = positions.entry(shard).or_default();
        while head.marker.as_str() > seen.as_str() {
            let entries = gw.logs().list_mdlog(shard, Some(seen.clone()), PAGE).await?;
            let Some(last) = entries.last() else { break };
            *seen = last.id.clone();
            for entry in entries.iter().filter(|e| e.section == "bucket") {
                let (tenant, name) = entry.name.split_once('/').unwrap_or(("", &entry.name));
                refresh_bucket(gw, index, tenant, name).await?;
            }
        }
    }
    Ok(())
}

/// Follows the gateway's changes for as long as it lives. Subscribes before loading, so nothing committed
/// between the load and the first notification is missed.
pub async fn follow(gw: Gateway, index: Arc<Index>) {
    loop {
        let mut changes = gw.subscribe_changes();
        // Taken before the load, so a change another gateway commits during the load is read again, not lost.
        let positions = mdlog_positions(&gw).await;
        let loaded = load(&gw, &index).await;
        let mut positions = match (positions, loaded) {
            (Ok(p), Ok(())) => p,
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "cannot load the buckets into the DNS index; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        tracing::info!(buckets = index.len(), "DNS index loaded");
        loop {
            match changes.recv().await {
                Ok(MetaChange::Site) => index.set_site(&gw.site()),
                Ok(MetaChange::Bucket { tenant, name }) => {
                    if let Err(e) = refresh_bucket(&gw, &index, &tenant, &name).await {
                        tracing::warn!(error = %e, bucket = %name, "cannot read a changed bucket; reloading the DNS index");
                        break;
                    }
                }
                Ok(MetaChange::Elsewhere) => {
                    if let Err(e) = catch_up_mdlog(&gw, &index, &mut positions).await {
                        tracing::warn!(error = %e, "cannot read the metadata log; reloading the DNS index");
                        break;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::info!(missed = n, "the DNS index fell behind the metadata changes; reloading");
                    break;
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}
