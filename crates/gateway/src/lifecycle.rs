//! Lifecycle: a bucket's rules applied by a background pass. Objects matching a rule (prefix and tags) expire
//! a number of days after their last modification or once a date has passed; incomplete multipart uploads
//! are aborted a number of days after they were started. An expiry is an ordinary delete (logged, so it
//! replicates), made only if the object is still the one that was judged expired.

use crate::error::{GatewayError, Result};
use crate::listing::ListQuery;
use meridian_model::{Bucket, LifecycleRule, ObjectMeta, Timestamp};
use std::time::Duration;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    pub expired: u64,
    pub aborted: u64,
}

fn days(n: u32, day: Duration) -> u64 {
    (day.as_nanos() as u64).saturating_mul(u64::from(n))
}

fn tags_match(rule: &LifecycleRule, meta: &ObjectMeta) -> bool {
    rule.tags.iter().all(|t| meta.tags.contains(t))
}

fn expired(rule: &LifecycleRule, meta: &ObjectMeta, now: Timestamp, day: Duration) -> bool {
    let by_days = rule
        .expiration_days
        .is_some_and(|n| now.0.saturating_sub(meta.mtime.0) >= days(n, day));
    let by_date = rule.expiration_date.is_some_and(|d| now >= d);
    (by_days || by_date) && tags_match(rule, meta)
}

impl crate::ObjectService<'_> {
    /// Applies every bucket's lifecycle rules once. `day` is how long a rule's day lasts (a day, except in
    /// tests: `lifecycle_debug_day_secs`).
    pub async fn lifecycle_pass(&self, day: Duration) -> Result<LifecycleReport> {
        let mut report = LifecycleReport::default();
        let zonegroup = self.core.site().zonegroup_id.clone();
        for bucket in self.core.buckets().list_all().await? {
            // A bucket is only served (and written) in its own zonegroup.
            if bucket.zonegroup != zonegroup {
                continue;
            }
            let Some(rules) = bucket.config.lifecycle.clone() else {
                continue;
            };
            for rule in rules.iter().filter(|r| r.enabled) {
                if rule.expiration_days.is_some() || rule.expiration_date.is_some() {
                    report.expired += self.expire_by_rule(&bucket, rule, day).await?;
                }
                if let Some(n) = rule.abort_incomplete_days {
                    report.aborted += self.abort_by_rule(&bucket, &rule.prefix, n, day).await?;
                }
            }
        }
        Ok(report)
    }

    async fn expire_by_rule(&self, bucket: &Bucket, rule: &LifecycleRule, day: Duration) -> Result<u64> {
        let mut after = None;
        let mut n = 0;
        loop {
            let page = self
                .list(
                    bucket,
                    ListQuery {
                        prefix: rule.prefix.clone(),
                        delimiter: None,
                        after: after.clone(),
                        max_keys: 1000,
                    },
                )
                .await?;
            let now = Timestamp::now();
            for meta in &page.objects {
                if expired(rule, meta, now, day) && self.expire_object(bucket, meta).await? {
                    n += 1;
                }
            }
            if !page.is_truncated {
                return Ok(n);
            }
            after = page.next_marker;
        }
    }

    /// Deletes `meta`'s key if it still holds that very object (a newer write is not judged by the old one).
    async fn expire_object(&self, bucket: &Bucket, meta: &ObjectMeta) -> Result<bool> {
        let (b, key, instance) = (bucket.clone(), meta.key.clone(), meta.instance.clone());
        let zone_id = self.core.site().zone_id.clone();
        let result = self
            .core
            .write(move |txn| {
                crate::moves::check_writable(txn, &b)?;
                let current = crate::versions::current(txn, &b.bucket_id, &key)?;
                if current.is_none_or(|c| c.instance != instance || c.delete_marker) {
                    return Ok(false);
                }
                // In a versioned bucket this writes a delete marker, as S3's expiration does.
                Ok(crate::objects::delete_in_txn(txn, &b, &key, None, &zone_id, false)?.existed)
            })
            .await;
        match result {
            // Removed or moving meanwhile: the next pass sees it again.
            Err(GatewayError::NoSuchBucket | GatewayError::SlowDown(_)) => Ok(false),
            other => other,
        }
    }

    async fn abort_by_rule(&self, bucket: &Bucket, prefix: &str, n: u32, day: Duration) -> Result<u64> {
        let (mut key_marker, mut id_marker) = (None, None);
        let mut aborted = 0;
        loop {
            let (uploads, truncated) = self
                .list_uploads(bucket, prefix.to_string(), key_marker.clone(), id_marker.clone(), 1000)
                .await?;
            let now = Timestamp::now();
            for u in &uploads {
                if now.0.saturating_sub(u.initiated.0) >= days(n, day) {
                    match self.abort_upload(bucket, &u.key, &u.upload_id).await {
                        Ok(()) => aborted += 1,
                        Err(GatewayError::NoSuchUpload) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            if !truncated {
                return Ok(aborted);
            }
            let last = uploads.last().map(|u| (u.key.clone(), u.upload_id.clone()));
            key_marker = last.as_ref().map(|l| l.0.clone());
            id_marker = last.map(|l| l.1);
        }
    }

    /// The `lifecycle` worker: a pass every `interval`.
    pub async fn run_lifecycle(&self, mut worker: meridian_worker::Worker, interval: Duration, day: Duration) {
        worker.status(format!(
            "every {} s; a day lasts {} s",
            interval.as_secs(),
            day.as_secs()
        ));
        while worker.sleep(interval).await {
            match self.lifecycle_pass(day).await {
                Ok(r) => {
                    worker.pass_done();
                    worker.status(format!(
                        "every {} s; a day lasts {} s; last pass expired {} objects, aborted {} uploads",
                        interval.as_secs(),
                        day.as_secs(),
                        r.expired,
                        r.aborted
                    ));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lifecycle pass failed; will retry");
                    worker.failed(&e);
                }
            }
        }
    }
}
