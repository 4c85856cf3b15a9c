//! Realm topology types. The single-zone foundation uses one zonegroup holding one zone; multi-site
//! configuration (realm, periods) builds on these.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// The zone's system (inter-zone) key: separate from every user's keys.
    pub system_key: crate::user::AccessKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneGroup {
    pub id: String,
    pub name: String,
    pub api_name: String,
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default)]
    pub hostnames: Vec<String>,
}
