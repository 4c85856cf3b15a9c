//! Serde helpers for the shapes RGW puts on the wire: RFC 3339 times and base64 bytes.

/// A `Timestamp` as RFC 3339 text (`2026-12-02T16:33:40.123456789Z`).
pub(crate) mod rfc3339 {
    use meridian_model::Timestamp;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&text).ok_or_else(|| D::Error::custom(format!("bad RFC 3339 time {text:?}")))
    }
}

/// An optional `Timestamp` as RFC 3339 text or `null`; a missing or unreadable time reads as `None` (a
/// log head's time is informative only).
pub(crate) mod rfc3339_opt {
    use meridian_model::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.and_then(|t| Timestamp::parse_rfc3339(&t)))
    }
}

/// Bytes as standard base64 text.
pub(crate) mod base64_bytes {
    use base64::Engine;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bytes::Bytes, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(bytes::Bytes::from)
            .map_err(|e| D::Error::custom(format!("bad base64: {e}")))
    }
}
