//! The admin surface: RGW's admin-ops REST API (`/admin/...`, system keys only) and the client the CLI
//! uses while a server runs. One dispatcher serves both the REST API and the CLI's direct (offline) mode,
//! so a verb behaves the same whichever way it arrives.

pub mod backup;
pub mod config;
pub mod error;
pub mod logs;
pub mod metadata;
pub mod r#move;
pub mod ops;
pub mod route;
pub mod router;
pub mod services;

pub use error::AdminError;
pub use meridian_peer::{AdminRequest, PeerClient, PeerError};
pub use route::AdminRoute;
pub use router::{dispatch, AdminEndpoint};
pub use services::Services;
