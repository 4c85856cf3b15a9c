//! `/admin/bucket-move...`: moving a bucket to another zonegroup. The moves themselves are
//! `meridian_sync::relocate`'s, reached through the `BucketMoves` service (`services.rs`); the router
//! (`router.rs`) parses these endpoints.
//!
//! On the metadata master (a zone that is not forwards these to it, as other master-only verbs do):
//! - `POST /admin/bucket-move?bucket=B&zonegroup=ZG[&concurrency=N]`: start (queued; idempotent);
//! - `GET /admin/bucket-move[?bucket=B]`: status (phase, objects and bytes copied of the total, rate, ETA);
//! - `POST /admin/bucket-move/cancel?bucket=B`: cancel before the cut-over;
//! - `GET /admin/bucket-move/work?zonegroup=ZG` and `POST /admin/bucket-move/report`: the target zones'
//!   side (what to copy, how far they are).
//!
//! On every zone, called by the master: `POST /admin/bucket-move/zone?op=...` (hold, fence, unfence,
//! reclaim, release, refresh, wake).

use crate::error::AdminError;
use crate::ops::AdminRequest;
use crate::services::BucketMoves;
use meridian_gateway::Gateway;
use serde_json::Value;

/// `POST /admin/bucket-move/report?bucket&move&zone`: a target zone's report, its JSON body.
pub(crate) async fn report(
    gw: &Gateway,
    moves: &dyn BucketMoves,
    req: &AdminRequest,
    bucket: &str,
    move_id: &str,
    zone: &str,
) -> Result<Value, AdminError> {
    let body = req
        .body
        .clone()
        .ok_or_else(|| AdminError::BadRequest("a report needs a JSON body".into()))?;
    moves.report(gw, bucket, move_id, zone, body).await
}
