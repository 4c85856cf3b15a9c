//! Push notification between zones, as RGW's `POST /admin/log?type=data&notify2` and metadata notify: when
//! this zone writes to its data (or metadata) log, a background notifier wakes the agents of every peer that
//! reads that log; on the receiving side a notification wakes the agent at once instead of at its next poll.
//! Wake-ups coalesce (a burst of writes is one notification per peer) and are rate-bounded (one in flight
//! per peer, at least `MIN_GAP` apart; a peer that does not answer is left alone for `DOWN_BACKOFF`). The
//! writer never waits for any of it. Polling stays the fallback for lost notifications and peers that were down.

use meridian_gateway::{Gateway, LogChanges, Site};
use meridian_model::ZoneGroupZone;
use meridian_peer::{AdminRequest, PeerClient};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;

/// The log names notifications and agents use (`data::LOG`, `meta::LOG`).
pub const DATA: &str = crate::data::LOG;
pub const METADATA: &str = crate::meta::LOG;

/// Least time between two notifications to one peer (at most 200 per second each).
const MIN_GAP: Duration = Duration::from_millis(5);
/// A notification that takes longer is dropped (the peer's polling covers it).
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(1);
/// After a failed notification, how long that peer is not notified (its changes coalesce meanwhile).
const DOWN_BACKOFF: Duration = Duration::from_secs(1);

type Wakers = Mutex<HashMap<(String, String), Arc<Notify>>>;

fn wakers() -> &'static Wakers {
    static WAKERS: OnceLock<Wakers> = OnceLock::new();
    WAKERS.get_or_init(Default::default)
}

/// The wake-up of the agent reading `log` from zone `zone_id` (the same one for every agent of that pair).
pub(crate) fn waker(log: &str, zone_id: &str) -> Arc<Notify> {
    let mut map = wakers().lock().unwrap_or_else(|p| p.into_inner());
    map.entry((log.to_string(), zone_id.to_string()))
        .or_insert_with(|| Arc::new(Notify::new()))
        .clone()
}

/// A notification from zone `zone_id` that its `log` changed: wakes the agent reading it, if one runs.
/// Returns whether one did.
pub fn wake(log: &str, zone_id: &str) -> bool {
    let map = wakers().lock().unwrap_or_else(|p| p.into_inner());
    match map.get(&(log.to_string(), zone_id.to_string())) {
        Some(n) => {
            n.notify_one();
            true
        }
        None => false,
    }
}

/// Which of this zone's logs a peer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Reads {
    data: bool,
    metadata: bool,
}

/// The zones that read this zone's logs under the current period: the other zones of its zonegroup that
/// sync data from it, and, when this zone is the metadata master, every other zone of the realm.
fn readers(site: &Site) -> Vec<(ZoneGroupZone, Reads)> {
    let Some(period) = &site.period else {
        return vec![];
    };
    let mut out: HashMap<String, (ZoneGroupZone, Reads)> = HashMap::new();
    if let Some(zg) = period.zonegroup(&site.zonegroup_id) {
        for z in &zg.zones {
            let wants = z.sync_from_all || z.sync_from.contains(&site.zone_name);
            if z.id != site.zone_id && !z.endpoints.is_empty() && wants {
                out.insert(
                    z.id.clone(),
                    (
                        z.clone(),
                        Reads {
                            data: true,
                            metadata: false,
                        },
                    ),
                );
            }
        }
    }
    if site.is_meta_master() {
        for zg in &period.period_map.zonegroups {
            for z in &zg.zones {
                if z.id != site.zone_id && !z.endpoints.is_empty() {
                    out.entry(z.id.clone())
                        .or_insert_with(|| {
                            (
                                z.clone(),
                                Reads {
                                    data: false,
                                    metadata: false,
                                },
                            )
                        })
                        .1
                        .metadata = true;
                }
            }
        }
    }
    out.into_values().collect()
}

/// Runs the notifier for as long as the process runs, following period changes.
pub(crate) async fn run(gw: Gateway) {
    let mut running: HashMap<String, crate::AbortOnDrop> = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let site = gw.site();
        let mut wanted = HashMap::new();
        for (zone, reads) in readers(&site) {
            let id = format!(
                "{}:{}:{}:{}:{:?}",
                zone.id,
                zone.endpoints.join(","),
                site.zone_id,
                site.system_key.access_key,
                reads
            );
            wanted.insert(id, (zone, reads));
        }
        running.retain(|id, task| {
            let keep = wanted.contains_key(id) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for (id, (zone, reads)) in wanted {
            if running.contains_key(&id) {
                continue;
            }
            let clients: Vec<PeerClient> = zone
                .endpoints
                .iter()
                .map(|e| {
                    let mut c = PeerClient::new(e, &site.system_key.access_key, &site.system_key.secret_key);
                    c.timeout = NOTIFY_TIMEOUT;
                    c
                })
                .collect();
            let task = tokio::spawn(notify_peer(
                gw.subscribe_log_changes(),
                clients,
                site.zone_id.clone(),
                zone.name.clone(),
                reads,
            ));
            running.insert(id, crate::AbortOnDrop(task));
        }
    }
}

/// Notifies one peer of every change of the logs it reads, coalesced and rate-bounded.
async fn notify_peer(
    mut changes: tokio::sync::watch::Receiver<LogChanges>,
    clients: Vec<PeerClient>,
    me: String,
    peer: String,
    reads: Reads,
) {
    // The first round tells a peer that just appeared (or this zone that just started) to look at once.
    let mut last = LogChanges {
        data: u64::MAX,
        metadata: u64::MAX,
    };
    loop {
        let now = *changes.borrow_and_update();
        let mut ok = true;
        if reads.data && now.data != last.data {
            ok &= send(&clients, DATA, &me, &peer).await;
        }
        if reads.metadata && now.metadata != last.metadata {
            ok &= send(&clients, METADATA, &me, &peer).await;
        }
        last = now;
        tokio::time::sleep(if ok { MIN_GAP } else { DOWN_BACKOFF }).await;
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// One notification to the first endpoint of the peer that answers; false when none did.
async fn send(clients: &[PeerClient], log: &str, me: &str, peer: &str) -> bool {
    let req = if log == DATA {
        AdminRequest::new(http::Method::POST, "log")
            .param("type", "data")
            .param("notify2", "")
            .param("source-zone", me)
    } else {
        AdminRequest::new(http::Method::POST, "log")
            .param("type", "metadata")
            .param("notify", "")
            .param("source-zone", me)
    };
    for client in clients {
        match client.send(&req).await {
            Ok(_) => return true,
            Err(e) => tracing::debug!(peer, log, error = %e, "log change notification not delivered"),
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_notification_wakes_the_registered_agent_only() {
        assert!(!wake(DATA, "zone-nobody"), "no agent reads from that zone");
        let n = waker(DATA, "zone-x");
        assert!(wake(DATA, "zone-x"));
        tokio::time::timeout(Duration::from_secs(1), n.notified())
            .await
            .expect("the agent was woken");
        assert!(!wake(METADATA, "zone-x"), "the metadata agent of zone-x does not run");
    }
}
