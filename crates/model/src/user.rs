//! Users and their S3 access keys (RGW's `user` metadata).

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub access_key: String,
    pub secret_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Optional tenant (RGW's `tenant$uid`); empty for the default tenant.
    #[serde(default)]
    pub tenant: String,
    pub uid: String,
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    pub keys: Vec<AccessKey>,
    #[serde(default)]
    pub suspended: bool,
    /// System users carry inter-zone keys; they are never ordinary S3 users.
    #[serde(default)]
    pub system: bool,
    #[serde(default)]
    pub caps: Vec<String>,
    pub max_buckets: i64,
    pub created: Timestamp,
    /// Metadata version, bumped on each change (RGW's objv).
    #[serde(default)]
    pub ver: crate::topology::ObjVersion,
    #[serde(default)]
    pub mtime: Timestamp,
}

impl User {
    /// The user's id as RGW prints it: `tenant$uid`, or just `uid`.
    pub fn full_id(&self) -> String {
        if self.tenant.is_empty() {
            self.uid.clone()
        } else {
            format!("{}${}", self.tenant, self.uid)
        }
    }
}
