//! The admin API's one router: every endpoint is a variant of `AdminEndpoint`, `AdminEndpoint::parse` reads
//! it from a request's method, resource and query, and `handle` is the one `match` that calls its handler
//! (after sending the changes only the metadata master makes to the master).

use crate::config::ConfigVerb;
use crate::error::AdminError;
use crate::ops::{user_id_param, Params};
use crate::services::Services;
use http::Method;
use meridian_gateway::{Gateway, GatewayError};
use meridian_multisite as multisite;
use meridian_peer::proto::bucket_move::MoveZoneCall;
use meridian_peer::AdminRequest;
use s3s::{Body, S3Response};
use serde_json::{json, Value};

/// Which user `GET /admin/user` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    Uid(String),
    AccessKey(String),
}

/// One admin endpoint, with the parameters its handler needs typed where that is cheap. The handlers read
/// the others (and the JSON body) from the request, so their errors keep their order and wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminEndpoint {
    /// `GET /admin/user?uid=U` or `?access-key=AK`.
    UserInfo(UserLookup),
    /// `PUT /admin/user?uid=U&display-name=...`.
    UserCreate { uid: String },
    /// `POST /admin/user?uid=U&suspended=true|false`.
    UserModify { uid: String },
    /// `DELETE /admin/user?uid=U[&purge-data]`.
    UserRemove { uid: String, purge_data: bool },
    /// `PUT /admin/user?key&uid=U[&access-key&secret-key]`.
    KeyCreate { uid: String },
    /// `DELETE /admin/user?key&access-key=AK`.
    KeyRemove { access_key: String },
    /// `PUT /admin/bucket?uid&bucket&zonegroup`: another zone's CreateBucket, recorded on the master.
    BucketCreate,
    /// `GET /admin/bucket?bucket=B`.
    BucketInfo { bucket: String },
    /// `GET /admin/bucket[?uid=U][&stats]`.
    BucketList { uid: Option<String>, stats: bool },
    /// `DELETE /admin/bucket?bucket=B[&purge-objects]`.
    BucketRemove { bucket: String, purge_objects: bool },
    /// `GET /admin/realm`.
    RealmGet,
    /// `GET /admin/realm/period`.
    PeriodGet,
    /// `POST /admin/realm/period` (a period as the body).
    PeriodPost,
    /// `/admin/config/<kind>/<verb>`: the CLI's configuration verbs (any method; GET changes nothing).
    Config(ConfigVerb),
    /// `GET /admin/metadata`.
    MetadataSections,
    /// `GET /admin/metadata/<section>`.
    MetadataList { section: String },
    /// `GET /admin/metadata/<section>?key=K`.
    MetadataGet { section: String, key: String },
    /// `PUT /admin/metadata/<section>?key=K[&sync]` (the entry as the body).
    MetadataPut { section: String, key: String, sync: bool },
    /// `DELETE /admin/metadata/<section>?key=K[&sync]`.
    MetadataRemove { section: String, key: String, sync: bool },
    /// `GET /admin/log?type=...`.
    LogList,
    /// `DELETE /admin/log?type=...`.
    LogTrim,
    /// `POST /admin/log?type=...&notify|notify2`.
    LogNotify,
    /// `GET /admin/sync/object?bucket&key[&version-id]`: streamed.
    SyncObject {
        bucket: String,
        key: String,
        version_id: Option<String>,
    },
    /// `POST /admin/sync/fetch?bucket=B` (`{"keys": [...]}` as the body).
    SyncFetch,
    /// `GET /admin/sync/buckets`.
    SyncBuckets,
    /// `GET /admin/sync/objects?bucket=B`.
    SyncObjects,
    /// `GET /admin/sync/status`.
    SyncStatus,
    /// `GET /admin/sync/bucket?bucket=B`.
    SyncBucketStatus { bucket: String },
    /// `GET /admin/sync/trimmed`.
    SyncTrimmed,
    /// `GET /admin/sync/markers?source-zone=Z`.
    SyncMarkers { source_zone: String },
    /// `POST /admin/bucket-move/zone?op=...`: the master's call to this zone.
    MoveZone,
    /// `POST /admin/bucket-move?bucket&zonegroup[&concurrency]`.
    MoveStart {
        bucket: String,
        zonegroup: String,
        concurrency: usize,
    },
    /// `GET /admin/bucket-move[?bucket=B]`.
    MoveStatus { bucket: Option<String> },
    /// `POST /admin/bucket-move/cancel?bucket=B`.
    MoveCancel { bucket: String },
    /// `GET /admin/bucket-move/work?zonegroup=ZG`.
    MoveWork { zonegroup: String },
    /// `POST /admin/bucket-move/report?bucket&move&zone` (the report as the body).
    MoveReport {
        bucket: String,
        move_id: String,
        zone: String,
    },
    /// `GET /admin/backup[?with-data]`: streamed.
    Backup { with_data: bool },
    /// `GET /admin/workers`.
    Workers,
}

/// What the master must do first on a zone that is not the metadata master.
#[derive(Debug, PartialEq, Eq)]
enum MasterFirst {
    /// A user or key change: forwarded, then this zone stores the master's `user:` record.
    User,
    /// An operator's metadata put or remove of this key: forwarded, then the master's record is stored.
    Metadata(String),
    /// A bucket move: the master keeps the move's record and answers.
    Move,
}

impl AdminEndpoint {
    /// Reads the endpoint from `req`'s method, resource and query (its body is the handler's to read).
    /// Unknown endpoints and missing required parameters are `400 InvalidArgument`, as they always were.
    pub fn parse(req: &AdminRequest) -> Result<Self, AdminError> {
        use AdminEndpoint as E;
        let m = &req.method;
        let resource = req.resource.trim_matches('/');
        if resource == "metadata" || resource.starts_with("metadata/") {
            return parse_metadata(req, resource.strip_prefix("metadata/").unwrap_or_default());
        }
        if let Some(verb) = resource.strip_prefix("config/") {
            return ConfigVerb::parse(verb, req.is_true("commit"))
                .map(AdminEndpoint::Config)
                .ok_or_else(|| {
                    AdminError::BadRequest(format!(
                        "unsupported configuration request {} /admin/config/{verb}",
                        req.method
                    ))
                });
        }
        if resource == "bucket-move" || resource.starts_with("bucket-move/") {
            return parse_move(req, resource);
        }
        let endpoint = match (m, resource) {
            (&Method::PUT, "user") if req.params.contains_key("key") => E::KeyCreate {
                uid: user_id_param(req)?,
            },
            (&Method::DELETE, "user") if req.params.contains_key("key") => E::KeyRemove {
                access_key: req.require("access-key")?.to_string(),
            },
            (_, "user") if req.params.contains_key("key") => return Err(unsupported(req)),
            (&Method::GET, "user") => E::UserInfo(match (req.get("uid"), req.get("access-key")) {
                (None, Some(ak)) => UserLookup::AccessKey(ak.to_string()),
                _ => UserLookup::Uid(user_id_param(req)?),
            }),
            (&Method::PUT, "user") => E::UserCreate {
                uid: user_id_param(req)?,
            },
            (&Method::POST, "user") => E::UserModify {
                uid: user_id_param(req)?,
            },
            (&Method::DELETE, "user") => E::UserRemove {
                uid: user_id_param(req)?,
                purge_data: req.is_true("purge-data"),
            },
            (&Method::PUT, "bucket") => E::BucketCreate,
            (&Method::GET, "bucket") => match req.get("bucket") {
                Some(bucket) => E::BucketInfo {
                    bucket: bucket.to_string(),
                },
                None => E::BucketList {
                    uid: req.get("uid").map(|_| user_id_param(req)).transpose()?,
                    stats: req.is_true("stats"),
                },
            },
            (&Method::DELETE, "bucket") => E::BucketRemove {
                bucket: req.require("bucket")?.to_string(),
                purge_objects: req.is_true("purge-objects"),
            },
            (&Method::GET, "realm") => E::RealmGet,
            (&Method::GET, "realm/period") => E::PeriodGet,
            (&Method::POST, "realm/period") => E::PeriodPost,
            (&Method::GET, "log") => E::LogList,
            (&Method::DELETE, "log") => E::LogTrim,
            (&Method::POST, "log") => E::LogNotify,
            (&Method::GET, "sync/object") => {
                // Present counts, even empty: the object is looked up as asked.
                let need = |name: &str| {
                    req.params
                        .get(name)
                        .cloned()
                        .ok_or_else(|| AdminError::BadRequest(format!("missing required parameter --{name}")))
                };
                E::SyncObject {
                    bucket: need("bucket")?,
                    key: need("key")?,
                    version_id: req.params.get("version-id").cloned(),
                }
            }
            (&Method::POST, "sync/fetch") => E::SyncFetch,
            (&Method::GET, "sync/buckets") => E::SyncBuckets,
            (&Method::GET, "sync/objects") => E::SyncObjects,
            (&Method::GET, "sync/status") => E::SyncStatus,
            (&Method::GET, "sync/bucket") => E::SyncBucketStatus {
                bucket: req.require("bucket")?.to_string(),
            },
            (&Method::GET, "sync/trimmed") => E::SyncTrimmed,
            (&Method::GET, "sync/markers") => E::SyncMarkers {
                source_zone: req.require("source-zone")?.to_string(),
            },
            (&Method::GET, "backup") => E::Backup {
                with_data: req.params.get("with-data").is_some_and(|v| v != "false"),
            },
            (&Method::GET, "workers") => E::Workers,
            _ => return Err(unsupported(req)),
        };
        Ok(endpoint)
    }

    /// On a zone that is not the metadata master, what of this endpoint goes to the master first.
    fn master_first(&self) -> Option<MasterFirst> {
        use AdminEndpoint as E;
        match self {
            E::UserCreate { .. }
            | E::UserModify { .. }
            | E::UserRemove { .. }
            | E::KeyCreate { .. }
            | E::KeyRemove { .. } => Some(MasterFirst::User),
            E::MetadataPut {
                section,
                key,
                sync: false,
            }
            | E::MetadataRemove {
                section,
                key,
                sync: false,
            } => Some(MasterFirst::Metadata(format!("{section}:{key}"))),
            E::MoveStart { .. }
            | E::MoveStatus { .. }
            | E::MoveCancel { .. }
            | E::MoveWork { .. }
            | E::MoveReport { .. } => Some(MasterFirst::Move),
            _ => None,
        }
    }
}

fn parse_metadata(req: &AdminRequest, section: &str) -> Result<AdminEndpoint, AdminError> {
    use AdminEndpoint as E;
    let m = &req.method;
    if section.is_empty() {
        return match *m {
            Method::GET => Ok(E::MetadataSections),
            _ => Err(crate::metadata::unsupported(req)),
        };
    }
    let section = section.to_string();
    let sync = req.is_true("sync");
    match (m, req.get("key").map(str::to_string)) {
        (&Method::GET, None) => Ok(E::MetadataList { section }),
        (&Method::GET, Some(key)) => Ok(E::MetadataGet { section, key }),
        (&Method::PUT, Some(key)) => Ok(E::MetadataPut { section, key, sync }),
        (&Method::DELETE, Some(key)) => Ok(E::MetadataRemove { section, key, sync }),
        (&Method::PUT | &Method::DELETE, None) => {
            Err(AdminError::BadRequest("missing required parameter --key".into()))
        }
        _ => Err(crate::metadata::unsupported(req)),
    }
}

fn parse_move(req: &AdminRequest, resource: &str) -> Result<AdminEndpoint, AdminError> {
    use AdminEndpoint as E;
    let endpoint = match (&req.method, resource) {
        (&Method::POST, "bucket-move/zone") => E::MoveZone,
        (_, "bucket-move/zone") => return Err(AdminError::BadRequest("bucket-move/zone takes POST".into())),
        (&Method::POST, "bucket-move") => {
            let concurrency = req.number("concurrency", 4)?;
            E::MoveStart {
                bucket: req.require("bucket")?.to_string(),
                zonegroup: req.require("zonegroup")?.to_string(),
                concurrency,
            }
        }
        (&Method::GET, "bucket-move") => E::MoveStatus {
            bucket: req.get("bucket").map(str::to_string),
        },
        (&Method::POST, "bucket-move/cancel") => E::MoveCancel {
            bucket: req.require("bucket")?.to_string(),
        },
        (&Method::GET, "bucket-move/work") => E::MoveWork {
            zonegroup: req.require("zonegroup")?.to_string(),
        },
        (&Method::POST, "bucket-move/report") => E::MoveReport {
            bucket: req.require("bucket")?.to_string(),
            move_id: req.require("move")?.to_string(),
            zone: req.require("zone")?.to_string(),
        },
        _ => {
            return Err(AdminError::Gateway(GatewayError::InvalidRequest(format!(
                "unsupported admin request {} /admin/{resource}",
                req.method
            ))))
        }
    };
    Ok(endpoint)
}

pub(crate) fn unsupported(req: &AdminRequest) -> AdminError {
    AdminError::BadRequest(format!(
        "unsupported admin request {} /admin/{}",
        req.method, req.resource
    ))
}

/// An endpoint's answer: a JSON document, or a response of its own (a streamed body).
pub enum Reply {
    Json(Value),
    Stream(S3Response<Body>),
}

/// Answers one admin request, parsed or not (the CLI's direct mode and the REST route both come here).
/// Streamed answers need the REST route: here they are refused.
pub async fn dispatch(gw: &Gateway, services: &Services, req: &AdminRequest) -> Result<Value, AdminError> {
    match handle(gw, services, AdminEndpoint::parse(req)?, req).await? {
        Reply::Json(value) => Ok(value),
        Reply::Stream(_) => Err(AdminError::BadRequest(format!(
            "{} /admin/{} streams its answer: only a running server serves it",
            req.method, req.resource
        ))),
    }
}

/// The one `match` from an endpoint to its handler. On a zone that is not the metadata master, user and
/// metadata changes and bucket moves go to the master first (see `master_first`).
pub async fn handle(
    gw: &Gateway,
    services: &Services,
    endpoint: AdminEndpoint,
    req: &AdminRequest,
) -> Result<Reply, AdminError> {
    use crate::{config, logs, metadata, ops, r#move};
    use AdminEndpoint as E;
    if !gw.site().is_meta_master() {
        if let Some(first) = endpoint.master_first() {
            return forward_to_master(gw, req, first).await.map(Reply::Json);
        }
    }
    let value = match endpoint {
        E::UserInfo(lookup) => ops::user_info(gw, &lookup).await?,
        E::UserCreate { uid } => ops::user_create(gw, &uid, req).await?,
        E::UserModify { uid } => ops::user_modify(gw, &uid, req).await?,
        E::UserRemove { uid, purge_data } => ops::user_remove(gw, &uid, purge_data).await?,
        E::KeyCreate { uid } => ops::key_create(gw, &uid, req).await?,
        E::KeyRemove { access_key } => ops::key_remove(gw, &access_key).await?,
        E::BucketCreate => ops::bucket_create(gw, req).await?,
        E::BucketInfo { bucket } => ops::bucket_info(gw, &bucket).await?,
        E::BucketList { uid, stats } => ops::bucket_list(gw, uid.as_deref(), stats).await?,
        E::BucketRemove { bucket, purge_objects } => ops::bucket_remove(gw, &bucket, purge_objects).await?,
        E::RealmGet => config::realm_rest_get(gw, req).await?,
        E::PeriodGet => config::period_rest_get(gw, req).await?,
        E::PeriodPost => config::period_rest_post(gw, req).await?,
        E::Config(verb) => config::run(gw, req, verb).await?,
        E::MetadataSections => metadata::sections(gw).await,
        E::MetadataList { section } => metadata::list(gw, req, &section).await?,
        E::MetadataGet { section, key } => metadata::get(gw, &section, &key).await?,
        E::MetadataPut { section, key, sync } => metadata::put(gw, req, &section, &key, sync).await?,
        E::MetadataRemove { section, key, .. } => metadata::remove(gw, &section, &key).await?,
        E::LogList => logs::list(gw, req).await?,
        E::LogTrim => logs::trim(gw, req).await?,
        E::LogNotify => logs::notify(gw, services.sync()?, req)?,
        E::SyncObject {
            bucket,
            key,
            version_id,
        } => {
            return crate::route::sync_object(gw, &bucket, &key, version_id.as_deref())
                .await
                .map(Reply::Stream)
        }
        E::SyncFetch => logs::fetch(gw, req).await?,
        E::SyncBuckets => logs::buckets(gw).await?,
        E::SyncObjects => logs::objects(gw, req).await?,
        E::SyncStatus => logs::document(services.sync()?.sync_status(gw).await)?,
        E::SyncBucketStatus { bucket } => logs::document(services.sync()?.bucket_status(gw, &bucket).await)?,
        E::SyncTrimmed => logs::trimmed(gw).await?,
        E::SyncMarkers { source_zone } => logs::document(services.sync()?.markers(gw, &source_zone).await)?,
        E::MoveZone => {
            let call = MoveZoneCall::from_request(req).map_err(AdminError::BadRequest)?;
            crate::config::to_json(&services.moves()?.zone_call(gw, &call).await?)?
        }
        E::MoveStart {
            bucket,
            zonegroup,
            concurrency,
        } => services.moves()?.start(gw, &bucket, &zonegroup, concurrency).await?,
        E::MoveStatus { bucket } => services.moves()?.status(gw, bucket.as_deref()).await?,
        E::MoveCancel { bucket } => services.moves()?.cancel(gw, &bucket).await?,
        E::MoveWork { zonegroup } => services.moves()?.work(gw, &zonegroup).await?,
        E::MoveReport { bucket, move_id, zone } => {
            r#move::report(gw, services.moves()?, req, &bucket, &move_id, &zone).await?
        }
        E::Backup { with_data } => {
            return Ok(Reply::Stream(
                crate::backup::serve(services.backup.as_deref(), with_data).await,
            ))
        }
        E::Workers => {
            let list = services.workers.as_ref().map(|w| w.list()).unwrap_or_default();
            json!({ "workers": list })
        }
    };
    Ok(Reply::Json(value))
}

/// Sends a change only the metadata master makes to it, then (for users and metadata) stores the master's
/// record here, so users, keys and entries are the same in every zone.
async fn forward_to_master(gw: &Gateway, req: &AdminRequest, first: MasterFirst) -> Result<Value, AdminError> {
    let copy_key = match first {
        MasterFirst::Move => return Ok(multisite::forward(gw, req).await?),
        MasterFirst::Metadata(key) => key,
        MasterFirst::User => match req.get("uid") {
            Some(_) => format!("user:{}", user_id_param(req)?),
            // `key rm --access-key` alone: the owner is found here before the key disappears.
            None => format!(
                "user:{}",
                gw.users()
                    .lookup_access_key(req.require("access-key")?)
                    .await?
                    .0
                    .full_id()
            ),
        },
    };
    let answer = multisite::forward(gw, req).await?;
    copy_after_forward(gw, &copy_key).await;
    Ok(answer)
}

/// Once the master applied a change, the change is made: the caller is told so even when this zone cannot
/// store the master's record right now (an error would claim that nothing changed). Metadata sync brings the
/// record here later, as it does for every zone.
async fn copy_after_forward(gw: &Gateway, key: &str) {
    if let Err(e) = multisite::copy_entry_from_master(gw, key).await {
        tracing::warn!(
            %key,
            error = %e,
            "the metadata master applied the change, but this zone could not store its record yet; metadata sync \
             will bring it"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CONFIG_VERBS;
    use AdminEndpoint as E;

    fn req(method: Method, resource: &str, params: &[(&str, &str)]) -> AdminRequest {
        params
            .iter()
            .fold(AdminRequest::new(method, resource), |r, (k, v)| r.param(k, *v))
    }

    fn parse(method: Method, resource: &str, params: &[(&str, &str)]) -> Result<AdminEndpoint, AdminError> {
        AdminEndpoint::parse(&req(method, resource, params))
    }

    fn s(v: &str) -> String {
        v.to_string()
    }

    /// The error a request gets: (HTTP status, RGW code, message).
    fn refused(method: Method, resource: &str, params: &[(&str, &str)]) -> (u16, String, String) {
        match parse(method, resource, params) {
            Ok(e) => panic!("{resource} parsed as {e:?}"),
            Err(e) => (e.status(), e.code().to_string(), e.to_string()),
        }
    }

    /// A request (method, resource, query) and the endpoint it is.
    type Case = (Method, &'static str, Vec<(&'static str, &'static str)>, AdminEndpoint);

    #[test]
    fn every_endpoint_parses() {
        let cases: Vec<Case> = vec![
            (
                Method::GET,
                "user",
                vec![("uid", "t$u")],
                E::UserInfo(UserLookup::Uid(s("t$u"))),
            ),
            (
                Method::GET,
                "user",
                vec![("tenant", "t"), ("uid", "u")],
                E::UserInfo(UserLookup::Uid(s("t$u"))),
            ),
            (
                Method::PUT,
                "user",
                vec![("tenant", "t"), ("uid", "u")],
                E::UserCreate { uid: s("t$u") },
            ),
            (
                Method::GET,
                "bucket",
                vec![("tenant", "t"), ("uid", "u")],
                E::BucketList {
                    uid: Some(s("t$u")),
                    stats: false,
                },
            ),
            (
                Method::GET,
                "user",
                vec![("access-key", "AK")],
                E::UserInfo(UserLookup::AccessKey(s("AK"))),
            ),
            (
                Method::GET,
                "user",
                vec![("uid", "u"), ("access-key", "AK")],
                E::UserInfo(UserLookup::Uid(s("u"))),
            ),
            (
                Method::PUT,
                "user",
                vec![("uid", "u"), ("display-name", "U")],
                E::UserCreate { uid: s("u") },
            ),
            (
                Method::POST,
                "user",
                vec![("uid", "u"), ("suspended", "true")],
                E::UserModify { uid: s("u") },
            ),
            (
                Method::DELETE,
                "user",
                vec![("uid", "u"), ("purge-data", "")],
                E::UserRemove {
                    uid: s("u"),
                    purge_data: true,
                },
            ),
            (
                Method::DELETE,
                "/user/",
                vec![("uid", "u")],
                E::UserRemove {
                    uid: s("u"),
                    purge_data: false,
                },
            ),
            (
                Method::PUT,
                "user",
                vec![("key", ""), ("uid", "u")],
                E::KeyCreate { uid: s("u") },
            ),
            (
                Method::DELETE,
                "user",
                vec![("key", ""), ("access-key", "AK")],
                E::KeyRemove { access_key: s("AK") },
            ),
            (
                Method::DELETE,
                "user",
                vec![("key", ""), ("access-key", "AK"), ("uid", "u")],
                E::KeyRemove { access_key: s("AK") },
            ),
            (Method::PUT, "bucket", vec![], E::BucketCreate),
            (
                Method::GET,
                "bucket",
                vec![("bucket", "b")],
                E::BucketInfo { bucket: s("b") },
            ),
            (
                Method::GET,
                "bucket",
                vec![],
                E::BucketList {
                    uid: None,
                    stats: false,
                },
            ),
            (
                Method::GET,
                "bucket",
                vec![("uid", "u"), ("stats", "true")],
                E::BucketList {
                    uid: Some(s("u")),
                    stats: true,
                },
            ),
            (
                Method::DELETE,
                "bucket",
                vec![("bucket", "b"), ("purge-objects", "1")],
                E::BucketRemove {
                    bucket: s("b"),
                    purge_objects: true,
                },
            ),
            (Method::GET, "realm", vec![], E::RealmGet),
            (Method::GET, "realm/period", vec![], E::PeriodGet),
            (Method::POST, "realm/period", vec![], E::PeriodPost),
            (Method::GET, "metadata", vec![], E::MetadataSections),
            (Method::GET, "metadata/", vec![], E::MetadataSections),
            (
                Method::GET,
                "metadata/user",
                vec![],
                E::MetadataList { section: s("user") },
            ),
            (
                Method::GET,
                "metadata/bucket.instance",
                vec![("key", "b:1")],
                E::MetadataGet {
                    section: s("bucket.instance"),
                    key: s("b:1"),
                },
            ),
            (
                Method::PUT,
                "metadata/user",
                vec![("key", "u")],
                E::MetadataPut {
                    section: s("user"),
                    key: s("u"),
                    sync: false,
                },
            ),
            (
                Method::PUT,
                "metadata/user",
                vec![("key", "u"), ("sync", "true")],
                E::MetadataPut {
                    section: s("user"),
                    key: s("u"),
                    sync: true,
                },
            ),
            (
                Method::DELETE,
                "metadata/bucket",
                vec![("key", "b")],
                E::MetadataRemove {
                    section: s("bucket"),
                    key: s("b"),
                    sync: false,
                },
            ),
            (Method::GET, "log", vec![("type", "data")], E::LogList),
            (Method::DELETE, "log", vec![("type", "data")], E::LogTrim),
            (
                Method::POST,
                "log",
                vec![("type", "data"), ("notify2", "")],
                E::LogNotify,
            ),
            (
                Method::GET,
                "sync/object",
                vec![("bucket", "b"), ("key", "k")],
                E::SyncObject {
                    bucket: s("b"),
                    key: s("k"),
                    version_id: None,
                },
            ),
            (
                Method::GET,
                "sync/object",
                vec![("bucket", "b"), ("key", "k"), ("version-id", "v")],
                E::SyncObject {
                    bucket: s("b"),
                    key: s("k"),
                    version_id: Some(s("v")),
                },
            ),
            (Method::POST, "sync/fetch", vec![("bucket", "b")], E::SyncFetch),
            (Method::GET, "sync/buckets", vec![], E::SyncBuckets),
            (Method::GET, "sync/objects", vec![("bucket", "b")], E::SyncObjects),
            (Method::GET, "sync/status", vec![], E::SyncStatus),
            (
                Method::GET,
                "sync/bucket",
                vec![("bucket", "b")],
                E::SyncBucketStatus { bucket: s("b") },
            ),
            (Method::GET, "sync/trimmed", vec![], E::SyncTrimmed),
            (
                Method::GET,
                "sync/markers",
                vec![("source-zone", "z")],
                E::SyncMarkers { source_zone: s("z") },
            ),
            (Method::POST, "bucket-move/zone", vec![("op", "hold")], E::MoveZone),
            (
                Method::POST,
                "bucket-move",
                vec![("bucket", "b"), ("zonegroup", "eu")],
                E::MoveStart {
                    bucket: s("b"),
                    zonegroup: s("eu"),
                    concurrency: 4,
                },
            ),
            (
                Method::POST,
                "bucket-move",
                vec![("bucket", "b"), ("zonegroup", "eu"), ("concurrency", "9")],
                E::MoveStart {
                    bucket: s("b"),
                    zonegroup: s("eu"),
                    concurrency: 9,
                },
            ),
            (Method::GET, "bucket-move", vec![], E::MoveStatus { bucket: None }),
            (
                Method::GET,
                "bucket-move",
                vec![("bucket", "b")],
                E::MoveStatus { bucket: Some(s("b")) },
            ),
            (
                Method::POST,
                "bucket-move/cancel",
                vec![("bucket", "b")],
                E::MoveCancel { bucket: s("b") },
            ),
            (
                Method::GET,
                "bucket-move/work",
                vec![("zonegroup", "eu")],
                E::MoveWork { zonegroup: s("eu") },
            ),
            (
                Method::POST,
                "bucket-move/report",
                vec![("bucket", "b"), ("move", "m"), ("zone", "z")],
                E::MoveReport {
                    bucket: s("b"),
                    move_id: s("m"),
                    zone: s("z"),
                },
            ),
            (Method::GET, "backup", vec![], E::Backup { with_data: false }),
            (
                Method::GET,
                "backup",
                vec![("with-data", "")],
                E::Backup { with_data: true },
            ),
            (
                Method::GET,
                "backup",
                vec![("with-data", "false")],
                E::Backup { with_data: false },
            ),
            (Method::GET, "workers", vec![], E::Workers),
            (
                Method::POST,
                "config/period/update",
                vec![],
                E::Config(ConfigVerb::PeriodUpdate),
            ),
            (
                Method::POST,
                "config/period/update",
                vec![("commit", "true")],
                E::Config(ConfigVerb::PeriodCommit),
            ),
        ];
        for (method, resource, params, want) in cases {
            let got = parse(method.clone(), resource, &params);
            assert_eq!(got.ok(), Some(want), "{method} /admin/{resource} {params:?}");
        }
        // Configuration verbs answer any method (GET is the read-only one).
        for (path, verb) in CONFIG_VERBS {
            for method in [Method::GET, Method::POST] {
                let got = parse(method, &format!("config/{path}"), &[]);
                assert_eq!(got.ok(), Some(E::Config(*verb)), "config/{path}");
            }
        }
    }

    #[test]
    fn unknown_endpoints_are_the_400_they_were() {
        for (method, resource, params) in [
            (Method::GET, "nothing", vec![]),
            (Method::PATCH, "user", vec![("uid", "u")]),
            (Method::POST, "user", vec![("key", ""), ("uid", "u")]),
            (Method::GET, "user", vec![("key", ""), ("uid", "u")]),
            (Method::POST, "bucket", vec![("bucket", "b")]),
            (Method::PUT, "realm", vec![]),
            (Method::DELETE, "realm/period", vec![]),
            (Method::PUT, "log", vec![("type", "data")]),
            (Method::PUT, "sync/object", vec![("bucket", "b"), ("key", "k")]),
            (Method::GET, "sync/fetch", vec![]),
            (Method::POST, "backup", vec![]),
            (Method::DELETE, "workers", vec![]),
        ] {
            let (status, code, message) = refused(method.clone(), resource, &params);
            assert_eq!((status, code.as_str()), (400, "InvalidArgument"), "{method} {resource}");
            assert_eq!(message, format!("unsupported admin request {method} /admin/{resource}"));
        }
        let (status, _, message) = refused(Method::GET, "config/realm/explode", &[]);
        assert_eq!(status, 400);
        assert_eq!(
            message,
            "unsupported configuration request GET /admin/config/realm/explode"
        );
        for (method, resource) in [(Method::POST, "metadata"), (Method::POST, "metadata/user")] {
            let (status, code, message) = refused(method.clone(), resource, &[("key", "u")]);
            assert_eq!((status, code.as_str()), (400, "InvalidArgument"));
            assert!(
                message.starts_with(&format!("unsupported metadata request {method} /admin/{resource}:")),
                "{message}"
            );
        }
        // Bucket moves answered these with InvalidRequest, and bucket-move/zone its own wording.
        let (status, code, message) = refused(Method::DELETE, "bucket-move/other", &[]);
        assert_eq!((status, code.as_str()), (400, "InvalidRequest"));
        assert!(
            message.ends_with("unsupported admin request DELETE /admin/bucket-move/other"),
            "{message}"
        );
        let (status, _, message) = refused(Method::GET, "bucket-move/zone", &[]);
        assert_eq!((status, message.as_str()), (400, "bucket-move/zone takes POST"));
    }

    #[test]
    fn missing_required_parameters_are_named() {
        for (method, resource, params, missing) in [
            (Method::GET, "user", vec![], "uid"),
            (Method::PUT, "user", vec![("display-name", "U")], "uid"),
            (Method::POST, "user", vec![], "uid"),
            (Method::DELETE, "user", vec![], "uid"),
            (Method::PUT, "user", vec![("key", "")], "uid"),
            (Method::DELETE, "user", vec![("key", ""), ("uid", "u")], "access-key"),
            (Method::DELETE, "bucket", vec![], "bucket"),
            (Method::PUT, "metadata/user", vec![], "key"),
            (Method::DELETE, "metadata/user", vec![("key", "")], "key"),
            (Method::GET, "sync/object", vec![("key", "k")], "bucket"),
            (Method::GET, "sync/object", vec![("bucket", "b")], "key"),
            (Method::GET, "sync/bucket", vec![], "bucket"),
            (Method::GET, "sync/markers", vec![], "source-zone"),
            (Method::POST, "bucket-move", vec![("zonegroup", "eu")], "bucket"),
            (Method::POST, "bucket-move", vec![("bucket", "b")], "zonegroup"),
            (Method::POST, "bucket-move/cancel", vec![], "bucket"),
            (Method::GET, "bucket-move/work", vec![], "zonegroup"),
            (
                Method::POST,
                "bucket-move/report",
                vec![("bucket", "b"), ("zone", "z")],
                "move",
            ),
        ] {
            let (status, code, message) = refused(method.clone(), resource, &params);
            assert_eq!((status, code.as_str()), (400, "InvalidArgument"), "{method} {resource}");
            assert_eq!(
                message,
                format!("missing required parameter --{missing}"),
                "{method} {resource}"
            );
        }
        // A user id is checked where it is read (a tenant before '$' must not be empty).
        let (status, code, message) = refused(Method::GET, "user", &[("uid", "$u")]);
        assert_eq!((status, code.as_str()), (400, "InvalidArgument"));
        assert!(message.contains("the tenant before '$' is empty"), "{message}");
        let (_, _, message) = refused(Method::POST, "bucket-move", &[("concurrency", "many")]);
        assert_eq!(message, "--concurrency must be a whole number, not \"many\"");
    }

    #[test]
    fn master_only_changes_go_to_the_master_first() {
        let first = |method, resource, params: &[(&str, &str)]| {
            let endpoint = parse(method, resource, params).expect("parses");
            format!("{:?}", endpoint.master_first())
        };
        assert_eq!(first(Method::PUT, "user", &[("uid", "u")]), "Some(User)");
        assert_eq!(
            first(Method::DELETE, "user", &[("key", ""), ("access-key", "AK")]),
            "Some(User)"
        );
        assert_eq!(first(Method::GET, "user", &[("uid", "u")]), "None");
        assert_eq!(
            first(Method::PUT, "metadata/user", &[("key", "u")]),
            "Some(Metadata(\"user:u\"))"
        );
        assert_eq!(
            first(Method::DELETE, "metadata/bucket", &[("key", "b")]),
            "Some(Metadata(\"bucket:b\"))"
        );
        // Metadata sync applies the master's own entries here.
        assert_eq!(
            first(Method::PUT, "metadata/user", &[("key", "u"), ("sync", "true")]),
            "None"
        );
        assert_eq!(first(Method::GET, "bucket-move", &[]), "Some(Move)");
        // The master's calls to every zone run where they arrive.
        assert_eq!(first(Method::POST, "bucket-move/zone", &[]), "None");
        assert_eq!(first(Method::DELETE, "bucket", &[("bucket", "b")]), "None");
    }
}
