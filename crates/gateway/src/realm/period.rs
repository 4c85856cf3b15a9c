//! Periods: the staging period built from the realm's records, its commit on the metadata master (RGW's
//! rules and checks), and accepting a period the master pushes or a zone pulls.

use super::*;
use meridian_model::PeriodMap;

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

impl RealmService<'_> {
    /// `realm pull`: stores a realm fetched from its master zone and makes the fetched period current.
    pub async fn adopt_realm(&self, realm: Realm, period: Period) -> Result<Realm> {
        if period.realm_id != realm.id {
            return Err(GatewayError::InvalidArgument(format!(
                "the master sent period {} of realm {}, not of realm {}",
                period.id, period.realm_id, realm.id
            )));
        }
        let out = self
            .core
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
    // ---- periods ----

    /// A period by id (latest epoch unless `epoch`); without an id, the current period of the default realm.
    pub async fn get_period(&self, id: Option<&str>, epoch: Option<u64>) -> Result<Period> {
        // The current period is the one this gateway serves (a new one is stored just before it is served).
        if let (None, None, Some(period)) = (id, epoch, self.core.site().period.clone()) {
            return Ok(period);
        }
        let id = id.map(str::to_string);
        let realm_id = self.core.site().realm.as_ref().map(|r| r.id.clone());
        self.core
            .read(move |r| {
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
    pub async fn list_periods(&self) -> Result<Vec<String>> {
        self.core
            .read(|r| {
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
    pub async fn update_period(&self, realm: Option<&str>) -> Result<Period> {
        let realm = realm.map(str::to_string);
        self.core
            .write(move |w| {
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
    pub async fn commit_staging_period(&self, realm: Option<&str>) -> Result<Result<Period, Period>> {
        let staging = self.update_period(realm).await?;
        if staging.master_zone.is_empty() || staging.master_zone == self.core.site().zone_id {
            let committed = self.commit_period(staging).await?;
            return Ok(Ok(committed));
        }
        Ok(Err(staging))
    }

    /// Commits a staging period (local, or sent by another zone) on this, the master zone.
    pub async fn commit_period(&self, staging: Period) -> Result<Period> {
        let local_zone = self.core.site().zone_id.clone();
        let period = self.core.write(move |w| commit(w, &local_zone, &staging)).await?;
        self.reload_site().await?;
        Ok(period)
    }

    /// Makes a period pushed by the master (or pulled from it) current if it is newer than ours.
    pub async fn accept_period(&self, period: Period) -> Result<Accepted> {
        let accepted = self.core.write(move |w| accept(w, &period)).await?;
        if accepted == Accepted::Updated {
            self.reload_site().await?;
        }
        Ok(accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realm::test_zone::master_zone;

    #[tokio::test(flavor = "multi_thread")]
    async fn commit_makes_a_new_period_then_bumps_its_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let gw = master_zone(dir.path()).await;
        let first = gw.realm().get_realm(None).await.unwrap().current_period;
        let p1 = gw.realm().commit_staging_period(None).await.unwrap().unwrap();
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
        gw.realm().modify_zonegroup("us", zg).await.unwrap();
        let p2 = gw.realm().commit_staging_period(None).await.unwrap().unwrap();
        assert_eq!((p2.id.as_str(), p2.epoch, p2.realm_epoch), (p1.id.as_str(), 2, 2));
        assert_eq!(p2.predecessor_uuid, first, "same period keeps its predecessor");
        assert_eq!(gw.site().hostnames().collect::<Vec<_>>(), vec!["s3.us.example.com"]);
        let ids = gw.realm().list_periods().await.unwrap();
        assert!(
            ids.contains(&first) && ids.contains(&p1.id) && ids.len() == 2,
            "{ids:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn commit_refuses_stale_staging_periods_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let gw = master_zone(dir.path()).await;
        let p1 = gw.realm().commit_staging_period(None).await.unwrap().unwrap();
        let staging = gw.realm().update_period(None).await.unwrap();
        assert_eq!(staging.epoch, p1.epoch, "staging records its base epoch");
        gw.realm().commit_staging_period(None).await.unwrap().unwrap();

        // Built on epoch 1, the master is now at epoch 2.
        let err = gw.realm().commit_period(staging.clone()).await.unwrap_err().to_string();
        assert!(err.contains("epoch 1") && err.contains("period pull"), "{err}");

        let mut wrong_predecessor = gw.realm().update_period(None).await.unwrap();
        wrong_predecessor.predecessor_uuid = "someone-else".into();
        let err = gw
            .realm()
            .commit_period(wrong_predecessor)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("someone-else") && err.contains("period pull"), "{err}");

        let mut wrong_realm_epoch = gw.realm().update_period(None).await.unwrap();
        wrong_realm_epoch.realm_epoch += 3;
        let err = gw
            .realm()
            .commit_period(wrong_realm_epoch)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("realm epoch"), "{err}");

        let mut other_master = gw.realm().update_period(None).await.unwrap();
        other_master.master_zone = "elsewhere".into();
        let err = gw.realm().commit_period(other_master).await.unwrap_err().to_string();
        assert!(err.contains("only the metadata master commits"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn accept_takes_only_newer_periods() {
        let dir = tempfile::tempdir().unwrap();
        let gw = master_zone(dir.path()).await;
        let p1 = gw.realm().commit_staging_period(None).await.unwrap().unwrap();
        let p2 = gw.realm().commit_staging_period(None).await.unwrap().unwrap();
        assert_eq!(
            gw.realm().accept_period(p2.clone()).await.unwrap(),
            Accepted::AlreadyCurrent
        );
        let err = gw.realm().accept_period(p1).await.unwrap_err().to_string();
        assert!(err.contains("not newer"), "{err}");
        let mut p3 = p2.clone();
        p3.epoch = 3;
        assert_eq!(gw.realm().accept_period(p3).await.unwrap(), Accepted::Updated);
        assert_eq!(gw.site().period.as_ref().unwrap().epoch, 3);
        let staging = gw.realm().update_period(None).await.unwrap();
        assert!(
            gw.realm().accept_period(staging).await.is_err(),
            "a staging period is never accepted"
        );
    }
}
