//! Data sync from one source zone: the source's data log says which buckets changed; each changed bucket
//! is recorded as pending in the same transaction that moves the data-log marker, and the bucket worker
//! syncs pending buckets, dropping a mark only once its bucket caught up. So no change is ever lost between
//! the two, whatever fails or crashes.

use crate::bucket;
use crate::error::Result;
use crate::state::{self, LogSync, Phase};
use crate::{health, Agent};
use futures::future::BoxFuture;
use futures::StreamExt;
use meridian_gateway::sync_state::SyncStateBatch;
use meridian_model::Timestamp;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const LOG: &str = "data";
const PAGE: usize = 1000;
/// Pending buckets synced at once (their object fetches share the source's concurrency limit).
const BUCKETS_AT_ONCE: usize = 4;
const MAX_BUCKET_BACKOFF: Duration = Duration::from_secs(30);

/// One pass over the data log; true when it recorded something.
pub(crate) async fn datalog_step(agent: &Agent) -> Result<bool> {
    let (gw, src) = (&agent.gw, &agent.source);
    if gw
        .sync_state_get::<LogSync>(&state::log_state(LOG, &src.zone_id))
        .await?
        .is_none()
    {
        init(agent).await?;
        return Ok(true);
    }
    let heads = src.log_heads("data").await?;
    let markers = state::shard_markers(gw, LOG, &src.zone_id).await?;
    let mut progressed = false;
    let mut behind = 0;
    for (shard, head) in heads.iter().enumerate() {
        let shard = shard as u32;
        let mut marker = markers.get(&shard).cloned().unwrap_or_default();
        health::observe_shard(LOG, &src.zone_id, shard, &marker);
        if head.marker > marker {
            let marks = src.datalog(shard, &marker, PAGE).await?;
            if let Some(last) = marks.last() {
                let mut batch = SyncStateBatch::default();
                for m in &marks {
                    batch.put(state::pending(&src.zone_id, &m.bucket_key), &m.marker)?;
                }
                batch.put(state::shard_marker(LOG, &src.zone_id, shard), &last.marker)?;
                gw.sync_state_apply(batch).await?;
                marker = last.marker.clone();
                progressed = true;
            }
        }
        behind += state::seq(&head.marker).saturating_sub(state::seq(&marker));
    }
    crate::metrics::behind(&src.zone_name, LOG, behind);
    if progressed {
        agent.wake.notify_one();
    }
    Ok(progressed)
}

/// A new source: its data-log heads first, then every bucket of the zonegroup marked pending (each gets a
/// full sync), all in one transaction.
async fn init(agent: &Agent) -> Result<()> {
    let (gw, src) = (&agent.gw, &agent.source);
    let heads = src.log_heads("data").await?;
    let buckets = src.buckets().await?;
    let mut batch = SyncStateBatch::default();
    for b in &buckets {
        batch.put(state::pending(&src.zone_id, &b.key), &String::new())?;
    }
    for (shard, head) in heads.iter().enumerate() {
        batch.put(state::shard_marker(LOG, &src.zone_id, shard as u32), &head.marker)?;
    }
    batch.put(
        state::log_state(LOG, &src.zone_id),
        &LogSync {
            phase: Phase::Full,
            started: Timestamp::now(),
            items_total: buckets.iter().map(|b| b.objects).sum(),
            items_done: 0,
        },
    )?;
    gw.sync_state_apply(batch).await?;
    tracing::info!(source_zone = %src.zone_name, buckets = buckets.len(), "data full sync started");
    agent.wake.notify_one();
    Ok(())
}

/// Syncs pending buckets; true when it did something. A bucket that fails waits (growing backoff) while
/// the others go on.
pub(crate) async fn bucket_step(agent: &Agent, retry_at: &mut HashMap<String, (Instant, Duration)>) -> Result<bool> {
    let (gw, src) = (&agent.gw, &agent.source);
    let pending: Vec<(String, String)> = gw.sync_state_scan(&state::pending_prefix(&src.zone_id), 10_000).await?;
    if pending.is_empty() {
        finish_full_sync(agent).await?;
        return Ok(false);
    }
    let now = Instant::now();
    let due: Vec<(String, String)> = pending
        .into_iter()
        .filter(|(key, _)| retry_at.get(key).is_none_or(|(at, _)| *at <= now))
        .collect();
    let syncs: Vec<_> = due
        .into_iter()
        .map(|(key, mark)| -> BoxFuture<'_, (String, String, Result<()>)> {
            Box::pin(async move {
                let r = bucket::sync(agent, &key).await;
                (key, mark, r)
            })
        })
        .collect();
    let results: Vec<(String, String, Result<()>)> = futures::stream::iter(syncs)
        .buffer_unordered(BUCKETS_AT_ONCE)
        .collect()
        .await;
    let mut progressed = false;
    for (key, mark, result) in results {
        match result {
            Ok(()) => {
                retry_at.remove(&key);
                let mut batch = SyncStateBatch::default();
                batch.delete_if(state::pending(&src.zone_id, &key), &mark)?;
                gw.sync_state_apply(batch).await?;
                progressed = true;
            }
            Err(e) => {
                let backoff = retry_at
                    .get(&key)
                    .map_or(Duration::from_millis(500), |(_, b)| (*b * 2).min(MAX_BUCKET_BACKOFF));
                retry_at.insert(key.clone(), (Instant::now() + backoff, backoff));
                health::record_error(LOG, &src.zone_id, &src.zone_name, format!("bucket {key}: {e}"));
            }
        }
    }
    Ok(progressed)
}

/// The first time nothing is pending, the full sync is over.
async fn finish_full_sync(agent: &Agent) -> Result<()> {
    let name = state::log_state(LOG, &agent.source.zone_id);
    if let Some(mut s) = agent.gw.sync_state_get::<LogSync>(&name).await? {
        if s.phase == Phase::Full {
            s.phase = Phase::Incremental;
            let mut batch = SyncStateBatch::default();
            batch.put(name, &s)?;
            agent.gw.sync_state_apply(batch).await?;
            tracing::info!(source_zone = %agent.source.zone_name, "data full sync done");
        }
    }
    Ok(())
}
