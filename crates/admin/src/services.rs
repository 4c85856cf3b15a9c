//! What the admin surface asks of the other services (replication, bucket moves, backups, workers), as small
//! traits: the composition root (`meridian::admin_services`) implements them over `meridian_sync` and
//! `meridian_backup` and hands them to the router, so `admin` imports neither crate.

use crate::error::AdminError;
use bytes::Bytes;
use meridian_gateway::logs::LogKind;
use meridian_gateway::Gateway;
use meridian_peer::proto::bucket_move::{MoveZoneCall, MoveZoneReply};
use meridian_peer::proto::sync_status::{BucketSyncStatus, SyncMarkers, SyncStatus};
use serde_json::Value;
use std::sync::Arc;

/// The replication side: the status documents an operator (or the trimmer) reads, and the wake-up of the
/// agent reading a peer's log (`POST /admin/log?notify`).
#[async_trait::async_trait]
pub trait SyncReports: Send + Sync {
    /// `GET /admin/sync/status`.
    async fn sync_status(&self, gw: &Gateway) -> Result<SyncStatus, AdminError>;
    /// `GET /admin/sync/bucket?bucket=B`.
    async fn bucket_status(&self, gw: &Gateway, bucket: &str) -> Result<BucketSyncStatus, AdminError>;
    /// `GET /admin/sync/markers?source-zone=Z`.
    async fn markers(&self, gw: &Gateway, source_zone: &str) -> Result<SyncMarkers, AdminError>;
    /// Zone `source_zone` wrote to its `log`: wakes the agent reading it, if one runs; returns whether one did.
    fn wake(&self, log: LogKind, source_zone: &str) -> bool;
}

/// Bucket moves between zonegroups (`/admin/bucket-move...`), answered with their JSON documents.
#[async_trait::async_trait]
pub trait BucketMoves: Send + Sync {
    /// `POST /admin/bucket-move/zone?op=...`: the master's call to this zone (the call is read from `req`).
    async fn zone_call(&self, gw: &Gateway, call: &MoveZoneCall) -> Result<Option<MoveZoneReply>, AdminError>;
    async fn start(&self, gw: &Gateway, bucket: &str, zonegroup: &str, concurrency: usize)
        -> Result<Value, AdminError>;
    async fn status(&self, gw: &Gateway, bucket: Option<&str>) -> Result<Value, AdminError>;
    async fn cancel(&self, gw: &Gateway, bucket: &str) -> Result<Value, AdminError>;
    /// The moves a target zonegroup copies: their raw records.
    async fn work(&self, gw: &Gateway, zonegroup: &str) -> Result<Value, AdminError>;
    /// A target zone's progress report (`report` is the request's JSON body).
    async fn report(
        &self,
        gw: &Gateway,
        bucket: &str,
        move_id: &str,
        zone: &str,
        report: Value,
    ) -> Result<Value, AdminError>;
}

/// A backup archive, as bytes streamed to the caller.
pub type BackupBytes = std::pin::Pin<Box<dyn futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync>>;

/// Why a backup could not start.
#[derive(Debug, thiserror::Error)]
pub enum BackupRefused {
    #[error("a backup is already running")]
    Busy,
    /// Anything else, with the backup service's own error.
    #[error(transparent)]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

/// Online backups (`GET /admin/backup`).
#[async_trait::async_trait]
pub trait BackupArchive: Send + Sync {
    async fn stream(&self, with_data: bool) -> Result<BackupBytes, BackupRefused>;
}

/// The services one admin request may need beyond the gateway. A missing one answers `501 NotImplemented`
/// (a RADOS gateway serves no backups).
#[derive(Clone, Default)]
pub struct Services {
    pub sync: Option<Arc<dyn SyncReports>>,
    pub moves: Option<Arc<dyn BucketMoves>>,
    pub backup: Option<Arc<dyn BackupArchive>>,
    pub workers: Option<meridian_worker::Workers>,
}

impl Services {
    pub(crate) fn sync(&self) -> Result<&dyn SyncReports, AdminError> {
        self.sync.as_deref().ok_or(AdminError::NotServed("sync status"))
    }

    pub(crate) fn moves(&self) -> Result<&dyn BucketMoves, AdminError> {
        self.moves.as_deref().ok_or(AdminError::NotServed("bucket moves"))
    }
}
