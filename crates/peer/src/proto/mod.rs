//! The typed documents zones and the CLI exchange over the admin API: the server serialises them and every
//! client deserialises the same type, so no caller walks `serde_json::Value` to read a protocol message.
//! Deserialisation is lenient (missing or `null` fields take their defaults), so a newer CLI still reads
//! an older server's documents.

pub mod sync_object;
pub mod sync_status;

use serde::{Deserialize, Deserializer};

/// A field that may be missing or `null`: its default then (`Option<T>` fields take `null` by themselves).
pub(crate) fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A flag that reads as true when missing or `null`.
pub(crate) fn or_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}
