//! The realm as the dashboard shows it: the current period (zonegroups, zones, endpoints, metadata master)
//! and each zone's replication state, read through the zones' admin APIs like any admin client.

use crate::error::Result;
use meridian_model::Period;
use meridian_peer::proto::sync_status::{SourceStatus, SyncStatus};
use meridian_peer::{AdminRequest, PeerClient};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ZoneView {
    pub id: String,
    pub name: String,
    pub endpoint: String,
    pub endpoints: Vec<String>,
    /// The master zone of its zonegroup.
    pub zonegroup_master: bool,
}

#[derive(Clone, Debug)]
pub struct ZonegroupView {
    pub id: String,
    pub name: String,
    pub api_name: String,
    pub endpoints: Vec<String>,
    pub is_master: bool,
    pub zones: Vec<ZoneView>,
}

#[derive(Clone, Debug, Default)]
pub struct Topology {
    pub realm: Option<String>,
    pub period_id: Option<String>,
    pub epoch: u64,
    pub master_zone: String,
    pub zonegroups: Vec<ZonegroupView>,
}

impl Topology {
    pub fn zone(&self, id: &str) -> Option<&ZoneView> {
        self.zonegroups.iter().flat_map(|zg| &zg.zones).find(|z| z.id == id)
    }

    pub fn zones(&self) -> impl Iterator<Item = (&ZonegroupView, &ZoneView)> {
        self.zonegroups
            .iter()
            .flat_map(|zg| zg.zones.iter().map(move |z| (zg, z)))
    }

    pub fn zonegroup_by_api_name(&self, api_name: &str) -> Option<&ZonegroupView> {
        self.zonegroups
            .iter()
            .find(|zg| zg.api_name.eq_ignore_ascii_case(api_name) || zg.name.eq_ignore_ascii_case(api_name))
    }

    pub fn zonegroup_of_zone(&self, zone_id: &str) -> Option<&ZonegroupView> {
        self.zonegroups
            .iter()
            .find(|zg| zg.zones.iter().any(|z| z.id == zone_id))
    }

    pub fn zone_name(&self, id: &str) -> String {
        self.zone(id).map_or_else(|| id.to_string(), |z| z.name.clone())
    }
}

/// Reads the current period from the home zone; a zone outside any realm is shown as one zone. `Err` when
/// the home zone did not answer (the caller keeps what it knew).
pub async fn topology(home: &PeerClient, home_zone: &str) -> Result<Topology> {
    let client = PeerClient {
        timeout: Duration::from_secs(5),
        ..home.clone()
    };
    match client
        .send(&AdminRequest::new(http::Method::GET, "config/period/get"))
        .await
    {
        Ok(v) => Ok(match serde_json::from_value::<Period>(v) {
            Ok(p) if !p.period_map.zonegroups.is_empty() => from_period(&p, home, home_zone),
            _ => standalone(home, home_zone),
        }),
        // The zone answered: it has no realm (no current period).
        Err(meridian_peer::PeerError::Remote { .. }) => Ok(standalone(home, home_zone)),
        Err(e) => Err(e.into()),
    }
}

fn from_period(p: &Period, home: &PeerClient, home_zone: &str) -> Topology {
    let mut t = from_period_unsorted(p, home, home_zone);
    // The master zonegroup first, then by name; zones likewise with their zonegroup's master first.
    t.zonegroups
        .sort_by(|a, b| b.is_master.cmp(&a.is_master).then_with(|| a.name.cmp(&b.name)));
    for zg in &mut t.zonegroups {
        zg.zones.sort_by(|a, b| {
            b.zonegroup_master
                .cmp(&a.zonegroup_master)
                .then_with(|| a.name.cmp(&b.name))
        });
    }
    t
}

fn from_period_unsorted(p: &Period, home: &PeerClient, home_zone: &str) -> Topology {
    Topology {
        realm: Some(p.realm_name.clone()).filter(|n| !n.is_empty()),
        period_id: Some(p.id.clone()),
        epoch: p.epoch,
        master_zone: p.master_zone.clone(),
        zonegroups: p
            .period_map
            .zonegroups
            .iter()
            .map(|zg| ZonegroupView {
                id: zg.id.clone(),
                name: zg.name.clone(),
                api_name: zg.api_name.clone(),
                endpoints: zg.endpoints.clone(),
                is_master: zg.is_master,
                zones: zg
                    .zones
                    .iter()
                    .map(|z| ZoneView {
                        id: z.id.clone(),
                        name: z.name.clone(),
                        endpoint: if z.id == home_zone {
                            home.endpoint.clone()
                        } else {
                            z.endpoints.first().cloned().unwrap_or_default()
                        },
                        endpoints: z.endpoints.clone(),
                        zonegroup_master: zg.master_zone == z.id,
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn standalone(home: &PeerClient, home_zone: &str) -> Topology {
    Topology {
        realm: None,
        period_id: None,
        epoch: 0,
        master_zone: home_zone.to_string(),
        zonegroups: vec![ZonegroupView {
            id: String::new(),
            name: "default".into(),
            api_name: String::new(),
            endpoints: vec![home.endpoint.clone()],
            is_master: true,
            zones: vec![ZoneView {
                id: home_zone.to_string(),
                name: "this zone".into(),
                endpoint: home.endpoint.clone(),
                endpoints: vec![home.endpoint.clone()],
                zonegroup_master: true,
            }],
        }],
    }
}

/// Where one zone stands against one source (metadata from the master, or data from a zone of its zonegroup).
#[derive(Clone, Debug, PartialEq)]
pub struct SourceState {
    pub source: String,
    pub log: &'static str,
    pub state: SyncState,
    pub lag_secs: f64,
    pub behind_entries: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    CaughtUp,
    Behind,
    Unreachable,
}

impl SyncState {
    pub fn label(self) -> &'static str {
        match self {
            SyncState::CaughtUp => "caught up",
            SyncState::Behind => "behind",
            SyncState::Unreachable => "unreachable",
        }
    }
}

/// A zone's replication state: its sources, or `Err` when the zone itself does not answer.
pub type ZoneSync = std::result::Result<Vec<SourceState>, String>;

/// Asks `zone` for its sync status (`GET /admin/sync/status`), signed with the service key.
pub async fn zone_sync(client: &PeerClient) -> ZoneSync {
    let client = PeerClient {
        timeout: Duration::from_secs(6),
        ..client.clone()
    };
    match client.send(&AdminRequest::new(http::Method::GET, "sync/status")).await {
        Ok(doc) => Ok(parse_sync_status(&doc)),
        Err(e) => Err(e.to_string()),
    }
}

/// The sources of a zone's sync status document; a document this version cannot read has none.
pub fn parse_sync_status(doc: &Value) -> Vec<SourceState> {
    let Ok(st) = SyncStatus::deserialize(doc) else {
        return Vec::new();
    };
    let one = |log: &'static str, s: &SourceStatus| SourceState {
        source: s.source_zone.name.clone(),
        log,
        state: if !s.reachable {
            SyncState::Unreachable
        } else if s.caught_up {
            SyncState::CaughtUp
        } else {
            SyncState::Behind
        },
        lag_secs: s.oldest_change_age_secs.unwrap_or(0.0),
        behind_entries: s.behind_entries.unwrap_or(0),
    };
    let mut out: Vec<SourceState> = st.metadata.source.iter().map(|s| one("metadata", s)).collect();
    out.extend(st.data.iter().map(|s| one("data", s)));
    out
}

/// Buckets and their stats as one zone's admin API lists them (`GET /admin/bucket?stats=true`).
#[derive(Clone, Debug, PartialEq)]
pub struct BucketStat {
    pub name: String,
    pub owner: String,
    pub zonegroup: String,
    pub objects: u64,
    pub bytes: u64,
    pub created: String,
}

pub fn parse_bucket_stats(v: &Value) -> Vec<BucketStat> {
    let one = |b: &Value| BucketStat {
        name: b["bucket"].as_str().unwrap_or_default().to_string(),
        owner: b["owner"].as_str().unwrap_or_default().to_string(),
        zonegroup: b["zonegroup"].as_str().unwrap_or_default().to_string(),
        objects: b["usage"]["rgw.main"]["num_objects"].as_u64().unwrap_or(0),
        bytes: b["usage"]["rgw.main"]["size"].as_u64().unwrap_or(0),
        created: b["creation_time"].as_str().unwrap_or_default().to_string(),
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        Value::Object(_) => vec![one(v)],
        _ => Vec::new(),
    }
}

pub async fn bucket_stats(client: &PeerClient, uid: Option<&str>) -> Result<Vec<BucketStat>> {
    let req = AdminRequest::new(http::Method::GET, "bucket")
        .param("stats", "true")
        .opt("uid", uid);
    Ok(parse_bucket_stats(&client.send(&req).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sync_status_documents_become_states() {
        let doc = json!({
            "metadata": {"role": "secondary", "source": {"source_zone": {"name": "us-east"}, "reachable": true,
                "caught_up": true, "behind_entries": 0, "oldest_change_age_secs": null}},
            "data": [
                {"source_zone": {"name": "us-west"}, "reachable": true, "caught_up": false, "behind_entries": 7,
                 "oldest_change_age_secs": 2.5},
                {"source_zone": {"name": "x"}, "reachable": false, "caught_up": false, "behind_entries": 0}
            ]
        });
        let s = parse_sync_status(&doc);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].log, s[0].state), ("metadata", SyncState::CaughtUp));
        assert_eq!(
            (s[1].state, s[1].behind_entries, s[1].lag_secs),
            (SyncState::Behind, 7, 2.5)
        );
        assert_eq!(s[2].state, SyncState::Unreachable);
    }

    #[test]
    fn bucket_stats_read_usage() {
        let v = json!([{"bucket": "b", "owner": "o", "zonegroup": "z",
            "usage": {"rgw.main": {"num_objects": 3, "size": 10}}, "creation_time": "t"}]);
        let s = parse_bucket_stats(&v);
        assert_eq!(s[0].objects, 3);
        assert_eq!(s[0].bytes, 10);
        assert_eq!(s[0].zonegroup, "z");
    }
}
