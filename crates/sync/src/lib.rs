//! Replication agents that pull from peer zones: metadata sync (from the metadata master) and data sync
//! (from every other zone of the zonegroup, active-active), their status, and log trimming. A supervisor
//! follows the period: agents start and stop as zones come and go, without a restart.

mod bucket;
mod data;
pub mod error;
pub mod gap;
pub mod health;
#[cfg(test)]
mod memory;
mod meta;
mod metrics;
pub mod notify;
pub mod relocate;
pub mod source;
pub mod state;
pub mod status;
#[cfg(test)]
mod tests;
pub mod trim;

pub use error::{Result, SyncError};
pub use health::SyncHealth;

use meridian_gateway::{Gateway, Site};
use meridian_model::ZoneGroupZone;
use meridian_worker::{AbortOnDrop, Worker};
use source::{PeerSource, Source};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// How long an idle agent waits before asking its source again.
    pub poll_interval: Duration,
    /// Objects fetched at once from one source.
    pub concurrency: usize,
}

/// One agent's context: the gateway it writes to and the source it reads.
pub(crate) struct Agent {
    pub gw: Gateway,
    pub source: Arc<dyn Source>,
    pub concurrency: usize,
    pub fetches: Semaphore,
    /// Rung when the data log recorded pending buckets, so the bucket worker starts at once.
    pub wake: Notify,
    /// Rung when the source notifies that its log changed (see `notify`), so the log step runs at once.
    pub log_wake: Arc<Notify>,
    pub poll: Duration,
    /// What the agents saw (errors, shard movement, apply rate), for the status document.
    pub health: SyncHealth,
}

/// The sources this zone syncs from under the current period: the metadata master for metadata (unless
/// this zone is it), and for data every other zone of its zonegroup it is configured to sync from.
pub fn sources(site: &Site) -> Vec<(&'static str, ZoneGroupZone)> {
    let Some(period) = &site.period else {
        return vec![];
    };
    let mut out = Vec::new();
    if !site.is_meta_master() {
        if let Some(master) = period.zone(&period.master_zone).filter(|z| !z.endpoints.is_empty()) {
            out.push((meta::LOG, master.clone()));
        }
    }
    if let Some(zg) = period.zonegroup(&site.zonegroup_id) {
        let me = zg.zone(&site.zone_id);
        for z in &zg.zones {
            let wanted = me.is_none_or(|m| m.sync_from_all || m.sync_from.contains(&z.name));
            if z.id != site.zone_id && !z.endpoints.is_empty() && wanted {
                out.push((data::LOG, z.clone()));
            }
        }
    }
    out
}

/// Runs the agents until the worker is asked to stop, following period changes.
pub async fn run(gw: Gateway, mut worker: Worker, opts: SyncOptions, health: SyncHealth) {
    let wanted = |site: &Site| {
        sources(site)
            .into_iter()
            .map(|(log, zone)| {
                let id = format!(
                    "{log}:{}:{}:{}",
                    zone.id,
                    zone.endpoints.join(","),
                    site.system_key.access_key
                );
                (id, (log, zone))
            })
            .collect()
    };
    let start = |site: &Site, (log, zone): (&'static str, ZoneGroupZone)| {
        tracing::info!(log, source_zone = %zone.name, "starting sync agent");
        let agent = Arc::new(Agent {
            gw: gw.clone(),
            source: Arc::new(PeerSource::new(&zone, site)),
            concurrency: opts.concurrency.max(1),
            fetches: Semaphore::new(opts.concurrency.max(1)),
            wake: Notify::new(),
            log_wake: notify::waker(log, &zone.id),
            poll: opts.poll_interval,
            health: health.clone(),
        });
        if log == meta::LOG {
            tokio::spawn(async move {
                gap::check_until_done(&agent, meta::LOG).await;
                repeat(&agent, Step::Metadata).await
            })
        } else {
            tokio::spawn(async move {
                gap::check_until_done(&agent, data::LOG).await;
                tokio::join!(repeat(&agent, Step::DataLog), data::bucket_worker(&agent));
            })
        }
    };
    supervise(&gw, &mut worker, "sync agents", wanted, start).await;
}

/// Keeps one task per wanted id running as the site view changes (checked every second): tasks no longer
/// wanted, or ended, are aborted, and wanted ones missing are started. Aborts them all and returns when the
/// worker is asked to stop. Both the sync agents and the notifiers follow the period this way.
pub(crate) async fn supervise<T>(
    gw: &Gateway,
    worker: &mut Worker,
    what: &str,
    wanted: impl Fn(&Site) -> HashMap<String, T>,
    start: impl Fn(&Site, T) -> tokio::task::JoinHandle<()>,
) {
    // Dropping this future (a gateway that loses the zone's sync lease) aborts every task it started.
    let mut running: HashMap<String, AbortOnDrop> = HashMap::new();
    loop {
        let site = gw.site();
        let wanted = wanted(&site);
        running.retain(|id, task| {
            let keep = wanted.contains_key(id) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for (id, item) in wanted {
            running.entry(id).or_insert_with(|| AbortOnDrop(start(&site, item)));
        }
        worker.status(format!("{} {what} running", running.len()));
        if !worker.sleep(Duration::from_secs(1)).await {
            break;
        }
    }
}

/// The steps `repeat` runs.
#[derive(Clone, Copy)]
enum Step {
    Metadata,
    DataLog,
}

/// Runs a step forever: again at once after progress, after the poll interval when idle, with a growing
/// backoff (up to 30 s) while it fails.
async fn repeat(agent: &Agent, step: Step) {
    let mut backoff = Duration::ZERO;
    loop {
        let (log, outcome) = match step {
            Step::Metadata => (meta::LOG, meta::step(agent).await),
            Step::DataLog => (data::LOG, data::datalog_step(agent).await),
        };
        match outcome {
            Ok(true) => backoff = Duration::ZERO,
            Ok(false) => {
                backoff = Duration::ZERO;
                sleep_or_woken(agent, agent.poll).await;
            }
            Err(e) => {
                record(agent, log, &e);
                backoff = (backoff * 2).clamp(agent.poll.max(Duration::from_millis(200)), Duration::from_secs(30));
                // A notification from the source says it is back: no need to wait out the backoff.
                sleep_or_woken(agent, backoff).await;
            }
        }
    }
}

/// Waits `d`, or less if the source notifies a change of its log.
async fn sleep_or_woken(agent: &Agent, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = agent.log_wake.notified() => {}
    }
}

fn record(agent: &Agent, log: &str, e: &SyncError) {
    agent
        .health
        .record_error(log, agent.source.zone_id(), agent.source.zone_name(), e.to_string());
}

/// Seconds since `t` (for status ages).
pub(crate) fn since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}
