//! Replication agents that pull from peer zones: metadata sync (from the metadata master) and data sync
//! (from every other zone of the zonegroup, active-active), their status, and log trimming. A supervisor
//! follows the period: agents start and stop as zones come and go, without a restart.

mod bucket;
mod data;
pub mod error;
pub mod gap;
mod health;
mod meta;
mod metrics;
pub mod notify;
pub mod source;
pub mod state;
pub mod status;
pub mod trim;

pub use error::{Result, SyncError};

use meridian_gateway::{Gateway, Site};
use meridian_model::ZoneGroupZone;
use source::Source;
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
    /// Between log trimming passes.
    pub trim_interval: Duration,
}

/// One agent's context: the gateway it writes to and the source it reads.
pub(crate) struct Agent {
    pub gw: Gateway,
    pub source: Source,
    pub concurrency: usize,
    pub fetches: Semaphore,
    /// Rung when the data log recorded pending buckets, so the bucket worker starts at once.
    pub wake: Notify,
    /// Rung when the source notifies that its log changed (see `notify`), so the log step runs at once.
    pub log_wake: Arc<Notify>,
    pub poll: Duration,
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

/// Runs the agents for as long as the process runs, following period changes.
pub async fn run(gw: Gateway, opts: SyncOptions) {
    // Every task is aborted when this future is dropped: a gateway that loses the zone's sync lease stops
    // all of its agents.
    let _trim = AbortOnDrop(tokio::spawn(trim::run(gw.clone(), opts.trim_interval)));
    let _notify = AbortOnDrop(tokio::spawn(notify::run(gw.clone())));
    let mut running: HashMap<String, AbortOnDrop> = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let site = gw.site();
        let mut wanted = HashMap::new();
        for (log, zone) in sources(&site) {
            let id = format!(
                "{log}:{}:{}:{}",
                zone.id,
                zone.endpoints.join(","),
                site.system_key.access_key
            );
            wanted.insert(id, (log, zone));
        }
        running.retain(|id, task| {
            let keep = wanted.contains_key(id) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for (id, (log, zone)) in wanted {
            if running.contains_key(&id) {
                continue;
            }
            tracing::info!(log, source_zone = %zone.name, "starting sync agent");
            let agent = Arc::new(Agent {
                gw: gw.clone(),
                source: Source::new(&zone, &site),
                concurrency: opts.concurrency.max(1),
                fetches: Semaphore::new(opts.concurrency.max(1)),
                wake: Notify::new(),
                log_wake: notify::waker(log, &zone.id),
                poll: opts.poll_interval,
            });
            let task = if log == meta::LOG {
                tokio::spawn(async move {
                    gap::check_until_done(&agent, meta::LOG).await;
                    repeat(&agent, Step::Metadata).await
                })
            } else {
                tokio::spawn(async move {
                    gap::check_until_done(&agent, data::LOG).await;
                    let mut retry_at = HashMap::new();
                    let buckets = async {
                        loop {
                            match data::bucket_step(&agent, &mut retry_at).await {
                                Ok(true) => {}
                                Ok(false) => {
                                    tokio::select! {
                                        _ = tokio::time::sleep(agent.poll) => {}
                                        _ = agent.wake.notified() => {}
                                    }
                                }
                                Err(e) => {
                                    record(&agent, data::LOG, &e);
                                    tokio::time::sleep(agent.poll.max(Duration::from_secs(1))).await;
                                }
                            }
                        }
                    };
                    tokio::join!(repeat(&agent, Step::DataLog), buckets);
                })
            };
            running.insert(id, AbortOnDrop(task));
        }
    }
}

/// A spawned task that is aborted when its handle is dropped.
pub(crate) struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl std::ops::Deref for AbortOnDrop {
    type Target = tokio::task::JoinHandle<()>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
    health::record_error(log, &agent.source.zone_id, &agent.source.zone_name, e.to_string());
}

/// Seconds since `t` (for status ages).
pub(crate) fn since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}
