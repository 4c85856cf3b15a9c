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
    #[error("object key must not be empty")]
    KeyEmpty,
    #[error("object key is longer than 1024 bytes")]
    KeyTooLong,
    #[error("object key must not contain NUL or other control characters")]
    KeyControl,
}

pub const MAX_KEY_LEN: usize = 1024;

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
    if name.contains("..") || name.contains(".-") || name.contains("-.") || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(NameError::BucketShape);
    }
    Ok(())
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
    fn bucket_names() {
        assert!(validate_bucket_name("my-bucket.1").is_ok());
        assert_eq!(validate_bucket_name("ab"), Err(NameError::BucketLength));
        assert_eq!(validate_bucket_name("My-Bucket"), Err(NameError::BucketChars));
        assert_eq!(validate_bucket_name("-abc"), Err(NameError::BucketEdge));
        assert_eq!(validate_bucket_name("a..b"), Err(NameError::BucketShape));
        assert_eq!(validate_bucket_name("192.168.1.1"), Err(NameError::BucketShape));
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
