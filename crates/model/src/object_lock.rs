//! S3 Object Lock: a version's retention (mode and retain-until date) and legal hold, a bucket's lock
//! configuration (its default retention), and the rules deciding whether a version may be removed or its
//! retention changed. Pure decisions, so every zone and layer applies the same ones.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// How strictly a retention holds: GOVERNANCE yields to `x-amz-bypass-governance-retention`, COMPLIANCE to
/// no one until its date has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockMode {
    Governance,
    Compliance,
}

impl LockMode {
    /// The S3 spelling (`GOVERNANCE`, `COMPLIANCE`).
    pub fn as_s3(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }

    /// Reads the S3 spelling (case-insensitive, as AWS accepts it).
    pub fn parse(s: &str) -> Option<LockMode> {
        match s.to_ascii_uppercase().as_str() {
            "GOVERNANCE" => Some(LockMode::Governance),
            "COMPLIANCE" => Some(LockMode::Compliance),
            _ => None,
        }
    }
}

/// A version is protected from removal until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: LockMode,
    pub until: Timestamp,
}

/// The lock state of one object version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ObjectLock {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legal_hold: bool,
}

impl ObjectLock {
    pub fn is_empty(&self) -> bool {
        self.retention.is_none() && !self.legal_hold
    }

    /// The retention still in force at `now`.
    pub fn retention_at(&self, now: Timestamp) -> Option<Retention> {
        self.retention.filter(|r| r.until > now)
    }

    /// Why the version may not be removed at `now` (`None`: it may). A legal hold stops everyone; a
    /// GOVERNANCE retention yields to `bypass_governance`, a COMPLIANCE one to no one.
    pub fn removal_refused(&self, bypass_governance: bool, now: Timestamp) -> Option<&'static str> {
        if self.legal_hold {
            return Some("Object is under a legal hold and cannot be deleted");
        }
        match self.retention_at(now) {
            Some(Retention {
                mode: LockMode::Compliance,
                ..
            }) => Some("Object is WORM protected (COMPLIANCE retention) and cannot be deleted"),
            Some(Retention {
                mode: LockMode::Governance,
                ..
            }) if !bypass_governance => Some(
                "Object is WORM protected (GOVERNANCE retention); deleting it needs x-amz-bypass-governance-retention",
            ),
            _ => None,
        }
    }

    /// Why replacing the retention with `new` is refused at `now` (`None`: allowed). Making it stricter
    /// (a later date, GOVERNANCE to COMPLIANCE) is always allowed; a COMPLIANCE retention in force can never
    /// be shortened, weakened or removed; a GOVERNANCE one only with `bypass_governance`.
    pub fn retention_change_refused(
        &self,
        new: Option<Retention>,
        bypass_governance: bool,
        now: Timestamp,
    ) -> Option<&'static str> {
        let held = self.retention_at(now)?;
        let stricter = new.is_some_and(|n| {
            n.until >= held.until && (n.mode == LockMode::Compliance || held.mode == LockMode::Governance)
        });
        if stricter {
            return None;
        }
        match held.mode {
            LockMode::Compliance => Some("A COMPLIANCE retention in force cannot be shortened, weakened or removed"),
            LockMode::Governance if !bypass_governance => {
                Some("Shortening or removing a GOVERNANCE retention needs x-amz-bypass-governance-retention")
            }
            LockMode::Governance => None,
        }
    }
}

/// A bucket's Object Lock configuration; its presence means Object Lock is enabled (which cannot be undone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ObjectLockConfig {
    /// The retention new versions get when their request names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_retention: Option<DefaultRetention>,
}

/// A default retention rule: a mode and a period in days or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    pub mode: LockMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<u32>,
}

const DAY_NANOS: u64 = 86_400 * 1_000_000_000;

impl DefaultRetention {
    /// The retention a version written at `mtime` gets (a year is 365 days, as AWS counts it).
    pub fn retention_from(&self, mtime: Timestamp) -> Retention {
        let days = u64::from(self.days.unwrap_or(0)) + 365 * u64::from(self.years.unwrap_or(0));
        Retention {
            mode: self.mode,
            until: Timestamp(mtime.0.saturating_add(days.saturating_mul(DAY_NANOS))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_000 * DAY_NANOS);

    fn lock(mode: LockMode, days_from_now: i64, hold: bool) -> ObjectLock {
        ObjectLock {
            retention: Some(Retention {
                mode,
                until: Timestamp((NOW.0 as i64 + days_from_now * DAY_NANOS as i64) as u64),
            }),
            legal_hold: hold,
        }
    }

    #[test]
    fn removal_follows_mode_hold_and_bypass() {
        assert!(lock(LockMode::Compliance, 1, false)
            .removal_refused(true, NOW)
            .is_some());
        assert!(lock(LockMode::Governance, 1, false)
            .removal_refused(false, NOW)
            .is_some());
        assert!(lock(LockMode::Governance, 1, false)
            .removal_refused(true, NOW)
            .is_none());
        assert!(lock(LockMode::Compliance, -1, false)
            .removal_refused(false, NOW)
            .is_none());
        assert!(lock(LockMode::Governance, -1, true)
            .removal_refused(true, NOW)
            .is_some());
        assert!(ObjectLock::default().removal_refused(false, NOW).is_none());
    }

    #[test]
    fn retention_changes_only_loosen_with_bypass() {
        let c = lock(LockMode::Compliance, 10, false);
        let later = lock(LockMode::Compliance, 20, false).retention;
        let sooner = lock(LockMode::Compliance, 5, false).retention;
        assert!(c.retention_change_refused(later, false, NOW).is_none());
        assert!(c.retention_change_refused(sooner, true, NOW).is_some());
        assert!(c.retention_change_refused(None, true, NOW).is_some());
        let to_gov = lock(LockMode::Governance, 20, false).retention;
        assert!(c.retention_change_refused(to_gov, true, NOW).is_some());
        let g = lock(LockMode::Governance, 10, false);
        assert!(g.retention_change_refused(later, false, NOW).is_none());
        assert!(g.retention_change_refused(None, false, NOW).is_some());
        assert!(g.retention_change_refused(None, true, NOW).is_none());
        assert!(lock(LockMode::Compliance, -1, false)
            .retention_change_refused(None, false, NOW)
            .is_none());
    }

    #[test]
    fn default_retention_counts_days_and_years() {
        let d = DefaultRetention {
            mode: LockMode::Governance,
            days: Some(2),
            years: None,
        };
        assert_eq!(d.retention_from(NOW).until, Timestamp(NOW.0 + 2 * DAY_NANOS));
        let y = DefaultRetention {
            mode: LockMode::Compliance,
            days: None,
            years: Some(1),
        };
        assert_eq!(y.retention_from(NOW).until, Timestamp(NOW.0 + 365 * DAY_NANOS));
    }
}
