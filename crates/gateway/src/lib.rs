//! The gateway services: users, buckets, objects, multipart uploads, change logs and garbage collection.
//! Every mutation writes its metadata, its bucket-index-log entry and its data-log mark in ONE store
//! transaction; object bytes are written (durably) before that transaction and reclaimed after it.

pub mod access;
pub mod backup_snapshot;
mod blob;
pub mod buckets;
pub mod changes;
mod coalesce;
#[cfg(test)]
mod codec_proptests;
pub mod conditions;
pub mod error;
pub mod gc;
pub mod keys;
pub mod lifecycle;
pub mod listing;
pub mod logs;
pub mod mdlog;
pub mod metadata;
pub mod moves;
pub mod multipart;
pub mod object_acl;
pub mod object_lock;
pub mod objects;
pub mod policy;
pub mod realm;
mod records;
pub mod replica;
mod site;
pub mod sync_state;
pub mod tagging;
#[cfg(test)]
mod test_support;
pub mod users;
pub mod versions;
mod zone_shared;

pub use blob::{BoxError, ByteStream};
pub use error::{GatewayError, Result};
pub use site::Site;

use arc_swap::ArcSwap;
use meridian_store::{DataStore, MetaStore, ReadOps, WriteTxn};
use std::cell::Cell;
use std::sync::Arc;
use tokio::sync::watch;

/// How many committed transactions wrote to each change log other zones read (counters that only grow).
/// The sync notifier watches them to wake its peers' agents (see `subscribe_log_changes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogChanges {
    /// Transactions that marked the data log (every object change does).
    pub data: u64,
    /// Transactions that wrote the metadata log.
    pub metadata: u64,
}

const LOGGED_DATA: u8 = 1;
const LOGGED_METADATA: u8 = 2;

thread_local! {
    /// The logs the transaction running on this (blocking) thread wrote to.
    static LOGGED: Cell<u8> = const { Cell::new(0) };
}

/// Called by the log writers inside a write transaction.
pub(crate) fn note_logged(metadata: bool) {
    LOGGED.with(|l| l.set(l.get() | if metadata { LOGGED_METADATA } else { LOGGED_DATA }));
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
    /// The zone this gateway serves (its id, fixed at open) and the period view, swapped on a new period.
    site: Arc<ArcSwap<Site>>,
    zone_selector: Option<String>,
    options: Arc<GatewayOptions>,
    /// Told after every committed bucket metadata change and every new site view (see `changes`).
    changes: tokio::sync::broadcast::Sender<changes::MetaChange>,
    /// Backup snapshots that hold garbage collection back.
    gc_pins: Arc<backup_snapshot::GcPins>,
    /// Bumped after every commit that wrote a change log.
    log_changes: Arc<watch::Sender<LogChanges>>,
}

impl Gateway {
    /// Opens the services on a store, creating the bootstrap zone on first use (the bool says so). The
    /// gateway serves `zone` (a name or id), or the data directory's default zone.
    pub async fn open(
        meta: Arc<dyn MetaStore>,
        data: Arc<dyn DataStore>,
        zone: Option<&str>,
        options: GatewayOptions,
    ) -> Result<(Self, bool)> {
        let selector = zone.map(str::to_string);
        let store = meta.clone();
        let (site, created) = tokio::task::spawn_blocking(move || {
            let created = Self::bootstrap_config(&*store)?;
            let snap = store.snapshot()?;
            Ok::<_, GatewayError>((realm::load_site(&*snap, selector.as_deref())?, created))
        })
        .await??;
        // Pin the zone by id: renaming it or changing the default must not change who this gateway is.
        let zone_selector = Some(site.zone_id.clone());
        Ok((
            Self {
                meta,
                data,
                site: Arc::new(ArcSwap::from_pointee(site)),
                zone_selector,
                options: Arc::new(options),
                changes: tokio::sync::broadcast::channel(changes::CAPACITY).0,
                gc_pins: Arc::default(),
                log_changes: Arc::new(watch::Sender::new(LogChanges::default())),
            },
            created,
        ))
    }

    /// The current site view (cheap: an `Arc` clone).
    pub fn site(&self) -> Arc<Site> {
        self.site.load_full()
    }

    fn set_site(&self, site: Site) {
        self.site.store(Arc::new(site));
        self.notify(changes::MetaChange::Site);
    }

    pub fn options(&self) -> &GatewayOptions {
        &self.options
    }

    /// Follows the change logs: the receiver sees `LogChanges` move after each commit that wrote to the data
    /// or metadata log (changes coalesce: a slow reader sees only the latest counters).
    pub fn subscribe_log_changes(&self) -> watch::Receiver<LogChanges> {
        self.log_changes.subscribe()
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
        let changes = self.log_changes.clone();
        tokio::task::spawn_blocking(move || {
            LOGGED.with(|l| l.set(0));
            let mut txn = meta.begin()?;
            let out = f(&mut *txn);
            let logged = LOGGED.with(|l| l.replace(0));
            let out = out?;
            txn.commit()?;
            if logged != 0 {
                changes.send_modify(|c| {
                    if logged & LOGGED_DATA != 0 {
                        c.data += 1;
                    }
                    if logged & LOGGED_METADATA != 0 {
                        c.metadata += 1;
                    }
                });
            }
            Ok(out)
        })
        .await?
    }
}

/// A fresh random id (32 hex chars) for buckets instances, uploads, blobs.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
