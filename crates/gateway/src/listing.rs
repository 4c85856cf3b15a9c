//! ListObjects (v1 and v2) over a bucket's index: prefix, delimiter roll-up into common prefixes,
//! exclusive start marker, page size — in UTF-8 byte order, stable across pages.

use crate::error::Result;
use crate::{keys, records};
use meridian_model::{Bucket, ObjectMeta};
use meridian_store::meta::prefix_end;

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Only keys strictly after this one (v1 marker, v2 start-after or continuation token).
    pub after: Option<String>,
    pub max_keys: usize,
}

#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub objects: Vec<ObjectMeta>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix returned: where the next page starts.
    pub next_marker: Option<String>,
}

const SCAN_PAGE: usize = 1000;

impl crate::ObjectService<'_> {
    pub async fn list(&self, bucket: &Bucket, query: ListQuery) -> Result<ListPage> {
        if query.max_keys == 0 {
            // S3: max-keys=0 lists nothing and is not truncated.
            return Ok(ListPage::default());
        }
        let base = keys::object_prefix(&bucket.bucket_id);
        self.core
            .read(move |r| {
                let mut page = ListPage::default();
                let delimiter = query.delimiter.clone().filter(|d| !d.is_empty());
                let mut full_prefix = base.clone();
                full_prefix.extend_from_slice(query.prefix.as_bytes());
                let end = prefix_end(&full_prefix);
                // A marker before the prefix does not move the start.
                let mut cursor = match query.after.as_deref() {
                    Some(after) if after.as_bytes() >= query.prefix.as_bytes() => {
                        keys::after_marker(&base, Some(after))
                    }
                    _ => full_prefix.clone(),
                };
                let mut count = 0usize;
                'scan: loop {
                    let rows = r.scan(&cursor, &end, SCAN_PAGE)?;
                    let exhausted = rows.len() < SCAN_PAGE;
                    if rows.is_empty() {
                        break;
                    }
                    for (k, v) in rows {
                        let key = String::from_utf8_lossy(&k[base.len()..]).into_owned();
                        if let Some(d) = &delimiter {
                            if let Some(idx) = key[query.prefix.len()..].find(d.as_str()) {
                                let cp = key[..query.prefix.len() + idx + d.len()].to_string();
                                let mut next = base.clone();
                                next.extend_from_slice(cp.as_bytes());
                                cursor = prefix_end(&next);
                                // A prefix at or before the marker was returned on an earlier page.
                                if query.after.as_deref().is_some_and(|a| cp.as_str() <= a) {
                                    continue 'scan;
                                }
                                if count == query.max_keys {
                                    page.is_truncated = true;
                                    break 'scan;
                                }
                                count += 1;
                                page.next_marker = Some(cp.clone());
                                page.common_prefixes.push(cp);
                                continue 'scan;
                            }
                        }
                        if count == query.max_keys {
                            page.is_truncated = true;
                            break 'scan;
                        }
                        count += 1;
                        page.objects.push(records::decode(&k, &v)?);
                        page.next_marker = Some(key);
                        cursor = k;
                        cursor.push(0);
                    }
                    if exhausted {
                        break;
                    }
                }
                Ok(page)
            })
            .await
    }
}

/// A ListObjectVersions request.
#[derive(Debug, Clone, Default)]
pub struct VersionQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Resume after this key (all its versions, or with `version_id_marker` the ones up to that version).
    pub key_marker: Option<String>,
    pub version_id_marker: Option<String>,
    pub max_keys: usize,
}

/// One entry of a ListObjectVersions page.
#[derive(Debug, Clone)]
pub struct VersionEntry {
    pub meta: ObjectMeta,
    /// The key's newest version (a delete marker may be).
    pub is_latest: bool,
}

#[derive(Debug, Clone, Default)]
pub struct VersionPage {
    /// Versions and delete markers, by key then newest first.
    pub entries: Vec<VersionEntry>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key (or common prefix) and version returned: where the next page starts.
    pub next_key_marker: Option<String>,
    pub next_version_id_marker: Option<String>,
}

impl crate::ObjectService<'_> {
    /// ListObjectVersions: every version and delete marker by key, newest first within a key, merging the
    /// current versions (`obj/`) with the others (`ver/`). In a never-versioned bucket every object is its
    /// key's only (null) version.
    pub async fn list_versions(&self, bucket: &Bucket, query: VersionQuery) -> Result<VersionPage> {
        use crate::versions::{self, VersionRef};
        use crate::GatewayError;
        let id = bucket.bucket_id.clone();
        let key_marker = query.key_marker.clone().filter(|m| !m.is_empty());
        let version_marker = query.version_id_marker.clone().filter(|m| !m.is_empty());
        if version_marker.is_some() && key_marker.is_none() {
            return Err(GatewayError::InvalidArgument(
                "A version-id marker cannot be specified without a key marker.".into(),
            ));
        }
        let bound_ref = version_marker.as_deref().map(VersionRef::parse).transpose()?;
        self.core
            .read(move |r| {
                let mut page = VersionPage::default();
                if query.max_keys == 0 {
                    return Ok(page);
                }
                let delimiter = query.delimiter.clone().filter(|d| !d.is_empty());
                let obj_base = keys::object_prefix(&id);
                let ver_base = keys::version_prefix(&id);
                let prefix = query.prefix.as_bytes().to_vec();
                let prefix_stop = {
                    let mut p = obj_base.clone();
                    p.extend_from_slice(&prefix);
                    prefix_end(&p)[obj_base.len()..].to_vec()
                };
                // Resuming inside the marker key: only its versions older than the marker's.
                let mut bound: Option<(String, Option<meridian_model::WriteOrder>)> = None;
                let mut from: Vec<u8> = Vec::new();
                if let Some(km) = &key_marker {
                    from = km.as_bytes().to_vec();
                    match &bound_ref {
                        Some(VersionRef::Id(order)) => bound = Some((km.clone(), Some(order.clone()))),
                        Some(VersionRef::Null) => {
                            let null = versions::find_null(r, &id, km)?.map(|(m, _)| m.order());
                            bound = Some((km.clone(), null));
                        }
                        None => from = keys::after_marker(b"", Some(km)),
                    }
                }
                if from < prefix {
                    from = prefix.clone();
                    bound = None;
                }
                // The first key at or after `from` under the prefix, in either space.
                let first_key = |from: &[u8]| -> Result<Option<Vec<u8>>> {
                    let mut best: Option<Vec<u8>> = None;
                    for base in [&obj_base, &ver_base] {
                        let mut start = base.clone();
                        start.extend_from_slice(from);
                        let mut end = base.clone();
                        end.extend_from_slice(&prefix_stop);
                        if prefix_stop.is_empty() {
                            end = prefix_end(base);
                        }
                        if let Some((k, _)) = r.scan(&start, &end, 1)?.into_iter().next() {
                            let key = keys::key_of_version_record(&k, base.len()).to_vec();
                            if best.as_ref().is_none_or(|b| key < *b) {
                                best = Some(key);
                            }
                        }
                    }
                    Ok(best)
                };
                let mut count = 0usize;
                'keys: while let Some(key_bytes) = first_key(&from)? {
                    let key = String::from_utf8_lossy(&key_bytes).into_owned();
                    if let Some(d) = &delimiter {
                        if let Some(idx) = key.get(query.prefix.len()..).and_then(|rest| rest.find(d.as_str())) {
                            let cp = key[..query.prefix.len() + idx + d.len()].to_string();
                            let mut next = obj_base.clone();
                            next.extend_from_slice(cp.as_bytes());
                            from = prefix_end(&next)[obj_base.len()..].to_vec();
                            if key_marker.as_deref().is_some_and(|m| cp.as_str() <= m) {
                                continue;
                            }
                            if count == query.max_keys {
                                page.is_truncated = true;
                                break;
                            }
                            count += 1;
                            page.next_key_marker = Some(cp.clone());
                            page.next_version_id_marker = None;
                            page.common_prefixes.push(cp);
                            continue;
                        }
                    }
                    let all = versions::all_of_key(r, &id, &key)?;
                    let limit = match &bound {
                        Some((k, order)) if *k == key => Some(order.clone()),
                        _ => None,
                    };
                    for (i, meta) in all.into_iter().enumerate() {
                        match &limit {
                            // The marker's version is gone: resume after the whole key.
                            Some(None) => break,
                            Some(Some(o)) if meta.order() >= *o => continue,
                            _ => {}
                        }
                        if count == query.max_keys {
                            page.is_truncated = true;
                            break 'keys;
                        }
                        count += 1;
                        page.next_key_marker = Some(key.clone());
                        page.next_version_id_marker = Some(meta.version_id());
                        page.entries.push(VersionEntry {
                            meta,
                            is_latest: i == 0,
                        });
                    }
                    from = key_bytes;
                    from.push(1);
                }
                if !page.is_truncated {
                    page.next_key_marker = None;
                    page.next_version_id_marker = None;
                }
                Ok(page)
            })
            .await
    }
}
