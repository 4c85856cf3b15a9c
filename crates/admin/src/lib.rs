//! The admin surface: RGW's admin-ops REST API (`/admin/...`, system keys only) and the client the CLI
//! uses while a server runs. One dispatcher serves both the REST API and the CLI's direct (offline) mode,
//! so a verb behaves the same whichever way it arrives.

pub mod client;
pub mod error;
pub mod ops;
pub mod rgw_json;
pub mod route;

pub use client::AdminClient;
pub use error::AdminError;
pub use ops::{dispatch, AdminRequest};
pub use route::AdminRoute;
