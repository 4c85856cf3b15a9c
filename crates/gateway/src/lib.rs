//! The gateway services: users, buckets, objects, multipart uploads, change logs and garbage collection.
//! Every mutation writes its metadata, its bucket-index-log entry and its data-log mark in ONE store
//! transaction; object bytes are written (durably) before that transaction and reclaimed after it.
//!
//! `Gateway` is a cheap-to-clone handle on the shared core (`shared.rs`); each domain is a small service type
//! borrowed from it: `gw.objects()`, `buckets()`, `users()`, `realm()`, `logs()`, `sync_state()`, `replica()`,
//! `metadata()`, `moves()`, `gc()`.
//!
//! Naming rule: a service's methods are verb first and do not repeat the noun the service already says
//! (`gw.buckets().create(..)`, not `create_bucket`; `gw.replica().apply_batch(..)`). Where a service holds
//! several kinds of things, the noun stays after the verb (`gw.realm().commit_period(..)`,
//! `gw.logs().list_bilog(..)`); getters stay nouns (`gw.logs().bilog_head(..)`).

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
mod shared;
mod site;
pub mod sync_state;
pub mod tagging;
#[cfg(test)]
mod test_support;
pub mod users;
pub mod versions;
mod zone_shared;

pub use blob::{BoxError, ByteStream};
pub use buckets::BucketService;
pub use error::{GatewayError, Result};
pub use gc::GcService;
pub use logs::LogService;
pub use metadata::MetadataService;
pub use moves::MoveService;
pub use objects::ObjectService;
pub use realm::RealmService;
pub use replica::ReplicaService;
pub(crate) use shared::note_logged;
pub use shared::{GatewayOptions, LogChanges};
pub use site::Site;
pub use sync_state::SyncStateService;
pub use users::UserService;

use meridian_store::{DataStore, MetaStore};
use shared::Core;
use std::sync::Arc;
use tokio::sync::watch;

/// The cheap-to-clone handle the composition root passes around: one `Arc` to the shared core, and one
/// accessor per domain service.
#[derive(Clone)]
pub struct Gateway {
    core: Arc<Core>,
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
            let created = realm::bootstrap_config(&*store)?;
            let snap = store.snapshot()?;
            Ok::<_, GatewayError>((realm::load_site(&*snap, selector.as_deref())?, created))
        })
        .await??;
        let core = Core::new(meta, data, site, options);
        Ok((Self { core: Arc::new(core) }, created))
    }

    /// The current site view (cheap: an `Arc` clone).
    pub fn site(&self) -> Arc<Site> {
        self.core.site()
    }

    pub fn options(&self) -> &GatewayOptions {
        &self.core.options
    }

    /// Follows the change logs: the receiver sees `LogChanges` move after each commit that wrote to the data
    /// or metadata log (changes coalesce: a slow reader sees only the latest counters).
    pub fn subscribe_log_changes(&self) -> watch::Receiver<LogChanges> {
        self.core.log_changes.subscribe()
    }

    pub fn data_store(&self) -> &Arc<dyn DataStore> {
        &self.core.data
    }

    /// Objects: put, get, head, delete, copy, listing, multipart uploads, tags, ACLs, Object Lock, lifecycle.
    pub fn objects(&self) -> ObjectService<'_> {
        self.core.objects()
    }

    /// Buckets: create, look up, list, versioning and configuration, delete.
    pub fn buckets(&self) -> BucketService<'_> {
        self.core.buckets()
    }

    /// Users and their access keys.
    pub fn users(&self) -> UserService<'_> {
        self.core.users()
    }

    /// The multi-site configuration: realms, zonegroups, zones, periods, and the site view built from them.
    pub fn realm(&self) -> RealmService<'_> {
        self.core.realm()
    }

    /// The change logs other zones read (bucket-index, data and metadata logs): heads, listings, trims.
    pub fn logs(&self) -> LogService<'_> {
        self.core.logs()
    }

    /// The sync agents' own records (markers, status), read and written in batches.
    pub fn sync_state(&self) -> SyncStateService<'_> {
        self.core.sync_state()
    }

    /// Applying what another zone wrote: replicated writes and deletes, and the reads their agents need.
    pub fn replica(&self) -> ReplicaService<'_> {
        self.core.replica()
    }

    /// The `/admin/metadata` entries (`user:`, `bucket:`, `bucket.instance:`) in RGW's shapes.
    pub fn metadata(&self) -> MetadataService<'_> {
        self.core.metadata()
    }

    /// Bucket moves between zonegroups: the local move records, the fence, the flip and the reclaim.
    pub fn moves(&self) -> MoveService<'_> {
        self.core.moves()
    }

    /// Garbage collection of replaced bytes, and the backup pins that hold it back.
    pub fn gc(&self) -> GcService<'_> {
        self.core.gc()
    }
}

/// A fresh random id (32 hex chars) for buckets instances, uploads, blobs.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
