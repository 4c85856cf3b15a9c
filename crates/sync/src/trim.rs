//! Log trimming: a zone removes log entries once every zone that reads them has synced past them (each
//! reader tells its position through `GET /admin/sync/markers`). A reader that cannot be asked, or has not
//! started, holds trimming of what it reads; a log nobody reads is trimmed to its head.

use crate::error::Result;
use crate::source::PeerSource;
use meridian_gateway::logs::{bucket_log_key, LogKind};
use meridian_gateway::Gateway;
use meridian_model::ZoneGroupZone;
use meridian_peer::proto::sync_status::{ShardMarkers, SyncMarkers};
use meridian_worker::Worker;
use std::collections::HashMap;
use std::time::Duration;

/// Entries removed by one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    pub metadata: usize,
    pub data: usize,
    pub bucket_index: usize,
}

pub async fn run(gw: Gateway, mut worker: Worker, interval: Duration) {
    worker.status(format!("every {} s", interval.as_secs()));
    while worker.sleep(interval).await {
        match trim_once(&gw).await {
            Ok(t) => {
                if t != Trimmed::default() {
                    tracing::debug!(?t, "logs trimmed");
                }
                worker.pass_done();
                worker.status(format!(
                    "every {} s; last pass removed {} metadata, {} data and {} bucket index log entries",
                    interval.as_secs(),
                    t.metadata,
                    t.data,
                    t.bucket_index
                ));
            }
            Err(e) => {
                tracing::warn!(error = %e, "log trimming failed");
                worker.failed(&e);
            }
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
    let mut docs: HashMap<String, Option<SyncMarkers>> = HashMap::new();
    for z in meta_readers.iter().chain(&data_readers) {
        if docs.contains_key(&z.id) {
            continue;
        }
        let source = PeerSource::new(z, &site);
        docs.insert(z.id.clone(), source.markers_for(&site.zone_id).await.ok());
    }
    let of = |zones: &[ZoneGroupZone]| -> Vec<Option<&SyncMarkers>> {
        zones.iter().map(|z| docs.get(&z.id).and_then(Option::as_ref)).collect()
    };
    let (meta_docs, data_docs) = (of(&meta_readers), of(&data_readers));
    let mut out = Trimmed {
        metadata: trim_log(
            gw,
            LogKind::Metadata,
            meta_docs.iter().map(|d| d.map(|d| &d.metadata)).collect(),
        )
        .await?,
        data: trim_log(
            gw,
            LogKind::Data,
            data_docs.iter().map(|d| d.map(|d| &d.data)).collect(),
        )
        .await?,
        bucket_index: 0,
    };
    if data_docs.iter().any(Option::is_none) {
        return Ok(out);
    }
    for bucket in gw.buckets().list_all().await? {
        // A bucket being moved keeps its log: the target zonegroup's copy reads it (see `relocate`).
        if bucket.zonegroup != site.zonegroup_id || gw.moves().get(&bucket.bucket_id).await?.is_some() {
            continue;
        }
        let key = bucket_log_key(&bucket);
        let mut upto = gw.logs().bilog_head(&bucket.bucket_id).await?.marker;
        for doc in data_docs.iter().flatten() {
            if doc.pending.contains(&key) {
                upto.clear();
            } else if let Some(m) = doc.buckets.get(&bucket.bucket_id) {
                upto = upto.min(m.clone());
            }
        }
        if !upto.is_empty() {
            out.bucket_index += gw.logs().trim_bilog(&bucket.bucket_id, &upto).await?;
        }
    }
    Ok(out)
}

/// Trims each shard of a log to the lowest marker its readers report.
/// `readers` holds each reader's shard markers of this log: `None` for a reader that could not be asked,
/// `Some(None)` for one that has not begun.
async fn trim_log(gw: &Gateway, kind: LogKind, readers: Vec<Option<&Option<ShardMarkers>>>) -> Result<usize> {
    // A reader that could not be asked, or has not begun (it would start from the heads it reads then),
    // could still need anything.
    let Some(readers) = readers
        .into_iter()
        .map(|r| r.and_then(Option::as_ref))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(0);
    };
    let mut trimmed = 0;
    for (shard, head) in gw.logs().heads(kind).await?.into_iter().enumerate() {
        let mut upto = head.marker;
        for reader in &readers {
            let marker = reader.get(&(shard as u32)).map(String::as_str).unwrap_or("");
            upto = upto.min(marker.to_string());
        }
        if !upto.is_empty() {
            trimmed += gw.logs().trim(kind, shard as u32, &upto).await?;
        }
    }
    Ok(trimmed)
}
