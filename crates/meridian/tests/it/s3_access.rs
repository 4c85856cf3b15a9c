//! ACLs, anonymous access, bucket policies and public access blocks against running servers: the calls
//! through aws-sdk-s3 (another user, grants by id, email and group, canned ACLs on create, copy and
//! multipart, version ACLs, refusals), unsigned requests as raw HTTP (what a public ACL or policy opens and
//! nothing else), a policy Deny over an ACL allow, policy conditions, the public access block's four
//! settings, and bucket and object permissions reaching the other zone of a two-zone site.

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketCannedAcl, Grant, Grantee, ObjectCannedAcl, Owner, Permission,
    PublicAccessBlockConfiguration, Type,
};
use aws_sdk_s3::Client;

const BOB_ACCESS: &str = "AKIAMERIDIANBOB00001";
const BOB_SECRET: &str = "bob-secret-key-00001/abcdefghijklmnopqrs";
const CAROL_ACCESS: &str = "AKIAMERIDIANCAROL001";
const CAROL_SECRET: &str = "carol-secret-key-0001/abcdefghijklmnopq";
const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// A server with `tester` (the owner in these tests), `bob`, and `carol` (who has an email address).
fn server() -> (Server, Client, Client, Client) {
    let srv = Server::start();
    srv.create_user("bob", BOB_ACCESS, BOB_SECRET);
    srv.cli(&[
        "user",
        "create",
        "--uid",
        "carol",
        "--display-name",
        "Carol",
        "--email",
        "carol@example.com",
        "--access-key",
        CAROL_ACCESS,
        "--secret",
        CAROL_SECRET,
    ]);
    let (owner, bob, carol) = (
        srv.client(),
        srv.client_for(BOB_ACCESS, BOB_SECRET),
        srv.client_for(CAROL_ACCESS, CAROL_SECRET),
    );
    (srv, owner, bob, carol)
}

/// An unsigned request: status and body.
async fn anon(endpoint: &str, method: &str, path: &str, body: &'static [u8]) -> (u16, String) {
    let resp = http()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{endpoint}{path}"),
        )
        .body(body)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

async fn anon_status(srv: &Server, method: &str, path: &str) -> u16 {
    anon(&srv.endpoint, method, path, b"").await.0
}

/// The status of an SDK call (200 on success).
fn status<T: std::fmt::Debug, E: std::fmt::Debug>(
    r: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => err_status(Err::<T, _>(e)),
    }
}

async fn can_get(c: &Client, bucket: &str, key: &str) -> u16 {
    status(c.get_object().bucket(bucket).key(key).send().await)
}

async fn put_with_acl(c: &Client, bucket: &str, key: &str, acl: Option<ObjectCannedAcl>) {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .set_acl(acl)
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

/// The grants of an ACL answer as (grantee id or group URI, permission).
fn grants_of(grants: &[Grant]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = grants
        .iter()
        .map(|g| {
            let grantee = g.grantee().expect("grantee");
            let who = grantee
                .id()
                .or(grantee.uri())
                .or(grantee.email_address())
                .unwrap_or_default();
            (
                who.to_string(),
                g.permission().expect("permission").as_str().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    out.sort();
    out
}

/// An ACL owned by the test user granting READ to the AuthenticatedUsers group.
fn authenticated_users_read() -> AccessControlPolicy {
    AccessControlPolicy::builder()
        .owner(Owner::builder().id(UID).build())
        .grants(
            Grant::builder()
                .grantee(
                    Grantee::builder()
                        .r#type(Type::Group)
                        .uri(AUTHENTICATED_USERS)
                        .build()
                        .unwrap(),
                )
                .permission(Permission::Read)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn bucket_acls_and_anonymous_listing() {
    let (srv, owner, bob, _) = server();
    create_bucket(&owner, "acl-b").await;
    put(&owner, "acl-b", "k", b"v").await;

    // Private by default: another user and anonymous are refused, ListBuckets stays signed-only.
    assert_eq!(status(bob.list_objects_v2().bucket("acl-b").send().await), 403);
    assert_eq!(anon_status(&srv, "GET", "/acl-b").await, 403);
    assert_eq!(anon_status(&srv, "GET", "/").await, 403);
    assert_eq!(status(bob.get_bucket_acl().bucket("acl-b").send().await), 403);
    let acl = owner.get_bucket_acl().bucket("acl-b").send().await.unwrap();
    assert_eq!(acl.owner().and_then(Owner::id), Some(UID));
    assert_eq!(grants_of(acl.grants()), pairs(&[(UID, "FULL_CONTROL")]));

    // public-read: anyone lists, nobody but the owner writes or changes the ACL.
    owner
        .put_bucket_acl()
        .bucket("acl-b")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let acl = owner.get_bucket_acl().bucket("acl-b").send().await.unwrap();
    assert_eq!(
        grants_of(acl.grants()),
        pairs(&[(UID, "FULL_CONTROL"), (ALL_USERS, "READ")])
    );
    let (code, body) = anon(&srv.endpoint, "GET", "/acl-b?list-type=2", b"").await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("<Key>k</Key>"), "{body}");
    assert_eq!(anon_status(&srv, "HEAD", "/acl-b").await, 200);
    assert_eq!(status(bob.list_objects_v2().bucket("acl-b").send().await), 200);
    assert_eq!(anon_status(&srv, "PUT", "/acl-b/new").await, 403);
    assert_eq!(status(bob.delete_object().bucket("acl-b").key("k").send().await), 403);
    assert_eq!(
        status(
            bob.put_bucket_acl()
                .bucket("acl-b")
                .acl(BucketCannedAcl::PublicReadWrite)
                .send()
                .await
        ),
        403
    );
    // Reading the bucket's listing does not read its objects.
    assert_eq!(anon_status(&srv, "GET", "/acl-b/k").await, 403);
    // Nor its other settings.
    assert_eq!(status(bob.get_bucket_versioning().bucket("acl-b").send().await), 403);

    // public-read-write: anonymous writes and deletes; the bucket owner keeps full control of them.
    owner
        .put_bucket_acl()
        .bucket("acl-b")
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    let (code, body) = anon(&srv.endpoint, "PUT", "/acl-b/from-anon", b"anonymous bytes").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(get_bytes(&owner, "acl-b", "from-anon").await, b"anonymous bytes");
    put_with_acl(&bob, "acl-b", "from-bob", None).await;
    assert_eq!(
        can_get(&owner, "acl-b", "from-bob").await,
        200,
        "the bucket owner reads bob's object"
    );
    assert_eq!(
        can_get(&bob, "acl-b", "from-bob").await,
        200,
        "bob reads his own object"
    );
    let bob_acl = bob
        .get_object_acl()
        .bucket("acl-b")
        .key("from-bob")
        .send()
        .await
        .unwrap();
    assert_eq!(bob_acl.owner().and_then(Owner::id), Some("bob"));
    assert_eq!(anon_status(&srv, "DELETE", "/acl-b/from-anon").await, 204);

    // Grants by header: bob gets READ on the bucket by id; the AllUsers grant goes.
    owner
        .put_bucket_acl()
        .bucket("acl-b")
        .grant_read("id=bob")
        .send()
        .await
        .unwrap();
    assert_eq!(status(bob.list_objects_v2().bucket("acl-b").send().await), 200);
    assert_eq!(anon_status(&srv, "GET", "/acl-b").await, 403);

    // An XML body: AuthenticatedUsers READ.
    let policy = authenticated_users_read();
    owner
        .put_bucket_acl()
        .bucket("acl-b")
        .access_control_policy(policy)
        .send()
        .await
        .unwrap();
    assert_eq!(status(bob.list_objects_v2().bucket("acl-b").send().await), 200);
    assert_eq!(anon_status(&srv, "GET", "/acl-b").await, 403);

    // CreateBucket with a canned ACL.
    owner
        .create_bucket()
        .bucket("born-public")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    assert_eq!(anon_status(&srv, "GET", "/born-public").await, 200);
    // An unknown canned value is refused (400) and changes nothing.
    expect_err(
        owner
            .put_bucket_acl()
            .bucket("born-public")
            .acl(BucketCannedAcl::from("everyone"))
            .send()
            .await,
        "InvalidArgument",
        400,
    );
    assert_eq!(anon_status(&srv, "GET", "/born-public").await, 200);
}

#[tokio::test]
async fn object_acls_grants_and_anonymous_reads() {
    let (srv, owner, bob, carol) = server();
    create_bucket(&owner, "objs").await;
    put_with_acl(&owner, "objs", "public", Some(ObjectCannedAcl::PublicRead)).await;
    put_with_acl(&owner, "objs", "private", None).await;

    // Anonymous GET and HEAD of a public object; a private one, a missing one: 403.
    let (code, body) = anon(&srv.endpoint, "GET", "/objs/public", b"").await;
    assert_eq!((code, body.as_str()), (200, "hello"));
    assert_eq!(anon_status(&srv, "HEAD", "/objs/public").await, 200);
    assert_eq!(anon_status(&srv, "GET", "/objs/private").await, 403);
    assert_eq!(anon_status(&srv, "GET", "/objs/missing").await, 403);
    assert_eq!(
        anon_status(&srv, "GET", "/objs/public?acl").await,
        403,
        "READ is not READ_ACP"
    );
    assert_eq!(can_get(&bob, "objs", "private").await, 403);
    // The owner still learns that a key is missing.
    assert_eq!(can_get(&owner, "objs", "missing").await, 404);

    let acl = owner
        .get_object_acl()
        .bucket("objs")
        .key("public")
        .send()
        .await
        .unwrap();
    assert_eq!(
        grants_of(acl.grants()),
        pairs(&[(UID, "FULL_CONTROL"), (ALL_USERS, "READ")])
    );

    // Grants by id and by email (resolved to the user).
    owner
        .put_object_acl()
        .bucket("objs")
        .key("private")
        .grant_read("id=bob")
        .grant_read_acp("emailAddress=carol@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(can_get(&bob, "objs", "private").await, 200);
    assert_eq!(can_get(&carol, "objs", "private").await, 403);
    let acl = carol
        .get_object_acl()
        .bucket("objs")
        .key("private")
        .send()
        .await
        .unwrap();
    assert_eq!(
        grants_of(acl.grants()),
        pairs(&[("bob", "READ"), ("carol", "READ_ACP")])
    );
    assert_eq!(
        status(bob.get_object_acl().bucket("objs").key("private").send().await),
        403
    );
    assert_eq!(anon_status(&srv, "GET", "/objs/private").await, 403);
    // bob may read but not change the ACL.
    assert_eq!(
        status(
            bob.put_object_acl()
                .bucket("objs")
                .key("private")
                .acl(ObjectCannedAcl::PublicRead)
                .send()
                .await
        ),
        403
    );

    // A grant to an email nobody has: 400, and the ACL is unchanged.
    expect_err(
        owner
            .put_object_acl()
            .bucket("objs")
            .key("private")
            .grant_read("emailAddress=nobody@example.com")
            .send()
            .await,
        "UnresolvableGrantByEmailAddress",
        400,
    );
    assert_eq!(can_get(&bob, "objs", "private").await, 200);
    // Canned and grant headers together: 400.
    expect_err(
        owner
            .put_object_acl()
            .bucket("objs")
            .key("private")
            .acl(ObjectCannedAcl::PublicRead)
            .grant_read("id=bob")
            .send()
            .await,
        "InvalidRequest",
        400,
    );

    // An XML body with AuthenticatedUsers READ: any signed user reads, anonymous does not.
    let policy = authenticated_users_read();
    owner
        .put_object_acl()
        .bucket("objs")
        .key("private")
        .access_control_policy(policy)
        .send()
        .await
        .unwrap();
    assert_eq!(can_get(&carol, "objs", "private").await, 200);
    assert_eq!(anon_status(&srv, "GET", "/objs/private").await, 403);

    // CopyObject and multipart uploads take a canned ACL; a copy does not inherit the source's.
    owner
        .copy_object()
        .bucket("objs")
        .key("copy-public")
        .copy_source("objs/private")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    owner
        .copy_object()
        .bucket("objs")
        .key("copy-plain")
        .copy_source("objs/public")
        .send()
        .await
        .unwrap();
    assert_eq!(anon_status(&srv, "GET", "/objs/copy-public").await, 200);
    assert_eq!(anon_status(&srv, "GET", "/objs/copy-plain").await, 403);
    // bob may not copy what he may not read.
    create_bucket(&bob, "bobs").await;
    assert_eq!(
        status(
            bob.copy_object()
                .bucket("bobs")
                .key("x")
                .copy_source("objs/copy-plain")
                .send()
                .await
        ),
        403
    );
    let up = owner
        .create_multipart_upload()
        .bucket("objs")
        .key("mp")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let upload_id = up.upload_id().unwrap();
    let part = upload_part(&owner, "objs", "mp", upload_id, 1, b"multipart").await;
    complete_upload(&owner, "objs", "mp", upload_id, &[(1, &part)]).await;
    let (code, body) = anon(&srv.endpoint, "GET", "/objs/mp", b"").await;
    assert_eq!((code, body.as_str()), (200, "multipart"));

    // A public object in a bucket that is gone: 404 NoSuchBucket for anonymous too.
    for key in ["public", "private", "copy-public", "copy-plain", "mp"] {
        owner.delete_object().bucket("objs").key(key).send().await.unwrap();
    }
    owner.delete_bucket().bucket("objs").send().await.unwrap();
    let (code, body) = anon(&srv.endpoint, "GET", "/objs/public", b"").await;
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("NoSuchBucket"), "{body}");
}

#[tokio::test]
async fn version_acls() {
    let (srv, owner, _, _) = server();
    create_bucket(&owner, "vacl").await;
    set_versioning(&owner, "vacl", aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
    let v1 = owner
        .put_object()
        .bucket("vacl")
        .key("k")
        .body(ByteStream::from_static(b"one"))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    put(&owner, "vacl", "k", b"two").await;
    owner
        .put_object_acl()
        .bucket("vacl")
        .key("k")
        .version_id(&v1)
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let (code, body) = anon(&srv.endpoint, "GET", &format!("/vacl/k?versionId={v1}"), b"").await;
    assert_eq!((code, body.as_str()), (200, "one"));
    assert_eq!(
        anon_status(&srv, "GET", "/vacl/k").await,
        403,
        "the current version stays private"
    );
    let acl = owner
        .get_object_acl()
        .bucket("vacl")
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        grants_of(acl.grants()),
        pairs(&[(UID, "FULL_CONTROL"), (ALL_USERS, "READ")])
    );
    expect_err(
        owner
            .get_object_acl()
            .bucket("vacl")
            .key("k")
            .version_id("0000000000000001nowhere")
            .send()
            .await,
        "NoSuchVersion",
        404,
    );
}

fn policy_doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

#[tokio::test]
async fn bucket_policies() {
    let (srv, owner, bob, carol) = server();
    create_bucket(&owner, "pol").await;
    put(&owner, "pol", "doc", b"document").await;
    put(&owner, "pol", "public/a", b"a").await;
    put_with_acl(&owner, "pol", "secret/s", Some(ObjectCannedAcl::PublicRead)).await;

    expect_err(
        owner.get_bucket_policy().bucket("pol").send().await,
        "NoSuchBucketPolicy",
        404,
    );
    for bad in [
        "{not json".to_string(),
        policy_doc(r#"{"Effect":"Allow","Principal":"*","Action":"s3:Teleport","Resource":"arn:aws:s3:::pol/*"}"#),
        policy_doc(r#"{"Effect":"Perhaps","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/*"}"#),
        policy_doc(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}"#),
    ] {
        expect_err(
            owner.put_bucket_policy().bucket("pol").policy(&bad).send().await,
            "MalformedPolicy",
            400,
        );
    }
    assert_eq!(
        status(owner.get_bucket_policy().bucket("pol").send().await),
        404,
        "a refused policy is not kept"
    );

    // Anonymous GetObject by policy; listing is not granted; bob may not touch the policy.
    let doc = policy_doc(
        r#"{"Sid":"read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/*"},
           {"Sid":"no-secrets-for-bob","Effect":"Deny","Principal":{"AWS":["arn:aws:iam:::user/bob"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/secret/*"},
           {"Sid":"list-public","Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::pol","Condition":{"StringEquals":{"s3:prefix":"public/"},"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}},
           {"Sid":"carol-not-from-here","Effect":"Allow","Principal":{"AWS":"arn:aws:iam:::user/carol"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::pol/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
    );
    owner
        .put_bucket_policy()
        .bucket("pol")
        .policy(&doc)
        .send()
        .await
        .unwrap();
    assert_eq!(
        owner.get_bucket_policy().bucket("pol").send().await.unwrap().policy(),
        Some(doc.as_str())
    );
    assert_eq!(status(bob.get_bucket_policy().bucket("pol").send().await), 403);
    assert_eq!(
        status(bob.put_bucket_policy().bucket("pol").policy(&doc).send().await),
        403
    );
    let (code, body) = anon(&srv.endpoint, "GET", "/pol/doc", b"").await;
    assert_eq!((code, body.as_str()), (200, "document"));
    assert_eq!(anon_status(&srv, "PUT", "/pol/doc").await, 403);
    assert_eq!(anon_status(&srv, "GET", "/pol?list-type=2").await, 403);
    // Listing with the prefix the condition names, from loopback.
    assert_eq!(anon_status(&srv, "GET", "/pol?list-type=2&prefix=public/").await, 200);
    assert_eq!(anon_status(&srv, "GET", "/pol?list-type=2&prefix=secret/").await, 403);
    // The Deny wins over both the policy's Allow and the object's public-read ACL.
    assert_eq!(can_get(&bob, "pol", "secret/s").await, 403);
    assert_eq!(can_get(&bob, "pol", "doc").await, 200);
    assert_eq!(anon_status(&srv, "GET", "/pol/secret/s").await, 200);
    // carol's Allow holds only from 10/8.
    assert_eq!(
        status(
            carol
                .put_object()
                .bucket("pol")
                .key("c")
                .body(ByteStream::from_static(b"c"))
                .send()
                .await
        ),
        403
    );
    // The owner's own access is not narrowed by an Allow to others.
    put(&owner, "pol", "still-mine", b"x").await;

    // A Deny of everything for everyone binds the owner too, except for the policy calls themselves.
    let deny_all = policy_doc(
        r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::pol","arn:aws:s3:::pol/*"]}"#,
    );
    owner
        .put_bucket_policy()
        .bucket("pol")
        .policy(&deny_all)
        .send()
        .await
        .unwrap();
    assert_eq!(can_get(&owner, "pol", "doc").await, 403);
    owner.delete_bucket_policy().bucket("pol").send().await.unwrap();
    assert_eq!(can_get(&owner, "pol", "doc").await, 200);
    assert_eq!(anon_status(&srv, "GET", "/pol/doc").await, 403, "the policy is gone");
    assert_eq!(status(owner.get_bucket_policy().bucket("pol").send().await), 404);
}

#[tokio::test]
async fn public_access_block() {
    let (srv, owner, bob, _) = server();
    create_bucket(&owner, "pab").await;
    put_with_acl(&owner, "pab", "pub", Some(ObjectCannedAcl::PublicRead)).await;
    expect_err(
        owner.get_public_access_block().bucket("pab").send().await,
        "NoSuchPublicAccessBlockConfiguration",
        404,
    );
    assert_eq!(status(owner.get_public_access_block().bucket("pab").send().await), 404);

    let config = |acls: bool, ignore: bool, policy: bool, restrict: bool| {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(acls)
            .ignore_public_acls(ignore)
            .block_public_policy(policy)
            .restrict_public_buckets(restrict)
            .build()
    };

    // BlockPublicAcls: public canned ACLs and grants are refused; private ones still go.
    owner
        .put_public_access_block()
        .bucket("pab")
        .public_access_block_configuration(config(true, false, false, false))
        .send()
        .await
        .unwrap();
    let got = owner.get_public_access_block().bucket("pab").send().await.unwrap();
    let got = got.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            got.block_public_acls(),
            got.ignore_public_acls(),
            got.block_public_policy(),
            got.restrict_public_buckets()
        ),
        (Some(true), Some(false), Some(false), Some(false))
    );
    assert_eq!(status(bob.get_public_access_block().bucket("pab").send().await), 403);
    expect_err(
        owner
            .put_bucket_acl()
            .bucket("pab")
            .acl(BucketCannedAcl::PublicRead)
            .send()
            .await,
        "AccessDenied",
        403,
    );
    let refused = owner
        .put_object()
        .bucket("pab")
        .key("new-public")
        .acl(ObjectCannedAcl::PublicRead)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(status(refused), 403);
    assert_eq!(
        status(owner.head_object().bucket("pab").key("new-public").send().await),
        404,
        "nothing stored"
    );
    assert_eq!(
        status(
            owner
                .put_object_acl()
                .bucket("pab")
                .key("pub")
                .grant_read(format!("uri={ALL_USERS}"))
                .send()
                .await
        ),
        403
    );
    put_with_acl(&owner, "pab", "private", Some(ObjectCannedAcl::Private)).await;
    // Existing public grants still count until IgnorePublicAcls.
    assert_eq!(anon_status(&srv, "GET", "/pab/pub").await, 200);

    // IgnorePublicAcls: they stop counting; deleting the block brings them back.
    owner
        .put_public_access_block()
        .bucket("pab")
        .public_access_block_configuration(config(false, true, false, false))
        .send()
        .await
        .unwrap();
    assert_eq!(anon_status(&srv, "GET", "/pab/pub").await, 403);
    owner.delete_public_access_block().bucket("pab").send().await.unwrap();
    assert_eq!(anon_status(&srv, "GET", "/pab/pub").await, 200);
    assert_eq!(status(owner.get_public_access_block().bucket("pab").send().await), 404);

    // BlockPublicPolicy: a policy for everyone is refused, one for a named user is not.
    owner
        .put_public_access_block()
        .bucket("pab")
        .public_access_block_configuration(config(false, false, true, false))
        .send()
        .await
        .unwrap();
    let public =
        policy_doc(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pab/*"}"#);
    expect_err(
        owner.put_bucket_policy().bucket("pab").policy(&public).send().await,
        "AccessDenied",
        403,
    );
    let for_bob = policy_doc(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam:::user/bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pab/*"}"#,
    );
    owner
        .put_bucket_policy()
        .bucket("pab")
        .policy(&for_bob)
        .send()
        .await
        .unwrap();
    assert_eq!(can_get(&bob, "pab", "private").await, 200);

    // RestrictPublicBuckets: a public policy (put before the block) allows only the owner's account.
    owner.delete_public_access_block().bucket("pab").send().await.unwrap();
    owner
        .put_bucket_policy()
        .bucket("pab")
        .policy(&public)
        .send()
        .await
        .unwrap();
    assert_eq!(anon_status(&srv, "GET", "/pab/private").await, 200);
    owner
        .put_public_access_block()
        .bucket("pab")
        .public_access_block_configuration(config(false, false, false, true))
        .send()
        .await
        .unwrap();
    assert_eq!(anon_status(&srv, "GET", "/pab/private").await, 403);
    assert_eq!(can_get(&bob, "pab", "private").await, 403);
    assert_eq!(can_get(&owner, "pab", "private").await, 200);
}

#[tokio::test]
async fn the_request_guard_still_bounds_unsigned_requests() {
    let srv = Server::start();
    let owner = srv.client();
    create_bucket(&owner, "guarded").await;
    owner
        .put_bucket_acl()
        .bucket("guarded")
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    // An unsigned PutBucketAcl body past the XML limit (8 MiB) is refused before anything reads it.
    let huge = vec![b'<'; 9 << 20];
    let resp = http()
        .put(format!("{}/guarded?acl", srv.endpoint))
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    let text = resp.text().await.unwrap();
    assert!(text.contains("MaxMessageLengthExceeded"), "{text}");
    // A bad canned ACL on an unsigned PUT is the guard's 400, and nothing is stored.
    let resp = http()
        .put(format!("{}/guarded/k", srv.endpoint))
        .header("x-amz-acl", "world-writable")
        .body("x")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(status(owner.head_object().bucket("guarded").key("k").send().await), 404);
}

#[tokio::test]
async fn permissions_replicate() {
    let site = Site::build(&["us-east", "us-west"]);
    let (a, b) = (&site.zones[0], &site.zones[1]);
    let (ea, eb) = (format!("http://{}", a.addr), format!("http://{}", b.addr));
    let (ea, eb) = (ea.as_str(), eb.as_str());
    let ca = a.client();
    create_bucket(&ca, "shared").await;
    put_with_acl(&ca, "shared", "pub", Some(ObjectCannedAcl::PublicRead)).await;
    put(&ca, "shared", "doc", b"doc").await;

    // The object ACL travels with the object; the bucket ACL with the bucket.
    ca.put_bucket_acl()
        .bucket("shared")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    eventually(
        "a public object written on us-east is never public on us-west",
        &site,
        || async { anon(eb, "GET", "/shared/pub", b"").await == (200, "hello".to_string()) },
    )
    .await;
    eventually("a public-read bucket ACL never reached us-west", &site, || async {
        anon(eb, "GET", "/shared", b"").await.0 == 200
    })
    .await;
    assert_eq!(anon(eb, "GET", "/shared/doc", b"").await.0, 403);

    // A policy set on the secondary (made on the master) is enforced on both zones after sync.
    let cb = b.client();
    let doc = policy_doc(
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/doc"},
           {"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared"}"#,
    );
    cb.put_bucket_policy()
        .bucket("shared")
        .policy(&doc)
        .send()
        .await
        .unwrap();
    for (zone, endpoint) in [("us-east", ea), ("us-west", eb)] {
        eventually(&format!("the policy is not enforced on {zone}"), &site, || async {
            anon(endpoint, "GET", "/shared/doc", b"").await.0 == 200
                && anon(endpoint, "GET", "/shared", b"").await.0 == 403
        })
        .await;
    }

    // An object ACL change made on the secondary reaches the master.
    cb.put_object_acl()
        .bucket("shared")
        .key("pub")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .unwrap();
    assert_eq!(anon(eb, "GET", "/shared/pub", b"").await.0, 403);
    eventually(
        "an object ACL change on us-west never reached us-east",
        &site,
        || async { anon(ea, "GET", "/shared/pub", b"").await.0 == 403 },
    )
    .await;
    assert_eq!(get_bytes(&ca, "shared", "pub").await, b"hello");

    // In a versioning-enabled bucket, an ACL change of a version (by its id) reaches the other zone, and the
    // version keeps its id there.
    create_bucket(&ca, "vshared").await;
    set_versioning(&ca, "vshared", aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
    let v1 = ca
        .put_object()
        .bucket("vshared")
        .key("doc")
        .body(b"v1".to_vec().into())
        .send()
        .await
        .unwrap()
        .version_id
        .unwrap();
    put(&ca, "vshared", "doc", b"v2").await;
    let v1_path = format!("/vshared/doc?versionId={v1}");
    eventually("the versions never reached us-west", &site, || async {
        b.client()
            .head_object()
            .bucket("vshared")
            .key("doc")
            .version_id(&v1)
            .send()
            .await
            .is_ok()
    })
    .await;
    assert_eq!(anon(eb, "GET", &v1_path, b"").await.0, 403);
    ca.put_object_acl()
        .bucket("vshared")
        .key("doc")
        .version_id(&v1)
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    assert_eq!(anon(ea, "GET", &v1_path, b"").await, (200, "v1".to_string()));
    eventually(
        "an ACL change of a version on us-east never reached us-west",
        &site,
        || async { anon(eb, "GET", &v1_path, b"").await == (200, "v1".to_string()) },
    )
    .await;
    // Only that version became public; the current one stays private in both zones.
    assert_eq!(anon(eb, "GET", "/vshared/doc", b"").await.0, 403);
    assert_eq!(anon(ea, "GET", "/vshared/doc", b"").await.0, 403);
}
