//! `meridian sync status` and `meridian bucket sync status` against a real two-zone site (zonegroup `us`,
//! master zone `us-east`, secondary `us-west`): the text a caught-up zone prints on each side, the JSON
//! document, `--watch` until caught up (one line per poll, as stdout is not a terminal), and, with the master
//! down, the unreachable source and `--watch --timeout-secs` failing with the sources still behind.

use crate::common::realm::*;
use aws_sdk_s3::primitives::ByteStream;
use std::process::Output;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn all(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
fn ok(zone: &Zone, args: &[&str]) -> String {
    let out = zone.cli_raw(args);
    assert!(
        out.status.success(),
        "meridian {args:?} on {}:\n{}",
        zone.name,
        all(&out)
    );
    stdout(&out)
}

#[tokio::test]
async fn sync_status_text_json_watch_and_unreachable_master() {
    let mut site = Site::build(&["us-east", "us-west"]);
    let s3 = site.master().client();
    s3.create_bucket()
        .bucket("clisync")
        .send()
        .await
        .expect("create bucket");
    for i in 0..20 {
        s3.put_object()
            .bucket("clisync")
            .key(format!("k{i:02}"))
            .body(ByteStream::from(vec![b'x'; 1000 + i]))
            .send()
            .await
            .expect("put");
    }

    let west = site.zone("us-west");
    let watched = ok(
        west,
        &[
            "sync",
            "status",
            "--watch",
            "--interval-ms",
            "200",
            "--timeout-secs",
            "90",
        ],
    );
    let logs = || site.logs();
    assert!(watched.contains("] metadata us-east: "), "{watched}\n{}", logs());
    assert!(watched.contains(" | data us-east: "), "{watched}");
    // The final status, then how long it took.
    for want in [
        "metadata sync source: us-east (",
        "metadata is caught up with master",
        "data sync source: us-east (",
        "data is caught up with source",
        "caught up after ",
    ] {
        assert!(watched.contains(want), "no {want:?} in\n{watched}");
    }

    let text = ok(west, &["sync", "status"]);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert!(lines[0].starts_with("realm gold ("), "{text}");
    assert!(lines[1].starts_with("zonegroup us ("), "{text}");
    assert!(lines[2].starts_with("zone us-west ("), "{text}");
    assert!(lines.contains(&"incremental sync: 128/128 shards"), "{text}");

    let master = ok(site.master(), &["sync", "status"]);
    assert!(master.contains("metadata sync no sync (zone is master)"), "{master}");
    assert!(master.contains("data sync source: us-west ("), "{master}");

    let json: serde_json::Value =
        serde_json::from_str(&ok(west, &["sync", "status", "--format", "json"])).expect("JSON");
    assert_eq!(json["zone"]["name"], "us-west", "{json:#}");
    assert_eq!(json["data"][0]["source_zone"]["name"], "us-east", "{json:#}");
    assert_eq!(json["data"][0]["caught_up"], true, "{json:#}");

    let bucket = ok(west, &["bucket", "sync", "status", "--bucket", "clisync"]);
    for want in [
        "bucket clisync (",
        "source zone: us-east (",
        "caught up: yes",
        "pending: no",
    ] {
        assert!(bucket.contains(want), "no {want:?} in\n{bucket}");
    }
    let bucket_json: serde_json::Value = serde_json::from_str(&ok(
        west,
        &["bucket", "sync", "status", "--bucket", "clisync", "--format", "json"],
    ))
    .expect("JSON");
    assert_eq!(bucket_json["bucket"], "clisync", "{bucket_json:#}");

    let refused = west.cli_fails(&["sync", "status", "--timeout-secs", "3"]);
    assert!(refused.contains("--timeout-secs goes with --watch"), "{refused}");

    // The master goes down: the secondary says so, and a watch with a deadline gives up naming it.
    site.zones[0].stop();
    let west = site.zone("us-west");
    let text = ok(west, &["sync", "status"]);
    assert!(text.contains("source is unreachable: "), "{text}");
    let out = west.cli_raw(&[
        "sync",
        "status",
        "--watch",
        "--interval-ms",
        "200",
        "--timeout-secs",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sync is not caught up after 2 s; behind: "),
        "{}",
        all(&out)
    );
    assert!(stderr.contains("data us-east (unreachable: "), "{}", all(&out));
    // The last status is still printed.
    assert!(stdout(&out).contains("source is unreachable: "), "{}", all(&out));
}
