//! A target zone's copy of a moving bucket: from EVERY zone of the source zonegroup (so a write acknowledged
//! by any of them is copied even if it had not reached the others), with the bucket sync of `bucket.rs`
//! (full sync from a listing, then incremental from the source's bucket index log), its positions kept
//! under `sync/move/copy/<move>/<source zone>` so a restart resumes where it was. It reports to the master
//! after every round and every poll interval; in the cut-over it reports when it has applied every source's
//! log up to the head that source answered when it was fenced.

use super::record::{copy_state, MovePhase, MoveRecord, SourceProgress, TargetReport};
use super::{protocol, zones_of, RelocateOptions, WAKE};
use crate::error::Result;
use crate::source::PeerSource;
use crate::state::{self, BucketSync, Phase};
use crate::Agent;
use http::Method;
use meridian_gateway::moves::{LocalMove, MoveRole};
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::{Bucket, Timestamp};
use meridian_peer::AdminRequest;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};
use tokio::sync::{Mutex, Notify, Semaphore};
use tokio::task::JoinHandle;

#[derive(Default)]
struct Registry {
    running: HashMap<String, JoinHandle<()>>,
    /// Moves whose copy was stopped here (cancelled, or over): never started again by this process.
    stopped: HashSet<String>,
}

static TASKS: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

/// Stops the copy of move `id` here (and keeps it from starting again).
pub async fn stop(id: &str) {
    let handle = {
        let mut reg = TASKS.lock().await;
        reg.stopped.insert(id.to_string());
        reg.running.remove(id)
    };
    if let Some(h) = handle {
        h.abort();
        let _ = h.await;
    }
}

/// Asks the master (or, on the master, itself) for the moves this zone's zonegroup copies, and keeps one
/// copy task running per move.
pub async fn run(gw: Gateway, opts: RelocateOptions) {
    loop {
        match work(&gw).await {
            Ok(moves) => {
                let mut reg = TASKS.lock().await;
                reg.running.retain(|_, h| !h.is_finished());
                for rec in moves {
                    if reg.running.contains_key(&rec.id) || reg.stopped.contains(&rec.id) {
                        continue;
                    }
                    tracing::info!(bucket = %rec.spec(), id = %rec.id, "bucket move: copying into this zone");
                    let (gw, opts, id) = (gw.clone(), opts.clone(), rec.id.clone());
                    reg.running.insert(id, tokio::spawn(copy_task(gw, opts, rec)));
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot ask the master for bucket moves"),
        }
        tokio::select! {
            _ = tokio::time::sleep(opts.poll_interval) => {}
            _ = WAKE.notified() => {}
        }
    }
}

async fn work(gw: &Gateway) -> Result<Vec<MoveRecord>> {
    let site = gw.site();
    if site.period.is_none() {
        return Ok(vec![]);
    }
    if site.is_meta_master() {
        return super::master::work_for(gw, &site.zonegroup_id).await;
    }
    let v = meridian_multisite::forward(
        gw,
        &AdminRequest::new(Method::GET, "bucket-move/work").param("zonegroup", site.zonegroup_id.clone()),
    )
    .await?;
    serde_json::from_value(v).map_err(|e| protocol(format!("bucket moves from the master: {e}")))
}

async fn send_report(gw: &Gateway, rec: &MoveRecord, report: TargetReport) -> Result<MoveRecord> {
    let site = gw.site();
    if site.is_meta_master() {
        return super::master::report(gw, &rec.spec(), &rec.id, &site.zone_id, report).await;
    }
    let body = serde_json::to_value(&report).map_err(|e| protocol(e.to_string()))?;
    let v = meridian_multisite::forward(
        gw,
        &AdminRequest::new(Method::POST, "bucket-move/report")
            .param("bucket", rec.spec())
            .param("move", rec.id.clone())
            .param("zone", site.zone_id.clone())
            .with_body(body),
    )
    .await?;
    serde_json::from_value(v).map_err(|e| protocol(format!("bucket move record from the master: {e}")))
}

/// The bucket as this zone holds it (asking the master if its metadata has not arrived yet).
async fn local_bucket(gw: &Gateway, rec: &MoveRecord) -> Result<Bucket> {
    match gw.buckets().get(&rec.tenant, &rec.name).await {
        Ok(b) if b.bucket_id == rec.bucket_id => return Ok(b),
        Ok(_) | Err(GatewayError::NoSuchBucket) => {}
        Err(e) => return Err(e.into()),
    }
    let b = meridian_multisite::fetch_bucket_from_master(gw, &rec.tenant, &rec.name).await?;
    if b.bucket_id != rec.bucket_id {
        return Err(protocol(format!("bucket {} is another instance now", rec.spec())));
    }
    Ok(b)
}

/// What this zone's copy looks like now.
struct Progress {
    sources: HashMap<String, (BucketSync, Option<String>)>,
    caught_up: bool,
    drained_attempt: u64,
}

async fn copy_task(gw: Gateway, opts: RelocateOptions, mut rec: MoveRecord) {
    let progress = Arc::new(Mutex::new(Progress {
        sources: HashMap::new(),
        caught_up: false,
        drained_attempt: 0,
    }));
    let latest = Arc::new(Mutex::new(rec.clone()));
    // A reporter, so the master (and `status`) see progress during a long full sync.
    let reporter = {
        let (gw, progress, latest, poll) = (gw.clone(), progress.clone(), latest.clone(), opts.poll_interval);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(poll).await;
                let rec = latest.lock().await.clone();
                if let Ok(r) = report(&gw, &rec, &progress).await {
                    *latest.lock().await = r;
                }
            }
        })
    };
    let outcome = copy_loop(&gw, &opts, &mut rec, &progress, &latest).await;
    reporter.abort();
    if let Err(e) = outcome {
        tracing::warn!(bucket = %rec.spec(), error = %e, "bucket move copy stopped; it starts again");
    }
}

async fn copy_loop(
    gw: &Gateway,
    opts: &RelocateOptions,
    rec: &mut MoveRecord,
    progress: &Mutex<Progress>,
    latest: &Mutex<MoveRecord>,
) -> Result<()> {
    let bucket = local_bucket(gw, rec).await?;
    gw.moves()
        .begin(
            &rec.bucket_id,
            LocalMove {
                move_id: rec.id.clone(),
                role: MoveRole::Target,
                from_zonegroup: rec.from_zonegroup.clone(),
                to_zonegroup: rec.to_zonegroup.clone(),
                fenced: None,
            },
        )
        .await?;
    let spec = rec.spec();
    loop {
        let site = gw.site();
        let sources = zones_of(gw, &rec.from_zonegroup);
        let mut all_ok = !sources.is_empty();
        // Caught up is what a finished round says; while one runs (or hangs on a source) it is not.
        progress.lock().await.caught_up = false;
        for z in &sources {
            let agent = Agent {
                gw: gw.clone(),
                source: Arc::new(PeerSource::new(z, &site)),
                concurrency: opts.concurrency.max(1),
                fetches: Semaphore::new(opts.concurrency.max(1)),
                wake: Notify::new(),
                log_wake: Arc::new(Notify::new()),
                poll: opts.poll_interval,
                // A move reports its own progress (its record); the sync status's rates are the agents'.
                health: Default::default(),
            };
            let name = copy_state(&rec.id, &z.id);
            let mut st: BucketSync = gw.sync_state().get(&name).await?.unwrap_or_default();
            let outcome = crate::bucket::run(&agent, &bucket, &spec, &name, &mut st).await;
            // The position as saved (a failed page leaves the one before it).
            let saved: BucketSync = gw.sync_state().get(&name).await?.unwrap_or_default();
            let error = outcome.err().map(|e| {
                all_ok = false;
                format!("from {}: {e}", z.name)
            });
            progress.lock().await.sources.insert(z.id.clone(), (saved, error));
        }
        let current = latest.lock().await.clone();
        {
            let mut p = progress.lock().await;
            p.caught_up = all_ok;
            if all_ok && current.phase == MovePhase::Cutover && current.attempt > 0 {
                let drained = sources.iter().all(|z| {
                    let head = current.final_heads.get(&z.id);
                    let pos = p.sources.get(&z.id).map(|(st, _)| st);
                    match (head, pos) {
                        (Some(head), Some(st)) => {
                            st.phase == Phase::Incremental && state::seq(&st.marker) >= state::seq(head)
                        }
                        _ => false,
                    }
                });
                if drained {
                    p.drained_attempt = current.attempt;
                }
            }
        }
        // The master unreachable does not stop the copy (only the phases wait for it).
        match report(gw, &current, progress).await {
            Ok(now) => {
                *latest.lock().await = now.clone();
                *rec = now;
            }
            Err(e) => tracing::debug!(bucket = %spec, error = %e, "bucket move report failed; copying on"),
        }
        if !matches!(rec.phase, MovePhase::Copy | MovePhase::Cutover) {
            return Ok(());
        }
        // In the cut-over, as soon as the fences' heads are known; otherwise after the poll interval.
        if rec.phase == MovePhase::Cutover && all_ok && progress.lock().await.drained_attempt != rec.attempt {
            if rec.final_heads.len() < sources.len() {
                tokio::select! {
                    _ = tokio::time::sleep(opts.poll_interval / 4) => {}
                    _ = WAKE.notified() => {}
                }
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(opts.poll_interval) => {}
            _ = WAKE.notified() => {}
        }
    }
}

async fn report(gw: &Gateway, rec: &MoveRecord, progress: &Mutex<Progress>) -> Result<MoveRecord> {
    let bucket = Bucket {
        tenant: rec.tenant.clone(),
        name: rec.name.clone(),
        bucket_id: rec.bucket_id.clone(),
        owner: String::new(),
        zonegroup: String::new(),
        placement_rule: String::new(),
        creation_time: Timestamp(0),
        versioning: Default::default(),
        ver: Default::default(),
        mtime: Timestamp(0),
        config: Default::default(),
    };
    let stats = gw.buckets().stats(&bucket).await?;
    let r = {
        let p = progress.lock().await;
        let errors: Vec<String> = p.sources.values().filter_map(|(_, e)| e.clone()).collect();
        TargetReport {
            zone_name: gw.site().zone_name.clone(),
            objects: stats.num_objects,
            bytes: stats.size,
            sources: p
                .sources
                .iter()
                .map(|(id, (st, _))| {
                    (
                        id.clone(),
                        SourceProgress {
                            phase: st.phase.name().to_string(),
                            marker: st.marker.clone(),
                        },
                    )
                })
                .collect(),
            caught_up: p.caught_up,
            drained_attempt: p.drained_attempt,
            at: Timestamp::now(),
            error: (!errors.is_empty()).then(|| errors.join("; ")),
        }
    };
    send_report(gw, rec, r).await
}
