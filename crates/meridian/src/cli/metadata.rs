//! `meridian metadata list | get | put | rm`: radosgw-admin's metadata verbs, each one admin request to
//! `/admin/metadata/<section>?key=<key>`.

use anyhow::{bail, Context};
use http::Method;
use meridian_admin::AdminRequest;
use meridian_peer::proto::metadata::KEY_FORMS;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum MetadataCmd {
    /// List the metadata sections, or the keys of one section (user, bucket, bucket.instance)
    List { section: Option<String> },
    /// Print one entry, e.g. user:alice, bucket:photos, bucket.instance:photos:<bucket id>
    Get { key: String },
    /// Store an entry (as 'metadata get' printed it, edited) read from --infile or stdin; refused if the
    /// entry changed since it was read
    Put {
        key: String,
        /// The JSON entry (default: stdin)
        #[arg(long)]
        infile: Option<PathBuf>,
    },
    /// Remove an entry (a user without buckets, an empty bucket)
    Rm { key: String },
}

/// Splits `section:key` (the key itself may hold more colons: `bucket.instance:photos:<id>`).
fn split_key(key: &str) -> anyhow::Result<(&str, &str)> {
    match key.split_once(':') {
        Some((section, rest)) if !section.is_empty() && !rest.is_empty() => Ok((section, rest)),
        _ => bail!("invalid metadata key {key:?}: {KEY_FORMS}"),
    }
}

fn entry_request(method: Method, key: &str) -> anyhow::Result<AdminRequest> {
    let (section, rest) = split_key(key)?;
    Ok(AdminRequest::new(method, &format!("metadata/{section}")).param("key", rest))
}

/// Reads the entry to put and checks it is JSON, so a broken edit is named before anything is sent.
fn read_document(key: &str, infile: Option<PathBuf>) -> anyhow::Result<serde_json::Value> {
    let (text, source) = match infile {
        Some(path) => (
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the metadata document {}", path.display()))?,
            path.display().to_string(),
        ),
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!(
                    "metadata put reads the entry from --infile FILE or from stdin, and stdin is a terminal: \
                     e.g. meridian metadata get {key} > entry.json, edit it, then meridian metadata put {key} \
                     --infile entry.json"
                );
            }
            let mut text = String::new();
            stdin
                .lock()
                .read_to_string(&mut text)
                .context("cannot read the metadata document from stdin")?;
            (text, "stdin".to_string())
        }
    };
    if text.trim().is_empty() {
        bail!(
            "the metadata document ({source}) is empty: put takes the entry 'meridian metadata get {key}' prints \
             (edited), from --infile FILE or stdin"
        );
    }
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "the metadata document ({source}) is not valid JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        )
    })
}

pub fn metadata_request(cmd: MetadataCmd) -> anyhow::Result<AdminRequest> {
    match cmd {
        MetadataCmd::List { section: None } => Ok(AdminRequest::new(Method::GET, "metadata")),
        MetadataCmd::List { section: Some(s) } => {
            // `metadata list user:` is taken as `metadata list user`.
            let s = s.trim_end_matches(':');
            if s.is_empty() || s.contains([':', '/', '?']) {
                bail!("invalid metadata section {s:?}: the sections are bucket, bucket.instance, user");
            }
            Ok(AdminRequest::new(Method::GET, &format!("metadata/{s}")))
        }
        MetadataCmd::Get { key } => entry_request(Method::GET, &key),
        MetadataCmd::Put { key, infile } => {
            let request = entry_request(Method::PUT, &key)?;
            Ok(request.with_body(read_document(&key, infile)?))
        }
        MetadataCmd::Rm { key } => entry_request(Method::DELETE, &key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_rgw_requests() {
        let r = metadata_request(MetadataCmd::Get {
            key: "user:alice".into(),
        })
        .unwrap();
        assert_eq!(
            (r.method.clone(), r.resource.as_str(), r.get("key")),
            (Method::GET, "metadata/user", Some("alice"))
        );
        let r = metadata_request(MetadataCmd::Rm {
            key: "bucket.instance:t/photos:abc.1".into(),
        })
        .unwrap();
        assert_eq!(
            (r.method.clone(), r.resource.as_str(), r.get("key")),
            (Method::DELETE, "metadata/bucket.instance", Some("t/photos:abc.1"))
        );
        let r = metadata_request(MetadataCmd::List { section: None }).unwrap();
        assert_eq!(r.resource, "metadata");
        let r = metadata_request(MetadataCmd::List {
            section: Some("bucket".into()),
        })
        .unwrap();
        assert_eq!((r.resource.as_str(), r.get("key")), ("metadata/bucket", None));
        let err = metadata_request(MetadataCmd::Get { key: "alice".into() }).unwrap_err();
        assert!(err.to_string().contains("user:<uid>"), "{err}");
    }

    #[test]
    fn put_reads_json_and_names_a_broken_document() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.json");
        std::fs::write(&good, r#"{"key":"user:a","ver":{"tag":"_t","ver":1},"data":{}}"#).unwrap();
        let r = metadata_request(MetadataCmd::Put {
            key: "user:a".into(),
            infile: Some(good),
        })
        .unwrap();
        assert_eq!(r.method, Method::PUT);
        assert_eq!(r.body.unwrap()["ver"]["ver"], 1);
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\"key\": \"user:a\",\n \"data\": {,}}").unwrap();
        let err = metadata_request(MetadataCmd::Put {
            key: "user:a".into(),
            infile: Some(bad.clone()),
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("is not valid JSON") && err.contains("line 2"), "{err}");
        assert!(err.contains(&bad.display().to_string()), "{err}");
        let missing = metadata_request(MetadataCmd::Put {
            key: "user:a".into(),
            infile: Some(dir.path().join("nope.json")),
        })
        .unwrap_err();
        assert!(format!("{missing:#}").contains("nope.json"), "{missing:#}");
    }
}
