//! The multi-site configuration: realms, zonegroups and zones as stored records, and the periods built from
//! them. `config` is their CRUD, `period` the staging period, its commit on the metadata master (RGW's rules
//! and checks) and accepting periods the master pushes or a zone pulls, `site` the bootstrap and the site view
//! this gateway serves. Every change that can alter what this gateway serves reloads the site view.

mod config;
mod period;
mod site;

pub use config::{NameList, ZoneGroupSpec, ZoneSpec};
pub use period::Accepted;
pub(crate) use site::{bootstrap_config, load_site};

use crate::error::{GatewayError, Result};
use crate::{keys, records};
use meridian_model::{Period, Realm, ZoneGroup, ZoneParams};
use meridian_store::{ReadOps, WriteTxn};
use serde::de::DeserializeOwned;
use serde::Serialize;

const REALM: &str = "realm";
const ZONEGROUP: &str = "zonegroup";
const ZONE: &str = "zone";
const STAGING: &str = "staging";
const DEFAULT: &str = "default";
const LOCAL_ADMIN: &str = "local-admin";

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
trait ConfigRecord: DeserializeOwned + Serialize {
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn name(&self) -> &str;
    fn set_name(&mut self, name: String);
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
            fn set_name(&mut self, name: String) {
                self.name = name;
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

/// The multi-site configuration: realms, zonegroups, zones, periods, and the site view built from them.
/// Reached through `Gateway::realm()`.
#[derive(Clone, Copy)]
pub struct RealmService<'a> {
    pub(crate) core: &'a crate::shared::Core,
}

#[cfg(test)]
mod test_zone {
    use super::*;
    use crate::test_support::gateway;
    use crate::{Gateway, GatewayOptions};

    /// realm gold, zonegroup us (master) with zone us-east (master), served by the returned gateway.
    pub(super) async fn master_zone(dir: &std::path::Path) -> Gateway {
        let gw = gateway(dir).await;
        gw.realm().create_realm("gold", true).await.unwrap();
        let zg = ZoneGroupSpec {
            endpoints: Some(vec!["http://a:1".into()]),
            master: Some(true),
            default: true,
            ..Default::default()
        };
        gw.realm().create_zonegroup("us", zg).await.unwrap();
        let zone = ZoneSpec {
            zonegroup: Some("us".into()),
            endpoints: Some(vec!["http://a:1".into()]),
            master: Some(true),
            default: true,
            ..Default::default()
        };
        gw.realm().create_zone("us-east", zone).await.unwrap();
        // Reopen as the new default zone, as `meridian server` would.
        let (meta, data) = (gw.core.meta.clone(), gw.core.data.clone());
        drop(gw);
        Gateway::open(meta, data, None, GatewayOptions::default())
            .await
            .unwrap()
            .0
    }
}
