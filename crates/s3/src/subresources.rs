//! Tags (object and bucket) and CORS rules: the conversions between s3s DTOs and the stored forms, the
//! `x-amz-tagging` header, and storing a bucket sub-resource change where it must be made (the master).

use crate::errors::to_s3_error;
use crate::service::MeridianS3;
use meridian_gateway::tagging::{MAX_BUCKET_TAGS, MAX_OBJECT_TAGS};
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::{Bucket, BucketConfigChange, CorsRule, LifecycleRule, TagSet};
use meridian_multisite as multisite;
use s3s::dto;
use s3s::dto::{
    DeleteBucketCorsInput, DeleteBucketCorsOutput, DeleteBucketTaggingInput, DeleteBucketTaggingOutput,
    DeleteObjectTaggingInput, DeleteObjectTaggingOutput, GetBucketCorsInput, GetBucketCorsOutput,
    GetBucketTaggingInput, GetBucketTaggingOutput, GetObjectTaggingInput, GetObjectTaggingOutput, PutBucketCorsInput,
    PutBucketCorsOutput, PutBucketTaggingInput, PutBucketTaggingOutput, PutObjectTaggingInput, PutObjectTaggingOutput,
};
use s3s::S3Request;
use s3s::{s3_error, S3Result};

/// The `x-amz-tagging` header: a URL query string (`k1=v1&k2=v2`).
pub fn tags_from_header(header: Option<&str>, max: usize) -> S3Result<TagSet> {
    let Some(header) = header.filter(|h| !h.is_empty()) else {
        return Ok(Vec::new());
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| s3_error!(InvalidTag, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."))
    };
    let mut tags = Vec::new();
    for pair in header.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        tags.push((decode(k)?, decode(v)?));
    }
    meridian_gateway::tagging::validate_tags(&tags, max).map_err(to_s3_error)?;
    Ok(tags)
}

pub fn tags_from_dto(tagging: dto::Tagging) -> S3Result<TagSet> {
    tagging
        .tag_set
        .into_iter()
        .map(|t| match (t.key, t.value) {
            (Some(k), v) => Ok((k, v.unwrap_or_default())),
            (None, _) => Err(s3_error!(InvalidTag, "Every Tag needs a Key")),
        })
        .collect()
}

pub fn tags_to_dto(tags: &TagSet) -> dto::TagSet {
    tags.iter()
        .map(|(k, v)| dto::Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

const CORS_METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

pub fn cors_from_dto(config: dto::CORSConfiguration) -> S3Result<Vec<CorsRule>> {
    if config.cors_rules.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "A CORS configuration needs at least one CORSRule"
        ));
    }
    if config.cors_rules.len() > 100 {
        return Err(s3_error!(
            InvalidRequest,
            "A CORS configuration may hold at most 100 rules"
        ));
    }
    config
        .cors_rules
        .into_iter()
        .map(|r| {
            if r.allowed_origins.is_empty() || r.allowed_methods.is_empty() {
                return Err(s3_error!(
                    MalformedXML,
                    "Every CORSRule needs an AllowedOrigin and an AllowedMethod"
                ));
            }
            if let Some(m) = r.allowed_methods.iter().find(|m| !CORS_METHODS.contains(&m.as_str())) {
                return Err(s3_error!(
                    InvalidRequest,
                    "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
                ));
            }
            Ok(CorsRule {
                id: r.id,
                allowed_origins: r.allowed_origins,
                allowed_methods: r.allowed_methods,
                allowed_headers: r.allowed_headers.unwrap_or_default(),
                expose_headers: r.expose_headers.unwrap_or_default(),
                max_age_seconds: r.max_age_seconds,
            })
        })
        .collect()
}

pub fn cors_to_dto(rules: &[CorsRule]) -> dto::CORSRules {
    rules
        .iter()
        .map(|r| dto::CORSRule {
            id: r.id.clone(),
            allowed_origins: r.allowed_origins.clone(),
            allowed_methods: r.allowed_methods.clone(),
            allowed_headers: (!r.allowed_headers.is_empty()).then(|| r.allowed_headers.clone()),
            expose_headers: (!r.expose_headers.is_empty()).then(|| r.expose_headers.clone()),
            max_age_seconds: r.max_age_seconds,
        })
        .collect()
}

/// Makes a change of a bucket's sub-resources: here on the metadata master, else on the master (forwarded).
pub async fn change_bucket_config(gw: &Gateway, bucket: &Bucket, change: BucketConfigChange) -> S3Result<Bucket> {
    let result: Result<Bucket, GatewayError> = if gw.site().is_meta_master() {
        gw.buckets().change_config(bucket, change).await
    } else {
        multisite::change_bucket_config_on_master(gw, bucket, change).await
    };
    result.map_err(to_s3_error)
}

type R<T> = S3Result<s3s::S3Response<T>>;

/// The `x-amz-version-id` a tagging answer names: none in a never-versioned bucket.
fn shown_version_id(bucket: &Bucket, meta: &meridian_model::ObjectMeta) -> Option<String> {
    (meta.versioned || bucket.versioning != meridian_model::VersioningStatus::Off).then(|| meta.version_id())
}

fn ok<T>(output: T) -> R<T> {
    Ok(s3s::S3Response::new(output))
}

impl MeridianS3 {
    pub(crate) async fn do_put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> R<PutObjectTaggingOutput> {
        let (_, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:PutObjectTagging")
            .await?;
        let input = req.input;
        let tags = tags_from_dto(input.tagging)?;
        meridian_gateway::tagging::validate_tags(&tags, MAX_OBJECT_TAGS).map_err(to_s3_error)?;
        let meta = self
            .gw
            .objects()
            .put_version_tags(&bucket, &input.key, input.version_id.as_deref(), tags)
            .await
            .map_err(to_s3_error)?;
        ok(PutObjectTaggingOutput {
            version_id: shown_version_id(&bucket, &meta),
        })
    }

    /// The bucket and version (the current one unless `version_id` names one) whose tags a tagging call
    /// reads or removes.
    async fn tagged_object<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        action: &str,
    ) -> S3Result<(Bucket, meridian_model::ObjectMeta)> {
        let (_, bucket) = self.caller_object(req, bucket, Some(key), action).await?;
        let meta = self
            .gw
            .objects()
            .version(&bucket, key, version_id)
            .await
            .map_err(to_s3_error)?;
        Ok((bucket, meta))
    }

    pub(crate) async fn do_get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> R<GetObjectTaggingOutput> {
        let input = &req.input;
        let (bucket, meta) = self
            .tagged_object(
                &req,
                &input.bucket,
                &input.key,
                input.version_id.as_deref(),
                "s3:GetObjectTagging",
            )
            .await?;
        ok(GetObjectTaggingOutput {
            tag_set: tags_to_dto(&meta.tags),
            version_id: shown_version_id(&bucket, &meta),
        })
    }

    pub(crate) async fn do_delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> R<DeleteObjectTaggingOutput> {
        let input = &req.input;
        let (bucket, meta) = self
            .tagged_object(
                &req,
                &input.bucket,
                &input.key,
                input.version_id.as_deref(),
                "s3:DeleteObjectTagging",
            )
            .await?;
        // Nothing to remove: no rewrite, no log entry.
        if !meta.tags.is_empty() {
            self.gw
                .objects()
                .put_version_tags(&bucket, &req.input.key, input.version_id.as_deref(), Vec::new())
                .await
                .map_err(to_s3_error)?;
        }
        let mut resp = s3s::S3Response::new(DeleteObjectTaggingOutput::default());
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    pub(crate) async fn do_put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> R<PutBucketTaggingOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:PutBucketTagging")
            .await?;
        let tags = tags_from_dto(req.input.tagging)?;
        meridian_gateway::tagging::validate_tags(&tags, MAX_BUCKET_TAGS).map_err(to_s3_error)?;
        change_bucket_config(&self.gw, &bucket, BucketConfigChange::Tags(tags)).await?;
        let mut resp = s3s::S3Response::new(PutBucketTaggingOutput::default());
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }

    pub(crate) async fn do_get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> R<GetBucketTaggingOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:GetBucketTagging")
            .await?;
        if bucket.config.tags.is_empty() {
            return Err(to_s3_error(GatewayError::NoSuchTagSet));
        }
        ok(GetBucketTaggingOutput {
            tag_set: tags_to_dto(&bucket.config.tags),
        })
    }

    pub(crate) async fn do_delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> R<DeleteBucketTaggingOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:PutBucketTagging")
            .await?;
        if !bucket.config.tags.is_empty() {
            change_bucket_config(&self.gw, &bucket, BucketConfigChange::Tags(Vec::new())).await?;
        }
        ok(DeleteBucketTaggingOutput::default())
    }

    pub(crate) async fn do_put_bucket_cors(&self, req: S3Request<PutBucketCorsInput>) -> R<PutBucketCorsOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket, "s3:PutBucketCORS").await?;
        let rules = cors_from_dto(req.input.cors_configuration)?;
        change_bucket_config(&self.gw, &bucket, BucketConfigChange::Cors(Some(rules))).await?;
        ok(PutBucketCorsOutput::default())
    }

    pub(crate) async fn do_get_bucket_cors(&self, req: S3Request<GetBucketCorsInput>) -> R<GetBucketCorsOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket, "s3:GetBucketCORS").await?;
        let rules = bucket
            .config
            .cors
            .as_deref()
            .ok_or_else(|| to_s3_error(GatewayError::NoSuchCorsConfiguration))?;
        ok(GetBucketCorsOutput {
            cors_rules: Some(cors_to_dto(rules)),
        })
    }

    pub(crate) async fn do_delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> R<DeleteBucketCorsOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket, "s3:PutBucketCORS").await?;
        if bucket.config.cors.is_some() {
            change_bucket_config(&self.gw, &bucket, BucketConfigChange::Cors(None)).await?;
        }
        ok(DeleteBucketCorsOutput::default())
    }
}

fn positive_days(n: Option<i32>, what: &str) -> S3Result<Option<u32>> {
    match n {
        None => Ok(None),
        Some(d) if d > 0 => Ok(Some(d as u32)),
        Some(_) => Err(s3_error!(
            InvalidArgument,
            "'{what}' in a lifecycle rule must be a positive integer"
        )),
    }
}

pub fn lifecycle_from_dto(rules: s3s::dto::LifecycleRules) -> S3Result<Vec<LifecycleRule>> {
    if rules.is_empty() || rules.len() > 1000 {
        return Err(s3_error!(
            MalformedXML,
            "A lifecycle configuration holds 1 to 1000 rules"
        ));
    }
    let mut ids = std::collections::BTreeSet::new();
    rules
        .into_iter()
        .map(|r| {
            if let Some(id) = r.id.as_deref() {
                if id.len() > 255 {
                    return Err(s3_error!(InvalidArgument, "A rule ID is at most 255 characters"));
                }
                if !ids.insert(id.to_string()) {
                    return Err(s3_error!(
                        InvalidArgument,
                        "Rule ID must be unique. Found same ID for more than one rule"
                    ));
                }
            }
            if r.transitions.as_ref().is_some_and(|t| !t.is_empty())
                || r.noncurrent_version_transitions.as_ref().is_some_and(|t| !t.is_empty())
                || r.noncurrent_version_expiration.is_some()
            {
                return Err(s3_error!(
                    NotImplemented,
                    "Only Expiration and AbortIncompleteMultipartUpload lifecycle actions are implemented"
                ));
            }
            let (mut prefix, mut tags) = (r.prefix.clone(), Vec::new());
            if let Some(f) = r.filter {
                if f.object_size_greater_than.is_some() || f.object_size_less_than.is_some() {
                    return Err(s3_error!(
                        NotImplemented,
                        "Lifecycle filters by object size are not implemented"
                    ));
                }
                if let Some(p) = f.prefix {
                    prefix = Some(p);
                }
                if let Some(t) = f.tag {
                    tags.push((t.key.unwrap_or_default(), t.value.unwrap_or_default()));
                }
                if let Some(and) = f.and {
                    if and.object_size_greater_than.is_some() || and.object_size_less_than.is_some() {
                        return Err(s3_error!(
                            NotImplemented,
                            "Lifecycle filters by object size are not implemented"
                        ));
                    }
                    if let Some(p) = and.prefix {
                        prefix = Some(p);
                    }
                    for t in and.tags.unwrap_or_default() {
                        tags.push((t.key.unwrap_or_default(), t.value.unwrap_or_default()));
                    }
                }
            }
            let (mut expiration_days, mut expiration_date) = (None, None);
            if let Some(e) = r.expiration {
                if e.days.is_some() && e.date.is_some() {
                    return Err(s3_error!(MalformedXML, "An Expiration takes Days or Date, not both"));
                }
                expiration_days = positive_days(e.days, "Days")?;
                expiration_date = e.date.map(crate::convert::model_time);
            }
            let abort_incomplete_days = match r.abort_incomplete_multipart_upload {
                Some(a) => positive_days(a.days_after_initiation, "DaysAfterInitiation")?,
                None => None,
            };
            if expiration_days.is_none() && expiration_date.is_none() && abort_incomplete_days.is_none() {
                return Err(s3_error!(
                    InvalidRequest,
                    "At least one action needs to be specified in a rule"
                ));
            }
            Ok(LifecycleRule {
                id: r.id,
                enabled: r.status.as_str().eq_ignore_ascii_case("Enabled"),
                prefix: prefix.unwrap_or_default(),
                tags,
                expiration_days,
                expiration_date,
                abort_incomplete_days,
            })
        })
        .collect()
}

pub fn lifecycle_to_dto(rules: &[LifecycleRule]) -> s3s::dto::LifecycleRules {
    rules
        .iter()
        .map(|r| {
            let tag = |(k, v): &(String, String)| dto::Tag {
                key: Some(k.clone()),
                value: Some(v.clone()),
            };
            let filter = match r.tags.len() {
                0 => dto::LifecycleRuleFilter {
                    prefix: Some(r.prefix.clone()),
                    ..Default::default()
                },
                1 if r.prefix.is_empty() => dto::LifecycleRuleFilter {
                    tag: r.tags.first().map(tag),
                    ..Default::default()
                },
                _ => dto::LifecycleRuleFilter {
                    and: Some(dto::LifecycleRuleAndOperator {
                        prefix: (!r.prefix.is_empty()).then(|| r.prefix.clone()),
                        tags: Some(r.tags.iter().map(tag).collect()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            };
            dto::LifecycleRule {
                id: r.id.clone(),
                status: dto::ExpirationStatus::from_static(if r.enabled {
                    dto::ExpirationStatus::ENABLED
                } else {
                    dto::ExpirationStatus::DISABLED
                }),
                filter: Some(filter),
                expiration: (r.expiration_days.is_some() || r.expiration_date.is_some()).then(|| {
                    dto::LifecycleExpiration {
                        days: r.expiration_days.map(|d| d as i32),
                        date: r.expiration_date.map(crate::convert::s3_time),
                        expired_object_delete_marker: None,
                    }
                }),
                abort_incomplete_multipart_upload: r.abort_incomplete_days.map(|d| {
                    dto::AbortIncompleteMultipartUpload {
                        days_after_initiation: Some(d as i32),
                    }
                }),
                noncurrent_version_expiration: None,
                noncurrent_version_transitions: None,
                prefix: None,
                transitions: None,
            }
        })
        .collect()
}

impl MeridianS3 {
    pub(crate) async fn do_put_bucket_lifecycle(
        &self,
        req: S3Request<dto::PutBucketLifecycleConfigurationInput>,
    ) -> R<dto::PutBucketLifecycleConfigurationOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:PutLifecycleConfiguration")
            .await?;
        let config = req
            .input
            .lifecycle_configuration
            .ok_or_else(|| s3_error!(MalformedXML, "The lifecycle configuration is missing"))?;
        let rules = lifecycle_from_dto(config.rules)?;
        change_bucket_config(&self.gw, &bucket, BucketConfigChange::Lifecycle(Some(rules))).await?;
        ok(dto::PutBucketLifecycleConfigurationOutput::default())
    }

    pub(crate) async fn do_get_bucket_lifecycle(
        &self,
        req: S3Request<dto::GetBucketLifecycleConfigurationInput>,
    ) -> R<dto::GetBucketLifecycleConfigurationOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:GetLifecycleConfiguration")
            .await?;
        let rules = bucket
            .config
            .lifecycle
            .as_deref()
            .ok_or_else(|| to_s3_error(GatewayError::NoSuchLifecycleConfiguration))?;
        ok(dto::GetBucketLifecycleConfigurationOutput {
            rules: Some(lifecycle_to_dto(rules)),
            ..Default::default()
        })
    }

    pub(crate) async fn do_delete_bucket_lifecycle(
        &self,
        req: S3Request<dto::DeleteBucketLifecycleInput>,
    ) -> R<dto::DeleteBucketLifecycleOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:PutLifecycleConfiguration")
            .await?;
        if bucket.config.lifecycle.is_some() {
            change_bucket_config(&self.gw, &bucket, BucketConfigChange::Lifecycle(None)).await?;
        }
        let mut resp = s3s::S3Response::new(dto::DeleteBucketLifecycleOutput::default());
        resp.status = Some(http::StatusCode::NO_CONTENT);
        Ok(resp)
    }
}
