//! A bucket's S3 sub-resources kept with its metadata record: tags, CORS rules, lifecycle rules, the ACL,
//! the bucket policy and the public access block. They travel with the bucket instance through metadata
//! sync, so every zone answers and applies the same ones.

use serde::{Deserialize, Serialize};

/// An ordered tag set (S3 keeps the order a client sent).
pub type TagSet = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BucketConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: TagSet,
    /// `None`: no CORS configuration (preflights are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Vec<CorsRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Vec<LifecycleRule>>,
    /// `Some`: Object Lock is enabled on the bucket (for good), with its default retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<crate::object_lock::ObjectLockConfig>,
    /// `None`: private to the owner (a bucket created before ACLs, or with none given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<crate::acl::Acl>,
    /// The bucket policy as its owner sent it (IAM JSON, validated when it was put).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_access_block: Option<PublicAccessBlock>,
}

/// S3's PublicAccessBlockConfiguration of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PublicAccessBlock {
    /// Requests that would set a public ACL are refused.
    #[serde(default)]
    pub block_public_acls: bool,
    /// Public grants are not counted when deciding access.
    #[serde(default)]
    pub ignore_public_acls: bool,
    /// A public bucket policy is refused.
    #[serde(default)]
    pub block_public_policy: bool,
    /// A public policy allows only the bucket owner's principals.
    #[serde(default)]
    pub restrict_public_buckets: bool,
}

impl BucketConfig {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
            && self.cors.is_none()
            && self.lifecycle.is_none()
            && self.object_lock.is_none()
            && self.acl.is_none()
            && self.policy.is_none()
            && self.public_access_block.is_none()
    }
}

/// One change of a bucket's configuration; each replaces one sub-resource whole, as the S3 calls do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BucketConfigChange {
    Tags(TagSet),
    Cors(Option<Vec<CorsRule>>),
    Lifecycle(Option<Vec<LifecycleRule>>),
    /// Enables Object Lock (or replaces its default retention); it cannot be disabled.
    ObjectLock(crate::object_lock::ObjectLockConfig),
    Acl(Option<crate::acl::Acl>),
    Policy(Option<String>),
    PublicAccessBlock(Option<PublicAccessBlock>),
}

impl BucketConfigChange {
    pub fn apply(self, config: &mut BucketConfig) {
        match self {
            BucketConfigChange::Tags(t) => config.tags = t,
            BucketConfigChange::Cors(c) => config.cors = c,
            BucketConfigChange::Lifecycle(l) => config.lifecycle = l,
            BucketConfigChange::ObjectLock(o) => config.object_lock = Some(o),
            BucketConfigChange::Acl(a) => config.acl = a,
            BucketConfigChange::Policy(p) => config.policy = p,
            BucketConfigChange::PublicAccessBlock(b) => config.public_access_block = b,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CorsRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<i32>,
}

/// `*` in a pattern matches any run of characters (S3 allows at most one; more are matched the same way).
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || value.len() < first.len() + last.len() || !value.ends_with(last) {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

impl CorsRule {
    pub fn matches_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| wildcard_match(o, origin))
    }

    pub fn allows_method(&self, method: &str) -> bool {
        self.allowed_methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// Every requested header must be allowed by some AllowedHeader (case-insensitive, `*` wildcards).
    pub fn allows_headers<'a>(&self, requested: impl IntoIterator<Item = &'a str>) -> bool {
        requested.into_iter().all(|h| {
            let h = h.trim().to_ascii_lowercase();
            h.is_empty()
                || self
                    .allowed_headers
                    .iter()
                    .any(|a| wildcard_match(&a.to_ascii_lowercase(), &h))
        })
    }
}

/// A lifecycle rule: which objects (by prefix and tags) and what happens to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LifecycleRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub enabled: bool,
    #[serde(default)]
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: TagSet,
    /// Objects expire this many days after their last modification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<u32>,
    /// Objects expire once this date has passed (S3 asks for midnight UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<crate::time::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_days: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn wildcards_match_like_s3_origins() {
        assert!(wildcard_match("*", "http://a.example"));
        assert!(wildcard_match("http://*.example.com", "http://www.example.com"));
        assert!(!wildcard_match("http://*.example.com", "https://www.example.com"));
        assert!(wildcard_match("http://a.example", "http://a.example"));
        assert!(!wildcard_match("http://a.example", "http://b.example"));
        assert!(!wildcard_match("a*a", "a"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
    }
}
