//! Metadata sync: a zone that is not the metadata master copies every user and bucket from the master
//! (full sync), then replays the master's metadata log from where the full sync began (incremental).
//! Entries are stored with the master's version; a stale one never overwrites a newer one.

use crate::error::Result;
use crate::source::ShardedLog;
use crate::state::{self, LogSync, Phase, RetryEntry};
use crate::Agent;
use meridian_gateway::sync_state::SyncStateBatch;
use meridian_gateway::GatewayError;
use meridian_model::{LogShardInfo, Timestamp};
use meridian_multisite as multisite;

pub const LOG: &str = "metadata";
const PAGE: usize = 100;

/// One pass; true when it did something (the caller polls again at once).
pub(crate) async fn step(agent: &Agent) -> Result<bool> {
    let gw = &agent.gw;
    let src = &agent.source;
    let current: Option<LogSync> = gw.sync_state().get(&state::log_state(LOG, src.zone_id())).await?;
    if current.is_none_or(|s| s.phase == Phase::Full) {
        full_sync(agent).await?;
        return Ok(true);
    }
    let heads = src.log_heads(ShardedLog::Metadata).await?;
    let markers = state::shard_markers(gw, LOG, src.zone_id()).await?;
    let mut progressed = false;
    let mut behind = 0;
    let mut first_error = None;
    for (shard, head) in heads.iter().enumerate() {
        let shard = shard as u32;
        let marker = markers.get(&shard).cloned().unwrap_or_default();
        agent.health.observe_shard(LOG, src.zone_id(), shard, &marker);
        if head.marker <= marker {
            continue;
        }
        // A failing shard (say, a user whose buckets' removals sit in another shard) must not hold the others.
        match sync_shard(agent, shard, &marker).await {
            Ok(Some(new_marker)) => {
                progressed = true;
                behind += state::seq(&head.marker).saturating_sub(state::seq(&new_marker));
            }
            Ok(None) => {}
            Err(e) => {
                behind += state::seq(&head.marker).saturating_sub(state::seq(&marker));
                first_error.get_or_insert(e);
            }
        }
    }
    crate::metrics::behind(src.zone_name(), LOG, behind);
    match retry_parked(agent).await {
        Ok(applied) => progressed |= applied,
        Err(e) => {
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(progressed),
    }
}

/// Applies one page of a shard; returns the new marker if it moved. Each applied entry moves it, so a
/// failure part-way keeps what was done.
async fn sync_shard(agent: &Agent, shard: u32, marker: &str) -> Result<Option<String>> {
    let (gw, src) = (&agent.gw, &agent.source);
    let entries = src.mdlog(shard, marker, PAGE).await?;
    let mut done = None;
    let mut outcome = Ok(());
    let mut batch = SyncStateBatch::default();
    for e in &entries {
        if let Err(err) = multisite::copy_entry_from_master(gw, &e.key).await {
            if is_transient(&err) {
                outcome = Err(err.into());
                break;
            }
            park(agent, &mut batch, &e.key, &err)?;
        }
        crate::metrics::lag(src.zone_name(), LOG, e.timestamp);
        done = Some(e.id.clone());
    }
    if let Some(m) = &done {
        batch.put(state::shard_marker(LOG, src.zone_id(), shard), m)?;
        gw.sync_state().apply(batch).await?;
        agent
            .health
            .applied(LOG, src.zone_id(), state::seq(m).saturating_sub(state::seq(marker)));
    }
    outcome.map(|()| done)
}

/// A failure that says nothing about the entry (the master or the local store is unavailable): the shard
/// waits and tries again. Any other failure is the entry's own, and must not hold the entries behind it.
fn is_transient(e: &GatewayError) -> bool {
    matches!(e, GatewayError::MasterUnavailable(_) | GatewayError::Store(_))
}

/// Records an entry that could not be applied, in the batch that moves past it, for `retry_parked`.
fn park(agent: &Agent, batch: &mut SyncStateBatch, key: &str, err: &GatewayError) -> Result<()> {
    let src = &agent.source;
    agent.health.record_error(
        LOG,
        src.zone_id(),
        src.zone_name(),
        format!("{key}: {err} (set aside, retried later)"),
    );
    let now = Timestamp::now();
    batch.put(
        state::retry(LOG, src.zone_id(), key),
        &RetryEntry {
            error: err.to_string(),
            attempts: 1,
            first_failed: now,
            last_attempt: now,
        },
    )?;
    Ok(())
}

/// Tries the set-aside entries that are due again; true when one applied. The master's current record is
/// copied, so an entry retried late still ends as the master has it.
async fn retry_parked(agent: &Agent) -> Result<bool> {
    let (gw, src) = (&agent.gw, &agent.source);
    let prefix = state::retry_prefix(LOG, src.zone_id());
    let now = Timestamp::now();
    let mut applied = false;
    for (key, mut entry) in gw.sync_state().scan::<RetryEntry>(&prefix, PAGE).await? {
        if !entry.due(now) {
            continue;
        }
        let mut batch = SyncStateBatch::default();
        match multisite::copy_entry_from_master(gw, &key).await {
            Ok(()) => {
                tracing::info!(source_zone = %src.zone_name(), %key, attempts = entry.attempts, "set-aside metadata entry applied");
                batch.delete(state::retry(LOG, src.zone_id(), &key));
                applied = true;
            }
            Err(e) if is_transient(&e) => return Err(e.into()),
            Err(e) => {
                entry.attempts += 1;
                entry.last_attempt = now;
                entry.error = e.to_string();
                batch.put(state::retry(LOG, src.zone_id(), &key), &entry)?;
            }
        }
        gw.sync_state().apply(batch).await?;
    }
    Ok(applied)
}

/// The heads are read first: whatever changes during the copy is in the log after them.
async fn full_sync(agent: &Agent) -> Result<()> {
    let (gw, src) = (&agent.gw, &agent.source);
    let heads: Vec<LogShardInfo> = src.log_heads(ShardedLog::Metadata).await?;
    let mut keys = Vec::new();
    for section in ["user", "bucket"] {
        keys.extend(
            src.metadata_keys(section)
                .await?
                .into_iter()
                .map(|k| format!("{section}:{k}")),
        );
    }
    let mut progress = LogSync {
        phase: Phase::Full,
        started: Timestamp::now(),
        items_total: keys.len() as u64,
        items_done: 0,
    };
    let name = state::log_state(LOG, src.zone_id());
    let mut batch = SyncStateBatch::default();
    batch.put(name.clone(), &progress)?;
    gw.sync_state().apply(batch).await?;
    for chunk in keys.chunks(PAGE) {
        let mut batch = SyncStateBatch::default();
        for key in chunk {
            if let Err(err) = multisite::copy_entry_from_master(gw, key).await {
                if is_transient(&err) {
                    return Err(err.into());
                }
                park(agent, &mut batch, key, &err)?;
            }
        }
        progress.items_done += chunk.len() as u64;
        batch.put(name.clone(), &progress)?;
        gw.sync_state().apply(batch).await?;
    }
    progress.phase = Phase::Incremental;
    let mut batch = SyncStateBatch::default();
    batch.put(name, &progress)?;
    for (shard, head) in heads.iter().enumerate() {
        batch.put(state::shard_marker(LOG, src.zone_id(), shard as u32), &head.marker)?;
    }
    gw.sync_state().apply(batch).await?;
    tracing::info!(source_zone = %src.zone_name(), entries = keys.len(), "metadata full sync done");
    Ok(())
}
