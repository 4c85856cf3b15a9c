//! `meridian worker list`: the running server's background workers (GC, sync, trimming, the period puller,
//! scheduled backups, ...), each with its state, passes, errors and status line (`GET /admin/workers`).

use super::sync::Format;
use crate::zone;
use anyhow::{bail, Context};
use http::Method;
use meridian_admin::AdminRequest;
use meridian_worker::WorkerInfo;
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;

#[derive(clap::Subcommand, Debug)]
pub enum WorkerCmd {
    /// The running server's background workers
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WorkerList {
    workers: Vec<WorkerInfo>,
}

pub async fn run(data_dir: &Path, cmd: WorkerCmd) -> anyhow::Result<()> {
    let WorkerCmd::List { format } = cmd;
    zone::require_data_dir(data_dir)?;
    // Workers live in the server process: with none running there is nothing to list.
    match zone::open(
        data_dir,
        None,
        meridian_gateway::GatewayOptions::default(),
        meridian_store::local::DEFAULT_CACHE_BYTES,
    )
    .await
    {
        Ok(_) => bail!(
            "no `meridian server` is running on {}: background workers run inside the server",
            zone::display_path(data_dir)
        ),
        Err(e) if zone::is_locked(&e) => {}
        Err(e) => return Err(e),
    }
    let value = super::server_client(data_dir)?
        .send(&AdminRequest::new(Method::GET, "workers"))
        .await?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&value)?),
        Format::Text => {
            let list = WorkerList::deserialize(&value)
                .context("the server answered a worker list this version cannot read")?;
            print!("{}", render(&list.workers));
        }
    }
    Ok(())
}

/// One line per worker, aligned, then its last error (if any) under it.
fn render(workers: &[WorkerInfo]) -> String {
    let width = workers.iter().map(|w| w.name.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "{:<width$}  {:<8} {:>7} {:>7}  STATUS\n",
        "NAME", "STATE", "PASSES", "ERRORS"
    );
    for w in workers {
        let _ = writeln!(
            out,
            "{:<width$}  {:<8} {:>7} {:>7}  {}",
            w.name, w.state, w.passes, w.errors, w.status
        );
        if let Some(e) = &w.last_error {
            let at = w.last_error_at.as_deref().unwrap_or("?");
            let _ = writeln!(out, "{:<width$}  last error at {at}: {e}", "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_worker_and_its_last_error() {
        let workers = vec![
            WorkerInfo {
                name: "gc".into(),
                state: "running".into(),
                status: "every 60 s".into(),
                passes: 3,
                ..Default::default()
            },
            WorkerInfo {
                name: "period-puller".into(),
                state: "running".into(),
                errors: 2,
                last_error: Some("master unreachable".into()),
                last_error_at: Some("2026-12-02T05:00:00Z".into()),
                ..Default::default()
            },
        ];
        let text = render(&workers);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("NAME           STATE"), "{text}");
        assert!(
            lines[1].starts_with("gc             running        3       0  every 60 s"),
            "{text}"
        );
        assert!(
            lines[3].ends_with("last error at 2026-12-02T05:00:00Z: master unreachable"),
            "{text}"
        );
    }
}
