//! Which bucket names a request may spell: S3's rules, plus RGW's `tenant:bucket` for a bucket of a named
//! tenant (`:bucket` for the default tenant).

use s3s::validation::NameValidation;

/// The bucket-name check s3s applies to every request (path-style and virtual-hosted).
#[derive(Debug, Clone, Copy, Default)]
pub struct TenantBucketNames;

/// Is `name` a bucket name a request may use: a name S3 accepts, optionally behind `tenant:` (a valid
/// tenant name, or nothing for the default tenant)? Nothing else may carry a ':'.
pub fn is_requestable_bucket_name(name: &str) -> bool {
    match name.split_once(':') {
        Some((tenant, bucket)) => {
            (tenant.is_empty() || meridian_model::names::is_valid_tenant(tenant))
                && s3s::path::check_bucket_name(bucket)
        }
        None => s3s::path::check_bucket_name(name),
    }
}

impl NameValidation for TenantBucketNames {
    fn validate_bucket_name(&self, name: &str) -> bool {
        is_requestable_bucket_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_prefix_is_the_only_extension() {
        for good in ["photos", "acme:photos", ":photos", "Team_2:my.bucket-1"] {
            assert!(is_requestable_bucket_name(good), "{good:?}");
        }
        for bad in [
            "Photos",
            "acme:Photos",
            "acme:ph",
            "a-b:photos",
            "acme:photos:x",
            "acme:",
            ":",
            "acme/photos:x",
            "photos:",
            "ac.me:photos",
        ] {
            assert!(!is_requestable_bucket_name(bad), "{bad:?}");
        }
    }
}
