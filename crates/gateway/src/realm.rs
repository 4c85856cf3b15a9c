//! Realm configuration: realms, zonegroups and zones as stored records, the staging period built from them,
//! its commit on the metadata master (RGW's rules and checks), and accepting periods that the master pushes
//! or a zone pulls. Every change that can alter what this gateway serves reloads the site view.

use crate::error::{GatewayError, Result};
use crate::site::Site;
use crate::users::{generate_access_key, generate_secret_key};
use crate::{keys, records, Gateway};
use meridian_model::{
    AccessKey, Period, PeriodMap, PlacementTarget, Realm, ZoneGroup, ZoneGroupZone, ZoneParams, DEFAULT_PLACEMENT,
};
use meridian_store::{ReadOps, WriteTxn};
use serde::de::DeserializeOwned;
use serde::Serialize;

const REALM: &str = "realm";
const ZONEGROUP: &str = "zonegroup";
const ZONE: &str = "zone";
const STAGING: &str = "staging";
const DEFAULT: &str = "default";
const LOCAL_ADMIN: &str = "local-admin";

/// Fields of `zonegroup create|modify`; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ZoneGroupSpec {
    pub api_name: Option<String>,
    pub endpoints: Option<Vec<String>>,
    pub hostnames: Option<Vec<String>>,
    pub master: Option<bool>,
    pub default: bool,
    pub realm: Option<String>,
}

/// Fields of `zone create|modify`; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ZoneSpec {
    pub zonegroup: Option<String>,
    pub endpoints: Option<Vec<String>>,
    pub master: Option<bool>,
    pub default: bool,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub read_only: Option<bool>,
    pub realm: Option<String>,
}

/// `realm list`, `zonegroup list`, `zone list`: names and the default's id, as radosgw-admin prints them.
#[derive(Debug, Clone, Serialize)]
pub struct NameList {
    pub default_info: String,
    pub names: Vec<String>,
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn get_cfg<T: DeserializeOwned>(r: &dyn ReadOps, kind: &str, id: &str) -> Result<Option<T>> {
    records::get(r, &keys::config(kind, id))
}

fn put_cfg<T: Serialize>(w: &mut dyn WriteTxn, kind: &str, id: &str, value: &T) -> Result<()> {
    records::put(w, &keys::config(kind, id), value)
}

fn all_cfg<T: DeserializeOwned>(r: &dyn ReadOps, kind: &str) -> Result<Vec<T>> {
    Ok(records::scan_all(r, &keys::config_prefix(kind))?
        .into_iter()
        .map(|(_, v)| v)
        .collect())
}

fn default_id(r: &dyn ReadOps, kind: &str) -> Result<Option<String>> {
    get_cfg(r, DEFAULT, kind)
}

fn set_default(w: &mut dyn WriteTxn, kind: &str, id: &str) -> Result<()> {
    put_cfg(w, DEFAULT, kind, &id.to_string())
}

/// Realms, zonegroups and zones: records found by name or id, with names unique per kind.
trait ConfigRecord: DeserializeOwned {
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn name(&self) -> &str;
}

macro_rules! config_record {
    ($ty:ty, $kind:expr) => {
        impl ConfigRecord for $ty {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
        }
    };
}
config_record!(Realm, REALM);
config_record!(ZoneGroup, ZONEGROUP);
config_record!(ZoneParams, ZONE);

fn by_name<T: ConfigRecord>(r: &dyn ReadOps, name: &str) -> Result<T> {
    all_cfg::<T>(r, T::KIND)?
        .into_iter()
        .find(|x| x.name() == name || x.id() == name)
        .ok_or_else(|| {
            GatewayError::NotFound(format!(
                "{} {name:?} does not exist (see `meridian {} list`)",
                T::KIND,
                T::KIND
            ))
        })
}

fn ensure_name_free<T: ConfigRecord>(r: &dyn ReadOps, name: &str) -> Result<()> {
    check_name(T::KIND, name)?;
    if all_cfg::<T>(r, T::KIND)?.iter().any(|x| x.name() == name) {
        return Err(GatewayError::Conflict(format!("{} {name:?} already exists", T::KIND)));
    }
    Ok(())
}

fn realm_by_name(r: &dyn ReadOps, name: &str) -> Result<Realm> {
    by_name(r, name)
}

fn zonegroup_by_name(r: &dyn ReadOps, name: &str) -> Result<ZoneGroup> {
    by_name(r, name)
}

fn zone_by_name(r: &dyn ReadOps, name: &str) -> Result<ZoneParams> {
    by_name(r, name)
}

/// The named realm, or the default one.
fn realm_or_default(r: &dyn ReadOps, name: Option<&str>) -> Result<Realm> {
    match name {
        Some(n) => realm_by_name(r, n),
        None => {
            let id = default_id(r, REALM)?.ok_or_else(|| {
                GatewayError::NotFound(
                    "no default realm: create one with `meridian realm create --rgw-realm NAME --default`, or pull \
                     one from the master zone with `meridian realm pull --url URL --access-key KEY --secret SECRET`"
                        .into(),
                )
            })?;
            get_cfg(r, REALM, &id)?
                .ok_or_else(|| GatewayError::NotFound(format!("the default realm {id} does not exist")))
        }
    }
}

fn zone_or_default(r: &dyn ReadOps, name: Option<&str>) -> Result<ZoneParams> {
    match name {
        Some(n) => zone_by_name(r, n),
        None => {
            let id = default_id(r, ZONE)?.ok_or_else(|| {
                GatewayError::NotFound("this data directory has no default zone (see `meridian zone list`)".into())
            })?;
            get_cfg(r, ZONE, &id)?.ok_or_else(|| GatewayError::NotFound(format!("the default zone {id} is gone")))
        }
    }
}

/// The zonegroup record listing `zone_id`.
fn zonegroup_of_zone(r: &dyn ReadOps, zone_id: &str) -> Result<Option<ZoneGroup>> {
    Ok(all_cfg::<ZoneGroup>(r, ZONEGROUP)?
        .into_iter()
        .find(|zg| zg.zone(zone_id).is_some()))
}

/// The latest epoch of a period.
fn latest_period(r: &dyn ReadOps, period_id: &str) -> Result<Option<Period>> {
    let prefix = keys::period_prefix(period_id);
    let end = meridian_store::meta::prefix_end(&prefix);
    match r.scan_rev(&prefix, &end, 1)?.into_iter().next() {
        Some((k, v)) => Ok(Some(records::decode(&k, &v)?)),
        None => Ok(None),
    }
}

fn store_period(w: &mut dyn WriteTxn, period: &Period) -> Result<()> {
    records::put(w, &keys::period_epoch(&period.id, period.epoch), period)
}

fn check_name(kind: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 128 || name.chars().any(|c| c.is_control() || c == '/' || c == ':') {
        return Err(GatewayError::InvalidArgument(format!(
            "invalid {kind} name {name:?}: 1-128 characters, no '/', ':' or control characters"
        )));
    }
    Ok(())
}

fn check_endpoints(endpoints: &[String]) -> Result<()> {
    for e in endpoints {
        if !(e.starts_with("http://") || e.starts_with("https://")) || e.len() < 9 {
            return Err(GatewayError::InvalidArgument(format!(
                "invalid endpoint {e:?}: use a URL such as http://rgw1.example.com:7480"
            )));
        }
    }
    Ok(())
}

/// A data directory starts as RGW does: zonegroup `default` holding zone `default`, outside any realm, with
/// a fresh system key; plus the key the local CLI uses to reach the running server. Returns whether it
/// created them.
fn bootstrap(w: &mut dyn WriteTxn) -> Result<bool> {
    if !all_cfg::<ZoneParams>(w, ZONE)?.is_empty() {
        return Ok(false);
    }
    let zone = ZoneParams {
        id: new_uuid(),
        name: "default".into(),
        system_key: AccessKey {
            access_key: generate_access_key(),
            secret_key: generate_secret_key(),
        },
        placement_pools: vec![],
        realm_id: String::new(),
    };
    let mut zg = ZoneGroup::new(&new_uuid(), "default");
    zg.is_master = true;
    zg.master_zone = zone.id.clone();
    zg.zones.push(ZoneGroupZone::new(&zone.id, &zone.name, vec![]));
    put_cfg(w, ZONE, &zone.id, &zone)?;
    put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
    set_default(w, ZONE, &zone.id)?;
    set_default(w, ZONEGROUP, &zg.id)?;
    if get_cfg::<AccessKey>(w, LOCAL_ADMIN, "key")?.is_none() {
        let key = AccessKey {
            access_key: generate_access_key(),
            secret_key: generate_secret_key(),
        };
        put_cfg(w, LOCAL_ADMIN, "key", &key)?;
    }
    Ok(true)
}

/// Derives what a gateway running as `zone_selector` (or the default zone) serves.
pub(crate) fn load_site(r: &dyn ReadOps, zone_selector: Option<&str>) -> Result<Site> {
    let zone = zone_or_default(r, zone_selector)?;
    let realm = if zone.realm_id.is_empty() {
        None
    } else {
        get_cfg::<Realm>(r, REALM, &zone.realm_id)?
    };
    let period = match &realm {
        Some(realm) if !realm.current_period.is_empty() => latest_period(r, &realm.current_period)?,
        _ => None,
    };
    let from_period = period.as_ref().and_then(|p| p.zonegroup_of_zone(&zone.id)).cloned();
    let zonegroup = match from_period {
        Some(zg) => zg,
        None => zonegroup_of_zone(r, &zone.id)?.ok_or_else(|| {
            GatewayError::NotFound(format!(
                "zone {:?} belongs to no zonegroup: add it with `meridian zone modify --rgw-zone {} --rgw-zonegroup NAME`",
                zone.name, zone.name
            ))
        })?,
    };
    let mut site = Site::new(&zone, &zonegroup);
    site.zonegroups = match &period {
        Some(p) if p.zonegroup_of_zone(&zone.id).is_some() => p.period_map.zonegroups.clone(),
        _ => {
            let mut all: Vec<ZoneGroup> = all_cfg::<ZoneGroup>(r, ZONEGROUP)?
                .into_iter()
                .filter(|zg| zg.realm_id == zone.realm_id)
                .collect();
            if !all.iter().any(|zg| zg.id == zonegroup.id) {
                all.push(zonegroup.clone());
            }
            all
        }
    };
    site.realm = realm;
    site.period = period;
    Ok(site)
}

/// Rewrites the local zonegroup records from a period's map, so `zonegroup get` shows what is current and
/// the next staging period starts from it. Zones new to this data directory get params without keys.
fn adopt_period_map(w: &mut dyn WriteTxn, period: &Period) -> Result<()> {
    for zg in &period.period_map.zonegroups {
        let mut zg = zg.clone();
        zg.realm_id = period.realm_id.clone();
        put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
    }
    Ok(())
}

/// Builds the staging period from the realm's zonegroup records, on top of the current period.
fn build_staging(r: &dyn ReadOps, realm: &Realm) -> Result<Period> {
    let current = latest_period(r, &realm.current_period)?;
    let zonegroups: Vec<ZoneGroup> = all_cfg::<ZoneGroup>(r, ZONEGROUP)?
        .into_iter()
        .filter(|zg| zg.realm_id == realm.id)
        .collect();
    let masters: Vec<&ZoneGroup> = zonegroups.iter().filter(|zg| zg.is_master).collect();
    if masters.len() > 1 {
        return Err(GatewayError::Conflict(format!(
            "realm {} has {} master zonegroups ({}); keep one with `meridian zonegroup modify --rgw-zonegroup NAME --master=false`",
            realm.name,
            masters.len(),
            masters.iter().map(|z| z.name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let (master_zonegroup, master_zone) = masters
        .first()
        .map(|zg| (zg.id.clone(), zg.master_zone.clone()))
        .unwrap_or_default();
    let id = Period::staging_id(&realm.id);
    // A staging period records the epoch of the period it was built on, so a commit can tell that the
    // sender missed a later epoch of the same period (RGW only compares period ids).
    let base_epoch = current.as_ref().map_or(0, |p| p.epoch);
    Ok(Period {
        id: id.clone(),
        epoch: base_epoch,
        predecessor_uuid: realm.current_period.clone(),
        sync_status: vec![],
        period_map: PeriodMap {
            id,
            zonegroups,
            short_zone_ids: vec![],
        },
        master_zonegroup,
        master_zone,
        period_config: current.map(|p| p.period_config).unwrap_or_default(),
        realm_id: realm.id.clone(),
        realm_name: realm.name.clone(),
        realm_epoch: realm.epoch + 1,
    })
}

/// RGW's commit rules, run on the metadata master: the staging period must follow the current one; the same
/// master keeps the period id and bumps its epoch, a new master starts a new period (predecessor recorded).
fn commit(w: &mut dyn WriteTxn, local_zone: &str, staging: &Period) -> Result<Period> {
    let mut realm: Realm = get_cfg(w, REALM, &staging.realm_id)?.ok_or_else(|| {
        GatewayError::NotFound(format!(
            "the period is for realm {} which this zone does not have",
            staging.realm_id
        ))
    })?;
    if staging.master_zone.is_empty() {
        return Err(GatewayError::Conflict(
            "the staging period has no metadata master zone: create or modify one zone with --master in a \
             zonegroup created or modified with --master, then run `meridian period update --commit`"
                .into(),
        ));
    }
    if staging.master_zone != local_zone {
        return Err(GatewayError::Conflict(format!(
            "cannot commit a period whose master zone is {} on zone {local_zone}: only the metadata master commits",
            staging.master_zone
        )));
    }
    if staging
        .period_map
        .zonegroups
        .iter()
        .all(|zg| zg.zone(local_zone).is_none())
    {
        return Err(GatewayError::Conflict(format!(
            "the master zone {local_zone} is in no zonegroup of the staging period"
        )));
    }
    let current = latest_period(w, &realm.current_period)?;
    if staging.predecessor_uuid != realm.current_period {
        return Err(GatewayError::Conflict(format!(
            "the staging period was built on period {:?}, but the current period of realm {} is {:?}: the side that \
             sent it is behind; run `meridian period pull --url <master endpoint>` there, then `meridian period \
             update --commit` again",
            staging.predecessor_uuid, realm.name, realm.current_period
        )));
    }
    if let Some(c) = current
        .as_ref()
        .filter(|c| staging.epoch != 0 && c.epoch != staging.epoch)
    {
        return Err(GatewayError::Conflict(format!(
            "the staging period was built on epoch {} of period {}, but the master is at epoch {}: the side that \
             sent it is behind; run `meridian period pull --url <master endpoint>` there, then `meridian period \
             update --commit` again",
            staging.epoch, c.id, c.epoch
        )));
    }
    if staging.realm_epoch != realm.epoch + 1 {
        return Err(GatewayError::Conflict(format!(
            "the staging period has realm epoch {} but the realm is at epoch {} (expected {}): the side that sent \
             it is behind; run `meridian period pull --url <master endpoint>`, then `meridian period update --commit`",
            staging.realm_epoch,
            realm.epoch,
            realm.epoch + 1
        )));
    }
    let mut period = staging.clone();
    let same_master = current
        .as_ref()
        .is_some_and(|c| !c.master_zone.is_empty() && c.master_zone == staging.master_zone);
    match (&current, same_master) {
        (Some(c), true) => {
            period.id = c.id.clone();
            period.epoch = c.epoch + 1;
            period.predecessor_uuid = c.predecessor_uuid.clone();
            period.realm_epoch = c.realm_epoch;
        }
        _ => {
            period.id = new_uuid();
            period.epoch = 1;
            period.predecessor_uuid = realm.current_period.clone();
            period.realm_epoch = realm.epoch + 1;
            realm.current_period = period.id.clone();
            realm.epoch = period.realm_epoch;
        }
    }
    period.period_map.id = period.id.clone();
    period.period_map.short_zone_ids = period
        .period_map
        .zonegroups
        .iter()
        .flat_map(|zg| zg.zones.iter())
        .map(|z| meridian_model::topology::ShortZoneId {
            key: z.id.clone(),
            val: short_zone_id(&z.id),
        })
        .collect();
    store_period(w, &period)?;
    put_cfg(w, REALM, &realm.id, &realm)?;
    adopt_period_map(w, &period)?;
    w.delete(&keys::config(STAGING, &realm.id))?;
    Ok(period)
}

/// RGW's short zone id: a 32-bit hash of the zone id (FNV-1a here), stable across zones.
fn short_zone_id(zone_id: &str) -> u32 {
    zone_id
        .bytes()
        .fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// What accepting a period from the master did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// It was newer: stored and now current.
    Updated,
    /// This zone already had it.
    AlreadyCurrent,
}

fn accept(w: &mut dyn WriteTxn, period: &Period) -> Result<Accepted> {
    if period.is_staging() {
        return Err(GatewayError::InvalidArgument(
            "a staging period cannot be made current; it must be committed on the master zone".into(),
        ));
    }
    let mut realm: Realm = get_cfg(w, REALM, &period.realm_id)?.ok_or_else(|| {
        GatewayError::NotFound(format!(
            "period {} is for realm {} which this zone does not have: run `meridian realm pull` first",
            period.id, period.realm_id
        ))
    })?;
    if let Some(current) = latest_period(w, &realm.current_period)? {
        if current.id == period.id && current.epoch == period.epoch {
            return Ok(Accepted::AlreadyCurrent);
        }
        if !current.is_older_than(period) {
            return Err(GatewayError::Conflict(format!(
                "period {} epoch {} (realm epoch {}) is not newer than this zone's current period {} epoch {} \
                 (realm epoch {}): the sender is behind; it should run `meridian period pull --url <master endpoint>`",
                period.id, period.epoch, period.realm_epoch, current.id, current.epoch, current.realm_epoch
            )));
        }
    }
    store_period(w, period)?;
    realm.current_period = period.id.clone();
    realm.epoch = period.realm_epoch;
    realm.name = period.realm_name.clone();
    put_cfg(w, REALM, &realm.id, &realm)?;
    adopt_period_map(w, period)?;
    Ok(Accepted::Updated)
}

fn list_names<T: DeserializeOwned>(r: &dyn ReadOps, kind: &str, name: impl Fn(&T) -> String) -> Result<NameList> {
    Ok(NameList {
        default_info: default_id(r, kind)?.unwrap_or_default(),
        names: all_cfg::<T>(r, kind)?.iter().map(name).collect(),
    })
}

impl Gateway {
    /// Creates the bootstrap zone on first use; returns whether it did.
    pub(crate) fn bootstrap_config(meta: &dyn meridian_store::MetaStore) -> Result<bool> {
        let mut txn = meta.begin()?;
        let created = bootstrap(&mut *txn)?;
        if created {
            txn.commit()?;
        }
        Ok(created)
    }

    /// Re-reads the configuration and swaps the site view (a new period takes effect without a restart).
    pub async fn reload_site(&self) -> Result<()> {
        let selector = self.zone_selector.clone();
        let site = self.read(move |r| load_site(r, selector.as_deref())).await?;
        let changed = {
            let old = self.site();
            old.period.as_ref().map(|p| (&p.id, p.epoch)) != site.period.as_ref().map(|p| (&p.id, p.epoch))
        };
        if changed {
            if let Some(p) = &site.period {
                tracing::info!(period = %p.id, epoch = p.epoch, zone = %site.zone_name, "now serving period");
            }
        }
        self.set_site(site);
        Ok(())
    }

    /// The key the local CLI signs with to reach this data directory's running server.
    pub async fn local_admin_key(&self) -> Result<AccessKey> {
        self.read(|r| {
            get_cfg(r, LOCAL_ADMIN, "key")?
                .ok_or_else(|| GatewayError::NotFound("this data directory has no local admin key".into()))
        })
        .await
    }

    // ---- realms ----

    pub async fn realm_create(&self, name: &str, make_default: bool) -> Result<Realm> {
        check_name("realm", name)?;
        let name = name.to_string();
        self.write(move |w| {
            ensure_name_free::<Realm>(w, &name)?;
            let mut realm = Realm {
                id: new_uuid(),
                name,
                current_period: String::new(),
                epoch: 1,
            };
            let period = Period {
                id: new_uuid(),
                epoch: 1,
                predecessor_uuid: String::new(),
                sync_status: vec![],
                period_map: PeriodMap::default(),
                master_zonegroup: String::new(),
                master_zone: String::new(),
                period_config: serde_json::Value::Null,
                realm_id: realm.id.clone(),
                realm_name: realm.name.clone(),
                realm_epoch: 1,
            };
            realm.current_period = period.id.clone();
            store_period(w, &period)?;
            put_cfg(w, REALM, &realm.id, &realm)?;
            if make_default || default_id(w, REALM)?.is_none() {
                set_default(w, REALM, &realm.id)?;
            }
            Ok(realm)
        })
        .await
    }

    pub async fn realm_get(&self, name: Option<&str>) -> Result<Realm> {
        let name = name.map(str::to_string);
        self.read(move |r| realm_or_default(r, name.as_deref())).await
    }

    pub async fn realm_list(&self) -> Result<NameList> {
        self.read(|r| list_names::<Realm>(r, REALM, |x| x.name.clone())).await
    }

    pub async fn realm_rename(&self, name: &str, new_name: &str) -> Result<Realm> {
        check_name("realm", new_name)?;
        let (name, new_name) = (name.to_string(), new_name.to_string());
        self.write(move |w| {
            ensure_name_free::<Realm>(w, &new_name)?;
            let mut realm = realm_by_name(w, &name)?;
            realm.name = new_name;
            put_cfg(w, REALM, &realm.id, &realm)?;
            Ok(realm)
        })
        .await
    }

    pub async fn realm_delete(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        let local_zone = self.site().zone_id.clone();
        self.write(move |w| {
            let realm = realm_by_name(w, &name)?;
            let zone: Option<ZoneParams> = get_cfg(w, ZONE, &local_zone)?;
            if zone.is_some_and(|z| z.realm_id == realm.id) {
                return Err(GatewayError::Conflict(format!(
                    "realm {name:?} holds this data directory's zone; delete or move that zone first"
                )));
            }
            w.delete(&keys::config(REALM, &realm.id))?;
            w.delete(&keys::config(STAGING, &realm.id))?;
            if default_id(w, REALM)?.as_deref() == Some(realm.id.as_str()) {
                w.delete(&keys::config(DEFAULT, REALM))?;
            }
            Ok(())
        })
        .await
    }

    pub async fn realm_set_default(&self, name: &str) -> Result<Realm> {
        let name = name.to_string();
        self.write(move |w| {
            let realm = realm_by_name(w, &name)?;
            set_default(w, REALM, &realm.id)?;
            Ok(realm)
        })
        .await
    }

    /// `realm pull`: stores a realm fetched from its master zone and makes the fetched period current.
    pub async fn realm_adopt(&self, realm: Realm, period: Period) -> Result<Realm> {
        if period.realm_id != realm.id {
            return Err(GatewayError::InvalidArgument(format!(
                "the master sent period {} of realm {}, not of realm {}",
                period.id, period.realm_id, realm.id
            )));
        }
        let out = self
            .write(move |w| {
                let mut local: Realm = get_cfg(w, REALM, &realm.id)?.unwrap_or(Realm {
                    id: realm.id.clone(),
                    name: realm.name.clone(),
                    current_period: String::new(),
                    epoch: 0,
                });
                local.name = realm.name.clone();
                put_cfg(w, REALM, &local.id, &local)?;
                match accept(w, &period) {
                    Ok(_) => {}
                    Err(GatewayError::Conflict(_)) => {} // already has a newer period
                    Err(e) => return Err(e),
                }
                if default_id(w, REALM)?.is_none() {
                    set_default(w, REALM, &local.id)?;
                }
                get_cfg::<Realm>(w, REALM, &local.id)?
                    .ok_or_else(|| GatewayError::Internal("realm vanished while being stored".into()))
            })
            .await?;
        self.reload_site().await?;
        Ok(out)
    }

    // ---- zonegroups ----

    pub async fn zonegroup_create(&self, name: &str, spec: ZoneGroupSpec) -> Result<ZoneGroup> {
        check_name("zonegroup", name)?;
        check_endpoints(spec.endpoints.as_deref().unwrap_or_default())?;
        let name = name.to_string();
        let zg = self
            .write(move |w| {
                ensure_name_free::<ZoneGroup>(w, &name)?;
                let realm = realm_or_default(w, spec.realm.as_deref())?;
                let mut zg = ZoneGroup::new(&new_uuid(), &name);
                zg.realm_id = realm.id.clone();
                apply_zonegroup_spec(w, &mut zg, &spec)?;
                put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
                if spec.default {
                    set_default(w, ZONEGROUP, &zg.id)?;
                }
                Ok(zg)
            })
            .await?;
        Ok(zg)
    }

    pub async fn zonegroup_modify(&self, name: &str, spec: ZoneGroupSpec) -> Result<ZoneGroup> {
        check_endpoints(spec.endpoints.as_deref().unwrap_or_default())?;
        let name = name.to_string();
        self.write(move |w| {
            let mut zg = zonegroup_by_name(w, &name)?;
            if let Some(realm) = &spec.realm {
                zg.realm_id = realm_by_name(w, realm)?.id;
            }
            apply_zonegroup_spec(w, &mut zg, &spec)?;
            put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
            if spec.default {
                set_default(w, ZONEGROUP, &zg.id)?;
            }
            Ok(zg)
        })
        .await
    }

    /// The named zonegroup; without a name, the one this gateway serves.
    pub async fn zonegroup_get(&self, name: Option<&str>) -> Result<ZoneGroup> {
        match name {
            Some(n) => {
                let n = n.to_string();
                self.read(move |r| zonegroup_by_name(r, &n)).await
            }
            None => {
                let site = self.site();
                let id = site.zonegroup_id.clone();
                self.read(move |r| {
                    get_cfg(r, ZONEGROUP, &id)?
                        .ok_or_else(|| GatewayError::NotFound(format!("zonegroup {id} does not exist")))
                })
                .await
            }
        }
    }

    pub async fn zonegroup_list(&self) -> Result<NameList> {
        self.read(|r| list_names::<ZoneGroup>(r, ZONEGROUP, |x| x.name.clone()))
            .await
    }

    pub async fn zonegroup_rename(&self, name: &str, new_name: &str) -> Result<ZoneGroup> {
        check_name("zonegroup", new_name)?;
        let (name, new_name) = (name.to_string(), new_name.to_string());
        self.write(move |w| {
            ensure_name_free::<ZoneGroup>(w, &new_name)?;
            let mut zg = zonegroup_by_name(w, &name)?;
            // RGW keeps api_name when renaming, but the bootstrap zonegroup's api_name is just its name.
            if zg.api_name == zg.name {
                zg.api_name = new_name.clone();
            }
            zg.name = new_name;
            put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
            Ok(zg)
        })
        .await
    }

    pub async fn zonegroup_delete(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        let local_zone = self.site().zone_id.clone();
        self.write(move |w| {
            let zg = zonegroup_by_name(w, &name)?;
            if zg.zone(&local_zone).is_some() {
                return Err(GatewayError::Conflict(format!(
                    "zonegroup {name:?} holds this data directory's zone; move or delete that zone first"
                )));
            }
            let buckets = records::scan_all::<meridian_model::Bucket>(w, keys::BUCKET.as_bytes())?
                .into_iter()
                .filter(|(_, b)| b.zonegroup == zg.id)
                .count();
            if buckets > 0 {
                return Err(GatewayError::Conflict(format!(
                    "{buckets} bucket(s) live in zonegroup {name:?}; remove them first"
                )));
            }
            w.delete(&keys::config(ZONEGROUP, &zg.id))?;
            if default_id(w, ZONEGROUP)?.as_deref() == Some(zg.id.as_str()) {
                w.delete(&keys::config(DEFAULT, ZONEGROUP))?;
            }
            Ok(())
        })
        .await
    }

    pub async fn zonegroup_placement_add(
        &self,
        name: &str,
        placement_id: &str,
        storage_class: Option<&str>,
    ) -> Result<ZoneGroup> {
        check_name("placement target", placement_id)?;
        let (name, placement_id) = (name.to_string(), placement_id.to_string());
        let storage_class = storage_class.unwrap_or("STANDARD").to_string();
        self.write(move |w| {
            let mut zg = zonegroup_by_name(w, &name)?;
            match zg.placement_targets.iter_mut().find(|t| t.name == placement_id) {
                Some(t) if !t.storage_classes.contains(&storage_class) => t.storage_classes.push(storage_class),
                Some(_) => {}
                None => {
                    let mut t = PlacementTarget::named(&placement_id);
                    t.storage_classes = vec![storage_class];
                    zg.placement_targets.push(t);
                }
            }
            put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
            Ok(zg)
        })
        .await
    }

    // ---- zones ----

    pub async fn zone_create(&self, name: &str, spec: ZoneSpec) -> Result<ZoneParams> {
        check_name("zone", name)?;
        check_endpoints(spec.endpoints.as_deref().unwrap_or_default())?;
        let zonegroup = spec.zonegroup.clone().ok_or_else(|| {
            GatewayError::InvalidArgument("a zone belongs to a zonegroup: pass --rgw-zonegroup NAME".into())
        })?;
        let name = name.to_string();
        let zone = self
            .write(move |w| {
                ensure_name_free::<ZoneParams>(w, &name)?;
                let mut zg = zonegroup_by_name(w, &zonegroup)?;
                if zg.zones.iter().any(|z| z.name == name) {
                    return Err(GatewayError::Conflict(format!(
                        "zonegroup {zonegroup:?} already has a zone named {name:?}"
                    )));
                }
                let key = key_pair(spec.access_key.clone(), spec.secret_key.clone())?;
                let zone = ZoneParams {
                    id: new_uuid(),
                    name: name.clone(),
                    system_key: key,
                    placement_pools: vec![meridian_model::topology::PlacementPool {
                        key: DEFAULT_PLACEMENT.into(),
                        val: serde_json::json!({"storage_classes": {"STANDARD": {"data_pool": "local"}}}),
                    }],
                    realm_id: zg.realm_id.clone(),
                };
                let mut entry = ZoneGroupZone::new(&zone.id, &zone.name, spec.endpoints.clone().unwrap_or_default());
                entry.read_only = spec.read_only.unwrap_or(false);
                zg.zones.push(entry);
                if spec.master == Some(true) {
                    zg.master_zone = zone.id.clone();
                }
                put_cfg(w, ZONE, &zone.id, &zone)?;
                put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
                if spec.default {
                    set_default(w, ZONE, &zone.id)?;
                }
                Ok(zone)
            })
            .await?;
        Ok(zone)
    }

    pub async fn zone_modify(&self, name: &str, spec: ZoneSpec) -> Result<ZoneParams> {
        check_endpoints(spec.endpoints.as_deref().unwrap_or_default())?;
        let name = name.to_string();
        let zone = self
            .write(move |w| {
                let mut zone = zone_by_name(w, &name)?;
                if spec.access_key.is_some() || spec.secret_key.is_some() {
                    zone.system_key = key_pair(spec.access_key.clone(), spec.secret_key.clone())?;
                }
                if let Some(realm) = &spec.realm {
                    zone.realm_id = realm_by_name(w, realm)?.id;
                }
                let mut zg = match &spec.zonegroup {
                    Some(target) => {
                        let target = zonegroup_by_name(w, target)?;
                        // Moving the zone to another zonegroup: drop it from the old one.
                        if let Some(mut old) = zonegroup_of_zone(w, &zone.id)?.filter(|old| old.id != target.id) {
                            let entry = old.zone(&zone.id).cloned();
                            old.zones.retain(|z| z.id != zone.id);
                            if old.master_zone == zone.id {
                                old.master_zone.clear();
                            }
                            put_cfg(w, ZONEGROUP, &old.id, &old)?;
                            let mut target = target;
                            target
                                .zones
                                .push(entry.unwrap_or_else(|| ZoneGroupZone::new(&zone.id, &zone.name, vec![])));
                            target
                        } else {
                            target
                        }
                    }
                    None => zonegroup_of_zone(w, &zone.id)?.ok_or_else(|| {
                        GatewayError::NotFound(format!("zone {name:?} is in no zonegroup; pass --rgw-zonegroup NAME"))
                    })?,
                };
                if zg.zone(&zone.id).is_none() {
                    zg.zones.push(ZoneGroupZone::new(&zone.id, &zone.name, vec![]));
                }
                if spec.zonegroup.is_some() && spec.realm.is_none() {
                    zone.realm_id = zg.realm_id.clone();
                }
                if let Some(entry) = zg.zones.iter_mut().find(|z| z.id == zone.id) {
                    if let Some(endpoints) = &spec.endpoints {
                        entry.endpoints = endpoints.clone();
                    }
                    if let Some(read_only) = spec.read_only {
                        entry.read_only = read_only;
                    }
                }
                match spec.master {
                    Some(true) => zg.master_zone = zone.id.clone(),
                    Some(false) if zg.master_zone == zone.id => zg.master_zone.clear(),
                    _ => {}
                }
                put_cfg(w, ZONE, &zone.id, &zone)?;
                put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
                if spec.default {
                    set_default(w, ZONE, &zone.id)?;
                }
                Ok(zone)
            })
            .await?;
        Ok(zone)
    }

    /// The named zone's params; without a name, the zone this gateway serves.
    pub async fn zone_get(&self, name: Option<&str>) -> Result<ZoneParams> {
        let name = name.map(str::to_string).unwrap_or_else(|| self.site().zone_id.clone());
        self.read(move |r| zone_by_name(r, &name)).await
    }

    pub async fn zone_list(&self) -> Result<NameList> {
        self.read(|r| list_names::<ZoneParams>(r, ZONE, |x| x.name.clone()))
            .await
    }

    pub async fn zone_rename(&self, name: &str, new_name: &str) -> Result<ZoneParams> {
        check_name("zone", new_name)?;
        let (name, new_name) = (name.to_string(), new_name.to_string());
        self.write(move |w| {
            ensure_name_free::<ZoneParams>(w, &new_name)?;
            let mut zone = zone_by_name(w, &name)?;
            zone.name = new_name.clone();
            put_cfg(w, ZONE, &zone.id, &zone)?;
            if let Some(mut zg) = zonegroup_of_zone(w, &zone.id)? {
                for z in zg.zones.iter_mut().filter(|z| z.id == zone.id) {
                    z.name = new_name.clone();
                }
                put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
            }
            Ok(zone)
        })
        .await
    }

    pub async fn zone_delete(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        let local_zone = self.site().zone_id.clone();
        self.write(move |w| {
            let zone = zone_by_name(w, &name)?;
            if zone.id == local_zone {
                return Err(GatewayError::Conflict(format!(
                    "zone {name:?} is the zone this data directory serves; it cannot be deleted here"
                )));
            }
            if let Some(mut zg) = zonegroup_of_zone(w, &zone.id)? {
                if zg.master_zone == zone.id {
                    return Err(GatewayError::Conflict(format!(
                        "zone {name:?} is the master zone of zonegroup {:?}; make another zone master first \
                         (`meridian zone modify --rgw-zone OTHER --master`)",
                        zg.name
                    )));
                }
                zg.zones.retain(|z| z.id != zone.id);
                put_cfg(w, ZONEGROUP, &zg.id, &zg)?;
            }
            w.delete(&keys::config(ZONE, &zone.id))?;
            if default_id(w, ZONE)?.as_deref() == Some(zone.id.as_str()) {
                w.delete(&keys::config(DEFAULT, ZONE))?;
            }
            Ok(())
        })
        .await
    }

    // ---- periods ----

    /// A period by id (latest epoch unless `epoch`); without an id, the current period of the default realm.
    pub async fn period_get(&self, id: Option<&str>, epoch: Option<u64>) -> Result<Period> {
        // The current period is the one this gateway serves (a new one is stored just before it is served).
        if let (None, None, Some(period)) = (id, epoch, self.site().period.clone()) {
            return Ok(period);
        }
        let id = id.map(str::to_string);
        let realm_id = self.site().realm.as_ref().map(|r| r.id.clone());
        self.read(move |r| {
            let id = match id {
                Some(id) => id,
                None => {
                    let realm = match &realm_id {
                        Some(rid) => get_cfg::<Realm>(r, REALM, rid)?,
                        None => None,
                    };
                    let realm = match realm {
                        Some(realm) => realm,
                        None => realm_or_default(r, None)?,
                    };
                    realm.current_period
                }
            };
            if let Some(staging) = id.strip_suffix(":staging") {
                return get_cfg(r, STAGING, staging)?.ok_or_else(|| {
                    GatewayError::NotFound(format!(
                        "no staging period for realm {staging}: run `meridian period update`"
                    ))
                });
            }
            let found = match epoch {
                Some(e) => records::get(r, &keys::period_epoch(&id, e))?,
                None => latest_period(r, &id)?,
            };
            found.ok_or_else(|| GatewayError::NotFound(format!("period {id} does not exist")))
        })
        .await
    }

    /// Ids of every stored period (and staging periods, as RGW lists them).
    pub async fn period_list(&self) -> Result<Vec<String>> {
        self.read(|r| {
            let prefix = keys::config_prefix("period");
            let end = meridian_store::meta::prefix_end(&prefix);
            let mut ids: Vec<String> = Vec::new();
            for (k, _) in r.scan(&prefix, &end, usize::MAX)? {
                let rest = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                if let Some((id, _)) = rest.rsplit_once('/') {
                    if ids.last().map(String::as_str) != Some(id) {
                        ids.push(id.to_string());
                    }
                }
            }
            for realm in all_cfg::<Realm>(r, REALM)? {
                if get_cfg::<Period>(r, STAGING, &realm.id)?.is_some() {
                    ids.push(Period::staging_id(&realm.id));
                }
            }
            Ok(ids)
        })
        .await
    }

    /// `period update`: rebuilds and stores the staging period of the realm from the local records.
    pub async fn period_update(&self, realm: Option<&str>) -> Result<Period> {
        let realm = realm.map(str::to_string);
        self.write(move |w| {
            let realm = realm_or_default(w, realm.as_deref())?;
            let staging = build_staging(w, &realm)?;
            put_cfg(w, STAGING, &realm.id, &staging)?;
            Ok(staging)
        })
        .await
    }

    /// Tests' `period update --commit` on a master zone (the server's is `meridian_multisite::commit_staging`,
    /// which also pushes): commits the staging period if this zone is its master, else gives it back.
    #[cfg(test)]
    pub async fn period_commit_staging(&self, realm: Option<&str>) -> Result<Result<Period, Period>> {
        let staging = self.period_update(realm).await?;
        if staging.master_zone.is_empty() || staging.master_zone == self.site().zone_id {
            let committed = self.period_commit(staging).await?;
            return Ok(Ok(committed));
        }
        Ok(Err(staging))
    }

    /// Commits a staging period (local, or sent by another zone) on this, the master zone.
    pub async fn period_commit(&self, staging: Period) -> Result<Period> {
        let local_zone = self.site().zone_id.clone();
        let period = self.write(move |w| commit(w, &local_zone, &staging)).await?;
        self.reload_site().await?;
        Ok(period)
    }

    /// Makes a period pushed by the master (or pulled from it) current if it is newer than ours.
    pub async fn period_accept(&self, period: Period) -> Result<Accepted> {
        let accepted = self.write(move |w| accept(w, &period)).await?;
        if accepted == Accepted::Updated {
            self.reload_site().await?;
        }
        Ok(accepted)
    }
}

fn key_pair(access: Option<String>, secret: Option<String>) -> Result<AccessKey> {
    match (access, secret) {
        (Some(a), Some(s)) if !a.is_empty() && !s.is_empty() => Ok(AccessKey {
            access_key: a,
            secret_key: s,
        }),
        (None, None) => Ok(AccessKey {
            access_key: generate_access_key(),
            secret_key: generate_secret_key(),
        }),
        _ => Err(GatewayError::InvalidArgument(
            "a system key needs both --access-key and --secret".into(),
        )),
    }
}

fn apply_zonegroup_spec(w: &mut dyn WriteTxn, zg: &mut ZoneGroup, spec: &ZoneGroupSpec) -> Result<()> {
    if let Some(api) = &spec.api_name {
        check_name("api", api)?;
        zg.api_name = api.clone();
    }
    if let Some(e) = &spec.endpoints {
        zg.endpoints = e.clone();
    }
    if let Some(h) = &spec.hostnames {
        zg.hostnames = h.iter().map(|h| h.to_ascii_lowercase()).collect();
    }
    if let Some(master) = spec.master {
        zg.is_master = master;
        if master {
            // One master zonegroup per realm.
            for mut other in all_cfg::<ZoneGroup>(w, ZONEGROUP)? {
                if other.id != zg.id && other.realm_id == zg.realm_id && other.is_master {
                    other.is_master = false;
                    put_cfg(w, ZONEGROUP, &other.id, &other)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GatewayOptions;

    use crate::test_support::gateway;

    /// realm gold, zonegroup us (master) with zone us-east (master), served by the returned gateway.
    async fn master_zone(dir: &std::path::Path) -> Gateway {
        let gw = gateway(dir).await;
        gw.realm_create("gold", true).await.unwrap();
        let zg = ZoneGroupSpec {
            endpoints: Some(vec!["http://a:1".into()]),
            master: Some(true),
            default: true,
            ..Default::default()
        };
        gw.zonegroup_create("us", zg).await.unwrap();
        let zone = ZoneSpec {
            zonegroup: Some("us".into()),
            endpoints: Some(vec!["http://a:1".into()]),
            master: Some(true),
            default: true,
            ..Default::default()
        };
        gw.zone_create("us-east", zone).await.unwrap();
        // Reopen as the new default zone, as `meridian server` would.
        let (meta, data) = (gw.meta.clone(), gw.data.clone());
        drop(gw);
        Gateway::open(meta, data, None, GatewayOptions::default())
            .await
            .unwrap()
            .0
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn commit_makes_a_new_period_then_bumps_its_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let gw = master_zone(dir.path()).await;
        let first = gw.realm_get(None).await.unwrap().current_period;
        let p1 = gw.period_commit_staging(None).await.unwrap().unwrap();
        assert_ne!(p1.id, first);
        assert_eq!((p1.epoch, p1.realm_epoch), (1, 2));
        assert_eq!(p1.predecessor_uuid, first);
        assert_eq!(p1.master_zone, gw.site().zone_id);
        assert_eq!(gw.site().period.as_ref().unwrap().id, p1.id, "the site view switched");
        assert_eq!(gw.site().zonegroup_api_name, "us");

        let zg = ZoneGroupSpec {
            hostnames: Some(vec!["s3.us.example.com".into()]),
            ..Default::default()
        };
        gw.zonegroup_modify("us", zg).await.unwrap();
        let p2 = gw.period_commit_staging(None).await.unwrap().unwrap();
        assert_eq!((p2.id.as_str(), p2.epoch, p2.realm_epoch), (p1.id.as_str(), 2, 2));
        assert_eq!(p2.predecessor_uuid, first, "same period keeps its predecessor");
        assert_eq!(gw.site().hostnames().collect::<Vec<_>>(), vec!["s3.us.example.com"]);
        let ids = gw.period_list().await.unwrap();
        assert!(
            ids.contains(&first) && ids.contains(&p1.id) && ids.len() == 2,
            "{ids:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn commit_refuses_stale_staging_periods_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let gw = master_zone(dir.path()).await;
        let p1 = gw.period_commit_staging(None).await.unwrap().unwrap();
        let staging = gw.period_update(None).await.unwrap();
        assert_eq!(staging.epoch, p1.epoch, "staging records its base epoch");
        gw.period_commit_staging(None).await.unwrap().unwrap();

        // Built on epoch 1, the master is now at epoch 2.
        let err = gw.period_commit(staging.clone()).await.unwrap_err().to_string();
        assert!(err.contains("epoch 1") && err.contains("period pull"), "{err}");

        let mut wrong_predecessor = gw.period_update(None).await.unwrap();
        wrong_predecessor.predecessor_uuid = "someone-else".into();
        let err = gw.period_commit(wrong_predecessor).await.unwrap_err().to_string();
        assert!(err.contains("someone-else") && err.contains("period pull"), "{err}");

        let mut wrong_realm_epoch = gw.period_update(None).await.unwrap();
        wrong_realm_epoch.realm_epoch += 3;
        let err = gw.period_commit(wrong_realm_epoch).await.unwrap_err().to_string();
        assert!(err.contains("realm epoch"), "{err}");

        let mut other_master = gw.period_update(None).await.unwrap();
        other_master.master_zone = "elsewhere".into();
        let err = gw.period_commit(other_master).await.unwrap_err().to_string();
        assert!(err.contains("only the metadata master commits"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn accept_takes_only_newer_periods() {
        let dir = tempfile::tempdir().unwrap();
        let gw = master_zone(dir.path()).await;
        let p1 = gw.period_commit_staging(None).await.unwrap().unwrap();
        let p2 = gw.period_commit_staging(None).await.unwrap().unwrap();
        assert_eq!(gw.period_accept(p2.clone()).await.unwrap(), Accepted::AlreadyCurrent);
        let err = gw.period_accept(p1).await.unwrap_err().to_string();
        assert!(err.contains("not newer"), "{err}");
        let mut p3 = p2.clone();
        p3.epoch = 3;
        assert_eq!(gw.period_accept(p3).await.unwrap(), Accepted::Updated);
        assert_eq!(gw.site().period.as_ref().unwrap().epoch, 3);
        let staging = gw.period_update(None).await.unwrap();
        assert!(
            gw.period_accept(staging).await.is_err(),
            "a staging period is never accepted"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn renames_keep_ids_and_refusals_explain_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let gw = master_zone(dir.path()).await;
        let before = gw.zone_get(Some("us-east")).await.unwrap();
        let after = gw.zone_rename("us-east", "us-east-1").await.unwrap();
        assert_eq!(before.id, after.id);
        let zg = gw.zonegroup_get(Some("us")).await.unwrap();
        assert_eq!(zg.zone(&after.id).unwrap().name, "us-east-1");
        let renamed = gw.zonegroup_rename("us", "america").await.unwrap();
        assert_eq!(renamed.id, zg.id);

        let err = gw.realm_create("gold", false).await.unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        let err = gw.zonegroup_delete("america").await.unwrap_err().to_string();
        assert!(err.contains("this data directory's zone"), "{err}");
        let spec = ZoneSpec {
            zonegroup: Some("america".into()),
            ..Default::default()
        };
        gw.zone_create("us-west", spec).await.unwrap();
        gw.zone_modify(
            "us-west",
            ZoneSpec {
                master: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let err = gw.zone_delete("us-west").await.unwrap_err().to_string();
        assert!(err.contains("master zone"), "{err}");
        let err = gw
            .zone_create(
                "bad/name",
                ZoneSpec {
                    zonegroup: Some("america".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid zone name"), "{err}");
    }
}
