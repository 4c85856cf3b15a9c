//! The sync status documents (`GET /admin/sync/status`, `GET /admin/sync/bucket`) and the markers a peer
//! reads to trim its logs (`GET /admin/sync/markers`). Status compares this zone's persisted progress with
//! the source's log heads, asked live, so it tells the truth even when the agents are stuck.

use crate::error::Result;
use crate::source::{PeerSource, ShardedLog, Source};
use crate::state::{self, BucketSync, LogSync, Phase};
use crate::{data, meta, SyncHealth};
use meridian_gateway::Gateway;
use meridian_model::{Timestamp, ZoneGroupZone};
use meridian_peer::proto::sync_status::{
    BucketSource, BucketSyncStatus, Fallback, FullSync, MetadataStatus, Named, SetAside, Shards, SourceStatus,
    SyncMarkers, SyncStatus,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// A shard behind its source that has not moved for this long is stalled.
const STALL_AFTER: Duration = Duration::from_secs(30);
/// A status must answer even while a link to a source hangs.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Behind shards asked for their oldest entries.
const AGE_PROBES: usize = 16;
/// Set-aside metadata entries listed in the status (the first ones by key).
const SET_ASIDE_SHOWN: usize = 20;
/// Data-log entries read per behind shard to learn which buckets are behind.
const DATALOG_PROBE: usize = 100;
/// Buckets behind whose index logs a status reads (counts beyond are lower bounds).
const BUCKET_PROBES: usize = 32;
/// Bucket-index-log entries read per bucket behind to find its oldest change not applied.
const BILOG_PROBE: usize = 100;

pub async fn sync_status(gw: &Gateway, health: &SyncHealth) -> Result<SyncStatus> {
    let site = gw.site();
    let sources = crate::sources(&site);
    let zonegroup_name = site
        .zonegroup(&site.zonegroup_id)
        .map(|z| z.name.clone())
        .unwrap_or_default();
    let mut data = Vec::new();
    let mut metadata = MetadataStatus {
        role: if site.is_meta_master() { "master" } else { "secondary" }.to_string(),
        source: None,
    };
    let docs = futures::future::join_all(sources.iter().map(|(log, zone)| source_status(gw, health, log, zone))).await;
    for ((log, _), doc) in sources.iter().zip(docs) {
        let doc = doc?;
        if *log == meta::LOG {
            metadata.source = Some(doc);
        } else {
            data.push(doc);
        }
    }
    Ok(SyncStatus {
        realm: site.realm.as_ref().map(|r| Named::new(&r.id, &r.name)),
        zonegroup: Named::new(&site.zonegroup_id, &zonegroup_name),
        zone: Named::new(&site.zone_id, &site.zone_name),
        metadata,
        data,
    })
}

async fn source_status(gw: &Gateway, health: &SyncHealth, log: &str, zone: &ZoneGroupZone) -> Result<SourceStatus> {
    let site = gw.site();
    let source = PeerSource::new(zone, &site).with_timeout(PROBE_TIMEOUT);
    let progress: Option<LogSync> = gw.sync_state().get(&state::log_state(log, &zone.id)).await?;
    let markers = state::shard_markers(gw, log, &zone.id).await?;
    let is_data = log == data::LOG;
    let pending = if is_data {
        gw.sync_state()
            .count(&state::pending_prefix(&zone.id), usize::MAX)
            .await?
    } else {
        0
    };
    let (mut items_done, mut bytes_done) = (progress.as_ref().map_or(0, |p| p.items_done), 0u64);
    if is_data {
        for (_, b) in gw
            .sync_state()
            .scan::<BucketSync>(&state::bucket_prefix(&zone.id), usize::MAX)
            .await?
        {
            items_done += b.objects_done;
            bytes_done += b.bytes_done;
        }
    }
    let health = health.snapshot(log, &zone.id);
    let mut last_error = health.last_error.as_ref().map(|(m, _)| m.clone());
    let mut last_error_age = health.last_error.as_ref().map(|(_, t)| crate::since(*t));
    let phase = progress.as_ref().map_or("init", |p| p.phase.name());
    let shards_total = if is_data {
        meridian_gateway::logs::LogKind::Data.shards()
    } else {
        meridian_gateway::logs::LogKind::Metadata.shards()
    } as u64;
    let (full, incremental) = match progress.as_ref().map(|p| p.phase) {
        Some(Phase::Incremental) => (0, shards_total),
        _ => (shards_total, 0),
    };
    // Metadata entries this zone could not apply (the shards went on past them; see meta.rs).
    let set_aside = gw
        .sync_state()
        .scan::<state::RetryEntry>(&state::retry_prefix(log, &zone.id), SET_ASIDE_SHOWN)
        .await?;
    let mut doc = SourceStatus {
        source_zone: Named::new(&zone.id, &zone.name),
        reachable: true,
        phase: phase.to_string(),
        caught_up: false,
        behind_entries: Some(0),
        shards: Shards {
            total: Some(shards_total),
            full: Some(full),
            incremental: Some(incremental),
            behind: Vec::new(),
        },
        full_sync: Some(FullSync {
            items_done,
            items_total: progress.as_ref().map_or(0, |p| p.items_total),
            bytes_done,
        }),
        errors: Some(health.errors),
        pending_buckets: is_data.then_some(pending as u64),
        set_aside_entries: (!is_data).then(|| {
            set_aside
                .iter()
                .map(|(key, e)| SetAside {
                    key: key.clone(),
                    error: e.error.clone(),
                    attempts: u64::from(e.attempts),
                    first_failed: e.first_failed.to_rfc3339(),
                })
                .collect()
        }),
        full_sync_fallbacks: gw
            .sync_state()
            .get::<Vec<Fallback>>(&crate::gap::fallbacks_name(log, &zone.id))
            .await?
            .unwrap_or_default(),
        ..SourceStatus::default()
    };
    match source
        .log_heads(if is_data {
            ShardedLog::Data
        } else {
            ShardedLog::Metadata
        })
        .await
    {
        Err(e) => {
            doc.reachable = false;
            last_error = Some(format!("cannot read the source's log: {e}"));
            last_error_age = Some(0.0);
        }
        Ok(heads) => {
            let mut behind_entries = 0u64;
            let mut behind = Vec::new();
            let mut stalled = Vec::new();
            for (shard, head) in heads.iter().enumerate() {
                let shard = shard as u32;
                let marker = markers.get(&shard).map(String::as_str).unwrap_or("");
                if head.marker.as_str() <= marker {
                    continue;
                }
                behind_entries += state::seq(&head.marker).saturating_sub(state::seq(marker));
                behind.push(shard);
                if health
                    .shards
                    .get(&shard)
                    .is_some_and(|(seen, since)| seen == marker && since.elapsed() > STALL_AFTER)
                {
                    stalled.push(u64::from(shard));
                }
            }
            let behind_counts = if is_data {
                data_behind(gw, &source, &zone.id, &markers, &behind, progress.as_ref()).await?
            } else {
                meta_behind(&source, &markers, &behind, behind_entries).await
            };
            let oldest = behind_counts.oldest;
            let rate = health.rate();
            let full_left = progress
                .as_ref()
                .filter(|p| p.phase == Phase::Full)
                .map_or(0, |p| p.items_total.saturating_sub(items_done));
            let left = behind_counts.changes.max(full_left);
            doc.changes_behind = Some(behind_counts.changes);
            doc.behind_buckets = is_data.then_some(behind_counts.buckets);
            doc.counts_exact = behind_counts.exact;
            doc.apply_rate = Some((rate * 10.0).round() / 10.0);
            doc.eta_secs = (left > 0 && rate > 0.0).then(|| left as f64 / rate);
            doc.caught_up = progress.as_ref().is_some_and(|p| p.phase == Phase::Incremental)
                && behind_entries == 0
                && pending == 0
                && set_aside.is_empty();
            doc.behind_entries = Some(behind_entries);
            doc.oldest_change_age_secs = oldest.map(|t| Timestamp::now().0.saturating_sub(t.0) as f64 / 1e9);
            doc.shards.behind = behind.into_iter().map(u64::from).collect();
            doc.stalled_shards = stalled;
        }
    }
    doc.last_error = last_error;
    doc.last_error_age_secs = last_error_age;
    Ok(doc)
}

/// How far behind a source is, beyond its log's own entries.
struct Behind {
    /// Changes not applied yet: bucket index log entries of the buckets behind (data), or metadata log
    /// entries (metadata).
    changes: u64,
    /// Buckets with changes not applied yet (data).
    buckets: u64,
    /// The time of the oldest change not applied yet.
    oldest: Option<Timestamp>,
    /// False when there was more to look at than a status probes (the counts are then lower bounds).
    exact: bool,
}

/// Metadata log entries are one per change, so the oldest one past a shard's marker is the oldest change not
/// applied.
async fn meta_behind(source: &PeerSource, markers: &HashMap<u32, String>, behind: &[u32], entries: u64) -> Behind {
    let firsts = futures::future::join_all(behind.iter().take(AGE_PROBES).map(|&shard| {
        let marker = markers.get(&shard).cloned().unwrap_or_default();
        async move {
            source
                .mdlog(shard, &marker, 1)
                .await
                .ok()
                .and_then(|m| m.first().map(|e| e.timestamp))
        }
    }))
    .await;
    Behind {
        changes: entries,
        buckets: 0,
        oldest: firsts.into_iter().flatten().min(),
        exact: behind.len() <= AGE_PROBES,
    }
}

/// A data-log mark only says a bucket changed (marks coalesce: its time is the bucket's LAST change), so the
/// buckets behind are the pending ones and those named past the data-log markers, and for each the source's
/// bucket index log tells how many changes are not applied and when the oldest of them was made.
async fn data_behind(
    gw: &Gateway,
    source: &PeerSource,
    zone_id: &str,
    markers: &HashMap<u32, String>,
    behind: &[u32],
    progress: Option<&LogSync>,
) -> Result<Behind> {
    let mut exact = behind.len() <= AGE_PROBES;
    let pending_total = gw
        .sync_state()
        .count(&state::pending_prefix(zone_id), usize::MAX)
        .await?;
    let mut buckets: BTreeSet<String> = gw
        .sync_state()
        .scan::<String>(&state::pending_prefix(zone_id), BUCKET_PROBES)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    exact &= pending_total <= BUCKET_PROBES;
    let named = futures::future::join_all(behind.iter().take(AGE_PROBES).map(|&shard| {
        let marker = markers.get(&shard).cloned().unwrap_or_default();
        async move { source.datalog(shard, &marker, DATALOG_PROBE).await }
    }))
    .await;
    let mut datalog_oldest: Option<Timestamp> = None;
    for marks in named {
        match marks {
            Ok(marks) => {
                exact &= marks.len() < DATALOG_PROBE;
                for m in marks {
                    datalog_oldest = Some(datalog_oldest.map_or(m.timestamp, |o| o.min(m.timestamp)));
                    buckets.insert(m.bucket_key);
                }
            }
            Err(_) => exact = false,
        }
    }
    let count = (buckets.len() as u64).max(pending_total as u64);
    let full_started = progress.filter(|p| p.phase == Phase::Full).map(|p| p.started);
    let probes = futures::future::join_all(
        buckets
            .iter()
            .take(BUCKET_PROBES)
            .map(|key| bucket_behind(gw, source, zone_id, key, full_started)),
    )
    .await;
    exact &= buckets.len() <= BUCKET_PROBES;
    let mut out = Behind {
        changes: 0,
        buckets: count,
        oldest: None,
        exact,
    };
    for probe in probes {
        match probe {
            Some((changes, oldest)) => {
                out.changes += changes;
                if let Some(t) = oldest {
                    out.oldest = Some(out.oldest.map_or(t, |o| o.min(t)));
                }
            }
            None => out.exact = false,
        }
    }
    // Without any bucket answer, the data log's marks are the best lower bound there is.
    if out.oldest.is_none() && out.changes == 0 {
        out.oldest = datalog_oldest;
    }
    Ok(out)
}

/// One bucket `tenant:name:bucket_id` behind its source: the changes of its index log this zone has not
/// applied, and the time of the oldest (the first past this zone's position that did not come from this
/// zone). A bucket whose full sync has not finished counts from the start of its log (or of the full sync).
/// `None` when the source could not be asked.
async fn bucket_behind(
    gw: &Gateway,
    source: &PeerSource,
    zone_id: &str,
    key: &str,
    full_started: Option<Timestamp>,
) -> Option<(u64, Option<Timestamp>)> {
    let mut parts = key.rsplitn(3, ':');
    let (Some(id), Some(name), tenant) = (parts.next(), parts.next(), parts.next().unwrap_or_default()) else {
        return Some((0, None));
    };
    let spec = meridian_gateway::metadata::bucket_spec(tenant, name);
    let st: Option<BucketSync> = gw.sync_state().get(&state::bucket(zone_id, id)).await.ok()?;
    let incremental = st.as_ref().is_some_and(|s| s.phase == Phase::Incremental);
    let from = st.as_ref().map(|s| s.needed_from().to_string()).unwrap_or_default();
    let head = match source.bilog_head(&spec).await {
        Ok(h) => h,
        Err(e) if e.is_not_found() => return Some((0, None)),
        Err(_) => return None,
    };
    let behind = state::seq(&head).saturating_sub(state::seq(&from));
    if incremental && behind == 0 {
        return Some((0, None));
    }
    let me = gw.site().zone_id.clone();
    let entries = source.bilog(&spec, &from, BILOG_PROBE).await.ok()?;
    let foreign: Vec<_> = entries.iter().filter(|e| !e.zones_trace.contains(&me)).collect();
    let oldest = foreign.first().map(|e| e.timestamp);
    // The whole rest of the log was read: echoes of this zone's own writes are not changes to apply.
    let changes = if entries.len() < BILOG_PROBE {
        foreign.len() as u64
    } else {
        behind
    };
    let oldest = match (incremental, oldest, full_started) {
        (false, Some(t), Some(started)) => Some(t.min(started)),
        (false, None, Some(started)) if behind > 0 => Some(started),
        (_, t, _) => t,
    };
    Some((changes, oldest))
}

/// Per source zone, where one bucket's sync stands.
pub async fn bucket_status(gw: &Gateway, spec: &str) -> Result<BucketSyncStatus> {
    let bucket = gw.buckets().info(spec).await?;
    let site = gw.site();
    let key = meridian_gateway::logs::bucket_log_key(&bucket);
    let mut sources = Vec::new();
    for (log, zone) in crate::sources(&site) {
        if log != data::LOG {
            continue;
        }
        let st: Option<BucketSync> = gw.sync_state().get(&state::bucket(&zone.id, &bucket.bucket_id)).await?;
        let pending = gw
            .sync_state()
            .get::<String>(&state::pending(&zone.id, &key))
            .await?
            .is_some();
        let source = PeerSource::new(&zone, &site).with_timeout(PROBE_TIMEOUT);
        let marker = st.as_ref().map(|s| s.needed_from().to_string()).unwrap_or_default();
        let mut doc = BucketSource {
            source_zone: Named::new(&zone.id, &zone.name),
            phase: st.as_ref().map_or("none", |s| s.phase.name()).to_string(),
            marker: Some(marker.clone()),
            pending,
            ..BucketSource::default()
        };
        match source.bilog_head(spec).await {
            Ok(head) => {
                let behind = state::seq(&head).saturating_sub(state::seq(&marker));
                let incremental = st.as_ref().is_some_and(|s| s.phase == Phase::Incremental);
                doc.caught_up = incremental && behind == 0 && !pending;
                doc.behind_entries = Some(behind);
                doc.source_head = Some(head);
            }
            Err(e) => doc.last_error = Some(format!("cannot read the source's bucket index log: {e}")),
        }
        sources.push(doc);
    }
    Ok(BucketSyncStatus {
        bucket: spec.to_string(),
        bucket_id: bucket.bucket_id,
        sources,
    })
}

/// What this zone has synced from `source_zone`, and still needs: shard markers of both logs, each
/// bucket's position, and buckets about to start over (pending without a position yet).
pub async fn markers(gw: &Gateway, source_zone: &str) -> Result<SyncMarkers> {
    let mut logs = Vec::new();
    for log in [meta::LOG, data::LOG] {
        let started = gw
            .sync_state()
            .get::<LogSync>(&state::log_state(log, source_zone))
            .await?
            .is_some();
        let shards: BTreeMap<u32, String> = gw
            .sync_state()
            .scan::<String>(&state::shard_prefix(log, source_zone), 10_000)
            .await?
            .into_iter()
            .map(|(s, m)| (s.trim_start_matches('0').parse::<u32>().unwrap_or(0), m))
            .collect();
        logs.push(started.then_some(shards));
    }
    let data = logs.pop().flatten();
    let metadata = logs.pop().flatten();
    let buckets = gw
        .sync_state()
        .scan::<BucketSync>(&state::bucket_prefix(source_zone), usize::MAX)
        .await?
        .into_iter()
        .map(|(id, b)| (id, b.needed_from().to_string()))
        .collect();
    let pending = gw
        .sync_state()
        .scan::<String>(&state::pending_prefix(source_zone), usize::MAX)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    Ok(SyncMarkers {
        metadata,
        data,
        buckets,
        pending,
    })
}
