//! The core every domain service shares: the store handles, the site view, the change feed, the GC pins, the
//! log counters and the options, plus the `read`/`write` helpers that run one store transaction on a
//! blocking thread.

use crate::backup_snapshot::GcPins;
use crate::changes::{self, MetaChange};
use crate::error::Result;
use crate::site::Site;
use crate::{
    BucketService, GcService, LogService, MetadataService, MoveService, ObjectService, RealmService, ReplicaService,
    SyncStateService, UserService,
};
use arc_swap::ArcSwap;
use meridian_store::{DataStore, MetaStore, ReadOps, WriteTxn};
use std::cell::Cell;
use std::sync::Arc;
use tokio::sync::watch;

/// How many committed transactions wrote to each change log other zones read (counters that only grow).
/// The sync notifier watches them to wake its peers' agents (see `Gateway::subscribe_log_changes`).
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

/// What the services share; `Gateway` holds it behind one `Arc`.
pub(crate) struct Core {
    pub(crate) meta: Arc<dyn MetaStore>,
    pub(crate) data: Arc<dyn DataStore>,
    /// The zone this gateway serves (its id, fixed at open) and the period view, swapped on a new period.
    pub(crate) site: ArcSwap<Site>,
    pub(crate) zone_selector: Option<String>,
    pub(crate) options: GatewayOptions,
    /// Told after every committed bucket metadata change and every new site view (see `changes`).
    pub(crate) changes: tokio::sync::broadcast::Sender<MetaChange>,
    /// Backup snapshots that hold garbage collection back.
    pub(crate) gc_pins: Arc<GcPins>,
    /// Bumped after every commit that wrote a change log.
    pub(crate) log_changes: watch::Sender<LogChanges>,
}

impl Core {
    pub(crate) fn new(meta: Arc<dyn MetaStore>, data: Arc<dyn DataStore>, site: Site, options: GatewayOptions) -> Self {
        // Pin the zone by id: renaming it or changing the default must not change who this gateway is.
        let zone_selector = Some(site.zone_id.clone());
        Self {
            meta,
            data,
            site: ArcSwap::from_pointee(site),
            zone_selector,
            options,
            changes: tokio::sync::broadcast::channel(changes::CAPACITY).0,
            gc_pins: Arc::default(),
            log_changes: watch::Sender::new(LogChanges::default()),
        }
    }

    /// The current site view (cheap: an `Arc` clone).
    pub(crate) fn site(&self) -> Arc<Site> {
        self.site.load_full()
    }

    pub(crate) fn set_site(&self, site: Site) {
        self.site.store(Arc::new(site));
        self.notify(MetaChange::Site);
    }

    pub(crate) fn notify(&self, change: MetaChange) {
        // No receiver (no DNS index) is the common case, not an error.
        let _ = self.changes.send(change);
    }

    pub(crate) fn notify_bucket(&self, tenant: &str, name: &str) {
        self.notify(MetaChange::Bucket {
            tenant: tenant.to_string(),
            name: name.to_string(),
        });
    }

    /// Runs `f` against a consistent snapshot on a blocking thread.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
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
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
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

    pub(crate) fn objects(&self) -> ObjectService<'_> {
        ObjectService { core: self }
    }
    pub(crate) fn buckets(&self) -> BucketService<'_> {
        BucketService { core: self }
    }
    pub(crate) fn users(&self) -> UserService<'_> {
        UserService { core: self }
    }
    pub(crate) fn realm(&self) -> RealmService<'_> {
        RealmService { core: self }
    }
    pub(crate) fn logs(&self) -> LogService<'_> {
        LogService { core: self }
    }
    pub(crate) fn sync_state(&self) -> SyncStateService<'_> {
        SyncStateService { core: self }
    }
    pub(crate) fn replica(&self) -> ReplicaService<'_> {
        ReplicaService { core: self }
    }
    pub(crate) fn metadata(&self) -> MetadataService<'_> {
        MetadataService { core: self }
    }
    pub(crate) fn moves(&self) -> MoveService<'_> {
        MoveService { core: self }
    }
    pub(crate) fn gc(&self) -> GcService<'_> {
        GcService { core: self }
    }
}
