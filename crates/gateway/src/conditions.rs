//! HTTP conditional request evaluation (RFC 9110 §13.2.2 order, as S3 applies it).

use crate::error::GatewayError;
use meridian_model::{ObjectMeta, Timestamp};

/// An entity-tag condition: `*` or a list of tags (without quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtagMatch {
    Any,
    Tags(Vec<String>),
}

impl EtagMatch {
    fn matches(&self, etag: &str) -> bool {
        match self {
            EtagMatch::Any => true,
            EtagMatch::Tags(tags) => tags.iter().any(|t| t.trim_matches('"') == etag),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub if_match: Option<EtagMatch>,
    pub if_none_match: Option<EtagMatch>,
    pub if_modified_since: Option<Timestamp>,
    pub if_unmodified_since: Option<Timestamp>,
}

impl Conditions {
    /// For GET/HEAD: failed If-Match/If-Unmodified-Since give 412, failed If-None-Match/If-Modified-Since 304.
    pub fn check_read(&self, obj: &ObjectMeta) -> Result<(), GatewayError> {
        self.check(obj, GatewayError::NotModified)
    }

    /// For copies and writes every failed condition is 412.
    pub fn check_write(&self, obj: &ObjectMeta) -> Result<(), GatewayError> {
        self.check(obj, GatewayError::PreconditionFailed)
    }

    fn check(&self, obj: &ObjectMeta, not_modified: GatewayError) -> Result<(), GatewayError> {
        // HTTP dates have whole seconds; compare at that resolution.
        let mtime = obj.mtime.secs();
        match &self.if_match {
            Some(m) if !m.matches(&obj.etag) => return Err(GatewayError::PreconditionFailed),
            None if self.if_unmodified_since.is_some_and(|t| mtime > t.secs()) => {
                return Err(GatewayError::PreconditionFailed)
            }
            _ => {}
        }
        match &self.if_none_match {
            Some(m) if m.matches(&obj.etag) => return Err(not_modified),
            None if self.if_modified_since.is_some_and(|t| mtime <= t.secs()) => return Err(not_modified),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_model::{Manifest, ObjectHeaders};

    fn obj() -> ObjectMeta {
        ObjectMeta {
            key: "k".into(),
            instance: "i".into(),
            size: 1,
            etag: "abc".into(),
            mtime: Timestamp(1_000_000_000_000),
            owner: "o".into(),
            headers: ObjectHeaders::default(),
            manifest: Manifest::default(),
            zones_trace: vec![],
            parts_count: None,
            versioned: false,
            delete_marker: false,
        }
    }

    #[test]
    fn if_match_and_if_none_match() {
        let o = obj();
        let c = Conditions {
            if_match: Some(EtagMatch::Tags(vec!["\"abc\"".into()])),
            ..Default::default()
        };
        assert!(c.check_read(&o).is_ok());
        let c = Conditions {
            if_match: Some(EtagMatch::Tags(vec!["zzz".into()])),
            ..Default::default()
        };
        assert!(matches!(c.check_read(&o), Err(GatewayError::PreconditionFailed)));
        let c = Conditions {
            if_none_match: Some(EtagMatch::Any),
            ..Default::default()
        };
        assert!(matches!(c.check_read(&o), Err(GatewayError::NotModified)));
        assert!(matches!(c.check_write(&o), Err(GatewayError::PreconditionFailed)));
    }

    #[test]
    fn dates_and_precedence() {
        let o = obj();
        let later = Timestamp(2_000_000_000_000);
        let earlier = Timestamp(500_000_000_000);
        let c = Conditions {
            if_modified_since: Some(later),
            ..Default::default()
        };
        assert!(matches!(c.check_read(&o), Err(GatewayError::NotModified)));
        let c = Conditions {
            if_unmodified_since: Some(earlier),
            ..Default::default()
        };
        assert!(matches!(c.check_read(&o), Err(GatewayError::PreconditionFailed)));
        // If-Match that holds overrides a failing If-Unmodified-Since (S3 documents this).
        let c = Conditions {
            if_match: Some(EtagMatch::Any),
            if_unmodified_since: Some(earlier),
            ..Default::default()
        };
        assert!(c.check_read(&o).is_ok());
    }
}
