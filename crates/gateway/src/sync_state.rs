//! This zone's replication progress (log markers, buckets still to sync, full-sync positions): records
//! under `sync/`, changed in atomic batches so a marker never moves without the work it stands for.

use crate::error::{GatewayError, Result};
use crate::{keys, records};
use meridian_store::WriteTxn;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Changes to sync state applied in one transaction.
#[derive(Debug, Default)]
pub struct SyncStateBatch {
    puts: Vec<(String, Vec<u8>)>,
    deletes: Vec<String>,
    /// Deleted only if still holding these bytes (a pending mark re-set meanwhile must survive).
    deletes_if: Vec<(String, Vec<u8>)>,
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| GatewayError::Internal(e.to_string()))
}

impl SyncStateBatch {
    pub fn put<T: Serialize>(&mut self, name: impl Into<String>, value: &T) -> Result<&mut Self> {
        self.puts.push((name.into(), encode(value)?));
        Ok(self)
    }

    pub fn delete(&mut self, name: impl Into<String>) -> &mut Self {
        self.deletes.push(name.into());
        self
    }

    pub fn delete_if<T: Serialize>(&mut self, name: impl Into<String>, expected: &T) -> Result<&mut Self> {
        self.deletes_if.push((name.into(), encode(expected)?));
        Ok(self)
    }

    /// Applies the batch inside a transaction (one that also applies what the new positions stand for).
    pub(crate) fn write_to(&self, txn: &mut dyn WriteTxn) -> Result<()> {
        for (name, bytes) in &self.puts {
            txn.put(&keys::sync_state(name), bytes)?;
        }
        for name in &self.deletes {
            txn.delete(&keys::sync_state(name))?;
        }
        for (name, expected) in &self.deletes_if {
            let key = keys::sync_state(name);
            if txn.get(&key)?.as_deref() == Some(expected.as_slice()) {
                txn.delete(&key)?;
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty() && self.deletes_if.is_empty()
    }
}

/// The sync agents' own records (markers, status), read and written in batches.
/// Reached through `Gateway::sync_state()`.
#[derive(Clone, Copy)]
pub struct SyncStateService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

impl SyncStateService<'_> {
    pub async fn get<T: DeserializeOwned + Send + 'static>(&self, name: &str) -> Result<Option<T>> {
        let key = keys::sync_state(name);
        self.core.read(move |r| records::get(r, &key)).await
    }

    /// Every record whose name starts with `prefix`, as (name after the prefix, value), at most `max`.
    pub async fn scan<T: DeserializeOwned + Send + 'static>(
        &self,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<(String, T)>> {
        let start = keys::sync_state(prefix);
        self.core
            .read(move |r| {
                let end = meridian_store::meta::prefix_end(&start);
                r.scan(&start, &end, max)?
                    .into_iter()
                    .map(|(k, v)| {
                        let name = String::from_utf8_lossy(&k[start.len()..]).into_owned();
                        Ok((name, records::decode(&k, &v)?))
                    })
                    .collect()
            })
            .await
    }

    /// How many records start with `prefix` (counted up to `limit`).
    pub async fn count(&self, prefix: &str, limit: usize) -> Result<usize> {
        let start = keys::sync_state(prefix);
        self.core
            .read(move |r| Ok(r.scan(&start, &meridian_store::meta::prefix_end(&start), limit)?.len()))
            .await
    }

    pub async fn apply(&self, batch: SyncStateBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.core.write(move |txn| batch.write_to(txn)).await
    }
}
