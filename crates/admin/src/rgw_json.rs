//! JSON shapes as radosgw-admin prints them, so operators' scripts keep working.

use meridian_model::{BilogEntry, Bucket, BucketStats, DatalogEntry, MdlogEntry, MdlogStatus, User};
use serde_json::{json, Value};

pub fn user(u: &User) -> Value {
    meridian_gateway::metadata::user_json(u)
}

fn quota() -> Value {
    json!({"enabled": false, "check_on_raw": false, "max_size": -1, "max_size_kb": 0, "max_objects": -1})
}

pub fn bucket_stats(b: &Bucket, s: &BucketStats) -> Value {
    json!({
        "bucket": b.name,
        "num_shards": 1,
        "tenant": b.tenant,
        "zonegroup": b.zonegroup,
        "placement_rule": b.placement_rule,
        "id": b.bucket_id,
        "marker": b.bucket_id,
        "index_type": "Normal",
        "owner": b.owner,
        "ver": format!("0#{}", b.ver.ver),
        "mtime": b.mtime.to_rfc3339(),
        "creation_time": b.creation_time.to_rfc3339(),
        "usage": {
            "rgw.main": {
                "size": s.size,
                "size_actual": s.size,
                "size_utilized": s.size,
                "size_kb": s.size.div_ceil(1024),
                "size_kb_actual": s.size.div_ceil(1024),
                "size_kb_utilized": s.size.div_ceil(1024),
                "num_objects": s.num_objects,
            }
        },
        "bucket_quota": quota(),
    })
}

pub fn bilog_entry(e: &BilogEntry) -> Value {
    json!({
        "op_id": e.op_id,
        "op_tag": e.instance,
        "op": e.op.as_str(),
        "object": e.object,
        "instance": e.version_id,
        "state": "complete",
        "index_ver": e.op_id.parse::<u64>().unwrap_or(0),
        "timestamp": e.timestamp.to_rfc3339(),
        "ver": {"pool": -1, "epoch": e.op_id.parse::<u64>().unwrap_or(0)},
        "bilog_flags": 0,
        "versioned": !e.version_id.is_empty(),
        "owner": "",
        "owner_display_name": "",
        "zones_trace": e.zones_trace.iter().map(|z| json!({"entry": z})).collect::<Vec<_>>(),
        "etag": e.etag,
        "size": e.size,
        // Meridian's own: the order of the version an unlink_instance removed (its id alone does not say
        // which null version it was).
        "removed": e.removed,
    })
}

pub fn datalog_entry(shard: u32, e: &DatalogEntry) -> Value {
    json!({
        "shard": shard,
        "log_id": e.marker,
        "log_timestamp": e.timestamp.to_rfc3339(),
        "entry": {
            "key": e.key,
            "timestamp": e.timestamp.to_rfc3339(),
        }
    })
}

pub fn mdlog_entry(e: &MdlogEntry) -> Value {
    json!({
        "id": e.id,
        "section": e.section,
        "name": e.name,
        "timestamp": e.timestamp.to_rfc3339(),
        "data": {
            "read_version": {"tag": e.ver.tag, "ver": e.ver.ver},
            "write_version": {"tag": e.ver.tag, "ver": e.ver.ver},
            "status": {"status": match e.status { MdlogStatus::Write => "write", MdlogStatus::Remove => "remove" }},
        }
    })
}
