//! The permission sub-resources: bucket and object ACLs (Get/Put, XML body or canned or grant headers),
//! the bucket policy and the public access block (Put/Get/Delete). Bucket ones are bucket metadata, made
//! on the metadata master and replicated by metadata sync; an object's ACL is part of its record.

use crate::access::{check_public_acl_allowed, object_acl};
use crate::errors::to_s3_error;
use crate::service::MeridianS3;
use crate::subresources::change_bucket_config;
use meridian_gateway::access::bucket_acl;
use meridian_gateway::GatewayError;
use meridian_model::acl::GranteeSpec;
use meridian_model::{
    Acl, BucketConfigChange, Grant as AclGrant, Grantee as AclGrantee, Permission as AclPermission, PublicAccessBlock,
};
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

type R<T> = S3Result<S3Response<T>>;

fn ok<T>(output: T) -> R<T> {
    Ok(S3Response::new(output))
}

impl MeridianS3 {
    /// An ACL as S3 answers it: the owner, and each grant with its grantee's type.
    async fn acl_to_dto(&self, acl: &Acl) -> (Owner, Grants) {
        let owner = Owner {
            id: Some(acl.owner.clone()),
            display_name: Some(self.display_name(&acl.owner).await),
        };
        let mut grants = Vec::with_capacity(acl.grants.len());
        for g in &acl.grants {
            let grantee = match &g.grantee {
                AclGrantee::User(id) => Grantee {
                    type_: Type::from_static(Type::CANONICAL_USER),
                    id: Some(id.clone()),
                    display_name: Some(self.display_name(id).await),
                    email_address: None,
                    uri: None,
                },
                group => Grantee {
                    type_: Type::from_static(Type::GROUP),
                    id: None,
                    display_name: None,
                    email_address: None,
                    uri: group.group_uri().map(str::to_string),
                },
            };
            grants.push(Grant {
                grantee: Some(grantee),
                permission: Some(Permission::from(g.permission.as_str().to_string())),
            });
        }
        (owner, grants)
    }

    /// An `AccessControlPolicy` body as the ACL of a resource owned by `owner`.
    async fn acl_from_dto(&self, policy: AccessControlPolicy, owner: &str) -> S3Result<Acl> {
        if let Some(given) = policy.owner.as_ref().and_then(|o| o.id.as_deref()) {
            if given != owner {
                return Err(to_s3_error(GatewayError::AccessDenied));
            }
        }
        let mut grants = Vec::new();
        for g in policy.grants.unwrap_or_default() {
            let permission = g
                .permission
                .as_ref()
                .and_then(|p| AclPermission::parse(p.as_str()))
                .ok_or_else(|| {
                    s3_error!(
                        MalformedACLError,
                        "Every Grant needs a Permission of READ, WRITE, READ_ACP, WRITE_ACP or FULL_CONTROL"
                    )
                })?;
            let grantee = g
                .grantee
                .ok_or_else(|| s3_error!(MalformedACLError, "Every Grant needs a Grantee"))?;
            let spec = match grantee.type_.as_str() {
                Type::CANONICAL_USER => GranteeSpec::Id(
                    grantee
                        .id
                        .ok_or_else(|| s3_error!(MalformedACLError, "A CanonicalUser grantee needs an ID"))?,
                ),
                Type::AMAZON_CUSTOMER_BY_EMAIL => GranteeSpec::Email(grantee.email_address.ok_or_else(|| {
                    s3_error!(
                        MalformedACLError,
                        "An AmazonCustomerByEmail grantee needs an EmailAddress"
                    )
                })?),
                Type::GROUP => {
                    let uri = grantee.uri.unwrap_or_default();
                    GranteeSpec::Group(
                        AclGrantee::group(&uri)
                            .ok_or_else(|| s3_error!(InvalidArgument, "the grantee group {uri:?} is not known"))?,
                    )
                }
                other => return Err(s3_error!(MalformedACLError, "Unknown grantee type {other:?}")),
            };
            grants.push(AclGrant {
                grantee: self.resolve_grantee(spec).await?,
                permission,
            });
        }
        Ok(Acl {
            owner: owner.to_string(),
            grants,
        })
    }

    /// The ACL a PutBucketAcl / PutObjectAcl sets: from the canned or grant headers, else from the body.
    async fn acl_to_put(
        &self,
        headers: &http::HeaderMap,
        body: Option<AccessControlPolicy>,
        owner: &str,
        bucket_owner: &str,
    ) -> S3Result<Acl> {
        if let Some(acl) = self.acl_from_headers(headers, owner, bucket_owner, None).await? {
            return Ok(acl);
        }
        match body {
            Some(policy) => self.acl_from_dto(policy, owner).await,
            None => Err(s3_error!(
                MalformedACLError,
                "The request names no ACL: send an AccessControlPolicy, x-amz-acl or x-amz-grant-* headers"
            )),
        }
    }

    pub(crate) async fn do_get_bucket_acl(&self, req: S3Request<GetBucketAclInput>) -> R<GetBucketAclOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket, "s3:GetBucketAcl").await?;
        let (owner, grants) = self.acl_to_dto(&bucket_acl(&bucket)).await;
        ok(GetBucketAclOutput {
            owner: Some(owner),
            grants: Some(grants),
        })
    }

    pub(crate) async fn do_put_bucket_acl(&self, req: S3Request<PutBucketAclInput>) -> R<PutBucketAclOutput> {
        let (_, bucket) = self.caller_bucket(&req, &req.input.bucket, "s3:PutBucketAcl").await?;
        let acl = self
            .acl_to_put(
                &req.headers,
                req.input.access_control_policy,
                &bucket.owner,
                &bucket.owner,
            )
            .await?;
        check_public_acl_allowed(&bucket, &acl)?;
        change_bucket_config(&self.gw, &bucket, BucketConfigChange::Acl(Some(acl))).await?;
        ok(PutBucketAclOutput::default())
    }

    pub(crate) async fn do_get_object_acl(&self, req: S3Request<GetObjectAclInput>) -> R<GetObjectAclOutput> {
        let input = &req.input;
        let action = if input.version_id.is_some() {
            "s3:GetObjectVersionAcl"
        } else {
            "s3:GetObjectAcl"
        };
        let (_, bucket) = self
            .caller_reading(&req, &input.bucket, &input.key, input.version_id.as_deref(), action)
            .await?;
        let meta = self
            .gw
            .objects()
            .version(&bucket, &input.key, input.version_id.as_deref())
            .await
            .map_err(to_s3_error)?;
        let (owner, grants) = self.acl_to_dto(&object_acl(&meta)).await;
        ok(GetObjectAclOutput {
            owner: Some(owner),
            grants: Some(grants),
            ..Default::default()
        })
    }

    pub(crate) async fn do_put_object_acl(&self, req: S3Request<PutObjectAclInput>) -> R<PutObjectAclOutput> {
        let action = if req.input.version_id.is_some() {
            "s3:PutObjectVersionAcl"
        } else {
            "s3:PutObjectAcl"
        };
        let (_, bucket) = self
            .caller_reading(
                &req,
                &req.input.bucket,
                &req.input.key,
                req.input.version_id.as_deref(),
                action,
            )
            .await?;
        let input = req.input;
        let meta = self
            .gw
            .objects()
            .version(&bucket, &input.key, input.version_id.as_deref())
            .await
            .map_err(to_s3_error)?;
        let owner = object_acl(&meta).owner;
        let acl = self
            .acl_to_put(&req.headers, input.access_control_policy, &owner, &bucket.owner)
            .await?;
        check_public_acl_allowed(&bucket, &acl)?;
        self.gw
            .objects()
            .put_acl(&bucket, &input.key, input.version_id.as_deref(), acl)
            .await
            .map_err(to_s3_error)?;
        ok(PutObjectAclOutput::default())
    }

    pub(crate) async fn do_get_bucket_policy(&self, req: S3Request<GetBucketPolicyInput>) -> R<GetBucketPolicyOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:GetBucketPolicy")
            .await?;
        let policy = bucket
            .config
            .policy
            .ok_or_else(|| to_s3_error(GatewayError::NoSuchBucketPolicy))?;
        ok(GetBucketPolicyOutput { policy: Some(policy) })
    }

    pub(crate) async fn do_put_bucket_policy(&self, req: S3Request<PutBucketPolicyInput>) -> R<PutBucketPolicyOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:PutBucketPolicy")
            .await?;
        let text = req.input.policy;
        let policy = meridian_gateway::policy::parse(&text, &bucket.name)
            .map_err(|e| to_s3_error(GatewayError::MalformedPolicy(e.0)))?;
        let blocked = bucket.config.public_access_block.is_some_and(|b| b.block_public_policy);
        if blocked && policy.is_public() {
            return Err(to_s3_error(GatewayError::AccessDenied));
        }
        change_bucket_config(&self.gw, &bucket, BucketConfigChange::Policy(Some(text))).await?;
        ok(PutBucketPolicyOutput::default())
    }

    pub(crate) async fn do_delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> R<DeleteBucketPolicyOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:DeleteBucketPolicy")
            .await?;
        if bucket.config.policy.is_some() {
            change_bucket_config(&self.gw, &bucket, BucketConfigChange::Policy(None)).await?;
        }
        ok(DeleteBucketPolicyOutput::default())
    }

    pub(crate) async fn do_get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> R<GetPublicAccessBlockOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:GetBucketPublicAccessBlock")
            .await?;
        let block = bucket
            .config
            .public_access_block
            .ok_or_else(|| to_s3_error(GatewayError::NoSuchPublicAccessBlockConfiguration))?;
        ok(GetPublicAccessBlockOutput {
            public_access_block_configuration: Some(PublicAccessBlockConfiguration {
                block_public_acls: Some(block.block_public_acls),
                ignore_public_acls: Some(block.ignore_public_acls),
                block_public_policy: Some(block.block_public_policy),
                restrict_public_buckets: Some(block.restrict_public_buckets),
            }),
        })
    }

    pub(crate) async fn do_put_public_access_block(
        &self,
        req: S3Request<PutPublicAccessBlockInput>,
    ) -> R<PutPublicAccessBlockOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:PutBucketPublicAccessBlock")
            .await?;
        let c = req.input.public_access_block_configuration;
        let block = PublicAccessBlock {
            block_public_acls: c.block_public_acls.unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
            block_public_policy: c.block_public_policy.unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
        };
        change_bucket_config(&self.gw, &bucket, BucketConfigChange::PublicAccessBlock(Some(block))).await?;
        ok(PutPublicAccessBlockOutput::default())
    }

    pub(crate) async fn do_delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> R<DeletePublicAccessBlockOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:PutBucketPublicAccessBlock")
            .await?;
        if bucket.config.public_access_block.is_some() {
            change_bucket_config(&self.gw, &bucket, BucketConfigChange::PublicAccessBlock(None)).await?;
        }
        ok(DeletePublicAccessBlockOutput::default())
    }
}
