//! The admin verbs, addressed as RGW's admin-ops API addresses them (method + resource + parameters).

use crate::error::AdminError;
use crate::rgw_json;
use meridian_gateway::buckets::split_bucket_name;
use meridian_gateway::users::{full_user_id, resolve_user_id, NewUser};
use meridian_gateway::{Gateway, GatewayError};
use meridian_peer::master;
pub use meridian_peer::AdminRequest;
use serde_json::{json, Value};

/// Parameter checks with the CLI's wording (`--name`), for requests arriving either way.
pub(crate) trait Params {
    fn require(&self, name: &str) -> Result<&str, AdminError>;
    fn number(&self, name: &str, default: usize) -> Result<usize, AdminError>;
}

impl Params for AdminRequest {
    fn require(&self, name: &str) -> Result<&str, AdminError> {
        self.get(name)
            .ok_or_else(|| AdminError::BadRequest(format!("missing required parameter --{name}")))
    }

    fn number(&self, name: &str, default: usize) -> Result<usize, AdminError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| AdminError::BadRequest(format!("--{name} must be a whole number, not {v:?}"))),
        }
    }
}

/// The user a request names: `uid` as `tenant$uid`, or `tenant` and `uid` (radosgw-admin's `--tenant`).
fn user_id_param(req: &AdminRequest) -> Result<String, AdminError> {
    let (tenant, uid) = resolve_user_id(req.get("tenant"), req.require("uid")?)?;
    Ok(full_user_id(&tenant, &uid))
}

/// Answers one admin request. On a zone that is not the metadata master, user changes go to the master
/// first and this zone then stores the master's record, so users (and their keys) are the same everywhere.
pub async fn dispatch(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    if let Some(out) = crate::config::dispatch(gw, req).await {
        return out;
    }
    if let Some(out) = crate::logs::dispatch(gw, req).await {
        return out;
    }
    if let Some(out) = crate::r#move::dispatch(gw, req).await {
        return out;
    }
    if !gw.site().is_meta_master() {
        if is_user_change(req) {
            return forward_user_change(gw, req).await;
        }
        if let Some(key) = metadata_change_key(req) {
            let answer = master::forward(gw, req).await?;
            copy_after_forward(gw, &key).await;
            return Ok(answer);
        }
    }
    if let Some(out) = crate::metadata::dispatch(gw, req).await {
        return out;
    }
    local(gw, req).await
}

/// The key an operator's `metadata put|rm` changes (a sync put from the master is applied here as it is).
fn metadata_change_key(req: &AdminRequest) -> Option<String> {
    let section = req.resource.trim_matches('/').strip_prefix("metadata/")?;
    let writes = req.method == http::Method::PUT || req.method == http::Method::DELETE;
    (writes && !req.is_true("sync")).then(|| format!("{section}:{}", req.get("key").unwrap_or_default()))
}

fn is_user_change(req: &AdminRequest) -> bool {
    req.resource.trim_matches('/') == "user" && req.method != http::Method::GET
}

async fn forward_user_change(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    let uid = match req.get("uid") {
        Some(_) => user_id_param(req)?,
        // `key rm --access-key` alone: the owner is found here before the key disappears.
        None => gw.lookup_access_key(req.require("access-key")?).await?.0.full_id(),
    };
    let answer = master::forward(gw, req).await?;
    copy_after_forward(gw, &format!("user:{uid}")).await;
    Ok(answer)
}

/// Once the master applied a change, the change is made: the caller is told so even when this zone cannot
/// store the master's record right now (an error would claim that nothing changed). Metadata sync brings the
/// record here later, as it does for every zone.
async fn copy_after_forward(gw: &Gateway, key: &str) {
    if let Err(e) = master::copy_entry_from_master(gw, key).await {
        tracing::warn!(
            %key,
            error = %e,
            "the metadata master applied the change, but this zone could not store its record yet; metadata sync \
             will bring it"
        );
    }
}

async fn local(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    use http::Method;
    let m = &req.method;
    match req.resource.trim_matches('/') {
        "user" if req.params.contains_key("key") => {
            if *m == Method::PUT {
                let user = gw
                    .create_key(
                        &user_id_param(req)?,
                        req.get("access-key").map(str::to_string),
                        req.get("secret-key").map(str::to_string),
                    )
                    .await?;
                Ok(rgw_json::user(&user)["keys"].clone())
            } else if *m == Method::DELETE {
                gw.remove_key(req.require("access-key")?).await?;
                Ok(Value::Null)
            } else {
                Err(unsupported(req))
            }
        }
        "user" if *m == Method::GET => {
            let user = match (req.get("uid"), req.get("access-key")) {
                (None, Some(ak)) => match gw.lookup_access_key(ak).await?.0 {
                    // The system principals (zone and local admin keys) are not users.
                    u if u.keys.is_empty() => return Err(GatewayError::NoSuchKeyId(ak.to_string()).into()),
                    u => u,
                },
                _ => gw.user_info(&user_id_param(req)?).await?,
            };
            Ok(rgw_json::user(&user))
        }
        "user" if *m == Method::PUT => {
            let (tenant, uid) = resolve_user_id(req.get("tenant"), req.require("uid")?)?;
            let user = gw
                .create_user(NewUser {
                    tenant,
                    uid,
                    display_name: req.require("display-name")?.to_string(),
                    email: req.get("email").unwrap_or_default().to_string(),
                    access_key: req.get("access-key").map(str::to_string),
                    secret_key: req.get("secret-key").map(str::to_string),
                    system: req.is_true("system"),
                    max_buckets: req.get("max-buckets").and_then(|v| v.parse().ok()),
                })
                .await?;
            Ok(rgw_json::user(&user))
        }
        "user" if *m == Method::POST => {
            let uid = user_id_param(req)?;
            let suspended = req
                .get("suspended")
                .ok_or_else(|| AdminError::BadRequest("nothing to modify: pass suspended=true|false".into()))?;
            let user = gw
                .set_user_suspended(&uid, suspended == "true" || suspended == "1")
                .await?;
            Ok(rgw_json::user(&user))
        }
        "user" if *m == Method::DELETE => {
            gw.remove_user(&user_id_param(req)?, req.is_true("purge-data")).await?;
            Ok(Value::Null)
        }
        // A non-master zone's CreateBucket, recorded here on the master in the sender's zonegroup.
        "bucket" if *m == Method::PUT => {
            if !gw.site().is_meta_master() {
                return Err(GatewayError::NotMetaMaster {
                    master_endpoints: gw.site().master_endpoints(),
                }
                .into());
            }
            let owner = gw.user_info(&user_id_param(req)?).await?;
            // The S3 CreateBucket's ACL (canned or grant headers), as JSON; absent: private.
            let acl = match req.get("acl") {
                Some(json) => Some(
                    serde_json::from_str(json)
                        .map_err(|e| AdminError::BadRequest(format!("--acl is not an ACL: {e}")))?,
                ),
                None => None,
            };
            let bucket = gw
                .create_bucket_in_with_acl(&owner, req.require("bucket")?, req.require("zonegroup")?, acl)
                .await?;
            let key = format!(
                "bucket.instance:{}:{}",
                meridian_model::bucket::bucket_spec(&bucket.tenant, &bucket.name),
                bucket.bucket_id
            );
            Ok(
                serde_json::to_value(gw.metadata_get(&key).await?)
                    .map_err(|e| GatewayError::Internal(e.to_string()))?,
            )
        }
        "bucket" if *m == Method::GET => match req.get("bucket") {
            Some(spec) => {
                let bucket = gw.bucket_info(spec).await?;
                let stats = gw.bucket_stats(&bucket).await?;
                let mut out = rgw_json::bucket_stats(&bucket, &stats);
                // Beyond RGW's fields: what a zonegroup change by metadata put must know (see metadata.rs).
                out["num_incomplete_uploads"] = json!(gw.bucket_contents(&bucket).await?.uploads);
                Ok(out)
            }
            None => {
                let buckets = match req.get("uid") {
                    Some(_) => gw.list_buckets(&user_id_param(req)?).await?,
                    None => gw.list_all_buckets().await?,
                };
                if req.is_true("stats") {
                    let mut out = Vec::new();
                    for b in buckets {
                        let s = gw.bucket_stats(&b).await?;
                        out.push(rgw_json::bucket_stats(&b, &s));
                    }
                    Ok(Value::Array(out))
                } else {
                    // `tenant/name` for a tenant's bucket: what `bucket stats|rm|move --bucket` take back.
                    Ok(json!(buckets
                        .iter()
                        .map(|b| meridian_model::bucket::bucket_spec(&b.tenant, &b.name))
                        .collect::<Vec<_>>()))
                }
            }
        },
        "bucket" if *m == Method::DELETE => {
            let spec = req.require("bucket")?;
            let (tenant, name) = split_bucket_name(spec);
            gw.remove_bucket(&tenant, &name, req.is_true("purge-objects")).await?;
            if !gw.site().is_meta_master() {
                // The objects lived here; the realm-wide record is the master's to drop.
                master::forward(
                    gw,
                    &AdminRequest::new(Method::DELETE, "metadata/bucket").param("key", spec),
                )
                .await?;
            }
            Ok(Value::Null)
        }
        _ => Err(unsupported(req)),
    }
}

fn unsupported(req: &AdminRequest) -> AdminError {
    AdminError::BadRequest(format!(
        "unsupported admin request {} /admin/{}",
        req.method, req.resource
    ))
}
