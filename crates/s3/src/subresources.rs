//! Tags (object and bucket) and CORS rules: the conversions between s3s DTOs and the stored forms, the
//! `x-amz-tagging` header, and storing a bucket sub-resource change where it must be made (the master).

use crate::errors::to_s3_error;
use crate::service::MeridianS3;
use meridian_gateway::tagging::{MAX_BUCKET_TAGS, MAX_OBJECT_TAGS};
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::{Bucket, BucketConfigChange, CorsRule, TagSet};
use meridian_peer::master;
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
        gw.change_bucket_config(bucket, change).await
    } else {
        master::change_bucket_config_on_master(gw, bucket, change).await
    };
    result.map_err(to_s3_error)
}

type R<T> = S3Result<s3s::S3Response<T>>;

fn ok<T>(output: T) -> R<T> {
    Ok(s3s::S3Response::new(output))
}

/// Tags of a given version are not kept apart from the object's (versioning is not built here).
fn current_version_only(version_id: Option<&str>) -> S3Result<()> {
    match version_id {
        Some(v) if v != "null" => Err(s3_error!(NotImplemented, "Object versioning is not implemented yet")),
        _ => Ok(()),
    }
}

impl MeridianS3 {
    pub(crate) async fn do_put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> R<PutObjectTaggingOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket).await?;
        let input = req.input;
        current_version_only(input.version_id.as_deref())?;
        let tags = tags_from_dto(input.tagging)?;
        meridian_gateway::tagging::validate_tags(&tags, MAX_OBJECT_TAGS).map_err(to_s3_error)?;
        self.gw
            .put_object_tags(&bucket, &input.key, tags)
            .await
            .map_err(to_s3_error)?;
        ok(PutObjectTaggingOutput::default())
    }

    pub(crate) async fn do_get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> R<GetObjectTaggingOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket).await?;
        current_version_only(req.input.version_id.as_deref())?;
        let meta = self
            .gw
            .object_meta(&bucket, &req.input.key)
            .await
            .map_err(to_s3_error)?;
        ok(GetObjectTaggingOutput {
            tag_set: tags_to_dto(&meta.tags),
            version_id: None,
        })
    }

    pub(crate) async fn do_delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> R<DeleteObjectTaggingOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket).await?;
        current_version_only(req.input.version_id.as_deref())?;
        let meta = self
            .gw
            .object_meta(&bucket, &req.input.key)
            .await
            .map_err(to_s3_error)?;
        // Nothing to remove: no rewrite, no log entry.
        if !meta.tags.is_empty() {
            self.gw
                .put_object_tags(&bucket, &req.input.key, Vec::new())
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
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket).await?;
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
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket).await?;
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
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket).await?;
        if !bucket.config.tags.is_empty() {
            change_bucket_config(&self.gw, &bucket, BucketConfigChange::Tags(Vec::new())).await?;
        }
        ok(DeleteBucketTaggingOutput::default())
    }

    pub(crate) async fn do_put_bucket_cors(&self, req: S3Request<PutBucketCorsInput>) -> R<PutBucketCorsOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket).await?;
        let rules = cors_from_dto(req.input.cors_configuration)?;
        change_bucket_config(&self.gw, &bucket, BucketConfigChange::Cors(Some(rules))).await?;
        ok(PutBucketCorsOutput::default())
    }

    pub(crate) async fn do_get_bucket_cors(&self, req: S3Request<GetBucketCorsInput>) -> R<GetBucketCorsOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket).await?;
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
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket).await?;
        if bucket.config.cors.is_some() {
            change_bucket_config(&self.gw, &bucket, BucketConfigChange::Cors(None)).await?;
        }
        ok(DeleteBucketCorsOutput::default())
    }
}
