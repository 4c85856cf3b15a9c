//! What several gateways of one zone (processes over one shared store) need from each other: zone-wide
//! leases for the work that must run once per zone, the store's commit counter, and waking this process's
//! log followers. Refreshing the site view another gateway changed is `RealmService::refresh_site`.

use crate::{Gateway, Result};
use std::time::Duration;

impl Gateway {
    /// Takes or renews the zone-wide lease `name` for `holder` (see `MetaStore::try_lease`).
    pub async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let meta = self.core.meta.clone();
        let (name, holder) = (name.to_string(), holder.to_string());
        Ok(tokio::task::spawn_blocking(move || meta.try_lease(&name, &holder, ttl)).await??)
    }
}

impl Gateway {
    /// The shared store's commit counter (`None` on a store only this process writes).
    pub async fn store_commit_seq(&self) -> Result<Option<u64>> {
        let meta = self.core.meta.clone();
        Ok(tokio::task::spawn_blocking(move || meta.commit_seq()).await??)
    }

    /// Tells this process's log followers (the push notifier to peer zones, the DNS index) that the logs may
    /// have changed through another gateway of the zone: a spurious wake-up only makes a follower look at a log.
    pub fn note_logs_changed_elsewhere(&self) {
        self.core.log_changes.send_modify(|c| {
            c.data += 1;
            c.metadata += 1;
        });
        self.core.notify(crate::changes::MetaChange::Elsewhere);
    }
}
