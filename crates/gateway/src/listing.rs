//! ListObjects (v1 and v2) over a bucket's index: prefix, delimiter roll-up into common prefixes,
//! exclusive start marker, page size — in UTF-8 byte order, stable across pages.

use crate::error::Result;
use crate::{keys, records, Gateway};
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

impl Gateway {
    pub async fn list_objects(&self, bucket: &Bucket, query: ListQuery) -> Result<ListPage> {
        if query.max_keys == 0 {
            // S3: max-keys=0 lists nothing and is not truncated.
            return Ok(ListPage::default());
        }
        let base = keys::object_prefix(&bucket.bucket_id);
        self.read(move |r| {
            let mut page = ListPage::default();
            let delimiter = query.delimiter.clone().filter(|d| !d.is_empty());
            let mut full_prefix = base.clone();
            full_prefix.extend_from_slice(query.prefix.as_bytes());
            let end = prefix_end(&full_prefix);
            let mut cursor = full_prefix.clone();
            if let Some(after) = query
                .after
                .as_deref()
                .filter(|a| a.as_bytes() >= query.prefix.as_bytes())
            {
                cursor = base.clone();
                cursor.extend_from_slice(after.as_bytes());
                cursor.push(0);
            }
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
