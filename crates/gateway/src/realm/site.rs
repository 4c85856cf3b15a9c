//! The site view: the bootstrap configuration of a new data directory, and what a gateway running as a zone
//! serves, loaded at open and reloaded when a period changes.

use super::*;
use crate::site::Site;
use crate::users::{generate_access_key, generate_secret_key};
use meridian_model::{AccessKey, ZoneGroupZone};

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

/// Creates the bootstrap zone on first use; returns whether it did.
pub(crate) fn bootstrap_config(meta: &dyn meridian_store::MetaStore) -> Result<bool> {
    let mut txn = meta.begin()?;
    let created = bootstrap(&mut *txn)?;
    if created {
        txn.commit()?;
    }
    Ok(created)
}

impl RealmService<'_> {
    /// Re-reads the configuration and swaps the site view (a new period takes effect without a restart).
    pub async fn reload_site(&self) -> Result<()> {
        let selector = self.core.zone_selector.clone();
        let site = self.core.read(move |r| load_site(r, selector.as_deref())).await?;
        let changed = {
            let old = self.core.site();
            old.period.as_ref().map(|p| (&p.id, p.epoch)) != site.period.as_ref().map(|p| (&p.id, p.epoch))
        };
        if changed {
            if let Some(p) = &site.period {
                tracing::info!(period = %p.id, epoch = p.epoch, zone = %site.zone_name, "now serving period");
            }
        }
        self.core.set_site(site);
        Ok(())
    }

    /// The key the local CLI signs with to reach this data directory's running server.
    pub async fn local_admin_key(&self) -> Result<AccessKey> {
        self.core
            .read(|r| {
                get_cfg(r, LOCAL_ADMIN, "key")?
                    .ok_or_else(|| GatewayError::NotFound("this data directory has no local admin key".into()))
            })
            .await
    }

    /// Re-reads the configuration and swaps the site view only if it changed (a period committed or pulled
    /// through another gateway of the zone); returns whether it did.
    pub async fn refresh_site(&self) -> Result<bool> {
        let selector = self.core.zone_selector.clone();
        let site = self.core.read(move |r| load_site(r, selector.as_deref())).await?;
        if format!("{:?}", *self.core.site()) == format!("{site:?}") {
            return Ok(false);
        }
        if let Some(p) = &site.period {
            tracing::info!(period = %p.id, epoch = p.epoch, zone = %site.zone_name, "now serving period (changed by another gateway)");
        }
        self.core.set_site(site);
        Ok(true)
    }
}
