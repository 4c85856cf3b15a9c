//! The agents driven against an in-memory source (`memory::MemorySource`), applying to a real gateway on
//! the embedded store in a temporary directory: the order entries apply in, markers saved and resumed,
//! transient and permanent failures, and a source that trimmed its log past this zone's position.

use crate::error::SyncError;
use crate::memory::{marker, MemorySource};
use crate::state::{self, BucketSync, LogSync, Phase, RetryEntry};
use crate::{bucket, data, gap, meta, Agent};
use futures::TryStreamExt;
use meridian_gateway::sync_state::SyncStateBatch;
use meridian_gateway::{Gateway, GatewayError, GatewayOptions};
use meridian_model::{Bucket, Timestamp};
use meridian_peer::PeerError;
use meridian_store::local::{LocalData, LocalMeta};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

const SRC: &str = "zone-src";
/// The source's name of the test bucket (no tenant).
const SPEC: &str = "photos";

struct Fixture {
    _dir: tempfile::TempDir,
    gw: Gateway,
    bucket: Bucket,
    src: Arc<MemorySource>,
    agent: Agent,
}

impl Fixture {
    /// A gateway (bootstrap zone, so its own metadata master) with bucket `photos`, syncing from an empty
    /// memory source.
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let gw = Gateway::open(
            Arc::new(LocalMeta::open(&dir.path().join("meta.redb")).unwrap()),
            Arc::new(LocalData::open(&dir.path().join("data")).unwrap()),
            None,
            GatewayOptions::default(),
        )
        .await
        .unwrap()
        .0;
        let user = gw
            .users()
            .create(meridian_gateway::users::NewUser {
                uid: "u".into(),
                display_name: "U".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let bucket = gw.buckets().create(&user, SPEC, None).await.unwrap();
        let src = Arc::new(MemorySource::new(SRC));
        src.with(|st| {
            st.buckets.entry(SPEC.into()).or_default();
        });
        let agent = Agent {
            gw: gw.clone(),
            source: src.clone(),
            concurrency: 2,
            fetches: Semaphore::new(2),
            wake: Notify::new(),
            log_wake: Arc::new(Notify::new()),
            poll: Duration::from_millis(50),
            health: Default::default(),
        };
        Fixture {
            _dir: dir,
            gw,
            bucket,
            src,
            agent,
        }
    }

    /// The bucket's key in the data log: `tenant:name:bucket_id`.
    fn bucket_key(&self) -> String {
        format!(":{SPEC}:{}", self.bucket.bucket_id)
    }

    fn bucket_state_name(&self) -> String {
        state::bucket(SRC, &self.bucket.bucket_id)
    }

    async fn saved_bucket_state(&self) -> Option<BucketSync> {
        self.gw.sync_state().get(&self.bucket_state_name()).await.unwrap()
    }

    /// Runs the bucket's sync from its saved position (as the data agent does).
    async fn sync_bucket(&self) -> crate::Result<BucketSync> {
        let mut st = self.saved_bucket_state().await.unwrap_or_default();
        bucket::run(&self.agent, &self.bucket, SPEC, &self.bucket_state_name(), &mut st).await?;
        Ok(st)
    }

    /// The bytes of `key` here; `None` when this zone does not hold it.
    async fn local(&self, key: &str) -> Option<Vec<u8>> {
        match self
            .gw
            .objects()
            .get_version(&self.bucket, key, None, None, &Default::default())
            .await
        {
            Ok(read) => {
                let chunks: Vec<bytes::Bytes> = read.body.try_collect().await.unwrap();
                Some(chunks.concat())
            }
            Err(GatewayError::NoSuchKey) => None,
            Err(e) => panic!("reading {key}: {e}"),
        }
    }

    async fn put_state<T: serde::Serialize>(&self, name: String, value: &T) {
        let mut batch = SyncStateBatch::default();
        batch.put(name, value).unwrap();
        self.gw.sync_state().apply(batch).await.unwrap();
    }

    fn incremental_from(marker: &str) -> BucketSync {
        BucketSync {
            phase: Phase::Incremental,
            marker: marker.to_string(),
            ..Default::default()
        }
    }
}

#[tokio::test]
async fn bucket_log_entries_apply_in_order_and_the_marker_resumes() {
    let f = Fixture::new().await;
    f.put_state(f.bucket_state_name(), &Fixture::incremental_from("")).await;
    f.src.put(SPEC, "a", b"first");
    f.src.put(SPEC, "b", b"bee");
    f.src.put(SPEC, "a", b"second");
    let last = f.src.delete(SPEC, "b");

    let st = f.sync_bucket().await.unwrap();
    assert_eq!(
        f.local("a").await.as_deref(),
        Some(&b"second"[..]),
        "the later write of a wins"
    );
    assert_eq!(f.local("b").await, None, "b was deleted after it was written");
    assert_eq!(st.marker, last);
    assert_eq!(
        f.saved_bucket_state().await.unwrap().marker,
        last,
        "the position is saved with the page"
    );
    // Within a page only a key's last change is fetched: a once, b not at all.
    assert_eq!(f.src.with(|s| s.fetches), 1);

    // The next pass starts where the saved position says, and fetches only what is new.
    let c = f.src.put(SPEC, "c", b"sea");
    let st = f.sync_bucket().await.unwrap();
    assert_eq!(f.local("c").await.as_deref(), Some(&b"sea"[..]));
    assert_eq!(st.marker, c);
    assert_eq!(f.src.with(|s| s.fetches), 2);
    let reads = f.src.with(|s| s.bilog_reads.clone());
    assert!(
        reads.contains(&last),
        "the second pass read the log after {last}: {reads:?}"
    );
    assert!(!reads[reads.iter().position(|r| *r == last).unwrap()..].contains(&String::new()));
}

#[tokio::test]
async fn bucket_full_sync_copies_the_listing_then_follows_the_log_from_its_head() {
    let f = Fixture::new().await;
    f.src.put(SPEC, "x", b"ex");
    f.src.put(SPEC, "y", b"why");
    let head = f.src.put(SPEC, "z", b"zed");

    let st = f.sync_bucket().await.unwrap();
    for (key, bytes) in [("x", &b"ex"[..]), ("y", b"why"), ("z", b"zed")] {
        assert_eq!(f.local(key).await.as_deref(), Some(bytes), "{key}");
    }
    assert_eq!(st.phase, Phase::Incremental);
    assert_eq!(st.head.as_deref(), Some(head.as_str()));
    assert_eq!(
        st.marker, head,
        "incremental sync starts at the head read before the listing"
    );
    assert_eq!(st.objects_done, 3);
    // Nothing in the log past the head, so nothing fetched twice.
    assert_eq!(f.src.with(|s| s.fetches), 3);
    assert_eq!(f.src.with(|s| s.bilog_reads.clone()), vec![head]);
}

#[tokio::test]
async fn a_transient_fetch_error_is_retried() {
    let f = Fixture::new().await;
    f.put_state(f.bucket_state_name(), &Fixture::incremental_from("")).await;
    let written = f.src.put(SPEC, "a", b"payload");
    f.src.with(|s| {
        s.fetch_errors.push_back(SyncError::Peer(PeerError::Unreachable {
            endpoint: "http://source".into(),
            message: "connection reset".into(),
        }))
    });

    let st = f.sync_bucket().await.unwrap();
    assert_eq!(f.local("a").await.as_deref(), Some(&b"payload"[..]));
    assert_eq!(st.marker, written);
    assert_eq!(f.src.with(|s| s.fetches), 2, "one failed fetch, one retry");
}

#[tokio::test]
async fn fetched_bytes_that_do_not_match_are_a_permanent_error_not_retried() {
    let f = Fixture::new().await;
    f.put_state(f.bucket_state_name(), &Fixture::incremental_from("")).await;
    f.src.put(SPEC, "a", b"payload");
    f.src.with(|s| s.corrupt = true);

    let err = f.sync_bucket().await.unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Gateway(GatewayError::ReplicaMismatch { key, size: 7, expected_size: 7, .. }) if key == "a"
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(f.src.with(|s| s.fetches), 1, "a mismatch is not fetched again");
    assert_eq!(f.local("a").await, None, "nothing torn is made visible");
    assert_eq!(
        f.saved_bucket_state().await.unwrap().marker,
        "",
        "the position stays before the entry"
    );

    // Once the source sends the right bytes, the bucket's next sync applies the entry.
    f.src.with(|s| s.corrupt = false);
    f.sync_bucket().await.unwrap();
    assert_eq!(f.local("a").await.as_deref(), Some(&b"payload"[..]));
}

#[tokio::test]
async fn the_data_log_marks_changed_buckets_and_resumes_from_its_markers() {
    let f = Fixture::new().await;
    f.src.with(|s| {
        s.bucket_list = vec![crate::source::SourceBucket {
            key: f.bucket_key(),
            objects: 0,
        }]
    });
    // A new source: every bucket pending for a full sync, the shard markers at the heads.
    let before = f.src.mark_changed(1, &f.bucket_key());
    assert!(data::datalog_step(&f.agent).await.unwrap());
    let progress: LogSync =
        f.gw.sync_state()
            .get(&state::log_state(data::LOG, SRC))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(progress.phase, Phase::Full);
    let markers = state::shard_markers(&f.gw, data::LOG, SRC).await.unwrap();
    assert_eq!(markers.get(&1), Some(&before));
    let pending: Vec<(String, String)> = f.gw.sync_state().scan(&state::pending_prefix(SRC), 10).await.unwrap();
    assert_eq!(pending, vec![(f.bucket_key(), String::new())]);

    // A change in shard 2 is read from that shard's marker and saved as the new one.
    let mark = f.src.mark_changed(2, &f.bucket_key());
    assert!(data::datalog_step(&f.agent).await.unwrap());
    let markers = state::shard_markers(&f.gw, data::LOG, SRC).await.unwrap();
    assert_eq!(markers.get(&2), Some(&mark));
    assert_eq!(f.src.with(|s| s.datalog_reads.clone()), vec![(2, String::new())]);
    let pending: Vec<(String, String)> = f.gw.sync_state().scan(&state::pending_prefix(SRC), 10).await.unwrap();
    assert_eq!(pending, vec![(f.bucket_key(), mark.clone())]);

    // Nothing new: no shard is read again.
    assert!(!data::datalog_step(&f.agent).await.unwrap());
    assert_eq!(f.src.with(|s| s.datalog_reads.len()), 1);

    // The bucket worker syncs the pending bucket, drops its mark, and ends the full sync.
    f.src.put(SPEC, "photo.jpg", b"jpeg");
    let done = async {
        loop {
            let pending = f.gw.sync_state().count(&state::pending_prefix(SRC), 10).await.unwrap();
            let progress: LogSync =
                f.gw.sync_state()
                    .get(&state::log_state(data::LOG, SRC))
                    .await
                    .unwrap()
                    .unwrap();
            if pending == 0 && progress.phase == Phase::Incremental {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        tokio::select! {
            _ = data::bucket_worker(&f.agent) => unreachable!("the worker runs until dropped"),
            _ = done => {}
        }
    })
    .await
    .expect("the bucket worker synced the pending bucket");
    assert_eq!(f.local("photo.jpg").await.as_deref(), Some(&b"jpeg"[..]));
}

#[tokio::test]
async fn a_source_that_trimmed_past_this_zone_sends_it_back_to_full_sync() {
    let f = Fixture::new().await;
    f.src.with(|s| {
        s.bucket_list = vec![crate::source::SourceBucket {
            key: f.bucket_key(),
            objects: 0,
        }];
        s.trimmed.data.insert(0, marker(5));
        s.trimmed.buckets.insert(f.bucket.bucket_id.clone(), marker(7));
    });
    let progress = LogSync {
        phase: Phase::Incremental,
        started: Timestamp::now(),
        items_total: 0,
        items_done: 0,
    };
    f.put_state(state::log_state(data::LOG, SRC), &progress).await;
    f.put_state(state::shard_marker(data::LOG, SRC, 0), &marker(2)).await;
    f.put_state(f.bucket_state_name(), &Fixture::incremental_from(&marker(3)))
        .await;

    gap::check_until_done(&f.agent, data::LOG).await;

    let fallbacks: Vec<gap::Fallback> =
        f.gw.sync_state()
            .get(&gap::fallbacks_name(data::LOG, SRC))
            .await
            .unwrap()
            .unwrap();
    let what: Vec<&str> = fallbacks.iter().map(|f| f.what.as_str()).collect();
    assert_eq!(what, vec!["shard 0", &format!("bucket {}", f.bucket_key())]);
    assert_eq!(
        (fallbacks[0].marker.as_str(), fallbacks[0].trimmed.as_str()),
        (&*marker(2), &*marker(5))
    );
    let st = f.saved_bucket_state().await.unwrap();
    assert_eq!(st.phase, Phase::Full, "the bucket is synced in full again");
    let pending: Vec<(String, String)> = f.gw.sync_state().scan(&state::pending_prefix(SRC), 10).await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");

    // A position not behind the trimmed one is left alone.
    let f = Fixture::new().await;
    f.src.with(|s| s.trimmed.data.insert(0, marker(5)));
    f.put_state(state::log_state(data::LOG, SRC), &progress).await;
    f.put_state(state::shard_marker(data::LOG, SRC, 0), &marker(5)).await;
    gap::check_until_done(&f.agent, data::LOG).await;
    let none: Option<Vec<gap::Fallback>> =
        f.gw.sync_state()
            .get(&gap::fallbacks_name(data::LOG, SRC))
            .await
            .unwrap();
    assert!(none.is_none());
}

#[tokio::test]
async fn metadata_sync_saves_the_heads_sets_aside_a_bad_entry_and_waits_on_an_unavailable_master() {
    let f = Fixture::new().await;
    let head = f.src.metadata_changed(0, "user:old");

    // Full sync (nothing to copy here) ends with every shard at the head read before it.
    assert!(meta::step(&f.agent).await.unwrap());
    let progress: LogSync =
        f.gw.sync_state()
            .get(&state::log_state(meta::LOG, SRC))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(progress.phase, Phase::Incremental);
    assert_eq!(
        state::shard_markers(&f.gw, meta::LOG, SRC).await.unwrap().get(&0),
        Some(&head)
    );

    // An entry that cannot be applied (a malformed key) is set aside; the shard goes on past it.
    let bad = f.src.metadata_changed(0, "no-section");
    assert!(meta::step(&f.agent).await.unwrap());
    assert_eq!(
        state::shard_markers(&f.gw, meta::LOG, SRC).await.unwrap().get(&0),
        Some(&bad)
    );
    let parked: Vec<(String, RetryEntry)> =
        f.gw.sync_state()
            .scan(&state::retry_prefix(meta::LOG, SRC), 10)
            .await
            .unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].0, "no-section");

    // An entry that needs the master, which this zone cannot reach: the shard waits at the entry before.
    f.src.metadata_changed(0, "user:alice");
    let err = meta::step(&f.agent).await.unwrap_err();
    assert!(
        matches!(err, SyncError::Gateway(GatewayError::MasterUnavailable(_))),
        "{err:?}"
    );
    assert_eq!(
        state::shard_markers(&f.gw, meta::LOG, SRC).await.unwrap().get(&0),
        Some(&bad)
    );
}
