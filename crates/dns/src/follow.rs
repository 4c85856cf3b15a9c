//! Keeps the index current: a full load at start (and after falling behind), then one bucket record read
//! per change the gateway announces, and the zonegroups of every new site view. Queries never wait on it.

use crate::index::Index;
use meridian_gateway::changes::MetaChange;
use meridian_gateway::{Gateway, GatewayError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Loads every bucket and the site's zonegroups into `index`.
pub async fn load(gw: &Gateway, index: &Index) -> Result<(), GatewayError> {
    index.set_site(&gw.site());
    let buckets = gw.list_all_buckets().await?;
    index.replace_all(
        buckets
            .iter()
            .map(|b| (b.tenant.as_str(), b.name.as_str(), b.zonegroup.as_str())),
    );
    Ok(())
}

/// Follows the gateway's changes for as long as it lives. Subscribes before loading, so nothing committed
/// between the load and the first notification is missed.
pub async fn follow(gw: Gateway, index: Arc<Index>) {
    loop {
        let mut changes = gw.subscribe_changes();
        if let Err(e) = load(&gw, &index).await {
            tracing::warn!(error = %e, "cannot load the buckets into the DNS index; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        tracing::info!(buckets = index.len(), "DNS index loaded");
        loop {
            match changes.recv().await {
                Ok(MetaChange::Site) => index.set_site(&gw.site()),
                Ok(MetaChange::Bucket { tenant, name }) => match gw.get_bucket(&tenant, &name).await {
                    Ok(b) => index.set_bucket(&b.tenant, &b.name, Some(&b.zonegroup)),
                    Err(GatewayError::NoSuchBucket) => index.set_bucket(&tenant, &name, None),
                    Err(e) => {
                        tracing::warn!(error = %e, bucket = %name, "cannot read a changed bucket; reloading the DNS index");
                        break;
                    }
                },
                Err(RecvError::Lagged(n)) => {
                    tracing::info!(missed = n, "the DNS index fell behind the metadata changes; reloading");
                    break;
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}
