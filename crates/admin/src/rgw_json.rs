//! The log entries' JSON shapes as radosgw-admin prints them, so operators' scripts keep working. (Users,
//! buckets and their stats are `meridian_proto::rgw`'s.)

use meridian_model::{BilogEntry, DatalogEntry, MdlogEntry, MdlogStatus};
use serde_json::{json, Value};

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
