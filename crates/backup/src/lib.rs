//! Online, consistent backups of a zone and verified restores: one metadata snapshot taken at a single
//! instant (writers go on), optionally the blob files it references (GC holds them while the backup runs),
//! written as one zstd-compressed tar archive whose first member, the manifest, describes the zone and
//! carries a checksum of every other member.

pub mod archive;
pub mod create;
pub mod error;
pub mod list;
pub mod manifest;
pub mod restore;
pub mod service;
pub mod verify;

pub use error::{BackupError, Result};
pub use manifest::Manifest;
pub use service::{BackupService, Schedule};
