//! One bucket's sync from one source: full sync (the source's bilog head first, then its object listing),
//! then incremental from that head through the source's bucket index log. A page of changes is fetched
//! (small objects many per request, large ones streamed, a bounded number of requests at once, with
//! retries) and applied in ONE metadata transaction together with the bucket's new position, so a position
//! is never saved without everything before it.

use crate::error::{Result, SyncError};
use crate::source::FetchedBatch;
use crate::state::{self, BucketSync, Phase};
use crate::Agent;
use futures::future::BoxFuture;
use futures::StreamExt;
use meridian_gateway::replica::{fetch_spec, listed_fetch_spec, Applied, ReplicaChange, StagedReplica, WriteQuery};
use meridian_gateway::sync_state::SyncStateBatch;
use meridian_gateway::{ByteStream, GatewayError};
use meridian_model::{parse_version_id, BilogEntry, BilogOp, Bucket, ObjectMeta, Timestamp, WriteOrder, NULL_VERSION};
use meridian_multisite as multisite;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// Bucket index log entries (incremental) or objects (full sync) per page; a page is applied in one
/// metadata transaction, with the bucket's new position.
const PAGE: usize = 500;
/// Keys per batched fetch of small objects.
const FETCH_BATCH: usize = 250;
/// Objects up to this size are fetched in batches (the source stores them inline, as this zone will).
const SMALL_OBJECT: u64 = 64 << 10;
const FETCH_ATTEMPTS: u32 = 4;

/// Syncs a bucket (`tenant:name:bucket_id`) until it caught up with the source's log as it was read.
pub(crate) async fn sync(agent: &Agent, bucket_key: &str) -> Result<()> {
    let src = &agent.source;
    let Some(bucket) = resolve(agent, bucket_key).await? else {
        return Ok(());
    };
    let spec = meridian_gateway::metadata::bucket_spec(&bucket.tenant, &bucket.name);
    let name = state::bucket(src.zone_id(), &bucket.bucket_id);
    let mut st: BucketSync = agent.gw.sync_state().get(&name).await?.unwrap_or_default();
    let outcome = run(agent, &bucket, &spec, &name, &mut st).await;
    match outcome {
        // The bucket went away at the source (its removal reaches us through metadata sync).
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

pub(crate) async fn run(agent: &Agent, bucket: &Bucket, spec: &str, name: &str, st: &mut BucketSync) -> Result<()> {
    let src = &agent.source;
    if st.phase == Phase::Full {
        // A new zone full-syncs each bucket from every source: one at a time, so the later ones find every
        // object held and fetch nothing twice.
        let (_turn, waited) = full_sync_turn(&agent.gw.site().zone_id, &bucket.bucket_id).await;
        // After another source's full sync of the bucket, this zone holds (nearly) everything: the listing
        // comes without bytes, and what is still wanted is fetched.
        let with_data = !waited;
        if st.head.is_none() {
            st.head = Some(src.bilog_head(spec).await?);
            save(agent, name, st).await?;
        }
        let mut page = src.objects(spec, &st.full_marker, PAGE, with_data).await?;
        while let Some(next) = page.next_marker.clone() {
            // Current versions are fetched as the key's current object (what a never-versioned bucket's
            // objects always were); other versions by their id, delete markers need no fetch.
            let mut items: Vec<Item> = page.objects.iter().map(|o| Item::of_version(o, true)).collect();
            items.extend(page.versions.iter().map(|o| Item::of_version(o, false)));
            // Keys the source deleted before we started reading its log: their deletes are only in its
            // tombstones now.
            items.extend(page.tombstones.iter().map(|(key, tomb)| Item::Delete {
                key: key.clone(),
                mtime: tomb.mtime,
                trace: vec![tomb.origin.clone()],
            }));
            items.extend(page.removed.iter().map(|(key, order)| Item::DelVersion {
                key: key.clone(),
                version_id: meridian_model::version_id_of(order),
                removed: order.clone(),
                trace: vec![src.zone_id().to_string()],
            }));
            // The bytes that came with the listing, with the version they belong to.
            let mut listed: HashMap<String, (ObjectMeta, bytes::Bytes)> = HashMap::new();
            let mut data = std::mem::take(&mut page.data);
            let versions = page.objects.iter().map(|o| (o, true));
            for (o, current) in versions.chain(page.versions.iter().map(|o| (o, false))) {
                let spec = listed_fetch_spec(o, current);
                if let Some(bytes) = data.remove(&spec) {
                    listed.insert(spec, (o.clone(), bytes));
                }
            }
            let truncated = page.truncated;
            // The next page is listed while this one is fetched and applied.
            let listing = async {
                if truncated {
                    src.objects(spec, &next, PAGE, with_data).await.map(Some)
                } else {
                    Ok(None)
                }
            };
            let work = async {
                let staged = stage(agent, bucket, spec, items, listed).await?;
                st.full_marker = next.clone();
                st.objects_done += staged.objects;
                st.bytes_done += staged.bytes;
                let n = staged.changes.len() as u64;
                apply(agent, bucket, name, st, staged).await?;
                agent.health.applied(crate::data::LOG, src.zone_id(), n);
                Ok::<_, SyncError>(())
            };
            let (listed, applied) = futures::join!(listing, work);
            applied?;
            match listed? {
                Some(p) => page = p,
                None => break,
            }
        }
        st.phase = Phase::Incremental;
        st.marker = st.head.clone().unwrap_or_default();
        save(agent, name, st).await?;
    }
    loop {
        let entries = src.bilog(spec, &st.marker, PAGE).await?;
        let Some(last) = entries.last().map(|e| e.op_id.clone()) else {
            return Ok(());
        };
        let latest = latest_per_key(&entries, &agent.gw.site().zone_id);
        let items = latest.iter().filter_map(|e| Item::of_entry(e, bucket)).collect();
        let staged = stage(agent, bucket, spec, items, HashMap::new()).await?;
        st.marker = last;
        apply(agent, bucket, name, st, staged).await?;
        for e in &latest {
            crate::metrics::lag(src.zone_name(), crate::data::LOG, e.timestamp);
        }
        agent
            .health
            .applied(crate::data::LOG, src.zone_id(), entries.len() as u64);
    }
}

/// The buckets this process is full-syncing (by zone and bucket id), each behind a lock its full sync holds.
type Turns = std::sync::Mutex<HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>>;
static FULL_SYNC_TURNS: LazyLock<Turns> = LazyLock::new(Default::default);

/// Waits until no other source's full sync of the bucket runs in this zone, and holds that turn until the
/// guard drops; the bool says whether another one ran first.
async fn full_sync_turn(zone_id: &str, bucket_id: &str) -> (tokio::sync::OwnedMutexGuard<()>, bool) {
    let turn = {
        let mut turns = FULL_SYNC_TURNS.lock().unwrap_or_else(|p| p.into_inner());
        // Locks nobody holds or waits for any more go.
        turns.retain(|_, lock| Arc::strong_count(lock) > 1);
        turns
            .entry((zone_id.to_string(), bucket_id.to_string()))
            .or_default()
            .clone()
    };
    match turn.clone().try_lock_owned() {
        Ok(guard) => (guard, false),
        Err(_) => (turn.lock_owned().await, true),
    }
}

/// One change a page asks for: a source object's (version's) write (fetched), a delete marker, a delete in a
/// never-versioned bucket, or a version removed by id.
enum Item {
    Write {
        key: String,
        order: WriteOrder,
        instance: String,
        trace: Vec<String>,
        size: u64,
        /// What to fetch: `None` the key's current object, else that version (`null` or an id).
        version: Option<String>,
    },
    Marker(Box<ObjectMeta>),
    Delete {
        key: String,
        mtime: Timestamp,
        trace: Vec<String>,
    },
    DelVersion {
        key: String,
        version_id: String,
        removed: WriteOrder,
        trace: Vec<String>,
    },
}

impl Item {
    /// A version of the source's full-sync listing (`current`: one of its current versions).
    fn of_version(o: &ObjectMeta, current: bool) -> Item {
        if o.delete_marker {
            return Item::Marker(Box::new(o.clone()));
        }
        Item::Write {
            key: o.key.clone(),
            order: o.order(),
            instance: o.instance.clone(),
            // After an in-place change of its metadata, that change's trace says where it has been.
            trace: if o.meta_trace.is_empty() {
                o.zones_trace.clone()
            } else {
                o.meta_trace.clone()
            },
            size: o.size,
            version: (o.versioned || !current).then(|| o.version_id()),
        }
    }

    /// The change a bucket index log entry asks for (`None` for one that cannot be understood).
    fn of_entry(e: &BilogEntry, bucket: &Bucket) -> Option<Item> {
        Some(match e.op {
            BilogOp::Write => Item::Write {
                key: e.object.clone(),
                // A version's id names its write; an in-place change of its metadata (Object Lock) is
                // logged with the trace of that change, not of the write.
                order: parse_version_id(&e.version_id).unwrap_or_else(|| WriteOrder::of(e.timestamp, &e.zones_trace)),
                instance: e.instance.clone(),
                trace: e.zones_trace.clone(),
                size: e.size,
                version: (!e.version_id.is_empty()).then(|| e.version_id.clone()),
            },
            BilogOp::DeleteMarker => Item::Marker(Box::new(ObjectMeta {
                key: e.object.clone(),
                instance: e.instance.clone(),
                size: 0,
                etag: String::new(),
                mtime: e.timestamp,
                owner: bucket.owner.clone(),
                headers: Default::default(),
                manifest: Default::default(),
                zones_trace: e.zones_trace.clone(),
                versioned: !e.version_id.is_empty() && e.version_id != NULL_VERSION,
                delete_marker: true,
                ..Default::default()
            })),
            BilogOp::Del => Item::Delete {
                key: e.object.clone(),
                mtime: e.timestamp,
                trace: e.zones_trace.clone(),
            },
            BilogOp::DelVersion => Item::DelVersion {
                key: e.object.clone(),
                version_id: e.version_id.clone(),
                removed: e.removed.clone().or_else(|| parse_version_id(&e.version_id))?,
                trace: e.zones_trace.clone(),
            },
        })
    }
}

/// A page's changes ready to apply: the writes' bytes are stored (not visible yet).
struct Staged {
    changes: Vec<ReplicaChange>,
    objects: u64,
    bytes: u64,
}

/// Fetches what a page's writes need: only writes this zone does not hold yet (one snapshot decides), those
/// whose bytes came with the listing (`listed`, by fetch spec) not at all, other small objects many per
/// request, large ones streamed one by one; `concurrency` requests at once.
async fn stage(
    agent: &Agent,
    bucket: &Bucket,
    spec: &str,
    items: Vec<Item>,
    mut listed: HashMap<String, (ObjectMeta, bytes::Bytes)>,
) -> Result<Staged> {
    let gw = &agent.gw;
    let zone_id = gw.site().zone_id.clone();
    let mut specs = Vec::new();
    let candidates: Vec<WriteQuery> = items
        .iter()
        .filter_map(|i| match i {
            Item::Write {
                key,
                order,
                instance,
                trace,
                version,
                ..
            } if !trace.contains(&zone_id) => {
                specs.push(fetch_spec(key, version.as_deref()));
                Some(WriteQuery {
                    key: key.clone(),
                    order: order.clone(),
                    instance: instance.clone(),
                    versioned: version.as_deref().is_some_and(|v| v != NULL_VERSION),
                })
            }
            _ => None,
        })
        .collect();
    let wanted: HashSet<String> = gw
        .replica()
        .writes_wanted(bucket, candidates)
        .await?
        .into_iter()
        .zip(specs)
        .filter_map(|(want, spec)| want.then_some(spec))
        .collect();
    let (mut small, mut large) = (Vec::new(), Vec::new());
    for i in &items {
        if let Item::Write { key, size, version, .. } = i {
            let spec = fetch_spec(key, version.as_deref());
            if wanted.contains(&spec) {
                if *size <= SMALL_OBJECT {
                    small.push(spec);
                } else {
                    large.push(spec);
                }
            }
        }
    }
    let mut fetched: HashMap<String, StagedReplica> = HashMap::new();
    let outcome = async {
        let mut to_fetch = Vec::with_capacity(small.len());
        for fetch in small {
            match listed.remove(&fetch) {
                Some((meta, data)) => {
                    let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(data) }));
                    let staged = gw.replica().stage_write(bucket, meta, body).await?;
                    fetched.insert(fetch, staged);
                }
                None => to_fetch.push(fetch),
            }
        }
        fetch_all(agent, bucket, spec, to_fetch, large, &mut fetched).await
    }
    .await;
    if let Err(e) = outcome {
        for (_, s) in fetched {
            gw.replica().discard_staged(s).await;
        }
        return Err(e);
    }
    let mut staged = Staged {
        changes: Vec::with_capacity(items.len()),
        objects: 0,
        bytes: 0,
    };
    for i in items {
        match i {
            Item::Write { key, version, .. } => {
                if let Some(s) = fetched.remove(&fetch_spec(&key, version.as_deref())) {
                    staged.objects += 1;
                    staged.bytes += s.meta().size;
                    staged.changes.push(ReplicaChange::Write(Box::new(s)));
                }
            }
            Item::Marker(meta) => {
                if !meta.zones_trace.contains(&zone_id) {
                    staged.changes.push(ReplicaChange::Marker(meta));
                }
            }
            Item::Delete { key, mtime, trace } => staged.changes.push(ReplicaChange::Delete {
                key,
                mtime,
                zones_trace: trace,
            }),
            Item::DelVersion {
                key,
                version_id,
                removed,
                trace,
            } => staged.changes.push(ReplicaChange::DelVersion {
                key,
                version_id,
                removed,
                zones_trace: trace,
            }),
        }
    }
    Ok(staged)
}

/// Fetches and stages `small` (in batches) and `large` (streamed) into `out`, by fetch spec; versions deleted
/// at the source since are skipped (their delete follows in the log).
async fn fetch_all(
    agent: &Agent,
    bucket: &Bucket,
    spec: &str,
    small: Vec<String>,
    mut large: Vec<String>,
    out: &mut HashMap<String, StagedReplica>,
) -> Result<()> {
    let gw = &agent.gw;
    let batches: Vec<BoxFuture<'_, Result<FetchedBatch>>> = small
        .chunks(FETCH_BATCH)
        .map(|keys| -> BoxFuture<'_, Result<FetchedBatch>> {
            Box::pin(async move {
                let _permit = permit(agent).await?;
                retrying(keys.first().map_or("", String::as_str), || {
                    agent.source.fetch_batch(spec, keys)
                })
                .await
            })
        })
        .collect();
    let mut results = futures::stream::iter(batches).buffer_unordered(agent.concurrency);
    let mut first_error = None;
    while let Some(r) = results.next().await {
        match r {
            Ok(batch) => {
                large.extend(batch.large);
                for (key, meta, data) in batch.objects {
                    let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(data) }));
                    match gw.replica().stage_write(bucket, meta, body).await {
                        Ok(s) => {
                            if let Some(old) = out.insert(key, s) {
                                gw.replica().discard_staged(old).await;
                            }
                        }
                        Err(e) => {
                            first_error.get_or_insert(e.into());
                        }
                    }
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    drop(results);
    if let Some(e) = first_error {
        return Err(e);
    }
    let streams: Vec<BoxFuture<'_, (String, Result<Option<StagedReplica>>)>> = large
        .into_iter()
        .map(|key| -> BoxFuture<'_, (String, Result<Option<StagedReplica>>)> {
            Box::pin(async move {
                let r = fetch_one(agent, bucket, spec, &key).await;
                (key, r)
            })
        })
        .collect();
    let mut results = futures::stream::iter(streams).buffer_unordered(agent.concurrency);
    while let Some((key, r)) = results.next().await {
        match r {
            Ok(Some(s)) => {
                if let Some(old) = out.insert(key, s) {
                    gw.replica().discard_staged(old).await;
                }
            }
            Ok(None) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

async fn permit(agent: &Agent) -> Result<tokio::sync::SemaphorePermit<'_>> {
    agent
        .fetches
        .acquire()
        .await
        .map_err(|e| SyncError::Protocol(e.to_string()))
}

/// Runs `op` again (with a growing pause) while it fails in a way that may pass.
async fn retrying<T, F, Fut>(what: &str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match op().await {
            Err(e) if attempt < FETCH_ATTEMPTS && e.is_transient() => {
                tracing::debug!(what, attempt, error = %e, "fetch failed, retrying");
                tokio::time::sleep(Duration::from_millis(200) * 4u32.pow(attempt - 1)).await;
            }
            other => return other,
        }
    }
}

/// Fetches the source's object (the version a fetch spec names), streaming, and stages it; `None` when the
/// source no longer has it.
async fn fetch_one(agent: &Agent, bucket: &Bucket, spec: &str, fetch: &str) -> Result<Option<StagedReplica>> {
    let _permit = permit(agent).await?;
    let (key, version) = meridian_gateway::replica::split_fetch_spec(fetch);
    let result = retrying(key, || async {
        let (meta, body) = agent.source.fetch(spec, key, version).await?;
        Ok(agent.gw.replica().stage_write(bucket, meta, body).await?)
    })
    .await;
    match result {
        Ok(s) => Ok(Some(s)),
        // Deleted at the source since the change was logged: its delete follows in the log.
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Applies a page's staged changes and the bucket's new position in one transaction.
async fn apply(agent: &Agent, bucket: &Bucket, name: &str, st: &BucketSync, staged: Staged) -> Result<()> {
    let mut progress = SyncStateBatch::default();
    progress.put(name, st)?;
    let sizes: Vec<Option<u64>> = staged
        .changes
        .iter()
        .map(|c| match c {
            ReplicaChange::Write(s) => Some(s.meta().size),
            _ => None,
        })
        .collect();
    let applied = agent.gw.replica().apply_batch(bucket, staged.changes, progress).await?;
    let (mut objects, mut bytes) = (0, 0);
    for (size, a) in sizes.iter().zip(&applied) {
        if let (Some(size), Applied::Done) = (size, a) {
            objects += 1;
            bytes += size;
        }
    }
    crate::metrics::fetched(agent.source.zone_name(), objects, bytes);
    Ok(())
}

/// Within a page only the last change of each key's version matters (the fetch reads the version's current
/// state; the null version and a never-versioned bucket's object are one slot), and changes that already
/// passed through this zone are skipped: that is what stops ping-pong.
fn latest_per_key<'a>(entries: &'a [BilogEntry], zone_id: &str) -> Vec<&'a BilogEntry> {
    let mut last: HashMap<(&str, Option<&str>), &BilogEntry> = HashMap::new();
    for e in entries {
        last.insert((e.object.as_str(), e.version_slot()), e);
    }
    let mut out: Vec<&BilogEntry> = last
        .into_values()
        .filter(|e| !e.zones_trace.iter().any(|z| z == zone_id))
        .collect();
    out.sort_by(|a, b| a.op_id.cmp(&b.op_id));
    out
}

async fn save(agent: &Agent, name: &str, st: &BucketSync) -> Result<()> {
    let mut batch = SyncStateBatch::default();
    batch.put(name, st)?;
    agent.gw.sync_state().apply(batch).await?;
    Ok(())
}

/// The local bucket a data-log key names, if it is still that bucket instance and lives in this zonegroup.
/// A zone that is not the metadata master asks the master about a bucket it does not know yet.
async fn resolve(agent: &Agent, bucket_key: &str) -> Result<Option<Bucket>> {
    let mut parts = bucket_key.rsplitn(3, ':');
    let (Some(id), Some(name), tenant) = (parts.next(), parts.next(), parts.next().unwrap_or_default()) else {
        return Ok(None);
    };
    let gw = &agent.gw;
    let site = gw.site();
    let local = match gw.buckets().get(tenant, name).await {
        Ok(b) if b.bucket_id == id => Some(b),
        Ok(_) | Err(GatewayError::NoSuchBucket) if !site.is_meta_master() => {
            match multisite::fetch_bucket_from_master(gw, tenant, name).await {
                Ok(b) => Some(b),
                Err(GatewayError::NoSuchBucket) => None,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(_) | Err(GatewayError::NoSuchBucket) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(local.filter(|b| b.bucket_id == id && b.zonegroup == site.zonegroup_id))
}
