//! Positions behind a source's trimmed logs, as a zone restored from a backup has them: the source removed
//! entries this zone's markers have not passed (it trimmed them when this zone, before it was lost, had
//! read further). Checked once when an agent starts; each such shard or bucket falls back to full sync,
//! logged and kept in the sync state so `sync status` shows it.

use crate::error::{Result, SyncError};
use crate::state::{self, BucketSync, LogSync, Phase};
use crate::{data, meta, Agent};
use meridian_gateway::sync_state::SyncStateBatch;
use meridian_model::Timestamp;
use meridian_peer::PeerError;
use std::collections::BTreeMap;
use std::time::Duration;

/// How many fallbacks are kept per source for the status.
const KEEP: usize = 20;

/// One fallback to full sync, as `sync status` lists it.
pub use meridian_peer::proto::sync_status::Fallback;

/// The sync-state record of a source's fallbacks.
pub fn fallbacks_name(log: &str, src: &str) -> String {
    format!("fallback/{log}/{src}")
}

/// Runs the check until the source answered it (a source that does not report trimming is not checked).
pub(crate) async fn check_until_done(agent: &Agent, log: &str) {
    loop {
        match check(agent, log).await {
            Ok(()) => return,
            // A source that does not know the request (an older version), or answers it with a document this
            // zone cannot read, cannot say: not checked.
            Err(
                e @ SyncError::Peer(
                    PeerError::Remote {
                        status: 400 | 404 | 501,
                        ..
                    }
                    | PeerError::BadReply { .. },
                ),
            ) => {
                tracing::debug!(log, source_zone = %agent.source.zone_name(), error = %e,
                    "the source does not report its trimmed logs; not checked");
                return;
            }
            Err(e) => {
                crate::record(agent, log, &e);
                tokio::time::sleep(agent.poll.max(Duration::from_secs(1))).await;
            }
        }
    }
}

async fn check(agent: &Agent, log: &str) -> Result<()> {
    let (gw, src) = (&agent.gw, &agent.source);
    let Some(mut progress) = gw
        .sync_state()
        .get::<LogSync>(&state::log_state(log, src.zone_id()))
        .await?
    else {
        return Ok(()); // not started: the first pass is a full sync anyway
    };
    let trimmed = src.trimmed().await?;
    let markers = state::shard_markers(gw, log, src.zone_id()).await?;
    let shard_map = if log == meta::LOG {
        &trimmed.metadata
    } else {
        &trimmed.data
    };
    let mut found = Vec::new();
    for (&shard, upto) in shard_map {
        let marker = markers.get(&shard).cloned().unwrap_or_default();
        if marker < *upto {
            found.push(fallback(log, format!("shard {shard}"), marker, upto.clone()));
        }
    }
    let mut batch = SyncStateBatch::default();
    let shard_gap = !found.is_empty();
    if log == meta::LOG {
        if shard_gap && progress.phase == Phase::Incremental {
            // Metadata full sync copies every entry again and restarts every shard at the source's head.
            progress.phase = Phase::Full;
            progress.items_done = 0;
            batch.put(state::log_state(log, src.zone_id()), &progress)?;
        }
    } else {
        let source_buckets = src.buckets().await?;
        let key_of: BTreeMap<&str, &str> = source_buckets
            .iter()
            .filter_map(|b| b.key.rsplit(':').next().map(|id| (id, b.key.as_str())))
            .collect();
        let states: Vec<(String, BucketSync)> = gw
            .sync_state()
            .scan(&state::bucket_prefix(src.zone_id()), usize::MAX)
            .await?;
        for (id, st) in states {
            let Some(upto) = trimmed.buckets.get(&id) else { continue };
            if st.needed_from() < upto.as_str() {
                let name = key_of.get(id.as_str()).copied().unwrap_or(id.as_str());
                found.push(fallback(
                    log,
                    format!("bucket {name}"),
                    st.needed_from().to_string(),
                    upto.clone(),
                ));
                batch.put(state::bucket(src.zone_id(), &id), &BucketSync::default())?;
                if let Some(key) = key_of.get(id.as_str()) {
                    batch.put(state::pending(src.zone_id(), key), &String::new())?;
                }
            }
        }
        if shard_gap {
            // Which buckets the lost entries named is unknown: every bucket is looked at again (each one
            // resumes from its own position, or falls back above).
            for b in &source_buckets {
                batch.put(state::pending(src.zone_id(), &b.key), &String::new())?;
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    for f in &found {
        tracing::warn!(log, source_zone = %src.zone_name(), what = %f.what, marker = %f.marker, trimmed = %f.trimmed,
            "the source trimmed its log past this zone's position (restored from a backup?): falling back to full sync");
    }
    let mut kept: Vec<Fallback> = gw
        .sync_state()
        .get(&fallbacks_name(log, src.zone_id()))
        .await?
        .unwrap_or_default();
    kept.extend(found);
    let excess = kept.len().saturating_sub(KEEP);
    kept.drain(..excess);
    batch.put(fallbacks_name(log, src.zone_id()), &kept)?;
    gw.sync_state().apply(batch).await?;
    if log == data::LOG {
        agent.wake.notify_one();
    }
    Ok(())
}

fn fallback(log: &str, what: String, marker: String, trimmed: String) -> Fallback {
    Fallback {
        at: Timestamp::now().to_rfc3339(),
        log: log.to_string(),
        what,
        marker,
        trimmed,
    }
}
