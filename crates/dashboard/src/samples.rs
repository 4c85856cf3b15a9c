//! The time series behind the charts: every few seconds, each zone's `/metrics` (requests, bytes in and out)
//! and sync status (lag per source zone) are sampled and kept in memory for the last few minutes.

use crate::realm::{self, SyncState, Topology};
use meridian_peer::PeerClient;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Samples kept (at the default 2 s interval: 10 minutes).
pub const KEEP: usize = 300;

/// Cumulative counters of one zone at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    pub requests: f64,
    pub bytes_in: f64,
    pub bytes_out: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Seconds since the Unix epoch.
    pub at: f64,
    /// Per zone name: its counters, if its `/metrics` answered.
    pub counters: BTreeMap<String, Counters>,
    /// Per "zone ← source" pair: lag in seconds (data and metadata logs, the larger).
    pub lag: BTreeMap<String, f64>,
    /// The latest replication state per zone, for the overview.
    pub sync: BTreeMap<String, realm::ZoneSync>,
}

#[derive(Clone, Default)]
pub struct Samples(Arc<Mutex<VecDeque<Sample>>>);

impl Samples {
    pub fn push(&self, s: Sample) {
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() >= KEEP {
            q.pop_front();
        }
        q.push_back(s);
    }

    pub fn all(&self) -> Vec<Sample> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn latest(&self) -> Option<Sample> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).back().cloned()
    }
}

/// Sums every series of the named counters in a Prometheus text exposition.
pub fn parse_metrics(text: &str) -> Counters {
    let mut c = Counters::default();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        let value = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        match name {
            "meridian_http_requests_total" => c.requests += value,
            "meridian_http_received_bytes_total" => c.bytes_in += value,
            "meridian_http_sent_bytes_total" => c.bytes_out += value,
            _ => {}
        }
    }
    c
}

async fn scrape(endpoint: &str) -> Option<Counters> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .ok()?;
    let resp = client.get(format!("{endpoint}/metrics")).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    Some(parse_metrics(&resp.text().await.ok()?))
}

/// One sample of every zone of `topology`.
pub async fn take(topology: &Topology, service: &PeerClient) -> Sample {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let zones: Vec<(String, String)> = topology
        .zones()
        .map(|(_, z)| (z.name.clone(), z.endpoint.clone()))
        .collect();
    let probes = zones.iter().map(|(name, endpoint)| async move {
        let client = PeerClient::new(endpoint, &service.access_key, &service.secret_key);
        let (counters, sync) = tokio::join!(scrape(endpoint), realm::zone_sync(&client));
        (name.clone(), counters, sync)
    });
    let mut sample = Sample {
        at: now,
        ..Default::default()
    };
    for (zone, counters, sync) in futures::future::join_all(probes).await {
        if let Some(c) = counters {
            sample.counters.insert(zone.clone(), c);
        }
        if let Ok(sources) = &sync {
            for s in sources {
                let key = format!("{zone} ← {}", s.source);
                let lag = if s.state == SyncState::Unreachable {
                    f64::NAN
                } else {
                    s.lag_secs
                };
                let e = sample.lag.entry(key).or_insert(0.0);
                *e = if lag.is_nan() || e.is_nan() {
                    f64::NAN
                } else {
                    e.max(lag)
                };
            }
        }
        sample.sync.insert(zone, sync);
    }
    sample
}

/// Per zone, the rate of one counter between consecutive samples: (time, value per second).
pub fn rates(samples: &[Sample], pick: impl Fn(&Counters) -> f64) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for w in samples.windows(2) {
        let dt = w[1].at - w[0].at;
        if dt <= 0.0 {
            continue;
        }
        for (zone, now) in &w[1].counters {
            if let Some(before) = w[0].counters.get(zone) {
                // A restarted zone's counters start over: no negative rates.
                let rate = ((pick(now) - pick(before)) / dt).max(0.0);
                out.entry(zone.clone()).or_default().push((w[1].at, rate));
            }
        }
    }
    out
}

/// Per "zone ← source" pair, the lag in seconds over time (unreachable samples left out).
pub fn lags(samples: &[Sample]) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for s in samples {
        for (pair, lag) in &s.lag {
            let series = out.entry(pair.clone()).or_default();
            if !lag.is_nan() {
                series.push((s.at, *lag));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_sum_every_series() {
        let text = "# TYPE meridian_http_requests_total counter\n\
            meridian_http_requests_total{method=\"GET\",status=\"200\"} 5\n\
            meridian_http_requests_total{method=\"PUT\",status=\"200\"} 7\n\
            meridian_http_received_bytes_total 100\n\
            meridian_http_sent_bytes_total 40\n\
            meridian_http_requests_totalx 1000\n";
        assert_eq!(
            parse_metrics(text),
            Counters {
                requests: 12.0,
                bytes_in: 100.0,
                bytes_out: 40.0
            }
        );
    }

    #[test]
    fn rates_are_per_second_and_never_negative() {
        let mk = |at: f64, requests: f64| Sample {
            at,
            counters: [(
                "z".to_string(),
                Counters {
                    requests,
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        };
        let r = rates(&[mk(0.0, 0.0), mk(2.0, 10.0), mk(4.0, 1.0)], |c| c.requests);
        assert_eq!(r["z"], vec![(2.0, 5.0), (4.0, 0.0)]);
    }
}
