//! Forwarding to the metadata master: the changes only the master makes (users, buckets, their metadata)
//! are sent to the first of its endpoints that answers, signed with this zone's system key, and a refusal
//! comes back as the error the master raised. Also the one question asked of a bucket's own zonegroup.

use meridian_gateway::metadata::BucketContents;
use meridian_gateway::{Gateway, GatewayError, Site};
use meridian_model::bucket::bucket_spec;
use meridian_model::{AccessKey, Bucket};
use meridian_peer::{AdminRequest, Failover, PeerClient, PeerError};
use meridian_proto::ops::GetBucketStats;
use meridian_proto::Call;
use serde_json::Value;

/// A client for `endpoint` signed with this zone's system key (or `key`).
pub fn system_client(site: &Site, endpoint: &str, key: Option<&AccessKey>) -> PeerClient {
    let key = key.unwrap_or(&site.system_key);
    PeerClient::new(endpoint, &key.access_key, &key.secret_key)
}

/// The endpoints of one zone (or zonegroup), signed with this zone's system key.
pub(crate) fn system_failover(site: &Site, endpoints: &[String]) -> Failover {
    Failover::new(endpoints, &site.system_key.access_key, &site.system_key.secret_key)
}

/// Maps a refusal from the master back onto the error the master raised, so clients see the same S3 code.
pub fn gateway_error(e: PeerError) -> GatewayError {
    match e {
        PeerError::Remote { status, code, message } => match code.as_str() {
            "BucketAlreadyExists" => GatewayError::BucketAlreadyExists,
            "BucketAlreadyOwnedByYou" => GatewayError::BucketAlreadyOwnedByYou,
            "BucketNotEmpty" => GatewayError::BucketNotEmpty,
            "NoSuchBucket" => GatewayError::NoSuchBucket,
            "NoSuchUser" => GatewayError::NoSuchUser(message),
            "InvalidAccessKeyId" => GatewayError::NoSuchKeyId(message),
            "UserAlreadyExists" => GatewayError::UserExists(message),
            "KeyExists" => GatewayError::KeyExists(message),
            "InvalidBucketName" => GatewayError::InvalidBucketName(message),
            "TooManyBuckets" => GatewayError::TooManyBuckets(message),
            "InvalidLocationConstraint" => GatewayError::InvalidLocationConstraint(message),
            "InvalidArgument" => GatewayError::InvalidArgument(message),
            "NotFound" | "NoSuchEntity" => GatewayError::NotFound(message),
            "Conflict" => GatewayError::Conflict(message),
            "InvalidBucketState" => GatewayError::InvalidBucketState(message),
            _ if status == 409 => GatewayError::Conflict(message),
            _ => GatewayError::MasterUnavailable(format!("the master answered {status} {code}: {message}")),
        },
        other => GatewayError::MasterUnavailable(other.to_string()),
    }
}

/// The metadata master's endpoints, signed with this zone's system key.
fn master(gw: &Gateway) -> Result<Failover, GatewayError> {
    let site = gw.site();
    let endpoints = site.master_endpoints();
    if endpoints.is_empty() {
        return Err(GatewayError::MasterUnavailable(
            "the current period names no endpoint for the metadata master zone".into(),
        ));
    }
    Ok(system_failover(&site, &endpoints))
}

/// Sends `req` to the first metadata-master endpoint that answers (a request the caller passes on as it
/// is: an operator's command, a relocation report).
pub async fn forward(gw: &Gateway, req: &AdminRequest) -> Result<Value, GatewayError> {
    master(gw)?.send(req).await.map_err(gateway_error)
}

/// Makes a typed call on the first metadata-master endpoint that answers.
pub(crate) async fn call_master<C: Call>(gw: &Gateway, call: &C) -> Result<C::Reply, GatewayError> {
    master(gw)?.call(call).await.map_err(gateway_error)
}

/// What a bucket holds in the zones of its own zonegroup, asked of the first of them that answers: the
/// metadata master holds no data of another zonegroup's buckets, so its own count proves nothing.
pub async fn remote_bucket_contents(gw: &Gateway, b: &Bucket) -> Result<BucketContents, GatewayError> {
    let site = gw.site();
    let spec = bucket_spec(&b.tenant, &b.name);
    let zonegroup = site.zonegroup(&b.zonegroup).ok_or_else(|| {
        GatewayError::Conflict(format!(
            "bucket {spec} belongs to zonegroup {}, which the current period does not name; nothing was changed",
            b.zonegroup
        ))
    })?;
    let mut endpoints: Vec<String> = zonegroup.zones.iter().flat_map(|z| z.endpoints.clone()).collect();
    endpoints.extend(zonegroup.endpoints.iter().cloned());
    let unconfirmed = |why: String| {
        GatewayError::MasterUnavailable(format!(
            "cannot confirm that bucket {spec} is empty in its zonegroup {} ({why}); nothing was changed",
            zonegroup.name
        ))
    };
    let stats = match system_failover(&site, &endpoints)
        .call(&GetBucketStats { bucket: &spec })
        .await
    {
        Ok(stats) => stats,
        // Metadata sync has not brought the bucket there yet: it cannot hold anything.
        Err(PeerError::Remote { code, .. }) if code == "NoSuchBucket" => return Ok(BucketContents::default()),
        Err(e @ PeerError::BadReply { .. }) => return Err(unconfirmed(format!("unreadable stats: {e}"))),
        Err(e) => return Err(unconfirmed(e.to_string())),
    };
    Ok(BucketContents {
        objects: stats.usage.values().map(|u| u.num_objects).sum(),
        uploads: stats.num_incomplete_uploads.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(status: u16, code: &str) -> PeerError {
        PeerError::Remote {
            status,
            code: code.into(),
            message: "why".into(),
        }
    }

    #[test]
    fn refusals_map_back_to_the_masters_error() {
        assert!(matches!(
            gateway_error(remote(404, "NoSuchBucket")),
            GatewayError::NoSuchBucket
        ));
        assert!(matches!(gateway_error(remote(404, "NoSuchUser")), GatewayError::NoSuchUser(m) if m == "why"));
        assert!(matches!(
            gateway_error(remote(409, "Whatever")),
            GatewayError::Conflict(_)
        ));
        assert!(matches!(
            gateway_error(remote(500, "InternalError")),
            GatewayError::MasterUnavailable(m) if m.contains("500 InternalError")
        ));
        let unreachable = PeerError::Unreachable {
            endpoint: "http://m".into(),
            message: "refused".into(),
        };
        assert!(matches!(gateway_error(unreachable), GatewayError::MasterUnavailable(_)));
    }
}
