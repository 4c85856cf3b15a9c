//! Realm topology: realm, period (with its period map of zonegroups and their zones) and the local zone's
//! parameters. Field names and JSON shapes are RGW's, so periods can be exchanged with RGW-shaped peers
//! and operators read what radosgw-admin prints.

use crate::user::AccessKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// RGW writes most zonegroup/zone flags as the strings `"true"` / `"false"`; both forms are read.
pub mod bool_str {
    use super::*;

    pub fn serialize<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *v { "true" } else { "false" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Bool(bool),
            Str(String),
        }
        match Either::deserialize(d)? {
            Either::Bool(b) => Ok(b),
            Either::Str(s) => match s.as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" | "" => Ok(false),
                other => Err(serde::de::Error::custom(format!(
                    "expected true or false, not {other:?}"
                ))),
            },
        }
    }
}

/// RGW's object version (`objv`): a random tag per incarnation and a counter bumped on every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ObjVersion {
    pub tag: String,
    pub ver: u64,
}

impl ObjVersion {
    pub fn first() -> Self {
        Self {
            tag: random_tag(),
            ver: 1,
        }
    }

    pub fn bumped(&self) -> Self {
        Self {
            tag: if self.tag.is_empty() {
                random_tag()
            } else {
                self.tag.clone()
            },
            ver: self.ver + 1,
        }
    }
}

/// 24 characters, like RGW's version tags.
fn random_tag() -> String {
    let raw = uuid::Uuid::new_v4().simple().to_string();
    format!("_{}", &raw[..23])
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Realm {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub current_period: String,
    /// Bumped each time the realm's current period changes (RGW's realm epoch).
    #[serde(default)]
    pub epoch: u64,
}

/// A zone as its zonegroup (and so every period) knows it. Keys are not here: they stay in the zone's params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneGroupZone {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default, with = "bool_str")]
    pub log_meta: bool,
    #[serde(default = "yes", with = "bool_str")]
    pub log_data: bool,
    #[serde(default)]
    pub bucket_index_max_shards: u32,
    #[serde(default, with = "bool_str")]
    pub read_only: bool,
    #[serde(default)]
    pub tier_type: String,
    #[serde(default = "yes", with = "bool_str")]
    pub sync_from_all: bool,
    #[serde(default)]
    pub sync_from: Vec<String>,
    #[serde(default)]
    pub redirect_zone: String,
}

fn yes() -> bool {
    true
}

impl ZoneGroupZone {
    pub fn new(id: &str, name: &str, endpoints: Vec<String>) -> Self {
        Self {
            id: id.to_string(),
            name: name.to_string(),
            endpoints,
            log_meta: false,
            log_data: true,
            bucket_index_max_shards: 0,
            read_only: false,
            tier_type: String::new(),
            sync_from_all: true,
            sync_from: vec![],
            redirect_zone: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementTarget {
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub storage_classes: Vec<String>,
}

impl PlacementTarget {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_string(),
            tags: vec![],
            storage_classes: vec!["STANDARD".into()],
        }
    }
}

pub const DEFAULT_PLACEMENT: &str = "default-placement";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneGroup {
    pub id: String,
    pub name: String,
    pub api_name: String,
    #[serde(default, with = "bool_str")]
    pub is_master: bool,
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default)]
    pub hostnames: Vec<String>,
    #[serde(default)]
    pub hostnames_s3website: Vec<String>,
    #[serde(default)]
    pub master_zone: String,
    #[serde(default)]
    pub zones: Vec<ZoneGroupZone>,
    #[serde(default)]
    pub placement_targets: Vec<PlacementTarget>,
    #[serde(default)]
    pub default_placement: String,
    #[serde(default)]
    pub realm_id: String,
}

impl ZoneGroup {
    pub fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.to_string(),
            name: name.to_string(),
            api_name: name.to_string(),
            is_master: false,
            endpoints: vec![],
            hostnames: vec![],
            hostnames_s3website: vec![],
            master_zone: String::new(),
            zones: vec![],
            placement_targets: vec![PlacementTarget::named(DEFAULT_PLACEMENT)],
            default_placement: DEFAULT_PLACEMENT.into(),
            realm_id: String::new(),
        }
    }

    pub fn zone(&self, id: &str) -> Option<&ZoneGroupZone> {
        self.zones.iter().find(|z| z.id == id)
    }

    /// Where clients of this zonegroup are sent: its own endpoints, else those of its master zone, else any
    /// zone's.
    pub fn client_endpoints(&self) -> Vec<String> {
        if !self.endpoints.is_empty() {
            return self.endpoints.clone();
        }
        if let Some(master) = self.zone(&self.master_zone).filter(|z| !z.endpoints.is_empty()) {
            return master.endpoints.clone();
        }
        self.zones
            .iter()
            .find(|z| !z.endpoints.is_empty())
            .map(|z| z.endpoints.clone())
            .unwrap_or_default()
    }
}

/// Placement of one target inside a zone (RGW names pools here; the embedded store has one data directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementPool {
    pub key: String,
    pub val: serde_json::Value,
}

/// The zone's own parameters (RGW's `zone get`): kept by the zone, never part of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneParams {
    pub id: String,
    pub name: String,
    /// The zone's system (inter-zone) key: separate from every user's keys.
    pub system_key: AccessKey,
    #[serde(default)]
    pub placement_pools: Vec<PlacementPool>,
    #[serde(default)]
    pub realm_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortZoneId {
    pub key: String,
    pub val: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PeriodMap {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub zonegroups: Vec<ZoneGroup>,
    #[serde(default)]
    pub short_zone_ids: Vec<ShortZoneId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub id: String,
    pub epoch: u64,
    #[serde(default)]
    pub predecessor_uuid: String,
    #[serde(default)]
    pub sync_status: Vec<String>,
    #[serde(default)]
    pub period_map: PeriodMap,
    #[serde(default)]
    pub master_zonegroup: String,
    #[serde(default)]
    pub master_zone: String,
    #[serde(default)]
    pub period_config: serde_json::Value,
    pub realm_id: String,
    #[serde(default)]
    pub realm_name: String,
    #[serde(default)]
    pub realm_epoch: u64,
}

impl Period {
    /// RGW names a realm's staging period `<realm id>:staging`.
    pub fn staging_id(realm_id: &str) -> String {
        format!("{realm_id}:staging")
    }

    pub fn is_staging(&self) -> bool {
        self.id.ends_with(":staging")
    }

    pub fn zonegroup(&self, id: &str) -> Option<&ZoneGroup> {
        self.period_map.zonegroups.iter().find(|zg| zg.id == id)
    }

    /// The zonegroup holding `zone_id`.
    pub fn zonegroup_of_zone(&self, zone_id: &str) -> Option<&ZoneGroup> {
        self.period_map
            .zonegroups
            .iter()
            .find(|zg| zg.zones.iter().any(|z| z.id == zone_id))
    }

    pub fn zone(&self, zone_id: &str) -> Option<&ZoneGroupZone> {
        self.zonegroup_of_zone(zone_id).and_then(|zg| zg.zone(zone_id))
    }

    /// Endpoints of the metadata master zone.
    pub fn master_endpoints(&self) -> Vec<String> {
        self.zone(&self.master_zone)
            .map(|z| z.endpoints.clone())
            .unwrap_or_default()
    }

    /// Is `other` (from a peer or a pull) a later state of the realm than `self`?
    pub fn is_older_than(&self, other: &Period) -> bool {
        (self.realm_epoch, self.epoch) < (other.realm_epoch, other.epoch)
            && (self.id == other.id || self.realm_epoch < other.realm_epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rgw_period_json() {
        let json = r#"{"id":"p1","epoch":2,"predecessor_uuid":"p0","period_map":{"id":"p1","zonegroups":[
            {"id":"zg","name":"zg1","api_name":"zg1","is_master":"true","endpoints":["http://a"],"hostnames":[],
             "master_zone":"z1","zones":[{"id":"z1","name":"a","endpoints":["http://a"],"log_meta":"false",
             "log_data":"true","read_only":"false","sync_from_all":"true","sync_from":[]}]}]},
            "master_zonegroup":"zg","master_zone":"z1","realm_id":"r","realm_name":"gold","realm_epoch":2}"#;
        let p: Period = serde_json::from_str(json).unwrap();
        assert!(p.period_map.zonegroups[0].is_master);
        assert_eq!(p.master_endpoints(), vec!["http://a"]);
        let back = serde_json::to_value(&p).unwrap();
        assert_eq!(back["period_map"]["zonegroups"][0]["is_master"], "true");
        assert_eq!(back["period_map"]["zonegroups"][0]["zones"][0]["log_data"], "true");
    }

    #[test]
    fn period_order() {
        let base = |id: &str, realm_epoch, epoch| Period {
            id: id.into(),
            epoch,
            predecessor_uuid: String::new(),
            sync_status: vec![],
            period_map: PeriodMap::default(),
            master_zonegroup: String::new(),
            master_zone: String::new(),
            period_config: serde_json::Value::Null,
            realm_id: "r".into(),
            realm_name: String::new(),
            realm_epoch,
        };
        assert!(base("a", 1, 1).is_older_than(&base("a", 1, 2)));
        assert!(!base("a", 1, 2).is_older_than(&base("a", 1, 2)));
        assert!(base("a", 1, 5).is_older_than(&base("b", 2, 1)));
        // Same realm epoch, different period: neither is a later state of the other.
        assert!(!base("a", 2, 1).is_older_than(&base("b", 2, 3)));
    }
}
