//! One bucket's sync from one source: full sync (the source's bilog head first, then its object listing),
//! then incremental from that head through the source's bucket index log. Objects are fetched streaming,
//! a bounded number at once, with retries; a position is saved only after everything before it applied.

use crate::error::{Result, SyncError};
use crate::state::{self, BucketSync, Phase};
use crate::Agent;
use futures::future::BoxFuture;
use futures::StreamExt;
use meridian_gateway::replica::Applied;
use meridian_gateway::sync_state::SyncStateBatch;
use meridian_gateway::GatewayError;
use meridian_model::{BilogEntry, BilogOp, Bucket, WriteOrder};
use meridian_peer::master;
use std::time::Duration;

const PAGE: usize = 500;
const FETCH_ATTEMPTS: u32 = 4;

/// Syncs a bucket (`tenant:name:bucket_id`) until it caught up with the source's log as it was read.
pub(crate) async fn sync(agent: &Agent, bucket_key: &str) -> Result<()> {
    let src = &agent.source;
    let Some(bucket) = resolve(agent, bucket_key).await? else {
        return Ok(());
    };
    let spec = meridian_gateway::metadata::bucket_spec(&bucket.tenant, &bucket.name);
    let name = state::bucket(&src.zone_id, &bucket.bucket_id);
    let mut st: BucketSync = agent.gw.sync_state_get(&name).await?.unwrap_or_default();
    let outcome = run(agent, &bucket, &spec, &name, &mut st).await;
    match outcome {
        // The bucket went away at the source (its removal reaches us through metadata sync).
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

async fn run(agent: &Agent, bucket: &Bucket, spec: &str, name: &str, st: &mut BucketSync) -> Result<()> {
    let src = &agent.source;
    if st.phase == Phase::Full {
        if st.head.is_none() {
            st.head = Some(src.bilog_head(spec).await?);
            save(agent, name, st).await?;
        }
        loop {
            let page = src.objects(spec, &st.full_marker, PAGE).await?;
            let Some(next) = page.next_marker.clone() else {
                break;
            };
            let mut work: Vec<BoxFuture<'_, Result<u64>>> = page
                .objects
                .iter()
                .map(|o| {
                    let order = WriteOrder::of(o.mtime, &o.zones_trace);
                    Box::pin(fetch_and_apply(
                        agent,
                        bucket,
                        spec,
                        &o.key,
                        order,
                        &o.instance,
                        &o.zones_trace,
                    )) as BoxFuture<'_, Result<u64>>
                })
                .collect();
            // Keys the source deleted before we started reading its log: their deletes are only in its
            // tombstones now.
            for (key, tomb) in &page.tombstones {
                work.push(Box::pin(async move {
                    agent
                        .gw
                        .apply_replica_delete(bucket, key, tomb.mtime, std::slice::from_ref(&tomb.origin))
                        .await?;
                    Ok(0)
                }));
            }
            let results: Vec<Result<u64>> = futures::stream::iter(work)
                .buffer_unordered(agent.concurrency)
                .collect()
                .await;
            for r in results {
                let bytes = r?;
                if bytes > 0 {
                    st.objects_done += 1;
                    st.bytes_done += bytes;
                }
            }
            st.full_marker = next;
            save(agent, name, st).await?;
            if !page.truncated {
                break;
            }
        }
        st.phase = Phase::Incremental;
        st.marker = st.head.clone().unwrap_or_default();
        save(agent, name, st).await?;
    }
    loop {
        let entries = src.bilog(spec, &st.marker, PAGE).await?;
        let Some(last) = entries.last().map(|e| e.op_id.clone()) else {
            return Ok(());
        };
        let latest = latest_per_key(&entries, &agent.gw.site().zone_id);
        let applies: Vec<BoxFuture<'_, Result<u64>>> = latest
            .into_iter()
            .map(|e| -> BoxFuture<'_, Result<u64>> {
                Box::pin(async move {
                    let applied = apply_entry(agent, bucket, spec, e).await?;
                    crate::metrics::lag(&src.zone_name, crate::data::LOG, e.timestamp);
                    Ok(applied)
                })
            })
            .collect();
        let results: Vec<Result<u64>> = futures::stream::iter(applies)
            .buffer_unordered(agent.concurrency)
            .collect()
            .await;
        for r in results {
            r?;
        }
        st.marker = last;
        save(agent, name, st).await?;
    }
}

/// Within a page only the last change of each key matters (the fetch reads the key's current state), and
/// changes that already passed through this zone are skipped: that is what stops ping-pong.
fn latest_per_key<'a>(entries: &'a [BilogEntry], zone_id: &str) -> Vec<&'a BilogEntry> {
    let mut last: std::collections::HashMap<&str, &BilogEntry> = std::collections::HashMap::new();
    for e in entries {
        last.insert(e.object.as_str(), e);
    }
    let mut out: Vec<&BilogEntry> = last
        .into_values()
        .filter(|e| !e.zones_trace.iter().any(|z| z == zone_id))
        .collect();
    out.sort_by(|a, b| a.op_id.cmp(&b.op_id));
    out
}

async fn apply_entry(agent: &Agent, bucket: &Bucket, spec: &str, e: &BilogEntry) -> Result<u64> {
    match e.op {
        BilogOp::Write => {
            let order = WriteOrder::of(e.timestamp, &e.zones_trace);
            fetch_and_apply(agent, bucket, spec, &e.object, order, &e.instance, &e.zones_trace).await
        }
        BilogOp::Del => {
            agent
                .gw
                .apply_replica_delete(bucket, &e.object, e.timestamp, &e.zones_trace)
                .await?;
            Ok(0)
        }
    }
}

/// Fetches the source's current object and applies it, unless this zone already holds that write or a
/// newer one. Returns the bytes applied (0 when nothing was).
async fn fetch_and_apply(
    agent: &Agent,
    bucket: &Bucket,
    spec: &str,
    key: &str,
    order: WriteOrder,
    instance: &str,
    zones_trace: &[String],
) -> Result<u64> {
    let gw = &agent.gw;
    if zones_trace.iter().any(|z| *z == gw.site().zone_id)
        || !gw.replica_write_wanted(bucket, key, order, instance).await?
    {
        return Ok(0);
    }
    let _permit = agent
        .fetches
        .acquire()
        .await
        .map_err(|e| SyncError::Protocol(e.to_string()))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            let (meta, body) = agent.source.fetch(spec, key).await?;
            let size = meta.size;
            let applied = gw.apply_replica_write(bucket, meta, body).await?;
            Ok::<_, SyncError>(if applied == Applied::Done { size } else { 0 })
        }
        .await;
        match result {
            Ok(bytes) => {
                if bytes > 0 {
                    crate::metrics::fetched(&agent.source.zone_name, bytes);
                }
                return Ok(bytes);
            }
            // Deleted at the source since the change was logged: its delete follows in the log.
            Err(e) if e.is_not_found() => return Ok(0),
            Err(e) if attempt < FETCH_ATTEMPTS && transient(&e) => {
                tracing::debug!(key, attempt, error = %e, "fetch failed, retrying");
                tokio::time::sleep(Duration::from_millis(200) * 4u32.pow(attempt - 1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn transient(e: &SyncError) -> bool {
    match e {
        SyncError::Peer(meridian_peer::PeerError::Remote { status, .. }) => *status >= 500,
        SyncError::Peer(_) | SyncError::NoEndpoint(_) => true,
        SyncError::Gateway(g) => matches!(
            g,
            GatewayError::IncompleteBody
                | GatewayError::Body(_)
                | GatewayError::Internal(_)
                | GatewayError::MasterUnavailable(_)
        ),
        SyncError::Protocol(_) => false,
    }
}

async fn save(agent: &Agent, name: &str, st: &BucketSync) -> Result<()> {
    let mut batch = SyncStateBatch::default();
    batch.put(name, st)?;
    agent.gw.sync_state_apply(batch).await?;
    Ok(())
}

/// The local bucket a data-log key names, if it is still that bucket instance and lives in this zonegroup.
/// A zone that is not the metadata master asks the master about a bucket it does not know yet.
async fn resolve(agent: &Agent, bucket_key: &str) -> Result<Option<Bucket>> {
    let mut parts = bucket_key.rsplitn(3, ':');
    let (Some(id), Some(name), tenant) = (parts.next(), parts.next(), parts.next().unwrap_or_default()) else {
        return Ok(None);
    };
    let gw = &agent.gw;
    let site = gw.site();
    let local = match gw.get_bucket(tenant, name).await {
        Ok(b) if b.bucket_id == id => Some(b),
        Ok(_) | Err(GatewayError::NoSuchBucket) if !site.is_meta_master() => {
            match master::fetch_bucket_from_master(gw, tenant, name).await {
                Ok(b) => Some(b),
                Err(GatewayError::NoSuchBucket) => None,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(_) | Err(GatewayError::NoSuchBucket) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(local.filter(|b| b.bucket_id == id && b.zonegroup == site.zonegroup_id))
}
