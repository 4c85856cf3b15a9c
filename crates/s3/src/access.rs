//! The S3 surface's side of access decisions: who signed the request (or nobody), the request's policy
//! condition keys, the ACL a request's `x-amz-acl` / `x-amz-grant-*` headers ask for, and the check every
//! operation makes through `meridian_gateway::access` before it acts.

use crate::errors::to_s3_error;
use crate::service::MeridianS3;
use meridian_gateway::access::{self, AccessRequest};
use meridian_gateway::GatewayError;
use meridian_model::acl::{parse_grant_header, AclError, GranteeSpec};
use meridian_model::{Acl, Bucket, Grant, Grantee, ObjectMeta, Permission, User};
use s3s::{s3_error, S3Request, S3Result};
use std::collections::BTreeMap;

/// The client's address; the server puts it in each request's extensions (the policy key `aws:SourceIp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// s3s's default access check refuses every unsigned request before any operation runs. Here each
/// operation decides (`MeridianS3::authorize`), so s3s lets every request through to it.
pub struct OperationsDecide;

#[async_trait::async_trait]
impl s3s::access::S3Access for OperationsDecide {
    async fn check(&self, _cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        Ok(())
    }
}

/// The grant headers and the permission each gives.
const GRANT_HEADERS: [(&str, Permission); 5] = [
    ("x-amz-grant-read", Permission::Read),
    ("x-amz-grant-write", Permission::Write),
    ("x-amz-grant-read-acp", Permission::ReadAcp),
    ("x-amz-grant-write-acp", Permission::WriteAcp),
    ("x-amz-grant-full-control", Permission::FullControl),
];

/// A request's policy condition keys: the client's address, the transport, the canned ACL asked for, the
/// listing parameters and version id from the query, and an object's tags (`s3:ExistingObjectTag/<key>`).
pub(crate) fn condition_values<T>(req: &S3Request<T>, object: Option<&ObjectMeta>) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    if let Some(ClientAddr(ip)) = req.extensions.get::<ClientAddr>() {
        values.insert("aws:SourceIp".to_string(), ip.to_string());
    }
    // The gateway serves plain HTTP. A proxy's X-Forwarded-Proto is not believed: any client can send one,
    // and a policy that denies insecure transport must not be opened by a header.
    let secure = req.uri.scheme_str() == Some("https");
    values.insert("aws:SecureTransport".to_string(), secure.to_string());
    if let Some(acl) = req.headers.get("x-amz-acl").and_then(|v| v.to_str().ok()) {
        values.insert("s3:x-amz-acl".to_string(), acl.trim().to_string());
    }
    for (name, value) in crate::guard::query_params(req.uri.query().unwrap_or_default()) {
        let key = match name.as_str() {
            "prefix" => "s3:prefix",
            "delimiter" => "s3:delimiter",
            "max-keys" => "s3:max-keys",
            "versionId" => "s3:VersionId",
            _ => continue,
        };
        values.insert(key.to_string(), value);
    }
    if let Some(meta) = object {
        for (k, v) in &meta.tags {
            values.insert(format!("s3:ExistingObjectTag/{k}"), v.clone());
        }
    }
    values
}

/// The object's ACL as the decision reads it (private to its owner when it has none).
pub(crate) fn object_acl(meta: &ObjectMeta) -> Acl {
    meta.acl.clone().unwrap_or_else(|| Acl::private(&meta.owner))
}

fn acl_error(e: AclError) -> s3s::S3Error {
    match e {
        AclError::UnknownCanned(_) => s3_error!(InvalidArgument, "{e}"),
        AclError::CannedAndGrants => s3_error!(InvalidRequest, "{e}"),
        AclError::MalformedGrant(_) | AclError::UnknownGroup(_) => s3_error!(InvalidArgument, "{e}"),
    }
}

impl MeridianS3 {
    /// The caller: the signed request's user, or `None` for an unsigned (anonymous) request.
    pub(crate) async fn principal<T>(&self, req: &S3Request<T>) -> S3Result<Option<User>> {
        if req.credentials.is_none() {
            return Ok(None);
        }
        self.caller(req).await.map(Some)
    }

    /// Whether `x-amz-bypass-governance-retention` counts for this caller: it needs
    /// `s3:BypassGovernanceRetention` (the bucket owner has it); without it, GOVERNANCE retention holds.
    pub(crate) fn may_bypass_governance<T>(
        &self,
        req: &S3Request<T>,
        user: Option<&User>,
        bucket: &Bucket,
        key: &str,
    ) -> bool {
        self.authorize(req, user, bucket, Some(key), "s3:BypassGovernanceRetention", None)
            .is_ok()
    }

    /// The caller and the bucket, if the caller may do `action` on the bucket itself.
    pub(crate) async fn caller_bucket<T>(
        &self,
        req: &S3Request<T>,
        name: &str,
        action: &str,
    ) -> S3Result<(Option<User>, Bucket)> {
        self.caller_object(req, name, None, action).await
    }

    /// The caller and the bucket, if the caller may do `action` on `key` (`None`: on the bucket) as far as
    /// the bucket's policy and ACL say (object writes, deletes and uploads).
    pub(crate) async fn caller_object<T>(
        &self,
        req: &S3Request<T>,
        name: &str,
        key: Option<&str>,
        action: &str,
    ) -> S3Result<(Option<User>, Bucket)> {
        let user = self.principal(req).await?;
        let bucket = self.visible_bucket(req, user.as_ref(), name).await?;
        self.authorize(req, user.as_ref(), &bucket, key, action, None)?;
        Ok((user, bucket))
    }

    /// The caller and the bucket, if the caller may do `action` on the object version (object reads and
    /// object ACL calls: the version's ACL and tags count). A missing object is judged without an ACL,
    /// so only the owners and the policy can let the caller learn it is missing.
    pub(crate) async fn caller_reading<T>(
        &self,
        req: &S3Request<T>,
        name: &str,
        key: &str,
        version_id: Option<&str>,
        action: &str,
    ) -> S3Result<(Option<User>, Bucket)> {
        let user = self.principal(req).await?;
        let bucket = self.visible_bucket(req, user.as_ref(), name).await?;
        self.authorize_read(req, user.as_ref(), &bucket, key, version_id, action)
            .await?;
        Ok((user, bucket))
    }

    /// The object read check of `caller_reading`, for a bucket already found (a copy's source).
    pub(crate) async fn authorize_read<T>(
        &self,
        req: &S3Request<T>,
        user: Option<&User>,
        bucket: &Bucket,
        key: &str,
        version_id: Option<&str>,
        action: &str,
    ) -> S3Result<()> {
        let owner = is_owner(user, bucket);
        // The bucket owner needs the object only for the policy's conditions on its tags.
        let meta = if owner && bucket.config.policy.is_none() {
            None
        } else {
            self.gw.objects().version(bucket, key, version_id).await.ok()
        };
        self.authorize(req, user, bucket, Some(key), action, meta.as_ref())
    }

    /// The named bucket for `user` (anonymous: the default tenant), in this zonegroup or redirected.
    async fn visible_bucket<T>(&self, req: &S3Request<T>, user: Option<&User>, name: &str) -> S3Result<Bucket> {
        self.bucket_for(user, name)
            .await
            .map_err(|e| self.s3_error(e, &req.uri, &req.headers))
    }

    /// One access decision: allowed, or `403 AccessDenied`.
    pub(crate) fn authorize<T>(
        &self,
        req: &S3Request<T>,
        user: Option<&User>,
        bucket: &Bucket,
        key: Option<&str>,
        action: &str,
        object: Option<&ObjectMeta>,
    ) -> S3Result<()> {
        let acl = object.map(object_acl);
        access::decide(&AccessRequest {
            principal: user,
            action,
            bucket,
            key,
            object_acl: acl.as_ref(),
            values: condition_values(req, object),
        })
        .map_err(to_s3_error)
    }

    /// The ACL a request's `x-amz-acl` or `x-amz-grant-*` headers ask for, for a resource owned by `owner`
    /// in a bucket owned by `bucket_owner`; `None` when it names none. Grants by email are resolved to
    /// users (`400 UnresolvableGrantByEmailAddress`); a public ACL on a bucket that blocks them is
    /// `403 AccessDenied`.
    pub(crate) async fn acl_from_headers(
        &self,
        headers: &http::HeaderMap,
        owner: &str,
        bucket_owner: &str,
        block: Option<&Bucket>,
    ) -> S3Result<Option<Acl>> {
        let canned = headers.get("x-amz-acl").and_then(|v| v.to_str().ok()).map(str::trim);
        let mut grants = Vec::new();
        for (name, permission) in GRANT_HEADERS {
            for value in headers.get_all(name) {
                let value = value
                    .to_str()
                    .map_err(|_| s3_error!(InvalidArgument, "the {name} header is not ASCII"))?;
                for spec in parse_grant_header(value).map_err(acl_error)? {
                    grants.push(Grant {
                        grantee: self.resolve_grantee(spec).await?,
                        permission,
                    });
                }
            }
        }
        let acl = match (canned, grants.is_empty()) {
            (Some(_), false) => return Err(acl_error(AclError::CannedAndGrants)),
            (Some(name), true) => Acl::canned(name, owner, bucket_owner).map_err(acl_error)?,
            (None, false) => Acl {
                owner: owner.to_string(),
                grants,
            },
            (None, true) => return Ok(None),
        };
        if let Some(bucket) = block {
            check_public_acl_allowed(bucket, &acl)?;
        }
        Ok(Some(acl))
    }

    /// A new object's ACL: from the request's headers, else private to its writer (`None` when the writer
    /// is the bucket owner or anonymous: private to the bucket owner, as objects without an ACL are).
    pub(crate) async fn new_object_acl(
        &self,
        headers: &http::HeaderMap,
        user: Option<&User>,
        bucket: &Bucket,
    ) -> S3Result<Option<Acl>> {
        let writer = user.map_or_else(|| bucket.owner.clone(), User::full_id);
        match self
            .acl_from_headers(headers, &writer, &bucket.owner, Some(bucket))
            .await?
        {
            Some(acl) => Ok(Some(acl)),
            None if writer != bucket.owner => Ok(Some(Acl::private(&writer))),
            None => Ok(None),
        }
    }

    /// A grantee as stored: an email becomes its user's id.
    pub(crate) async fn resolve_grantee(&self, spec: GranteeSpec) -> S3Result<Grantee> {
        Ok(match spec {
            GranteeSpec::Id(id) => Grantee::User(id),
            GranteeSpec::Group(g) => g,
            GranteeSpec::Email(email) => {
                Grantee::User(self.gw.users().by_email(&email).await.map_err(to_s3_error)?.full_id())
            }
        })
    }

    /// A user's display name for ACL and owner answers (the id when the user is not known here).
    pub(crate) async fn display_name(&self, id: &str) -> String {
        match self.gw.users().info(id).await {
            Ok(u) => u.display_name,
            Err(_) => id.to_string(),
        }
    }
}

/// BlockPublicAcls: a request that would set a public ACL on the bucket or one of its objects is refused.
pub(crate) fn check_public_acl_allowed(bucket: &Bucket, acl: &Acl) -> S3Result<()> {
    let blocked = bucket.config.public_access_block.is_some_and(|b| b.block_public_acls);
    if blocked && acl.is_public() {
        return Err(to_s3_error(GatewayError::AccessDenied));
    }
    Ok(())
}

/// Whether the caller is the bucket's owner (or a system user of another zone).
pub(crate) fn is_owner(user: Option<&User>, bucket: &Bucket) -> bool {
    user.is_some_and(|u| u.system || u.full_id() == bucket.owner)
}
