//! `meridian bucket move`: move buckets to another zonegroup online (`POST /admin/bucket-move`, run on the
//! metadata master: the zone this command reaches forwards it there), follow a move (`status`, a progress bar
//! on a terminal: phase, objects and bytes copied of the total, rate, ETA), or cancel one before its cut-over.

use super::request;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use http::Method;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use meridian_admin::AdminRequest;
use meridian_bench::units::{format_bytes, format_duration};
use serde_json::Value;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MoveArgs {
    #[command(subcommand)]
    pub cmd: Option<MoveCmd>,
    /// The bucket(s) to move (repeatable, or comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub bucket: Vec<String>,
    /// Every bucket of this user
    #[arg(long)]
    pub all_of_user: Option<String>,
    /// The zonegroup to move to (name or id)
    #[arg(long)]
    pub zonegroup: Option<String>,
    /// Buckets copied at once (the others wait, queued)
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Follow the moves until they are done (a progress bar on a terminal)
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds
    #[arg(long)]
    pub timeout_secs: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum MoveCmd {
    /// Where a move is: phase, objects and bytes copied of the total, rate, ETA (every move without --bucket)
    Status {
        #[arg(long)]
        bucket: Option<String>,
        /// Refresh until the move is done (progress bar on a terminal, a line per poll otherwise)
        #[arg(long)]
        watch: bool,
        /// Print the JSON document even on a terminal
        #[arg(long)]
        json: bool,
        /// Milliseconds between polls with --watch
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
    /// Cancel a move before its cut-over: the bucket stays where it was, partial copies are reclaimed
    Cancel {
        #[arg(long)]
        bucket: String,
    },
}

pub fn status_request(bucket: Option<String>) -> AdminRequest {
    AdminRequest::new(Method::GET, "bucket-move").opt("bucket", bucket)
}

pub async fn run(data_dir: &Path, args: MoveArgs) -> anyhow::Result<()> {
    match args.cmd {
        Some(MoveCmd::Status {
            bucket,
            watch: true,
            interval_ms,
            ..
        }) => {
            let buckets = bucket.into_iter().collect::<Vec<_>>();
            follow(data_dir, &buckets, Duration::from_millis(interval_ms.max(50)), None).await
        }
        Some(MoveCmd::Status { bucket, json, .. }) => {
            let value = request(data_dir, status_request(bucket)).await?;
            if !json && std::io::stdout().is_terminal() {
                for doc in docs(&value) {
                    println!("{}", render(doc));
                }
                Ok(())
            } else {
                print_json(&value)
            }
        }
        Some(MoveCmd::Cancel { bucket }) => {
            let value = request(
                data_dir,
                AdminRequest::new(Method::POST, "bucket-move/cancel").param("bucket", bucket),
            )
            .await?;
            print_json(&value)
        }
        None => start(data_dir, args).await,
    }
}

async fn start(data_dir: &Path, args: MoveArgs) -> anyhow::Result<()> {
    let Some(zonegroup) = args.zonegroup.clone() else {
        bail!("--zonegroup is required: the zonegroup to move the bucket(s) to");
    };
    let mut buckets = args.bucket.clone();
    if let Some(uid) = &args.all_of_user {
        let listed = request(
            data_dir,
            AdminRequest::new(Method::GET, "bucket").param("uid", uid.clone()),
        )
        .await
        .with_context(|| format!("cannot list the buckets of user {uid}"))?;
        buckets.extend(
            listed
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
    }
    buckets.retain(|b| !b.is_empty());
    buckets.dedup();
    if buckets.is_empty() {
        bail!("no bucket to move: give --bucket (repeatable) or --all-of-user UID");
    }
    let mut started = Vec::new();
    for b in &buckets {
        let req = AdminRequest::new(Method::POST, "bucket-move")
            .param("bucket", b.clone())
            .param("zonegroup", zonegroup.clone())
            .param("concurrency", args.concurrency.max(1).to_string());
        started.push(request(data_dir, req).await.with_context(|| format!("bucket {b}"))?);
    }
    if args.wait {
        return follow(
            data_dir,
            &buckets,
            Duration::from_millis(500),
            args.timeout_secs.map(Duration::from_secs),
        )
        .await;
    }
    if started.len() == 1 {
        print_json(&started[0])
    } else {
        print_json(&Value::Array(started))
    }
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn docs(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

fn u(v: &Value, f: &str) -> u64 {
    v[f].as_u64().unwrap_or(0)
}

fn is_final(doc: &Value) -> bool {
    matches!(doc["phase"].as_str(), Some("done" | "cancelled"))
}

/// One line: `photos  copy  812/1000 objects  3.1 MiB/3.8 MiB  120 obj/s 480 KiB/s  ETA 2s`.
pub fn render(doc: &Value) -> String {
    let mut line = format!(
        "{}  {}  {}/{} objects  {}/{}  {:.0} obj/s {}/s",
        doc["bucket"].as_str().unwrap_or("?"),
        doc["phase"].as_str().unwrap_or("?"),
        u(doc, "objects_copied"),
        u(doc, "objects_total"),
        format_bytes(u(doc, "bytes_copied")),
        format_bytes(u(doc, "bytes_total")),
        doc["objects_per_sec"].as_f64().unwrap_or(0.0),
        format_bytes(doc["bytes_per_sec"].as_f64().unwrap_or(0.0) as u64),
    );
    if let Some(eta) = doc["eta_secs"].as_f64() {
        line.push_str(&format!("  ETA {}", format_duration(Duration::from_secs_f64(eta))));
    }
    if let Some(ms) = doc["cutover_ms"].as_u64() {
        line.push_str(&format!("  cut-over {ms} ms"));
    }
    if let Some(at) = doc["cleanup_after"].as_str().filter(|_| doc["phase"] == "cleanup") {
        line.push_str(&format!("  source reclaimed after {at}"));
    }
    if let Some(e) = doc["last_error"].as_str() {
        line.push_str(&format!("  (last error: {e})"));
    }
    line
}

/// Polls the moves of `buckets` (every move when empty) until all are done or cancelled.
async fn follow(
    data_dir: &Path,
    buckets: &[String],
    interval: Duration,
    timeout: Option<Duration>,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let terminal = std::io::stdout().is_terminal();
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
    let style = ProgressStyle::with_template("{prefix:>20} [{bar:30}] {percent:>3}% {msg}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let mut bars: HashMap<String, ProgressBar> = HashMap::new();
    loop {
        let mut all: Vec<Value> = Vec::new();
        if buckets.is_empty() {
            all.extend(
                docs(&request(data_dir, status_request(None)).await?)
                    .into_iter()
                    .cloned(),
            );
        } else {
            for b in buckets {
                all.push(request(data_dir, status_request(Some(b.clone()))).await?);
            }
        }
        for doc in &all {
            let name = doc["bucket"].as_str().unwrap_or("?").to_string();
            if terminal {
                let bar = bars.entry(name.clone()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(1));
                    bar.set_style(style.clone());
                    bar.set_prefix(name.clone());
                    bar
                });
                let (done, total) = if u(doc, "bytes_total") > 0 {
                    (u(doc, "bytes_copied"), u(doc, "bytes_total"))
                } else {
                    (u(doc, "objects_copied"), u(doc, "objects_total").max(1))
                };
                bar.set_length(total.max(1));
                bar.set_position(done.min(total));
                bar.set_message(
                    render(doc)
                        .split_once("  ")
                        .map(|(_, r)| r.to_string())
                        .unwrap_or_default(),
                );
            } else {
                println!("[{}] {}", format_duration(start.elapsed()), render(doc));
            }
        }
        if all.iter().all(is_final) {
            for bar in bars.values() {
                bar.finish();
            }
            return Ok(());
        }
        if timeout.is_some_and(|t| start.elapsed() > t) {
            bail!(
                "the moves were not done after {}: {}",
                format_duration(start.elapsed()),
                all.iter().map(render).collect::<Vec<_>>().join("; ")
            );
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_status_line_has_phase_counts_rate_and_eta() {
        let doc = json!({
            "bucket": "photos", "phase": "copy", "objects_copied": 812, "objects_total": 1000,
            "bytes_copied": 3_250_000, "bytes_total": 4_000_000, "objects_per_sec": 120.4,
            "bytes_per_sec": 480_000.0, "eta_secs": 2.0, "cutover_ms": null, "last_error": null
        });
        let line = render(&doc);
        assert!(line.starts_with("photos  copy  812/1000 objects"), "{line}");
        assert!(line.contains("obj/s") && line.contains("ETA"), "{line}");
        assert!(!is_final(&doc));
        let done = json!({"bucket": "photos", "phase": "done", "cutover_ms": 40});
        assert!(render(&done).contains("cut-over 40 ms"));
        assert!(is_final(&done));
        assert_eq!(docs(&json!([doc, done])).len(), 2);
    }
}
