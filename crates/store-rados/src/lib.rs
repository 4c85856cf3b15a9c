//! The RADOS backend of Meridian's stores: `RadosMeta` (the metadata contract over omap objects, writes
//! serialised zone-wide by a cls_lock lease and made crash-safe by a journal) and `RadosData` (object bytes
//! striped into 4 MiB RADOS objects). Several gateway processes open the same pools and share one zone.
//! The design and why it is crash-safe: docs/store-contract.md.

pub mod data;
mod journal;
pub mod meta;

pub use data::RadosData;
pub use meta::RadosMeta;

use meridian_rados::{IoCtx, Rados};
use meridian_store::StoreError;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a zone's pools are and how to reach them (`--rados-conf`, `--rados-user`, `--rados-pool-prefix`).
#[derive(Debug, Clone)]
pub struct RadosConfig {
    pub conf: PathBuf,
    pub user: String,
    /// Pools are `<prefix>.meta` and `<prefix>.data`.
    pub pool_prefix: String,
    /// RADOS namespace inside the pools ("" = default): several zones (or test servers) can share pools.
    pub namespace: String,
    /// Omap objects the metadata map is spread over; fixed when the pools are first initialised.
    pub meta_shards: u32,
}

impl Default for RadosConfig {
    fn default() -> Self {
        Self {
            conf: PathBuf::from("/etc/ceph/ceph.conf"),
            user: "admin".into(),
            pool_prefix: "meridian".into(),
            namespace: String::new(),
            meta_shards: 32,
        }
    }
}

/// Both stores of one zone, on one cluster connection.
pub struct RadosStores {
    pub meta: Arc<RadosMeta>,
    pub data: Arc<RadosData>,
}

/// Connects, creates the pools if they are missing, and opens both stores.
pub fn open(cfg: &RadosConfig) -> Result<RadosStores, StoreError> {
    let rados = Rados::connect(&cfg.conf, &cfg.user).map_err(err)?;
    let meta_pool = format!("{}.meta", cfg.pool_prefix);
    let data_pool = format!("{}.data", cfg.pool_prefix);
    rados.ensure_pool(&meta_pool).map_err(err)?;
    rados.ensure_pool(&data_pool).map_err(err)?;
    let meta_io: Arc<IoCtx> = Arc::new(rados.ioctx(&meta_pool, &cfg.namespace).map_err(err)?);
    let data_io: Arc<IoCtx> = Arc::new(rados.ioctx(&data_pool, &cfg.namespace).map_err(err)?);
    Ok(RadosStores {
        meta: Arc::new(RadosMeta::open(meta_io, cfg.meta_shards)?),
        data: Arc::new(RadosData::new(data_io)),
    })
}

pub(crate) fn err(e: meridian_rados::Error) -> StoreError {
    StoreError::Meta(e.to_string())
}
