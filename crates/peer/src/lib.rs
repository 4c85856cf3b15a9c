//! Signed REST calls between zones and from the CLI to a running server: an admin request (method,
//! resource below `/admin/`, parameters, optional JSON body) and the SigV4 client that sends it with a
//! zone's system key; and the conversations with the metadata master and the other zones built on it.

mod client;
pub mod master;

pub use client::{PeerClient, PeerError, StreamingReply};
pub use meridian_proto::{self as proto, AdminRequest};
