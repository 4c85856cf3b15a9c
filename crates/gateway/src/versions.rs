//! The versions of one key (docs/architecture.md, "Object versions"). The current version (the newest, when
//! it is not a delete marker) is `obj/<bucket>/<key>`, exactly where an object of a never-versioned bucket
//! lives; every other version is `ver/<bucket>/<key>\0<rank>`, newest first. Every change of a key's
//! versions goes through `insert` and `remove` here, which keep that invariant, the bucket's stats and the
//! blobs' references.

use crate::error::{GatewayError, Result};
use crate::{buckets, gc, keys, records};
use meridian_model::{parse_version_id, ObjectMeta, Tombstone, WriteOrder, NULL_VERSION};
use meridian_store::meta::prefix_end;
use meridian_store::{ReadOps, WriteTxn};

/// Where a version's record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `obj/`: the key's current version.
    Current,
    /// `ver/`: a noncurrent version or a delete marker.
    Noncurrent,
}

/// A version as a request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    Null,
    Id(WriteOrder),
}

impl VersionRef {
    /// `null` or one of our ids; anything else is `400 InvalidArgument`, as AWS answers a malformed id.
    pub fn parse(id: &str) -> Result<Self> {
        if id == NULL_VERSION {
            return Ok(VersionRef::Null);
        }
        parse_version_id(id)
            .map(VersionRef::Id)
            .ok_or_else(|| GatewayError::InvalidArgument("Invalid version id specified".into()))
    }
}

pub(crate) fn current(r: &dyn ReadOps, bucket_id: &str, key: &str) -> Result<Option<ObjectMeta>> {
    records::get(r, &keys::object(bucket_id, key))
}

/// The newest of the key's noncurrent versions and delete markers.
pub(crate) fn newest_noncurrent(r: &dyn ReadOps, bucket_id: &str, key: &str) -> Result<Option<ObjectMeta>> {
    let prefix = keys::key_versions(bucket_id, key);
    match r.scan(&prefix, &prefix_end(&prefix), 1)?.into_iter().next() {
        Some((k, v)) => records::decode(&k, &v).map(Some),
        None => Ok(None),
    }
}

/// The key's newest version, delete markers included.
pub(crate) fn newest(r: &dyn ReadOps, bucket_id: &str, key: &str) -> Result<Option<ObjectMeta>> {
    let cur = current(r, bucket_id, key)?;
    let top = newest_noncurrent(r, bucket_id, key)?;
    Ok(match (cur, top) {
        (Some(c), Some(t)) => Some(if t.order() > c.order() { t } else { c }),
        (c, t) => c.or(t),
    })
}

/// The key's null version, wherever it is. Scans the key's noncurrent versions when it is not current.
pub(crate) fn find_null(r: &dyn ReadOps, bucket_id: &str, key: &str) -> Result<Option<(ObjectMeta, Slot)>> {
    if let Some(c) = current(r, bucket_id, key)? {
        if !c.versioned {
            return Ok(Some((c, Slot::Current)));
        }
    }
    records::scan_each(r, &keys::key_versions(bucket_id, key), |k, v| {
        let meta: ObjectMeta = records::decode(&k, &v)?;
        Ok(match meta.versioned {
            false => std::ops::ControlFlow::Break((meta, Slot::Noncurrent)),
            true => std::ops::ControlFlow::Continue(()),
        })
    })
}

/// The version a request names, if this zone holds it.
pub(crate) fn find(
    r: &dyn ReadOps,
    bucket_id: &str,
    key: &str,
    which: &VersionRef,
) -> Result<Option<(ObjectMeta, Slot)>> {
    let order = match which {
        VersionRef::Null => return find_null(r, bucket_id, key),
        VersionRef::Id(order) => order,
    };
    if let Some(c) = current(r, bucket_id, key)? {
        if c.versioned && c.order() == *order {
            return Ok(Some((c, Slot::Current)));
        }
    }
    Ok(records::get::<ObjectMeta>(r, &keys::version(bucket_id, key, order))?
        .filter(|m| m.versioned)
        .map(|m| (m, Slot::Noncurrent)))
}

/// Whether a version of this write order was removed by id here (so a copy of it must not come back).
pub(crate) fn removed(r: &dyn ReadOps, bucket_id: &str, key: &str, order: &WriteOrder) -> Result<bool> {
    Ok(r.get(&keys::version_tomb(bucket_id, key, order))?.is_some())
}

/// Remembers that the version of `order` was removed by id.
pub(crate) fn record_removed(txn: &mut dyn WriteTxn, bucket_id: &str, key: &str, order: &WriteOrder) -> Result<()> {
    records::put(txn, &keys::version_tomb(bucket_id, key, order), order)
}

/// Raises the key's tombstone (the newest removed null version) to `order`.
pub(crate) fn raise_tombstone(txn: &mut dyn WriteTxn, bucket_id: &str, key: &str, order: &WriteOrder) -> Result<()> {
    let k = keys::tombstone(bucket_id, key);
    match records::get::<Tombstone>(txn, &k)? {
        Some(held) if held >= *order => Ok(()),
        _ => records::put(txn, &k, order),
    }
}

/// The mtime a new local version of the key gets: `mtime`, or just after the key's newest version, so a new
/// version is always the newest whatever the clock did.
pub(crate) fn next_mtime(
    r: &dyn ReadOps,
    bucket_id: &str,
    key: &str,
    mtime: meridian_model::Timestamp,
) -> Result<meridian_model::Timestamp> {
    Ok(match newest(r, bucket_id, key)? {
        Some(n) if n.mtime >= mtime => meridian_model::Timestamp(n.mtime.0 + 1),
        _ => mtime,
    })
}

/// Deletes a held version's record: its bytes go to GC and the stats drop it. The caller settles the key.
pub(crate) fn drop_record(txn: &mut dyn WriteTxn, bucket_id: &str, meta: &ObjectMeta, slot: Slot) -> Result<()> {
    match slot {
        Slot::Current => txn.delete(&keys::object(bucket_id, &meta.key))?,
        Slot::Noncurrent => txn.delete(&keys::version(bucket_id, &meta.key, &meta.order()))?,
    }
    if !meta.delete_marker {
        gc::enqueue(txn, meta.manifest.segments.iter().map(|s| s.data_id.clone()).collect())?;
        buckets::adjust_stats(txn, bucket_id, -1, -(meta.size as i64))?;
    }
    Ok(())
}

/// After a removal: when no version is current, the newest one becomes current unless it is a marker.
pub(crate) fn settle(txn: &mut dyn WriteTxn, bucket_id: &str, key: &str) -> Result<()> {
    if current(txn, bucket_id, key)?.is_some() {
        return Ok(());
    }
    if let Some(top) = newest_noncurrent(txn, bucket_id, key)? {
        if !top.delete_marker {
            txn.delete(&keys::version(bucket_id, key, &top.order()))?;
            records::put(txn, &keys::object(bucket_id, key), &top)?;
        }
    }
    Ok(())
}

/// Removes a held version and settles the key.
pub(crate) fn remove(txn: &mut dyn WriteTxn, bucket_id: &str, meta: &ObjectMeta, slot: Slot) -> Result<()> {
    drop_record(txn, bucket_id, meta, slot)?;
    settle(txn, bucket_id, &meta.key)
}

/// Adds a version this zone does not hold (the caller checked): it becomes current if it is the newest and
/// not a marker; the version it displaces moves to `ver/`. References its bytes and counts it. Returns
/// whether it is the key's newest version now.
pub(crate) fn insert(txn: &mut dyn WriteTxn, bucket_id: &str, meta: &ObjectMeta) -> Result<bool> {
    for seg in &meta.manifest.segments {
        gc::reference(txn, &seg.data_id)?;
    }
    if !meta.delete_marker {
        buckets::adjust_stats(txn, bucket_id, 1, meta.size as i64)?;
    }
    let obj_key = keys::object(bucket_id, &meta.key);
    let cur = current(txn, bucket_id, &meta.key)?;
    let top = newest_noncurrent(txn, bucket_id, &meta.key)?;
    let newest = match (&cur, &top) {
        (Some(c), Some(t)) => Some(c.order().max(t.order())),
        (Some(c), None) => Some(c.order()),
        (None, Some(t)) => Some(t.order()),
        (None, None) => None,
    };
    let order = meta.order();
    if newest.is_some_and(|n| order <= n) {
        records::put(txn, &keys::version(bucket_id, &meta.key, &order), meta)?;
        // The caller may have just removed the current version (a null version replaced).
        settle(txn, bucket_id, &meta.key)?;
        return Ok(false);
    }
    if let Some(c) = cur {
        txn.delete(&obj_key)?;
        records::put(txn, &keys::version(bucket_id, &c.key, &c.order()), &c)?;
    }
    if meta.delete_marker {
        records::put(txn, &keys::version(bucket_id, &meta.key, &order), meta)?;
    } else {
        records::put(txn, &obj_key, meta)?;
    }
    Ok(true)
}

/// Every version of a key, newest first (the current one, then the others), at most `max`.
pub(crate) fn all_of_key(r: &dyn ReadOps, bucket_id: &str, key: &str) -> Result<Vec<ObjectMeta>> {
    let mut out: Vec<ObjectMeta> = current(r, bucket_id, key)?.into_iter().collect();
    let prefix = keys::key_versions(bucket_id, key);
    out.extend(records::scan_all::<ObjectMeta>(r, &prefix)?.into_iter().map(|(_, m)| m));
    Ok(out)
}
