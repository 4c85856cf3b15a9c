//! Work that runs once per zone however many gateways serve it (sync agents and log trimming, garbage
//! collection): each runs only in the gateway holding its zone-wide lease, and another gateway takes the
//! work over within `TTL` + `RENEW` when the holder dies. Plus, on a shared store, following configuration
//! changes made through other gateways.

use meridian_gateway::Gateway;
use meridian_worker::{AbortOnDrop, Worker};
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

/// The worker of leased work: runs `start(worker)` while this gateway holds the lease `name`, and aborts
/// what it started when the lease is lost or the worker is asked to stop. The started work reports through
/// a clone of the worker; while another gateway holds the lease the status says so.
pub async fn run_while_leased(
    gw: Gateway,
    name: &'static str,
    holder: String,
    mut worker: Worker,
    start: impl Fn(Worker) -> JoinHandle<()>,
) {
    let mut work: Option<AbortOnDrop> = None;
    let mut renewed = Instant::now();
    loop {
        let held = match gw.try_lease(name, &holder, TTL).await {
            Ok(true) => {
                renewed = Instant::now();
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!(lease = name, error = %e, "cannot renew the zone lease");
                worker.failed(&format!("cannot renew the zone lease {name}: {e}"));
                work.is_some() && renewed.elapsed() < GIVE_UP
            }
        };
        metrics::gauge!("meridian_zone_lease_held", "lease" => name).set(if held { 1.0 } else { 0.0 });
        match (held, work.is_some()) {
            (true, false) => {
                tracing::info!(lease = name, "took the zone lease: running its work here");
                work = Some(AbortOnDrop(start(worker.clone())));
            }
            (false, true) => {
                tracing::warn!(lease = name, "lost the zone lease: stopping its work here");
                work = None;
            }
            (false, false) => worker.status(format!("standby: another gateway of the zone holds the {name} lease")),
            (true, true) => {}
        }
        if !worker.sleep(RENEW).await {
            break;
        }
    }
    // Asked to stop: the work saw the same signal; give it the grace the workers' stop allows.
    if let Some(mut task) = work {
        let _ = (&mut task.0).await;
    }
}

/// Follows configuration changes made through other gateways of the zone (new periods, zone changes).
pub async fn follow_site(gw: Gateway, mut worker: Worker, every: Duration) {
    worker.status(format!(
        "re-reads the zone's configuration every {} ms",
        every.as_millis()
    ));
    while worker.sleep(every).await {
        match gw.realm().refresh_site().await {
            Ok(_) => worker.pass_done(),
            Err(e) => {
                tracing::debug!(error = %e, "refreshing the site view failed");
                worker.failed(&e);
            }
        }
    }
}

/// Wakes this gateway's push notifier when the shared store moved (a commit through another gateway), so
/// peer zones hear of those changes as fast as of this gateway's own.
pub async fn follow_commits(gw: Gateway, mut worker: Worker, every: Duration) {
    worker.status(format!(
        "wakes the peer notifier and the DNS index on commits made through other gateways (checked every {} ms)",
        every.as_millis()
    ));
    let mut last = None;
    // The first look wakes the followers too: a commit made between their own start and this worker's first
    // look would otherwise go unnoticed until the next one (a spurious wake-up costs a log read).
    loop {
        match gw.store_commit_seq().await {
            Ok(Some(seq)) => {
                if last != Some(seq) {
                    gw.note_logs_changed_elsewhere();
                }
                last = Some(seq);
                worker.pass_done();
            }
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "reading the store's commit counter failed");
                worker.failed(&e);
            }
        }
        if !worker.sleep(every).await {
            return;
        }
    }
}
