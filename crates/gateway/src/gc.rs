//! Garbage collection of object bytes: replaced or deleted blobs are queued in the same transaction that
//! stops referencing them, and removed later by a background task, never on the request path.
//! Blobs orphaned by a crash (written, but their transaction never committed) are swept at start-up.

use crate::error::Result;
use crate::keys;
use crate::records;
use meridian_model::Timestamp;
use meridian_store::WriteTxn;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Serialize, Deserialize)]
struct GcEntry {
    queued: Timestamp,
    data_ids: Vec<String>,
}

/// Marks blobs as referenced by live metadata (an object or a part).
pub(crate) fn reference(txn: &mut dyn WriteTxn, data_id: &str) -> Result<()> {
    txn.put(&keys::blob_ref(data_id), b"")?;
    Ok(())
}

/// Queues blobs for removal; they stop being referenced now.
pub(crate) fn enqueue(txn: &mut dyn WriteTxn, data_ids: Vec<String>) -> Result<()> {
    if data_ids.is_empty() {
        return Ok(());
    }
    for id in &data_ids {
        txn.delete(&keys::blob_ref(id))?;
    }
    let seq = records::next_seq(txn, "gc")?;
    let key = format!("{}{}", keys::GC, keys::marker(seq)).into_bytes();
    records::put(
        txn,
        &key,
        &GcEntry {
            queued: Timestamp::now(),
            data_ids,
        },
    )
}

/// The sequence number of a GC queue entry (`gc/<marker>`).
fn queue_seq(key: &[u8]) -> u64 {
    std::str::from_utf8(&key[keys::GC.len().min(key.len())..])
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Garbage collection of replaced bytes, and the backup snapshots that hold it back.
/// Reached through `Gateway::gc()`.
#[derive(Clone, Copy)]
pub struct GcService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

impl GcService<'_> {
    /// Removes the blobs queued at least `gc_delay` ago. Returns how many blobs were removed.
    pub async fn collect(&self) -> Result<usize> {
        let delay = self.core.options.gc_delay;
        let cutoff = Timestamp(Timestamp::now().0.saturating_sub(delay.as_nanos() as u64));
        let due: Vec<(Vec<u8>, GcEntry)> = self
            .core
            .read(|r| {
                let prefix = keys::GC.as_bytes().to_vec();
                let end = meridian_store::meta::prefix_end(&prefix);
                r.scan(&prefix, &end, 1000)?
                    .into_iter()
                    .map(|(k, v)| Ok((k.clone(), records::decode::<GcEntry>(&k, &v)?)))
                    .collect::<Result<Vec<_>>>()
            })
            .await?
            .into_iter()
            .filter(|(_, e)| e.queued <= cutoff)
            .collect();
        // Read after the queue: a backup snapshot taken since then is already pinned here.
        let due = match self.core.gc_pins.collectable() {
            None => due,
            Some(limit) => due.into_iter().filter(|(k, _)| queue_seq(k) <= limit).collect(),
        };
        if due.is_empty() {
            return Ok(0);
        }
        let data = self.core.data.clone();
        let ids: Vec<String> = due.iter().flat_map(|(_, e)| e.data_ids.clone()).collect();
        let removed = ids.len();
        let inline_ids = ids.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            for id in ids {
                data.delete(&id)?;
            }
            Ok(())
        })
        .await??;
        let done: Vec<Vec<u8>> = due.into_iter().map(|(k, _)| k).collect();
        self.core
            .write(move |txn| {
                for k in done {
                    txn.delete(&k)?;
                }
                for id in inline_ids {
                    txn.delete(&keys::inline(&id))?;
                }
                Ok(())
            })
            .await?;
        Ok(removed)
    }

    /// Removes blobs that no metadata references and that are older than `before` (i.e. not being written
    /// right now): the leftovers of a crash between writing bytes and committing their metadata.
    pub async fn sweep_orphans(&self, before: std::time::SystemTime) -> Result<usize> {
        let data = self.core.data.clone();
        let candidates = tokio::task::spawn_blocking(move || data.list_older_than(before)).await??;
        let orphans: Vec<String> = self
            .core
            .read(move |r| {
                let mut out = Vec::new();
                for id in candidates {
                    if r.get(&keys::blob_ref(&id))?.is_none() {
                        out.push(id);
                    }
                }
                Ok(out)
            })
            .await?;
        let count = orphans.len();
        let data = self.core.data.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            for id in orphans {
                data.delete(&id)?;
            }
            Ok(())
        })
        .await??;
        Ok(count)
    }

    /// Runs the collector forever, every `interval`.
    pub async fn run(&self, mut worker: meridian_worker::Worker, interval: Duration) {
        worker.status(format!("every {} s", interval.as_secs()));
        while worker.sleep(interval).await {
            match self.collect().await {
                Ok(n) => {
                    if n > 0 {
                        tracing::debug!(removed = n, "garbage collected");
                    }
                    worker.pass_done();
                    worker.status(format!("every {} s; last pass removed {n} blobs", interval.as_secs()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "garbage collection failed; will retry");
                    worker.failed(&e);
                }
            }
        }
    }
}
