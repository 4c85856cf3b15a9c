//! The multi-site configuration verbs (realm, zonegroup, zone, period) and RGW's realm REST endpoints
//! (`GET /admin/realm`, `GET|POST /admin/realm/period`). The CLI reaches the verbs as
//! `/admin/config/<kind>/<verb>`, so they run in the server when one holds the data directory.

use crate::error::AdminError;
use crate::ops::Params;
use crate::AdminRequest;
use meridian_gateway::realm::{NameList, ZoneGroupSpec, ZoneSpec};
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::{AccessKey, Period};
use meridian_multisite as multisite;
use serde_json::{json, Value};

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, AdminError> {
    serde_json::to_value(v).map_err(|e| AdminError::Gateway(GatewayError::Internal(e.to_string())))
}

fn names(list: NameList, field: &str) -> Value {
    json!({"default_info": list.default_info, field: list.names})
}

/// `a,b,c` (radosgw-admin's list form).
fn list_param(req: &AdminRequest, name: &str) -> Option<Vec<String>> {
    req.params.get(name).map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
}

fn bool_param(req: &AdminRequest, name: &str) -> Result<Option<bool>, AdminError> {
    match req.params.get(name).map(String::as_str) {
        None => Ok(None),
        Some("" | "true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(other) => Err(AdminError::BadRequest(format!(
            "--{name} takes true or false, not {other:?}"
        ))),
    }
}

fn key_param(req: &AdminRequest) -> Option<AccessKey> {
    match (req.get("access-key"), req.get("secret")) {
        (Some(a), Some(s)) => Some(AccessKey {
            access_key: a.to_string(),
            secret_key: s.to_string(),
        }),
        _ => None,
    }
}

/// A configuration verb of the CLI (`/admin/config/<kind>/<verb>`), as radosgw-admin names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigVerb {
    RealmCreate,
    RealmGet,
    RealmList,
    RealmRename,
    RealmDelete,
    RealmDefault,
    RealmPull,
    ZonegroupCreate,
    ZonegroupModify,
    ZonegroupGet,
    ZonegroupList,
    ZonegroupRename,
    ZonegroupDelete,
    ZonegroupPlacementAdd,
    ZoneCreate,
    ZoneModify,
    ZoneGet,
    ZoneList,
    ZoneRename,
    ZoneDelete,
    PeriodGet,
    PeriodList,
    PeriodPull,
    /// `period/update` (stages the period).
    PeriodUpdate,
    /// `period/update?commit`.
    PeriodCommit,
}

/// The verbs by their path, `period/update` aside (it is two verbs, by `commit`).
pub const CONFIG_VERBS: &[(&str, ConfigVerb)] = &[
    ("realm/create", ConfigVerb::RealmCreate),
    ("realm/get", ConfigVerb::RealmGet),
    ("realm/list", ConfigVerb::RealmList),
    ("realm/rename", ConfigVerb::RealmRename),
    ("realm/delete", ConfigVerb::RealmDelete),
    ("realm/default", ConfigVerb::RealmDefault),
    ("realm/pull", ConfigVerb::RealmPull),
    ("zonegroup/create", ConfigVerb::ZonegroupCreate),
    ("zonegroup/modify", ConfigVerb::ZonegroupModify),
    ("zonegroup/get", ConfigVerb::ZonegroupGet),
    ("zonegroup/list", ConfigVerb::ZonegroupList),
    ("zonegroup/rename", ConfigVerb::ZonegroupRename),
    ("zonegroup/delete", ConfigVerb::ZonegroupDelete),
    ("zonegroup/placement-add", ConfigVerb::ZonegroupPlacementAdd),
    ("zone/create", ConfigVerb::ZoneCreate),
    ("zone/modify", ConfigVerb::ZoneModify),
    ("zone/get", ConfigVerb::ZoneGet),
    ("zone/list", ConfigVerb::ZoneList),
    ("zone/rename", ConfigVerb::ZoneRename),
    ("zone/delete", ConfigVerb::ZoneDelete),
    ("period/get", ConfigVerb::PeriodGet),
    ("period/list", ConfigVerb::PeriodList),
    ("period/pull", ConfigVerb::PeriodPull),
];

impl ConfigVerb {
    /// The verb at `path` (`realm/create`, ...); `commit` tells `period/update` from `period/update --commit`.
    pub fn parse(path: &str, commit: bool) -> Option<Self> {
        match path {
            "period/update" if commit => Some(ConfigVerb::PeriodCommit),
            "period/update" => Some(ConfigVerb::PeriodUpdate),
            _ => CONFIG_VERBS.iter().find(|(p, _)| *p == path).map(|(_, v)| *v),
        }
    }
}

/// Runs a configuration verb; after a change (any method but GET) the site view is reloaded.
pub(crate) async fn run(gw: &Gateway, req: &AdminRequest, verb: ConfigVerb) -> Result<Value, AdminError> {
    let out = config_verb(gw, req, verb).await;
    if out.is_ok() && req.method != http::Method::GET {
        if let Err(e) = gw.realm().reload_site().await {
            tracing::warn!(error = %e, "configuration changed but the site view could not be reloaded");
        }
    }
    out
}

/// `GET /admin/realm` (`proto::period::GetRealm`): the realm, a `Realm`.
pub(crate) async fn realm_rest_get(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let name = req.get("name").or_else(|| req.get("id"));
    let realm = match name {
        Some(n) => gw.realm().get_realm(Some(n)).await?,
        None => match gw.site().realm.clone() {
            Some(r) => gw.realm().get_realm(Some(&r.id)).await?,
            None => gw.realm().get_realm(None).await?,
        },
    };
    to_json(&realm)
}

/// `GET /admin/realm/period` (`proto::period::GetPeriod`): a `Period`.
pub(crate) async fn period_rest_get(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let epoch = req
        .get("epoch")
        .map(|e| e.parse::<u64>())
        .transpose()
        .map_err(|_| AdminError::BadRequest("epoch must be a number".into()))?;
    to_json(&gw.realm().get_period(req.get("period_id"), epoch).await?)
}

/// RGW's `POST /admin/realm/period` (`proto::period::PostPeriod`, answered with a `Period`): on the master a
/// staging period is committed (a secondary's `period update --commit`); anywhere a newer committed period
/// (the master's push) becomes current.
pub(crate) async fn period_rest_post(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let body = req
        .body
        .clone()
        .ok_or_else(|| AdminError::BadRequest("POST /admin/realm/period needs a period as its JSON body".into()))?;
    let period: Period =
        serde_json::from_value(body).map_err(|e| AdminError::BadRequest(format!("malformed period: {e}")))?;
    if period.is_staging() {
        // Refused unless this zone is the staging period's master.
        return to_json(&multisite::commit_and_push(gw, period).await?);
    }
    gw.realm().accept_period(period.clone()).await?;
    to_json(&period)
}

fn zonegroup_spec(req: &AdminRequest) -> Result<ZoneGroupSpec, AdminError> {
    Ok(ZoneGroupSpec {
        api_name: req.get("api-name").map(str::to_string),
        endpoints: list_param(req, "endpoints"),
        hostnames: list_param(req, "hostnames"),
        master: bool_param(req, "master")?,
        default: req.is_true("default"),
        realm: req.get("rgw-realm").map(str::to_string),
    })
}

fn zone_spec(req: &AdminRequest) -> Result<ZoneSpec, AdminError> {
    Ok(ZoneSpec {
        zonegroup: req.get("rgw-zonegroup").map(str::to_string),
        endpoints: list_param(req, "endpoints"),
        master: bool_param(req, "master")?,
        default: req.is_true("default"),
        access_key: req.get("access-key").map(str::to_string),
        secret_key: req.get("secret").map(str::to_string),
        read_only: bool_param(req, "read-only")?,
        realm: req.get("rgw-realm").map(str::to_string),
    })
}

async fn config_verb(gw: &Gateway, req: &AdminRequest, verb: ConfigVerb) -> Result<Value, AdminError> {
    use ConfigVerb as V;
    match verb {
        V::RealmCreate => to_json(
            &gw.realm()
                .create_realm(req.require("rgw-realm")?, req.is_true("default"))
                .await?,
        ),
        V::RealmGet => to_json(&gw.realm().get_realm(req.get("rgw-realm")).await?),
        V::RealmList => Ok(names(gw.realm().list_realms().await?, "realms")),
        V::RealmRename => to_json(
            &gw.realm()
                .rename_realm(req.require("rgw-realm")?, req.require("realm-new-name")?)
                .await?,
        ),
        V::RealmDelete => {
            gw.realm().delete_realm(req.require("rgw-realm")?).await?;
            Ok(Value::Null)
        }
        V::RealmDefault => to_json(&gw.realm().set_default_realm(req.require("rgw-realm")?).await?),
        V::RealmPull => to_json(&multisite::pull_realm(gw, req.require("url")?, key_param(req).as_ref()).await?),
        V::ZonegroupCreate => to_json(
            &gw.realm()
                .create_zonegroup(req.require("rgw-zonegroup")?, zonegroup_spec(req)?)
                .await?,
        ),
        V::ZonegroupModify => {
            let name = match req.get("rgw-zonegroup") {
                Some(n) => n.to_string(),
                None => gw.site().zonegroup_id.clone(),
            };
            to_json(&gw.realm().modify_zonegroup(&name, zonegroup_spec(req)?).await?)
        }
        V::ZonegroupGet => to_json(&gw.realm().get_zonegroup(req.get("rgw-zonegroup")).await?),
        V::ZonegroupList => Ok(names(gw.realm().list_zonegroups().await?, "zonegroups")),
        V::ZonegroupRename => to_json(
            &gw.realm()
                .rename_zonegroup(req.require("rgw-zonegroup")?, req.require("zonegroup-new-name")?)
                .await?,
        ),
        V::ZonegroupDelete => {
            gw.realm().delete_zonegroup(req.require("rgw-zonegroup")?).await?;
            Ok(Value::Null)
        }
        V::ZonegroupPlacementAdd => {
            let name = match req.get("rgw-zonegroup") {
                Some(n) => n.to_string(),
                None => gw.site().zonegroup_id.clone(),
            };
            to_json(
                &gw.realm()
                    .add_zonegroup_placement(&name, req.require("placement-id")?, req.get("storage-class"))
                    .await?,
            )
        }
        V::ZoneCreate => to_json(
            &gw.realm()
                .create_zone(req.require("rgw-zone")?, zone_spec(req)?)
                .await?,
        ),
        V::ZoneModify => {
            let name = match req.get("rgw-zone") {
                Some(n) => n.to_string(),
                None => gw.site().zone_id.clone(),
            };
            to_json(&gw.realm().modify_zone(&name, zone_spec(req)?).await?)
        }
        V::ZoneGet => to_json(&gw.realm().get_zone(req.get("rgw-zone")).await?),
        V::ZoneList => Ok(names(gw.realm().list_zones().await?, "zones")),
        V::ZoneRename => to_json(
            &gw.realm()
                .rename_zone(req.require("rgw-zone")?, req.require("zone-new-name")?)
                .await?,
        ),
        V::ZoneDelete => {
            gw.realm().delete_zone(req.require("rgw-zone")?).await?;
            Ok(Value::Null)
        }
        V::PeriodGet => {
            let epoch = req
                .get("epoch")
                .map(|e| e.parse::<u64>())
                .transpose()
                .map_err(|_| AdminError::BadRequest("--epoch must be a number".into()))?;
            to_json(&gw.realm().get_period(req.get("period-id"), epoch).await?)
        }
        V::PeriodList => Ok(json!({"periods": gw.realm().list_periods().await?})),
        V::PeriodCommit => to_json(&multisite::commit_staging(gw, req.get("rgw-realm")).await?),
        V::PeriodUpdate => to_json(&gw.realm().update_period(req.get("rgw-realm")).await?),
        V::PeriodPull => {
            let url = match req.get("url") {
                Some(u) => u.to_string(),
                None => gw.site().master_endpoints().into_iter().next().ok_or_else(|| {
                    AdminError::BadRequest("pass --url: this zone knows no master endpoint yet".into())
                })?,
            };
            let (period, _) = multisite::pull_period(gw, &url, key_param(req).as_ref()).await?;
            to_json(&period)
        }
    }
}
