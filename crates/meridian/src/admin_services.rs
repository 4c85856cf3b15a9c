//! The composition root's side of the admin surface: the services `meridian_admin` asks for
//! (`meridian_admin::services`), implemented over `meridian_sync` and `meridian_backup`, so the admin crate
//! imports neither.

use meridian_admin::services::{BackupArchive, BackupBytes, BackupRefused, BucketMoves, Services, SyncReports};
use meridian_admin::AdminError;
use meridian_gateway::logs::LogKind;
use meridian_gateway::{Gateway, GatewayError};
use meridian_peer::proto::sync_status::{BucketSyncStatus, SyncMarkers, SyncStatus};
use meridian_sync::relocate::{self, record::TargetReport, MoveZoneCall, MoveZoneReply};
use meridian_sync::SyncError;
use serde_json::Value;
use std::sync::Arc;

/// The services every admin request of this process may use; the server adds its workers and backups.
pub fn services() -> Services {
    Services {
        sync: Some(Arc::new(Sync::default())),
        moves: Some(Arc::new(Moves)),
        ..Services::default()
    }
}

/// A sync error as the admin caller sees it: the gateway's and the peer's errors keep their type (and so
/// their RGW code and status); the others are internal errors.
fn admin_error(e: SyncError) -> AdminError {
    match e {
        SyncError::Gateway(g) => AdminError::Gateway(g),
        SyncError::Peer(p) => AdminError::Peer(p),
        other => AdminError::Gateway(GatewayError::Internal(other.to_string())),
    }
}

/// The sync status documents and the agents' wake-ups (`meridian_sync::status`, `meridian_sync::notify`),
/// with the health of the agents this process runs (none in the CLI's direct mode).
#[derive(Default)]
pub struct Sync {
    pub health: meridian_sync::SyncHealth,
}

#[async_trait::async_trait]
impl SyncReports for Sync {
    async fn sync_status(&self, gw: &Gateway) -> Result<SyncStatus, AdminError> {
        meridian_sync::status::sync_status(gw, &self.health)
            .await
            .map_err(admin_error)
    }

    async fn bucket_status(&self, gw: &Gateway, bucket: &str) -> Result<BucketSyncStatus, AdminError> {
        meridian_sync::status::bucket_status(gw, bucket)
            .await
            .map_err(admin_error)
    }

    async fn markers(&self, gw: &Gateway, source_zone: &str) -> Result<SyncMarkers, AdminError> {
        meridian_sync::status::markers(gw, source_zone)
            .await
            .map_err(admin_error)
    }

    fn wake(&self, log: LogKind, source_zone: &str) -> bool {
        let log = match log {
            LogKind::Metadata => meridian_sync::notify::METADATA,
            LogKind::Data => meridian_sync::notify::DATA,
        };
        meridian_sync::notify::wake(log, source_zone)
    }
}

/// Bucket moves (`meridian_sync::relocate`).
pub struct Moves;

#[async_trait::async_trait]
impl BucketMoves for Moves {
    async fn zone_call(&self, gw: &Gateway, call: &MoveZoneCall) -> Result<Option<MoveZoneReply>, AdminError> {
        relocate::zone::handle(gw, call).await.map_err(admin_error)
    }

    async fn start(
        &self,
        gw: &Gateway,
        bucket: &str,
        zonegroup: &str,
        concurrency: usize,
    ) -> Result<Value, AdminError> {
        relocate::master::start(gw, bucket, zonegroup, concurrency)
            .await
            .map_err(admin_error)
    }

    async fn status(&self, gw: &Gateway, bucket: Option<&str>) -> Result<Value, AdminError> {
        relocate::master::status(gw, bucket).await.map_err(admin_error)
    }

    async fn cancel(&self, gw: &Gateway, bucket: &str) -> Result<Value, AdminError> {
        relocate::master::cancel(gw, bucket).await.map_err(admin_error)
    }

    async fn work(&self, gw: &Gateway, zonegroup: &str) -> Result<Value, AdminError> {
        let records = relocate::master::work_for(gw, zonegroup).await.map_err(admin_error)?;
        Ok(Value::Array(records.iter().map(relocate::master::raw).collect()))
    }

    async fn report(
        &self,
        gw: &Gateway,
        bucket: &str,
        move_id: &str,
        zone: &str,
        report: Value,
    ) -> Result<Value, AdminError> {
        let report: TargetReport = serde_json::from_value(report)
            .map_err(|e| AdminError::BadRequest(format!("bad bucket move report: {e}")))?;
        let rec = relocate::master::report(gw, bucket, move_id, zone, report)
            .await
            .map_err(admin_error)?;
        Ok(relocate::master::raw(&rec))
    }
}

/// Online backups (`meridian_backup::BackupService`).
pub struct Backups(pub Arc<meridian_backup::BackupService>);

#[async_trait::async_trait]
impl BackupArchive for Backups {
    async fn stream(&self, with_data: bool) -> Result<BackupBytes, BackupRefused> {
        match self.0.stream(with_data).await {
            Ok(stream) => Ok(stream),
            Err(meridian_backup::BackupError::Busy) => Err(BackupRefused::Busy),
            Err(e) => Err(BackupRefused::Failed(Box::new(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_peer::PeerError;

    #[test]
    fn sync_errors_keep_their_type() {
        let e = admin_error(SyncError::Gateway(GatewayError::NoSuchBucket));
        assert_eq!((e.code(), e.status()), ("NoSuchBucket", 404));
        let e = admin_error(SyncError::Peer(PeerError::Remote {
            status: 503,
            code: "SlowDown".into(),
            message: "busy".into(),
        }));
        assert_eq!((e.code(), e.status()), ("SlowDown", 503));
        let e = admin_error(SyncError::Protocol("garbled".into()));
        assert_eq!((e.code(), e.status()), ("InternalError", 500));
    }
}
