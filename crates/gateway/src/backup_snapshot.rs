//! Consistent snapshots for backups: the metadata store as of one instant, with garbage collection held
//! back from every blob that snapshot may still reference until the snapshot is dropped.

use crate::error::{GatewayError, Result};
use crate::keys;
use meridian_model::Timestamp;
use meridian_store::ReadOps;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The snapshots GC must respect: per pin, the last GC queue entry that was queued before the snapshot
/// (`None` while the snapshot is being taken: then nothing may be collected).
#[derive(Default)]
pub(crate) struct GcPins {
    state: Mutex<PinState>,
}

#[derive(Default)]
struct PinState {
    next_id: u64,
    pins: BTreeMap<u64, Option<u64>>,
}

impl GcPins {
    fn lock(&self) -> std::sync::MutexGuard<'_, PinState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register(self: &Arc<Self>) -> GcPin {
        let mut st = self.lock();
        st.next_id += 1;
        let id = st.next_id;
        st.pins.insert(id, None);
        GcPin { pins: self.clone(), id }
    }

    /// The highest GC queue sequence number that may be collected now; `None`: no limit.
    ///
    /// A queue entry stops its blobs being referenced in the transaction that queues it, so entries
    /// queued before a snapshot name only blobs that snapshot does not reference. Entries queued after it
    /// may name blobs it does, and wait until it is dropped.
    pub(crate) fn collectable(&self) -> Option<u64> {
        let st = self.lock();
        st.pins.values().map(|limit| limit.unwrap_or(0)).min()
    }

    /// How many snapshots hold GC back now.
    pub(crate) fn active(&self) -> usize {
        self.lock().pins.len()
    }
}

/// Holds GC back while it lives.
pub(crate) struct GcPin {
    pins: Arc<GcPins>,
    id: u64,
}

impl GcPin {
    fn set_limit(&self, seq: u64) {
        self.pins.lock().pins.insert(self.id, Some(seq));
    }
}

impl Drop for GcPin {
    fn drop(&mut self) {
        self.pins.lock().pins.remove(&self.id);
    }
}

/// One consistent view of the metadata store for a backup. While it lives, the blobs it references stay.
pub struct BackupSnapshot {
    pub reader: Box<dyn ReadOps + Send>,
    /// When the snapshot was taken.
    pub taken: Timestamp,
    /// How long taking it took (writers are never blocked by it; this is the wait for the store).
    pub waited: Duration,
    _pin: GcPin,
}

/// The value of a sequence counter as a snapshot sees it.
pub(crate) fn current_seq(r: &dyn ReadOps, name: &str) -> Result<u64> {
    match r.get(&keys::seq(name))? {
        None => Ok(0),
        Some(b) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| GatewayError::Corrupt(name.to_string(), "counter".into())),
    }
}

impl crate::GcService<'_> {
    /// Takes a snapshot of the metadata store for a backup, pinning GC first so no blob the snapshot
    /// references can be collected between the two.
    pub async fn backup_snapshot(&self) -> Result<BackupSnapshot> {
        let pin = self.core.gc_pins.register();
        let meta = self.core.meta.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let reader = meta.snapshot()?;
            let waited = started.elapsed();
            let taken = Timestamp::now();
            pin.set_limit(current_seq(&*reader, "gc")?);
            Ok(BackupSnapshot {
                reader,
                taken,
                waited,
                _pin: pin,
            })
        })
        .await?
    }

    /// How many backup snapshots currently hold garbage collection back.
    pub fn pinned_by(&self) -> usize {
        self.core.gc_pins.active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_hold_gc_until_dropped() {
        let pins = Arc::new(GcPins::default());
        assert_eq!(pins.collectable(), None);
        let a = pins.register();
        assert_eq!(pins.collectable(), Some(0), "a snapshot being taken holds everything");
        a.set_limit(7);
        let b = pins.register();
        b.set_limit(9);
        assert_eq!(pins.collectable(), Some(7));
        drop(a);
        assert_eq!(pins.collectable(), Some(9));
        drop(b);
        assert_eq!(pins.collectable(), None);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn gc_keeps_the_blobs_a_backup_snapshot_references() {
        use meridian_store::local::{LocalData, LocalMeta};
        let dir = tempfile::tempdir().unwrap();
        let gw = crate::Gateway::open(
            Arc::new(LocalMeta::open(&dir.path().join("meta.redb")).unwrap()),
            Arc::new(LocalData::open(&dir.path().join("data")).unwrap()),
            None,
            crate::GatewayOptions {
                gc_delay: Duration::ZERO,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .0;
        let (_, bucket) = crate::test_support::user_bucket(&gw, "pinned").await;
        let big = || -> crate::ByteStream {
            Box::pin(futures::stream::iter([Ok(bytes::Bytes::from(vec![7u8; 200 * 1024]))]))
        };
        let first = gw.objects().put(&bucket, "k", big(), Default::default()).await.unwrap();
        let old_blob = first.manifest.segments[0].data_id.clone();
        assert!(!first.manifest.segments[0].inline);

        let snap = gw.gc().backup_snapshot().await.unwrap();
        assert_eq!(gw.gc().pinned_by(), 1);
        gw.objects().put(&bucket, "k", big(), Default::default()).await.unwrap();
        assert_eq!(
            gw.gc().collect().await.unwrap(),
            0,
            "the snapshot still references the old blob"
        );
        assert!(gw.data_store().open(&old_blob, 0, 1).is_ok());
        assert!(snap.reader.get(&keys::blob_ref(&old_blob)).unwrap().is_some());

        drop(snap);
        assert_eq!(gw.gc().pinned_by(), 0);
        assert_eq!(gw.gc().collect().await.unwrap(), 1);
        assert!(gw.data_store().open(&old_blob, 0, 1).is_err());
    }
}
