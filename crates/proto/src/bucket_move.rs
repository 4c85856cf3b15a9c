//! `POST /admin/bucket-move/zone?op=...`: what the metadata master asks of each zone taking part in a bucket
//! move (the calls are listed in `meridian_sync::relocate::zone`). The master builds a [`MoveZoneCall`]; the
//! zone's handler reads the same type back from the request and answers a [`MoveZoneReply`].

use crate::{AdminRequest, Call};
use http::Method;
use serde::{Deserialize, Serialize};

/// One call of the master to a zone about a move.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MoveZoneCall {
    /// `hold`, `fence`, `unfence`, `reclaim`, `release`, `refresh` or `wake`.
    pub op: String,
    pub move_id: String,
    /// The bucket as `tenant/name` or `name`.
    pub bucket: String,
    pub bucket_id: String,
    pub from_zonegroup: String,
    pub to_zonegroup: String,
    /// The cut-over attempt a fence belongs to.
    pub attempt: u64,
    /// `source`, `target` or `any`.
    pub role: String,
    /// `release`: only once the zone applied the flip.
    pub require_flip: bool,
}

impl MoveZoneCall {
    /// The call as the zone's handler receives it; a missing parameter is named.
    pub fn from_request(req: &AdminRequest) -> Result<Self, String> {
        let need = |n: &str| {
            req.get(n)
                .map(str::to_string)
                .ok_or_else(|| format!("missing required parameter {n}"))
        };
        Ok(Self {
            op: need("op")?,
            move_id: need("move")?,
            bucket: need("bucket")?,
            bucket_id: need("bucket-id")?,
            from_zonegroup: need("from")?,
            to_zonegroup: need("to")?,
            attempt: req.get("attempt").and_then(|a| a.parse().ok()).unwrap_or(0),
            role: req.get("role").unwrap_or("source").to_string(),
            require_flip: req.is_true("require-flip"),
        })
    }
}

impl Call for MoveZoneCall {
    /// `null` for `refresh` and `wake`.
    type Reply = Option<MoveZoneReply>;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::POST, "bucket-move/zone")
            .param("op", self.op.clone())
            .param("move", self.move_id.clone())
            .param("bucket", self.bucket.clone())
            .param("bucket-id", self.bucket_id.clone())
            .param("from", self.from_zonegroup.clone())
            .param("to", self.to_zonegroup.clone())
            .param("attempt", self.attempt.to_string())
            .param("role", self.role.clone())
            .flag("require-flip", self.require_flip)
    }
}

/// A zone's answer; each call fills its own fields: `hold` and `reclaim` the bucket's (or the reclaimed)
/// `objects` and `bytes`, `fence` the bilog `head` at the fence, `unfence` whether a fence was `lifted`,
/// `release` `released`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct MoveZoneReply {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<bool>,
}

impl MoveZoneReply {
    /// The answer of `hold` and `reclaim`.
    pub fn sized(objects: u64, bytes: u64) -> Self {
        Self {
            objects: Some(objects),
            bytes: Some(bytes),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_reads_back_from_its_request() {
        let call = MoveZoneCall {
            op: "fence".into(),
            move_id: "m1".into(),
            bucket: "t/photos".into(),
            bucket_id: "b-1".into(),
            from_zonegroup: "us".into(),
            to_zonegroup: "eu".into(),
            attempt: 3,
            role: "source".into(),
            require_flip: true,
        };
        assert_eq!(MoveZoneCall::from_request(&call.request()), Ok(call.clone()));
        let mut req = call.request();
        req.params.remove("bucket-id");
        assert_eq!(
            MoveZoneCall::from_request(&req),
            Err("missing required parameter bucket-id".to_string())
        );
    }

    #[test]
    fn replies_keep_the_shapes_served_before() {
        let write = |r: Option<MoveZoneReply>| serde_json::to_string(&r).unwrap();
        assert_eq!(write(Some(MoveZoneReply::sized(3, 12))), r#"{"objects":3,"bytes":12}"#);
        let fenced = MoveZoneReply {
            head: Some("00000000000000000007".into()),
            ..Default::default()
        };
        assert_eq!(write(Some(fenced)), r#"{"head":"00000000000000000007"}"#);
        assert_eq!(write(None), "null");
        let read: Option<MoveZoneReply> = serde_json::from_str(r#"{"lifted":true}"#).unwrap();
        assert_eq!(read.and_then(|r| r.lifted), Some(true));
        let read: Option<MoveZoneReply> = serde_json::from_str("null").unwrap();
        assert_eq!(read, None);
    }
}
