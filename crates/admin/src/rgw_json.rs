//! JSON shapes as radosgw-admin prints them, so operators' scripts keep working.

use meridian_model::{Bucket, BucketStats, User};
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
