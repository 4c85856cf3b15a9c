//! Storage traits of Meridian and their backends: `MetaStore` (ordered KV with transactions and consistent
//! snapshots) and `DataStore` (object bytes). The `local` backend is the embedded default.

pub mod data;
pub mod error;
pub mod local;
pub mod meta;

pub use data::{BlobReader, BlobWriter, DataStore};
pub use error::StoreError;
pub use meta::{Kv, MetaStore, ReadOps, WriteTxn};
