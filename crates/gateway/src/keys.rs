//! The layout of the metadata keyspace: every record kind lives under its own prefix, ordered so the
//! scans we need (a bucket's objects by key, a log by marker) are single range reads.

pub const USER: &str = "user/";
pub const ACCESS_KEY: &str = "akey/";
pub const BUCKET: &str = "bucket/";
pub const USER_BUCKET: &str = "ubkt/";
pub const STATS: &str = "stats/";
pub const OBJECT: &str = "obj/";
pub const UPLOAD: &str = "mpu/";
pub const PART: &str = "part/";
pub const BILOG: &str = "bilog/";
pub const DATALOG: &str = "dlog/";
pub const DATALOG_POS: &str = "dlogpos/";
pub const GC: &str = "gc/";
pub const BLOB_REF: &str = "blob/";
pub const INLINE: &str = "inl/";
pub const SEQ: &str = "seq/";
pub const CONFIG: &str = "cfg/";
pub const MDLOG: &str = "mdlog/";
pub const TOMBSTONE: &str = "tomb/";
/// Versioned buckets: every version of a key that is not its current one (noncurrent versions, delete
/// markers), newest first.
pub const VERSION: &str = "ver/";
/// Versions removed by id, so a late copy from another zone cannot bring one back.
pub const VERSION_TOMB: &str = "vtomb/";
/// Per log (by its key prefix): the newest marker trimming has removed, so a reader further back knows it
/// missed entries.
pub const LOG_TRIMMED: &str = "ltrim/";
/// This zone's replication progress (markers, pending buckets): never replicated, never logged.
pub const SYNC: &str = "sync/";

/// Data log shards, as RGW's `rgw_data_log_num_shards` default.
pub const DATALOG_SHARDS: u32 = 128;
/// Metadata log shards, as RGW's `rgw_md_log_max_shards` default.
pub const MDLOG_SHARDS: u32 = 64;

/// Where a scan of the records under `prefix` after `marker` (exclusive) starts: at `prefix` without a
/// marker, else just past every record of the marker itself, its own and the ones that extend it after a NUL
/// (a key's versions, uploads), which is why `\x01` follows it: NUL cannot occur in keys or markers.
pub fn after_marker(prefix: &[u8], marker: Option<&str>) -> Vec<u8> {
    let mut start = prefix.to_vec();
    if let Some(m) = marker.filter(|m| !m.is_empty()) {
        start.extend_from_slice(m.as_bytes());
        start.push(1);
    }
    start
}

pub fn user(full_id: &str) -> Vec<u8> {
    format!("{USER}{full_id}").into_bytes()
}

pub fn access_key(ak: &str) -> Vec<u8> {
    format!("{ACCESS_KEY}{ak}").into_bytes()
}

/// Bucket entry point: `tenant:name` (the name is unique per tenant across the realm).
pub fn bucket(tenant: &str, name: &str) -> Vec<u8> {
    format!("{BUCKET}{tenant}:{name}").into_bytes()
}

pub fn user_bucket_prefix(owner: &str) -> Vec<u8> {
    format!("{USER_BUCKET}{owner}/").into_bytes()
}

pub fn user_bucket(owner: &str, name: &str) -> Vec<u8> {
    format!("{USER_BUCKET}{owner}/{name}").into_bytes()
}

pub fn stats(bucket_id: &str) -> Vec<u8> {
    format!("{STATS}{bucket_id}").into_bytes()
}

pub fn object_prefix(bucket_id: &str) -> Vec<u8> {
    format!("{OBJECT}{bucket_id}/").into_bytes()
}

pub fn object(bucket_id: &str, key: &str) -> Vec<u8> {
    let mut k = object_prefix(bucket_id);
    k.extend_from_slice(key.as_bytes());
    k
}

pub fn upload_prefix(bucket_id: &str) -> Vec<u8> {
    format!("{UPLOAD}{bucket_id}/").into_bytes()
}

/// Uploads sort by key, then upload id, as ListMultipartUploads returns them. NUL cannot occur in keys.
pub fn upload(bucket_id: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut k = upload_prefix(bucket_id);
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

pub fn part_prefix(upload_id: &str) -> Vec<u8> {
    format!("{PART}{upload_id}/").into_bytes()
}

pub fn part(upload_id: &str, number: u32) -> Vec<u8> {
    format!("{PART}{upload_id}/{number:05}").into_bytes()
}

pub fn bilog_prefix(bucket_id: &str) -> Vec<u8> {
    format!("{BILOG}{bucket_id}/").into_bytes()
}

pub fn marker(seq: u64) -> String {
    format!("{seq:020}")
}

pub fn datalog_prefix(shard: u32) -> Vec<u8> {
    format!("{DATALOG}{shard:03}/").into_bytes()
}

pub fn datalog_shard(bucket_key: &str) -> u32 {
    shard_of(bucket_key, DATALOG_SHARDS)
}

pub fn mdlog_prefix(shard: u32) -> Vec<u8> {
    format!("{MDLOG}{shard:03}/").into_bytes()
}

/// The mdlog shard of a metadata entry (`section:name`).
pub fn mdlog_shard(section: &str, name: &str) -> u32 {
    shard_of(&format!("{section}:{name}"), MDLOG_SHARDS)
}

fn shard_of(key: &str, shards: u32) -> u32 {
    // FNV-1a: stable across releases and platforms, unlike std's hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % shards
}

pub fn tombstone_prefix(bucket_id: &str) -> Vec<u8> {
    format!("{TOMBSTONE}{bucket_id}/").into_bytes()
}

pub fn tombstone(bucket_id: &str, key: &str) -> Vec<u8> {
    let mut k = tombstone_prefix(bucket_id);
    k.extend_from_slice(key.as_bytes());
    k
}

pub fn sync_state(name: &str) -> Vec<u8> {
    format!("{SYNC}{name}").into_bytes()
}

pub fn blob_ref(data_id: &str) -> Vec<u8> {
    format!("{BLOB_REF}{data_id}").into_bytes()
}

pub fn inline(data_id: &str) -> Vec<u8> {
    format!("{INLINE}{data_id}").into_bytes()
}

pub fn seq(name: &str) -> Vec<u8> {
    format!("{SEQ}{name}").into_bytes()
}

/// Realm configuration records (`cfg/<kind>/<id>`): realms, zonegroups, zones, periods by id and epoch,
/// each realm's staging period, and this data directory's defaults (`cfg/default/<kind>` → id).
pub fn config(kind: &str, id: &str) -> Vec<u8> {
    format!("{CONFIG}{kind}/{id}").into_bytes()
}

pub fn config_prefix(kind: &str) -> Vec<u8> {
    format!("{CONFIG}{kind}/").into_bytes()
}

pub fn period_epoch(period_id: &str, epoch: u64) -> Vec<u8> {
    format!("{CONFIG}period/{period_id}/{epoch:020}").into_bytes()
}

pub fn period_prefix(period_id: &str) -> Vec<u8> {
    format!("{CONFIG}period/{period_id}/").into_bytes()
}

pub fn log_trimmed(log_prefix: &[u8]) -> Vec<u8> {
    let mut k = LOG_TRIMMED.as_bytes().to_vec();
    k.extend_from_slice(log_prefix);
    k
}

pub fn version_prefix(bucket_id: &str) -> Vec<u8> {
    format!("{VERSION}{bucket_id}/").into_bytes()
}

/// The prefix of one key's noncurrent versions: `ver/<bucket>/<key>\0` (NUL cannot occur in keys).
pub fn key_versions(bucket_id: &str, key: &str) -> Vec<u8> {
    let mut k = version_prefix(bucket_id);
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k
}

/// Where a noncurrent version of `key` written at `order` lives.
pub fn version(bucket_id: &str, key: &str, order: &meridian_model::WriteOrder) -> Vec<u8> {
    let mut k = key_versions(bucket_id, key);
    k.extend_from_slice(rank(order).as_bytes());
    k
}

pub fn version_tomb_prefix(bucket_id: &str) -> Vec<u8> {
    format!("{VERSION_TOMB}{bucket_id}/").into_bytes()
}

pub fn version_tomb(bucket_id: &str, key: &str, order: &meridian_model::WriteOrder) -> Vec<u8> {
    let mut k = version_tomb_prefix(bucket_id);
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k.extend_from_slice(rank(order).as_bytes());
    k
}

/// A version's place among its key's versions, sorting newest first: the inverted mtime in hex, then the
/// origin zone's bytes inverted (in hex), then `g`, which sorts after every hex digit (so a zone id that is
/// a prefix of another sorts as the smaller, as `WriteOrder` compares them).
pub fn rank(order: &meridian_model::WriteOrder) -> String {
    use std::fmt::Write;
    let mut s = format!("{:016x}", !order.mtime.0);
    for b in order.origin.bytes() {
        let _ = write!(s, "{:02x}", 255 - b);
    }
    s.push('g');
    s
}

/// The object key of a `ver/` or `vtomb/` record key, given its prefix.
pub fn key_of_version_record(record: &[u8], prefix_len: usize) -> &[u8] {
    let rest = &record[prefix_len.min(record.len())..];
    match rest.iter().position(|b| *b == 0) {
        Some(i) => &rest[..i],
        None => rest,
    }
}

#[cfg(test)]
mod version_rank_tests {
    use super::*;
    use meridian_model::{Timestamp, WriteOrder};

    fn o(mtime: u64, origin: &str) -> WriteOrder {
        WriteOrder {
            mtime: Timestamp(mtime),
            origin: origin.into(),
        }
    }

    #[test]
    fn ranks_sort_newest_first_like_write_order() {
        let mut orders = vec![o(5, "b"), o(7, "a"), o(5, "ab"), o(5, "a"), o(6, "z"), o(5, "c")];
        let mut by_rank = orders.clone();
        by_rank.sort_by_key(rank);
        orders.sort();
        orders.reverse();
        assert_eq!(by_rank, orders);
    }
}
