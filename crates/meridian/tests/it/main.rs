//! The integration tests, one binary: each module is the tests of one area (named after it:
//! `multisite`, `versioning`, ...) against real `meridian server` processes, sharing the harness in `common`.
//! One module: `cargo test -p meridian --test it multisite::`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "test code: the harness and helpers panic on what a test must not meet (not only `#[test]` functions)"
)]

mod common;

mod admin_logs;
mod auth;
mod backup;
mod bench;
mod bucket_move;
mod buckets_objects;
mod disk_full;
mod dns;
mod hardening;
mod listing;
mod metadata;
mod multipart;
mod multisite;
mod newcomer;
mod object_lock;
mod rados_gateways;
mod replication;
mod s3_access;
mod s3_edges;
mod s3_tagging_cors;
mod sigv2;
mod sync_cli;
mod tenants;
mod versioning;
mod versioning_multisite;
mod workers;
