//! Multi-site orchestration: what a zone does with the other zones of its realm, over
//! `meridian_peer`'s signed client and `meridian_proto`'s typed calls.
//! - `forward`: sending the metadata changes only the master makes to it, and mapping its refusals back;
//! - `adopt`: copying the master's record of a user or bucket here (also the metadata-sync apply step);
//! - `bucket`: bucket changes made on the master (create, versioning, tags/CORS/lifecycle);
//! - `period`: committing a staging period (then pushing it), and pushing and pulling periods;
//! - `puller`: the background worker that pulls the master's period.

mod adopt;
mod bucket;
mod forward;
mod period;
mod puller;

pub use adopt::{copy_entry_from_master, copy_user_from_master, fetch_bucket_from_master, fetch_user_by_key};
pub use bucket::{change_bucket_config_on_master, create_bucket_on_master, set_bucket_versioning_on_master};
pub use forward::{forward, gateway_error, remote_bucket_contents, system_client};
pub use period::{commit_and_push, commit_staging, pull_period, pull_realm, push_period};
pub use puller::run_period_puller;
