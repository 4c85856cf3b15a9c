//! The gateway services: users, buckets, objects, multipart uploads, change logs and garbage collection.
//! Every mutation writes its metadata, its bucket-index-log entry and its data-log mark in ONE store
//! transaction; object bytes are written (durably) before that transaction and reclaimed after it.

mod blob;
pub mod buckets;
pub mod conditions;
pub mod error;
pub mod gc;
pub mod keys;
pub mod listing;
pub mod logs;
pub mod multipart;
pub mod objects;
mod records;
pub mod users;

pub use blob::{BoxError, ByteStream};
pub use error::{GatewayError, Result};

use meridian_store::{DataStore, MetaStore, ReadOps, WriteTxn};
use std::sync::Arc;

/// Where this gateway sits in the realm: the zone it serves and the zonegroup that zone belongs to.
#[derive(Debug, Clone)]
pub struct ZoneConfig {
    pub zone_id: String,
    pub zone_name: String,
    pub zonegroup_id: String,
    /// The zonegroup's api_name: what S3 clients see as the bucket location / region.
    pub zonegroup_api_name: String,
    pub placement_rule: String,
}

/// Tunables of the services (none of them changes what is stored).
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Largest single PUT / part accepted (S3: 5 GiB).
    pub max_object_size: u64,
    /// Smallest size of every multipart part but the last (S3: 5 MiB).
    pub min_part_size: u64,
    /// How long replaced bytes stay readable before the collector removes them.
    pub gc_delay: std::time::Duration,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            max_object_size: 5 << 30,
            min_part_size: 5 << 20,
            gc_delay: std::time::Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub struct Gateway {
    meta: Arc<dyn MetaStore>,
    data: Arc<dyn DataStore>,
    zone: Arc<ZoneConfig>,
    options: Arc<GatewayOptions>,
}

impl Gateway {
    pub fn new(meta: Arc<dyn MetaStore>, data: Arc<dyn DataStore>, zone: ZoneConfig, options: GatewayOptions) -> Self {
        Self {
            meta,
            data,
            zone: Arc::new(zone),
            options: Arc::new(options),
        }
    }

    pub fn zone(&self) -> &ZoneConfig {
        &self.zone
    }

    pub fn options(&self) -> &GatewayOptions {
        &self.options
    }

    pub fn data_store(&self) -> &Arc<dyn DataStore> {
        &self.data
    }

    /// Runs `f` against a consistent snapshot on a blocking thread.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn ReadOps) -> Result<T> + Send + 'static,
    {
        let meta = self.meta.clone();
        tokio::task::spawn_blocking(move || {
            let snap = meta.snapshot()?;
            f(&*snap)
        })
        .await?
    }

    /// Runs `f` in one write transaction on a blocking thread; commits only if `f` succeeds.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn WriteTxn) -> Result<T> + Send + 'static,
    {
        let meta = self.meta.clone();
        tokio::task::spawn_blocking(move || {
            let mut txn = meta.begin()?;
            let out = f(&mut *txn)?;
            txn.commit()?;
            Ok(out)
        })
        .await?
    }
}

/// A fresh random id (32 hex chars) for buckets instances, uploads, blobs.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
