//! Configuration CRUD: realms, zonegroups and zones by name, with RGW's names, defaults and refusals.

use super::*;
use crate::users::{generate_access_key, generate_secret_key};
use meridian_model::{AccessKey, PeriodMap, PlacementTarget, ZoneGroupZone, DEFAULT_PLACEMENT};

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

/// `realm list`, `zonegroup list`, `zone list`.
fn list_names<T: ConfigRecord>(r: &dyn ReadOps) -> Result<NameList> {
    Ok(NameList {
        default_info: default_id(r, T::KIND)?.unwrap_or_default(),
        names: all_cfg::<T>(r, T::KIND)?.iter().map(|x| x.name().to_string()).collect(),
    })
}

/// Renames the record `name` to the free name `new_name`; `adjust` sees it just before (its old name still
/// set). Ids never change, so references by id stay valid.
fn rename_record<T: ConfigRecord>(
    w: &mut dyn WriteTxn,
    name: &str,
    new_name: &str,
    adjust: impl FnOnce(&mut T),
) -> Result<T> {
    ensure_name_free::<T>(w, new_name)?;
    let mut record: T = by_name(w, name)?;
    adjust(&mut record);
    record.set_name(new_name.to_string());
    put_cfg(w, T::KIND, record.id(), &record)?;
    Ok(record)
}

impl RealmService<'_> {
    // ---- realms ----

    pub async fn create_realm(&self, name: &str, make_default: bool) -> Result<Realm> {
        check_name("realm", name)?;
        let name = name.to_string();
        self.core
            .write(move |w| {
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

    pub async fn get_realm(&self, name: Option<&str>) -> Result<Realm> {
        let name = name.map(str::to_string);
        self.core.read(move |r| realm_or_default(r, name.as_deref())).await
    }

    pub async fn list_realms(&self) -> Result<NameList> {
        self.core.read(|r| list_names::<Realm>(r)).await
    }

    pub async fn rename_realm(&self, name: &str, new_name: &str) -> Result<Realm> {
        check_name("realm", new_name)?;
        let (name, new_name) = (name.to_string(), new_name.to_string());
        self.core
            .write(move |w| rename_record::<Realm>(w, &name, &new_name, |_| {}))
            .await
    }

    pub async fn delete_realm(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        let local_zone = self.core.site().zone_id.clone();
        self.core
            .write(move |w| {
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

    pub async fn set_default_realm(&self, name: &str) -> Result<Realm> {
        let name = name.to_string();
        self.core
            .write(move |w| {
                let realm = realm_by_name(w, &name)?;
                set_default(w, REALM, &realm.id)?;
                Ok(realm)
            })
            .await
    }
    // ---- zonegroups ----

    pub async fn create_zonegroup(&self, name: &str, spec: ZoneGroupSpec) -> Result<ZoneGroup> {
        check_name("zonegroup", name)?;
        check_endpoints(spec.endpoints.as_deref().unwrap_or_default())?;
        let name = name.to_string();
        let zg = self
            .core
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

    pub async fn modify_zonegroup(&self, name: &str, spec: ZoneGroupSpec) -> Result<ZoneGroup> {
        check_endpoints(spec.endpoints.as_deref().unwrap_or_default())?;
        let name = name.to_string();
        self.core
            .write(move |w| {
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
    pub async fn get_zonegroup(&self, name: Option<&str>) -> Result<ZoneGroup> {
        match name {
            Some(n) => {
                let n = n.to_string();
                self.core.read(move |r| zonegroup_by_name(r, &n)).await
            }
            None => {
                let site = self.core.site();
                let id = site.zonegroup_id.clone();
                self.core
                    .read(move |r| {
                        get_cfg(r, ZONEGROUP, &id)?
                            .ok_or_else(|| GatewayError::NotFound(format!("zonegroup {id} does not exist")))
                    })
                    .await
            }
        }
    }

    pub async fn list_zonegroups(&self) -> Result<NameList> {
        self.core.read(|r| list_names::<ZoneGroup>(r)).await
    }

    pub async fn rename_zonegroup(&self, name: &str, new_name: &str) -> Result<ZoneGroup> {
        check_name("zonegroup", new_name)?;
        let (name, new_name) = (name.to_string(), new_name.to_string());
        self.core
            .write(move |w| {
                rename_record::<ZoneGroup>(w, &name, &new_name, |zg| {
                    // RGW keeps api_name when renaming, but the bootstrap zonegroup's api_name is just its name.
                    if zg.api_name == zg.name {
                        zg.api_name = new_name.clone();
                    }
                })
            })
            .await
    }

    pub async fn delete_zonegroup(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        let local_zone = self.core.site().zone_id.clone();
        self.core
            .write(move |w| {
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

    pub async fn add_zonegroup_placement(
        &self,
        name: &str,
        placement_id: &str,
        storage_class: Option<&str>,
    ) -> Result<ZoneGroup> {
        check_name("placement target", placement_id)?;
        let (name, placement_id) = (name.to_string(), placement_id.to_string());
        let storage_class = storage_class.unwrap_or("STANDARD").to_string();
        self.core
            .write(move |w| {
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

    pub async fn create_zone(&self, name: &str, spec: ZoneSpec) -> Result<ZoneParams> {
        check_name("zone", name)?;
        check_endpoints(spec.endpoints.as_deref().unwrap_or_default())?;
        let zonegroup = spec.zonegroup.clone().ok_or_else(|| {
            GatewayError::InvalidArgument("a zone belongs to a zonegroup: pass --rgw-zonegroup NAME".into())
        })?;
        let name = name.to_string();
        let zone = self
            .core
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

    pub async fn modify_zone(&self, name: &str, spec: ZoneSpec) -> Result<ZoneParams> {
        check_endpoints(spec.endpoints.as_deref().unwrap_or_default())?;
        let name = name.to_string();
        let zone = self
            .core
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
    pub async fn get_zone(&self, name: Option<&str>) -> Result<ZoneParams> {
        let name = name
            .map(str::to_string)
            .unwrap_or_else(|| self.core.site().zone_id.clone());
        self.core.read(move |r| zone_by_name(r, &name)).await
    }

    pub async fn list_zones(&self) -> Result<NameList> {
        self.core.read(|r| list_names::<ZoneParams>(r)).await
    }

    pub async fn rename_zone(&self, name: &str, new_name: &str) -> Result<ZoneParams> {
        check_name("zone", new_name)?;
        let (name, new_name) = (name.to_string(), new_name.to_string());
        self.core
            .write(move |w| {
                let zone = rename_record::<ZoneParams>(w, &name, &new_name, |_| {})?;
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

    pub async fn delete_zone(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        let local_zone = self.core.site().zone_id.clone();
        self.core
            .write(move |w| {
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
    use crate::realm::test_zone::master_zone;

    #[tokio::test(flavor = "multi_thread")]
    async fn renames_keep_ids_and_refusals_explain_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let gw = master_zone(dir.path()).await;
        let before = gw.realm().get_zone(Some("us-east")).await.unwrap();
        let after = gw.realm().rename_zone("us-east", "us-east-1").await.unwrap();
        assert_eq!(before.id, after.id);
        let zg = gw.realm().get_zonegroup(Some("us")).await.unwrap();
        assert_eq!(zg.zone(&after.id).unwrap().name, "us-east-1");
        let renamed = gw.realm().rename_zonegroup("us", "america").await.unwrap();
        assert_eq!(renamed.id, zg.id);

        let err = gw.realm().create_realm("gold", false).await.unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        let err = gw.realm().delete_zonegroup("america").await.unwrap_err().to_string();
        assert!(err.contains("this data directory's zone"), "{err}");
        let spec = ZoneSpec {
            zonegroup: Some("america".into()),
            ..Default::default()
        };
        gw.realm().create_zone("us-west", spec).await.unwrap();
        gw.realm()
            .modify_zone(
                "us-west",
                ZoneSpec {
                    master: Some(true),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let err = gw.realm().delete_zone("us-west").await.unwrap_err().to_string();
        assert!(err.contains("master zone"), "{err}");
        let err = gw
            .realm()
            .create_zone(
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
