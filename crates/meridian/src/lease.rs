//! Work that runs once per zone however many gateways serve it (sync agents and log trimming, garbage
//! collection): each runs only in the gateway holding its zone-wide lease, and another gateway takes the
//! work over within `TTL` + `RENEW` when the holder dies. Plus, on a shared store, following configuration
//! changes made through other gateways.

use meridian_gateway::Gateway;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How long a lease outlives its holder's last renewal: the takeover time after a `kill -9`.
pub const TTL: Duration = Duration::from_secs(6);
const RENEW: Duration = Duration::from_secs(1);
/// Stop the work when the lease could not be renewed for this long: well before another gateway may take
/// it, so two gateways never run it at once.
const GIVE_UP: Duration = Duration::from_secs(4);

/// This process's lease holder name (unique per process).
pub fn holder() -> String {
    format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

/// Runs `start()` while this gateway holds the lease `name`; aborts what it started when the lease is lost.
pub async fn run_while_leased(gw: Gateway, name: &'static str, holder: String, start: impl Fn() -> JoinHandle<()>) {
    let mut work: Option<JoinHandle<()>> = None;
    let mut renewed = Instant::now();
    let mut ticker = tokio::time::interval(RENEW);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let held = match gw.try_lease(name, &holder, TTL).await {
            Ok(true) => {
                renewed = Instant::now();
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(lease = name, error = %e, "cannot renew the zone lease");
                work.is_some() && renewed.elapsed() < GIVE_UP
            }
        };
        metrics::gauge!("meridian_zone_lease_held", "lease" => name).set(if held { 1.0 } else { 0.0 });
        match (held, work.as_ref()) {
            (true, None) => {
                tracing::info!(lease = name, "took the zone lease: running its work here");
                work = Some(start());
            }
            (false, Some(task)) => {
                tracing::warn!(lease = name, "lost the zone lease: stopping its work here");
                task.abort();
                work = None;
            }
            _ => {}
        }
    }
}

/// Follows configuration changes made through other gateways of the zone (new periods, zone changes).
pub async fn follow_site(gw: Gateway, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = gw.refresh_site().await {
            tracing::debug!(error = %e, "refreshing the site view failed");
        }
    }
}

/// Wakes this gateway's push notifier when the shared store moved (a commit through another gateway), so
/// peer zones hear of those changes as fast as of this gateway's own.
pub async fn follow_commits(gw: Gateway, every: Duration) {
    let mut last = None;
    loop {
        tokio::time::sleep(every).await;
        match gw.store_commit_seq().await {
            Ok(Some(seq)) => {
                if last.is_some_and(|l| l != seq) {
                    gw.note_logs_changed_elsewhere();
                }
                last = Some(seq);
            }
            Ok(None) => return,
            Err(e) => tracing::debug!(error = %e, "reading the store's commit counter failed"),
        }
    }
}
