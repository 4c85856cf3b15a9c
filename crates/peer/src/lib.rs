//! Signed REST calls between zones and from the CLI to a running server: the SigV4 client that sends an
//! admin request (method, resource below `/admin/`, parameters, optional JSON body) with a zone's system
//! key, and the failover over a zone's endpoints. What zones say to each other with it (forwarding to the
//! metadata master, periods) lives in `meridian_multisite`; the documents themselves in `meridian_proto`.

mod client;
mod failover;

pub use client::{PeerClient, PeerError, StreamingReply};
pub use failover::Failover;
pub use meridian_proto::{self as proto, AdminRequest};
