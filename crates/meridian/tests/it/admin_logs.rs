//! Admin verbs against a running server: bucket index log, data log, bucket stats, bucket removal; and
//! garbage collection of overwritten bytes.

use crate::common::*;
use serde_json::Value;
use std::time::Duration;

fn op_id(e: &Value) -> u64 {
    match &e["op_id"] {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("op_id {s:?} is not numeric")),
        Value::Number(n) => n.as_u64().unwrap(),
        other => panic!("no op_id: {other}"),
    }
}

fn stats(srv: &Server, bucket: &str) -> (u64, u64) {
    let v = srv.cli(&["bucket", "stats", "--bucket", bucket]);
    let main = &v["usage"]["rgw.main"];
    (
        main["num_objects"].as_u64().unwrap_or(0),
        main["size"].as_u64().unwrap_or(0),
    )
}

#[tokio::test]
async fn bucket_log_datalog_and_stats() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "logged").await;
    assert_eq!(stats(&srv, "logged"), (0, 0));

    let v1 = pattern(1000, 1);
    let v2 = pattern(2500, 2);
    put(&s3, "logged", "doc", &v1).await;
    assert_eq!(stats(&srv, "logged"), (1, 1000));
    put(&s3, "logged", "doc", &v2).await;
    assert_eq!(stats(&srv, "logged"), (1, 2500));
    put(&s3, "logged", "other", b"12345").await;
    assert_eq!(stats(&srv, "logged"), (2, 2505));
    s3.delete_object()
        .bucket("logged")
        .key("doc")
        .send()
        .await
        .expect("delete");
    assert_eq!(stats(&srv, "logged"), (1, 5));

    let log = srv.cli(&["bucket", "log", "list", "--bucket", "logged"]);
    let entries = log.as_array().expect("bilog is a JSON array");
    let doc: Vec<&Value> = entries.iter().filter(|e| e["object"] == "doc").collect();
    let ops: Vec<&str> = doc.iter().map(|e| e["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["write", "write", "del"], "{log:#}");
    assert_eq!(doc[0]["etag"], md5_hex(&v1).as_str());
    assert_eq!(doc[0]["size"], 1000);
    assert_eq!(doc[1]["etag"], md5_hex(&v2).as_str());
    assert_eq!(doc[1]["size"], 2500);
    // Every entry of the log, in order, has a strictly increasing op_id.
    let ids: Vec<u64> = entries.iter().map(op_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "op_ids not increasing: {ids:?}");
    let all_objects: Vec<&str> = entries.iter().map(|e| e["object"].as_str().unwrap()).collect();
    assert_eq!(all_objects, ["doc", "doc", "other", "doc"]);
    assert!(entries.iter().all(|e| e["zones_trace"].is_array()));

    // Paging the log with --marker / --max-entries.
    let first = srv.cli(&["bucket", "log", "list", "--bucket", "logged", "--max-entries", "2"]);
    let first = first.as_array().unwrap();
    assert_eq!(first.len(), 2);
    let marker = first[1]["op_id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| op_id(&first[1]).to_string());
    let rest = srv.cli(&["bucket", "log", "list", "--bucket", "logged", "--marker", &marker]);
    let rest_ids: Vec<u64> = rest.as_array().unwrap().iter().map(op_id).collect();
    assert_eq!(rest_ids, ids[2..]);

    // The data log has a mark for the bucket.
    let bucket_id = srv.cli(&["bucket", "stats", "--bucket", "logged"])["id"]
        .as_str()
        .expect("bucket id")
        .to_string();
    let datalog = srv.cli(&["datalog", "list"]);
    let marks: Vec<&str> = datalog
        .as_array()
        .expect("datalog is a JSON array")
        .iter()
        .filter_map(|e| e["entry"]["key"].as_str())
        .collect();
    let want = format!(":logged:{bucket_id}");
    assert!(
        marks.iter().any(|k| k.ends_with(&want)),
        "no datalog mark {want} in {datalog:#}"
    );

    // bucket list / rm --purge-objects.
    let buckets = srv.cli(&["bucket", "list"]);
    assert!(buckets.as_array().unwrap().iter().any(|b| b == "logged"), "{buckets}");
    let out = srv.cli_raw(&["bucket", "rm", "--bucket", "logged"]);
    assert!(
        !out.status.success(),
        "removing a non-empty bucket without --purge-objects must fail"
    );
    srv.cli(&["bucket", "rm", "--bucket", "logged", "--purge-objects"]);
    assert_eq!(err_status(s3.head_bucket().bucket("logged").send().await), 404);
}

#[tokio::test]
async fn overwritten_bytes_are_collected() {
    let srv = Server::start();
    let s3 = srv.client();
    create_bucket(&s3, "gc-bucket").await;
    let objects = srv.data_dir().join("data").join("objects");
    // Larger than the inline limit (64 KiB), so the bytes live in files.
    const SIZE: usize = 256 * 1024;
    let first = pattern(SIZE, 0);
    put(&s3, "gc-bucket", "hot", &first).await;
    let baseline = dir_bytes(&objects);
    assert!(
        baseline >= SIZE as u64,
        "the object's bytes are under {objects:?} ({baseline} bytes)"
    );

    let mut last = Vec::new();
    for i in 1..=200u64 {
        last = pattern(SIZE, i);
        put(&s3, "gc-bucket", "hot", &last).await;
    }
    assert!(get_bytes(&s3, "gc-bucket", "hot").await == last);
    let settled = wait_until(Duration::from_secs(20), || dir_bytes(&objects) <= baseline).await;
    assert!(
        settled,
        "after 20 s the object store still holds {} bytes (baseline {baseline})",
        dir_bytes(&objects)
    );
    assert!(
        get_bytes(&s3, "gc-bucket", "hot").await == last,
        "GC must keep the live object"
    );

    // Deleting the object lets its bytes go too.
    s3.delete_object().bucket("gc-bucket").key("hot").send().await.unwrap();
    let empty = wait_until(Duration::from_secs(20), || dir_bytes(&objects) == 0).await;
    assert!(empty, "after delete {} bytes remain", dir_bytes(&objects));
}
