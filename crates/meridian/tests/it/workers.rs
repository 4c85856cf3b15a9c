//! `meridian worker list` against a real two-zone site: every background loop of a server shows as a named
//! worker with its state and status (text and JSON), the sync supervisor counts its agents, a one-shot job
//! shows as exited, and with no server running the command fails saying so.

use crate::common::realm::*;
use serde_json::Value;
use std::time::{Duration, Instant};

fn worker<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["workers"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["name"] == name))
        .unwrap_or_else(|| panic!("no worker {name} in {list:#}"))
}

#[tokio::test]
async fn worker_list_shows_every_background_loop() {
    let mut site = Site::build(&["us-east", "us-west"]);
    let west = site.zone("us-west");
    // The supervisor starts its agents within a second or two of the start.
    let deadline = Instant::now() + Duration::from_secs(30);
    let list = loop {
        let list = west.cli(&["worker", "list", "--format", "json"]);
        if worker(&list, "sync")["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("2 sync agents"))
        {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "sync agents never started:\n{list:#}\n{}",
            site.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for name in ["gc", "period-puller", "sync", "sync-notify", "log-trim", "bucket-move"] {
        assert_eq!(worker(&list, name)["state"], "running", "{name}: {list:#}");
    }
    // us-west syncs metadata and data from us-east, and notifies us-east of its own data log.
    assert_eq!(
        worker(&list, "sync-notify")["status"],
        "1 peer notifiers running",
        "{list:#}"
    );
    // The orphan sweep runs once at start-up and ends.
    let sweep = worker(&list, "orphan-sweep");
    assert_eq!(sweep["state"], "exited", "{list:#}");
    assert_eq!(sweep["passes"], 1, "{list:#}");
    assert!(
        sweep["status"].as_str().unwrap().starts_with("done: 0 orphaned blobs"),
        "{list:#}"
    );
    // The secondary pulls the period from the master at once, then on its interval.
    let puller = worker(&list, "period-puller");
    assert!(puller["passes"].as_u64().unwrap() >= 1, "{list:#}");
    assert!(
        puller["status"].as_str().unwrap().starts_with("current period "),
        "{list:#}"
    );

    let text = west.cli_raw(&["worker", "list"]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("NAME") && lines[0].contains("STATE"), "{text}");
    assert!(
        lines.iter().any(|l| l.starts_with("gc ") && l.contains(" running ")),
        "{text}"
    );

    // The master is the metadata master: its puller idles.
    let master = site.master().cli(&["worker", "list", "--format", "json"]);
    assert!(
        worker(&master, "period-puller")["status"]
            .as_str()
            .unwrap()
            .starts_with("idle"),
        "{master:#}"
    );

    site.zones[1].kill();
    let err = site.zones[1].cli_fails(&["worker", "list"]);
    assert!(err.contains("no `meridian server` is running"), "{err}");
}
