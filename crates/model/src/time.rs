//! Timestamps as nanoseconds since the Unix epoch: exact, totally ordered, cheap to compare during sync.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time with nanosecond precision (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    pub fn now() -> Self {
        Self::from_system(SystemTime::now())
    }

    pub fn from_system(t: SystemTime) -> Self {
        let nanos = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        Self(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    pub fn to_system(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0)
    }

    pub fn to_offset(self) -> ::time::OffsetDateTime {
        ::time::OffsetDateTime::from(self.to_system())
    }

    /// RFC 3339 with sub-second precision, the way radosgw-admin prints times.
    pub fn to_rfc3339(self) -> String {
        self.to_offset()
            .format(&::time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }

    /// RFC 3339 in UTC with exactly six fractional digits, as radosgw-admin prints metadata times
    /// (`2026-11-22T17:44:28.624636Z`).
    pub fn to_rfc3339_micros(self) -> String {
        let t = self.to_offset();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        )
    }

    /// Reads an RFC 3339 time (any offset, any fraction); `None` if it is not one or is before 1970.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let t = ::time::OffsetDateTime::parse(s.trim(), &::time::format_description::well_known::Rfc3339).ok()?;
        u64::try_from(t.unix_timestamp_nanos()).ok().map(Self)
    }

    /// Seconds since the epoch (HTTP dates only carry whole seconds).
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_system_time() {
        let t = Timestamp(1_700_000_000_123_456_789);
        assert_eq!(Timestamp::from_system(t.to_system()), t);
        assert_eq!(t.secs(), 1_700_000_000);
        assert!(t.to_rfc3339().starts_with("2023-11-14T22:13:20.123456789"));
    }
}
