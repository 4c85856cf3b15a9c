//! The inter-zone and admin protocol, in one place: how a call is addressed ([`AdminRequest`]) and the typed
//! documents zones and the CLI exchange. The server's handler builds the same type the client
//! (`meridian_peer::PeerClient::call`) decodes, so no caller walks `serde_json::Value` to read a protocol
//! message. Each call is a [`Call`]: its typed parameters build the request, and its `Reply` is the handler's
//! answer; the call's module holds both, side by side.
//! Deserialisation is lenient (missing or `null` fields take their defaults), so a newer CLI still reads
//! an older server's documents.

pub mod bucket_move;
pub mod log;
pub mod metadata;
pub mod ops;
pub mod period;
mod request;
pub mod rgw;
pub mod sync_listing;
pub mod sync_object;
pub mod sync_status;
mod wire;

pub use request::AdminRequest;
pub use rgw::DocumentError;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// One admin-API call: its typed parameters address the request, and `Reply` is the document its handler
/// answers with (the handler serialises that very type).
pub trait Call {
    type Reply: Serialize + DeserializeOwned;

    /// The request as sent: method, resource below `/admin/`, parameters and body.
    fn request(&self) -> AdminRequest;
}

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
