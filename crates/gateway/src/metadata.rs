//! Metadata entries read and written against the store: RGW's `metadata list | get | put | rm` for the keys
//! `user:<id>`, `bucket:[<tenant>/]<name>` and `bucket.instance:[<tenant>/]<name>:<bucket id>`, with
//! optimistic concurrency for operators (`PutMode::Checked`) and newest-wins for metadata sync
//! (`PutMode::Sync`). The entries' JSON (envelope and RGW documents) is `meridian_proto`'s (`metadata`,
//! `rgw`); this file holds the put, get and version logic only.
//!
//! One stored bucket record holds both RGW's bucket entrypoint and its bucket instance info, so the two
//! keys of a bucket share one `ver`.

use crate::error::{GatewayError, Result};
use crate::{keys, records};
use meridian_model::names::validate_bucket_name;
use meridian_model::{Bucket, BucketStats, ObjVersion, Timestamp, User};
use meridian_proto::rgw::{BucketEntrypoint, BucketFields, BucketInstance, UserInfo};
use meridian_store::{ReadOps, WriteTxn};
use serde_json::Value;

pub use meridian_proto::metadata::{KEY_FORMS, SECTIONS};
pub use meridian_proto::rgw::{format_time, parse_time};

/// One metadata entry as RGW's `metadata get` prints it and `metadata put` takes it (its data as JSON: the
/// section decides which RGW document it is).
pub type MetadataEntry = meridian_proto::metadata::MetadataEntry<Value>;

/// How `MetadataService::put` treats an existing record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// An operator's put: the document must have been read at the stored version (get → edit → put); the
    /// stored version is then bumped.
    Checked,
    /// Metadata sync from the metadata master: the entry is stored verbatim (ver and mtime) unless the stored
    /// record is as new or newer, in which case nothing changes.
    Sync,
}

/// A parsed metadata key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MetaKey {
    User(String),
    Bucket { tenant: String, name: String },
    Instance { tenant: String, name: String, id: String },
}

impl MetaKey {
    fn parse(key: &str) -> Result<Self> {
        let bad = || GatewayError::InvalidArgument(format!("invalid metadata key {key:?}: {KEY_FORMS}"));
        let (section, rest) = key.split_once(':').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        match section {
            "user" => Ok(MetaKey::User(rest.to_string())),
            "bucket" => {
                let (tenant, name) = split_tenant(rest).ok_or_else(bad)?;
                if name.is_empty() || name.contains(':') {
                    return Err(bad());
                }
                Ok(MetaKey::Bucket { tenant, name })
            }
            "bucket.instance" => {
                let (bucket, id) = rest.split_once(':').ok_or_else(bad)?;
                let (tenant, name) = split_tenant(bucket).ok_or_else(bad)?;
                if name.is_empty() || id.is_empty() || id.contains(':') {
                    return Err(bad());
                }
                Ok(MetaKey::Instance {
                    tenant,
                    name,
                    id: id.to_string(),
                })
            }
            _ => Err(bad()),
        }
    }
}

/// `[tenant/]name`; `None` for a tenant RGW would not accept (its separators would corrupt the keys).
fn split_tenant(spec: &str) -> Option<(String, String)> {
    let (tenant, name) = crate::buckets::split_bucket_name(spec);
    (tenant.is_empty() || meridian_model::names::is_valid_tenant(&tenant)).then_some((tenant, name))
}

pub use meridian_model::bucket::bucket_spec;

fn user_key(id: &str) -> String {
    format!("user:{id}")
}

fn bucket_key(b: &Bucket) -> String {
    format!("bucket:{}", bucket_spec(&b.tenant, &b.name))
}

fn instance_key(b: &Bucket) -> String {
    format!("bucket.instance:{}:{}", bucket_spec(&b.tenant, &b.name), b.bucket_id)
}

/// Encodes an RGW document as an entry's data.
fn data<T: serde::Serialize>(doc: &T) -> Value {
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

fn user_entry(u: &User) -> MetadataEntry {
    MetadataEntry {
        key: user_key(&u.full_id()),
        ver: u.ver.clone(),
        mtime: u.mtime,
        data: data(&UserInfo::entry_data(u)),
    }
}

fn bucket_entry(b: &Bucket) -> MetadataEntry {
    MetadataEntry {
        key: bucket_key(b),
        ver: b.ver.clone(),
        mtime: b.mtime,
        data: data(&BucketEntrypoint::from(b)),
    }
}

fn instance_entry(b: &Bucket) -> MetadataEntry {
    MetadataEntry {
        key: instance_key(b),
        ver: b.ver.clone(),
        mtime: b.mtime,
        data: data(&BucketInstance::from(b)),
    }
}

fn entrypoint_doc(data: &Value, tenant: &str, name: &str) -> Result<BucketFields> {
    Ok(BucketEntrypoint::read(data)?.fields(tenant, name)?)
}

fn instance_doc(data: &Value, tenant: &str, name: &str) -> Result<BucketFields> {
    Ok(BucketInstance::read(data)?.fields(tenant, name)?)
}

// ---------------------------------------------------------------------------------------------------------
// Versions.

/// The `ver` and `mtime` to store, or `None` when a sync put brings nothing newer.
fn decide(
    key: &str,
    stored: Option<&ObjVersion>,
    entry: &MetadataEntry,
    mode: PutMode,
) -> Result<Option<(ObjVersion, Timestamp)>> {
    let now = Timestamp::now();
    let given = || {
        if entry.ver.tag.is_empty() {
            ObjVersion::first()
        } else {
            entry.ver.clone()
        }
    };
    match (mode, stored) {
        (PutMode::Checked, None) => Ok(Some((given(), now))),
        (PutMode::Checked, Some(sv)) => {
            if entry.ver == *sv {
                return Ok(Some((sv.bumped(), now)));
            }
            let again = format!("run 'meridian metadata get {key}' again, re-apply your change and put that");
            let msg = if entry.ver.tag.is_empty() {
                format!(
                    "metadata put refused: {key} exists (version {} tag {}) and your document carries no \"ver\"; \
                     {again}",
                    sv.ver, sv.tag
                )
            } else if entry.ver.tag != sv.tag {
                format!(
                    "metadata put refused: {key} is at version {} (tag {}), but your document was read from another \
                     incarnation of it (tag {}, version {}): it was removed and re-created since; {again}",
                    sv.ver, sv.tag, entry.ver.tag, entry.ver.ver
                )
            } else if entry.ver.ver < sv.ver {
                format!(
                    "metadata put refused: {key} is at version {} (tag {}) but your document was read at version {}; \
                     {again}",
                    sv.ver, sv.tag, entry.ver.ver
                )
            } else {
                format!(
                    "metadata put refused: your document claims version {} but {key} is only at version {} (tag {}): \
                     the document was not read from this zone's record; {again}",
                    entry.ver.ver, sv.ver, sv.tag
                )
            };
            Err(GatewayError::Conflict(msg))
        }
        (PutMode::Sync, _) if entry.ver.tag.is_empty() => Err(GatewayError::InvalidArgument(format!(
            "a sync put of {key} needs the source's \"ver\" (tag and version)"
        ))),
        (PutMode::Sync, None) => Ok(Some((given(), if entry.mtime.0 == 0 { now } else { entry.mtime }))),
        (PutMode::Sync, Some(sv)) => {
            if entry.ver.tag != sv.tag || entry.ver.ver > sv.ver {
                Ok(Some((
                    entry.ver.clone(),
                    if entry.mtime.0 == 0 { now } else { entry.mtime },
                )))
            } else {
                Ok(None)
            }
        }
    }
}

fn check_entry_key(key: &str, entry: &MetadataEntry) -> Result<()> {
    if !entry.key.is_empty() && entry.key != key {
        return Err(GatewayError::InvalidArgument(format!(
            "the document is the entry of {:?}, not of {key:?}",
            entry.key
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Reads and writes inside one snapshot / transaction.

fn scan_buckets(r: &dyn ReadOps) -> Result<Vec<Bucket>> {
    Ok(records::scan_all::<Bucket>(r, keys::BUCKET.as_bytes())?
        .into_iter()
        .map(|(_, b)| b)
        .collect())
}

fn get_entry(r: &dyn ReadOps, key: &MetaKey) -> Result<MetadataEntry> {
    match key {
        MetaKey::User(id) => {
            let user: User = records::get(r, &keys::user(id))?.ok_or_else(|| GatewayError::NoSuchUser(id.clone()))?;
            Ok(user_entry(&user))
        }
        MetaKey::Bucket { tenant, name } => {
            let b: Bucket = records::get(r, &keys::bucket(tenant, name))?.ok_or(GatewayError::NoSuchBucket)?;
            Ok(bucket_entry(&b))
        }
        MetaKey::Instance { tenant, name, id } => {
            let b: Bucket = records::get(r, &keys::bucket(tenant, name))?
                .filter(|b: &Bucket| b.bucket_id == *id)
                .ok_or(GatewayError::NoSuchBucket)?;
            Ok(instance_entry(&b))
        }
    }
}

fn put_user(
    txn: &mut dyn WriteTxn,
    key: &str,
    id: &str,
    entry: &MetadataEntry,
    mode: PutMode,
) -> Result<MetadataEntry> {
    let mut user = UserInfo::read(&entry.data)?.into_user()?;
    if user.full_id() != id {
        return Err(GatewayError::InvalidArgument(format!(
            "the document is user {:?}, but the key names user {id:?}",
            user.full_id()
        )));
    }
    crate::users::validate_user_id(&user.tenant, &user.uid)?;
    let ukey = keys::user(id);
    let stored: Option<User> = records::get(txn, &ukey)?;
    let Some((ver, mtime)) = decide(key, stored.as_ref().map(|u| &u.ver), entry, mode)? else {
        return stored
            .as_ref()
            .map(user_entry)
            .ok_or_else(|| GatewayError::NoSuchUser(id.to_string()));
    };
    user.ver = ver;
    user.mtime = mtime;
    user.created = stored.as_ref().map_or(mtime, |s| s.created);
    // The access-key index follows the user's keys: new keys claimed (unless another user holds them),
    // removed keys released.
    for k in &user.keys {
        if let Some(owner) = txn.get(&keys::access_key(&k.access_key))? {
            if owner != id.as_bytes() {
                return Err(GatewayError::KeyExists(k.access_key.clone()));
            }
        }
    }
    if let Some(old) = &stored {
        for k in old
            .keys
            .iter()
            .filter(|k| !user.keys.iter().any(|n| n.access_key == k.access_key))
        {
            let akey = keys::access_key(&k.access_key);
            if txn.get(&akey)?.is_some_and(|owner| owner == id.as_bytes()) {
                txn.delete(&akey)?;
            }
        }
    }
    for k in &user.keys {
        txn.put(&keys::access_key(&k.access_key), id.as_bytes())?;
    }
    records::put(txn, &ukey, &user)?;
    crate::mdlog::user_written(txn, &user)?;
    Ok(user_entry(&user))
}

/// Where a bucket put lands when the document does not say (a new bucket): this zone's zonegroup and
/// placement.
struct Defaults {
    zonegroup: String,
    placement_rule: String,
    /// Zonegroups of the site view (the period's); stored zonegroup records count too.
    known_zonegroups: Vec<String>,
}

/// An operator's put may only name a zonegroup this zone knows (a typo would send the bucket's clients
/// nowhere). Sync trusts the master, whose period may be newer than ours.
fn check_zonegroup_known(r: &dyn ReadOps, zonegroup: &str, defaults: &Defaults) -> Result<()> {
    if defaults.known_zonegroups.iter().any(|z| z == zonegroup)
        || r.get(&keys::config("zonegroup", zonegroup))?.is_some()
    {
        return Ok(());
    }
    Err(GatewayError::InvalidArgument(format!(
        "zonegroup {zonegroup:?} is not known to this zone (the zonegroups are {}); a bucket's \"zonegroup\" is a \
         zonegroup id",
        defaults.known_zonegroups.join(", ")
    )))
}

fn put_bucket(
    txn: &mut dyn WriteTxn,
    key: &str,
    mkey: &MetaKey,
    entry: &MetadataEntry,
    mode: PutMode,
    defaults: &Defaults,
) -> Result<MetadataEntry> {
    let (tenant, name, doc, key_id) = match mkey {
        MetaKey::Bucket { tenant, name } => (tenant, name, entrypoint_doc(&entry.data, tenant, name)?, None),
        MetaKey::Instance { tenant, name, id } => {
            let doc = instance_doc(&entry.data, tenant, name)?;
            if let Some(doc_id) = doc.bucket_id.as_deref().filter(|d| *d != id) {
                return Err(GatewayError::InvalidArgument(format!(
                    "the document is bucket instance {doc_id}, but the key names instance {id}"
                )));
            }
            (tenant, name, doc, Some(id.clone()))
        }
        MetaKey::User(_) => return Err(GatewayError::Internal("put_bucket called for a user".into())),
    };
    let bkey = keys::bucket(tenant, name);
    let stored: Option<Bucket> = records::get(txn, &bkey)?;
    let bucket_id = key_id.or_else(|| doc.bucket_id.clone()).ok_or_else(|| {
        GatewayError::InvalidArgument("bucket entrypoint document: \"bucket.bucket_id\" is missing".into())
    })?;
    let Some((ver, mtime)) = decide(key, stored.as_ref().map(|b| &b.ver), entry, mode)? else {
        let s = stored.ok_or(GatewayError::NoSuchBucket)?;
        return Ok(match mkey {
            MetaKey::Instance { .. } => instance_entry(&s),
            _ => bucket_entry(&s),
        });
    };
    if let Some(s) = &stored {
        if s.bucket_id != bucket_id {
            return Err(GatewayError::InvalidArgument(format!(
                "bucket {} is instance {}; a metadata put cannot give it instance {bucket_id} (instance ids never \
                 change: remove the bucket first to re-create it)",
                bucket_spec(tenant, name),
                s.bucket_id
            )));
        }
    }
    let owner = doc
        .owner
        .clone()
        .or_else(|| stored.as_ref().map(|s| s.owner.clone()))
        .ok_or_else(|| GatewayError::InvalidArgument(format!("the document of {key} has no \"owner\"")))?;
    if mode == PutMode::Checked && txn.get(&keys::user(&owner))?.is_none() {
        return Err(GatewayError::NoSuchUser(owner));
    }
    let new = match &stored {
        Some(s) => Bucket {
            tenant: s.tenant.clone(),
            name: s.name.clone(),
            bucket_id: s.bucket_id.clone(),
            owner,
            zonegroup: doc.zonegroup.clone().unwrap_or_else(|| s.zonegroup.clone()),
            placement_rule: doc.placement_rule.clone().unwrap_or_else(|| s.placement_rule.clone()),
            creation_time: doc.creation_time.unwrap_or(s.creation_time),
            versioning: doc.versioning.unwrap_or(s.versioning),
            ver,
            mtime,
            config: doc.config.clone().unwrap_or_else(|| s.config.clone()),
        },
        None => {
            validate_bucket_name(name)?;
            Bucket {
                tenant: tenant.clone(),
                name: name.clone(),
                bucket_id,
                owner,
                zonegroup: doc.zonegroup.clone().unwrap_or_else(|| defaults.zonegroup.clone()),
                placement_rule: doc
                    .placement_rule
                    .clone()
                    .unwrap_or_else(|| defaults.placement_rule.clone()),
                creation_time: doc.creation_time.unwrap_or(mtime),
                versioning: doc.versioning.unwrap_or_default(),
                ver,
                mtime,
                config: doc.config.clone().unwrap_or_default(),
            }
        }
    };
    let zonegroup_changed = stored.as_ref().is_none_or(|s| s.zonegroup != new.zonegroup);
    if mode == PutMode::Checked && zonegroup_changed && new.zonegroup != defaults.zonegroup {
        check_zonegroup_known(txn, &new.zonegroup, defaults)?;
    }
    match &stored {
        Some(s) => {
            if s.zonegroup != new.zonegroup && !crate::moves::allows_zonegroup_change(txn, s, &new.zonegroup)? {
                refuse_zonegroup_change(txn, s, &new.zonegroup)?;
            }
            if s.owner != new.owner {
                txn.delete(&keys::user_bucket(&s.owner, &s.name))?;
                txn.put(&keys::user_bucket(&new.owner, &new.name), new.tenant.as_bytes())?;
            }
        }
        None => {
            txn.put(&keys::user_bucket(&new.owner, &new.name), new.tenant.as_bytes())?;
            let skey = keys::stats(&new.bucket_id);
            if txn.get(&skey)?.is_none() {
                records::put(txn, &skey, &BucketStats::default())?;
            }
        }
    }
    records::put(txn, &bkey, &new)?;
    crate::mdlog::bucket_written(txn, &new)?;
    Ok(match mkey {
        MetaKey::Instance { .. } => instance_entry(&new),
        _ => bucket_entry(&new),
    })
}

/// Counts records under `prefix`, up to `limit`.
fn count_under(r: &dyn ReadOps, prefix: &[u8], limit: usize) -> Result<usize> {
    Ok(r.scan(prefix, &meridian_store::meta::prefix_end(prefix), limit)?.len())
}

/// What a bucket holds in this zone: the reason its zonegroup may not change by metadata put.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketContents {
    pub objects: u64,
    pub uploads: u64,
}

impl BucketContents {
    pub fn is_empty(&self) -> bool {
        self.objects == 0 && self.uploads == 0
    }

    /// "3 objects and 1 multipart upload".
    pub fn describe(&self) -> String {
        let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let mut what = Vec::new();
        if self.objects > 0 {
            what.push(plural(self.objects, "object"));
        }
        if self.uploads > 0 {
            what.push(plural(self.uploads, "multipart upload"));
        }
        what.join(" and ")
    }
}

fn bucket_contents(r: &dyn ReadOps, b: &Bucket) -> Result<BucketContents> {
    const LIMIT: usize = 100_000;
    let stats: BucketStats = records::get(r, &keys::stats(&b.bucket_id))?.unwrap_or_default();
    let scanned = count_under(r, &keys::object_prefix(&b.bucket_id), LIMIT)?
        + count_under(r, &keys::version_prefix(&b.bucket_id), LIMIT)?;
    let objects = if scanned == 0 {
        0
    } else {
        stats.num_objects.max(scanned as u64)
    };
    let uploads = count_under(r, &keys::upload_prefix(&b.bucket_id), LIMIT)? as u64;
    Ok(BucketContents { objects, uploads })
}

/// The refusal of a zonegroup change of a bucket that holds data, naming the command that moves data.
pub fn zonegroup_change_refused(b: &Bucket, contents: BucketContents, to: &str) -> GatewayError {
    GatewayError::Conflict(format!(
        "bucket {} holds {} in zonegroup {}: changing its zonegroup (to {to}) by metadata put would strand them; \
         move the bucket with its data with `meridian bucket move --bucket {} --zonegroup {to}` (online: \
         copy, short cut-over, cleanup); nothing was changed",
        bucket_spec(&b.tenant, &b.name),
        contents.describe(),
        b.zonegroup,
        bucket_spec(&b.tenant, &b.name),
    ))
}

/// A bucket's zonegroup says where its data is: changing it while the bucket holds objects or uploads would
/// leave them where no request looks.
fn refuse_zonegroup_change(r: &dyn ReadOps, b: &Bucket, to: &str) -> Result<()> {
    let contents = bucket_contents(r, b)?;
    if contents.is_empty() {
        return Ok(());
    }
    Err(zonegroup_change_refused(b, contents, to))
}

/// The `/admin/metadata` entries (`user:`, `bucket:`, `bucket.instance:`) in RGW's shapes.
/// Reached through `Gateway::metadata()`.
#[derive(Clone, Copy)]
pub struct MetadataService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

impl MetadataService<'_> {
    /// The metadata sections (`metadata list`).
    pub async fn sections(&self) -> Vec<&'static str> {
        SECTIONS.to_vec()
    }

    /// The keys of one section, without the section prefix: user ids; bucket names (`tenant/name` in a
    /// tenant); bucket instances as `name:bucket_id`.
    pub async fn list(&self, section: &str) -> Result<Vec<String>> {
        match section {
            "user" => self.core.users().list().await,
            "bucket" => {
                self.core
                    .read(|r| {
                        Ok(scan_buckets(r)?
                            .iter()
                            .map(|b| bucket_spec(&b.tenant, &b.name))
                            .collect())
                    })
                    .await
            }
            "bucket.instance" => {
                self.core
                    .read(|r| {
                        Ok(scan_buckets(r)?
                            .iter()
                            .map(|b| format!("{}:{}", bucket_spec(&b.tenant, &b.name), b.bucket_id))
                            .collect())
                    })
                    .await
            }
            other => Err(GatewayError::InvalidArgument(format!(
                "unknown metadata section {other:?}: the sections are {}",
                SECTIONS.join(", ")
            ))),
        }
    }

    /// One entry (`metadata get user:alice`, `bucket:photos`, `bucket.instance:photos:<id>`).
    pub async fn get(&self, key: &str) -> Result<MetadataEntry> {
        let mkey = MetaKey::parse(key)?;
        self.core.read(move |r| get_entry(r, &mkey)).await
    }

    /// Stores an entry (see `PutMode`); returns the entry as stored afterwards.
    pub async fn put(&self, key: &str, entry: MetadataEntry, mode: PutMode) -> Result<MetadataEntry> {
        let mkey = MetaKey::parse(key)?;
        check_entry_key(key, &entry)?;
        let key = key.to_string();
        let site = self.core.site();
        let defaults = Defaults {
            zonegroup: site.zonegroup_id.clone(),
            placement_rule: site.placement_rule.clone(),
            known_zonegroups: site.zonegroups.iter().map(|zg| zg.id.clone()).collect(),
        };
        let bucket = match &mkey {
            MetaKey::User(_) => None,
            MetaKey::Bucket { tenant, name } | MetaKey::Instance { tenant, name, .. } => {
                Some((tenant.clone(), name.clone()))
            }
        };
        self.core
            .write(move |txn| match &mkey {
                MetaKey::User(id) => put_user(txn, &key, id, &entry, mode),
                _ => put_bucket(txn, &key, &mkey, &entry, mode, &defaults),
            })
            .await
            .inspect(|_| {
                if let Some((tenant, name)) = &bucket {
                    self.core.notify_bucket(tenant, name);
                }
            })
    }

    /// The bucket a put of `entry` at `key` would give another zonegroup, with that zonegroup; `None` when
    /// the put changes no bucket's zonegroup (a user, a new bucket, or the same zonegroup).
    pub async fn change_zonegroup(&self, key: &str, entry: &MetadataEntry) -> Result<Option<(Bucket, String)>> {
        let (tenant, name, doc) = match MetaKey::parse(key)? {
            MetaKey::Instance { tenant, name, .. } => {
                let doc = instance_doc(&entry.data, &tenant, &name)?;
                (tenant, name, doc)
            }
            // An entry point carries no zonegroup, and a user is no bucket.
            MetaKey::Bucket { .. } | MetaKey::User(_) => return Ok(None),
        };
        let Some(to) = doc.zonegroup else { return Ok(None) };
        let stored: Option<Bucket> = self
            .core
            .read(move |r| records::get(r, &keys::bucket(&tenant, &name)))
            .await?;
        Ok(stored.filter(|b| b.zonegroup != to).map(|b| (b, to)))
    }

    /// What `b` holds in this zone (objects and multipart uploads).
    pub async fn bucket_contents(&self, b: &Bucket) -> Result<BucketContents> {
        let b = b.clone();
        self.core.read(move |r| bucket_contents(r, &b)).await
    }

    /// Removes an entry: a user only while it owns no bucket (its data is never purged here); a bucket (by
    /// either key) only while it is empty.
    pub async fn remove(&self, key: &str) -> Result<()> {
        match MetaKey::parse(key)? {
            MetaKey::User(id) => {
                let user = self.core.users().info(&id).await?;
                let owned = self.core.buckets().list(&user.full_id()).await?;
                if !owned.is_empty() {
                    return Err(GatewayError::InvalidRequest(format!(
                        "user {id} still owns {} bucket(s) ({}); remove them first (metadata rm never removes data)",
                        owned.len(),
                        owned
                            .iter()
                            .map(|b| bucket_spec(&b.tenant, &b.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                self.core.users().remove(&id, false).await
            }
            MetaKey::Bucket { tenant, name } => self.core.buckets().remove(&tenant, &name, false).await,
            MetaKey::Instance { tenant, name, id } => {
                let b = self.core.buckets().get(&tenant, &name).await?;
                if b.bucket_id != id {
                    return Err(GatewayError::NoSuchBucket);
                }
                self.core.buckets().remove(&tenant, &name, false).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realm::ZoneGroupSpec;
    use crate::users::NewUser;
    use crate::Gateway;
    use meridian_model::VersioningStatus;
    use meridian_proto::rgw::{user_from_json, user_json};
    use serde_json::json;

    async fn gateway(dir: &tempfile::TempDir) -> Gateway {
        crate::test_support::gateway(dir.path()).await
    }

    async fn user(gw: &Gateway, uid: &str, access: &str) -> User {
        gw.users()
            .create(NewUser {
                uid: uid.into(),
                display_name: format!("User {uid}"),
                access_key: Some(access.into()),
                secret_key: Some(format!("{access}-secret")),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    use crate::test_support::body;

    fn conflict(r: Result<MetadataEntry>) -> String {
        match r {
            Err(GatewayError::Conflict(m)) => m,
            other => panic!("expected Conflict, got {other:?}"),
        }
    }

    fn invalid(r: Result<MetadataEntry>) -> String {
        match r {
            Err(GatewayError::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn times_are_rfc3339_with_microseconds() {
        let t = Timestamp(1_700_000_000_123_456_789);
        assert_eq!(format_time(t), "2023-11-14T22:13:20.123456Z");
        assert_eq!(
            parse_time("2023-11-14T22:13:20.123456Z"),
            Some(Timestamp(1_700_000_000_123_456_000))
        );
        assert_eq!(
            parse_time("2023-11-14T23:13:20.5+01:00"),
            Some(Timestamp(1_700_000_000_500_000_000))
        );
        assert_eq!(
            parse_time("2026-11-22T17:44:28Z").map(format_time).as_deref(),
            Some("2026-11-22T17:44:28.000000Z")
        );
        assert_eq!(format_time(Timestamp(0)), "1970-01-01T00:00:00.000000Z");
        // Leap day and a date after 2100.
        let leap = parse_time("2024-02-29T12:00:00.000001Z").unwrap();
        assert_eq!(format_time(leap), "2024-02-29T12:00:00.000001Z");
        assert_eq!(
            format_time(parse_time("2104-12-31T23:59:59.999999Z").unwrap()),
            "2104-12-31T23:59:59.999999Z"
        );
        for bad in [
            "",
            "yesterday",
            "2023-11-14 22:13:20",
            "2023-13-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2023-11-14T22:13:20.Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_parse_in_rgw_forms() {
        assert_eq!(MetaKey::parse("user:alice").unwrap(), MetaKey::User("alice".into()));
        assert_eq!(MetaKey::parse("user:t$alice").unwrap(), MetaKey::User("t$alice".into()));
        assert_eq!(
            MetaKey::parse("bucket:t/photos").unwrap(),
            MetaKey::Bucket {
                tenant: "t".into(),
                name: "photos".into()
            }
        );
        assert_eq!(
            MetaKey::parse("bucket.instance:photos:abc.1").unwrap(),
            MetaKey::Instance {
                tenant: String::new(),
                name: "photos".into(),
                id: "abc.1".into()
            }
        );
        for bad in [
            "alice",
            "user:",
            "bucket:",
            "bucket.instance:photos",
            "bucket.instance:photos:",
            "group:x",
        ] {
            match MetaKey::parse(bad) {
                Err(GatewayError::InvalidArgument(m)) => assert!(m.contains(KEY_FORMS), "{m}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn user_documents_read_back_tolerantly() {
        let u = user_from_json(&json!({"user_id": "t$bob", "display_name": "Bob"})).unwrap();
        assert_eq!((u.tenant.as_str(), u.uid.as_str(), u.max_buckets), ("t", "bob", 1000));
        assert!(u.keys.is_empty() && !u.suspended && !u.system);
        let u = user_from_json(&json!({
            "user_id": "bob", "display_name": "Bob", "suspended": 1, "system": "true", "max_buckets": 5,
            "keys": [{"user": "bob", "access_key": "AK1", "secret_key": "s1"}],
            "caps": [{"type": "users", "perm": "*"}, "buckets=read"],
        }))
        .unwrap();
        assert!(u.suspended && u.system);
        assert_eq!(u.max_buckets, 5);
        assert_eq!(u.keys[0].access_key, "AK1");
        assert_eq!(u.caps, vec!["users=*", "buckets=read"]);
        // What user_json prints reads back to the same user.
        let again = user_from_json(&user_json(&u)).unwrap();
        assert_eq!(
            (again.keys, again.caps, again.system, again.suspended),
            (u.keys, u.caps, true, true)
        );
        assert!(user_from_json(&json!({"display_name": "x"})).is_err());
        assert!(user_from_json(&json!({"user_id": "bob", "max_buckets": "many"})).is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn list_and_get_have_rgw_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(&dir).await;
        let alice = user(&gw, "alice", "AKALICE").await;
        let photos = gw.buckets().create(&alice, "photos", None).await.unwrap();

        assert_eq!(
            gw.metadata().sections().await,
            vec!["bucket", "bucket.instance", "user"]
        );
        assert_eq!(gw.metadata().list("user").await.unwrap(), vec!["alice"]);
        assert_eq!(gw.metadata().list("bucket").await.unwrap(), vec!["photos"]);
        assert_eq!(
            gw.metadata().list("bucket.instance").await.unwrap(),
            vec![format!("photos:{}", photos.bucket_id)]
        );
        match gw.metadata().list("buckets").await {
            Err(GatewayError::InvalidArgument(m)) => assert!(m.contains("bucket, bucket.instance, user"), "{m}"),
            other => panic!("{other:?}"),
        }

        let u = serde_json::to_value(gw.metadata().get("user:alice").await.unwrap()).unwrap();
        assert_eq!(u["key"], "user:alice");
        assert_eq!(u["ver"]["ver"], 1);
        assert_eq!(u["ver"]["tag"], alice.ver.tag.as_str());
        assert_eq!(u["ver"]["tag"].as_str().unwrap().len(), 24);
        assert_eq!(u["mtime"], format_time(alice.mtime).as_str());
        assert!(u["mtime"].as_str().unwrap().ends_with('Z'));
        assert_eq!(u["data"]["user_id"], "alice");
        assert_eq!(u["data"]["display_name"], "User alice");
        assert_eq!(u["data"]["keys"][0]["access_key"], "AKALICE");
        assert_eq!(u["data"]["attrs"], json!([]));
        assert_eq!(u["data"]["suspended"], 0);

        let b = serde_json::to_value(gw.metadata().get("bucket:photos").await.unwrap()).unwrap();
        assert_eq!(b["key"], "bucket:photos");
        assert_eq!(b["ver"]["tag"], photos.ver.tag.as_str());
        assert_eq!(b["data"]["bucket"]["name"], "photos");
        assert_eq!(b["data"]["bucket"]["bucket_id"], photos.bucket_id.as_str());
        assert_eq!(b["data"]["bucket"]["marker"], photos.bucket_id.as_str());
        assert_eq!(b["data"]["bucket"]["explicit_placement"]["index_pool"], "");
        assert_eq!(b["data"]["owner"], "alice");
        assert_eq!(b["data"]["linked"], "true");
        assert_eq!(b["data"]["has_bucket_info"], "false");
        assert_eq!(b["data"]["creation_time"], format_time(photos.creation_time).as_str());

        let key = format!("bucket.instance:photos:{}", photos.bucket_id);
        let i = serde_json::to_value(gw.metadata().get(&key).await.unwrap()).unwrap();
        assert_eq!(i["key"], key.as_str());
        let info = &i["data"]["bucket_info"];
        assert_eq!(info["bucket"]["bucket_id"], photos.bucket_id.as_str());
        assert_eq!(info["zonegroup"], gw.site().zonegroup_id.as_str());
        assert_eq!(info["placement_rule"], photos.placement_rule.as_str());
        assert_eq!(info["owner"], "alice");
        assert_eq!(info["flags"], 0);
        assert_eq!(info["has_instance_obj"], "true");
        assert_eq!(info["quota"]["max_objects"], -1);
        assert_eq!(i["data"]["attrs"], json!([]));

        // The entry reads back from its JSON unchanged.
        let entry = gw.metadata().get("bucket:photos").await.unwrap();
        let text = serde_json::to_string(&entry).unwrap();
        let back: MetadataEntry = serde_json::from_str(&text).unwrap();
        assert_eq!(back.ver, entry.ver);
        assert_eq!(format_time(back.mtime), format_time(entry.mtime));

        assert!(matches!(
            gw.metadata().get("user:nobody").await,
            Err(GatewayError::NoSuchUser(_))
        ));
        assert!(matches!(
            gw.metadata().get("bucket:nothing").await,
            Err(GatewayError::NoSuchBucket)
        ));
        assert!(matches!(
            gw.metadata().get("bucket.instance:photos:not-the-id").await,
            Err(GatewayError::NoSuchBucket)
        ));
        assert!(matches!(
            gw.metadata().get("photos").await,
            Err(GatewayError::InvalidArgument(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn checked_put_bumps_the_version_and_refuses_stale_documents() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(&dir).await;
        user(&gw, "alice", "AKALICE").await;
        let read = gw.metadata().get("user:alice").await.unwrap();
        let mut edited = read.clone();
        edited.data["display_name"] = json!("Alice Liddell");
        let stored = gw
            .metadata()
            .put("user:alice", edited.clone(), PutMode::Checked)
            .await
            .unwrap();
        assert_eq!(stored.ver.ver, 2);
        assert_eq!(stored.ver.tag, read.ver.tag);
        assert!(stored.mtime >= read.mtime);
        let info = gw.users().info("alice").await.unwrap();
        assert_eq!(info.display_name, "Alice Liddell");
        assert_eq!(info.ver.ver, 2);
        assert_eq!(info.created, gw.users().info("alice").await.unwrap().created);

        // The same document again was read at version 1: refused, naming both versions and what to do.
        let msg = conflict(gw.metadata().put("user:alice", edited.clone(), PutMode::Checked).await);
        assert!(msg.contains("user:alice is at version 2"), "{msg}");
        assert!(msg.contains("read at version 1"), "{msg}");
        assert!(msg.contains("meridian metadata get user:alice"), "{msg}");
        assert_eq!(gw.users().info("alice").await.unwrap().ver.ver, 2, "nothing changed");

        // A foreign tag (another incarnation) and a missing ver are refused too.
        let mut foreign = stored.clone();
        foreign.ver.tag = "_someoneelse".into();
        assert!(conflict(gw.metadata().put("user:alice", foreign, PutMode::Checked).await).contains("incarnation"));
        let mut bare = stored.clone();
        bare.ver = ObjVersion::default();
        assert!(conflict(gw.metadata().put("user:alice", bare, PutMode::Checked).await).contains("no \"ver\""));

        // A document of another key is refused.
        assert!(invalid(gw.metadata().put("user:bob", stored.clone(), PutMode::Checked).await).contains("user:alice"));

        // A put of a user that does not exist creates it (with a fresh version when none is given).
        let mut carol = stored.clone();
        carol.key = String::new();
        carol.ver = ObjVersion::default();
        carol.data = json!({"user_id": "carol", "display_name": "Carol",
                            "keys": [{"access_key": "AKCAROL", "secret_key": "carol-secret"}]});
        let created = gw.metadata().put("user:carol", carol, PutMode::Checked).await.unwrap();
        assert_eq!(created.ver.ver, 1);
        assert!(!created.ver.tag.is_empty());
        assert_eq!(gw.users().lookup_access_key("AKCAROL").await.unwrap().0.uid, "carol");

        // Buckets: same rules, one ver for both keys.
        let alice = gw.users().info("alice").await.unwrap();
        let photos = gw.buckets().create(&alice, "photos", None).await.unwrap();
        let b = gw.metadata().get("bucket:photos").await.unwrap();
        let ikey = format!("bucket.instance:photos:{}", photos.bucket_id);
        let mut inst = gw.metadata().get(&ikey).await.unwrap();
        inst.data["bucket_info"]["flags"] = json!(2);
        let after = gw.metadata().put(&ikey, inst.clone(), PutMode::Checked).await.unwrap();
        assert_eq!(after.ver.ver, 2);
        assert_eq!(
            gw.buckets().info("photos").await.unwrap().versioning,
            VersioningStatus::Enabled
        );
        let msg = conflict(gw.metadata().put("bucket:photos", b, PutMode::Checked).await);
        assert!(msg.contains("bucket:photos is at version 2"), "{msg}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sync_put_applies_newer_and_ignores_older() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(&dir).await;
        user(&gw, "alice", "AKALICE").await;
        let v1 = gw.metadata().get("user:alice").await.unwrap();

        let mut v5 = v1.clone();
        v5.ver.ver = 5;
        v5.mtime = parse_time("2030-01-02T03:04:05.000006Z").unwrap();
        v5.data["display_name"] = json!("From the master");
        let out = gw
            .metadata()
            .put("user:alice", v5.clone(), PutMode::Sync)
            .await
            .unwrap();
        assert_eq!(out.ver, v5.ver, "stored verbatim");
        assert_eq!(format_time(out.mtime), "2030-01-02T03:04:05.000006Z");
        assert_eq!(gw.users().info("alice").await.unwrap().display_name, "From the master");

        // Older and equal versions change nothing and answer with what is stored.
        for ver in [3, 5] {
            let mut stale = v1.clone();
            stale.ver.ver = ver;
            stale.data["display_name"] = json!("stale");
            let out = gw.metadata().put("user:alice", stale, PutMode::Sync).await.unwrap();
            assert_eq!(out.ver.ver, 5);
            assert_eq!(out.data["display_name"], "From the master");
        }
        assert_eq!(gw.users().info("alice").await.unwrap().display_name, "From the master");

        // A new incarnation (another tag) replaces the record even at a lower counter.
        let mut reborn = v1.clone();
        reborn.ver = ObjVersion {
            tag: "_reborn".into(),
            ver: 1,
        };
        reborn.data["display_name"] = json!("Reborn");
        gw.metadata().put("user:alice", reborn, PutMode::Sync).await.unwrap();
        assert_eq!(gw.users().info("alice").await.unwrap().display_name, "Reborn");

        // An absent bucket arrives: record, owner's list and zero stats are created; its zonegroup is kept
        // verbatim even though this zone does not know it (yet).
        let entry: MetadataEntry = serde_json::from_value(json!({
            "key": "bucket.instance:remote:zz.1",
            "ver": {"tag": "_remote", "ver": 3},
            "mtime": "2030-01-01T00:00:00.000000Z",
            "data": {"bucket_info": {"bucket": {"name": "remote", "bucket_id": "zz.1", "tenant": ""},
                     "owner": "alice", "zonegroup": "zg-elsewhere", "placement_rule": "default-placement",
                     "creation_time": "2029-12-31T00:00:00.000000Z", "flags": 0}}
        }))
        .unwrap();
        gw.metadata()
            .put("bucket.instance:remote:zz.1", entry, PutMode::Sync)
            .await
            .unwrap();
        let remote = gw.buckets().info("remote").await.unwrap();
        assert_eq!((remote.zonegroup.as_str(), remote.ver.ver), ("zg-elsewhere", 3));
        assert_eq!(format_time(remote.creation_time), "2029-12-31T00:00:00.000000Z");
        let owned: Vec<String> = gw
            .buckets()
            .list("alice")
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(owned, vec!["remote"]);
        assert_eq!(gw.buckets().stats(&remote).await.unwrap(), BucketStats::default());

        // A sync put without a version is refused.
        let mut bare = gw.metadata().get("bucket:remote").await.unwrap();
        bare.ver = ObjVersion::default();
        assert!(invalid(gw.metadata().put("bucket:remote", bare, PutMode::Sync).await).contains("ver"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn zonegroup_change_needs_an_empty_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(&dir).await;
        gw.realm().create_realm("gold", true).await.unwrap();
        let zg2 = gw
            .realm()
            .create_zonegroup("zg2", ZoneGroupSpec::default())
            .await
            .unwrap();
        let alice = user(&gw, "alice", "AKALICE").await;
        let full = gw.buckets().create(&alice, "full", None).await.unwrap();
        let empty = gw.buckets().create(&alice, "empty", None).await.unwrap();
        let pending = gw.buckets().create(&alice, "pending", None).await.unwrap();
        gw.objects()
            .put(&full, "a", body(b"1"), Default::default())
            .await
            .unwrap();
        gw.objects()
            .put(&full, "b", body(b"2"), Default::default())
            .await
            .unwrap();
        gw.objects()
            .put(&full, "c", body(b"3"), Default::default())
            .await
            .unwrap();
        gw.objects()
            .create_upload(&pending, "big", Default::default())
            .await
            .unwrap();
        let home = gw.site().zonegroup_id.clone();

        let moved = |b: &Bucket, zg: &str| {
            let key = format!("bucket.instance:{}:{}", b.name, b.bucket_id);
            let gw = gw.clone();
            let zg = zg.to_string();
            async move {
                let mut e = gw.metadata().get(&key).await.unwrap();
                e.data["bucket_info"]["zonegroup"] = json!(zg);
                gw.metadata().put(&key, e, PutMode::Checked).await
            }
        };
        let msg = conflict(moved(&full, &zg2.id).await);
        assert!(
            msg.contains(&format!("bucket full holds 3 objects in zonegroup {home}")),
            "{msg}"
        );
        assert!(msg.contains("meridian bucket move --bucket"), "{msg}");
        let msg = conflict(moved(&pending, &zg2.id).await);
        assert!(msg.contains("1 multipart upload"), "{msg}");
        // Sync is held to the same rule: it never strands data either.
        let mut e = gw
            .metadata()
            .get(&format!("bucket.instance:full:{}", full.bucket_id))
            .await
            .unwrap();
        e.ver.ver += 1;
        e.data["bucket_info"]["zonegroup"] = json!(zg2.id);
        assert!(matches!(
            gw.metadata().put(&e.key.clone(), e, PutMode::Sync).await,
            Err(GatewayError::Conflict(_))
        ));
        assert_eq!(gw.buckets().info("full").await.unwrap().zonegroup, home);

        // An unknown zonegroup is refused for an operator's put.
        assert!(invalid(moved(&empty, "no-such-zonegroup").await).contains("not known"));

        // An empty bucket moves.
        let out = moved(&empty, &zg2.id).await.unwrap();
        assert_eq!(out.data["bucket_info"]["zonegroup"], zg2.id.as_str());
        assert_eq!(gw.buckets().info("empty").await.unwrap().zonegroup, zg2.id);
        // Other fields may change with objects present.
        let key = format!("bucket.instance:full:{}", full.bucket_id);
        let mut e = gw.metadata().get(&key).await.unwrap();
        e.data["bucket_info"]["flags"] = json!(6);
        gw.metadata().put(&key, e, PutMode::Checked).await.unwrap();
        assert_eq!(
            gw.buckets().info("full").await.unwrap().versioning,
            VersioningStatus::Suspended
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn bucket_puts_keep_owner_index_and_instance_id() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(&dir).await;
        let alice = user(&gw, "alice", "AKALICE").await;
        user(&gw, "bob", "AKBOB").await;
        let photos = gw.buckets().create(&alice, "photos", None).await.unwrap();

        let mut e = gw.metadata().get("bucket:photos").await.unwrap();
        e.data["owner"] = json!("bob");
        gw.metadata().put("bucket:photos", e, PutMode::Checked).await.unwrap();
        assert!(gw.buckets().list("alice").await.unwrap().is_empty());
        let bobs: Vec<String> = gw
            .buckets()
            .list("bob")
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(bobs, vec!["photos"]);

        // An owner that does not exist is refused for an operator.
        let mut e = gw.metadata().get("bucket:photos").await.unwrap();
        e.data["owner"] = json!("nobody");
        assert!(matches!(
            gw.metadata().put("bucket:photos", e, PutMode::Checked).await,
            Err(GatewayError::NoSuchUser(_))
        ));

        // The instance id never changes.
        let mut e = gw.metadata().get("bucket:photos").await.unwrap();
        e.data["bucket"]["bucket_id"] = json!("other-id");
        e.data["bucket"]["marker"] = json!("other-id");
        let msg = invalid(gw.metadata().put("bucket:photos", e, PutMode::Checked).await);
        assert!(msg.contains("instance ids never change"), "{msg}");
        assert_eq!(gw.buckets().info("photos").await.unwrap().bucket_id, photos.bucket_id);

        // A document naming another bucket is refused.
        let mut e = gw.metadata().get("bucket:photos").await.unwrap();
        e.key = String::new();
        e.data["bucket"]["name"] = json!("videos");
        assert!(invalid(gw.metadata().put("bucket:photos", e, PutMode::Checked).await).contains("videos"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn user_put_keeps_the_access_key_index() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(&dir).await;
        user(&gw, "alice", "AKALICE").await;
        user(&gw, "bob", "AKBOB").await;

        let mut e = gw.metadata().get("user:alice").await.unwrap();
        e.data["keys"] = json!([{"user": "alice", "access_key": "AKALICE2", "secret_key": "new-secret"}]);
        gw.metadata().put("user:alice", e, PutMode::Checked).await.unwrap();
        let (owner, secret) = gw.users().lookup_access_key("AKALICE2").await.unwrap();
        assert_eq!((owner.uid.as_str(), secret.as_str()), ("alice", "new-secret"));
        assert!(matches!(
            gw.users().lookup_access_key("AKALICE").await,
            Err(GatewayError::NoSuchKeyId(_))
        ));

        // A key of another user is refused, and nothing changes.
        let mut e = gw.metadata().get("user:alice").await.unwrap();
        e.data["keys"] = json!([{"access_key": "AKBOB", "secret_key": "stolen-secret"}]);
        assert!(matches!(
            gw.metadata().put("user:alice", e, PutMode::Checked).await,
            Err(GatewayError::KeyExists(k)) if k == "AKBOB"
        ));
        assert_eq!(gw.users().lookup_access_key("AKBOB").await.unwrap().0.uid, "bob");
        assert_eq!(gw.users().lookup_access_key("AKALICE2").await.unwrap().0.uid, "alice");

        // The freed key can be taken by another user.
        let mut e = gw.metadata().get("user:bob").await.unwrap();
        e.data["keys"] = json!([{"access_key": "AKBOB", "secret_key": "bob-secret-1"},
                                {"access_key": "AKALICE", "secret_key": "bob-secret-2"}]);
        gw.metadata().put("user:bob", e, PutMode::Checked).await.unwrap();
        assert_eq!(gw.users().lookup_access_key("AKALICE").await.unwrap().0.uid, "bob");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn remove_refuses_users_with_buckets_and_full_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let gw = gateway(&dir).await;
        let alice = user(&gw, "alice", "AKALICE").await;
        let b = gw.buckets().create(&alice, "photos", None).await.unwrap();
        gw.objects().put(&b, "k", body(b"x"), Default::default()).await.unwrap();
        assert!(
            matches!(gw.metadata().remove("user:alice").await, Err(GatewayError::InvalidRequest(m)) if m.contains("photos"))
        );
        assert!(matches!(
            gw.metadata().remove("bucket:photos").await,
            Err(GatewayError::BucketNotEmpty)
        ));
        assert!(matches!(
            gw.metadata().remove("bucket.instance:photos:wrong").await,
            Err(GatewayError::NoSuchBucket)
        ));
        gw.objects().delete(&b, "k").await.unwrap();
        gw.metadata()
            .remove(&format!("bucket.instance:photos:{}", b.bucket_id))
            .await
            .unwrap();
        assert!(matches!(
            gw.metadata().get("bucket:photos").await,
            Err(GatewayError::NoSuchBucket)
        ));
        gw.metadata().remove("user:alice").await.unwrap();
        assert!(matches!(
            gw.users().lookup_access_key("AKALICE").await,
            Err(GatewayError::NoSuchKeyId(_))
        ));
        assert!(gw.metadata().list("user").await.unwrap().is_empty());
    }
}
