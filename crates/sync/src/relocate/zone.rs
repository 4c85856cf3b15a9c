//! What the master asks of each zone taking part in a move (`POST /admin/bucket-move/zone?op=...`), all
//! idempotent, so the master simply repeats a call whose answer it did not get:
//! - `hold` (source): record the move (the bucket's log is kept from now on) and tell the bucket's size;
//! - `fence` / `unfence` (source): hold the bucket's client writes for a cut-over attempt, answering the
//!   bilog head at the fence; lift an abandoned attempt's fence;
//! - `reclaim` (source after the grace period, or target after a cancel): remove this zone's copy;
//! - `release`: drop this zone's record of the move (and a target's copy positions);
//! - `refresh`: copy the bucket's entry from the master now (the flip, without waiting for metadata sync);
//! - `wake`: start the target's next copy round now.

use super::record::copy_state_prefix;
use super::{copy, MoveZoneCall, MoveZoneReply};
use crate::error::{Result, SyncError};
use meridian_gateway::moves::{LocalMove, MoveRole};
use meridian_gateway::sync_state::SyncStateBatch;
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::Bucket;
use serde_json::Value;

pub async fn handle(gw: &Gateway, call: &MoveZoneCall) -> Result<Option<MoveZoneReply>> {
    let bucket = local_bucket(gw, call).await?;
    match call.op.as_str() {
        "hold" => {
            gw.moves()
                .begin(
                    &call.bucket_id,
                    LocalMove {
                        move_id: call.move_id.clone(),
                        role: MoveRole::Source,
                        from_zonegroup: call.from_zonegroup.clone(),
                        to_zonegroup: call.to_zonegroup.clone(),
                        fenced: None,
                    },
                )
                .await?;
            let stats = match &bucket {
                Some(b) => gw.buckets().stats(b).await?,
                None => Default::default(),
            };
            Ok(Some(MoveZoneReply::sized(stats.num_objects, stats.size)))
        }
        "fence" => {
            let head = gw.moves().fence(&call.bucket_id, &call.move_id, call.attempt).await?;
            tracing::info!(bucket = %call.bucket, attempt = call.attempt, %head, "bucket writes fenced for the cut-over");
            Ok(Some(MoveZoneReply {
                head: Some(head),
                ..Default::default()
            }))
        }
        "unfence" => {
            let lifted = gw.moves().unfence(&call.bucket_id, &call.move_id).await?;
            if lifted {
                tracing::info!(bucket = %call.bucket, "cut-over abandoned: bucket writes accepted again");
            }
            Ok(Some(MoveZoneReply {
                lifted: Some(lifted),
                ..Default::default()
            }))
        }
        "reclaim" => {
            let Some(b) = bucket else {
                return Ok(Some(MoveZoneReply::sized(0, 0)));
            };
            let b = if call.role == "target" {
                // A cancelled move's partial copy: stop copying first, then remove what was copied.
                copy::stop(&call.move_id).await;
                b
            } else {
                // The source's copy goes only once this zone sends the bucket's requests to the target.
                let b = ensure_flipped(gw, call, b).await?;
                if b.zonegroup != call.to_zonegroup {
                    return Err(SyncError::Protocol(format!(
                        "bucket {} is not in zonegroup {} here yet; not reclaimed",
                        call.bucket, call.to_zonegroup
                    )));
                }
                b
            };
            if b.zonegroup == gw.site().zonegroup_id {
                // Never reclaim a copy this zonegroup serves.
                return Ok(Some(MoveZoneReply::sized(0, 0)));
            }
            let r = gw.moves().reclaim_copy(&b).await?;
            tracing::info!(bucket = %call.bucket, objects = r.objects, bytes = r.bytes, "bucket copy reclaimed");
            Ok(Some(MoveZoneReply::sized(r.objects, r.bytes)))
        }
        "release" => {
            copy::stop(&call.move_id).await;
            if call.require_flip {
                if let Some(b) = bucket {
                    let b = ensure_flipped(gw, call, b).await?;
                    if b.zonegroup != call.to_zonegroup {
                        return Err(SyncError::Protocol(format!(
                            "bucket {} is not in zonegroup {} here yet",
                            call.bucket, call.to_zonegroup
                        )));
                    }
                }
            }
            gw.moves().end(&call.bucket_id, &call.move_id).await?;
            let states: Vec<(String, Value)> = gw.sync_state().scan(&copy_state_prefix(&call.move_id), 10_000).await?;
            if !states.is_empty() {
                let mut batch = SyncStateBatch::default();
                for (name, _) in states {
                    batch.delete(format!("{}{name}", copy_state_prefix(&call.move_id)));
                }
                gw.sync_state().apply(batch).await?;
            }
            Ok(Some(MoveZoneReply {
                released: Some(true),
                ..Default::default()
            }))
        }
        "refresh" => {
            if !gw.site().is_meta_master() {
                meridian_multisite::copy_entry_from_master(gw, &format!("bucket:{}", call.bucket)).await?;
            }
            Ok(None)
        }
        "wake" => {
            super::WAKE.notify_waiters();
            Ok(None)
        }
        other => Err(SyncError::Protocol(format!(
            "unknown bucket move zone operation {other:?}"
        ))),
    }
}

/// The bucket as this zone holds it (`None` if it does not know it, or knows another instance).
async fn local_bucket(gw: &Gateway, call: &MoveZoneCall) -> Result<Option<Bucket>> {
    let (tenant, name) = meridian_gateway::buckets::split_bucket_name(&call.bucket);
    match gw.buckets().get(&tenant, &name).await {
        Ok(b) if b.bucket_id == call.bucket_id => Ok(Some(b)),
        Ok(_) | Err(GatewayError::NoSuchBucket) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The bucket with the flip applied here: metadata sync brings it, this asks the master directly.
async fn ensure_flipped(gw: &Gateway, call: &MoveZoneCall, b: Bucket) -> Result<Bucket> {
    if b.zonegroup == call.to_zonegroup || gw.site().is_meta_master() {
        return Ok(b);
    }
    meridian_multisite::copy_entry_from_master(gw, &format!("bucket:{}", call.bucket)).await?;
    Ok(gw.buckets().get(&b.tenant, &b.name).await?)
}
