//! A zone's part in moving a bucket to another zonegroup (`meridian bucket move`, driven by the metadata
//! master in `meridian_sync::relocate`): the local move record of a bucket (`LocalMove`), the write fence of
//! the cut-over (checked inside every client write's transaction, so no write commits after the fence), the
//! zonegroup flip on the master, and the reclaiming of a copy that is no longer needed.
//!
//! The local record lives in the zone's sync state (`sync/move/local/<bucket_id>`); it also lets metadata
//! sync apply the bucket's zonegroup change although this zone holds its objects (the refusal in
//! `metadata.rs` is for changes that would strand objects; a move does not).

use crate::error::{GatewayError, Result};
use crate::{buckets, keys, records};
use meridian_model::{Bucket, BucketStats, LogShardInfo, Timestamp};
use meridian_store::{ReadOps, WriteTxn};
use serde::{Deserialize, Serialize};

/// Seconds a client is asked to wait (`Retry-After`) while a bucket's cut-over holds its writes.
pub const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MoveRole {
    /// A zone of the bucket's zonegroup: its copy is read, fenced at the cut-over, reclaimed after it.
    Source,
    /// A zone of the target zonegroup: it copies the bucket.
    Target,
}

/// This zone's record of a move of one of its buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalMove {
    pub move_id: String,
    pub role: MoveRole,
    pub from_zonegroup: String,
    pub to_zonegroup: String,
    /// The cut-over attempt that fenced the bucket's writes here (a source zone only).
    #[serde(default)]
    pub fenced: Option<u64>,
}

pub fn local_name(bucket_id: &str) -> String {
    format!("move/local/{bucket_id}")
}

fn local_key(bucket_id: &str) -> Vec<u8> {
    keys::sync_state(&local_name(bucket_id))
}

/// Refuses a client write of a bucket whose cut-over fenced it here (in the write's own transaction, so a
/// write either committed before the fence, and is in the bilog head the fence returned, or is refused).
pub(crate) fn check_writable(txn: &dyn ReadOps, bucket: &Bucket) -> Result<()> {
    match records::get::<LocalMove>(txn, &local_key(&bucket.bucket_id))? {
        Some(m) if m.fenced.is_some() => Err(GatewayError::SlowDown(format!(
            "bucket {} is moving to another zonegroup and its writes are held for the cut-over (a second or \
             so); retry after {RETRY_AFTER_SECS} s",
            bucket.name
        ))),
        _ => Ok(()),
    }
}

/// A bucket that is moving is not deleted under the move (cancel the move first).
pub(crate) fn check_not_moving(txn: &dyn ReadOps, bucket: &Bucket) -> Result<()> {
    match records::get::<LocalMove>(txn, &local_key(&bucket.bucket_id))? {
        Some(m) => Err(GatewayError::Conflict(format!(
            "bucket {} is moving to zonegroup {} (move {}): it cannot be deleted now; see `meridian bucket move \
             status --bucket {}`, or cancel the move first",
            bucket.name, m.to_zonegroup, m.move_id, bucket.name
        ))),
        None => Ok(()),
    }
}

/// Whether a move of `b` to `to` is under way here, so metadata sync may apply its zonegroup change
/// although this zone holds objects of it.
pub(crate) fn allows_zonegroup_change(r: &dyn ReadOps, b: &Bucket, to: &str) -> Result<bool> {
    Ok(records::get::<LocalMove>(r, &local_key(&b.bucket_id))?.is_some_and(|m| m.to_zonegroup == to))
}

fn bilog_head(r: &dyn ReadOps, bucket_id: &str) -> Result<String> {
    let prefix = keys::bilog_prefix(bucket_id);
    let end = meridian_store::meta::prefix_end(&prefix);
    Ok(r.scan_rev(&prefix, &end, 1)?
        .into_iter()
        .next()
        .map(|(k, _)| String::from_utf8_lossy(&k[prefix.len()..]).into_owned())
        .unwrap_or_default())
}

/// What one reclaiming pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reclaimed {
    pub objects: u64,
    pub bytes: u64,
    pub uploads: u64,
}

/// Bucket moves between zonegroups: the local move records, the fence, the flip and the reclaim.
/// Reached through `Gateway::moves()`.
#[derive(Clone, Copy)]
pub struct MoveService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

impl MoveService<'_> {
    pub async fn get(&self, bucket_id: &str) -> Result<Option<LocalMove>> {
        let key = local_key(bucket_id);
        self.core.read(move |r| records::get(r, &key)).await
    }

    /// Records this zone's part in a move (kept as it is if the same move already has one: a fence stays).
    pub async fn begin(&self, bucket_id: &str, record: LocalMove) -> Result<LocalMove> {
        let key = local_key(bucket_id);
        self.core
            .write(move |txn| {
                if let Some(held) = records::get::<LocalMove>(txn, &key)? {
                    if held.move_id == record.move_id {
                        return Ok(held);
                    }
                }
                records::put(txn, &key, &record)?;
                Ok(record)
            })
            .await
    }

    /// Fences the bucket's client writes for cut-over `attempt` and returns its bilog head, in ONE
    /// transaction: every write acknowledged here is at or before that head.
    pub async fn fence(&self, bucket_id: &str, move_id: &str, attempt: u64) -> Result<String> {
        let (key, id, move_id) = (local_key(bucket_id), bucket_id.to_string(), move_id.to_string());
        self.core
            .write(move |txn| {
                let mut m: LocalMove = records::get(txn, &key)?
                    .filter(|m: &LocalMove| m.move_id == move_id)
                    .ok_or_else(|| GatewayError::Conflict(format!("no move {move_id} of bucket instance {id} here")))?;
                m.fenced = Some(attempt);
                records::put(txn, &key, &m)?;
                bilog_head(txn, &id)
            })
            .await
    }

    /// Lifts the fence of an aborted cut-over; true if there was one.
    pub async fn unfence(&self, bucket_id: &str, move_id: &str) -> Result<bool> {
        let (key, move_id) = (local_key(bucket_id), move_id.to_string());
        self.core
            .write(move |txn| {
                let Some(mut m) = records::get::<LocalMove>(txn, &key)?.filter(|m| m.move_id == move_id) else {
                    return Ok(false);
                };
                let was = m.fenced.take().is_some();
                records::put(txn, &key, &m)?;
                Ok(was)
            })
            .await
    }

    /// Drops this zone's record of the move (its fence with it).
    pub async fn end(&self, bucket_id: &str, move_id: &str) -> Result<()> {
        let (key, move_id) = (local_key(bucket_id), move_id.to_string());
        self.core
            .write(move |txn| {
                if records::get::<LocalMove>(txn, &key)?.is_some_and(|m| m.move_id == move_id) {
                    txn.delete(&key)?;
                }
                Ok(())
            })
            .await
    }

    /// Every local move record, by bucket instance id.
    pub async fn list(&self) -> Result<Vec<(String, LocalMove)>> {
        self.core.sync_state().scan("move/local/", 100_000).await
    }

    /// The master's half of a cut-over: the bucket's metadata names zonegroup `to` from now on (a new
    /// version, logged in the metadata log so every zone applies it, told to the DNS index).
    pub async fn flip_zonegroup(&self, tenant: &str, name: &str, bucket_id: &str, to: &str) -> Result<Bucket> {
        if !self.core.site().is_meta_master() {
            return Err(GatewayError::NotMetaMaster {
                master_endpoints: self.core.site().master_endpoints(),
            });
        }
        let (bkey, id, to_zg) = (keys::bucket(tenant, name), bucket_id.to_string(), to.to_string());
        let flipped = self
            .core
            .write(move |txn| {
                let mut b: Bucket = records::get(txn, &bkey)?.ok_or(GatewayError::NoSuchBucket)?;
                if b.bucket_id != id {
                    return Err(GatewayError::NoSuchBucket);
                }
                if b.zonegroup == to_zg {
                    return Ok(b);
                }
                b.zonegroup = to_zg;
                b.ver.ver += 1;
                b.mtime = Timestamp::now();
                records::put(txn, &bkey, &b)?;
                crate::mdlog::bucket_written(txn, &b)?;
                Ok(b)
            })
            .await?;
        self.core.notify_bucket(tenant, name);
        Ok(flipped)
    }

    /// Removes this zone's copy of a bucket (objects, multipart uploads, tombstones, its bucket index log)
    /// without logging a change: the copy is no longer where the bucket lives (after a move), or never was
    /// (a cancelled move's partial copy). The bytes go to the garbage collector. The bucket record stays.
    pub async fn reclaim_copy(&self, bucket: &Bucket) -> Result<Reclaimed> {
        let mut out = Reclaimed::default();
        loop {
            let b = bucket.clone();
            let (more, r) = self
                .core
                .write(move |txn| {
                    let before: BucketStats = records::get(txn, &keys::stats(&b.bucket_id))?.unwrap_or_default();
                    let uploads = txn
                        .scan(
                            &keys::upload_prefix(&b.bucket_id),
                            &meridian_store::meta::prefix_end(&keys::upload_prefix(&b.bucket_id)),
                            500,
                        )?
                        .len() as u64;
                    let more = buckets::purge_batch(txn, &b, 500)?;
                    let after: BucketStats = records::get(txn, &keys::stats(&b.bucket_id))?.unwrap_or_default();
                    Ok((
                        more,
                        Reclaimed {
                            objects: before.num_objects.saturating_sub(after.num_objects),
                            bytes: before.size.saturating_sub(after.size),
                            uploads,
                        },
                    ))
                })
                .await?;
            out.objects += r.objects;
            out.bytes += r.bytes;
            out.uploads += r.uploads;
            if !more {
                break;
            }
        }
        let b = bucket.clone();
        self.core
            .write(move |txn| {
                crate::replica::drop_tombstones(txn, &b.bucket_id)?;
                reset_bilog(txn, &b.bucket_id)?;
                records::put(txn, &keys::stats(&b.bucket_id), &BucketStats::default())
            })
            .await?;
        Ok(out)
    }

    /// The bucket's bilog head here.
    pub async fn bilog_head(&self, bucket_id: &str) -> Result<LogShardInfo> {
        let id = bucket_id.to_string();
        self.core
            .read(move |r| {
                Ok(LogShardInfo {
                    marker: bilog_head(r, &id)?,
                    last_update: None,
                })
            })
            .await
    }
}

fn reset_bilog(txn: &mut dyn WriteTxn, bucket_id: &str) -> Result<()> {
    crate::logs::drop_bilog(txn, bucket_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{body, gateway};

    #[tokio::test(flavor = "multi_thread")]
    async fn a_fence_holds_client_writes_and_returns_the_head_of_everything_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(dir.path()).await;
        let (_, bucket) = crate::test_support::user_bucket(&gw, "moving").await;
        for k in ["a", "b", "c"] {
            gw.objects()
                .put(&bucket, k, body(b"x"), Default::default())
                .await
                .unwrap();
        }
        let record = LocalMove {
            move_id: "m1".into(),
            role: MoveRole::Source,
            from_zonegroup: bucket.zonegroup.clone(),
            to_zonegroup: "eu".into(),
            fenced: None,
        };
        gw.moves().begin(&bucket.bucket_id, record.clone()).await.unwrap();
        // Not fenced yet: writes go on.
        gw.objects()
            .put(&bucket, "d", body(b"x"), Default::default())
            .await
            .unwrap();
        let head_before = gw.moves().bilog_head(&bucket.bucket_id).await.unwrap().marker;
        let head = gw.moves().fence(&bucket.bucket_id, "m1", 1).await.unwrap();
        assert_eq!(head, head_before);
        let refused = gw.objects().put(&bucket, "e", body(b"x"), Default::default()).await;
        assert!(matches!(refused, Err(GatewayError::SlowDown(_))), "{refused:?}");
        assert!(matches!(
            gw.objects().delete(&bucket, "a").await,
            Err(GatewayError::SlowDown(_))
        ));
        assert!(matches!(
            gw.objects().delete_many(&bucket, vec!["a".into()]).await,
            Err(GatewayError::SlowDown(_))
        ));
        assert_eq!(gw.moves().bilog_head(&bucket.bucket_id).await.unwrap().marker, head);
        // Reads are served.
        gw.objects().meta(&bucket, "a").await.unwrap();
        // Beginning the same move again keeps the fence; another move id cannot fence it.
        let kept = gw.moves().begin(&bucket.bucket_id, record).await.unwrap();
        assert_eq!(kept.fenced, Some(1));
        assert!(gw.moves().fence(&bucket.bucket_id, "other", 2).await.is_err());
        // Lifted: writes again.
        assert!(gw.moves().unfence(&bucket.bucket_id, "m1").await.unwrap());
        gw.objects()
            .put(&bucket, "e", body(b"x"), Default::default())
            .await
            .unwrap();

        // The copy is reclaimed without logging; the bucket record stays.
        let r = gw.moves().reclaim_copy(&bucket).await.unwrap();
        assert_eq!((r.objects, r.bytes), (5, 5));
        assert!(matches!(
            gw.objects().meta(&bucket, "a").await,
            Err(GatewayError::NoSuchKey)
        ));
        assert_eq!(gw.buckets().stats(&bucket).await.unwrap(), BucketStats::default());
        assert_eq!(gw.moves().bilog_head(&bucket.bucket_id).await.unwrap().marker, "");
        gw.buckets().get("", "moving").await.unwrap();
        // Not deleted while it moves.
        let refused = gw.buckets().remove("", "moving", false).await;
        assert!(
            matches!(refused, Err(GatewayError::Conflict(ref m)) if m.contains("moving")),
            "{refused:?}"
        );
        gw.moves().end(&bucket.bucket_id, "m1").await.unwrap();
        assert!(gw.moves().get(&bucket.bucket_id).await.unwrap().is_none());
        gw.buckets().remove("", "moving", false).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_flip_is_a_new_logged_version() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(dir.path()).await;
        let (_, bucket) = crate::test_support::user_bucket(&gw, "flipped").await;
        let flipped = gw
            .moves()
            .flip_zonegroup("", "flipped", &bucket.bucket_id, "eu-id")
            .await
            .unwrap();
        assert_eq!(flipped.zonegroup, "eu-id");
        assert_eq!(flipped.ver.ver, bucket.ver.ver + 1);
        assert_eq!(gw.buckets().get("", "flipped").await.unwrap().zonegroup, "eu-id");
        // Again: nothing changes.
        let again = gw
            .moves()
            .flip_zonegroup("", "flipped", &bucket.bucket_id, "eu-id")
            .await
            .unwrap();
        assert_eq!(again.ver, flipped.ver);
        assert!(gw
            .moves()
            .flip_zonegroup("", "flipped", "other-id", "us")
            .await
            .is_err());
    }
}
