//! The admin verbs, addressed as RGW's admin-ops API addresses them (method + resource + parameters).

use crate::error::AdminError;
use crate::rgw_json;
use meridian_gateway::buckets::split_bucket_name;
use meridian_gateway::users::{split_user_id, NewUser};
use meridian_gateway::Gateway;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRequest {
    pub method: http::Method,
    /// Path below `/admin/`, e.g. `user`, `bucket`, `metadata/user`, `log`.
    pub resource: String,
    pub params: BTreeMap<String, String>,
}

impl AdminRequest {
    pub fn new(method: http::Method, resource: &str) -> Self {
        Self {
            method,
            resource: resource.to_string(),
            params: BTreeMap::new(),
        }
    }

    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.insert(name.to_string(), value.into());
        self
    }

    pub fn opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.param(name, v),
            None => self,
        }
    }

    pub fn flag(self, name: &str, on: bool) -> Self {
        if on {
            self.param(name, "true")
        } else {
            self
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn require(&self, name: &str) -> Result<&str, AdminError> {
        self.get(name)
            .ok_or_else(|| AdminError::BadRequest(format!("missing required parameter --{name}")))
    }

    fn is_true(&self, name: &str) -> bool {
        self.params
            .get(name)
            .is_some_and(|v| v.is_empty() || v == "true" || v == "1" || v == "True")
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

pub async fn dispatch(gw: &Gateway, req: &AdminRequest) -> Result<Value, AdminError> {
    use http::Method;
    let m = &req.method;
    match req.resource.trim_matches('/') {
        "user" if req.params.contains_key("key") => {
            if *m == Method::PUT {
                let user = gw
                    .create_key(
                        req.require("uid")?,
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
        "user" if *m == Method::GET => Ok(rgw_json::user(&gw.user_info(req.require("uid")?).await?)),
        "user" if *m == Method::PUT => {
            let (tenant, uid) = split_user_id(req.require("uid")?);
            let user = gw
                .create_user(NewUser {
                    tenant: req.get("tenant").map_or(tenant, str::to_string),
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
            let uid = req.require("uid")?;
            let suspended = req
                .get("suspended")
                .ok_or_else(|| AdminError::BadRequest("nothing to modify: pass suspended=true|false".into()))?;
            let user = gw
                .set_user_suspended(uid, suspended == "true" || suspended == "1")
                .await?;
            Ok(rgw_json::user(&user))
        }
        "user" if *m == Method::DELETE => {
            gw.remove_user(req.require("uid")?, req.is_true("purge-data")).await?;
            Ok(Value::Null)
        }
        "metadata/user" if *m == Method::GET => Ok(json!(gw.list_users().await?)),
        "metadata/bucket" if *m == Method::GET => Ok(json!(gw
            .list_all_buckets()
            .await?
            .into_iter()
            .map(|b| if b.tenant.is_empty() {
                b.name
            } else {
                format!("{}/{}", b.tenant, b.name)
            })
            .collect::<Vec<_>>())),
        "bucket" if *m == Method::GET => match req.get("bucket") {
            Some(spec) => {
                let bucket = gw.bucket_info(spec).await?;
                let stats = gw.bucket_stats(&bucket).await?;
                Ok(rgw_json::bucket_stats(&bucket, &stats))
            }
            None => {
                let buckets = match req.get("uid") {
                    Some(uid) => gw.list_buckets(uid).await?,
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
                    Ok(json!(buckets.into_iter().map(|b| b.name).collect::<Vec<_>>()))
                }
            }
        },
        "bucket" if *m == Method::DELETE => {
            let (tenant, name) = split_bucket_name(req.require("bucket")?);
            gw.remove_bucket(&tenant, &name, req.is_true("purge-objects")).await?;
            Ok(Value::Null)
        }
        "log" if *m == Method::GET => {
            let max = req.number("max-entries", 1000)?;
            let marker = req.get("marker").map(str::to_string);
            match req.require("type")? {
                "bucket-index" => {
                    let entries = gw.bilog_list(req.require("bucket")?, marker, max).await?;
                    Ok(Value::Array(entries.iter().map(rgw_json::bilog_entry).collect()))
                }
                "data" => {
                    let shard = req
                        .get("id")
                        .map(|s| {
                            s.parse::<u32>()
                                .map_err(|_| AdminError::BadRequest(format!("shard id must be a number, not {s:?}")))
                        })
                        .transpose()?;
                    let entries = gw.datalog_list(shard, marker, max).await?;
                    Ok(Value::Array(
                        entries.iter().map(|(s, e)| rgw_json::datalog_entry(*s, e)).collect(),
                    ))
                }
                other => Err(AdminError::BadRequest(format!(
                    "unknown log type {other:?}: use bucket-index or data"
                ))),
            }
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
