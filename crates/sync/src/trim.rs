//! Log trimming: a zone removes log entries once every zone that reads them has synced past them (each
//! reader tells its position through `GET /admin/sync/markers`). A reader that cannot be asked, or has not
//! started, holds trimming of what it reads; a log nobody reads is trimmed to its head.

use crate::error::Result;
use crate::source::Source;
use meridian_gateway::logs::{bucket_log_key, LogKind};
use meridian_gateway::Gateway;
use meridian_model::ZoneGroupZone;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// Entries removed by one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    pub metadata: usize,
    pub data: usize,
    pub bucket_index: usize,
}

pub async fn run(gw: Gateway, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        match trim_once(&gw).await {
            Ok(t) if t != Trimmed::default() => tracing::debug!(?t, "logs trimmed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "log trimming failed"),
        }
    }
}

/// Readers of this zone's logs: (metadata readers, data readers).
fn readers(gw: &Gateway) -> (Vec<ZoneGroupZone>, Vec<ZoneGroupZone>) {
    let site = gw.site();
    let Some(period) = &site.period else {
        return (vec![], vec![]);
    };
    let others = |zones: &mut dyn Iterator<Item = &ZoneGroupZone>| -> Vec<ZoneGroupZone> {
        zones
            .filter(|z| z.id != site.zone_id && !z.endpoints.is_empty())
            .cloned()
            .collect()
    };
    let meta = if site.is_meta_master() {
        others(&mut period.period_map.zonegroups.iter().flat_map(|zg| zg.zones.iter()))
    } else {
        vec![]
    };
    let data = period
        .zonegroup(&site.zonegroup_id)
        .map(|zg| {
            others(
                &mut zg
                    .zones
                    .iter()
                    .filter(|z| z.sync_from_all || z.sync_from.contains(&site.zone_name)),
            )
        })
        .unwrap_or_default();
    (meta, data)
}

pub async fn trim_once(gw: &Gateway) -> Result<Trimmed> {
    let site = gw.site();
    let (meta_readers, data_readers) = readers(gw);
    let mut docs: HashMap<String, Option<Value>> = HashMap::new();
    for z in meta_readers.iter().chain(&data_readers) {
        if docs.contains_key(&z.id) {
            continue;
        }
        let source = Source::new(z, &site);
        docs.insert(z.id.clone(), source.markers_for(&site.zone_id).await.ok());
    }
    let of = |zones: &[ZoneGroupZone]| -> Vec<Option<Value>> {
        zones.iter().map(|z| docs.get(&z.id).cloned().flatten()).collect()
    };
    let (meta_docs, data_docs) = (of(&meta_readers), of(&data_readers));
    let mut out = Trimmed {
        metadata: trim_log(gw, LogKind::Metadata, "metadata", &meta_docs).await?,
        data: trim_log(gw, LogKind::Data, "data", &data_docs).await?,
        bucket_index: 0,
    };
    if data_docs.iter().any(Option::is_none) {
        return Ok(out);
    }
    for bucket in gw.list_all_buckets().await? {
        // A bucket being moved keeps its log: the target zonegroup's copy reads it (see `relocate`).
        if bucket.zonegroup != site.zonegroup_id || gw.local_move(&bucket.bucket_id).await?.is_some() {
            continue;
        }
        let key = bucket_log_key(&bucket);
        let mut upto = gw.bilog_head(&bucket.bucket_id).await?.marker;
        for doc in data_docs.iter().flatten() {
            let pending = doc["pending"]
                .as_array()
                .is_some_and(|p| p.iter().any(|k| k.as_str() == Some(key.as_str())));
            if pending {
                upto.clear();
            } else if let Some(m) = doc["buckets"].get(&bucket.bucket_id).and_then(Value::as_str) {
                upto = upto.min(m.to_string());
            }
        }
        if !upto.is_empty() {
            out.bucket_index += gw.bilog_trim(&bucket.bucket_id, &upto).await?;
        }
    }
    Ok(out)
}

/// Trims each shard of a log to the lowest marker its readers report.
async fn trim_log(gw: &Gateway, kind: LogKind, field: &str, docs: &[Option<Value>]) -> Result<usize> {
    // A reader that could not be asked, or has not begun (it would start from the heads it reads then),
    // could still need anything.
    if docs.iter().any(|d| d.as_ref().is_none_or(|d| d[field].is_null())) {
        return Ok(0);
    }
    let mut trimmed = 0;
    for (shard, head) in gw.log_heads(kind).await?.into_iter().enumerate() {
        let mut upto = head.marker;
        for doc in docs.iter().flatten() {
            let reader = doc[field].get(shard.to_string()).and_then(Value::as_str).unwrap_or("");
            upto = upto.min(reader.to_string());
        }
        if !upto.is_empty() {
            trimmed += gw.log_trim(kind, shard as u32, &upto).await?;
        }
    }
    Ok(trimmed)
}
