//! The S3 operations, each a thin mapping from s3s DTOs onto gateway calls.

use crate::auth::suspended_error;
use crate::checksum;
use crate::convert::*;
use crate::errors::to_s3_error;
use crate::subresources;
use meridian_gateway::buckets::resolve_bucket_name;
use meridian_gateway::listing::{ListPage, ListQuery, VersionQuery};
use meridian_gateway::multipart::UploadOptions;
use meridian_gateway::objects::{part_range, PutOptions};
use meridian_gateway::tagging::MAX_OBJECT_TAGS;
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::{Bucket, ObjectMeta, User, VersioningStatus};
use meridian_multisite as multisite;
use meridian_peer::AdminRequest;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result, S3};

pub struct MeridianS3 {
    pub(crate) gw: Gateway,
    /// Hostnames configured for virtual-hosted style (the zonegroups' come from the period).
    hostnames: Vec<String>,
}

type R<T> = S3Result<S3Response<T>>;

/// The stored headers of PutObject, CreateMultipartUpload and CopyObject inputs (same field names).
macro_rules! object_headers_of {
    ($input:expr) => {
        object_headers(
            $input.content_type,
            $input.content_encoding,
            $input.content_disposition,
            $input.content_language,
            $input.cache_control,
            $input.expires,
            $input.metadata,
        )
    };
}

/// Sets the `checksum_*` fields of an output from a stored checksum (`with_type`: and `checksum_type`).
macro_rules! set_checksum {
    ($out:expr, $stored:expr) => {{
        let f = checksum::fields($stored);
        $out.checksum_crc32 = f.crc32;
        $out.checksum_crc32c = f.crc32c;
        $out.checksum_crc64nvme = f.crc64nvme;
        $out.checksum_sha1 = f.sha1;
        $out.checksum_sha256 = f.sha256;
        f.checksum_type
    }};
}

/// What GET and HEAD answer for an object stored without a Content-Type (as S3 does).
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

fn wants_checksum(mode: &Option<ChecksumMode>) -> bool {
    mode.as_ref()
        .is_some_and(|m| m.as_str().eq_ignore_ascii_case("ENABLED"))
}

/// The checksum GET and HEAD return when asked: the whole object's, unless only a range is read (a
/// `partNumber` read of a multipart object would need that part's, which is not kept).
fn returned_checksum(meta: &ObjectMeta, asked: bool, whole: bool) -> Option<&meridian_model::ObjectChecksum> {
    if asked && whole {
        meta.checksum.as_ref()
    } else {
        None
    }
}

fn ok<T>(output: T) -> R<T> {
    Ok(S3Response::new(output))
}

trait OrS3<T> {
    fn s3(self) -> S3Result<T>;
}

impl<T> OrS3<T> for Result<T, GatewayError> {
    fn s3(self) -> S3Result<T> {
        self.map_err(to_s3_error)
    }
}

fn max_keys(requested: Option<i32>) -> usize {
    requested.map_or(1000, |n| n.clamp(0, 1000) as usize)
}

fn owner_of(user_id: &str, display: &str) -> Owner {
    Owner {
        id: Some(user_id.to_string()),
        display_name: Some(display.to_string()),
    }
}

fn list_entry(obj: ObjectMeta, encode: bool, owner: Option<Owner>) -> Object {
    Object {
        key: Some(if encode { url_encode(&obj.key) } else { obj.key }),
        e_tag: Some(etag(&obj.etag)),
        last_modified: Some(s3_time(obj.mtime)),
        size: Some(obj.size as i64),
        storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
        owner,
        ..Default::default()
    }
}

fn wants_url(encoding: &Option<EncodingType>) -> bool {
    encoding
        .as_ref()
        .is_some_and(|e| e.as_str().eq_ignore_ascii_case("url"))
}

fn common_prefixes(page: &ListPage, encode: bool) -> Option<Vec<CommonPrefix>> {
    Some(
        page.common_prefixes
            .iter()
            .map(|p| CommonPrefix {
                prefix: Some(if encode { url_encode(p) } else { p.clone() }),
            })
            .collect(),
    )
}

/// The `x-amz-version-id` S3 shows for a version: none in a never-versioned bucket (as AWS), else its id
/// (`null` for the null version).
fn shown_version(bucket: &Bucket, meta: &ObjectMeta) -> Option<String> {
    (meta.versioned || bucket.versioning != VersioningStatus::Off).then(|| meta.version_id())
}

/// The action of an object read: of the current version, or of the version named.
fn read_action(version_id: &Option<String>) -> &'static str {
    if version_id.is_some() {
        "s3:GetObjectVersion"
    } else {
        "s3:GetObject"
    }
}

fn maybe_encode(value: Option<String>, encode: bool) -> Option<String> {
    value.map(|v| if encode { url_encode(&v) } else { v })
}

impl MeridianS3 {
    pub fn new(gw: Gateway, hostnames: Vec<String>) -> Self {
        Self { gw, hostnames }
    }

    /// The signed request's user; an anonymous request is refused (`403 AccessDenied`: ListBuckets,
    /// CreateBucket). Other operations take `principal` and let the access decision judge anonymity.
    pub(crate) async fn caller<T>(&self, req: &S3Request<T>) -> S3Result<User> {
        let creds = req
            .credentials
            .as_ref()
            .ok_or_else(|| s3_error!(AccessDenied, "Anonymous access is not allowed; sign the request"))?;
        let (user, _) = self.gw.users().lookup_access_key(&creds.access_key).await.s3()?;
        if user.suspended {
            return Err(suspended_error());
        }
        Ok(user)
    }

    /// A bucket by name: this zone's record or, on a zone that is not the metadata master, the master's (a
    /// bucket created through another zone that this one has not heard of yet).
    async fn find_bucket(&self, tenant: &str, name: &str) -> Result<Bucket, GatewayError> {
        match self.gw.buckets().get(tenant, name).await {
            Err(GatewayError::NoSuchBucket) if !self.gw.site().is_meta_master() => {
                multisite::fetch_bucket_from_master(&self.gw, tenant, name).await
            }
            other => other,
        }
    }

    /// The named bucket (`name` in the caller's tenant, or `tenant:name`), if it lives in this zonegroup
    /// (else a redirect to the one it lives in). Anonymous callers' plain names are buckets of the default
    /// tenant. Whether the caller may use it is `authorize`'s question.
    pub(crate) async fn bucket_for(&self, user: Option<&User>, name: &str) -> Result<Bucket, GatewayError> {
        let (tenant, name) = resolve_bucket_name(user.map_or("", |u| u.tenant.as_str()), name);
        let bucket = self.find_bucket(&tenant, &name).await?;
        let site = self.gw.site();
        if bucket.zonegroup != site.zonegroup_id {
            let endpoint = site
                .zonegroup(&bucket.zonegroup)
                .and_then(|zg| zg.client_endpoints().into_iter().next())
                .unwrap_or_default();
            return Err(GatewayError::WrongZonegroup {
                bucket: bucket.name,
                endpoint,
            });
        }
        Ok(bucket)
    }

    /// The S3 error for `e`; a redirect carries `Location` (same request, owning zonegroup's endpoint; for a
    /// virtual-hosted request the bucket under that zonegroup's hostname) and `x-amz-bucket-region`.
    pub(crate) fn s3_error(&self, e: GatewayError, uri: &http::Uri, headers: &http::HeaderMap) -> S3Error {
        let (bucket, endpoint) = match &e {
            GatewayError::WrongZonegroup { bucket, endpoint } => (bucket.clone(), endpoint.clone()),
            _ => return to_s3_error(e),
        };
        let site = self.gw.site();
        let zonegroup = site
            .zonegroups
            .iter()
            .find(|zg| zg.client_endpoints().first() == Some(&endpoint));
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let bases = self.hostnames.iter().map(String::as_str).chain(site.hostnames());
        let virtual_hosted = crate::host::bucket_of(host, bases).as_deref() == Some(bucket.as_str());
        let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let location = match (virtual_hosted, zonegroup.and_then(|zg| zg.hostnames.first())) {
            (true, Some(hostname)) => {
                let (scheme, rest) = endpoint.split_once("://").unwrap_or(("http", endpoint.as_str()));
                let port = rest.rsplit_once(':').map(|(_, p)| format!(":{p}")).unwrap_or_default();
                format!("{scheme}://{bucket}.{hostname}{port}{path}")
            }
            (true, None) => format!("{}/{bucket}{path}", endpoint.trim_end_matches('/')),
            (false, _) => format!("{}{path}", endpoint.trim_end_matches('/')),
        };
        let region = zonegroup.map(|zg| zg.api_name.clone());
        let mut err = to_s3_error(e);
        let mut extra = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&location) {
            extra.insert(http::header::LOCATION, v);
        }
        if let Some(v) = region.and_then(|r| http::HeaderValue::from_str(&r).ok()) {
            extra.insert("x-amz-bucket-region", v);
        }
        // S3 names the endpoint and bucket inside the error document too (awscli reads `Endpoint`).
        let endpoint_host = location.split_once("://").map_or(location.as_str(), |(_, rest)| rest);
        let endpoint_host = endpoint_host.split('/').next().unwrap_or_default();
        for (element, value) in [("Endpoint", endpoint_host), ("Bucket", bucket.as_str())] {
            if let Ok(v) = http::HeaderValue::from_str(value) {
                extra.insert(crate::error_element_header(element), v);
            }
        }
        err.set_headers(extra);
        err
    }

    /// A read's error; a 304 carries the object's ETag and Last-Modified, as S3's does.
    async fn read_error(&self, e: GatewayError, bucket: &Bucket, key: &str) -> S3Error {
        if !matches!(e, GatewayError::NotModified) {
            return to_s3_error(e);
        }
        let mut err = to_s3_error(e);
        if let Ok(meta) = self.gw.objects().meta(bucket, key).await {
            let mut headers = http::HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", meta.etag)) {
                headers.insert(http::header::ETAG, v);
            }
            if let Some(v) = http_date(&s3_time(meta.mtime)).and_then(|d| http::HeaderValue::from_str(&d).ok()) {
                headers.insert(http::header::LAST_MODIFIED, v);
            }
            err.set_headers(headers);
        }
        err
    }

    /// The bucket, key and version (`None`: the current one) a copy reads, if the caller may read it.
    async fn copy_source<T>(
        &self,
        req: &S3Request<T>,
        user: Option<&User>,
        source: &CopySource,
    ) -> S3Result<(Bucket, String, Option<String>)> {
        match source {
            CopySource::Bucket {
                bucket,
                key,
                version_id,
            } => {
                let b = self.bucket_for(user, bucket).await.s3()?;
                let action = if version_id.is_some() {
                    "s3:GetObjectVersion"
                } else {
                    "s3:GetObject"
                };
                self.authorize_read(req, user, &b, key, version_id.as_deref(), action)
                    .await?;
                Ok((b, key.to_string(), version_id.as_deref().map(str::to_string)))
            }
            _ => Err(s3_error!(NotImplemented, "Access point copy sources are not supported")),
        }
    }
}

fn object_output_headers(meta: &ObjectMeta) -> (Option<Timestamp>, Option<Metadata>) {
    let expires = meta.headers.expires.as_deref().and_then(parse_http_date);
    let metadata = if meta.headers.user_meta.is_empty() {
        None
    } else {
        Some(
            meta.headers
                .user_meta
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    (expires, metadata)
}

#[async_trait::async_trait]
impl S3 for MeridianS3 {
    async fn list_buckets(&self, req: S3Request<ListBucketsInput>) -> R<ListBucketsOutput> {
        let user = self.caller(&req).await?;
        let input = req.input;
        let max = match input.max_buckets {
            None => None,
            Some(n) if (1..=10_000).contains(&n) => Some(n as usize),
            Some(_) => return Err(s3_error!(InvalidArgument, "max-buckets must be between 1 and 10000")),
        };
        // The token is the hex of the last name answered.
        let after = match input.continuation_token.as_deref() {
            Some(token) => Some(
                hex::decode(token)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))?,
            ),
            None => None,
        };
        let mut buckets: Vec<Bucket> = self
            .gw
            .buckets()
            .list(&user.full_id())
            .await
            .s3()?
            .into_iter()
            .filter(|b| input.prefix.as_deref().is_none_or(|p| b.name.starts_with(p)))
            .filter(|b| after.as_deref().is_none_or(|a| b.name.as_str() > a))
            .collect();
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        let truncated = max.is_some_and(|m| buckets.len() > m);
        if let Some(m) = max {
            buckets.truncate(m);
        }
        let continuation_token = if truncated {
            buckets.last().map(|b| hex::encode(&b.name))
        } else {
            None
        };
        ok(ListBucketsOutput {
            buckets: Some(
                buckets
                    .into_iter()
                    .map(|b| s3s::dto::Bucket {
                        name: Some(b.name),
                        creation_date: Some(s3_time(b.creation_time)),
                        bucket_region: None,
                    })
                    .collect(),
            ),
            owner: Some(owner_of(&user.full_id(), &user.display_name)),
            continuation_token,
            prefix: input.prefix,
        })
    }

    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> R<CreateBucketOutput> {
        let user = self.caller(&req).await?;
        // A bucket is created in the caller's own tenant; naming another is refused, as RGW does.
        let (tenant, name) = resolve_bucket_name(&user.tenant, &req.input.bucket);
        if tenant != user.tenant {
            return Err(s3_error!(
                AccessDenied,
                "A bucket can only be created in your own tenant"
            ));
        }
        let location = req
            .input
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.location_constraint.as_ref())
            .map(|l| l.as_str().to_string());
        let owner = user.full_id();
        let acl = self.acl_from_headers(&req.headers, &owner, &owner, None).await?;
        let created = if self.gw.site().is_meta_master() {
            self.gw
                .buckets()
                .create_with_acl(&user, &name, location.as_deref(), acl)
                .await
        } else {
            match self.gw.buckets().check_location(location.as_deref()) {
                Ok(()) => multisite::create_bucket_on_master(&self.gw, &user, &name, acl.as_ref()).await,
                Err(e) => Err(e),
            }
        };
        let bucket = match created {
            // Re-creating your own bucket in its zonegroup answers 200 and changes nothing (us-east-1 and
            // RGW); in another zonegroup it stays BucketAlreadyOwnedByYou.
            Err(GatewayError::BucketAlreadyOwnedByYou) => match self.find_bucket(&tenant, &name).await {
                Ok(b) if b.zonegroup == self.gw.site().zonegroup_id && b.owner == user.full_id() => b,
                _ => return Err(to_s3_error(GatewayError::BucketAlreadyOwnedByYou)),
            },
            other => other.s3()?,
        };
        if req.input.object_lock_enabled_for_bucket == Some(true) && bucket.config.object_lock.is_none() {
            crate::object_lock::enable_on_new_bucket(&self.gw, &bucket).await?;
        }
        ok(CreateBucketOutput {
            location: Some(format!("/{}", bucket.name)),
        })
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> R<HeadBucketOutput> {
        self.caller_bucket(&req, &req.input.bucket, "s3:ListBucket").await?;
        ok(HeadBucketOutput {
            bucket_region: Some(self.gw.site().zonegroup_api_name.clone()),
            ..Default::default()
        })
    }

    async fn delete_bucket(&self, req: S3Request<DeleteBucketInput>) -> R<DeleteBucketOutput> {
        let (user, bucket) = self.caller_bucket(&req, &req.input.bucket, "s3:DeleteBucket").await?;
        // Only a bucket's owner deletes it (the gateway checks again under its lock).
        let user = user.ok_or_else(|| to_s3_error(GatewayError::AccessDenied))?;
        if !self.gw.site().is_meta_master() {
            // The master drops the bucket from the realm only once this zone has checked it is empty.
            self.gw.buckets().ensure_empty(&bucket).await.s3()?;
            let spec = if bucket.tenant.is_empty() {
                bucket.name.clone()
            } else {
                format!("{}/{}", bucket.tenant, bucket.name)
            };
            let remove = AdminRequest::new(http::Method::DELETE, "metadata/bucket").param("key", spec);
            multisite::forward(&self.gw, &remove).await.s3()?;
        }
        self.gw
            .buckets()
            .delete(&user, &bucket.tenant, &bucket.name)
            .await
            .s3()?;
        ok(DeleteBucketOutput::default())
    }

    /// Answered from any zonegroup (no redirect): it is how clients find where a bucket lives.
    async fn get_bucket_location(&self, req: S3Request<GetBucketLocationInput>) -> R<GetBucketLocationOutput> {
        let user = self.principal(&req).await?;
        let tenant = user.as_ref().map_or("", |u| u.tenant.as_str());
        let (tenant, name) = resolve_bucket_name(tenant, &req.input.bucket);
        let bucket = self.find_bucket(&tenant, &name).await.s3()?;
        self.authorize(&req, user.as_ref(), &bucket, None, "s3:GetBucketLocation", None)?;
        let site = self.gw.site();
        let api_name = site
            .zonegroup(&bucket.zonegroup)
            .map_or_else(|| site.zonegroup_api_name.clone(), |zg| zg.api_name.clone());
        ok(GetBucketLocationOutput {
            location_constraint: Some(BucketLocationConstraint::from(api_name)),
        })
    }

    async fn get_bucket_versioning(&self, req: S3Request<GetBucketVersioningInput>) -> R<GetBucketVersioningOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:GetBucketVersioning")
            .await?;
        // A bucket whose versioning was never set answers an empty configuration, as S3 does.
        let status = match bucket.versioning {
            VersioningStatus::Off => None,
            VersioningStatus::Enabled => Some(BucketVersioningStatus::from_static(BucketVersioningStatus::ENABLED)),
            VersioningStatus::Suspended => Some(BucketVersioningStatus::from_static(BucketVersioningStatus::SUSPENDED)),
        };
        ok(GetBucketVersioningOutput {
            status,
            ..Default::default()
        })
    }

    async fn put_bucket_versioning(&self, req: S3Request<PutBucketVersioningInput>) -> R<PutBucketVersioningOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:PutBucketVersioning")
            .await?;
        let config = &req.input.versioning_configuration;
        if config
            .mfa_delete
            .as_ref()
            .is_some_and(|m| m.as_str().eq_ignore_ascii_case("Enabled"))
        {
            return Err(s3_error!(NotImplemented, "MFA Delete is not supported"));
        }
        let status = match config.status.as_ref().map(|s| s.as_str()) {
            Some(BucketVersioningStatus::ENABLED) => VersioningStatus::Enabled,
            Some(BucketVersioningStatus::SUSPENDED) => VersioningStatus::Suspended,
            // No status changes nothing (S3 accepts a configuration with only MfaDelete).
            None => return ok(PutBucketVersioningOutput::default()),
            Some(other) => {
                return Err(s3_error!(
                    MalformedXML,
                    "The versioning status {other:?} is neither Enabled nor Suspended"
                ))
            }
        };
        if self.gw.site().is_meta_master() {
            self.gw.buckets().set_versioning(&bucket, status).await.s3()?;
        } else {
            multisite::set_bucket_versioning_on_master(&self.gw, &bucket, status)
                .await
                .s3()?;
        }
        ok(PutBucketVersioningOutput::default())
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> R<PutObjectOutput> {
        let (user, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:PutObject")
            .await?;
        let acl = self.new_object_acl(&req.headers, user.as_ref(), &bucket).await?;
        let wanted = checksum::requested(&req.headers)?;
        let trailers = req.trailing_headers.clone();
        let input = req.input;
        let content_md5 = content_md5(input.content_md5.as_deref())?;
        let tags = subresources::tags_from_header(input.tagging.as_deref(), MAX_OBJECT_TAGS)?;
        let lock = crate::object_lock::lock_from_request(
            &bucket,
            input.object_lock_mode.as_ref().map(|m| m.as_str()),
            input.object_lock_retain_until_date.clone(),
            input.object_lock_legal_hold_status.as_ref().map(|s| s.as_str()),
        )?;
        crate::object_lock::require_integrity(&lock, &req.headers)?;
        let mut body = request_body(input.body);
        let mut slot = None;
        let mut verdict = None;
        if let Some(wanted) = wanted {
            let (checked, s, v) = checksum::checked(body, wanted, trailers);
            body = checked;
            slot = Some(s);
            verdict = Some(v);
        }
        let opts = PutOptions {
            headers: object_headers_of!(input),
            content_length: input.content_length.and_then(|n| u64::try_from(n).ok()),
            content_md5,
            conditions: conditions(input.if_match, input.if_none_match, None, None),
            checksum: slot,
            tags,
            lock,
            acl,
        };
        let meta = match self.gw.objects().put(&bucket, &input.key, body, opts).await {
            Ok(m) => m,
            Err(e) => return Err(verdict.and_then(|v| v.failure()).unwrap_or_else(|| to_s3_error(e))),
        };
        let mut out = PutObjectOutput {
            e_tag: Some(etag(&meta.etag)),
            size: Some(meta.size as i64),
            version_id: shown_version(&bucket, &meta),
            ..Default::default()
        };
        out.checksum_type = set_checksum!(out, meta.checksum.as_ref());
        ok(out)
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> R<GetObjectOutput> {
        let (_, bucket) = self
            .caller_reading(
                &req,
                &req.input.bucket,
                &req.input.key,
                req.input.version_id.as_deref(),
                read_action(&req.input.version_id),
            )
            .await?;
        let input = req.input;
        if input.part_number.is_some() && input.range.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter"
            ));
        }
        let conds = conditions(
            input.if_match,
            input.if_none_match,
            input.if_modified_since,
            input.if_unmodified_since,
        );
        let asked_version = input.version_id.clone();
        let read = match input.part_number {
            Some(n) => {
                self.gw
                    .objects()
                    .get_part(&bucket, &input.key, input.version_id.as_deref(), n, &conds)
                    .await
            }
            None => {
                self.gw
                    .objects()
                    .get_version(
                        &bucket,
                        &input.key,
                        input.version_id.as_deref(),
                        input.range.map(byte_range),
                        &conds,
                    )
                    .await
            }
        };
        let read = match read {
            Ok(r) => r,
            Err(e) => return Err(self.read_error(e, &bucket, &input.key).await),
        };
        let meta = read.meta;
        let len = read.range.end - read.range.start;
        let (expires, metadata) = object_output_headers(&meta);
        let whole = !read.partial || (input.part_number == Some(1) && meta.part_sizes.len() <= 1);
        let stored_checksum = returned_checksum(&meta, wants_checksum(&input.checksum_mode), whole);
        let mut output = GetObjectOutput {
            body: Some(response_body(read.body, len)),
            content_length: Some(len as i64),
            content_range: read.partial.then(|| {
                format!(
                    "bytes {}-{}/{}",
                    read.range.start,
                    read.range.end.saturating_sub(1),
                    meta.size
                )
            }),
            accept_ranges: Some("bytes".into()),
            e_tag: Some(etag(&meta.etag)),
            last_modified: Some(s3_time(meta.mtime)),
            content_type: input
                .response_content_type
                .or(meta.headers.content_type.clone())
                .or_else(|| Some(DEFAULT_CONTENT_TYPE.to_string())),
            content_encoding: input
                .response_content_encoding
                .or(meta.headers.content_encoding.clone()),
            content_disposition: input
                .response_content_disposition
                .or(meta.headers.content_disposition.clone()),
            content_language: input
                .response_content_language
                .or(meta.headers.content_language.clone()),
            cache_control: input.response_cache_control.or(meta.headers.cache_control.clone()),
            expires: input.response_expires.or(expires),
            metadata,
            parts_count: meta.parts_count.map(|n| n as i32),
            version_id: shown_version(&bucket, &meta).or(asked_version),
            tag_count: (!meta.tags.is_empty()).then_some(meta.tags.len() as i32),
            ..Default::default()
        };
        let lock = crate::object_lock::lock_headers(&meta);
        (output.object_lock_mode, output.object_lock_retain_until_date) = (lock.mode, lock.until);
        output.object_lock_legal_hold_status = lock.legal_hold;
        output.checksum_type = set_checksum!(output, stored_checksum);
        let mut resp = S3Response::new(output);
        if read.partial {
            resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
        }
        Ok(resp)
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> R<HeadObjectOutput> {
        let (_, bucket) = self
            .caller_reading(
                &req,
                &req.input.bucket,
                &req.input.key,
                req.input.version_id.as_deref(),
                read_action(&req.input.version_id),
            )
            .await?;
        let input = req.input;
        let conds = conditions(
            input.if_match,
            input.if_none_match,
            input.if_modified_since,
            input.if_unmodified_since,
        );
        if input.part_number.is_some() && input.range.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter"
            ));
        }
        let meta = match self
            .gw
            .objects()
            .head_version(&bucket, &input.key, input.version_id.as_deref(), &conds)
            .await
        {
            Ok(m) => m,
            Err(e) => return Err(self.read_error(e, &bucket, &input.key).await),
        };
        let (expires, metadata) = object_output_headers(&meta);
        let version_id = shown_version(&bucket, &meta).or(input.version_id.clone());
        let (length, content_range) = match input.part_number {
            Some(n) => {
                let r = part_range(&meta, n).s3()?;
                let range = format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), meta.size);
                (r.end - r.start, Some(range))
            }
            None => (meta.size, None),
        };
        let whole = input.part_number.is_none() || (input.part_number == Some(1) && meta.part_sizes.len() <= 1);
        let stored_checksum = returned_checksum(&meta, wants_checksum(&input.checksum_mode), whole);
        let mut out = HeadObjectOutput {
            version_id,
            content_length: Some(length as i64),
            content_range,
            accept_ranges: Some("bytes".into()),
            e_tag: Some(etag(&meta.etag)),
            last_modified: Some(s3_time(meta.mtime)),
            content_type: meta
                .headers
                .content_type
                .clone()
                .or_else(|| Some(DEFAULT_CONTENT_TYPE.to_string())),
            content_encoding: meta.headers.content_encoding.clone(),
            content_disposition: meta.headers.content_disposition.clone(),
            content_language: meta.headers.content_language.clone(),
            cache_control: meta.headers.cache_control.clone(),
            expires,
            metadata,
            parts_count: meta.parts_count.map(|n| n as i32),
            ..Default::default()
        };
        let lock = crate::object_lock::lock_headers(&meta);
        (out.object_lock_mode, out.object_lock_retain_until_date) = (lock.mode, lock.until);
        out.object_lock_legal_hold_status = lock.legal_hold;
        out.checksum_type = set_checksum!(out, stored_checksum);
        // With a Content-Range the answer becomes 206 (`crate::partial_head`).
        let mut resp = S3Response::new(out);
        if !meta.tags.is_empty() {
            resp.headers
                .insert("x-amz-tagging-count", http::HeaderValue::from(meta.tags.len()));
        }
        Ok(resp)
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> R<DeleteObjectOutput> {
        let action = if req.input.version_id.is_some() {
            "s3:DeleteObjectVersion"
        } else {
            "s3:DeleteObject"
        };
        let (user, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), action)
            .await?;
        let bypass = req.input.bypass_governance_retention == Some(true)
            && self.may_bypass_governance(&req, user.as_ref(), &bucket, &req.input.key);
        let deleted = self
            .gw
            .objects()
            .delete_version(&bucket, &req.input.key, req.input.version_id.as_deref(), bypass)
            .await
            .s3()?;
        ok(DeleteObjectOutput {
            delete_marker: deleted.delete_marker.then_some(true),
            version_id: deleted.version_id,
            ..Default::default()
        })
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> R<DeleteObjectsOutput> {
        let user = self.principal(&req).await?;
        let bucket = self
            .bucket_for(user.as_ref(), &req.input.bucket)
            .await
            .map_err(|e| self.s3_error(e, &req.uri, &req.headers))?;
        let quiet = req.input.delete.quiet.unwrap_or(false);
        if req.input.delete.objects.len() > 1000 {
            return Err(s3_error!(MalformedXML, "DeleteObjects accepts at most 1000 keys"));
        }
        let entries: Vec<(String, Option<String>)> = req
            .input
            .delete
            .objects
            .iter()
            .map(|o| (o.key.clone(), o.version_id.clone()))
            .collect();
        let bypass = req.input.bypass_governance_retention == Some(true)
            && entries
                .iter()
                .all(|(key, _)| self.may_bypass_governance(&req, user.as_ref(), &bucket, key));
        // Each key is judged on its own (as S3 does): a denied one is an AccessDenied entry.
        let denied: Vec<bool> = entries
            .iter()
            .map(|(key, version)| {
                let action = if version.is_some() {
                    "s3:DeleteObjectVersion"
                } else {
                    "s3:DeleteObject"
                };
                self.authorize(&req, user.as_ref(), &bucket, Some(key), action, None)
                    .is_err()
            })
            .collect();
        let allowed: Vec<(String, Option<String>)> = entries
            .iter()
            .zip(&denied)
            .filter(|(_, d)| !**d)
            .map(|(e, _)| e.clone())
            .collect();
        let mut allowed_results = self
            .gw
            .objects()
            .delete_versions(&bucket, allowed, bypass)
            .await
            .s3()?
            .into_iter();
        let results: Vec<Result<_, GatewayError>> = denied
            .iter()
            .map(|d| match d {
                true => Err(GatewayError::AccessDenied),
                false => allowed_results
                    .next()
                    .unwrap_or_else(|| Err(GatewayError::Internal("a delete result is missing".into()))),
            })
            .collect();
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for ((key, asked_version), result) in entries.into_iter().zip(results) {
            match result {
                Ok(_) if quiet => {}
                // A version named: that version went (a delete marker itself, maybe).
                Ok(d) if asked_version.is_some() => deleted.push(DeletedObject {
                    key: Some(key),
                    version_id: asked_version,
                    delete_marker: d.delete_marker.then_some(true),
                    delete_marker_version_id: if d.delete_marker { d.version_id } else { None },
                }),
                // No version named: in a versioned bucket a delete marker was written.
                Ok(d) => deleted.push(DeletedObject {
                    key: Some(key),
                    delete_marker: d.delete_marker.then_some(true),
                    delete_marker_version_id: if d.delete_marker { d.version_id } else { None },
                    ..Default::default()
                }),
                Err(e) => {
                    let err = to_s3_error(e);
                    errors.push(Error {
                        key: Some(key),
                        code: Some(err.code().as_str().to_string()),
                        message: err.message().map(str::to_string),
                        version_id: asked_version,
                    });
                }
            }
        }
        ok(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: Some(errors),
            ..Default::default()
        })
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> R<CopyObjectOutput> {
        let (user, dst) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:PutObject")
            .await?;
        let (src_bucket, src_key, src_version) = self.copy_source(&req, user.as_ref(), &req.input.copy_source).await?;
        let acl = self.new_object_acl(&req.headers, user.as_ref(), &dst).await?;
        let input = req.input;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str().eq_ignore_ascii_case("REPLACE"));
        let headers = replace.then(|| object_headers_of!(input));
        let tags = match input
            .tagging_directive
            .as_ref()
            .map(|d| d.as_str().to_ascii_uppercase())
        {
            None => None,
            Some(d) if d == "COPY" => None,
            Some(d) if d == "REPLACE" => Some(subresources::tags_from_header(
                input.tagging.as_deref(),
                MAX_OBJECT_TAGS,
            )?),
            Some(_) => return Err(s3_error!(InvalidArgument, "Unknown tagging directive")),
        };
        let lock = crate::object_lock::lock_from_request(
            &dst,
            input.object_lock_mode.as_ref().map(|m| m.as_str()),
            input.object_lock_retain_until_date.clone(),
            input.object_lock_legal_hold_status.as_ref().map(|s| s.as_str()),
        )?;
        let conds = conditions(
            input.copy_source_if_match,
            input.copy_source_if_none_match,
            input.copy_source_if_modified_since,
            input.copy_source_if_unmodified_since,
        );
        let (src, meta) = self
            .gw
            .objects()
            .copy_version(
                &src_bucket,
                &src_key,
                src_version.as_deref(),
                &dst,
                &input.key,
                headers,
                tags,
                lock,
                acl,
                &conds,
            )
            .await
            .s3()?;
        ok(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(etag(&meta.etag)),
                last_modified: Some(s3_time(meta.mtime)),
                ..Default::default()
            }),
            copy_source_version_id: shown_version(&src_bucket, &src),
            version_id: shown_version(&dst, &meta),
            ..Default::default()
        })
    }

    async fn list_objects(&self, req: S3Request<ListObjectsInput>) -> R<ListObjectsOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket, "s3:ListBucket").await?;
        let input = req.input;
        let encode = wants_url(&input.encoding_type);
        let query = ListQuery {
            prefix: input.prefix.clone().unwrap_or_default(),
            delimiter: input.delimiter.clone(),
            after: input.marker.clone().filter(|m| !m.is_empty()),
            max_keys: max_keys(input.max_keys),
        };
        let page = self.gw.objects().list(&bucket, query.clone()).await.s3()?;
        let owner = Some(owner_of(&bucket.owner, &bucket.owner));
        ok(ListObjectsOutput {
            name: Some(bucket.name.clone()),
            prefix: Some(maybe_encode(input.prefix, encode).unwrap_or_default()),
            marker: Some(maybe_encode(input.marker, encode).unwrap_or_default()),
            max_keys: Some(query.max_keys as i32),
            is_truncated: Some(page.is_truncated),
            // S3 returns NextMarker only with a delimiter; clients otherwise use the last key.
            next_marker: if page.is_truncated && query.delimiter.is_some() {
                maybe_encode(page.next_marker.clone(), encode)
            } else {
                None
            },
            common_prefixes: common_prefixes(&page, encode),
            // An empty delimiter is no delimiter, and S3 does not echo it.
            delimiter: maybe_encode(input.delimiter.filter(|d| !d.is_empty()), encode),
            encoding_type: input.encoding_type,
            contents: Some(
                page.objects
                    .into_iter()
                    .map(|o| list_entry(o, encode, owner.clone()))
                    .collect(),
            ),
            ..Default::default()
        })
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> R<ListObjectsV2Output> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket, "s3:ListBucket").await?;
        let input = req.input;
        let encode = wants_url(&input.encoding_type);
        let after = match input.continuation_token.as_deref() {
            Some(token) => Some(
                hex::decode(token)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))?,
            ),
            None => input.start_after.clone().filter(|s| !s.is_empty()),
        };
        let query = ListQuery {
            prefix: input.prefix.clone().unwrap_or_default(),
            delimiter: input.delimiter.clone(),
            after,
            max_keys: max_keys(input.max_keys),
        };
        let page = self.gw.objects().list(&bucket, query.clone()).await.s3()?;
        let owner = input
            .fetch_owner
            .unwrap_or(false)
            .then(|| owner_of(&bucket.owner, &bucket.owner));
        let key_count = (page.objects.len() + page.common_prefixes.len()) as i32;
        ok(ListObjectsV2Output {
            name: Some(bucket.name.clone()),
            prefix: Some(maybe_encode(input.prefix, encode).unwrap_or_default()),
            max_keys: Some(query.max_keys as i32),
            key_count: Some(key_count),
            continuation_token: input.continuation_token,
            is_truncated: Some(page.is_truncated),
            next_continuation_token: if page.is_truncated {
                page.next_marker.as_ref().map(hex::encode)
            } else {
                None
            },
            common_prefixes: common_prefixes(&page, encode),
            // An empty delimiter is no delimiter, and S3 does not echo it.
            delimiter: maybe_encode(input.delimiter.filter(|d| !d.is_empty()), encode),
            encoding_type: input.encoding_type,
            start_after: maybe_encode(input.start_after, encode),
            contents: Some(
                page.objects
                    .into_iter()
                    .map(|o| list_entry(o, encode, owner.clone()))
                    .collect(),
            ),
            ..Default::default()
        })
    }

    async fn list_object_versions(&self, req: S3Request<ListObjectVersionsInput>) -> R<ListObjectVersionsOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:ListBucketVersions")
            .await?;
        let input = req.input;
        let encode = wants_url(&input.encoding_type);
        let query = VersionQuery {
            prefix: input.prefix.clone().unwrap_or_default(),
            delimiter: input.delimiter.clone(),
            key_marker: input.key_marker.clone(),
            version_id_marker: input.version_id_marker.clone(),
            max_keys: max_keys(input.max_keys),
        };
        let page = self.gw.objects().list_versions(&bucket, query.clone()).await.s3()?;
        let owner = Some(owner_of(&bucket.owner, &bucket.owner));
        let mut versions = Vec::new();
        let mut delete_markers = Vec::new();
        for e in page.entries {
            let m = e.meta;
            let key = Some(if encode { url_encode(&m.key) } else { m.key.clone() });
            if m.delete_marker {
                delete_markers.push(DeleteMarkerEntry {
                    is_latest: Some(e.is_latest),
                    key,
                    last_modified: Some(s3_time(m.mtime)),
                    owner: owner.clone(),
                    version_id: Some(m.version_id()),
                });
            } else {
                versions.push(ObjectVersion {
                    e_tag: Some(etag(&m.etag)),
                    is_latest: Some(e.is_latest),
                    key,
                    last_modified: Some(s3_time(m.mtime)),
                    owner: owner.clone(),
                    size: Some(m.size as i64),
                    storage_class: Some(ObjectVersionStorageClass::from_static(
                        ObjectVersionStorageClass::STANDARD,
                    )),
                    version_id: Some(m.version_id()),
                    ..Default::default()
                });
            }
        }
        let common = page
            .common_prefixes
            .iter()
            .map(|p| CommonPrefix {
                prefix: Some(if encode { url_encode(p) } else { p.clone() }),
            })
            .collect();
        ok(ListObjectVersionsOutput {
            name: Some(bucket.name.clone()),
            prefix: Some(maybe_encode(input.prefix, encode).unwrap_or_default()),
            key_marker: Some(maybe_encode(input.key_marker, encode).unwrap_or_default()),
            version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
            max_keys: Some(query.max_keys as i32),
            is_truncated: Some(page.is_truncated),
            next_key_marker: maybe_encode(page.next_key_marker, encode),
            next_version_id_marker: page.next_version_id_marker,
            delimiter: maybe_encode(input.delimiter.filter(|d| !d.is_empty()), encode),
            encoding_type: input.encoding_type,
            common_prefixes: Some(common),
            versions: Some(versions),
            delete_markers: Some(delete_markers),
            ..Default::default()
        })
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> R<CreateMultipartUploadOutput> {
        let (user, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:PutObject")
            .await?;
        let acl = self.new_object_acl(&req.headers, user.as_ref(), &bucket).await?;
        let input = req.input;
        let (checksum_algorithm, checksum_full_object) = checksum::check_upload_settings(
            input.checksum_algorithm.as_ref().map(|a| a.as_str()),
            input.checksum_type.as_ref().map(|t| t.as_str()),
        )?;
        let tags = subresources::tags_from_header(input.tagging.as_deref(), MAX_OBJECT_TAGS)?;
        let lock = crate::object_lock::lock_from_request(
            &bucket,
            input.object_lock_mode.as_ref().map(|m| m.as_str()),
            input.object_lock_retain_until_date.clone(),
            input.object_lock_legal_hold_status.as_ref().map(|s| s.as_str()),
        )?;
        let opts = UploadOptions {
            headers: object_headers_of!(input),
            checksum_algorithm,
            checksum_full_object,
            tags,
            lock,
            acl,
        };
        let upload = self.gw.objects().create_upload(&bucket, &input.key, opts).await.s3()?;
        ok(CreateMultipartUploadOutput {
            bucket: Some(bucket.name),
            key: Some(upload.key),
            upload_id: Some(upload.upload_id),
            checksum_type: upload.checksum_algorithm.as_ref().map(|_| {
                ChecksumType::from_static(if upload.checksum_full_object {
                    ChecksumType::FULL_OBJECT
                } else {
                    ChecksumType::COMPOSITE
                })
            }),
            checksum_algorithm: upload.checksum_algorithm.map(ChecksumAlgorithm::from),
            ..Default::default()
        })
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> R<UploadPartOutput> {
        let (_, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:PutObject")
            .await?;
        let wanted = checksum::requested(&req.headers)?;
        let trailers = req.trailing_headers.clone();
        let input = req.input;
        let md5 = content_md5(input.content_md5.as_deref())?;
        let mut body = request_body(input.body);
        let mut slot = None;
        let mut verdict = None;
        if let Some(wanted) = wanted {
            let (checked, s, v) = checksum::checked(body, wanted, trailers);
            body = checked;
            slot = Some(s);
            verdict = Some(v);
        }
        let part = self
            .gw
            .objects()
            .upload_part(
                &bucket,
                &input.key,
                &input.upload_id,
                i64::from(input.part_number),
                body,
                input.content_length.and_then(|n| u64::try_from(n).ok()),
                md5,
                slot,
            )
            .await;
        let part = match part {
            Ok(p) => p,
            Err(e) => return Err(verdict.and_then(|v| v.failure()).unwrap_or_else(|| to_s3_error(e))),
        };
        let mut out = UploadPartOutput {
            e_tag: Some(etag(&part.etag)),
            ..Default::default()
        };
        let _ = set_checksum!(out, part.checksum.as_ref());
        ok(out)
    }

    async fn upload_part_copy(&self, req: S3Request<UploadPartCopyInput>) -> R<UploadPartCopyOutput> {
        let (user, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:PutObject")
            .await?;
        let (src_bucket, src_key, src_version) = self.copy_source(&req, user.as_ref(), &req.input.copy_source).await?;
        let input = req.input;
        let range = input.copy_source_range.as_deref().map(copy_source_range).transpose()?;
        let conds = conditions(
            input.copy_source_if_match,
            input.copy_source_if_none_match,
            input.copy_source_if_modified_since,
            input.copy_source_if_unmodified_since,
        );
        let part = self
            .gw
            .objects()
            .upload_part_copy(
                &bucket,
                &input.key,
                &input.upload_id,
                i64::from(input.part_number),
                &src_bucket,
                &src_key,
                src_version.as_deref(),
                range,
                &conds,
            )
            .await
            .s3()?;
        ok(UploadPartCopyOutput {
            copy_source_version_id: src_version,
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(etag(&part.etag)),
                last_modified: Some(s3_time(part.mtime)),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> R<CompleteMultipartUploadOutput> {
        let (_, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:PutObject")
            .await?;
        let input = req.input;
        let parts = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                let number = p
                    .part_number
                    .ok_or_else(|| s3_error!(MalformedXML, "every Part needs a PartNumber"))?;
                let tag = p
                    .e_tag
                    .ok_or_else(|| s3_error!(MalformedXML, "every Part needs an ETag"))?;
                Ok((i64::from(number), tag.value().to_string()))
            })
            .collect::<S3Result<Vec<_>>>()?;
        let conds = conditions(input.if_match, input.if_none_match, None, None);
        let meta = self
            .gw
            .objects()
            .complete_upload(&bucket, &input.key, &input.upload_id, parts, conds, checksum::combine)
            .await
            .s3()?;
        let mut out = CompleteMultipartUploadOutput {
            bucket: Some(bucket.name.clone()),
            key: Some(meta.key.clone()),
            e_tag: Some(etag(&meta.etag)),
            location: Some(format!("/{}/{}", bucket.name, meta.key)),
            version_id: shown_version(&bucket, &meta),
            ..Default::default()
        };
        out.checksum_type = set_checksum!(out, meta.checksum.as_ref());
        ok(out)
    }

    async fn abort_multipart_upload(&self, req: S3Request<AbortMultipartUploadInput>) -> R<AbortMultipartUploadOutput> {
        let (_, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:AbortMultipartUpload")
            .await?;
        self.gw
            .objects()
            .abort_upload(&bucket, &req.input.key, &req.input.upload_id)
            .await
            .s3()?;
        ok(AbortMultipartUploadOutput::default())
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> R<ListPartsOutput> {
        let (_, bucket) = self
            .caller_object(
                &req,
                &req.input.bucket,
                Some(&req.input.key),
                "s3:ListMultipartUploadParts",
            )
            .await?;
        let input = req.input;
        let marker = input.part_number_marker.unwrap_or(0).max(0) as u32;
        let max = input.max_parts.map_or(1000, |n| n.clamp(0, 1000) as usize);
        let (upload, parts, truncated) = self
            .gw
            .objects()
            .list_parts(&bucket, &input.key, &input.upload_id, marker, max)
            .await
            .s3()?;
        let owner = owner_of(&upload.owner, &self.display_name(&upload.owner).await);
        ok(ListPartsOutput {
            bucket: Some(bucket.name),
            key: Some(upload.key),
            upload_id: Some(upload.upload_id),
            part_number_marker: Some(marker as i32),
            next_part_number_marker: parts.last().map(|p| p.part_number as i32),
            max_parts: Some(max as i32),
            is_truncated: Some(truncated),
            initiator: Some(Initiator {
                id: owner.id.clone(),
                display_name: owner.display_name.clone(),
            }),
            owner: Some(owner),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            parts: Some(
                parts
                    .into_iter()
                    .map(|p| {
                        let mut part = Part {
                            part_number: Some(p.part_number as i32),
                            e_tag: Some(etag(&p.etag)),
                            size: Some(p.size as i64),
                            last_modified: Some(s3_time(p.mtime)),
                            ..Default::default()
                        };
                        let _ = set_checksum!(part, p.checksum.as_ref());
                        part
                    })
                    .collect(),
            ),
            ..Default::default()
        })
    }

    async fn list_multipart_uploads(&self, req: S3Request<ListMultipartUploadsInput>) -> R<ListMultipartUploadsOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:ListBucketMultipartUploads")
            .await?;
        let input = req.input;
        let encode = wants_url(&input.encoding_type);
        let max = input.max_uploads.map_or(1000, |n| n.clamp(0, 1000) as usize);
        let (uploads, truncated) = self
            .gw
            .objects()
            .list_uploads(
                &bucket,
                input.prefix.clone().unwrap_or_default(),
                input.key_marker.clone(),
                input.upload_id_marker.clone(),
                max,
            )
            .await
            .s3()?;
        let last = uploads.last().map(|u| (u.key.clone(), u.upload_id.clone()));
        ok(ListMultipartUploadsOutput {
            bucket: Some(bucket.name),
            prefix: maybe_encode(input.prefix, encode),
            key_marker: maybe_encode(input.key_marker, encode),
            upload_id_marker: input.upload_id_marker,
            max_uploads: Some(max as i32),
            is_truncated: Some(truncated),
            next_key_marker: if truncated {
                maybe_encode(last.clone().map(|l| l.0), encode)
            } else {
                None
            },
            next_upload_id_marker: if truncated { last.map(|l| l.1) } else { None },
            encoding_type: input.encoding_type,
            uploads: Some(
                uploads
                    .into_iter()
                    .map(|u| {
                        let owner = owner_of(&u.owner, &u.owner);
                        MultipartUpload {
                            key: Some(if encode { url_encode(&u.key) } else { u.key }),
                            upload_id: Some(u.upload_id),
                            initiated: Some(s3_time(u.initiated)),
                            initiator: Some(Initiator {
                                id: owner.id.clone(),
                                display_name: owner.display_name.clone(),
                            }),
                            owner: Some(owner),
                            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                            ..Default::default()
                        }
                    })
                    .collect(),
            ),
            ..Default::default()
        })
    }
    async fn put_object_tagging(&self, req: S3Request<PutObjectTaggingInput>) -> R<PutObjectTaggingOutput> {
        self.do_put_object_tagging(req).await
    }

    async fn get_object_tagging(&self, req: S3Request<GetObjectTaggingInput>) -> R<GetObjectTaggingOutput> {
        self.do_get_object_tagging(req).await
    }

    async fn delete_object_tagging(&self, req: S3Request<DeleteObjectTaggingInput>) -> R<DeleteObjectTaggingOutput> {
        self.do_delete_object_tagging(req).await
    }

    async fn put_bucket_tagging(&self, req: S3Request<PutBucketTaggingInput>) -> R<PutBucketTaggingOutput> {
        self.do_put_bucket_tagging(req).await
    }

    async fn get_bucket_tagging(&self, req: S3Request<GetBucketTaggingInput>) -> R<GetBucketTaggingOutput> {
        self.do_get_bucket_tagging(req).await
    }

    async fn delete_bucket_tagging(&self, req: S3Request<DeleteBucketTaggingInput>) -> R<DeleteBucketTaggingOutput> {
        self.do_delete_bucket_tagging(req).await
    }

    async fn put_bucket_cors(&self, req: S3Request<PutBucketCorsInput>) -> R<PutBucketCorsOutput> {
        self.do_put_bucket_cors(req).await
    }

    async fn get_bucket_cors(&self, req: S3Request<GetBucketCorsInput>) -> R<GetBucketCorsOutput> {
        self.do_get_bucket_cors(req).await
    }

    async fn delete_bucket_cors(&self, req: S3Request<DeleteBucketCorsInput>) -> R<DeleteBucketCorsOutput> {
        self.do_delete_bucket_cors(req).await
    }

    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> R<PutBucketLifecycleConfigurationOutput> {
        self.do_put_bucket_lifecycle(req).await
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> R<GetBucketLifecycleConfigurationOutput> {
        self.do_get_bucket_lifecycle(req).await
    }

    async fn delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> R<DeleteBucketLifecycleOutput> {
        self.do_delete_bucket_lifecycle(req).await
    }

    async fn put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> R<PutObjectLockConfigurationOutput> {
        self.do_put_object_lock_configuration(req).await
    }

    async fn get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> R<GetObjectLockConfigurationOutput> {
        self.do_get_object_lock_configuration(req).await
    }

    async fn put_object_retention(&self, req: S3Request<PutObjectRetentionInput>) -> R<PutObjectRetentionOutput> {
        self.do_put_object_retention(req).await
    }

    async fn get_object_retention(&self, req: S3Request<GetObjectRetentionInput>) -> R<GetObjectRetentionOutput> {
        self.do_get_object_retention(req).await
    }

    async fn put_object_legal_hold(&self, req: S3Request<PutObjectLegalHoldInput>) -> R<PutObjectLegalHoldOutput> {
        self.do_put_object_legal_hold(req).await
    }

    async fn get_object_legal_hold(&self, req: S3Request<GetObjectLegalHoldInput>) -> R<GetObjectLegalHoldOutput> {
        self.do_get_object_legal_hold(req).await
    }

    async fn get_bucket_acl(&self, req: S3Request<GetBucketAclInput>) -> R<GetBucketAclOutput> {
        self.do_get_bucket_acl(req).await
    }

    async fn put_bucket_acl(&self, req: S3Request<PutBucketAclInput>) -> R<PutBucketAclOutput> {
        self.do_put_bucket_acl(req).await
    }

    async fn get_object_acl(&self, req: S3Request<GetObjectAclInput>) -> R<GetObjectAclOutput> {
        self.do_get_object_acl(req).await
    }

    async fn put_object_acl(&self, req: S3Request<PutObjectAclInput>) -> R<PutObjectAclOutput> {
        self.do_put_object_acl(req).await
    }

    async fn get_bucket_policy(&self, req: S3Request<GetBucketPolicyInput>) -> R<GetBucketPolicyOutput> {
        self.do_get_bucket_policy(req).await
    }

    async fn put_bucket_policy(&self, req: S3Request<PutBucketPolicyInput>) -> R<PutBucketPolicyOutput> {
        self.do_put_bucket_policy(req).await
    }

    async fn delete_bucket_policy(&self, req: S3Request<DeleteBucketPolicyInput>) -> R<DeleteBucketPolicyOutput> {
        self.do_delete_bucket_policy(req).await
    }

    async fn get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> R<GetPublicAccessBlockOutput> {
        self.do_get_public_access_block(req).await
    }

    async fn put_public_access_block(
        &self,
        req: S3Request<PutPublicAccessBlockInput>,
    ) -> R<PutPublicAccessBlockOutput> {
        self.do_put_public_access_block(req).await
    }

    async fn delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> R<DeletePublicAccessBlockOutput> {
        self.do_delete_public_access_block(req).await
    }
}
