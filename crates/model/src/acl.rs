//! Access control lists of buckets and objects: an owner and grants (grantee, permission), the canned ACLs
//! and the `x-amz-grant-*` header form. Pure data and parsing; deciding access is the gateway's `access`.

use serde::{Deserialize, Serialize};

/// The group of everyone, signed or not.
pub const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The group of every signed request's user.
pub const AUTHENTICATED_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// The log-delivery group (`log-delivery-write`); it grants nothing to any request here.
pub const LOG_DELIVERY_URI: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grantee {
    /// A user by canonical id (the full user id, `tenant$uid` or `uid`); grants by email are stored resolved.
    User(String),
    AllUsers,
    AuthenticatedUsers,
    LogDelivery,
}

impl Grantee {
    /// A group by its URI.
    pub fn group(uri: &str) -> Option<Grantee> {
        match uri {
            ALL_USERS_URI => Some(Grantee::AllUsers),
            AUTHENTICATED_USERS_URI => Some(Grantee::AuthenticatedUsers),
            LOG_DELIVERY_URI => Some(Grantee::LogDelivery),
            _ => None,
        }
    }

    pub fn group_uri(&self) -> Option<&'static str> {
        match self {
            Grantee::User(_) => None,
            Grantee::AllUsers => Some(ALL_USERS_URI),
            Grantee::AuthenticatedUsers => Some(AUTHENTICATED_USERS_URI),
            Grantee::LogDelivery => Some(LOG_DELIVERY_URI),
        }
    }

    /// A grant to this grantee makes a resource public (S3's "public": AllUsers or AuthenticatedUsers).
    pub fn is_public(&self) -> bool {
        matches!(self, Grantee::AllUsers | Grantee::AuthenticatedUsers)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Permission {
    Read,
    Write,
    ReadAcp,
    WriteAcp,
    FullControl,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
            Permission::FullControl => "FULL_CONTROL",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Some(match s {
            "READ" => Permission::Read,
            "WRITE" => Permission::Write,
            "READ_ACP" => Permission::ReadAcp,
            "WRITE_ACP" => Permission::WriteAcp,
            "FULL_CONTROL" => Permission::FullControl,
            _ => return None,
        })
    }

    /// Whether holding `self` gives `wanted` (FULL_CONTROL gives all four).
    pub fn covers(self, wanted: Permission) -> bool {
        self == wanted || self == Permission::FullControl
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    pub permission: Permission,
}

/// An ACL: the resource's owner (who always has full control) and its grants, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    pub owner: String,
    #[serde(default)]
    pub grants: Vec<Grant>,
}

/// The canned ACLs S3 knows (`x-amz-acl`).
pub const CANNED_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
];

/// What went wrong reading an ACL from headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    #[error("{0:?} is not a canned ACL (x-amz-acl)")]
    UnknownCanned(String),
    #[error("Specifying both Canned ACLs and Header Grants is not allowed")]
    CannedAndGrants,
    #[error("the grant header value {0:?} is not a list of id=, emailAddress= or uri= grantees")]
    MalformedGrant(String),
    #[error("the grantee group {0:?} is not known")]
    UnknownGroup(String),
}

/// A grantee as a request names it: an email still has to be resolved to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GranteeSpec {
    Id(String),
    Email(String),
    Group(Grantee),
}

impl Acl {
    /// Only the owner (full control, no grants).
    pub fn private(owner: &str) -> Acl {
        Acl {
            owner: owner.to_string(),
            grants: vec![Grant {
                grantee: Grantee::User(owner.to_string()),
                permission: Permission::FullControl,
            }],
        }
    }

    /// A canned ACL for a resource owned by `owner` in a bucket owned by `bucket_owner` (the same for a
    /// bucket's own ACL).
    pub fn canned(name: &str, owner: &str, bucket_owner: &str) -> Result<Acl, AclError> {
        let mut acl = Acl::private(owner);
        let mut grant = |grantee: Grantee, permission: Permission| acl.grants.push(Grant { grantee, permission });
        match name {
            "private" | "aws-exec-read" => {}
            "public-read" => grant(Grantee::AllUsers, Permission::Read),
            "public-read-write" => {
                grant(Grantee::AllUsers, Permission::Read);
                grant(Grantee::AllUsers, Permission::Write);
            }
            "authenticated-read" => grant(Grantee::AuthenticatedUsers, Permission::Read),
            "bucket-owner-read" if bucket_owner != owner => {
                grant(Grantee::User(bucket_owner.to_string()), Permission::Read)
            }
            "bucket-owner-full-control" if bucket_owner != owner => {
                grant(Grantee::User(bucket_owner.to_string()), Permission::FullControl)
            }
            "bucket-owner-read" | "bucket-owner-full-control" => {}
            "log-delivery-write" => {
                grant(Grantee::LogDelivery, Permission::Write);
                grant(Grantee::LogDelivery, Permission::ReadAcp);
            }
            other => return Err(AclError::UnknownCanned(other.to_string())),
        }
        Ok(acl)
    }

    /// Whether any grant is to AllUsers or AuthenticatedUsers.
    pub fn is_public(&self) -> bool {
        self.grants.iter().any(|g| g.grantee.is_public())
    }

    /// Whether `user` (None: anonymous; `authenticated`: the request was signed) holds `wanted` through
    /// this ACL; `ignore_public` skips grants to the public groups (IgnorePublicAcls).
    pub fn grants_to(&self, user: Option<&str>, wanted: Permission, ignore_public: bool) -> bool {
        if user == Some(self.owner.as_str()) {
            return true;
        }
        self.grants.iter().any(|g| {
            g.permission.covers(wanted)
                && match &g.grantee {
                    Grantee::User(id) => user == Some(id.as_str()),
                    Grantee::AllUsers => !ignore_public,
                    Grantee::AuthenticatedUsers => !ignore_public && user.is_some(),
                    Grantee::LogDelivery => false,
                }
        })
    }
}

/// The `x-amz-grant-*` headers of a request, by permission (each a list of grantees).
pub fn parse_grant_header(value: &str) -> Result<Vec<GranteeSpec>, AclError> {
    let malformed = || AclError::MalformedGrant(value.to_string());
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (kind, v) = item.split_once('=').ok_or_else(malformed)?;
        let v = v.trim().trim_matches('"').to_string();
        if v.is_empty() {
            return Err(malformed());
        }
        out.push(match kind.trim().to_ascii_lowercase().as_str() {
            "id" => GranteeSpec::Id(v),
            "emailaddress" => GranteeSpec::Email(v),
            "uri" => GranteeSpec::Group(Grantee::group(&v).ok_or(AclError::UnknownGroup(v))?),
            _ => return Err(malformed()),
        });
    }
    if out.is_empty() {
        return Err(malformed());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canned_acls_grant_what_s3_says() {
        let acl = Acl::canned("public-read", "alice", "alice").unwrap();
        assert!(acl.grants_to(None, Permission::Read, false));
        assert!(!acl.grants_to(None, Permission::Write, false));
        assert!(!acl.grants_to(None, Permission::Read, true), "IgnorePublicAcls");
        assert!(acl.grants_to(Some("alice"), Permission::WriteAcp, true));
        assert!(acl.is_public());

        let acl = Acl::canned("authenticated-read", "alice", "alice").unwrap();
        assert!(!acl.grants_to(None, Permission::Read, false));
        assert!(acl.grants_to(Some("bob"), Permission::Read, false));

        let acl = Acl::canned("bucket-owner-full-control", "bob", "alice").unwrap();
        assert!(acl.grants_to(Some("alice"), Permission::WriteAcp, false));
        assert!(!acl.is_public());

        let acl = Acl::canned("private", "alice", "alice").unwrap();
        assert!(!acl.grants_to(Some("bob"), Permission::Read, false));
        assert_eq!(
            Acl::canned("public", "a", "a"),
            Err(AclError::UnknownCanned("public".into()))
        );
    }

    #[test]
    fn grant_headers_parse_ids_emails_and_groups() {
        let got = parse_grant_header(
            r#"id="bob", emailAddress="carol@example.com", uri="http://acs.amazonaws.com/groups/global/AllUsers""#,
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                GranteeSpec::Id("bob".into()),
                GranteeSpec::Email("carol@example.com".into()),
                GranteeSpec::Group(Grantee::AllUsers)
            ]
        );
        assert!(parse_grant_header("bob").is_err());
        assert!(parse_grant_header("uri=http://example.com/nogroup").is_err());
        assert!(parse_grant_header("").is_err());
    }
}
