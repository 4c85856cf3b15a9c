//! Data sync from one source zone: the source's data log says which buckets changed; each changed bucket
//! is recorded as pending in the same transaction that moves the data-log marker, and the bucket worker
//! syncs pending buckets, dropping a mark only once its bucket caught up. So no change is ever lost between
//! the two, whatever fails or crashes.

use crate::bucket;
use crate::error::Result;
use crate::source::ShardedLog;
use crate::state::{self, LogSync, Phase};
use crate::Agent;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use meridian_gateway::sync_state::SyncStateBatch;
use meridian_model::Timestamp;
use std::collections::{HashMap, HashSet};
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
        .sync_state()
        .get::<LogSync>(&state::log_state(LOG, src.zone_id()))
        .await?
        .is_none()
    {
        init(agent).await?;
        return Ok(true);
    }
    let heads = src.log_heads(ShardedLog::Data).await?;
    let markers = state::shard_markers(gw, LOG, src.zone_id()).await?;
    let mut progressed = false;
    let mut behind = 0;
    for (shard, head) in heads.iter().enumerate() {
        let shard = shard as u32;
        let mut marker = markers.get(&shard).cloned().unwrap_or_default();
        agent.health.observe_shard(LOG, src.zone_id(), shard, &marker);
        if head.marker > marker {
            let marks = src.datalog(shard, &marker, PAGE).await?;
            if let Some(last) = marks.last() {
                let mut batch = SyncStateBatch::default();
                for m in &marks {
                    batch.put(state::pending(src.zone_id(), &m.bucket_key), &m.marker)?;
                }
                batch.put(state::shard_marker(LOG, src.zone_id(), shard), &last.marker)?;
                gw.sync_state().apply(batch).await?;
                marker = last.marker.clone();
                progressed = true;
            }
        }
        behind += state::seq(&head.marker).saturating_sub(state::seq(&marker));
    }
    crate::metrics::behind(src.zone_name(), LOG, behind);
    if progressed {
        agent.wake.notify_one();
    }
    Ok(progressed)
}

/// A new source: its data-log heads first, then every bucket of the zonegroup marked pending (each gets a
/// full sync), all in one transaction.
async fn init(agent: &Agent) -> Result<()> {
    let (gw, src) = (&agent.gw, &agent.source);
    let heads = src.log_heads(ShardedLog::Data).await?;
    let buckets = src.buckets().await?;
    let mut batch = SyncStateBatch::default();
    for b in &buckets {
        batch.put(state::pending(src.zone_id(), &b.key), &String::new())?;
    }
    for (shard, head) in heads.iter().enumerate() {
        batch.put(state::shard_marker(LOG, src.zone_id(), shard as u32), &head.marker)?;
    }
    batch.put(
        state::log_state(LOG, src.zone_id()),
        &LogSync {
            phase: Phase::Full,
            started: Timestamp::now(),
            items_total: buckets.iter().map(|b| b.objects).sum(),
            items_done: 0,
        },
    )?;
    gw.sync_state().apply(batch).await?;
    tracing::info!(source_zone = %src.zone_name(), buckets = buckets.len(), "data full sync started");
    agent.wake.notify_one();
    Ok(())
}

/// A bucket sync running in the worker: its key, the pending mark it started from, and how it ended.
type Running<'a> = BoxFuture<'a, (String, String, Result<()>)>;

/// Syncs pending buckets forever as a work queue: up to `BUCKETS_AT_ONCE` at once, a freed slot taking the
/// next pending bucket at once (not after the others of its round). A bucket that fails waits (growing
/// backoff) while the others go on; a bucket marked again while it syncs stays pending and syncs again.
pub(crate) async fn bucket_worker(agent: &Agent) {
    let src = &agent.source;
    let mut retry_at: HashMap<String, (Instant, Duration)> = HashMap::new();
    let mut running: FuturesUnordered<Running<'_>> = FuturesUnordered::new();
    let mut busy: HashSet<String> = HashSet::new();
    loop {
        if running.len() < BUCKETS_AT_ONCE {
            match refill(agent, &retry_at, &busy).await {
                Ok(next) => {
                    for (key, mark) in next.into_iter().take(BUCKETS_AT_ONCE - running.len()) {
                        busy.insert(key.clone());
                        running.push(Box::pin(async move {
                            let r = bucket::sync(agent, &key).await;
                            (key, mark, r)
                        }));
                    }
                }
                Err(e) => {
                    agent
                        .health
                        .record_error(LOG, src.zone_id(), src.zone_name(), e.to_string());
                    tokio::time::sleep(agent.poll.max(Duration::from_secs(1))).await;
                    continue;
                }
            }
        }
        if running.is_empty() {
            // Idle (or every pending bucket backing off): until a new mark, the poll, or a retry is due.
            let retry = retry_at.values().map(|(at, _)| *at).min();
            let wait = retry.map_or(agent.poll, |at| {
                at.saturating_duration_since(Instant::now()).min(agent.poll)
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = agent.wake.notified() => {}
            }
            continue;
        }
        let done = tokio::select! {
            done = running.next() => done,
            // New marks: fill free slots at once.
            _ = agent.wake.notified(), if running.len() < BUCKETS_AT_ONCE => None,
        };
        let Some((key, mark, result)) = done else {
            continue;
        };
        busy.remove(&key);
        if let Err(e) = finished(agent, &mut retry_at, key, mark, result).await {
            agent
                .health
                .record_error(LOG, src.zone_id(), src.zone_name(), e.to_string());
        }
    }
}

/// The pending buckets to start now (not running, not backing off); ends the full sync when none is
/// pending at all.
async fn refill(
    agent: &Agent,
    retry_at: &HashMap<String, (Instant, Duration)>,
    busy: &HashSet<String>,
) -> Result<Vec<(String, String)>> {
    let pending: Vec<(String, String)> = agent
        .gw
        .sync_state()
        .scan(&state::pending_prefix(agent.source.zone_id()), 10_000)
        .await?;
    if pending.is_empty() {
        finish_full_sync(agent).await?;
    }
    let now = Instant::now();
    Ok(pending
        .into_iter()
        .filter(|(key, _)| !busy.contains(key) && retry_at.get(key).is_none_or(|(at, _)| *at <= now))
        .collect())
}

/// Records how a bucket's sync ended: caught up drops its pending mark (unless marked again meanwhile), a
/// failure sets its backoff.
async fn finished(
    agent: &Agent,
    retry_at: &mut HashMap<String, (Instant, Duration)>,
    key: String,
    mark: String,
    result: Result<()>,
) -> Result<()> {
    let src = &agent.source;
    match result {
        Ok(()) => {
            retry_at.remove(&key);
            let mut batch = SyncStateBatch::default();
            batch.delete_if(state::pending(src.zone_id(), &key), &mark)?;
            agent.gw.sync_state().apply(batch).await?;
        }
        Err(e) => {
            let backoff = retry_at
                .get(&key)
                .map_or(Duration::from_millis(500), |(_, b)| (*b * 2).min(MAX_BUCKET_BACKOFF));
            retry_at.insert(key.clone(), (Instant::now() + backoff, backoff));
            agent
                .health
                .record_error(LOG, src.zone_id(), src.zone_name(), format!("bucket {key}: {e}"));
        }
    }
    Ok(())
}

/// The first time nothing is pending, the full sync is over.
async fn finish_full_sync(agent: &Agent) -> Result<()> {
    let name = state::log_state(LOG, agent.source.zone_id());
    if let Some(mut s) = agent.gw.sync_state().get::<LogSync>(&name).await? {
        if s.phase == Phase::Full {
            s.phase = Phase::Incremental;
            let mut batch = SyncStateBatch::default();
            batch.put(name, &s)?;
            agent.gw.sync_state().apply(batch).await?;
            tracing::info!(source_zone = %agent.source.zone_name(), "data full sync done");
        }
    }
    Ok(())
}
