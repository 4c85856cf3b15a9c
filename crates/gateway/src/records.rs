//! Typed access to JSON records in the metadata store, and monotonic sequence counters.

use crate::error::{GatewayError, Result};
use meridian_store::{ReadOps, WriteTxn};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::ops::ControlFlow;

pub(crate) fn get<T: DeserializeOwned>(r: &dyn ReadOps, key: &[u8]) -> Result<Option<T>> {
    match r.get(key)? {
        None => Ok(None),
        Some(bytes) => decode(key, &bytes).map(Some),
    }
}

pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| GatewayError::Corrupt(String::from_utf8_lossy(key).into_owned(), e.to_string()))
}

pub(crate) fn put<T: Serialize>(w: &mut dyn WriteTxn, key: &[u8], value: &T) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| GatewayError::Internal(e.to_string()))?;
    w.put(key, &bytes)?;
    Ok(())
}

/// How many rows a paged scan reads at a time.
const SCAN_PAGE: usize = 1000;

/// Visits every raw record under `prefix` in key order, reading in pages (so huge ranges do not need one
/// allocation), until `visit` breaks with a value.
pub(crate) fn scan_each<B>(
    r: &dyn ReadOps,
    prefix: &[u8],
    mut visit: impl FnMut(Vec<u8>, Vec<u8>) -> Result<ControlFlow<B>>,
) -> Result<Option<B>> {
    let end = meridian_store::meta::prefix_end(prefix);
    let mut start = prefix.to_vec();
    loop {
        let page = r.scan(&start, &end, SCAN_PAGE)?;
        let done = page.len() < SCAN_PAGE;
        for (k, v) in page {
            // The next page starts at the smallest key after this one.
            start.clone_from(&k);
            start.push(0);
            if let ControlFlow::Break(found) = visit(k, v)? {
                return Ok(Some(found));
            }
        }
        if done {
            return Ok(None);
        }
    }
}

/// Scans every record under `prefix`.
pub(crate) fn scan_all<T: DeserializeOwned>(r: &dyn ReadOps, prefix: &[u8]) -> Result<Vec<(Vec<u8>, T)>> {
    let mut out = Vec::new();
    scan_each::<()>(r, prefix, |k, v| {
        let value = decode(&k, &v)?;
        out.push((k, value));
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(out)
}

/// Up to `max` records under `prefix` after `marker` (exclusive): a page of a log, or of a bucket's keys.
pub(crate) fn list_after<T: DeserializeOwned>(
    r: &dyn ReadOps,
    prefix: &[u8],
    marker: Option<&str>,
    max: usize,
) -> Result<Vec<T>> {
    let start = crate::keys::after_marker(prefix, marker);
    let end = meridian_store::meta::prefix_end(prefix);
    r.scan(&start, &end, max)?
        .into_iter()
        .map(|(k, v)| decode(&k, &v))
        .collect()
}

/// Up to `max` records in `[start, end)`, and whether more follow.
pub(crate) fn page<T: DeserializeOwned>(
    r: &dyn ReadOps,
    start: &[u8],
    end: &[u8],
    max: usize,
) -> Result<(Vec<T>, bool)> {
    let rows = r.scan(start, end, max.saturating_add(1))?;
    let truncated = rows.len() > max;
    let items = rows
        .into_iter()
        .take(max)
        .map(|(k, v)| decode(&k, &v))
        .collect::<Result<Vec<T>>>()?;
    Ok((items, truncated))
}

/// Increments and returns the named counter (inside the caller's transaction, so it never repeats).
pub(crate) fn next_seq(w: &mut dyn WriteTxn, name: &str) -> Result<u64> {
    let key = crate::keys::seq(name);
    let current = match w.get(&key)? {
        Some(b) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| GatewayError::Corrupt(name.to_string(), "counter".into()))?,
        None => 0,
    };
    let next = current + 1;
    w.put(&key, next.to_string().as_bytes())?;
    Ok(next)
}

/// Deletes every record under `prefix`, a page at a time.
pub(crate) fn delete_prefix(txn: &mut dyn WriteTxn, prefix: &[u8]) -> Result<()> {
    let end = meridian_store::meta::prefix_end(prefix);
    loop {
        let page = txn.scan(prefix, &end, 1000)?;
        if page.is_empty() {
            return Ok(());
        }
        for (k, _) in page {
            txn.delete(&k)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;

    #[tokio::test(flavor = "multi_thread")]
    async fn scans_page_through_a_prefix_and_start_after_a_marker_and_its_extensions() {
        let dir = tempfile::tempdir().unwrap();
        let gw = crate::test_support::gateway(dir.path()).await;
        // More records than one scan page, keys in order; `k0007` has a record extending it after a NUL
        // (as a key's versions extend the key), and the prefix has a neighbour that must stay outside.
        let keys: Vec<String> = (0..2 * SCAN_PAGE + 5).map(|i| format!("k{i:04}")).collect();
        let written = keys.clone();
        gw.core
            .write(move |txn| {
                for (i, k) in written.iter().enumerate() {
                    put(txn, format!("t/{k}").as_bytes(), &i)?;
                }
                put(txn, b"t/k0007\0v1", &7000usize)?;
                put(txn, b"u/outside", &0usize)
            })
            .await
            .unwrap();
        let (all, stopped, after) = gw
            .core
            .read(|r| {
                let all: Vec<usize> = scan_all(r, b"t/")?.into_iter().map(|(_, v)| v).collect();
                let mut seen = 0;
                let stopped = scan_each(r, b"t/", |_, v| {
                    seen += 1;
                    let i: usize = decode(b"t/", &v)?;
                    Ok(if i == SCAN_PAGE + 1 {
                        ControlFlow::Break(seen)
                    } else {
                        ControlFlow::Continue(())
                    })
                })?;
                let after: Vec<usize> = list_after(r, b"t/", Some("k0007"), 3)?;
                Ok((all, stopped, after))
            })
            .await
            .unwrap();
        assert_eq!(
            all.len(),
            keys.len() + 1,
            "every record under the prefix, across pages, nothing outside"
        );
        assert_eq!(all[..9], [0, 1, 2, 3, 4, 5, 6, 7, 7000]);
        assert_eq!(stopped, Some(SCAN_PAGE + 3), "stops at the break, on the second page");
        assert_eq!(after, [8, 9, 10], "after the marker: neither it nor what extends it");
        assert_eq!(keys::after_marker(b"t/", None), b"t/");
        assert_eq!(keys::after_marker(b"t/", Some("")), b"t/");
    }
}
