//! Who may do what: every S3 operation's access decision, from the caller (a user or anonymous), the
//! action, the bucket (its owner, ACL, policy and public access block) and, for object reads and object
//! ACL calls, the object's ACL. As AWS and RGW decide: an explicit Deny of the bucket policy wins; else an
//! Allow of the policy or a grant of the ACLs allows (the owners always hold full control); else denied.

use crate::error::{GatewayError, Result};
use crate::policy::{self, RequestContext, Verdict};
use meridian_model::{Acl, Bucket, Permission, Timestamp, User};
use std::collections::BTreeMap;

/// Which ACL can grant an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclTarget {
    Bucket,
    Object,
}

/// The ACL permission an action needs and on what; `None`: only the owner (or a policy) may.
pub fn acl_need(action: &str) -> Option<(AclTarget, Permission)> {
    use AclTarget::*;
    Some(match action {
        "s3:ListBucket" | "s3:ListBucketVersions" | "s3:ListBucketMultipartUploads" | "s3:ListMultipartUploadParts" => {
            (Bucket, Permission::Read)
        }
        "s3:PutObject" | "s3:DeleteObject" | "s3:DeleteObjectVersion" | "s3:AbortMultipartUpload" => {
            (Bucket, Permission::Write)
        }
        "s3:GetBucketAcl" => (Bucket, Permission::ReadAcp),
        "s3:PutBucketAcl" => (Bucket, Permission::WriteAcp),
        "s3:GetObject" | "s3:GetObjectVersion" => (Object, Permission::Read),
        "s3:GetObjectAcl" | "s3:GetObjectVersionAcl" => (Object, Permission::ReadAcp),
        "s3:PutObjectAcl" | "s3:PutObjectVersionAcl" => (Object, Permission::WriteAcp),
        _ => return None,
    })
}

/// The policy calls, which a bucket's owner may always make.
const POLICY_ACTIONS: [&str; 3] = ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"];

/// One request to decide.
#[derive(Debug, Clone)]
pub struct AccessRequest<'a> {
    /// `None`: an anonymous (unsigned) request.
    pub principal: Option<&'a User>,
    /// The IAM action, `s3:GetObject` etc.
    pub action: &'a str,
    pub bucket: &'a Bucket,
    /// The object key, for object actions (the policy resource is then `bucket/key`).
    pub key: Option<&'a str>,
    /// The object's ACL, for actions `acl_need` puts on the object (`None`: no such object).
    pub object_acl: Option<&'a Acl>,
    /// Condition keys of the request (`aws:SourceIp`, `s3:prefix`, ...); the principal's and the time's
    /// keys are added here.
    pub values: BTreeMap<String, String>,
}

/// The bucket's ACL; a bucket created without one is private to its owner.
pub fn bucket_acl(bucket: &Bucket) -> Acl {
    bucket.config.acl.clone().unwrap_or_else(|| Acl::private(&bucket.owner))
}

/// The bucket's policy, parsed; one that no longer parses (it was checked when put) counts as none.
pub fn bucket_policy(bucket: &Bucket) -> Option<policy::Policy> {
    let text = bucket.config.policy.as_deref()?;
    match policy::parse(text, &bucket.name) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(bucket = %bucket.name, error = %e, "stored bucket policy does not parse; ignored");
            None
        }
    }
}

/// The policy's context for a request.
pub fn request_context(req: &AccessRequest<'_>) -> RequestContext {
    let mut values = req.values.clone();
    values.insert("aws:CurrentTime".into(), Timestamp::now().to_rfc3339());
    values.insert("aws:EpochTime".into(), Timestamp::now().secs().to_string());
    if let Some(user) = req.principal {
        values.insert("aws:username".into(), user.uid.clone());
        values.insert("aws:userid".into(), user.full_id());
    }
    let resource = match req.key {
        Some(key) => format!("arn:aws:s3:::{}/{key}", req.bucket.name),
        None => format!("arn:aws:s3:::{}", req.bucket.name),
    };
    RequestContext {
        principal: req.principal.map(User::full_id),
        action: req.action.to_string(),
        resource,
        values,
    }
}

/// Allowed, or `AccessDenied`.
pub fn decide(req: &AccessRequest<'_>) -> Result<()> {
    if req.principal.is_some_and(|u| u.system) {
        return Ok(());
    }
    let who = req.principal.map(User::full_id);
    let owner = who.as_deref() == Some(req.bucket.owner.as_str());
    // As AWS's account root: no policy locks the owner out of managing the policy itself.
    if owner && POLICY_ACTIONS.contains(&req.action) {
        return Ok(());
    }
    let block = req.bucket.config.public_access_block.unwrap_or_default();
    let verdict = match bucket_policy(req.bucket) {
        Some(p) => {
            let restrict = block.restrict_public_buckets.then_some(req.bucket.owner.as_str());
            p.evaluate(&request_context(req), restrict)
        }
        None => Verdict::Silent,
    };
    if verdict == Verdict::Deny {
        return Err(GatewayError::AccessDenied);
    }
    if owner || verdict == Verdict::Allow {
        return Ok(());
    }
    let granted = match acl_need(req.action) {
        Some((AclTarget::Bucket, wanted)) => {
            bucket_acl(req.bucket).grants_to(who.as_deref(), wanted, block.ignore_public_acls)
        }
        Some((AclTarget::Object, wanted)) => req
            .object_acl
            .is_some_and(|acl| acl.grants_to(who.as_deref(), wanted, block.ignore_public_acls)),
        None => false,
    };
    if granted {
        Ok(())
    } else {
        Err(GatewayError::AccessDenied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_model::{BucketConfig, PublicAccessBlock};

    fn user(uid: &str) -> User {
        User {
            tenant: String::new(),
            uid: uid.into(),
            display_name: uid.into(),
            email: String::new(),
            keys: Vec::new(),
            suspended: false,
            system: false,
            caps: Vec::new(),
            max_buckets: 1000,
            created: Timestamp::now(),
            ver: Default::default(),
            mtime: Timestamp::now(),
        }
    }

    fn bucket(acl: Option<Acl>, policy: Option<&str>, block: Option<PublicAccessBlock>) -> Bucket {
        Bucket {
            tenant: String::new(),
            name: "photos".into(),
            bucket_id: "id".into(),
            owner: "alice".into(),
            zonegroup: "zg".into(),
            placement_rule: String::new(),
            creation_time: Timestamp::now(),
            versioning: Default::default(),
            ver: Default::default(),
            mtime: Timestamp::now(),
            config: BucketConfig {
                acl,
                policy: policy.map(str::to_string),
                public_access_block: block,
                ..Default::default()
            },
        }
    }

    fn check(principal: Option<&User>, action: &str, b: &Bucket, key: Option<&str>, object_acl: Option<&Acl>) -> bool {
        decide(&AccessRequest {
            principal,
            action,
            bucket: b,
            key,
            object_acl,
            values: BTreeMap::new(),
        })
        .is_ok()
    }

    #[test]
    fn owner_acls_and_anonymous() {
        let (alice, bob) = (user("alice"), user("bob"));
        let private = bucket(None, None, None);
        assert!(check(Some(&alice), "s3:PutBucketVersioning", &private, None, None));
        assert!(!check(Some(&bob), "s3:ListBucket", &private, None, None));
        assert!(!check(None, "s3:ListBucket", &private, None, None));

        let public_read = bucket(Some(Acl::canned("public-read", "alice", "alice").unwrap()), None, None);
        assert!(check(None, "s3:ListBucket", &public_read, None, None));
        assert!(!check(None, "s3:PutObject", &public_read, Some("k"), None));
        assert!(!check(Some(&bob), "s3:PutBucketAcl", &public_read, None, None));

        let rw = bucket(
            Some(Acl::canned("public-read-write", "alice", "alice").unwrap()),
            None,
            None,
        );
        assert!(check(None, "s3:PutObject", &rw, Some("k"), None));
        assert!(check(None, "s3:DeleteObject", &rw, Some("k"), None));

        let object_acl = Acl::canned("public-read", "alice", "alice").unwrap();
        assert!(check(None, "s3:GetObject", &private, Some("k"), Some(&object_acl)));
        assert!(!check(None, "s3:GetObjectAcl", &private, Some("k"), Some(&object_acl)));
        assert!(!check(None, "s3:GetObject", &private, Some("k"), None));
        let auth_read = Acl::canned("authenticated-read", "alice", "alice").unwrap();
        assert!(check(Some(&bob), "s3:GetObject", &private, Some("k"), Some(&auth_read)));
        assert!(!check(None, "s3:GetObject", &private, Some("k"), Some(&auth_read)));
    }

    #[test]
    fn policy_deny_wins_and_public_access_block() {
        let bob = user("bob");
        let deny_bob = r#"{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam:::user/bob"},
            "Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}"#;
        let b = bucket(None, Some(deny_bob), None);
        let public_object = Acl::canned("public-read", "alice", "alice").unwrap();
        assert!(!check(Some(&bob), "s3:GetObject", &b, Some("k"), Some(&public_object)));
        assert!(check(None, "s3:GetObject", &b, Some("k"), Some(&public_object)));

        let allow_all = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}"#;
        let b = bucket(None, Some(allow_all), None);
        assert!(check(None, "s3:GetObject", &b, Some("k"), None));
        let restricted = bucket(
            None,
            Some(allow_all),
            Some(PublicAccessBlock {
                restrict_public_buckets: true,
                ..Default::default()
            }),
        );
        assert!(!check(None, "s3:GetObject", &restricted, Some("k"), None));

        let ignore = bucket(
            Some(Acl::canned("public-read", "alice", "alice").unwrap()),
            None,
            Some(PublicAccessBlock {
                ignore_public_acls: true,
                ..Default::default()
            }),
        );
        assert!(!check(None, "s3:ListBucket", &ignore, None, None));
        assert!(!check(None, "s3:GetObject", &ignore, Some("k"), Some(&public_object)));
    }
}
