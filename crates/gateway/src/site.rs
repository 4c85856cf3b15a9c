//! The site view: which zone this gateway serves, in which zonegroup and realm, under which period. It is
//! derived from the stored configuration and swapped whole when a new period arrives, so requests in flight
//! keep the view they started with and no restart is needed.

use meridian_model::{AccessKey, Period, Realm, ZoneGroup, ZoneParams, DEFAULT_PLACEMENT};

#[derive(Debug, Clone)]
pub struct Site {
    pub zone_id: String,
    pub zone_name: String,
    pub zonegroup_id: String,
    /// The zonegroup's api_name: what S3 clients see as the bucket location / region.
    pub zonegroup_api_name: String,
    pub placement_rule: String,
    /// This zone's system (inter-zone) key.
    pub system_key: AccessKey,
    pub realm: Option<Realm>,
    /// The realm's current period, once one has been committed or pulled.
    pub period: Option<Period>,
    /// Every zonegroup this zone knows of: the period's, or the local records without a period.
    pub zonegroups: Vec<ZoneGroup>,
}

impl Site {
    pub fn new(zone: &ZoneParams, zonegroup: &ZoneGroup) -> Self {
        Self {
            zone_id: zone.id.clone(),
            zone_name: zone.name.clone(),
            zonegroup_id: zonegroup.id.clone(),
            zonegroup_api_name: zonegroup.api_name.clone(),
            placement_rule: if zonegroup.default_placement.is_empty() {
                DEFAULT_PLACEMENT.to_string()
            } else {
                zonegroup.default_placement.clone()
            },
            system_key: zone.system_key.clone(),
            realm: None,
            period: None,
            zonegroups: vec![zonegroup.clone()],
        }
    }

    /// Metadata (users, buckets) is written on the period's master zone; without a period this zone is it.
    pub fn is_meta_master(&self) -> bool {
        self.period
            .as_ref()
            .is_none_or(|p| p.master_zone.is_empty() || p.master_zone == self.zone_id)
    }

    /// Endpoints of the metadata master zone (empty when this zone is the master or it has none).
    pub fn master_endpoints(&self) -> Vec<String> {
        self.period.as_ref().map(Period::master_endpoints).unwrap_or_default()
    }

    pub fn zonegroup(&self, id: &str) -> Option<&ZoneGroup> {
        self.zonegroups.iter().find(|zg| zg.id == id)
    }

    /// The zonegroup whose api_name is `api_name` (a LocationConstraint).
    pub fn zonegroup_by_api_name(&self, api_name: &str) -> Option<&ZoneGroup> {
        self.zonegroups.iter().find(|zg| zg.api_name == api_name)
    }

    /// Hostnames of every zonegroup (virtual-hosted-style requests may name any of them).
    pub fn hostnames(&self) -> impl Iterator<Item = &str> {
        self.zonegroups
            .iter()
            .flat_map(|zg| zg.hostnames.iter().map(String::as_str))
    }
}
