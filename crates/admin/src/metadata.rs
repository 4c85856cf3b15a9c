//! RGW's `/admin/metadata` resource: the sections, the keys of a section, and one entry to get, put or
//! remove (`?key=`), as `radosgw-admin metadata list | get | put | rm` uses it.

use crate::error::AdminError;
use crate::ops::Params;
use meridian_gateway::metadata::{zonegroup_change_refused, PutMode};
use meridian_gateway::Gateway;
use meridian_multisite as multisite;
use meridian_peer::AdminRequest;
use meridian_proto::metadata::{KeyPage, MetadataEntry};
use serde_json::{json, Value};

/// `GET /admin/metadata`: the sections.
pub(crate) async fn sections(gw: &Gateway) -> Value {
    json!(gw.metadata().sections().await)
}

/// `GET /admin/metadata/<section>?key=K` (`proto::metadata::GetEntry`): the entry as stored.
pub(crate) async fn get(gw: &Gateway, section: &str, key: &str) -> Result<Value, AdminError> {
    entry_json(&gw.metadata().get(&format!("{section}:{key}")).await?)
}

/// `PUT /admin/metadata/<section>?key=K[&sync]` (`proto::metadata::PutEntry`): the entry is the body; `sync` is metadata sync applying the
/// master's entry as it is, else an operator's put, checked.
pub(crate) async fn put(
    gw: &Gateway,
    req: &AdminRequest,
    section: &str,
    key: &str,
    sync: bool,
) -> Result<Value, AdminError> {
    let key = format!("{section}:{key}");
    let body = req.body.as_ref().ok_or_else(|| {
        AdminError::BadRequest(format!(
            "metadata put of {key} needs the entry as a JSON body (what 'metadata get {key}' prints)"
        ))
    })?;
    let entry = parse_entry(&key, body)?;
    let mode = if sync { PutMode::Sync } else { PutMode::Checked };
    if mode == PutMode::Checked {
        refuse_stranding_zonegroup_change(gw, &key, &entry).await?;
    }
    entry_json(&gw.metadata().put(&key, entry, mode).await?)
}

/// `DELETE /admin/metadata/<section>?key=K`.
pub(crate) async fn remove(gw: &Gateway, section: &str, key: &str) -> Result<Value, AdminError> {
    gw.metadata().remove(&format!("{section}:{key}")).await?;
    Ok(Value::Null)
}

/// An operator's put that gives a bucket of another zonegroup a new zonegroup: this zone holds none of that
/// bucket's data, so the zones of its zonegroup are asked whether it is empty. (A bucket of this zone's
/// zonegroup is checked against the local index inside the put's transaction.)
async fn refuse_stranding_zonegroup_change(gw: &Gateway, key: &str, entry: &MetadataEntry) -> Result<(), AdminError> {
    let Some((bucket, to)) = gw.metadata().change_zonegroup(key, entry).await? else {
        return Ok(());
    };
    if bucket.zonegroup == gw.site().zonegroup_id {
        return Ok(());
    }
    let contents = multisite::remote_bucket_contents(gw, &bucket).await?;
    if contents.is_empty() {
        return Ok(());
    }
    Err(zonegroup_change_refused(&bucket, contents, &to).into())
}

/// The keys of a section: RGW's plain array, or, when the caller pages (`max-entries` and/or `marker`, as
/// RGW's metadata full sync does), `{"keys", "truncated", "count", "marker"}` with keys in sorted order.
pub(crate) async fn list(gw: &Gateway, req: &AdminRequest, section: &str) -> Result<Value, AdminError> {
    let mut keys = gw.metadata().list(section).await?;
    if req.get("max-entries").is_none() && req.get("marker").is_none() {
        return Ok(json!(keys));
    }
    let max = req.number("max-entries", 1000)?;
    keys.sort();
    let start = match req.get("marker") {
        Some(marker) => keys.partition_point(|k| k.as_str() <= marker),
        None => 0,
    };
    let page: Vec<String> = keys.iter().skip(start).take(max).cloned().collect();
    let truncated = start + page.len() < keys.len();
    let marker = page.last().filter(|_| truncated).cloned();
    Ok(json!(KeyPage {
        keys: page,
        truncated,
        marker
    }))
}

/// Reads the body of a put: a whole entry (`{"key","ver","mtime","data"}`), as `metadata get` printed it.
fn parse_entry(key: &str, body: &Value) -> Result<MetadataEntry, AdminError> {
    let obj = body.as_object().ok_or_else(|| {
        AdminError::BadRequest(format!(
            "the metadata document for {key} must be a JSON object (what 'metadata get {key}' prints), not {}",
            kind(body)
        ))
    })?;
    if !obj.contains_key("data") {
        return Err(AdminError::BadRequest(format!(
            "the metadata document for {key} has no \"data\": put takes the whole entry {{\"key\", \"ver\", \
             \"mtime\", \"data\"}} that 'metadata get {key}' prints"
        )));
    }
    serde_json::from_value(body.clone())
        .map_err(|e| AdminError::BadRequest(format!("the metadata document for {key} is not a metadata entry: {e}")))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn entry_json(e: &MetadataEntry) -> Result<Value, AdminError> {
    serde_json::to_value(e).map_err(|e| AdminError::Gateway(meridian_gateway::GatewayError::Internal(e.to_string())))
}

pub(crate) fn unsupported(req: &AdminRequest) -> AdminError {
    AdminError::BadRequest(format!(
        "unsupported metadata request {} /admin/{}: GET /admin/metadata[/<section>[?key=<key>]], \
         PUT /admin/metadata/<section>?key=<key> (entry as body; sync=true for metadata sync), \
         DELETE /admin/metadata/<section>?key=<key>",
        req.method, req.resource
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_must_be_whole() {
        let e = parse_entry(
            "user:a",
            &json!({"key": "user:a", "ver": {"tag": "_t", "ver": 2}, "mtime": "2024-01-01T00:00:00.000000Z",
                    "data": {"user_id": "a"}}),
        )
        .unwrap();
        assert_eq!(e.ver.ver, 2);
        let msg = parse_entry("user:a", &json!({"user_id": "a"})).unwrap_err().to_string();
        assert!(msg.contains("no \"data\""), "{msg}");
        let msg = parse_entry("user:a", &json!([1])).unwrap_err().to_string();
        assert!(msg.contains("not a list"), "{msg}");
        let msg = parse_entry("user:a", &json!({"data": {}, "mtime": "soon"}))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("RFC 3339"), "{msg}");
    }
}
