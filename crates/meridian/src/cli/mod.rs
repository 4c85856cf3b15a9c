//! The admin verbs, shaped like radosgw-admin. Each verb becomes one admin request, run directly on the
//! data directory when no server holds it, or sent to the running server's admin API otherwise.

pub mod backup;
pub mod bucket_move;
pub mod config;
pub mod metadata;
pub mod sync;
pub mod worker;

use crate::zone;
use anyhow::Context;
use clap::{Args, Subcommand};
use http::Method;
use meridian_admin::{dispatch, AdminRequest, PeerClient};
use meridian_gateway::GatewayOptions;
use std::path::Path;

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Create a user (keys are generated unless given)
    Create {
        #[arg(long)]
        uid: String,
        /// The user's tenant (or give the uid as `tenant$uid`)
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        access_key: Option<String>,
        #[arg(long, alias = "secret-key")]
        secret: Option<String>,
        /// A system user (inter-zone / admin keys)
        #[arg(long)]
        system: bool,
        #[arg(long)]
        max_buckets: Option<i64>,
    },
    /// Show a user
    Info {
        #[arg(long)]
        uid: String,
        /// The user's tenant (or give the uid as `tenant$uid`)
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List user ids
    List,
    /// Remove a user
    Rm {
        #[arg(long)]
        uid: String,
        /// The user's tenant (or give the uid as `tenant$uid`)
        #[arg(long)]
        tenant: Option<String>,
        /// Also remove the user's buckets and objects
        #[arg(long)]
        purge_data: bool,
    },
    /// Suspend a user (its keys stop working)
    Suspend {
        #[arg(long)]
        uid: String,
        /// The user's tenant (or give the uid as `tenant$uid`)
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Re-enable a suspended user
    Enable {
        #[arg(long)]
        uid: String,
        /// The user's tenant (or give the uid as `tenant$uid`)
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Add an S3 key to a user
    Create {
        #[arg(long)]
        uid: String,
        /// The user's tenant (or give the uid as `tenant$uid`)
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        access_key: Option<String>,
        #[arg(long, alias = "secret-key")]
        secret: Option<String>,
    },
    /// Remove an S3 key
    Rm {
        #[arg(long)]
        access_key: String,
        #[arg(long)]
        uid: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BucketCmd {
    /// List buckets (of one user with --uid)
    List {
        #[arg(long)]
        uid: Option<String>,
        /// The user's tenant (or give the uid as `tenant$uid`)
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Bucket statistics (all buckets without --bucket)
    Stats {
        #[arg(long)]
        bucket: Option<String>,
    },
    /// Remove a bucket
    Rm {
        #[arg(long)]
        bucket: String,
        /// Delete its objects first
        #[arg(long)]
        purge_objects: bool,
    },
    /// The bucket index log
    #[command(subcommand)]
    Log(BucketLogCmd),
    /// The bucket's replication state
    #[command(subcommand)]
    Sync(sync::BucketSyncCmd),
    /// Move buckets to another zonegroup, online (copy, short cut-over, cleanup); `status`, `cancel`
    Move(bucket_move::MoveArgs),
}

#[derive(Subcommand, Debug)]
pub enum BucketLogCmd {
    /// List bucket index log entries
    List(LogRange),
}

#[derive(Args, Debug)]
pub struct LogRange {
    #[arg(long)]
    pub bucket: String,
    #[arg(long)]
    pub marker: Option<String>,
    #[arg(long)]
    pub max_entries: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum DatalogCmd {
    /// List data log entries (every shard unless --shard-id)
    List {
        #[arg(long)]
        shard_id: Option<u32>,
        #[arg(long)]
        marker: Option<String>,
        #[arg(long)]
        max_entries: Option<usize>,
    },
}

pub fn user_request(cmd: UserCmd) -> AdminRequest {
    match cmd {
        UserCmd::Create {
            uid,
            tenant,
            display_name,
            email,
            access_key,
            secret,
            system,
            max_buckets,
        } => AdminRequest::new(Method::PUT, "user")
            .param("uid", uid)
            .opt("tenant", tenant)
            .param("display-name", display_name)
            .opt("email", email)
            .opt("access-key", access_key)
            .opt("secret-key", secret)
            .flag("system", system)
            .opt("max-buckets", max_buckets.map(|n| n.to_string())),
        UserCmd::Info { uid, tenant } => AdminRequest::new(Method::GET, "user")
            .param("uid", uid)
            .opt("tenant", tenant),
        UserCmd::List => AdminRequest::new(Method::GET, "metadata/user"),
        UserCmd::Rm {
            uid,
            tenant,
            purge_data,
        } => AdminRequest::new(Method::DELETE, "user")
            .param("uid", uid)
            .opt("tenant", tenant)
            .flag("purge-data", purge_data),
        UserCmd::Suspend { uid, tenant } => AdminRequest::new(Method::POST, "user")
            .param("uid", uid)
            .opt("tenant", tenant)
            .param("suspended", "true"),
        UserCmd::Enable { uid, tenant } => AdminRequest::new(Method::POST, "user")
            .param("uid", uid)
            .opt("tenant", tenant)
            .param("suspended", "false"),
    }
}

pub fn key_request(cmd: KeyCmd) -> AdminRequest {
    match cmd {
        KeyCmd::Create {
            uid,
            tenant,
            access_key,
            secret,
        } => AdminRequest::new(Method::PUT, "user")
            .param("key", "")
            .param("uid", uid)
            .opt("tenant", tenant)
            .opt("access-key", access_key)
            .opt("secret-key", secret),
        KeyCmd::Rm { access_key, uid } => AdminRequest::new(Method::DELETE, "user")
            .param("key", "")
            .param("access-key", access_key)
            .opt("uid", uid),
    }
}

pub fn bucket_request(cmd: BucketCmd) -> AdminRequest {
    match cmd {
        BucketCmd::List { uid, tenant } => AdminRequest::new(Method::GET, "bucket")
            .opt("uid", uid)
            .opt("tenant", tenant),
        BucketCmd::Stats { bucket } => AdminRequest::new(Method::GET, "bucket")
            .opt("bucket", bucket)
            .param("stats", "true"),
        BucketCmd::Rm { bucket, purge_objects } => AdminRequest::new(Method::DELETE, "bucket")
            .param("bucket", bucket)
            .flag("purge-objects", purge_objects),
        BucketCmd::Log(BucketLogCmd::List(r)) => AdminRequest::new(Method::GET, "log")
            .param("type", "bucket-index")
            .param("bucket", r.bucket)
            .opt("marker", r.marker)
            .opt("max-entries", r.max_entries.map(|n| n.to_string())),
        BucketCmd::Sync(sync::BucketSyncCmd::Status { bucket, .. }) => sync::bucket_status_request(&bucket),
        BucketCmd::Move(args) => bucket_move::status_request(args.bucket.first().cloned()),
    }
}

pub fn datalog_request(cmd: DatalogCmd) -> AdminRequest {
    match cmd {
        DatalogCmd::List {
            shard_id,
            marker,
            max_entries,
        } => AdminRequest::new(Method::GET, "log")
            .param("type", "data")
            .opt("id", shard_id.map(|n| n.to_string()))
            .opt("marker", marker)
            .opt("max-entries", max_entries.map(|n| n.to_string())),
    }
}

/// Runs one admin request and prints its JSON answer.
pub async fn execute(data_dir: &Path, req: AdminRequest) -> anyhow::Result<()> {
    let value = request(data_dir, req).await?;
    if !value.is_null() {
        use std::io::Write;
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

/// `meridian init`: creates the data directory (zone "default" in zonegroup "default") and says so.
pub async fn init(data_dir: &Path) -> anyhow::Result<()> {
    let opened = zone::open(
        data_dir,
        None,
        GatewayOptions::default(),
        meridian_store::local::DEFAULT_CACHE_BYTES,
    )
    .await
    .with_context(|| format!("cannot initialise {}", data_dir.display()))?;
    let site = opened.gateway.site();
    println!(
        "{} data directory {} (zone {:?} of zonegroup {:?})",
        if opened.created {
            "initialised"
        } else {
            "already initialised:"
        },
        zone::display_path(data_dir),
        site.zone_name,
        site.zonegroup_api_name
    );
    Ok(())
}

/// Runs one admin request and returns its JSON answer: in this process when no server holds the data
/// directory, else signed with the running server's admin key and sent to it.
pub async fn request(data_dir: &Path, req: AdminRequest) -> anyhow::Result<serde_json::Value> {
    if !zone::creates_data_dir(&req) {
        zone::require_data_dir(data_dir)?;
    }
    // A RADOS zone has no file lock telling that a server runs: ask the recorded server first (so its
    // answers, errors included, are the same as with the local store), and run here if none answers.
    if crate::store::for_data_dir(data_dir)?.store == crate::store::StoreKind::Rados {
        if let Ok(text) = std::fs::read_to_string(zone::admin_endpoint_path(data_dir)) {
            let ep: zone::AdminEndpoint = serde_json::from_str(&text).context("corrupt admin.json")?;
            let mut client = PeerClient::new(&ep.endpoint, &ep.access_key, &ep.secret_key);
            client.timeout = std::time::Duration::from_secs(120);
            match client.send(&req).await {
                Err(meridian_admin::PeerError::Unreachable { .. }) => {}
                other => return Ok(other?),
            }
        }
    }
    let value = match zone::open(
        data_dir,
        None,
        GatewayOptions::default(),
        meridian_store::local::DEFAULT_CACHE_BYTES,
    )
    .await
    {
        Ok(opened) => dispatch(&opened.gateway, &crate::admin_services::services(), &req).await?,
        Err(e) if zone::is_locked(&e) => server_client(data_dir)?.send(&req).await?,
        Err(e) => return Err(e),
    };
    Ok(value)
}

/// A client of the server running on `data_dir`, signed with its admin key.
pub fn server_client(data_dir: &Path) -> anyhow::Result<PeerClient> {
    let path = zone::admin_endpoint_path(data_dir);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "the data directory is in use, but {} (the running server's admin endpoint) cannot be read",
            path.display()
        )
    })?;
    let ep: zone::AdminEndpoint = serde_json::from_str(&text).with_context(|| format!("corrupt {}", path.display()))?;
    let mut client = PeerClient::new(&ep.endpoint, &ep.access_key, &ep.secret_key);
    // A commit may wait for the master and for pushes to every zone.
    client.timeout = std::time::Duration::from_secs(120);
    Ok(client)
}
