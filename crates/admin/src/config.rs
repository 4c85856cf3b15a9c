//! The multi-site configuration verbs (realm, zonegroup, zone, period) and RGW's realm REST endpoints
//! (`GET /admin/realm`, `GET|POST /admin/realm/period`). The CLI reaches the verbs as
//! `/admin/config/<kind>/<verb>`, so they run in the server when one holds the data directory.

use crate::error::AdminError;
use crate::ops::Params;
use crate::AdminRequest;
use meridian_gateway::realm::{NameList, ZoneGroupSpec, ZoneSpec};
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::{AccessKey, Period};
use meridian_peer::master;
use serde_json::{json, Value};

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, AdminError> {
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

/// Answers a configuration or realm request; `None` when `req` is not one.
pub async fn dispatch(gw: &Gateway, req: &AdminRequest) -> Option<Result<Value, AdminError>> {
    let resource = req.resource.trim_matches('/');
    let out = match resource {
        "realm" if req.method == http::Method::GET => realm_rest_get(gw, req).await,
        "realm/period" if req.method == http::Method::GET => period_rest_get(gw, req).await,
        "realm/period" if req.method == http::Method::POST => period_rest_post(gw, req).await,
        _ => {
            let verb = resource.strip_prefix("config/")?;
            let out = config_verb(gw, req, verb).await;
            if out.is_ok() && req.method != http::Method::GET {
                if let Err(e) = gw.reload_site().await {
                    tracing::warn!(error = %e, "configuration changed but the site view could not be reloaded");
                }
            }
            out
        }
    };
    Some(out)
}

async fn realm_rest_get(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let name = req.get("name").or_else(|| req.get("id"));
    let realm = match name {
        Some(n) => gw.realm_get(Some(n)).await?,
        None => match gw.site().realm.clone() {
            Some(r) => gw.realm_get(Some(&r.id)).await?,
            None => gw.realm_get(None).await?,
        },
    };
    to_json(&realm)
}

async fn period_rest_get(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let epoch = req
        .get("epoch")
        .map(|e| e.parse::<u64>())
        .transpose()
        .map_err(|_| AdminError::BadRequest("epoch must be a number".into()))?;
    to_json(&gw.period_get(req.get("period_id"), epoch).await?)
}

/// RGW's `POST /admin/realm/period`: on the master a staging period is committed (a secondary's `period
/// update --commit`); anywhere a newer committed period (the master's push) becomes current.
async fn period_rest_post(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let body = req
        .body
        .clone()
        .ok_or_else(|| AdminError::BadRequest("POST /admin/realm/period needs a period as its JSON body".into()))?;
    let period: Period =
        serde_json::from_value(body).map_err(|e| AdminError::BadRequest(format!("malformed period: {e}")))?;
    if period.is_staging() {
        let site = gw.site();
        if period.master_zone != site.zone_id {
            return Err(GatewayError::Conflict(format!(
                "this zone ({}) is not the master zone {} of the staging period: send it to the master",
                site.zone_name, period.master_zone
            ))
            .into());
        }
        return to_json(&master::commit_and_push(gw, period).await?);
    }
    gw.period_accept(period.clone()).await?;
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

async fn config_verb(gw: &Gateway, req: &AdminRequest, verb: &str) -> Result<Value, AdminError> {
    match verb {
        "realm/create" => to_json(
            &gw.realm_create(req.require("rgw-realm")?, req.is_true("default"))
                .await?,
        ),
        "realm/get" => to_json(&gw.realm_get(req.get("rgw-realm")).await?),
        "realm/list" => Ok(names(gw.realm_list().await?, "realms")),
        "realm/rename" => to_json(
            &gw.realm_rename(req.require("rgw-realm")?, req.require("realm-new-name")?)
                .await?,
        ),
        "realm/delete" => {
            gw.realm_delete(req.require("rgw-realm")?).await?;
            Ok(Value::Null)
        }
        "realm/default" => to_json(&gw.realm_set_default(req.require("rgw-realm")?).await?),
        "realm/pull" => to_json(&master::pull_realm(gw, req.require("url")?, key_param(req).as_ref()).await?),
        "zonegroup/create" => to_json(
            &gw.zonegroup_create(req.require("rgw-zonegroup")?, zonegroup_spec(req)?)
                .await?,
        ),
        "zonegroup/modify" => {
            let name = match req.get("rgw-zonegroup") {
                Some(n) => n.to_string(),
                None => gw.site().zonegroup_id.clone(),
            };
            to_json(&gw.zonegroup_modify(&name, zonegroup_spec(req)?).await?)
        }
        "zonegroup/get" => to_json(&gw.zonegroup_get(req.get("rgw-zonegroup")).await?),
        "zonegroup/list" => Ok(names(gw.zonegroup_list().await?, "zonegroups")),
        "zonegroup/rename" => to_json(
            &gw.zonegroup_rename(req.require("rgw-zonegroup")?, req.require("zonegroup-new-name")?)
                .await?,
        ),
        "zonegroup/delete" => {
            gw.zonegroup_delete(req.require("rgw-zonegroup")?).await?;
            Ok(Value::Null)
        }
        "zonegroup/placement-add" => {
            let name = match req.get("rgw-zonegroup") {
                Some(n) => n.to_string(),
                None => gw.site().zonegroup_id.clone(),
            };
            to_json(
                &gw.zonegroup_placement_add(&name, req.require("placement-id")?, req.get("storage-class"))
                    .await?,
            )
        }
        "zone/create" => to_json(&gw.zone_create(req.require("rgw-zone")?, zone_spec(req)?).await?),
        "zone/modify" => {
            let name = match req.get("rgw-zone") {
                Some(n) => n.to_string(),
                None => gw.site().zone_id.clone(),
            };
            to_json(&gw.zone_modify(&name, zone_spec(req)?).await?)
        }
        "zone/get" => to_json(&gw.zone_get(req.get("rgw-zone")).await?),
        "zone/list" => Ok(names(gw.zone_list().await?, "zones")),
        "zone/rename" => to_json(
            &gw.zone_rename(req.require("rgw-zone")?, req.require("zone-new-name")?)
                .await?,
        ),
        "zone/delete" => {
            gw.zone_delete(req.require("rgw-zone")?).await?;
            Ok(Value::Null)
        }
        "period/get" => {
            let epoch = req
                .get("epoch")
                .map(|e| e.parse::<u64>())
                .transpose()
                .map_err(|_| AdminError::BadRequest("--epoch must be a number".into()))?;
            to_json(&gw.period_get(req.get("period-id"), epoch).await?)
        }
        "period/list" => Ok(json!({"periods": gw.period_list().await?})),
        "period/update" if req.is_true("commit") => to_json(&master::commit_staging(gw, req.get("rgw-realm")).await?),
        "period/update" => to_json(&gw.period_update(req.get("rgw-realm")).await?),
        "period/pull" => {
            let url = match req.get("url") {
                Some(u) => u.to_string(),
                None => gw.site().master_endpoints().into_iter().next().ok_or_else(|| {
                    AdminError::BadRequest("pass --url: this zone knows no master endpoint yet".into())
                })?,
            };
            let (period, _) = master::pull_period(gw, &url, key_param(req).as_ref()).await?;
            to_json(&period)
        }
        _ => Err(AdminError::BadRequest(format!(
            "unsupported configuration request {} /admin/config/{verb}",
            req.method
        ))),
    }
}
