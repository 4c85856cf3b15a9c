//! The period puller: a zone that was down while the master pushed catches up by itself, asking the master
//! for the current period every interval.

use crate::period::pull_period;
use meridian_gateway::realm::Accepted;
use meridian_gateway::Gateway;
use std::time::Duration;

/// Runs as the worker `worker` until it is told to stop; the first pull runs at once.
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
