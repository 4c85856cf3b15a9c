//! The multi-site configuration verbs, with radosgw-admin's names and flags: `realm`, `zonegroup`, `zone`,
//! `period`. Each becomes one `/admin/config/<kind>/<verb>` request.

use clap::{Args, Subcommand};
use http::Method;
use meridian_admin::AdminRequest;

#[derive(Subcommand, Debug)]
pub enum RealmCmd {
    /// Create a realm (with its first, empty period)
    Create {
        #[arg(long)]
        rgw_realm: String,
        /// Make it this data directory's default realm
        #[arg(long)]
        default: bool,
    },
    /// Show a realm (the default one without --rgw-realm)
    Get {
        #[arg(long)]
        rgw_realm: Option<String>,
    },
    /// List realms
    List,
    /// Rename a realm (its id never changes)
    Rename {
        #[arg(long)]
        rgw_realm: String,
        #[arg(long)]
        realm_new_name: String,
    },
    /// Delete a realm's record from this data directory
    Delete {
        #[arg(long)]
        rgw_realm: String,
    },
    /// Make a realm the default
    Default {
        #[arg(long)]
        rgw_realm: String,
    },
    /// Fetch a realm and its current period from a zone of it (first step of a secondary zone)
    Pull(PullArgs),
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Endpoint of a zone of the realm (the metadata master), e.g. http://rgw1:7480
    #[arg(long)]
    pub url: Option<String>,
    /// System key to sign with (default: this zone's)
    #[arg(long)]
    pub access_key: Option<String>,
    #[arg(long, alias = "secret-key")]
    pub secret: Option<String>,
}

#[derive(Args, Debug, Default)]
pub struct ZonegroupFields {
    /// Comma-separated endpoints clients are redirected to
    #[arg(long)]
    pub endpoints: Option<String>,
    /// Comma-separated hostnames for virtual-hosted-style requests (and DNS)
    #[arg(long)]
    pub hostnames: Option<String>,
    /// The S3 region name (LocationConstraint) of the zonegroup; default: its name
    #[arg(long)]
    pub api_name: Option<String>,
    /// The realm's master zonegroup (`--master=false` to unset)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub master: Option<bool>,
    /// Make it this data directory's default zonegroup
    #[arg(long)]
    pub default: bool,
    #[arg(long)]
    pub rgw_realm: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ZonegroupCmd {
    /// Create a zonegroup in the default realm (or --rgw-realm)
    Create {
        #[arg(long)]
        rgw_zonegroup: String,
        #[command(flatten)]
        fields: ZonegroupFields,
    },
    /// Change a zonegroup's endpoints, hostnames, master flag, realm
    Modify {
        #[arg(long)]
        rgw_zonegroup: Option<String>,
        #[command(flatten)]
        fields: ZonegroupFields,
    },
    /// Show a zonegroup (the one this zone is in without --rgw-zonegroup)
    Get {
        #[arg(long)]
        rgw_zonegroup: Option<String>,
    },
    /// List zonegroups
    List,
    /// Rename a zonegroup (its id, and so its buckets, never change)
    Rename {
        #[arg(long)]
        rgw_zonegroup: String,
        #[arg(long)]
        zonegroup_new_name: String,
    },
    /// Delete a zonegroup (refused while it holds this zone or buckets)
    Delete {
        #[arg(long)]
        rgw_zonegroup: String,
    },
    /// Placement targets
    #[command(subcommand)]
    Placement(PlacementCmd),
}

#[derive(Subcommand, Debug)]
pub enum PlacementCmd {
    /// Add a placement target (or a storage class to one)
    Add {
        #[arg(long)]
        rgw_zonegroup: Option<String>,
        #[arg(long)]
        placement_id: String,
        #[arg(long)]
        storage_class: Option<String>,
    },
}

#[derive(Args, Debug, Default)]
pub struct ZoneFields {
    /// Comma-separated endpoints of the zone's gateways
    #[arg(long)]
    pub endpoints: Option<String>,
    /// The zonegroup's master zone (`--master=false` to unset)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub master: Option<bool>,
    /// Make it this data directory's default zone (the one `meridian server` serves)
    #[arg(long)]
    pub default: bool,
    /// The zone's system key (inter-zone requests); generated when creating without one
    #[arg(long)]
    pub access_key: Option<String>,
    #[arg(long, alias = "secret-key")]
    pub secret: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub read_only: Option<bool>,
    #[arg(long)]
    pub rgw_realm: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ZoneCmd {
    /// Create a zone in a zonegroup
    Create {
        #[arg(long)]
        rgw_zonegroup: String,
        #[arg(long)]
        rgw_zone: String,
        #[command(flatten)]
        fields: ZoneFields,
    },
    /// Change a zone's endpoints, master flag, system key, or zonegroup (--rgw-zonegroup)
    Modify {
        #[arg(long)]
        rgw_zone: Option<String>,
        #[arg(long)]
        rgw_zonegroup: Option<String>,
        #[command(flatten)]
        fields: ZoneFields,
    },
    /// Show a zone's parameters (this data directory's zone without --rgw-zone)
    Get {
        #[arg(long)]
        rgw_zone: Option<String>,
    },
    /// List zones
    List,
    /// Rename a zone (its id never changes)
    Rename {
        #[arg(long)]
        rgw_zone: String,
        #[arg(long)]
        zone_new_name: String,
    },
    /// Delete a zone
    Delete {
        #[arg(long)]
        rgw_zone: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PeriodCmd {
    /// Show a period (the current one without --period)
    Get {
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        epoch: Option<u64>,
    },
    /// List period ids
    List,
    /// Build the staging period from the zonegroups; --commit makes it current (on the master, or sent there)
    Update {
        #[arg(long)]
        commit: bool,
        #[arg(long)]
        rgw_realm: Option<String>,
    },
    /// Fetch the current period from the master (or --url)
    Pull(PullArgs),
}

fn verb(method: Method, path: &str) -> AdminRequest {
    AdminRequest::new(method, &format!("config/{path}"))
}

fn pull(req: AdminRequest, args: PullArgs) -> AdminRequest {
    req.opt("url", args.url)
        .opt("access-key", args.access_key)
        .opt("secret", args.secret)
}

fn bool_opt(v: Option<bool>) -> Option<String> {
    v.map(|b| b.to_string())
}

pub fn realm_request(cmd: RealmCmd) -> AdminRequest {
    match cmd {
        RealmCmd::Create { rgw_realm, default } => verb(Method::POST, "realm/create")
            .param("rgw-realm", rgw_realm)
            .flag("default", default),
        RealmCmd::Get { rgw_realm } => verb(Method::GET, "realm/get").opt("rgw-realm", rgw_realm),
        RealmCmd::List => verb(Method::GET, "realm/list"),
        RealmCmd::Rename {
            rgw_realm,
            realm_new_name,
        } => verb(Method::POST, "realm/rename")
            .param("rgw-realm", rgw_realm)
            .param("realm-new-name", realm_new_name),
        RealmCmd::Delete { rgw_realm } => verb(Method::POST, "realm/delete").param("rgw-realm", rgw_realm),
        RealmCmd::Default { rgw_realm } => verb(Method::POST, "realm/default").param("rgw-realm", rgw_realm),
        RealmCmd::Pull(args) => pull(verb(Method::POST, "realm/pull"), args),
    }
}

fn zonegroup_fields(req: AdminRequest, f: ZonegroupFields) -> AdminRequest {
    req.opt("endpoints", f.endpoints)
        .opt("hostnames", f.hostnames)
        .opt("api-name", f.api_name)
        .opt("master", bool_opt(f.master))
        .flag("default", f.default)
        .opt("rgw-realm", f.rgw_realm)
}

pub fn zonegroup_request(cmd: ZonegroupCmd) -> AdminRequest {
    match cmd {
        ZonegroupCmd::Create { rgw_zonegroup, fields } => zonegroup_fields(
            verb(Method::POST, "zonegroup/create").param("rgw-zonegroup", rgw_zonegroup),
            fields,
        ),
        ZonegroupCmd::Modify { rgw_zonegroup, fields } => zonegroup_fields(
            verb(Method::POST, "zonegroup/modify").opt("rgw-zonegroup", rgw_zonegroup),
            fields,
        ),
        ZonegroupCmd::Get { rgw_zonegroup } => verb(Method::GET, "zonegroup/get").opt("rgw-zonegroup", rgw_zonegroup),
        ZonegroupCmd::List => verb(Method::GET, "zonegroup/list"),
        ZonegroupCmd::Rename {
            rgw_zonegroup,
            zonegroup_new_name,
        } => verb(Method::POST, "zonegroup/rename")
            .param("rgw-zonegroup", rgw_zonegroup)
            .param("zonegroup-new-name", zonegroup_new_name),
        ZonegroupCmd::Delete { rgw_zonegroup } => {
            verb(Method::POST, "zonegroup/delete").param("rgw-zonegroup", rgw_zonegroup)
        }
        ZonegroupCmd::Placement(PlacementCmd::Add {
            rgw_zonegroup,
            placement_id,
            storage_class,
        }) => verb(Method::POST, "zonegroup/placement-add")
            .opt("rgw-zonegroup", rgw_zonegroup)
            .param("placement-id", placement_id)
            .opt("storage-class", storage_class),
    }
}

fn zone_fields(req: AdminRequest, f: ZoneFields) -> AdminRequest {
    req.opt("endpoints", f.endpoints)
        .opt("master", bool_opt(f.master))
        .flag("default", f.default)
        .opt("access-key", f.access_key)
        .opt("secret", f.secret)
        .opt("read-only", bool_opt(f.read_only))
        .opt("rgw-realm", f.rgw_realm)
}

pub fn zone_request(cmd: ZoneCmd) -> AdminRequest {
    match cmd {
        ZoneCmd::Create {
            rgw_zonegroup,
            rgw_zone,
            fields,
        } => zone_fields(
            verb(Method::POST, "zone/create")
                .param("rgw-zonegroup", rgw_zonegroup)
                .param("rgw-zone", rgw_zone),
            fields,
        ),
        ZoneCmd::Modify {
            rgw_zone,
            rgw_zonegroup,
            fields,
        } => zone_fields(
            verb(Method::POST, "zone/modify")
                .opt("rgw-zone", rgw_zone)
                .opt("rgw-zonegroup", rgw_zonegroup),
            fields,
        ),
        ZoneCmd::Get { rgw_zone } => verb(Method::GET, "zone/get").opt("rgw-zone", rgw_zone),
        ZoneCmd::List => verb(Method::GET, "zone/list"),
        ZoneCmd::Rename {
            rgw_zone,
            zone_new_name,
        } => verb(Method::POST, "zone/rename")
            .param("rgw-zone", rgw_zone)
            .param("zone-new-name", zone_new_name),
        ZoneCmd::Delete { rgw_zone } => verb(Method::POST, "zone/delete").param("rgw-zone", rgw_zone),
    }
}

pub fn period_request(cmd: PeriodCmd) -> AdminRequest {
    match cmd {
        PeriodCmd::Get { period, epoch } => verb(Method::GET, "period/get")
            .opt("period-id", period)
            .opt("epoch", epoch.map(|e| e.to_string())),
        PeriodCmd::List => verb(Method::GET, "period/list"),
        PeriodCmd::Update { commit, rgw_realm } => verb(Method::POST, "period/update")
            .flag("commit", commit)
            .opt("rgw-realm", rgw_realm),
        PeriodCmd::Pull(args) => pull(verb(Method::POST, "period/pull"), args),
    }
}
