//! RGW's admin-ops user, key and bucket verbs (`/admin/user`, `/admin/bucket`), one handler each; the router
//! (`router.rs`) picks the handler and forwards user changes to the metadata master first.

use crate::config::to_json;
use crate::error::AdminError;
use crate::router::UserLookup;
use meridian_gateway::buckets::split_bucket_name;
use meridian_gateway::users::{full_user_id, resolve_user_id, split_user_id, NewUser};
use meridian_gateway::{Gateway, GatewayError};
use meridian_multisite as multisite;
pub use meridian_peer::AdminRequest;
use meridian_proto::rgw::{BucketStatsInfo, UserInfo};
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
pub(crate) fn user_id_param(req: &AdminRequest) -> Result<String, AdminError> {
    let (tenant, uid) = resolve_user_id(req.get("tenant"), req.require("uid")?)?;
    Ok(full_user_id(&tenant, &uid))
}

/// `GET /admin/user`.
pub(crate) async fn user_info(gw: &Gateway, lookup: &UserLookup) -> Result<Value, AdminError> {
    let user = match lookup {
        UserLookup::AccessKey(ak) => match gw.users().lookup_access_key(ak).await?.0 {
            // The system principals (zone and local admin keys) are not users.
            u if u.keys.is_empty() => return Err(GatewayError::NoSuchKeyId(ak.to_string()).into()),
            u => u,
        },
        UserLookup::Uid(uid) => gw.users().info(uid).await?,
    };
    to_json(&UserInfo::from(&user))
}

/// `PUT /admin/user`.
pub(crate) async fn user_create(gw: &Gateway, uid: &str, req: &AdminRequest) -> Result<Value, AdminError> {
    // `uid` is the whole `tenant$uid` the router resolved (`user_id_param`).
    let (tenant, uid) = split_user_id(uid);
    let user = gw
        .users()
        .create(NewUser {
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
    to_json(&UserInfo::from(&user))
}

/// `POST /admin/user`.
pub(crate) async fn user_modify(gw: &Gateway, uid: &str, req: &AdminRequest) -> Result<Value, AdminError> {
    let suspended = req
        .get("suspended")
        .ok_or_else(|| AdminError::BadRequest("nothing to modify: pass suspended=true|false".into()))?;
    let user = gw
        .users()
        .set_suspended(uid, suspended == "true" || suspended == "1")
        .await?;
    to_json(&UserInfo::from(&user))
}

/// `DELETE /admin/user`.
pub(crate) async fn user_remove(gw: &Gateway, uid: &str, purge_data: bool) -> Result<Value, AdminError> {
    gw.users().remove(uid, purge_data).await?;
    Ok(Value::Null)
}

/// `PUT /admin/user?key`.
pub(crate) async fn key_create(gw: &Gateway, uid: &str, req: &AdminRequest) -> Result<Value, AdminError> {
    let user = gw
        .users()
        .create_key(
            uid,
            req.get("access-key").map(str::to_string),
            req.get("secret-key").map(str::to_string),
        )
        .await?;
    to_json(&UserInfo::from(&user).keys)
}

/// `DELETE /admin/user?key`.
pub(crate) async fn key_remove(gw: &Gateway, access_key: &str) -> Result<Value, AdminError> {
    gw.users().remove_key(access_key).await?;
    Ok(Value::Null)
}

/// `PUT /admin/bucket`: a non-master zone's CreateBucket, recorded here on the master in the sender's
/// zonegroup.
pub(crate) async fn bucket_create(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    if !gw.site().is_meta_master() {
        return Err(GatewayError::NotMetaMaster {
            master_endpoints: gw.site().master_endpoints(),
        }
        .into());
    }
    let owner = gw.users().info(&user_id_param(req)?).await?;
    // The S3 CreateBucket's ACL (canned or grant headers), as JSON; absent: private.
    let acl = match req.get("acl") {
        Some(json) => {
            Some(serde_json::from_str(json).map_err(|e| AdminError::BadRequest(format!("--acl is not an ACL: {e}")))?)
        }
        None => None,
    };
    let bucket = gw
        .buckets()
        .create_in_with_acl(&owner, req.require("bucket")?, req.require("zonegroup")?, acl)
        .await?;
    let key = format!(
        "bucket.instance:{}:{}",
        meridian_model::bucket::bucket_spec(&bucket.tenant, &bucket.name),
        bucket.bucket_id
    );
    Ok(serde_json::to_value(gw.metadata().get(&key).await?).map_err(|e| GatewayError::Internal(e.to_string()))?)
}

/// `GET /admin/bucket?bucket=B`.
pub(crate) async fn bucket_info(gw: &Gateway, spec: &str) -> Result<Value, AdminError> {
    let bucket = gw.buckets().info(spec).await?;
    let stats = gw.buckets().stats(&bucket).await?;
    let mut out = BucketStatsInfo::new(&bucket, &stats);
    // Beyond RGW's fields: what a zonegroup change by metadata put must know (see metadata.rs).
    out.num_incomplete_uploads = Some(gw.metadata().bucket_contents(&bucket).await?.uploads);
    to_json(&out)
}

/// `GET /admin/bucket[?uid=U][&stats]`.
pub(crate) async fn bucket_list(gw: &Gateway, uid: Option<&str>, stats: bool) -> Result<Value, AdminError> {
    let buckets = match uid {
        Some(uid) => gw.buckets().list(uid).await?,
        None => gw.buckets().list_all().await?,
    };
    if stats {
        let mut out = Vec::new();
        for b in buckets {
            let s = gw.buckets().stats(&b).await?;
            out.push(BucketStatsInfo::new(&b, &s));
        }
        to_json(&out)
    } else {
        // `tenant/name` for a tenant's bucket: what `bucket stats|rm|move --bucket` take back.
        Ok(json!(buckets
            .iter()
            .map(|b| meridian_model::bucket::bucket_spec(&b.tenant, &b.name))
            .collect::<Vec<_>>()))
    }
}

/// `DELETE /admin/bucket?bucket=B`.
pub(crate) async fn bucket_remove(gw: &Gateway, spec: &str, purge_objects: bool) -> Result<Value, AdminError> {
    let (tenant, name) = split_bucket_name(spec);
    gw.buckets().remove(&tenant, &name, purge_objects).await?;
    if !gw.site().is_meta_master() {
        // The objects lived here; the realm-wide record is the master's to drop.
        multisite::forward(
            gw,
            &AdminRequest::new(http::Method::DELETE, "metadata/bucket").param("key", spec),
        )
        .await?;
    }
    Ok(Value::Null)
}
