//! The HTML of every page (maud templates): the layout with its embedded stylesheet and script, login,
//! overview, buckets, object browser, users and charts. Rendering only; the data comes from `web`.

use crate::realm::{BucketStat, SourceState, SyncState, Topology, ZoneSync};
use crate::s3::Listing;
use crate::session::Session;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::collections::BTreeMap;

const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Query-string encoding for links.
pub fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " — Meridian" }
            style { (PreEscaped(STYLE)) }
        }
    }
}

/// A page of the logged-in dashboard: navigation, flash message, content, script.
pub fn layout(session: &Session, active: &str, title: &str, flash: Option<&Flash>, content: Markup) -> Markup {
    let nav = [
        ("overview", "/", "Overview"),
        ("buckets", "/buckets", "Buckets"),
        ("users", "/users", "Users"),
        ("charts", "/charts", "Charts"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body data-page=(active) {
                meta name="csrf-token" content=(session.csrf);
                header.top {
                    span.brand { "Meridian" }
                    nav {
                        @for (id, href, label) in nav {
                            @if id != "users" || session.admin {
                                a href=(href) class=(if id == active { "active" } else { "" }) { (label) }
                            }
                        }
                    }
                    span.who {
                        (session.uid)
                        @if session.admin { " (admin)" }
                    }
                    form.inline method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" id="logout" { "Log out" }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(f) = flash {
                        div class=(if f.error { "flash error" } else { "flash ok" }) id="flash" { (f.text) }
                    }
                    (content)
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

pub struct Flash {
    pub text: String,
    pub error: bool,
}

pub fn login(error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("Log in"))
            body.login {
                form.login method="post" action="/login" {
                    h1 { "Meridian" }
                    p.muted { "Log in with an S3 access key and its secret." }
                    @if let Some(e) = error {
                        div.flash.error id="login-error" { (e) }
                    }
                    label { "Access key" input type="text" name="access_key" id="access_key" autocomplete="username" required; }
                    label { "Secret key" input type="password" name="secret_key" id="secret_key" autocomplete="current-password" required; }
                    button type="submit" id="login" { "Log in" }
                }
            }
        }
    }
}

fn state_badge(state: SyncState) -> Markup {
    let class = match state {
        SyncState::CaughtUp => "badge ok",
        SyncState::Behind => "badge warn",
        SyncState::Unreachable => "badge bad",
    };
    html! { span class=(class) { (state.label()) } }
}

/// The live part of the overview (refreshed every few seconds by the page's script).
pub fn overview_live(t: &Topology, sync: &BTreeMap<String, ZoneSync>, home_zone: &str) -> Markup {
    html! {
        dl.facts {
            dt { "Realm" } dd { (t.realm.as_deref().unwrap_or("(none: a single zone)")) }
            dt { "Period" } dd { code { (t.period_id.as_deref().unwrap_or("-")) } " epoch " (t.epoch) }
            dt { "Metadata master" } dd #meta-master { (t.zone_name(&t.master_zone)) }
        }
        @for zg in &t.zonegroups {
            section.zonegroup {
                h2 {
                    "Zonegroup " (zg.name)
                    @if zg.is_master { " " span.badge { "master zonegroup" } }
                }
                p.muted { "api_name " code { (zg.api_name) } " · endpoints " (zg.endpoints.join(", ")) }
                table.zones {
                    thead { tr { th { "Zone" } th { "Endpoints" } th { "Role" } th { "Replication (source: state, lag, entries)" } } }
                    tbody {
                        @for z in &zg.zones {
                            tr id=(format!("zone-{}", z.name)) {
                                td { b { (z.name) } @if z.id == home_zone { " " span.badge { "this dashboard" } } }
                                td { @for e in &z.endpoints { a href=(e) { (e) } br; } }
                                td {
                                    @if t.master_zone == z.id { "metadata master" br; }
                                    @if z.zonegroup_master { "zonegroup master" }
                                }
                                td { (sync_cell(sync.get(&z.name))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn sync_cell(s: Option<&ZoneSync>) -> Markup {
    html! {
        @match s {
            None => span.muted { "(waiting for the first sample)" },
            Some(Err(e)) => { span.badge.bad { "unreachable" } " " span.muted { (e) } },
            Some(Ok(sources)) if sources.is_empty() => span.muted { "no sources (nothing to replicate from)" },
            Some(Ok(sources)) => ul.sync {
                @for s in sources { li { (source_line(s)) } }
            },
        }
    }
}

fn source_line(s: &SourceState) -> Markup {
    html! {
        (s.log) " from " b { (s.source) } ": " (state_badge(s.state))
        @if s.state != SyncState::Unreachable {
            " lag " (format!("{:.1}", s.lag_secs)) " s, " (s.behind_entries) " entries behind"
        }
    }
}

pub fn overview(live: Markup) -> Markup {
    html! {
        div #live data-live="/live/overview" data-every="3000" { (live) }
    }
}

/// One zonegroup's bucket table, or why it could not be listed.
pub struct ZonegroupBuckets {
    pub name: String,
    pub api_name: String,
    pub listed_at: String,
    pub buckets: Result<Vec<BucketStat>, String>,
}

pub fn buckets(csrf: &str, groups: &[ZonegroupBuckets]) -> Markup {
    html! {
        section {
            h2 { "Create a bucket" }
            form.row method="post" action="/buckets/create" id="create-bucket" {
                input type="hidden" name="csrf" value=(csrf);
                input type="text" name="name" id="bucket-name" placeholder="bucket name" required pattern="[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]";
                select name="zonegroup" id="bucket-zonegroup" {
                    @for g in groups { option value=(g.api_name) { (g.name) } }
                }
                button type="submit" id="create-bucket-submit" { "Create" }
            }
        }
        @for g in groups {
            section.zonegroup {
                h2 { "Zonegroup " (g.name) }
                p.muted { "statistics from " (g.listed_at) }
                @match &g.buckets {
                    Err(e) => div.flash.error { "cannot list: " (e) },
                    Ok(list) if list.is_empty() => p.muted { "no buckets" },
                    Ok(list) => table.buckets {
                        thead { tr { th { "Bucket" } th { "Owner" } th.num { "Objects" } th.num { "Bytes" } th { "Created" } th {} } }
                        tbody {
                            @for b in list {
                                tr data-bucket=(b.name) {
                                    td { a href=(format!("/browse?bucket={}", q(&b.name))) { (b.name) } }
                                    td { (b.owner) }
                                    td.num { (b.objects) }
                                    td.num title=(format!("{} bytes", b.bytes)) { (human_bytes(b.bytes)) }
                                    td { (b.created) }
                                    td {
                                        form.inline method="post" action="/buckets/delete" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="name" value=(b.name);
                                            input type="hidden" name="zonegroup" value=(g.api_name);
                                            button.danger type="submit" { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    },
                }
            }
        }
    }
}

pub struct BrowseView<'a> {
    pub csrf: &'a str,
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub zonegroup: &'a str,
    pub zone_id: &'a str,
    /// (zone id, zone name) of every zone of the bucket's zonegroup.
    pub zones: Vec<(String, String)>,
    pub listing: Result<Listing, String>,
    pub token: Option<&'a str>,
}

pub fn browse(v: &BrowseView<'_>) -> Markup {
    let zq = q(v.zone_id);
    let bq = q(v.bucket);
    let link = |prefix: &str| format!("/browse?bucket={bq}&zone={zq}&prefix={}", q(prefix));
    let mut crumbs = vec![(v.bucket.to_string(), String::new())];
    let mut acc = String::new();
    for part in v.prefix.split('/').filter(|p| !p.is_empty()) {
        acc.push_str(part);
        acc.push('/');
        crumbs.push((part.to_string(), acc.clone()));
    }
    html! {
        p.muted {
            "Zonegroup " b { (v.zonegroup) } " · view from zone: "
            @for (id, name) in &v.zones {
                @if id == v.zone_id {
                    b.zone-tab.active { (name) } " "
                } @else {
                    a.zone-tab href=(format!("/browse?bucket={bq}&zone={}&prefix={}", q(id), q(v.prefix))) data-zone=(name) { (name) } " "
                }
            }
        }
        nav.crumbs {
            @for (i, (label, prefix)) in crumbs.iter().enumerate() {
                @if i > 0 { " / " }
                a href=(link(prefix)) { (label) }
            }
        }
        section.upload {
            form #upload data-bucket=(v.bucket) data-zone=(v.zone_id) data-prefix=(v.prefix) {
                input type="file" id="upload-file" required;
                button type="submit" id="upload-submit" { "Upload" }
                progress #upload-progress max="100" value="0" {}
                span #upload-status.muted {}
            }
        }
        @match &v.listing {
            Err(e) => div.flash.error #listing-error { (e) },
            Ok(l) => {
                table.objects #objects {
                    thead { tr { th { "Name" } th.num { "Size" } th { "Last modified" } th { "ETag" } th {} } }
                    tbody {
                        @for p in &l.prefixes {
                            tr.folder { td colspan="5" { a href=(link(p)) { "📁 " (p.strip_prefix(v.prefix).unwrap_or(p)) } } }
                        }
                        @for o in &l.objects {
                            tr.object data-key=(o.key) {
                                td { a href=(format!("/object?bucket={bq}&zone={zq}&key={}", q(&o.key))) { (o.key.strip_prefix(v.prefix).unwrap_or(&o.key)) } }
                                td.num title=(format!("{} bytes", o.size)) { (human_bytes(o.size)) }
                                td { (o.last_modified) }
                                td { code { (o.etag.trim_matches('"')) } }
                                td.actions {
                                    a.download href=(format!("/download?bucket={bq}&zone={zq}&key={}", q(&o.key))) { "Download" }
                                    form.inline method="post" action="/object/delete" {
                                        input type="hidden" name="csrf" value=(v.csrf);
                                        input type="hidden" name="bucket" value=(v.bucket);
                                        input type="hidden" name="zone" value=(v.zone_id);
                                        input type="hidden" name="key" value=(o.key);
                                        input type="hidden" name="prefix" value=(v.prefix);
                                        button.danger type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                        @if l.prefixes.is_empty() && l.objects.is_empty() {
                            tr { td colspan="5" .muted { "empty" } }
                        }
                    }
                }
                @if let Some(t) = &l.next_token {
                    a href=(format!("{}&token={}", link(v.prefix), q(t))) { "next page →" }
                }
                @if v.token.is_some() {
                    " " a href=(link(v.prefix)) { "first page" }
                }
            }
        }
    }
}

pub fn object_info(bucket: &str, key: &str, zone: &str, headers: &[(String, String)]) -> Markup {
    html! {
        p { a href=(format!("/browse?bucket={}&zone={}&prefix={}", q(bucket), q(zone), q(key.rfind('/').map_or("", |i| &key[..=i])))) { "← back to the listing" } }
        table.meta #object-meta {
            tbody {
                tr { th { "Bucket" } td { (bucket) } }
                tr { th { "Key" } td { (key) } }
                @for (k, v) in headers { tr { th { (k) } td { (v) } } }
            }
        }
        p { a.download href=(format!("/download?bucket={}&zone={}&key={}", q(bucket), q(zone), q(key))) { "Download" } }
    }
}

pub struct UserRow {
    pub uid: String,
    pub display_name: String,
    pub email: String,
    pub suspended: bool,
    pub system: bool,
    pub keys: usize,
}

pub fn users(csrf: &str, rows: &[UserRow]) -> Markup {
    html! {
        section {
            h2 { "Create a user" }
            form.row method="post" action="/users/create" id="create-user" {
                input type="hidden" name="csrf" value=(csrf);
                input type="text" name="uid" placeholder="user id" required;
                input type="text" name="display_name" placeholder="display name" required;
                input type="email" name="email" placeholder="email (optional)";
                button type="submit" { "Create" }
            }
        }
        table.users #users {
            thead { tr { th { "User" } th { "Name" } th { "Email" } th { "State" } th.num { "Keys" } th {} } }
            tbody {
                @for u in rows {
                    tr data-uid=(u.uid) {
                        td { b { (u.uid) } @if u.system { " " span.badge { "system" } } }
                        td { (u.display_name) }
                        td { (u.email) }
                        td { @if u.suspended { span.badge.bad { "suspended" } } @else { span.badge.ok { "active" } } }
                        td.num { (u.keys) }
                        td.actions {
                            a href=(format!("/users/show?uid={}", q(&u.uid))) { "Show keys" }
                            form.inline method="post" action="/users/suspend" {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="uid" value=(u.uid);
                                input type="hidden" name="suspended" value=(if u.suspended { "false" } else { "true" });
                                button type="submit" class=(if u.suspended { "" } else { "danger" }) {
                                    @if u.suspended { "Enable" } @else { "Suspend" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn user_keys(uid: &str, keys: &[(String, String)]) -> Markup {
    html! {
        p { a href="/users" { "← all users" } }
        p { "S3 keys of " b { (uid) } ":" }
        table #keys {
            thead { tr { th { "Access key" } th { "Secret key" } } }
            tbody {
                @for (a, s) in keys { tr { td { code { (a) } } td { code { (s) } } } }
            }
        }
    }
}

pub fn charts(live: Markup) -> Markup {
    html! {
        p.muted { "Sampled every few seconds by this dashboard from each zone's /metrics and sync status; the last minutes are kept in memory." }
        div #live data-live="/live/charts" data-every="5000" { (live) }
    }
}

pub fn error_page(session: &Session, title: &str, message: &str) -> Markup {
    layout(
        session,
        "",
        title,
        Some(&Flash {
            text: message.to_string(),
            error: true,
        }),
        html! { p { a href="/" { "back to the overview" } } },
    )
}
