//! RGW's JSON shapes, in one place: users (`user info`), buckets (the entrypoint of `bucket:` and the
//! instance info of `bucket.instance:`), the quota block and `bucket stats`, as radosgw-admin prints them,
//! so operators' scripts keep working. Each shape is a serde type with conversions to and from the model's
//! `User` and `Bucket`. Reading is tolerant as RGW's own reader is: missing fields keep their defaults, flags
//! may be `0`/`1`, `"true"`/`"false"` or booleans, numbers may be quoted; a wrong value is refused with a
//! [`DocumentError`] naming the document and the field.

use meridian_model::{AccessKey, Bucket, BucketConfig, BucketStats, ObjVersion, Timestamp, User, VersioningStatus};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A document that does not read as the RGW shape it should be (the message names document and field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DocumentError(pub String);

// ---------------------------------------------------------------------------------------------------------
// Times: RFC 3339 in UTC with microseconds, as radosgw-admin prints them.

/// `2026-11-22T17:44:28.624636Z`.
pub fn format_time(t: Timestamp) -> String {
    t.to_rfc3339_micros()
}

/// Reads RFC 3339; `None` if it is not that or before 1970.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(s)
}

/// Serde for an entry's `mtime`: RFC 3339 text (a number of nanoseconds is read too; `null` is 0).
pub(crate) mod rfc3339 {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => {
                parse_time(&s).ok_or_else(|| serde::de::Error::custom(format!("mtime {s:?} is not an RFC 3339 time")))
            }
            Value::Number(n) => n
                .as_u64()
                .map(Timestamp)
                .ok_or_else(|| serde::de::Error::custom("mtime must be a time")),
            Value::Null => Ok(Timestamp::default()),
            other => Err(serde::de::Error::custom(format!("mtime must be a time, not {other}"))),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Tolerant field readers. Their errors are "must be ..., not <value>"; `read` prefixes document and field.

mod lenient {
    use super::*;
    use serde::de::Error;

    fn must_be<E: Error>(want: &str, got: &Value) -> E {
        E::custom(format!("must be {want}, not {got}"))
    }

    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(must_be("a string", &other)),
        }
    }

    /// A string that counts as absent when empty.
    pub fn nonempty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(text(d)?.filter(|s| !s.is_empty()))
    }

    pub fn text_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(text(d)?.unwrap_or_default())
    }

    /// RGW writes flags as `0`/`1`, `"true"`/`"false"` or JSON booleans; all are read.
    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(Some(n.as_i64() != Some(0))),
            Some(Value::String(s)) if matches!(s.as_str(), "true" | "1") => Ok(Some(true)),
            Some(Value::String(s)) if matches!(s.as_str(), "false" | "0" | "") => Ok(Some(false)),
            Some(other) => Err(must_be("true or false", &other)),
        }
    }

    pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(Value::String(s)) if s.parse::<i64>().is_ok() => Ok(s.parse().ok()),
            Some(other) => Err(must_be("a whole number", &other)),
        }
    }

    pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        match text(d)? {
            None => Ok(None),
            Some(s) => parse_time(&s)
                .map(Some)
                .ok_or_else(|| must_be("an RFC 3339 time", &Value::String(s))),
        }
    }
}

/// `0`/`1`, as RGW prints `suspended`.
mod int_flag {
    use super::*;

    pub fn serialize<S: Serializer>(on: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(i32::from(*on))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(super::lenient::flag(d)?.unwrap_or(false))
    }
}

/// `"true"`/`"false"`, as RGW prints `system`.
mod str_flag {
    use super::*;

    pub fn serialize<S: Serializer>(on: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *on { "true" } else { "false" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(super::lenient::flag(d)?.unwrap_or(false))
    }
}

/// An optional time written as RFC 3339 with microseconds.
mod opt_time {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_time(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        super::lenient::time(d)
    }
}

/// Reads `v` as the shape `T` of the document `doc`, naming the field in the error.
fn read<T: DeserializeOwned>(v: &Value, doc: &str) -> Result<T, DocumentError> {
    if !v.is_object() {
        return Err(DocumentError(format!("{doc} must be a JSON object, not {v}")));
    }
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        DocumentError(format!("{doc}: \"{path}\" {}", e.into_inner()))
    })
}

// ---------------------------------------------------------------------------------------------------------
// The quota block: never enforced here, so always written disabled.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quota {
    pub enabled: bool,
    pub check_on_raw: bool,
    pub max_size: i64,
    pub max_size_kb: u64,
    pub max_objects: i64,
}

impl Default for Quota {
    fn default() -> Self {
        Self {
            enabled: false,
            check_on_raw: false,
            max_size: -1,
            max_size_kb: 0,
            max_objects: -1,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Users.

/// A user as radosgw-admin's `user info` prints it (the `data` of a `user:` metadata entry adds `attrs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserInfo {
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub user_id: String,
    /// Read only (RGW prints the tenant inside `user_id`); must agree with `user_id`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::nonempty")]
    pub tenant: Option<String>,
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub display_name: String,
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub email: String,
    #[serde(with = "int_flag")]
    pub suspended: bool,
    #[serde(deserialize_with = "max_buckets")]
    pub max_buckets: i64,
    #[serde(skip_deserializing)]
    pub subusers: Vec<String>,
    #[serde(deserialize_with = "crate::or_default")]
    pub keys: Vec<UserKey>,
    #[serde(skip_deserializing)]
    pub swift_keys: Vec<String>,
    #[serde(deserialize_with = "caps")]
    pub caps: Vec<String>,
    #[serde(skip_deserializing)]
    pub op_mask: String,
    #[serde(with = "str_flag")]
    pub system: bool,
    #[serde(skip_deserializing)]
    pub default_placement: String,
    #[serde(skip_deserializing)]
    pub default_storage_class: String,
    #[serde(skip_deserializing)]
    pub placement_tags: Vec<String>,
    #[serde(skip_deserializing)]
    pub bucket_quota: Quota,
    #[serde(skip_deserializing)]
    pub user_quota: Quota,
    #[serde(skip_deserializing)]
    pub temp_url_keys: Vec<String>,
    #[serde(rename = "type", skip_deserializing)]
    pub kind: String,
    #[serde(skip_deserializing)]
    pub mfa_ids: Vec<String>,
    /// Present in a metadata entry's data only.
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub attrs: Option<Vec<String>>,
}

impl Default for UserInfo {
    fn default() -> Self {
        Self {
            user_id: String::new(),
            tenant: None,
            display_name: String::new(),
            email: String::new(),
            suspended: false,
            max_buckets: 1000,
            subusers: Vec::new(),
            keys: Vec::new(),
            swift_keys: Vec::new(),
            caps: Vec::new(),
            op_mask: "read, write, delete".into(),
            system: false,
            default_placement: String::new(),
            default_storage_class: String::new(),
            placement_tags: Vec::new(),
            bucket_quota: Quota::default(),
            user_quota: Quota::default(),
            temp_url_keys: Vec::new(),
            kind: "rgw".into(),
            mfa_ids: Vec::new(),
            attrs: None,
        }
    }
}

fn max_buckets<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(lenient::whole(d)?.unwrap_or(1000))
}

/// Caps as strings (`users=*`), or RGW's own form `{"type": "users", "perm": "*"}`.
fn caps<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Cap {
        Text(String),
        Typed {
            #[serde(rename = "type", default, deserialize_with = "lenient::text_or_empty")]
            kind: String,
            #[serde(default, deserialize_with = "lenient::text_or_empty")]
            perm: String,
        },
    }
    let caps: Option<Vec<Cap>> = Option::deserialize(d)
        .map_err(|_| serde::de::Error::custom("must be a list of strings or of {\"type\", \"perm\"}"))?;
    Ok(caps
        .unwrap_or_default()
        .into_iter()
        .map(|c| match c {
            Cap::Text(s) => s,
            Cap::Typed { kind, perm } => format!("{kind}={perm}"),
        })
        .collect())
}

/// One S3 key of a user.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserKey {
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub user: String,
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub access_key: String,
    #[serde(deserialize_with = "lenient::text_or_empty")]
    pub secret_key: String,
}

impl From<&User> for UserInfo {
    fn from(u: &User) -> Self {
        let id = u.full_id();
        Self {
            keys: u
                .keys
                .iter()
                .map(|k| UserKey {
                    user: id.clone(),
                    access_key: k.access_key.clone(),
                    secret_key: k.secret_key.clone(),
                })
                .collect(),
            user_id: id,
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            suspended: u.suspended,
            max_buckets: u.max_buckets,
            caps: u.caps.clone(),
            system: u.system,
            ..Default::default()
        }
    }
}

impl UserInfo {
    const DOC: &'static str = "user document";

    /// The `data` of the user's `user:` metadata entry.
    pub fn entry_data(u: &User) -> Self {
        Self {
            attrs: Some(Vec::new()),
            ..Self::from(u)
        }
    }

    /// Reads a user document (what `user info` prints, or an entry's data).
    pub fn read(v: &Value) -> Result<Self, DocumentError> {
        read(v, Self::DOC)
    }

    /// The user this document describes, checked; `created`, `ver` and `mtime` are not part of the document
    /// and are left for the caller to set.
    pub fn into_user(self) -> Result<User, DocumentError> {
        const DOC: &str = UserInfo::DOC;
        if self.user_id.is_empty() {
            return Err(DocumentError(format!("{DOC}: \"user_id\" is missing")));
        }
        let (mut tenant, uid) = match self.user_id.split_once('$') {
            Some((t, u)) => (t.to_string(), u.to_string()),
            None => (String::new(), self.user_id.clone()),
        };
        if let Some(t) = self.tenant {
            if !tenant.is_empty() && t != tenant {
                return Err(DocumentError(format!(
                    "{DOC}: \"tenant\" {t:?} disagrees with \"user_id\" {:?}",
                    self.user_id
                )));
            }
            tenant = t;
        }
        let mut keys: Vec<AccessKey> = Vec::new();
        for k in self.keys {
            let UserKey {
                access_key, secret_key, ..
            } = k;
            if access_key.is_empty() || access_key.contains('/') || !access_key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(DocumentError(format!(
                    "{DOC}: access key {access_key:?} must be 1-128 printable characters without '/'"
                )));
            }
            if secret_key.is_empty() {
                return Err(DocumentError(format!(
                    "{DOC}: access key {access_key} has no secret_key"
                )));
            }
            if keys.iter().any(|e| e.access_key == access_key) {
                return Err(DocumentError(format!("{DOC}: access key {access_key} is listed twice")));
            }
            keys.push(AccessKey { access_key, secret_key });
        }
        Ok(User {
            tenant,
            uid,
            display_name: self.display_name,
            email: self.email,
            keys,
            suspended: self.suspended,
            system: self.system,
            caps: self.caps,
            max_buckets: self.max_buckets,
            created: Timestamp::default(),
            ver: ObjVersion::default(),
            mtime: Timestamp::default(),
        })
    }
}

/// A user as radosgw-admin's `user info` prints it.
pub fn user_json(u: &User) -> Value {
    to_value(&UserInfo::from(u))
}

/// Reads a user from RGW's JSON (what [`user_json`] prints); absent optional fields take their defaults.
pub fn user_from_json(data: &Value) -> Result<User, DocumentError> {
    UserInfo::read(data)?.into_user()
}

/// Plain data always encodes; `Null` would only stand for a bug in a `Serialize` impl.
fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------------------
// Buckets: the entrypoint (`bucket:`) and the instance info (`bucket.instance:`).

/// RGW's bucket flags: `BUCKET_VERSIONED` (2) and `BUCKET_VERSIONS_SUSPENDED` (4).
pub fn versioning_flags(v: VersioningStatus) -> i64 {
    match v {
        VersioningStatus::Off => 0,
        VersioningStatus::Enabled => 2,
        VersioningStatus::Suspended => 6,
    }
}

pub fn versioning_from_flags(flags: i64) -> VersioningStatus {
    match (flags & 2 != 0, flags & 4 != 0) {
        (false, _) => VersioningStatus::Off,
        (true, false) => VersioningStatus::Enabled,
        (true, true) => VersioningStatus::Suspended,
    }
}

/// The pools RGW names for a bucket; none here.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExplicitPlacement {
    pub data_pool: String,
    pub data_extra_pool: String,
    pub index_pool: String,
}

/// The `bucket` reference inside both bucket documents.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketRef {
    #[serde(deserialize_with = "lenient::text")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient::nonempty")]
    pub marker: Option<String>,
    #[serde(deserialize_with = "lenient::nonempty")]
    pub bucket_id: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub tenant: Option<String>,
    #[serde(skip_deserializing)]
    pub explicit_placement: ExplicitPlacement,
}

impl From<&Bucket> for BucketRef {
    fn from(b: &Bucket) -> Self {
        Self {
            name: Some(b.name.clone()),
            marker: Some(b.bucket_id.clone()),
            bucket_id: Some(b.bucket_id.clone()),
            tenant: Some(b.tenant.clone()),
            explicit_placement: ExplicitPlacement::default(),
        }
    }
}

impl BucketRef {
    /// The instance id it names, after checking it names the bucket of the key.
    fn checked_id(&self, doc: &str, tenant: &str, name: &str) -> Result<Option<String>, DocumentError> {
        if let Some(n) = self.name.as_deref().filter(|n| *n != name) {
            return Err(DocumentError(format!(
                "{doc}: names bucket {n:?}, but the key names {name:?}"
            )));
        }
        if let Some(t) = self.tenant.as_deref().filter(|t| *t != tenant) {
            return Err(DocumentError(format!(
                "{doc}: names tenant {t:?}, but the key names tenant {tenant:?}"
            )));
        }
        Ok(self.bucket_id.clone().or_else(|| self.marker.clone()))
    }
}

/// The bucket entrypoint (`bucket:NAME`) as RGW's `metadata get` prints its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketEntrypoint {
    pub bucket: Option<BucketRef>,
    #[serde(deserialize_with = "lenient::nonempty")]
    pub owner: Option<String>,
    #[serde(with = "opt_time")]
    pub creation_time: Option<Timestamp>,
    #[serde(skip_deserializing)]
    pub linked: String,
    #[serde(skip_deserializing)]
    pub has_bucket_info: String,
}

impl Default for BucketEntrypoint {
    fn default() -> Self {
        Self {
            bucket: None,
            owner: None,
            creation_time: None,
            linked: "true".into(),
            has_bucket_info: "false".into(),
        }
    }
}

impl From<&Bucket> for BucketEntrypoint {
    fn from(b: &Bucket) -> Self {
        Self {
            bucket: Some(BucketRef::from(b)),
            owner: Some(b.owner.clone()),
            creation_time: Some(b.creation_time),
            ..Default::default()
        }
    }
}

impl BucketEntrypoint {
    const DOC: &'static str = "bucket entrypoint document";

    pub fn read(v: &Value) -> Result<Self, DocumentError> {
        read(v, Self::DOC)
    }

    /// What the document says of the bucket `tenant/name` (checked against that name).
    pub fn fields(&self, tenant: &str, name: &str) -> Result<BucketFields, DocumentError> {
        Ok(BucketFields {
            bucket_id: match &self.bucket {
                Some(r) => r.checked_id(Self::DOC, tenant, name)?,
                None => None,
            },
            owner: self.owner.clone(),
            creation_time: self.creation_time,
            ..Default::default()
        })
    }
}

/// The bucket instance (`bucket.instance:NAME:ID`) as RGW's `metadata get` prints its data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketInstance {
    pub bucket_info: Option<BucketInfo>,
    #[serde(skip_deserializing)]
    pub attrs: Vec<String>,
    /// Tags, CORS and lifecycle rules: RGW keeps them as binary xattrs in "attrs"; ours are plain JSON.
    pub s3_config: Option<BucketConfig>,
}

/// RGW's `bucket_info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketInfo {
    pub bucket: Option<BucketRef>,
    #[serde(with = "opt_time")]
    pub creation_time: Option<Timestamp>,
    #[serde(deserialize_with = "lenient::nonempty")]
    pub owner: Option<String>,
    #[serde(deserialize_with = "lenient::whole")]
    pub flags: Option<i64>,
    #[serde(deserialize_with = "lenient::nonempty")]
    pub zonegroup: Option<String>,
    #[serde(deserialize_with = "lenient::nonempty")]
    pub placement_rule: Option<String>,
    #[serde(skip_deserializing)]
    pub has_instance_obj: String,
    #[serde(skip_deserializing)]
    pub quota: Quota,
    #[serde(skip_deserializing)]
    pub num_shards: u32,
    #[serde(skip_deserializing)]
    pub bi_shard_hash_type: u32,
    #[serde(skip_deserializing)]
    pub requester_pays: String,
    #[serde(skip_deserializing)]
    pub has_website: String,
    #[serde(skip_deserializing)]
    pub swift_versioning: String,
    #[serde(skip_deserializing)]
    pub swift_ver_location: String,
    #[serde(skip_deserializing)]
    pub index_type: u32,
    #[serde(skip_deserializing)]
    pub mdsearch_config: Vec<String>,
    #[serde(skip_deserializing)]
    pub reshard_status: u32,
    #[serde(skip_deserializing)]
    pub new_bucket_instance_id: String,
}

impl Default for BucketInfo {
    fn default() -> Self {
        Self {
            bucket: None,
            creation_time: None,
            owner: None,
            flags: None,
            zonegroup: None,
            placement_rule: None,
            has_instance_obj: "true".into(),
            quota: Quota::default(),
            num_shards: 0,
            bi_shard_hash_type: 0,
            requester_pays: "false".into(),
            has_website: "false".into(),
            swift_versioning: "false".into(),
            swift_ver_location: String::new(),
            index_type: 0,
            mdsearch_config: Vec::new(),
            reshard_status: 0,
            new_bucket_instance_id: String::new(),
        }
    }
}

impl From<&Bucket> for BucketInstance {
    fn from(b: &Bucket) -> Self {
        Self {
            bucket_info: Some(BucketInfo {
                bucket: Some(BucketRef::from(b)),
                creation_time: Some(b.creation_time),
                owner: Some(b.owner.clone()),
                flags: Some(versioning_flags(b.versioning)),
                zonegroup: Some(b.zonegroup.clone()),
                placement_rule: Some(b.placement_rule.clone()),
                ..Default::default()
            }),
            attrs: Vec::new(),
            s3_config: Some(b.config.clone()),
        }
    }
}

impl BucketInstance {
    const DOC: &'static str = "bucket instance document";

    pub fn read(v: &Value) -> Result<Self, DocumentError> {
        let doc: Self = read(v, Self::DOC)?;
        if doc.bucket_info.is_none() {
            return Err(DocumentError(format!("{}: \"bucket_info\" is missing", Self::DOC)));
        }
        Ok(doc)
    }

    /// The instance id the document names, if any.
    pub fn bucket_id(&self) -> Option<&str> {
        let r = self.bucket_info.as_ref()?.bucket.as_ref()?;
        r.bucket_id.as_deref().or(r.marker.as_deref())
    }

    /// What the document says of the bucket `tenant/name` (checked against that name).
    pub fn fields(&self, tenant: &str, name: &str) -> Result<BucketFields, DocumentError> {
        let info = self.bucket_info.clone().unwrap_or_default();
        Ok(BucketFields {
            bucket_id: match &info.bucket {
                Some(r) => r.checked_id(Self::DOC, tenant, name)?,
                None => None,
            },
            owner: info.owner,
            creation_time: info.creation_time,
            zonegroup: info.zonegroup,
            placement_rule: info.placement_rule,
            versioning: info.flags.map(versioning_from_flags),
            config: self.s3_config.clone(),
        })
    }
}

/// What a bucket document says; `None` where it is silent (the stored value, or a default, stays).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BucketFields {
    pub bucket_id: Option<String>,
    pub owner: Option<String>,
    pub creation_time: Option<Timestamp>,
    pub zonegroup: Option<String>,
    pub placement_rule: Option<String>,
    pub versioning: Option<VersioningStatus>,
    pub config: Option<BucketConfig>,
}

/// The bucket entrypoint (`bucket:NAME`) as RGW's `metadata get` prints its data.
pub fn bucket_entrypoint_json(b: &Bucket) -> Value {
    to_value(&BucketEntrypoint::from(b))
}

/// The bucket instance (`bucket.instance:NAME:ID`) as RGW's `metadata get` prints its data.
pub fn bucket_instance_json(b: &Bucket) -> Value {
    to_value(&BucketInstance::from(b))
}

// ---------------------------------------------------------------------------------------------------------
// `bucket stats`.

/// A bucket as radosgw-admin's `bucket stats` prints it (plus `num_incomplete_uploads`, Meridian's own:
/// what a zonegroup change by metadata put must know).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketStatsInfo {
    pub bucket: String,
    pub num_shards: u32,
    pub tenant: String,
    pub zonegroup: String,
    pub placement_rule: String,
    pub id: String,
    pub marker: String,
    pub index_type: String,
    pub owner: String,
    pub ver: String,
    pub mtime: String,
    pub creation_time: String,
    pub usage: std::collections::BTreeMap<String, Usage>,
    pub bucket_quota: Quota,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_incomplete_uploads: Option<u64>,
}

/// One category of a bucket's usage (`rgw.main`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub size: u64,
    pub size_actual: u64,
    pub size_utilized: u64,
    pub size_kb: u64,
    pub size_kb_actual: u64,
    pub size_kb_utilized: u64,
    pub num_objects: u64,
}

impl BucketStatsInfo {
    pub fn new(b: &Bucket, s: &BucketStats) -> Self {
        let kb = s.size.div_ceil(1024);
        Self {
            bucket: b.name.clone(),
            num_shards: 1,
            tenant: b.tenant.clone(),
            zonegroup: b.zonegroup.clone(),
            placement_rule: b.placement_rule.clone(),
            id: b.bucket_id.clone(),
            marker: b.bucket_id.clone(),
            index_type: "Normal".into(),
            owner: b.owner.clone(),
            ver: format!("0#{}", b.ver.ver),
            mtime: b.mtime.to_rfc3339(),
            creation_time: b.creation_time.to_rfc3339(),
            usage: [(
                "rgw.main".to_string(),
                Usage {
                    size: s.size,
                    size_actual: s.size,
                    size_utilized: s.size,
                    size_kb: kb,
                    size_kb_actual: kb,
                    size_kb_utilized: kb,
                    num_objects: s.num_objects,
                },
            )]
            .into(),
            bucket_quota: Quota::default(),
            num_incomplete_uploads: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_model::BucketConfigChange;
    use serde_json::json;

    fn alice() -> User {
        User {
            tenant: "t".into(),
            uid: "alice".into(),
            display_name: "Alice".into(),
            email: "a@example.com".into(),
            keys: vec![AccessKey {
                access_key: "AK1".into(),
                secret_key: "s1".into(),
            }],
            suspended: true,
            system: false,
            caps: vec!["users=*".into()],
            max_buckets: 7,
            created: Timestamp::default(),
            ver: ObjVersion::default(),
            mtime: Timestamp::default(),
        }
    }

    fn photos() -> Bucket {
        let mut config = BucketConfig::default();
        BucketConfigChange::Tags(vec![("k".into(), "v".into())]).apply(&mut config);
        Bucket {
            tenant: String::new(),
            name: "photos".into(),
            bucket_id: "zone.1".into(),
            owner: "alice".into(),
            zonegroup: "zg1".into(),
            placement_rule: "default-placement".into(),
            creation_time: Timestamp(1_700_000_000_123_456_000),
            versioning: VersioningStatus::Suspended,
            ver: ObjVersion {
                tag: "_t".into(),
                ver: 3,
            },
            mtime: Timestamp(1_700_000_001_000_000_000),
            config,
        }
    }

    fn quota() -> Value {
        json!({"enabled": false, "check_on_raw": false, "max_size": -1, "max_size_kb": 0, "max_objects": -1})
    }

    /// The text (field order included) radosgw-admin prints, as the hand-written encoders wrote it before.
    #[test]
    fn users_print_in_rgw_shape() {
        let expected = json!({
            "user_id": "t$alice", "display_name": "Alice", "email": "a@example.com", "suspended": 1,
            "max_buckets": 7, "subusers": [],
            "keys": [{"user": "t$alice", "access_key": "AK1", "secret_key": "s1"}],
            "swift_keys": [], "caps": ["users=*"], "op_mask": "read, write, delete", "system": "false",
            "default_placement": "", "default_storage_class": "", "placement_tags": [],
            "bucket_quota": quota(), "user_quota": quota(), "temp_url_keys": [], "type": "rgw", "mfa_ids": [],
        });
        assert_eq!(user_json(&alice()).to_string(), expected.to_string());
        let mut with_attrs = expected;
        with_attrs["attrs"] = json!([]);
        assert_eq!(
            serde_json::to_string(&UserInfo::entry_data(&alice())).unwrap(),
            with_attrs.to_string()
        );
        assert_eq!(user_from_json(&user_json(&alice())).unwrap(), alice());
    }

    #[test]
    fn buckets_print_in_rgw_shape() {
        let b = photos();
        let bucket_ref = json!({"name": "photos", "marker": "zone.1", "bucket_id": "zone.1", "tenant": "",
            "explicit_placement": {"data_pool": "", "data_extra_pool": "", "index_pool": ""}});
        let entrypoint = json!({"bucket": bucket_ref, "owner": "alice",
            "creation_time": "2023-11-14T22:13:20.123456Z", "linked": "true", "has_bucket_info": "false"});
        assert_eq!(bucket_entrypoint_json(&b).to_string(), entrypoint.to_string());
        let instance = json!({
            "bucket_info": {
                "bucket": bucket_ref, "creation_time": "2023-11-14T22:13:20.123456Z", "owner": "alice",
                "flags": 6, "zonegroup": "zg1", "placement_rule": "default-placement",
                "has_instance_obj": "true", "quota": quota(), "num_shards": 0, "bi_shard_hash_type": 0,
                "requester_pays": "false", "has_website": "false", "swift_versioning": "false",
                "swift_ver_location": "", "index_type": 0, "mdsearch_config": [], "reshard_status": 0,
                "new_bucket_instance_id": "",
            },
            "attrs": [],
            "s3_config": b.config,
        });
        assert_eq!(bucket_instance_json(&b).to_string(), instance.to_string());

        // What is printed reads back to the same fields.
        let fields = BucketInstance::read(&instance).unwrap().fields("", "photos").unwrap();
        assert_eq!(
            fields,
            BucketFields {
                bucket_id: Some("zone.1".into()),
                owner: Some("alice".into()),
                creation_time: Some(b.creation_time),
                zonegroup: Some("zg1".into()),
                placement_rule: Some("default-placement".into()),
                versioning: Some(VersioningStatus::Suspended),
                config: Some(b.config.clone()),
            }
        );
        let fields = BucketEntrypoint::read(&entrypoint)
            .unwrap()
            .fields("", "photos")
            .unwrap();
        assert_eq!((fields.bucket_id.as_deref(), fields.zonegroup), (Some("zone.1"), None));
    }

    #[test]
    fn bucket_stats_print_in_rgw_shape() {
        let b = photos();
        let s = BucketStats {
            num_objects: 2,
            size: 2048,
        };
        let expected = json!({
            "bucket": "photos", "num_shards": 1, "tenant": "", "zonegroup": "zg1",
            "placement_rule": "default-placement", "id": "zone.1", "marker": "zone.1", "index_type": "Normal",
            "owner": "alice", "ver": "0#3", "mtime": b.mtime.to_rfc3339(),
            "creation_time": b.creation_time.to_rfc3339(),
            "usage": {"rgw.main": {"size": 2048, "size_actual": 2048, "size_utilized": 2048, "size_kb": 2,
                                   "size_kb_actual": 2, "size_kb_utilized": 2, "num_objects": 2}},
            "bucket_quota": quota(),
        });
        assert_eq!(
            serde_json::to_string(&BucketStatsInfo::new(&b, &s)).unwrap(),
            expected.to_string()
        );
    }

    #[test]
    fn documents_read_tolerantly_and_name_the_bad_field() {
        let u = user_from_json(
            &json!({"user_id": "bob", "suspended": "1", "system": true, "max_buckets": "5",
                                       "keys": null, "caps": [{"type": "users", "perm": "read"}]}),
        )
        .unwrap();
        assert!(u.suspended && u.system);
        assert_eq!((u.max_buckets, u.caps.clone()), (5, vec!["users=read".to_string()]));
        assert_eq!(
            user_from_json(&json!({"user_id": "bob", "max_buckets": "many"}))
                .unwrap_err()
                .0,
            "user document: \"max_buckets\" must be a whole number, not \"many\""
        );
        assert_eq!(
            user_from_json(&json!([1])).unwrap_err().0,
            "user document must be a JSON object, not [1]"
        );
        assert_eq!(
            BucketInstance::read(&json!({"attrs": []})).unwrap_err().0,
            "bucket instance document: \"bucket_info\" is missing"
        );
        let wrong_name = BucketEntrypoint::read(&json!({"bucket": {"name": "videos"}}))
            .unwrap()
            .fields("", "photos")
            .unwrap_err();
        assert_eq!(
            wrong_name.0,
            "bucket entrypoint document: names bucket \"videos\", but the key names \"photos\""
        );
        let bad_time = BucketEntrypoint::read(&json!({"creation_time": "soon"})).unwrap_err();
        assert!(
            bad_time.0.contains("\"creation_time\" must be an RFC 3339 time"),
            "{bad_time}"
        );
    }
}
