//! The metadata master's side of a move: the admin verbs (start, cancel, status, the targets' reports) and
//! the driver that advances every move through its phases. Each change of a record is a read-modify-write
//! under one lock, so a cancel and the flip can never both happen; calls to zones happen outside the lock,
//! and every one of them is idempotent.

use super::record::{record_name, MovePhase, MoveRecord, TargetReport, RECORD_PREFIX};
use super::{call_zone, protocol, zones_of, MoveZoneCall, RelocateOptions, REPORTED, WAKE};
use crate::error::{Result, SyncError};
use meridian_gateway::sync_state::SyncStateBatch;
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::{Timestamp, ZoneGroupZone};
use serde_json::{json, Value};
use std::sync::LazyLock;
use tokio::sync::Mutex;

static LOCK: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

/// Reclaim calls per zone and step (each removes up to the whole copy; a few more catch stragglers).
const RECLAIM_PASSES: usize = 4;

pub async fn load(gw: &Gateway, spec: &str) -> Result<Option<MoveRecord>> {
    Ok(gw.sync_state().get(&record_name(spec)).await?)
}

pub async fn load_all(gw: &Gateway) -> Result<Vec<MoveRecord>> {
    Ok(gw
        .sync_state()
        .scan::<MoveRecord>(RECORD_PREFIX, 100_000)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

async fn save(gw: &Gateway, rec: &MoveRecord) -> Result<()> {
    let mut batch = SyncStateBatch::default();
    batch.put(record_name(&rec.spec()), rec)?;
    gw.sync_state().apply(batch).await?;
    publish_metrics(rec);
    Ok(())
}

/// Changes the record of `spec` under the lock if it is still move `id`; returns the record as saved.
async fn update(
    gw: &Gateway,
    spec: &str,
    id: &str,
    f: impl FnOnce(&mut MoveRecord) -> Result<()>,
) -> Result<MoveRecord> {
    let _guard = LOCK.lock().await;
    let mut rec = load(gw, spec)
        .await?
        .filter(|r| r.id == id)
        .ok_or_else(|| protocol(format!("move {id} of bucket {spec} is gone")))?;
    f(&mut rec)?;
    save(gw, &rec).await?;
    Ok(rec)
}

fn master_only(gw: &Gateway) -> Result<()> {
    if gw.site().is_meta_master() {
        Ok(())
    } else {
        Err(GatewayError::NotMetaMaster {
            master_endpoints: gw.site().master_endpoints(),
        }
        .into())
    }
}

/// A zonegroup named by its id or its name.
fn resolve_zonegroup(gw: &Gateway, zg: &str) -> Result<String> {
    let site = gw.site();
    site.zonegroups
        .iter()
        .find(|z| z.id == zg || z.name == zg || z.api_name == zg)
        .map(|z| z.id.clone())
        .ok_or_else(|| {
            GatewayError::InvalidArgument(format!(
                "zonegroup {zg:?} is not known (the zonegroups are {})",
                site.zonegroups
                    .iter()
                    .map(|z| z.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into()
        })
}

fn zonegroup_name(gw: &Gateway, id: &str) -> String {
    gw.site()
        .zonegroups
        .iter()
        .find(|z| z.id == id)
        .map_or_else(|| id.to_string(), |z| z.name.clone())
}

/// `bucket move --bucket B --zonegroup ZG`: records the move (queued); the driver does the rest. Asking
/// again for a move under way answers its record.
pub async fn start(gw: &Gateway, spec: &str, zonegroup: &str, concurrency: usize) -> Result<Value> {
    master_only(gw)?;
    let to = resolve_zonegroup(gw, zonegroup)?;
    let (tenant, name) = meridian_gateway::buckets::split_bucket_name(spec);
    let bucket = gw.buckets().get(&tenant, &name).await?;
    let spec = meridian_gateway::metadata::bucket_spec(&tenant, &name);
    let _guard = LOCK.lock().await;
    if let Some(rec) = load(gw, &spec).await?.filter(|r| !r.phase.is_final()) {
        if rec.phase == MovePhase::Cancelling {
            return Err(GatewayError::Conflict(format!(
                "the cancelled move of bucket {spec} is still reclaiming its partial copies; try again once                  `meridian bucket move status --bucket {spec}` says cancelled"
            ))
            .into());
        }
        if rec.to_zonegroup == to {
            return Ok(status_of(&rec));
        }
        return Err(GatewayError::Conflict(format!(
            "bucket {spec} is already moving to zonegroup {} (phase {}); cancel it first",
            zonegroup_name(gw, &rec.to_zonegroup),
            rec.phase.name()
        ))
        .into());
    }
    if bucket.zonegroup == to {
        return Err(GatewayError::InvalidArgument(format!(
            "bucket {spec} is in zonegroup {} already",
            zonegroup_name(gw, &to)
        ))
        .into());
    }
    if zones_of(gw, &to).is_empty() {
        return Err(GatewayError::InvalidArgument(format!(
            "zonegroup {} has no zone with an endpoint to copy the bucket to",
            zonegroup_name(gw, &to)
        ))
        .into());
    }
    if zones_of(gw, &bucket.zonegroup).is_empty() {
        return Err(GatewayError::InvalidArgument(format!(
            "the bucket's zonegroup {} has no zone with an endpoint to copy from",
            zonegroup_name(gw, &bucket.zonegroup)
        ))
        .into());
    }
    let now = Timestamp::now();
    let rec = MoveRecord {
        id: meridian_gateway::new_id(),
        tenant,
        name,
        bucket_id: bucket.bucket_id.clone(),
        from_zonegroup: bucket.zonegroup.clone(),
        to_zonegroup: to,
        phase: MovePhase::Queued,
        created: now,
        phase_since: now,
        concurrency: concurrency.max(1),
        attempt: 0,
        final_heads: Default::default(),
        fenced: Default::default(),
        held: Default::default(),
        released: Default::default(),
        objects_total: 0,
        bytes_total: 0,
        copy_started: None,
        cutover_started: None,
        flipped_at: None,
        cutover_ms: None,
        reclaimed_objects: 0,
        reclaimed_bytes: 0,
        targets: Default::default(),
        last_error: None,
    };
    save(gw, &rec).await?;
    tracing::info!(bucket = %spec, to = %rec.to_zonegroup, id = %rec.id, "bucket move queued");
    WAKE.notify_waiters();
    Ok(status_of(&rec))
}

/// `bucket move cancel`: before the flip, the bucket stays where it is and the partial copies go.
pub async fn cancel(gw: &Gateway, spec: &str) -> Result<Value> {
    master_only(gw)?;
    let (tenant, name) = meridian_gateway::buckets::split_bucket_name(spec);
    let spec = meridian_gateway::metadata::bucket_spec(&tenant, &name);
    let _guard = LOCK.lock().await;
    let mut rec = load(gw, &spec)
        .await?
        .ok_or_else(|| GatewayError::NotFound(format!("bucket {spec} has no move")))?;
    if rec.phase.cancellable() {
        rec.set_phase(MovePhase::Cancelling);
        save(gw, &rec).await?;
        tracing::info!(bucket = %spec, id = %rec.id, "bucket move cancelled");
        WAKE.notify_waiters();
    } else if !matches!(rec.phase, MovePhase::Cancelling | MovePhase::Cancelled) {
        return Err(GatewayError::Conflict(format!(
            "the move of bucket {spec} is past its cut-over: the bucket is in zonegroup {} now (move it back with \
             `meridian bucket move --bucket {spec} --zonegroup {}`)",
            zonegroup_name(gw, &rec.to_zonegroup),
            zonegroup_name(gw, &rec.from_zonegroup)
        ))
        .into());
    }
    Ok(status_of(&rec))
}

pub fn status_of(rec: &MoveRecord) -> Value {
    rec.status(super::options().grace.as_secs())
}

/// `bucket move status --bucket B`, or every move.
pub async fn status(gw: &Gateway, spec: Option<&str>) -> Result<Value> {
    master_only(gw)?;
    match spec {
        Some(spec) => {
            let (tenant, name) = meridian_gateway::buckets::split_bucket_name(spec);
            let spec = meridian_gateway::metadata::bucket_spec(&tenant, &name);
            let rec = load(gw, &spec)
                .await?
                .ok_or_else(|| GatewayError::NotFound(format!("bucket {spec} has no move")))?;
            Ok(status_of(&rec))
        }
        None => Ok(Value::Array(load_all(gw).await?.iter().map(status_of).collect())),
    }
}

/// The moves a target zone of `zonegroup` copies now (the raw records).
pub async fn work_for(gw: &Gateway, zonegroup: &str) -> Result<Vec<MoveRecord>> {
    master_only(gw)?;
    Ok(load_all(gw)
        .await?
        .into_iter()
        .filter(|r| r.to_zonegroup == zonegroup && matches!(r.phase, MovePhase::Copy | MovePhase::Cutover))
        .collect())
}

/// A target zone's report; answers the record as it is now (the phase, the cut-over's final heads).
pub async fn report(gw: &Gateway, spec: &str, id: &str, zone_id: &str, report: TargetReport) -> Result<MoveRecord> {
    master_only(gw)?;
    let rec = update(gw, spec, id, |rec| {
        if matches!(rec.phase, MovePhase::Copy | MovePhase::Cutover) {
            rec.targets.insert(zone_id.to_string(), report);
        }
        Ok(())
    })
    .await?;
    REPORTED.notify_waiters();
    Ok(rec)
}

/// The driver: on the metadata master, advances every unfinished move, again after each poll interval or
/// at once when a report or a new move arrives.
pub async fn run(gw: Gateway, opts: RelocateOptions) {
    loop {
        if gw.site().is_meta_master() {
            match load_all(&gw).await {
                Ok(records) => {
                    let mut active = records.iter().filter(|r| r.phase.is_active()).count();
                    for rec in records {
                        publish_metrics(&rec);
                        if rec.phase.is_final() {
                            continue;
                        }
                        if rec.phase == MovePhase::Queued {
                            if active >= rec.concurrency {
                                continue;
                            }
                            active += 1;
                        }
                        let spec = rec.spec();
                        if let Err(e) = step(&gw, &opts, rec).await {
                            tracing::warn!(bucket = %spec, error = %e, "bucket move step failed");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the bucket moves"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(opts.poll_interval) => {}
            _ = REPORTED.notified() => {}
            _ = WAKE.notified() => {}
        }
    }
}

fn call(rec: &MoveRecord, op: &str, role: &str) -> MoveZoneCall {
    MoveZoneCall {
        op: op.to_string(),
        move_id: rec.id.clone(),
        bucket: rec.spec(),
        bucket_id: rec.bucket_id.clone(),
        from_zonegroup: rec.from_zonegroup.clone(),
        to_zonegroup: rec.to_zonegroup.clone(),
        attempt: rec.attempt,
        role: role.to_string(),
        require_flip: false,
    }
}

async fn note_error(gw: &Gateway, rec: &MoveRecord, what: String) {
    tracing::warn!(bucket = %rec.spec(), error = %what, "bucket move");
    let _ = update(gw, &rec.spec(), &rec.id, |r| {
        r.last_error = Some(what);
        Ok(())
    })
    .await;
}

async fn step(gw: &Gateway, opts: &RelocateOptions, rec: MoveRecord) -> Result<()> {
    let spec = rec.spec();
    let sources = zones_of(gw, &rec.from_zonegroup);
    let targets = zones_of(gw, &rec.to_zonegroup);
    match rec.phase {
        MovePhase::Queued => {
            update(gw, &spec, &rec.id, |r| {
                if r.phase == MovePhase::Queued {
                    r.set_phase(MovePhase::Prepare);
                }
                Ok(())
            })
            .await?;
            Box::pin(step(gw, opts, load(gw, &spec).await?.ok_or_else(|| protocol("gone"))?)).await
        }
        MovePhase::Prepare => {
            let mut totals = (0u64, 0u64);
            let mut held = Vec::new();
            for z in &sources {
                match call_zone(gw, z, &call(&rec, "hold", "source")).await {
                    Ok(v) => {
                        totals.0 = totals.0.max(v.objects.unwrap_or(0));
                        totals.1 = totals.1.max(v.bytes.unwrap_or(0));
                        held.push(z.id.clone());
                    }
                    Err(e) => note_error(gw, &rec, format!("zone {} cannot hold the bucket: {e}", z.name)).await,
                }
            }
            let all = sources.iter().all(|z| held.contains(&z.id) || rec.held.contains(&z.id));
            update(gw, &spec, &rec.id, |r| {
                r.held.extend(held);
                r.objects_total = r.objects_total.max(totals.0);
                r.bytes_total = r.bytes_total.max(totals.1);
                if all && r.phase == MovePhase::Prepare {
                    r.set_phase(MovePhase::Copy);
                    r.copy_started = Some(Timestamp::now());
                    r.last_error = None;
                    tracing::info!(bucket = %r.spec(), objects = r.objects_total, bytes = r.bytes_total, "bucket move: copy");
                }
                Ok(())
            })
            .await?;
            WAKE.notify_waiters();
            Ok(())
        }
        MovePhase::Copy => {
            // Fences of an abandoned cut-over attempt are lifted first.
            if !rec.fenced.is_empty() {
                let mut lifted = Vec::new();
                for z in sources.iter().filter(|z| rec.fenced.contains(&z.id)) {
                    match call_zone(gw, z, &call(&rec, "unfence", "source")).await {
                        Ok(_) => lifted.push(z.id.clone()),
                        Err(e) => note_error(gw, &rec, format!("zone {} cannot lift its fence: {e}", z.name)).await,
                    }
                }
                let gone: Vec<String> = rec
                    .fenced
                    .iter()
                    .filter(|id| !sources.iter().any(|z| &z.id == *id))
                    .cloned()
                    .collect();
                update(gw, &spec, &rec.id, |r| {
                    for id in lifted.iter().chain(&gone) {
                        r.fenced.remove(id);
                    }
                    Ok(())
                })
                .await?;
                return Ok(());
            }
            // Fresh reports only: a target that stopped reporting (down, cut off) would not drain.
            let fresh_ns = (opts.poll_interval * 5)
                .max(std::time::Duration::from_secs(2))
                .as_nanos() as u64;
            let now = Timestamp::now();
            let ready = !targets.is_empty()
                && targets.iter().all(|t| {
                    rec.targets.get(&t.id).is_some_and(|r| {
                        r.caught_up
                            && r.at >= rec.phase_since
                            && now.0.saturating_sub(r.at.0) <= fresh_ns
                            && sources
                                .iter()
                                .all(|s| r.sources.get(&s.id).is_some_and(|p| p.phase == "incremental"))
                    })
                });
            if ready {
                let sources_ids: Vec<String> = sources.iter().map(|z| z.id.clone()).collect();
                let rec = update(gw, &spec, &rec.id, |r| {
                    if r.phase == MovePhase::Copy {
                        r.attempt += 1;
                        r.set_phase(MovePhase::Cutover);
                        r.cutover_started = Some(Timestamp::now());
                        r.final_heads.clear();
                        // Recorded before any zone is fenced: an abandoned attempt lifts them all.
                        r.fenced = sources_ids.into_iter().collect();
                    }
                    Ok(())
                })
                .await?;
                tracing::info!(bucket = %spec, attempt = rec.attempt, "bucket move: cut-over");
                return Box::pin(step(gw, opts, rec)).await;
            }
            Ok(())
        }
        MovePhase::Cutover => cutover(gw, opts, rec, &sources, &targets).await,
        MovePhase::Cleanup => {
            for z in targets.iter().filter(|z| !rec.released.contains(&z.id)) {
                let mut c = call(&rec, "release", "target");
                c.require_flip = true;
                match call_zone(gw, z, &c).await {
                    Ok(_) => mark_released(gw, &rec, &z.id, (0, 0)).await?,
                    Err(e) => note_error(gw, &rec, format!("target zone {}: {e}", z.name)).await,
                }
            }
            let due = rec
                .flipped_at
                .is_none_or(|t| Timestamp::now().0 >= t.0.saturating_add(opts.grace.as_nanos() as u64));
            if due {
                for z in sources.iter().filter(|z| !rec.released.contains(&z.id)) {
                    match reclaim_and_release(gw, &rec, z, "source").await {
                        Ok(r) => mark_released(gw, &rec, &z.id, r).await?,
                        Err(e) => note_error(gw, &rec, format!("source zone {}: {e}", z.name)).await,
                    }
                }
            }
            finish_if_released(gw, &rec, &sources, &targets, MovePhase::Done).await
        }
        MovePhase::Cancelling => {
            for z in targets.iter().filter(|z| !rec.released.contains(&z.id)) {
                match reclaim_and_release(gw, &rec, z, "target").await {
                    Ok(r) => mark_released(gw, &rec, &z.id, r).await?,
                    Err(e) => note_error(gw, &rec, format!("target zone {}: {e}", z.name)).await,
                }
            }
            for z in sources.iter().filter(|z| !rec.released.contains(&z.id)) {
                match call_zone(gw, z, &call(&rec, "release", "source")).await {
                    Ok(_) => mark_released(gw, &rec, &z.id, (0, 0)).await?,
                    Err(e) => note_error(gw, &rec, format!("source zone {}: {e}", z.name)).await,
                }
            }
            finish_if_released(gw, &rec, &sources, &targets, MovePhase::Cancelled).await
        }
        MovePhase::Done | MovePhase::Cancelled => Ok(()),
    }
}

/// Removes a zone's copy (until a pass finds nothing left) and then its record of the move.
async fn reclaim_and_release(gw: &Gateway, rec: &MoveRecord, z: &ZoneGroupZone, role: &str) -> Result<(u64, u64)> {
    let mut total = (0, 0);
    for _ in 0..RECLAIM_PASSES {
        let v = call_zone(gw, z, &call(rec, "reclaim", role)).await?;
        let (o, b) = (v.objects.unwrap_or(0), v.bytes.unwrap_or(0));
        total.0 += o;
        total.1 += b;
        if o == 0 {
            let mut c = call(rec, "release", role);
            c.require_flip = role == "source";
            call_zone(gw, z, &c).await?;
            return Ok(total);
        }
    }
    Err(protocol(format!(
        "zone {} still had objects after {RECLAIM_PASSES} passes",
        z.name
    )))
}

async fn mark_released(gw: &Gateway, rec: &MoveRecord, zone_id: &str, reclaimed: (u64, u64)) -> Result<()> {
    update(gw, &rec.spec(), &rec.id, |r| {
        r.released.insert(zone_id.to_string());
        r.reclaimed_objects += reclaimed.0;
        r.reclaimed_bytes += reclaimed.1;
        Ok(())
    })
    .await?;
    Ok(())
}

async fn finish_if_released(
    gw: &Gateway,
    rec: &MoveRecord,
    sources: &[ZoneGroupZone],
    targets: &[ZoneGroupZone],
    last: MovePhase,
) -> Result<()> {
    let Some(current) = load(gw, &rec.spec()).await?.filter(|r| r.id == rec.id) else {
        return Ok(());
    };
    if !sources.iter().chain(targets).all(|z| current.released.contains(&z.id)) {
        return Ok(());
    }
    update(gw, &rec.spec(), &rec.id, |r| {
        if sources.iter().chain(targets).all(|z| r.released.contains(&z.id)) && r.phase != last {
            r.set_phase(last);
            r.last_error = None;
            tracing::info!(bucket = %r.spec(), phase = last.name(), "bucket move finished");
        }
        Ok(())
    })
    .await?;
    Ok(())
}

/// The cut-over: fence every source zone (each answers its bilog head at the fence), let the targets apply
/// everything up to those heads, then flip the bucket's zonegroup. An attempt that does not finish in time
/// is abandoned: back to copy, whose first step lifts the fences.
async fn cutover(
    gw: &Gateway,
    opts: &RelocateOptions,
    rec: MoveRecord,
    sources: &[ZoneGroupZone],
    targets: &[ZoneGroupZone],
) -> Result<()> {
    let spec = rec.spec();
    let started = rec.cutover_started.unwrap_or(rec.phase_since);
    if Timestamp::now().0.saturating_sub(started.0) > opts.cutover_timeout.as_nanos() as u64 {
        update(gw, &spec, &rec.id, |r| {
            if r.phase == MovePhase::Cutover && r.attempt == rec.attempt {
                r.set_phase(MovePhase::Copy);
                r.last_error = Some(format!(
                    "cut-over attempt {} did not finish within {:?}; writes accepted again, the copy goes on",
                    r.attempt, opts.cutover_timeout
                ));
            }
            Ok(())
        })
        .await?;
        tracing::warn!(bucket = %spec, attempt = rec.attempt, "bucket move: cut-over abandoned (timeout)");
        return Ok(());
    }
    // Fence the source zones not fenced yet (all at once: the writes are held meanwhile).
    let missing: Vec<&ZoneGroupZone> = sources
        .iter()
        .filter(|z| !rec.final_heads.contains_key(&z.id))
        .collect();
    if !missing.is_empty() {
        let calls = missing.iter().map(|z| {
            let c = call(&rec, "fence", "source");
            async move { (z.id.clone(), z.name.clone(), call_zone(gw, z, &c).await) }
        });
        let answers = futures::future::join_all(calls).await;
        let mut heads = Vec::new();
        for (id, name, answer) in answers {
            match answer {
                Ok(v) => heads.push((id, v.head.unwrap_or_default())),
                Err(e) => note_error(gw, &rec, format!("zone {name} cannot fence the bucket: {e}")).await,
            }
        }
        let attempt = rec.attempt;
        let rec = update(gw, &spec, &rec.id, |r| {
            if r.phase == MovePhase::Cutover && r.attempt == attempt {
                r.final_heads.extend(heads);
            }
            Ok(())
        })
        .await?;
        if sources.iter().all(|z| rec.final_heads.contains_key(&z.id)) {
            wake(gw, &rec, targets).await;
        }
        return Ok(());
    }
    let drained = targets
        .iter()
        .all(|t| rec.targets.get(&t.id).is_some_and(|r| r.drained_attempt == rec.attempt));
    if !drained {
        return Ok(());
    }
    // The flip, under the lock: a cancel cannot slip between the check and it.
    let flipped = {
        let _guard = LOCK.lock().await;
        let Some(mut r) = load(gw, &spec).await?.filter(|r| r.id == rec.id) else {
            return Ok(());
        };
        if r.phase != MovePhase::Cutover || r.attempt != rec.attempt {
            return Ok(());
        }
        gw.moves()
            .flip_zonegroup(&r.tenant, &r.name, &r.bucket_id, &r.to_zonegroup)
            .await
            .map_err(SyncError::from)?;
        let now = Timestamp::now();
        r.flipped_at = Some(now);
        r.cutover_ms = Some(now.0.saturating_sub(started.0) / 1_000_000);
        r.set_phase(MovePhase::Cleanup);
        r.last_error = None;
        save(gw, &r).await?;
        r
    };
    tracing::info!(bucket = %spec, cutover_ms = ?flipped.cutover_ms, "bucket move: zonegroup flipped");
    // Every zone learns the flip through metadata sync; asking them to copy it now shortens the window in
    // which a client bounces between a fenced source and a target that does not know yet.
    for z in sources.iter().chain(targets) {
        let (gw, z, c) = (gw.clone(), z.clone(), call(&flipped, "refresh", "any"));
        tokio::spawn(async move {
            if let Err(e) = call_zone(&gw, &z, &c).await {
                tracing::debug!(zone = %z.name, error = %e, "refresh after the flip failed (metadata sync brings it)");
            }
        });
    }
    Ok(())
}

/// Tells the target zones to copy now (in the background: a target that hangs must not hold the driver).
async fn wake(gw: &Gateway, rec: &MoveRecord, targets: &[ZoneGroupZone]) {
    for z in targets {
        let (gw, z, c) = (gw.clone(), z.clone(), call(rec, "wake", "target"));
        tokio::spawn(async move {
            let _ = call_zone(&gw, &z, &c).await;
        });
    }
}

/// The move's Prometheus series (on the metadata master's `/metrics`).
fn publish_metrics(rec: &MoveRecord) {
    let bucket = rec.spec();
    let (objects, bytes) = rec.copied();
    metrics::gauge!("meridian_bucket_move_objects_copied", "bucket" => bucket.clone()).set(objects as f64);
    metrics::gauge!("meridian_bucket_move_objects_total", "bucket" => bucket.clone())
        .set(rec.objects_total.max(objects) as f64);
    metrics::gauge!("meridian_bucket_move_bytes_copied", "bucket" => bucket.clone()).set(bytes as f64);
    metrics::gauge!("meridian_bucket_move_bytes_total", "bucket" => bucket.clone())
        .set(rec.bytes_total.max(bytes) as f64);
    for p in [
        MovePhase::Queued,
        MovePhase::Prepare,
        MovePhase::Copy,
        MovePhase::Cutover,
        MovePhase::Cleanup,
        MovePhase::Done,
        MovePhase::Cancelling,
        MovePhase::Cancelled,
    ] {
        metrics::gauge!("meridian_bucket_move_phase", "bucket" => bucket.clone(), "phase" => p.name())
            .set(if p == rec.phase { 1.0 } else { 0.0 });
    }
    if let Some(ms) = rec.cutover_ms {
        metrics::gauge!("meridian_bucket_move_cutover_seconds", "bucket" => bucket).set(ms as f64 / 1000.0);
    }
}

/// `json!` of a record for the copy workers.
pub fn raw(rec: &MoveRecord) -> Value {
    serde_json::to_value(rec).unwrap_or(json!(null))
}
