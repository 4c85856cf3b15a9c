//! `meridian sync status` and `meridian bucket sync status`: ask the zone for its replication state
//! (`GET /admin/sync/status`, `GET /admin/sync/bucket`) and print it as radosgw-admin does, or as the raw JSON;
//! `sync status --watch` polls until every source zone is caught up, with progress bars on a terminal.

use super::request;
use anyhow::{anyhow, bail, Context};
use http::Method;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use meridian_admin::AdminRequest;
use meridian_bench::units::{format_bytes, format_duration};
use meridian_peer::proto::sync_status::{BucketSyncStatus, SourceStatus, SyncStatus};
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

/// How a status is printed.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// radosgw-admin's layout
    #[default]
    Text,
    /// The admin API's JSON document
    Json,
}

#[derive(clap::Subcommand, Debug)]
pub enum SyncCmd {
    /// Replication state of this zone: metadata sync from the master, data sync from every other zone
    Status(StatusArgs),
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Poll until every source is caught up (progress bars on a terminal, one line per poll otherwise)
    #[arg(long)]
    pub watch: bool,
    /// Milliseconds between two polls of --watch
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    pub interval_ms: u64,
    /// With --watch: give up (exit 1) if not caught up after this many seconds
    #[arg(long)]
    pub timeout_secs: Option<u64>,
}

#[derive(clap::Subcommand, Debug)]
pub enum BucketSyncCmd {
    /// Replication state of one bucket, per source zone
    Status {
        #[arg(long)]
        bucket: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

pub fn status_request() -> AdminRequest {
    AdminRequest::new(Method::GET, "sync/status")
}

pub fn bucket_status_request(bucket: &str) -> AdminRequest {
    AdminRequest::new(Method::GET, "sync/bucket").param("bucket", bucket)
}

/// "130 changes in 2 buckets" (data) or "12 changes" (metadata); "at least" when the counts are lower bounds.
/// `None` when the document has no counts (an older server).
fn counts(s: &SourceStatus) -> Option<String> {
    let changes = s.changes_behind?;
    let least = if s.counts_exact { "" } else { "at least " };
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    Some(match s.behind_buckets {
        Some(b) => format!(
            "{least}{} in {}",
            plural(changes, "change", "changes"),
            plural(b, "bucket", "buckets")
        ),
        None => format!("{least}{}", plural(changes, "change", "changes")),
    })
}

/// "ETA 12.0 s at 40.5 changes/s", or why there is none.
fn eta(s: &SourceStatus) -> Option<String> {
    let rate = s.apply_rate?;
    Some(match s.eta_secs {
        Some(eta) => format!("ETA {} at {rate:.1} changes/s", secs(eta)),
        None => "ETA unknown (nothing applied in the last 10 s)".to_string(),
    })
}

fn parse<T: for<'de> Deserialize<'de>>(value: &Value, what: &str) -> anyhow::Result<T> {
    T::deserialize(value).with_context(|| {
        format!("the server answered a {what} document this version cannot read (see it with --format json)")
    })
}

fn secs(s: f64) -> String {
    format!("{s:.1} s")
}

fn ids(list: &[u64]) -> String {
    let parts: Vec<String> = list.iter().map(u64::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// The facts of one source, one line each (without indentation). `what` is "metadata" or "data", `upstream`
/// what it is caught up with ("master", "source").
pub fn source_lines(s: &SourceStatus, what: &str, upstream: &str) -> Vec<String> {
    let mut lines = Vec::new();
    if !s.reachable {
        lines.push(format!(
            "source is unreachable: {} (the lines below are this zone's own state)",
            s.last_error.as_deref().unwrap_or("no answer")
        ));
    }
    if !s.phase.is_empty() {
        lines.push(format!("phase: {}", s.phase));
    }
    if let Some(total) = s.shards.total {
        lines.push(format!("full sync: {}/{total} shards", s.shards.full.unwrap_or(0)));
        lines.push(format!(
            "incremental sync: {}/{total} shards",
            s.shards.incremental.unwrap_or(0)
        ));
    }
    if let Some(f) = s.full_progress() {
        lines.push(format!(
            "full sync progress: {}/{} items, {}",
            f.items_done,
            f.items_total,
            format_bytes(f.bytes_done)
        ));
    }
    if let Some(n) = s.pending_buckets {
        lines.push(format!("pending buckets: {n}"));
    }
    if s.caught_up {
        lines.push(format!("{what} is caught up with {upstream}"));
    } else {
        let mut line = match (counts(s), s.behind_entries) {
            (Some(counts), _) => format!("{what} is behind by {counts}"),
            (None, Some(n)) if n > 0 => format!("{what} is behind by {n} entries"),
            _ => format!("{what} is not caught up with {upstream}"),
        };
        if let Some(age) = s.oldest_change_age_secs {
            let _ = write!(line, ", oldest change {} ago", secs(age));
        }
        if let Some(eta) = eta(s).filter(|_| s.reachable) {
            let _ = write!(line, ", {eta}");
        }
        if s.in_full_sync() {
            line.push_str(" (full sync in progress)");
        }
        lines.push(line);
    }
    if !s.shards.behind.is_empty() {
        lines.push(format!("behind shards: {}", ids(&s.shards.behind)));
    }
    if !s.stalled_shards.is_empty() {
        lines.push(format!(
            "stalled shards: {} (no progress for over 30 s)",
            ids(&s.stalled_shards)
        ));
    }
    for e in s.set_aside_entries.iter().flatten() {
        lines.push(format!(
            "set aside: {} (not applied, retried; {} attempt{}): {}",
            e.key,
            e.attempts,
            if e.attempts == 1 { "" } else { "s" },
            e.error
        ));
    }
    fallback_lines(s, &mut lines);
    let errors = s.errors.unwrap_or(0);
    match (&s.last_error, s.reachable) {
        // An unreachable source's error is already on the first line.
        (Some(_), false) if errors > 0 => lines.push(format!("errors: {errors}")),
        (Some(e), true) => {
            let age = s
                .last_error_age_secs
                .map(|a| format!(" ({} ago)", secs(a)))
                .unwrap_or_default();
            lines.push(format!("errors: {errors}, last error{age}: {e}"));
        }
        (None, _) if errors > 0 => lines.push(format!("errors: {errors}")),
        _ => {}
    }
    lines
}

/// Fallbacks listed one a line (as many as the sync agent keeps per source); more are only counted.
const FALLBACKS_SHOWN: usize = 20;

/// The shards and buckets that fell back to full sync because the source had trimmed its log past this
/// zone's position (a zone restored from a backup): a count, then the newest few.
fn fallback_lines(s: &SourceStatus, lines: &mut Vec<String>) {
    let all = &s.full_sync_fallbacks;
    if all.is_empty() {
        return;
    }
    lines.push(format!(
        "full sync fallbacks: {} (the source trimmed its log past this zone's position)",
        all.len()
    ));
    for f in all.iter().rev().take(FALLBACKS_SHOWN) {
        lines.push(format!(
            "  {}: position {} behind the trimmed {}, synced in full again (at {})",
            f.what,
            if f.marker.is_empty() { "(start)" } else { &f.marker },
            f.trimmed,
            f.at
        ));
    }
    if all.len() > FALLBACKS_SHOWN {
        lines.push(format!(
            "  and {} older (--format json lists them)",
            all.len() - FALLBACKS_SHOWN
        ));
    }
}

/// `label` right-aligned in 15 columns, then the first line; the others under it.
fn section(out: &mut String, label: &str, lines: &[String]) {
    let indent = " ".repeat(16);
    match lines.split_first() {
        Some((first, rest)) => {
            let _ = writeln!(out, "{label:>15} {first}");
            for line in rest {
                let _ = writeln!(out, "{indent}{line}");
            }
        }
        None => {
            let _ = writeln!(out, "{label:>15}");
        }
    }
}

/// The text of `meridian sync status`.
pub fn render_status(st: &SyncStatus) -> String {
    let mut out = String::new();
    section(&mut out, "realm", &[st.realm.clone().unwrap_or_default().label()]);
    section(&mut out, "zonegroup", &[st.zonegroup.label()]);
    section(&mut out, "zone", &[st.zone.label()]);
    match (&st.metadata.source, st.metadata.role.as_str()) {
        (_, "master") => section(&mut out, "metadata sync", &["no sync (zone is master)".to_string()]),
        (Some(src), _) => {
            let mut lines = vec![format!("source: {}", src.source_zone.label())];
            lines.extend(source_lines(src, "metadata", "master"));
            section(&mut out, "metadata sync", &lines);
        }
        (None, _) => section(
            &mut out,
            "metadata sync",
            &["unknown (no source in the status)".to_string()],
        ),
    }
    if st.data.is_empty() {
        section(&mut out, "data sync", &["no source zones".to_string()]);
    }
    for src in &st.data {
        let head = format!("      data sync source: {}", src.source_zone.label());
        let _ = writeln!(out, "{head}");
        let indent = " ".repeat(24);
        for line in source_lines(src, "data", "source") {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
    out
}

/// The text of `meridian bucket sync status`.
pub fn render_bucket(st: &BucketSyncStatus) -> String {
    let mut out = String::new();
    let id = if st.bucket_id.is_empty() {
        String::new()
    } else {
        format!(" ({})", st.bucket_id)
    };
    let _ = writeln!(out, "bucket {}{id}", st.bucket);
    if st.sources.is_empty() {
        let _ = writeln!(out, "  no source zones");
    }
    let dash = |v: &Option<String>| v.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "-".to_string());
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    for (i, s) in st.sources.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let behind = s
            .behind_entries
            .map(|n| format!("{n} entries"))
            .unwrap_or_else(|| "-".to_string());
        let rows = [
            ("source zone", s.source_zone.label()),
            (
                "phase",
                if s.phase.is_empty() {
                    "-".to_string()
                } else {
                    s.phase.clone()
                },
            ),
            ("marker", dash(&s.marker)),
            ("source head", dash(&s.source_head)),
            ("behind", behind),
            ("pending", yes_no(s.pending).to_string()),
            ("caught up", yes_no(s.caught_up).to_string()),
            ("last error", s.last_error.clone().unwrap_or_else(|| "none".to_string())),
        ];
        for (label, value) in rows {
            let _ = writeln!(out, "  {label:>11}: {value}");
        }
    }
    out
}

fn print(text: &str) {
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = write!(std::io::stdout(), "{text}");
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    print(&format!("{}\n", serde_json::to_string_pretty(value)?));
    Ok(())
}

/// `meridian sync status`.
pub async fn run(data_dir: &Path, cmd: SyncCmd) -> anyhow::Result<()> {
    match cmd {
        SyncCmd::Status(args) if args.watch => watch(data_dir, &args).await,
        SyncCmd::Status(args) => {
            if args.timeout_secs.is_some() {
                bail!("--timeout-secs goes with --watch");
            }
            let value = request(data_dir, status_request()).await?;
            print_status(&value, args.format)
        }
    }
}

fn print_status(value: &Value, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(value),
        Format::Text => {
            print(&render_status(&parse(value, "sync status")?));
            Ok(())
        }
    }
}

/// `meridian bucket sync status`.
pub async fn bucket(data_dir: &Path, cmd: BucketSyncCmd) -> anyhow::Result<()> {
    let BucketSyncCmd::Status { bucket, format } = cmd;
    let value = request(data_dir, bucket_status_request(&bucket)).await?;
    match format {
        Format::Json => print_json(&value),
        Format::Text => {
            print(&render_bucket(&parse(&value, "bucket sync status")?));
            Ok(())
        }
    }
}

/// Every source of a status, labelled "metadata us-east" / "data us-east".
fn sources(st: &SyncStatus) -> Vec<(String, &SourceStatus)> {
    let mut out = Vec::new();
    if let Some(src) = &st.metadata.source {
        out.push((format!("metadata {}", src.source_zone.short()), src));
    }
    for src in &st.data {
        out.push((format!("data {}", src.source_zone.short()), src));
    }
    out
}

/// One source in a few words: "caught up", "full sync 900/1000 items (3.5 MiB)", "12 entries behind".
pub fn summary(s: &SourceStatus) -> String {
    if !s.reachable {
        return format!("unreachable: {}", s.last_error.as_deref().unwrap_or("no answer"));
    }
    if s.caught_up {
        return "caught up".to_string();
    }
    let mut text = match s.full_progress() {
        Some(f) => format!(
            "full sync {}/{} items ({})",
            f.items_done,
            f.items_total,
            format_bytes(f.bytes_done)
        ),
        None if s.in_full_sync() => format!("{} sync", s.phase),
        None => match (counts(s), s.behind_entries) {
            (Some(counts), _) => format!("{counts} behind"),
            (None, Some(n)) => format!("{n} entries behind"),
            (None, None) => "not caught up".to_string(),
        },
    };
    if let Some(age) = s.oldest_change_age_secs {
        let _ = write!(text, ", oldest {} ago", secs(age));
    }
    if let Some(eta) = s.eta_secs {
        let _ = write!(text, ", ETA {}", secs(eta));
    }
    if let Some(n) = s.pending_buckets.filter(|n| *n > 0) {
        let _ = write!(text, ", {n} pending buckets");
    }
    if !s.stalled_shards.is_empty() {
        let _ = write!(text, ", stalled shards {}", ids(&s.stalled_shards));
    }
    text
}

/// "metadata us-east: caught up | data us-east: 12 entries behind".
pub fn poll_line(st: &SyncStatus) -> String {
    let parts: Vec<String> = sources(st)
        .into_iter()
        .map(|(label, s)| format!("{label}: {}", summary(s)))
        .collect();
    if parts.is_empty() {
        "no source zones".to_string()
    } else {
        parts.join(" | ")
    }
}

/// The sources not caught up yet, for the timeout message.
pub fn behind(st: &SyncStatus) -> Vec<String> {
    sources(st)
        .into_iter()
        .filter(|(_, s)| !s.done())
        .map(|(label, s)| format!("{label} ({})", summary(s)))
        .collect()
}

/// The progress bars of `--watch` on a terminal: one per source.
struct Bars {
    multi: MultiProgress,
    bars: Vec<(String, ProgressBar, u64)>,
}

impl Bars {
    fn new() -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            bars: Vec::new(),
        }
    }

    fn update(&mut self, st: &SyncStatus) {
        let style = ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        for (label, s) in sources(st) {
            let index = match self.bars.iter().position(|(l, _, _)| *l == label) {
                Some(i) => i,
                None => {
                    let bar = self.multi.add(ProgressBar::new(1));
                    bar.set_style(style.clone());
                    bar.set_prefix(label.clone());
                    self.bars.push((label.clone(), bar, 0));
                    self.bars.len() - 1
                }
            };
            let (_, bar, most_behind) = &mut self.bars[index];
            let full = s.full_progress();
            if s.done() {
                let len = bar.length().unwrap_or(1).max(1);
                bar.set_position(len);
                bar.set_message("caught up");
            } else if let (Some(f), true) = (full, s.reachable) {
                bar.set_length(f.items_total.max(1));
                bar.set_position(f.items_done);
                bar.set_message(format!("items, {}", format_bytes(f.bytes_done)));
            } else {
                // Incremental: the bar fills as the entries still to apply go down from the most seen.
                let left = s.changes_behind.or(s.behind_entries).unwrap_or(0);
                *most_behind = (*most_behind).max(left).max(1);
                bar.set_length(*most_behind);
                bar.set_position(*most_behind - left.min(*most_behind));
                bar.set_message(summary(s));
            }
        }
    }

    fn note(&self, text: &str) {
        let _ = self.multi.println(text);
    }

    fn finish(self) {
        for (_, bar, _) in &self.bars {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

/// `sync status --watch`: polls until every source is caught up (then prints the status and succeeds) or until
/// `--timeout-secs` has passed (then fails naming the sources still behind). A failed poll after the first is
/// reported and retried.
async fn watch(data_dir: &Path, args: &StatusArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let deadline = args.timeout_secs.map(|s| start + Duration::from_secs(s));
    let interval = Duration::from_millis(args.interval_ms);
    let mut bars = std::io::stdout().is_terminal().then(Bars::new);
    let mut last: Option<(Value, SyncStatus)> = None;
    let outcome = loop {
        match request(data_dir, status_request()).await {
            Ok(value) => {
                let st: SyncStatus = match parse(&value, "sync status") {
                    Ok(st) => st,
                    Err(e) => break Err(e),
                };
                match bars.as_mut() {
                    Some(b) => b.update(&st),
                    None => print(&format!("[{}] {}\n", format_duration(start.elapsed()), poll_line(&st))),
                }
                let caught_up = sources(&st).iter().all(|(_, s)| s.done());
                last = Some((value, st));
                if caught_up {
                    break Ok(());
                }
            }
            Err(e) if last.is_none() => break Err(e),
            Err(e) => {
                let text = format!("[{}] poll failed: {e:#}", format_duration(start.elapsed()));
                match &bars {
                    Some(b) => b.note(&text),
                    None => print(&format!("{text}\n")),
                }
            }
        }
        if let Some(deadline) = deadline {
            if Instant::now() >= deadline {
                let behind = last.as_ref().map(|(_, st)| behind(st)).unwrap_or_default();
                break Err(anyhow!(
                    "sync is not caught up after {} s; behind: {}",
                    args.timeout_secs.unwrap_or(0),
                    if behind.is_empty() {
                        "unknown (the last polls failed)".to_string()
                    } else {
                        behind.join("; ")
                    }
                ));
            }
            tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
        } else {
            tokio::time::sleep(interval).await;
        }
    };
    if let Some(b) = bars {
        b.finish();
    }
    if let Some((value, _)) = &last {
        print_status(value, args.format)?;
    }
    if outcome.is_ok() {
        print(&format!("caught up after {}\n", format_duration(start.elapsed())));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secondary() -> Value {
        json!({
            "realm": {"id": "r-1", "name": "gold"},
            "zonegroup": {"id": "zg-1", "name": "us"},
            "zone": {"id": "z-west", "name": "us-west"},
            "metadata": {
                "role": "secondary",
                "source": {
                    "source_zone": {"id": "z-east", "name": "us-east"},
                    "reachable": true,
                    "phase": "incremental",
                    "caught_up": true,
                    "behind_entries": 0,
                    "oldest_change_age_secs": null,
                    "shards": {"total": 64, "full": 0, "incremental": 64, "behind": []},
                    "stalled_shards": [],
                    "full_sync": {"items_done": 4, "items_total": 10, "bytes_done": 0},
                    "errors": 0,
                    "last_error": null,
                    "last_error_age_secs": null
                }
            },
            "data": [
                {
                    "source_zone": {"id": "z-east", "name": "us-east"},
                    "reachable": true,
                    "phase": "incremental",
                    "caught_up": false,
                    "behind_entries": 12,
                    "pending_buckets": 3,
                    "oldest_change_age_secs": 4.2,
                    "shards": {"total": 128, "full": 0, "incremental": 128, "behind": [5, 17]},
                    "stalled_shards": [17],
                    "full_sync": {"items_done": 1000, "items_total": 1000, "bytes_done": 4096000},
                    "errors": 2,
                    "last_error": "fetch photos/a.jpg from us-east: connection reset",
                    "last_error_age_secs": 10.5
                },
                {
                    "source_zone": {"id": "z-eu", "name": "eu-1"},
                    "reachable": false,
                    "phase": "full",
                    "caught_up": false,
                    "behind_entries": 0,
                    "pending_buckets": 1,
                    "oldest_change_age_secs": null,
                    "shards": {"total": 128, "full": 128, "incremental": 0, "behind": []},
                    "stalled_shards": [],
                    "full_sync": {"items_done": 900, "items_total": 1000, "bytes_done": 3686400},
                    "errors": 5,
                    "last_error": "cannot reach http://127.0.0.1:9: connection refused",
                    "last_error_age_secs": 1.0
                }
            ]
        })
    }

    fn status(v: &Value) -> SyncStatus {
        parse(v, "sync status").unwrap()
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().map(str::trim).collect()
    }

    #[test]
    fn secondary_zone_text() {
        let text = render_status(&status(&secondary()));
        let l = lines(&text);
        assert_eq!(l[0], "realm gold (r-1)", "{text}");
        assert_eq!(l[1], "zonegroup us (zg-1)", "{text}");
        assert_eq!(l[2], "zone us-west (z-west)", "{text}");
        assert!(text.contains("  metadata sync source: us-east (z-east)\n"), "{text}");
        for want in [
            "full sync: 0/64 shards",
            "incremental sync: 64/64 shards",
            "metadata is caught up with master",
            "data sync source: us-east (z-east)",
            "incremental sync: 128/128 shards",
            "pending buckets: 3",
            "data is behind by 12 entries, oldest change 4.2 s ago",
            "behind shards: [5, 17]",
            "stalled shards: [17] (no progress for over 30 s)",
            "errors: 2, last error (10.5 s ago): fetch photos/a.jpg from us-east: connection reset",
            "data sync source: eu-1 (z-eu)",
            "source is unreachable: cannot reach http://127.0.0.1:9: connection refused (the lines below are \
             this zone's own state)",
            "full sync progress: 900/1000 items, 3.5 MiB",
            "data is not caught up with source (full sync in progress)",
            "errors: 5",
        ] {
            assert!(l.contains(&want), "no line {want:?} in\n{text}");
        }
        // A finished full sync of a caught-up source is not shown.
        assert!(!text.contains("4/10 items"), "{text}");
        assert!(!text.contains("1000/1000 items"), "{text}");
        // Lines of a data source sit under its header.
        assert!(
            text.contains("\n                        pending buckets: 3\n"),
            "{text}"
        );
    }

    #[test]
    fn master_zone_text() {
        let v = json!({
            "realm": {"id": "r-1", "name": "gold"},
            "zonegroup": {"id": "zg-1", "name": "us"},
            "zone": {"id": "z-east", "name": "us-east"},
            "metadata": {"role": "master"},
            "data": [{
                "source_zone": {"id": "z-west", "name": "us-west"},
                "reachable": true, "phase": "incremental", "caught_up": true, "behind_entries": 0,
                "pending_buckets": 0, "oldest_change_age_secs": null,
                "shards": {"total": 128, "full": 0, "incremental": 128, "behind": []},
                "stalled_shards": [], "errors": 0, "last_error": null
            }]
        });
        let text = render_status(&status(&v));
        assert!(text.contains("  metadata sync no sync (zone is master)\n"), "{text}");
        assert!(lines(&text).contains(&"data is caught up with source"), "{text}");
        assert!(!text.contains("errors"), "{text}");
        assert_eq!(poll_line(&status(&v)), "data us-west: caught up");
        assert!(behind(&status(&v)).is_empty());

        // A zone outside any realm: null realm, null lists.
        let alone = json!({"realm": null, "zone": {"name": "solo", "id": null}, "metadata": {"role": "master"},
                           "data": null});
        let text = render_status(&status(&alone));
        assert!(text.contains("realm (unknown)\n"), "{text}");
        assert!(text.contains("zone solo\n"), "{text}");
        assert!(text.contains("data sync no source zones"), "{text}");
    }

    #[test]
    fn watch_summaries() {
        let st = status(&secondary());
        assert_eq!(
            poll_line(&st),
            "metadata us-east: caught up | data us-east: 12 entries behind, oldest 4.2 s ago, 3 pending buckets, \
             stalled shards [17] | data eu-1: unreachable: cannot reach http://127.0.0.1:9: connection refused"
        );
        let b = behind(&st);
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(b[0].starts_with("data us-east (12 entries behind"), "{b:?}");
        assert!(b[1].starts_with("data eu-1 (unreachable"), "{b:?}");

        let full: SourceStatus = serde_json::from_value(json!({
            "source_zone": {"name": "us-east"}, "phase": "full", "caught_up": false,
            "full_sync": {"items_done": 900, "items_total": 1000, "bytes_done": 3686400}
        }))
        .unwrap();
        assert!(full.reachable, "reachable unless the document says otherwise");
        let null: SourceStatus = serde_json::from_value(json!({"reachable": null, "shards": null})).unwrap();
        assert!(null.reachable && null.shards.behind.is_empty());
        assert_eq!(summary(&full), "full sync 900/1000 items (3.5 MiB)");
        let init: SourceStatus = serde_json::from_value(json!({"phase": "init"})).unwrap();
        assert_eq!(summary(&init), "init sync");
    }

    /// Issue 17: the zone level counts what is behind and gives an ETA from the current rate.
    #[test]
    fn counts_and_eta() {
        let mut v = secondary();
        let src = &mut v["data"][0];
        src["changes_behind"] = json!(130);
        src["behind_buckets"] = json!(2);
        src["counts_exact"] = json!(true);
        src["apply_rate"] = json!(65.0);
        src["eta_secs"] = json!(2.0);
        let st = status(&v);
        let text = render_status(&st);
        assert!(
            lines(&text).contains(
                &"data is behind by 130 changes in 2 buckets, oldest change 4.2 s ago, ETA 2.0 s at 65.0 changes/s"
            ),
            "{text}"
        );
        assert!(
            poll_line(&st).contains("data us-east: 130 changes in 2 buckets behind, oldest 4.2 s ago, ETA 2.0 s, 3"),
            "{}",
            poll_line(&st)
        );

        let src = &mut v["data"][0];
        src["counts_exact"] = json!(false);
        src["changes_behind"] = json!(1);
        src["behind_buckets"] = json!(1);
        src["apply_rate"] = json!(0.0);
        src["eta_secs"] = json!(null);
        let text = render_status(&status(&v));
        assert!(
            lines(&text).contains(
                &"data is behind by at least 1 change in 1 bucket, oldest change 4.2 s ago, ETA unknown (nothing \
                  applied in the last 10 s)"
            ),
            "{text}"
        );
    }

    #[test]
    fn bucket_text() {
        let v = json!({"bucket": "photos", "bucket_id": "b-1", "sources": [
            {"source_zone": {"id": "z-east", "name": "us-east"}, "phase": "incremental",
             "marker": "00000000000000000040", "source_head": "00000000000000000052", "behind_entries": 12,
             "pending": true, "caught_up": false, "last_error": "fetch photos/a.jpg: 503"},
            {"source_zone": {"id": "z-eu", "name": "eu-1"}, "phase": "none", "marker": null,
             "source_head": null, "behind_entries": 0, "pending": false, "caught_up": true, "last_error": null}
        ]});
        let text = render_bucket(&parse(&v, "bucket sync status").unwrap());
        let l = lines(&text);
        assert_eq!(l[0], "bucket photos (b-1)");
        for want in [
            "source zone: us-east (z-east)",
            "phase: incremental",
            "marker: 00000000000000000040",
            "source head: 00000000000000000052",
            "behind: 12 entries",
            "pending: yes",
            "caught up: no",
            "last error: fetch photos/a.jpg: 503",
            "source zone: eu-1 (z-eu)",
            "phase: none",
            "marker: -",
            "caught up: yes",
            "last error: none",
        ] {
            assert!(l.contains(&want), "no line {want:?} in\n{text}");
        }
        let empty = render_bucket(&parse(&json!({"bucket": "x", "sources": []}), "bucket sync status").unwrap());
        assert_eq!(empty, "bucket x\n  no source zones\n");
    }

    #[test]
    fn full_sync_fallbacks_are_shown() {
        let mut v = secondary();
        v["metadata"]["source"]["full_sync_fallbacks"] = json!([{
            "at": "2026-12-02T10:00:00Z", "log": "metadata", "what": "shard 3", "marker": "",
            "trimmed": "1_00000000000000000042"
        }]);
        let data: Vec<Value> = (0..22)
            .map(|i| {
                json!({"at": format!("2026-12-02T10:00:{i:02}Z"), "log": "data", "what": format!("bucket b{i}"),
                       "marker": format!("000{i:02}"), "trimmed": "00099"})
            })
            .collect();
        v["data"][0]["full_sync_fallbacks"] = Value::Array(data);
        let text = render_status(&status(&v));
        let l = lines(&text);
        let header = "full sync fallbacks: 1 (the source trimmed its log past this zone's position)";
        assert!(l.contains(&header), "{text}");
        assert!(
            l.contains(
                &"shard 3: position (start) behind the trimmed 1_00000000000000000042, synced in full again \
                  (at 2026-12-02T10:00:00Z)"
            ),
            "{text}"
        );
        assert!(
            l.contains(&"full sync fallbacks: 22 (the source trimmed its log past this zone's position)"),
            "{text}"
        );
        // The newest twenty, newest first, then a count of the rest.
        let shown: Vec<&str> = l.iter().copied().filter(|x| x.starts_with("bucket b")).collect();
        assert_eq!(shown.len(), 20, "{text}");
        assert!(
            shown[0].starts_with("bucket b21: position 00021 behind the trimmed 00099"),
            "{text}"
        );
        assert!(shown[19].starts_with("bucket b2:"), "{text}");
        assert!(l.contains(&"and 2 older (--format json lists them)"), "{text}");
        // Without fallbacks there is no such line.
        assert!(!render_status(&status(&secondary())).contains("fallback"));
    }

    #[test]
    fn unreadable_documents_are_named() {
        let err = parse::<SyncStatus>(&json!({"data": "nope"}), "sync status").unwrap_err();
        assert!(format!("{err:#}").contains("--format json"), "{err:#}");
    }
}
