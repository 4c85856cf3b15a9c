//! Validation of bucket names and object keys (S3 rules plus what keeps the store safe).

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NameError {
    #[error("bucket name must be 3 to 63 characters long")]
    BucketLength,
    #[error("bucket name may contain only lower-case letters, digits, '.' and '-'")]
    BucketChars,
    #[error("bucket name must start and end with a letter or digit")]
    BucketEdge,
    #[error("bucket name must not contain '..' or look like an IP address")]
    BucketShape,
    #[error("bucket name must not be formatted as an IP address (four dot-separated numbers)")]
    BucketIpShaped,
    #[error("bucket names starting with {0:?} are reserved")]
    BucketReservedPrefix(&'static str),
    #[error("bucket names ending with {0:?} are reserved")]
    BucketReservedSuffix(&'static str),
    #[error("bucket name {0:?} is reserved: /{0} is this gateway's own endpoint")]
    BucketReservedName(&'static str),
    #[error("object key must not be empty")]
    KeyEmpty,
    #[error("object key is longer than 1024 bytes")]
    KeyTooLong,
    #[error("object key must not contain NUL or other control characters")]
    KeyControl,
}

pub const MAX_KEY_LEN: usize = 1024;

/// Prefixes AWS reserves for its own bucket names (general purpose bucket naming rules).
pub const RESERVED_BUCKET_PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
/// Suffixes AWS reserves (access point aliases, Object Lambda, directory, table and MRAP buckets).
pub const RESERVED_BUCKET_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
/// Names whose path-style URL is one of the gateway's own endpoints (`/admin/...`, `/metrics`).
pub const RESERVED_BUCKET_NAMES: &[&str] = &["admin", "metrics"];

/// Four dot-separated all-digit labels: what AWS calls "formatted as an IP address" (`10.0.0.300` too).
fn ip_shaped(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    labels.len() == 4
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
}

pub fn validate_bucket_name(name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    if !(3..=63).contains(&bytes.len()) {
        return Err(NameError::BucketLength);
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
    {
        return Err(NameError::BucketChars);
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge_ok(bytes[0]) || !edge_ok(bytes[bytes.len() - 1]) {
        return Err(NameError::BucketEdge);
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Err(NameError::BucketShape);
    }
    if ip_shaped(name) {
        return Err(NameError::BucketIpShaped);
    }
    if let Some(p) = RESERVED_BUCKET_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return Err(NameError::BucketReservedPrefix(p));
    }
    if let Some(s) = RESERVED_BUCKET_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
        return Err(NameError::BucketReservedSuffix(s));
    }
    if let Some(n) = RESERVED_BUCKET_NAMES.iter().find(|n| name == **n) {
        return Err(NameError::BucketReservedName(n));
    }
    Ok(())
}

/// The longest tenant name accepted.
pub const MAX_TENANT_LEN: usize = 63;

/// A tenant name as RGW accepts it: letters, digits and '_' only. That also keeps out every separator the
/// tenant is spelled with (`tenant$uid`, `tenant/bucket`, `tenant:bucket`).
pub fn is_valid_tenant(tenant: &str) -> bool {
    (1..=MAX_TENANT_LEN).contains(&tenant.len()) && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Keys are opaque to the store (they never become file paths), so only what breaks protocols is refused.
pub fn validate_object_key(key: &str) -> Result<(), NameError> {
    if key.is_empty() {
        return Err(NameError::KeyEmpty);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(NameError::KeyTooLong);
    }
    if key.chars().any(|c| c == '\0' || (c.is_control() && c != '\t')) {
        return Err(NameError::KeyControl);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names() {
        assert!(is_valid_tenant("acme"));
        assert!(is_valid_tenant("Team_2"));
        for bad in ["", "a:b", "a/b", "a$b", "a-b", "a.b", &"t".repeat(MAX_TENANT_LEN + 1)] {
            assert!(!is_valid_tenant(bad), "{bad:?}");
        }
    }

    #[test]
    fn bucket_names() {
        assert!(validate_bucket_name("my-bucket.1").is_ok());
        assert_eq!(validate_bucket_name("ab"), Err(NameError::BucketLength));
        assert_eq!(validate_bucket_name("My-Bucket"), Err(NameError::BucketChars));
        assert_eq!(validate_bucket_name("-abc"), Err(NameError::BucketEdge));
        assert_eq!(validate_bucket_name("a..b"), Err(NameError::BucketShape));
        assert_eq!(validate_bucket_name("192.168.1.1"), Err(NameError::BucketIpShaped));
        assert_eq!(validate_bucket_name("10.0.0.300"), Err(NameError::BucketIpShaped));
        assert!(validate_bucket_name("10.0.0.300a").is_ok());
        assert!(validate_bucket_name("1.2.3").is_ok());
        assert!(validate_bucket_name("1.2.3.4.5").is_ok());
        assert_eq!(
            validate_bucket_name("xn--bcher-kva"),
            Err(NameError::BucketReservedPrefix("xn--"))
        );
        assert_eq!(
            validate_bucket_name("sthree-configurator"),
            Err(NameError::BucketReservedPrefix("sthree-"))
        );
        assert_eq!(
            validate_bucket_name("photos-s3alias"),
            Err(NameError::BucketReservedSuffix("-s3alias"))
        );
        assert_eq!(
            validate_bucket_name("photos--ol-s3"),
            Err(NameError::BucketReservedSuffix("--ol-s3"))
        );
        assert_eq!(
            validate_bucket_name("photos--x-s3"),
            Err(NameError::BucketReservedSuffix("--x-s3"))
        );
        assert_eq!(
            validate_bucket_name("admin"),
            Err(NameError::BucketReservedName("admin"))
        );
        assert_eq!(
            validate_bucket_name("metrics"),
            Err(NameError::BucketReservedName("metrics"))
        );
        assert!(validate_bucket_name("admins").is_ok());
        assert_eq!(validate_bucket_name("a_b"), Err(NameError::BucketChars));
    }

    #[test]
    fn object_keys() {
        assert!(
            validate_object_key("../../etc/passwd").is_ok(),
            "keys never become paths"
        );
        assert_eq!(validate_object_key(""), Err(NameError::KeyEmpty));
        assert_eq!(validate_object_key("a\0b"), Err(NameError::KeyControl));
        assert_eq!(validate_object_key(&"k".repeat(1025)), Err(NameError::KeyTooLong));
    }
}
